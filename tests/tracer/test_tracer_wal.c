/* SPDX-License-Identifier: MIT */
/*
 * The file the user named is the recording (issue 18): killed with kill -9,
 * a copy of rec.db alone (no -wal, no -shm) holds the schema, the metadata,
 * the initial state, and the exits committed up to about a second before
 * the kill; `kvmrr stats` reads it and `kvmrr replay` replays the prefix and
 * says it is incomplete.
 */
#include <time.h>

#include "tests/test.h"
#include "tests/tracer/tracer_e2e.h"
#include "stream/snapshot.h"

/* kill -9, then copy rec.db only into DIR/copy/rec.db. */
static void kill_and_copy_main_file(struct e2e_run *r, char *copy, size_t len)
{
	char cmd[512], *out = NULL;
	int st;

	kill(r->pid, SIGKILL);
	e2e_wait(r);
	TEST_ASSERT_EQ(r->status, 128 + SIGKILL);
	snprintf(copy, len, "%s/copy/rec.db", r->dir);
	snprintf(cmd, sizeof(cmd), "mkdir %s/copy && cp %s %s && test -s %s-wal", r->dir, r->rec, copy,
		 r->rec);
	st = test_run_capture(cmd, &out);
	TEST_ASSERT(st == 0, "%s: status %d: %s", cmd, st, out);
	free(out);
}

/* The copy alone is a sound, incomplete recording with the initial state. */
static long long check_copy(const char *copy)
{
	sqlite3 *db = tt_open(copy);
	char buf[64];
	long long rows;

	TEST_ASSERT_STR_EQ(tt_text(db, "PRAGMA integrity_check", buf, sizeof(buf)), "ok");
	TEST_ASSERT_STR_EQ(tt_text(db, "SELECT value FROM meta WHERE key = 'format'", buf, sizeof(buf)),
			   "kvmrr-recording");
	TEST_ASSERT_EQ(tt_int(db, "SELECT value FROM meta WHERE key = 'complete'"), 0);
	TEST_ASSERT(tt_int(db, "SELECT count(*) FROM meta WHERE key = 'tsc_base'") == 1,
		    "meta.tsc_base (written last in the initial state) is in the copy");
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM vcpu_state WHERE phase = 'initial'"),
		       STREAM_STATE_COUNT);
	TEST_ASSERT(tt_int(db, "SELECT count(*) FROM mem_page") > 0, "initial pages in the copy");
	rows = tt_int(db, "SELECT count(*) FROM exit");
	TEST_ASSERT_EQ(tt_int(db, "SELECT coalesce(max(seq) + 1, 0) FROM exit"), rows);
	sqlite3_close(db);
	return rows;
}

/* The status `kvmrr replay` gives an identical replay of an incomplete recording. */
#define STATUS_REPLAY_INCOMPLETE 3

/* `kvmrr stats` and `kvmrr replay` of the copy: they work and say incomplete. */
static void stats_and_replay(const char *copy)
{
	char bin[512], cmd[1200], *out = NULL;
	int st;

	test_build_path("cli/kvmrr", bin, sizeof(bin));
	snprintf(cmd, sizeof(cmd), "%s stats %s", bin, copy);
	st = test_run_capture(cmd, &out);
	TEST_ASSERT(st == 0 && strstr(out, "incomplete"), "%s: status %d:\n%s", cmd, st, out);
	free(out);
	snprintf(cmd, sizeof(cmd), "%s replay %s", bin, copy);
	st = test_run_capture(cmd, &out);
	TEST_ASSERT(st == STATUS_REPLAY_INCOMPLETE && strstr(out, "identical") && strstr(out, "incomplete"),
		    "%s: status %d (wanted %d):\n%s", cmd, st, STATUS_REPLAY_INCOMPLETE, out);
	printf("# %.*s\n", (int)strcspn(out, "\n"), out);
	free(out);
}

TEST(copy_of_named_file_is_a_recording_from_the_first_exit)
{
	struct e2e_run r;
	char copy[256];
	long long rows;

	/*
	 * Killed as soon as the guest has run: SQLite alone would have left
	 * everything (schema, metadata, ~0.3 MB of initial state) in the -wal.
	 */
	e2e_start(&r, "exits", (const char *const[]){ "--cmdline", "n=1000000000", NULL });
	wait_for_rows(r.rec, 1, 30000);
	kill_and_copy_main_file(&r, copy, sizeof(copy));
	rows = check_copy(copy);
	printf("# killed at the first exits: the copy of rec.db alone has the initial state and %lld exits\n",
	       rows);
	stats_and_replay(copy);
	e2e_free(&r);
	tt_cleanup(r.dir);
}

TEST(copy_of_named_file_follows_a_slow_guest_within_a_second)
{
	struct e2e_run r;
	char copy[256];
	long long early, rows;

	/*
	 * A 100 Hz timer: a few hundred exits a second, far below the ~4 MB of
	 * WAL after which SQLite checkpoints on its own; only the checkpoint by
	 * time brings them into the main file.
	 */
	e2e_start(&r, "timer", (const char *const[]){ "--cmdline", "n=100000000 hz=100", NULL });
	wait_for_rows(r.rec, 1, 30000);
	usleep(1500000);
	early = live_rows(r.rec);
	TEST_ASSERT(early > 0, "the live recording %s holds no exit after 1.5 s", r.rec);
	usleep(1500000);
	kill_and_copy_main_file(&r, copy, sizeof(copy));
	rows = check_copy(copy);
	printf("# copy of rec.db alone: %lld exits; the live file had %lld 1.5 s before the kill\n",
	       rows, early);
	TEST_ASSERT(rows >= early && early > 0, "the copy has %lld exits, %lld were committed 1.5 s "
		    "before the kill", rows, early);
	stats_and_replay(copy);
	e2e_free(&r);
	tt_cleanup(r.dir);
}

TEST_MAIN()
