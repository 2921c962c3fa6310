/* SPDX-License-Identifier: MIT */
/*
 * End to end: `kvmrr record` on every bundled guest, checked against what
 * the guest itself reports (its port-IO and MMIO counts, its console), the
 * time columns, the RIP of every IO exit, and the initial vCPU state
 * restored into a fresh VM. (How runs end: test_tracer_runs.c.)
 */
#include <dirent.h>
#include <inttypes.h>

#include "machine/machine.h"
#include "machine/sha256.h"
#include "tests/test.h"
#include "tests/tracer/tracer_e2e.h"
#include "stream/format.h"
#include "stream/snapshot.h"

#define UART_BASE 0x3f8
#define MSR_IA32_TSC 0x10

/* Console bytes = THR writes with DLAB clear and loopback off, in order. */
static char *uart_output(sqlite3 *db, size_t *len)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 4096, n = 0;
	char *out = malloc(cap);
	uint8_t lcr = 0, mcr = 0;

	TEST_ASSERT(sqlite3_prepare_v2(db, "SELECT addr, size, data FROM exit WHERE reason = 2 AND"
		" dir = 1 AND addr BETWEEN 1016 AND 1023 ORDER BY seq", -1, &st, NULL) == SQLITE_OK, "prep");
	while (sqlite3_step(st) == SQLITE_ROW) {
		int port = sqlite3_column_int(st, 0), size = sqlite3_column_int(st, 1);
		const uint8_t *d = sqlite3_column_blob(st, 2);
		int bytes = sqlite3_column_bytes(st, 2);

		for (int i = 0; i + size <= bytes; i += size) {
			if (port == UART_BASE + 3)
				lcr = d[i];
			else if (port == UART_BASE + 4)
				mcr = d[i];
			else if (port == UART_BASE && !(lcr & 0x80) && !(mcr & 0x10)) {
				if (n + 1 >= cap)
					out = realloc(out, cap *= 2);
				out[n++] = (char)d[i];
			}
		}
	}
	sqlite3_finalize(st);
	out[n] = 0;
	*len = n;
	return out;
}

/* Blob equality per state kind; the MSRs compared entry by entry, the TSC left out. */
static void compare_state(const struct stream_snapshot *a, const struct stream_snapshot *b)
{
	TEST_ASSERT_EQ(a->have, b->have);
	for (unsigned int k = 0; k < STREAM_STATE_COUNT; k++) {
		size_t la, lb;
		const uint8_t *pa = stream_snapshot_blob(a, k, &la), *pb = stream_snapshot_blob(b, k, &lb);

		if (!(a->have & (1U << k)) || k == STREAM_STATE_MSRS)
			continue;
		TEST_ASSERT_EQ(la, lb);
		for (size_t i = 0; i < la; i++)
			TEST_ASSERT(pa[i] == pb[i], "state %s differs at byte %zu: recorded 0x%02x, "
				    "restored 0x%02x", stream_state_kind_name(k), i, pa[i], pb[i]);
	}
	TEST_ASSERT_EQ(a->msrs->nmsrs, b->msrs->nmsrs);
	for (uint32_t i = 0; i < a->msrs->nmsrs; i++) {
		const struct kvm_msr_entry *x = &a->msrs->entries[i], *y = &b->msrs->entries[i];

		TEST_ASSERT_EQ(x->index, y->index);
		if (x->index != MSR_IA32_TSC)
			TEST_ASSERT(x->data == y->data, "MSR 0x%x: recorded 0x%llx, restored 0x%llx",
				    x->index, (unsigned long long)x->data, (unsigned long long)y->data);
	}
}

/* Write the recorded initial state into a fresh VM, read it back, compare. */
static void check_restore(const char *rec)
{
	struct stream_snapshot want, got;
	struct machine_config cfg = { 0 };
	struct machine m;
	struct err err = { 0 };
	sqlite3 *db = NULL;

	TEST_ASSERT(stream_recording_open(rec, &db, &err) == 0, "%s", err.msg);
	TEST_ASSERT(stream_snapshot_load(db, 0, "initial", &want, &err) == 0, "%s", err.msg);
	cfg.mem_size = (uint64_t)tt_int(db, "SELECT value FROM meta WHERE key = 'mem_size'");
	cfg.serial_out_fd = open("/dev/null", O_WRONLY);
	sqlite3_close(db);
	TEST_ASSERT(machine_create(&m, &cfg, &err) == 0, "machine_create: %s", err.msg);
	TEST_ASSERT(stream_snapshot_restore(&want, &m.vcpu, &err) == 0, "%s", err.msg);
	TEST_ASSERT(stream_snapshot_take(&got, &m.vcpu, m.kvm_fd, &err) == 0, "%s", err.msg);
	compare_state(&want, &got);
	stream_snapshot_free(&want);
	stream_snapshot_free(&got);
	machine_destroy(&m);
}

