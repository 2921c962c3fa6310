/* SPDX-License-Identifier: MIT */
/*
 * The analysis commands on real recordings of the bundled guests, made by
 * `kvmrr record` in each test: stats against SQL over the raw tables, the
 * exported trace against the timeline, diff of the entropy guest, the HTML
 * report rendered by headless Chromium, an interrupted recording.
 */
#include "tests/analysis/util.h"
#include "tests/test.h"

#include <signal.h>
#include <sqlite3.h>
#include <time.h>

static const char *kvmrr(void)
{
	static char buf[512];

	return test_build_path("cli/kvmrr", buf, sizeof(buf));
}

/* Record GUEST (guests/GUEST.elf) into a new file; the run must end by the guest's exit. */
static char *record(const char *guest, const char *name)
{
	char elf[512], rel[64], *db = tmp_path(name), *out = NULL, *err = NULL, *end = NULL;
	int rc;

	snprintf(rel, sizeof(rel), "guests/%s.elf", guest);
	test_build_path(rel, elf, sizeof(elf));
	TEST_ASSERT(access(kvmrr(), X_OK) == 0, "%s is not built", kvmrr());
	TEST_ASSERT(access(elf, R_OK) == 0, "%s is not built", elf);
	rc = run_shell(&out, &err, "%s record -q -f -o %s %s", kvmrr(), db, elf);
	TEST_ASSERT(sql_int(db, "SELECT value = 1 FROM meta WHERE key = 'complete'"),
		    "recording of %s incomplete (status %d): %s", guest, rc, err);
	run_analysis(&end, NULL, "query --format csv %s \"SELECT value FROM meta WHERE key = 'end'\"", db);
	TEST_ASSERT(strstr(end, "guest-exit"), "%s ended with %s (status %d): %s", guest, end, rc, err);
	free(out);
	free(err);
	free(end);
	return db;
}

/* stats --by BY --format csv against SQL; returns the rows checked. */
static int check_stats(const char *db, const char *by)
{
	char *out = NULL, *err = NULL, *line, *save = NULL;
	const char *set = strcmp(by, "port") == 0 ? "e.reason = 2" :
			  strcmp(by, "gpa") == 0 ? "e.reason = 6" : "1";
	char sql[128];
	int rows = 0;

	TEST_ASSERT_EQ(run_analysis(&out, &err, "stats --by %s --format csv %s", by, db), 0);
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM exit e WHERE %s", set);
	strtok_r(out, "\n", &save);
	while ((line = strtok_r(NULL, "\n", &save))) {
		char where[256], name[64], dir[8];
		unsigned long long addr;

		if (strcmp(by, "reason") == 0) {
			TEST_ASSERT(sscanf(line, "%63[^,]", name) == 1, "row: %s", line);
			snprintf(where, sizeof(where), "e.reason = (SELECT reason FROM exit_reason"
				 " WHERE name = '%s')", name);
		} else {
			TEST_ASSERT(sscanf(line, "0x%llx %7[a-z]", &addr, dir) == 2, "row: %s", line);
			snprintf(where, sizeof(where), "%s AND e.addr = %llu AND e.dir = %d", set, addr,
				 strcmp(dir, "out") == 0 || strcmp(dir, "write") == 0);
		}
		check_stats_row(db, where, line, raw_ticks(db, set), sql_int(db, sql));
		rows++;
	}
	free(out);
	free(err);
	return rows;
}

