/* SPDX-License-Identifier: MIT */
/*
 * RDTSC under the VMM's control (issue 16). The rdtsc guest's `cpl0` mode
 * spins on RDTSC at CPL0 and branches on the iteration count's low bit: with
 * the loader's patching every reading is an exit whose value is recorded,
 * so recordings differ from each other and each replays identical; with
 * `--tsc native` the replay must flag it. The guest's own check fails if
 * the bytes 0f 31 inside its `mov $0x310f` were patched.
 */
#include <linux/kvm.h>

#include "tests/e2e/e2e.h"

#define TSC_GUEST_ARGS "--cmdline \"cpl0 hz=0 rounds=8\""
#define TSC_RECORDINGS 10

/* The "rdtsc: ..." line of the console. */
static void rdtsc_line(const struct e2e_cmd *c, char *buf, size_t len)
{
	const char *p = strstr(c->out, "rdtsc: rounds=");

	E2E_ASSERT(c, p, "no rdtsc: line");
	snprintf(buf, len, "%.*s", (int)strcspn(p, "\n"), p);
}

TEST(patched_rdtsc_recordings_replay_identical)
{
	char dir[64], rec[128], lines[TSC_RECORDINGS][160];
	int distinct = 0;

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	for (int i = 0; i < TSC_RECORDINGS; i++) {
		struct e2e_cmd r, p;
		sqlite3 *db;
		long long given;

		snprintf(rec, sizeof(rec), "%s/tsc%d.db", dir, i);
		e2e_record(&r, dir, rec, "rdtsc", "-v " TSC_GUEST_ARGS);
		E2E_ASSERT(&r, r.status == 1, "record rdtsc cpl0 #%d: status %d", i, r.status);
		E2E_HAS(&r, r.err, "RDTSC/RDTSCP patched at 3 sites");
		rdtsc_line(&r, lines[i], sizeof(lines[i]));
		db = e2e_db_open(rec);
		TEST_ASSERT(e2e_db_int(db, "SELECT count(*) FROM tsc_site") == 3, "tsc_site rows");
		given = e2e_db_int(db, "SELECT count(*) FROM exit WHERE reason = %d AND length(data) = 8",
				   KVM_EXIT_HLT);
		TEST_ASSERT(given >= 8 * 2, "%lld RDTSC values logged, wanted at least 2 per round", given);
		sqlite3_close(db);
		e2e_replay(&p, dir, rec, "");   /* the console is reproduced */
		E2E_ASSERT(&p, p.status == 0 && e2e_identical(&p), "replay of recording %d: status %d, "
			   "wanted 0 and identical", i, p.status);
		E2E_HAS(&p, p.out, lines[i]);
		distinct++;
		for (int j = 0; j < i; j++)
			if (strcmp(lines[i], lines[j]) == 0) {
				distinct--;
				break;
			}
		e2e_free(&r);
		e2e_free(&p);
	}
	printf("# %d distinct outputs in %d recordings\n", distinct, TSC_RECORDINGS);
	TEST_ASSERT(distinct >= 2, "all %d recordings printed the same line: the TSC did not vary", TSC_RECORDINGS);
	e2e_cleanup(dir);
}

TEST(native_rdtsc_replay_is_flagged)
{
	char dir[64], rec[128];

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	snprintf(rec, sizeof(rec), "%s/native.db", dir);
	for (int i = 0; i < 3; i++) {
		struct e2e_cmd r, p;

		e2e_record(&r, dir, rec, "rdtsc", "--tsc native " TSC_GUEST_ARGS);
		E2E_ASSERT(&r, r.status == 1, "record --tsc native: status %d", r.status);
		e2e_replay(&p, dir, rec, "-q");
		E2E_ASSERT(&p, p.status == 1 && !e2e_identical(&p), "replay of a --tsc native recording "
			   "(round %d): status %d, wanted 1 (diverged)", i, p.status);
		e2e_free(&r);
		e2e_free(&p);
	}
	e2e_cleanup(dir);
}

/* RDTSC at CPL3 raises #GP on the HLT; the guest runtime answers it with its own (patched) RDTSC. */
TEST(cpl3_rdtsc_and_bad_option)
{
	struct e2e_cmd c;
	char dir[64];

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	e2e_run(&c, dir, "rdtsc", "-v --cmdline \"hz=0 rounds=4\"");
	E2E_ASSERT(&c, c.status == 1, "rdtsc at CPL3, patched: status %d", c.status);
	E2E_HAS(&c, c.out, "rdtsc: rounds=4 ");
	e2e_free(&c);
	e2e_run(&c, dir, "rdtsc", "--tsc sometimes");
	E2E_ASSERT(&c, c.status == 2, "--tsc sometimes: status %d, wanted 2", c.status);
	E2E_HAS(&c, c.err, "--tsc sometimes: need 'patch' or 'native'");
	e2e_free(&c);
	e2e_cleanup(dir);
}

TEST_MAIN()
