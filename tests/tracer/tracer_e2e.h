/* SPDX-License-Identifier: MIT */
/* Helpers for the end-to-end tracer tests: run the real kvmrr binary on the bundled guests. */
#ifndef KVMRR_TESTS_TRACER_E2E_H
#define KVMRR_TESTS_TRACER_E2E_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "tests/tracer/tracer_test_util.h"

struct e2e_run {
	char dir[64];
	char rec[128], out[128], err[128];
	pid_t pid;
	int status;             /* exit status, or 128 + signal */
	char *stdout_text;      /* the console (UART) output */
	size_t stdout_len;
	char *stderr_text;
};

static inline char *e2e_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, got;

	TEST_ASSERT(f, "open %s", path);
	do {
		if (n + 65536 + 1 > cap) {
			cap = cap ? 2 * cap : 65536 * 2;
			buf = realloc(buf, cap);
			TEST_ASSERT(buf, "realloc");
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
	} while (got);
	fclose(f);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

/* Path of build/guests/NAME.elf; fails the test when it was not built. */
static inline const char *e2e_guest(const char *name, char *buf, size_t len)
{
	char rel[128];
	struct stat st;

	snprintf(rel, sizeof(rel), "guests/%s.elf", name);
	test_build_path(rel, buf, len);
	TEST_ASSERT(stat(buf, &st) == 0, "guest %s not built at %s", name, buf);
	return buf;
}

/* Start argv[0] with stdin from in_path (NULL: /dev/null), stdout and stderr to files; its pid. */
static inline pid_t e2e_spawn(const char *const *argv, const char *in_path, const char *out_path,
			      const char *err_path)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	if (pid == 0) {
		int in = open(in_path ? in_path : "/dev/null", O_RDONLY);
		int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(in, 0);
		dup2(out, 1);
		dup2(err, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* A fresh run: its temp dir and file names, the kvmrr binary and the guest's path (512 bytes each). */
static inline void e2e_prepare(struct e2e_run *r, const char *guest, char *bin, char *gpath)
{
	memset(r, 0, sizeof(*r));
	tt_tmpdir(r->dir, sizeof(r->dir));
	snprintf(r->rec, sizeof(r->rec), "%s/rec.db", r->dir);
	snprintf(r->out, sizeof(r->out), "%s/stdout", r->dir);
	snprintf(r->err, sizeof(r->err), "%s/stderr", r->dir);
	test_build_path("cli/kvmrr", bin, 512);
	e2e_guest(guest, gpath, 512);
}

/*
 * Start `kvmrr record -o DIR/rec.db OPTS... GUEST` with stdout and stderr to
 * files and stdin from /dev/null. opts is a NULL-terminated list.
 */
static inline void e2e_start(struct e2e_run *r, const char *guest, const char *const *opts)
{
	char bin[512], gpath[512];
	const char *argv[64];
	int n = 0;

	e2e_prepare(r, guest, bin, gpath);
	argv[n++] = bin;
	argv[n++] = "record";
	argv[n++] = "-o";
	argv[n++] = r->rec;
	for (int i = 0; opts && opts[i] && n < 60; i++)
		argv[n++] = opts[i];
	argv[n++] = gpath;
	argv[n] = NULL;
	r->pid = e2e_spawn(argv, NULL, r->out, r->err);
}

static inline void e2e_wait(struct e2e_run *r)
{
	int st;

	TEST_ASSERT(waitpid(r->pid, &st, 0) == r->pid, "waitpid");
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r->stdout_text = e2e_slurp(r->out, &r->stdout_len);
	r->stderr_text = e2e_slurp(r->err, NULL);
}

static inline void e2e_record(struct e2e_run *r, const char *guest, const char *const *opts)
{
	e2e_start(r, guest, opts);
	e2e_wait(r);
}

static inline void e2e_free(struct e2e_run *r)
{
	free(r->stdout_text);
	free(r->stderr_text);
	r->stdout_text = r->stderr_text = NULL;
}

/* Every async_irq event has its async_point row and vice versa (same seq), also in a cut-short file. */
static inline void check_async_points(sqlite3 *db)
{
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM event WHERE kind = 4 AND seq NOT IN"
			      " (SELECT seq FROM async_point)"), 0);
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM async_point WHERE seq NOT IN"
			      " (SELECT seq FROM event WHERE kind = 4)"), 0);
}

/* The recording is complete and its rows are exact: seq 0..exits-1, meta.exits. */
static inline void check_complete(sqlite3 *db, const char *end)
{
	char buf[64];
	long long rows = tt_int(db, "SELECT count(*) FROM exit");

	TEST_ASSERT_STR_EQ(tt_text(db, "PRAGMA integrity_check", buf, sizeof(buf)), "ok");
	TEST_ASSERT_EQ(tt_int(db, "SELECT value FROM meta WHERE key = 'complete'"), 1);
	if (end)
		TEST_ASSERT_STR_EQ(tt_text(db, "SELECT value FROM meta WHERE key = 'end'", buf, sizeof(buf)), end);
	TEST_ASSERT_EQ(tt_int(db, "SELECT value FROM meta WHERE key = 'exits'"), rows);
	TEST_ASSERT_EQ(tt_int(db, "SELECT coalesce(max(seq) + 1, 0) FROM exit"), rows);
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM vcpu_state WHERE phase = 'final'"),
		       tt_int(db, "SELECT count(*) FROM vcpu_state WHERE phase = 'initial'"));
	TEST_ASSERT_EQ(tt_int(db, "SELECT length(value) FROM meta WHERE key = 'final_mem_digest'"), 64);
	check_async_points(db);
}

/* Entry times strictly increase, guest time is positive, VMM time not negative. */
static inline void check_times(sqlite3 *db)
{
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM exit WHERE guest_ticks <= 0 OR vmm_ticks < 0"), 0);
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM (SELECT ts_ns, lag(ts_ns) OVER (ORDER BY seq)"
			      " AS prev FROM exit_timeline) WHERE ts_ns <= prev"), 0);
}

/* Exit rows of a recording being written (through its WAL), read-only; -1 when unreadable yet. */
static inline long long live_rows(const char *rec)
{
	sqlite3 *db = NULL;
	long long n = -1;

	if (access(rec, F_OK) == 0 && sqlite3_open_v2(rec, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
		sqlite3_stmt *st = NULL;

		sqlite3_busy_timeout(db, 1000);
		if (sqlite3_prepare_v2(db, "SELECT count(*) FROM exit", -1, &st, NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return n;
}

/* Wait until the recording being written holds at least rows exit rows. */
static inline void wait_for_rows(const char *rec, long long rows, int timeout_ms)
{
	for (int t = 0; t < timeout_ms; t += 100) {
		if (live_rows(rec) >= rows)
			return;
		usleep(100000);
	}
	TEST_ASSERT(0, "%s did not reach %lld exit rows in %d ms", rec, rows, timeout_ms);
}

#endif