TEST(stats_on_bundled_guests_equal_sql)
{
	static const char *const guests[] = { "hello", "entropy", "mmio", "timer" };

	test_require_kvm();
	for (size_t i = 0; i < 4; i++) {
		char name[64], *db, *out = NULL, want[64];

		snprintf(name, sizeof(name), "%s.db", guests[i]);
		db = record(guests[i], name);

		TEST_ASSERT_EQ(check_stats(db, "reason"),
			       sql_int(db, "SELECT COUNT(DISTINCT reason) FROM exit"));
		TEST_ASSERT_EQ(check_stats(db, "port"),
			       sql_int(db, "SELECT COUNT(*) FROM (SELECT DISTINCT addr, dir FROM exit"
				       " WHERE reason = 2)"));
		TEST_ASSERT_EQ(check_stats(db, "gpa"),
			       sql_int(db, "SELECT COUNT(*) FROM (SELECT DISTINCT addr, dir FROM exit"
				       " WHERE reason = 6)"));
		/* The table's TOTAL row counts every exit. */
		TEST_ASSERT_EQ(run_analysis(&out, NULL, "stats %s", db), 0);
		snprintf(want, sizeof(want), " %lld ", (long long)sql_int(db, "SELECT COUNT(*) FROM exit"));
		TEST_ASSERT(strstr(strstr(out, "\nTOTAL"), want), "%s: TOTAL lacks%s:\n%s", guests[i],
			    want, out);
		free(out);
	}
	/* The mmio guest did MMIO, so the gpa rows above were not vacuous. */
	TEST_ASSERT(sql_int(tmp_path("mmio.db"), "SELECT COUNT(*) FROM exit WHERE reason = 6") > 0,
		    "the mmio guest made no MMIO exits");
}

TEST(recorder_views_agree_with_analysis)
{
	char *db, *out = NULL;

	test_require_kvm();
	db = record("timer", "timer.db");
	TEST_ASSERT_EQ(run_analysis(&out, NULL, "query --format csv %s 'SELECT COUNT(*) FROM"
				    " exit_timeline a JOIN temp.analysis_timeline b USING (seq) WHERE"
				    " a.ts_ns IS NOT b.ts_ns OR a.dur_ns IS NOT b.dur_ns OR a.vmm_ns IS NOT"
				    " b.vmm_ns OR a.guest_ns IS NOT b.guest_ns OR a.port IS NOT b.port OR"
				    " a.gpa IS NOT b.gpa OR a.reason_name IS NOT b.reason_name'", db), 0);
	TEST_ASSERT_STR_EQ(out, "COUNT(*)\n0\n");
	TEST_ASSERT_EQ(sql_int(db, "SELECT COUNT(*) FROM exit_timeline"),
		       sql_int(db, "SELECT COUNT(*) FROM exit"));
}

TEST(export_has_one_guest_slice_per_exit)
{
	char *db, *out = NULL, *err = NULL, *json = tmp_path("t.json"), *csv = tmp_path("t.csv");
	int guest = -1, vmm = -1, inject = -1, threads = -1;
	char src[512];

	test_require_kvm();
	db = record("timer", "timer.db");
	TEST_ASSERT(sql_int(db, "SELECT COUNT(*) FROM event") > 0, "the timer guest had no injections");
	TEST_ASSERT_EQ(run_analysis(NULL, &err, "export --format perfetto -o %s %s", json, db), 0);
	TEST_ASSERT_EQ(run_analysis(NULL, &err, "export --format csv -o %s %s", csv, db), 0);
	snprintf(src, sizeof(src), "%s/tests/analysis/trace_check.py", getenv("KVMRR_SOURCE_DIR"));
	TEST_ASSERT(run_shell(&out, &err, "python3 %s %s %s", src, json, csv) == 0, "trace_check: %s",
		    err);
	TEST_ASSERT(sscanf(out, "guest=%d vmm=%d inject=%d threads=%d", &guest, &vmm, &inject,
			   &threads) == 4, "trace_check said: %s %s", out, err);
	TEST_ASSERT_EQ(guest, sql_int(db, "SELECT COUNT(*) FROM exit"));
	TEST_ASSERT_EQ(vmm, sql_int(db, "SELECT COUNT(*) FROM exit WHERE seq > 0 AND vmm_ticks > 0"));
	TEST_ASSERT_EQ(inject, sql_int(db, "SELECT COUNT(*) FROM event"));
	TEST_ASSERT_EQ(threads, sql_int(db, "SELECT COUNT(DISTINCT vcpu) FROM exit"));
	/* The CSV has the view's rows exactly. */
	TEST_ASSERT_EQ(run_analysis(&out, NULL, "query --format csv %s 'SELECT * FROM exit_timeline"
				    " ORDER BY seq'", db), 0);
	TEST_ASSERT_STR_EQ(slurp(csv, NULL), out);
}

