/* SPDX-License-Identifier: MIT */
/*
 * The bundled guest images are PVH ELFs any PVH loader accepts: ELF64 x86-64
 * executables loaded from 1 MiB inside the default 256 MiB of RAM, with
 * non-overlapping segments and a "Xen" note of type XEN_ELFNOTE_PHYS32_ENTRY
 * giving an entry inside an executable segment. Code that may run at CPL0
 * has no SSE/x87 instruction (KVM's emulator runs it on this host).
 */
#include "tests/test.h"

#include <elf.h>
#include <sys/stat.h>

#include "guests/rt/abi.h"

#ifndef KVMRR_GUEST_NAMES
#error "KVMRR_GUEST_NAMES must list the guests (meson passes it)"
#endif

static char *read_file(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	TEST_ASSERT(fd >= 0, "open %s", path);
	TEST_ASSERT(fstat(fd, &st) == 0, "fstat %s", path);
	buf = malloc((size_t)st.st_size);
	TEST_ASSERT(buf, "malloc %lld", (long long)st.st_size);
	TEST_ASSERT(read(fd, buf, (size_t)st.st_size) == st.st_size, "read %s", path);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

/* Find the PVH entry in a PT_NOTE segment; 0: none. */
static uint64_t pvh_entry(const char *img, size_t len, const Elf64_Phdr *ph)
{
	size_t off = ph->p_offset, end = ph->p_offset + ph->p_filesz;

	while (off + sizeof(Elf64_Nhdr) <= end && end <= len) {
		const Elf64_Nhdr *n = (const Elf64_Nhdr *)(img + off);
		size_t name = off + sizeof(*n), desc = name + ((n->n_namesz + 3) & ~3u);

		if (desc + n->n_descsz > end)
			return 0;
		if (n->n_type == ABI_XEN_ELFNOTE_PHYS32_ENTRY && n->n_namesz == 4 &&
		    memcmp(img + name, "Xen", 4) == 0) {
			uint64_t v = 0;

			if (n->n_descsz == 4 || n->n_descsz == 8)
				memcpy(&v, img + desc, n->n_descsz);
			return v;
		}
		off = desc + ((n->n_descsz + 3) & ~3u);
	}
	return 0;
}

/* Returns NULL when the image is a good PVH ELF, else what is wrong. */
static const char *check_pvh(const char *img, size_t len, char *why, size_t whylen)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
	const Elf64_Phdr *ph;
	uint64_t entry = 0;
	int entry_ok = 0;

	if (len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
		return "not an ELF";
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64 ||
	    eh->e_type != ET_EXEC)
		return "not an ELF64 x86-64 executable";
	if (eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(*ph) > len)
		return "program headers outside the file";
	ph = (const Elf64_Phdr *)(img + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_NOTE && !entry)
			entry = pvh_entry(img, len, &ph[i]);
	if (!entry)
		return "no Xen PHYS32_ENTRY note";
	for (int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];

		if (p->p_type != PT_LOAD)
			continue;
		snprintf(why, whylen, "segment %d at 0x%llx+0x%llx (file 0x%llx) outside 1 MiB-256 MiB "
			 "or the file", i, (unsigned long long)p->p_paddr,
			 (unsigned long long)p->p_memsz, (unsigned long long)p->p_filesz);
		if (p->p_paddr < ABI_LOAD_ADDR || p->p_paddr + p->p_memsz > ABI_DEFAULT_RAM ||
		    p->p_filesz > p->p_memsz || p->p_offset + p->p_filesz > len)
			return why;
		for (int j = 0; j < i; j++)
			if (ph[j].p_type == PT_LOAD && p->p_paddr < ph[j].p_paddr + ph[j].p_memsz &&
			    ph[j].p_paddr < p->p_paddr + p->p_memsz)
				return "overlapping PT_LOAD segments";
		if ((p->p_flags & PF_X) && entry >= p->p_paddr && entry < p->p_paddr + p->p_filesz) {
			/* The runtime's 32-bit entry starts with CLI. */
			entry_ok = (unsigned char)img[p->p_offset + (entry - p->p_paddr)] == 0xfa;
		}
	}
	snprintf(why, whylen, "PVH entry 0x%llx not at a CLI in an executable segment",
		 (unsigned long long)entry);
	return entry_ok ? NULL : why;
}

