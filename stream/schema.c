/* SPDX-License-Identifier: MIT */
/* The recording schema, version 1: tables, views and the version check (docs/log-format.md). */
#include "stream/format.h"
#include "stream/seal.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vcpu/exit.h"

static const char *const event_kind_names[STREAM_KIND_COUNT] = {
	[STREAM_EXIT] = "exit",
	[STREAM_IRQ] = "irq",
	[STREAM_NMI] = "nmi",
	[STREAM_IRQ_WINDOW] = "irq_window",
	[STREAM_ASYNC_IRQ] = "async_irq",
	[STREAM_VCPU_EVENTS] = "vcpu_events",
};
_Static_assert(sizeof(event_kind_names) / sizeof(event_kind_names[0]) == STREAM_KIND_COUNT,
	       "one name per event kind");
/* The views test reason numbers in SQL text. */
_Static_assert(KVM_EXIT_IO == 2 && KVM_EXIT_MMIO == 6, "exit_timeline hard-codes IO=2, MMIO=6");

const char *stream_kind_name(unsigned int kind)
{
	return kind < STREAM_KIND_COUNT ? event_kind_names[kind] : NULL;
}

static const char schema_sql[] =
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value);\n"
	"CREATE TABLE image(name TEXT PRIMARY KEY, role TEXT, size INTEGER, sha256 TEXT, data BLOB);\n"
	"CREATE TABLE cpuid(function INTEGER, idx INTEGER, flags INTEGER, eax INTEGER,"
	" ebx INTEGER, ecx INTEGER, edx INTEGER, PRIMARY KEY(function, idx));\n"
	"CREATE TABLE vcpu_state(vcpu INTEGER, phase TEXT, kind TEXT, data BLOB,"
	" PRIMARY KEY(vcpu, phase, kind));\n"
	"CREATE TABLE mem_page(gpa INTEGER PRIMARY KEY, data BLOB);\n"
	"CREATE TABLE exit(seq INTEGER PRIMARY KEY, vcpu INTEGER, reason INTEGER,"
	" vmm_ticks INTEGER, guest_ticks INTEGER, rip INTEGER, addr INTEGER, size INTEGER,"
	" dir INTEGER, data BLOB);\n"
	"CREATE TABLE event(seq INTEGER, vcpu INTEGER, kind INTEGER, value INTEGER, data BLOB);\n"
	"CREATE INDEX event_by_seq ON event(seq);\n"
	"CREATE TABLE async_point(seq INTEGER PRIMARY KEY, vcpu INTEGER, rip INTEGER, rflags INTEGER,"
	" cpl INTEGER, regs BLOB, xsave_digest INTEGER, mem_digest INTEGER, dirty_pages INTEGER);\n"
	"CREATE TABLE checkpoint(seq INTEGER PRIMARY KEY, ticks INTEGER, pages INTEGER,"
	" async_pages BLOB, devices BLOB, digest INTEGER);\n"
	"CREATE TABLE checkpoint_page(seq INTEGER, gpa INTEGER, data BLOB, PRIMARY KEY(seq, gpa));\n"
	"CREATE TABLE tsc_site(addr INTEGER PRIMARY KEY, len INTEGER, kind INTEGER);\n"
	"CREATE TABLE seal(tbl INTEGER, batch INTEGER, rows INTEGER, digest INTEGER);\n"
	"CREATE INDEX seal_by_batch ON seal(tbl, batch);\n"
	"CREATE TABLE exit_reason(reason INTEGER PRIMARY KEY, name TEXT);\n"
	"CREATE TABLE event_kind(kind INTEGER PRIMARY KEY, name TEXT);\n"
	;

/*
 * The documented views (docs/log-format.md), written to stream on 1M rows:
 * the running sum (entry time) is the only window and follows the rowid
 * order (no sort, no PARTITION); the next exit's vmm_ticks comes from a PK
 * lookup, not LEAD (which buffers the whole table); names and tsc_khz are
 * scalar subqueries. Names are unqualified, so the same text also makes
 * TEMP copies for a reader of a file that lacks them.
 */
#define NS "(SELECT 1000000.0 / value FROM meta WHERE key = 'tsc_khz')"
#define REASON_NAME(r) "coalesce((SELECT name FROM exit_reason x WHERE x.reason = " r "), " \
		       "'UNKNOWN(' || " r " || ')')"
