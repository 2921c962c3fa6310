/* SPDX-License-Identifier: MIT */
/*
 * The SQLite sink: a recording file, its schema, and the writer thread that
 * drains the exit/event ring into batched transactions (WAL,
 * synchronous=OFF, prepared statements) and fires the LTTng event of each
 * record it writes (tracer/tp.h), so no tracepoint runs on a vCPU thread.
 *
 * The file the user named is a valid recording from the start and follows
 * the run about a second behind: the schema is checkpointed into it at
 * open, the initial state right after it is written (tracer_record_initial),
 * and the writer checkpoints the WAL once a second has gone by since the
 * last checkpoint if something was committed since (SQLite's own checkpoint
 * every ~4 MB of WAL stays). Whoever copies only that file after a kill -9
 * has the recording up to the last checkpoint; the -wal beside it has the rest.
 *
 * Threads: tracer_log_rec() is the producer side and belongs to one
 * thread (the vCPU thread); it never touches SQLite and only blocks when
 * the ring is full. Everything else runs on the thread that owns
 * the recording (the same thread, before and after the run). Synchronous
 * writes (initial and final state) go through tracer_log_lock().
 */
#ifndef KVMRR_TRACER_LOG_H
#define KVMRR_TRACER_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "common/err.h"
#include "stream/stream.h"

struct tracer_log_options {
	bool force;              /* replace an existing file instead of refusing */
	uint32_t ring_records;   /* ring capacity in 64-byte slots; 0: 65536 (4 MiB) */
	uint32_t batch_rows;     /* commit after this many rows; 0: 50000 */
	uint32_t batch_ms;       /* ... or this long after the transaction began; 0: 50 */
	uint32_t wal_checkpoint_ms;  /* checkpoint the WAL this long after the last one; 0: 1000 */
};

/* Producer rings (lanes) a log can have: lane 0, and one per further producer thread. */
#define TRACER_LOG_LANES 65

struct tracer_log;

/*
 * Create the file at path (refusing an existing one unless opt->force: then
 * it and its -wal/-shm are replaced), write the schema, start the writer.
 * opt may be NULL. 0 or -errno with a message.
 */
int tracer_log_open(struct tracer_log **out, const char *path, const struct tracer_log_options *opt,
		    struct err *err);
/* Stop the writer (after committing what is in the ring), close the file. NULL is fine. */
void tracer_log_close(struct tracer_log *l);

/* The host TSC the first exit's vmm_ticks counts from; set before the first exit. */
void tracer_log_set_tsc_base(struct tracer_log *l, uint64_t tsc);

/*
 * Producer: queue one record (stream/stream.h) and its r->len data bytes.
 * Returns 0, -E2BIG for data over STREAM_DATA_MAX, or the writer's error
 * (-ENOSPC for a full disk, -EIO, ...) once it has failed: the caller then
 * stops the run; tracer_log_error() has the message.
 */
int tracer_log_rec(struct tracer_log *l, const struct stream_rec *r, const void *data);

/*
 * Work the writer does in ring order, inside its transaction: the rows of a
 * checkpoint, which so reach the file with (never before) the exits queued
 * ahead of them, while the producer goes on without waiting for SQLite.
 * write runs on the writer thread unless the log has failed; free always
 * runs, once.
 */
struct tracer_log_job {
	int (*write)(struct tracer_log_job *job, sqlite3 *db, struct err *err);
	void (*free)(struct tracer_log_job *job);
};
/* Producer: queue job behind the records queued so far. 0 or the writer's error (job freed then). */
int tracer_log_job(struct tracer_log *l, struct tracer_log_job *job);

/*
 * Another producer thread (a traced VMM's vCPU, trace/): a ring of its own,
 * which that one thread fills with tracer_log_lane_rec(l, *idx, ...) as
 * tracer_log_rec fills lane 0; the writer drains every lane. Callable from
 * any thread at any time. 0, -ENOMEM, or -ENOSPC after TRACER_LOG_LANES.
 */
int tracer_log_lane_add(struct tracer_log *l, uint32_t *idx);
int tracer_log_lane_rec(struct tracer_log *l, uint32_t lane, const struct stream_rec *r,
			const void *data);

/* Wait until everything queued so far is committed. 0 or the writer's error with its message. */
int tracer_log_drain(struct tracer_log *l, struct err *err);
/* The writer's error (0 if none) and its message. */
int tracer_log_error(struct tracer_log *l, struct err *err);
/* Take / release the database for synchronous writes (waits for the writer's batch). */
sqlite3 *tracer_log_lock(struct tracer_log *l);
void tracer_log_unlock(struct tracer_log *l);
const char *tracer_log_path(const struct tracer_log *l);

/*
 * Copy the WAL's committed pages into the main file (a PASSIVE checkpoint),
 * so a copy of the file the user named holds everything committed so far.
 * db is the recording's connection (tracer_log_lock()). 0 or -errno with a
 * message naming path and what (the caller's step). tracer/wal.c.
 */
int tracer_log_wal_checkpoint(sqlite3 *db, const char *path, const char *what, struct err *err);
/* The same as a plain SQLite result: SQLITE_OK (also when a reader kept some frames) or the error. */
int tracer_wal_checkpoint(sqlite3 *db, int *wal_frames, int *copied);

#endif
