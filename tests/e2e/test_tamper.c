/* SPDX-License-Identifier: MIT */
/*
 * Replays of tampered copies of real recordings: every change to what the
 * guest was given or did is reported as a divergence (status 1) at its seq
 * or at the first exit its effect reaches, never as identical. A recording
 * cut short replays its prefix and says so.
 */
#include "tests/e2e/e2e.h"
#include "tests/reseal.h"

#define PORT_LSR 0x3fd
#define PORT_THR 0x3f8
#define PORT_RTC_DATA 0x71
#define PORT_ENTROPY 0x5e0
#define MMIO_ID 0xd0000018ULL
#define MMIO_TIME 0xd0000008ULL
#define EVENT_IRQ 1

struct fixture {
	char dir[64];
	char orig[128];
	struct e2e_cmd rec;
};

static void fixture_record(struct fixture *fx, const char *guest, const char *opts)
{
	test_require_kvm();
	e2e_tmpdir(fx->dir, sizeof(fx->dir));
	snprintf(fx->orig, sizeof(fx->orig), "%s/orig.db", fx->dir);
	e2e_record(&fx->rec, fx->dir, fx->orig, guest, opts);
	E2E_ASSERT(&fx->rec, fx->rec.status == 1, "record %s: status %d", guest, fx->rec.status);
}

static void fixture_done(struct fixture *fx)
{
	e2e_free(&fx->rec);
	e2e_cleanup(fx->dir);
}

/* One value from the original recording. */
static long long orig_int(struct fixture *fx, const char *sql, ...)
{
	sqlite3 *db = e2e_db_open(fx->orig);
	char *q;
	long long v;
	va_list ap;

	va_start(ap, sql);
	q = sqlite3_vmprintf(sql, ap);
	va_end(ap);
	v = e2e_db_int(db, "%s", q);
	sqlite3_free(q);
	sqlite3_close(db);
	return v;
}

/* Copy the recording to NAME.db, run the SQL on the copy, replay it with opts. */
static void tamper(struct fixture *fx, struct e2e_cmd *c, const char *name, const char *opts,
		   const char *sql)
{
	e2e_tamper(c, fx->dir, fx->orig, name, opts, sql);
}

/* THRE cleared in one LSR read: the guest polls again, so the next exit is an IN, not the THR write. */
TEST(in_uart_lsr)
{
	struct fixture fx;
	struct e2e_cmd c;
	char sql[256];
	long long s;

	fixture_record(&fx, "hello", NULL);
	s = orig_int(&fx, "SELECT min(seq) FROM exit WHERE addr = %d AND dir = 0 AND seq >= 40", PORT_LSR);
	TEST_ASSERT_EQ(orig_int(&fx, "SELECT addr FROM exit WHERE seq = %lld", s + 1), PORT_THR);
	snprintf(sql, sizeof(sql), "UPDATE exit SET data = X'00' WHERE seq = %lld", s);
	tamper(&fx, &c, "lsr", NULL, sql);
	e2e_diverged(&c, s + 1, s + 1);
	E2E_HAS(&c, c.err, "expected: IO OUT 0x3f8 size 1");
	E2E_HAS(&c, c.err, "actual:   IO IN 0x3fd size 1");
	e2e_free(&c);
	fixture_done(&fx);
}

/* One entropy byte: the guest only hashes it, so the first effect is a digest character printed. */
TEST(in_entropy_byte)
{
	struct fixture fx;
	struct e2e_cmd c;
	char sql[256], lit[64];
	sqlite3 *db;
	size_t len;
	void *blob;
	long long s, d;

	fixture_record(&fx, "entropy", NULL);
	s = orig_int(&fx, "SELECT seq FROM exit WHERE addr = %d ORDER BY seq LIMIT 1 OFFSET 100", PORT_ENTROPY);
	db = e2e_db_open(fx.orig);
	blob = e2e_db_blob(db, &len, "SELECT data FROM exit WHERE seq = %lld", s);
	sqlite3_close(db);
	TEST_ASSERT(blob && len == 4, "entropy IN seq %lld: %zu data bytes", s, len);
	snprintf(sql, sizeof(sql), "UPDATE exit SET data = %s WHERE seq = %lld",
		 e2e_blob_literal(blob, len, 2, 0x10, lit, sizeof(lit)), s);
	free(blob);
	tamper(&fx, &c, "entropy", NULL, sql);
	d = e2e_diverged(&c, s + 1, 1000000);
	TEST_ASSERT_EQ(orig_int(&fx, "SELECT addr FROM exit WHERE seq = %lld", d), PORT_THR);
	E2E_HAS(&c, c.err, "data written differs");
	e2e_free(&c);
	fixture_done(&fx);
}

