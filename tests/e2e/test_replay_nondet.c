/* SPDX-License-Identifier: MIT */
/*
 * Guests whose input is not deterministic (entropy, RTC, serial input, PIT
 * timing, the MMIO host-time register): two recordings differ in their exit
 * data, and each replays identical with its own console.
 */
#include <time.h>

#include "tests/e2e/e2e.h"

/* Rows of exit (seq, reason, addr, size, dir, data) in a and not in b, or in b and not in a. */
static long long exits_differing(const char *a, const char *b)
{
	sqlite3 *db = e2e_db_open(a);
	long long n;

	e2e_db_exec(db, "ATTACH %Q AS b", b);
	n = e2e_db_int(db, "SELECT (SELECT count(*) FROM (SELECT seq, reason, addr, size, dir, data FROM main.exit "
			   "EXCEPT SELECT seq, reason, addr, size, dir, data FROM b.exit)) + "
			   "(SELECT count(*) FROM (SELECT seq, reason, addr, size, dir, data FROM b.exit "
			   "EXCEPT SELECT seq, reason, addr, size, dir, data FROM main.exit))");
	sqlite3_close(db);
	return n;
}

/* Replay rec: identical, with the console the recording printed. */
static void replays_identical(const char *dir, const char *rec, const struct e2e_cmd *recorded)
{
	struct e2e_cmd rep;

	e2e_replay(&rep, dir, rec, NULL);
	E2E_ASSERT(&rep, rep.status == 0 && e2e_identical(&rep), "replay %s: status %d, wanted 0", rec,
		   rep.status);
	E2E_ASSERT(&rep, rep.out_len == recorded->out_len &&
		   memcmp(rep.out, recorded->out, recorded->out_len) == 0,
		   "replayed console differs from the recorded one:\n%s", recorded->out);
	e2e_free(&rep);
}

/*
 * Record guest twice (opts_a, opts_b), check the recordings differ, replay each.
 * gap_sec: wait between the two (the RTC shows seconds).
 */
static void two_recordings(const char *guest, const char *opts_a, const char *opts_b, int gap_sec,
			   const char *what)
{
	struct e2e_cmd a, b;
	char dir[64], ra[128], rb[128];
	long long diff;

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	snprintf(ra, sizeof(ra), "%s/a.db", dir);
	snprintf(rb, sizeof(rb), "%s/b.db", dir);
	e2e_record(&a, dir, ra, guest, opts_a);
	E2E_ASSERT(&a, a.status == 1, "record %s: status %d", guest, a.status);
	if (gap_sec)
		sleep((unsigned int)gap_sec);
	e2e_record(&b, dir, rb, guest, opts_b);
	E2E_ASSERT(&b, b.status == 1, "record %s: status %d", guest, b.status);
	diff = exits_differing(ra, rb);
	printf("# %s: %lld exit rows differ between the two recordings (%s)\n", guest, diff, what);
	TEST_ASSERT(diff > 0, "two recordings of %s have the same exits: %s did not show", guest, what);
	replays_identical(dir, ra, &a);
	replays_identical(dir, rb, &b);
	e2e_free(&a);
	e2e_free(&b);
	e2e_cleanup(dir);
}

TEST(entropy)
{
	two_recordings("entropy", NULL, NULL, 0, "getrandom bytes");
}

/* The second recording starts in a later second than the first. */
TEST(rtc)
{
	two_recordings("rtc", NULL, NULL, 1, "the RTC seconds");
}

TEST(timer)
{
	two_recordings("timer", NULL, NULL, 0, "PIT counter read-back and interrupt timing");
}

TEST(mmio_host_time)
{
	two_recordings("mmio", NULL, NULL, 0, "the host-time register");
}

/* Where the ticks land in the tasks' loops: the digest the guest prints differs. */
TEST(preempt_cpl0)
{
	two_recordings("preempt", "--cmdline cpl0", "--cmdline cpl0", 0, "where the timer ticks land");
}

/* The serial input is host input: two inputs, two recordings. */
TEST(echo_serial_input)
{
	char dir[64], ia[128], ib[128], oa[256], ob[256];
	FILE *f;

	e2e_tmpdir(dir, sizeof(dir));
	snprintf(ia, sizeof(ia), "%s/in-a", dir);
	snprintf(ib, sizeof(ib), "%s/in-b", dir);
	f = fopen(ia, "w");
	TEST_ASSERT(f, "create %s", ia);
	fputs("abc\nEOF\n", f);
	fclose(f);
	f = fopen(ib, "w");
	TEST_ASSERT(f, "create %s", ib);
	fputs("xyz\nEOF\n", f);
	fclose(f);
	snprintf(oa, sizeof(oa), "--serial-in %s", ia);
	snprintf(ob, sizeof(ob), "--serial-in %s", ib);
	two_recordings("echo", oa, ob, 0, "the serial input");
	e2e_cleanup(dir);
}

TEST_MAIN()
