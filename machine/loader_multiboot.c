/* SPDX-License-Identifier: MIT */
/*
 * Multiboot v1 (the GNU Multiboot Specification 0.6.96): a header with magic
 * 0x1BADB002 in the first 8 KiB; the image is an ELF, or any file when the
 * header carries load addresses (flag 16). Entered in 32-bit protected mode
 * with EAX = 0x2BADB002 and EBX = the multiboot_info.
 */
#include "machine/loader_internal.h"

#include <errno.h>
#include <inttypes.h>

#define MB_MAGIC          0x1BADB002u
#define MB_BOOT_MAGIC     0x2BADB002u
#define MB_SEARCH         8192
#define MB_FLAG_AOUT      (1u << 16)
#define MB_FLAGS_KNOWN    0x00010007u    /* page-align modules, mem info, video, addresses */
#define MB_INFO_MEM       (1u << 0)
#define MB_INFO_CMDLINE   (1u << 2)
#define MB_INFO_MODS      (1u << 3)
#define MB_INFO_MMAP      (1u << 6)
#define MB_INFO_NAME      (1u << 9)
#define MB_INFO_SIZE      88
#define MB_MMAP_ENTRY     24
#define MB_MOD_ENTRY      16
#define MB_NAME           "kvmrr"
#define MB_MOD_NAME       "initrd"
#define MB_MOD_NAME_GPA   (LOADER_NAME_GPA + 0x100)

/* File offset of a valid header, or -1. */
static long find_header(const struct loader_file *f)
{
	size_t off, end = f->len < MB_SEARCH ? f->len : MB_SEARCH;

	for (off = 0; off + 12 <= end; off += 4) {
		uint32_t magic = loader_get32(f->data + off), flags = loader_get32(f->data + off + 4);

		if (magic == MB_MAGIC && (uint32_t)(magic + flags + loader_get32(f->data + off + 8)) == 0)
			return (long)off;
	}
	return -1;
}

/* Flag 16: header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr. */
static int load_aout(struct guest_mem *mem, const struct loader_file *f, size_t hoff,
		     struct loader_result *out, uint64_t *entry, struct err *err)
{
	uint32_t header_addr, load_addr, load_end, bss_end;
	uint64_t load_off, load_len, mem_len;
	char what[320];
	int ret;

	if (hoff + 32 > f->len) {
		return err_set(err, -ENOEXEC, "kernel %s: truncated multiboot header at 0x%zx", f->path, hoff);
	}
	header_addr = loader_get32(f->data + hoff + 12);
	load_addr = loader_get32(f->data + hoff + 16);
	load_end = loader_get32(f->data + hoff + 20);
	bss_end = loader_get32(f->data + hoff + 24);
	*entry = loader_get32(f->data + hoff + 28);
	if (load_addr > header_addr || header_addr - load_addr > hoff) {
		return err_set(err, -ENOEXEC, "kernel %s: multiboot load_addr 0x%x / header_addr 0x%x do "
			   "not place the header at file offset 0x%zx", f->path, load_addr,
			   header_addr, hoff);
	}
	load_off = hoff - (header_addr - load_addr);
	load_len = load_end ? (uint64_t)load_end - load_addr : f->len - load_off;
	if (load_end && load_end < load_addr) {
		return err_set(err, -ENOEXEC, "kernel %s: multiboot load_end_addr 0x%x < load_addr 0x%x",
			   f->path, load_end, load_addr);
	}
	if (load_len > f->len - load_off) {
		return err_set(err, -ENOEXEC, "kernel %s: truncated: multiboot header wants 0x%" PRIx64
			   " bytes from offset 0x%" PRIx64 ", the file has %zu bytes", f->path,
			   load_len, load_off, f->len);
	}
	mem_len = bss_end > load_addr + load_len ? bss_end - load_addr : load_len;
	if (mem_len == 0)       /* found by fuzz_loader_multiboot (fuzz/regressions/) */
		return err_set(err, -ENOEXEC, "kernel %s: the multiboot header loads nothing "
			       "(load_end_addr 0x%x = load_addr, bss_end_addr 0x%x)", f->path, load_end,
			       bss_end);
	snprintf(what, sizeof(what), "kernel %s: multiboot image", f->path);
	ret = loader_check_range(mem, load_addr, mem_len, what, err);
	if (ret == 0)
		ret = loader_check_bios_area(load_addr, mem_len, what, err);
	if (ret < 0)
		return ret;
	guest_mem_write(mem, load_addr, f->data + load_off, load_len);
	memset((uint8_t *)guest_mem_ptr(mem, load_addr, mem_len) + load_len, 0, mem_len - load_len);
	out->image_start = load_addr;
	out->image_end = load_addr + mem_len;
	return 0;
}

/* The BIOS data area is written after the image: no segment may lie on it. */
static int check_elf_bios_area(const struct loader_file *f, const struct loader_elf *elf,
			       struct err *err)
{
	char what[320];
	unsigned int i;
	int ret = 0;

	for (i = 0; i < elf->nsegs && ret == 0; i++) {
		if (elf->segs[i].paddr + elf->segs[i].memsz < elf->segs[i].paddr)
			continue;               /* loader_elf_load refuses it with its range */
		snprintf(what, sizeof(what), "kernel %s: segment %u", f->path, i);
		ret = loader_check_bios_area(elf->segs[i].paddr, elf->segs[i].memsz, what, err);
	}
	return ret;
}

