/* SPDX-License-Identifier: MIT */
/* Seals of the stream tables (stream/seal.h). */
#include "stream/seal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream/format.h"
#include "stream/hash.h"

/* Column tags: SQLite's own type codes. */
static void put_tag_u64(struct stream_seal_row *r, uint8_t tag, uint64_t v)
{
	if (r->n + 9 > sizeof(r->buf))     /* more columns than STREAM_SEAL_MAX_COLS: a caller's bug */
		abort();
	r->buf[r->n++] = tag;
	for (int i = 0; i < 8; i++)
		r->buf[r->n++] = (uint8_t)(v >> (8 * i));
}

void stream_seal_int(struct stream_seal_row *r, int64_t v)
{
	put_tag_u64(r, SQLITE_INTEGER, (uint64_t)v);
}

void stream_seal_null(struct stream_seal_row *r)
{
	if (r->n + 1 > sizeof(r->buf))
		abort();
	r->buf[r->n++] = SQLITE_NULL;
}

static void put_bytes(struct stream_seal_row *r, uint8_t tag, const void *p, size_t n)
{
	put_tag_u64(r, tag, n);
	put_tag_u64(r, tag, stream_hash64(p, n, n));
}

void stream_seal_blob(struct stream_seal_row *r, const void *p, size_t n)
{
	put_bytes(r, SQLITE_BLOB, p, n);
}

uint64_t stream_seal_row_hash(const struct stream_seal_row *r, int tbl)
{
	return stream_hash64(r->buf, r->n, 0x5ea1000000000000ULL | (uint64_t)tbl);
}

uint64_t stream_seal_stmt_hash(sqlite3_stmt *st, int ncols, int tbl)
{
	struct stream_seal_row r;
	double d;
	uint64_t bits;

	stream_seal_row_init(&r);
	for (int i = 0; i < ncols && i < STREAM_SEAL_MAX_COLS; i++) {
		switch (sqlite3_column_type(st, i)) {
		case SQLITE_INTEGER:
			stream_seal_int(&r, sqlite3_column_int64(st, i));
			break;
		case SQLITE_NULL:
			stream_seal_null(&r);
			break;
		case SQLITE_FLOAT:       /* never written: hashed so that it differs from any integer */
			d = sqlite3_column_double(st, i);
			memcpy(&bits, &d, sizeof(bits));
			put_tag_u64(&r, SQLITE_FLOAT, bits);
			break;
		case SQLITE_TEXT:
			put_bytes(&r, SQLITE_TEXT, sqlite3_column_text(st, i), (size_t)sqlite3_column_bytes(st, i));
			break;
		default:
			stream_seal_blob(&r, sqlite3_column_blob(st, i), (size_t)sqlite3_column_bytes(st, i));
			break;
		}
	}
	return stream_seal_row_hash(&r, tbl);
}

bool stream_seal_add(struct stream_seal_sums *s, enum stream_seal_table t, int64_t seq, uint64_t hash)
{
	int64_t batch = stream_seal_batch(seq);
	unsigned int i = s->n;

	/* Rows come in seq order per table (per vCPU in a trace): the sum is near the end. */
	while (i > 0 && !(s->s[i - 1].tbl == t && s->s[i - 1].batch == batch))
		i--;
	if (i == 0) {
		if (s->n == STREAM_SEAL_OPEN)
			return false;
		i = ++s->n;
		s->s[i - 1].tbl = (uint8_t)t;
		s->s[i - 1].batch = batch;
		s->s[i - 1].rows = 0;
		s->s[i - 1].digest = 0;
	}
	s->s[i - 1].rows++;
	s->s[i - 1].digest += hash;
	return true;
}

static const char *const table_name[STREAM_SEAL_TABLES] = { "exit", "event", "async_point" };
static const char *const table_cols[STREAM_SEAL_TABLES] = {
	STREAM_SEAL_EXIT_COLS, STREAM_SEAL_EVENT_COLS, STREAM_SEAL_POINT_COLS
};
static const int table_ncols[STREAM_SEAL_TABLES] = { 10, 5, 9 };

