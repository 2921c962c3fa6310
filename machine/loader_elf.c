/* SPDX-License-Identifier: MIT */
/* ELF32/ELF64 program headers and notes, shared by the PVH and multiboot loaders. */
#include "machine/loader_internal.h"

#include <elf.h>
#include <errno.h>
#include <inttypes.h>

bool loader_is_elf(const struct loader_file *f)
{
	return f->len >= SELFMAG && memcmp(f->data, ELFMAG, SELFMAG) == 0;
}

/* One program header, normalised from ELF32 or ELF64. */
static void elf_phdr(const struct loader_file *f, int cls, uint64_t off, uint32_t *type,
		     struct loader_elf_seg *s)
{
	if (cls == 64) {
		Elf64_Phdr p;

		memcpy(&p, f->data + off, sizeof(p));
		*type = p.p_type;
		*s = (struct loader_elf_seg){ p.p_paddr, p.p_offset, p.p_filesz, p.p_memsz };
	} else {
		Elf32_Phdr p;

		memcpy(&p, f->data + off, sizeof(p));
		*type = p.p_type;
		*s = (struct loader_elf_seg){ p.p_paddr, p.p_offset, p.p_filesz, p.p_memsz };
	}
}

static int elf_add_phdr(const struct loader_file *f, struct loader_elf *elf, unsigned int i,
			uint32_t type, const struct loader_elf_seg *s, struct err *err)
{
	if (type != PT_LOAD && type != PT_NOTE)
		return 0;
	if (s->offset > f->len || s->filesz > f->len - s->offset) {
		return err_set(err, -ENOEXEC, "kernel %s: truncated: program header %u needs file bytes "
			   "[0x%" PRIx64 "-0x%" PRIx64 ") but the file has %zu bytes",
			   f->path, i, s->offset, s->offset + s->filesz, f->len);
	}
	if (type == PT_NOTE) {
		if (elf->nnotes < LOADER_ELF_MAX_NOTES) {
			elf->notes[elf->nnotes].offset = s->offset;
			elf->notes[elf->nnotes++].size = s->filesz;
		}
		return 0;
	}
	if (s->memsz == 0)
		return 0;
	if (s->filesz > s->memsz) {
		return err_set(err, -ENOEXEC, "kernel %s: segment %u has p_filesz 0x%" PRIx64
			   " > p_memsz 0x%" PRIx64, f->path, i, s->filesz, s->memsz);
	}
	if (elf->nsegs == LOADER_ELF_MAX_SEGS) {
		return err_set(err, -ENOEXEC, "kernel %s: more than %d PT_LOAD segments", f->path,
			   LOADER_ELF_MAX_SEGS);
	}
	elf->segs[elf->nsegs++] = *s;
	return 0;
}

