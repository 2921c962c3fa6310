/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the kvmrr trace tests: the real kvmrr binary running Debian's
 * qemu-system-x86_64 -enable-kvm on the bundled guests. QEMU missing fails
 * the test (scripts/install-deps installs it), it never skips.
 */
#ifndef KVMRR_TESTS_TRACE_QEMU_H
#define KVMRR_TESTS_TRACE_QEMU_H

#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <time.h>

#include "tests/tracer/tracer_e2e.h"

#define TQ_QEMU "qemu-system-x86_64"

struct tq_run {
	char dir[64], rec[128], out[128], err[128];
	pid_t pid;
	int status;          /* kvmrr trace's exit status, or 128 + signal */
	char *out_text, *err_text;
};

/* Fails the test when QEMU is not installed. */
static inline void tq_require_qemu(void)
{
	TEST_ASSERT(system("command -v " TQ_QEMU " >/dev/null 2>&1") == 0,
		    TQ_QEMU " is not on PATH: install Debian's qemu-system-x86 (scripts/install-deps)");
	test_require_kvm();
}

/*
 * Start `kvmrr trace [topts...] -o DIR/rec.db -- qemu -enable-kvm -M machine ... -kernel GUEST
 * -append args`, stdin from in_path (or /dev/null), stdout/stderr to files.
 */
static inline void tq_start(struct tq_run *r, const char *const *topts, const char *machine,
			    const char *smp, const char *guest, const char *args, const char *in_path)
{
	char bin[512], gpath[512];
	const char *argv[64];
	int n = 0;

	memset(r, 0, sizeof(*r));
	tt_tmpdir(r->dir, sizeof(r->dir));
	snprintf(r->rec, sizeof(r->rec), "%s/rec.db", r->dir);
	snprintf(r->out, sizeof(r->out), "%s/stdout", r->dir);
	snprintf(r->err, sizeof(r->err), "%s/stderr", r->dir);
	test_build_path("cli/kvmrr", bin, sizeof(bin));
	e2e_guest(guest, gpath, sizeof(gpath));
	argv[n++] = bin;
	argv[n++] = "trace";
	for (int i = 0; topts && topts[i]; i++)
		argv[n++] = topts[i];
	const char *const q[] = { "-o", r->rec, "--", TQ_QEMU, "-enable-kvm", "-M", machine, "-smp", smp,
				  "-m", "64", "-nographic", "-no-reboot", "-net", "none", "-device",
				  "isa-debug-exit,iobase=0xf4,iosize=0x04", "-serial", "stdio",
				  "-monitor", "none", "-display", "none", "-kernel", gpath, "-append",
				  args, NULL };
	for (int i = 0; q[i]; i++)
		argv[n++] = q[i];
	argv[n] = NULL;
	fflush(stdout);
	r->pid = fork();
	TEST_ASSERT(r->pid >= 0, "fork");
	if (r->pid == 0) {
		int in = open(in_path ? in_path : "/dev/null", O_RDONLY);
		int out = open(r->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int err = open(r->err, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(in, 0);
		dup2(out, 1);
		dup2(err, 2);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
}

static inline void tq_wait(struct tq_run *r)
{
	int st;

	TEST_ASSERT(waitpid(r->pid, &st, 0) == r->pid, "waitpid");
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r->out_text = e2e_slurp(r->out, NULL);
	r->err_text = e2e_slurp(r->err, NULL);
	printf("# kvmrr trace: status %d, stderr: %s\n", r->status, r->err_text);
}

static inline void tq_free(struct tq_run *r)
{
	free(r->out_text);
	free(r->err_text);
	tt_cleanup(r->dir);
}

/* Run `kvmrr ARGS` (a shell command tail), its status; output into *out (caller frees). */
static inline int tq_kvmrr(const char *args, char **out)
{
	char bin[512], cmd[2048];

	test_build_path("cli/kvmrr", bin, sizeof(bin));
	snprintf(cmd, sizeof(cmd), "%s %s 2>&1", bin, args);
	return test_run_capture(cmd, out);
}

/* Wait until a SQL query on the live recording returns at least min (up to secs seconds). */
static inline long long tq_poll(const char *path, const char *sql, long long min, int secs)
{
	struct timespec ts = { 0, 50000000 };
	long long v = -1;

	for (int i = 0; i < secs * 20 && v < min; i++) {
		sqlite3 *db = NULL;
		sqlite3_stmt *st = NULL;

		nanosleep(&ts, NULL);
		if (access(path, F_OK) != 0 ||
		    sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
			sqlite3_close(db);
			continue;
		}
		sqlite3_busy_timeout(db, 1000);
		if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		sqlite3_close(db);
	}
	return v;
}

#endif
