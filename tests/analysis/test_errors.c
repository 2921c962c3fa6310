/* SPDX-License-Identifier: MIT */
/*
 * Every analysis command on a file that is not a readable recording: a
 * missing file, a directory, an empty file, a non-SQLite file, a SQLite
 * database that is not a recording, a wrong format_version, a recording
 * with a table missing, a truncated copy and a garbled copy. Each must
 * exit with status 1 and say what is wrong, naming the file.
 */
#include "stream/format.h"
#include "tests/analysis/util.h"
#include "tests/test.h"

/* The commands, with the arguments that follow the recording. */
static const char *const commands[][2] = {
	{ "stats", "" },
	{ "query", "'SELECT COUNT(*) FROM exit'" },
	{ "export", "-o /dev/null" },
	{ "export", "--format csv -o /dev/null" },
	{ "report", "-o /dev/null" },
	{ "diff", "GOOD" },
};

static char *good_recording(void)
{
	char *db = tmp_path("good.db");
	struct fixture fx = { .exits = 400, .seed = 9, .format_version = 1, .complete = true };

	fixture_write(db, &fx);
	return db;
}

/* Run every command on BAD; each must fail with 1 and print all the WANT strings. */
static void expect_refused(const char *bad, const char *want1, const char *want2)
{
	char *good = good_recording();

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		char *out = NULL, *err = NULL;
		const char *extra = strcmp(commands[i][1], "GOOD") == 0 ? good : commands[i][1];
		int rc = run_analysis(&out, &err, "%s '%s' %s", commands[i][0], bad, extra);

		TEST_ASSERT(rc == 1, "%s on %s: wanted exit status 1, got %d; stderr: %s", commands[i][0],
			    bad, rc, err);
		TEST_ASSERT(strstr(err, bad), "%s: the message does not name %s: %s", commands[i][0],
			    bad, err);
		TEST_ASSERT(strstr(err, want1) && (!want2 || strstr(err, want2)),
			    "%s: wanted \"%s\"%s%s%s in the message, got: %s", commands[i][0], want1,
			    want2 ? " and \"" : "", want2 ? want2 : "", want2 ? "\"" : "", err);
		TEST_ASSERT(strstr(err, "kvmrr ") == err, "message lacks the command prefix: %s", err);
		TEST_ASSERT(count_str(err, "\n") <= 3, "%s: too chatty: %s", commands[i][0], err);
		free(out);
		free(err);
	}
	/* diff with the bad file second as well. */
	{
		char *err = NULL;

		TEST_ASSERT_EQ(run_analysis(NULL, &err, "diff '%s' '%s'", good, bad), 1);
		TEST_ASSERT(strstr(err, want1), "diff good bad: %s", err);
	}
}

TEST(missing_file)
{
	expect_refused(tmp_path("does-not-exist.db"), "No such file or directory", NULL);
}

TEST(directory)
{
	expect_refused(test_tmpdir(), "is a directory", NULL);
}

TEST(empty_file)
{
	char *p = tmp_path("empty.db");

	write_file(p, "");
	expect_refused(p, "not a kvmrr recording", "empty");
}

TEST(not_sqlite)
{
	char *p = tmp_path("text.db");

	write_file(p, "hello, this is a text file and not a recording\n");
	expect_refused(p, "not a kvmrr recording", "not a SQLite database");
}

TEST(sqlite_but_not_a_recording)
{
	char *p = tmp_path("other.db");

	unlink(p);
	sql_exec(p, "CREATE TABLE t(x); INSERT INTO t VALUES (1);");
	expect_refused(p, "not a kvmrr recording", "meta");
}

TEST(wrong_format_name)
{
	char *p = tmp_path("fmt.db");

	unlink(p);
	sql_exec(p, "CREATE TABLE meta(key TEXT PRIMARY KEY, value);"
		    "INSERT INTO meta VALUES ('format', 'something-else');");
	expect_refused(p, "not a kvmrr recording", "'something-else'");
}

TEST(wrong_format_version)
{
	char *p = tmp_path("v9.db");
	struct fixture fx = { .exits = 20, .seed = 1, .format_version = 9, .complete = true };
	char range[64];

	fixture_write(p, &fx);
	/* Both versions named: the file's and the ones this build reads. */
	snprintf(range, sizeof(range), "reads format versions %d to %d", STREAM_FORMAT_VERSION_MIN,
		 STREAM_FORMAT_VERSION);
	expect_refused(p, "format version 9 is not supported", range);
}

TEST(missing_table)
{
	char *p = tmp_path("notable.db");
	struct fixture fx = { .exits = 20, .seed = 1, .format_version = 1, .complete = true };

	fixture_write(p, &fx);
	sql_exec(p, "DROP TABLE event");
	expect_refused(p, "corrupt recording", "event");
}

TEST(truncated)
{
	char *good = good_recording(), *p = tmp_path("trunc.db");
	size_t len;
	char *data = slurp(good, &len);
	FILE *f = fopen(p, "wb");

	/* Keep the header and schema pages, lose the rest: SQLite sees a short file. */
	TEST_ASSERT(len > 16384, "fixture only %zu bytes", len);
	TEST_ASSERT(f && fwrite(data, 1, len / 3, f) == len / 3 && fclose(f) == 0, "write %s", p);
	expect_refused(p, "corrupt recording", NULL);
}

TEST(garbled)
{
	char *good = good_recording(), *p = tmp_path("garbled.db");
	size_t len;
	char *data = slurp(good, &len);
	FILE *f = fopen(p, "wb");

	/* Overwrite the B-tree pages after the first with junk, keep the file header. */
	for (size_t i = 4096; i < len; i++)
		data[i] = (char)(i * 7 + 13);
	TEST_ASSERT(f && fwrite(data, 1, len, f) == len && fclose(f) == 0, "write %s", p);
	expect_refused(p, "corrupt", NULL);
}

TEST(usage_errors)
{
	char *err = NULL, *db = good_recording();
	static const char *const bad[] = {
		"stats", "stats --sort nothing DB", "query DB", "query --format xml DB 'SELECT 1'",
		"export --format svg DB", "export DB DB", "report", "diff DB", "diff --context x DB DB",
		"query DB 'SELECT 1; SELECT 2' --format csv", "query DB 'DROP TABLE exit'",
		"query DB 'INSERT INTO meta VALUES (1, 2)'", "query DB 'CREATE TEMP TABLE x(y)'",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char args[256], *p;

		snprintf(args, sizeof(args), "%s", bad[i]);
		while ((p = strstr(args, "DB"))) {
			char rest[256];

			snprintf(rest, sizeof(rest), "%s", p + 2);
			snprintf(p, sizeof(args) - (p - args), "%s%s", db, rest);
		}
		TEST_ASSERT_EQ(run_analysis(NULL, &err, "%s", args), 1);
		TEST_ASSERT(err[0], "%s: no message", args);
	}
	/* Nothing above changed the recording. */
	TEST_ASSERT_EQ(sql_int(db, "SELECT COUNT(*) FROM exit"), 400);
}

TEST(help_for_every_command)
{
	static const char *const cmds[] = { "stats", "query", "export", "report", "diff" };

	for (size_t i = 0; i < 5; i++) {
		char *out = NULL, want[64];

		TEST_ASSERT_EQ(run_analysis(&out, NULL, "%s --help", cmds[i]), 0);
		snprintf(want, sizeof(want), "usage: kvmrr %s", cmds[i]);
		TEST_ASSERT(strstr(out, want), "%s --help: %s", cmds[i], out);
	}
}

TEST_MAIN()
