/* SPDX-License-Identifier: MIT */
/*
 * Good PVH, multiboot and bzImage files, checked field by field in guest memory.
 */
#include "tests/test.h"

#include "machine/loader.h"
#include "tests/machine/loader_util.h"

TEST(pvh_elf64_start_info)
{
	struct ctx c;
	const char initrd_data[] = "initramfs-bytes";
	char cmdline[64] = { 0 };
	uint64_t bss_probe = 0x1122334455667788ULL;

	ctx_init(&c, 64 * MiB);
	/* Dirty the bss so the loader has to clear it. */
	guest_mem_write(&c.mem, PVH_ENTRY + 0x2000, &bss_probe, 8);
	write_pvh(timg_path("pvh64.elf", c.kernel, sizeof(c.kernel)), 64, 8);
	timg_write_file(timg_path("initrd", c.initrd, sizeof(c.initrd)), initrd_data,
			sizeof(initrd_data));
	TEST_ASSERT_OK(load(&c, c.kernel, c.initrd, "console=ttyS0 quiet"));
	TEST_ASSERT_EQ(c.res.kind, LOADER_PVH);
	TEST_ASSERT_STR_EQ(c.res.kind_name, "pvh");
	TEST_ASSERT_EQ(c.res.elf_class, 64);
	TEST_ASSERT_EQ(c.res.regs.rip, PVH_ENTRY);
	TEST_ASSERT_EQ(c.res.regs.rbx, 0x6000);
	TEST_ASSERT_EQ(c.res.regs.rflags, 0x2);
	TEST_ASSERT_EQ(c.res.cr0 & 0x80000001, 0x1);   /* PE, no PG */
	TEST_ASSERT_EQ(c.res.cs.db, 1);
	TEST_ASSERT_EQ(c.res.cs.limit, 0xffffffff);
	TEST_ASSERT_EQ(c.res.ds.base, 0);
	TEST_ASSERT(memcmp(guest_mem_ptr(&c.mem, PVH_ENTRY, sizeof(timg_code32)), timg_code32, sizeof(timg_code32)) == 0,
		    "segment bytes at 1 MiB");
	TEST_ASSERT_EQ(rd64(&c, PVH_ENTRY + 0x2000), 0);

	TEST_ASSERT_EQ(rd32(&c, 0x6000), 0x336ec578);
	TEST_ASSERT_EQ(rd32(&c, 0x6004), 1);
	TEST_ASSERT_EQ(rd64(&c, 0x6020), 0);           /* rsdp_paddr */
	guest_mem_read(&c.mem, rd64(&c, 0x6018), cmdline, sizeof(cmdline) - 1);
	TEST_ASSERT_STR_EQ(cmdline, "console=ttyS0 quiet");
	/* The initrd as module 0: page-aligned, at the top of RAM. */
	TEST_ASSERT_EQ(rd32(&c, 0x600c), 1);
	TEST_ASSERT_EQ(rd64(&c, rd64(&c, 0x6010)), c.res.initrd_gpa);
	TEST_ASSERT_EQ(rd64(&c, rd64(&c, 0x6010) + 8), sizeof(initrd_data));
	TEST_ASSERT_EQ(c.res.initrd_gpa, 64 * MiB - 4096);
	TEST_ASSERT(memcmp(guest_mem_ptr(&c.mem, c.res.initrd_gpa, sizeof(initrd_data)),
			   initrd_data, sizeof(initrd_data)) == 0, "initrd bytes in RAM");
	TEST_ASSERT_EQ(rd32(&c, 0x6030), 3);
	check_memmap_entry(&c, 0, 0, 0xa0000, 1);
	check_memmap_entry(&c, 1, 0xa0000, 0x60000, 2);
	check_memmap_entry(&c, 2, 0x100000, 63 * MiB, 1);
	ctx_done(&c);
}

TEST(pvh_elf32_with_4byte_note_and_ram_above_4g)
{
	struct ctx c;
	uint64_t size = GUEST_MEM_HOLE_START + 256 * MiB;

	ctx_init(&c, size);
	write_pvh(timg_path("pvh32.elf", c.kernel, sizeof(c.kernel)), 32, 4);
	TEST_ASSERT_OK(load(&c, c.kernel, NULL, NULL));
	TEST_ASSERT_EQ(c.res.elf_class, 32);
	TEST_ASSERT_EQ(c.res.regs.rip, PVH_ENTRY);
	TEST_ASSERT_EQ(rd32(&c, 0x600c), 0);           /* no modules */
	TEST_ASSERT_EQ(rd32(&c, 0x6030), 4);
	check_memmap_entry(&c, 2, 0x100000, GUEST_MEM_HOLE_START - 0x100000, 1);
	check_memmap_entry(&c, 3, GUEST_MEM_HOLE_END, 256 * MiB, 1);
	TEST_ASSERT_EQ(rd32(&c, 0x8000) & 0xff, 0);    /* empty cmdline */
	ctx_done(&c);
}

