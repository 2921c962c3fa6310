/* SPDX-License-Identifier: MIT */
/* kvmrr query: formats, escaping, read-only, the views. */
#include "tests/analysis/util.h"
#include "tests/test.h"

#include <sys/stat.h>

static char *fixture(const char *name, bool views)
{
	char *db = tmp_path(name);
	struct fixture fx = { .exits = 250, .seed = 3, .format_version = 1, .complete = true,
			      .views = views };

	fixture_write(db, &fx);
	return db;
}

/* Text that needs escaping in CSV and JSON: separators, quotes, control and invalid UTF-8. */
#define NASTY "SELECT 'a,b' AS c1, 'say \"hi\"' AS c2, 'two' || char(10) || 'lines' AS c3," \
	      " CAST(x'41ff42' AS TEXT) AS c4, x'00ff10' AS c5, NULL AS c6, 1.5 AS c7," \
	      " 'tab' || char(9) || 'bell' || char(7) AS c8, 'caf' || char(233) AS c9"

/* Pass SQL through a file so that the shell leaves its quotes alone. */
static const char *sql_arg(const char *sql)
{
	static char arg[256];
	char *path = tmp_path("q.sql");

	write_file(path, sql);
	snprintf(arg, sizeof(arg), "\"$(cat %s)\"", path);
	return arg;
}

TEST(json_escaping_round_trips)
{
	char *db = fixture("q.db", false), *out = NULL, *err = NULL, *py = NULL;
	char *json = tmp_path("q.json");

	TEST_ASSERT_EQ(run_analysis(&out, &err, "query --format json %s %s", db, sql_arg(NASTY)), 0);
	write_file(json, out);
	TEST_ASSERT(asprintf(&py, "python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))[0];"
			     " assert r == {\"c1\": \"a,b\", \"c2\": \"say \\\"hi\\\"\", \"c3\": \"two\\nlines\","
			     " \"c4\": \"A\\ufffdB\", \"c5\": \"00ff10\", \"c6\": None, \"c7\": 1.5,"
			     " \"c8\": \"tab\\tbell\\x07\", \"c9\": \"caf\\u00e9\"}, r; print(\"ok\")' %s",
			     json) > 0, "asprintf");
	TEST_ASSERT(run_shell(&out, &err, "%s", py) == 0, "python: %s %s", out, err);
}

TEST(csv_escaping_round_trips)
{
	char *db = fixture("q.db", false), *out = NULL, *err = NULL, *py = NULL;
	char *csv = tmp_path("q.csv");

	TEST_ASSERT_EQ(run_analysis(&out, &err, "query --format csv %s %s", db, sql_arg(NASTY)), 0);
	write_file(csv, out);
	TEST_ASSERT(asprintf(&py, "python3 -c 'import csv,sys; rows=list(csv.reader(open(sys.argv[1],"
			     " newline=\"\", errors=\"surrogateescape\"))); assert rows[0] == [\"c%%d\" %% i for i"
			     " in range(1, 10)], rows[0]; r = rows[1]; assert r[:3] == [\"a,b\", \"say \\\"hi\\\"\","
			     " \"two\\nlines\"], r; assert r[4:7] == [\"00ff10\", \"\", \"1.5\"], r; print(\"ok\")' %s",
			     csv) > 0, "asprintf");
	TEST_ASSERT(run_shell(&out, &err, "%s", py) == 0, "python: %s %s", out, err);
}

TEST(table_format_and_several_statements)
{
	char *db = fixture("q.db", false), *out = NULL, *err = NULL;

	TEST_ASSERT_EQ(run_analysis(&out, &err, "query %s 'SELECT COUNT(*) AS n FROM exit_timeline;"
				    " SELECT port, count FROM pio_stats ORDER BY port'", db), 0);
	TEST_ASSERT(strstr(out, "  n\n250\n(1 row)\n"), "first result:\n%s", out);
	TEST_ASSERT(strstr(out, "\nport  count\n 128     24\n"), "second result:\n%s", out);
	TEST_ASSERT(strstr(out, "(4 rows)"), "row count:\n%s", out);
	/* Control characters cannot break the table's alignment. */
	TEST_ASSERT_EQ(run_analysis(&out, &err, "query %s %s", db, sql_arg(NASTY)), 0);
	TEST_ASSERT_EQ(count_str(out, "\n"), 3);
}

