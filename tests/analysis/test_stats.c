/* SPDX-License-Identifier: MIT */
/*
 * kvmrr stats on fixture recordings: every number it prints equals the
 * same figure computed with independent SQL over the raw exit table.
 */
#include "tests/analysis/util.h"
#include "tests/test.h"

#include <math.h>


TEST(stats_by_reason_equals_sql)
{
	char *db = tmp_path("rec.db"), *out = NULL, *err = NULL, *line, *save = NULL;
	struct fixture fx = { .exits = 2000, .seed = 1, .format_version = 1, .complete = true };
	double total_ticks;
	int64_t total, rows = 0;

	fixture_write(db, &fx);
	TEST_ASSERT_EQ(run_analysis(&out, &err, "stats --format csv %s", db), 0);
	TEST_ASSERT(err[0] == 0, "unexpected stderr: %s", err);
	total = sql_int(db, "SELECT COUNT(*) FROM exit");
	total_ticks = raw_ticks(db, "1");
	line = strtok_r(out, "\n", &save);
	TEST_ASSERT_STR_EQ(line, "reason,samples,samples_share,time_share,total_ns,guest_ns,vmm_ns,"
			   "min_ns,avg_ns,max_ns");
	while ((line = strtok_r(NULL, "\n", &save))) {
		char where[128], name[64];

		TEST_ASSERT(sscanf(line, "%63[^,]", name) == 1, "row: %s", line);
		snprintf(where, sizeof(where),
			 "e.reason = (SELECT reason FROM exit_reason WHERE name = '%s')", name);
		check_stats_row(db, where, line, total_ticks, total);
		rows++;
	}
	TEST_ASSERT_EQ(rows, sql_int(db, "SELECT COUNT(DISTINCT reason) FROM exit"));
}

TEST(stats_by_port_equals_sql)
{
	char *db = tmp_path("rec.db"), *out = NULL, *line, *save = NULL;
	struct fixture fx = { .exits = 997, .seed = 2, .format_version = 1, .complete = true };
	double io_ticks;
	int64_t io, rows = 0;

	fixture_write(db, &fx);
	TEST_ASSERT_EQ(run_analysis(&out, NULL, "stats --by port --format csv %s", db), 0);
	io = sql_int(db, "SELECT COUNT(*) FROM exit WHERE reason = 2");
	io_ticks = raw_ticks(db, "e.reason = 2");
	line = strtok_r(out, "\n", &save);
	TEST_ASSERT(strncmp(line, "port,samples,", 13) == 0, "header: %s", line);
	while ((line = strtok_r(NULL, "\n", &save))) {
		unsigned port;
		char dir[8], where[128];

		TEST_ASSERT(sscanf(line, "0x%x %7[a-z],", &port, dir) == 2, "row: %s", line);
		snprintf(where, sizeof(where), "e.reason = 2 AND e.addr = %u AND e.dir = %d", port,
			 strcmp(dir, "out") == 0);
		check_stats_row(db, where, line, io_ticks, io);
		rows++;
	}
	TEST_ASSERT_EQ(rows, sql_int(db, "SELECT COUNT(*) FROM (SELECT DISTINCT addr, dir FROM exit"
				     " WHERE reason = 2)"));
}

TEST(stats_table_reads_well)
{
	char *db = tmp_path("rec.db"), *out = NULL, *err = NULL;
	struct fixture fx = { .exits = 500, .seed = 3, .format_version = 1, .complete = true };
	const char *head, *total, *io;
	char want[64];

	fixture_write(db, &fx);
	TEST_ASSERT_EQ(run_analysis(&out, &err, "stats %s", db), 0);
	head = strstr(out, "REASON");
	total = strstr(out, "\nTOTAL");
	io = strstr(out, "\nIO ");
	TEST_ASSERT(head && total && io, "table parts missing:\n%s", out);
	/* Right-aligned numeric columns: "SAMPLES" and the counts end in the same column. */
	snprintf(want, sizeof(want), "%lld", (long long)sql_int(db, "SELECT COUNT(*) FROM exit"));
	TEST_ASSERT(strstr(total, want), "TOTAL row lacks %s:\n%s", want, out);
	TEST_ASSERT_EQ(strstr(head, "SAMPLES ") + 7 - head,
		       strstr(total + 1, want) + strlen(want) - (total + 1));
	TEST_ASSERT(strstr(out, "100.00%"), "TOTAL shares:\n%s", out);
	TEST_ASSERT(strstr(out, "ended: guest-exit"), "header lacks the end:\n%s", out);
}

