/* SPDX-License-Identifier: MIT */
/*
 * kill -9 campaign (issues 18 and 14): `kvmrr record` of a bundled guest with
 * a checkpoint every 50 ms is killed with SIGKILL at seeded random moments
 * (a quarter of them in the first 400 ms: start-up, schema, initial state),
 * with and without an LTTng session. After each kill:
 *  - a file holding the initial state opens, passes quick_check, says it is
 *    incomplete, has exits 0..N-1 and at least the rows a reader saw
 *    committed just before the kill; `kvmrr replay` replays all N of them
 *    identical with status 3 (nothing recorded dropped silently);
 *  - a file without it (killed during start-up) is refused with status 2 and
 *    a message, never a crash;
 *  - the copy of rec.db alone (no -wal) is a shorter prefix that replays too;
 *  - from checkpoints picked at random: `--from-checkpoint SEQ` replays the
 *    rest identical (status 3) and `--until U` started from that checkpoint
 *    prints the state a replay from the start prints;
 *  - with LTTng: every exit row in the file is in the trace, seq 0..N-1.
 * KVMRR_KILL_SEED fixes the seed (printed), KVMRR_KILL_ITERATIONS the number
 * of kills (default 3 each, a few seconds; the 'slow' suite runs 40),
 * KVMRR_KILL_CHECKPOINTS the checkpoints tried per kill (default 2),
 * KVMRR_KILL_GUESTS the guests ("exits", "timer" or both; default exits).
 * The timer guest has asynchronous points: with it, about one campaign in
 * three of 5 kills finds a replay --from-checkpoint that diverges at the
 * first asynchronous point after the checkpoint ("pages differ"), also
 * with the recorder before this test's changes: a bug of checkpoints and
 * asynchronous points not fixed yet, so only the 'slow' suite records timer.
 */
#include <time.h>

#include "tests/test.h"
#include "tests/tracer/tracer_e2e.h"
#include "tests/tracer/lttng_session.h"

#define STATUS_REPLAY_INCOMPLETE 3
#define STATUS_REPLAY_ERROR 2
#define EARLY_MS 400             /* kills before this are "during start-up" */
#define LATE_MS 2000             /* the latest kill */

struct kill_counts {
	int kills, no_initial_state, replayed, copies, damaged_copies, checkpoints, checkpoint_tries, past_the_end;
	long long rows, lost_in_copy;
};

