/* SPDX-License-Identifier: MIT */
/*
 * A single-producer / single-consumer ring of fixed-size 64-byte records.
 *
 * The producer (the vCPU thread) never takes a lock: a push is a copy and a
 * release store. When the ring is full the producer sleeps on a futex until
 * the consumer frees a slot, so nothing is ever dropped. The consumer (the
 * writer thread) polls with a short sleep when the ring is empty; the
 * producer only pays a wake-up syscall when the ring is half full and the
 * consumer is asleep, so a fast run does not make one syscall per exit.
 */
#ifndef KVMRR_TRACER_RING_H
#define KVMRR_TRACER_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define TRACER_REC_SIZE 64

struct tracer_slot {
	uint8_t bytes[TRACER_REC_SIZE];
};

struct tracer_ring {
	struct tracer_slot *slots;
	uint32_t mask;                       /* capacity - 1; capacity is a power of two */
	_Alignas(64) _Atomic uint32_t head;  /* next slot the producer fills */
	_Atomic uint32_t consumer_sleeping;
	_Alignas(64) _Atomic uint32_t tail;  /* next slot the consumer reads */
	_Atomic uint32_t producer_sleeping;
};

/* capacity is rounded up to a power of two (minimum 1). 0 or -ENOMEM. */
int tracer_ring_init(struct tracer_ring *r, uint32_t capacity);
void tracer_ring_free(struct tracer_ring *r);
static inline uint32_t tracer_ring_capacity(const struct tracer_ring *r) { return r->mask + 1; }

/*
 * Producer: copy one slot in, blocking while the ring is full (the
 * consumer drains until the end, even after a failure: nothing waits forever).
 */
void tracer_ring_push(struct tracer_ring *r, const struct tracer_slot *s);
/* Producer: wake the consumer now (used before waiting for a drain). */
void tracer_ring_kick(struct tracer_ring *r);

/*
 * Consumer: the number of slots ready to read (0 if empty). Read them with
 * tracer_ring_peek(r, i) for i < n, then release them with tracer_ring_pop().
 */
uint32_t tracer_ring_ready(struct tracer_ring *r);
static inline const struct tracer_slot *tracer_ring_peek(const struct tracer_ring *r, uint32_t i)
{
	return &r->slots[(atomic_load_explicit(&r->tail, memory_order_relaxed) + i) & r->mask];
}
void tracer_ring_pop(struct tracer_ring *r, uint32_t n);
/* Consumer: sleep until the producer kicks, the ring is half full, or timeout_ns passed. */
void tracer_ring_wait(struct tracer_ring *r, uint64_t timeout_ns);

#endif
