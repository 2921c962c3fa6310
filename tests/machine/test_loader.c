/* SPDX-License-Identifier: MIT */
/*
 * Loaders against real files written to a temp dir: the error cases with
 * their messages, and good PVH / multiboot / bzImage images checked field by
 * field in guest memory.
 */
#include "tests/test.h"

#include <ftw.h>

#include "vcpu/kvm.h"
#include "vcpu/vcpu.h"
#include "vcpu/vm.h"

#include "machine/loader.h"
#include "tests/machine/loader_util.h"

#define MiB (1ULL << 20)
#define PVH_ENTRY 0x100000ULL

/* 32-bit: OUT 0xf4 of [ebx] (start_info magic), [ebx+0x18] (cmdline_paddr), [0x8000]; HLT. */
static const uint8_t code[] = {
	0x8b, 0x03, 0xe7, 0xf4, 0x8b, 0x43, 0x18, 0xe7, 0xf4,
	0x8b, 0x05, 0x00, 0x80, 0x00, 0x00, 0xe7, 0xf4, 0xf4,
};
/* 64-bit: OUT 0xf4 of [rsi+0x228] (cmd_line_ptr), [0x8000] through the page tables; HLT. */
static const uint8_t code64[] = {
	0x8b, 0x86, 0x28, 0x02, 0x00, 0x00, 0xe7, 0xf4,
	0x8b, 0x04, 0x25, 0x00, 0x80, 0x00, 0x00, 0xe7, 0xf4, 0xf4,
};
/* Multiboot: OUT 0xf4 of EAX, then of EBX; HLT. */
static const uint8_t code_mb[] = { 0xe7, 0xf4, 0x89, 0xd8, 0xe7, 0xf4, 0xf4 };

struct ctx {
	struct guest_mem mem;
	struct loader_result res;
	char err[512];
	char kernel[256], initrd[256];
};

