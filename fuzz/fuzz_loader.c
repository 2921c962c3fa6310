/* SPDX-License-Identifier: MIT */
/*
 * The image loaders on bytes in memory (loader_load_buffer): the input is a
 * kernel image, detected and loaded into 32 MiB of guest RAM as `kvmrr run`
 * would. One target per format (fuzz_loader_elf, _pvh_notes, _multiboot,
 * _bzimage): the same code, a seed corpus of that format each. With
 * FUZZ_ELF_NOTES the ELF note walk is also driven directly for names and
 * types beyond the PVH entry note.
 * Checked: an error is one of the documented codes with a message; a loaded
 * image lies in RAM, its entry and boot structures too.
 */
#include "fuzz/fuzz.h"

#include <errno.h>
#include <string.h>

#include "machine/loader_internal.h"

#define FUZZ_RAM (32ULL << 20)

static struct guest_mem mem;

static void check_loaded(const struct loader_result *r)
{
	unsigned int i;

	FUZZ_CHECK(r->kind > LOADER_NONE && r->kind < LOADER_KIND_COUNT, "kind %d", r->kind);
	FUZZ_CHECK(r->kind_name && strcmp(r->kind_name, loader_kind_name(r->kind)) == 0, "kind name");
	FUZZ_CHECK(guest_mem_ptr(&mem, r->entry, 1) != NULL, "entry 0x%llx outside RAM",
		   (unsigned long long)r->entry);
	FUZZ_CHECK(r->image_start <= r->image_end, "image [0x%llx-0x%llx)",
		   (unsigned long long)r->image_start, (unsigned long long)r->image_end);
	FUZZ_CHECK(r->nmemmap <= LOADER_MEMMAP_MAX, "%u memmap entries", r->nmemmap);
	for (i = 0; i < r->nmemmap; i++)
		FUZZ_CHECK(r->memmap[i].size > 0, "empty memmap entry %u", i);
	FUZZ_CHECK(guest_mem_ptr(&mem, r->boot_info_gpa, 4096) != NULL, "boot info outside RAM");
}

#ifdef FUZZ_ELF_NOTES
/* Walk the notes for a few (name, type) pairs; a found descriptor lies in the file. */
static void walk_notes(const uint8_t *data, size_t size)
{
	static const struct { const char *name; uint32_t type; } wanted[] = {
		{ "Xen", 18 }, { "Xen", 1 }, { "GNU", 3 }, { "", 0 },
	};
	struct loader_file f = { .path = "(fuzz)", .data = data, .len = size };
	struct loader_elf elf;
	const uint8_t *desc;
	uint32_t descsz;
	struct err err = { 0 };
	unsigned int i;

	if (!loader_is_elf(&f) || loader_elf_parse(&f, &elf, &err) < 0)
		return;
	for (i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++)
		if (loader_elf_find_note(&f, &elf, wanted[i].name, wanted[i].type, &desc, &descsz) == 0)
			FUZZ_CHECK(desc >= data && desc + descsz <= data + size,
				   "note descriptor outside the file");
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct loader_args args = { .kernel_path = "(fuzz)", .cmdline = "console=ttyS0" };
	struct loader_result res;
	struct err err = { 0 };
	int ret;

	if (!mem.nregions)
		FUZZ_CHECK(guest_mem_alloc(&mem, FUZZ_RAM) == 0, "guest_mem_alloc");
#ifdef FUZZ_ELF_NOTES
	walk_notes(data, size);
#endif
	ret = loader_load_buffer(&mem, &args, data, size, &res, &err);
	if (ret == 0) {
		check_loaded(&res);
		return 0;
	}
	FUZZ_CHECK(ret == -ENOEXEC || ret == -ERANGE || ret == -EFBIG || ret == -EINVAL,
		   "loader_load_buffer returned %d (%s): %s", ret, strerror(-ret), err.msg);
	FUZZ_CHECK(err.msg[0] != 0 && err.code == ret, "error %d without a message (code %d)", ret,
		   err.code);
	return 0;
}
