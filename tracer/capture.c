/* SPDX-License-Identifier: MIT */
/*
 * The capture point: one function sees every exit and queues it for the
 * log's writer thread, which writes the SQLite row and fires the LTTng event
 * (tracer/log.c). No machine here, so tests can feed it synthetic exits.
 */
#include "tracer/tracer.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "stream/seal.h"
#include "tracer/tracer_int.h"

int tracer_open(struct tracer **out, const char *path, const struct tracer_options *opt,
		struct err *err)
{
	struct tracer_log_options lo = { 0 };
	struct tracer *t = calloc(1, sizeof(*t));
	int r;

	if (!t) {
		return err_set(err, -ENOMEM, "recording %s: out of memory", path);
	}
	if (opt)
		lo = (struct tracer_log_options){ .force = opt->force, .ring_records = opt->ring_records,
						  .batch_rows = opt->batch_rows, .batch_ms = opt->batch_ms };
	r = tracer_log_open(&t->log, path, &lo, err);
	if (r < 0) {
		free(t);
		return r;
	}
	tracer_set_tsc_base(t, clock_rdtsc());
	t->checkpoint_sec = opt ? opt->checkpoint_sec : 0;
	*out = t;
	return 0;
}

void tracer_close(struct tracer *t)
{
	if (!t)
		return;
	if (t->release)
		t->release(t);
	tracer_log_close(t->log);
	free(t);
}

void tracer_set_tsc_base(struct tracer *t, uint64_t tsc)
{
	t->tsc_base = tsc;
	tracer_log_set_tsc_base(t->log, tsc);
}

int tracer_capture_exit(struct tracer *t, uint32_t vcpu, const struct vcpu_exit *exit,
			uint64_t rip, uint64_t tsc_entry, uint64_t tsc_exit)
{
	uint8_t scratch[STREAM_SCRATCH];
	struct stream_rec r = { .vcpu = (uint16_t)vcpu, .seq = (int64_t)t->seq };
	const void *data = stream_rec_of_exit(&r, exit, scratch);

	r.exit.tsc_entry = tsc_entry;
	r.exit.tsc_exit = tsc_exit;
	r.exit.rip = rip;
	if (r.len && r.len <= sizeof(r.data))
		memcpy(r.data, data, r.len);
	t->seq++;
	return tracer_log_rec(t->log, &r, data);
}

int tracer_capture_event(struct tracer *t, uint32_t vcpu, enum stream_kind kind, int64_t value,
			 const struct stream_point *point)
{
	struct stream_rec r = { .kind = (uint8_t)kind, .dir = STREAM_DIR_NONE, .vcpu = (uint16_t)vcpu,
				.seq = (int64_t)t->seq - 1, .event.value = value,
				.len = point ? sizeof(*point) : 0 };

	return tracer_log_rec(t->log, &r, point);
}

/* The log runs with synchronous=OFF (tracer/log.c): make the finished file and its name durable. */
static int sync_file(const char *path, struct err *err)
{
	char dir[PATH_MAX];
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;

	if (fd < 0 || fdatasync(fd) < 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	snprintf(dir, sizeof(dir), "%s", path);
	fd = !r ? open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (!r && (fd < 0 || fsync(fd) < 0))
		r = -errno;
	if (fd >= 0)
		close(fd);
	if (r < 0)
		err_set(err, r, "finishing: syncing the file to disk: %s", strerror(-r));
	return r;
}

int tracer_end(struct tracer *t, const struct tracer_end *e, struct err *err)
{
	sqlite3 *db;
	int r = tracer_log_drain(t->log, err);

	if (r < 0)
		return r;
	db = tracer_log_lock(t->log);
	r = stream_sql_exec(db, "BEGIN", "finishing: BEGIN", err);
	if (!r)
		r = stream_meta_set_text(db, "end", e->end, err);
	if (!r)
		r = stream_meta_set_int(db, "end_code", e->code, err);
	if (!r)
		r = stream_meta_set_text(db, "end_detail", e->detail, err);
	if (!r)
		r = stream_meta_set_int(db, "exits", (long long)t->seq, err);
	if (!r && e->mem_digest)
		r = stream_meta_set_text(db, "final_mem_digest", e->mem_digest, err);
	if (!r)
		r = stream_meta_set_int(db, "complete", 1, err);
	if (!r)   /* the final state and meta, after their last change (stream/seal.h) */
		r = stream_seal_state_write(db, true, err);
	if (!r)
		r = stream_sql_exec(db, "COMMIT", "finishing: COMMIT", err);
	else
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	/* One self-contained file from here on: checkpoint and drop the WAL. */
	if (!r)
		r = stream_sql_exec(db, "PRAGMA journal_mode=DELETE", "finishing: leaving WAL mode",
				    err);
	if (!r)
		r = sync_file(tracer_log_path(t->log), err);
	tracer_log_unlock(t->log);
	if (r < 0)
		err_wrap(err, "recording %s", tracer_log_path(t->log));
	return r;
}

int tracer_error(struct tracer *t, struct err *err)
{
	return tracer_log_error(t->log, err);
}

uint64_t tracer_exits(const struct tracer *t)
{
	return t->seq;
}

uint64_t tracer_vmm_exits(const struct tracer *t)
{
	return t->vmm_exits - t->async_points;
}