/* The first and last seq of a batch, for messages. */
static int64_t batch_first(int64_t b)
{
	return b == 0 ? -1 : b << STREAM_SEAL_SHIFT;
}

static int64_t batch_last(int64_t b)
{
	return ((b + 1) << STREAM_SEAL_SHIFT) - 1;
}

/* The sum of the seal rows of (t, batch) through st (the statement of stream_seal_open's c->sealed). */
static int sum_seals(sqlite3_stmt *st, int t, int64_t batch, uint64_t *rows, uint64_t *digest, struct err *e)
{
	int rc;

	*rows = *digest = 0;
	sqlite3_reset(st);
	sqlite3_bind_int(st, 1, t);
	sqlite3_bind_int64(st, 2, batch);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) != SQLITE_INTEGER || sqlite3_column_type(st, 1) != SQLITE_INTEGER)
			return err_set(e, -EINVAL, "corrupt recording: a seal of table %d, batch %" PRId64
				       " holds a value that is no integer", t, batch);
		*rows += (uint64_t)sqlite3_column_int64(st, 0);
		*digest += (uint64_t)sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return err_set(e, -EIO, "reading table seal: %s", sqlite3_errmsg(sqlite3_db_handle(st)));
	return 0;
}

/* Step st to its end, counting its rows and summing their hashes (first ncols columns, table tbl). */
static int sum_rows(sqlite3_stmt *st, int ncols, int tbl, uint64_t *rows, uint64_t *digest)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		(*rows)++;
		*digest += stream_seal_stmt_hash(st, ncols, tbl);
	}
	return rc;
}

/* One seal row (tbl, batch, rows, digest) through ins. */
static int insert_seal(sqlite3_stmt *ins, int tbl, int64_t batch, uint64_t rows, uint64_t digest, struct err *e)
{
	int rc;

	sqlite3_bind_int(ins, 1, tbl);
	sqlite3_bind_int64(ins, 2, batch);
	sqlite3_bind_int64(ins, 3, (sqlite3_int64)rows);
	sqlite3_bind_int64(ins, 4, (sqlite3_int64)digest);
	rc = sqlite3_step(ins);
	sqlite3_reset(ins);
	if (rc != SQLITE_DONE)
		return err_set(e, stream_sqlite_errno(rc), "sealing table %d: %s", tbl,
			       sqlite3_errmsg(sqlite3_db_handle(ins)));
	return 0;
}

static const char insert_sql[] = "INSERT INTO seal(tbl, batch, rows, digest) VALUES(?1, ?2, ?3, ?4)";

/* The batch c->t[t] stands in was read whole: compare it with its seal. */
static int check_batch(struct stream_seal_check *c, enum stream_seal_table t, struct err *e)
{
	uint64_t rows, digest;
	int64_t b = c->t[t].batch;
	int r = sum_seals(c->sealed, t, b, &rows, &digest, e);

	if (r < 0)
		return r;
	if (rows != c->t[t].rows || digest != c->t[t].digest)
		return err_set(e, -EINVAL, "corrupt recording: the %s rows of seq %" PRId64 " to %" PRId64
			       " are not the ones the recorder sealed (%" PRIu64 " read, %" PRIu64 " sealed%s): "
			       "the file was changed or damaged", table_name[t], batch_first(b), batch_last(b),
			       c->t[t].rows, rows, rows == c->t[t].rows ? ", a row differs" : "");
	return 0;
}

/* No rows of table t were read in the batches after `after` and before `before`: none may be sealed. */
static int check_none_between(struct stream_seal_check *c, enum stream_seal_table t, int64_t after,
			      int64_t before, struct err *e)
{
	sqlite3_stmt *st = c->beyond;
	int rc;
	int64_t b;

	if (before - after < 2)
		return 0;
	sqlite3_reset(st);
	sqlite3_bind_int(st, 1, t);
	sqlite3_bind_int64(st, 2, after);
	sqlite3_bind_int64(st, 3, before);
	rc = sqlite3_step(st);
	b = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return err_set(e, -EINVAL, "corrupt recording: the %s rows of seq %" PRId64 " to %" PRId64
			       " are missing (the recorder sealed some): the file was changed or damaged",
			       table_name[t], batch_first(b), batch_last(b));
	if (rc != SQLITE_DONE)
		return err_set(e, -EIO, "reading table seal: %s", sqlite3_errmsg(c->db));
	return 0;
}

