/* SPDX-License-Identifier: MIT */
/*
 * Replay beyond "identical": a guest that branches on RDTSC is flagged
 * divergent; --until shows the recorded state at that seq; files that are no
 * readable recording get status 2 and a clear message; --json parses.
 */
#include <linux/kvm.h>

#include "tests/e2e/e2e.h"
#include "tests/reseal.h"

static void rec_path(char *buf, size_t len, const char *dir, const char *name)
{
	snprintf(buf, len, "%s/%s.db", dir, name);
}

/* With --tsc native the rdtsc guest's exits depend on the TSC: no replay of it may say identical. */
TEST(rdtsc_diverges)
{
	char dir[64], rec[128];

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	rec_path(rec, sizeof(rec), dir, "rdtsc");
	for (int i = 0; i < 3; i++) {
		struct e2e_cmd r, p;

		e2e_record(&r, dir, rec, "rdtsc", "--tsc native");
		E2E_ASSERT(&r, r.status == 1, "record rdtsc: status %d", r.status);
		e2e_replay(&p, dir, rec, "-q");
		E2E_ASSERT(&p, p.status == 1, "replay of rdtsc (round %d): status %d, wanted 1 (diverged)", i,
			   p.status);
		E2E_ASSERT(&p, !e2e_identical(&p) && e2e_divergence_seq(&p) >= 0,
			   "no divergence reported for the rdtsc guest");
		e2e_free(&r);
		e2e_free(&p);
	}
	e2e_cleanup(dir);
}

/* "name=hex" from the register dump; fails when missing. */
static unsigned long long dumped(const struct e2e_cmd *c, const char *name)
{
	char key[16];
	const char *p;
	unsigned long long v;

	snprintf(key, sizeof(key), "%s=", name);
	p = strstr(c->err, key);
	while (p && p != c->err && p[-1] != ' ')   /* "rax=" must not match inside "r8 =..." etc. */
		p = strstr(p + 1, key);
	E2E_ASSERT(c, p && sscanf(p + strlen(key), "%llx", &v) == 1, "no %s in the register dump", name);
	return v;
}

/* `replay -q --until K-1 REC`: status 0, "stopped after seq K-1", and the registers of want. */
static void until_shows(const char *dir, const char *rec, const struct kvm_regs *want, unsigned int k)
{
	const struct { const char *name; unsigned long long v; } regs[] = {
		{ "rip", want->rip }, { "rflags", want->rflags }, { "rax", want->rax }, { "rbx", want->rbx },
		{ "rcx", want->rcx }, { "rdx", want->rdx }, { "rsi", want->rsi }, { "rdi", want->rdi },
		{ "rsp", want->rsp }, { "rbp", want->rbp }, { "r8 ", want->r8 }, { "r9 ", want->r9 },
		{ "r10", want->r10 }, { "r11", want->r11 }, { "r12", want->r12 }, { "r13", want->r13 },
		{ "r14", want->r14 }, { "r15", want->r15 },
	};
	struct e2e_cmd p;
	char popts[64];

	snprintf(popts, sizeof(popts), "-q --until %u", k - 1);
	e2e_replay(&p, dir, rec, popts);
	E2E_ASSERT(&p, p.status == 0, "replay --until: status %d, wanted 0", p.status);
	snprintf(popts, sizeof(popts), "replay: stopped after seq %u ", k - 1);
	E2E_HAS(&p, p.err, popts);
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		E2E_ASSERT(&p, dumped(&p, regs[i].name) == regs[i].v,
			   "%s at seq %u: replay printed 0x%llx, the recording has 0x%llx", regs[i].name,
			   k - 1, dumped(&p, regs[i].name), regs[i].v);
	e2e_free(&p);
}

/*
 * Record with --max-exits K: the final state is the state after exit K-1.
 * `replay --until K-1` must print the same registers. A guest whose exits do
 * not depend on time (whole) is also recorded to its end, and `replay
 * --until K-1` of that recording, which stops in its middle, must print them
 * too.
 */