static void write_info(struct guest_mem *mem, const struct loader_result *out)
{
	uint8_t info[MB_INFO_SIZE] = { 0 }, e[MB_MMAP_ENTRY];
	uint64_t low = loader_low_ram_end(mem);
	uint32_t flags = MB_INFO_MEM | MB_INFO_CMDLINE | MB_INFO_MMAP | MB_INFO_NAME;
	unsigned int i;

	for (i = 0; i < out->nmemmap; i++) {
		loader_put32(e, MB_MMAP_ENTRY - 4);      /* size excludes itself */
		loader_put64(e + 4, out->memmap[i].addr);
		loader_put64(e + 12, out->memmap[i].size);
		loader_put32(e + 20, out->memmap[i].type);
		guest_mem_write(mem, LOADER_MEMMAP_GPA + i * MB_MMAP_ENTRY, e, sizeof(e));
	}
	guest_mem_write(mem, LOADER_NAME_GPA, MB_NAME, sizeof(MB_NAME));
	if (out->initrd_size) {
		uint8_t m[MB_MOD_ENTRY] = { 0 };

		guest_mem_write(mem, MB_MOD_NAME_GPA, MB_MOD_NAME, sizeof(MB_MOD_NAME));
		loader_put32(m, (uint32_t)out->initrd_gpa);
		loader_put32(m + 4, (uint32_t)(out->initrd_gpa + out->initrd_size));
		loader_put32(m + 8, (uint32_t)MB_MOD_NAME_GPA);
		guest_mem_write(mem, LOADER_MODLIST_GPA, m, sizeof(m));
		flags |= MB_INFO_MODS;
		loader_put32(info + 20, 1);
		loader_put32(info + 24, (uint32_t)LOADER_MODLIST_GPA);
	}
	loader_put32(info + 0, flags);
	/* KiB of base memory (INT 12h, the BDA's word at 0x413): up to the EBDA. */
	loader_put32(info + 4, (uint32_t)((low < LOADER_EBDA_GPA ? low : LOADER_EBDA_GPA) >> 10));
	loader_put32(info + 8, (uint32_t)(low > 0x100000 ? (low - 0x100000) >> 10 : 0)); /* KiB above 1M */
	loader_put32(info + 16, (uint32_t)out->cmdline_gpa);
	loader_put32(info + 44, out->nmemmap * MB_MMAP_ENTRY);
	loader_put32(info + 48, (uint32_t)LOADER_MEMMAP_GPA);
	loader_put32(info + 64, (uint32_t)LOADER_NAME_GPA);
	guest_mem_write(mem, LOADER_INFO_GPA, info, sizeof(info));
}

int loader_multiboot_load(struct guest_mem *mem, const struct loader_args *args,
			  const struct loader_file *f, const struct loader_elf *elf,
			  struct loader_result *out, struct err *err)
{
	long hoff = find_header(f);
	uint32_t flags;
	uint64_t entry;
	int ret;

	if (hoff < 0)
		return LOADER_NOT_MINE;
	flags = loader_get32(f->data + hoff + 4);
	if (!elf && !(flags & MB_FLAG_AOUT))
		return LOADER_NOT_MINE;     /* a raw image needs the load addresses */
	if (flags & 0xffff & ~MB_FLAGS_KNOWN) {
		return err_set(err, -ENOEXEC, "kernel %s: multiboot header requires features 0x%x we do "
			   "not provide (known: 0x%x)", f->path, flags & 0xffff & ~MB_FLAGS_KNOWN,
			   MB_FLAGS_KNOWN & 0xffff);
	}
	if (flags & MB_FLAG_AOUT) {
		ret = load_aout(mem, f, (size_t)hoff, out, &entry, err);
	} else {
		ret = check_elf_bios_area(f, elf, err);
		if (ret == 0)
			ret = loader_elf_load(mem, f, elf, out, err);
		entry = elf->entry;
	}
	if (ret < 0)
		return ret;
	if (entry >= GUEST_MEM_HOLE_START || !guest_mem_ptr(mem, entry, 1)) {
		return err_set(err, -ERANGE, "kernel %s: multiboot entry 0x%" PRIx64 " is outside guest "
			   "RAM below the 32-bit hole", f->path, entry);
	}
	ret = loader_write_cmdline(mem, args->cmdline, out, err);
	if (ret == 0 && args->initrd_path)
		ret = loader_load_initrd(mem, args->initrd_path,
					 out->image_end > 0x100000 ? out->image_end : 0x100000,
					 GUEST_MEM_HOLE_START, out, err);
	if (ret < 0)
		return ret;
	loader_build_memmap(mem, out, true);
	loader_write_bda(mem);
	loader_write_gdt(mem);
	write_info(mem, out);
	loader_set_flat32(out, entry);
	out->regs.rax = MB_BOOT_MAGIC;
	out->regs.rbx = LOADER_INFO_GPA;
	out->boot_info_gpa = LOADER_INFO_GPA;
	out->kind = LOADER_MULTIBOOT;
	return 0;
}
