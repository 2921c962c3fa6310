/* SPDX-License-Identifier: MIT */
/*
 * End to end, how a recording ends: SIGINT (also of a guest spinning without
 * exits), kill -9 (also with asynchronous points), a full disk, and a
 * 1,000,000-exit run recorded exactly.
 */
#include <sched.h>
#include <sys/mount.h>

#include "tests/test.h"
#include "tests/tracer/tracer_e2e.h"
#include "stream/format.h"
#include "stream/snapshot.h"

/* SIGINT or SIGTERM mid-run: flushed, final state written, end 'signal', complete = 1. */
static void signal_ends_cleanly(int sig)
{
	struct e2e_run r;
	sqlite3 *db;
	char buf[128];

	e2e_start(&r, "exits", (const char *const[]){ "--cmdline", "n=1000000000", NULL });
	wait_for_rows(r.rec, 10000, 30000);
	kill(r.pid, sig);
	e2e_wait(&r);
	TEST_ASSERT_EQ(r.status, 12);   /* kvmrr's status for "ended by signal" */
	db = tt_open(r.rec);
	check_complete(db, "signal");
	check_times(db);
	TEST_ASSERT_EQ(tt_int(db, "SELECT value FROM meta WHERE key = 'end_code'"), 12);
	tt_text(db, "SELECT value FROM meta WHERE key = 'end_detail'", buf, sizeof(buf));
	printf("# %s after %lld exits: %s\n", strsignal(sig), tt_int(db, "SELECT count(*) FROM exit"), buf);
	TEST_ASSERT(strstr(buf, "signal"), "end_detail: %s", buf);
	sqlite3_close(db);
	e2e_free(&r);
	tt_cleanup(r.dir);
}

TEST(sigint_ends_cleanly) { signal_ends_cleanly(SIGINT); }
TEST(sigterm_ends_cleanly) { signal_ends_cleanly(SIGTERM); }

/* A guest spinning without exits: SIGINT must reach the vCPU thread (not the writer) and kick it. */
TEST(sigint_stops_a_spinning_guest)
{
	struct e2e_run r;
	sqlite3 *db;
	int st = 0;

	e2e_start(&r, "crash", (const char *const[]){ "--cmdline", "mode=spin", NULL });
	wait_for_rows(r.rec, 1, 30000);
	usleep(500000);
	kill(r.pid, SIGINT);
	for (int i = 0; i < 100 && waitpid(r.pid, &st, WNOHANG) == 0; i++)
		usleep(100000);
	if (kill(r.pid, 0) == 0) {
		kill(r.pid, SIGKILL);
		TEST_ASSERT(0, "kvmrr record still running 10 s after SIGINT");
	}
	r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	TEST_ASSERT_EQ(r.status, 12);
	db = tt_open(r.rec);
	check_complete(db, "signal");
	/* The kick made KVM_RUN return: the last exit is that INTR. */
	TEST_ASSERT_EQ(tt_int(db, "SELECT reason FROM exit ORDER BY seq DESC LIMIT 1"), KVM_EXIT_INTR);
	sqlite3_close(db);
	tt_cleanup(r.dir);
}

TEST(kill9_leaves_readable_prefix)
{
	struct e2e_run r;
	sqlite3 *db;
	char buf[64];
	long long rows;

	e2e_start(&r, "exits", (const char *const[]){ "--cmdline", "n=1000000000", NULL });
	wait_for_rows(r.rec, 10000, 30000);
	kill(r.pid, SIGKILL);
	e2e_wait(&r);
	TEST_ASSERT_EQ(r.status, 128 + SIGKILL);
	db = tt_open(r.rec);
	TEST_ASSERT_STR_EQ(tt_text(db, "PRAGMA integrity_check", buf, sizeof(buf)), "ok");
	TEST_ASSERT_EQ(tt_int(db, "SELECT value FROM meta WHERE key = 'complete'"), 0);
	rows = tt_int(db, "SELECT count(*) FROM exit");
	TEST_ASSERT(rows >= 10000, "%lld rows", rows);
	TEST_ASSERT_EQ(tt_int(db, "SELECT max(seq) + 1 FROM exit"), rows);
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM vcpu_state WHERE phase = 'initial'"),
		       STREAM_STATE_COUNT);
	check_times(db);
	printf("# kill -9 left %lld exits, complete=0\n", rows);
	sqlite3_close(db);
	e2e_free(&r);
	tt_cleanup(r.dir);
}

