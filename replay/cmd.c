/* SPDX-License-Identifier: MIT */
/* kvmrr replay [options] REC.db */
#include "replay/replay.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/size.h"
#include "replay/gdb_server.h"
#include "stream/format.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kvmrr replay [options] REC.db\n"
		"\n"
		"Re-run a recording on KVM from its initial state alone: every IN and MMIO\n"
		"read is answered from the log, every recorded injection is re-applied at\n"
		"the same exit, and every exit is checked (reason, port/gpa, size,\n"
		"direction, written data, RIP). The guest's console is reproduced from the\n"
		"recorded UART writes. At the end the vCPU state and a digest of guest\n"
		"memory are compared with the recorded ones.\n"
		"\n"
		"options:\n"
		"  --until SEQ               stop right after exit SEQ and print the vCPU state;\n"
		"                            starts from the recording's latest checkpoint\n"
		"                            before SEQ\n"
		"  --from-start              with --until: replay from the initial state\n"
		"  --from-checkpoint SEQ     start from the latest checkpoint at or before SEQ\n"
		"                            and replay to the end (or --until)\n"
		"  --jobs N                  replay the stretches between checkpoints in up to N\n"
		"                            processes at once; each must end in the state the\n"
		"                            next one starts from (no console, no --until)\n"
		"  --checkpoint-interval SEC keep a checkpoint in memory every SEC of replay\n"
		"                            (default: none; with --gdb 0.25)\n"
		"  --checkpoint-mem SIZE     at most SIZE of them, older ones thinned first\n"
		"                            (default 1G)\n"
		"  --gdb [HOST:]PORT         serve gdb's remote protocol (target remote :PORT),\n"
		"                            paused at the initial state; reverse-continue,\n"
		"                            reverse-stepi, `monitor help` (README \"gdb\")\n"
		"  --json                    write the report as JSON on stdout\n"
		"  --continue-on-divergence  go on after a divergence and count them\n"
		"  --timeout SEC             give up (a divergence) after SEC seconds\n"
		"                            (default: 20 x the recorded run time + 30 s)\n"
		"  -q, --quiet-console       do not reproduce the guest's console output\n"
		"  -h, --help                this text\n"
		"\n"
		"exit status: 0 identical, 1 diverged, 2 error (bad file, KVM failure),\n"
		"             3 an incomplete recording whose prefix replayed identical\n");
}

