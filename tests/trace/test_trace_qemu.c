/* SPDX-License-Identifier: MIT */
/*
 * kvmrr trace on Debian's QEMU with -enable-kvm: every port-IO exit of the
 * bundled guests is in the log with its data, the IN data is what the guest
 * got, the analysis commands read the result, replay refuses it, and a
 * kill -9 of QEMU leaves a readable prefix.
 */
#include "tests/trace/trace_qemu.h"

#define SCR "1023"   /* the UART scratch register the exits guest storms */

/* The exits guest's storm is in the log: n exits on the scratch register, OUT k writes k, IN reads back the last OUT. */
static void check_storm(sqlite3 *db, long long n)
{
	char buf[64];

	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM exit WHERE reason = 2 AND addr = " SCR), n);
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM exit WHERE reason = 2 AND addr = " SCR
			      " AND (size != 1 OR length(data) != 1)"), 0);
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM exit WHERE reason = 2 AND addr = " SCR
			      " AND dir = 0"), n / 2);
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM (SELECT data, row_number() OVER (ORDER BY seq) - 1 AS k"
			      " FROM exit WHERE reason = 2 AND addr = " SCR " AND dir = 1)"
			      " WHERE hex(data) != printf('%02X', k % 256)"), 0);
	/* The guest checked every read against its write and passed: the recorded IN data is what it got. */
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM exit i WHERE i.reason = 2 AND i.addr = " SCR
			      " AND i.dir = 0 AND i.data IS NOT (SELECT o.data FROM exit o WHERE o.reason = 2"
			      " AND o.addr = " SCR " AND o.dir = 1 AND o.seq < i.seq ORDER BY o.seq DESC LIMIT 1)"), 0);
	TEST_ASSERT_STR_EQ(tt_text(db, "SELECT hex(data) FROM exit WHERE reason = 2 AND addr = 244 AND dir = 1"
				   " ORDER BY seq DESC LIMIT 1", buf, sizeof(buf)), "00000000");
}

/* A finished trace: complete, ended as the VMM did, seq 0..rows-1, meta says what it is. */
/* The end kvmrr trace wrote, on an intact file whose seq run 0..rows-1 (one vCPU, or all committed). */
static long long check_end(sqlite3 *db, int complete, const char *end, int code)
{
	char buf[256];
	long long rows = tt_int(db, "SELECT count(*) FROM exit");

	TEST_ASSERT_STR_EQ(tt_text(db, "PRAGMA integrity_check", buf, sizeof(buf)), "ok");
	TEST_ASSERT_EQ(tt_int(db, "SELECT value FROM meta WHERE key = 'complete'"), complete);
	TEST_ASSERT_STR_EQ(tt_text(db, "SELECT value FROM meta WHERE key = 'end'", buf, sizeof(buf)), end);
	TEST_ASSERT_EQ(tt_int(db, "SELECT value FROM meta WHERE key = 'end_code'"), code);
	TEST_ASSERT_EQ(tt_int(db, "SELECT value FROM meta WHERE key = 'exits'"), rows);
	TEST_ASSERT_EQ(tt_int(db, "SELECT coalesce(max(seq) + 1, 0) FROM exit"), rows);
	return rows;
}

static void check_finished(sqlite3 *db, int status)
{
	char buf[256];
	long long rows = check_end(db, 1, "vmm-exit", status);

	TEST_ASSERT_EQ(tt_int(db, "SELECT value FROM meta WHERE key = 'traced_exits'"), rows);
	TEST_ASSERT(strstr(tt_text(db, "SELECT value FROM meta WHERE key = 'traced_vmm'", buf, sizeof(buf)),
			   TQ_QEMU), "meta.traced_vmm is %s", buf);
	TEST_ASSERT_STR_EQ(tt_text(db, "PRAGMA journal_mode", buf, sizeof(buf)), "delete");
}

