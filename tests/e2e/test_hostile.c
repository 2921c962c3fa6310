/* SPDX-License-Identifier: MIT */
/*
 * The hostile guest (guests/hostile.c) attacks the VMM: every port in both
 * directions and all sizes, REP INS/OUTS with huge counts, MMIO all over the
 * space without RAM, a triple fault at the end. Recorded, the VMM survives
 * with the guest's own status (no crash, no VMM error, no sanitizer report
 * under ASan), and the replay is identical.
 * Built twice: suite 'e2e' runs a shortened attack (1024 ports), suite 'slow'
 * (HOSTILE_FULL) the whole one (~800,000 exits).
 */
#include "tests/e2e/e2e.h"

#define STATUS_GUEST_OK 1
#define STATUS_TRIPLE_FAULT 4

static void attack(const char *cmdline, int want_status)
{
	char dir[256], rec[300];
	struct e2e_cmd c;
	uint64_t pio, mmio;

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	snprintf(rec, sizeof(rec), "%s/hostile.db", dir);
	e2e_sh(&c, dir, 900, "%s record -o %s --cmdline \"%s\" %s", e2e_kvmrr(), rec, cmdline,
	       e2e_guest("hostile"));
	E2E_ASSERT(&c, c.status == want_status, "record: status %d, wanted %d", c.status, want_status);
	E2E_HAS(&c, c.out, "the VMM is still here");
	if (want_status == STATUS_GUEST_OK) {
		e2e_guest_counts(&c, &pio, &mmio);
		E2E_ASSERT(&c, mmio >= 8 * 512, "mmio=%llu", (unsigned long long)mmio);
	}
	printf("# %.*s\n", (int)strcspn(strstr(c.out, "hostile: "), "\n"), strstr(c.out, "hostile: "));
	e2e_free(&c);
	e2e_sh(&c, dir, 900, "%s replay %s", e2e_kvmrr(), rec);
	E2E_ASSERT(&c, c.status == 0 && e2e_identical(&c), "replay: status %d", c.status);
	printf("# %.*s\n", (int)strcspn(c.err, "\n"), c.err);
	e2e_free(&c);
	e2e_cleanup(dir);
}

#ifdef HOSTILE_FULL
TEST(every_port_huge_reps_all_mmio_record_replay_identical)
{
	attack("", STATUS_GUEST_OK);
}
#else
TEST(short_attack_record_replay_identical)
{
	attack("ports=1024 rep_in=1048576 rep_out=4096", STATUS_GUEST_OK);
}

TEST(attack_ending_in_a_triple_fault_replays_identical)
{
	attack("ports=256 rep_in=65536 rep_out=1024 step=0x10000000 end=triple", STATUS_TRIPLE_FAULT);
}
#endif

TEST_MAIN()