/* Per-exit cost in ticks without the running sum, for the stats views. */
#define COST "(SELECT e.reason, e.addr, e.dir, e.guest_ticks AS g, coalesce(n.vmm_ticks, 0) AS v" \
	     " FROM exit e LEFT JOIN exit n ON n.seq = e.seq + 1)"
const struct stream_view stream_views[STREAM_VIEW_COUNT] = {
	{ "exit_timeline",
	  "SELECT w.seq, w.vcpu, w.reason, " REASON_NAME("w.reason") " AS reason_name,\n"
	  " CAST(w.entry_ticks * " NS " AS INTEGER) AS ts_ns,\n"
	  " CAST((w.guest_ticks + coalesce(n.vmm_ticks, 0)) * " NS " AS INTEGER) AS dur_ns,\n"
	  " CAST(w.guest_ticks * " NS " AS INTEGER) AS guest_ns,\n"
	  " CAST(coalesce(n.vmm_ticks, 0) * " NS " AS INTEGER) AS vmm_ns,\n"
	  " w.rip, CASE WHEN w.reason = 2 THEN w.addr END AS port,\n"
	  " CASE WHEN w.reason = 6 THEN w.addr END AS gpa, w.size, w.dir, w.data\n"
	  "FROM (SELECT e.*, SUM(e.vmm_ticks + e.guest_ticks) OVER (ORDER BY e.seq ROWS UNBOUNDED"
	  " PRECEDING) - e.guest_ticks AS entry_ticks FROM exit e) w\n"
	  "LEFT JOIN exit n ON n.seq = w.seq + 1" },
	{ "exit_stats",
	  "SELECT " REASON_NAME("c.reason") " AS reason_name, COUNT(*) AS count,\n"
	  " ROUND(COUNT(*) * 1.0 / (SELECT COUNT(*) FROM exit), 6) AS share,\n"
	  " CAST(SUM(g + v) * " NS " AS INTEGER) AS total_ns, CAST(SUM(g) * " NS " AS INTEGER) AS guest_ns,\n"
	  " CAST(SUM(v) * " NS " AS INTEGER) AS vmm_ns, CAST(MIN(g + v) * " NS " AS INTEGER) AS min_ns,\n"
	  " CAST(AVG(g + v) * " NS " AS INTEGER) AS avg_ns, CAST(MAX(g + v) * " NS " AS INTEGER) AS max_ns\n"
	  "FROM " COST " c GROUP BY c.reason ORDER BY total_ns DESC" },
	{ "pio_stats",
	  "SELECT addr AS port, dir, COUNT(*) AS count, CAST(SUM(g + v) * " NS " AS INTEGER) AS total_ns,\n"
	  " CAST(SUM(v) * " NS " AS INTEGER) AS vmm_ns, CAST(AVG(g + v) * " NS " AS INTEGER) AS avg_ns\n"
	  "FROM " COST " WHERE reason = 2 GROUP BY addr, dir ORDER BY total_ns DESC" },
	{ "mmio_stats",
	  "SELECT addr AS gpa, dir, COUNT(*) AS count, CAST(SUM(g + v) * " NS " AS INTEGER) AS total_ns,\n"
	  " CAST(SUM(v) * " NS " AS INTEGER) AS vmm_ns, CAST(AVG(g + v) * " NS " AS INTEGER) AS avg_ns\n"
	  "FROM " COST " WHERE reason = 6 GROUP BY addr, dir ORDER BY total_ns DESC" },
	{ "events",
	  "SELECT ev.seq, ev.vcpu, coalesce((SELECT name FROM event_kind k WHERE k.kind = ev.kind),"
	  " 'UNKNOWN(' || ev.kind || ')') AS kind_name, ev.value\n"
	  "FROM event ev ORDER BY ev.rowid" },
};
#undef COST
#undef REASON_NAME
#undef NS

int stream_view_create(sqlite3 *db, const struct stream_view *v, bool temp, struct err *err)
{
	char *sql = sqlite3_mprintf("CREATE %sVIEW %s AS %s", temp ? "TEMP " : "", v->name, v->select);
	int r;

	if (!sql) {
		return err_set(err, -ENOMEM, "view %s: out of memory", v->name);
	}
	r = stream_sql_exec(db, sql, v->name, err);
	sqlite3_free(sql);
	return r;
}