/*
 * RIP comes from the sync-regs area. KVM skips an OUT before it exits to
 * userspace (x86.c kvm_fast_pio: nothing left to do), so RIP follows it:
 * "e6/e7 imm8" or "ee/ef" just before RIP. An IN completes on the next
 * KVM_RUN (complete_fast_pio_in), so RIP is still at "e4/e5" or "ec/ed".
 * String INS/OUTS (emulated) stay at RIP until done. Prefixes 66/f3 skipped.
 * The code pages are in mem_page (the image is identity-mapped).
 */
static bool io_insn_at(const uint8_t *page, uint64_t off, bool in)
{
	const uint8_t *c = page + off;
	int i = 0;

	if (!in && ((c[-1] == 0xee || c[-1] == 0xef) || c[-2] == 0xe6 || c[-2] == 0xe7))
		return true;
	while (i < 3 && (c[i] == 0x66 || c[i] == 0xf3))
		i++;
	if (in)
		return c[i] == 0xe4 || c[i] == 0xe5 || c[i] == 0xec || c[i] == 0xed || c[i] == 0x6c ||
		       c[i] == 0x6d;
	return c[i] == 0x6e || c[i] == 0x6f;
}

static void check_io_rips(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int checked = 0;

	TEST_ASSERT(sqlite3_prepare_v2(db, "SELECT e.seq, e.rip, p.data, e.dir FROM exit e JOIN mem_page p"
		" ON p.gpa = (e.rip & ~4095) WHERE e.reason = 2 AND (e.rip & 4095) BETWEEN 2 AND 4090",
		-1, &st, NULL) == SQLITE_OK, "prep");
	while (sqlite3_step(st) == SQLITE_ROW) {
		uint64_t rip = (uint64_t)sqlite3_column_int64(st, 1);
		const uint8_t *page = sqlite3_column_blob(st, 2);
		const uint8_t *c = page + (rip & 4095);

		TEST_ASSERT(io_insn_at(page, rip & 4095, sqlite3_column_int(st, 3) == 0),
			    "seq %lld: no %s at (IN) / before (OUT) rip 0x%llx: "
			    "%02x %02x | %02x %02x", sqlite3_column_int64(st, 0),
			    sqlite3_column_int(st, 3) ? "OUT" : "IN", (unsigned long long)rip,
			    c[-2], c[-1], c[0], c[1]);
		checked++;
	}
	sqlite3_finalize(st);
	TEST_ASSERT(checked > 0, "no IO exit with its code page in mem_page");
}

/* Record guest with opts and check everything the recording can be checked against. */
static void check_guest(const char *guest, const char *const *opts)
{
	struct e2e_run r;
	unsigned long long pio, mmio;
	const char *line;
	size_t ulen;
	char *uart;
	sqlite3 *db;

	e2e_record(&r, guest, opts);
	printf("# %s: status %d; stderr: %.300s\n", guest, r.status, r.stderr_text);
	TEST_ASSERT(!strstr(r.stderr_text, "incomplete"), "recording failed: %s", r.stderr_text);
	db = tt_open(r.rec);
	check_complete(db, NULL);
	check_times(db);
	check_io_rips(db);
	line = strstr(r.stdout_text, "kvmrr-guest: pio=");
	if (line) {
		TEST_ASSERT(sscanf(line, "kvmrr-guest: pio=%llu mmio=%llu", &pio, &mmio) == 2, "%s", line);
		/* strio's one REP OUTSB is not counted by the guest: KVM decides how many exits it makes. */
		long long rep = strcmp(guest, "strio") ? 0 :
				tt_int(db, "SELECT count(*) FROM exit WHERE reason = 2 AND rip = (SELECT rip FROM "
				       "exit WHERE reason = 2 GROUP BY rip ORDER BY count(*) DESC LIMIT 1)");

		TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM exit WHERE reason = 2") - rep, pio);
		TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM exit WHERE reason = 6"), mmio);
		printf("# %s: %llu port-IO and %llu MMIO exits, as the guest counted\n", guest, pio, mmio);
	} else {
		char end[64];

		tt_text(db, "SELECT value FROM meta WHERE key = 'end'", end, sizeof(end));
		TEST_ASSERT(strcmp(end, "guest-exit") != 0, "%s exited without its count line", guest);
		printf("# %s ended '%s' without a count line: counts not checked\n", guest, end);
	}
	uart = uart_output(db, &ulen);
	TEST_ASSERT(ulen == r.stdout_len && memcmp(uart, r.stdout_text, ulen) == 0,
		    "UART bytes in the log (%zu) differ from the console output (%zu):\n"
		    "log: %.200s\nconsole: %.200s", ulen, r.stdout_len, uart, r.stdout_text);
	free(uart);
	sqlite3_close(db);
	check_restore(r.rec);
	e2e_free(&r);
	tt_cleanup(r.dir);
}

