/* SPDX-License-Identifier: MIT */
/* The 64-bit hash of pages, points and seals (stream/hash.h). */
#include "stream/hash.h"

#include <string.h>

#define H_P1 0x9e3779b185ebca87ULL
#define H_P2 0xc2b2ae3d27d4eb4fULL
#define H_P3 0x165667b19e3779f9ULL

static inline uint64_t rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t lane(uint64_t acc, uint64_t w)
{
	return rotl64(acc + w * H_P2, 31) * H_P1;
}

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
	return w;
}

uint64_t stream_hash64(const void *data, size_t len, uint64_t seed)
{
	const uint8_t *p = data;
	uint64_t a = seed + H_P1 + H_P2, b = seed + H_P2, c = seed, d = seed - H_P1, h;
	size_t i = 0;

	/* Four independent lanes keep the multipliers busy: ~8 bytes per cycle. */
	for (; i + 32 <= len; i += 32) {
		a = lane(a, load64(p + i));
		b = lane(b, load64(p + i + 8));
		c = lane(c, load64(p + i + 16));
		d = lane(d, load64(p + i + 24));
	}
	h = rotl64(a, 1) + rotl64(b, 7) + rotl64(c, 12) + rotl64(d, 18) + (uint64_t)len;
	for (; i + 8 <= len; i += 8)
		h = rotl64(h ^ lane(0, load64(p + i)), 27) * H_P1 + H_P3;
	for (; i < len; i++)
		h = rotl64(h ^ (p[i] * H_P3), 11) * H_P1;
	h ^= h >> 33;
	h *= H_P2;
	h ^= h >> 29;
	h *= H_P3;
	return h ^ (h >> 32);
}
