/* SPDX-License-Identifier: MIT */
#include "tests/machine/loader_util.h"

#include <elf.h>
#include <sys/stat.h>

#include "tests/test.h"

#include <ftw.h>

#include "vcpu/kvm.h"
#include "vcpu/vcpu.h"
#include "vcpu/vm.h"

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

/* 32-bit: OUT 0xf4 of [ebx] (start_info magic), [ebx+0x18] (cmdline_paddr), [0x8000]; HLT. */
const uint8_t timg_code32[] = {
	0x8b, 0x03, 0xe7, 0xf4, 0x8b, 0x43, 0x18, 0xe7, 0xf4,
	0x8b, 0x05, 0x00, 0x80, 0x00, 0x00, 0xe7, 0xf4, 0xf4,
};
/* 64-bit: OUT 0xf4 of [rsi+0x228] (cmd_line_ptr), [0x8000] through the page tables; HLT. */
const uint8_t timg_code64[] = {
	0x8b, 0x86, 0x28, 0x02, 0x00, 0x00, 0xe7, 0xf4,
	0x8b, 0x04, 0x25, 0x00, 0x80, 0x00, 0x00, 0xe7, 0xf4, 0xf4,
};
/* Multiboot: OUT 0xf4 of EAX, then of EBX; HLT. */
const uint8_t timg_code_mb[] = { 0xe7, 0xf4, 0x89, 0xd8, 0xe7, 0xf4, 0xf4 };

