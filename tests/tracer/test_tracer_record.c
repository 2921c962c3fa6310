/* SPDX-License-Identifier: MIT */
/*
 * End to end: `kvmrr record` on every bundled guest, checked against what
 * the guest itself reports (its port-IO and MMIO counts, its console), the
 * time columns, and the initial vCPU state restored into a fresh VM. Then
 * SIGINT, kill -9, and a 1,000,000-exit recording.
 */
#include <dirent.h>
#include <sched.h>
#include <sys/mount.h>
#include <inttypes.h>

#include "machine/machine.h"
#include "tests/test.h"
#include "tests/tracer/tracer_e2e.h"
#include "tracer/format.h"
#include "tracer/snapshot.h"

#define UART_BASE 0x3f8
#define MSR_IA32_TSC 0x10

/* Every async_irq event has its async_point row and vice versa (same seq), also in a cut-short file. */
static void check_async_points(sqlite3 *db)
{
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM event WHERE kind = 4 AND seq NOT IN"
			      " (SELECT seq FROM async_point)"), 0);
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM async_point WHERE seq NOT IN"
			      " (SELECT seq FROM event WHERE kind = 4)"), 0);
}

/* The recording is complete and its rows are exact: seq 0..exits-1, meta.exits. */
static void check_complete(sqlite3 *db, const char *end)
{
	char buf[64];
	long long rows = tt_int(db, "SELECT count(*) FROM exit");

	TEST_ASSERT_STR_EQ(tt_text(db, "PRAGMA integrity_check", buf, sizeof(buf)), "ok");
	TEST_ASSERT_EQ(tt_int(db, "SELECT value FROM meta WHERE key = 'complete'"), 1);
	if (end)
		TEST_ASSERT_STR_EQ(tt_text(db, "SELECT value FROM meta WHERE key = 'end'", buf, sizeof(buf)), end);
	TEST_ASSERT_EQ(tt_int(db, "SELECT value FROM meta WHERE key = 'exits'"), rows);
	TEST_ASSERT_EQ(tt_int(db, "SELECT coalesce(max(seq) + 1, 0) FROM exit"), rows);
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM vcpu_state WHERE phase = 'final'"),
		       tt_int(db, "SELECT count(*) FROM vcpu_state WHERE phase = 'initial'"));
	TEST_ASSERT_EQ(tt_int(db, "SELECT length(value) FROM meta WHERE key = 'final_mem_digest'"), 64);
	check_async_points(db);
}

