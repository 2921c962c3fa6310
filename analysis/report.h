/* SPDX-License-Identifier: MIT */
/* kvmrr report: the data behind the charts (report.c) and the SVG (report_svg.c). */
#ifndef KVMRR_ANALYSIS_REPORT_H
#define KVMRR_ANALYSIS_REPORT_H

#include "analysis/internal.h"

#define REPORT_MAX_REASONS 10  /* the tenth and later are folded into "other" */
#define REPORT_BINS 100        /* time bins of the exit-rate chart */
#define REPORT_TOP 10          /* bars in the port and MMIO charts */

struct report_reason {
	char name[40];
	int code;                    /* KVM_EXIT_*; -1 for "other" */
	int64_t count, guest, vmm;   /* ticks */
	const char *color;
};

struct report_bar {
	char label[48];
	int64_t count;
	double vmm_ns, total_ns;
};

struct report_data {
	struct analysis_rec *rec;
	struct report_reason reasons[REPORT_MAX_REASONS];
	int nreasons;
	double span_ns;              /* first entry (0) to the end of the last exit's VMM time */
	int nbins;
	int64_t bins[REPORT_BINS][REPORT_MAX_REASONS];
	struct report_bar ports[REPORT_TOP], mmio[REPORT_TOP];
	int nports, nmmio;
};

/* Fill d from the recording; 0 or -errno (message printed). */
int report_collect(struct report_data *d);

/* Where each chart sits on the page, in CSS pixels (absolute positions). */
struct report_box {
	const char *id, *title;
	int x, y, w, h;
};
extern const struct report_box report_boxes[4];

/* The charts, each an <svg> of the box's size minus its title line. */
void report_svg_rate(FILE *f, const struct report_data *d, const struct report_box *b);
void report_svg_share(FILE *f, const struct report_data *d, const struct report_box *b);
void report_svg_bars(FILE *f, const struct report_bar *bars, int n, const char *color,
		     const char *empty, const struct report_box *b);

/* Text escaped for HTML element content and attribute values. */
void report_html_escape(FILE *f, const char *s);

#endif
