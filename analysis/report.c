/* SPDX-License-Identifier: MIT */
/*
 * kvmrr report REC.db -o report.html: one self-contained HTML page (inline
 * CSS and SVG, no script, nothing fetched) with the exit rate over time
 * stacked by reason, the time share by reason, the top IO ports and MMIO
 * regions, the per-reason table and the run's metadata.
 *
 * The charts sit at fixed positions (report_boxes) so that the page looks
 * the same in every browser and a test can find them in a screenshot; each
 * <svg> also carries its box as data-box="x,y,w,h".
 */
#include "analysis/analysis.h"
#include "analysis/report.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Tableau-like palette, distinct on screen and in print. */
static const char *const report_colors[REPORT_MAX_REASONS] = {
	"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
	"#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#7f7f7f",
};

typedef int (*report_row_fn)(struct report_data *d, sqlite3_stmt *st);

/* Run SQL and call fn per row. */
static int report_rows(struct report_data *d, const char *sql, report_row_fn fn)
{
	sqlite3_stmt *st = NULL;
	int rc = analysis_prepare("report", d->rec, sql, &st);

	if (rc)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn(d, st);
	rc = rc == SQLITE_DONE ? 0 : analysis_step_error("report", d->rec, rc);
	sqlite3_finalize(st);
	return rc;
}

static int report_reason_row(struct report_data *d, sqlite3_stmt *st)
{
	struct report_reason *r;

	if (d->nreasons < REPORT_MAX_REASONS) {
		r = &d->reasons[d->nreasons];
		r->color = report_colors[d->nreasons++];
		snprintf(r->name, sizeof(r->name), "%s",
			 d->nreasons == REPORT_MAX_REASONS ? "other" : (const char *)sqlite3_column_text(st, 0));
		r->code = d->nreasons == REPORT_MAX_REASONS ? -1 : sqlite3_column_int(st, 4);
	}
	r = &d->reasons[d->nreasons - 1];
	r->count += sqlite3_column_int64(st, 1);
	r->guest += sqlite3_column_int64(st, 2);
	r->vmm += sqlite3_column_int64(st, 3);
	return 0;
}

static int report_bar_row(struct report_data *d, sqlite3_stmt *st, struct report_bar *bar)
{
	bar->count = sqlite3_column_int64(st, 2);
	bar->vmm_ns = analysis_ticks_ns(d->rec, sqlite3_column_double(st, 3));
	bar->total_ns = analysis_ticks_ns(d->rec, sqlite3_column_double(st, 4));
	return 0;
}

static int report_port_row(struct report_data *d, sqlite3_stmt *st)
{
	struct report_bar *b = &d->ports[d->nports++];

	snprintf(b->label, sizeof(b->label), "0x%04llx %s",
		 (unsigned long long)sqlite3_column_int64(st, 0), sqlite3_column_int(st, 1) ? "out" : "in");
	return report_bar_row(d, st, b);
}

static int report_mmio_row(struct report_data *d, sqlite3_stmt *st)
{
	struct report_bar *b = &d->mmio[d->nmmio++];

	snprintf(b->label, sizeof(b->label), "0x%llx w%lld r%lld",
		 (unsigned long long)sqlite3_column_int64(st, 0), (long long)sqlite3_column_int64(st, 1),
		 (long long)(sqlite3_column_int64(st, 2) - sqlite3_column_int64(st, 1)));
	return report_bar_row(d, st, b);
}

/* Exits per time bin and reason, from the entry times (one pass, see analysis_clock). */
static int report_bins(struct report_data *d, struct analysis_clock *clk)
{
	sqlite3_stmt *st = NULL;
	double span = 0, entry;
	int rc = analysis_prepare("report", d->rec, "SELECT MAX(t) FROM (SELECT SUM(vmm_ticks +"
				  " guest_ticks) AS t FROM main.exit GROUP BY vcpu)", &st);

	if (rc == 0 && sqlite3_step(st) == SQLITE_ROW)
		span = sqlite3_column_double(st, 0);
	sqlite3_finalize(st);
	d->span_ns = analysis_ticks_ns(d->rec, span);
	d->nbins = d->rec->exits && span > 0 ? REPORT_BINS : 0;
	if (rc || d->nbins == 0)
		return rc;
	rc = analysis_prepare("report", d->rec, "SELECT vcpu, vmm_ticks, guest_ticks, reason FROM"
			      " main.exit ORDER BY seq", &st);
	while (rc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int code = sqlite3_column_int(st, 3), r, bin;

		rc = analysis_clock_entry(clk, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
					  sqlite3_column_int64(st, 2), &entry);
		for (r = 0; r < d->nreasons - 1 && d->reasons[r].code != code; r++)
			;
		bin = (int)(entry * REPORT_BINS / span);
		d->bins[bin < REPORT_BINS ? bin : REPORT_BINS - 1][r]++;
	}
	if (rc == -ERANGE)
		fprintf(stderr, "kvmrr report: %s: a vCPU index is out of range (0..%d)\n",
			d->rec->path, ANALYSIS_MAX_VCPUS - 1);
	rc = rc == SQLITE_DONE ? 0 : rc > 0 ? analysis_step_error("report", d->rec, rc) : rc;
	sqlite3_finalize(st);
	return rc;
}

