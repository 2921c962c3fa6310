/* SPDX-License-Identifier: MIT */
/*
 * The SQLite sink's failure paths with synthetic exits: a full disk (file
 * size limit, tiny tmpfs), refusing to overwrite, refusing unknown format
 * versions, kill -9 in the middle.
 */
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "tests/test.h"
#include "tests/tracer/synth.h"

/* Feed 4 KiB REP exits until the writer fails; the error must reach the producer and tracer_end. */
static void fill_until_error(const char *path)
{
	struct synth s;
	struct err err = { 0 };
	int r = 0, i;

	synth_open(&s, path, NULL);
	for (i = 0; i < 400000 && r == 0; i++) {
		struct vcpu_exit e = synth_io(&s, 0x3f8, 1, 4096, false);

		r = synth_feed(&s, &e, 0x1000, 10, 10);
	}
	TEST_ASSERT(r == -ENOSPC || r == -EIO || r == -EFBIG,
		    "capture after a full disk: wanted -ENOSPC/-EIO, got %d after %d exits", r, i);
	TEST_ASSERT(tracer_error(s.t, &err) == r, "tracer_error agrees");
	printf("# writer error after %d exits: %s\n", i, err.msg);
	TEST_ASSERT(strstr(err.msg, path) && strstr(err.msg, "incomplete"), "message names the file: %s", err.msg);
	/* Further captures keep failing; ending never reports success. */
	TEST_ASSERT(synth_feed(&s, &(struct vcpu_exit){ .reason = KVM_EXIT_HLT }, 0, 1, 1) == r, "sticky");
	err.msg[0] = 0;
	TEST_ASSERT(tracer_end(s.t, &(struct tracer_end){ .end = "halt", .detail = "" }, &err) == r,
		    "tracer_end must fail");
	TEST_ASSERT(err.msg[0], "tracer_end gave a message");
	tracer_close(s.t);
}

static void check_incomplete(const char *path)
{
	sqlite3 *db = tt_open(path);
	char buf[64];

	TEST_ASSERT_STR_EQ(tt_text(db, "PRAGMA integrity_check", buf, sizeof(buf)), "ok");
	TEST_ASSERT_EQ(tt_int(db, "SELECT value FROM meta WHERE key = 'complete'"), 0);
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM exit"),
		       tt_int(db, "SELECT coalesce(max(seq) + 1, 0) FROM exit"));
	sqlite3_close(db);
}

TEST(disk_full_rlimit_fsize)
{
	char dir[64], path[160];
	struct rlimit rl = { 512 * 1024, RLIM_INFINITY };

	tt_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/rec.db", dir);
	signal(SIGXFSZ, SIG_IGN);   /* write() then fails with EFBIG instead of killing us */
	TEST_ASSERT(setrlimit(RLIMIT_FSIZE, &rl) == 0, "setrlimit");
	fill_until_error(path);
	rl.rlim_cur = RLIM_INFINITY;
	TEST_ASSERT(setrlimit(RLIMIT_FSIZE, &rl) == 0, "setrlimit back");
	check_incomplete(path);
	tt_cleanup(dir);
}

TEST(disk_full_tmpfs)
{
	char dir[64], path[160];

	tt_tmpdir(dir, sizeof(dir));
	/* A private mount namespace: the tmpfs vanishes with this test process. */
	if (unshare(CLONE_NEWNS) < 0)
		TEST_SKIP("unshare(CLONE_NEWNS): %s (needs CAP_SYS_ADMIN)", strerror(errno));
	TEST_ASSERT(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0, "make / private");
	TEST_ASSERT(mount("tmpfs", dir, "tmpfs", 0, "size=768k") == 0, "mount tmpfs on %s", dir);
	snprintf(path, sizeof(path), "%s/rec.db", dir);
	fill_until_error(path);
	check_incomplete(path);
	TEST_ASSERT(umount2(dir, MNT_DETACH) == 0, "umount %s", dir);
	tt_cleanup(dir);
}