static uint64_t campaign_seed(const char *what)
{
	const char *env = getenv("KVMRR_KILL_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);

	if (!seed)
		seed = 1;
	printf("# %s: KVMRR_KILL_SEED=%llu (set it to repeat this campaign)\n", what, (unsigned long long)seed);
	return seed;
}

static int env_count(const char *name, int dflt)
{
	const char *env = getenv(name);
	int n = env ? atoi(env) : dflt;

	return n > 0 ? n : dflt;
}

/* `timeout 300 kvmrr ARGS 2>&1`: its status and output (malloc'd). */
static int kvmrr(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int kvmrr(char **out, const char *fmt, ...)
{
	char bin[512], args[1024], cmd[2048];
	va_list ap;

	test_build_path("cli/kvmrr", bin, sizeof(bin));
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "timeout 300 %s %s 2>&1", bin, args);
	*out = NULL;
	return test_run_capture(cmd, out);
}

/*
 * "replay: N exits, identical" with status 3: the whole prefix replayed;
 * returns N. from: the checkpoint it must start from (-1: the initial state).
 */
static long long replay_prefix(const char *opts, const char *rec, long long from)
{
	char want[96];

	char *out, *p;
	long long n = -1;
	int st = kvmrr(&out, "replay %s %s", opts, rec);

	p = strstr(out, " exits, identical");
	while (p && p > out && p[-1] >= '0' && p[-1] <= '9')
		p--;
	if (p)
		n = atoll(p);
	TEST_ASSERT(st == STATUS_REPLAY_INCOMPLETE && n >= 0 && strstr(out, "incomplete"),
		    "replay %s %s: status %d (wanted %d, identical, incomplete):\n%s", opts, rec, st,
		    STATUS_REPLAY_INCOMPLETE, out);
	snprintf(want, sizeof(want), "started from the checkpoint after seq %lld\n", from);
	if (from >= 0)
		TEST_ASSERT(strstr(out, want), "replay %s %s: wanted \"%s\" in:\n%s", opts, rec, want, out);
	if (from == -1)
		TEST_ASSERT(!strstr(out, "started from the checkpoint"), "replay %s %s:\n%s", opts, rec, out);
	free(out);
	return n;
}

/* `replay -q OPTS --until U`: status 0 and the state it prints (lines not starting "replay:"). */
static char *state_at(const char *rec, const char *opts, long long until, bool *from_ck)
{
	char *out, *state, *s;
	size_t used = 0;
	int st = kvmrr(&out, "replay -q %s --until %lld %s", opts, until, rec);

	TEST_ASSERT(st == 0 && strstr(out, "memory digest"), "replay %s --until %lld %s: status %d:\n%s",
		    opts, until, rec, st, out);
	*from_ck = strstr(out, "started from the checkpoint after seq") != NULL;
	state = calloc(1, strlen(out) + 1);
	TEST_ASSERT(state, "calloc");
	s = out;
	for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n"))
		if (strncmp(line, "replay: ", 8) && strncmp(line, "asynchronous events:", 20))
			used += (size_t)sprintf(state + used, "%s\n", line);
	free(out);
	return state;
}

static long long db_int(const char *rec, const char *fmt, long long arg)
{
	char sql[256];
	sqlite3 *db = tt_open(rec);
	long long v;

	snprintf(sql, sizeof(sql), fmt, arg);
	v = tt_int(db, sql);
	sqlite3_close(db);
	return v;
}

static long long exit_rows(const char *rec)
{
	return db_int(rec, "SELECT count(*) FROM exit WHERE seq > %lld", -1);
}

/* One stored checkpoint: the rest from it, and a seek from it equal to one from the start. */
static void check_checkpoint(const char *rec, long long ck, long long rows, uint64_t *rnd,
			     struct kill_counts *c)
{
	long long next = db_int(rec, "SELECT coalesce(min(seq), 0) FROM checkpoint WHERE seq > %lld", ck);
	long long hi = next > ck ? next : rows - 1, until;
	char opt[64], *a, *b;
	bool from_ck, dummy;

	c->checkpoint_tries++;
	snprintf(opt, sizeof(opt), "--from-checkpoint %lld", ck);
	if (ck < rows) {
		TEST_ASSERT_EQ(replay_prefix(opt, rec, ck), rows - 1 - ck);
	} else {
		/* Its exit's row had not reached the file: replay starts from the latest one before. */
		printf("# checkpoint at seq %lld is past the last exit in the file (%lld)\n", ck, rows - 1);
		c->past_the_end++;
		replay_prefix(opt, rec, db_int(rec, "SELECT coalesce(max(seq), -1) FROM checkpoint WHERE seq < %lld",
						 rows));
		return;
	}
	if (hi >= rows)
		hi = rows - 1;
	if (hi <= ck)
		return;
	until = ck + 1 + (long long)(tt_rand(rnd) % (uint64_t)(hi - ck));
	a = state_at(rec, "", until, &from_ck);
	b = state_at(rec, "--from-start", until, &dummy);
	TEST_ASSERT(from_ck, "--until %lld did not start from a checkpoint (%lld is one)", until, ck);
	TEST_ASSERT(strcmp(a, b) == 0, "--until %lld: from the checkpoint\n%s\nfrom the start\n%s", until, a, b);
	c->checkpoints++;
	free(a);
	free(b);
}

/* The file as the kill left it (rec.db with its -wal). */
static void check_recording(const char *rec, long long seen, uint64_t *rnd, int per_kill, struct kill_counts *c)
{
	sqlite3 *db = tt_open(rec);
	char buf[64];
	long long rows, n_ck;

	TEST_ASSERT_STR_EQ(tt_text(db, "PRAGMA quick_check", buf, sizeof(buf)), "ok");
	TEST_ASSERT_EQ(tt_int(db, "SELECT value FROM meta WHERE key = 'complete'"), 0);
	rows = tt_int(db, "SELECT count(*) FROM exit");
	TEST_ASSERT_EQ(tt_int(db, "SELECT coalesce(max(seq) + 1, 0) FROM exit"), rows);
	TEST_ASSERT(rows >= seen, "%s holds %lld exits; a reader saw %lld committed before the kill", rec,
		    rows, seen);
	check_async_points(db);
	n_ck = tt_int(db, "SELECT count(*) FROM checkpoint");
	sqlite3_close(db);
	TEST_ASSERT_EQ(replay_prefix("", rec, -1), rows);
	c->replayed++;
	c->rows += rows;
	for (int i = 0; i < per_kill && n_ck > 0; i++) {
		long long k = (long long)(tt_rand(rnd) % (uint64_t)n_ck);
		long long ck = db_int(rec, "SELECT seq FROM checkpoint ORDER BY seq LIMIT 1 OFFSET %lld", k);

		check_checkpoint(rec, ck, rows, rnd, c);
	}
	printf("# %lld exits, %lld checkpoints (a reader saw %lld exits just before the kill)\n", rows, n_ck, seen);
}

static bool has_initial_state(const char *rec);

static void copy_file(const char *from, const char *to)
{
	char cmd[600], *out = NULL;
	int st;

	snprintf(cmd, sizeof(cmd), "test ! -e %s || cp %s %s", from, from, to);
	st = test_run_capture(cmd, &out);
	TEST_ASSERT(st == 0, "%s: %s", cmd, out);
	free(out);
}

/*
 * rec.db alone, copied without its -wal right after the kill: a prefix of
 * the file, which replays; or, when the kill landed while SQLite was copying
 * the -wal into it, a file SQLite's structural check calls damaged (the
 * pages of two states): refused by kvmrr check (and replay), never replayed.
 */
static void check_copy(const char *copy, long long rows, struct kill_counts *c)
{
	long long copied;
	char *out;
	int st;

	if (!has_initial_state(copy))
		return;     /* killed between the initial state's commit and the WAL checkpoint after it */
	st = kvmrr(&out, "check %s", copy);
	if (st == 2 && strstr(out, "structural check failed")) {
		printf("# the copy of rec.db alone was caught in a WAL checkpoint: %s", out);
		c->damaged_copies++;
		free(out);
		return;
	}
	TEST_ASSERT(st == 3, "check of the copy of rec.db: status %d, wanted 3 (sound, incomplete):\n%s", st, out);
	free(out);
	copied = exit_rows(copy);
	TEST_ASSERT(copied <= rows, "the copy of rec.db has %lld exits, rec.db with its -wal %lld", copied, rows);
	TEST_ASSERT_EQ(replay_prefix("", copy, -1), copied);
	c->copies++;
	c->lost_in_copy += rows - copied;
}

/* Killed before the initial state was committed: replay refuses the file, clearly. */
static void check_no_initial_state(const char *rec)
{
	char *out;
	int st = kvmrr(&out, "replay %s", rec);

	TEST_ASSERT(st == STATUS_REPLAY_ERROR && strstr(out, "rec.db"),
		    "replay of a recording killed during start-up: status %d (wanted %d and a message naming "
		    "the file):\n%s", st, STATUS_REPLAY_ERROR, out);
	free(out);
}

static bool has_initial_state(const char *rec)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	bool ok = false;

	if (access(rec, F_OK) || sqlite3_open_v2(rec, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return false;
	}
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM meta WHERE key = 'tsc_base'", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		ok = sqlite3_column_int(st, 0) == 1;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return ok;
}

/* One kill at a random moment; returns the kvmrr pid and the rows in its file (-1 if none). */
static long long kill_once(int i, uint64_t *rnd, struct kill_counts *c, pid_t *pid)
{
	static const char *const guests[][2] = { { "exits", "n=1000000000" }, { "timer", "n=100000000" } };
	const char *which = getenv("KVMRR_KILL_GUESTS");
	bool timer = which && strstr(which, "timer"), exits = !which || strstr(which, "exits");
	const char *const *g = guests[timer && (!exits || tt_rand(rnd) % 2)];
	bool early = i % 4 == 1;     /* kill 1 of the 3 in CI is early */
	int ms = early ? (int)(tt_rand(rnd) % EARLY_MS) : EARLY_MS + (int)(tt_rand(rnd) % (LATE_MS - EARLY_MS));
	long long seen = -1, rows = -1;
	struct e2e_run r;
	char copy[128];

	e2e_start(&r, g[0], (const char *const[]){ "--checkpoint-every", "0.05", "--cmdline", g[1], NULL });
	usleep((useconds_t)ms * 1000);
	if (!early)
		seen = live_rows(r.rec);
	kill(r.pid, SIGKILL);
	e2e_wait(&r);
	*pid = r.pid;
	printf("# kill %d: %s killed after %d ms\n", i, g[0], ms);
	TEST_ASSERT(r.status == 128 + SIGKILL, "kvmrr record %s ended with status %d before the kill at %d ms: %s",
		    g[0], r.status, ms, r.stderr_text);
	c->kills++;
	snprintf(copy, sizeof(copy), "%s/copy.db", r.dir);
	copy_file(r.rec, copy);     /* first: opening rec.db read-write would move the -wal into it */
	if (!has_initial_state(r.rec)) {
		TEST_ASSERT(seen < 0, "a reader saw %lld exits in %s, but it has no initial state", seen, r.rec);
		check_no_initial_state(r.rec);
		c->no_initial_state++;
	} else {
		check_recording(r.rec, seen, rnd, env_count("KVMRR_KILL_CHECKPOINTS", 2), c);
		rows = exit_rows(r.rec);
		check_copy(copy, rows, c);
	}
	e2e_free(&r);
	tt_cleanup(r.dir);
	return rows;
}

static void print_counts(const char *what, const struct kill_counts *c)
{
	printf("# %s: %d kills: %d during start-up (refused, status 2), %d replayed (%lld exits), %d copies of "
	       "rec.db alone replayed (%lld exits fewer than with the -wal), %d caught in a WAL checkpoint "
	       "(refused as damaged), %d of %d checkpoints sought from (%d past the file's last exit, skipped by "
	       "replay)\n", what, c->kills, c->no_initial_state, c->replayed, c->rows, c->copies, c->lost_in_copy,
	       c->damaged_copies, c->checkpoints, c->checkpoint_tries, c->past_the_end);
	TEST_ASSERT(c->replayed > 0, "%s: no kill left a recording to replay", what);
}

TEST(kill_during_record)
{
	uint64_t rnd = campaign_seed("kill -9 during record");
	int n = env_count("KVMRR_KILL_ITERATIONS", 3);
	struct kill_counts c = { 0 };
	pid_t pid;

	test_require_kvm();
	for (int i = 0; i < n; i++)
		kill_once(i, &rnd, &c, &pid);
	print_counts("without LTTng", &c);
}

/* Exit events of process pid in the trace: their count, and they must be seq 0, 1, 2, ... */
static long long trace_exits(const char *tracedir, pid_t pid)
{
	char cmd[512], line[8192];
	long long n = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "babeltrace2 %s 2>/dev/null", tracedir);
	p = popen(cmd, "r");
	TEST_ASSERT(p, "%s", cmd);
	while (fgets(line, sizeof(line), p)) {
		const char *v = strstr(line, "vpid = "), *s = strstr(line, "seq = ");

		if (!v || atoi(v + 7) != pid || !strstr(line, "kvmrr:exit:") || !s)
			continue;
		if (atoll(s + 6) == n)
			n++;
	}
	pclose(p);
	return n;
}

