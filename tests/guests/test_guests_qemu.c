/* SPDX-License-Identifier: MIT */
/*
 * The bundled guests boot under qemu-system-x86_64 (TCG, `-kernel` PVH
 * boot), proving they are standard images: hello's output and count line
 * exactly, and the guests QEMU can serve (timer, compute, exits, rtc, crash,
 * preempt) with their statuses. Status 1 = the guest wrote 0 to the
 * isa-debug-exit port. QEMU has no entropy port or MMIO test device.
 */
#include "tests/test.h"

#include <inttypes.h>

static void require_qemu(void)
{
	char *out;

	if (test_run_capture("command -v qemu-system-x86_64", &out) != 0)
		TEST_ASSERT(0, "qemu-system-x86_64 is not installed: scripts/install-deps installs it");
	free(out);
}

/* Boot guests/<name>.elf; returns the QEMU exit status, output in *out. */
static int qemu_boot_accel(const char *accel, const char *name, const char *append, char **out)
{
	char rel[256], path[4096], cmd[8192];

	require_qemu();
	snprintf(rel, sizeof(rel), "guests/%s.elf", name);
	test_build_path(rel, path, sizeof(path));
	TEST_ASSERT(access(path, R_OK) == 0, "guest image %s", path);
	snprintf(cmd, sizeof(cmd),
		 "timeout 120 qemu-system-x86_64 -accel %s -M pc -m 256 -nographic -no-reboot "
		 "-net none -monitor none -display none -serial stdio "
		 "-device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel '%s' -append '%s' "
		 "</dev/null", accel, path, append);
	return test_run_capture(cmd, out);
}

static int qemu_boot(const char *name, const char *append, char **out)
{
	return qemu_boot_accel("tcg", name, append, out);
}

/* The guest's output: from its first line (which starts with first) to the end. */
static const char *guest_output(const char *out, const char *first)
{
	const char *p = strstr(out, first);

	TEST_ASSERT(p, "no \"%s\" in QEMU's output:\n%s", first, out);
	return p;
}

/* The final line must be the last and only count line; returns its pio. */
static uint64_t count_line(const char *text, uint64_t *mmio)
{
	const char *line = strstr(text, "kvmrr-guest: pio=");
	uint64_t pio = 0;
	int end = 0;

	TEST_ASSERT(line, "no count line in:\n%s", text);
	TEST_ASSERT(!strstr(line + 1, "kvmrr-guest: pio="), "two count lines in:\n%s", text);
	TEST_ASSERT(sscanf(line, "kvmrr-guest: pio=%" SCNu64 " mmio=%" SCNu64 "\n%n", &pio, mmio,
			   &end) == 2 && end > 0 && line[end] == '\0',
		    "bad or not last count line: %s", line);
	return pio;
}

/* Every character printed costs one LSR read and one THR write; exit is one OUT. */
static uint64_t print_cost(const char *text)
{
	return 2 * strlen(text) + 1;
}

TEST(hello_boots_with_exact_output_and_counts)
{
	char *out, want[512];
	int status = qemu_boot("hello", "greeting=hi flag", &out);
	const char *text = guest_output(out, "Hello from kvmrr guest\n");
	uint64_t mmio, pio;

	TEST_ASSERT(status == 1, "QEMU exit status %d, wanted 1; output:\n%s", status, out);
	pio = count_line(text, &mmio);
	snprintf(want, sizeof(want), "Hello from kvmrr guest\nhello: cmdline=\"greeting=hi flag\"\n"
		 "kvmrr-guest: pio=%" PRIu64 " mmio=0\n", pio);
	TEST_ASSERT_STR_EQ(text, want);
	/* hello makes no IO but printing: its count is exactly what it printed. */
	TEST_ASSERT_EQ(pio, print_cost(text));
	TEST_ASSERT_EQ(mmio, 0);
	free(out);
}

TEST(exits_counts_every_access_at_cpl0_and_cpl3)
{
	static const char *const modes[] = { "n=20000", "n=20001 cpl3" };

	for (int i = 0; i < 2; i++) {
		char *out, first[64];
		int status = qemu_boot("exits", modes[i], &out);
		uint64_t n = i ? 20001 : 20000, mmio, pio;
		const char *text;

		snprintf(first, sizeof(first), "exits: %" PRIu64 " port-IO exits at CPL%d: ok\n", n,
			 i ? 3 : 0);
		text = guest_output(out, first);
		TEST_ASSERT(status == 1, "QEMU exit status %d, wanted 1; output:\n%s", status, out);
		pio = count_line(text, &mmio);
		TEST_ASSERT_EQ(pio, n + print_cost(text));
		free(out);
	}
}

