/* SPDX-License-Identifier: MIT */
/* SHA-256 (FIPS 180-4) for guests. */
#ifndef KVMRR_GUESTS_RT_SHA256_H
#define KVMRR_GUESTS_RT_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct rt_sha256 {
	uint32_t h[8];
	uint64_t bytes;
	uint8_t block[64];
	size_t fill;
};

void rt_sha256_init(struct rt_sha256 *c);
void rt_sha256_update(struct rt_sha256 *c, const void *data, size_t len);
void rt_sha256_final(struct rt_sha256 *c, uint8_t out[32]);
/* out: 65 bytes, lower-case hex and a NUL. */
void rt_sha256_hex(const uint8_t digest[32], char out[65]);

#endif
