/* SPDX-License-Identifier: MIT */
/* The two clocks kvmrr reads: CLOCK_MONOTONIC (deadlines, devices) and the host TSC (exit timestamps). */
#ifndef KVMRR_COMMON_CLOCK_H
#define KVMRR_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in ns. */
static inline uint64_t clock_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The host TSC. */
static inline uint64_t clock_rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* TSC ticks to ns at tsc_khz (0 when the rate is unknown). */
static inline double clock_ticks_to_ns(double ticks, double tsc_khz)
{
	return tsc_khz > 0 ? ticks * 1e6 / tsc_khz : 0;
}

#endif
