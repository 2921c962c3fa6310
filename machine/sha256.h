/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 (FIPS 180-4). Freestanding-friendly: uses only memcpy and memset,
 * no allocation, so guests and the recorder can share it.
 */
#ifndef KVMRR_MACHINE_SHA256_H
#define KVMRR_MACHINE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_SIZE 32
#define SHA256_BLOCK_SIZE 64

struct sha256 {
	uint32_t h[8];
	uint64_t total;                 /* bytes hashed so far */
	uint8_t buf[SHA256_BLOCK_SIZE];
	size_t buflen;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, uint8_t digest[SHA256_DIGEST_SIZE]);
/* One-shot. */
void sha256(const void *data, size_t len, uint8_t digest[SHA256_DIGEST_SIZE]);
/* digest as 64 lowercase hex digits plus NUL into out (65 bytes). */
void sha256_hex(const uint8_t digest[SHA256_DIGEST_SIZE], char out[2 * SHA256_DIGEST_SIZE + 1]);

#endif
