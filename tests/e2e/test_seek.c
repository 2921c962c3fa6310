/* SPDX-License-Identifier: MIT */
/*
 * Checkpoints (stream/checkpoint.h): the state `kvmrr replay --until SEQ`
 * reaches from the recording's latest checkpoint equals the state a replay
 * from the initial state reaches (registers, special registers, memory and
 * XSAVE digests), for every bundled guest and many SEQs: each checkpoint,
 * the exit after it, around asynchronous points, the last exit. A replay
 * from a checkpoint to the end is identical; a changed checkpoint row is
 * refused; `kvmrr inspect` shows the state at a seq.
 */
#include "tests/e2e/e2e.h"
#include "tests/reseal.h"

#define MAX_SEQS 24

/* The --until report without what depends on where the replay started. */
static char *state_of(const struct e2e_cmd *c)
{
	char *s = strdup(c->err), *out = calloc(1, strlen(c->err) + 1);
	size_t used = 0;

	TEST_ASSERT(s && out, "malloc");
	for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
		if (!strncmp(line, "replay: ", 8) || !strncmp(line, "asynchronous events:", 20))
			continue;
		used += (size_t)sprintf(out + used, "%s\n", line);
	}
	free(s);
	return out;
}

static int add_seq(long long *seqs, int n, long long s, long long last)
{
	if (s < 0 || s > last || n == MAX_SEQS)
		return n;
	for (int i = 0; i < n; i++)
		if (seqs[i] == s)
			return n;
	seqs[n] = s;
	return n + 1;
}

/* Every SEQ worth checking in this recording. */
static int pick_seqs(const char *rec, long long *seqs)
{
	sqlite3 *db = e2e_db_open(rec);
	long long last = e2e_db_int(db, "SELECT max(seq) FROM exit"), n_ck, n_as;
	int n = 0;

	n_ck = e2e_db_int(db, "SELECT count(*) FROM checkpoint");
	n_as = e2e_db_int(db, "SELECT count(*) FROM async_point");
	for (long long i = 0; i < n_ck && i < 6; i++) {
		long long s = e2e_db_int(db, "SELECT seq FROM checkpoint ORDER BY seq LIMIT 1 OFFSET %lld", i);

		n = add_seq(seqs, n, s, last);
		n = add_seq(seqs, n, s + 1, last);
	}
	for (long long i = 0; i < n_as && i < 3; i++) {
		long long s = e2e_db_int(db, "SELECT seq FROM async_point ORDER BY seq LIMIT 1 OFFSET %lld",
					 i * (n_as / 3));

		n = add_seq(seqs, n, s - 1, last);
		n = add_seq(seqs, n, s, last);
		n = add_seq(seqs, n, s + 1, last);
	}
	n = add_seq(seqs, n, last / 3, last);
	n = add_seq(seqs, n, 2 * last / 3, last);
	n = add_seq(seqs, n, last, last);
	sqlite3_close(db);
	return n;
}