/* Entry times strictly increase, guest time is positive, VMM time not negative. */
static void check_times(sqlite3 *db)
{
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM exit WHERE guest_ticks <= 0 OR vmm_ticks < 0"), 0);
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM (SELECT ts_ns, lag(ts_ns) OVER (ORDER BY seq)"
			      " AS prev FROM exit_timeline) WHERE ts_ns <= prev"), 0);
}

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
static void compare_state(const struct tracer_snapshot *a, const struct tracer_snapshot *b)
{
	TEST_ASSERT_EQ(a->have, b->have);
	for (unsigned int k = 0; k < TRACER_STATE_COUNT; k++) {
		size_t la, lb;
		const uint8_t *pa = tracer_snapshot_blob(a, k, &la), *pb = tracer_snapshot_blob(b, k, &lb);

		if (!(a->have & (1U << k)) || k == TRACER_STATE_MSRS)
			continue;
		TEST_ASSERT_EQ(la, lb);
		for (size_t i = 0; i < la; i++)
			TEST_ASSERT(pa[i] == pb[i], "state %s differs at byte %zu: recorded 0x%02x, "
				    "restored 0x%02x", tracer_state_kind_name(k), i, pa[i], pb[i]);
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
	struct tracer_snapshot want, got;
	struct machine_config cfg = { 0 };
	struct machine m;
	char err[1024] = "";
	sqlite3 *db = NULL;

	TEST_ASSERT(tracer_recording_open(rec, &db, err, sizeof(err)) == 0, "%s", err);
	TEST_ASSERT(tracer_snapshot_load(db, 0, "initial", &want, err, sizeof(err)) == 0, "%s", err);
	cfg.mem_size = (uint64_t)tt_int(db, "SELECT value FROM meta WHERE key = 'mem_size'");
	cfg.serial_out_fd = open("/dev/null", O_WRONLY);
	sqlite3_close(db);
	TEST_ASSERT(machine_create(&m, &cfg, err, sizeof(err)) == 0, "machine_create: %s", err);
	TEST_ASSERT(tracer_snapshot_restore(&want, &m.vcpu, err, sizeof(err)) == 0, "%s", err);
	TEST_ASSERT(tracer_snapshot_take(&got, &m.vcpu, m.kvm_fd, err, sizeof(err)) == 0, "%s", err);
	compare_state(&want, &got);
	tracer_snapshot_free(&want);
	tracer_snapshot_free(&got);
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
		TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM exit WHERE reason = 2"), pio);
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

/* Every guest the build makes has a test above. */
TEST(every_guest_is_covered)
{
	static const char *const known[] = { "hello", "echo", "entropy", "rtc", "timer", "mmio",
					     "compute", "exits", "crash", "rdtsc", "preempt" };
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

static void wait_for_rows(const char *rec, long long rows, int timeout_ms)
{
	for (int t = 0; t < timeout_ms; t += 100) {
		sqlite3 *db = NULL;
		long long n = -1;

		if (access(rec, F_OK) == 0 && sqlite3_open_v2(rec, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
			sqlite3_stmt *st = NULL;

			sqlite3_busy_timeout(db, 1000);
			if (sqlite3_prepare_v2(db, "SELECT count(*) FROM exit", -1, &st, NULL) == SQLITE_OK &&
			    sqlite3_step(st) == SQLITE_ROW)
				n = sqlite3_column_int64(st, 0);
			sqlite3_finalize(st);
		}
		sqlite3_close(db);
		if (n >= rows)
			return;
		usleep(100000);
	}
	TEST_ASSERT(0, "%s did not reach %lld exit rows in %d ms", rec, rows, timeout_ms);
}

TEST(sigint_ends_cleanly)
{
	struct e2e_run r;
	sqlite3 *db;
	char buf[128];

	e2e_start(&r, "exits", (const char *const[]){ "--cmdline", "n=1000000000", NULL });
	wait_for_rows(r.rec, 10000, 30000);
	kill(r.pid, SIGINT);
	e2e_wait(&r);
	TEST_ASSERT_EQ(r.status, 12);   /* kvmrr's status for "ended by signal" */
	db = tt_open(r.rec);
	check_complete(db, "signal");
	check_times(db);
	TEST_ASSERT_EQ(tt_int(db, "SELECT value FROM meta WHERE key = 'end_code'"), 12);
	tt_text(db, "SELECT value FROM meta WHERE key = 'end_detail'", buf, sizeof(buf));
	printf("# SIGINT after %lld exits: %s\n", tt_int(db, "SELECT count(*) FROM exit"), buf);
	TEST_ASSERT(strstr(buf, "signal"), "end_detail: %s", buf);
	sqlite3_close(db);
	e2e_free(&r);
	tt_cleanup(r.dir);
}

/* A guest spinning without exits: SIGINT must reach the vCPU thread (not the writer) and kick it. */
TEST(sigint_stops_a_spinning_guest)
{
	struct e2e_run r;
	sqlite3 *db;
	int st = 0;

	e2e_start(&r, "crash", (const char *const[]){ "--cmdline", "mode=spin", NULL });
	wait_for_rows(r.rec, 1, 30000);
	usleep(500000);
	kill(r.pid, SIGINT);
	for (int i = 0; i < 100 && waitpid(r.pid, &st, WNOHANG) == 0; i++)
		usleep(100000);
	if (kill(r.pid, 0) == 0) {
		kill(r.pid, SIGKILL);
		TEST_ASSERT(0, "kvmrr record still running 10 s after SIGINT");
	}
	r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	TEST_ASSERT_EQ(r.status, 12);
	db = tt_open(r.rec);
	check_complete(db, "signal");
	/* The kick made KVM_RUN return: the last exit is that INTR. */
	TEST_ASSERT_EQ(tt_int(db, "SELECT reason FROM exit ORDER BY seq DESC LIMIT 1"), KVM_EXIT_INTR);
	sqlite3_close(db);
	tt_cleanup(r.dir);
}

TEST(kill9_leaves_readable_prefix)
{
	struct e2e_run r;
	sqlite3 *db;
	char buf[64];
	long long rows;

	e2e_start(&r, "exits", (const char *const[]){ "--cmdline", "n=1000000000", NULL });
	wait_for_rows(r.rec, 10000, 30000);
	kill(r.pid, SIGKILL);
	e2e_wait(&r);
	TEST_ASSERT_EQ(r.status, 128 + SIGKILL);
	db = tt_open(r.rec);
	TEST_ASSERT_STR_EQ(tt_text(db, "PRAGMA integrity_check", buf, sizeof(buf)), "ok");
	TEST_ASSERT_EQ(tt_int(db, "SELECT value FROM meta WHERE key = 'complete'"), 0);
	rows = tt_int(db, "SELECT count(*) FROM exit");
	TEST_ASSERT(rows >= 10000, "%lld rows", rows);
	TEST_ASSERT_EQ(tt_int(db, "SELECT max(seq) + 1 FROM exit"), rows);
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM vcpu_state WHERE phase = 'initial'"),
		       TRACER_STATE_COUNT);
	check_times(db);
	printf("# kill -9 left %lld exits, complete=0\n", rows);
	sqlite3_close(db);
	e2e_free(&r);
	tt_cleanup(r.dir);
}

/* A full disk mid-run: kvmrr stops with a clear error, not success, and the file stays incomplete. */
TEST(disk_full_stops_the_run)
{
	char mnt[64], rec[128], cmd[2048], bin[512], guest[512], *out = NULL;
	int status;
	sqlite3 *db;

	tt_tmpdir(mnt, sizeof(mnt));
	if (unshare(CLONE_NEWNS) < 0)
		TEST_SKIP("unshare(CLONE_NEWNS): %s (needs CAP_SYS_ADMIN)", strerror(errno));
	TEST_ASSERT(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0, "make / private");
	/* Room for the initial state (~0.2 MB) but not for 200k exits (~6 MB). */
	TEST_ASSERT(mount("tmpfs", mnt, "tmpfs", 0, "size=2m") == 0, "mount tmpfs on %s", mnt);
	snprintf(rec, sizeof(rec), "%s/rec.db", mnt);
	test_build_path("cli/kvmrr", bin, sizeof(bin));
	snprintf(cmd, sizeof(cmd), "{ %s record -o %s --cmdline n=200000 %s </dev/null >/dev/null; }", bin,
		 rec, e2e_guest("exits", guest, sizeof(guest)));
	status = test_run_capture(cmd, &out);
	printf("# status %d: %.400s\n", status, out);
	TEST_ASSERT(status != 0 && status != 1, "kvmrr record must fail, status %d", status);
	TEST_ASSERT(strstr(out, "incomplete") && (strstr(out, "full") || strstr(out, "space")),
		    "a clear message: %s", out);
	db = tt_open(rec);
	TEST_ASSERT_EQ(tt_int(db, "SELECT value FROM meta WHERE key = 'complete'"), 0);
	sqlite3_close(db);
	free(out);
	TEST_ASSERT(umount2(mnt, MNT_DETACH) == 0, "umount %s", mnt);
	tt_cleanup(mnt);
}

/* kill -9 of a guest taking asynchronous interrupts: events and their points form the same prefix. */
TEST(kill9_with_async_points)
{
	struct e2e_run r;
	sqlite3 *db;
	long long events;

	e2e_start(&r, "preempt", (const char *const[]){ "--cmdline", "ticks=1000000", NULL });
	wait_for_rows(r.rec, 200, 30000);
	usleep(300000);
	kill(r.pid, SIGKILL);
	e2e_wait(&r);
	db = tt_open(r.rec);
	TEST_ASSERT_EQ(tt_int(db, "SELECT value FROM meta WHERE key = 'complete'"), 0);
	events = tt_int(db, "SELECT count(*) FROM event WHERE kind = 4");
	TEST_ASSERT(events > 0, "no async_irq events committed");
	check_async_points(db);
	printf("# kill -9: %lld exits, %lld async_irq events, each with its point\n",
	       tt_int(db, "SELECT count(*) FROM exit"), events);
	sqlite3_close(db);
	e2e_free(&r);
	tt_cleanup(r.dir);
}

TEST(million_exits_exact)
{
	struct e2e_run r;
	unsigned long long pio = 0, mmio = 0;
	const char *line;
	sqlite3 *db;
	long long rows;

	e2e_record(&r, "exits", (const char *const[]){ "--cmdline", "n=1000000", NULL });
	TEST_ASSERT(strstr(r.stdout_text, "exits: 1000000 port-IO exits at CPL0: ok"),
		    "guest output: %.300s", r.stdout_text);
	line = strstr(r.stdout_text, "kvmrr-guest: pio=");
	TEST_ASSERT(line && sscanf(line, "kvmrr-guest: pio=%llu mmio=%llu", &pio, &mmio) == 2,
		    "count line in: %.300s", r.stdout_text);
	db = tt_open(r.rec);
	check_complete(db, "guest-exit");
	rows = tt_int(db, "SELECT count(*) FROM exit");
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM exit WHERE reason = 2"), pio);
	TEST_ASSERT(pio >= 1000000, "pio %llu", pio);
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM exit WHERE reason = 2 AND addr = 1023"), 1000000);
	printf("# %lld exits recorded (%llu port IO), %.1f bytes of file per exit\n", rows, pio,
	       (double)tt_int(db, "PRAGMA page_count") * tt_int(db, "PRAGMA page_size") / rows);
	check_times(db);
	sqlite3_close(db);
	e2e_free(&r);
	tt_cleanup(r.dir);
}

TEST_MAIN()
