/* SPDX-License-Identifier: MIT */
/*
 * `kvmrr run` ends other than by the guest: --timeout on a guest spinning
 * with interrupts disabled, --max-exits, loader errors, --help, bad options.
 */
#include "tests/e2e/e2e.h"

/* crash mode=spin loops at CPL3 with IF=0 and makes no exit: only the kick ends it. */
TEST(spin_stopped_by_timeout)
{
	struct e2e_cmd c;
	char dir[64];

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	e2e_run(&c, dir, "crash", "--timeout 1 --cmdline mode=spin");
	E2E_ASSERT(&c, c.status == 8, "spinning guest: status %d, wanted 8 (timeout)", c.status);
	E2E_ASSERT(&c, c.secs >= 0.9 && c.secs < 10, "--timeout 1 took %.2f s", c.secs);
	E2E_HAS(&c, c.out, "crash: mode=spin\n");
	E2E_HAS(&c, c.err, "kvmrr run: timeout after ");
	E2E_HAS(&c, c.err, "timeout after 1.0 s");
	E2E_HAS(&c, c.err, "rip=");
	/* RFLAGS.IF (bit 9) is clear: the guest really spins with interrupts disabled. */
	{
		const char *p = strstr(c.err, "rflags=");
		unsigned long long rflags;

		E2E_ASSERT(&c, p && sscanf(p, "rflags=%llx", &rflags) == 1, "no rflags in the report");
		E2E_ASSERT(&c, !(rflags & 0x200), "rflags 0x%llx has IF set", rflags);
	}
	e2e_free(&c);
	e2e_cleanup(dir);
}

/* A --serial-in that cannot be read is an error, never the end of the input (the guest would wait forever). */
TEST(serial_in_read_error)
{
	struct e2e_cmd c;
	char dir[64];

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	e2e_run(&c, dir, "echo", "--timeout 20 --serial-in /");
	E2E_ASSERT(&c, c.status == 2, "unreadable serial input: status %d, wanted 2 (VMM error)", c.status);
	E2E_ASSERT(&c, c.secs < 10, "took %.1f s: the run waited for input", c.secs);
	E2E_HAS(&c, c.err, "serial input /: read failed: Is a directory");
	e2e_free(&c);
	e2e_cleanup(dir);
}

TEST(max_exits)
{
	struct e2e_cmd c;
	char dir[64];

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	e2e_run(&c, dir, "exits", "--max-exits 50 --cmdline n=1000");
	E2E_ASSERT(&c, c.status == 10, "--max-exits 50: status %d, wanted 10", c.status);
	E2E_HAS(&c, c.err, "kvmrr run: max-exits after 50 exits");
	E2E_ASSERT(&c, !strstr(c.out, "kvmrr-guest:"), "the guest finished within 50 exits");
	e2e_free(&c);
	e2e_cleanup(dir);
}

/* Status 2 and a message that names the file and says why. */
static void bad_guest(const char *dir, const char *path, const char *why)
{
	struct e2e_cmd c;

	e2e_sh(&c, dir, 30, "%s run %s", e2e_kvmrr(), path);
	E2E_ASSERT(&c, c.status == 2, "%s: status %d, wanted 2", path, c.status);
	E2E_HAS(&c, c.err, "kvmrr run: ");
	E2E_HAS(&c, c.err, path);
	E2E_HAS(&c, c.err, why);
	E2E_ASSERT(&c, c.out_len == 0, "a guest ran: stdout has %zu bytes", c.out_len);
	e2e_free(&c);
}

