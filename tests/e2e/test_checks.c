/* SPDX-License-Identifier: MIT */
/*
 * Each of replay's checks reached by one edit of a real recording, so that
 * removing the check from replay fails a test (scripts/mutate plants such
 * bugs): the final state (memory digest, register snapshot), and every
 * field of an exit (reason, port/gpa, size, direction, data length, data).
 * Two recordings (hello, mmio) are made once per run of this program and
 * copied for each edit.
 */
#include <sys/stat.h>

#include "tests/e2e/e2e.h"

#define PORT_THR 0x3f8
#define MMIO_BASE 0xd0000000LL

static char shared[64];   /* made by main: one recording per guest, kept for all tests */

/* SHARED/GUEST/rec.db, recorded by the first test that asks; its console in SHARED/GUEST/cmd.stdout. */
static const char *recording(const char *guest)
{
	static char path[160];
	char sub[128];
	struct stat st;
	struct e2e_cmd c;

	test_require_kvm();
	snprintf(sub, sizeof(sub), "%s/%s", shared, guest);
	snprintf(path, sizeof(path), "%s/rec.db", sub);
	if (stat(path, &st) == 0)
		return path;
	TEST_ASSERT(mkdir(sub, 0700) == 0, "mkdir %s", sub);
	e2e_record(&c, sub, path, guest, NULL);
	E2E_ASSERT(&c, c.status == 1, "record %s: status %d, wanted 1", guest, c.status);
	e2e_free(&c);
	return path;
}

/* What `kvmrr record` printed for guest: the UART device model's output (malloc'd). */
static char *recorded_console(const char *guest, size_t *len)
{
	char path[160];
	FILE *f;
	char *buf;

	snprintf(path, sizeof(path), "%s/%s/cmd.stdout", shared, guest);
	f = fopen(path, "rb");
	TEST_ASSERT(f, "open %s", path);
	buf = calloc(1, 65536);
	TEST_ASSERT(buf, "calloc");
	*len = fread(buf, 1, 65535, f);
	fclose(f);
	return buf;
}

static long long rec_int(const char *rec, const char *fmt, long long arg)
{
	sqlite3 *db = e2e_db_open(rec);
	long long v = e2e_db_int(db, fmt, arg);

	sqlite3_close(db);
	return v;
}

/* The seq of the n-th (from 0) byte the hello guest wrote to the UART transmitter. */
static long long thr_write(const char *rec, long long n)
{
	sqlite3 *db = e2e_db_open(rec);
	long long s = e2e_db_int(db, "SELECT seq FROM exit WHERE addr = %d AND dir = 1 ORDER BY seq "
				 "LIMIT 1 OFFSET %lld", PORT_THR, n);

	sqlite3_close(db);
	return s;
}

/* Edit the recording of guest, replay the copy: a divergence at seq with what. */
static void edit_diverges_at(const char *guest, const char *name, long long seq, const char *what,
			     const char *fmt, ...)
{
	char dir[64], *sql;
	struct e2e_cmd c;
	va_list ap;

	va_start(ap, fmt);
	sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	e2e_tmpdir(dir, sizeof(dir));
	e2e_tamper(&c, dir, recording(guest), name, NULL, sql);
	e2e_diverged(&c, seq, seq);
	E2E_HAS(&c, c.err, what);
	sqlite3_free(sql);
	e2e_free(&c);
	e2e_cleanup(dir);
}

/* Edit the final state of the hello recording: every exit matches, the final state does not (text and --json). */
static void final_differs(const char *name, const char *sql, const char *what)
{
	char dir[64];
	struct e2e_cmd c;

	e2e_tmpdir(dir, sizeof(dir));
	for (int json = 0; json < 2; json++) {
		e2e_tamper(&c, dir, recording("hello"), name, json ? "--json -q" : NULL, sql);
		E2E_ASSERT(&c, c.status == 1, "status %d, wanted 1 (the final state differs)", c.status);
		E2E_ASSERT(&c, !e2e_identical(&c), "an edited final state replayed as identical");
		if (json) {
			E2E_HAS(&c, c.out, "\"final_state\":\"differs\"");
		} else {
			E2E_HAS(&c, c.err, ", but the final state differs: ");
			E2E_HAS(&c, c.err, what);
		}
		e2e_free(&c);
	}
	e2e_cleanup(dir);
}

TEST(final_memory_digest_edited)
{
	char sql[256];
	size_t len;
	sqlite3 *db = e2e_db_open(recording("hello"));
	char *hex = e2e_db_blob(db, &len, "SELECT value FROM meta WHERE key = 'final_mem_digest'");

	sqlite3_close(db);
	TEST_ASSERT(hex && len == 64, "final_mem_digest is %zu characters, not 64 hex digits", len);
	hex[10] = hex[10] == '0' ? '1' : '0';
	snprintf(sql, sizeof(sql), "UPDATE meta SET value = '%.64s' WHERE key = 'final_mem_digest'", hex);
	free(hex);
	final_differs("mem", sql, "guest memory (digest ");
}

