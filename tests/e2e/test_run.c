/* SPDX-License-Identifier: MIT */
/*
 * `kvmrr run` on every bundled guest: the console lines each guest documents
 * and the exit status (guest exit 0 gives status 1, see cli/run.c).
 */
#include <time.h>

#include "tests/e2e/e2e.h"

#define GUEST_OK 1   /* (0 << 1) | 1 */

/* Run a guest, expect status GUEST_OK, the given lines, and a count line with mmio as said. */
static void run_ok(const char *guest, const char *opts, const char *const *lines, bool mmio_used)
{
	struct e2e_cmd c;
	uint64_t pio, mmio;
	char dir[64];

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	e2e_run(&c, dir, guest, opts);
	E2E_ASSERT(&c, c.status == GUEST_OK, "%s: status %d, wanted %d (guest exit 0)", guest, c.status,
		   GUEST_OK);
	for (int i = 0; lines && lines[i]; i++)
		E2E_HAS(&c, c.out, lines[i]);
	e2e_guest_counts(&c, &pio, &mmio);
	E2E_ASSERT(&c, pio > 0, "%s made no port IO (a guest prints through the UART)", guest);
	E2E_ASSERT(&c, mmio_used ? mmio > 0 : mmio == 0, "%s: mmio=%llu", guest, (unsigned long long)mmio);
	E2E_ASSERT(&c, !strstr(c.out, "not written yet"), "%s is still a stub", guest);
	e2e_free(&c);
	e2e_cleanup(dir);
}

TEST(hello)
{
	run_ok("hello", NULL, (const char *[]){ "Hello from kvmrr guest\n", "hello: cmdline=\"\"\n", NULL },
	       false);
}

TEST(hello_cmdline)
{
	run_ok("hello", "--cmdline \"a b=c\"", (const char *[]){ "hello: cmdline=\"a b=c\"\n", NULL }, false);
}

TEST(timer)
{
	run_ok("timer", NULL, (const char *[]){ "timer: 20 ticks at 1000 Hz", NULL }, false);
	run_ok("timer", "--cmdline \"n=5 hz=100\"", (const char *[]){ "timer: 5 ticks at 100 Hz", NULL },
	       false);
}

TEST(compute)
{
	run_ok("compute", NULL, (const char *[]){
		"compute: sha256(64 MiB) = 422d9d650a18c97e1bfca0cf437e317804e4480c10376a5dd2c39d2fac1957e6\n",
		"compute: digest ok\n", NULL }, false);
}

TEST(exits_cpl0_and_cpl3)
{
	run_ok("exits", "--cmdline n=1000", (const char *[]){ "exits: 1000 port-IO exits at CPL0: ok\n", NULL },
	       false);
	run_ok("exits", "--cmdline \"n=1000 cpl3\"",
	       (const char *[]){ "exits: 1000 port-IO exits at CPL3: ok\n", NULL }, false);
}

/* The guest's idea of the pio count: its exit storm plus what printing cost. */
TEST(exits_pio_count)
{
	struct e2e_cmd a, b;
	uint64_t pa, pb, m;
	char dir[64];

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	e2e_run(&a, dir, "exits", "--cmdline n=1000");
	e2e_run(&b, dir, "exits", "--cmdline n=3000");
	e2e_guest_counts(&a, &pa, &m);
	e2e_guest_counts(&b, &pb, &m);
	TEST_ASSERT_EQ(pb - pa, 2000);
	e2e_free(&a);
	e2e_free(&b);
	e2e_cleanup(dir);
}

/* The RTC shows the host's wall clock (UTC or local), within two minutes. */
TEST(rtc)
{
	struct e2e_cmd c;
	struct tm tm = { 0 };
	unsigned y, mo, d, h, mi, s;
	const char *p;
	char dir[64];
	time_t now = time(NULL), t;

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	e2e_run(&c, dir, "rtc", NULL);
	E2E_ASSERT(&c, c.status == GUEST_OK, "rtc: status %d", c.status);
	p = strstr(c.out, "rtc: ");
	E2E_ASSERT(&c, p && sscanf(p, "rtc: %u-%u-%u %u:%u:%u", &y, &mo, &d, &h, &mi, &s) == 6,
		   "no \"rtc: YYYY-MM-DD hh:mm:ss\" line");
	tm.tm_year = (int)y - 1900, tm.tm_mon = (int)mo - 1, tm.tm_mday = (int)d;
	tm.tm_hour = (int)h, tm.tm_min = (int)mi, tm.tm_sec = (int)s;
	t = timegm(&tm);   /* the RTC as if UTC */
	{
		struct tm lt;
		long off;

		localtime_r(&now, &lt);
		off = lt.tm_gmtoff;
		E2E_ASSERT(&c, labs((long)(t - now)) < 120 || labs((long)(t - off - now)) < 120,
			   "RTC %04u-%02u-%02u %02u:%02u:%02u is more than 2 minutes from the host clock "
			   "(%ld s as UTC, %ld s as local time)", y, mo, d, h, mi, s, (long)(t - now),
			   (long)(t - off - now));
	}
	e2e_free(&c);
	e2e_cleanup(dir);
}