static void until_matches(const char *guest, const char *opts, unsigned int k, bool whole)
{
	struct e2e_cmd r;
	struct kvm_regs want;
	char dir[64], rec[128], ropts[256];
	size_t len;
	void *blob;
	sqlite3 *db;

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	rec_path(rec, sizeof(rec), dir, guest);
	snprintf(ropts, sizeof(ropts), "--max-exits %u %s", k, opts ? opts : "");
	/*
	 * A kick (KVM_EXIT_INTR, more frequent on a loaded host) as the last
	 * exit leaves the guest at a point no exit marks, which replay does
	 * not reach: record again then.
	 */
	for (int tries = 0;; tries++) {
		e2e_record(&r, dir, rec, guest, ropts);
		E2E_ASSERT(&r, r.status == 10, "record --max-exits: status %d, wanted 10", r.status);
		db = e2e_db_open(rec);
		if (e2e_db_int(db, "SELECT reason FROM exit WHERE seq = %u", k - 1) != KVM_EXIT_INTR)
			break;
		sqlite3_close(db);
		e2e_free(&r);
		TEST_ASSERT(tries < 5, "exit %u was a KVM_EXIT_INTR in 6 recordings of %s", k - 1, guest);
	}
	TEST_ASSERT_EQ(e2e_db_int(db, "SELECT max(seq) FROM exit"), k - 1);
	blob = e2e_db_blob(db, &len, "SELECT data FROM vcpu_state WHERE vcpu = 0 AND phase = 'final' AND kind = 'regs'");
	sqlite3_close(db);
	TEST_ASSERT(blob && len == sizeof(want), "final regs blob: %zu bytes, wanted %zu", len, sizeof(want));
	memcpy(&want, blob, sizeof(want));
	free(blob);
	e2e_free(&r);
	until_shows(dir, rec, &want, k);
	if (whole) {
		rec_path(rec, sizeof(rec), dir, "whole");
		e2e_record(&r, dir, rec, guest, opts);
		E2E_ASSERT(&r, r.status == 1, "record %s %s: status %d, wanted 1", guest, opts ? opts : "", r.status);
		e2e_free(&r);
		until_shows(dir, rec, &want, k);
	}
	printf("# %s --until %u: rip 0x%llx rax 0x%llx as recorded%s\n", guest, k - 1, want.rip, want.rax,
	       whole ? ", also in the middle of a whole recording" : "");
	e2e_cleanup(dir);
}

/* Stops after an OUT, after an IN (whose data completes on the next entry), and in a timer run. */
TEST(until_registers)
{
	until_matches("exits", "--cmdline n=1000", 100, true);
	until_matches("exits", "--cmdline n=1000", 101, true);
	until_matches("exits", "--cmdline \"n=1000 cpl3\"", 77, false);
	until_matches("timer", NULL, 60, false);
	until_matches("hello", NULL, 1, true);
}

