/* SPDX-License-Identifier: MIT */
/*
 * kvmrr query REC.db "SQL": run read-only SQL on a recording and print the
 * rows as an aligned table, CSV or JSON. The connection is opened with
 * SQLITE_OPEN_READONLY and PRAGMA query_only, and any statement SQLite does
 * not call read-only (sqlite3_stmt_readonly) is refused before it runs.
 */
#include "analysis/analysis.h"
#include "analysis/internal.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void query_usage(FILE *f)
{
	fprintf(f,
		"usage: kvmrr query REC.db \"SQL\" [--format table|csv|json]\n"
		"Run read-only SQL on a recording. The views exit_timeline, exit_stats,\n"
		"pio_stats, mmio_stats and events are the stable interface (see the README);\n"
		"the tables are in docs/log-format.md.\n"
		"  --format table|csv|json  aligned table (default), CSV (RFC 4180, header\n"
		"                           row) or a JSON array of objects; blobs as hex\n"
		"  -h, --help               this text\n"
		"Several statements may be given (separated by ';') with --format table;\n"
		"csv and json take one statement that returns rows.\n");
}

static int query_table(FILE *f, sqlite3_stmt *st)
{
	int ncols = sqlite3_column_count(st), rc, nrows = 0;
	struct analysis_table *t = analysis_table_new(ncols);
	bool *text = calloc(ncols, sizeof(*text));

	rc = t && text ? 0 : -ENOMEM;
	for (int c = 0; c < ncols && rc == 0; c++)
		rc = analysis_table_add(t, sqlite3_column_name(st, c));
	while (rc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		rc = 0;
		for (int c = 0; c < ncols && rc == 0; c++) {
			int type = sqlite3_column_type(st, c);

			text[c] |= type == SQLITE_TEXT || type == SQLITE_BLOB;
			rc = analysis_table_add_owned(t, analysis_col_text(st, c));
		}
		nrows++;
	}
	if (rc == SQLITE_DONE) {
		for (int c = 0; c < ncols; c++)
			if (!text[c])
				analysis_table_right(t, c);
		analysis_table_print(t, f, "");
		fprintf(f, "(%d row%s)\n", nrows, nrows == 1 ? "" : "s");
		rc = 0;
	}
	analysis_table_free(t);
	free(text);
	return rc;
}

static int query_json(FILE *f, sqlite3_stmt *st)
{
	int ncols = sqlite3_column_count(st), rc, nrows = 0;

	fputc('[', f);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		fputs(nrows++ ? ",\n{" : "\n{", f);
		for (int c = 0; c < ncols; c++) {
			const char *name = sqlite3_column_name(st, c);

			analysis_put_json_str(f, name, strlen(name));
			fputc(':', f);
			analysis_put_json_col(f, st, c);
			if (c + 1 < ncols)
				fputc(',', f);
		}
		fputc('}', f);
	}
	fputs(nrows ? "\n]\n" : "]\n", f);
	return rc == SQLITE_DONE ? 0 : rc;
}

/*
 * Prepare every statement of SQL once to check it: read-only, and one that
 * returns rows when the format is csv or json. Returns 0 or -EINVAL.
 */
static int query_check(struct analysis_rec *rec, const char *sql, enum analysis_format fmt)
{
	int n = 0, with_rows = 0;

	for (const char *p = sql; p && *p;) {
		sqlite3_stmt *st = NULL;
		const char *tail = NULL;

		if (sqlite3_prepare_v2(rec->db, p, -1, &st, &tail) != SQLITE_OK) {
			fprintf(stderr, "kvmrr query: %s: SQL error in statement %d: %s\n", rec->path,
				n + 1, sqlite3_errmsg(rec->db));
			return -EINVAL;
		}
		p = tail;
		if (!st)
			continue;
		n++;
		with_rows += sqlite3_column_count(st) > 0;
		if (!sqlite3_stmt_readonly(st)) {
			fprintf(stderr, "kvmrr query: %s: statement %d would write (\"%.60s\"): "
				"kvmrr query is read-only\n", rec->path, n, sqlite3_sql(st));
			sqlite3_finalize(st);
			return -EINVAL;
		}
		sqlite3_finalize(st);
	}
	if (n == 0) {
		fprintf(stderr, "kvmrr query: no SQL statement given\n");
		return -EINVAL;
	}
	if (fmt != ANALYSIS_FMT_TABLE && (n != 1 || with_rows != 1)) {
		fprintf(stderr, "kvmrr query: --format %s takes one statement that returns rows; "
			"got %d statements, %d returning rows\n", fmt == ANALYSIS_FMT_CSV ? "csv" : "json",
			n, with_rows);
		return -EINVAL;
	}
	return 0;
}

static int query_run(struct analysis_rec *rec, const char *sql, enum analysis_format fmt)
{
	int rc = query_check(rec, sql, fmt), n = 0;

	for (const char *p = sql; rc == 0 && p && *p; n++) {
		sqlite3_stmt *st = NULL;

		if (sqlite3_prepare_v2(rec->db, p, -1, &st, &p) != SQLITE_OK)
			return -EINVAL; /* reported by query_check */
		if (!st)
			break;
		if (fmt == ANALYSIS_FMT_CSV)
			rc = analysis_put_csv_rows(stdout, st);
		else if (fmt == ANALYSIS_FMT_JSON)
			rc = query_json(stdout, st);
		else if (sqlite3_column_count(st) == 0)
			rc = sqlite3_step(st) == SQLITE_DONE ? 0 : SQLITE_ERROR;
		else
			rc = (n ? putchar('\n') : 0, query_table(stdout, st));
		if (rc > 0) {
			fprintf(stderr, "kvmrr query: %s: SQL error running statement %d: %s\n",
				rec->path, n + 1, sqlite3_errmsg(rec->db));
			rc = rc == SQLITE_NOMEM ? -ENOMEM : -EINVAL;
		}
		sqlite3_finalize(st);
	}
	return rc;
}

int analysis_cmd_query(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum analysis_format fmt = ANALYSIS_FMT_TABLE;
	struct analysis_rec rec;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "hf:", longopts, NULL)) != -1) {
		if (c == 'h') {
			query_usage(stdout);
			return 0;
		}
		if (c != 'f' || analysis_parse_format(optarg, &fmt)) {
			if (c == 'f')
				fprintf(stderr, "kvmrr query: invalid --format '%s': want table, csv "
					"or json\n", optarg);
			query_usage(stderr);
			return 1;
		}
	}
	if (optind + 2 != argc) {
		fprintf(stderr, "kvmrr query: expected a recording and one SQL argument, got %d "
			"arguments\n", argc - optind);
		query_usage(stderr);
		return 1;
	}
	rc = analysis_rec_open("query", argv[optind], &rec);
	if (rc)
		return analysis_status_of(rc);
	if (sqlite3_exec(rec.db, "PRAGMA query_only = 1", NULL, NULL, NULL) != SQLITE_OK)
		rc = -EIO;
	if (rc == 0)
		rc = query_run(&rec, argv[optind + 1], fmt);
	if (rc == 0)
		rc = analysis_out_close("query", NULL, stdout);
	analysis_rec_close(&rec);
	return analysis_status_of(rc);
}