/* Trace QEMU running guest to its debug-exit 0 (status 1), check the finished file; the open recording. */
static sqlite3 *trace_ok(struct e2e_run *r, const char *const *opts, const char *machine, const char *smp,
			 const char *guest, const char *args, const char *in)
{
	sqlite3 *db;

	tq_require_qemu();
	tq_start(r, opts, machine, smp, guest, args, in);
	tq_wait(r);
	TEST_ASSERT_EQ(r->status, 1);   /* the guest's debug-exit 0: QEMU's status (0 << 1) | 1 */
	db = tt_open(r->rec);
	check_finished(db, 1);
	return db;
}

TEST(microvm_exits_all_port_io_with_data)
{
	struct e2e_run r;
	sqlite3 *db;
	char *out = NULL, args[256];

	db = trace_ok(&r, NULL, "microvm", "1", "exits", "n=2000", NULL);
	TEST_ASSERT(strstr(r.stdout_text, "exits: 2000 port-IO exits at CPL0: ok"), "guest output: %s", r.stdout_text);
	check_storm(db, 2000);
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM exit WHERE vcpu != 0"), 0);
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM exit WHERE rip IS NOT NULL"), 0);
	TEST_ASSERT(tt_int(db, "SELECT count(*) FROM exit WHERE guest_ticks <= 0") == 0, "guest time");
	sqlite3_close(db);

	snprintf(args, sizeof(args), "stats %s", r.rec);
	TEST_ASSERT_EQ(tq_kvmrr(args, &out), 0);
	TEST_ASSERT(strstr(out, "IO") && strstr(out, "vmm-exit"), "stats: %s", out);
	free(out);
	snprintf(args, sizeof(args), "query %s \"SELECT count(*) FROM pio_stats WHERE port = 1023\"", r.rec);
	TEST_ASSERT_EQ(tq_kvmrr(args, &out), 0);
	free(out);
	snprintf(args, sizeof(args), "report %s -o %s/report.html", r.rec, r.dir);
	TEST_ASSERT_EQ(tq_kvmrr(args, &out), 0);
	free(out);
	snprintf(args, sizeof(args), "export %s --format csv -o %s/x.csv", r.rec, r.dir);
	TEST_ASSERT_EQ(tq_kvmrr(args, &out), 0);
	free(out);
	snprintf(args, sizeof(args), "replay %s", r.rec);
	TEST_ASSERT(tq_kvmrr(args, &out) != 0, "replay accepted a trace: %s", out);
	TEST_ASSERT(strstr(out, "a trace of another VMM") && strstr(out, "cannot be replayed"),
		    "replay's refusal: %s", out);
	free(out);
	tq_free(&r);
}