int loader_elf_parse(const struct loader_file *f, struct loader_elf *elf, struct err *err)
{
	uint64_t phoff, phentsize, phnum, need, i;
	uint16_t machine;
	int ret;

	memset(elf, 0, sizeof(*elf));
	if (f->len < EI_NIDENT || (f->data[EI_CLASS] != ELFCLASS32 && f->data[EI_CLASS] != ELFCLASS64)) {
		return err_set(err, -ENOEXEC, "kernel %s: ELF class %u is neither 32 nor 64-bit", f->path,
			   f->len > EI_CLASS ? f->data[EI_CLASS] : 0);
	}
	elf->cls = f->data[EI_CLASS] == ELFCLASS64 ? 64 : 32;
	need = elf->cls == 64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
	if (f->len < need) {
		return err_set(err, -ENOEXEC, "kernel %s: truncated: %zu bytes, an ELF%d header needs %" PRIu64,
			   f->path, f->len, elf->cls, need);
	}
	if (f->data[EI_DATA] != ELFDATA2LSB) {
		return err_set(err, -ENOEXEC, "kernel %s: big-endian ELF, x86 needs little-endian", f->path);
	}
	if (elf->cls == 64) {
		Elf64_Ehdr h;

		memcpy(&h, f->data, sizeof(h));
		machine = h.e_machine;
		elf->entry = h.e_entry;
		phoff = h.e_phoff; phentsize = h.e_phentsize; phnum = h.e_phnum;
		need = sizeof(Elf64_Phdr);
	} else {
		Elf32_Ehdr h;

		memcpy(&h, f->data, sizeof(h));
		machine = h.e_machine;
		elf->entry = h.e_entry;
		phoff = h.e_phoff; phentsize = h.e_phentsize; phnum = h.e_phnum;
		need = sizeof(Elf32_Phdr);
	}
	if (machine != EM_386 && machine != EM_X86_64) {
		return err_set(err, -ENOEXEC, "kernel %s: ELF e_machine %u is not x86 (%u or %u)", f->path,
			   machine, EM_386, EM_X86_64);
	}
	if (phnum == 0 || phentsize < need || phoff > f->len ||
	    phnum * phentsize > f->len - phoff) {
		return err_set(err, -ENOEXEC, "kernel %s: truncated or bad program headers: %" PRIu64
			   " x %" PRIu64 " bytes at 0x%" PRIx64 ", file has %zu bytes",
			   f->path, phnum, phentsize, phoff, f->len);
	}
	for (i = 0; i < phnum; i++) {
		struct loader_elf_seg s;
		uint32_t type;

		elf_phdr(f, elf->cls, phoff + i * phentsize, &type, &s);
		ret = elf_add_phdr(f, elf, (unsigned int)i, type, &s, err);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int loader_elf_find_note(const struct loader_file *f, const struct loader_elf *elf,
			 const char *name, uint32_t type, const uint8_t **desc, uint32_t *descsz)
{
	size_t namelen = strlen(name) + 1;
	unsigned int n;

	for (n = 0; n < elf->nnotes; n++) {
		const uint8_t *p = f->data + elf->notes[n].offset;
		uint64_t left = elf->notes[n].size;

		while (left >= 12) {
			uint32_t nsz = loader_get32(p), dsz = loader_get32(p + 4);
			uint64_t nsz4 = ((uint64_t)nsz + 3) & ~3ULL, dsz4 = ((uint64_t)dsz + 3) & ~3ULL;

			if (12 + nsz4 + dsz > left)
				break;                  /* malformed: stop reading this segment */
			if (loader_get32(p + 8) == type && nsz == namelen &&
			    memcmp(p + 12, name, namelen) == 0) {
				*desc = p + 12 + nsz4;
				*descsz = dsz;
				return 0;
			}
			if (12 + nsz4 + dsz4 >= left)
				break;
			p += 12 + nsz4 + dsz4;
			left -= 12 + nsz4 + dsz4;
		}
	}
	return -ENOENT;
}

int loader_elf_load(struct guest_mem *mem, const struct loader_file *f,
		    const struct loader_elf *elf, struct loader_result *out, struct err *err)
{
	char what[320];
	unsigned int i, j;
	int ret;

	for (i = 0; i < elf->nsegs; i++) {
		const struct loader_elf_seg *s = &elf->segs[i];

		snprintf(what, sizeof(what), "kernel %s: segment %u", f->path, i);
		ret = loader_check_range(mem, s->paddr, s->memsz, what, err);
		if (ret < 0)
			return ret;
		for (j = 0; j < i; j++) {
			const struct loader_elf_seg *o = &elf->segs[j];

			if (s->paddr < o->paddr + o->memsz && o->paddr < s->paddr + s->memsz) {
				return err_set(err, -EINVAL, "kernel %s: segment %u [0x%" PRIx64 "-0x%" PRIx64
					   ") overlaps segment %u [0x%" PRIx64 "-0x%" PRIx64 ")",
					   f->path, i, s->paddr, s->paddr + s->memsz, j, o->paddr,
					   o->paddr + o->memsz);
			}
		}
	}
	if (elf->nsegs == 0) {
		return err_set(err, -ENOEXEC, "kernel %s: no PT_LOAD segment to load", f->path);
	}
	out->image_start = UINT64_MAX;
	for (i = 0; i < elf->nsegs; i++) {
		const struct loader_elf_seg *s = &elf->segs[i];
		uint8_t *dst = guest_mem_ptr(mem, s->paddr, s->memsz);

		memcpy(dst, f->data + s->offset, s->filesz);
		memset(dst + s->filesz, 0, s->memsz - s->filesz);
		if (s->paddr < out->image_start)
			out->image_start = s->paddr;
		if (s->paddr + s->memsz > out->image_end)
			out->image_end = s->paddr + s->memsz;
	}
	out->elf_class = elf->cls;
	return 0;
}
