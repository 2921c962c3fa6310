/* SPDX-License-Identifier: MIT */
/* The fake clock and entropy of fuzz/fuzz.h, through the linker's --wrap. */
#include "fuzz/fuzz.h"

#include <string.h>
#include <sys/types.h>
#include <time.h>

#define FUZZ_CLOCK_START_NS 1000000000000ULL   /* away from 0, like a host's uptime */
#define FUZZ_REALTIME_BASE_NS 1767225600000000000ULL   /* 2026-01-01 00:00:00 UTC */

static uint64_t clock_ns = FUZZ_CLOCK_START_NS;
static uint64_t rng_state = 1;

int __wrap_clock_gettime(clockid_t id, struct timespec *ts);
ssize_t __wrap_getrandom(void *buf, size_t len, unsigned int flags);

void fuzz_clock_reset(void)
{
	clock_ns = FUZZ_CLOCK_START_NS;
	rng_state = 1;
}

void fuzz_clock_advance(uint64_t ns)
{
	clock_ns += ns;
}

uint64_t fuzz_clock_ns(void)
{
	return clock_ns;
}

int __wrap_clock_gettime(clockid_t id, struct timespec *ts)
{
	uint64_t ns = id == CLOCK_REALTIME ? FUZZ_REALTIME_BASE_NS + clock_ns : clock_ns;

	ts->tv_sec = (time_t)(ns / 1000000000ULL);
	ts->tv_nsec = (long)(ns % 1000000000ULL);
	return 0;
}

ssize_t __wrap_getrandom(void *buf, size_t len, unsigned int flags)
{
	uint8_t *p = buf;
	size_t i;

	(void)flags;
	for (i = 0; i < len; i++) {
		rng_state ^= rng_state << 13;
		rng_state ^= rng_state >> 7;
		rng_state ^= rng_state << 17;
		p[i] = (uint8_t)rng_state;
	}
	return (ssize_t)len;
}
