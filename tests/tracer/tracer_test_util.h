/* SPDX-License-Identifier: MIT */
/* Helpers shared by the tracer tests: temp dirs and one-value SQL queries. */
#ifndef KVMRR_TESTS_TRACER_UTIL_H
#define KVMRR_TESTS_TRACER_UTIL_H

#include <sqlite3.h>
#include <stdint.h>

#include "tests/reseal.h"
#include "tests/test.h"

/* mkdtemp under /tmp; the path is static storage per call site buffer. */
static inline void tt_tmpdir(char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/kvmrr-tracer-XXXXXX");
	TEST_ASSERT(mkdtemp(buf), "mkdtemp %s", buf);
}

/* Remove a test's temp dir (left in place when the test fails, for a look). */
static inline void tt_cleanup(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	TEST_ASSERT(system(cmd) == 0, "%s", cmd);
}

static inline sqlite3 *tt_open(const char *path)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);

	TEST_ASSERT(rc == SQLITE_OK, "open %s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	sqlite3_busy_timeout(db, 5000);
	return db;
}

/* The first column of the first row as an integer; fails the test on an SQL error or no row. */
static inline long long tt_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	TEST_ASSERT(rc == SQLITE_OK, "prepare \"%s\": %s", sql, sqlite3_errmsg(db));
	rc = sqlite3_step(st);
	TEST_ASSERT(rc == SQLITE_ROW, "\"%s\" returned no row (%s)", sql, sqlite3_errmsg(db));
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The first column of the first row as text into buf. */
static inline const char *tt_text(sqlite3 *db, const char *sql, char *buf, size_t len)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	TEST_ASSERT(rc == SQLITE_OK, "prepare \"%s\": %s", sql, sqlite3_errmsg(db));
	rc = sqlite3_step(st);
	TEST_ASSERT(rc == SQLITE_ROW, "\"%s\" returned no row (%s)", sql, sqlite3_errmsg(db));
	snprintf(buf, len, "%s", sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "(null)");
	sqlite3_finalize(st);
	return buf;
}

/* xorshift64: deterministic pseudo-random values for synthetic runs. */
static inline uint64_t tt_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

#endif
