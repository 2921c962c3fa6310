/* SPDX-License-Identifier: MIT */
/*
 * A port-IO or MMIO address space: ranges mapped to device handlers.
 * Accesses nobody claims read as all ones and are ignored on write, and are
 * counted so `--verbose` can report them.
 */
#ifndef KVMRR_MACHINE_BUS_H
#define KVMRR_MACHINE_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A device access: offset from the range base, size in bytes (1..8), data
 * to fill on a read, and the time (CLOCK_MONOTONIC ns) the device sees:
 * devices never read a clock themselves. Returns 0, or -errno for a VMM failure (not a guest
 * mistake: bad guest accesses are handled like hardware would).
 */
typedef int (*bus_handler_fn)(void *dev, uint64_t offset, uint32_t size, bool write,
			      uint8_t *data, uint64_t now_ns);

/*
 * What being a device takes: its access handler, and save/restore of its
 * state (checkpoints). A range without all three is refused at
 * registration, so a device that cannot be saved never runs.
 */
struct bus_device_ops {
	bus_handler_fn io;
	size_t state_size;                               /* bytes save writes and restore reads */
	void (*save)(const void *dev, void *state);
	void (*restore)(void *dev, const void *state);   /* keeps the device's fds and links */
};

#define BUS_MAX_RANGES 32

struct bus_range {
	uint64_t base;
	uint64_t len;
	const char *name;
	bus_handler_fn fn;
	const struct bus_device_ops *ops;
	void *dev;
};

struct bus {
	const char *name;              /* "pio" or "mmio", for messages */
	unsigned int nranges;
	struct bus_range ranges[BUS_MAX_RANGES];
	uint64_t unhandled_reads;
	uint64_t unhandled_writes;
	uint64_t last_unhandled_addr;
};

void bus_init(struct bus *bus, const char *name);
/* -EEXIST if it overlaps a range, -ENOSPC if full, -EINVAL if len is 0 or ops incomplete. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, const char *name,
		 const struct bus_device_ops *ops, void *dev);
/*
 * The state of every device on the bus (each once, however many ranges it
 * has): bytes written into buf (up to cap), or the size needed if buf is NULL.
 */
size_t bus_save(const struct bus *bus, void *buf, size_t cap);
/* Restore what bus_save wrote for the same bus layout. 0, or -EINVAL if len does not fit. */
int bus_restore(struct bus *bus, const void *buf, size_t len);
/* The range holding addr, or NULL. */
const struct bus_range *bus_find(const struct bus *bus, uint64_t addr);
/* Dispatch; an unclaimed read fills data with 0xff. Returns 1 if claimed, 0 if not, -errno. */
int bus_access(struct bus *bus, uint64_t addr, uint32_t size, bool write, uint8_t *data,
	       uint64_t now_ns);

#endif