TEST(documented_views_exist_and_agree)
{
	char *db = fixture("q.db", false), *out = NULL;

	TEST_ASSERT_EQ(run_analysis(&out, NULL, "query --format csv %s 'SELECT"
				    " (SELECT SUM(count) FROM exit_stats),"
				    " (SELECT SUM(count) FROM pio_stats),"
				    " (SELECT SUM(count) FROM mmio_stats),"
				    " (SELECT COUNT(*) FROM events),"
				    " (SELECT COUNT(*) FROM exit_timeline WHERE abs(dur_ns - guest_ns - vmm_ns) > 1)'",
				    db), 0);
	TEST_ASSERT(strstr(out, "\n250,175,50,24,0\n"), "got: %s", out);
	TEST_ASSERT_EQ(sql_int(db, "SELECT COUNT(*) FROM exit WHERE reason = 2"), 175);
}

TEST(the_files_own_views_win)
{
	char *db = fixture("qv.db", true), *out = NULL;

	/* The fixture's exit_timeline says 'x' for every reason_name. */
	TEST_ASSERT_EQ(run_analysis(&out, NULL, "query --format csv %s 'SELECT DISTINCT reason_name"
				    " FROM exit_timeline'", db), 0);
	TEST_ASSERT_STR_EQ(out, "reason_name\nx\n");
	/* stats does not use them: it reads the tables. */
	TEST_ASSERT_EQ(run_analysis(&out, NULL, "stats --format csv %s", db), 0);
	TEST_ASSERT(strstr(out, "\nIO,175,"), "stats: %s", out);
}

TEST(query_never_writes)
{
	char *db = fixture("q.db", false), *err = NULL;
	struct stat before, after;
	static const char *const writes[] = {
		"DELETE FROM exit", "UPDATE meta SET value = 2 WHERE key = 'format_version'",
		"CREATE TABLE t(x)", "DROP VIEW IF EXISTS exit_timeline", "VACUUM",
		"ATTACH 'other.db' AS o", "PRAGMA journal_mode = DELETE",
	};

	TEST_ASSERT(stat(db, &before) == 0, "stat");
	for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
		TEST_ASSERT(run_analysis(NULL, &err, "query %s \"%s\"", db, writes[i]) != 0,
			    "%s was allowed", writes[i]);
		TEST_ASSERT(err[0], "%s: no message", writes[i]);
	}
	TEST_ASSERT(stat(db, &after) == 0, "stat");
	TEST_ASSERT(before.st_mtime == after.st_mtime && before.st_size == after.st_size,
		    "the recording changed");
	TEST_ASSERT_EQ(sql_int(db, "SELECT COUNT(*) FROM exit"), 250);
	TEST_ASSERT_EQ(access(tmp_path("other.db"), F_OK), -1);
}

/* Export computes entry times in C; they must equal the view's window-function SQL. */
TEST(export_matches_the_timeline_view)
{
	char *db = fixture("q.db", false), *out = NULL, *err = NULL, *json = tmp_path("q.json");
	char *csv = tmp_path("q.csv"), src[512];
	int guest, vmm, inject, threads;

	TEST_ASSERT_EQ(run_analysis(NULL, &err, "export -o %s %s", json, db), 0);
	TEST_ASSERT_EQ(run_analysis(NULL, &err, "export --format csv -o %s %s", csv, db), 0);
	TEST_ASSERT_EQ(run_analysis(&out, NULL, "query --format csv %s 'SELECT * FROM exit_timeline"
				    " ORDER BY seq'", db), 0);
	TEST_ASSERT_STR_EQ(slurp(csv, NULL), out);
	snprintf(src, sizeof(src), "%s/tests/analysis/trace_check.py", getenv("KVMRR_SOURCE_DIR"));
	TEST_ASSERT(run_shell(&out, &err, "python3 %s %s %s", src, json, csv) == 0, "%s", err);
	TEST_ASSERT(sscanf(out, "guest=%d vmm=%d inject=%d threads=%d", &guest, &vmm, &inject,
			   &threads) == 4, "%s", out);
	TEST_ASSERT_EQ(guest, 250);
	TEST_ASSERT_EQ(vmm, 249);
	TEST_ASSERT_EQ(inject, sql_int(db, "SELECT COUNT(*) FROM event"));
	TEST_ASSERT_EQ(threads, 1);
	/* An MMIO slice carries its gpa and data. */
	TEST_ASSERT(strstr(slurp(json, NULL), "\"gpa\":\"0xd0000010\",\"size\":4,\"dir\":\"read\""),
		    "no MMIO args");
	/* A failed export leaves no partial file behind. */
	unlink(json);
	TEST_ASSERT_EQ(run_analysis(NULL, &err, "export -o %s %s", json, tmp_path("missing.db")), 1);
	TEST_ASSERT(access(json, F_OK) != 0, "%s created for a missing recording", json);
}

TEST_MAIN()
