/* SPDX-License-Identifier: MIT */
/*
 * Loader errors from real broken files in a temp dir: each names what, where
 * and why, with the values compared.
 */
#include "tests/test.h"

#include "machine/loader.h"
#include "tests/machine/loader_util.h"

TEST(missing_kernel_and_not_an_elf)
{
	struct ctx c;
	int ret;

	ctx_init(&c, 16 * MiB);
	ret = load(&c, timg_path("does-not-exist", c.kernel, sizeof(c.kernel)), NULL, NULL);
	ASSERT_ERR(&c, ret, -ENOENT, "does-not-exist");
	TEST_ASSERT(strstr(c.err.msg, "No such file"), "why: %s", c.err.msg);

	timg_write_file(timg_path("text", c.kernel, sizeof(c.kernel)), "hello world\n", 12);
	ret = load(&c, c.kernel, NULL, NULL);
	ASSERT_ERR(&c, ret, -ENOEXEC, "not an ELF");
	TEST_ASSERT(strstr(c.err.msg, "68 65 6c 6c"), "shows the first bytes: %s", c.err.msg);

	timg_write_file(timg_path("empty", c.kernel, sizeof(c.kernel)), "", 0);
	ASSERT_ERR(&c, load(&c, c.kernel, NULL, NULL), -ENOEXEC, "empty");
	ctx_done(&c);
}

TEST(elf_without_pvh_note_or_multiboot)
{
	struct ctx c;
	struct timg_elf e = { .cls = 64, .entry = PVH_ENTRY, .nsegs = 1,
			      .segs = { { PVH_ENTRY, timg_code32, sizeof(timg_code32), sizeof(timg_code32) } } };

	ctx_init(&c, 16 * MiB);
	timg_write_elf(timg_path("nonote.elf", c.kernel, sizeof(c.kernel)), &e);
	ASSERT_ERR(&c, load(&c, c.kernel, NULL, NULL), -ENOEXEC, "without a PVH entry note");
	TEST_ASSERT(strstr(c.err.msg, "multiboot"), "mentions both: %s", c.err.msg);
	ctx_done(&c);
}

/* Found by fuzz_loader_multiboot: an a.out image of 0 bytes and no bss (NULL + 0 in the loader). */
TEST(multiboot_aout_that_loads_nothing)
{
	struct ctx c;
	uint32_t hdr[8] = { 0x1BADB002, 0x00010002, 0 };
	uint8_t raw[64] = { 0 };

	ctx_init(&c, 16 * MiB);
	hdr[2] = -(hdr[0] + hdr[1]);
	hdr[3] = 0x200000;                             /* header_addr: file offset 0 */
	hdr[4] = 0x200000;                             /* load_addr */
	hdr[5] = 0x200000;                             /* load_end_addr: nothing to load */
	hdr[6] = 0;                                    /* no bss */
	hdr[7] = 0x200000;
	memcpy(raw, hdr, sizeof(hdr));
	timg_write_file(timg_path("empty-aout", c.kernel, sizeof(c.kernel)), raw, sizeof(raw));
	ASSERT_ERR(&c, load(&c, c.kernel, NULL, NULL), -ENOEXEC, "loads nothing");
	hdr[6] = 0x201000;                             /* only bss: fine */
	memcpy(raw, hdr, sizeof(hdr));
	timg_write_file(c.kernel, raw, sizeof(raw));
	TEST_ASSERT_OK(load(&c, c.kernel, NULL, NULL));
	TEST_ASSERT_EQ(c.res.image_end, 0x201000);
	ctx_done(&c);
}