int stream_sqlite_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_FULL: return -ENOSPC;
	case SQLITE_NOMEM: return -ENOMEM;
	case SQLITE_BUSY: case SQLITE_LOCKED: return -EBUSY;
	case SQLITE_READONLY: return -EROFS;
	case SQLITE_PERM: case SQLITE_AUTH: return -EACCES;
	case SQLITE_CANTOPEN: return -ENOENT;
	case SQLITE_TOOBIG: return -E2BIG;
	case SQLITE_NOTADB: case SQLITE_CORRUPT: return -EINVAL;
	default: return -EIO;
	}
}

int stream_sql_exec(sqlite3 *db, const char *sql, const char *what, struct err *err)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc == SQLITE_OK)
		return 0;
	err_printf(err, "%s: %s (SQLite %d)", what, msg ? msg : sqlite3_errstr(rc), rc);
	sqlite3_free(msg);
	return stream_sqlite_errno(rc);
}

static int meta_set(sqlite3 *db, const char *key, const char *text, long long num, bool is_num,
		    struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", -1,
				    &st, NULL);

	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		if (is_num)
			sqlite3_bind_int64(st, 2, num);
		else
			sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	if (rc != SQLITE_DONE && rc != SQLITE_OK) {
		err_printf(err, "writing meta '%s': %s (SQLite %d)", key, sqlite3_errmsg(db), rc);
		sqlite3_finalize(st);
		return stream_sqlite_errno(rc);
	}
	sqlite3_finalize(st);
	return 0;
}

int stream_meta_set_text(sqlite3 *db, const char *key, const char *value, struct err *err)
{
	return meta_set(db, key, value ? value : "", 0, false, err);
}

int stream_meta_set_int(sqlite3 *db, const char *key, long long value, struct err *err)
{
	return meta_set(db, key, NULL, value, true, err);
}

int stream_meta_get(sqlite3 *db, const char *key, char *buf, size_t len)
{
	sqlite3_stmt *st = NULL;
	int r = -ENOENT;

	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL) != SQLITE_OK)
		return -EINVAL;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *v = sqlite3_column_text(st, 0);

		snprintf(buf, len, "%s", v ? (const char *)v : "");
		r = 0;
	}
	sqlite3_finalize(st);
	return r;
}

