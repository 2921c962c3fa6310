/* SPDX-License-Identifier: MIT */
/* Writers of small real image files (ELF32/64, multiboot, bzImage) for the loader tests. */
#ifndef KVMRR_TESTS_MACHINE_LOADER_UTIL_H
#define KVMRR_TESTS_MACHINE_LOADER_UTIL_H

#include <stddef.h>
#include <stdint.h>

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

#endif
