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
static inline void tq_start(struct e2e_run *r, const char *const *topts, const char *machine,
			    const char *smp, const char *guest, const char *args, const char *in_path)
{
	char bin[512], gpath[512];
	const char *argv[64];
	int n = 0;

	e2e_prepare(r, guest, bin, gpath);
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
	r->pid = e2e_spawn(argv, in_path, r->out, r->err);
}

/* Wait for kvmrr trace; its stderr goes to the TAP log. */
static inline void tq_wait(struct e2e_run *r)
{
	e2e_wait(r);
	printf("# kvmrr trace: status %d, stderr: %s\n", r->status, r->stderr_text);
}

static inline void tq_free(struct e2e_run *r)
{
	e2e_free(r);
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