void ctx_init(struct ctx *c, uint64_t mem_size)
{
	memset(c, 0, sizeof(*c));
	TEST_ASSERT_OK(guest_mem_alloc(&c->mem, mem_size));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

void ctx_done(struct ctx *c)
{
	guest_mem_free(&c->mem);
	nftw(timg_dir(), rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/*
 * Run the loaded image on a real vCPU with the loader's register state
 * until HLT, collecting the 32-bit OUTs to port 0xf4.
 */
unsigned int run_on_kvm(struct ctx *c, uint32_t *outs, unsigned int max,
			       struct kvm_sregs *final)
{
	struct kvm_cpuid2 *cpuid = NULL;
	struct kvm_sregs sregs;
	struct vcpu_exit ex;
	struct vcpu v;
	unsigned int n = 0, exits;
	int kvm, vm;

	test_require_kvm();
	kvm = kvm_open("/dev/kvm");
	TEST_ASSERT(kvm >= 0, "kvm_open: %d", kvm);
	vm = kvm_create_vm(kvm);
	TEST_ASSERT(vm >= 0, "kvm_create_vm: %d", vm);
	TEST_ASSERT_OK(vm_set_tss_addr(vm, 0xfffbd000));
	TEST_ASSERT_OK(guest_mem_register(&c->mem, vm, 0));
	TEST_ASSERT_OK(vcpu_open(&v, kvm, vm, 0));
	TEST_ASSERT_OK(kvm_get_supported_cpuid(kvm, &cpuid));
	TEST_ASSERT_OK(vcpu_set_cpuid2(&v, cpuid));
	free(cpuid);
	TEST_ASSERT_OK(vcpu_get_sregs(&v, &sregs));
	loader_apply_sregs(&c->res, &sregs);
	TEST_ASSERT_OK(vcpu_set_sregs(&v, &sregs));
	TEST_ASSERT_OK(vcpu_set_regs(&v, &c->res.regs));
	for (exits = 0; exits < 100; exits++) {
		TEST_ASSERT_OK(vcpu_run(&v, &ex));
		if (ex.reason == KVM_EXIT_HLT)
			break;
		TEST_ASSERT(ex.reason == KVM_EXIT_IO && !ex.io.in && ex.io.port == 0xf4 &&
			    ex.io.size == 4 && n < max,
			    "exit %s (%u), port 0x%x size %u after %u OUTs",
			    vcpu_exit_reason_name(ex.reason), ex.reason, ex.io.port, ex.io.size, n);
		memcpy(&outs[n++], ex.io.data, 4);
	}
	TEST_ASSERT_EXIT(&ex, KVM_EXIT_HLT);
	TEST_ASSERT_OK(vcpu_get_sregs(&v, final));
	vcpu_close(&v);
	close(vm);
	close(kvm);
	return n;
}

int load(struct ctx *c, const char *kernel, const char *initrd, const char *cmdline)
{
	struct loader_args a = { .kernel_path = kernel, .initrd_path = initrd, .cmdline = cmdline };
	int ret;

	c->err.msg[0] = 0;
	ret = loader_load(&c->mem, &a, &c->res, &c->err);
	printf("# load %s -> %d%s%s\n", kernel, ret, c->err.msg[0] ? ": " : "", c->err.msg);
	return ret;
}

void write_pvh(const char *path, int cls, unsigned int descsz)
{
	uint8_t note[32];
	struct timg_elf e = { .cls = cls, .entry = PVH_ENTRY, .nsegs = 1,
			      .segs = { { PVH_ENTRY, timg_code32, sizeof(timg_code32), 0x3000 } } };

	e.notelen = timg_pvh_note(note, PVH_ENTRY, descsz);
	e.note = note;
	timg_write_elf(path, &e);
}

void write_multiboot(const char *path, uint64_t low_paddr, uint64_t low_memsz)
{
	uint32_t hdr[3] = { 0x1BADB002, 0x00000002, 0 };
	static uint8_t seg[64];
	struct timg_elf e = { .cls = 32, .entry = 0x100020, .nsegs = low_memsz ? 2 : 1,
			      .segs = { { 0x100000, seg, sizeof(seg), sizeof(seg) },
					{ low_paddr, seg, sizeof(seg), low_memsz } } };

	hdr[2] = -(hdr[0] + hdr[1]);
	memset(seg, 0, sizeof(seg));
	memcpy(seg, hdr, sizeof(hdr));
	memcpy(seg + 0x20, timg_code_mb, sizeof(timg_code_mb));
	timg_write_elf(path, &e);
}

uint32_t rd32(struct ctx *c, uint64_t gpa)
{
	uint32_t v = 0;

	TEST_ASSERT_OK(guest_mem_read(&c->mem, gpa, &v, 4));
	return v;
}

uint64_t rd64(struct ctx *c, uint64_t gpa)
{
	uint64_t v = 0;

	TEST_ASSERT_OK(guest_mem_read(&c->mem, gpa, &v, 8));
	return v;
}

void check_memmap_entry(struct ctx *c, unsigned int i, uint64_t addr, uint64_t size,
			       uint32_t type)
{
	uint64_t e = c->res.boot_info_gpa ? rd64(c, 0x6000 + 0x28) + i * 24 : 0;

	TEST_ASSERT(i < rd32(c, 0x6000 + 0x30), "memmap has entry %u", i);
	TEST_ASSERT_EQ(rd64(c, e), addr);
	TEST_ASSERT_EQ(rd64(c, e + 8), size);
	TEST_ASSERT_EQ(rd32(c, e + 16), type);
}

void write_bzimage(const char *path, uint16_t version, uint32_t init_size)
{
	static uint8_t img[5 * 512 + 4096];
	uint32_t v32;
	uint64_t v64;

	memset(img, 0, sizeof(img));
	img[0x1f1] = 4;
	v32 = 4096 / 16;
	memcpy(img + 0x1f4, &v32, 4);
	img[0x1fe] = 0x55; img[0x1ff] = 0xaa;
	img[0x200] = 0xeb; img[0x201] = 0x6a;          /* header ends at 0x26c */
	memcpy(img + 0x202, "HdrS", 4);
	memcpy(img + 0x206, &version, 2);
	img[0x211] = 0x01;
	v32 = 0x7fffffff;
	memcpy(img + 0x22c, &v32, 4);                  /* initrd_addr_max */
	v32 = 0x200000;
	memcpy(img + 0x230, &v32, 4);                  /* kernel_alignment */
	img[0x234] = 1;                                /* relocatable */
	img[0x236] = 0x03;                             /* XLF_KERNEL_64 | CAN_BE_LOADED_ABOVE_4G */
	v32 = 2047;
	memcpy(img + 0x238, &v32, 4);                  /* cmdline_size */
	v64 = 0x1000000;
	memcpy(img + 0x258, &v64, 8);                  /* pref_address */
	memcpy(img + 0x260, &init_size, 4);
	memcpy(img + 5 * 512 + 0x200, timg_code64, sizeof(timg_code64));
	timg_write_file(path, img, sizeof(img));
}
