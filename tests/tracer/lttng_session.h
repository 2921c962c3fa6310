/* SPDX-License-Identifier: MIT */
/*
 * A real LTTng userspace session for the tracer and trace tests: a userspace
 * lttng-sessiond (or the running one), a blocking channel on kvmrr:* with
 * the vpid context, started in its own LTTNG_HOME; lt_stop flushes it.
 * Then babeltrace2's text of its kvmrr:exit events, checked against the log.
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

#define TP_DATA_MAX 64     /* the mmio guest's accesses are at most 8 bytes, its IO 1-4 */

struct tp_exit {
	unsigned long long seq, tsc_entry, tsc_exit, rip, addr;
	unsigned int vcpu, reason, size, dir, count, len;
	unsigned char data[TP_DATA_MAX];
};

/* The fields of one kvmrr:exit line of babeltrace2's text (f points at "seq = "). */
static inline void parse_exit(const char *f, const char *line, struct tp_exit *e)
{
	const char *d;
	int used = 0;

	TEST_ASSERT(sscanf(f, "seq = %llu, vcpu = %u, reason = %u, tsc_entry = %llu, tsc_exit = %llu, "
			   "rip = 0x%llx, addr = 0x%llx, size = %u, dir = %u, count = %u, "
			   "_data_length = %u, data = [%n", &e->seq, &e->vcpu, &e->reason, &e->tsc_entry,
			   &e->tsc_exit, &e->rip, &e->addr, &e->size, &e->dir, &e->count, &e->len,
			   &used) == 11 && used > 0, "cannot parse: %s", line);
	TEST_ASSERT(e->len <= TP_DATA_MAX, "seq %llu: %u data bytes, more than this test keeps",
		    e->seq, e->len);
	d = f + used;
	for (unsigned int i = 0; i < e->len; i++) {
		unsigned int idx, byte;
		int n = 0;

		TEST_ASSERT(sscanf(d, " [%u] = 0x%x%n", &idx, &byte, &n) == 2 && idx == i && byte < 256,
			    "seq %llu: data element %u: %s", e->seq, i, line);
		e->data[i] = (unsigned char)byte;
		d += n;
		if (*d == ',')
			d++;
	}
}

struct tp_inject {
	long long seq, value;
	unsigned int vcpu, kind;
	int exits_before;      /* kvmrr:exit events of the process ahead of it in the trace */
};

/* The fields of one kvmrr:inject line (f points at "seq = "). */
static inline void parse_inject(const char *f, const char *line, int exits_before, struct tp_inject *e)
{
	TEST_ASSERT(sscanf(f, "seq = %lld, vcpu = %u, kind = %u, value = %lld", &e->seq, &e->vcpu,
			   &e->kind, &e->value) == 4, "cannot parse: %s", line);
	e->exits_before = exits_before;
}

/*
 * Parse babeltrace2's text: kvmrr:exit events into ev (up to max), inject
 * events counted (*inject) and, with inj, kept there (up to max too).
 */
static inline int read_trace(const char *dir, pid_t pid, struct tp_exit *ev, int max, int *other,
		      int *inject, struct tp_inject *inj, char **warnings)
{
	char cmd[512], line[8192];
	FILE *p;
	int n = 0;

	snprintf(cmd, sizeof(cmd), "babeltrace2 %s 2>%s/bt.err", dir, dir);
	p = popen(cmd, "r");
	TEST_ASSERT(p, "%s", cmd);
	*other = *inject = 0;
	while (fgets(line, sizeof(line), p)) {
		const char *f = strstr(line, "seq = "), *v = strstr(line, "vpid = ");

		if (!v || atoi(v + 7) != pid)
			continue;
		if (strstr(line, "kvmrr:inject:") && f) {
			TEST_ASSERT(!inj || *inject < max, "more than %d inject events", max);
			if (inj)
				parse_inject(f, line, n, &inj[*inject]);
			(*inject)++;
			continue;
		}
		if (!strstr(line, "kvmrr:exit:") || !f) {
			(*other)++;     /* no other event kind exists: one event per exit */
			continue;
		}
		TEST_ASSERT(n < max, "more than %d exit events", max);
		parse_exit(f, line, &ev[n++]);
	}
	TEST_ASSERT(pclose(p) == 0, "babeltrace2 failed (see %s/bt.err)", dir);
	snprintf(cmd, sizeof(cmd), "%s/bt.err", dir);
	*warnings = e2e_slurp(cmd, NULL);
	return n;
}

