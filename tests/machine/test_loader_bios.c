/* SPDX-License-Identifier: MIT */
/*
 * What a BIOS leaves for multiboot and bzImage kernels (issue 18: Xen reads
 * the BDA to place its trampoline), and bzImage files that end within the
 * rounding of syssize (issue 18: memtest86+ 6.10).
 */
#include "tests/test.h"

#include <errno.h>

#include "machine/loader.h"
#include "tests/machine/loader_util.h"

static uint16_t rd16(struct ctx *c, uint64_t gpa)
{
	return (uint16_t)rd32(c, gpa);
}

/* BDA, EBDA and the real-mode vectors as loader_bios.c documents them. */
static void check_bda(struct ctx *c)
{
	uint8_t b = 0;

	TEST_ASSERT_EQ(rd16(c, 0x400), 0x3f8);           /* COM1 */
	TEST_ASSERT_EQ(rd16(c, 0x40e), 0x9fc0);          /* EBDA segment */
	TEST_ASSERT_EQ(rd16(c, 0x413), 639);             /* KiB of base memory */
	TEST_ASSERT_OK(guest_mem_read(&c->mem, 0x9fc00, &b, 1));
	TEST_ASSERT_EQ(b, 1);                            /* EBDA size in KiB */
	TEST_ASSERT_EQ(rd32(c, 0x15 * 4), 0xf0000000);   /* INT 15h -> f000:0000 */
	TEST_ASSERT_EQ(rd32(c, 0xff * 4), 0xf0000000);
	TEST_ASSERT_OK(guest_mem_read(&c->mem, 0xf0000, &b, 1));
	TEST_ASSERT_EQ(b, 0xcf);                         /* IRET */
}

/* Map entry i as (addr, size, type) at base, entries of stride bytes (addr first). */
static void check_entry(struct ctx *c, uint64_t e, uint64_t addr, uint64_t size, uint32_t type)
{
	TEST_ASSERT_EQ(rd64(c, e), addr);
	TEST_ASSERT_EQ(rd64(c, e + 8), size);
	TEST_ASSERT_EQ(rd32(c, e + 16), type);
}

static void check_low_map(struct ctx *c, uint64_t base, unsigned int stride)
{
	check_entry(c, base, 0, 0x9fc00, 1);
	check_entry(c, base + stride, 0x9fc00, 0x400, 2);      /* the EBDA */
	check_entry(c, base + 2 * stride, 0xa0000, 0x60000, 2);
	check_entry(c, base + 3 * stride, 0x100000, 31 * MiB, 1);
}

TEST(multiboot_gets_bda_ebda_and_a_consistent_map)
{
	struct ctx c;

	ctx_init(&c, 32 * MiB);
	write_multiboot(timg_path("mb.elf", c.kernel, sizeof(c.kernel)), 0, 0);
	TEST_ASSERT_OK(load(&c, c.kernel, NULL, NULL));
	check_bda(&c);
	TEST_ASSERT_EQ(rd32(&c, 0x6004), 639);           /* mem_lower agrees with 0x413 */
	TEST_ASSERT_EQ(rd32(&c, 0x602c), 4 * 24);
	check_low_map(&c, rd32(&c, 0x6030) + 4, 24);     /* entries start after their size word */
	ctx_done(&c);
}

TEST(bzimage_gets_bda_ebda_and_a_consistent_e820)
{
	struct ctx c;

	ctx_init(&c, 32 * MiB);
	write_bzimage(timg_path("bzImage", c.kernel, sizeof(c.kernel)), 0x020f, 0x400000);
	TEST_ASSERT_OK(load(&c, c.kernel, NULL, NULL));
	check_bda(&c);
	TEST_ASSERT_EQ(rd32(&c, 0x6000 + 0x1e8) & 0xff, 4);
	check_low_map(&c, 0x6000 + 0x2d0, 20);
	ctx_done(&c);
}