#define GUEST_TEST(name, ...) \
	TEST(guest_##name) { check_guest(#name, (const char *const[]){ __VA_ARGS__ }); }

GUEST_TEST(hello, "--timeout", "60", "--cmdline", "a=1 b", NULL)
/* echo reads the UART: its input (IN data) is in the log, its output must match. */
TEST(guest_echo)
{
	char in[] = "/tmp/kvmrr-tracer-echo-XXXXXX";
	int fd = mkstemp(in);
	static const char text[] = "hello\r\nrecord me\nEOF\n";

	TEST_ASSERT(fd >= 0 && write(fd, text, sizeof(text) - 1) == (ssize_t)sizeof(text) - 1, "%s", in);
	close(fd);
	check_guest("echo", (const char *const[]){ "--timeout", "60", "--serial-in", in, NULL });
	unlink(in);
}
GUEST_TEST(entropy, "--timeout", "60", NULL)
GUEST_TEST(rtc, "--timeout", "60", NULL)
GUEST_TEST(timer, "--timeout", "60", NULL)
GUEST_TEST(mmio, "--timeout", "60", NULL)
GUEST_TEST(compute, "--timeout", "60", NULL)
GUEST_TEST(exits, "--timeout", "60", "--cmdline", "n=20000", NULL)
GUEST_TEST(crash, "--timeout", "60", NULL)
GUEST_TEST(rdtsc, "--timeout", "60", NULL)
GUEST_TEST(preempt, "--timeout", "60", NULL)
GUEST_TEST(strio, "--timeout", "60", NULL)
GUEST_TEST(int3, "--timeout", "60", "--cmdline", "ist", NULL)
GUEST_TEST(gdbt, "--timeout", "60", "--cmdline", "rounds=30", NULL)

/*
 * stream_mem_digest is SHA-256 of all RAM in gpa order, also for pages it
 * skips reading (never populated: hashed as zeros). Pages written, pages only
 * read (zero page mapped) and pages never touched, checked against a plain
 * SHA-256 of the whole region.
 */
TEST(mem_digest_is_sha256_of_ram)
{
	struct guest_mem mem = { 0 };
	uint8_t got[32], want[32];
	char hex[65], whex[65];
	uint64_t rng = 7;
	volatile uint8_t sink = 0;

	TEST_ASSERT_OK(guest_mem_alloc(&mem, 64ULL << 20));
	for (int i = 0; i < 300; i++) {
		uint64_t page = tt_rand(&rng) % (mem.regions[0].size / 4096);

		if (i % 3)
			mem.regions[0].host[page * 4096 + tt_rand(&rng) % 4096] = (uint8_t)(1 + i);
		else
			sink ^= mem.regions[0].host[page * 4096];   /* read only */
	}
	(void)sink;
	stream_mem_digest(&mem, got, hex);
	sha256(mem.regions[0].host, mem.regions[0].size, want);
	sha256_hex(want, whex);
	TEST_ASSERT_STR_EQ(hex, whex);
	TEST_ASSERT(memcmp(got, want, 32) == 0, "binary digest");
	guest_mem_free(&mem);
}

/* Without REP string IO (rep_in=0 rep_out=0) every access of hostile is one exit it counts. */
GUEST_TEST(hostile, "--cmdline", "ports=256 rep_in=0 rep_out=0 step=0x10000000", NULL)

/*
 * smp needs a second CPU and a LAPIC (QEMU -smp 2: tests/trace); kvmrr's
 * machine has neither, so the guest makes its own exits, waits, says why it
 * fails and exits 1 (status 3), all of it recorded.
 */
TEST(guest_smp_alone)
{
	struct e2e_run r;
	sqlite3 *db;

	e2e_record(&r, "smp", (const char *const[]){ "--timeout", "60", "--cmdline", "n=10", NULL });
	TEST_ASSERT_EQ(r.status, 3);
	TEST_ASSERT(strstr(r.stdout_text, "FAIL: smp: the second CPU did not finish its 10 exits"),
		    "output: %s", r.stdout_text);
	db = tt_open(r.rec);
	check_complete(db, "guest-exit");
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM exit WHERE reason = 2 AND addr = 1792 AND dir = 1"), 10);
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM exit WHERE addr = 1793"), 0);
	sqlite3_close(db);
	e2e_free(&r);
	tt_cleanup(r.dir);
}

/* Every guest the build makes has a test above. */
TEST(every_guest_is_covered)
{
	static const char *const known[] = { "hello", "echo", "entropy", "rtc", "timer", "mmio",
					     "compute", "exits", "crash", "rdtsc", "preempt", "strio",
					     "hostile", "int3", "gdbt", "smp" };
	char dir[512];
	struct dirent *de;
	DIR *d = opendir(test_build_path("guests", dir, sizeof(dir)));
	int n = 0;

	TEST_ASSERT(d, "opendir %s", dir);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		bool found = false;

		if (len < 5 || strcmp(de->d_name + len - 4, ".elf"))
			continue;
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			found |= strlen(known[i]) == len - 4 && !strncmp(de->d_name, known[i], len - 4);
		TEST_ASSERT(found, "guest %s has no record test", de->d_name);
		n++;
	}
	closedir(d);
	TEST_ASSERT(n > 0, "no guests built in %s", dir);
}

TEST_MAIN()