/* The RTC seconds: the guest reads the clock twice until both agree; a change makes it read again. */
TEST(in_rtc_seconds)
{
	struct fixture fx;
	struct e2e_cmd c;
	char sql[256];
	long long s;

	fixture_record(&fx, "rtc", NULL);
	s = orig_int(&fx, "SELECT min(seq) FROM exit WHERE addr = %d AND dir = 0 AND seq > "
		     "(SELECT min(seq) FROM exit WHERE addr = 0x70 AND dir = 1 AND data = X'00')", PORT_RTC_DATA);
	snprintf(sql, sizeof(sql), "UPDATE exit SET data = CASE WHEN data = X'59' THEN X'58' ELSE X'59' END "
		 "WHERE seq = %lld", s);
	tamper(&fx, &c, "rtc", NULL, sql);
	e2e_diverged(&c, s, s + 40);
	e2e_free(&c);
	fixture_done(&fx);
}

/* The MMIO ID register: the guest fails at once, printing instead of writing the scratch register. */
TEST(mmio_read_id)
{
	struct fixture fx;
	struct e2e_cmd c;
	char sql[256];
	long long s;

	fixture_record(&fx, "mmio", NULL);
	s = orig_int(&fx, "SELECT min(seq) FROM exit WHERE addr = %lld AND dir = 0", (long long)MMIO_ID);
	snprintf(sql, sizeof(sql), "UPDATE exit SET data = X'00565252' WHERE seq = %lld", s);
	tamper(&fx, &c, "mmio-id", NULL, sql);
	e2e_diverged(&c, s + 1, s + 1);
	E2E_HAS(&c, c.err, "exit reason differs");
	E2E_HAS(&c, c.err, "expected: MMIO write 0xd0000000");
	e2e_free(&c);
	fixture_done(&fx);
}

/* The host-time register going back to 0: the guest's monotonicity check fails right there. */
TEST(mmio_read_time)
{
	struct fixture fx;
	struct e2e_cmd c;
	char sql[256];
	long long s;

	fixture_record(&fx, "mmio", NULL);
	s = orig_int(&fx, "SELECT seq FROM exit WHERE addr = %lld AND dir = 0 ORDER BY seq LIMIT 1 OFFSET 1",
		     (long long)MMIO_TIME);
	snprintf(sql, sizeof(sql), "UPDATE exit SET data = zeroblob(8) WHERE seq = %lld", s);
	tamper(&fx, &c, "mmio-time", NULL, sql);
	e2e_diverged(&c, s + 1, s + 1);
	e2e_free(&c);
	fixture_done(&fx);
}

/* DIR/NAME.db: a copy of the recording with sql run on it, sealed anew or not (tests/reseal.h). */
static void edited_copy(struct fixture *fx, char *path, size_t len, const char *name, const char *sql, bool reseal)
{
	sqlite3 *db;

	snprintf(path, len, "%s/%s.db", fx->dir, name);
	e2e_copy(fx->orig, path);
	db = e2e_db_open(path);
	e2e_db_exec(db, "%s", sql);
	TEST_ASSERT(sqlite3_total_changes(db) > 0, "\"%s\" changed nothing", sql);
	if (reseal)
		test_reseal(db);
	sqlite3_close(db);
}