static void seek_equality(const char *guest, const char *opts)
{
	struct e2e_cmd rec, a, b;
	char dir[64], path[128], o[256];
	long long seqs[MAX_SEQS];
	int n, from_ck = 0;

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/rec.db", dir);
	snprintf(o, sizeof(o), "--checkpoint-every 0.002 %s", opts ? opts : "");
	e2e_record(&rec, dir, path, guest, o);
	E2E_ASSERT(&rec, !strstr(rec.err, "incomplete"), "record %s failed", guest);
	n = pick_seqs(path, seqs);
	for (int i = 0; i < n; i++) {
		char *sa, *sb;

		snprintf(o, sizeof(o), "-q --until %lld", seqs[i]);
		e2e_replay(&a, dir, path, o);
		snprintf(o, sizeof(o), "-q --from-start --until %lld", seqs[i]);
		e2e_replay(&b, dir, path, o);
		E2E_ASSERT(&a, a.status == 0, "%s --until %lld: status %d", guest, seqs[i], a.status);
		E2E_ASSERT(&b, b.status == 0, "%s --from-start --until %lld: status %d", guest, seqs[i], b.status);
		E2E_HAS(&a, a.err, "memory digest");
		sa = state_of(&a);
		sb = state_of(&b);
		TEST_ASSERT(strcmp(sa, sb) == 0, "%s at seq %lld: from a checkpoint\n%s\nfrom the start\n%s",
			    guest, seqs[i], sa, sb);
		from_ck += strstr(a.err, "started from the checkpoint") != NULL;
		free(sa);
		free(sb);
		e2e_free(&a);
		e2e_free(&b);
	}
	printf("# %s: %d seqs equal, %d of them reached from a checkpoint\n", guest, n, from_ck);
	TEST_ASSERT(from_ck > 0, "%s: no seq was reached from a checkpoint (none taken?)", guest);
	e2e_free(&rec);
	e2e_cleanup(dir);
}

TEST(seek_exits) { seek_equality("exits", "--cmdline n=20000"); }
TEST(seek_timer) { seek_equality("timer", NULL); }
TEST(seek_preempt_cpl0) { seek_equality("preempt", "--cmdline cpl0"); }
TEST(seek_strio) { seek_equality("strio", NULL); }
TEST(seek_echo)
{
	const char *in = "/tmp/kvmrr-seek-echo.in";
	FILE *f = fopen(in, "w");

	TEST_ASSERT(f && fputs("first line\nsecond line\nEOF\n", f) >= 0 && fclose(f) == 0, "%s", in);
	seek_equality("echo", "--serial-in /tmp/kvmrr-seek-echo.in");
	unlink(in);
}

/* From a checkpoint to the end: identical, final state compared. */
TEST(from_checkpoint_to_the_end)
{
	struct e2e_cmd rec, c;
	char dir[64], path[128], o[64];
	sqlite3 *db;
	long long ck;

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/rec.db", dir);
	e2e_record(&rec, dir, path, "preempt", "--checkpoint-every 0.02 --cmdline cpl0");
	db = e2e_db_open(path);
	ck = e2e_db_int(db, "SELECT seq FROM checkpoint ORDER BY seq LIMIT 1 OFFSET 1");
	sqlite3_close(db);
	snprintf(o, sizeof(o), "-q --from-checkpoint %lld", ck);
	e2e_replay(&c, dir, path, o);
	E2E_ASSERT(&c, c.status == 0, "status %d", c.status);
	E2E_HAS(&c, c.err, "started from the checkpoint after seq");
	E2E_HAS(&c, c.err, " exits, identical");
	E2E_ASSERT(&c, !strstr(c.err, "not compared"), "the final state must be compared");
	e2e_free(&c);
	/* The same from a corrupted final state: caught from a checkpoint too. */
	db = e2e_db_open(path);
	e2e_db_exec(db, "UPDATE meta SET value = 'ff' || substr(value, 3) WHERE key = 'final_mem_digest'");
	test_reseal(db);    /* the final comparison is under test, not the seal of meta */
	sqlite3_close(db);
	e2e_replay(&c, dir, path, o);
	E2E_ASSERT(&c, c.status == 1, "status %d, wanted 1 (final state differs)", c.status);
	e2e_free(&c);
	e2e_free(&rec);
	e2e_cleanup(dir);
}

