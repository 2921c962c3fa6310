/* SPDX-License-Identifier: MIT */
#include "tracer/async.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "machine/machine.h"
#include "stream/point.h"
#include "tracer/log.h"
#include "tracer/tracer.h"
#include "tracer/tracer_int.h"

struct tracer_async {
	struct stream_dirty dirty;
	uint64_t events;
	uint64_t capture_ns;      /* time spent capturing points (state, dirty log, digests) */
	struct machine *m;
};

static int async_init(struct tracer *t, struct machine *m)
{
	struct tracer_async *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	if (stream_dirty_init(&a->dirty, m) < 0) {
		free(a);
		return -ENOMEM;
	}
	/* Whoever collects the dirty log (checkpoints, the page digests) feeds this set too. */
	stream_dirty_attach(&a->dirty, m);
	a->m = m;
	t->async = a;
	return 0;
}

int tracer_async_capture(struct tracer *t, struct machine *m, int vector)
{
	uint64_t t0 = clock_now_ns();
	/* p.seq: the exit just captured (KVM_EXIT_INTR or IRQ_WINDOW_OPEN). */
	struct stream_point p = { .seq = (int64_t)t->seq - 1, .vcpu = m->vcpu.id };
	struct err err = { 0 };
	int r;

	if (!t->async && (r = async_init(t, m)) < 0)
		goto fail;
	r = stream_point_capture(&t->async->dirty, m, &p);
	if (r < 0)
		goto fail;
	t->async->events++;
	/* The event and its point go through the writer's ring: the vCPU thread never waits on SQLite. */
	r = tracer_capture_event(t, m->vcpu.id, STREAM_ASYNC_IRQ, vector, &p);
	t->async->capture_ns += clock_now_ns() - t0;
	if (r < 0) {
		tracer_log_error(t->log, &err);
		machine_set_end(m, END_ERROR, err.msg);
	}
	return r;
fail:
	err_printf(&err, "asynchronous point after seq %llu (vector 0x%x): %s",
		 (unsigned long long)(t->seq - 1), vector, strerror(-r));
	machine_set_end(m, END_ERROR, err.msg);
	return r;
}

int tracer_async_start(struct tracer *t, struct machine *m)
{
	return t->async ? 0 : async_init(t, m);
}

struct stream_dirty *tracer_async_dirty(struct tracer *t)
{
	return t->async ? &t->async->dirty : NULL;
}

int tracer_async_finish(struct tracer *t, struct err *err)
{
	struct tracer_async *a = t->async;
	sqlite3 *db;
	int r;

	if (!a)
		return 0;
	/* The points themselves went through the ring; the caller drained it. */
	db = tracer_log_lock(t->log);
	r = stream_meta_set_int(db, "async_events", (long long)a->events, err);
	if (r == 0)
		r = stream_meta_set_int(db, "async_capture_ns", (long long)a->capture_ns, err);
	tracer_log_unlock(t->log);
	stream_dirty_detach(&a->dirty, a->m);
	stream_dirty_free(&a->dirty);
	free(a);
	t->async = NULL;
	return r;
}
