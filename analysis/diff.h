/* SPDX-License-Identifier: MIT */
/* Shared by diff.c and diff_show.c. */
#ifndef KVMRR_ANALYSIS_DIFF_H
#define KVMRR_ANALYSIS_DIFF_H

#include "analysis/internal.h"

/*
 * The exits diff compares: all but a KVM_EXIT_INTR after which the VMM
 * injected nothing. Such an exit (a kick that found nothing to do) changed
 * nothing in the guest; replay ignores it on both sides too (DESIGN.md,
 * "The determinism model"), and load on the host decides whether one happens.
 */
#define DIFF_KEPT "NOT (reason = 10 AND NOT EXISTS (SELECT 1 FROM main.event v" \
	" WHERE v.seq = x.seq AND v.vcpu = x.vcpu))"
#define DIFF_SQL "SELECT seq, vcpu, reason, reason_name, rip, addr, size, dir, data" \
	" FROM temp.analysis_exit x WHERE " DIFF_KEPT

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
	int64_t compared;   /* exits kept by DIFF_KEPT */
	int64_t first;      /* seq of the first differing exit, -1 */
};

/* Names of the fields that differ, comma-separated, into buf; returns how many. */
int diff_fields(const struct diff_exit *a, const struct diff_exit *b, char *buf, size_t len);
/* One line describing an exit (malloc'd, NULL on ENOMEM). */
char *diff_describe(const struct diff_exit *e);
/* Start a side's cursor at seq `from`; 0 or -EIO. */
int diff_cursor(struct diff_side *s, int64_t from);
/* The seq `back` compared exits before `seq` (or the first one); -errno. */
int64_t diff_seq_before(struct diff_side *s, int64_t seq, long back);
/* Next exit into s->cur: 1, 0 at the end, -errno. */
int diff_next(struct diff_side *s);

/* The first difference side by side with `context` exits around it; 0 or -errno. */
int diff_print_first(struct diff_side *a, struct diff_side *b, const char *fields, long context);
/* Exits per reason in each, injections, how each run ended; 0 or -errno. */
int diff_print_summary(struct diff_side *a, struct diff_side *b);

#endif
