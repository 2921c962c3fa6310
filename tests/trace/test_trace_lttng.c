/* SPDX-License-Identifier: MIT */
/*
 * kvmrr trace under a real LTTng session: QEMU with the capture library
 * fires the same kvmrr:exit events as kvmrr record, one per exit, each
 * equal to its log row (tests/tracer/lttng_session.h).
 */
#include "tests/tracer/lttng_session.h"
#include "tests/trace/trace_qemu.h"

TEST(lttng_sees_qemu_exits_as_the_log_does)
{
	static struct tp_exit ev[20000];
	static struct tp_inject inj[20000];
	const char *const opts[] = { "--regs", NULL };   /* RIP in both (without it: NULL vs all ones) */
	struct e2e_run r;
	struct lt lt;
	char tracedir[128], *warn = NULL;
	int n, other, inject;
	sqlite3 *db;

	tq_require_qemu();
	TEST_ASSERT(!access("/usr/bin/lttng-sessiond", X_OK) && !access("/usr/bin/babeltrace2", X_OK),
		    "lttng-sessiond or babeltrace2 is not installed: scripts/install-deps installs them");
	lt_start(&lt);
	setenv("LTTNG_UST_ALLOW_BLOCKING", "1", 1);
	tq_start(&r, opts, "microvm", "1", "exits", "n=3000", NULL);
	tq_wait(&r);
	lt_stop(&lt);
	TEST_ASSERT_EQ(r.status, 1);
	db = tt_open(r.rec);
	TEST_ASSERT_EQ(tt_int(db, "SELECT value FROM meta WHERE key = 'complete'"), 1);
	snprintf(tracedir, sizeof(tracedir), "%s/trace", lt.home);
	/* The events come from QEMU's process, not kvmrr's. */
	n = read_trace(tracedir, (pid_t)tt_int(db, "SELECT value FROM meta WHERE key = 'traced_pid'"), ev,
		       20000, &other, &inject, inj, &warn);
	printf("# %d kvmrr:exit, %d kvmrr:inject, %d other events; babeltrace2 said: %s\n", n, inject,
	       other, warn[0] ? warn : "(nothing)");
	TEST_ASSERT(!strstr(warn, "discarded"), "events were discarded: %s", warn);
	TEST_ASSERT_EQ(other, 0);
	TEST_ASSERT_EQ(n, tt_int(db, "SELECT count(*) FROM exit"));
	TEST_ASSERT(tt_int(db, "SELECT count(*) FROM exit WHERE reason = 2 AND addr = 1023") == 3000,
		    "the storm's exits");
	TEST_ASSERT_EQ(inject, tt_int(db, "SELECT count(*) FROM event"));
	lt_check_log(db, ev, n);
	/* In the log's order; an inject after an IN may come before that exit (captured at the next run). */
	lt_check_injects(db, inj, inject, false);
	sqlite3_close(db);
	free(warn);
	tq_free(&r);
	tt_cleanup(lt.home);
}

int main(int argc, char **argv)
{
#if !KVMRR_TEST_HAVE_LTTNG
	printf("TAP version 13\n1..1\nnot ok 1 - lttng_sees_qemu_exits_as_the_log_does (this build has "
	       "no LTTng: lttng-ust was not found when meson configured it; scripts/install-deps "
	       "installs liblttng-ust-dev)\n");
	(void)argc, (void)argv;
	return 1;
#else
	return test_main(argc, argv);
#endif
}
