/* SPDX-License-Identifier: MIT */
/*
 * kvmrr check REC.db: is this file what its recorder wrote? Without KVM and
 * without replaying: the format, SQLite's full quick_check, every row
 * against its seal (stream/seal.h) and every checkpoint against its digest. Status 0 sound and complete, 3 sound
 * but incomplete (interrupted), 2 corrupt or unreadable; a file of format
 * 3 or earlier has no seals: its structure is checked and it says so.
 */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "stream/checkpoint.h"
#include "stream/format.h"
#include "stream/seal.h"

#define CHECK_SOUND 0
#define CHECK_CORRUPT 2
#define CHECK_INCOMPLETE 3

static void usage(FILE *out)
{
	fprintf(out, "usage: kvmrr check REC.db\n\n"
		"Check that a recording is what its recorder wrote, without KVM: its format,\n"
		"SQLite's quick_check of the whole file, and every row against the seals the\n"
		"recorder wrote beside it (format 4; docs/log-format.md, \"seal\").\n"
		"Every checkpoint is checked against its own digest too.\n"
		"Exit status: 0 sound, 3 sound but incomplete (interrupted), 2 corrupt or\n"
		"unreadable.\n");
}

int cli_cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = { { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	struct err e = { 0 };
	sqlite3 *db = NULL;
	uint64_t batches = 0;
	uint32_t checkpoints = 0;
	char complete[8] = "";
	int c, r, version = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		usage(stderr);
		return CHECK_CORRUPT;
	}
	if (optind != argc - 1) {
		usage(stderr);
		return CHECK_CORRUPT;
	}
	r = stream_recording_open(argv[optind], &db, &e);
	if (r == 0)
		r = stream_quick_check(db, NULL, &e);   /* exit and event too: stream_recording_open leaves them out */
	if (r == 0) {
		version = stream_schema_version(db);
		stream_meta_get(db, "complete", complete, sizeof(complete));
		if (stream_seal_expected(db))
			r = stream_seal_verify_all(db, &batches, &e);
		if (r == 0 && version >= 2)   /* format 1 has no checkpoints */
			r = stream_checkpoint_verify_all(db, &checkpoints, &e);
	}
	sqlite3_close(db);
	if (r < 0) {
		fprintf(stderr, "kvmrr check: %s: %s\n", argv[optind], e.msg);
		return CHECK_CORRUPT;
	}
	if (batches || version >= STREAM_SEAL_VERSION)
		printf("%s: sound: format %d, %" PRIu64 " sealed batches and the state tables match their seals, "
		       "%u checkpoints their digests%s\n", argv[optind], version, batches, checkpoints,
		       strcmp(complete, "1") ? "; incomplete (interrupted)" : "");
	else
		printf("%s: format %d has no seals: SQLite's structure is sound and %u checkpoints match their "
		       "digests, the rows cannot be checked%s\n", argv[optind], version, checkpoints,
		       strcmp(complete, "1") ? "; incomplete (interrupted)" : "");
	return strcmp(complete, "1") ? CHECK_INCOMPLETE : CHECK_SOUND;
}
