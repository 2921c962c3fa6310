/* SPDX-License-Identifier: MIT */
/*
 * A real LTTng userspace session for the tracer tests: a userspace
 * lttng-sessiond (or the running one), a blocking channel on kvmrr:* with
 * the vpid context, started in its own LTTNG_HOME; lt_stop flushes it.
 */
#ifndef KVMRR_TESTS_TRACER_LTTNG_SESSION_H
#define KVMRR_TESTS_TRACER_LTTNG_SESSION_H

#include <signal.h>
#include <stdarg.h>

#include "tests/tracer/tracer_e2e.h"

#define RUNDIR_PID "/var/run/lttng/lttng-sessiond.pid"

struct lt {
	char home[64];
	char session[64];
	pid_t sessiond;        /* the daemon this test started, 0 if it reused one */
};

static inline int lt_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int lt_sh(const char *fmt, ...)
{
	char cmd[2048], *out = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	r = test_run_capture(cmd, &out);
	if (r != 0)
		printf("# `%s` -> %d: %s\n", cmd, r, out ? out : "");
	free(out);
	return r;
}

static inline pid_t sessiond_pid(void)
{
	FILE *f = fopen(RUNDIR_PID, "r");
	int pid = 0;

	if (f) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return pid > 0 && kill(pid, 0) == 0 ? pid : 0;
}

static inline void lt_start(struct lt *lt)
{
	pid_t running = sessiond_pid();

	memset(lt, 0, sizeof(*lt));
	tt_tmpdir(lt->home, sizeof(lt->home));
	setenv("LTTNG_HOME", lt->home, 1);
	snprintf(lt->session, sizeof(lt->session), "kvmrr-tracer-test-%d", getpid());
	if (running) {
		/* A root sessiond is global (/var/run/lttng): share it, leave it running. */
		printf("# reusing the running lttng-sessiond (pid %d)\n", running);
	} else {
		TEST_ASSERT(lt_sh("lttng-sessiond --no-kernel --daemonize") == 0, "lttng-sessiond");
		for (int i = 0; i < 50 && !(lt->sessiond = sessiond_pid()); i++)
			usleep(100000);
		TEST_ASSERT(lt->sessiond, "no pid in %s after starting lttng-sessiond", RUNDIR_PID);
	}
	TEST_ASSERT(lt_sh("lttng create %s --output=%s/trace", lt->session, lt->home) == 0, "create");
	/* Blocking: the tracer waits for buffer space instead of discarding (with LTTNG_UST_ALLOW_BLOCKING). */
	TEST_ASSERT(lt_sh("lttng enable-channel -u -s %s --blocking-timeout=inf --subbuf-size=1M "
		       "--num-subbuf=4 kvmrrch", lt->session) == 0, "enable-channel");
	TEST_ASSERT(lt_sh("lttng enable-event -u -s %s -c kvmrrch 'kvmrr:*'", lt->session) == 0, "enable-event");
	/* Other kvmrr processes may run meanwhile (parallel tests): tell ours by its pid. */
	TEST_ASSERT(lt_sh("lttng add-context -u -s %s -c kvmrrch -t vpid", lt->session) == 0, "add-context");
	TEST_ASSERT(lt_sh("lttng start %s", lt->session) == 0, "start");
}

static inline void lt_stop(struct lt *lt)
{
	lt_sh("lttng stop %s", lt->session);
	lt_sh("lttng destroy %s", lt->session);
	if (lt->sessiond) {
		kill(lt->sessiond, SIGTERM);
		for (int i = 0; i < 50 && kill(lt->sessiond, 0) == 0; i++)
			usleep(100000);
	}
}

#endif