/* What the guest printed is what the recorded IN data on the UART's RBR spells, upper-cased. */
static void check_echo(sqlite3 *db, const char *printed)
{
	char got[4096] = "", want[4096] = "", line[256];
	char *in = (char *)tt_text(db, "SELECT coalesce(group_concat(data, ''), '') FROM (SELECT data"
				   " FROM exit WHERE reason = 2 AND addr = 1016 AND dir = 0 ORDER BY seq)",
				   line, sizeof(line));
	int lines = 0;

	for (char *p = in, *nl; (nl = strchr(p, '\n')); p = nl + 1) {
		size_t n = 0;
		char l[256];

		for (char *c = p; c < nl && n < sizeof(l) - 1; c++)
			if (*c != '\r')
				l[n++] = (char)(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
		l[n] = 0;
		if (strcmp(l, "EOF") == 0)
			break;
		snprintf(want + strlen(want), sizeof(want) - strlen(want), "echo: %s\n", l);
		lines++;
	}
	for (const char *p = printed, *nl; (nl = strchr(p, '\n')); p = nl + 1)
		if (strncmp(p, "echo: ", 6) == 0 && strncmp(p, "echo: 2 lines", 13) != 0)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%.*s\n", (int)(nl - p), p);
	TEST_ASSERT(lines == 2, "recorded IN data %s has %d lines", in, lines);
	TEST_ASSERT_STR_EQ(got, want);
}

static void echo_on(const char *machine)
{
	struct e2e_run r;
	sqlite3 *db;
	char in[128];
	FILE *f;

	snprintf(in, sizeof(in), "/tmp/kvmrr-trace-echo-%d", getpid());
	f = fopen(in, "w");
	TEST_ASSERT(f && fputs("hello world\r\nAbc xyz\nEOF\n", f) >= 0 && fclose(f) == 0, "%s", in);
	db = trace_ok(&r, NULL, machine, "1", "echo", "max=64", in);
	unlink(in);
	check_echo(db, r.stdout_text);
	sqlite3_close(db);
	tq_free(&r);
}

TEST(microvm_echo_in_data_is_what_the_guest_got)
{
	echo_on("microvm");
}

/*
 * -M pc: SeaBIOS first (its exits are in the log too), then the guest from
 * -kernel. (No echo here: input QEMU reads from stdio while SeaBIOS runs is
 * partly lost before the guest polls the UART, so the input's end may never arrive.)
 */
TEST(pc_exits_all_port_io_with_data)
{
	struct e2e_run r;
	sqlite3 *db;

	db = trace_ok(&r, NULL, "pc", "1", "exits", "n=400", NULL);
	check_storm(db, 400);
	sqlite3_close(db);
	tq_free(&r);
}

TEST(regs_gives_every_exit_its_rip)
{
	const char *const opts[] = { "--regs", NULL };
	struct e2e_run r;
	sqlite3 *db;

	db = trace_ok(&r, opts, "microvm", "1", "exits", "n=200", NULL);
	check_storm(db, 200);
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM exit WHERE rip IS NULL"), 0);
	/* The storm's IN and OUT sit in the guest's code, linked at 1 MiB: two RIPs, one per instruction. */
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(DISTINCT rip) FROM exit WHERE reason = 2 AND addr = " SCR), 2);
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM exit WHERE reason = 2 AND addr = " SCR
			      " AND (rip < 1048576 OR rip > 2097152)"), 0);
	sqlite3_close(db);
	tq_free(&r);
}

/* One vCPU's 32-bit OUTs of 0, 1, ... n-1 to port, all from vcpu, in seq order. */
static void check_counter(sqlite3 *db, int vcpu, int port, long long n)
{
	char sql[512];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM exit WHERE reason = 2 AND addr = %d", port);
	TEST_ASSERT_EQ(tt_int(db, sql), n);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM exit WHERE reason = 2 AND addr = %d AND vcpu = %d"
		 " AND dir = 1 AND size = 4", port, vcpu);
	TEST_ASSERT_EQ(tt_int(db, sql), n);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM (SELECT data, row_number() OVER (ORDER BY seq) - 1 AS k"
		 " FROM exit WHERE reason = 2 AND addr = %d) WHERE hex(data) != printf('%%02X%%02X%%02X%%02X',"
		 " k & 255, (k >> 8) & 255, (k >> 16) & 255, (k >> 24) & 255)", port);
	TEST_ASSERT_EQ(tt_int(db, sql), 0);
}

/* The smp guest starts its second CPU with INIT/SIPI through QEMU's LAPIC; both make exits. */
TEST(smp2_rows_of_both_vcpus_each_in_order)
{
	struct e2e_run r;
	sqlite3 *db;

	db = trace_ok(&r, NULL, "microvm", "2", "smp", "n=500", NULL);
	TEST_ASSERT(strstr(r.stdout_text, "smp: 2 CPUs, 500 port-IO exits each: ok"), "guest: %s", r.stdout_text);
	check_counter(db, 0, 0x700, 500);
	check_counter(db, 1, 0x701, 500);
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(DISTINCT vcpu) FROM exit"), 2);
	/* Each vCPU's time runs forward: its entries follow its previous exit (vmm_ticks >= 0). */
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM exit WHERE vmm_ticks < 0 OR guest_ticks <= 0"), 0);
	sqlite3_close(db);
	tq_free(&r);
}

