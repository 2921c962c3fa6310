/* SPDX-License-Identifier: MIT */
/*
 * The LTTng-UST sink against a real session: a userspace lttng-sessiond,
 * a blocking channel on kvmrr:*, `kvmrr record` of the mmio guest, the
 * trace read back with babeltrace2. One kvmrr:exit event per exit, and each
 * must match its log row (seq, reason, absolute TSCs, RIP, port/gpa, size,
 * direction, count and the data bytes); inject counts match too.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>

#include "tests/test.h"
#include "tests/tracer/tracer_e2e.h"
#include "tests/tracer/lttng_session.h"

TEST(lttng_exit_events_match_the_log)
{
	static struct tp_exit ev[20000];
	struct e2e_run r;
	struct lt lt;
	char tracedir[128], *warn = NULL;
	int n, other, inject;
	sqlite3 *db;

	if (access("/usr/bin/lttng-sessiond", X_OK) || access("/usr/bin/babeltrace2", X_OK))
		TEST_ASSERT(0, "lttng-sessiond or babeltrace2 is not installed: scripts/install-deps installs them");
	lt_start(&lt);
	setenv("LTTNG_UST_ALLOW_BLOCKING", "1", 1);
	/* The mmio guest makes both port-IO and MMIO exits (reads and writes). */
	e2e_record(&r, "mmio", (const char *const[]){ "--timeout", "60", NULL });
	lt_stop(&lt);
	/* The mmio guest exits with 0 through the debug-exit port: kvmrr's status 1. */
	TEST_ASSERT(r.status == 1, "kvmrr record with an LTTng session: status %d, wanted 1; stderr: %.300s",
		    r.status, r.stderr_text);
	snprintf(tracedir, sizeof(tracedir), "%s/trace", lt.home);
	n = read_trace(tracedir, r.pid, ev, 20000, &other, &inject, &warn);
	printf("# %d kvmrr:exit, %d kvmrr:inject, %d other events; babeltrace2 said: %s\n", n, inject,
	       other, warn[0] ? warn : "(nothing: no discarded events)");
	TEST_ASSERT(!strstr(warn, "discarded"), "events were discarded: %s", warn);
	TEST_ASSERT_EQ(other, 0);
	db = tt_open(r.rec);
	TEST_ASSERT_EQ(tt_int(db, "SELECT value FROM meta WHERE key = 'complete'"), 1);
	TEST_ASSERT_EQ(n, tt_int(db, "SELECT count(*) FROM exit"));
	TEST_ASSERT(tt_int(db, "SELECT count(*) FROM exit WHERE reason = 2") > 0, "no IO exit");
	TEST_ASSERT(tt_int(db, "SELECT count(*) FROM exit WHERE reason = 6 AND dir = 0") > 0, "no MMIO read");
	TEST_ASSERT(tt_int(db, "SELECT count(*) FROM exit WHERE reason = 6 AND dir = 1") > 0, "no MMIO write");
	TEST_ASSERT_EQ(inject, tt_int(db, "SELECT count(*) FROM event"));
	/* Absolute TSCs from the log's deltas must equal the tracepoint's raw values. */
	lt_check_log(db, ev, n);
	sqlite3_close(db);
	free(warn);
	e2e_free(&r);
	tt_cleanup(r.dir);
	tt_cleanup(lt.home);
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
