/* SPDX-License-Identifier: MIT */
/*
 * Loader entry point and what the formats share: mapping the image file,
 * range checks against guest RAM, the command line, the initrd, the memory
 * map, the GDT and flat 32-bit state. ELF parsing is in loader_elf.c.
 */
#include "machine/loader_internal.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const loader_kind_names[] = {
	[LOADER_NONE] = "none",
	[LOADER_PVH] = "pvh",
	[LOADER_MULTIBOOT] = "multiboot",
	[LOADER_BZIMAGE] = "bzimage",
};
_Static_assert(sizeof(loader_kind_names) / sizeof(loader_kind_names[0]) == LOADER_KIND_COUNT,
	       "a name per loader kind");

const char *loader_kind_name(enum loader_kind kind)
{
	return kind < LOADER_KIND_COUNT ? loader_kind_names[kind] : "unknown";
}

/* Map the whole file read-only: images may carry debug info bigger than RAM. */
static int file_map(struct loader_file *f, const char *path, const char *what,
		    struct err *err)
{
	struct stat st;
	int fd, ret = 0;

	f->path = path;
	f->data = NULL;
	f->len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		err_printf(err, "%s: cannot open %s: %s", what, path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		err_printf(err, "%s: cannot stat %s: %s", what, path, strerror(-ret));
	} else if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		err_printf(err, "%s: %s is not a regular file", what, path);
	} else if (st.st_size == 0) {
		ret = -ENOEXEC;
		err_printf(err, "%s: %s is empty", what, path);
	} else {
		void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);

		if (p == MAP_FAILED) {
			ret = -errno;
			err_printf(err, "%s: cannot map %s (%lld bytes): %s", what, path,
				   (long long)st.st_size, strerror(-ret));
		} else {
			f->data = p;
			f->len = (size_t)st.st_size;
		}
	}
	close(fd);
	return ret;
}

static void file_unmap(struct loader_file *f)
{
	if (f->data)
		munmap((void *)(uintptr_t)f->data, f->len);
	f->data = NULL;
}

uint64_t loader_low_ram_end(const struct guest_mem *mem)
{
	return mem->nregions ? mem->regions[0].gpa + mem->regions[0].size : 0;
}

int loader_check_range(const struct guest_mem *mem, uint64_t gpa, uint64_t size,
		       const char *what, struct err *err)
{
	if (size == 0)
		return 0;
	if (size > mem->ram_size) {
		return err_set(err, -EFBIG, "%s [0x%" PRIx64 "-0x%" PRIx64 ") is %" PRIu64
			   " bytes, larger than guest RAM (%" PRIu64 " bytes)",
			   what, gpa, gpa + size, size, mem->ram_size);
	}
	if (gpa + size < gpa || !guest_mem_ptr(mem, gpa, size)) {
		return err_set(err, -ERANGE, "%s [0x%" PRIx64 "-0x%" PRIx64 ") is outside guest RAM "
			   "([0x0-0x%" PRIx64 ")%s)", what, gpa, gpa + size, loader_low_ram_end(mem),
			   mem->nregions > 1 ? " and above 4 GiB" : "");
	}
	if (gpa < LOADER_BOOT_AREA_END && gpa + size > LOADER_GDT_GPA) {
		return err_set(err, -EINVAL, "%s [0x%" PRIx64 "-0x%" PRIx64 ") overlaps the boot "
			   "structures at [0x%llx-0x%llx)", what, gpa, gpa + size,
			   LOADER_GDT_GPA, LOADER_BOOT_AREA_END);
	}
	return 0;
}

int loader_write_cmdline(struct guest_mem *mem, const char *cmdline, struct loader_result *out,
			 struct err *err)
{
	size_t len = strlen(cmdline ? cmdline : "");