/* What the guest wrote, and where it was: reported at that very exit. */
TEST(out_data_and_rip)
{
	struct fixture fx;
	struct e2e_cmd c;
	char sql[256];
	long long s;

	fixture_record(&fx, "hello", NULL);
	s = orig_int(&fx, "SELECT min(seq) FROM exit WHERE addr = %d AND dir = 1 AND seq >= 40", PORT_THR);
	snprintf(sql, sizeof(sql), "UPDATE exit SET data = X'21' WHERE seq = %lld AND data != X'21'", s);
	tamper(&fx, &c, "out", NULL, sql);
	e2e_diverged(&c, s, s);
	E2E_HAS(&c, c.err, "data written differs");
	E2E_HAS(&c, c.err, "data 21 at rip");
	e2e_free(&c);

	snprintf(sql, sizeof(sql), "UPDATE exit SET rip = rip + 1 WHERE seq = %lld", s + 3);
	tamper(&fx, &c, "rip", NULL, sql);
	e2e_diverged(&c, s + 3, s + 3);
	E2E_HAS(&c, c.err, "rip differs");
	e2e_free(&c);

	/* --continue-on-divergence: one divergence counted, the run goes on to the end. */
	snprintf(sql, sizeof(sql), "UPDATE exit SET data = X'21' WHERE seq = %lld AND data != X'21'", s);
	tamper(&fx, &c, "continue", "--continue-on-divergence", sql);
	E2E_ASSERT(&c, c.status == 1, "status %d, wanted 1", c.status);
	E2E_HAS(&c, c.err, " 1 divergences; the first:");
	E2E_ASSERT(&c, c.out_len == fx.rec.out_len, "the console (%zu bytes) is not the whole recorded one "
		   "(%zu bytes): the replay stopped", c.out_len, fx.rec.out_len);
	e2e_free(&c);
	fixture_done(&fx);
}

/* A row removed from the middle or the start: the divergence names the missing seq. */
TEST(drop_exit_row)
{
	static const char *const kinds[] = { "addr = 1016 AND dir = 1", "addr = 1021 AND dir = 0" };
	struct fixture fx;
	struct e2e_cmd c;
	char sql[256];
	long long s;

	fixture_record(&fx, "hello", NULL);
	for (size_t i = 0; i < 2; i++) {
		s = orig_int(&fx, "SELECT min(seq) FROM exit WHERE %s AND seq >= 60", kinds[i]);
		snprintf(sql, sizeof(sql), "DELETE FROM exit WHERE seq = %lld", s);
		tamper(&fx, &c, "drop", NULL, sql);
		e2e_diverged(&c, s, s);
		E2E_HAS(&c, c.err, "rows are missing");
		e2e_free(&c);
	}
	tamper(&fx, &c, "drop0", NULL, "DELETE FROM exit WHERE seq = 0");
	e2e_diverged(&c, 0, 0);
	e2e_free(&c);
	fixture_done(&fx);
}

/* A timer interrupt moved one exit later or earlier, or removed. */
TEST(move_injection)
{
	struct fixture fx;
	struct e2e_cmd c;
	char sql[256];
	long long s, rowid;

	fixture_record(&fx, "timer", NULL);
	rowid = orig_int(&fx, "SELECT rowid FROM event WHERE kind = %d ORDER BY rowid LIMIT 1 OFFSET 5", EVENT_IRQ);
	s = orig_int(&fx, "SELECT seq FROM event WHERE rowid = %lld", rowid);

	snprintf(sql, sizeof(sql), "UPDATE event SET seq = seq + 1 WHERE rowid = %lld", rowid);
	tamper(&fx, &c, "later", NULL, sql);
	/* At s when exit s + 1 is a kick (timing): an injection after it is reported at the sync point before. */
	e2e_diverged(&c, s, s + 4);
	e2e_free(&c);

	snprintf(sql, sizeof(sql), "UPDATE event SET seq = seq - 1 WHERE rowid = %lld", rowid);
	tamper(&fx, &c, "earlier", NULL, sql);
	e2e_diverged(&c, s, s + 4);
	e2e_free(&c);

	snprintf(sql, sizeof(sql), "DELETE FROM event WHERE rowid = %lld", rowid);
	tamper(&fx, &c, "removed", NULL, sql);
	e2e_diverged(&c, s + 1, s + 4);
	e2e_free(&c);
	fixture_done(&fx);
}

/*
 * An exit appended after a guest that spins without exits: the replay never
 * gets it, and --timeout turns the wait into a divergence at that seq.
 */
