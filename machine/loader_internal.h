/* SPDX-License-Identifier: MIT */
/* Shared by the loader_*.c files only. */
#ifndef KVMRR_MACHINE_LOADER_INTERNAL_H
#define KVMRR_MACHINE_LOADER_INTERNAL_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "machine/loader.h"

#define LOADER_ELF_MAX_SEGS 32
#define LOADER_ELF_MAX_NOTES 8
/* Result of a kind-specific loader that does not recognise the image. */
#define LOADER_NOT_MINE 1

struct loader_file {
	const char *path;
	const uint8_t *data;
	size_t len;
};

struct loader_elf_seg {
	uint64_t paddr, offset, filesz, memsz;
};

struct loader_elf {
	int cls;                       /* 32 or 64 */
	uint64_t entry;
	unsigned int nsegs, nnotes;
	struct loader_elf_seg segs[LOADER_ELF_MAX_SEGS];
	struct { uint64_t offset, size; } notes[LOADER_ELF_MAX_NOTES];
};

static inline void loader_put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void loader_put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static inline void loader_put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static inline uint32_t loader_get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t loader_get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline uint16_t loader_get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }

/* loader_elf.c */
bool loader_is_elf(const struct loader_file *f);
int loader_elf_parse(const struct loader_file *f, struct loader_elf *elf, struct err *err);
/* Find a note by name and type in the ELF's PT_NOTE segments: 0, or -ENOENT. */
int loader_elf_find_note(const struct loader_file *f, const struct loader_elf *elf,
			 const char *name, uint32_t type, const uint8_t **desc, uint32_t *descsz);
int loader_elf_load(struct guest_mem *mem, const struct loader_file *f,
		    const struct loader_elf *elf, struct loader_result *out, struct err *err);

/* loader_tsc.c: HLT+NOP over every RDTSC/RDTSCP the image loaded; the sites go to *sites. */
struct tsc_sites;
int loader_tsc_patch(struct guest_mem *mem, const struct loader_file *f, const struct loader_elf *elf,
		     struct tsc_sites *sites, struct err *err);

/* loader.c */
/* [gpa, gpa+size) must be inside RAM and clear of the boot area: 0, -ERANGE, -EFBIG, -EINVAL. */
int loader_check_range(const struct guest_mem *mem, uint64_t gpa, uint64_t size,
		       const char *what, struct err *err);
int loader_write_cmdline(struct guest_mem *mem, const char *cmdline, struct loader_result *out,
			 struct err *err);
/* Read the initrd into the top of RAM in [low, high): fills out->initrd_*. */
int loader_load_initrd(struct guest_mem *mem, const char *path, uint64_t low, uint64_t high,
		       struct loader_result *out, struct err *err);
/* End of RAM below the 32-bit hole. */
uint64_t loader_low_ram_end(const struct guest_mem *mem);
void loader_write_gdt(struct guest_mem *mem);
/* 32-bit protected mode, flat segments, paging off, EIP = entry. */
void loader_set_flat32(struct loader_result *out, uint64_t entry);

/* loader_bios.c */
/* The memory map; bios: the EBDA below 640 KiB is reserved too (multiboot, bzImage). */
void loader_build_memmap(const struct guest_mem *mem, struct loader_result *out, bool bios);
/* The BIOS data area and an empty EBDA, as a BIOS leaves them. */
void loader_write_bda(struct guest_mem *mem);
/* [gpa, gpa+size) must miss the BDA and the EBDA: 0 or -EINVAL. */
int loader_check_bios_area(uint64_t gpa, uint64_t size, const char *what, struct err *err);

int loader_pvh_load(struct guest_mem *mem, const struct loader_args *args,
		    const struct loader_file *f, const struct loader_elf *elf,
		    struct loader_result *out, struct err *err);
int loader_multiboot_load(struct guest_mem *mem, const struct loader_args *args,
			  const struct loader_file *f, const struct loader_elf *elf,
			  struct loader_result *out, struct err *err);
int loader_bzimage_load(struct guest_mem *mem, const struct loader_args *args,
			const struct loader_file *f, struct loader_result *out,
			struct err *err);

#endif
