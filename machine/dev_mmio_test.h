/* SPDX-License-Identifier: MIT */
/*
 * The MMIO test device (kvmrr's own) at MMIO_TEST_GPA, 4 KiB. Registers are
 * 64-bit little-endian; any aligned or unaligned access of 1-8 bytes inside
 * them reads or writes the bytes it covers:
 *   0x00 scratch      RW
 *   0x08 host time    RO  CLOCK_MONOTONIC ns, free-running
 *   0x10 exit count   RO  *exit_counter (exits the VMM handled so far)
 *   0x18 id           RO  DEV_MMIO_TEST_ID
 * Other offsets read 0; writes to them are ignored.
 */
#ifndef KVMRR_MACHINE_DEV_MMIO_TEST_H
#define KVMRR_MACHINE_DEV_MMIO_TEST_H

#include <stdbool.h>
#include <stdint.h>

#include "machine/bus.h"

#define DEV_MMIO_TEST_GPA  0xd0000000ULL
#define DEV_MMIO_TEST_SIZE 0x1000ULL
#define DEV_MMIO_TEST_ID   0x5252564bULL     /* "KVRR" */

enum {
	MMIO_TEST_SCRATCH = 0x00,
	MMIO_TEST_TIME_NS = 0x08,
	MMIO_TEST_EXITS = 0x10,
	MMIO_TEST_ID = 0x18,
	MMIO_TEST_NREGS_END = 0x20,
};

struct dev_mmio_test {
	uint64_t scratch;
	const uint64_t *exit_counter;   /* may be NULL: reads 0 */
	uint64_t reads, writes;
};

void dev_mmio_test_init(struct dev_mmio_test *t, const uint64_t *exit_counter);
int dev_mmio_test_register(struct dev_mmio_test *t, struct bus *mmio);
int dev_mmio_test_io(void *dev, uint64_t offset, uint32_t size, bool write, uint8_t *data,
	uint64_t now_ns);

#endif