TEST(exit_never_reached)
{
	struct fixture fx;
	struct e2e_cmd c;
	char sql[256];
	long long n;

	test_require_kvm();
	e2e_tmpdir(fx.dir, sizeof(fx.dir));
	snprintf(fx.orig, sizeof(fx.orig), "%s/orig.db", fx.dir);
	e2e_record(&fx.rec, fx.dir, fx.orig, "crash", "--timeout 1 --cmdline mode=spin");
	E2E_ASSERT(&fx.rec, fx.rec.status == 8, "record crash mode=spin: status %d, wanted 8", fx.rec.status);
	n = orig_int(&fx, "SELECT max(seq) + 1 FROM exit");
	snprintf(sql, sizeof(sql), "INSERT INTO exit(seq, vcpu, reason, vmm_ticks, guest_ticks, rip, addr, size, "
		 "dir, data) VALUES (%lld, 0, 2, 0, 0, 4198400, 1016, 1, 1, X'41'); "
		 "UPDATE meta SET value = value + 1 WHERE key = 'exits'", n);
	tamper(&fx, &c, "appended", "-q --timeout 1", sql);
	e2e_diverged(&c, n, n);
	E2E_HAS(&c, c.err, "time budget");
	E2E_HAS(&c, c.err, "actual:   (none)");
	E2E_ASSERT(&c, c.secs < 15, "--timeout 1 took %.1f s", c.secs);
	e2e_free(&c);
	fixture_done(&fx);
}

/* Cut short like a killed recorder: no final state, complete = 0, the last rows gone. */
TEST(incomplete_prefix)
{
	struct fixture fx;
	struct e2e_cmd c;
	char sql[512], want[128];
	long long n, keep;

	fixture_record(&fx, "hello", NULL);
	n = orig_int(&fx, "SELECT count(*) FROM exit");
	keep = n / 2;
	snprintf(sql, sizeof(sql), "UPDATE meta SET value = '0' WHERE key = 'complete'; "
		 "DELETE FROM meta WHERE key IN ('end', 'end_code', 'end_detail', 'final_mem_digest'); "
		 "DELETE FROM vcpu_state WHERE phase = 'final'; DELETE FROM exit WHERE seq >= %lld; "
		 "DELETE FROM event WHERE seq >= %lld", keep, keep);
	tamper(&fx, &c, "prefix", "", sql);
	E2E_ASSERT(&c, c.status == 3, "status %d, wanted 3 (an incomplete recording, its prefix identical)",
		   c.status);
	/* Kicks (KVM_EXIT_INTR rows) are no synchronisation points and are not counted. */
	{
		sqlite3 *db = e2e_db_open(fx.orig);

		snprintf(want, sizeof(want), "replay: %lld exits, identical (%lld synchronisation points",
			 keep, e2e_sync_points(db, keep));
		sqlite3_close(db);
	}
	E2E_HAS(&c, c.err, want);
	E2E_HAS(&c, c.err, "incomplete");
	E2E_ASSERT(&c, c.out_len > 0 && c.out_len < fx.rec.out_len &&
		   memcmp(c.out, fx.rec.out, c.out_len) == 0,
		   "the console (%zu bytes) is not a proper prefix of the recorded one (%zu bytes)",
		   c.out_len, fx.rec.out_len);
	e2e_free(&c);
	fixture_done(&fx);
}

/*
 * Integer columns set beyond 32 bits (or to a value no recorder writes)
 * are refused as corrupt (status 2) by replay: never read back truncated
 * to the original value and replayed "identical"; a replay that stops with
 * --until before such a row replays its prefix as identical.
 */
