/* SPDX-License-Identifier: MIT */
/*
 * The SQLite sink: a recording file, its schema, and the writer thread that
 * drains the exit/event ring into batched transactions (WAL,
 * synchronous=NORMAL, prepared statements).
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
};

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

/* Wait until everything queued so far is committed. 0 or the writer's error with its message. */
int tracer_log_drain(struct tracer_log *l, struct err *err);
/* The writer's error (0 if none) and its message. */
int tracer_log_error(struct tracer_log *l, struct err *err);
/* Take / release the database for synchronous writes (waits for the writer's batch). */
sqlite3 *tracer_log_lock(struct tracer_log *l);
void tracer_log_unlock(struct tracer_log *l);
const char *tracer_log_path(const struct tracer_log *l);

#endif
