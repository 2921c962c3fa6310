/* SPDX-License-Identifier: MIT */
#include "tracer/ring.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void futex_wait(_Atomic uint32_t *addr, uint32_t val, uint64_t timeout_ns)
{
	struct timespec ts = { .tv_sec = timeout_ns / 1000000000ULL,
			       .tv_nsec = timeout_ns % 1000000000ULL };

	/* Returns at once if *addr != val: no lost wake-up between check and sleep. */
	syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_PRIVATE, val, timeout_ns ? &ts : NULL,
		NULL, 0);
}

static void futex_wake(_Atomic uint32_t *addr)
{
	syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

int tracer_ring_init(struct tracer_ring *r, uint32_t capacity)
{
	uint32_t cap = 1;

	while (cap < capacity && cap < (1U << 30))
		cap <<= 1;
	r->slots = aligned_alloc(64, (size_t)cap * sizeof(struct tracer_slot));
	if (!r->slots)
		return -ENOMEM;
	/* Fault the pages in now, not one every 64 pushes on the vCPU thread's first lap. */
	memset(r->slots, 0, (size_t)cap * sizeof(struct tracer_slot));
	r->mask = cap - 1;
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	atomic_init(&r->consumer_sleeping, 0);
	atomic_init(&r->producer_sleeping, 0);
	return 0;
}

void tracer_ring_free(struct tracer_ring *r)
{
	free(r->slots);
	r->slots = NULL;
}

void tracer_ring_push(struct tracer_ring *r, const struct tracer_slot *s)
{
	uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	uint32_t used;

	while (head - tail > r->mask) {
		/* Full: announce, re-check, sleep on tail (see tracer_ring_pop). */
		atomic_store(&r->producer_sleeping, 1);
		tracer_ring_kick(r);
		tail = atomic_load(&r->tail);
		if (head - tail > r->mask)
			futex_wait(&r->tail, tail, 100000000ULL);
		atomic_store(&r->producer_sleeping, 0);
		tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	}
	r->slots[head & r->mask] = *s;
	atomic_store_explicit(&r->head, head + 1, memory_order_release);
	used = head + 1 - tail;
	/* Wake the writer only when it sleeps and the ring is filling up. */
	if (used > (r->mask >> 1)) {
		atomic_thread_fence(memory_order_seq_cst);
		if (atomic_load_explicit(&r->consumer_sleeping, memory_order_relaxed))
			futex_wake(&r->head);
	}
}

void tracer_ring_kick(struct tracer_ring *r)
{
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&r->consumer_sleeping, memory_order_relaxed))
		futex_wake(&r->head);
}

uint32_t tracer_ring_ready(struct tracer_ring *r)
{
	return atomic_load_explicit(&r->head, memory_order_acquire) -
	       atomic_load_explicit(&r->tail, memory_order_relaxed);
}

void tracer_ring_pop(struct tracer_ring *r, uint32_t n)
{
	atomic_fetch_add_explicit(&r->tail, n, memory_order_release);
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&r->producer_sleeping, memory_order_relaxed))
		futex_wake(&r->tail);
}

void tracer_ring_wait(struct tracer_ring *r, uint64_t timeout_ns)
{
	uint32_t head = atomic_load(&r->head);

	atomic_store(&r->consumer_sleeping, 1);
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load(&r->head) == head)
		futex_wait(&r->head, head, timeout_ns);
	atomic_store(&r->consumer_sleeping, 0);
}