TEST(echo_serial_in)
{
	struct e2e_cmd c;
	char dir[64], in[128];
	FILE *f;

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	snprintf(in, sizeof(in), "%s/input", dir);
	f = fopen(in, "w");
	TEST_ASSERT(f, "create %s", in);
	fputs("hello world\r\nMixed Case 42\nEOF\nnot read\n", f);
	fclose(f);
	e2e_sh(&c, dir, 60, "%s run --serial-in %s %s", e2e_kvmrr(), in, e2e_guest("echo"));
	E2E_ASSERT(&c, c.status == GUEST_OK, "echo: status %d", c.status);
	E2E_HAS(&c, c.out, "echo: HELLO WORLD\necho: MIXED CASE 42\necho: 2 lines\n");
	E2E_ASSERT(&c, !strstr(c.out, "NOT READ"), "echo went on past the EOF line");
	e2e_free(&c);
	e2e_cleanup(dir);
}

/* Without input the echo guest polls forever: --timeout ends it. */
TEST(echo_no_input_times_out)
{
	struct e2e_cmd c;
	char dir[64];

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	e2e_run(&c, dir, "echo", "--timeout 1");
	E2E_ASSERT(&c, c.status == 8, "echo without input: status %d, wanted 8 (timeout)", c.status);
	E2E_HAS(&c, c.err, "kvmrr run: timeout after ");
	e2e_free(&c);
	e2e_cleanup(dir);
}

TEST(entropy)
{
	struct e2e_cmd a, b;
	char dir[64], ha[65], hb[65];
	const char *p;

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	e2e_run(&a, dir, "entropy", NULL);
	e2e_run(&b, dir, "entropy", NULL);
	E2E_ASSERT(&a, a.status == GUEST_OK, "entropy: status %d", a.status);
	E2E_ASSERT(&b, b.status == GUEST_OK, "entropy: status %d", b.status);
	p = strstr(a.out, "entropy: 4099 bytes sha256=");
	E2E_ASSERT(&a, p && sscanf(p, "entropy: 4099 bytes sha256=%64[0-9a-f]", ha) == 1, "no digest line");
	p = strstr(b.out, "entropy: 4099 bytes sha256=");
	E2E_ASSERT(&b, p && sscanf(p, "entropy: 4099 bytes sha256=%64[0-9a-f]", hb) == 1, "no digest line");
	TEST_ASSERT(strlen(ha) == 64 && strcmp(ha, hb) != 0,
		    "two runs read the same random bytes (sha256 %s and %s)", ha, hb);
	e2e_free(&a);
	e2e_free(&b);
	e2e_cleanup(dir);
}

TEST(mmio)
{
	run_ok("mmio", NULL, (const char *[]){
		"mmio: id=KVRR scratch32 ok scratch64 ok time ok exits ok (16 rounds)\n", NULL }, true);
}

TEST(rdtsc)
{
	run_ok("rdtsc", "--cmdline rounds=4", (const char *[]){ "rdtsc: rounds=4 window=1000000 ", NULL },
	       false);
}

/* Tasks spinning without exits get preempted: ticks come while the guest makes no exit. */
TEST(preempt)
{
	run_ok("preempt", NULL, (const char *[]){ "preempt: mode=work ticks=100 slices=", NULL }, false);
	run_ok("preempt", "--cmdline cpl0", (const char *[]){ "preempt: mode=work", "ticks=100 slices=", NULL },
	       false);
}

/* A triple fault; on this host an undeliverable exception may come back as an internal error. */
TEST(crash_triple_fault)
{
	struct e2e_cmd c;
	char dir[64];

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	e2e_run(&c, dir, "crash", NULL);
	E2E_ASSERT(&c, c.status == 4 || c.status == 6, "crash: status %d, wanted 4 (triple fault) or 6 "
		   "(internal error)", c.status);
	E2E_HAS(&c, c.out, "crash: mode=triple\n");
	E2E_HAS(&c, c.err, c.status == 4 ? "kvmrr run: shutdown after " : "kvmrr run: internal-error after ");
	E2E_HAS(&c, c.err, c.status == 4 ? "triple fault" : "internal error");
	E2E_HAS(&c, c.err, "rip=");
	E2E_HAS(&c, c.err, "cr0=");
	e2e_free(&c);
	e2e_cleanup(dir);
}

/* Exceptions the runtime catches: it reports them and exits 2, status (2 << 1) | 1. */
TEST(crash_exceptions)
{
	static const char *const modes[][2] = { { "ud", "exception 6 (#UD)" }, { "pf", "exception 14 (#PF)" },
						{ "gp", "exception 13 (#GP)" } };
	char dir[64], opts[64];

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		struct e2e_cmd c;

		snprintf(opts, sizeof(opts), "--cmdline mode=%s", modes[i][0]);
		e2e_run(&c, dir, "crash", opts);
		E2E_ASSERT(&c, c.status == 5, "crash %s: status %d, wanted 5", modes[i][0], c.status);
		E2E_HAS(&c, c.out, modes[i][1]);
		e2e_free(&c);
	}
	e2e_cleanup(dir);
}

TEST(crash_halt)
{
	struct e2e_cmd c;
	char dir[64];

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	e2e_run(&c, dir, "crash", "--cmdline mode=halt");
	E2E_ASSERT(&c, c.status == 0, "HLT with interrupts disabled: status %d, wanted 0", c.status);
	e2e_free(&c);
	e2e_cleanup(dir);
}

TEST_MAIN()