TEST(out_of_range_columns)
{
	static const char *const edits[] = {
		"UPDATE exit SET size = size + 4294967296 WHERE seq = %lld",
		"UPDATE exit SET reason = reason + 4294967296 WHERE seq = %lld",
		"UPDATE exit SET dir = dir + 4294967296 WHERE seq = %lld",
		"UPDATE exit SET addr = addr + 65536 WHERE seq = %lld",
		"UPDATE exit SET vcpu = 70000 WHERE seq = %lld",
		"UPDATE exit SET size = 'one' WHERE seq = %lld",
		"UPDATE exit SET dir = NULL WHERE seq = %lld",
		"UPDATE exit SET data = zeroblob(70000) WHERE seq = %lld",
	};
	struct fixture fx;
	struct e2e_cmd c;
	char sql[256], name[16], opts[64];
	long long s;

	fixture_record(&fx, "hello", NULL);
	s = orig_int(&fx, "SELECT min(seq) FROM exit WHERE addr = %d AND seq >= 40", PORT_THR);
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		snprintf(sql, sizeof(sql), edits[i], s);
		snprintf(name, sizeof(name), "range%zu", i);
		tamper(&fx, &c, name, NULL, sql);
		E2E_ASSERT(&c, c.status == 2, "%s: status %d, wanted 2 (corrupt recording)", sql, c.status);
		E2E_HAS(&c, c.err, "corrupt recording: exit seq");
		E2E_ASSERT(&c, !e2e_identical(&c), "an impossible value replayed as identical");
		e2e_free(&c);
	}
	/* An error when the replay reaches the row, not before (the recording is read ahead). */
	snprintf(sql, sizeof(sql), "UPDATE exit SET size = 'one' WHERE seq = %lld", s);
	snprintf(opts, sizeof(opts), "-q --until %lld", s - 1);
	tamper(&fx, &c, "until_before", opts, sql);
	E2E_ASSERT(&c, c.status == 0, "--until %lld, before the corrupt row: status %d, wanted 0", s - 1, c.status);
	e2e_free(&c);
	snprintf(opts, sizeof(opts), "-q --until %lld", s);
	tamper(&fx, &c, "until_at", opts, sql);
	E2E_ASSERT(&c, c.status == 2, "--until %lld, the corrupt row: status %d, wanted 2", s, c.status);
	E2E_HAS(&c, c.err, "corrupt recording: exit seq");
	e2e_free(&c);
	fixture_done(&fx);
	fixture_record(&fx, "timer", NULL);
	snprintf(sql, sizeof(sql), "UPDATE event SET value = value + 4294967296 WHERE rowid = "
		 "(SELECT min(rowid) FROM event WHERE kind = %d)", EVENT_IRQ);
	tamper(&fx, &c, "event_range", NULL, sql);
	E2E_ASSERT(&c, c.status == 2, "%s: status %d, wanted 2", sql, c.status);
	E2E_HAS(&c, c.err, "corrupt recording: event seq");
	e2e_free(&c);
	fixture_done(&fx);
}

/*
 * Edits nothing replay compares (a time, an IN's value the guest ignores, a
 * kick's rip, a seal row gone), made without sealing the
 * rows anew: the seals (format 4) make each a corrupt recording (status 2),
 * never "identical". A copy with the unchanged rows stays identical.
 */
TEST(unsealed_edits_are_corrupt)
{
	static const char *const edits[] = {
		"UPDATE exit SET vmm_ticks = vmm_ticks + 1 WHERE seq = 30",
		"UPDATE exit SET guest_ticks = 0 WHERE seq = (SELECT max(seq) FROM exit)",
		"UPDATE exit SET data = X'61' WHERE seq = (SELECT min(seq) FROM exit WHERE addr = 1021 AND dir = 0)",
		"UPDATE exit SET rip = rip + 1 WHERE seq = (SELECT min(seq) FROM exit WHERE reason = 10)",
		"DELETE FROM seal WHERE rowid = (SELECT max(rowid) FROM seal)",
		"UPDATE meta SET value = '3' WHERE key = 'format_version'",    /* seals are not switched off */
	};
	struct fixture fx;
	struct e2e_cmd c;
	char path[256], name[16];

	fixture_record(&fx, "timer", NULL);
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		snprintf(name, sizeof(name), "unsealed%zu", i);
		edited_copy(&fx, path, sizeof(path), name, edits[i], false);
		e2e_replay(&c, fx.dir, path, "-q");
		printf("# %s\n", edits[i]);
		E2E_ASSERT(&c, c.status == 2, "%s: status %d, wanted 2 (corrupt recording)", edits[i], c.status);
		E2E_HAS(&c, c.err, "the recorder sealed");
		E2E_ASSERT(&c, !e2e_identical(&c), "an edited recording replayed as identical");
		e2e_free(&c);
	}
	snprintf(path, sizeof(path), "%s/same.db", fx.dir);
	e2e_copy(fx.orig, path);
	e2e_replay(&c, fx.dir, path, "-q");
	E2E_ASSERT(&c, c.status == 0 && e2e_identical(&c), "the unchanged copy: status %d", c.status);
	e2e_free(&c);
	fixture_done(&fx);
}

