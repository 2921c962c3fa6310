/* SPDX-License-Identifier: MIT */
/*
 * The entropy port (kvmrr's own): an IN of 1, 2 or 4 bytes at any of the 4
 * ports from PORT_ENTROPY returns fresh getrandom() bytes; writes are ignored.
 * Guests use it instead of RDRAND, which the CPUID profile hides, so their
 * randomness enters through an exit and is recorded.
 */
#ifndef KVMRR_MACHINE_DEV_ENTROPY_H
#define KVMRR_MACHINE_DEV_ENTROPY_H

#include <stdbool.h>
#include <stdint.h>

#include "machine/bus.h"

#define DEV_ENTROPY_PORT 0x5e0
#define DEV_ENTROPY_LEN  4

struct dev_entropy {
	uint64_t reads;
	uint64_t bytes;
};

void dev_entropy_init(struct dev_entropy *e);
int dev_entropy_register(struct dev_entropy *e, struct bus *pio);
/* Returns -errno if getrandom() fails: a host failure, not the guest's. */
int dev_entropy_io(void *dev, uint64_t offset, uint32_t size, bool write, uint8_t *data,
	uint64_t now_ns);

#endif
