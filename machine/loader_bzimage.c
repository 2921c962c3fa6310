/* SPDX-License-Identifier: MIT */
/*
 * Linux bzImage through the 64-bit boot protocol (the kernel's
 * Documentation/arch/x86/boot.rst, "64-bit Boot Protocol"): the protected-
 * mode kernel is loaded at pref_address and entered at +0x200 in long mode
 * with identity-mapped paging, __BOOT_CS = 0x10, __BOOT_DS = 0x18 and
 * RSI = the zero page (struct boot_params).
 */
#include "machine/loader_internal.h"

#include <errno.h>
#include <inttypes.h>

/* Offsets in the file's first sector and in boot_params (the same for the header). */
#define BZ_SETUP_SECTS     0x1f1
#define BZ_SYSSIZE         0x1f4
#define BZ_VID_MODE        0x1fa
#define BZ_BOOT_FLAG       0x1fe
#define BZ_JUMP            0x200
#define BZ_HEADER          0x202
#define BZ_VERSION         0x206
#define BZ_TYPE_OF_LOADER  0x210
#define BZ_LOADFLAGS       0x211
#define BZ_RAMDISK_IMAGE   0x218
#define BZ_RAMDISK_SIZE    0x21c
#define BZ_CMD_LINE_PTR    0x228
#define BZ_INITRD_ADDR_MAX 0x22c
#define BZ_XLOADFLAGS      0x236
#define BZ_CMDLINE_SIZE    0x238
#define BZ_PREF_ADDRESS    0x258
#define BZ_INIT_SIZE       0x260
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE  0x0c4
#define BP_EXT_CMD_LINE_PTR  0x0c8
#define BP_E820_ENTRIES    0x1e8
#define BP_E820_TABLE      0x2d0
#define BP_SIZE            0x1000
#define XLF_KERNEL_64      0x0001
#define LOADED_HIGH        0x01
#define LOW_1M             0x100000ULL
#define BZ_ENTRY_64        0x200      /* startup_64: the 64-bit entry's offset in the kernel */

_Static_assert(BP_E820_TABLE + LOADER_MEMMAP_MAX * 20 <= BP_SIZE, "e820 fits in boot_params");

/* PML4 -> PDPT -> 4 page directories of 2 MiB pages: 0-4 GiB identity. */
static void write_page_tables(struct guest_mem *mem)
{
	uint64_t pml4 = LOADER_PAGETABLE_GPA, pdpt = pml4 + 0x1000, pd = pdpt + 0x1000;
	uint64_t e;
	unsigned int i;

	e = pdpt | 0x3;                              /* present, writable */
	guest_mem_write(mem, pml4, &e, 8);
	for (i = 0; i < 4; i++) {
		e = (pd + i * 0x1000ULL) | 0x3;
		guest_mem_write(mem, pdpt + i * 8, &e, 8);
	}
	for (i = 0; i < 4 * 512; i++) {
		e = ((uint64_t)i << 21) | 0x83;          /* present, writable, 2 MiB page */
		guest_mem_write(mem, pd + i * 8ULL, &e, 8);
	}
}

static void set_long_mode(struct loader_result *out, uint64_t entry)
{
	loader_set_flat32(out, entry);              /* data segments, TR, LDT, GDT */
	out->cs.selector = LOADER_SEL_CODE64;
	out->cs.l = 1;
	out->cs.db = 0;
	out->cr0 = 0x80000031;                      /* PG | NE | ET | PE */
	out->cr3 = LOADER_PAGETABLE_GPA;
	out->cr4 = 0x20;                            /* PAE */
	out->efer = 0x500;                          /* LMA | LME */
	out->regs.rsi = LOADER_INFO_GPA;
	out->regs.rsp = LOADER_STACK_GPA;
}

static int check_header(const struct loader_file *f, uint16_t *version, struct err *err)
{
	*version = loader_get16(f->data + BZ_VERSION);
	if (*version < 0x20c) {
		return err_set(err, -ENOEXEC, "kernel %s: bzImage boot protocol %u.%02u, the 64-bit entry "
			   "needs 2.12 or later", f->path, *version >> 8, *version & 0xff);
	}
	if (f->len < BZ_INIT_SIZE + 4) {
		return err_set(err, -ENOEXEC, "kernel %s: truncated bzImage header (%zu bytes)", f->path,
			   f->len);
	}
	if (!(loader_get16(f->data + BZ_XLOADFLAGS) & XLF_KERNEL_64)) {
		return err_set(err, -ENOEXEC, "kernel %s: bzImage has no 64-bit entry (XLF_KERNEL_64 "
			   "clear in xloadflags 0x%x)", f->path, loader_get16(f->data + BZ_XLOADFLAGS));
	}
	return 0;
}

