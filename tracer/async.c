/* SPDX-License-Identifier: MIT */
#include "tracer/async.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine/async.h"
#include "machine/machine.h"
#include "tracer/log.h"
#include "tracer/tracer.h"
#include "tracer/tracer_int.h"

struct tracer_async {
	struct machine_dirty dirty;
	uint64_t events;
	uint64_t capture_ns;      /* time spent capturing points (state, dirty log, digests) */
};

static int async_init(struct tracer *t, struct machine *m)
{
	struct tracer_async *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	if (machine_dirty_init(&a->dirty, m) < 0) {
		free(a);
		return -ENOMEM;
	}
	t->async = a;
	return 0;
}

static int fill_point(struct tracer_async *a, struct machine *m, struct tracer_async_point *p)
{
	struct kvm_sregs sregs;
	int r;

	/* KVM filled the sync-regs area at the INTR exit (KVM_SYNC_X86_REGS valid). */
	p->regs = vcpu_sync_regs_read(&m->vcpu)->regs;
	r = vcpu_get_sregs(&m->vcpu, &sregs);
	if (r < 0)
		return r;
	p->cpl = sregs.cs.selector & 3;
	r = machine_xsave_digest(m, &p->xsave_digest);
	if (r < 0)
		return r;
	r = machine_dirty_collect(&a->dirty, m);
	if (r < 0)
		return r;
	p->mem_digest = machine_dirty_digest(&a->dirty, m, &p->dirty_pages);
	machine_dirty_clear(&a->dirty);
	return 0;
}

int tracer_async_capture(struct tracer *t, struct machine *m, int vector)
{
	uint64_t t0 = machine_now_ns();
	struct tracer_async_point p = { .seq = t->seq - 1, .vcpu = m->vcpu.id, .vector = vector };
	char err[256];
	int r;

	/* p.seq: the KVM_EXIT_INTR just captured. */
	if (!t->async && (r = async_init(t, m)) < 0)
		goto fail;
	r = fill_point(t->async, m, &p);
	if (r < 0)
		goto fail;
	t->async->events++;
	/* Both rows go through the writer's ring: the vCPU thread never waits on SQLite. */
	r = tracer_capture_event(t, m->vcpu.id, TRACER_EVENT_ASYNC_IRQ, vector);
	if (r == 0)
		r = tracer_log_async_point(t->log, &p);
	t->async->capture_ns += machine_now_ns() - t0;
	if (r < 0) {
		tracer_log_error(t->log, err, sizeof(err));
		machine_set_end(m, END_ERROR, err);
	}
	return r;
fail:
	snprintf(err, sizeof(err), "asynchronous point after seq %llu (vector 0x%x): %s",
		 (unsigned long long)(t->seq - 1), vector, strerror(-r));
	machine_set_end(m, END_ERROR, err);
	return r;
}

int tracer_async_finish(struct tracer *t, char *err, size_t errlen)
{
	struct tracer_async *a = t->async;
	sqlite3 *db;
	int r;

	if (!a)
		return 0;
	/* The points themselves went through the ring; the caller drained it. */
	db = tracer_log_lock(t->log);
	r = tracer_meta_set_int(db, "async_events", (long long)a->events, err, errlen);
	if (r == 0)
		r = tracer_meta_set_int(db, "async_capture_ns", (long long)a->capture_ns, err, errlen);
	tracer_log_unlock(t->log);
	machine_dirty_free(&a->dirty);
	free(a);
	t->async = NULL;
	return r;
}

int tracer_async_point_load(sqlite3 *db, uint64_t seq, struct tracer_async_point *p,
			    char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "SELECT vcpu, rip, rflags, cpl, regs, xsave_digest, mem_digest, "
				    "dirty_pages FROM async_point WHERE seq = ?", -1, &st, NULL);
	int r = 0;

	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
		rc = sqlite3_step(st);
	}
	if (rc == SQLITE_ROW) {
		memset(p, 0, sizeof(*p));
		p->seq = seq;
		p->vcpu = (uint32_t)sqlite3_column_int64(st, 0);
		if (sqlite3_column_bytes(st, 4) != (int)sizeof(p->regs)) {
			snprintf(err, errlen, "async_point seq %llu: regs is %d bytes, want %zu",
				 (unsigned long long)seq, sqlite3_column_bytes(st, 4), sizeof(p->regs));
			r = -EINVAL;
		} else {
			memcpy(&p->regs, sqlite3_column_blob(st, 4), sizeof(p->regs));
			/* The rip and rflags columns are the ones a reader (or a test) edits. */
			p->regs.rip = (uint64_t)sqlite3_column_int64(st, 1);
			p->regs.rflags = (uint64_t)sqlite3_column_int64(st, 2);
			p->cpl = (uint32_t)sqlite3_column_int64(st, 3);
			p->xsave_digest = (uint64_t)sqlite3_column_int64(st, 5);
			p->mem_digest = (uint64_t)sqlite3_column_int64(st, 6);
			p->dirty_pages = (uint32_t)sqlite3_column_int64(st, 7);
			r = 1;
		}
	} else if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "reading async_point seq %llu: %s", (unsigned long long)seq,
			 sqlite3_errmsg(db));
		r = -EIO;
	}
	sqlite3_finalize(st);
	return r;
}