int stream_seal_read(struct stream_seal_check *c, enum stream_seal_table t, sqlite3_stmt *st, struct err *e)
{
	int64_t seq, b;
	int r;

	if (!c->db)
		return 0;
	seq = sqlite3_column_int64(st, 0);
	b = stream_seal_batch(seq);
	if (b != c->t[t].batch) {
		if (b < c->t[t].batch)     /* the caller reads in seq order: a damaged b-tree */
			return err_set(e, -EINVAL, "corrupt recording: %s seq %" PRId64 " comes out of order",
				       table_name[t], seq);
		if ((r = check_batch(c, t, e)) < 0 || (r = check_none_between(c, t, c->t[t].batch, b, e)) < 0)
			return r;
		c->t[t].batch = b;
		c->t[t].rows = c->t[t].digest = 0;
	}
	c->t[t].rows++;
	c->t[t].digest += stream_seal_stmt_hash(st, table_ncols[t], t);
	return 0;
}

int stream_seal_end(struct stream_seal_check *c, enum stream_seal_table t, struct err *e)
{
	int r;

	if (!c->db || c->t[t].done)
		return 0;
	c->t[t].done = true;
	if ((r = check_batch(c, t, e)) < 0)
		return r;
	return check_none_between(c, t, c->t[t].batch, INT64_MAX, e);
}

bool stream_seal_expected(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	bool has = false;

	if (stream_schema_version(db) >= STREAM_SEAL_VERSION)
		return true;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'seal'", -1, &st,
			       NULL) == SQLITE_OK)
		has = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return has;
}

static const char sealed_sql[] = "SELECT rows, digest FROM seal WHERE tbl = ?1 AND batch = ?2";

/* The state tables: what each seal covers, and when it is written. */
static const struct {
	int tbl;
	int64_t batch;
	bool final;
	int ncols;
	const char *name, *select;
} state_sets[] = {
	{ STREAM_SEAL_MEM_PAGE, 0, false, 2, "mem_page", "SELECT gpa, data FROM mem_page" },
	{ STREAM_SEAL_CPUID, 0, false, 7, "cpuid", "SELECT function, idx, flags, eax, ebx, ecx, edx FROM cpuid" },
	{ STREAM_SEAL_IMAGE, 0, false, 5, "image", "SELECT name, role, size, sha256, data FROM image" },
	{ STREAM_SEAL_TSC_SITE, 0, false, 3, "tsc_site", "SELECT addr, len, kind FROM tsc_site" },
	{ STREAM_SEAL_VCPU_STATE, 0, false, 4, "vcpu_state (initial)",
	  "SELECT vcpu, phase, kind, data FROM vcpu_state WHERE phase = 'initial'" },
	{ STREAM_SEAL_VCPU_STATE, 1, true, 4, "vcpu_state (final)",
	  "SELECT vcpu, phase, kind, data FROM vcpu_state WHERE phase = 'final'" },
	{ STREAM_SEAL_META, 0, true, 2, "meta", "SELECT key, value FROM meta" },
};

/* Rows and hash sum of one state set, read now. */
static int state_sum(sqlite3 *db, size_t i, uint64_t *rows, uint64_t *digest, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*rows = *digest = 0;
	if (sqlite3_prepare_v2(db, state_sets[i].select, -1, &st, NULL) != SQLITE_OK)
		return err_set(e, -EINVAL, "corrupt recording: %s: %s", state_sets[i].name, sqlite3_errmsg(db));
	rc = sum_rows(st, state_sets[i].ncols, state_sets[i].tbl, rows, digest);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return err_set(e, -EIO, "reading %s: %s", state_sets[i].name, sqlite3_errmsg(db));
	return 0;
}

