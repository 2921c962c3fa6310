/* SPDX-License-Identifier: MIT */
#ifndef KVMRR_TESTS_RESEAL_H
#define KVMRR_TESTS_RESEAL_H

#include <sqlite3.h>

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
	struct err e = { 0 };

	TEST_ASSERT(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(db));
	TEST_ASSERT(stream_seal_rebuild(db, &e) == 0, "%s", e.msg);
	TEST_ASSERT(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(db));
}

#endif