/* --until on a row the VMM caused: the replay stops at the exit before it and says so. */
TEST(until_on_intr_row)
{
	struct e2e_cmd r, p;
	char dir[64], rec[128], sql[160];
	long long n, last;
	sqlite3 *db;

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	rec_path(rec, sizeof(rec), dir, "hello");
	e2e_record(&r, dir, rec, "hello", NULL);
	E2E_ASSERT(&r, r.status == 1, "record hello: status %d", r.status);
	/* Make seq 20 a kick: rewrite the row as KVM_EXIT_INTR with no data. */
	db = e2e_db_open(rec);
	n = e2e_db_int(db, "SELECT count(*) FROM exit");
	snprintf(sql, sizeof(sql), "UPDATE exit SET reason = %d, addr = NULL, size = NULL, dir = NULL, "
		 "data = NULL WHERE seq = 20", KVM_EXIT_INTR);
	e2e_db_exec(db, "%s", sql);
	sqlite3_close(db);
	e2e_replay(&p, dir, rec, "-q --until 20");
	E2E_ASSERT(&p, p.status == 0, "status %d", p.status);
	E2E_HAS(&p, p.err, "replay: stopped after seq 19 ");
	E2E_HAS(&p, p.err, "seq 20-20 are exits the VMM caused");
	e2e_free(&p);
	/* Past the end: refused up front, naming the last seq the recording has. */
	last = n + 100;
	snprintf(sql, sizeof(sql), "-q --until %lld", last);
	e2e_replay(&p, dir, rec, sql);
	E2E_ASSERT(&p, p.status == 2, "status %d", p.status);
	snprintf(sql, sizeof(sql), "holds exits 0 to %lld only", n - 1);
	E2E_HAS(&p, p.err, sql);
	e2e_free(&p);
	/* Without --until the whole replay diverges at the exit after the rewritten row. */
	e2e_replay(&p, dir, rec, "-q");
	E2E_ASSERT(&p, p.status == 1, "status %d", p.status);
	E2E_ASSERT(&p, e2e_divergence_seq(&p) == 21, "divergence at %lld, wanted 21", e2e_divergence_seq(&p));
	e2e_free(&p);
	e2e_free(&r);
	e2e_cleanup(dir);
}

/* A bad file: status 2, "kvmrr replay: " + the path + why, and no crash. */
static void bad_file(const char *dir, const char *path, const char *why)
{
	struct e2e_cmd c;

	e2e_replay(&c, dir, path, NULL);
	E2E_ASSERT(&c, c.status == 2, "replay %s: status %d, wanted 2", path, c.status);
	E2E_HAS(&c, c.err, "kvmrr replay: ");
	E2E_HAS(&c, c.err, path);
	E2E_HAS(&c, c.err, why);
	e2e_free(&c);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	TEST_ASSERT(f, "create %s", path);
	fputs(text, f);
	fclose(f);
}

/*
 * A copy of a good recording with SQL applied, sealed anew unless it drops a
 * table (tests/reseal.h): the check of each value is under test, as if a
 * recorder had written it, not the seals.
 */
static void broken_copy(const char *good, const char *path, const char *sql)
{
	sqlite3 *db;

	e2e_copy(good, path);
	db = e2e_db_open(path);
	e2e_db_exec(db, "%s", sql);
	if (!strstr(sql, "DROP"))
		test_reseal(db);
	sqlite3_close(db);
}

TEST(bad_files)
{
	static const char *const broken[][3] = {
		{ "v9", "UPDATE meta SET value = '9' WHERE key = 'format_version'", "format version 9" },
		{ "v0", "UPDATE meta SET value = 'x' WHERE key = 'format_version'", "version" },
		{ "otherformat", "UPDATE meta SET value = 'sqlite-thing' WHERE key = 'format'", "not a kvmrr recording" },
		{ "nometa", "DROP TABLE meta", "not a kvmrr recording" },
		{ "noexit", "DROP VIEW IF EXISTS exit_timeline; DROP VIEW IF EXISTS exit_stats; "
			    "DROP VIEW IF EXISTS pio_stats; DROP VIEW IF EXISTS mmio_stats; DROP TABLE exit",
		  "no such table: exit" },
		{ "noevent", "DROP VIEW IF EXISTS events; DROP TABLE event", "no such table: event" },
		{ "nocpuid", "DROP TABLE cpuid", "cpuid" },
		{ "nopages", "DROP TABLE mem_page", "mem_page" },
		{ "nostate", "DELETE FROM vcpu_state WHERE phase = 'initial'", "initial" },
		{ "shortregs", "UPDATE vcpu_state SET data = X'0102' WHERE phase = 'initial' AND kind = 'regs'",
		  "regs" },
		{ "nomemsize", "DELETE FROM meta WHERE key = 'mem_size'", "mem_size" },
		{ "noexits", "DELETE FROM exit", "no exits" },
	};
	struct e2e_cmd r;
	char dir[64], good[128], path[160];

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/missing.db", dir);
	bad_file(dir, path, "unable to open");
	snprintf(path, sizeof(path), "%s/text.db", dir);
	write_file(path, "this is a text file, not a recording\n");
	bad_file(dir, path, "not a kvmrr recording");
	snprintf(path, sizeof(path), "%s/empty.db", dir);
	write_file(path, "");
	bad_file(dir, path, "not a kvmrr recording");
	snprintf(path, sizeof(path), "%s/other.db", dir);   /* SQLite, but not ours */
	{
		sqlite3 *db = NULL;

		TEST_ASSERT(sqlite3_open(path, &db) == SQLITE_OK, "create %s", path);
		e2e_db_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES (1)");
		sqlite3_close(db);
	}
	bad_file(dir, path, "not a kvmrr recording");

	snprintf(good, sizeof(good), "%s/good.db", dir);
	e2e_record(&r, dir, good, "hello", NULL);
	E2E_ASSERT(&r, r.status == 1, "record hello: status %d", r.status);
	e2e_free(&r);
	for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s.db", dir, broken[i][0]);
		broken_copy(good, path, broken[i][1]);
		bad_file(dir, path, broken[i][2]);
	}
	e2e_cleanup(dir);
}