TEST(loader_errors)
{
	char dir[64], path[128];
	FILE *f;

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/missing.elf", dir);
	bad_guest(dir, path, "No such file");

	snprintf(path, sizeof(path), "%s/text.elf", dir);
	f = fopen(path, "w");
	TEST_ASSERT(f, "create %s", path);
	fputs("#!/bin/sh\necho this is not a kernel\n", f);
	fclose(f);
	bad_guest(dir, path, "not an ELF");

	snprintf(path, sizeof(path), "%s/zeros.elf", dir);
	f = fopen(path, "w");
	TEST_ASSERT(f, "create %s", path);
	for (int i = 0; i < 65536; i++)
		fputc(0, f);
	fclose(f);
	bad_guest(dir, path, "not an ELF");

	snprintf(path, sizeof(path), "%s/empty.elf", dir);
	f = fopen(path, "w");
	TEST_ASSERT(f, "create %s", path);
	fclose(f);
	bad_guest(dir, path, "is empty");
	e2e_cleanup(dir);
}

TEST(help)
{
	struct e2e_cmd c;
	char dir[64];
	static const char *const documented[] = { "--mem", "--serial-in", "--cmdline", "--max-exits",
						  "--timeout", "--cpu-features", "exit status", NULL };

	e2e_tmpdir(dir, sizeof(dir));
	e2e_sh(&c, dir, 30, "%s run --help", e2e_kvmrr());
	E2E_ASSERT(&c, c.status == 0, "run --help: status %d", c.status);
	E2E_HAS(&c, c.out, "usage: kvmrr run");
	for (int i = 0; documented[i]; i++)
		E2E_HAS(&c, c.out, documented[i]);
	e2e_free(&c);
	e2e_sh(&c, dir, 30, "%s --help", e2e_kvmrr());
	E2E_ASSERT(&c, c.status == 0, "--help: status %d", c.status);
	E2E_HAS(&c, c.out, "replay");
	e2e_free(&c);
	e2e_sh(&c, dir, 30, "%s replay --help", e2e_kvmrr());
	E2E_ASSERT(&c, c.status == 0, "replay --help: status %d", c.status);
	E2E_HAS(&c, c.out, "usage: kvmrr replay");
	E2E_HAS(&c, c.out, "--until");
	e2e_free(&c);
	e2e_cleanup(dir);
}

TEST(bad_options)
{
	static const char *const cases[][2] = {
		{ "run --bogus GUEST", "see 'kvmrr run --help'" },
		{ "run", "no guest image given" },
		{ "run --mem 1 GUEST", "--mem 1" },
		{ "run --mem 3001K GUEST", "--mem 3001K" },
		{ "run --max-exits 0 GUEST", "--max-exits 0" },
		{ "run --max-exits x GUEST", "--max-exits x" },
		{ "run --timeout -1 GUEST", "--timeout -1" },
		{ "run --timeout 0 GUEST", "--timeout 0" },
		{ "run GUEST extra", "unexpected argument 'extra'" },
		{ "run --serial-in /nonexistent/in GUEST", "/nonexistent/in" },
		{ "run --cpu-features +nosuchfeature GUEST", "nosuchfeature" },
		{ "record GUEST", "-o REC.db is required" },
		{ "replay", "need exactly one recording" },
		{ "replay --until -3 x.db", "--until -3" },
		{ "replay --timeout 0 x.db", "--timeout 0" },
		{ "nosuchcommand", "unknown command 'nosuchcommand'" },
		{ "", "usage: kvmrr" },
	};
	char dir[64];

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char args[512], *g;
		struct e2e_cmd c;

		snprintf(args, sizeof(args), "%s", cases[i][0]);
		g = strstr(args, "GUEST");
		if (g) {
			char tail[256];

			snprintf(tail, sizeof(tail), "%s", g + 5);
			snprintf(g, sizeof(args) - (size_t)(g - args), "%s%s", e2e_guest("hello"), tail);
		}
		e2e_sh(&c, dir, 30, "%s %s", e2e_kvmrr(), args);
		E2E_ASSERT(&c, c.status == 2, "kvmrr %s: status %d, wanted 2", args, c.status);
		E2E_HAS(&c, c.err, cases[i][1]);
		E2E_ASSERT(&c, !strstr(c.out, "Hello from kvmrr guest"), "kvmrr %s ran the guest", args);
		e2e_free(&c);
	}
	e2e_cleanup(dir);
}

TEST_MAIN()