/* One byte of each compared final snapshot: regs (rax), sregs (cs.base), xcrs (XCR0), xsave (FCW). */
TEST(final_snapshots_edited)
{
	static const struct { const char *kind; size_t len, byte; } k[] = {
		{ "regs", 144, 0 }, { "sregs", 312, 0 }, { "xcrs", 392, 16 }, { "xsave", 4096, 0 },
		{ "debugregs", 128, 0 }, { "mp_state", 4, 0 }, { "events", 64, 1 },
	};
	char *lit = malloc(2 * 4096 + 8), sql[8400], what[32];
	size_t len;

	TEST_ASSERT(lit, "malloc");
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		sqlite3 *db = e2e_db_open(recording("hello"));
		void *blob = e2e_db_blob(db, &len, "SELECT data FROM vcpu_state WHERE vcpu = 0 AND phase = 'final' "
					 "AND kind = %Q", k[i].kind);

		sqlite3_close(db);
		TEST_ASSERT(blob && len == k[i].len, "final %s: %zu bytes, wanted %zu", k[i].kind, len, k[i].len);
		snprintf(sql, sizeof(sql), "UPDATE vcpu_state SET data = %s WHERE vcpu = 0 AND phase = 'final' AND "
			 "kind = '%s'", e2e_blob_literal(blob, len, k[i].byte, 0x5a, lit, 2 * 4096 + 8), k[i].kind);
		free(blob);
		snprintf(what, sizeof(what), "differs: %s", k[i].kind);
		final_differs(k[i].kind, sql, what);
	}
	free(lit);
}

/* An OUT's data one byte longer or one shorter than the guest wrote. */
TEST(out_data_length)
{
	const char *rec = recording("hello");
	long long s = thr_write(rec, 3);

	edit_diverges_at("hello", "longer", s, "length differs",
			 "UPDATE exit SET data = CAST(data || X'00' AS BLOB) WHERE seq = %lld", s);
	edit_diverges_at("hello", "shorter", s, "length differs",
			 "UPDATE exit SET data = X'' WHERE seq = %lld", s);
}

TEST(out_size_and_direction)
{
	const char *rec = recording("hello");
	long long s = thr_write(rec, 4);

	edit_diverges_at("hello", "size", s, "size differs", "UPDATE exit SET size = 2 WHERE seq = %lld", s);
	edit_diverges_at("hello", "dir", s, "direction differs", "UPDATE exit SET dir = 0 WHERE seq = %lld", s);
	edit_diverges_at("hello", "port", s, "port differs",
			 "UPDATE exit SET addr = addr + 1 WHERE seq = %lld", s);
}

TEST(mmio_gpa_size_and_direction)
{
	const char *rec = recording("mmio");
	long long s = rec_int(rec, "SELECT min(seq) FROM exit WHERE reason = 6 AND dir = 1 AND addr = %lld",
			      MMIO_BASE);

	edit_diverges_at("mmio", "gpa", s, "gpa differs", "UPDATE exit SET addr = addr + 16 WHERE seq = %lld", s);
	edit_diverges_at("mmio", "msize", s, "size differs",
			 "UPDATE exit SET size = size * 2, data = CAST(data || data AS BLOB) WHERE seq = %lld", s);
	edit_diverges_at("mmio", "mdir", s, "direction differs", "UPDATE exit SET dir = 0 WHERE seq = %lld", s);
	{
		char lit[64];
		size_t len;
		sqlite3 *db = e2e_db_open(rec);
		void *data = e2e_db_blob(db, &len, "SELECT data FROM exit WHERE seq = %lld", s);

		sqlite3_close(db);
		TEST_ASSERT(data && len == 4, "MMIO write seq %lld: %zu data bytes, wanted 4", s, len);
		edit_diverges_at("mmio", "mdata", s, "data written differs", "UPDATE exit SET data = %s WHERE seq = %lld",
				 e2e_blob_literal(data, len, 3, 0x01, lit, sizeof(lit)), s);
		free(data);
	}
}

/*
 * One byte the guest wrote to the UART, edited in the log ('f' of "Hello
 * from" made 'F'): replay checks the OUT data, so it stops there with a
 * divergence, and its console is what `kvmrr record` printed up to that
 * byte, never the edited byte.
 */
TEST(uart_byte_edited_is_a_divergence)
{
	const char *rec = recording("hello");
	long long s = thr_write(rec, 6);
	char dir[64], sql[128];
	struct e2e_cmd c;
	size_t len;
	char *console = recorded_console("hello", &len);

	TEST_ASSERT(len > 10 && memcmp(console, "Hello from", 10) == 0, "record printed:\n%s", console);
	TEST_ASSERT_EQ(rec_int(rec, "SELECT unicode(CAST(data AS TEXT)) FROM exit WHERE seq = %lld", s), 'f');
	e2e_tmpdir(dir, sizeof(dir));
	snprintf(sql, sizeof(sql), "UPDATE exit SET data = X'46' WHERE seq = %lld", s);
	e2e_tamper(&c, dir, rec, "uart", "", sql);
	e2e_diverged(&c, s, s);
	E2E_HAS(&c, c.err, "data written differs");
	E2E_HAS(&c, c.err, "expected: IO OUT 0x3f8 size 1 data 46");
	E2E_HAS(&c, c.err, "actual:   IO OUT 0x3f8 size 1 data 66");
	E2E_ASSERT(&c, c.out_len == 6 && memcmp(c.out, console, 6) == 0,
		   "the replayed console is not the recorded \"Hello \" (the 6 bytes before the edit)");
	e2e_free(&c);
	e2e_cleanup(dir);
	free(console);
}

int main(int argc, char **argv)
{
	int rc;

	e2e_tmpdir(shared, sizeof(shared));
	rc = test_main(argc, argv);
	e2e_cleanup(shared);
	return rc;
}