TEST(kill_during_record_with_lttng)
{
	uint64_t rnd = campaign_seed("kill -9 during record with LTTng");
	int n = env_count("KVMRR_KILL_ITERATIONS", 3);
	struct kill_counts c = { 0 };
	long long rows[64];
	pid_t pids[64];
	char tracedir[128];
	struct lt lt;

	test_require_kvm();
	TEST_ASSERT(!access("/usr/bin/lttng-sessiond", X_OK) && !access("/usr/bin/babeltrace2", X_OK),
		    "lttng-sessiond or babeltrace2 is not installed: scripts/install-deps installs them");
	n = n > 64 ? 64 : n;
	lt_start(&lt);
	setenv("LTTNG_UST_ALLOW_BLOCKING", "1", 1);
	for (int i = 0; i < n; i++)
		rows[i] = kill_once(i, &rnd, &c, &pids[i]);
	lt_stop(&lt);
	snprintf(tracedir, sizeof(tracedir), "%s/trace", lt.home);
	for (int i = 0; i < n; i++) {
		long long events;

		if (rows[i] < 0)
			continue;
		events = trace_exits(tracedir, pids[i]);
		printf("# kill %d: %lld exits in the file, %lld in the trace\n", i, rows[i], events);
		TEST_ASSERT(events >= rows[i], "kill %d: the trace has exits 0..%lld, the file %lld exits", i,
			    events - 1, rows[i]);
	}
	print_counts("with LTTng", &c);
	tt_cleanup(lt.home);
}