TEST(diff_of_entropy_runs_points_at_first_entropy_read)
{
	char *a, *b, *out = NULL, want[128];
	int64_t first;

	test_require_kvm();
	a = record("entropy", "e1.db");
	b = record("entropy", "e2.db");
	first = sql_int(a, "SELECT MIN(seq) FROM exit WHERE reason = 2 AND addr = 1504 AND dir = 0");
	TEST_ASSERT(first >= 0, "no entropy read in %s", a);
	TEST_ASSERT_EQ(run_analysis(&out, NULL, "diff --exit-code %s %s", a, b), 3);
	snprintf(want, sizeof(want), "first difference at seq %lld: data\n", (long long)first);
	TEST_ASSERT(strstr(out, want), "wanted \"%s\" in:\n%s", want, out);
	TEST_ASSERT(strstr(out, "port/gpa            0x5e0     0x5e0"), "port not shown:\n%s", out);
	TEST_ASSERT(strstr(out, "direction           in        in"), "direction not shown:\n%s", out);
	TEST_ASSERT(strstr(out, "<-- differs") && strstr(out, "differing exits: "), "%s", out);
	/* A recording against itself: nothing. */
	TEST_ASSERT_EQ(run_analysis(&out, NULL, "diff --exit-code %s %s", a, a), 0);
	TEST_ASSERT(strstr(out, "no difference in the") && !strstr(out, "first difference"), "%s", out);
}

TEST(diff_of_two_hello_runs_finds_nothing)
{
	char *a, *b, *out = NULL;

	test_require_kvm();
	a = record("hello", "h1.db");
	b = record("hello", "h2.db");
	TEST_ASSERT(run_analysis(&out, NULL, "diff --exit-code %s %s", a, b) == 0,
		    "two runs of the hello guest differ:\n%s", out);
	TEST_ASSERT(strstr(out, "no difference in the"), "%s", out);
}

/* Rows in a recording being written, 0 while it cannot be read yet. */
static int64_t exits_so_far(const char *db)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	int64_t n = 0;

	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, "SELECT COUNT(*) FROM exit", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

TEST(interrupted_recording_is_analysed_with_a_warning)
{
	char elf[512], *db = tmp_path("killed.db"), *out = NULL, *err = NULL, *cmd = NULL;
	struct timespec pause = { 0, 100 * 1000 * 1000 };
	pid_t pid;
	int polls = 0;

	test_require_kvm();
	test_build_path("guests/exits.elf", elf, sizeof(elf));
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	if (pid == 0) {
		execl(kvmrr(), "kvmrr", "record", "-q", "-f", "-o", db, elf, (char *)NULL);
		_exit(127);
	}
	/* Kill it in the middle: once some exits are in the file, long before the end. */
	do
		nanosleep(&pause, NULL);
	while (exits_so_far(db) < 2000 && ++polls < 300);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	TEST_ASSERT_EQ(run_analysis(&out, &err, "stats --format csv %s", db), 0);
	TEST_ASSERT(strstr(err, "warning") && strstr(err, "incomplete"), "no warning: %s", err);
	TEST_ASSERT(sql_int(db, "SELECT COUNT(*) FROM exit") > 0, "no exits before the kill");
	TEST_ASSERT(atoll(strchr(strchr(out, '\n') + 1, ',') + 1) == sql_int(db, "SELECT COUNT(*) FROM exit"),
		    "count differs: %s", out);
	TEST_ASSERT(asprintf(&cmd, "report -o %s %s", tmp_path("k.html"), db) > 0, "asprintf");
	TEST_ASSERT_EQ(run_analysis(NULL, &err, "%s", cmd), 0);
}

TEST_MAIN()
