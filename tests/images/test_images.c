/* SPDX-License-Identifier: MIT */
/*
 * Debian's memtest86+ (a bzImage) and Xen 4.17 (a multiboot ELF) load as a
 * real loader loads them and run as far as the host lets them (issue 18).
 * Fetched by scripts/get-images into BUILD/images (or $KVMRR_IMAGES_DIR) the
 * first time; without them these tests fail, they are never skipped.
 *
 * Where the run stops depends on the host, never on its speed: on a host
 * whose KVM runs CPL0 code in its instruction emulator (nested PVM), the
 * emulator stops memtest86+ at its first x87 instruction and Xen at its first
 * CET instruction, both after the loader's work is proven; on hardware both
 * run on until --timeout and print on the serial console.
 */
#include <inttypes.h>
#include <sys/stat.h>

#include "tests/e2e/e2e.h"

#define STATUS_EMULATION_FAILURE 6
#define STATUS_TIMEOUT 8
#define RUN_SECONDS 30

static char images_dir[512];

static const char *image(const char *name)
{
	static char path[2][600];
	static int next;
	char *p = path[next++ % 2];

	snprintf(p, sizeof(path[0]), "%s/%s", images_dir, name);
	return p;
}

static void need_images(void)
{
	char cmd[1200], *out = NULL;
	int status;

	/* KVMRR_IMAGES_DIR: one cache for several build directories (.ci/run). */
	if (getenv("KVMRR_IMAGES_DIR"))
		snprintf(images_dir, sizeof(images_dir), "%s", getenv("KVMRR_IMAGES_DIR"));
	else
		snprintf(images_dir, sizeof(images_dir), "%s/images", getenv("KVMRR_BUILD_DIR"));
	snprintf(cmd, sizeof(cmd), "%s/scripts/get-images %s", getenv("KVMRR_SOURCE_DIR"), images_dir);
	status = test_run_capture(cmd, &out);
	TEST_ASSERT(status == 0, "scripts/get-images failed (status %d):\n%s", status, out);
	free(out);
}

/* RIP of "at RIP 0x..." in kvmrr's emulation-failure report; 0 when absent. */
static uint64_t failure_rip(const struct e2e_cmd *c)
{
	const char *p = strstr(c->err, "at RIP 0x");

	return p ? strtoull(p + strlen("at RIP 0x"), NULL, 16) : 0;
}

TEST(memtest86plus_loads_as_is_and_reaches_its_x87_code)
{
	char dir[256];
	struct e2e_cmd c;

	test_require_kvm();
	need_images();
	e2e_tmpdir(dir, sizeof(dir));
	e2e_sh(&c, dir, RUN_SECONDS + 60, "%s run --timeout %d --cmdline console=ttyS0 %s", e2e_kvmrr(),
	       RUN_SECONDS, image("memtest86+x64.bin"));
	/* 6.10's file ends 8 bytes short of syssize * 16: it must load. */
	E2E_ASSERT(&c, !strstr(c.err, "truncated"), "the loader refused memtest86+");
	if (c.status == STATUS_EMULATION_FAILURE) {
		/*
		 * An x87 instruction (escape opcodes d8-df): the VMM executes FWAIT
		 * itself (machine/exception.c), so memtest86+ goes past its first
		 * "9b db e3" (FWAIT; FNINIT) to the next x87 instruction the emulator
		 * cannot run.
		 */
		const char *bytes = strstr(c.err, "instruction bytes: ");
		unsigned int op = 0;

		E2E_HAS(&c, c.err, "emulation failure");
		E2E_ASSERT(&c, bytes && sscanf(bytes, "instruction bytes: %x", &op) == 1 &&
			   ((op >= 0xd8 && op <= 0xdf) || op == 0x9b), "not an x87 instruction");
		E2E_ASSERT(&c, failure_rip(&c) >= 0x100000, "RIP 0x%" PRIx64 " is not in the image at 1 MiB",
			   failure_rip(&c));
		printf("# memtest86+ stopped at an x87 instruction (0x%02x), RIP 0x%" PRIx64 "\n", op, failure_rip(&c));
	} else {
		E2E_ASSERT(&c, c.status == STATUS_TIMEOUT, "status %d: wanted %d (emulator stop) or %d "
			   "(ran until --timeout)", c.status, STATUS_EMULATION_FAILURE, STATUS_TIMEOUT);
		E2E_ASSERT(&c, c.out_len > 0, "memtest86+ ran %d s and printed nothing on ttyS0", RUN_SECONDS);
	}
	e2e_free(&c);
	e2e_cleanup(dir);
}

TEST(xen_places_its_trampoline_and_reaches_64bit_code)
{
	char dir[256];
	struct e2e_cmd c;
	uint64_t rip;

	test_require_kvm();
	need_images();
	e2e_tmpdir(dir, sizeof(dir));
	/*
	 * Without a BDA Xen put its trampoline at the top of a zero-sized base
	 * memory and spun in 32-bit code until --timeout. With one it places
	 * the trampoline under the EBDA, calls the BIOS in real mode, builds its
	 * page tables and jumps to its 64-bit virtual addresses.
	 */
	e2e_sh(&c, dir, RUN_SECONDS + 60, "%s run --timeout %d --cmdline \"console=com1 com1=115200,8n1\" %s",
	       e2e_kvmrr(), RUN_SECONDS, image("xen"));
	rip = failure_rip(&c);
	if (c.status == STATUS_EMULATION_FAILURE) {
		E2E_ASSERT(&c, rip >= 0xffff800000000000ULL, "stopped at RIP 0x%" PRIx64 ", before "
			   "Xen's 64-bit code (0xffff82d0...)", rip);
		E2E_HAS(&c, c.err, "efer=d01");                /* LME | LMA | NXE: long mode */
		E2E_HAS(&c, c.err, "cs  sel=e008");            /* Xen's own 64-bit code selector */
		printf("# Xen reached 64-bit code: stopped at RIP 0x%" PRIx64 " (%.*s)\n", rip,
		       (int)strcspn(strstr(c.err, "instruction bytes"), "\n"),
		       strstr(c.err, "instruction bytes"));
	} else {
		/* On hardware Xen runs on and speaks on COM1. */
		E2E_HAS(&c, c.out, "(XEN) Xen version 4.17");
	}
	e2e_free(&c);
	e2e_cleanup(dir);
}

TEST(xen_without_real_mode_reaches_64bit_code_too)
{
	char dir[256];
	struct e2e_cmd c;

	test_require_kvm();
	need_images();
	e2e_tmpdir(dir, sizeof(dir));
	/* no-real-mode: the trampoline is placed from the BDA but the BIOS is never called. */
	e2e_sh(&c, dir, RUN_SECONDS + 60, "%s run --timeout %d --cmdline \"console=com1 no-real-mode\" %s",
	       e2e_kvmrr(), RUN_SECONDS, image("xen"));
	if (c.status == STATUS_EMULATION_FAILURE)
		E2E_ASSERT(&c, failure_rip(&c) >= 0xffff800000000000ULL, "stopped at RIP 0x%" PRIx64,
			   failure_rip(&c));
	else
		E2E_HAS(&c, c.out, "(XEN) Xen version 4.17");
	e2e_free(&c);
	e2e_cleanup(dir);
}

TEST_MAIN()