/* python3 says whether stdin is one JSON document. */
static void json_parses(const char *dir, const struct e2e_cmd *c)
{
	char path[128];
	struct e2e_cmd py;
	FILE *f;

	snprintf(path, sizeof(path), "%s/report.json", dir);
	f = fopen(path, "w");
	TEST_ASSERT(f, "create %s", path);
	fwrite(c->out, 1, c->out_len, f);
	fclose(f);
	e2e_sh(&py, dir, 30, "python3 -c \"import json,sys; json.load(sys.stdin)\" < %s", path);
	E2E_ASSERT(&py, py.status == 0, "--json output does not parse:\n%s", c->out);
	e2e_free(&py);
}

TEST(json)
{
	struct e2e_cmd r, p;
	char dir[64], rec[128], bad[128], sql[128];
	sqlite3 *db;
	long long s;

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	rec_path(rec, sizeof(rec), dir, "hello");
	e2e_record(&r, dir, rec, "hello", NULL);
	E2E_ASSERT(&r, r.status == 1, "record hello: status %d", r.status);

	e2e_replay(&p, dir, rec, "--json");
	E2E_ASSERT(&p, p.status == 0, "replay --json: status %d", p.status);
	json_parses(dir, &p);
	E2E_HAS(&p, p.out, "\"result\":\"identical\"");
	E2E_ASSERT(&p, !strstr(p.out, "Hello from kvmrr guest"), "--json mixed the console into the JSON");
	e2e_free(&p);

	rec_path(bad, sizeof(bad), dir, "tampered");
	e2e_copy(rec, bad);
	db = e2e_db_open(bad);
	s = e2e_db_int(db, "SELECT min(seq) FROM exit WHERE addr = 1016 AND dir = 1 AND seq >= 20");
	snprintf(sql, sizeof(sql), "UPDATE exit SET data = X'7e' WHERE seq = %lld", s);
	e2e_db_exec(db, "%s", sql);
	sqlite3_close(db);
	e2e_replay(&p, dir, bad, "--json");
	E2E_ASSERT(&p, p.status == 1, "replay --json of a tampered copy: status %d", p.status);
	json_parses(dir, &p);
	E2E_HAS(&p, p.out, "\"result\":\"diverged\"");
	snprintf(sql, sizeof(sql), "\"seq\":%lld,", s);
	E2E_HAS(&p, p.out, sql);
	e2e_free(&p);

	e2e_replay(&p, dir, rec, "--json --until 10");
	E2E_ASSERT(&p, p.status == 0, "replay --json --until: status %d", p.status);
	json_parses(dir, &p);
	e2e_free(&p);
	e2e_free(&r);
	e2e_cleanup(dir);
}

TEST_MAIN()