int stream_seal_state_write(sqlite3 *db, bool final, struct err *e)
{
	sqlite3_stmt *del = NULL, *ins = NULL;
	uint64_t rows, digest;
	int r = 0;

	if (sqlite3_prepare_v2(db, "DELETE FROM seal WHERE tbl = ?1 AND batch = ?2", -1, &del, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, insert_sql, -1, &ins, NULL) != SQLITE_OK)
		r = err_set(e, stream_sqlite_errno(sqlite3_errcode(db)), "sealing the state: %s", sqlite3_errmsg(db));
	for (size_t i = 0; i < sizeof(state_sets) / sizeof(state_sets[0]) && !r; i++) {
		if (state_sets[i].final != final || (r = state_sum(db, i, &rows, &digest, e)) < 0)
			continue;
		/* Sealed once, whole: a second call (meta written again) replaces it. */
		sqlite3_bind_int(del, 1, state_sets[i].tbl);
		sqlite3_bind_int64(del, 2, state_sets[i].batch);
		if (sqlite3_step(del) != SQLITE_DONE)
			r = err_set(e, stream_sqlite_errno(sqlite3_errcode(db)), "sealing %s: %s", state_sets[i].name,
				    sqlite3_errmsg(db));
		sqlite3_reset(del);
		if (!r && rows)
			r = insert_seal(ins, state_sets[i].tbl, state_sets[i].batch, rows, digest, e);
	}
	sqlite3_finalize(del);
	sqlite3_finalize(ins);
	return r;
}

int stream_seal_state_check(sqlite3 *db, struct err *e)
{
	sqlite3_stmt *st = NULL;
	uint64_t rows, digest, srows, sdigest;
	char complete[8] = "";
	int r = 0;

	if (sqlite3_prepare_v2(db, sealed_sql, -1, &st, NULL) != SQLITE_OK)
		return err_set(e, -EINVAL, "corrupt recording: table seal: %s", sqlite3_errmsg(db));
	stream_meta_get(db, "complete", complete, sizeof(complete));
	for (size_t i = 0; i < sizeof(state_sets) / sizeof(state_sets[0]) && !r; i++) {
		/* An incomplete recording was cut short before its end was sealed. */
		if (state_sets[i].final && strcmp(complete, "1"))
			continue;
		if ((r = state_sum(db, i, &rows, &digest, e)) < 0 ||
		    (r = sum_seals(st, state_sets[i].tbl, state_sets[i].batch, &srows, &sdigest, e)) < 0)
			break;
		if (rows != srows || digest != sdigest)
			r = err_set(e, -EINVAL, "corrupt recording: %s is not what the recorder sealed (%" PRIu64
				    " rows, %" PRIu64 " sealed%s): the file was changed or damaged", state_sets[i].name,
				    rows, srows, rows == srows ? ", a row differs" : "");
	}
	sqlite3_finalize(st);
	return r;
}

/* Table t's rows in seq order, a statement to step; NULL + e if the table cannot be read. */
static sqlite3_stmt *all_rows(sqlite3 *db, enum stream_seal_table t, struct err *e)
{
	char sql[256];
	sqlite3_stmt *st = NULL;

	snprintf(sql, sizeof(sql), "SELECT %s FROM %s ORDER BY seq", table_cols[t], table_name[t]);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		err_set(e, -EINVAL, "corrupt recording: %s: %s", table_name[t], sqlite3_errmsg(db));
	return st;
}

int stream_seal_verify_all(sqlite3 *db, uint64_t *batches, struct err *e)
{
	/* The reader's own check, fed every row of each table in turn. */
	struct stream_seal_check c;
	int r = stream_seal_open(&c, db, (const int64_t[STREAM_SEAL_TABLES]){ 0, -1, -1 }, e), rc;

	*batches = 0;
	for (int t = 0; t < STREAM_SEAL_TABLES && !r; t++) {
		sqlite3_stmt *st = all_rows(db, (enum stream_seal_table)t, e);
		int64_t last = -1;

		if (!st)
			r = e->code;
		while (!r && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			int64_t seq = sqlite3_column_int64(st, 0);

			*batches += stream_seal_batch(seq) != last;
			last = stream_seal_batch(seq);
			r = stream_seal_read(&c, (enum stream_seal_table)t, st, e);
		}
		if (!r && rc != SQLITE_DONE)
			r = err_set(e, -EIO, "reading table %s: %s", table_name[t], sqlite3_errmsg(db));
		if (!r)
			r = stream_seal_end(&c, (enum stream_seal_table)t, e);
		sqlite3_finalize(st);
	}
	stream_seal_close(&c);
	return r;
}

