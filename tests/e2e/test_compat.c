/* SPDX-License-Identifier: MIT */
/*
 * Recordings made by earlier binaries (tests/fixtures/README.md) still
 * replay identical with this one: whole, to a seq from a stored checkpoint,
 * in two processes, and `kvmrr stats` reads them. A format change that
 * breaks an old file fails here, not in a user's hands.
 */
#include <stdlib.h>

#include "tests/e2e/e2e.h"

static void fixture(char *buf, size_t len, const char *name)
{
	const char *src = getenv("KVMRR_SOURCE_DIR");

	TEST_ASSERT(src, "KVMRR_SOURCE_DIR is not set (run through meson test)");
	snprintf(buf, len, "%s/tests/fixtures/%s", src, name);
}

static void replays(const char *name, long long until)
{
	char dir[64], orig[512], path[128], o[64];
	struct e2e_cmd c;

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	fixture(orig, sizeof(orig), name);
	snprintf(path, sizeof(path), "%s/rec.db", dir);
	e2e_copy(orig, path);   /* the file in the tree stays as it was made */
	e2e_replay(&c, dir, path, "-q");
	E2E_ASSERT(&c, c.status == 0 && e2e_identical(&c), "%s: status %d", name, c.status);
	e2e_free(&c);
	snprintf(o, sizeof(o), "-q --until %lld", until);
	e2e_replay(&c, dir, path, o);
	E2E_ASSERT(&c, c.status == 0, "%s --until %lld: status %d", name, until, c.status);
	E2E_HAS(&c, c.err, "started from the checkpoint");
	e2e_free(&c);
	e2e_replay(&c, dir, path, "--jobs 2");
	E2E_ASSERT(&c, c.status == 0, "%s --jobs 2: status %d", name, c.status);
	e2e_free(&c);
	e2e_sh(&c, dir, 60, "%s stats %s", e2e_kvmrr(), path);
	E2E_ASSERT(&c, c.status == 0, "%s: stats status %d", name, c.status);
	E2E_HAS(&c, c.out, "IO");
	e2e_free(&c);
	e2e_cleanup(dir);
}

TEST(format2_preempt_cpl0) { replays("preempt-cpl0-v2.db", 300); }
TEST(format3_preempt_cpl0) { replays("preempt-cpl0-v3.db", 300); }

/*
 * A new VM reports a restored page at its first touch even when the guest
 * only reads it (docs/host.md): from checkpoint 630 the pages written
 * before the next asynchronous point (seq 1900) must not count such reads.
 */
TEST(from_checkpoint_first_touches)
{
	char dir[64], orig[512], path[128];
	struct e2e_cmd c;

	test_require_kvm();
	e2e_tmpdir(dir, sizeof(dir));
	fixture(orig, sizeof(orig), "timer-killed-v2.db");
	snprintf(path, sizeof(path), "%s/rec.db", dir);
	e2e_copy(orig, path);
	e2e_replay(&c, dir, path, "-q --from-checkpoint 630");
	E2E_ASSERT(&c, c.status == 3 && e2e_identical(&c), "status %d", c.status);
	E2E_HAS(&c, c.err, "1 reached");
	e2e_free(&c);
	e2e_replay(&c, dir, path, "--jobs 2");
	E2E_ASSERT(&c, c.status == 3, "--jobs 2: status %d", c.status);
	e2e_free(&c);
	e2e_cleanup(dir);
}

TEST_MAIN()