	if (len + 1 > LOADER_CMDLINE_MAX) {
		return err_set(err, -EINVAL, "cmdline: %zu bytes, at most %llu fit at 0x%llx", len,
			   LOADER_CMDLINE_MAX - 1, LOADER_CMDLINE_GPA);
	}
	guest_mem_write(mem, LOADER_CMDLINE_GPA, cmdline ? cmdline : "", len);
	guest_mem_write(mem, LOADER_CMDLINE_GPA + len, "", 1);
	out->cmdline_gpa = LOADER_CMDLINE_GPA;
	return 0;
}

static int read_full(int fd, uint8_t *dst, uint64_t len)
{
	uint64_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, dst + done, len - done > (1u << 30) ? (1u << 30) : len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;            /* the file shrank under us */
		done += (uint64_t)n;
	}
	return 0;
}

int loader_load_initrd(struct guest_mem *mem, const char *path, uint64_t low, uint64_t high,
		       struct loader_result *out, struct err *err)
{
	uint64_t size, top, gpa;
	struct stat st;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		err_printf(err, "initrd: cannot open %s: %s", path, strerror(-ret));
		goto out;
	}
	size = (uint64_t)st.st_size;
	low = (low + GUEST_PAGE_SIZE - 1) & ~(GUEST_PAGE_SIZE - 1);
	top = loader_low_ram_end(mem) < high ? loader_low_ram_end(mem) : high;
	top &= ~(GUEST_PAGE_SIZE - 1);
	if (!S_ISREG(st.st_mode) || size == 0) {
		ret = -EINVAL;
		err_printf(err, "initrd: %s is %s", path,
			   S_ISREG(st.st_mode) ? "empty" : "not a regular file");
		goto out;
	}
	if (top <= low || size > top - low) {
		ret = -EFBIG;
		err_printf(err, "initrd: %s is %" PRIu64 " bytes but only %" PRIu64
			   " bytes of RAM are free for it in [0x%" PRIx64 "-0x%" PRIx64
			   ") (guest RAM %" PRIu64 " MiB)", path, size, top > low ? top - low : 0,
			   low, top, mem->ram_size >> 20);
		goto out;
	}
	gpa = (top - size) & ~(GUEST_PAGE_SIZE - 1);
	ret = read_full(fd, guest_mem_ptr(mem, gpa, size), size);
	if (ret < 0) {
		err_printf(err, "initrd: reading %s (%" PRIu64 " bytes): %s", path, size,
			   strerror(-ret));
		goto out;
	}
	out->initrd_gpa = gpa;
	out->initrd_size = size;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

void loader_write_gdt(struct guest_mem *mem)
{
	/* Flat descriptors: base 0, limit 4 GiB with G; a 32-bit TSS at base 0. */
	static const uint64_t gdt[] = {
		0,
		0x00cf9b000000ffffULL,      /* 0x08: code, 32-bit */
		0x00af9b000000ffffULL,      /* 0x10: code, 64-bit (L) */
		0x00cf93000000ffffULL,      /* 0x18: data */
		0x0000890000000067ULL,      /* 0x20: TSS, available */
	};

	guest_mem_write(mem, LOADER_GDT_GPA, gdt, sizeof(gdt));
}

void loader_set_flat32(struct loader_result *out, uint64_t entry)
{
	const struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = LOADER_SEL_CODE32, .type = 0xb,
		.present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};
	struct kvm_segment data = code;

	data.selector = LOADER_SEL_DATA;
	data.type = 0x3;
	out->cs = code;
	out->ds = out->es = out->fs = out->gs = out->ss = data;
	out->tr = (struct kvm_segment){ .selector = LOADER_SEL_TSS, .limit = 0x67, .type = 0xb,
					.present = 1 };
	out->ldt = (struct kvm_segment){ .limit = 0xffff, .type = 0x2, .present = 1 };
	out->gdt = (struct kvm_dtable){ .base = LOADER_GDT_GPA, .limit = 5 * 8 - 1 };
	out->idt = (struct kvm_dtable){ 0 };
	out->cr0 = 0x11;                    /* PE | ET: protected mode, paging off */
	out->cr3 = out->cr4 = out->efer = 0;
	memset(&out->regs, 0, sizeof(out->regs));
	out->regs.rflags = 0x2;             /* IF and VM clear */
	out->regs.rip = entry;
	out->entry = entry;
}

