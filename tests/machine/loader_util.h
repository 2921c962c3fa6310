/* SPDX-License-Identifier: MIT */
/* Writers of small real image files (ELF32/64, multiboot, bzImage) for the loader tests. */
#ifndef KVMRR_TESTS_MACHINE_LOADER_UTIL_H
#define KVMRR_TESTS_MACHINE_LOADER_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "machine/loader.h"

#define MiB (1ULL << 20)
#define PVH_ENTRY 0x100000ULL

struct timg_seg {
	uint64_t paddr;
	const void *data;
	uint64_t filesz, memsz;
};

struct timg_elf {
	int cls;                      /* 32 or 64 */
	uint64_t entry;
	unsigned int nsegs;
	struct timg_seg segs[4];
	const void *note;             /* PT_NOTE contents, or NULL */
	size_t notelen;
	size_t truncate_to;           /* cut the file to this many bytes (0: don't) */
};

/* A temp dir unique to the test; path of a file in it. */
const char *timg_dir(void);
const char *timg_path(const char *name, char *buf, size_t len);
/* "Xen" note of type 18 with a descsz-byte (4 or 8) entry address. */
size_t timg_pvh_note(uint8_t *buf, uint64_t entry, unsigned int descsz);
void timg_write_elf(const char *path, const struct timg_elf *e);
void timg_write_file(const char *path, const void *data, size_t len);
/* A sparse file of size bytes. */
void timg_write_sparse(const char *path, uint64_t size);

/* Tiny guest programs that report through 32-bit OUTs to port 0xf4, then HLT. */
extern const uint8_t timg_code32[18];   /* [ebx], [ebx+0x18], [0x8000] */
extern const uint8_t timg_code64[18];   /* [rsi+0x228], [0x8000] via the page tables */
extern const uint8_t timg_code_mb[7];   /* eax, ebx */

/* One loader run: its RAM, result and message, and the paths it used. */
struct ctx {
	struct guest_mem mem;
	struct loader_result res;
	struct err err;
	char kernel[256], initrd[256];
};

void ctx_init(struct ctx *c, uint64_t mem_size);
/* Free RAM and remove the temp dir (kept when a test fails, for a look). */
void ctx_done(struct ctx *c);
/* loader_load() of kernel (+initrd, cmdline); prints the result as a TAP comment. */
int load(struct ctx *c, const char *kernel, const char *initrd, const char *cmdline);
/* Run the loaded image on a real vCPU with the loader's state until HLT; returns the OUTs seen. */
unsigned int run_on_kvm(struct ctx *c, uint32_t *outs, unsigned int max, struct kvm_sregs *final);
uint32_t rd32(struct ctx *c, uint64_t gpa);
uint64_t rd64(struct ctx *c, uint64_t gpa);
/* Entry i of the PVH start_info memory map is (addr, size, type). */
void check_memmap_entry(struct ctx *c, unsigned int i, uint64_t addr, uint64_t size, uint32_t type);
/* A one-segment PVH ELF: timg_code32 at 1 MiB plus bss to 1 MiB + 12 KiB. */
void write_pvh(const char *path, int cls, unsigned int descsz);
/*
 * A multiboot ELF32: header and timg_code_mb (entry 0x100020) in a segment at
 * 1 MiB; with low_memsz, a second segment of that size at low_paddr.
 */
void write_multiboot(const char *path, uint64_t low_paddr, uint64_t low_memsz);
/* A synthetic bzImage: 4 setup sectors, a header, timg_code64 at +0x200 of the payload. */
void write_bzimage(const char *path, uint16_t version, uint32_t init_size);

#define ASSERT_ERR(c, ret, want, substr)                                         \
	do {                                                                     \
		TEST_ASSERT_EQ(ret, want);                                       \
		TEST_ASSERT(strstr((c)->err.msg, substr) != NULL,                    \
			    "message \"%s\" lacks \"%s\"", (c)->err.msg, substr);    \
	} while (0)

#endif
