/* SPDX-License-Identifier: MIT */
/*
 * Every bundled guest recorded and replayed: status 0, "replay: N exits,
 * identical" with N the recorded synchronisation points, and the replayed
 * console equal to the recorded one. The guest image (and serial input) is
 * deleted before the replay: the recording must be the only input.
 */
#include <sys/stat.h>

#include "tests/e2e/e2e.h"

struct case_ {
	const char *guest;
	const char *opts;          /* record options */
	int record_status;         /* what `kvmrr record` returns */
	const char *line;          /* a console line the guest prints */
};

/* Record from a copy of the image, delete the copy, replay; returns the replay's exit count. */
static void record_replay(const struct case_ *k)
{
	struct e2e_cmd rec, rep;
	char dir[64], db_path[128], elf[128], expect[512];
	long long rows, sync;
	sqlite3 *db;

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	snprintf(db_path, sizeof(db_path), "%s/rec.db", dir);
	snprintf(elf, sizeof(elf), "%s/guest.elf", dir);
	e2e_copy(e2e_guest(k->guest), elf);
	e2e_sh(&rec, dir, 120, "%s record -o %s %s %s", e2e_kvmrr(), db_path, k->opts ? k->opts : "", elf);
	E2E_ASSERT(&rec, rec.status == k->record_status, "record %s %s: status %d, wanted %d", k->guest,
		   k->opts ? k->opts : "", rec.status, k->record_status);
	if (k->line)
		E2E_HAS(&rec, rec.out, k->line);
	TEST_ASSERT(unlink(elf) == 0, "unlink %s", elf);

	db = e2e_db_open(db_path);
	TEST_ASSERT_EQ(e2e_db_int(db, "SELECT value FROM meta WHERE key = 'complete'"), 1);
	rows = e2e_db_int(db, "SELECT count(*) FROM exit");
	sync = e2e_sync_points(db, INT64_MAX);
	sqlite3_close(db);

	e2e_replay(&rep, dir, db_path, NULL);
	E2E_ASSERT(&rep, rep.status == 0, "replay of %s %s: status %d, wanted 0 (identical)", k->guest,
		   k->opts ? k->opts : "", rep.status);
	snprintf(expect, sizeof(expect), "replay: %lld exits, identical (%lld synchronisation points, %lld "
		 "caused by the VMM", rows, sync, rows - sync);
	E2E_HAS(&rep, rep.err, expect);
	/* record says the same thing in the same words */
	snprintf(expect, sizeof(expect), "%lld exits recorded to %s (%lld synchronisation points, %lld "
		 "caused by the VMM)", rows, db_path, sync, rows - sync);
	E2E_HAS(&rec, rec.err, expect);
	E2E_ASSERT(&rep, rep.out_len == rec.out_len && memcmp(rep.out, rec.out, rec.out_len) == 0,
		   "the replayed console (%zu bytes) differs from the recorded one (%zu bytes):\n%s",
		   rep.out_len, rec.out_len, rec.out);
	printf("# %s %s: %lld exits; record %.2f s, replay %.2f s\n", k->guest, k->opts ? k->opts : "",
	       rows, rec.secs, rep.secs);
	e2e_free(&rec);
	e2e_free(&rep);
	e2e_cleanup(dir);
}

#define CASE(name_, ...)                                              \
	TEST(name_)                                                   \
	{                                                             \
		static const struct case_ k = { __VA_ARGS__ };        \
		record_replay(&k);                                    \
	}