TEST(pvh_gets_no_bios_data_area)
{
	struct ctx c;

	ctx_init(&c, 32 * MiB);
	write_pvh(timg_path("pvh.elf", c.kernel, sizeof(c.kernel)), 64, 8);
	TEST_ASSERT_OK(load(&c, c.kernel, NULL, NULL));
	TEST_ASSERT_EQ(rd16(&c, 0x40e), 0);
	TEST_ASSERT_EQ(rd16(&c, 0x413), 0);
	TEST_ASSERT_EQ(rd32(&c, 0x15 * 4), 0);
	TEST_ASSERT_EQ(rd32(&c, 0x6030), 3);             /* no EBDA entry */
	check_memmap_entry(&c, 0, 0, 0xa0000, 1);
	ctx_done(&c);
}

TEST(multiboot_segment_over_the_bda_or_ebda_is_refused)
{
	struct ctx c;

	ctx_init(&c, 32 * MiB);
	write_multiboot(timg_path("bda.elf", c.kernel, sizeof(c.kernel)), 0x0, 0x1000);
	ASSERT_ERR(&c, load(&c, c.kernel, NULL, NULL), -EINVAL, "BIOS data area");
	write_multiboot(timg_path("ebda.elf", c.kernel, sizeof(c.kernel)), 0x9f000, 0x1000);
	ASSERT_ERR(&c, load(&c, c.kernel, NULL, NULL), -EINVAL, "EBDA");
	write_multiboot(timg_path("below.elf", c.kernel, sizeof(c.kernel)), 0x90000, 0xfc00);
	TEST_ASSERT_OK(load(&c, c.kernel, NULL, NULL));   /* ends where the EBDA begins */
	ctx_done(&c);
}

/* The synthetic bzImage with its last cut bytes removed; syssize: paragraphs, 0 to keep it. */
static void write_cut_bzimage(struct ctx *c, const char *name, size_t cut, uint32_t syssize)
{
	static uint8_t img[5 * 512 + 4096];
	FILE *f;

	write_bzimage(timg_path(name, c->kernel, sizeof(c->kernel)), 0x020f, 0x400000);
	f = fopen(c->kernel, "rb");
	TEST_ASSERT(f && fread(img, 1, sizeof(img), f) == sizeof(img), "reading back %s", c->kernel);
	fclose(f);
	if (syssize)
		memcpy(img + 0x1f4, &syssize, 4);
	timg_write_file(c->kernel, img, sizeof(img) - cut);
}

TEST(bzimage_shorter_than_syssize_within_a_paragraph_loads)
{
	struct ctx c;

	ctx_init(&c, 64 * MiB);
	/* syssize = 256 paragraphs = 4096 bytes of payload. */
	write_cut_bzimage(&c, "short8", 8, 0);
	TEST_ASSERT_OK(load(&c, c.kernel, NULL, NULL));
	TEST_ASSERT_EQ(c.res.kind, LOADER_BZIMAGE);
	write_cut_bzimage(&c, "short15", 15, 0);
	TEST_ASSERT_OK(load(&c, c.kernel, NULL, NULL));
	write_cut_bzimage(&c, "short16", 16, 0);
	ASSERT_ERR(&c, load(&c, c.kernel, NULL, NULL), -ENOEXEC, "truncated bzImage: 4080 bytes");
	ctx_done(&c);
}

/* Found by fuzz_loader_bzimage: a kernel too short to hold its 64-bit entry (+0x200). */
TEST(bzimage_too_short_for_its_entry_is_refused)
{
	struct ctx c;

	ctx_init(&c, 32 * MiB);
	write_cut_bzimage(&c, "tiny", 4096 - 0x100, 0x100 / 16);
	ASSERT_ERR(&c, load(&c, c.kernel, NULL, NULL), -ENOEXEC, "its 64-bit entry at +0x200");
	write_cut_bzimage(&c, "small", 4096 - 0x300, 0x300 / 16);   /* holds the entry: loads */
	TEST_ASSERT_OK(load(&c, c.kernel, NULL, NULL));
	ctx_done(&c);
}

TEST_MAIN()
