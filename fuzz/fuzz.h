/* SPDX-License-Identifier: MIT */
/*
 * Shared by the fuzz targets (fuzz/README.md): the libFuzzer entry point, the
 * fake clock and entropy the device models see, and a reader over the input.
 */
#ifndef KVMRR_FUZZ_FUZZ_H
#define KVMRR_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The devices are handed fuzz_clock_ns as their time, which only
 * fuzz_clock_advance moves. The fuzz executables also link with
 * -Wl,--wrap=clock_gettime,--wrap=getrandom, so inside machine/ (and only
 * there: shared libraries keep the real ones) the RTC's wall clock follows
 * the same fake clock and entropy is a fixed stream: every input runs the
 * same way twice.
 */
void fuzz_clock_reset(void);
void fuzz_clock_advance(uint64_t ns);
uint64_t fuzz_clock_ns(void);

/* Bytes of the input taken in order; past the end everything reads 0. */
struct fuzz_in {
	const uint8_t *p;
	size_t left;
};

static inline uint64_t fuzz_take(struct fuzz_in *in, unsigned int bytes)
{
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < bytes && in->left; i++, in->left--)
		v |= (uint64_t)*in->p++ << (8 * i);
	return v;
}

/* A broken invariant: say which, then abort so libFuzzer keeps the input. */
#define FUZZ_CHECK(cond, ...)                                                    \
	do {                                                                     \
		if (!(cond)) {                                                   \
			fprintf(stderr, "fuzz: %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                            \
			fputc('\n', stderr);                                     \
			abort();                                                 \
		}                                                                \
	} while (0)

#endif
