/* SPDX-License-Identifier: MIT */
/*
 * The LTTng-UST sink against a real session: a userspace lttng-sessiond,
 * a blocking channel on kvmrr:*, `kvmrr record` of the mmio guest, the
 * trace read back with babeltrace2. One kvmrr:exit event per exit, and each
 * must match its log row (seq, reason, absolute TSCs, RIP, port/gpa, size,
 * direction, count and the data bytes); each kvmrr:inject matches its event
 * row, in the log's order, right after its exit's event.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>

#include "tests/test.h"
#include "tests/tracer/tracer_e2e.h"
#include "tests/tracer/lttng_session.h"

/*
 * Record guest under a session; every kvmrr:exit event against its log row
 * and every kvmrr:inject against its event row, in order, each right after
 * its exit. Returns the number of inject events; the recording stays open
 * in *dbp, its run in *r (done_with frees both).
 */
static int record_and_check(const char *guest, const char *const *opts, struct e2e_run *rp, sqlite3 **dbp)
{
	static struct tp_exit ev[20000];
	static struct tp_inject inj[20000];
	struct e2e_run r;
	struct lt lt;
	char tracedir[128], *warn = NULL;
	int n, other, inject;
	sqlite3 *db;

	if (access("/usr/bin/lttng-sessiond", X_OK) || access("/usr/bin/babeltrace2", X_OK))
		TEST_ASSERT(0, "lttng-sessiond or babeltrace2 is not installed: scripts/install-deps installs them");
	lt_start(&lt);
	setenv("LTTNG_UST_ALLOW_BLOCKING", "1", 1);
	e2e_record(&r, guest, opts);
	lt_stop(&lt);
	/* The guests exit with 0 through the debug-exit port: kvmrr's status 1. */
	TEST_ASSERT(r.status == 1, "kvmrr record %s with an LTTng session: status %d, wanted 1; stderr: %.300s",
		    guest, r.status, r.stderr_text);
	snprintf(tracedir, sizeof(tracedir), "%s/trace", lt.home);
	n = read_trace(tracedir, r.pid, ev, 20000, &other, &inject, inj, &warn);
	printf("# %s: %d kvmrr:exit, %d kvmrr:inject, %d other events; babeltrace2 said: %s\n", guest, n,
	       inject, other, warn[0] ? warn : "(nothing: no discarded events)");
	TEST_ASSERT(!strstr(warn, "discarded"), "events were discarded: %s", warn);
	TEST_ASSERT_EQ(other, 0);
	db = tt_open(r.rec);
	TEST_ASSERT_EQ(tt_int(db, "SELECT value FROM meta WHERE key = 'complete'"), 1);
	TEST_ASSERT_EQ(n, tt_int(db, "SELECT count(*) FROM exit"));
	/* Absolute TSCs from the log's deltas must equal the tracepoint's raw values. */
	lt_check_log(db, ev, n);
	lt_check_injects(db, inj, inject, true);
	free(warn);
	tt_cleanup(lt.home);
	*rp = r;
	*dbp = db;
	return inject;
}

static void done_with(struct e2e_run *r, sqlite3 *db)
{
	sqlite3_close(db);
	e2e_free(r);
	tt_cleanup(r->dir);
}

TEST(lttng_exit_events_match_the_log)
{
	struct e2e_run r;
	sqlite3 *db;

	/* The mmio guest makes both port-IO and MMIO exits (reads and writes). */
	record_and_check("mmio", (const char *const[]){ "--timeout", "60", NULL }, &r, &db);
	TEST_ASSERT(tt_int(db, "SELECT count(*) FROM exit WHERE reason = 2") > 0, "no IO exit");
	TEST_ASSERT(tt_int(db, "SELECT count(*) FROM exit WHERE reason = 6 AND dir = 0") > 0, "no MMIO read");
	TEST_ASSERT(tt_int(db, "SELECT count(*) FROM exit WHERE reason = 6 AND dir = 1") > 0, "no MMIO write");
	done_with(&r, db);
}

/* The timer guest's interrupts: injected at exits and at kicks (async_irq), window requests. */
TEST(lttng_inject_events_follow_their_exits)
{
	struct e2e_run r;
	sqlite3 *db;
	int inject = record_and_check("timer", (const char *const[]){ "--timeout", "60", NULL }, &r, &db);

	TEST_ASSERT(inject > 0, "the timer guest injected nothing");
	printf("# timer: %lld irq, %lld async_irq, %lld irq_window\n",
	       tt_int(db, "SELECT count(*) FROM event WHERE kind = 1"),
	       tt_int(db, "SELECT count(*) FROM event WHERE kind = 4"),
	       tt_int(db, "SELECT count(*) FROM event WHERE kind = 3"));
	done_with(&r, db);
}

int main(int argc, char **argv)
{
#if !KVMRR_TEST_HAVE_LTTNG
	/* Registered in every build, so a build without LTTng fails here instead of losing the test. */
	printf("TAP version 13\n1..1\nnot ok 1 - lttng_exit_events_match_the_log (this build has no LTTng: "
	       "lttng-ust was not found when meson configured it; scripts/install-deps installs "
	       "liblttng-ust-dev, then reconfigure with meson setup --reconfigure -Dlttng=enabled)\n");
	(void)argc, (void)argv;
	return 1;
#else
	return test_main(argc, argv);
#endif
}