TEST(refuses_to_overwrite)
{
	char dir[64], path[160];
	struct err err = { 0 };
	struct synth s;
	struct tracer *t = NULL;
	struct tracer_options force = { .force = true };

	tt_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/rec.db", dir);
	synth_open(&s, path, NULL);
	synth_finish(&s, "halt");
	TEST_ASSERT_EQ(tracer_open(&t, path, NULL, &err), -EEXIST);
	TEST_ASSERT(strstr(err.msg, "already exists") && strstr(err.msg, path), "message: %s", err.msg);
	TEST_ASSERT_EQ(tt_int(tt_open(path), "SELECT value FROM meta WHERE key = 'complete'"), 1);
	TEST_ASSERT_OK(tracer_open(&t, path, &force, &err));
	tracer_close(t);
	TEST_ASSERT_EQ(tt_int(tt_open(path), "SELECT value FROM meta WHERE key = 'complete'"), 0);
	tt_cleanup(dir);
}

TEST(schema_version_refusal)
{
	char dir[64], path[160], other[160];
	struct err err = { 0 };
	struct synth s;
	sqlite3 *db = NULL;

	tt_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/rec.db", dir);
	synth_open(&s, path, NULL);
	synth_finish(&s, "halt");
	TEST_ASSERT_OK(stream_recording_open(path, &db, &err));
	sqlite3_close(db);
	db = tt_open(path);
	sqlite3_exec(db, "UPDATE meta SET value = 7 WHERE key = 'format_version'", NULL, NULL, NULL);
	sqlite3_close(db);
	db = NULL;
	TEST_ASSERT_EQ(stream_recording_open(path, &db, &err), -EPROTONOSUPPORT);
	TEST_ASSERT(db == NULL, "no handle on failure");
	snprintf(other, sizeof(other), "versions %d to %d", STREAM_FORMAT_VERSION_MIN, STREAM_FORMAT_VERSION);
	TEST_ASSERT(strstr(err.msg, "version 7") && strstr(err.msg, other),
		    "the message names the versions (the caller names the file): %s", err.msg);
	snprintf(other, sizeof(other), "%s/other.db", dir);
	TEST_ASSERT(sqlite3_open(other, &db) == SQLITE_OK, "create %s", other);
	sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL);
	sqlite3_close(db);
	db = NULL;
	TEST_ASSERT_EQ(stream_recording_open(other, &db, &err), -EINVAL);
	TEST_ASSERT(strstr(err.msg, "not a kvmrr recording"), "message: %s", err.msg);
	tt_cleanup(dir);
}

/* kill -9 while recording: the file opens, holds a gap-free prefix, and says incomplete. */
TEST(kill9_leaves_consistent_prefix)
{
	char dir[64], path[160];
	pid_t pid;
	int status;
	sqlite3 *db;
	long long rows;

	tt_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/rec.db", dir);
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	if (pid == 0) {
		struct synth s;

		synth_open(&s, path, NULL);
		for (uint64_t i = 0;; i++) {
			struct vcpu_exit e = synth_io(&s, 0x3f8, 1, 1 + (i % 50 == 0) * 511, false);

			synth_feed(&s, &e, 0x1000, 10, 10);
			if (i % 1000 == 0) {
				tracer_capture_event(s.t, 0, STREAM_IRQ, 0x20, NULL);
				usleep(100);
			}
		}
	}
	usleep(700000);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	TEST_ASSERT(WIFSIGNALED(status), "child killed");
	check_incomplete(path);
	db = tt_open(path);
	rows = tt_int(db, "SELECT count(*) FROM exit");
	printf("# %lld exits committed before kill -9\n", rows);
	TEST_ASSERT(rows > 0, "some batches were committed in 700 ms");
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM exit WHERE seq % 50 = 0 AND length(data) != 512"), 0);
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM event WHERE seq > (SELECT max(seq) FROM exit)"), 0);
	sqlite3_close(db);
	tt_cleanup(dir);
}

TEST_MAIN()