TEST(kill9_of_qemu_leaves_a_readable_prefix)
{
	struct e2e_run r;
	sqlite3 *db;
	long long pid, rows;
	char args[256], *out = NULL;

	tq_require_qemu();
	tq_start(&r, NULL, "microvm", "1", "exits", "n=1000000000", NULL);
	pid = tq_poll(r.rec, "SELECT value FROM meta WHERE key = 'traced_pid'", 1, 30);
	TEST_ASSERT(pid > 0, "no meta.traced_pid in %s within 30 s", r.rec);
	TEST_ASSERT(tq_poll(r.rec, "SELECT count(*) FROM exit", 5000, 30) >= 5000, "no exits committed");
	TEST_ASSERT(kill((pid_t)pid, SIGKILL) == 0, "kill -9 %lld", pid);
	tq_wait(&r);
	TEST_ASSERT_EQ(r.status, 128 + SIGKILL);
	db = tt_open(r.rec);
	/* A prefix: seq 0..rows-1 without a gap, and the storm's reads still match its writes. */
	rows = check_end(db, 0, "vmm-signal", SIGKILL);
	TEST_ASSERT(rows >= 5000, "%lld rows", rows);
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM exit i WHERE i.reason = 2 AND i.addr = " SCR
			      " AND i.dir = 0 AND i.seq > (SELECT max(seq) - 2000 FROM exit) AND i.data IS NOT"
			      " (SELECT o.data FROM exit o WHERE o.reason = 2 AND o.addr = " SCR " AND o.dir = 1"
			      " AND o.seq < i.seq ORDER BY o.seq DESC LIMIT 1)"), 0);
	sqlite3_close(db);
	snprintf(args, sizeof(args), "stats %s", r.rec);
	TEST_ASSERT_EQ(tq_kvmrr(args, &out), 0);
	TEST_ASSERT(strstr(out, "vmm-signal"), "stats: %s", out);
	free(out);
	tq_free(&r);
}

TEST(sigterm_to_kvmrr_ends_qemu_cleanly)
{
	struct e2e_run r;
	sqlite3 *db;

	tq_require_qemu();
	tq_start(&r, NULL, "microvm", "1", "exits", "n=1000000000", NULL);
	TEST_ASSERT(tq_poll(r.rec, "SELECT count(*) FROM exit", 1000, 30) >= 1000, "no exits committed");
	TEST_ASSERT(kill(r.pid, SIGTERM) == 0, "kill -TERM kvmrr");
	tq_wait(&r);
	TEST_ASSERT_EQ(r.status, 0);   /* QEMU exits 0 on SIGTERM */
	db = tt_open(r.rec);
	check_finished(db, 0);
	sqlite3_close(db);
	tq_free(&r);
}

TEST(static_program_is_refused)
{
	char bin[512], prog[512], cmd[1536], *out = NULL;

	test_build_path("cli/kvmrr", bin, sizeof(bin));
	test_build_path("tests/trace/static_prog", prog, sizeof(prog));
	snprintf(cmd, sizeof(cmd), "(cd /tmp && rm -f kvmrr-static-%d.db && %s trace -o kvmrr-static-%d.db -- %s; "
		 "s=$?; test ! -e kvmrr-static-%d.db || echo FILE-CREATED; exit $s)",
		 getpid(), bin, getpid(), prog, getpid());
	TEST_ASSERT_EQ(test_run_capture(cmd, &out), 125);
	TEST_ASSERT(strstr(out, "statically linked") && strstr(out, "LD_PRELOAD"), "output: %s", out);
	TEST_ASSERT(!strstr(out, "FILE-CREATED") && !strstr(out, "static program ran"), "output: %s", out);
	free(out);
	/* A dynamic program that never creates a vCPU: no recording, and kvmrr says so. */
	snprintf(cmd, sizeof(cmd), "cd /tmp && %s trace -o kvmrr-none-%d.db -- true", bin, getpid());
	TEST_ASSERT_EQ(test_run_capture(cmd, &out), 125);
	TEST_ASSERT(strstr(out, "created no KVM vCPU"), "output: %s", out);
	free(out);
}

TEST_MAIN()
