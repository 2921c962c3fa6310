/* SPDX-License-Identifier: MIT */
/*
 * kvmrr export: the exit timeline for other tools.
 *
 * --format perfetto writes Chrome trace-event JSON (the "JSON Object
 * Format" of the Trace Event Format document), which ui.perfetto.dev and
 * chrome://tracing open: one process for the guest, one thread track per
 * vCPU; per exit an "X" slice for the guest time that ended in it (named by
 * the exit reason, cat "guest", the exit details as args) and an "X" slice
 * for the VMM time spent on it (named "vmm <reason>", cat "vmm"); an "i"
 * instant per injection (event table) at the next entry; "M" metadata events
 * naming the process and threads. Times are microseconds since tsc_base with
 * nanosecond decimals.
 *
 * --format csv writes the exit_timeline columns, one row per exit.
 */
#include "analysis/analysis.h"
#include "analysis/internal.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Perfetto/Chrome want positive pid/tid; vCPU n is thread n + 1. */
#define EXPORT_PID 1

static void export_usage(FILE *f)
{
	fprintf(f,
		"usage: kvmrr export REC.db [--format perfetto|csv] [-o FILE]\n"
		"  --format perfetto   Chrome trace-event JSON for ui.perfetto.dev or\n"
		"                      chrome://tracing (default): per vCPU a track with a slice\n"
		"                      for the guest time ending in each exit and one for the VMM\n"
		"                      time handling it, and instant events for injections\n"
		"  --format csv        the exit timeline (exit_timeline columns), blobs as hex\n"
		"  -o, --output FILE   write there instead of standard output\n"
		"  -h, --help          this text\n");
}

static void export_ts(FILE *f, const char *key, double ns)
{
	fprintf(f, ",\"%s\":%.3f", key, ns / 1000.0);
}

/* The args of a guest slice: what the exit was. */
static void export_exit_args(FILE *f, sqlite3_stmt *st)
{
	int reason = sqlite3_column_int(st, 2);

	fprintf(f, ",\"args\":{\"seq\":%lld,\"rip\":\"0x%llx\"", (long long)sqlite3_column_int64(st, 0),
		(unsigned long long)sqlite3_column_int64(st, 7));
	if (sqlite3_column_type(st, 8) != SQLITE_NULL)
		fprintf(f, ",\"%s\":\"0x%llx\"", reason == ANALYSIS_EXIT_MMIO ? "gpa" :
			reason == ANALYSIS_EXIT_IO ? "port" : "addr",
			(unsigned long long)sqlite3_column_int64(st, 8));
	if (sqlite3_column_type(st, 9) != SQLITE_NULL)
		fprintf(f, ",\"size\":%d", sqlite3_column_int(st, 9));
	if (sqlite3_column_type(st, 10) != SQLITE_NULL)
		fprintf(f, ",\"dir\":\"%s\"", analysis_dir_name(reason, sqlite3_column_int(st, 10)));
	if (sqlite3_column_type(st, 11) != SQLITE_NULL) {
		fputs(",\"data\":", f);
		analysis_put_json_col(f, st, 11);
	}
	fputs("}}", f);
}

static void export_slice(FILE *f, const char *cat, sqlite3_stmt *st, double ts_ns, double dur_ns)
{
	const char *name = (const char *)sqlite3_column_text(st, 3);
	char *vmm_name = NULL;

	fprintf(f, ",\n{\"ph\":\"X\",\"cat\":\"%s\",\"name\":", cat);
	if (strcmp(cat, "vmm") == 0 && asprintf(&vmm_name, "vmm %s", name) > 0)
		name = vmm_name;
	analysis_put_json_str(f, name, strlen(name));
	fprintf(f, ",\"pid\":%d,\"tid\":%d", EXPORT_PID, sqlite3_column_int(st, 1) + 1);
	export_ts(f, "ts", ts_ns);
	export_ts(f, "dur", dur_ns);
	free(vmm_name);
}

#define EXPORT_EXITS "SELECT seq, vcpu, reason, reason_name, entry_vmm_ticks, guest_ticks," \
	" vmm_ticks, rip, addr, size, dir, data FROM temp.analysis_exit ORDER BY seq"

