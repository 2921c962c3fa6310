/* SPDX-License-Identifier: MIT */
/* RDTSC/RDTSCP sites of an ELF image, decoded with Capstone (machine/tsc_scan.h). */
#include "machine/tsc_scan.h"

#include "common/err.h"

#include <capstone/capstone.h>
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct scan_sec {
	const char *name;
	uint32_t type;
	uint64_t flags, addr, offset, size;
};

/* Section i, normalised from ELF32 or ELF64; false if it lies outside the file. */
static bool scan_section(const uint8_t *elf, size_t len, bool is64, uint64_t shoff, unsigned int i,
			 struct scan_sec *s)
{
	if (is64) {
		Elf64_Shdr h;

		memcpy(&h, elf + shoff + (uint64_t)i * sizeof(h), sizeof(h));
		*s = (struct scan_sec){ NULL, h.sh_type, h.sh_flags, h.sh_addr, h.sh_offset, h.sh_size };
		s->name = (const char *)(uintptr_t)h.sh_name;
	} else {
		Elf32_Shdr h;

		memcpy(&h, elf + shoff + (uint64_t)i * sizeof(h), sizeof(h));
		*s = (struct scan_sec){ NULL, h.sh_type, h.sh_flags, h.sh_addr, h.sh_offset, h.sh_size };
		s->name = (const char *)(uintptr_t)h.sh_name;
	}
	return s->type == SHT_NOBITS || (s->offset <= len && s->size <= len - s->offset);
}

/* Decode one executable section; add its RDTSC/RDTSCP sites. */
static int scan_code(csh cs, const uint8_t *elf, const struct scan_sec *sec, struct tsc_sites *out)
{
	const uint8_t *code = elf + sec->offset;
	size_t left = sec->size;
	uint64_t addr = sec->addr;
	cs_insn *insn = cs_malloc(cs);
	int r = 0;

	if (!insn)
		return -ENOMEM;
	while (left > 0 && r == 0) {
		if (!cs_disasm_iter(cs, &code, &left, &addr, insn)) {
			code++, left--, addr++;   /* not an instruction: go on at the next byte, as objdump does */
			continue;
		}
		out->decoded++;
		if (insn->id == X86_INS_RDTSC || insn->id == X86_INS_RDTSCP) {
			struct tsc_site s = {
				.addr = insn->address, .len = (uint8_t)insn->size,
				.file_off = sec->offset + (insn->address - sec->addr),
				.kind = insn->id == X86_INS_RDTSC ? TSC_SITE_RDTSC : TSC_SITE_RDTSCP,
			};
			r = tsc_sites_add(out, &s);
		}
	}
	cs_free(insn, 1);
	return r;
}

/* .altinstructions entries of entry size esz all point into code and replacements: 1, else 0. */
static bool alt_entries_fit(const uint8_t *p, const struct scan_sec *alt, const struct scan_sec *repl,
			    size_t esz)
{
	if (alt->size == 0 || alt->size % esz)
		return false;
	for (uint64_t off = 0; off < alt->size; off += esz) {
		int32_t ro;
		uint8_t rlen = p[off + esz - 1];
		uint64_t r;

		memcpy(&ro, p + off + 4, 4);
		r = alt->addr + off + 4 + (uint64_t)(int64_t)ro;
		if (r < repl->addr || r + rlen > repl->addr + repl->size)
			return false;
	}
	return true;
}

/* Sites at the places where .altinstructions may copy a replacement that holds a site. */
static int scan_alternatives(const uint8_t *elf, const struct scan_sec *alt, const struct scan_sec *repl,
			     struct tsc_sites *out)
{
	const uint8_t *p = elf + alt->offset;
	size_t esz = alt_entries_fit(p, alt, repl, 12) ? 12 : alt_entries_fit(p, alt, repl, 14) ? 14 : 0;
	size_t direct = out->n;

