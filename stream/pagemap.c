/* SPDX-License-Identifier: MIT */
#include "stream/pagemap.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define PM_PRESENT (1ULL << 63)
#define PM_SWAPPED (1ULL << 62)
#define CHUNK 2048   /* pagemap entries per read (16 KiB on the stack) */

int stream_pages_populated(const void *host, uint64_t npages, uint64_t *populated)
{
	uint64_t entries[CHUNK];
	uint64_t first = (uint64_t)(uintptr_t)host / 4096;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	int r = 0;

	memset(populated, 0, (npages + 63) / 64 * 8);
	for (uint64_t i = 0; fd >= 0 && i < npages && !r; i += CHUNK) {
		uint64_t n = npages - i < CHUNK ? npages - i : CHUNK;
		ssize_t got = pread(fd, entries, n * 8, (off_t)((first + i) * 8));

		if (got != (ssize_t)(n * 8)) {
			r = got < 0 ? -errno : -EIO;
			break;
		}
		for (uint64_t j = 0; j < n; j++)
			if (entries[j] & (PM_PRESENT | PM_SWAPPED))
				populated[(i + j) / 64] |= 1ULL << ((i + j) % 64);
	}
	if (fd < 0)
		r = -errno;
	else
		close(fd);
	if (r < 0)   /* unknown: treat every page as holding data */
		memset(populated, 0xff, (npages + 63) / 64 * 8);
	return r;
}
