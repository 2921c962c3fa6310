/* SPDX-License-Identifier: MIT */
/*
 * The decoder's RDTSC/RDTSCP sites (machine/tsc_scan.h) against objdump's
 * disassembly of the same file: the same addresses, kinds and lengths.
 * Shared by tests/machine (bundled guests) and tests/linux (Debian's vmlinux).
 */
#ifndef KVMRR_TESTS_MACHINE_TSC_COMPARE_H
#define KVMRR_TESTS_MACHINE_TSC_COMPARE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "common/err.h"
#include "machine/tsc_scan.h"
#include "tests/test.h"

/* Scan path with the decoder and compare with objdump -d; returns the number of direct sites. */
static size_t tsc_compare_with_objdump(const char *path, struct tsc_sites *sites)
{
	char cmd[1024], *out = NULL, *line, *save = NULL;
	size_t direct = 0, i = 0, objdump_n = 0;
	struct stat st;
	struct err err = { 0 };
	int fd = open(path, O_RDONLY), status;
	uint8_t *data;

	TEST_ASSERT(fd >= 0 && fstat(fd, &st) == 0, "open %s", path);
	data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	TEST_ASSERT(data != MAP_FAILED, "mmap %s", path);
	TEST_ASSERT(tsc_scan_elf(data, (size_t)st.st_size, sites, &err) == 0, "scan %s: %s",
		    path, err.msg);
	munmap(data, (size_t)st.st_size);
	close(fd);
	/* "addr:<TAB>bytes<TAB>rdtsc": address and mnemonic of each rdtsc/rdtscp objdump decodes. */
	snprintf(cmd, sizeof(cmd), "objdump -d --wide %s | awk -F'\\t' '$3 ~ /^rdtscp? *$/ { sub(\":\", \"\", $1); "
		 "gsub(\" \", \"\", $1); n = split($2, b, \" \"); print $1, $3, n }'", path);
	status = test_run_capture(cmd, &out);
	TEST_ASSERT(status == 0, "objdump on %s: status %d", path, status);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long addr;
		char mnem[16];
		unsigned int len;

		TEST_ASSERT(sscanf(line, "%llx %15s %u", &addr, mnem, &len) == 3, "objdump line '%s'", line);
		while (i < sites->n && sites->v[i].file_off == TSC_SITE_NO_FILE)
			i++;   /* an alternatives copy target: objdump sees other bytes there */
		TEST_ASSERT(i < sites->n, "objdump finds %s at 0x%llx, the decoder has no more sites", mnem, addr);
		TEST_ASSERT(sites->v[i].addr == addr && sites->v[i].len == len &&
			    sites->v[i].kind == (strcmp(mnem, "rdtscp") == 0 ? TSC_SITE_RDTSCP : TSC_SITE_RDTSC),
			    "site %zu: objdump %s at 0x%llx (%u bytes), decoder kind %u at 0x%llx (%u bytes)",
			    i, mnem, addr, len, sites->v[i].kind, (unsigned long long)sites->v[i].addr,
			    sites->v[i].len);
		i++, objdump_n++;
	}
	free(out);
	for (; i < sites->n; i++)
		TEST_ASSERT(sites->v[i].file_off == TSC_SITE_NO_FILE, "the decoder has a site at 0x%llx that "
			    "objdump does not show", (unsigned long long)sites->v[i].addr);
	for (i = 0; i < sites->n; i++)
		direct += sites->v[i].file_off != TSC_SITE_NO_FILE;
	TEST_ASSERT(direct == objdump_n, "decoder %zu sites, objdump %zu", direct, objdump_n);
	return direct;
}

#endif