	if (!esz)
		return 0;   /* an .altinstructions layout we do not know: only the direct sites */
	for (uint64_t off = 0; off < alt->size; off += esz) {
		int32_t io, ro;
		uint8_t rlen = p[off + esz - 1];
		uint64_t instr, rstart;

		memcpy(&io, p + off, 4);
		memcpy(&ro, p + off + 4, 4);
		instr = alt->addr + off + (uint64_t)(int64_t)io;
		rstart = alt->addr + off + 4 + (uint64_t)(int64_t)ro;
		for (size_t i = 0; i < direct; i++) {
			struct tsc_site s = out->v[i];
			int r;

			if (s.addr < rstart || s.addr + s.len > rstart + rlen)
				continue;
			s.addr = instr + (s.addr - rstart);
			s.file_off = TSC_SITE_NO_FILE;
			r = tsc_sites_add(out, &s);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* Walk the section headers: decode each executable one, then the alternatives. */
static int scan_sections(csh cs, const uint8_t *elf, size_t len, bool is64, uint64_t shoff,
			 unsigned int shnum, unsigned int shstrndx, struct tsc_sites *out)
{
	struct scan_sec strs, s, alt = { 0 }, repl = { 0 };
	int r = 0;

	if (shstrndx >= shnum || !scan_section(elf, len, is64, shoff, shstrndx, &strs))
		return -ENOEXEC;
	for (unsigned int i = 0; i < shnum && r == 0; i++) {
		uint64_t name;

		if (!scan_section(elf, len, is64, shoff, i, &s))
			return -ENOEXEC;
		name = (uint64_t)(uintptr_t)s.name;
		s.name = name < strs.size ? (const char *)elf + strs.offset + name : "";
		if (s.type != SHT_PROGBITS)
			continue;
		if (strcmp(s.name, ".altinstructions") == 0)
			alt = s;
		if (strcmp(s.name, ".altinstr_replacement") == 0)
			repl = s;
		if (s.flags & SHF_EXECINSTR)
			r = scan_code(cs, elf, &s, out);
	}
	tsc_sites_sort(out);
	if (r == 0 && alt.size && repl.size)
		r = scan_alternatives(elf, &alt, &repl, out);
	tsc_sites_sort(out);
	return r;
}

int tsc_scan_elf(const uint8_t *elf, size_t len, struct tsc_sites *out, struct err *err)
{
	bool is64 = len >= EI_NIDENT && elf[EI_CLASS] == ELFCLASS64;
	uint64_t shoff, shentsize, shnum, shstrndx;
	csh cs;
	int r;

	memset(out, 0, sizeof(*out));
	if (len < sizeof(Elf64_Ehdr) || memcmp(elf, ELFMAG, SELFMAG) != 0) {
		return err_set(err, -ENOEXEC, "not an ELF image (%zu bytes)", len);
	}
	if (is64) {
		Elf64_Ehdr h;

		memcpy(&h, elf, sizeof(h));
		shoff = h.e_shoff, shentsize = h.e_shentsize, shnum = h.e_shnum, shstrndx = h.e_shstrndx;
	} else {
		Elf32_Ehdr h;

		memcpy(&h, elf, sizeof(h));
		shoff = h.e_shoff, shentsize = h.e_shentsize, shnum = h.e_shnum, shstrndx = h.e_shstrndx;
	}
	if (shnum == 0 || shentsize != (is64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr)) ||
	    shoff > len || shnum * shentsize > len - shoff) {
		return err_set(err, -ENOEXEC, "no usable section headers (%" PRIu64 " x %" PRIu64
			       " bytes at 0x%" PRIx64 "): cannot find the executable sections", shnum,
			       shentsize, shoff);
	}
	if (cs_open(CS_ARCH_X86, is64 ? CS_MODE_64 : CS_MODE_32, &cs) != CS_ERR_OK) {
		return err_set(err, -ENOSYS, "Capstone cannot open an x86 decoder");
	}
	r = scan_sections(cs, elf, len, is64, shoff, (unsigned int)shnum, (unsigned int)shstrndx, out);
	cs_close(&cs);
	if (r == -ENOEXEC)
		err_set(err, r, "a section header points outside the file");
	else if (r < 0)
		err_set(err, r, "scanning for RDTSC: %s", strerror(-r));
	if (r < 0)
		tsc_sites_free(out);
	return r;
}

int tsc_sites_add(struct tsc_sites *s, const struct tsc_site *site)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct tsc_site *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = *site;
	return 0;
}

static int site_cmp(const void *a, const void *b)
{
	const struct tsc_site *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

void tsc_sites_sort(struct tsc_sites *s)
{
	size_t out = 0;

	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), site_cmp);
	for (size_t i = 0; i < s->n; i++)
		if (out == 0 || s->v[out - 1].addr != s->v[i].addr)
			s->v[out++] = s->v[i];
	s->n = out;
}

const struct tsc_site *tsc_sites_find(const struct tsc_sites *s, uint64_t addr)
{
	struct tsc_site key = { .addr = addr };

	return s->n ? bsearch(&key, s->v, s->n, sizeof(*s->v), site_cmp) : NULL;
}

void tsc_sites_free(struct tsc_sites *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}
