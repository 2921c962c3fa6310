/* SPDX-License-Identifier: MIT */
/* Shared by diff.c and diff_show.c. */
#ifndef KVMRR_ANALYSIS_DIFF_H
#define KVMRR_ANALYSIS_DIFF_H

#include "analysis/internal.h"

#define DIFF_SQL "SELECT seq, vcpu, reason, reason_name, rip, addr, size, dir, data" \
	" FROM temp.analysis_exit"

/* One exit as read from a row of DIFF_SQL. */
struct diff_exit {
	int64_t seq, vcpu, rip, addr;
	int reason, size, dir;
	bool has_addr, has_size, has_dir, has_data;
	char name[40];
	unsigned char *data;
	int data_len;
};

struct diff_side {
	struct analysis_rec rec;
	sqlite3_stmt *st;
	struct diff_exit cur;
};

/* Names of the fields that differ, comma-separated, into buf; returns how many. */
int diff_fields(const struct diff_exit *a, const struct diff_exit *b, char *buf, size_t len);
/* One line describing an exit (malloc'd, NULL on ENOMEM). */
char *diff_describe(const struct diff_exit *e);
/* Start a side's cursor at seq `from`; 0 or -EIO. */
int diff_cursor(struct diff_side *s, int64_t from);
/* Next exit into s->cur: 1, 0 at the end, -errno. */
int diff_next(struct diff_side *s);

/* The first difference side by side with `context` exits around it; 0 or -errno. */
int diff_print_first(struct diff_side *a, struct diff_side *b, int64_t seq, const char *fields,
		     long context);
/* Exits per reason in each, injections, how each run ended; 0 or -errno. */
int diff_print_summary(struct diff_side *a, struct diff_side *b);

#endif
