/* SPDX-License-Identifier: MIT */
/* An aligned text table: cells are collected, then printed column-aligned. */
#include "analysis/internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct analysis_table {
	int ncols;
	bool *right;
	char **cells;
	size_t ncells, cap;
};

struct analysis_table *analysis_table_new(int ncols)
{
	struct analysis_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ncols = ncols;
	t->right = calloc(ncols, sizeof(*t->right));
	if (!t->right) {
		free(t);
		return NULL;
	}
	return t;
}

void analysis_table_right(struct analysis_table *t, int col)
{
	if (col >= 0 && col < t->ncols)
		t->right[col] = true;
}

int analysis_table_add_owned(struct analysis_table *t, char *text)
{
	if (!text)
		return -ENOMEM;
	if (t->ncells == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		char **cells = realloc(t->cells, cap * sizeof(*cells));

		if (!cells) {
			free(text);
			return -ENOMEM;
		}
		t->cells = cells;
		t->cap = cap;
	}
	t->cells[t->ncells++] = text;
	return 0;
}

int analysis_table_add(struct analysis_table *t, const char *text)
{
	return analysis_table_add_owned(t, strdup(text ? text : ""));
}

int analysis_table_addf(struct analysis_table *t, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return analysis_table_add_owned(t, n < 0 ? NULL : s);
}

/* Display width: UTF-8 code points, not bytes. */
static size_t analysis_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

/* A cell printed in a table: control characters would break the alignment. */
static void analysis_put_cell(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 ? ' ' : *s, f);
}

/* One row into a memory stream, then printed without trailing blanks. */
static void analysis_table_row(struct analysis_table *t, size_t first, const size_t *w,
			       FILE *f, const char *indent)
{
	char *line = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&line, &len);

	if (!m)
		return;
	fputs(indent ? indent : "", m);
	for (int col = 0; col < t->ncols && first + col < t->ncells; col++) {
		const char *cell = t->cells[first + col];
		size_t pad = w[col] - analysis_width(cell);

		if (col)
			fputs("  ", m);
		if (t->right[col])
			fprintf(m, "%*s", (int)pad, "");
		analysis_put_cell(m, cell);
		if (!t->right[col])
			fprintf(m, "%*s", (int)pad, "");
	}
	if (fclose(m) == 0) {
		while (len > 0 && line[len - 1] == ' ')
			len--;
		fwrite(line, 1, len, f);
		fputc('\n', f);
	}
	free(line);
}

void analysis_table_print(struct analysis_table *t, FILE *f, const char *indent)
{
	size_t *w = calloc(t->ncols, sizeof(*w));

	if (!w)
		return;
	for (size_t i = 0; i < t->ncells; i++) {
		size_t cw = analysis_width(t->cells[i]);

		if (cw > w[i % t->ncols])
			w[i % t->ncols] = cw;
	}
	for (size_t i = 0; i < t->ncells; i += t->ncols)
		analysis_table_row(t, i, w, f, indent);
	free(w);
}

void analysis_table_free(struct analysis_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->right);
	free(t);
}
