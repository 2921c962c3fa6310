/* SPDX-License-Identifier: MIT */
#ifndef KVMRR_TESTS_RESEAL_H
#define KVMRR_TESTS_RESEAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "stream/seal.h"
#include "tests/test.h"

/*
 * Seal the file anew, as the recorder would have sealed the rows it holds
 * now (stream tables and state tables, stream/seal.h): a test that cuts a
 * recording short with SQL makes the file a kill leaves (a kill keeps
 * whole commits, their seals with them); a test of replay's comparisons
 * makes the file a recorder that saw those values would have written.
 */
static inline void test_reseal(sqlite3 *db)
{
	static const struct { const char *sql; int ncols; } tables[STREAM_SEAL_TABLES] = {
		{ "SELECT " STREAM_SEAL_EXIT_COLS " FROM exit ORDER BY seq", 10 },
		{ "SELECT " STREAM_SEAL_EVENT_COLS " FROM event ORDER BY seq", 5 },
		{ "SELECT " STREAM_SEAL_POINT_COLS " FROM async_point ORDER BY seq", 9 },
	};
	sqlite3_stmt *st = NULL, *ins = NULL;
	struct err e = { 0 };

	TEST_ASSERT(sqlite3_exec(db, "BEGIN; DELETE FROM seal", NULL, NULL, NULL) == SQLITE_OK, "%s",
		    sqlite3_errmsg(db));
	TEST_ASSERT(sqlite3_prepare_v2(db, "INSERT INTO seal(tbl, batch, rows, digest) VALUES(?, ?, ?, ?)", -1,
				       &ins, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(db));
	for (int t = 0; t < STREAM_SEAL_TABLES; t++) {
		int64_t batch = -1;
		uint64_t rows = 0, digest = 0;
		bool more;

		TEST_ASSERT(sqlite3_prepare_v2(db, tables[t].sql, -1, &st, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(db));
		do {    /* rows in seq order: a batch is done when the next row is in another */
			more = sqlite3_step(st) == SQLITE_ROW;
			if (rows && (!more || stream_seal_batch(sqlite3_column_int64(st, 0)) != batch)) {
				sqlite3_bind_int(ins, 1, t);
				sqlite3_bind_int64(ins, 2, batch);
				sqlite3_bind_int64(ins, 3, (sqlite3_int64)rows);
				sqlite3_bind_int64(ins, 4, (sqlite3_int64)digest);
				TEST_ASSERT(sqlite3_step(ins) == SQLITE_DONE, "%s", sqlite3_errmsg(db));
				sqlite3_reset(ins);
				rows = digest = 0;
			}
			if (more) {
				batch = stream_seal_batch(sqlite3_column_int64(st, 0));
				rows++;
				digest += stream_seal_stmt_hash(st, tables[t].ncols, (enum stream_seal_table)t);
			}
		} while (more);
		sqlite3_finalize(st);
	}
	sqlite3_finalize(ins);
	TEST_ASSERT(stream_seal_state_write(db, false, &e) == 0 && stream_seal_state_write(db, true, &e) == 0,
		    "%s", e.msg);
	TEST_ASSERT(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(db));
}

#endif
