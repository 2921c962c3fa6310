/* SPDX-License-Identifier: MIT */
/*
 * INT3 at CPL0 in long mode (issue 16): this host's KVM emulator cannot
 * execute it, so the VMM delivers #BP itself (machine/exception.c). The int3
 * guest's handler must run for every INT3, on the IST stack when the gate
 * names one, and return with IRETQ, under run, record and replay. The FWAIT
 * after each INT3 the VMM executes too.
 */
#include <linux/kvm.h>

#include "tests/e2e/e2e.h"

static void int3_run(const char *cmdline, const char *want)
{
	struct e2e_cmd c;
	char dir[64], opts[128];

	e2e_tmpdir(dir, sizeof(dir));
	snprintf(opts, sizeof(opts), "--cmdline \"%s\"", cmdline);
	e2e_run(&c, dir, "int3", opts);
	E2E_ASSERT(&c, c.status == 1, "run int3 %s: status %d, wanted 1", cmdline, c.status);
	E2E_HAS(&c, c.out, want);
	e2e_free(&c);
	e2e_cleanup(dir);
}

TEST(int3_run)
{
	test_require_kvm();
	int3_run("n=3", "int3: n=3 handled=3 ist=0\n");
	int3_run("n=7 ist", "int3: n=7 handled=7 ist=1\n");
}

TEST(int3_record_replay)
{
	struct e2e_cmd r, p;
	char dir[64], rec[128];
	sqlite3 *db;

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	snprintf(rec, sizeof(rec), "%s/int3.db", dir);
	e2e_record(&r, dir, rec, "int3", "--cmdline \"n=5 ist\"");
	E2E_ASSERT(&r, r.status == 1, "record int3: status %d", r.status);
	E2E_HAS(&r, r.out, "int3: n=5 handled=5 ist=1\n");
	db = e2e_db_open(rec);
	/* Where KVM executes them itself (real hardware) there are no such rows: then 0. */
	long long failures = e2e_db_int(db, "SELECT count(*) FROM exit WHERE reason = %d",
					KVM_EXIT_INTERNAL_ERROR);
	TEST_ASSERT(failures == 0 || failures == 10, "%lld INTERNAL_ERROR exits, wanted 10 (one per INT3 "
		    "and one per FWAIT) or 0", failures);
	printf("# %lld INT3s and FWAITs executed by the VMM\n", failures);
	sqlite3_close(db);
	e2e_replay(&p, dir, rec, "");
	E2E_ASSERT(&p, p.status == 0 && e2e_identical(&p), "replay int3: status %d, not identical", p.status);
	E2E_HAS(&p, p.out, "int3: n=5 handled=5 ist=1\n");
	e2e_free(&r);
	e2e_free(&p);
	e2e_cleanup(dir);
}

TEST_MAIN()
