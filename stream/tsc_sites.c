/* SPDX-License-Identifier: MIT */
/*
 * The tsc_site table: the RDTSC/RDTSCP sites the loader patched
 * (machine/tsc_scan.h), written with the initial state; replay reads it
 * back to know where a HLT exit is a patched site and how long it is.
 */
#include "stream/format.h"

#include <errno.h>
#include <stdio.h>

#include "machine/tsc_scan.h"

int stream_tsc_sites_save(sqlite3 *db, const struct tsc_sites *sites, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "INSERT INTO tsc_site(addr, len, kind) VALUES(?, ?, ?)", -1, &st,
				    NULL);

	for (size_t i = 0; rc == SQLITE_OK && i < sites->n; i++) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)sites->v[i].addr);
		sqlite3_bind_int(st, 2, sites->v[i].len);
		sqlite3_bind_int(st, 3, sites->v[i].kind);
		rc = sqlite3_step(st);
		rc = rc == SQLITE_DONE ? sqlite3_reset(st) : rc;
	}
	if (rc != SQLITE_OK)
		err_set(err, stream_sqlite_errno(rc), "INSERT INTO tsc_site: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? 0 : stream_sqlite_errno(rc);
}

int stream_tsc_sites_load(sqlite3 *db, struct tsc_sites *sites, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "SELECT addr, len, kind FROM tsc_site ORDER BY addr", -1, &st, NULL);

	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct tsc_site s = { .addr = (uint64_t)sqlite3_column_int64(st, 0),
				      .len = (uint8_t)sqlite3_column_int(st, 1),
				      .kind = (uint8_t)sqlite3_column_int(st, 2),
				      .file_off = TSC_SITE_NO_FILE };

		rc = SQLITE_OK;   /* go on to the next row */
		if (s.len < 2 || s.len > 15 || (s.kind != TSC_SITE_RDTSC && s.kind != TSC_SITE_RDTSCP)) {
			sqlite3_finalize(st);
			return err_set(err, -EINVAL, "corrupt recording: tsc_site row at 0x%llx: bad len %u "
				       "or kind %u", (unsigned long long)s.addr, s.len, s.kind);
		}
		if (tsc_sites_add(sites, &s) < 0) {
			sqlite3_finalize(st);
			return err_set(err, -ENOMEM, "tsc_site: out of memory");
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_OK)
		return err_set(err, stream_sqlite_errno(rc), "reading table tsc_site: %s", sqlite3_errmsg(db));
	return 0;
}
