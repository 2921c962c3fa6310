/* SPDX-License-Identifier: MIT */
/*
 * The RDTSC decoder (machine/tsc_scan.h) on the bundled guests: exactly the
 * sites objdump finds, never bytes 0f 31 inside another instruction, and
 * clear errors for files it cannot scan.
 */
#include <errno.h>

#include "tests/machine/tsc_compare.h"

TEST(rdtsc_guest_sites_equal_objdump)
{
	char path[512], *out = NULL;
	struct tsc_sites sites;

	test_build_path("guests/rdtsc.elf", path, sizeof(path));
	TEST_ASSERT(tsc_compare_with_objdump(path, &sites) == 3, "%zu sites in rdtsc.elf, wanted 3 "
		    "(two in the guest's loop, one in the runtime's #GP path)", sites.n);
	tsc_sites_free(&sites);
	/* The guest holds 0f 31 inside an immediate (mov $0x310f): objdump sees it, it is no site. */
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "objdump -d %s | grep -c '0f 31 00 00.*mov *\\$0x310f'", path);
	TEST_ASSERT(test_run_capture(cmd, &out) == 0 && atoi(out) == 1, "no mov $0x310f in rdtsc.elf: %s", out);
	free(out);
}

TEST(guests_without_rdtsc_have_no_sites)
{
	char path[512];
	struct tsc_sites sites;

	test_build_path("guests/hello.elf", path, sizeof(path));
	TEST_ASSERT(tsc_compare_with_objdump(path, &sites) == 1, "hello.elf: %zu sites, wanted 1 (the "
		    "runtime's #GP path)", sites.n);
	tsc_sites_free(&sites);
}

TEST(not_an_elf_or_no_sections)
{
	uint8_t junk[256] = "not an elf";
	struct tsc_sites sites;
	struct err err = { 0 };

	TEST_ASSERT(tsc_scan_elf(junk, sizeof(junk), &sites, &err) == -ENOEXEC, "junk scanned");
	TEST_ASSERT(strstr(err.msg, "not an ELF"), "message: %s", err.msg);
	memcpy(junk, "\177ELF\2\1\1", 7);   /* ELF64 header with no section headers */
	TEST_ASSERT(tsc_scan_elf(junk, sizeof(junk), &sites, &err) == -ENOEXEC, "headerless");
	TEST_ASSERT(strstr(err.msg, "section headers"), "message: %s", err.msg);
}

TEST_MAIN()