int report_collect(struct report_data *d)
{
	struct analysis_clock *clk = malloc(sizeof(*clk));
	int rc = clk ? 0 : -ENOMEM;

	if (clk)
		analysis_clock_reset(clk);
	rc = rc ? rc : report_rows(d, "SELECT reason_name, COUNT(*), SUM(guest_ticks), SUM(vmm_ticks),"
				   " reason FROM temp.analysis_exit GROUP BY reason ORDER BY COUNT(*) DESC,"
				   " MIN(seq)", report_reason_row);
	rc = rc ? rc : report_bins(d, clk);
	if (rc == 0)
		rc = report_rows(d, "SELECT addr, dir, COUNT(*), SUM(vmm_ticks), SUM(guest_ticks +"
				 " vmm_ticks) FROM temp.analysis_exit WHERE reason = 2 GROUP BY addr, dir"
				 " ORDER BY 3 DESC, 1 LIMIT 10", report_port_row);
	if (rc == 0)
		rc = report_rows(d, "SELECT (addr >> 12) << 12, SUM(dir = 1), COUNT(*), SUM(vmm_ticks),"
				 " SUM(guest_ticks + vmm_ticks) FROM temp.analysis_exit WHERE reason = 6"
				 " GROUP BY 1 ORDER BY 3 DESC, 1 LIMIT 10", report_mmio_row);
	free(clk);
	return rc;
}

int report_write_tables(FILE *f, struct report_data *d);

static void report_write(FILE *f, struct report_data *d)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>kvmrr report: ", f);
	report_html_escape(f, d->rec->path);
	fputs("</title>\n<style>\nbody{margin:0;font:13px/1.4 sans-serif;color:#222;background:#fff}\n"
	      ".box{position:absolute;overflow:hidden}\n.box h1{font-size:20px;margin:4px 0}\n"
	      ".box h2,#rest h2{font-size:15px;margin:0;height:28px;line-height:24px}\n"
	      "#rest{position:absolute;left:20px;top:1120px;width:1220px}\n"
	      "table{border-collapse:collapse;margin-bottom:20px}\n"
	      "td,th{padding:2px 10px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}\n"
	      "td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
	      "td.v{font-family:monospace;word-break:break-all}\n</style></head><body>\n", f);
	fputs("<div class=\"box\" style=\"left:20px;top:8px;width:1220px;height:76px\">"
	      "<h1>kvmrr report</h1><div>", f);
	report_html_escape(f, d->rec->path);
	fprintf(f, " &middot; %lld exits over %.3f ms%s</div></div>\n", (long long)d->rec->exits,
		d->span_ns / 1e6, d->rec->complete ? "" : " &middot; <b>incomplete recording</b>");
	for (int i = 0; i < 4; i++) {
		const struct report_box *b = &report_boxes[i];

		fprintf(f, "<div class=\"box\" style=\"left:%dpx;top:%dpx;width:%dpx;height:%dpx\" "
			"data-box=\"%d,%d,%d,%d\"><h2>%s</h2>\n", b->x, b->y, b->w, b->h, b->x, b->y,
			b->w, b->h, b->title);
		if (i == 0)
			report_svg_rate(f, d, b);
		else if (i == 1)
			report_svg_share(f, d, b);
		else if (i == 2)
			report_svg_bars(f, d->ports, d->nports, "#4e79a7", "no port IO exits", b);
		else
			report_svg_bars(f, d->mmio, d->nmmio, "#e15759", "no MMIO exits", b);
		fputs("</div>\n", f);
	}
}

static void report_usage(FILE *f)
{
	fprintf(f,
		"usage: kvmrr report REC.db [-o report.html]\n"
		"Write one self-contained HTML page (inline SVG, no network) with the exit rate\n"
		"over time by reason, the time share by reason, the top IO ports and MMIO\n"
		"regions, a per-reason table and the run's metadata.\n"
		"  -o, --output FILE   write there instead of standard output\n"
		"  -h, --help          this text\n");
}

int analysis_cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out_path = NULL;
	struct analysis_rec rec;
	struct report_data *d;
	FILE *f;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
		if (c == 'h') {
			report_usage(stdout);
			return 0;
		} else if (c == 'o') {
			out_path = optarg;
		} else {
			report_usage(stderr);
			return 1;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "kvmrr report: expected one recording, got %d arguments\n", argc - optind);
		report_usage(stderr);
		return 1;
	}
	rc = analysis_rec_open("report", argv[optind], &rec);
	if (rc)
		return analysis_status_of(rc);
	d = calloc(1, sizeof(*d));
	rc = d ? 0 : -ENOMEM;
	if (d)
		d->rec = &rec;
	rc = rc ? rc : report_collect(d);
	f = rc ? NULL : analysis_out_open("report", out_path);
	if (rc == 0 && !f)
		rc = -EINVAL;
	if (f) {
		report_write(f, d);
		rc = report_write_tables(f, d);
		fputs("</body></html>\n", f);
		c = analysis_out_close("report", out_path, f);
		rc = rc ? rc : c;
		if (rc && out_path && strcmp(out_path, "-") != 0)
			unlink(out_path);
	}
	free(d);
	analysis_rec_close(&rec);
	return analysis_status_of(rc);
}