/* The zero page: the file's setup header, plus what the loader fills in. */
static void write_boot_params(struct guest_mem *mem, const struct loader_file *f,
			      const struct loader_result *out)
{
	uint8_t *bp = guest_mem_ptr(mem, LOADER_INFO_GPA, BP_SIZE);
	size_t hdr_end = BZ_HEADER + f->data[BZ_JUMP + 1];
	unsigned int i;

	memset(bp, 0, BP_SIZE);
	if (hdr_end > f->len)
		hdr_end = f->len;
	if (hdr_end > BP_SIZE)
		hdr_end = BP_SIZE;
	memcpy(bp + BZ_SETUP_SECTS, f->data + BZ_SETUP_SECTS, hdr_end - BZ_SETUP_SECTS);
	loader_put16(bp + BZ_VID_MODE, 0xffff);     /* "normal" */
	bp[BZ_TYPE_OF_LOADER] = 0xff;               /* undefined loader */
	bp[BZ_LOADFLAGS] |= LOADED_HIGH;
	loader_put32(bp + BZ_CMD_LINE_PTR, (uint32_t)out->cmdline_gpa);
	loader_put32(bp + BP_EXT_CMD_LINE_PTR, (uint32_t)(out->cmdline_gpa >> 32));
	loader_put32(bp + BZ_RAMDISK_IMAGE, (uint32_t)out->initrd_gpa);
	loader_put32(bp + BZ_RAMDISK_SIZE, (uint32_t)out->initrd_size);
	loader_put32(bp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(out->initrd_gpa >> 32));
	loader_put32(bp + BP_EXT_RAMDISK_SIZE, (uint32_t)(out->initrd_size >> 32));
	bp[BP_E820_ENTRIES] = (uint8_t)out->nmemmap;
	for (i = 0; i < out->nmemmap; i++) {
		uint8_t *e = bp + BP_E820_TABLE + i * 20;

		loader_put64(e, out->memmap[i].addr);
		loader_put64(e + 8, out->memmap[i].size);
		loader_put32(e + 16, out->memmap[i].type);
	}
}

static int load_initrd_and_cmdline(struct guest_mem *mem, const struct loader_args *args,
				   const struct loader_file *f, uint16_t version,
				   struct loader_result *out, struct err *err)
{
	size_t len = strlen(args->cmdline ? args->cmdline : "");
	uint64_t max = 0x37ffffff;
	int ret;

	if (version >= 0x206 && len > loader_get32(f->data + BZ_CMDLINE_SIZE)) {
		return err_set(err, -EINVAL, "cmdline: %zu bytes, the kernel %s accepts at most %u",
			   len, f->path, loader_get32(f->data + BZ_CMDLINE_SIZE));
	}
	ret = loader_write_cmdline(mem, args->cmdline, out, err);
	if (ret < 0 || !args->initrd_path)
		return ret;
	if (version >= 0x203)
		max = loader_get32(f->data + BZ_INITRD_ADDR_MAX);
	return loader_load_initrd(mem, args->initrd_path, out->image_end, max + 1, out, err);
}

int loader_bzimage_load(struct guest_mem *mem, const struct loader_args *args,
			const struct loader_file *f, struct loader_result *out,
			struct err *err)
{
	uint64_t kernel_off, kernel_len, load, need, init_size;
	unsigned int setup_sects;
	uint16_t version;
	char what[320];
	int ret;

	if (f->len < BZ_VERSION + 2 || loader_get16(f->data + BZ_BOOT_FLAG) != 0xaa55 ||
	    memcmp(f->data + BZ_HEADER, "HdrS", 4) != 0)
		return LOADER_NOT_MINE;
	ret = check_header(f, &version, err);
	if (ret < 0)
		return ret;
	setup_sects = f->data[BZ_SETUP_SECTS] ? f->data[BZ_SETUP_SECTS] : 4;
	kernel_off = (setup_sects + 1ULL) * 512;
	kernel_len = f->len > kernel_off ? f->len - kernel_off : 0;
	/*
	 * syssize counts 16-byte paragraphs, rounded up by the kernel's build
	 * (arch/x86/boot/tools/build.c), so the file may end up to 15 bytes short
	 * of syssize * 16: GRUB and QEMU load the file as it is (memtest86+ 6.10
	 * is 8 bytes short). Shorter than that, the image was cut.
	 */
	if (kernel_len == 0 || kernel_len + 15 < loader_get32(f->data + BZ_SYSSIZE) * 16ULL) {
		return err_set(err, -ENOEXEC, "kernel %s: truncated bzImage: %" PRIu64 " bytes of "
			   "protected-mode kernel after %u setup sectors, syssize says %u", f->path,
			   kernel_len, setup_sects, loader_get32(f->data + BZ_SYSSIZE) * 16);
	}
	/* Found by fuzz_loader_bzimage (fuzz/regressions/): an entry past the image, past RAM. */
	if (kernel_len <= BZ_ENTRY_64)
		return err_set(err, -ENOEXEC, "kernel %s: %" PRIu64 " bytes of protected-mode kernel "
			       "after %u setup sectors: its 64-bit entry at +0x%x lies beyond them",
			       f->path, kernel_len, setup_sects, BZ_ENTRY_64);
	load = loader_get64(f->data + BZ_PREF_ADDRESS);
	if (load < LOW_1M)
		load = LOW_1M;
	init_size = loader_get32(f->data + BZ_INIT_SIZE);
	need = init_size > kernel_len ? init_size : kernel_len;
	snprintf(what, sizeof(what), "kernel %s: bzImage at pref_address with init_size", f->path);
	ret = loader_check_range(mem, load, need, what, err);
	if (ret < 0)
		return ret;
	guest_mem_write(mem, load, f->data + kernel_off, kernel_len);
	out->image_start = load;
	out->image_end = load + need;
	ret = load_initrd_and_cmdline(mem, args, f, version, out, err);
	if (ret < 0)
		return ret;
	loader_build_memmap(mem, out, true);
	loader_write_bda(mem);
	loader_write_gdt(mem);
	write_page_tables(mem);
	write_boot_params(mem, f, out);
	set_long_mode(out, load + BZ_ENTRY_64);
	out->boot_info_gpa = LOADER_INFO_GPA;
	out->kind = LOADER_BZIMAGE;
	return 0;
}
