/* SPDX-License-Identifier: MIT */
/*
 * The report's charts as inline SVG: no script, no fonts or images fetched,
 * so the page renders the same offline in any browser.
 */
#include "analysis/report.h"

#include <math.h>
#include <string.h>

#define TITLE_H 28   /* the chart title above each SVG */

const struct report_box report_boxes[4] = {
	{ "chart-rate", "Exit rate over time, stacked by reason (exits per ms)", 20, 90, 1220, 340 },
	{ "chart-share", "Time share by exit reason (solid: guest, light: VMM)", 20, 450, 1220, 300 },
	{ "chart-ports", "Top IO ports (exits)", 20, 770, 600, 330 },
	{ "chart-mmio", "Top MMIO regions, 4 KiB pages (exits)", 640, 770, 600, 330 },
};

void report_html_escape(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

static void svg_open(FILE *f, const struct report_box *b)
{
	fprintf(f, "<svg id=\"%s\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" role=\"img\">\n", b->id, b->w, b->h - TITLE_H, b->w,
		b->h - TITLE_H);
	fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#fafafa\" "
		"stroke=\"#ddd\"/>\n", b->w, b->h - TITLE_H);
}

static void svg_empty(FILE *f, const struct report_box *b, const char *text)
{
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#888\">", b->w / 2,
		(b->h - TITLE_H) / 2);
	report_html_escape(f, text);
	fputs("</text>\n</svg>\n", f);
}

/* A round step for axis ticks: 1, 2 or 5 times a power of ten, about max/4. */
static double svg_step(double max)
{
	double raw = max / 4, p = pow(10, floor(log10(raw > 0 ? raw : 1)));

	return raw <= p ? p : raw <= 2 * p ? 2 * p : raw <= 5 * p ? 5 * p : 10 * p;
}

static void svg_legend(FILE *f, const struct report_data *d, int x, int y)
{
	for (int r = 0; r < d->nreasons; r++, x += 110) {
		fprintf(f, "<rect class=\"legend\" x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" "
			"fill=\"%s\"/>", x, y - 10, d->reasons[r].color);
		fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"12\">", x + 16, y);
		report_html_escape(f, d->reasons[r].name);
		fputs("</text>\n", f);
	}
}

void report_svg_rate(FILE *f, const struct report_data *d, const struct report_box *b)
{
	const int left = 70, top = 30, right = 20, bottom = 40;
	int pw = b->w - left - right, ph = b->h - TITLE_H - top - bottom;
	double bin_ms = d->span_ns / 1e6 / (d->nbins ? d->nbins : 1), max = 0, step;

	svg_open(f, b);
	if (d->nbins == 0 || d->span_ns <= 0) {
		svg_empty(f, b, "no exits recorded");
		return;
	}
	for (int i = 0; i < d->nbins; i++) {
		double sum = 0;

		for (int r = 0; r < d->nreasons; r++)
			sum += d->bins[i][r] / bin_ms;
		max = sum > max ? sum : max;
	}
	step = svg_step(max);
	max = ceil(max / step) * step;
	for (double v = 0; v <= max + step / 2; v += step) {
		double y = top + ph - v / max * ph;

		fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
			"<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%g</text>\n",
			left, left + pw, y, y, left - 6, y + 4, v);
	}
	for (int i = 0; i < d->nbins; i++) {
		double x = left + (double)i * pw / d->nbins, y = top + ph, bw = (double)pw / d->nbins;

		for (int r = 0; r < d->nreasons; r++) {
			double h = d->bins[i][r] / bin_ms / max * ph;

			if (d->bins[i][r] == 0)
				continue;
			y -= h;
			fprintf(f, "<rect class=\"bar\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
				"fill=\"%s\"><title>", x, y, bw, h, d->reasons[r].color);
			report_html_escape(f, d->reasons[r].name);
			fprintf(f, ": %lld exits in %.3f-%.3f ms</title></rect>\n",
				(long long)d->bins[i][r], i * bin_ms, (i + 1) * bin_ms);
		}
	}
	for (int i = 0; i <= 4; i++)
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%.3g ms"
			"</text>\n", left + i * pw / 4.0, top + ph + 16, d->span_ns / 1e6 * i / 4);
	svg_legend(f, d, left, top + ph + 34);
	fputs("</svg>\n", f);
}

void report_svg_share(FILE *f, const struct report_data *d, const struct report_box *b)
{
	const int left = 150, top = 16, row = 26, pw = b->w - left - 330;
	double total = 0;

	svg_open(f, b);
	for (int r = 0; r < d->nreasons; r++)
		total += (double)d->reasons[r].guest + d->reasons[r].vmm;
	if (total <= 0) {
		svg_empty(f, b, "no time recorded");
		return;
	}
	for (int r = 0; r < d->nreasons; r++) {
		const struct report_reason *re = &d->reasons[r];
		double gw = re->guest / total * pw, vw = re->vmm / total * pw;
		int y = top + r * row;

		fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"end\">", left - 8,
			y + 15);
		report_html_escape(f, re->name);
		fprintf(f, "</text>\n<rect class=\"bar\" x=\"%d\" y=\"%d\" width=\"%.2f\" height=\"%d\" "
			"fill=\"%s\"/><rect class=\"bar\" x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" "
			"fill=\"%s\" fill-opacity=\"0.45\"/>\n", left, y, gw, row - 6, re->color,
			left + gw, y, vw, row - 6, re->color);
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"12\">%.1f%% (guest %.1f%%, VMM %.1f%%)"
			"</text>\n", left + gw + vw + 8, y + 15, 100 * (re->guest + re->vmm) / total,
			100 * re->guest / total, 100 * re->vmm / total);
	}
	fputs("</svg>\n", f);
}

void report_svg_bars(FILE *f, const struct report_bar *bars, int n, const char *color,
		     const char *empty, const struct report_box *b)
{
	const int left = 170, top = 14, row = 28, pw = b->w - left - 150;
	int64_t max = 0;

	svg_open(f, b);
	if (n == 0) {
		svg_empty(f, b, empty);
		return;
	}
	for (int i = 0; i < n; i++)
		max = bars[i].count > max ? bars[i].count : max;
	for (int i = 0; i < n; i++) {
		int y = top + i * row;
		double w = (double)bars[i].count / max * pw;

		fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"end\" "
			"font-family=\"monospace\">", left - 8, y + 15);
		report_html_escape(f, bars[i].label);
		fprintf(f, "</text>\n<rect class=\"bar\" x=\"%d\" y=\"%d\" width=\"%.2f\" height=\"%d\" "
			"fill=\"%s\"><title>VMM time %.1f us of %.1f us</title></rect>\n", left, y,
			w < 1 ? 1 : w, row - 8, color, bars[i].vmm_ns / 1e3, bars[i].total_ns / 1e3);
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"12\">%lld</text>\n",
			left + (w < 1 ? 1 : w) + 6, y + 15, (long long)bars[i].count);
	}
	fputs("</svg>\n", f);
}