TEST(multiboot_elf_and_aout)
{
	struct ctx c;
	uint32_t hdr[8] = { 0x1BADB002, 0x00000003, 0 };
	uint8_t seg[64] = { 0 }, raw[256] = { 0 };
	struct timg_elf e = { .cls = 32, .entry = 0x100020, .nsegs = 1,
			      .segs = { { 0x100000, seg, sizeof(seg), 0x1000 } } };
	char s[16] = { 0 };

	ctx_init(&c, 32 * MiB);
	hdr[2] = -(hdr[0] + hdr[1]);
	memcpy(seg, hdr, 12);
	timg_write_elf(timg_path("mb.elf", c.kernel, sizeof(c.kernel)), &e);
	timg_write_file(timg_path("mod", c.initrd, sizeof(c.initrd)), "MODULE", 6);
	TEST_ASSERT_OK(load(&c, c.kernel, c.initrd, "mb args"));
	TEST_ASSERT_STR_EQ(c.res.kind_name, "multiboot");
	TEST_ASSERT_EQ(c.res.regs.rax, 0x2BADB002);
	TEST_ASSERT_EQ(c.res.regs.rbx, 0x6000);
	TEST_ASSERT_EQ(c.res.regs.rip, 0x100020);
	TEST_ASSERT_EQ(rd32(&c, 0x6000), 0x1 | 0x4 | 0x8 | 0x40 | 0x200);
	TEST_ASSERT_EQ(rd32(&c, 0x6004), 639);            /* below the EBDA */
	TEST_ASSERT_EQ(rd32(&c, 0x6008), 31 * 1024);
	guest_mem_read(&c.mem, rd32(&c, 0x6010), s, 8);
	TEST_ASSERT_STR_EQ(s, "mb args");
	TEST_ASSERT_EQ(rd32(&c, 0x6014), 1);           /* mods_count */
	TEST_ASSERT_EQ(rd32(&c, rd32(&c, 0x6018)), c.res.initrd_gpa);
	TEST_ASSERT_EQ(rd32(&c, rd32(&c, 0x6018) + 4), c.res.initrd_gpa + 6);
	TEST_ASSERT_EQ(rd32(&c, 0x602c), 4 * 24);      /* mmap_length: the EBDA is reserved */
	TEST_ASSERT_EQ(rd32(&c, rd32(&c, 0x6030)), 20);
	TEST_ASSERT_EQ(rd64(&c, rd32(&c, 0x6030) + 24 * 3 + 4), 0x100000);
	TEST_ASSERT_EQ(rd64(&c, rd32(&c, 0x6030) + 24 * 3 + 12), 31 * MiB);

	/* A raw image located by the header's address fields (flag 16). */
	hdr[1] = 0x00010002;
	hdr[2] = -(hdr[0] + hdr[1]);
	hdr[3] = 0x200010;                             /* header_addr: file offset 0x10 */
	hdr[4] = 0x200000;                             /* load_addr */
	hdr[5] = 0;                                    /* load to end of file */
	hdr[6] = 0x202000;                             /* bss_end */
	hdr[7] = 0x200040;                             /* entry */
	memcpy(raw + 0x10, hdr, sizeof(hdr));
	memcpy(raw + 0x40, timg_code32, sizeof(timg_code32));
	timg_write_file(timg_path("mb.bin", c.kernel, sizeof(c.kernel)), raw, sizeof(raw));
	TEST_ASSERT_OK(load(&c, c.kernel, NULL, NULL));
	TEST_ASSERT_EQ(c.res.regs.rip, 0x200040);
	TEST_ASSERT_EQ(c.res.image_end, 0x202000);
	TEST_ASSERT(memcmp(guest_mem_ptr(&c.mem, 0x200040, sizeof(timg_code32)), timg_code32, sizeof(timg_code32)) == 0,
		    "raw image loaded at load_addr");
	TEST_ASSERT_EQ(rd32(&c, 0x6014), 0);

	hdr[1] = 0x00000010;                           /* a required feature we lack */
	hdr[2] = -(hdr[0] + hdr[1]);
	memcpy(seg, hdr, 12);
	timg_write_elf(timg_path("mb-bad.elf", c.kernel, sizeof(c.kernel)), &e);
	ASSERT_ERR(&c, load(&c, c.kernel, NULL, NULL), -ENOEXEC, "requires features 0x10");
	ctx_done(&c);
}

