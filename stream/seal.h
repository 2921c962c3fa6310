/* SPDX-License-Identifier: MIT */
/*
 * Seals (format version 4): a digest of the rows of the stream tables (exit,
 * event, async_point), written by the recorder in the same transaction as
 * the rows, and checked by the cursor as it reads them; and of the state
 * tables whole (stream_seal_state_write), checked when a recording is
 * opened. "Identical" is then only said of what the recorder wrote, every
 * column of it (the timing columns replay does not compare too).
 * docs/log-format.md ("seal") has the table codes and the encoding.
 *
 * Rows are grouped into batches by seq (stream_seal_batch: 4096 seqs). A
 * seal row (tbl, batch, rows, digest) holds the number of rows of one table
 * in one batch and the sum, modulo 2^64, of their row hashes; a batch may
 * have several seal rows (one per transaction that wrote to it): they add.
 * A sum does not depend on the order the rows were written in (the traces of
 * another VMM interleave vCPUs), and each commit seals what it wrote, so a
 * recording cut short by kill -9 is sealed up to its last commit.
 *
 * A row hash is stream_hash64 of the row's columns in table order, each as
 * its SQLite type and value (a blob: its length and its own stream_hash64),
 * seeded with the table. It detects damage and edits (a changed row goes
 * unseen with probability 2^-64); it is no cryptographic signature: whoever
 * edits a row on purpose can recompute its seal.
 */
#ifndef KVMRR_STREAM_SEAL_H
#define KVMRR_STREAM_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "common/err.h"

#define STREAM_SEAL_SHIFT 12        /* 4096 seqs a batch */
#define STREAM_SEAL_VERSION 4       /* the first format version with seals */

/*
 * Whether db's rows must be checked against seals: format version 4 or
 * later, or a table seal (a version edited down does not switch them off).
 */
bool stream_seal_expected(sqlite3 *db);

enum stream_seal_table { STREAM_SEAL_EXIT, STREAM_SEAL_EVENT, STREAM_SEAL_POINT, STREAM_SEAL_TABLES };
/* The tables of the initial and final state, sealed whole (stream_seal_state_write). */
enum stream_seal_state_table {
	STREAM_SEAL_MEM_PAGE = 3, STREAM_SEAL_VCPU_STATE, STREAM_SEAL_CPUID, STREAM_SEAL_IMAGE,
	STREAM_SEAL_TSC_SITE, STREAM_SEAL_META,
};

/* Each table's columns in table order: the cursor selects them so, and rows are hashed so. */
#define STREAM_SEAL_EXIT_COLS  "seq, vcpu, reason, vmm_ticks, guest_ticks, rip, addr, size, dir, data"
#define STREAM_SEAL_EVENT_COLS "seq, vcpu, kind, value, data"
#define STREAM_SEAL_POINT_COLS "seq, vcpu, rip, rflags, cpl, regs, xsave_digest, mem_digest, dirty_pages"

/* The batch of a row at seq (an event before the first exit has seq -1: batch 0). */
static inline int64_t stream_seal_batch(int64_t seq)
{
	return seq < 0 ? 0 : seq >> STREAM_SEAL_SHIFT;
}

/* One row's columns as they are encoded for its hash (a blob or text takes 18 bytes, an integer 9). */
#define STREAM_SEAL_MAX_COLS 10
struct stream_seal_row {
	uint8_t buf[STREAM_SEAL_MAX_COLS * 18];
	size_t n;
};

static inline void stream_seal_row_init(struct stream_seal_row *r)
{
	r->n = 0;
}
void stream_seal_int(struct stream_seal_row *r, int64_t v);
void stream_seal_null(struct stream_seal_row *r);
void stream_seal_blob(struct stream_seal_row *r, const void *p, size_t n);
uint64_t stream_seal_row_hash(const struct stream_seal_row *r, int tbl);
/* The hash of the row st stands on: its first ncols columns, each by its own type. */
uint64_t stream_seal_stmt_hash(sqlite3_stmt *st, int ncols, int tbl);

/*
 * The state tables are sealed whole, by reading back what was written, in
 * the transaction that wrote it: at the start (initial) mem_page, cpuid,
 * image, tsc_site and the initial vcpu_state (batch 0); at the end (final)
 * the final vcpu_state (batch 1) and meta (after its last change). 0 or
 * -errno + e.
 */
int stream_seal_state_write(sqlite3 *db, bool final, struct err *e);
/*
 * Check the state tables of a recording of format 4 or later against their
 * seals: the initial ones always, the final ones when meta.complete is 1.
 * 0, or -EINVAL + e (corrupt recording).
 */
int stream_seal_state_check(sqlite3 *db, struct err *e);
/*
 * Check every row of the stream tables against its seal without replaying
 * (kvmrr check; stream_recording_open checked the state tables). *batches:
 * the batches checked. 0 or -errno + e.
 */
int stream_seal_verify_all(sqlite3 *db, uint64_t *batches, struct err *e);
/*
 * Seal db anew, inside the caller's transaction, as a recorder would have
 * sealed the rows it holds now (every table above). For tests and the fuzz
 * mutator: an edited copy then tests what replay compares, not the seals.
 * 0 or -errno + e.
 */
int stream_seal_rebuild(sqlite3 *db, struct err *e);

/* The writer's sums for the seal rows of the current transaction. */
#define STREAM_SEAL_OPEN 16
struct stream_seal_sums {
	struct {
		int64_t batch;
		uint64_t rows, digest;
		uint8_t tbl;
	} s[STREAM_SEAL_OPEN];
	unsigned int n;
};

/* Add a row's hash to its (table, batch) sum; false when no sum is free (write them out first). */
bool stream_seal_add(struct stream_seal_sums *s, enum stream_seal_table t, int64_t seq, uint64_t hash);

/* The reader's check of one table: the batch it stands in and what it read of it. */
struct stream_seal_check {
	sqlite3 *db;
	sqlite3_stmt *sealed, *beyond;   /* the seal rows of a batch; seal rows of batches in a range */
	struct {
		int64_t batch;
		uint64_t rows, digest;
		bool done;
	} t[STREAM_SEAL_TABLES];
};

/*
 * Start checking the rows of a recording of format version 4 or later read
 * from start[t] on (seq), for each table: the rows of start[t]'s batch before
 * it are read and hashed here. 0 or -errno + e.
 */
int stream_seal_open(struct stream_seal_check *c, sqlite3 *db, const int64_t start[STREAM_SEAL_TABLES],
		     struct err *e);
void stream_seal_close(struct stream_seal_check *c);
/*
 * st stands on a row of table t (its columns selected as STREAM_SEAL_*_COLS,
 * seq first); rows of a table come in seq order. A batch left behind is
 * checked: 0, or -EINVAL + e (corrupt recording: what was read is not what
 * was sealed). Nothing is hashed when c checks nothing (no seals).
 */
int stream_seal_read(struct stream_seal_check *c, enum stream_seal_table t, sqlite3_stmt *st, struct err *e);
/* Table t has no more rows: its last batch is checked and no later one may be sealed. */
int stream_seal_end(struct stream_seal_check *c, enum stream_seal_table t, struct err *e);

#endif
