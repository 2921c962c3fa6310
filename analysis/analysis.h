/* SPDX-License-Identifier: MIT */
/*
 * analysis/: everything that reads a recording (docs/log-format.md).
 *
 * One entry point per `kvmrr` subcommand. Each takes the arguments after the
 * command name the way main() gets them (argv[0] is the command name, e.g.
 * "stats"), parses its own options with getopt_long, prints its result on
 * stdout (or to -o FILE) and its messages on stderr, and returns the process
 * exit status:
 *   0  success
 *   1  bad usage or bad input (not a recording, corrupt, wrong version, ...),
 *      with a message on stderr saying what, where and why
 *   2  internal error (out of memory, SQLite failing on a valid file, I/O)
 * `kvmrr diff --exit-code` also returns 3 when the recordings differ.
 *
 * Every command opens the recording read-only (SQLITE_OPEN_READONLY) and
 * never changes it. They are not thread-safe with respect to each other
 * (getopt state is global); call them from the main thread of a process.
 */
#ifndef KVMRR_ANALYSIS_ANALYSIS_H
#define KVMRR_ANALYSIS_ANALYSIS_H

/* Status codes of the commands, see above. */
enum analysis_status {
	ANALYSIS_OK = 0,
	ANALYSIS_BAD_INPUT = 1,
	ANALYSIS_INTERNAL = 2,
	ANALYSIS_DIFFERENT = 3,
};

/* kvmrr stats REC.db [--by reason|port|gpa|rip] [--sort count|time|avg|max] [--limit N] [--format table|csv|json] */
int analysis_cmd_stats(int argc, char **argv);
/* kvmrr query REC.db "SQL" [--format table|csv|json] */
int analysis_cmd_query(int argc, char **argv);
/* kvmrr export REC.db [--format perfetto|csv] [-o FILE] */
int analysis_cmd_export(int argc, char **argv);
/* kvmrr report REC.db [-o report.html] */
int analysis_cmd_report(int argc, char **argv);
/* kvmrr diff A.db B.db [--context N] [--exit-code] */
int analysis_cmd_diff(int argc, char **argv);

#endif