void loader_apply_sregs(const struct loader_result *r, struct kvm_sregs *sregs)
{
	sregs->cs = r->cs;
	sregs->ds = r->ds;
	sregs->es = r->es;
	sregs->fs = r->fs;
	sregs->gs = r->gs;
	sregs->ss = r->ss;
	sregs->tr = r->tr;
	sregs->ldt = r->ldt;
	sregs->gdt = r->gdt;
	sregs->idt = r->idt;
	sregs->cr0 = r->cr0;
	sregs->cr3 = r->cr3;
	sregs->cr4 = r->cr4;
	sregs->efer = r->efer;
}

static int load_elf_kind(struct guest_mem *mem, const struct loader_args *args,
			 const struct loader_file *f, struct loader_result *out,
			 struct err *err)
{
	struct loader_elf elf;
	int ret = loader_elf_parse(f, &elf, err);

	if (ret < 0)
		return ret;
	ret = loader_pvh_load(mem, args, f, &elf, out, err);
	if (ret == LOADER_NOT_MINE)
		ret = loader_multiboot_load(mem, args, f, &elf, out, err);
	if (ret == 0 && args->tsc_sites)
		ret = loader_tsc_patch(mem, f, &elf, args->tsc_sites, err);
	if (ret != LOADER_NOT_MINE)
		return ret;
	return err_set(err, -ENOEXEC, "kernel %s: ELF%d image without a PVH entry note (\"Xen\" note "
		   "type 18, XEN_ELFNOTE_PHYS32_ENTRY) and without a multiboot header in its "
		   "first 8 KiB: no way to enter it", f->path, elf.cls);
}

/* Detect the kind of the image in f and load it. */
static int load_image(struct guest_mem *mem, const struct loader_args *args,
		      const struct loader_file *f, struct loader_result *out, struct err *err)
{
	int ret;

	if (loader_is_elf(f))
		return load_elf_kind(mem, args, f, out, err);
	ret = loader_bzimage_load(mem, args, f, out, err);
	if (ret == LOADER_NOT_MINE)
		ret = loader_multiboot_load(mem, args, f, NULL, out, err);
	if (ret == LOADER_NOT_MINE)
		ret = err_set(err, -ENOEXEC, "kernel %s: not an ELF (magic 7f 45 4c 46) nor a bzImage "
			      "(\"HdrS\" at 0x202) nor a multiboot image with load addresses; "
			      "it starts with %02x %02x %02x %02x", f->path, f->data[0],
			      f->len > 1 ? f->data[1] : 0, f->len > 2 ? f->data[2] : 0,
			      f->len > 3 ? f->data[3] : 0);
	return ret;
}

int loader_load(struct guest_mem *mem, const struct loader_args *args,
		struct loader_result *out, struct err *err)
{
	struct loader_file f;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!args->kernel_path) {
		return err_set(err, -EINVAL, "kernel: no image given");
	}
	ret = file_map(&f, args->kernel_path, "kernel", err);
	if (ret < 0)
		return ret;
	ret = load_image(mem, args, &f, out, err);
	if (ret == 0)
		out->kind_name = loader_kind_name(out->kind);
	file_unmap(&f);
	return ret;
}

int loader_load_buffer(struct guest_mem *mem, const struct loader_args *args, const void *data,
		       size_t len, struct loader_result *out, struct err *err)
{
	struct loader_file f = { .path = args->kernel_path ? args->kernel_path : "(buffer)",
				 .data = data, .len = len };
	int ret;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return err_set(err, -ENOEXEC, "kernel: %s is empty", f.path);
	ret = load_image(mem, args, &f, out, err);
	if (ret == 0)
		out->kind_name = loader_kind_name(out->kind);
	return ret;
}