/* A changed checkpoint row (page, register blob, ticks) is refused, never restored. */
TEST(tampered_checkpoint_refused)
{
	static const char *const edits[] = {
		"UPDATE checkpoint_page SET data = zeroblob(4096) WHERE rowid = (SELECT min(rowid) FROM checkpoint_page)",
		"UPDATE vcpu_state SET data = zeroblob(length(data)) WHERE phase LIKE 'checkpoint %' AND kind = 'regs'",
		"UPDATE checkpoint SET ticks = ticks + 1",
	};
	struct e2e_cmd rec, c;
	char dir[64], path[128], copy[160], o[64];
	sqlite3 *db;
	long long last;

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/rec.db", dir);
	e2e_record(&rec, dir, path, "exits", "--checkpoint-every 0.02 --cmdline n=20000");
	db = e2e_db_open(path);
	last = e2e_db_int(db, "SELECT max(seq) FROM exit");
	TEST_ASSERT(e2e_db_int(db, "SELECT count(*) FROM checkpoint") > 0, "no checkpoint taken");
	sqlite3_close(db);
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		snprintf(copy, sizeof(copy), "%s/t%zu.db", dir, i);
		e2e_copy(path, copy);
		db = e2e_db_open(copy);
		e2e_db_exec(db, "%s", edits[i]);
		TEST_ASSERT(sqlite3_total_changes(db) > 0, "%s changed nothing", edits[i]);
		sqlite3_close(db);
		snprintf(o, sizeof(o), "-q --until %lld", last);
		e2e_replay(&c, dir, copy, o);
		E2E_ASSERT(&c, c.status == 2, "%s: status %d, wanted 2", edits[i], c.status);
		E2E_HAS(&c, c.err, "does not match its digest");
		e2e_free(&c);
	}
	e2e_free(&rec);
	e2e_cleanup(dir);
}

/* inspect: registers, memory and the pages an exit's stretch wrote, as a replay from the start sees them. */
TEST(inspect_at_seq)
{
	struct e2e_cmd rec, a, b;
	char dir[64], path[128];

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/rec.db", dir);
	e2e_record(&rec, dir, path, "exits", "--checkpoint-every 0.02 --cmdline n=20000");
	e2e_sh(&a, dir, 60, "%s inspect %s --at 15000 regs", e2e_kvmrr(), path);
	e2e_replay(&b, dir, path, "-q --from-start --until 15000");
	E2E_ASSERT(&a, a.status == 0, "inspect regs: status %d", a.status);
	E2E_HAS(&a, a.out, "rip=");
	{
		/* The same general-register lines as the full replay's report. */
		char *line = strtok(a.out, "\n");

		for (; line; line = strtok(NULL, "\n"))
			E2E_HAS(&b, b.err, line);
	}
	e2e_free(&a);
	e2e_sh(&a, dir, 60, "%s inspect %s --at 15000 phys 0x100000 32", e2e_kvmrr(), path);
	E2E_ASSERT(&a, a.status == 0, "inspect phys: status %d", a.status);
	E2E_HAS(&a, a.out, "0000000000100000  ");
	e2e_free(&a);
	e2e_sh(&a, dir, 60, "%s inspect %s --at 15000 mem 0x100000 32", e2e_kvmrr(), path);
	E2E_ASSERT(&a, a.status == 0, "inspect mem: status %d", a.status);
	E2E_HAS(&a, a.out, "0000000000100000  ");
	e2e_free(&a);
	e2e_sh(&a, dir, 60, "%s inspect %s --at 15000 pages-changed", e2e_kvmrr(), path);
	E2E_ASSERT(&a, a.status == 0, "inspect pages-changed: status %d", a.status);
	E2E_HAS(&a, a.out, "pages written by the guest between exit 14999 and exit 15000");
	e2e_free(&a);
	e2e_sh(&a, dir, 60, "%s inspect %s --at 15000 mem 0x7000000000 16", e2e_kvmrr(), path);
	E2E_ASSERT(&a, a.status == 2, "unmapped: status %d, wanted 2", a.status);
	E2E_HAS(&a, a.err, "is not mapped");
	e2e_free(&a);
	e2e_sh(&a, dir, 60, "%s inspect %s --at 99999999 regs", e2e_kvmrr(), path);
	E2E_ASSERT(&a, a.status == 2, "past the end: status %d, wanted 2", a.status);
	e2e_free(&a);
	e2e_free(&b);
	e2e_free(&rec);
	e2e_cleanup(dir);
}

