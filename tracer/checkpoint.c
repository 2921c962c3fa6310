/* SPDX-License-Identifier: MIT */
/*
 * Checkpoints while recording (stream/checkpoint.h): after an exit, when
 * checkpoint_sec of run time have passed since the last one, the vCPU is
 * settled and its state and the pages written since the previous
 * checkpoint are copied out of the machine on the vCPU thread and go into
 * the file through the writer thread, in ring order behind the exit they
 * follow (tracer_log_job): the vCPU never waits for SQLite, and a kill -9
 * cannot leave a checkpoint without its exit. The pages come from KVM's
 * dirty log, which the asynchronous points' set shares.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "stream/checkpoint.h"
#include "stream/format.h"
#include "tracer/async.h"
#include "tracer/log.h"
#include "tracer/tracer_int.h"

struct tracer_ckpt {
	struct stream_dirty dirty;     /* pages written since the previous checkpoint */
	uint64_t interval_ns, next_ns;
	uint64_t count, pages, ns;     /* checkpoints taken, pages and time spent, for meta */
	uint64_t max_ns;               /* the longest one on the vCPU thread */
	struct machine *m;
};

int tracer_ckpt_init(struct tracer *t, struct machine *m, struct err *err)
{
	struct tracer_ckpt *c = calloc(1, sizeof(*c));

	if (!c || stream_dirty_init(&c->dirty, m) < 0) {
		free(c);
		return err_set(err, -ENOMEM, "checkpoints: out of memory");
	}
	if (!m->cfg.dirty_log) {
		stream_dirty_free(&c->dirty);
		free(c);
		return err_set(err, -EINVAL, "checkpoints need KVM's dirty log on guest RAM");
	}
	/* What the loader wrote is in the initial pages: start from a clean log. */
	stream_dirty_collect(&c->dirty, m);
	stream_dirty_clear(&c->dirty);
	c->m = m;
	stream_dirty_attach(&c->dirty, m);

	c->interval_ns = (uint64_t)(t->checkpoint_sec * 1e9);
	c->next_ns = clock_now_ns() + c->interval_ns;
	t->ckpt = c;
	t->release = tracer_ckpt_free;
	return 0;
}

/* A checkpoint on its way to the file through the writer (tracer/log.h). */
struct ckpt_job {
	struct tracer_log_job job;
	struct stream_checkpoint_data *data;
};

static int ckpt_job_write(struct tracer_log_job *job, sqlite3 *db, struct err *err)
{
	return stream_checkpoint_write(db, ((struct ckpt_job *)job)->data, err);
}

static void ckpt_job_free(struct tracer_log_job *job)
{
	stream_checkpoint_data_free(((struct ckpt_job *)job)->data);
	free(job);
}

/* Copy the checkpoint at the last exit out of the machine and queue it behind that exit's row. */
static int ckpt_take(struct tracer *t, struct machine *m, uint64_t tsc_exit, struct err *e)
{
	struct ckpt_job *job = calloc(1, sizeof(*job));
	int r;

	if (!job)
		return err_set(e, -ENOMEM, "checkpoint: out of memory");
	r = stream_checkpoint_capture(m, (int64_t)t->seq - 1, tsc_exit - t->tsc_base, &t->ckpt->dirty,
				      tracer_async_dirty(t), &job->data, e);
	if (r < 0) {
		free(job);
		return err_wrap(e, "recording %s", tracer_log_path(t->log));
	}
	job->job.write = ckpt_job_write;
	job->job.free = ckpt_job_free;
	r = tracer_log_job(t->log, &job->job);
	return r < 0 ? tracer_log_error(t->log, e) : 0;
}

int tracer_ckpt_maybe(struct tracer *t, struct machine *m, uint32_t reason, uint64_t tsc_exit)
{
	struct tracer_ckpt *c = t->ckpt;
	uint64_t now = clock_now_ns();
	struct err e = { 0 };
	int r;

	/*
	 * Only at a synchronisation point: a replay reaches it as an exit, so a
	 * replay from the start and one from here meet there.
	 */
	if (now < c->next_ns || m->end != END_NONE ||
	    stream_sync_of(reason, !m->cfg.irq_at_exits, false) != STREAM_SYNC_EXIT)
		return 0;
	r = stream_checkpoint_settle(m, &e);
	if (r < 0)
		err_wrap(&e, "recording %s", tracer_log_path(t->log));
	else
		r = ckpt_take(t, m, tsc_exit, &e);     /* its messages name the file */
	if (r < 0) {
		machine_set_end(m, END_ERROR, e.msg);
		return r;
	}
	c->count++;
	now = clock_now_ns() - now;
	c->ns += now;                    /* settle, snapshot, copies of the pages: the vCPU thread's time */
	c->max_ns = now > c->max_ns ? now : c->max_ns;
	c->next_ns = clock_now_ns() + c->interval_ns;
	return 0;
}

int tracer_ckpt_finish(struct tracer *t, struct err *err)
{
	struct tracer_ckpt *c = t->ckpt;
	sqlite3 *db;
	int r;

	if (!c)
		return 0;
	db = tracer_log_lock(t->log);
	r = stream_meta_set_int(db, "checkpoints", (long long)c->count, err);
	if (r == 0)
		r = stream_meta_set_int(db, "checkpoint_ns", (long long)c->ns, err);
	if (r == 0)
		r = stream_meta_set_int(db, "checkpoint_max_ns", (long long)c->max_ns, err);
	tracer_log_unlock(t->log);
	return r;
}

void tracer_ckpt_free(struct tracer *t)
{
	if (!t->ckpt)
		return;
	stream_dirty_detach(&t->ckpt->dirty, t->ckpt->m);
	stream_dirty_free(&t->ckpt->dirty);
	free(t->ckpt);
	t->ckpt = NULL;
}
