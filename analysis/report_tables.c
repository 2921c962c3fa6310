/* SPDX-License-Identifier: MIT */
/* kvmrr report: the tables below the charts (per reason, metadata, images). */
#include "analysis/report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void report_reason_table(FILE *f, const struct report_data *d)
{
	double total = 0;
	int64_t count = 0;

	for (int r = 0; r < d->nreasons; r++) {
		total += (double)d->reasons[r].guest + d->reasons[r].vmm;
		count += d->reasons[r].count;
	}
	fputs("<h2>Exits by reason</h2>\n<table id=\"reasons\"><tr><th>reason</th><th>exits</th>"
	      "<th>% exits</th><th>% time</th><th>guest ms</th><th>VMM ms</th><th>avg us</th></tr>\n",
	      f);
	for (int r = 0; r < d->nreasons; r++) {
		const struct report_reason *re = &d->reasons[r];
		double t = (double)re->guest + re->vmm;

		fprintf(f, "<tr><td><span style=\"color:%s\">&#9632;</span> ", re->color);
		report_html_escape(f, re->name);
		fprintf(f, "</td><td class=\"n\">%lld</td><td class=\"n\">%.2f</td><td class=\"n\">%.2f"
			"</td><td class=\"n\">%.3f</td><td class=\"n\">%.3f</td><td class=\"n\">%.2f</td>"
			"</tr>\n", (long long)re->count, count ? 100.0 * re->count / count : 0,
			total > 0 ? 100 * t / total : 0, analysis_ticks_ns(d->rec, re->guest) / 1e6,
			analysis_ticks_ns(d->rec, re->vmm) / 1e6,
			re->count ? analysis_ticks_ns(d->rec, t / re->count) / 1e3 : 0);
	}
	fputs("</table>\n", f);
}

/* Rows of SQL as an HTML table; numbers right-aligned except in the meta table. */
static int report_sql_table(FILE *f, struct report_data *d, const char *id, const char *sql,
			    const char *const *heads, int ncols)
{
	sqlite3_stmt *st = NULL;
	int rc = analysis_prepare("report", d->rec, sql, &st);

	if (rc)
		return rc;
	fprintf(f, "<table id=\"%s\"><tr>", id);
	for (int c = 0; c < ncols; c++)
		fprintf(f, "<th>%s</th>", heads[c]);
	fputs("</tr>\n", f);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		fputs("<tr>", f);
		for (int c = 0; c < ncols; c++) {
			char *text = analysis_col_text(st, c);
			int type = sqlite3_column_type(st, c);

			/* meta values are text that may look like numbers: keep them left. */
			fprintf(f, "<td class=\"%s\">", (type == SQLITE_INTEGER || type == SQLITE_FLOAT) &&
				strcmp(id, "meta") != 0 ? "n" : "v");
			report_html_escape(f, text ? text : "?");
			fputs("</td>", f);
			free(text);
		}
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
	rc = rc == SQLITE_DONE ? 0 : analysis_step_error("report", d->rec, rc);
	sqlite3_finalize(st);
	return rc;
}

int report_write_tables(FILE *f, struct report_data *d)
{
	static const char *const meta_heads[] = { "key", "value" };
	static const char *const image_heads[] = { "name", "role", "bytes", "sha256" };
	int rc;

	fputs("<div id=\"rest\">\n", f);
	report_reason_table(f, d);
	fputs("<h2>Run metadata</h2>\n", f);
	rc = report_sql_table(f, d, "meta", "SELECT key, value FROM main.meta ORDER BY rowid",
			      meta_heads, 2);
	if (rc == 0) {
		fputs("<h2>Guest images</h2>\n", f);
		rc = report_sql_table(f, d, "images", "SELECT name, role, size, sha256 FROM main.image"
				      " ORDER BY rowid", image_heads, 4);
	}
	fputs("</div>\n", f);
	return rc;
}