/* The injections after exit `seq`, at the next entry `ts_ns`. */
static int export_instants(FILE *f, sqlite3_stmt *ev, int *ev_rc, int64_t seq, double ts_ns)
{
	while (*ev_rc == SQLITE_ROW && (seq < 0 || sqlite3_column_int64(ev, 0) <= seq)) {
		const char *kind = (const char *)sqlite3_column_text(ev, 2);

		fputs(",\n{\"ph\":\"i\",\"s\":\"t\",\"cat\":\"inject\",\"name\":", f);
		analysis_put_json_str(f, kind, strlen(kind));
		fprintf(f, ",\"pid\":%d,\"tid\":%d", EXPORT_PID, sqlite3_column_int(ev, 1) + 1);
		export_ts(f, "ts", ts_ns);
		fprintf(f, ",\"args\":{\"seq\":%lld,\"value\":", (long long)sqlite3_column_int64(ev, 0));
		analysis_put_json_col(f, ev, 3);
		fputs("}}", f);
		*ev_rc = sqlite3_step(ev);
	}
	return *ev_rc == SQLITE_ROW || *ev_rc == SQLITE_DONE ? 0 : *ev_rc;
}

static int export_slices(FILE *f, struct analysis_rec *rec, struct analysis_clock *clk)
{
	sqlite3_stmt *st = NULL, *ev = NULL;
	double entry = 0, end_ns = 0;
	int rc = analysis_prepare("export", rec, EXPORT_EXITS, &st), ev_rc = SQLITE_DONE;

	rc = rc ? rc : analysis_prepare("export", rec,
		"SELECT v.seq, v.vcpu, COALESCE(k.name, 'kind_' || v.kind), v.value FROM main.event v"
		" LEFT JOIN main.event_kind k ON k.kind = v.kind ORDER BY v.seq, v.rowid", &ev);
	ev_rc = rc ? ev_rc : sqlite3_step(ev);
	while (rc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		double guest = analysis_ticks_ns(rec, sqlite3_column_double(st, 5));
		double vmm = analysis_ticks_ns(rec, sqlite3_column_double(st, 6)), ts;

		rc = analysis_clock_entry(clk, sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 4),
					  sqlite3_column_int64(st, 5), &entry);
		if (rc)
			break;
		ts = analysis_ticks_ns(rec, entry);
		export_slice(f, "guest", st, ts, guest);
		export_exit_args(f, st);
		if (sqlite3_column_int64(st, 6) > 0) {
			export_slice(f, "vmm", st, ts + guest, vmm);
			fprintf(f, ",\"args\":{\"seq\":%lld}}", (long long)sqlite3_column_int64(st, 0));
		}
		end_ns = ts + guest + vmm;
		rc = export_instants(f, ev, &ev_rc, sqlite3_column_int64(st, 0), end_ns);
	}
	if (rc == SQLITE_DONE)
		rc = export_instants(f, ev, &ev_rc, -1, end_ns);
	if (rc == -ERANGE)
		fprintf(stderr, "kvmrr export: %s: a vCPU index is out of range (0..%d)\n", rec->path,
			ANALYSIS_MAX_VCPUS - 1);
	else if (rc > 0)
		rc = analysis_step_error("export", rec, rc);
	sqlite3_finalize(st);
	sqlite3_finalize(ev);
	return rc;
}

/* process_name, thread_name per vCPU, and the run's metadata in otherData. */
static int export_metadata(FILE *f, struct analysis_rec *rec)
{
	sqlite3_stmt *st = NULL;
	char *cmd = analysis_meta(rec, "command_line");
	const char *name = cmd ? cmd : rec->path;
	int rc;

	fprintf(f, "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"recording\":");
	analysis_put_json_str(f, rec->path, strlen(rec->path));
	fprintf(f, ",\"exits\":%lld,\"complete\":%s},\n\"traceEvents\":[\n", (long long)rec->exits,
		rec->complete ? "true" : "false");
	fprintf(f, "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%d,\"tid\":0,\"args\":{\"name\":",
		EXPORT_PID);
	analysis_put_json_str(f, name, strlen(name));
	fputs("}}", f);
	free(cmd);
	rc = analysis_prepare("export", rec, "SELECT DISTINCT vcpu FROM main.exit ORDER BY vcpu", &st);
	while (rc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int vcpu = sqlite3_column_int(st, 0);

		fprintf(f, ",\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%d,\"tid\":%d,"
			"\"args\":{\"name\":\"vCPU %d\"}}", EXPORT_PID, vcpu + 1, vcpu);
		rc = 0;
	}
	if (rc == SQLITE_DONE)
		rc = 0;
	else if (rc > 0)
		rc = analysis_step_error("export", rec, rc);
	sqlite3_finalize(st);
	return rc;
}