/* 20x the recorded time in the guest and the VMM, plus 30 s. */
static double default_timeout(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	double secs = 0;
	char khz[32];
	struct err err = { 0 };

	if (stream_recording_open(path, &db, &err) < 0)
		return 60;
	/* The last checkpoint's ticks and the exits after it: a sum over all 10^7 rows takes 0.5 s. */
	if (stream_meta_get(db, "tsc_khz", khz, sizeof(khz)) == 0 && atof(khz) > 0 &&
	    sqlite3_prepare_v2(db, "SELECT (SELECT coalesce(max(ticks), 0) FROM checkpoint) + total(vmm_ticks + "
			       "guest_ticks) FROM exit WHERE seq > (SELECT coalesce(max(seq), -1) FROM checkpoint)",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		secs = clock_ticks_to_ns(sqlite3_column_double(st, 0), atof(khz)) / 1e9;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return 20 * secs + 30;
}

static const char *gdb_addr;   /* --gdb */

static int parse(int argc, char **argv, struct replay_options *o)
{
	static const struct option longopts[] = {
		{ "until", required_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' },
		{ "from-start", no_argument, NULL, 'S' },
		{ "from-checkpoint", required_argument, NULL, 'F' },
		{ "jobs", required_argument, NULL, 'J' },
		{ "continue-on-divergence", no_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "quiet-console", no_argument, NULL, 'q' },
		{ "checkpoint-interval", required_argument, NULL, 'I' },
		{ "checkpoint-mem", required_argument, NULL, 'M' },
		{ "gdb", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char *end;
	int c;

	memset(o, 0, sizeof(*o));
	o->ckpt_cap = REPLAY_CKPT_CAP;
	o->until = -1;
	o->from = -1;
	o->probe = -1;
	optind = 1;
	gdb_addr = NULL;
	while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'u':
			o->until = strtoll(optarg, &end, 0);
			if (*end || o->until < 0) {
				fprintf(stderr, "kvmrr replay: --until %s: need a seq (>= 0)\n", optarg);
				return -1;
			}
			break;
		case 'j': o->json = true; break;
		case 'S': o->from_start = true; break;
		case 'J':
			o->jobs = (unsigned int)strtoul(optarg, &end, 0);
			if (*end || o->jobs < 1 || o->jobs > 64) {
				fprintf(stderr, "kvmrr replay: --jobs %s: need 1 to 64 processes\n", optarg);
				return -1;
			}
			break;
		case 'F':
			o->from = strtoll(optarg, &end, 0);
			if (*end || o->from < 0) {
				fprintf(stderr, "kvmrr replay: --from-checkpoint %s: need a seq (>= 0)\n", optarg);
				return -1;
			}
			break;
		case 'c': o->continue_on_divergence = true; break;
		case 't':
			o->timeout_sec = strtod(optarg, &end);
			if (*end || o->timeout_sec <= 0) {
				fprintf(stderr, "kvmrr replay: --timeout %s: need seconds > 0\n", optarg);
				return -1;
			}
			break;
		case 'q': o->quiet_console = true; break;
		case 'I':
			o->ckpt_interval_sec = strtod(optarg, &end);
			if (*end || o->ckpt_interval_sec < 0.001 || o->ckpt_interval_sec > 3600) {
				fprintf(stderr, "kvmrr replay: --checkpoint-interval %s: need 0.001 to 3600 "
					"seconds\n", optarg);
				return -1;
			}
			break;
		case 'M':
			o->ckpt_cap = size_parse(optarg);
			if (o->ckpt_cap < (1ULL << 20)) {
				fprintf(stderr, "kvmrr replay: --checkpoint-mem %s: need a size of at least 1M\n",
					optarg);
				return -1;
			}
			break;
		case 'g': gdb_addr = optarg; break;
		case 'h': usage(stdout); return 1;
		default:
			fprintf(stderr, "kvmrr replay: see 'kvmrr replay --help'\n");
			return -1;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "kvmrr replay: need exactly one recording; see 'kvmrr replay --help'\n");
		return -1;
	}
	o->path = argv[optind];
	return 0;
}

int replay_cmd(int argc, char **argv)
{
	struct replay_options opt;
	static struct replay r;   /* large: history and the next exit's data */
	int rc, status;

	rc = parse(argc, argv, &opt);
	if (rc != 0)
		return rc > 0 ? 0 : REPLAY_ERROR;
	if (opt.json)
		opt.quiet_console = true;
	if (gdb_addr) {
		if (opt.until >= 0 || opt.from >= 0 || opt.json || opt.jobs > 1 || opt.continue_on_divergence) {
			fprintf(stderr, "kvmrr replay: --gdb goes with none of --until, --from-checkpoint, --json, "
				"--jobs, --continue-on-divergence (use monitor seek)\n");
			return REPLAY_ERROR;
		}
		opt.quiet_console = true;   /* going back would print the console again */
		if (!opt.ckpt_interval_sec)
			opt.ckpt_interval_sec = REPLAY_CKPT_INTERVAL_SEC;
		return replay_gdb_serve(&opt, gdb_addr);   /* no timeout: gdb's user decides */
	}
	if (!opt.timeout_sec)
		opt.timeout_sec = default_timeout(opt.path);
	if (opt.jobs > 1) {
		if (opt.until >= 0 || opt.from >= 0 || opt.json || opt.continue_on_divergence) {
			fprintf(stderr, "kvmrr replay: --jobs goes with none of --until, --from-checkpoint, --json, "
				"--continue-on-divergence\n");
			return REPLAY_ERROR;
		}
		return replay_jobs(&opt, opt.jobs);
	}
	rc = replay_open(&r, &opt);
	if (rc == 0)
		rc = replay_run(&r);
	if (rc < 0) {
		if (!r.err.msg[0])
			err_set(&r.err, rc, "%s", r.m.end_detail[0] ? r.m.end_detail : strerror(-rc));
		fprintf(stderr, "kvmrr replay: %s: %s\n", opt.path, r.err.msg);
		replay_close(&r);
		return REPLAY_ERROR;
	}
	fflush(stdout);
	status = replay_report(&r, opt.json ? stdout : stderr);
	replay_close(&r);
	return status;
}