/* --jobs 2: the same verdict as one process, and on a tampered copy the same first divergence. */
static void jobs_same_verdict(const char *guest, const char *opts)
{
	struct e2e_cmd rec, one, two;
	char dir[64], path[128], copy[160], o[256];
	sqlite3 *db;
	long long s;

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/rec.db", dir);
	snprintf(o, sizeof(o), "--checkpoint-every 0.01 %s", opts);
	e2e_record(&rec, dir, path, guest, o);
	e2e_replay(&one, dir, path, "-q");
	e2e_replay(&two, dir, path, "--jobs 2");
	E2E_ASSERT(&one, one.status == 0, "%s --jobs 1: status %d", guest, one.status);
	E2E_ASSERT(&two, two.status == 0, "%s --jobs 2: status %d", guest, two.status);
	E2E_HAS(&two, two.err, "segments in up to 2 processes, each identical");
	e2e_free(&one);
	e2e_free(&two);
	/* A byte the guest wrote, changed two thirds of the way in: both report that seq. */
	db = e2e_db_open(path);
	TEST_ASSERT(e2e_db_int(db, "SELECT count(*) FROM checkpoint") >= 2, "%s: fewer than 2 checkpoints", guest);
	s = e2e_db_int(db, "SELECT min(seq) FROM exit WHERE dir = 1 AND reason = 2 AND length(data) = 1 AND "
		       "seq > 2 * (SELECT max(seq) FROM exit) / 3");
	sqlite3_close(db);
	snprintf(copy, sizeof(copy), "%s/t.db", dir);
	e2e_copy(path, copy);
	db = e2e_db_open(copy);
	e2e_db_exec(db, "UPDATE exit SET data = X'a5' WHERE seq = %lld", s);
	sqlite3_close(db);
	e2e_replay(&one, dir, copy, "-q");
	e2e_replay(&two, dir, copy, "--jobs 2");
	E2E_ASSERT(&one, one.status == 1 && e2e_divergence_seq(&one) == s, "--jobs 1 on seq %lld", s);
	E2E_ASSERT(&two, two.status == 1 && e2e_divergence_seq(&two) == s, "--jobs 2 on seq %lld", s);
	e2e_free(&one);
	e2e_free(&two);
	e2e_free(&rec);
	e2e_cleanup(dir);
}

TEST(jobs_exits) { jobs_same_verdict("exits", "--cmdline n=20000"); }
TEST(jobs_preempt_cpl0) { jobs_same_verdict("preempt", "--cmdline cpl0"); }
TEST(jobs_timer) { jobs_same_verdict("timer", ""); }
TEST(jobs_strio) { jobs_same_verdict("strio", ""); }

/* A recording of format 1 (no checkpoint tables) still replays. */
TEST(format1_without_checkpoints_replays)
{
	struct e2e_cmd rec, c;
	char dir[64], path[128];
	sqlite3 *db;

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/rec.db", dir);
	e2e_record(&rec, dir, path, "hello", NULL);
	db = e2e_db_open(path);
	/* (format 1's memory digest is another function: tested in tests/tracer) */
	e2e_db_exec(db, "DROP TABLE checkpoint; DROP TABLE checkpoint_page; DROP TABLE seal; "
		    "UPDATE meta SET value = '1' WHERE key = 'format_version'; "
		    "DELETE FROM meta WHERE key = 'final_mem_digest'");
	sqlite3_close(db);
	e2e_replay(&c, dir, path, "-q --until 30");
	E2E_ASSERT(&c, c.status == 0, "status %d", c.status);
	e2e_free(&c);
	e2e_replay(&c, dir, path, "-q");
	E2E_ASSERT(&c, c.status == 0 && e2e_identical(&c), "status %d", c.status);
	e2e_free(&c);
	e2e_free(&rec);
	e2e_cleanup(dir);
}

TEST_MAIN()
