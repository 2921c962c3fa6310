/* SPDX-License-Identifier: MIT */
#include "tests/machine/loader_util.h"

#include <elf.h>
#include <sys/stat.h>

#include "tests/test.h"

const char *timg_dir(void)
{
	static char dir[64];

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/kvmrr-loader-XXXXXX");
		TEST_ASSERT(mkdtemp(dir) != NULL, "mkdtemp %s", dir);
	}
	return dir;
}

const char *timg_path(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", timg_dir(), name);
	return buf;
}

size_t timg_pvh_note(uint8_t *buf, uint64_t entry, unsigned int descsz)
{
	uint32_t hdr[3] = { 4, descsz, 18 };

	memcpy(buf, hdr, 12);
	memcpy(buf + 12, "Xen", 4);
	memcpy(buf + 16, &entry, descsz);
	return 16 + ((descsz + 3) & ~3u);
}

void timg_write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	TEST_ASSERT(fd >= 0, "create %s", path);
	TEST_ASSERT((size_t)write(fd, data, len) == len, "write %s", path);
	close(fd);
}

void timg_write_sparse(const char *path, uint64_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	TEST_ASSERT(fd >= 0, "create %s", path);
	TEST_ASSERT(ftruncate(fd, (off_t)size) == 0, "ftruncate %s", path);
	close(fd);
}

static void put_phdr(uint8_t *p, int cls, uint32_t type, uint64_t off, uint64_t paddr,
		     uint64_t filesz, uint64_t memsz)
{
	if (cls == 64) {
		Elf64_Phdr h = { .p_type = type, .p_flags = PF_R | PF_W | PF_X, .p_offset = off,
				 .p_vaddr = paddr, .p_paddr = paddr, .p_filesz = filesz,
				 .p_memsz = memsz, .p_align = 16 };
		memcpy(p, &h, sizeof(h));
	} else {
		Elf32_Phdr h = { .p_type = type, .p_flags = PF_R | PF_W | PF_X,
				 .p_offset = (uint32_t)off, .p_vaddr = (uint32_t)paddr,
				 .p_paddr = (uint32_t)paddr, .p_filesz = (uint32_t)filesz,
				 .p_memsz = (uint32_t)memsz, .p_align = 16 };
		memcpy(p, &h, sizeof(h));
	}
}

void timg_write_elf(const char *path, const struct timg_elf *e)
{
	size_t ehsz = e->cls == 64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
	size_t phsz = e->cls == 64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	unsigned int nph = e->nsegs + (e->note ? 1 : 0), i;
	size_t off = ehsz + nph * phsz, total = off + e->notelen + 16;
	uint8_t *buf;

	for (i = 0; i < e->nsegs; i++)
		total += e->segs[i].filesz + 16;
	buf = calloc(1, total);
	TEST_ASSERT(buf, "calloc %zu", total);
	if (e->cls == 64) {
		Elf64_Ehdr h = { .e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
				 .e_entry = e->entry, .e_phoff = ehsz, .e_ehsize = (uint16_t)ehsz,
				 .e_phentsize = (uint16_t)phsz, .e_phnum = (uint16_t)nph };
		memcpy(h.e_ident, ELFMAG, SELFMAG);
		h.e_ident[EI_CLASS] = ELFCLASS64;
		h.e_ident[EI_DATA] = ELFDATA2LSB;
		h.e_ident[EI_VERSION] = EV_CURRENT;
		memcpy(buf, &h, sizeof(h));
	} else {
		Elf32_Ehdr h = { .e_type = ET_EXEC, .e_machine = EM_386, .e_version = EV_CURRENT,
				 .e_entry = (uint32_t)e->entry, .e_phoff = (uint32_t)ehsz,
				 .e_ehsize = (uint16_t)ehsz, .e_phentsize = (uint16_t)phsz,
				 .e_phnum = (uint16_t)nph };
		memcpy(h.e_ident, ELFMAG, SELFMAG);
		h.e_ident[EI_CLASS] = ELFCLASS32;
		h.e_ident[EI_DATA] = ELFDATA2LSB;
		h.e_ident[EI_VERSION] = EV_CURRENT;
		memcpy(buf, &h, sizeof(h));
	}
	if (e->note) {
		memcpy(buf + off, e->note, e->notelen);
		put_phdr(buf + ehsz + e->nsegs * phsz, e->cls, PT_NOTE, off, 0, e->notelen, 0);
		off += (e->notelen + 15) & ~(size_t)15;
	}
	for (i = 0; i < e->nsegs; i++) {
		const struct timg_seg *s = &e->segs[i];

		if (s->filesz)
			memcpy(buf + off, s->data, s->filesz);
		put_phdr(buf + ehsz + i * phsz, e->cls, PT_LOAD, off, s->paddr, s->filesz, s->memsz);
		off += (s->filesz + 15) & ~(size_t)15;
	}
	timg_write_file(path, buf, e->truncate_to ? e->truncate_to : off);
	free(buf);
}
