/* SPDX-License-Identifier: MIT */
/* Escaping for JSON and CSV, hex for blobs, option parsing, output files. */
#include "analysis/internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void analysis_put_hex(FILE *f, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++)
		fprintf(f, "%02x", p[i]);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not one. */
static size_t analysis_utf8_len(const unsigned char *s, size_t left)
{
	size_t n;
	unsigned int cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates, past U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void analysis_put_json_str(FILE *f, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	for (size_t i = 0; i < len;) {
		size_t n = analysis_utf8_len(p + i, len - i);

		if (n == 0) {
			fputs("\\ufffd", f);
			i++;
			continue;
		}
		if (p[i] == '"' || p[i] == '\\')
			fprintf(f, "\\%c", p[i]);
		else if (p[i] == '\n')
			fputs("\\n", f);
		else if (p[i] == '\t')
			fputs("\\t", f);
		else if (p[i] == '\r')
			fputs("\\r", f);
		else if (p[i] < 0x20 || p[i] == 0x7f)
			fprintf(f, "\\u%04x", p[i]);
		else
			fwrite(p + i, 1, n, f);
		i += n;
	}
	fputc('"', f);
}

void analysis_put_csv_str(FILE *f, const char *s, size_t len)
{
	bool quote = len > 0 && (s[0] == ' ' || s[len - 1] == ' ');

	for (size_t i = 0; i < len && !quote; i++)
		quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
	if (!quote) {
		fwrite(s, 1, len, f);
		return;
	}
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"')
			fputc('"', f);
		fputc(s[i], f);
	}
	fputc('"', f);
}

void analysis_put_json_col(FILE *f, sqlite3_stmt *stmt, int col)
{
	double d;

	switch (sqlite3_column_type(stmt, col)) {
	case SQLITE_INTEGER:
		fprintf(f, "%lld", (long long)sqlite3_column_int64(stmt, col));
		break;
	case SQLITE_FLOAT:
		d = sqlite3_column_double(stmt, col);
		if (isfinite(d))
			fprintf(f, "%.17g", d);
		else
			fputs("null", f); /* JSON has no Inf/NaN */
		break;
	case SQLITE_TEXT:
		analysis_put_json_str(f, (const char *)sqlite3_column_text(stmt, col),
				      sqlite3_column_bytes(stmt, col));
		break;
	case SQLITE_BLOB:
		fputc('"', f);
		analysis_put_hex(f, sqlite3_column_blob(stmt, col), sqlite3_column_bytes(stmt, col));
		fputc('"', f);
		break;
	default:
		fputs("null", f);
	}
}

void analysis_put_csv_col(FILE *f, sqlite3_stmt *stmt, int col)
{
	switch (sqlite3_column_type(stmt, col)) {
	case SQLITE_INTEGER:
		fprintf(f, "%lld", (long long)sqlite3_column_int64(stmt, col));
		break;
	case SQLITE_FLOAT:
		fprintf(f, "%.17g", sqlite3_column_double(stmt, col));
		break;
	case SQLITE_TEXT:
		analysis_put_csv_str(f, (const char *)sqlite3_column_text(stmt, col),
				     sqlite3_column_bytes(stmt, col));
		break;
	case SQLITE_BLOB:
		analysis_put_hex(f, sqlite3_column_blob(stmt, col), sqlite3_column_bytes(stmt, col));
		break;
	default:
		break;
	}
}

int analysis_put_csv_rows(FILE *f, sqlite3_stmt *st)
{
	int ncols = sqlite3_column_count(st), rc;

	for (int c = 0; c < ncols; c++) {
		const char *name = sqlite3_column_name(st, c);

		analysis_put_csv_str(f, name, strlen(name));
		fputc(c + 1 < ncols ? ',' : '\n', f);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int c = 0; c < ncols; c++) {
			analysis_put_csv_col(f, st, c);
			fputc(c + 1 < ncols ? ',' : '\n', f);
		}
	}
	return rc == SQLITE_DONE ? 0 : rc;
}

char *analysis_col_text(sqlite3_stmt *stmt, int col)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	switch (sqlite3_column_type(stmt, col)) {
	case SQLITE_NULL:
		return strdup("NULL");
	case SQLITE_TEXT:
		return strdup((const char *)sqlite3_column_text(stmt, col));
	case SQLITE_FLOAT:
		if (asprintf(&out, "%.6g", sqlite3_column_double(stmt, col)) < 0)
			return NULL;
		return out;
	default:
		f = open_memstream(&out, &len);
		if (!f)
			return NULL;
		analysis_put_csv_col(f, stmt, col);
		if (fclose(f) != 0) {
			free(out);
			return NULL;
		}
		return out;
	}
}

int analysis_parse_format(const char *s, enum analysis_format *fmt)
{
	if (strcmp(s, "table") == 0)
		*fmt = ANALYSIS_FMT_TABLE;
	else if (strcmp(s, "csv") == 0)
		*fmt = ANALYSIS_FMT_CSV;
	else if (strcmp(s, "json") == 0)
		*fmt = ANALYSIS_FMT_JSON;
	else
		return -EINVAL;
	return 0;
}

int analysis_parse_count(const char *s, long *out)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0)
		return -EINVAL;
	*out = v;
	return 0;
}

FILE *analysis_out_open(const char *cmd, const char *path)
{
	FILE *f;

	if (!path || strcmp(path, "-") == 0)
		return stdout;
	f = fopen(path, "w");
	if (!f)
		fprintf(stderr, "kvmrr %s: cannot create %s: %s\n", cmd, path, strerror(errno));
	return f;
}

int analysis_out_close(const char *cmd, const char *path, FILE *f)
{
	int bad = ferror(f);

	if (f == stdout) {
		bad |= fflush(f) != 0;
	} else {
		bad |= fclose(f) != 0;
	}
	if (bad) {
		fprintf(stderr, "kvmrr %s: error writing %s: %s\n", cmd,
			f == stdout || !path ? "standard output" : path, strerror(errno));
		return -EIO;
	}
	return 0;
}

const char *analysis_dir_name(int reason, int dir)
{
	if (reason == ANALYSIS_EXIT_IO)
		return dir ? "out" : "in";
	if (reason == ANALYSIS_EXIT_MMIO)
		return dir ? "write" : "read";
	return "";
}