TEST(stats_sort_and_limit)
{
	char *db = tmp_path("rec.db"), *out = NULL, *save = NULL, *line;
	struct fixture fx = { .exits = 700, .seed = 4, .format_version = 1, .complete = true };
	double prev = INFINITY, max_ns;
	int rows = 0;

	fixture_write(db, &fx);
	TEST_ASSERT_EQ(run_analysis(&out, NULL, "stats --by rip --sort max --limit 3 --format csv %s",
				    db), 0);
	strtok_r(out, "\n", &save);
	while ((line = strtok_r(NULL, "\n", &save))) {
		const char *p = line;

		for (int i = 0; i < 9; i++)
			p = strchr(p, ',') + 1;
		max_ns = strtod(p, NULL);
		TEST_ASSERT(max_ns <= prev, "not sorted by max: %s", line);
		prev = max_ns;
		rows++;
	}
	TEST_ASSERT_EQ(rows, 3);
	TEST_ASSERT_EQ(run_analysis(&out, NULL, "stats --limit 2 %s", db), 0);
	TEST_ASSERT(strstr(out, "more rows not shown"), "no limit note:\n%s", out);
}

TEST(stats_json_parses)
{
	char *db = tmp_path("rec.db"), *out = NULL, *err = NULL;
	struct fixture fx = { .exits = 300, .seed = 5, .format_version = 1, .complete = true };

	fixture_write(db, &fx);
	TEST_ASSERT_EQ(run_analysis(&out, NULL, "stats --format json %s", db), 0);
	write_file(tmp_path("s.json"), out);
	TEST_ASSERT_EQ(run_shell(&out, &err, "python3 -c 'import json,sys; r=json.load(open(sys.argv[1]));"
				 " print(sum(x[\"samples\"] for x in r))' %s/s.json", test_tmpdir()), 0);
	TEST_ASSERT_EQ(atoll(out), 300);
}

TEST(stats_usage_errors)
{
	char *db = tmp_path("rec.db"), *out = NULL, *err = NULL;
	struct fixture fx = { .exits = 10, .seed = 5, .format_version = 1, .complete = true };

	fixture_write(db, &fx);
	TEST_ASSERT_EQ(run_analysis(&out, &err, "stats --help"), 0);
	TEST_ASSERT(strstr(out, "usage: kvmrr stats"), "help: %s", out);
	TEST_ASSERT_EQ(run_analysis(&out, &err, "stats --by colour %s", db), 1);
	TEST_ASSERT(strstr(err, "'colour'") && strstr(err, "--by"), "message: %s", err);
	TEST_ASSERT_EQ(run_analysis(&out, &err, "stats --limit -3 %s", db), 1);
	TEST_ASSERT_EQ(run_analysis(&out, &err, "stats"), 1);
	TEST_ASSERT(strstr(err, "expected one recording"), "message: %s", err);
	TEST_ASSERT_EQ(run_analysis(&out, &err, "stats --bogus %s", db), 1);
}

TEST(stats_incomplete_warns)
{
	char *db = tmp_path("rec.db"), *out = NULL, *err = NULL;
	struct fixture fx = { .exits = 50, .seed = 5, .format_version = 1, .complete = false };

	fixture_write(db, &fx);
	TEST_ASSERT_EQ(run_analysis(&out, &err, "stats %s", db), 0);
	TEST_ASSERT(strstr(err, "warning") && strstr(err, "incomplete") && strstr(err, "50 exits"),
		    "no warning: %s", err);
	TEST_ASSERT(strstr(out, "TOTAL"), "no table: %s", out);
}

TEST_MAIN()
