/* SPDX-License-Identifier: MIT */
/*
 * The device models of the default machine. Each lives in its own file
 * (dev_<name>.c/.h): a state struct and bus handlers that switch on the
 * register offset. They only ever run on the vCPU thread.
 */
#ifndef KVMRR_MACHINE_DEVICES_H
#define KVMRR_MACHINE_DEVICES_H

#include <stdbool.h>
#include <stdint.h>

#include "machine/bus.h"
#include "machine/dev_pic.h"
#include "machine/dev_pit.h"
#include "machine/dev_uart.h"
#include "machine/dev_rtc.h"
#include "machine/dev_entropy.h"
#include "machine/dev_mmio_test.h"

struct devices {
	struct dev_pic pic;
	struct dev_pit pit;
	struct dev_uart uart;
	struct dev_rtc rtc;
	struct dev_entropy entropy;
	struct dev_mmio_test mmio_test;
};

/*
 * Initialise every device and register it on the buses. out_fd is the
 * UART's output, in_fd its input (-1: none). exit_counter is what the MMIO
 * test device's exit-count register shows.
 */
int devices_init(struct devices *d, struct bus *pio, struct bus *mmio, int out_fd, int in_fd,
		 const uint64_t *exit_counter);
void devices_destroy(struct devices *d);

/*
 * Advance time-driven state to now_ns: PIT periods that elapsed raise IRQ0,
 * serial input that arrived raises IRQ4. Call before deciding injections.
 */
void devices_update(struct devices *d, uint64_t now_ns);
/*
 * The state of every device on both buses (bus_save), for checkpoints:
 * *blob malloc'd, *len bytes. 0 or -ENOMEM. devices_restore: 0 or -EINVAL
 * for a blob of another machine's devices.
 */
int devices_save(const struct bus *pio, const struct bus *mmio, void **blob, size_t *len);
int devices_restore(struct bus *pio, struct bus *mmio, const void *blob, size_t len);
/* The earliest time (CLOCK_MONOTONIC ns) a device will raise an interrupt; UINT64_MAX: none. */
uint64_t devices_next_deadline_ns(const struct devices *d);

#endif