int stream_seal_rebuild(sqlite3 *db, struct err *e)
{
	sqlite3_stmt *ins = NULL;
	int r = stream_sql_exec(db, "DELETE FROM seal", "sealing anew", e);

	if (!r && sqlite3_prepare_v2(db, insert_sql, -1, &ins, NULL) != SQLITE_OK)
		r = err_set(e, -EINVAL, "sealing anew: %s", sqlite3_errmsg(db));
	for (int t = 0; t < STREAM_SEAL_TABLES && !r; t++) {
		sqlite3_stmt *st = all_rows(db, (enum stream_seal_table)t, e);
		int64_t batch = -1;
		uint64_t rows = 0, digest = 0;
		bool more = st != NULL;

		r = st ? 0 : e->code;
		while (more && !r) {    /* a batch is done when the next row is in another */
			more = sqlite3_step(st) == SQLITE_ROW;
			if (rows && (!more || stream_seal_batch(sqlite3_column_int64(st, 0)) != batch)) {
				r = insert_seal(ins, t, batch, rows, digest, e);
				rows = digest = 0;
			}
			if (more) {
				batch = stream_seal_batch(sqlite3_column_int64(st, 0));
				rows++;
				digest += stream_seal_stmt_hash(st, table_ncols[t], t);
			}
		}
		sqlite3_finalize(st);
	}
	sqlite3_finalize(ins);
	if (!r)
		r = stream_seal_state_write(db, false, e);
	return r ? r : stream_seal_state_write(db, true, e);
}

/* Hash the rows of t's first batch that lie before start (the reader starts in the middle of it). */
static int prime(struct stream_seal_check *c, enum stream_seal_table t, int64_t start, struct err *e)
{
	char sql[256];
	sqlite3_stmt *st = NULL;
	int rc;

	c->t[t].batch = stream_seal_batch(start);
	snprintf(sql, sizeof(sql), "SELECT %s FROM %s WHERE seq >= ?1 AND seq < ?2", table_cols[t],
		 table_name[t]);
	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
		return err_set(e, -EINVAL, "reading the recording (%s): %s", sql, sqlite3_errmsg(c->db));
	sqlite3_bind_int64(st, 1, batch_first(c->t[t].batch));
	sqlite3_bind_int64(st, 2, start);
	rc = sum_rows(st, table_ncols[t], t, &c->t[t].rows, &c->t[t].digest);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return err_set(e, -EIO, "reading table %s: %s", table_name[t], sqlite3_errmsg(c->db));
	return 0;
}

int stream_seal_open(struct stream_seal_check *c, sqlite3 *db, const int64_t start[STREAM_SEAL_TABLES],
		     struct err *e)
{
	int r = 0;

	memset(c, 0, sizeof(*c));
	c->db = db;
	if (sqlite3_prepare_v2(db, sealed_sql, -1, &c->sealed, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT batch FROM seal WHERE tbl = ?1 AND batch > ?2 AND batch < ?3 "
			       "LIMIT 1", -1, &c->beyond, NULL) != SQLITE_OK)
		r = err_set(e, -EINVAL, "corrupt recording: table seal: %s", sqlite3_errmsg(db));
	for (int t = 0; t < STREAM_SEAL_TABLES && !r; t++)
		r = prime(c, (enum stream_seal_table)t, start[t], e);
	if (r < 0)
		stream_seal_close(c);
	return r;
}

void stream_seal_close(struct stream_seal_check *c)
{
	sqlite3_finalize(c->sealed);
	sqlite3_finalize(c->beyond);
	c->sealed = c->beyond = NULL;
	c->db = NULL;
}
