/* SPDX-License-Identifier: MIT */
/* kvmrr: the command. Each subcommand parses its own options. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "analysis/analysis.h"
#include "replay/replay.h"

struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{ "run", cli_cmd_run, "run a guest on KVM" },
	{ "record", cli_cmd_record, "run a guest and record every exit to a SQLite log" },
	{ "trace", cli_cmd_trace, "record every exit of another VMM (QEMU) to a SQLite log" },
	{ "replay", cli_cmd_replay, "re-run a recording and verify it exit by exit" },
	{ "check", cli_cmd_check, "check a recording against its seals, without replaying it" },
	{ "inspect", replay_inspect_cmd, "the machine's state right after an exit of a recording" },
	{ "stats", analysis_cmd_stats, "exit statistics of a recording" },
	{ "query", analysis_cmd_query, "run SQL on a recording" },
	{ "export", analysis_cmd_export, "export a recording (perfetto, csv)" },
	{ "report", analysis_cmd_report, "write a self-contained HTML report" },
	{ "diff", analysis_cmd_diff, "the first difference between two recordings" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: kvmrr COMMAND [options] ...\n\n"
		"kvmrr %s: deterministic record-replay tracer for KVM guests.\n\ncommands:\n",
		KVMRR_VERSION);
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(out, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(out, "\n'kvmrr COMMAND --help' documents each command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("kvmrr %s\n", KVMRR_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "kvmrr: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