TEST(segment_outside_or_larger_than_ram)
{
	struct ctx c;
	uint8_t note[32];
	struct timg_elf e = { .cls = 64, .entry = PVH_ENTRY, .nsegs = 1,
			      .segs = { { 0x2000000, timg_code32, sizeof(timg_code32), 0x1000 } } };

	ctx_init(&c, 16 * MiB);
	e.notelen = timg_pvh_note(note, PVH_ENTRY, 8);
	e.note = note;
	timg_write_elf(timg_path("outside.elf", c.kernel, sizeof(c.kernel)), &e);
	ASSERT_ERR(&c, load(&c, c.kernel, NULL, NULL), -ERANGE, "outside guest RAM");
	TEST_ASSERT(strstr(c.err.msg, "0x2000000-0x2001000") && strstr(c.err.msg, "0x1000000"),
		    "range and RAM end shown: %s", c.err.msg);

	e.segs[0] = (struct timg_seg){ PVH_ENTRY, timg_code32, sizeof(timg_code32), 32 * MiB };
	timg_write_elf(timg_path("huge.elf", c.kernel, sizeof(c.kernel)), &e);
	ASSERT_ERR(&c, load(&c, c.kernel, NULL, NULL), -EFBIG, "larger than guest RAM");

	e.segs[0] = (struct timg_seg){ 0x4000, timg_code32, sizeof(timg_code32), 0x2000 };
	timg_write_elf(timg_path("low.elf", c.kernel, sizeof(c.kernel)), &e);
	ASSERT_ERR(&c, load(&c, c.kernel, NULL, NULL), -EINVAL, "boot structures");
	ctx_done(&c);
}

TEST(overlapping_segments_and_truncation)
{
	struct ctx c;
	uint8_t note[32];
	struct timg_elf e = { .cls = 64, .entry = PVH_ENTRY, .nsegs = 2,
			      .segs = { { PVH_ENTRY, timg_code32, sizeof(timg_code32), 0x2000 },
					{ PVH_ENTRY + 0x1000, timg_code32, sizeof(timg_code32), 0x1000 } } };

	ctx_init(&c, 16 * MiB);
	e.notelen = timg_pvh_note(note, PVH_ENTRY, 8);
	e.note = note;
	timg_write_elf(timg_path("overlap.elf", c.kernel, sizeof(c.kernel)), &e);
	ASSERT_ERR(&c, load(&c, c.kernel, NULL, NULL), -EINVAL, "overlaps segment 0");

	e.segs[1].paddr = PVH_ENTRY + 0x2000;          /* adjacent is fine */
	timg_write_elf(timg_path("adjacent.elf", c.kernel, sizeof(c.kernel)), &e);
	TEST_ASSERT_OK(load(&c, c.kernel, NULL, NULL));

	e.truncate_to = 100;                           /* cuts the program headers */
	timg_write_elf(timg_path("trunc1.elf", c.kernel, sizeof(c.kernel)), &e);
	ASSERT_ERR(&c, load(&c, c.kernel, NULL, NULL), -ENOEXEC, "truncated");
	e.truncate_to = 40;                            /* cuts the ELF header */
	timg_write_elf(timg_path("trunc2.elf", c.kernel, sizeof(c.kernel)), &e);
	ASSERT_ERR(&c, load(&c, c.kernel, NULL, NULL), -ENOEXEC, "truncated");
	e.truncate_to = 64 + 3 * 56 + 32 + 8;          /* cuts the segment data */
	timg_write_elf(timg_path("trunc3.elf", c.kernel, sizeof(c.kernel)), &e);
	ASSERT_ERR(&c, load(&c, c.kernel, NULL, NULL), -ENOEXEC, "truncated");
	ctx_done(&c);
}

TEST(initrd_missing_or_too_big)
{
	struct ctx c;

	ctx_init(&c, 16 * MiB);
	write_pvh(timg_path("ok.elf", c.kernel, sizeof(c.kernel)), 64, 8);
	ASSERT_ERR(&c, load(&c, c.kernel, timg_path("no-initrd", c.initrd, sizeof(c.initrd)), NULL),
		   -ENOENT, "initrd: cannot open");
	timg_write_sparse(timg_path("big-initrd", c.initrd, sizeof(c.initrd)), 20 * MiB);
	ASSERT_ERR(&c, load(&c, c.kernel, c.initrd, NULL), -EFBIG, "20971520 bytes");
	TEST_ASSERT(strstr(c.err.msg, "free"), "says how much is free: %s", c.err.msg);
	/* Just fits: 16 MiB minus the kernel's end (1 MiB + 12 KiB). */
	timg_write_sparse(c.initrd, 16 * MiB - PVH_ENTRY - 0x3000);
	TEST_ASSERT_OK(load(&c, c.kernel, c.initrd, NULL));
	TEST_ASSERT_EQ(c.res.initrd_gpa, PVH_ENTRY + 0x3000);
	timg_write_sparse(c.initrd, 16 * MiB - PVH_ENTRY - 0x3000 + 1);
	TEST_ASSERT_EQ(load(&c, c.kernel, c.initrd, NULL), -EFBIG);
	ctx_done(&c);
}

TEST_MAIN()
