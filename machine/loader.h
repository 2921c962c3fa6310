/* SPDX-License-Identifier: MIT */
/*
 * Guest image loaders: PVH ELF (Xen's hvm_start_info ABI), Multiboot v1 and
 * Linux bzImage (64-bit boot protocol). One entry point detects the kind,
 * writes the image, initrd, command line and boot structures into guest RAM
 * and returns the initial vCPU state as plain values for the caller to apply
 * (it never touches a vCPU).
 *
 * Guest-physical layout below 1 MiB (all kinds):
 *   0x0400 multiboot and bzImage: the BIOS data area (EBDA segment, base memory)
 *   0x5000 GDT: 0x08 flat 32-bit code, 0x10 64-bit code, 0x18 flat data, 0x20 TSS
 *   0x6000 hvm_start_info / multiboot_info / boot_params (one page)
 *   0x7000 memory map (+0x800 module list, +0xc00 loader name)
 *   0x8000 command line (NUL-terminated, at most LOADER_CMDLINE_MAX bytes)
 *   0x9000 bzImage only: PML4, PDPT and 4 PDs identity-mapping 4 GiB (to 0xefff)
 *   0x9fc00 multiboot and bzImage: a 1 KiB EBDA, reserved in the memory map
 * The initrd goes page-aligned at the top of RAM below 4 GiB (and below the
 * kernel's initrd_addr_max for a bzImage).
 */
#ifndef KVMRR_MACHINE_LOADER_H
#define KVMRR_MACHINE_LOADER_H

#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "common/err.h"
#include "vcpu/guest_mem.h"

#define LOADER_GDT_GPA        0x5000ULL
#define LOADER_INFO_GPA       0x6000ULL
#define LOADER_MEMMAP_GPA     0x7000ULL
#define LOADER_MODLIST_GPA    0x7800ULL
#define LOADER_NAME_GPA       0x7c00ULL
#define LOADER_CMDLINE_GPA    0x8000ULL
#define LOADER_CMDLINE_MAX    4096ULL          /* including the NUL */
#define LOADER_PAGETABLE_GPA  0x9000ULL
#define LOADER_BOOT_AREA_END  0xf000ULL        /* [LOADER_GDT_GPA, this) is ours */
#define LOADER_STACK_GPA      0x5000ULL        /* initial RSP (bzImage; grows down) */

#define LOADER_BDA_GPA        0x400ULL         /* BIOS data area (multiboot, bzImage) */
#define LOADER_BDA_END        0x500ULL
#define LOADER_EBDA_GPA       0x9fc00ULL       /* 639 KiB of base memory below it */
#define LOADER_EBDA_SIZE      0x400ULL
#define LOADER_BIOS_IRET_GPA  0xf0000ULL       /* where every real-mode vector points */

#define LOADER_SEL_CODE32 0x08
#define LOADER_SEL_CODE64 0x10
#define LOADER_SEL_DATA   0x18
#define LOADER_SEL_TSS    0x20

#define LOADER_MEMMAP_MAX 8

/* e820 / hvm_memmap types */
#define LOADER_MEM_RAM      1
#define LOADER_MEM_RESERVED 2

struct tsc_sites;

enum loader_kind {
	LOADER_NONE = 0,
	LOADER_PVH,
	LOADER_MULTIBOOT,
	LOADER_BZIMAGE,
	LOADER_KIND_COUNT
};
const char *loader_kind_name(enum loader_kind kind);

struct loader_args {
	const char *kernel_path;
	const char *initrd_path;      /* NULL: none */
	const char *cmdline;          /* NULL: "" */
	struct tsc_sites *tsc_sites;  /* non-NULL: patch an ELF's RDTSC/RDTSCP, sites here (loader_tsc.c) */
};

struct loader_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;                /* LOADER_MEM_* */
};

struct loader_result {
	enum loader_kind kind;
	const char *kind_name;        /* "pvh", "multiboot", "bzimage" */
	int elf_class;                /* 32 or 64 for ELF images, 0 for bzImage */
	uint64_t entry;               /* gpa the vCPU starts at */
	uint64_t image_start, image_end;  /* gpa range the kernel image occupies */
	uint64_t boot_info_gpa;       /* start_info / multiboot info / boot_params */
	uint64_t cmdline_gpa;
	uint64_t initrd_gpa, initrd_size;  /* 0, 0: none */
	unsigned int nmemmap;
	struct loader_memmap_entry memmap[LOADER_MEMMAP_MAX];

	/* Initial vCPU state: regs as a whole; sregs via loader_apply_sregs(). */
	struct kvm_regs regs;
	struct kvm_segment cs, ds, es, fs, gs, ss, tr, ldt;
	struct kvm_dtable gdt, idt;
	uint64_t cr0, cr3, cr4, efer;
};

/*
 * Detect and load args->kernel_path into mem. Returns 0 and fills *out, or
 * -errno with "what, where, why" in err:
 *   -ENOENT/-EACCES/...  a file cannot be opened or read (errno of the call)
 *   -ENOEXEC  not an ELF nor a bzImage; no PVH note and no multiboot header;
 *             truncated or malformed headers; unsupported machine or protocol
 *   -ERANGE   a segment (or the bzImage's init_size) lies outside guest RAM
 *   -EFBIG    a segment, the kernel or the initrd is larger than guest RAM or
 *             than the free RAM left for it
 *   -EINVAL   overlapping segments, a segment over the boot area, cmdline too long
 * A PVH note wins over a multiboot header when an ELF carries both.
 */
int loader_load(struct guest_mem *mem, const struct loader_args *args,
		struct loader_result *out, struct err *err);

/*
 * The same for an image already in memory (data, len): args->kernel_path
 * only names it in messages (NULL: "(buffer)"); the initrd is still a path.
 * For fuzzing and for callers that hold the image.
 */
int loader_load_buffer(struct guest_mem *mem, const struct loader_args *args, const void *data,
		       size_t len, struct loader_result *out, struct err *err);

/* Copy the loader's special registers into sregs (read from the vCPU first). */
void loader_apply_sregs(const struct loader_result *r, struct kvm_sregs *sregs);

#endif
