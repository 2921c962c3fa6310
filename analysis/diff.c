/* SPDX-License-Identifier: MIT */
/*
 * kvmrr diff A.db B.db: where two recordings of the same guest part ways.
 *
 * Exits are compared in order on what the guest did and saw: vCPU, reason,
 * port or gpa, size, direction and data; times and RIP are shown, not
 * compared (timing differs on every run; a RIP change shows up in the next
 * exit anyway). KVM_EXIT_INTR exits with no injection are skipped (diff.h),
 * so the two sides' seqs may differ after one.
 *
 * The first difference is shown side by side with a few exits
 * of context, then a summary: exits per reason in each, differing exits.
 */
#include "analysis/analysis.h"
#include "analysis/internal.h"
#include "analysis/diff.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void diff_usage(FILE *f)
{
	fprintf(f,
		"usage: kvmrr diff A.db B.db [--context N] [--exit-code]\n"
		"Compare two recordings exit by exit (vCPU, reason, port/gpa, size, direction,\n"
		"data; times and RIP are not compared; KVM_EXIT_INTR exits after which\n"
		"nothing was injected are skipped): the first difference side by side,\n"
		"then exits per reason in each and the number of differing exits.\n"
		"  --context N   exits shown before and after the first difference (default 3)\n"
		"  --exit-code   exit with status 3 when the recordings differ (0 when not)\n"
		"  -h, --help    this text\n");
}

static int diff_load(struct diff_exit *e, sqlite3_stmt *st)
{
	const char *name = (const char *)sqlite3_column_text(st, 3);

	free(e->data);
	memset(e, 0, sizeof(*e));
	e->seq = sqlite3_column_int64(st, 0);
	e->vcpu = sqlite3_column_int64(st, 1);
	e->reason = sqlite3_column_int(st, 2);
	snprintf(e->name, sizeof(e->name), "%s", name ? name : "?");
	e->rip = sqlite3_column_int64(st, 4);
	e->has_addr = sqlite3_column_type(st, 5) != SQLITE_NULL;
	e->addr = sqlite3_column_int64(st, 5);
	e->has_size = sqlite3_column_type(st, 6) != SQLITE_NULL;
	e->size = sqlite3_column_int(st, 6);
	e->has_dir = sqlite3_column_type(st, 7) != SQLITE_NULL;
	e->dir = sqlite3_column_int(st, 7);
	e->has_data = sqlite3_column_type(st, 8) != SQLITE_NULL;
	e->data_len = sqlite3_column_bytes(st, 8);
	if (e->has_data && e->data_len) {
		e->data = malloc(e->data_len);
		if (!e->data)
			return -ENOMEM;
		memcpy(e->data, sqlite3_column_blob(st, 8), e->data_len);
	}
	return 0;
}

/* Names of the fields that differ, comma-separated, into buf; 0 when none differ. */
int diff_fields(const struct diff_exit *a, const struct diff_exit *b, char *buf, size_t len)
{
	const char *addr = a->reason == ANALYSIS_EXIT_IO ? "port" :
			   a->reason == ANALYSIS_EXIT_MMIO ? "gpa" : "address";
	int n = 0;

	buf[0] = 0;
#define DIFF_FIELD(cond, name) \
	do { if (cond) { n++; snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", n > 1 ? ", " : "", name); } } while (0)
	DIFF_FIELD(a->vcpu != b->vcpu, "vcpu");
	DIFF_FIELD(a->reason != b->reason, "reason");
	DIFF_FIELD(a->has_addr != b->has_addr || a->addr != b->addr, addr);
	DIFF_FIELD(a->has_size != b->has_size || a->size != b->size, "size");
	DIFF_FIELD(a->has_dir != b->has_dir || a->dir != b->dir, "direction");
	DIFF_FIELD(a->has_data != b->has_data || a->data_len != b->data_len ||
		   (a->data_len && memcmp(a->data, b->data, a->data_len)), "data");
#undef DIFF_FIELD
	return n;
}

/* One line: "IO in port 0x5e0 size 4 data 1a2b3c4d rip 0x1000a3". */
char *diff_describe(const struct diff_exit *e)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	if (!f)
		return NULL;
	fprintf(f, "%s", e->name);
	if (e->has_dir)
		fprintf(f, " %s", analysis_dir_name(e->reason, e->dir));
	if (e->has_addr)
		fprintf(f, " %s 0x%llx", e->reason == ANALYSIS_EXIT_MMIO ? "gpa" : "port",
			(unsigned long long)e->addr);
	if (e->has_size)
		fprintf(f, " size %d", e->size);
	if (e->has_data) {
		fputs(" data ", f);
		analysis_put_hex(f, e->data, e->data_len > 16 ? 16 : e->data_len);
		if (e->data_len > 16)
			fprintf(f, "...(%d bytes)", e->data_len);
	}
	fprintf(f, " rip 0x%llx", (unsigned long long)e->rip);
	if (e->vcpu)
		fprintf(f, " vcpu %lld", (long long)e->vcpu);
	return fclose(f) == 0 ? s : (free(s), NULL);
}

/* Open a side's exit cursor starting at seq `from`. */
int diff_cursor(struct diff_side *s, int64_t from)
{
	sqlite3_finalize(s->st);
	s->st = NULL;
	if (analysis_prepare("diff", &s->rec, DIFF_SQL " AND seq >= ?1 ORDER BY seq", &s->st))
		return -EIO;
	sqlite3_bind_int64(s->st, 1, from);
	return 0;
}

/* Next exit into s->cur: 1 when there is one, 0 at the end, -errno. */
int diff_next(struct diff_side *s)
{
	int rc = sqlite3_step(s->st);

	if (rc == SQLITE_ROW)
		return diff_load(&s->cur, s->st) ? -ENOMEM : 1;
	if (rc == SQLITE_DONE)
		return 0;
	return analysis_step_error("diff", &s->rec, rc);
}

int64_t diff_seq_before(struct diff_side *s, int64_t seq, long back)
{
	sqlite3_stmt *st = NULL;
	int64_t from = seq;
	int rc = analysis_prepare("diff", &s->rec, "SELECT MIN(seq) FROM (" DIFF_SQL
				  " AND seq < ?1 ORDER BY seq DESC LIMIT ?2)", &st);

	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_int64(st, 2, back);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		from = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_ROW)
		from = analysis_step_error("diff", &s->rec, rc);
	sqlite3_finalize(st);
	return from;
}

