/* SPDX-License-Identifier: MIT */
/*
 * The PVH boot ABI (xen/include/public/arch-x86/hvm/start_info.h and
 * docs/misc/pvh.pandoc in Xen): an ELF with a "Xen" note of type
 * XEN_ELFNOTE_PHYS32_ENTRY is entered in 32-bit protected mode, paging off,
 * EBX = the physical address of struct hvm_start_info.
 */
#include "machine/loader_internal.h"

#include <errno.h>
#include <inttypes.h>

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC 0x336ec578
#define HVM_START_INFO_SIZE 56
#define HVM_MODLIST_ENTRY_SIZE 32
#define HVM_MEMMAP_ENTRY_SIZE 24
#define LOW_1M 0x100000ULL

_Static_assert(LOADER_MEMMAP_MAX * HVM_MEMMAP_ENTRY_SIZE <= LOADER_MODLIST_GPA - LOADER_MEMMAP_GPA,
	       "the memory map fits below the module list");

/* hvm_start_info v1: magic, version, flags, nr_modules, modlist_paddr,
 * cmdline_paddr, rsdp_paddr, memmap_paddr, memmap_entries, reserved. */
static void write_start_info(struct guest_mem *mem, const struct loader_result *out)
{
	uint8_t si[HVM_START_INFO_SIZE] = { 0 };
	uint8_t e[HVM_MEMMAP_ENTRY_SIZE];
	unsigned int i;

	for (i = 0; i < out->nmemmap; i++) {
		memset(e, 0, sizeof(e));
		loader_put64(e, out->memmap[i].addr);
		loader_put64(e + 8, out->memmap[i].size);
		loader_put32(e + 16, out->memmap[i].type);
		guest_mem_write(mem, LOADER_MEMMAP_GPA + i * HVM_MEMMAP_ENTRY_SIZE, e, sizeof(e));
	}
	if (out->initrd_size) {
		uint8_t m[HVM_MODLIST_ENTRY_SIZE] = { 0 };

		loader_put64(m, out->initrd_gpa);
		loader_put64(m + 8, out->initrd_size);
		guest_mem_write(mem, LOADER_MODLIST_GPA, m, sizeof(m));
		loader_put32(si + 0x0c, 1);
		loader_put64(si + 0x10, LOADER_MODLIST_GPA);
	}
	loader_put32(si + 0x00, HVM_START_MAGIC);
	loader_put32(si + 0x04, 1);
	loader_put64(si + 0x18, out->cmdline_gpa);
	loader_put64(si + 0x20, 0);                  /* no ACPI RSDP */
	loader_put64(si + 0x28, LOADER_MEMMAP_GPA);
	loader_put32(si + 0x30, out->nmemmap);
	guest_mem_write(mem, LOADER_INFO_GPA, si, sizeof(si));
}

int loader_pvh_load(struct guest_mem *mem, const struct loader_args *args,
		    const struct loader_file *f, const struct loader_elf *elf,
		    struct loader_result *out, struct err *err)
{
	const uint8_t *desc;
	uint32_t descsz;
	uint64_t entry;
	int ret;

	if (loader_elf_find_note(f, elf, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, &desc, &descsz) < 0)
		return LOADER_NOT_MINE;
	if (descsz != 4 && descsz != 8) {
		return err_set(err, -ENOEXEC, "kernel %s: PVH entry note has a %u-byte descriptor, "
			   "wanted 4 or 8", f->path, descsz);
	}
	entry = descsz == 4 ? loader_get32(desc) : loader_get64(desc);
	ret = loader_elf_load(mem, f, elf, out, err);
	if (ret < 0)
		return ret;
	if (entry >= GUEST_MEM_HOLE_START || !guest_mem_ptr(mem, entry, 1)) {
		return err_set(err, -ERANGE, "kernel %s: PVH entry 0x%" PRIx64 " is outside guest RAM "
			   "below the 32-bit hole (0x%" PRIx64 ")", f->path, entry,
			   loader_low_ram_end(mem));
	}
	ret = loader_write_cmdline(mem, args->cmdline, out, err);
	if (ret < 0)
		return ret;
	if (args->initrd_path) {
		uint64_t low = out->image_end > LOW_1M ? out->image_end : LOW_1M;

		ret = loader_load_initrd(mem, args->initrd_path, low, GUEST_MEM_HOLE_START, out,
					 err);
		if (ret < 0)
			return ret;
	}
	loader_build_memmap(mem, out, false);
	loader_write_gdt(mem);
	write_start_info(mem, out);
	loader_set_flat32(out, entry);
	out->regs.rbx = LOADER_INFO_GPA;
	out->boot_info_gpa = LOADER_INFO_GPA;
	out->kind = LOADER_PVH;
	return 0;
}
