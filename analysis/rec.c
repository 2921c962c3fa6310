/* SPDX-License-Identifier: MIT */
/*
 * Opening a recording: the one place that decides whether a file is a
 * kvmrr recording this build can read, and says why not.
 */
#include "analysis/internal.h"
#include "common/clock.h"
#include "stream/format.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int analysis_views_create(const char *cmd, struct analysis_rec *rec);

/* Tables the analysis reads, each with the columns it needs (docs/log-format.md). */
static const char *const analysis_required[] = {
	"SELECT key, value FROM main.meta",
	"SELECT seq, vcpu, reason, vmm_ticks, guest_ticks, rip, addr, size, dir, data FROM main.exit",
	"SELECT seq, vcpu, kind, value, data FROM main.event",
	"SELECT reason, name FROM main.exit_reason",
	"SELECT kind, name FROM main.event_kind",
};

int analysis_status_of(int rc)
{
	if (rc == 0)
		return 0;
	return rc == -ENOMEM || rc == -EIO ? 2 : 1;
}

/* The file exists, is a regular file and starts with the SQLite header. */
static int analysis_check_file(const char *path, struct err *e)
{
	static const char magic[16] = "SQLite format 3";
	unsigned char head[16] = { 0 };
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, -errno, "cannot open the recording: %s", strerror(errno));
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return err_set(e, -EISDIR, "is a directory, not a recording file");
	}
	n = read(fd, head, sizeof(head));
	close(fd);
	if (n == 0)
		return err_set(e, -EINVAL, "not a kvmrr recording: the file is empty");
	if (n != (ssize_t)sizeof(head) || memcmp(head, magic, sizeof(magic)) != 0) {
		char shown[64] = "";
		size_t k = 0;

		for (ssize_t i = 0; i < n && i < 8; i++)
			k += snprintf(shown + k, sizeof(shown) - k, isprint(head[i]) ? "%c" : "\\x%02x",
				      head[i]);
		return err_set(e, -EINVAL, "not a kvmrr recording: not a SQLite database "
			       "(it starts with \"%s\", a recording with \"SQLite format 3\")", shown);
	}
	return 0;
}

char *analysis_meta(struct analysis_rec *rec, const char *key)
{
	sqlite3_stmt *st = NULL;
	char *val = NULL;

	if (sqlite3_prepare_v2(rec->db, "SELECT value FROM main.meta WHERE key = ?1", -1, &st,
			       NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		val = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return val;
}

/* PRAGMA quick_check, then every table with its columns. */
static int analysis_check_schema(struct analysis_rec *rec, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(rec->db, "PRAGMA quick_check(1)", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0) {
		char why[256];

		/* quick_check reports on several lines; keep the message on one. */
		snprintf(why, sizeof(why), "%s", rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0)
								 : sqlite3_errmsg(rec->db));
		for (char *p = why; *p; p++)
			*p = *p == '\n' ? ' ' : *p;
		sqlite3_finalize(st);
		return err_set(e, rc == SQLITE_NOMEM ? -ENOMEM : -EINVAL,
			       "corrupt recording: SQLite integrity check failed: %s", why);
	}
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(rec->db, analysis_required[0], -1, &st, NULL) != SQLITE_OK) {
		return err_set(e, -EINVAL, "not a kvmrr recording: a SQLite database without a "
			       "meta(key, value) table (%s)", sqlite3_errmsg(rec->db));
	}
	sqlite3_finalize(st);
	return 0;
}

static int analysis_check_tables(struct analysis_rec *rec, struct err *e)
{
	sqlite3_stmt *st = NULL;

	for (size_t i = 1; i < sizeof(analysis_required) / sizeof(analysis_required[0]); i++) {
		if (sqlite3_prepare_v2(rec->db, analysis_required[i], -1, &st, NULL) != SQLITE_OK) {
			return err_set(e, -EINVAL, "corrupt recording: %s (wanted: %s)",
				       sqlite3_errmsg(rec->db), analysis_required[i]);
		}
		sqlite3_finalize(st);
	}
	return 0;
}

