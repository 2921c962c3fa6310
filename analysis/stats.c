/* SPDX-License-Identifier: MIT */
/*
 * kvmrr stats: where the exits and the time went, per exit reason (or per
 * port, MMIO address or guest RIP), in the spirit of `perf kvm stat report`.
 *
 * An exit's time is the guest time that ended in it plus the VMM time spent
 * on it before the next entry (see views.c). Shares are computed on TSC
 * ticks, so they are exact ratios of the recorded integers.
 */
#include "analysis/analysis.h"
#include "analysis/internal.h"

#include <errno.h>
#include <getopt.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>

struct stats_by {
	const char *name, *title, *key, *where, *group;
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The SQL below names exit reasons by number: KVM_EXIT_IO and KVM_EXIT_MMIO. */
_Static_assert(KVM_EXIT_IO == 2 && KVM_EXIT_MMIO == 6, "stats_bys spells out KVM_EXIT_IO and KVM_EXIT_MMIO");
#define SQL_EXIT_IO "2"
#define SQL_EXIT_MMIO "6"

static const struct stats_by stats_bys[] = {
	{ "reason", "REASON", "reason_name", "1", "reason" },
	{ "port", "PORT", "printf('0x%04x %s', addr, CASE dir WHEN 1 THEN 'out' ELSE 'in' END)",
	  "reason = " SQL_EXIT_IO, "addr, dir" },
	{ "gpa", "GPA", "printf('0x%x %s', addr, CASE dir WHEN 1 THEN 'write' ELSE 'read' END)",
	  "reason = " SQL_EXIT_MMIO, "addr, dir" },
	{ "rip", "RIP", "printf('0x%x', rip)", "1", "rip" },
};

static const struct { const char *name, *order; } stats_sorts[] = {
	{ "count", "COUNT(*)" },
	{ "time", "SUM(guest_ticks + vmm_ticks)" },
	{ "avg", "AVG(guest_ticks + vmm_ticks)" },
	{ "max", "MAX(guest_ticks + vmm_ticks)" },
};

struct stats_row {
	char *key;
	int64_t count, guest, vmm, min, max; /* ticks */
};

struct stats_opts {
	const struct stats_by *by;
	const char *order;
	long limit;
	enum analysis_format fmt;
	const char *path;
};

static void stats_usage(FILE *f)
{
	fprintf(f,
		"usage: kvmrr stats REC.db [options]\n"
		"Exits and time per exit reason, like `perf kvm stat report`.\n"
		"  --by reason|port|gpa|rip   group by exit reason (default), IO port and direction,\n"
		"                             MMIO address and direction, or guest RIP\n"
		"  --sort count|time|avg|max  order rows by samples (default), total time,\n"
		"                             average or maximum time per exit\n"
		"  --limit N                  show the first N rows only (0: all, the default)\n"
		"  --format table|csv|json    aligned table (default) or machine-readable rows\n"
		"  -h, --help                 this text\n"
		"An exit's time = guest time ending in it + VMM time before the next entry.\n"
		"Percentages are of the exits grouped: all exits, or IO (--by port) or MMIO\n"
		"(--by gpa) exits.\n");
}

static int stats_parse(int argc, char **argv, struct stats_opts *o)
{
	static const struct option longopts[] = {
		{ "by", required_argument, NULL, 'b' }, { "sort", required_argument, NULL, 's' },
		{ "limit", required_argument, NULL, 'l' }, { "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct stats_opts){ &stats_bys[0], stats_sorts[0].order, 0, ANALYSIS_FMT_TABLE, NULL };
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		size_t i;

		switch (c) {
		case 'b':
			for (i = 0; i < ARRAY_LEN(stats_bys) && strcmp(optarg, stats_bys[i].name); i++)
				;
			if (i == ARRAY_LEN(stats_bys))
				goto bad_value;
			o->by = &stats_bys[i];
			break;
		case 's':
			for (i = 0; i < ARRAY_LEN(stats_sorts) && strcmp(optarg, stats_sorts[i].name); i++)
				;
			if (i == ARRAY_LEN(stats_sorts))
				goto bad_value;
			o->order = stats_sorts[i].order;
			break;
		case 'l':
			if (analysis_parse_count(optarg, &o->limit))
				goto bad_value;
			break;
		case 'f':
			if (analysis_parse_format(optarg, &o->fmt))
				goto bad_value;
			break;
		case 'h':
			stats_usage(stdout);
			return 1;
		default:
			stats_usage(stderr);
			return -EINVAL;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "kvmrr stats: expected one recording, got %d arguments\n", argc - optind);
		stats_usage(stderr);
		return -EINVAL;
	}
	o->path = argv[optind];
	return 0;
bad_value:
	fprintf(stderr, "kvmrr stats: invalid value '%s' for --%s (see kvmrr stats --help)\n",
		optarg, longopts[c == 'b' ? 0 : c == 's' ? 1 : c == 'l' ? 2 : 3].name);
	return -EINVAL;
}

/* All groups, ordered; *rows is malloc'd. */
static int stats_collect(struct analysis_rec *rec, const struct stats_opts *o,
			 struct stats_row **rows, size_t *nrows)
{
	sqlite3_stmt *st = NULL;
	char *sql = NULL;
	size_t cap = 0;
	int rc;

	*rows = NULL;
	*nrows = 0;
	if (asprintf(&sql, "SELECT %s, COUNT(*), SUM(guest_ticks), SUM(vmm_ticks),"
		     " MIN(guest_ticks + vmm_ticks), MAX(guest_ticks + vmm_ticks)"
		     " FROM temp.analysis_exit WHERE %s GROUP BY %s ORDER BY %s DESC, MIN(seq)",
		     o->by->key, o->by->where, o->by->group, o->order) < 0)
		return -ENOMEM;
	rc = analysis_prepare("stats", rec, sql, &st);
	free(sql);
	while (rc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct stats_row *r;

		if (*nrows == cap) {
			cap = cap ? cap * 2 : 32;
			r = realloc(*rows, cap * sizeof(*r));
			if (!r) {
				rc = -ENOMEM;
				break;
			}
			*rows = r;
		}
		r = &(*rows)[(*nrows)++];
		r->key = strdup((const char *)sqlite3_column_text(st, 0));
		r->count = sqlite3_column_int64(st, 1);
		r->guest = sqlite3_column_int64(st, 2);
		r->vmm = sqlite3_column_int64(st, 3);
		r->min = sqlite3_column_int64(st, 4);
		r->max = sqlite3_column_int64(st, 5);
		rc = r->key ? 0 : -ENOMEM;
	}
	if (rc == SQLITE_DONE)
		rc = 0;
	else if (rc > 0)
		rc = analysis_step_error("stats", rec, rc);
	sqlite3_finalize(st);
	return rc;
}

static double stats_share(double part, double whole)
{
	return whole > 0 ? part / whole : 0;
}

static void stats_print_machine(struct analysis_rec *rec, const struct stats_opts *o,
				const struct stats_row *rows, size_t n, const struct stats_row *tot)
{
	bool json = o->fmt == ANALYSIS_FMT_JSON;

	if (json)
		fputs("[", stdout);
	else
		printf("%s,samples,samples_share,time_share,total_ns,guest_ns,vmm_ns,min_ns,avg_ns,max_ns\n",
		       o->by->name);
	for (size_t i = 0; i < n; i++) {
		const struct stats_row *r = &rows[i];
		double t = (double)r->guest + r->vmm;

		if (json) {
			printf("%s\n{\"%s\":", i ? "," : "", o->by->name);
			analysis_put_json_str(stdout, r->key, strlen(r->key));
		} else {
			analysis_put_csv_str(stdout, r->key, strlen(r->key));
		}
		printf(json ? ",\"samples\":%lld,\"samples_share\":%.17g,\"time_share\":%.17g,"
			      "\"total_ns\":%.0f,\"guest_ns\":%.0f,\"vmm_ns\":%.0f,\"min_ns\":%.0f,"
			      "\"avg_ns\":%.0f,\"max_ns\":%.0f}"
			    : ",%lld,%.17g,%.17g,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f\n",
		       (long long)r->count, stats_share(r->count, tot->count),
		       stats_share(t, (double)tot->guest + tot->vmm), analysis_ticks_ns(rec, t),
		       analysis_ticks_ns(rec, r->guest), analysis_ticks_ns(rec, r->vmm),
		       analysis_ticks_ns(rec, r->min), analysis_ticks_ns(rec, t / r->count),
		       analysis_ticks_ns(rec, r->max));
	}
	if (json)
		fputs("\n]\n", stdout);
}

static void stats_print_header(struct analysis_rec *rec, const struct stats_opts *o,
			       const struct stats_row *tot)
{
	char *end = analysis_meta(rec, "end"), *code = analysis_meta(rec, "end_code");
	double t = (double)tot->guest + tot->vmm;
	const char *what = o->by == &stats_bys[1] ? "IO" : o->by == &stats_bys[2] ? "MMIO" : NULL;

	printf("kvmrr stats: %s: %lld exits%s\n", rec->path, (long long)rec->exits,
	       rec->complete ? "" : " (incomplete recording)");
	if (what)
		printf("  %s exits: %lld (%.2f%%)\n", what, (long long)tot->count,
		       100 * stats_share(tot->count, rec->exits));
	printf("  time%s%s %.3f ms: guest %.3f ms (%.1f%%), VMM %.3f ms (%.1f%%)\n",
	       what ? " in " : "", what ? what : "", analysis_ticks_ns(rec, t) / 1e6,
	       analysis_ticks_ns(rec, tot->guest) / 1e6, 100 * stats_share(tot->guest, t),
	       analysis_ticks_ns(rec, tot->vmm) / 1e6, 100 * stats_share(tot->vmm, t));
	if (end)
		printf("  ended: %s%s%s\n", end, code ? ", status " : "", code ? code : "");
	putchar('\n');
	free(end);
	free(code);
}

static int stats_add_row(struct analysis_table *t, struct analysis_rec *rec,
			 const struct stats_row *r, const struct stats_row *tot)
{
	double time = (double)r->guest + r->vmm;
	int rc = 0;

	rc |= analysis_table_add(t, r->key);
	rc |= analysis_table_addf(t, "%lld", (long long)r->count);
	rc |= analysis_table_addf(t, "%.2f%%", 100 * stats_share(r->count, tot->count));
	rc |= analysis_table_addf(t, "%.2f%%", 100 * stats_share(time, (double)tot->guest + tot->vmm));
	rc |= analysis_table_addf(t, "%.2f", analysis_ticks_ns(rec, time) / 1e3);
	rc |= analysis_table_addf(t, "%.2f", analysis_ticks_ns(rec, r->guest) / 1e3);
	rc |= analysis_table_addf(t, "%.2f", analysis_ticks_ns(rec, r->vmm) / 1e3);
	rc |= analysis_table_addf(t, "%.2f", analysis_ticks_ns(rec, r->count ? r->min : 0) / 1e3);
	rc |= analysis_table_addf(t, "%.2f", analysis_ticks_ns(rec, r->count ? time / r->count : 0) / 1e3);
	rc |= analysis_table_addf(t, "%.2f", analysis_ticks_ns(rec, r->max) / 1e3);
	return rc ? -ENOMEM : 0;
}

static int stats_print_table(struct analysis_rec *rec, const struct stats_opts *o,
			     const struct stats_row *rows, size_t n, const struct stats_row *tot)
{
	static const char *const heads[] = { "SAMPLES", "SAMPLES%", "TIME%", "TOTAL us", "GUEST us",
					     "VMM us", "MIN us", "AVG us", "MAX us" };
	struct analysis_table *t = analysis_table_new(1 + ARRAY_LEN(heads));
	size_t shown = o->limit && (size_t)o->limit < n ? (size_t)o->limit : n;
	struct stats_row total = *tot;
	int rc = t ? 0 : -ENOMEM;

	rc = rc ? rc : analysis_table_add(t, o->by->title);
	for (int i = 0; i < (int)ARRAY_LEN(heads) && rc == 0; i++) {
		analysis_table_right(t, i + 1);
		rc = analysis_table_add(t, heads[i]);
	}
	for (size_t i = 0; i < shown && rc == 0; i++)
		rc = stats_add_row(t, rec, &rows[i], tot);
	total.key = "TOTAL";
	if (n == 0)
		total.min = 0;
	if (rc == 0)
		rc = stats_add_row(t, rec, &total, tot);
	if (rc == 0) {
		stats_print_header(rec, o, tot);
		analysis_table_print(t, stdout, "");
		if (shown < n)
			printf("(%zu more rows not shown: --limit %ld)\n", n - shown, o->limit);
	}
	analysis_table_free(t);
	return rc;
}

int analysis_cmd_stats(int argc, char **argv)
{
	struct analysis_rec rec;
	struct stats_opts o;
	struct stats_row *rows = NULL, tot = { .min = INT64_MAX };
	size_t n = 0;
	int rc = stats_parse(argc, argv, &o);

	if (rc)
		return rc > 0 ? 0 : 1;
	rc = analysis_rec_open("stats", o.path, &rec);
	if (rc)
		return analysis_status_of(rc);
	rc = stats_collect(&rec, &o, &rows, &n);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		tot.count += rows[i].count;
		tot.guest += rows[i].guest;
		tot.vmm += rows[i].vmm;
		tot.min = rows[i].min < tot.min ? rows[i].min : tot.min;
		tot.max = rows[i].max > tot.max ? rows[i].max : tot.max;
	}
	if (rc == 0 && o.fmt == ANALYSIS_FMT_TABLE)
		rc = stats_print_table(&rec, &o, rows, n, &tot);
	else if (rc == 0)
		stats_print_machine(&rec, &o, rows, o.limit && (size_t)o.limit < n ? (size_t)o.limit : n,
				    &tot);
	if (rc == 0)
		rc = analysis_out_close("stats", NULL, stdout);
	for (size_t i = 0; i < n; i++)
		free(rows[i].key);
	free(rows);
	analysis_rec_close(&rec);
	return analysis_status_of(rc);
}
