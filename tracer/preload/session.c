/* SPDX-License-Identifier: MIT */
/*
 * The recording inside the traced VMM: opened at its first KVM_CREATE_VCPU
 * (a process that never creates a vCPU leaves no file), drained and closed
 * when it exits. A VMM killed before that leaves what the writer committed
 * (tracer/log.h: the file follows about a second behind, the -wal has the
 * rest); `kvmrr trace` writes the end either way.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "stream/format.h"
#include "tracer/log.h"
#include "tracer/tracer.h"
#include "tracer/preload/trace_int.h"

struct trace_session trace_s;

void trace_session_fail(int r, const char *what)
{
	static _Atomic int reported;

	atomic_store(&trace_s.stopping, 1);
	if (atomic_exchange(&reported, 1))
		return;
	fprintf(stderr, "kvmrr trace: %s: %s: %s; the recording stops here\n", trace_s.path, what,
		strerror(-r));
}

/* The VMM's own command line, NUL-separated in /proc/self/cmdline. */
static int vmm_argv(char *buf, size_t len, char **argv, int max)
{
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC), argc = 0;
	ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	for (char *p = buf; p < buf + n && argc < max; p += strlen(p) + 1)
		argv[argc++] = p;
	return argc;
}

/* meta: the host rows (tracer_meta_host) and what says this is a trace of another VMM. */
static int session_meta(sqlite3 *db, int khz, uint64_t tsc_base, struct err *err)
{
	static char cmdline[65536];
	char *argv[1024], exe[PATH_MAX];
	int argc = vmm_argv(cmdline, sizeof(cmdline), argv, 1024);
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int r;

	exe[n > 0 ? n : 0] = 0;
	r = tracer_meta_host(db, argc, argv, khz, err);
	if (!r) r = stream_meta_set_text(db, "traced_vmm", exe, err);
	if (!r) r = stream_meta_set_int(db, "traced_pid", getpid(), err);
	if (!r) r = stream_meta_set_text(db, "irq_delivery", "vmm", err);
	if (!r) r = stream_meta_set_text(db, "rip", trace_s.regs ? "get_regs" : "sync_regs", err);
	if (!r) r = stream_meta_set_int(db, "tsc_base", (long long)tsc_base, err);
	return r;
}

static void session_close(void);

/*
 * The VMM is exiting: close the session while the tracepoint provider is
 * still registered. The writer fires the last records' LTTng events during
 * the drain (tracer/log.c), and the provider's own destructors (tracer/tp.c,
 * in this library) unregister it before this library's destructor would run.
 * Registered with atexit() once the VMM runs (its first vCPU), so exit()
 * calls it before the dynamic loader runs any library's destructors.
 */
static void session_at_exit(void)
{
	if (trace_s.log)
		session_close();
}

int trace_session_open(int vcpu_fd)
{
	struct tracer_log_options o = { .force = trace_s.force };
	struct err err = { 0 };
	int khz = (int)syscall(SYS_ioctl, vcpu_fd, KVM_GET_TSC_KHZ, 0);
	uint64_t tsc_base = clock_rdtsc();
	sqlite3 *db;
	int r;

	if (khz <= 0) {
		r = khz < 0 ? -errno : -EINVAL;
		trace_session_fail(r, "KVM_GET_TSC_KHZ on the first vCPU");
		return r;
	}
	r = tracer_log_open(&trace_s.log, trace_s.path, &o, &err);
	if (r < 0) {
		fprintf(stderr, "kvmrr trace: %s\n", err.msg);
		atomic_store(&trace_s.stopping, 1);
		trace_s.log = NULL;
		return r;
	}
	tracer_log_set_tsc_base(trace_s.log, tsc_base);
	/* If that fails, the destructor closes the session, and the trace may lack the last events. */
	atexit(session_at_exit);
	db = tracer_log_lock(trace_s.log);
	r = stream_sql_exec(db, "BEGIN", "meta: BEGIN", &err);
	if (!r)
		r = session_meta(db, khz, tsc_base, &err);
	r = r ? r : stream_sql_exec(db, "COMMIT", "meta: COMMIT", &err);
	if (!r)
		r = tracer_log_wal_checkpoint(db, trace_s.path, "after the meta", &err);
	tracer_log_unlock(trace_s.log);
	if (r < 0) {
		fprintf(stderr, "kvmrr trace: %s: %s\n", trace_s.path, err.msg);
		atomic_store(&trace_s.stopping, 1);
	}
	return r;
}

/* Wait (bounded) until the vCPU thread is out of its capture; it captures nothing after. */
static bool vcpu_quiet(struct trace_vcpu *v)
{
	struct timespec ts = { 0, 100000 };

	for (int i = 0; i < 10000 && atomic_load(&v->busy); i++)
		nanosleep(&ts, NULL);
	return !atomic_load(&v->busy);
}

/* The VMM is exiting (exit() on any thread): every vCPU's last exit, drain, mark it drained. */
static void session_close(void)
{
	uint32_t n = atomic_load(&trace_s.nvcpus);
	struct err err = { 0 };
	bool quiet = true;
	sqlite3 *db;
	int r;

	atomic_store(&trace_s.stopping, 1);
	for (uint32_t i = 0; i < n; i++) {
		if (!vcpu_quiet(trace_s.vcpus[i])) {
			quiet = false;   /* still inside a push: its ring cannot be touched or freed */
			continue;
		}
		trace_flush_pending(trace_s.vcpus[i]);
	}
	r = tracer_log_drain(trace_s.log, &err);
	db = tracer_log_lock(trace_s.log);
	if (!r)
		r = stream_meta_set_int(db, "traced_exits", (long long)atomic_load(&trace_s.seq), &err);
	if (!r)
		r = stream_meta_set_int(db, "traced_events_elsewhere",
					(long long)atomic_load(&trace_s.events_elsewhere), &err);
	if (!r)   /* `kvmrr trace` reads it: every exit the VMM saw is in the file */
		r = stream_meta_set_int(db, "traced_drained", 1, &err);
	if (!r)
		r = tracer_log_wal_checkpoint(db, trace_s.path, "at the VMM's exit", &err);
	tracer_log_unlock(trace_s.log);
	if (r < 0)
		fprintf(stderr, "kvmrr trace: %s\n", err.msg);
	if (quiet)
		tracer_log_close(trace_s.log);
	trace_s.log = NULL;
}

/* A fork of the VMM has no writer thread: it records nothing and leaves the file alone. */
static void session_forked(void)
{
	trace_s.log = NULL;
	trace_s.path[0] = 0;
}

__attribute__((constructor)) static void trace_init(void)
{
	const char *out = getenv(TRACE_ENV_OUT), *force = getenv(TRACE_ENV_FORCE),
		   *regs = getenv(TRACE_ENV_REGS);

	if (out && *out && strlen(out) < sizeof(trace_s.path)) {
		snprintf(trace_s.path, sizeof(trace_s.path), "%s", out);
		trace_s.force = force && strcmp(force, "1") == 0;
		trace_s.regs = regs && strcmp(regs, "1") == 0;
		pthread_atfork(NULL, NULL, session_forked);
	}
	/* Programs the VMM starts inherit LD_PRELOAD, not the recording. */
	unsetenv(TRACE_ENV_OUT);
	unsetenv(TRACE_ENV_FORCE);
	unsetenv(TRACE_ENV_REGS);
}

__attribute__((destructor)) static void trace_fini(void)
{
	session_at_exit();
}