static void export_csv_row(FILE *f, struct analysis_rec *rec, sqlite3_stmt *st, double entry)
{
	int reason = sqlite3_column_int(st, 2);
	const char *name = (const char *)sqlite3_column_text(st, 3);
	int64_t guest = sqlite3_column_int64(st, 5), vmm = sqlite3_column_int64(st, 6);

	fprintf(f, "%lld,%d,%d,", (long long)sqlite3_column_int64(st, 0), sqlite3_column_int(st, 1),
		reason);
	analysis_put_csv_str(f, name, strlen(name));
	/* Truncated like the views' CAST(... AS INTEGER). */
	fprintf(f, ",%lld,%lld,%lld,%lld,", (long long)analysis_ticks_ns(rec, entry),
		(long long)analysis_ticks_ns(rec, (double)(guest + vmm)),
		(long long)analysis_ticks_ns(rec, (double)guest), (long long)analysis_ticks_ns(rec, (double)vmm));
	analysis_put_csv_col(f, st, 7);
	fputc(',', f);
	if (reason == ANALYSIS_EXIT_IO)
		analysis_put_csv_col(f, st, 8);
	fputc(',', f);
	if (reason == ANALYSIS_EXIT_MMIO)
		analysis_put_csv_col(f, st, 8);
	for (int c = 9; c <= 11; c++) {
		fputc(',', f);
		analysis_put_csv_col(f, st, c);
	}
	fputc('\n', f);
}

/* The exit_timeline columns, computed in one pass (no window function). */
static int export_csv(FILE *f, struct analysis_rec *rec, struct analysis_clock *clk)
{
	sqlite3_stmt *st = NULL;
	double entry;
	int rc = analysis_prepare("export", rec, EXPORT_EXITS, &st);

	fputs("seq,vcpu,reason,reason_name,ts_ns,dur_ns,guest_ns,vmm_ns,rip,port,gpa,size,dir,data\n", f);
	while (rc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		rc = analysis_clock_entry(clk, sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 4),
					  sqlite3_column_int64(st, 5), &entry);
		if (rc == 0)
			export_csv_row(f, rec, st, entry);
	}
	if (rc == SQLITE_DONE)
		rc = 0;
	else if (rc == -ERANGE)
		fprintf(stderr, "kvmrr export: %s: a vCPU index is out of range (0..%d)\n", rec->path,
			ANALYSIS_MAX_VCPUS - 1);
	else if (rc > 0)
		rc = analysis_step_error("export", rec, rc);
	sqlite3_finalize(st);
	return rc;
}

int analysis_cmd_export(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' }, { "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	const char *out_path = NULL, *format = "perfetto";
	struct analysis_rec rec;
	struct analysis_clock *clk;
	FILE *f;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "hf:o:", longopts, NULL)) != -1) {
		if (c == 'h') {
			export_usage(stdout);
			return 0;
		} else if (c == 'f') {
			format = optarg;
		} else if (c == 'o') {
			out_path = optarg;
		} else {
			export_usage(stderr);
			return 1;
		}
	}
	if (strcmp(format, "perfetto") != 0 && strcmp(format, "csv") != 0) {
		fprintf(stderr, "kvmrr export: invalid --format '%s': want perfetto or csv\n", format);
		return 1;
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "kvmrr export: expected one recording, got %d arguments\n", argc - optind);
		export_usage(stderr);
		return 1;
	}
	rc = analysis_rec_open("export", argv[optind], &rec);
	if (rc)
		return analysis_status_of(rc);
	f = analysis_out_open("export", out_path);
	if (!f) {
		analysis_rec_close(&rec);
		return 1;
	}
	clk = malloc(sizeof(*clk));
	if (!clk) {
		rc = -ENOMEM;
	} else if (strcmp(format, "csv") == 0) {
		analysis_clock_reset(clk);
		rc = export_csv(f, &rec, clk);
	} else {
		analysis_clock_reset(clk);
		rc = export_metadata(f, &rec);
		rc = rc ? rc : export_slices(f, &rec, clk);
		fputs("\n]}\n", f);
	}
	free(clk);
	c = analysis_out_close("export", out_path, f);
	if ((rc || c) && out_path && strcmp(out_path, "-") != 0)
		unlink(out_path);
	analysis_rec_close(&rec);
	return analysis_status_of(rc ? rc : c);
}