static int fill_names(sqlite3 *db, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "INSERT INTO exit_reason(reason, name) VALUES(?, ?)", -1,
				    &st, NULL);

	for (unsigned int i = 0; rc == SQLITE_OK && i < VCPU_EXIT_REASON_COUNT; i++) {
		sqlite3_bind_int(st, 1, (int)i);
		sqlite3_bind_text(st, 2, vcpu_exit_reason_name(i), -1, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? sqlite3_reset(st) : SQLITE_ERROR;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "INSERT INTO event_kind(kind, name) VALUES(?, ?)", -1,
					&st, NULL);
	for (unsigned int k = 1; rc == SQLITE_OK && k < STREAM_KIND_COUNT; k++) {
		sqlite3_bind_int(st, 1, (int)k);
		sqlite3_bind_text(st, 2, event_kind_names[k], -1, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? sqlite3_reset(st) : SQLITE_ERROR;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK) {
		err_printf(err, "filling exit_reason/event_kind: %s", sqlite3_errmsg(db));
		return stream_sqlite_errno(rc);
	}
	return 0;
}

int stream_schema_create(sqlite3 *db, struct err *err)
{
	int r = stream_sql_exec(db, "BEGIN", "schema: BEGIN", err);

	if (!r)
		r = stream_sql_exec(db, schema_sql, "schema: CREATE", err);
	for (size_t i = 0; !r && i < STREAM_VIEW_COUNT; i++)
		r = stream_view_create(db, &stream_views[i], false, err);
	if (!r)
		r = fill_names(db, err);
	if (!r)
		r = stream_meta_set_text(db, "format", STREAM_FORMAT_NAME, err);
	if (!r)
		r = stream_meta_set_int(db, "format_version", STREAM_FORMAT_VERSION, err);
	if (!r)
		r = stream_meta_set_int(db, "complete", 0, err);
	if (!r)
		r = stream_sql_exec(db, "COMMIT", "schema: COMMIT", err);
	else
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

int stream_schema_check(sqlite3 *db, struct err *err)
{
	char format[64], version[32];
	char *end = NULL;
	long v;

	if (stream_meta_get(db, "format", format, sizeof(format)) < 0) {
		return err_set(err, -EINVAL, "not a kvmrr recording: meta.format is missing, wanted '%s'",
			 STREAM_FORMAT_NAME);
	}
	if (strcmp(format, STREAM_FORMAT_NAME) != 0) {
		return err_set(err, -EINVAL, "not a kvmrr recording: meta.format is '%s', wanted '%s'",
			 format, STREAM_FORMAT_NAME);
	}
	if (stream_meta_get(db, "format_version", version, sizeof(version)) < 0) {
		return err_set(err, -EINVAL, "kvmrr recording without meta.format_version");
	}
	v = strtol(version, &end, 10);
	if (end == version || *end || v < STREAM_FORMAT_VERSION_MIN || v > STREAM_FORMAT_VERSION) {
		return err_set(err, -EPROTONOSUPPORT, "recording format version %s is not supported: this kvmrr "
			 "(%s) reads format versions %d to %d", version, KVMRR_VERSION,
			 STREAM_FORMAT_VERSION_MIN, STREAM_FORMAT_VERSION);
	}
	return 0;
}

int stream_schema_version(sqlite3 *db)
{
	char version[32];

	if (stream_meta_get(db, "format_version", version, sizeof(version)) < 0)
		return -EINVAL;
	return atoi(version);
}

int stream_quick_check(sqlite3 *db, const char *table, struct err *err)
{
	sqlite3_stmt *st = NULL;
	char sql[160], why[200] = "";
	int rc;

	if (table)
		snprintf(sql, sizeof(sql), "PRAGMA quick_check(\"%s\")", table);
	else
		snprintf(sql, sizeof(sql), "PRAGMA quick_check(1)");
	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (strcmp((const char *)sqlite3_column_text(st, 0), "ok"))
			snprintf(why, sizeof(why), "%s%s%s%s", table ? "table " : "", table ? table : "",
				 table ? ": " : "", sqlite3_column_text(st, 0));
		rc = SQLITE_OK;
	} else {
		snprintf(why, sizeof(why), "%s", sqlite3_errmsg(db));
	}
	sqlite3_finalize(st);
	if (!why[0])
		return 0;
	for (char *p = why; *p; p++)            /* quick_check reports on several lines */
		*p = *p == '\n' ? ' ' : *p;
	return err_set(err, -EINVAL, "corrupt recording: SQLite's structural check failed: %s", why);
}

/*
 * SQLite's structural check of every table but the two that grow with the
 * run, exit and event: milliseconds, where the whole file costs ~0.15 s at
 * 10^6 exits and seconds at 10^7. The rows of exit and event are checked
 * against their seals as they are read (stream/seal.h).
 */
static int check_structure(sqlite3 *db, struct err *err)
{
	sqlite3_stmt *tables = NULL;
	int r = 0, rc = sqlite3_prepare_v2(db, "SELECT name FROM sqlite_schema WHERE type = 'table' AND "
					   "name NOT IN ('exit', 'event')", -1, &tables, NULL);

	if (rc != SQLITE_OK)
		return err_set(err, -EINVAL, "corrupt recording: %s", sqlite3_errmsg(db));
	while (!r && sqlite3_step(tables) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(tables, 0);

		r = stream_quick_check(db, name ? name : "", err);
	}
	sqlite3_finalize(tables);
	return r;
}

int stream_recording_open(const char *path, sqlite3 **out, struct err *err)
{
	sqlite3 *db = NULL;
	/* NOMUTEX: one thread uses the handle; SQLite's mutexes cost replay ~0.2 us an exit. */
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	int r;

	if (rc != SQLITE_OK) {
		err_printf(err, "cannot open it: %s", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return stream_sqlite_errno(rc);
	}
	r = stream_schema_check(db, err);
	if (r == 0)
		r = check_structure(db, err);
	if (r == 0 && stream_seal_expected(db))
		r = stream_seal_state_check(db, err);
	if (r < 0) {
		sqlite3_close(db);
		return r;
	}
	*out = db;
	return 0;
}