/* kvmrr check: sound (0), corrupt (2: a row, a checkpoint) or sound but incomplete (3), without replaying. */
TEST(check_command)
{
	struct fixture fx;
	struct e2e_cmd c;
	char path[256], fixture[512];

	fixture_record(&fx, "timer", "--checkpoint-every 0.002");
	TEST_ASSERT(orig_int(&fx, "SELECT count(*) FROM checkpoint") > 0, "no checkpoint in the recording");
	e2e_sh(&c, fx.dir, 60, "%s check %s", e2e_kvmrr(), fx.orig);
	E2E_ASSERT(&c, c.status == 0, "check of the recording: status %d", c.status);
	E2E_HAS(&c, c.out, ": sound: format 4");
	e2e_free(&c);

	/* A checkpoint's page: its digest, without replaying from it. */
	edited_copy(&fx, path, sizeof(path), "ckpt", "UPDATE checkpoint_page SET data = zeroblob(4096) WHERE rowid = "
		    "(SELECT max(rowid) FROM checkpoint_page)", false);
	e2e_sh(&c, fx.dir, 60, "%s check %s", e2e_kvmrr(), path);
	E2E_ASSERT(&c, c.status == 2, "check of an edited checkpoint page: status %d", c.status);
	E2E_HAS(&c, c.err, "does not match its digest");
	e2e_free(&c);

	edited_copy(&fx, path, sizeof(path), "time", "UPDATE exit SET guest_ticks = guest_ticks + 1 WHERE seq = 3",
		    false);
	e2e_sh(&c, fx.dir, 60, "%s check %s", e2e_kvmrr(), path);
	E2E_ASSERT(&c, c.status == 2, "check of an edited time: status %d", c.status);
	E2E_HAS(&c, c.err, "exit rows of seq -1 to 4095 are not the ones the recorder sealed");
	e2e_free(&c);

	/* As a kill leaves it: the last rows and the end gone, sealed as committed. */
	edited_copy(&fx, path, sizeof(path), "cut", "DELETE FROM exit WHERE seq > 100; DELETE FROM event WHERE "
		    "seq > 100; DELETE FROM async_point WHERE seq > 100; DELETE FROM vcpu_state WHERE phase = "
		    "'final'; UPDATE meta SET value = '0' WHERE key = 'complete'", true);
	e2e_sh(&c, fx.dir, 60, "%s check %s", e2e_kvmrr(), path);
	E2E_ASSERT(&c, c.status == 3, "check of a cut recording: status %d", c.status);
	E2E_HAS(&c, c.out, "incomplete");
	e2e_free(&c);

	/* A file of format 2 has no seals, and says so. */
	TEST_ASSERT(getenv("KVMRR_SOURCE_DIR"), "KVMRR_SOURCE_DIR is not set (run through meson test)");
	snprintf(fixture, sizeof(fixture), "%s/tests/fixtures/timer-killed-v2.db", getenv("KVMRR_SOURCE_DIR"));
	e2e_sh(&c, fx.dir, 60, "%s check %s", e2e_kvmrr(), fixture);
	E2E_ASSERT(&c, c.status == 3, "check of the version-2 fixture: status %d", c.status);
	E2E_HAS(&c, c.out, "format 2 has no seals");
	e2e_free(&c);
	fixture_done(&fx);
}

/*
 * Bytes damaged in a small table's page (the cpuid table's cell pointers
 * point outside the page): SQLite's structural check, run when a recording
 * is opened, refuses it before anything is replayed; check says the same.
 */
TEST(damaged_page_is_refused)
{
	struct fixture fx;
	struct e2e_cmd c;
	char path[256];
	long long root, page;
	FILE *f;

	fixture_record(&fx, "hello", NULL);
	root = orig_int(&fx, "SELECT rootpage FROM sqlite_schema WHERE name = 'cpuid'");
	page = orig_int(&fx, "PRAGMA page_size");
	snprintf(path, sizeof(path), "%s/damaged.db", fx.dir);
	e2e_copy(fx.orig, path);
	f = fopen(path, "r+b");
	TEST_ASSERT(f && fseek(f, (root - 1) * page + 12, SEEK_SET) == 0 && fwrite("\xff\xf0\xff\xf0", 4, 1, f) == 1 &&
		    fclose(f) == 0, "damaging %s", path);
	e2e_replay(&c, fx.dir, path, "-q");
	E2E_ASSERT(&c, c.status == 2, "replay of a damaged page: status %d", c.status);
	E2E_HAS(&c, c.err, "structural check failed: table cpuid");
	e2e_free(&c);
	e2e_sh(&c, fx.dir, 60, "%s check %s", e2e_kvmrr(), path);
	E2E_ASSERT(&c, c.status == 2, "check of a damaged page: status %d", c.status);
	E2E_HAS(&c, c.err, "structural check failed");
	e2e_free(&c);
	fixture_done(&fx);
}

TEST_MAIN()