static void ctx_init(struct ctx *c, uint64_t mem_size)
{
	memset(c, 0, sizeof(*c));
	TEST_ASSERT_OK(guest_mem_alloc(&c->mem, mem_size));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

/* Remove the test's temp dir (kept when a test fails, for a look). */
static void ctx_done(struct ctx *c)
{
	guest_mem_free(&c->mem);
	nftw(timg_dir(), rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/*
 * Run the loaded image on a real vCPU with the loader's register state
 * until HLT, collecting the 32-bit OUTs to port 0xf4.
 */
static unsigned int run_on_kvm(struct ctx *c, uint32_t *outs, unsigned int max,
			       struct kvm_sregs *final)
{
	struct kvm_cpuid2 *cpuid = NULL;
	struct kvm_sregs sregs;
	struct vcpu_exit ex;
	struct vcpu v;
	unsigned int n = 0, exits;
	int kvm, vm;

	test_require_kvm();
	kvm = kvm_open("/dev/kvm");
	TEST_ASSERT(kvm >= 0, "kvm_open: %d", kvm);
	vm = kvm_create_vm(kvm);
	TEST_ASSERT(vm >= 0, "kvm_create_vm: %d", vm);
	TEST_ASSERT_OK(vm_set_tss_addr(vm, 0xfffbd000));
	TEST_ASSERT_OK(guest_mem_register(&c->mem, vm, 0));
	TEST_ASSERT_OK(vcpu_open(&v, kvm, vm, 0));
	TEST_ASSERT_OK(kvm_get_supported_cpuid(kvm, &cpuid));
	TEST_ASSERT_OK(vcpu_set_cpuid2(&v, cpuid));
	free(cpuid);
	TEST_ASSERT_OK(vcpu_get_sregs(&v, &sregs));
	loader_apply_sregs(&c->res, &sregs);
	TEST_ASSERT_OK(vcpu_set_sregs(&v, &sregs));
	TEST_ASSERT_OK(vcpu_set_regs(&v, &c->res.regs));
	for (exits = 0; exits < 100; exits++) {
		TEST_ASSERT_OK(vcpu_run(&v, &ex));
		if (ex.reason == KVM_EXIT_HLT)
			break;
		TEST_ASSERT(ex.reason == KVM_EXIT_IO && !ex.io.in && ex.io.port == 0xf4 &&
			    ex.io.size == 4 && n < max,
			    "exit %s (%u), port 0x%x size %u after %u OUTs",
			    vcpu_exit_reason_name(ex.reason), ex.reason, ex.io.port, ex.io.size, n);
		memcpy(&outs[n++], ex.io.data, 4);
	}
	TEST_ASSERT_EXIT(&ex, KVM_EXIT_HLT);
	TEST_ASSERT_OK(vcpu_get_sregs(&v, final));
	vcpu_close(&v);
	close(vm);
	close(kvm);
	return n;
}

static int load(struct ctx *c, const char *kernel, const char *initrd, const char *cmdline)
{
	struct loader_args a = { .kernel_path = kernel, .initrd_path = initrd, .cmdline = cmdline };
	int ret;

	c->err[0] = 0;
	ret = loader_load(&c->mem, &a, &c->res, c->err, sizeof(c->err));
	printf("# load %s -> %d%s%s\n", kernel, ret, c->err[0] ? ": " : "", c->err);
	return ret;
}

#define ASSERT_ERR(c, ret, want, substr)                                         \
	do {                                                                     \
		TEST_ASSERT_EQ(ret, want);                                       \
		TEST_ASSERT(strstr((c)->err, substr) != NULL,                    \
			    "message \"%s\" lacks \"%s\"", (c)->err, substr);    \
	} while (0)

/* A one-segment PVH ELF: code at 1 MiB plus bss. */
static void write_pvh(const char *path, int cls, unsigned int descsz)
{
	uint8_t note[32];
	struct timg_elf e = { .cls = cls, .entry = PVH_ENTRY, .nsegs = 1,
			      .segs = { { PVH_ENTRY, code, sizeof(code), 0x3000 } } };

	e.notelen = timg_pvh_note(note, PVH_ENTRY, descsz);
	e.note = note;
	timg_write_elf(path, &e);
}

static uint32_t rd32(struct ctx *c, uint64_t gpa)
{
	uint32_t v = 0;

	TEST_ASSERT_OK(guest_mem_read(&c->mem, gpa, &v, 4));
	return v;
}

static uint64_t rd64(struct ctx *c, uint64_t gpa)
{
	uint64_t v = 0;

	TEST_ASSERT_OK(guest_mem_read(&c->mem, gpa, &v, 8));
	return v;
}

TEST(missing_kernel_and_not_an_elf)
{
	struct ctx c;
	int ret;

	ctx_init(&c, 16 * MiB);
	ret = load(&c, timg_path("does-not-exist", c.kernel, sizeof(c.kernel)), NULL, NULL);
	ASSERT_ERR(&c, ret, -ENOENT, "does-not-exist");
	TEST_ASSERT(strstr(c.err, "No such file"), "why: %s", c.err);

	timg_write_file(timg_path("text", c.kernel, sizeof(c.kernel)), "hello world\n", 12);
	ret = load(&c, c.kernel, NULL, NULL);
	ASSERT_ERR(&c, ret, -ENOEXEC, "not an ELF");
	TEST_ASSERT(strstr(c.err, "68 65 6c 6c"), "shows the first bytes: %s", c.err);

	timg_write_file(timg_path("empty", c.kernel, sizeof(c.kernel)), "", 0);
	ASSERT_ERR(&c, load(&c, c.kernel, NULL, NULL), -ENOEXEC, "empty");
	ctx_done(&c);
}

TEST(elf_without_pvh_note_or_multiboot)
{
	struct ctx c;
	struct timg_elf e = { .cls = 64, .entry = PVH_ENTRY, .nsegs = 1,
			      .segs = { { PVH_ENTRY, code, sizeof(code), sizeof(code) } } };

	ctx_init(&c, 16 * MiB);
	timg_write_elf(timg_path("nonote.elf", c.kernel, sizeof(c.kernel)), &e);
	ASSERT_ERR(&c, load(&c, c.kernel, NULL, NULL), -ENOEXEC, "without a PVH entry note");
	TEST_ASSERT(strstr(c.err, "multiboot"), "mentions both: %s", c.err);
	ctx_done(&c);
}

TEST(segment_outside_or_larger_than_ram)
{
	struct ctx c;
	uint8_t note[32];
	struct timg_elf e = { .cls = 64, .entry = PVH_ENTRY, .nsegs = 1,
			      .segs = { { 0x2000000, code, sizeof(code), 0x1000 } } };

	ctx_init(&c, 16 * MiB);
	e.notelen = timg_pvh_note(note, PVH_ENTRY, 8);
	e.note = note;
	timg_write_elf(timg_path("outside.elf", c.kernel, sizeof(c.kernel)), &e);
	ASSERT_ERR(&c, load(&c, c.kernel, NULL, NULL), -ERANGE, "outside guest RAM");
	TEST_ASSERT(strstr(c.err, "0x2000000-0x2001000") && strstr(c.err, "0x1000000"),
		    "range and RAM end shown: %s", c.err);

	e.segs[0] = (struct timg_seg){ PVH_ENTRY, code, sizeof(code), 32 * MiB };
	timg_write_elf(timg_path("huge.elf", c.kernel, sizeof(c.kernel)), &e);
	ASSERT_ERR(&c, load(&c, c.kernel, NULL, NULL), -EFBIG, "larger than guest RAM");

	e.segs[0] = (struct timg_seg){ 0x4000, code, sizeof(code), 0x2000 };
	timg_write_elf(timg_path("low.elf", c.kernel, sizeof(c.kernel)), &e);
	ASSERT_ERR(&c, load(&c, c.kernel, NULL, NULL), -EINVAL, "boot structures");
	ctx_done(&c);
}

TEST(overlapping_segments_and_truncation)
{
	struct ctx c;
	uint8_t note[32];
	struct timg_elf e = { .cls = 64, .entry = PVH_ENTRY, .nsegs = 2,
			      .segs = { { PVH_ENTRY, code, sizeof(code), 0x2000 },
					{ PVH_ENTRY + 0x1000, code, sizeof(code), 0x1000 } } };

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
	TEST_ASSERT(strstr(c.err, "free"), "says how much is free: %s", c.err);
	/* Just fits: 16 MiB minus the kernel's end (1 MiB + 12 KiB). */
	timg_write_sparse(c.initrd, 16 * MiB - PVH_ENTRY - 0x3000);
	TEST_ASSERT_OK(load(&c, c.kernel, c.initrd, NULL));
	TEST_ASSERT_EQ(c.res.initrd_gpa, PVH_ENTRY + 0x3000);
	timg_write_sparse(c.initrd, 16 * MiB - PVH_ENTRY - 0x3000 + 1);
	TEST_ASSERT_EQ(load(&c, c.kernel, c.initrd, NULL), -EFBIG);
	ctx_done(&c);
}

static void check_memmap_entry(struct ctx *c, unsigned int i, uint64_t addr, uint64_t size,
			       uint32_t type)
{
	uint64_t e = c->res.boot_info_gpa ? rd64(c, 0x6000 + 0x28) + i * 24 : 0;

	TEST_ASSERT(i < rd32(c, 0x6000 + 0x30), "memmap has entry %u", i);
	TEST_ASSERT_EQ(rd64(c, e), addr);
	TEST_ASSERT_EQ(rd64(c, e + 8), size);
	TEST_ASSERT_EQ(rd32(c, e + 16), type);
}

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
	TEST_ASSERT(memcmp(guest_mem_ptr(&c.mem, PVH_ENTRY, sizeof(code)), code, sizeof(code)) == 0,
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
	TEST_ASSERT_EQ(rd32(&c, 0x6004), 640);
	TEST_ASSERT_EQ(rd32(&c, 0x6008), 31 * 1024);
	guest_mem_read(&c.mem, rd32(&c, 0x6010), s, 8);
	TEST_ASSERT_STR_EQ(s, "mb args");
	TEST_ASSERT_EQ(rd32(&c, 0x6014), 1);           /* mods_count */
	TEST_ASSERT_EQ(rd32(&c, rd32(&c, 0x6018)), c.res.initrd_gpa);
	TEST_ASSERT_EQ(rd32(&c, rd32(&c, 0x6018) + 4), c.res.initrd_gpa + 6);
	TEST_ASSERT_EQ(rd32(&c, 0x602c), 3 * 24);      /* mmap_length */
	TEST_ASSERT_EQ(rd32(&c, rd32(&c, 0x6030)), 20);
	TEST_ASSERT_EQ(rd64(&c, rd32(&c, 0x6030) + 24 * 2 + 4), 0x100000);
	TEST_ASSERT_EQ(rd64(&c, rd32(&c, 0x6030) + 24 * 2 + 12), 31 * MiB);

	/* A raw image located by the header's address fields (flag 16). */
	hdr[1] = 0x00010002;
	hdr[2] = -(hdr[0] + hdr[1]);
	hdr[3] = 0x200010;                             /* header_addr: file offset 0x10 */
	hdr[4] = 0x200000;                             /* load_addr */
	hdr[5] = 0;                                    /* load to end of file */
	hdr[6] = 0x202000;                             /* bss_end */
	hdr[7] = 0x200040;                             /* entry */
	memcpy(raw + 0x10, hdr, sizeof(hdr));
	memcpy(raw + 0x40, code, sizeof(code));
	timg_write_file(timg_path("mb.bin", c.kernel, sizeof(c.kernel)), raw, sizeof(raw));
	TEST_ASSERT_OK(load(&c, c.kernel, NULL, NULL));
	TEST_ASSERT_EQ(c.res.regs.rip, 0x200040);
	TEST_ASSERT_EQ(c.res.image_end, 0x202000);
	TEST_ASSERT(memcmp(guest_mem_ptr(&c.mem, 0x200040, sizeof(code)), code, sizeof(code)) == 0,
		    "raw image loaded at load_addr");
	TEST_ASSERT_EQ(rd32(&c, 0x6014), 0);

	hdr[1] = 0x00000010;                           /* a required feature we lack */
	hdr[2] = -(hdr[0] + hdr[1]);
	memcpy(seg, hdr, 12);
	timg_write_elf(timg_path("mb-bad.elf", c.kernel, sizeof(c.kernel)), &e);
	ASSERT_ERR(&c, load(&c, c.kernel, NULL, NULL), -ENOEXEC, "requires features 0x10");
	ctx_done(&c);
}

/* A synthetic bzImage: 4 setup sectors, a header, a protected-mode payload. */
static void write_bzimage(const char *path, uint16_t version, uint32_t init_size)
{
	static uint8_t img[5 * 512 + 4096];
	uint32_t v32;
	uint64_t v64;

	memset(img, 0, sizeof(img));
	img[0x1f1] = 4;
	v32 = 4096 / 16;
	memcpy(img + 0x1f4, &v32, 4);
	img[0x1fe] = 0x55; img[0x1ff] = 0xaa;
	img[0x200] = 0xeb; img[0x201] = 0x6a;          /* header ends at 0x26c */
	memcpy(img + 0x202, "HdrS", 4);
	memcpy(img + 0x206, &version, 2);
	img[0x211] = 0x01;
	v32 = 0x7fffffff;
	memcpy(img + 0x22c, &v32, 4);                  /* initrd_addr_max */
	v32 = 0x200000;
	memcpy(img + 0x230, &v32, 4);                  /* kernel_alignment */
	img[0x234] = 1;                                /* relocatable */
	img[0x236] = 0x03;                             /* XLF_KERNEL_64 | CAN_BE_LOADED_ABOVE_4G */
	v32 = 2047;
	memcpy(img + 0x238, &v32, 4);                  /* cmdline_size */
	v64 = 0x1000000;
	memcpy(img + 0x258, &v64, 8);                  /* pref_address */
	memcpy(img + 0x260, &init_size, 4);
	memcpy(img + 5 * 512 + 0x200, code64, sizeof(code64));
	timg_write_file(path, img, sizeof(img));
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
	TEST_ASSERT(memcmp(guest_mem_ptr(&c.mem, 0x1000200, sizeof(code64)), code64, sizeof(code64)) == 0,
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
	TEST_ASSERT_EQ(bp[0x1e8], 3);                  /* e820 entries */
	TEST_ASSERT_EQ(rd64(&c, 0x6000 + 0x2d0 + 2 * 20), 0x100000);
	TEST_ASSERT_EQ(rd64(&c, 0x6000 + 0x2d0 + 2 * 20 + 8), 127 * MiB);
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
	uint32_t hdr[3] = { 0x1BADB002, 0x00000002, 0 }, outs[4];
	uint8_t seg[64] = { 0 };
	struct timg_elf e = { .cls = 32, .entry = 0x100020, .nsegs = 1,
			      .segs = { { 0x100000, seg, sizeof(seg), sizeof(seg) } } };

	ctx_init(&c, 32 * MiB);
	hdr[2] = -(hdr[0] + hdr[1]);
	memcpy(seg, hdr, sizeof(hdr));
	memcpy(seg + 0x20, code_mb, sizeof(code_mb));
	timg_write_elf(timg_path("mb.elf", c.kernel, sizeof(c.kernel)), &e);
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
	TEST_ASSERT(entry && *entry != 0, "code at the entry point");
	TEST_ASSERT_EQ(rd32(&c, 0x6000), 0x336ec578);
	ctx_done(&c);
}

TEST_MAIN()
