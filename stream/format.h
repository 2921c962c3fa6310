/* SPDX-License-Identifier: MIT */
/*
 * The recording format (docs/log-format.md), shared by the writer (tracer/)
 * and the readers (replay/, analysis/). Changing a code or a table's meaning
 * bumps STREAM_FORMAT_VERSION; readers refuse versions they do not know.
 */
#ifndef KVMRR_STREAM_FORMAT_H
#define KVMRR_STREAM_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <sqlite3.h>

#include "common/err.h"
#include "stream/stream.h"

#define STREAM_FORMAT_NAME    "kvmrr-recording"
/*
 * 2: final_mem_digest is the page digest of stream/digest.h (1: a SHA-256 of
 * all RAM, stream_mem_digest); tables checkpoint and checkpoint_page;
 * asynchronous points' XSAVE digest without the header's component bitmaps
 * (1: the raw one).
 * 3: event kind 5 (vcpu_events) and a NULL exit.rip, both from traces of
 * another VMM (kvmrr trace, meta.traced_vmm); nothing else changed, so a
 * version-2 file reads as before (tests/e2e/test_compat.c).
 * 4: table seal (stream/seal.h): the recorder seals the rows of exit, event
 * and async_point, readers check them; earlier versions read as before,
 * unchecked.
 * Readers accept STREAM_FORMAT_VERSION_MIN to STREAM_FORMAT_VERSION.
 */
#define STREAM_FORMAT_VERSION 4
#define STREAM_FORMAT_VERSION_MIN 1

/* vcpu_state.kind, in restore order (see stream/snapshot.h). */
#define STREAM_STATE_KINDS "sregs regs fpu xcrs xsave msrs debugregs mp_state events"

/* A documented view: CREATE VIEW name AS select (docs/log-format.md, "Views"). */
struct stream_view {
	const char *name;
	const char *select;
};
#define STREAM_VIEW_COUNT 5
extern const struct stream_view stream_views[STREAM_VIEW_COUNT];
/* CREATE [TEMP] VIEW of v; 0 or -EIO with the SQLite message in err. */
int stream_view_create(sqlite3 *db, const struct stream_view *v, bool temp, struct err *err);

/*
 * Create every table, index and view of format STREAM_FORMAT_VERSION in an
 * empty database and fill meta(format, format_version, complete=0) and the
 * name tables. 0 or -errno with a message naming the statement.
 */
int stream_schema_create(sqlite3 *db, struct err *err);

/*
 * Check that db holds a recording this build can read: meta.format is
 * STREAM_FORMAT_NAME and meta.format_version is STREAM_FORMAT_VERSION_MIN
 * to STREAM_FORMAT_VERSION.
 * Returns 0, -EPROTONOSUPPORT for another version (the message names both),
 * -EINVAL if it is no kvmrr recording.
 */
int stream_schema_check(sqlite3 *db, struct err *err);
/* meta.format_version of a recording stream_schema_check accepted; -EINVAL if absent. */
int stream_schema_version(sqlite3 *db);

/*
 * Open a recording read-only, check its format and SQLite's structure of
 * its tables but exit and event (their rows are checked by their seals). *db is set on success
 * only; close it with sqlite3_close(). The handle has no mutexes
 * (SQLITE_OPEN_NOMUTEX): one thread at a time may use it. 0 or -errno with a
 * message (without the path: the caller names the file).
 */
int stream_recording_open(const char *path, sqlite3 **db, struct err *err);

/*
 * SQLite's PRAGMA quick_check of one table and its indexes (table NULL: the
 * whole file, free pages too). 0, or -EINVAL "corrupt recording: ..." + err.
 */
int stream_quick_check(sqlite3 *db, const char *table, struct err *err);

/* meta helpers: 0 or -EIO with a message. */
int stream_meta_set_text(sqlite3 *db, const char *key, const char *value, struct err *err);
int stream_meta_set_int(sqlite3 *db, const char *key, long long value, struct err *err);
/* Text of meta[key] into buf; -ENOENT if absent. */
int stream_meta_get(sqlite3 *db, const char *key, char *buf, size_t len);
/* tsc_site rows (stream/tsc_sites.c): the RDTSC/RDTSCP sites the loader patched; load appends, sorted. */
struct tsc_sites;
int stream_tsc_sites_save(sqlite3 *db, const struct tsc_sites *sites, struct err *err);
int stream_tsc_sites_load(sqlite3 *db, struct tsc_sites *sites, struct err *err);

/* -errno for a SQLite result code: FULL -ENOSPC, NOMEM -ENOMEM, BUSY -EBUSY, READONLY -EROFS, else -EIO. */
int stream_sqlite_errno(int rc);

/* Run SQL text (no rows); 0 or -EIO with "what: sqlite message" in err. */
int stream_sql_exec(sqlite3 *db, const char *sql, const char *what, struct err *err);

#endif