TEST(every_guest_is_a_pvh_elf)
{
	char names[] = KVMRR_GUEST_NAMES, path[4096], rel[256], why[256];
	int count = 0;

	for (char *save, *n = strtok_r(names, ",", &save); n; n = strtok_r(NULL, ",", &save)) {
		size_t len;
		char *img;
		const char *err;

		snprintf(rel, sizeof(rel), "guests/%s.elf", n);
		img = read_file(test_build_path(rel, path, sizeof(path)), &len);
		err = check_pvh(img, len, why, sizeof(why));
		TEST_ASSERT(!err, "%s: %s", path, err);
		free(img);
		count++;
	}
	TEST_ASSERT(count >= 11, "wanted the 11 bundled guests, got %d in \"%s\"", count,
		    KVMRR_GUEST_NAMES);
}

/* The checker is not a rubber stamp: a broken note or a bad segment is caught. */
TEST(pvh_check_rejects_broken_images)
{
	char path[4096], why[256];
	size_t len;
	char *img = read_file(test_build_path("guests/hello.elf", path, sizeof(path)), &len);
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
	Elf64_Phdr *ph = (Elf64_Phdr *)(img + eh->e_phoff);
	char *copy = malloc(len);
	const char *err;

	TEST_ASSERT(check_pvh(img, len, why, sizeof(why)) == NULL, "hello.elf must pass");
	for (int i = 0; i < eh->e_phnum; i++) {
		memcpy(copy, img, len);
		ph = (Elf64_Phdr *)(copy + eh->e_phoff);
		if (ph[i].p_type == PT_NOTE) {
			Elf64_Nhdr *n = (Elf64_Nhdr *)(copy + ph[i].p_offset);

			n->n_type = 17;
			err = check_pvh(copy, len, why, sizeof(why));
			TEST_ASSERT(err && strstr(err, "no Xen"), "note type 17: got %s",
				    err ? err : "accepted");
		} else if (ph[i].p_type == PT_LOAD) {
			ph[i].p_paddr = 0x1000;
			err = check_pvh(copy, len, why, sizeof(why));
			TEST_ASSERT(err, "segment %d moved to 0x1000 was accepted", i);
		}
	}
	memcpy(copy, img, len);
	copy[EI_CLASS] = ELFCLASS32;
	TEST_ASSERT(check_pvh(copy, len, why, sizeof(why)) != NULL, "ELF32 header accepted");
	free(copy);
	free(img);
}

/* True if a disassembly line uses SSE/AVX registers or x87. */
static int fp_insn(const char *line)
{
	static const char *const bad[] = { "%xmm", "%ymm", "%zmm", "%st", "\tf", "ldmxcsr",
					   "stmxcsr", "fxsave", "fxrstor" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (strstr(line, bad[i]))
			return 1;
	return 0;
}

/*
 * No SSE/x87 in any guest, except in compute's own functions (CPL3 only):
 * the runtime and every other guest are built with -mgeneral-regs-only.
 */
TEST(no_fp_in_cpl0_code)
{
	char names[] = KVMRR_GUEST_NAMES, path[4096], rel[256], cmd[8192];

	TEST_ASSERT(fp_insn("  1000f0:\tmovaps %xmm0,0x10(%rsp)") &&
		    fp_insn("  1000f0:\tfldz") && !fp_insn("  1000f0:\tmov    %rax,%rbx"),
		    "the SSE/x87 detector itself is wrong");
	for (char *save, *n = strtok_r(names, ",", &save); n; n = strtok_r(NULL, ",", &save)) {
		char *out, *line, *lsave, func[256] = "?";
		int rc;

		snprintf(rel, sizeof(rel), "guests/%s.elf", n);
		snprintf(cmd, sizeof(cmd), "objdump -d --no-show-raw-insn '%s'",
			 test_build_path(rel, path, sizeof(path)));
		rc = test_run_capture(cmd, &out);
		TEST_ASSERT(rc == 0, "%s: exit %d\n%s", cmd, rc, out);
		for (line = strtok_r(out, "\n", &lsave); line; line = strtok_r(NULL, "\n", &lsave)) {
			char *lt = strstr(line, ">:");

			if (lt && strchr(line, '<') && line[0] != ' ') {
				snprintf(func, sizeof(func), "%.*s", (int)(lt - strchr(line, '<') - 1),
					 strchr(line, '<') + 1);
				continue;
			}
			/* int3's FWAIT at CPL0 is on purpose: kvmrr executes it (machine/exception.c). */
			if (!fp_insn(line) || (strcmp(n, "int3") == 0 && strstr(line, "\tfwait")))
				continue;
			TEST_ASSERT(strcmp(n, "compute") == 0 && strncmp(func, "rt_", 3) != 0 &&
				    strncmp(func, "mem", 3) != 0 && strncmp(func, "str", 3) != 0,
				    "%s.elf: SSE/x87 in %s, which may run at CPL0: %s", n, func, line);
		}
		free(out);
	}
}

TEST_MAIN()