CASE(hello, "hello", "--cmdline hi", 1, "Hello from kvmrr guest\n")
CASE(entropy, "entropy", NULL, 1, "entropy: 4099 bytes sha256=")
CASE(rtc, "rtc", NULL, 1, "rtc: 20")
CASE(timer, "timer", NULL, 1, "timer: 20 ticks at 1000 Hz")
CASE(timer_100hz, "timer", "--cmdline \"n=10 hz=100\"", 1, "timer: 10 ticks at 100 Hz")
CASE(mmio, "mmio", NULL, 1, "time ok exits ok (16 rounds)")
CASE(compute, "compute", NULL, 1, "compute: digest ok\n")
CASE(exits_cpl0, "exits", "--cmdline n=1000", 1, "exits: 1000 port-IO exits at CPL0: ok\n")
CASE(exits_cpl3, "exits", "--cmdline \"n=1000 cpl3\"", 1, "exits: 1000 port-IO exits at CPL3: ok\n")
CASE(crash_triple, "crash", NULL, 4, "crash: mode=triple\n")
CASE(crash_ud, "crash", "--cmdline mode=ud", 5, "exception 6 (#UD)")
CASE(crash_halt, "crash", "--cmdline mode=halt", 0, "crash: mode=halt\n")
CASE(max_exits, "exits", "--max-exits 100 --cmdline n=1000", 10, NULL)
/* Ends with the kick that stopped the spin: a trailing KVM_EXIT_INTR, no exit after it. */
/* Ticks injected while the tasks spin without exits: asynchronous points, reached at CPL0. */
CASE(preempt_cpl0, "preempt", "--cmdline cpl0", 1, "ticks=100 slices=")
/* Several KiB of REP OUTSB: every byte of every exit is verified. */
CASE(strio, "strio", NULL, 1, "strio: 6144 bytes sent with one REP OUTSB")
CASE(spin_timeout, "crash", "--timeout 1 --cmdline mode=spin", 8, "crash: mode=spin\n")

/* echo: the serial input file is gone at replay; the log answers the UART reads. */
TEST(echo_serial_in)
{
	struct e2e_cmd rec, rep;
	char dir[64], in[128], db_path[128];
	FILE *f;

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	snprintf(in, sizeof(in), "%s/input", dir);
	snprintf(db_path, sizeof(db_path), "%s/rec.db", dir);
	f = fopen(in, "w");
	TEST_ASSERT(f, "create %s", in);
	fputs("first line\nsecond\nEOF\n", f);
	fclose(f);
	e2e_sh(&rec, dir, 60, "%s record -o %s --serial-in %s %s", e2e_kvmrr(), db_path, in,
	       e2e_guest("echo"));
	E2E_ASSERT(&rec, rec.status == 1, "record echo: status %d", rec.status);
	E2E_HAS(&rec, rec.out, "echo: FIRST LINE\necho: SECOND\necho: 2 lines\n");
	TEST_ASSERT(unlink(in) == 0, "unlink %s", in);
	e2e_replay(&rep, dir, db_path, NULL);
	E2E_ASSERT(&rep, rep.status == 0 && e2e_identical(&rep), "replay echo: status %d", rep.status);
	E2E_ASSERT(&rep, rep.out_len == rec.out_len && memcmp(rep.out, rec.out, rec.out_len) == 0,
		   "the replayed console differs from the recorded one:\n%s", rec.out);
	e2e_free(&rec);
	e2e_free(&rep);
	e2e_cleanup(dir);
}

/* -q: no console, the same verdict. */
TEST(quiet_console)
{
	struct e2e_cmd rec, rep;
	char dir[64], db_path[128];

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	snprintf(db_path, sizeof(db_path), "%s/rec.db", dir);
	e2e_record(&rec, dir, db_path, "hello", NULL);
	E2E_ASSERT(&rec, rec.status == 1, "record hello: status %d", rec.status);
	e2e_replay(&rep, dir, db_path, "-q");
	E2E_ASSERT(&rep, rep.status == 0 && e2e_identical(&rep), "replay -q: status %d", rep.status);
	E2E_ASSERT(&rep, rep.out_len == 0, "replay -q printed %zu console bytes", rep.out_len);
	e2e_free(&rec);
	e2e_free(&rep);
	e2e_cleanup(dir);
}

TEST_MAIN()
