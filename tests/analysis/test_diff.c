/* SPDX-License-Identifier: MIT */
/* kvmrr diff on fixture recordings with known differences. */
#include "tests/analysis/util.h"
#include "tests/test.h"

static char *fixture(const char *name, unsigned seed, int exits)
{
	char *db = tmp_path(name);
	struct fixture fx = { .exits = exits, .seed = seed, .format_version = 1, .complete = true };

	fixture_write(db, &fx);
	return db;
}

/* Insert a KVM_EXIT_INTR (10) at seq AT, shifting the later exits and events by one. */
static void insert_intr(const char *db, int at, bool with_injection)
{
	char sql[512];

	snprintf(sql, sizeof(sql),
		 "UPDATE exit SET seq = -seq - 1 WHERE seq >= %d; UPDATE exit SET seq = -seq WHERE seq < 0;"
		 "UPDATE event SET seq = seq + 1 WHERE seq >= %d;"
		 "INSERT INTO exit VALUES (%d, 0, 10, 150, 900, 1048576, NULL, NULL, NULL, NULL);", at, at, at);
	sql_exec(db, sql);
	if (with_injection) {
		snprintf(sql, sizeof(sql), "INSERT INTO event VALUES (%d, 0, 1, 48, NULL)", at);
		sql_exec(db, sql);
	}
}

/* The summary row NAME holds A and B. */
static bool summary_row(const char *out, const char *name, long long a, long long b)
{
	const char *p = strstr(out, name);
	long long ga, gb;

	return p && sscanf(p + strlen(name), "%lld %lld", &ga, &gb) == 2 && ga == a && gb == b;
}

TEST(same_recording_no_difference)
{
	char *a = fixture("a.db", 1, 500), *out = NULL;

	TEST_ASSERT_EQ(run_analysis(&out, NULL, "diff --exit-code %s %s", a, a), 0);
	TEST_ASSERT(strstr(out, "no difference in the 500 exits compared"), "%s", out);
	TEST_ASSERT(!strstr(out, "differing exits"), "%s", out);
}

TEST(entropy_data_first_differs_at_seq_5)
{
	char *a = fixture("a.db", 1, 500), *b = fixture("b.db", 2, 500), *out = NULL;

	/* Without --exit-code a difference is still success. */
	TEST_ASSERT_EQ(run_analysis(&out, NULL, "diff %s %s", a, b), 0);
	TEST_ASSERT_EQ(run_analysis(&out, NULL, "diff --exit-code %s %s", a, b), 3);
	TEST_ASSERT(strstr(out, "first difference at seq 5: data\n"), "%s", out);
	TEST_ASSERT(strstr(out, "  >    5  IO in port 0x5e0 size 4 data "), "context: %s", out);
	/* Every tenth exit reads entropy: 50 differ (an LCG collision would make it fewer). */
	TEST_ASSERT(strstr(out, "differing exits: 50 of 500 compared pairwise (+0 unpaired), first at"
			   " seq 5 in A, 5 in B"), "%s", out);
}

TEST(intr_without_injection_is_skipped)
{
	char *a = fixture("a.db", 1, 300), *b = fixture("b.db", 1, 300), *out = NULL;

	insert_intr(b, 42, false);
	TEST_ASSERT_EQ(run_analysis(&out, NULL, "diff --exit-code %s %s", a, b), 0);
	TEST_ASSERT(strstr(out, "no difference in the 300 exits compared"), "%s", out);
	TEST_ASSERT(summary_row(out, "  INTR exits ", 0, 1), "summary: %s", out);
	TEST_ASSERT(summary_row(out, "  all exits ", 300, 301), "summary: %s", out);
	TEST_ASSERT(summary_row(out, "  compared (INTR with no injection skipped) ", 300, 300), "%s", out);
}

TEST(intr_with_injection_is_a_difference)
{
	char *a = fixture("a.db", 1, 300), *b = fixture("b.db", 1, 300), *out = NULL;

	insert_intr(b, 42, true);
	TEST_ASSERT_EQ(run_analysis(&out, NULL, "diff --exit-code %s %s", a, b), 3);
	TEST_ASSERT(strstr(out, "first difference at seq 42: reason, port, size, direction, data"), "%s", out);
	TEST_ASSERT(strstr(out, "reason              IO (2)    INTR (10)  <-- differs"), "%s", out);
}

TEST(shorter_recording)
{
	char *a = fixture("a.db", 1, 300), *b = fixture("b.db", 1, 300), *out = NULL;

	sql_exec(b, "DELETE FROM exit WHERE seq >= 290");
	TEST_ASSERT_EQ(run_analysis(&out, NULL, "diff --exit-code %s %s", a, b), 3);
	TEST_ASSERT(strstr(out, "first difference at seq 290: only A goes on"), "%s", out);
	TEST_ASSERT(strstr(out, "(-10 unpaired)"), "%s", out);
	TEST_ASSERT(summary_row(out, "  all exits ", 300, 290), "%s", out);
	TEST_ASSERT(strstr(out, "(end)"), "%s", out);
}

TEST_MAIN()
