/* SPDX-License-Identifier: MIT */
#ifndef KVMRR_STREAM_HASH_H
#define KVMRR_STREAM_HASH_H

#include <stddef.h>
#include <stdint.h>

/*
 * 64-bit hash of len bytes (a 4-lane multiply-rotate hash, ~8 bytes per
 * cycle), chained on seed: pages, asynchronous points, checkpoints, seals.
 * It finds damage and divergences; it is no cryptographic hash.
 */
uint64_t stream_hash64(const void *data, size_t len, uint64_t seed);

#endif