/*
 * The checkpoint is written by the vCPU thread, the exit rows by the writer
 * thread: a kill can leave a checkpoint whose exit never reached the file.
 * Replay starts from the one before it (it used to restore it and replay
 * nothing, "0 exits, identical").
 */
TEST(checkpoint_past_the_last_exit_is_not_a_start)
{
	struct e2e_run r;
	long long ck, before, rows;
	char sql[256];
	sqlite3 *db;

	test_require_kvm();
	e2e_record(&r, "exits", (const char *const[]){ "--checkpoint-every", "0.002", "--cmdline", "n=20000", NULL });
	TEST_ASSERT(r.status == 1, "record: status %d: %s", r.status, r.stderr_text);
	db = tt_open(r.rec);
	TEST_ASSERT(tt_int(db, "SELECT count(*) FROM checkpoint") >= 3, "fewer than 3 checkpoints");
	ck = tt_int(db, "SELECT seq FROM checkpoint ORDER BY seq LIMIT 1 OFFSET 2");
	/* The latest checkpoint whose exit stays (checkpoints can be exits apart on a loaded machine). */
	snprintf(sql, sizeof(sql), "SELECT coalesce(max(seq), -1) FROM checkpoint WHERE seq < %lld", ck - 3);
	before = tt_int(db, sql);
	/* As a kill leaves it: exits from ck - 3 on not yet written, no end. */
	snprintf(sql, sizeof(sql), "DELETE FROM exit WHERE seq >= %lld; UPDATE meta SET value = '0' "
		 "WHERE key = 'complete'; DELETE FROM meta WHERE key IN ('exits', 'end')", ck - 3);
	TEST_ASSERT(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(db));
	test_reseal(db);
	rows = tt_int(db, "SELECT count(*) FROM exit");
	sqlite3_close(db);
	snprintf(sql, sizeof(sql), "--from-checkpoint %lld", ck);
	TEST_ASSERT_EQ(replay_prefix(sql, r.rec, before), rows - 1 - before);
	snprintf(sql, sizeof(sql), "--jobs 2");
	TEST_ASSERT_EQ(replay_prefix(sql, r.rec, before), rows - 1 - before);
	e2e_free(&r);
	tt_cleanup(r.dir);
}

TEST_MAIN()
