/* SPDX-License-Identifier: MIT */
/*
 * A machine's buses with the default devices on them, driven as the run
 * loop does for a guest's IN/OUT and MMIO exits. For the device tests.
 */
#ifndef KVMRR_TESTS_MACHINE_RIG_H
#define KVMRR_TESTS_MACHINE_RIG_H

#include <stdint.h>

#include "machine/devices.h"

struct rig {
	struct bus pio, mmio;
	struct devices d;
	uint64_t exits;
};

uint64_t now_ns(void);
uint64_t realtime_ns(void);
void sleep_ns(uint64_t ns);
void rig_init(struct rig *r, int out_fd, int in_fd);
void outb(struct rig *r, uint16_t port, uint8_t v);
uint8_t inb(struct rig *r, uint16_t port);
/* The PC BIOS / Linux programming: vectors 0x20 and 0x28, cascade on IRQ2. */
void pic_setup(struct rig *r, uint8_t icw4);

#endif
