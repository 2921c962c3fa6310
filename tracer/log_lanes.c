/* SPDX-License-Identifier: MIT */
/* The producer side of the log: lanes (one ring per producer thread), queueing records, draining. */
#include "tracer/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tracer/log_int.h"

int tracer_log_lane_add(struct tracer_log *l, uint32_t *idx)
{
	struct tracer_log_lane *ln = calloc(1, sizeof(*ln));
	uint32_t n;
	int r = -ENOMEM;

	if (ln && (ln->buf = malloc(STREAM_DATA_MAX + TRACER_REC_SIZE)))
		r = tracer_ring_init(&ln->ring, l->ring_records);
	if (r < 0) {
		if (ln)
			free(ln->buf);
		free(ln);
		return r;
	}
	pthread_mutex_lock(&l->lane_lock);
	n = atomic_load(&l->nlanes);
	if (n < TRACER_LOG_LANES) {
		l->lane[n] = ln;
		atomic_store_explicit(&l->nlanes, n + 1, memory_order_release);
	}
	pthread_mutex_unlock(&l->lane_lock);
	if (n == TRACER_LOG_LANES) {
		tracer_ring_free(&ln->ring);
		free(ln->buf);
		free(ln);
		return -ENOSPC;
	}
	if (idx)
		*idx = n;
	return 0;
}

int tracer_log_rec(struct tracer_log *l, const struct stream_rec *r, const void *data)
{
	return tracer_log_lane_rec(l, 0, r, data);
}

int tracer_log_lane_rec(struct tracer_log *l, uint32_t lane, const struct stream_rec *r,
			const void *data)
{
	struct tracer_ring *ring = &l->lane[lane]->ring;
	int e = atomic_load_explicit(&l->error, memory_order_relaxed);

	if (e)
		return e;
	if (r->len > STREAM_DATA_MAX)
		return -E2BIG;
	tracer_ring_push(ring, (const struct tracer_slot *)r);
	/* Data over the 8 inline bytes follows in raw slots. */
	for (uint32_t off = 0; r->len > sizeof(r->data) && off < r->len; off += TRACER_REC_SIZE) {
		struct tracer_slot s;
		uint32_t n = r->len - off < TRACER_REC_SIZE ? r->len - off : TRACER_REC_SIZE;

		memcpy(s.bytes, (const uint8_t *)data + off, n);
		tracer_ring_push(ring, &s);
	}
	return 0;
}

/* Every lane committed up to what its producer had queued when the drain began. */
static bool lanes_drained(struct tracer_log *l, const uint32_t *target, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (atomic_load(&l->lane[i]->committed) != target[i])
			return false;
	return true;
}

int tracer_log_drain(struct tracer_log *l, struct err *err)
{
	uint32_t target[TRACER_LOG_LANES], n = atomic_load_explicit(&l->nlanes, memory_order_acquire);
	struct timespec ts = { 0, 200000 };

	for (uint32_t i = 0; i < n; i++)
		target[i] = atomic_load(&l->lane[i]->ring.head);
	atomic_store(&l->flush, 1);
	while (!lanes_drained(l, target, n) && !atomic_load(&l->error)) {
		tracer_ring_kick(&l->lane[0]->ring);
		nanosleep(&ts, NULL);
	}
	atomic_store(&l->flush, 0);
	return tracer_log_error(l, err);
}