/* Event i against the log's row for the same exit: every column, data byte for byte. */
static inline void lt_check_row(const struct tp_exit *e, sqlite3_stmt *st, uint64_t entry, uint64_t texit)
{
	const void *blob = sqlite3_column_blob(st, 8);
	int blen = sqlite3_column_bytes(st, 8);
	int access = sqlite3_column_type(st, 5) != SQLITE_NULL;

	TEST_ASSERT_EQ(e->seq, sqlite3_column_int64(st, 0));
	TEST_ASSERT_EQ(e->reason, sqlite3_column_int64(st, 1));
	TEST_ASSERT_EQ(e->tsc_entry, entry);
	TEST_ASSERT_EQ(e->tsc_exit, texit);
	TEST_ASSERT_EQ(e->rip, (uint64_t)sqlite3_column_int64(st, 4));
	TEST_ASSERT_EQ(e->addr, (uint64_t)sqlite3_column_int64(st, 5));
	TEST_ASSERT_EQ(e->size, sqlite3_column_int64(st, 6));
	TEST_ASSERT_EQ(e->dir, access ? sqlite3_column_int64(st, 7) : 255);   /* 255: no access */
	TEST_ASSERT_EQ(e->len, (unsigned int)blen);
	TEST_ASSERT(blen == 0 || memcmp(e->data, blob, (size_t)blen) == 0, "seq %llu: data differs",
		    e->seq);
	TEST_ASSERT_EQ(e->count, access && e->size ? e->len / e->size : 0);
}

/*
 * The n events against the log's rows in seq order, one each: absolute TSCs
 * rebuilt from the log's deltas (one vCPU) equal the tracepoint's raw values.
 */
static inline void lt_check_log(sqlite3 *db, const struct tp_exit *ev, int n)
{
	uint64_t tsc = (uint64_t)tt_int(db, "SELECT value FROM meta WHERE key = 'tsc_base'");
	sqlite3_stmt *st;
	int i = 0;

	TEST_ASSERT(sqlite3_prepare_v2(db, "SELECT seq, reason, vmm_ticks, guest_ticks, rip, addr, size,"
				       " dir, data FROM exit ORDER BY seq", -1, &st, NULL) == SQLITE_OK,
		    "prep");
	for (; sqlite3_step(st) == SQLITE_ROW; i++) {
		uint64_t entry = tsc + (uint64_t)sqlite3_column_int64(st, 2);
		uint64_t texit = entry + (uint64_t)sqlite3_column_int64(st, 3);

		TEST_ASSERT(i < n, "more log rows than events");
		lt_check_row(&ev[i], st, entry, texit);
		tsc = texit;
	}
	sqlite3_finalize(st);
	TEST_ASSERT_EQ(i, n);
}

/*
 * The n inject events against table event, in the log's order: each the
 * row's seq, vcpu, kind and value. after_exit (one vCPU, `kvmrr record`):
 * each comes right after its exit's event, exits 0..seq ahead of it.
 */
static inline void lt_check_injects(sqlite3 *db, const struct tp_inject *inj, int n, bool after_exit)
{
	sqlite3_stmt *st;
	int i = 0;

	TEST_ASSERT(sqlite3_prepare_v2(db, "SELECT seq, vcpu, kind, value FROM event ORDER BY rowid", -1, &st,
				       NULL) == SQLITE_OK, "prep");
	for (; sqlite3_step(st) == SQLITE_ROW; i++) {
		TEST_ASSERT(i < n, "more event rows than inject events");
		TEST_ASSERT_EQ(inj[i].seq, sqlite3_column_int64(st, 0));
		TEST_ASSERT_EQ(inj[i].vcpu, sqlite3_column_int64(st, 1));
		TEST_ASSERT_EQ(inj[i].kind, sqlite3_column_int64(st, 2));
		TEST_ASSERT_EQ(inj[i].value, sqlite3_column_int64(st, 3));
		if (after_exit)
			TEST_ASSERT(inj[i].exits_before == inj[i].seq + 1, "inject %d (seq %lld, kind %u) "
				    "follows %d exit events in the trace, wanted %lld", i, inj[i].seq,
				    inj[i].kind, inj[i].exits_before, inj[i].seq + 1);
	}
	sqlite3_finalize(st);
	TEST_ASSERT_EQ(i, n);
}

#endif
