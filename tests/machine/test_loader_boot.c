/* SPDX-License-Identifier: MIT */
/*
 * What the loaders build runs: each kind boots on a real vCPU with the
 * returned register state; the real hello guest image loads.
 */
#include "tests/test.h"

#include "vcpu/vcpu.h"

#include "machine/loader.h"
#include "tests/machine/loader_util.h"

TEST(pvh_boots_on_kvm)
{
	struct ctx c;
	struct kvm_sregs sr;
	uint32_t outs[4];

	ctx_init(&c, 32 * MiB);
	write_pvh(timg_path("pvh.elf", c.kernel, sizeof(c.kernel)), 64, 8);
	TEST_ASSERT_OK(load(&c, c.kernel, NULL, "kvmrr"));
	TEST_ASSERT_EQ(run_on_kvm(&c, outs, 4, &sr), 3);
	TEST_ASSERT_EQ(outs[0], 0x336ec578);
	TEST_ASSERT_EQ(outs[1], 0x8000);
	TEST_ASSERT(memcmp(&outs[2], "kvmr", 4) == 0, "cmdline read through DS: 0x%08x", outs[2]);
	TEST_ASSERT_EQ(sr.cr0 & 0x80000001, 1);
	ctx_done(&c);
}

TEST(multiboot_boots_on_kvm)
{
	struct ctx c;
	struct kvm_sregs sr;
	uint32_t outs[4];

	ctx_init(&c, 32 * MiB);
	write_multiboot(timg_path("mb.elf", c.kernel, sizeof(c.kernel)), 0, 0);
	TEST_ASSERT_OK(load(&c, c.kernel, NULL, NULL));
	TEST_ASSERT_EQ(run_on_kvm(&c, outs, 4, &sr), 2);
	TEST_ASSERT_EQ(outs[0], 0x2BADB002);
	TEST_ASSERT_EQ(outs[1], 0x6000);
	ctx_done(&c);
}

TEST(bzimage_boots_on_kvm_in_long_mode)
{
	struct ctx c;
	struct kvm_sregs sr;
	uint32_t outs[4];

	ctx_init(&c, 64 * MiB);
	write_bzimage(timg_path("bzImage", c.kernel, sizeof(c.kernel)), 0x020f, 0x400000);
	TEST_ASSERT_OK(load(&c, c.kernel, NULL, "root=/dev/x"));
	TEST_ASSERT_EQ(run_on_kvm(&c, outs, 4, &sr), 2);
	TEST_ASSERT_EQ(outs[0], 0x8000);
	TEST_ASSERT(memcmp(&outs[1], "root", 4) == 0, "cmdline through the identity map: 0x%08x",
		    outs[1]);
	TEST_ASSERT(sr.efer & 0x400, "EFER.LMA set: efer 0x%llx", (unsigned long long)sr.efer);
	TEST_ASSERT_EQ(sr.cs.l, 1);
	ctx_done(&c);
}

/* The guests' real PVH image, as gcc and ld produce it. */
TEST(real_hello_guest_image)
{
	struct ctx c;
	char path[512];
	uint8_t *entry;

	ctx_init(&c, 64 * MiB);
	test_build_path("guests/hello.elf", path, sizeof(path));
	TEST_ASSERT(access(path, R_OK) == 0, "%s not built (ninja guests/hello.elf)", path);
	TEST_ASSERT_OK(load(&c, path, NULL, "hello args"));
	TEST_ASSERT_STR_EQ(c.res.kind_name, "pvh");
	TEST_ASSERT_EQ(c.res.elf_class, 64);
	TEST_ASSERT_EQ(c.res.image_start, 0x100000);
	TEST_ASSERT(c.res.regs.rip >= c.res.image_start && c.res.regs.rip < c.res.image_end,
		    "entry 0x%llx inside the image [0x%llx-0x%llx)", (unsigned long long)c.res.regs.rip,
		    (unsigned long long)c.res.image_start, (unsigned long long)c.res.image_end);
	entry = guest_mem_ptr(&c.mem, c.res.regs.rip, 1);
	TEST_ASSERT(entry && *entry != 0, "timg_code32 at the entry point");
	TEST_ASSERT_EQ(rd32(&c, 0x6000), 0x336ec578);
	ctx_done(&c);
}

TEST_MAIN()