/* meta.format and format_version (the recorder's own check), tsc_khz, complete. */
static int analysis_check_meta(struct analysis_rec *rec, struct err *e)
{
	char *khz = analysis_meta(rec, "tsc_khz");
	char *complete = analysis_meta(rec, "complete");
	char *end = NULL;
	int rc = stream_schema_check(rec->db, e);

	if (rc < 0)
		;
	else if (!khz || (rec->tsc_khz = strtod(khz, &end)) <= 0 || *end)
		rc = err_set(e, -EINVAL, "corrupt recording: meta.tsc_khz is %s, wanted a positive number",
			     khz ? khz : "missing");
	else {
		rec->complete = complete && strcmp(complete, "1") == 0;
	}
	free(khz);
	free(complete);
	return rc;
}

static int analysis_count_exits(const char *cmd, struct analysis_rec *rec)
{
	sqlite3_stmt *st = NULL;
	int rc = analysis_prepare(cmd, rec, "SELECT COUNT(*) FROM main.exit", &st);

	if (rc)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		rec->exits = sqlite3_column_int64(st, 0);
		rc = 0;
	} else {
		rc = analysis_step_error(cmd, rec, rc);
	}
	sqlite3_finalize(st);
	return rc;
}

int analysis_rec_open(const char *cmd, const char *path, struct analysis_rec *rec)
{
	struct err e = { 0 };
	int rc;

	memset(rec, 0, sizeof(*rec));
	rec->path = path;
	rc = analysis_check_file(path, &e);
	if (rc == 0) {
		rc = sqlite3_open_v2(path, &rec->db, SQLITE_OPEN_READONLY, NULL);
		if (rc != SQLITE_OK)
			rc = err_set(&e, rc == SQLITE_NOMEM ? -ENOMEM : -EINVAL, "cannot open as SQLite: %s",
				     rec->db ? sqlite3_errmsg(rec->db) : sqlite3_errstr(rc));
	}
	if (rc == 0) {
		sqlite3_busy_timeout(rec->db, 5000);
		rc = analysis_check_schema(rec, &e);
	}
	if (!rc)
		rc = analysis_check_meta(rec, &e);
	if (!rc)
		rc = analysis_check_tables(rec, &e);
	/* One report, here, for what the checks found; the two below report for themselves. */
	if (rc)
		fprintf(stderr, "kvmrr %s: %s: %s\n", cmd, path, e.msg);
	if (!rc)
		rc = analysis_views_create(cmd, rec);
	if (!rc)
		rc = analysis_count_exits(cmd, rec);
	if (rc) {
		analysis_rec_close(rec);
		return rc;
	}
	if (!rec->complete)
		fprintf(stderr, "kvmrr %s: warning: %s is incomplete (meta.complete is not 1: the "
			"recording was interrupted or is still being written); analysing the %lld "
			"exits it holds\n", cmd, path, (long long)rec->exits);
	return 0;
}

void analysis_rec_close(struct analysis_rec *rec)
{
	if (rec->db)
		sqlite3_close(rec->db);
	rec->db = NULL;
}

int analysis_prepare(const char *cmd, struct analysis_rec *rec, const char *sql,
		     sqlite3_stmt **stmt)
{
	int rc = sqlite3_prepare_v2(rec->db, sql, -1, stmt, NULL);

	if (rc != SQLITE_OK) {
		fprintf(stderr, "kvmrr %s: %s: SQLite error preparing \"%.80s\": %s\n", cmd,
			rec->path, sql, sqlite3_errmsg(rec->db));
		return rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
	}
	return 0;
}

int analysis_step_error(const char *cmd, struct analysis_rec *rec, int rc)
{
	fprintf(stderr, "kvmrr %s: %s: SQLite error reading the recording: %s\n", cmd, rec->path,
		sqlite3_errmsg(rec->db));
	return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB ? -EINVAL : -EIO;
}

double analysis_ticks_ns(const struct analysis_rec *rec, double ticks)
{
	return clock_ticks_to_ns(ticks, rec->tsc_khz);
}