/* Walk both timelines; returns differing exits (>= 0) or -errno; sets a/b->first. */
static int64_t diff_walk(struct diff_side *a, struct diff_side *b, char *fields, size_t len)
{
	int64_t ndiff = 0;
	char buf[128];
	int ra, rb;

	a->first = b->first = -1;
	if (diff_cursor(a, 0) || diff_cursor(b, 0))
		return -EIO;
	for (;;) {
		ra = diff_next(a);
		rb = diff_next(b);
		if (ra < 0 || rb < 0)
			return ra < 0 ? ra : rb;
		a->compared += ra;
		b->compared += rb;
		if (ra == 0 || rb == 0)
			break;
		if (diff_fields(&a->cur, &b->cur, buf, sizeof(buf)) == 0)
			continue;
		if (ndiff++ == 0) {
			a->first = a->cur.seq;
			b->first = b->cur.seq;
			snprintf(fields, len, "%s", buf);
		}
	}
	/* One side goes on: count the rest of it. */
	for (struct diff_side *s = ra ? a : rb ? b : NULL; s; ) {
		if (ndiff == 0) {
			s->first = s->cur.seq;
			struct diff_side *o = s == a ? b : a;

			o->first = o->compared ? o->cur.seq + 1 : 0;
			snprintf(fields, len, "only %s goes on", s == a ? "A" : "B");
		}
		while ((ra = diff_next(s)) == 1)
			s->compared++;
		if (ra < 0)
			return ra;
		break;
	}
	return ndiff;
}

int analysis_cmd_diff(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "context", required_argument, NULL, 'c' }, { "exit-code", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	struct diff_side a = { 0 }, b = { 0 };
	long context = 3;
	bool exit_code = false;
	char fields[128] = "";
	int64_t ndiff;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'h') {
			diff_usage(stdout);
			return 0;
		} else if (c == 'e') {
			exit_code = true;
		} else if (c != 'c' || analysis_parse_count(optarg, &context)) {
			if (c == 'c')
				fprintf(stderr, "kvmrr diff: invalid --context '%s'\n", optarg);
			diff_usage(stderr);
			return 1;
		}
	}
	if (optind + 2 != argc) {
		fprintf(stderr, "kvmrr diff: expected two recordings, got %d arguments\n", argc - optind);
		diff_usage(stderr);
		return 1;
	}
	rc = analysis_rec_open("diff", argv[optind], &a.rec);
	if (rc == 0 && (rc = analysis_rec_open("diff", argv[optind + 1], &b.rec)) != 0)
		analysis_rec_close(&a.rec);
	if (rc)
		return analysis_status_of(rc);
	ndiff = diff_walk(&a, &b, fields, sizeof(fields));
	rc = ndiff < 0 ? (int)ndiff : 0;
	printf("kvmrr diff: A = %s (%lld exits), B = %s (%lld exits)\n", a.rec.path,
	       (long long)a.rec.exits, b.rec.path, (long long)b.rec.exits);
	if (rc == 0 && a.first < 0)
		printf("no difference in the %lld exits compared (vCPU, reason, port/gpa, size, "
		       "direction and data; timing ignored)\n", (long long)a.compared);
	else if (rc == 0)
		rc = diff_print_first(&a, &b, fields, context);
	if (rc == 0)
		rc = diff_print_summary(&a, &b);
	if (rc == 0 && a.first >= 0)
		printf("differing exits: %lld of %lld compared pairwise (%+lld unpaired), first at seq "
		       "%lld in A, %lld in B\n", (long long)ndiff,
		       (long long)(a.compared < b.compared ? a.compared : b.compared),
		       (long long)(b.compared - a.compared), (long long)a.first, (long long)b.first);
	sqlite3_finalize(a.st);
	sqlite3_finalize(b.st);
	free(a.cur.data);
	free(b.cur.data);
	analysis_rec_close(&a.rec);
	analysis_rec_close(&b.rec);
	if (rc == 0 && (rc = analysis_out_close("diff", NULL, stdout)) == 0 && exit_code && a.first >= 0)
		return ANALYSIS_DIFFERENT;
	return analysis_status_of(rc);
}