TEST(timer_counts_ticks)
{
	char *out;
	int status = qemu_boot("timer", "n=50 hz=2000", &out);
	const char *text = guest_output(out, "timer: ");
	uint64_t mmio, pio;

	TEST_ASSERT(status == 1, "QEMU exit status %d, wanted 1; output:\n%s", status, out);
	TEST_ASSERT(strncmp(text, "timer: 50 ticks at 2000 Hz (divisor 597)\n", 41) == 0,
		    "got %s", text);
	/* PIC init 10, unmask 1, PIT 3 + read-back 3, stop 2, and at least 50 EOIs. */
	pio = count_line(text, &mmio);
	TEST_ASSERT(pio >= 19 + 50 + print_cost(text), "pio=%" PRIu64 " too small", pio);
	free(out);
}

TEST(compute_digest_checks_itself)
{
	char *out;
	int status = qemu_boot("compute", "", &out);
	const char *text = guest_output(out, "compute: ");

	TEST_ASSERT(status == 1, "QEMU exit status %d, wanted 1; output:\n%s", status, out);
	TEST_ASSERT(strstr(text, "compute: sha256(64 MiB) = 422d9d650a18c97e1bfca0cf437e317804e4"
			   "480c10376a5dd2c39d2fac1957e6\ncompute: digest ok\n") == text,
		    "got %s", text);
	free(out);
}

TEST(rtc_reads_a_plausible_date)
{
	char *out;
	int status = qemu_boot("rtc", "", &out);
	const char *text = guest_output(out, "rtc: ");
	unsigned y, mo, d, h, mi, s;

	TEST_ASSERT(status == 1, "QEMU exit status %d, wanted 1; output:\n%s", status, out);
	TEST_ASSERT(sscanf(text, "rtc: %u-%u-%u %u:%u:%u", &y, &mo, &d, &h, &mi, &s) == 6,
		    "got %s", text);
	TEST_ASSERT(y >= 2024 && y <= 2099, "year %u", y);
	free(out);
}

TEST(crash_modes_end_the_run)
{
	char *out;
	int status = qemu_boot("crash", "", &out);
	const char *text = guest_output(out, "crash: mode=triple\n");

	/* A triple fault resets; with -no-reboot QEMU then exits 0, with no count line. */
	TEST_ASSERT(status == 0, "QEMU exit status %d, wanted 0; output:\n%s", status, out);
	TEST_ASSERT(!strstr(text, "kvmrr-guest:"), "triple fault printed: %s", text);
	free(out);

	status = qemu_boot("crash", "mode=pf", &out);
	text = guest_output(out, "crash: mode=pf\n");
	TEST_ASSERT(status == 5, "QEMU exit status %d, wanted 5; output:\n%s", status, out);   /* ABI_EXIT_EXCEPTION */
	TEST_ASSERT(strstr(text, "kvmrr-guest: exception 14 (#PF) error=0x4 ") &&
		    strstr(text, " cr2=0x100000000 cs=0x23 "), "got %s", text);
	free(out);

	status = qemu_boot("crash", "mode=bogus", &out);
	TEST_ASSERT(status == 7, "QEMU exit status %d, wanted 7; output:\n%s", status, out);   /* ABI_EXIT_BADARG */
	free(out);
}

TEST(preempt_switches_tasks_round_robin)
{
	static const char *const modes[] = { "ticks=31", "ticks=31 constregs" };

	for (int i = 0; i < 2; i++) {
		char *out;
		int status = qemu_boot("preempt", modes[i], &out);
		const char *text = guest_output(out, "preempt: ");

		TEST_ASSERT(status == 1, "QEMU exit status %d, wanted 1; output:\n%s", status, out);
		TEST_ASSERT(strstr(text, i ? "mode=constregs ticks=31 slices=10/10/10 "
					   : "mode=work ticks=31 slices=10/10/10 "),
			    "got %s", text);
		free(out);
	}
}

TEST(bad_arguments_exit_badarg)
{
	char *out;
	int status = qemu_boot("exits", "n=12x", &out);

	TEST_ASSERT(status == 7, "QEMU exit status %d, wanted 7; output:\n%s", status, out);
	TEST_ASSERT(strstr(out, "kvmrr-guest: bad number in n=12x\n"), "got %s", out);
	free(out);
}

/*
 * The same images on this host's KVM through QEMU: the runtime's CPL0/CPL3
 * split must hold where CPL0 is emulated and INT n from CPL3 becomes #UD
 * (a system call that stayed at CPL3 fails the exits guest's CPL check).
 */
TEST(guests_run_on_this_hosts_kvm)
{
	char *out;
	int status;

	test_require_kvm();
	status = qemu_boot_accel("kvm", "exits", "n=2000", &out);
	TEST_ASSERT(status == 1, "QEMU exit status %d, wanted 1; output:\n%s", status, out);
	guest_output(out, "exits: 2000 port-IO exits at CPL0: ok\n");
	free(out);
	status = qemu_boot_accel("kvm", "preempt", "ticks=31", &out);
	TEST_ASSERT(status == 1, "QEMU exit status %d, wanted 1; output:\n%s", status, out);
	guest_output(out, "preempt: mode=work ticks=31 slices=10/10/10 ");
	free(out);
}

TEST_MAIN()