TEST(bzimage_64bit_boot_protocol)
{
	struct ctx c;
	char s[32] = { 0 };
	uint8_t *bp;

	ctx_init(&c, 128 * MiB);
	write_bzimage(timg_path("bzImage", c.kernel, sizeof(c.kernel)), 0x020f, 0x800000);
	timg_write_file(timg_path("initrd.gz", c.initrd, sizeof(c.initrd)), "RD", 2);
	TEST_ASSERT_OK(load(&c, c.kernel, c.initrd, "console=ttyS0"));
	TEST_ASSERT_STR_EQ(c.res.kind_name, "bzimage");
	TEST_ASSERT_EQ(c.res.regs.rip, 0x1000200);
	TEST_ASSERT_EQ(c.res.regs.rsi, 0x6000);
	TEST_ASSERT_EQ(c.res.efer, 0x500);
	TEST_ASSERT_EQ(c.res.cr4 & 0x20, 0x20);
	TEST_ASSERT_EQ(c.res.cr0 & 0x80000001, 0x80000001);
	TEST_ASSERT_EQ(c.res.cs.l, 1);
	TEST_ASSERT_EQ(c.res.cs.selector, 0x10);
	TEST_ASSERT_EQ(c.res.ds.selector, 0x18);
	TEST_ASSERT(memcmp(guest_mem_ptr(&c.mem, 0x1000200, sizeof(timg_code64)), timg_code64, sizeof(timg_code64)) == 0,
		    "payload at pref_address");
	bp = guest_mem_ptr(&c.mem, 0x6000, 4096);
	TEST_ASSERT(memcmp(bp + 0x202, "HdrS", 4) == 0, "setup header copied");
	TEST_ASSERT_EQ(bp[0x210], 0xff);               /* type_of_loader */
	TEST_ASSERT_EQ(bp[0x211] & 1, 1);              /* LOADED_HIGH */
	TEST_ASSERT_EQ(rd32(&c, 0x6000 + 0x228), 0x8000);
	guest_mem_read(&c.mem, 0x8000, s, sizeof(s) - 1);
	TEST_ASSERT_STR_EQ(s, "console=ttyS0");
	TEST_ASSERT_EQ(rd32(&c, 0x6000 + 0x218), c.res.initrd_gpa);
	TEST_ASSERT_EQ(rd32(&c, 0x6000 + 0x21c), 2);
	TEST_ASSERT_EQ(c.res.initrd_gpa, 128 * MiB - 4096);
	TEST_ASSERT_EQ(bp[0x1e8], 4);                  /* e820 entries */
	TEST_ASSERT_EQ(rd64(&c, 0x6000 + 0x2d0 + 3 * 20), 0x100000);
	TEST_ASSERT_EQ(rd64(&c, 0x6000 + 0x2d0 + 3 * 20 + 8), 127 * MiB);
	TEST_ASSERT_EQ(rd32(&c, 0x6000 + 0x2d0 + 1 * 20 + 16), 2);
	/* Identity map: PML4[0] -> PDPT, PDPT[3] -> PD 3, its last entry maps 4 GiB - 2 MiB. */
	TEST_ASSERT_EQ(rd64(&c, c.res.cr3) & ~0xfffULL, c.res.cr3 + 0x1000);
	TEST_ASSERT_EQ(rd64(&c, c.res.cr3 + 0x1000 + 3 * 8) & ~0xfffULL, c.res.cr3 + 0x5000);
	TEST_ASSERT_EQ(rd64(&c, c.res.cr3 + 0x5000 + 511 * 8), 0xffe00000 | 0x83);

	/* init_size beyond RAM; too old a protocol; a cmdline over cmdline_size. */
	write_bzimage(c.kernel, 0x020f, 0x10000000);
	ASSERT_ERR(&c, load(&c, c.kernel, NULL, NULL), -EFBIG, "larger than guest RAM");
	write_bzimage(c.kernel, 0x020b, 0x800000);
	ASSERT_ERR(&c, load(&c, c.kernel, NULL, NULL), -ENOEXEC, "2.12");
	write_bzimage(c.kernel, 0x020f, 0x800000);
	memset(s, 'x', sizeof(s));
	{
		char longline[3000];

		memset(longline, 'a', sizeof(longline) - 1);
		longline[sizeof(longline) - 1] = 0;
		ASSERT_ERR(&c, load(&c, c.kernel, NULL, longline), -EINVAL, "at most 2047");
	}
	ctx_done(&c);
}

TEST_MAIN()
