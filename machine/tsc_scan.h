/* SPDX-License-Identifier: MIT */
/*
 * Find every RDTSC and RDTSCP in the executable sections of an x86 ELF
 * image, decoding instruction by instruction with Capstone (a byte search
 * would also hit 0f 31 inside other instructions' immediates and
 * displacements). Linux's .altinstr_replacement code is copied over its own
 * code at boot: a site in a replacement also gives a site at every place
 * .altinstructions says it may be copied to.
 */
#ifndef KVMRR_MACHINE_TSC_SCAN_H
#define KVMRR_MACHINE_TSC_SCAN_H

#include <stddef.h>
#include <stdint.h>

enum tsc_site_kind {
	TSC_SITE_RDTSC = 1,     /* 0f 31 */
	TSC_SITE_RDTSCP = 2,    /* 0f 01 f9 */
};

#define TSC_SITE_NO_FILE UINT64_MAX

struct tsc_site {
	uint64_t addr;          /* virtual address of the instruction (ELF sh_addr based) */
	uint64_t file_off;      /* its bytes in the file; TSC_SITE_NO_FILE for an alternatives copy */
	uint8_t len;            /* instruction length, prefixes included */
	uint8_t kind;           /* enum tsc_site_kind */
};

struct tsc_sites {
	struct tsc_site *v;     /* sorted by addr, no duplicates */
	size_t n, cap;
	size_t decoded;         /* instructions decoded */
};

/* Scan the ELF image. 0, or -errno with err set (not an ELF, no section headers, ...). */
struct err;
int tsc_scan_elf(const uint8_t *elf, size_t len, struct tsc_sites *out, struct err *err);
/* The site at addr, or NULL. */
const struct tsc_site *tsc_sites_find(const struct tsc_sites *s, uint64_t addr);
int tsc_sites_add(struct tsc_sites *s, const struct tsc_site *site);
/* Sort by addr and drop duplicates. */
void tsc_sites_sort(struct tsc_sites *s);
void tsc_sites_free(struct tsc_sites *s);

#endif
