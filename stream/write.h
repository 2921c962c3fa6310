/* SPDX-License-Identifier: MIT */
/*
 * The writer's side of the stream: records (stream/stream.h) into the
 * tables exit, event and async_point of an open recording. Exit rows go
 * out STREAM_WRITE_MULTI at a time through one multi-row INSERT (one
 * statement run instead of 32: about a third less CPU per row); rows with
 * data over 8 bytes, and the remainder at a flush, go one at a time.
 * Events and points are rare and go one at a time. Every row is added to
 * the seals of its transaction (stream/seal.h). The caller owns the
 * transactions: stream_writer_flush() then stream_writer_seal() before
 * each COMMIT.
 */
#ifndef KVMRR_STREAM_WRITE_H
#define KVMRR_STREAM_WRITE_H

#include <stdint.h>
#include <sqlite3.h>

#include "common/err.h"
#include "stream/seal.h"
#include "stream/stream.h"

#define STREAM_WRITE_MULTI 32

struct stream_writer {
	sqlite3 *db;
	sqlite3_stmt *ins_exit, *ins_exit_multi, *ins_event, *ins_point, *ins_seal;
	uint64_t tsc_base;                  /* the first exit's vmm_ticks count from here */
	uint64_t prev_tsc_exit[STREAM_MAX_VCPUS];
	struct {
		struct stream_rec r;        /* data inline (<= 8 bytes) */
		int64_t vmm_ticks;
	} pend[STREAM_WRITE_MULTI];         /* exit rows waiting for a multi-row INSERT */
	uint32_t npend;
	struct stream_seal_sums sums;       /* of the rows written in this transaction */
	uint32_t rows;                      /* rows written (the caller may reset it per batch) */
	struct err err;                     /* the first failure; later records are dropped */
};

/* Prepare the INSERT statements on db. 0 or -errno with a message. */
int stream_writer_init(struct stream_writer *w, sqlite3 *db, struct err *e);
void stream_writer_fini(struct stream_writer *w);
/*
 * Write one complete record; data holds its r->len bytes. 0, or the first
 * failure's -errno (w->err says what failed at which seq).
 */
int stream_write(struct stream_writer *w, const struct stream_rec *r, const uint8_t *data);
/* Insert the exit rows still pending. 0 or the first failure. */
int stream_writer_flush(struct stream_writer *w);
/* Write the seal rows of the rows written since the last call (stream/seal.h). 0 or the first failure. */
int stream_writer_seal(struct stream_writer *w);
/* Record a failure of the caller's SQL (BEGIN, COMMIT) at seq; returns its -errno. */
int stream_writer_fail(struct stream_writer *w, int sqlite_rc, const char *what, int64_t seq);

#endif
