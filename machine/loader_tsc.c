/* SPDX-License-Identifier: MIT */
/*
 * RDTSC under the VMM's control, the load-time half: every RDTSC (0f 31)
 * and RDTSCP (0f 01 f9) of the image's executable sections, found by
 * decoding (machine/tsc_scan.h), becomes HLT padded with a NOP to the same
 * length (f4 90, f4 66 90). With no in-kernel irqchip a HLT always exits to
 * the VMM, which then gives the guest the TSC value (machine/tsc.c).
 */
#include "machine/loader_internal.h"

#include <errno.h>
#include <inttypes.h>

#include "machine/tsc_scan.h"

/* The gpa where the loader put file byte off, or UINT64_MAX if no segment loads it. */
static uint64_t file_gpa(const struct loader_elf *elf, uint64_t off)
{
	for (unsigned int i = 0; i < elf->nsegs; i++) {
		const struct loader_elf_seg *s = &elf->segs[i];

		if (off >= s->offset && off - s->offset < s->filesz)
			return s->paddr + (off - s->offset);
	}
	return UINT64_MAX;
}

/* HLT, then one NOP covering the rest of the instruction. */
static void site_patch(uint8_t *p, unsigned int len)
{
	p[0] = 0xf4;
	if (len == 3) {
		p[1] = 0x66;
		p[2] = 0x90;
	} else {
		memset(p + 1, 0x90, len - 1);
	}
}

int loader_tsc_patch(struct guest_mem *mem, const struct loader_file *f, const struct loader_elf *elf,
		     struct tsc_sites *sites, struct err *err)
{
	size_t keep = 0;
	int r = tsc_scan_elf(f->data, f->len, sites, err);

	if (r < 0)
		return err_wrap(err, "kernel %s: cannot patch RDTSC (use --tsc native to run it unpatched)",
				f->path);
	for (size_t i = 0; i < sites->n; i++) {
		struct tsc_site *s = &sites->v[i];
		uint64_t gpa = s->file_off == TSC_SITE_NO_FILE ? UINT64_MAX : file_gpa(elf, s->file_off);
		uint8_t *p = gpa == UINT64_MAX ? NULL : guest_mem_ptr(mem, gpa, s->len);

		/* Alternatives copies stay in the table; a site in a section nothing loads goes. */
		if (s->file_off != TSC_SITE_NO_FILE && !p)
			continue;
		if (p && memcmp(p, f->data + s->file_off, s->len) == 0)
			site_patch(p, s->len);
		sites->v[keep++] = *s;
	}
	sites->n = keep;
	return 0;
}
