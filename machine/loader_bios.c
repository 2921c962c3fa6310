/* SPDX-License-Identifier: MIT */
/*
 * The PC's low memory as a BIOS leaves it for a multiboot or bzImage kernel
 * (GRUB, SeaBIOS under QEMU and kvmtool all do): the BIOS data area with the
 * segment of the extended BIOS data area (EBDA) at 0x40e and the size of base
 * memory in KiB at 0x413 (what INT 12h returns), an EBDA right below 640 KiB,
 * and a memory map that reserves the EBDA, the VGA window and the BIOS ROM.
 * Kernels read the BDA to find usable memory below 1 MiB: Xen places its
 * real-mode trampoline under the EBDA, Linux reserves from the EBDA up.
 * PVH guests get no BDA (the PVH ABI has no BIOS) and the plain map.
 */
#include "machine/loader_internal.h"

#include <errno.h>
#include <inttypes.h>

#define BDA_COM1        0x400    /* I/O base of COM1..COM4 (words) */
#define BDA_EBDA_SEG    0x40e    /* EBDA segment (paragraphs) */
#define BDA_BASE_MEM    0x413    /* KiB of conventional memory below the EBDA */
#define COM1_PORT       0x3f8
#define VGA_START       0xa0000ULL
#define LOW_1M          0x100000ULL

/* Add [addr, end) of type, clipped to [0, limit); merges nothing. */
static void memmap_add(struct loader_result *out, uint64_t addr, uint64_t end, uint64_t limit,
		       uint32_t type)
{
	if (end > limit)
		end = limit;
	if (addr >= end || out->nmemmap == LOADER_MEMMAP_MAX)
		return;
	out->memmap[out->nmemmap++] = (struct loader_memmap_entry){ addr, end - addr, type };
}

void loader_build_memmap(const struct guest_mem *mem, struct loader_result *out, bool bios)
{
	uint64_t low = loader_low_ram_end(mem);
	uint64_t conv_end = bios ? LOADER_EBDA_GPA : VGA_START;
	unsigned int i;

	out->nmemmap = 0;
	/* Conventional memory, the EBDA, then the VGA window and BIOS area the PC reserves. */
	memmap_add(out, 0, conv_end, low, LOADER_MEM_RAM);
	memmap_add(out, conv_end, VGA_START, low, LOADER_MEM_RESERVED);
	memmap_add(out, VGA_START, LOW_1M, low, LOADER_MEM_RESERVED);
	memmap_add(out, LOW_1M, low, low, LOADER_MEM_RAM);
	for (i = 1; i < mem->nregions; i++)
		memmap_add(out, mem->regions[i].gpa, mem->regions[i].gpa + mem->regions[i].size,
			   UINT64_MAX, LOADER_MEM_RAM);
}

/*
 * Real-mode interrupt vectors: every one points at an IRET in the BIOS ROM
 * area (reserved in the map), as kvmtool's stub BIOS does, so a kernel that
 * asks the BIOS something in real mode (Xen's trampoline: INT 15h E820, INT
 * 10h video, INT 13h EDD) gets its registers back unchanged, which reads as
 * "not supported", instead of executing the zeros at 0000:0000.
 */
static void write_ivt(struct guest_mem *mem)
{
	uint8_t *ivt = guest_mem_ptr(mem, 0, 256 * 4);
	uint8_t iret = 0xcf;
	unsigned int v;

	for (v = 0; v < 256; v++) {
		loader_put16(ivt + v * 4, (uint16_t)(LOADER_BIOS_IRET_GPA & 0xf));
		loader_put16(ivt + v * 4 + 2, (uint16_t)(LOADER_BIOS_IRET_GPA >> 4));
	}
	guest_mem_write(mem, LOADER_BIOS_IRET_GPA, &iret, 1);
}

void loader_write_bda(struct guest_mem *mem)
{
	uint8_t *bda = guest_mem_ptr(mem, LOADER_BDA_GPA, LOADER_BDA_END - LOADER_BDA_GPA);
	uint8_t *ebda = guest_mem_ptr(mem, LOADER_EBDA_GPA, LOADER_EBDA_SIZE);

	if (!bda || !ebda)
		return;                 /* guest RAM always covers 2 MiB from 0 (cli/options.c) */
	memset(bda, 0, LOADER_BDA_END - LOADER_BDA_GPA);
	memset(ebda, 0, LOADER_EBDA_SIZE);
	loader_put16(bda + BDA_COM1 - LOADER_BDA_GPA, COM1_PORT);   /* our 8250 */
	loader_put16(bda + BDA_EBDA_SEG - LOADER_BDA_GPA, (uint16_t)(LOADER_EBDA_GPA >> 4));
	loader_put16(bda + BDA_BASE_MEM - LOADER_BDA_GPA, (uint16_t)(LOADER_EBDA_GPA >> 10));
	ebda[0] = LOADER_EBDA_SIZE >> 10;      /* the EBDA's first byte: its size in KiB */
	write_ivt(mem);
}

int loader_check_bios_area(uint64_t gpa, uint64_t size, const char *what, struct err *err)
{
	if (size == 0)
		return 0;
	if ((gpa < LOADER_BDA_END && gpa + size > LOADER_BDA_GPA) ||
	    (gpa < VGA_START && gpa + size > LOADER_EBDA_GPA))
		return err_set(err, -EINVAL, "%s [0x%" PRIx64 "-0x%" PRIx64 ") overlaps the BIOS data "
			       "area [0x%llx-0x%llx) or the EBDA [0x%llx-0x%llx) a BIOS leaves there",
			       what, gpa, gpa + size, LOADER_BDA_GPA, LOADER_BDA_END, LOADER_EBDA_GPA,
			       (unsigned long long)VGA_START);
	return 0;
}