/* A full disk mid-run: kvmrr stops with a clear error, not success, and the file stays incomplete. */
TEST(disk_full_stops_the_run)
{
	char mnt[64], rec[128], cmd[2048], bin[512], guest[512], *out = NULL;
	int status;
	sqlite3 *db;

	tt_tmpdir(mnt, sizeof(mnt));
	if (unshare(CLONE_NEWNS) < 0)
		TEST_SKIP("unshare(CLONE_NEWNS): %s (needs CAP_SYS_ADMIN)", strerror(errno));
	TEST_ASSERT(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0, "make / private");
	/* Room for the initial state (~0.2 MB) but not for 200k exits (~6 MB). */
	TEST_ASSERT(mount("tmpfs", mnt, "tmpfs", 0, "size=2m") == 0, "mount tmpfs on %s", mnt);
	snprintf(rec, sizeof(rec), "%s/rec.db", mnt);
	test_build_path("cli/kvmrr", bin, sizeof(bin));
	snprintf(cmd, sizeof(cmd), "{ %s record -o %s --cmdline n=200000 %s </dev/null >/dev/null; }", bin,
		 rec, e2e_guest("exits", guest, sizeof(guest)));
	status = test_run_capture(cmd, &out);
	printf("# status %d: %.400s\n", status, out);
	TEST_ASSERT(status != 0 && status != 1, "kvmrr record must fail, status %d", status);
	TEST_ASSERT(strstr(out, "incomplete") && (strstr(out, "full") || strstr(out, "space")),
		    "a clear message: %s", out);
	db = tt_open(rec);
	TEST_ASSERT_EQ(tt_int(db, "SELECT value FROM meta WHERE key = 'complete'"), 0);
	sqlite3_close(db);
	free(out);
	TEST_ASSERT(umount2(mnt, MNT_DETACH) == 0, "umount %s", mnt);
	tt_cleanup(mnt);
}

/* kill -9 of a guest taking asynchronous interrupts: events and their points form the same prefix. */
TEST(kill9_with_async_points)
{
	struct e2e_run r;
	sqlite3 *db;
	long long events;

	e2e_start(&r, "preempt", (const char *const[]){ "--cmdline", "ticks=1000000", NULL });
	wait_for_rows(r.rec, 200, 30000);
	usleep(300000);
	kill(r.pid, SIGKILL);
	e2e_wait(&r);
	/* Killed by our SIGKILL, not ended on its own before it (the guest asks for a million ticks). */
	TEST_ASSERT(r.status == 128 + SIGKILL, "kvmrr record: status %d, wanted %d (killed by SIGKILL); "
		    "stderr: %.300s", r.status, 128 + SIGKILL, r.stderr_text);
	db = tt_open(r.rec);
	TEST_ASSERT_EQ(tt_int(db, "SELECT value FROM meta WHERE key = 'complete'"), 0);
	events = tt_int(db, "SELECT count(*) FROM event WHERE kind = 4");
	TEST_ASSERT(events > 0, "no async_irq events committed");
	check_async_points(db);
	printf("# kill -9: %lld exits, %lld async_irq events, each with its point\n",
	       tt_int(db, "SELECT count(*) FROM exit"), events);
	sqlite3_close(db);
	e2e_free(&r);
	tt_cleanup(r.dir);
}

TEST(million_exits_exact)
{
	struct e2e_run r;
	unsigned long long pio = 0, mmio = 0;
	const char *line;
	sqlite3 *db;
	long long rows;

	e2e_record(&r, "exits", (const char *const[]){ "--cmdline", "n=1000000", NULL });
	TEST_ASSERT(strstr(r.stdout_text, "exits: 1000000 port-IO exits at CPL0: ok"),
		    "guest output: %.300s", r.stdout_text);
	line = strstr(r.stdout_text, "kvmrr-guest: pio=");
	TEST_ASSERT(line && sscanf(line, "kvmrr-guest: pio=%llu mmio=%llu", &pio, &mmio) == 2,
		    "count line in: %.300s", r.stdout_text);
	db = tt_open(r.rec);
	check_complete(db, "guest-exit");
	rows = tt_int(db, "SELECT count(*) FROM exit");
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM exit WHERE reason = 2"), pio);
	TEST_ASSERT(pio >= 1000000, "pio %llu", pio);
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM exit WHERE reason = 2 AND addr = 1023"), 1000000);
	printf("# %lld exits recorded (%llu port IO), %.1f bytes of file per exit\n", rows, pio,
	       (double)tt_int(db, "PRAGMA page_count") * tt_int(db, "PRAGMA page_size") / rows);
	check_times(db);
	sqlite3_close(db);
	e2e_free(&r);
	tt_cleanup(r.dir);
}

TEST_MAIN()
