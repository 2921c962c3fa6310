/* SPDX-License-Identifier: MIT */
/*
 * i8254 programmable interval timer at 0x40-0x43 and the PC's port 0x61
 * (channel 2 gate, speaker, OUT2, refresh toggle). Counters are computed
 * from CLOCK_MONOTONIC at 1193182 Hz, so reading one is a pure function of
 * host time; channel 0's OUT drives IRQ0 through the PIC.
 */
#ifndef KVMRR_MACHINE_DEV_PIT_H
#define KVMRR_MACHINE_DEV_PIT_H

#include <stdbool.h>
#include <stdint.h>

#include "machine/bus.h"
#include "machine/dev_pic.h"

#define DEV_PIT_HZ        1193182ULL
#define DEV_PIT_PORT      0x40     /* channels 0-2 at 0x40-0x42, control at 0x43 */
#define DEV_PIT_PORT_61   0x61

struct dev_pit_channel {
	uint8_t mode;           /* 0..5 (6, 7 alias 2, 3) */
	uint8_t access;         /* 1: LSB only, 2: MSB only, 3: LSB then MSB */
	bool bcd;
	bool gate;
	bool armed;             /* a count was written since the control word */
	bool paused;            /* gate low in mode 0/4: counting stopped */
	uint64_t paused_ticks;
	uint32_t reload;        /* 1..65536 */
	uint64_t start_ns;      /* CLOCK_MONOTONIC when counting from reload began */
	bool write_msb_next;
	uint8_t write_lsb;
	bool read_msb_next;
	bool count_latched;
	bool latch_msb_next;
	uint16_t latch;
	bool status_latched;
	uint8_t status;
	bool null_count;
	uint64_t next_edge_ns;  /* next rising edge of OUT (channel 0 raises IRQ0); UINT64_MAX none */
	uint64_t edge_index;    /* periods elapsed at the last raised edge */
};

struct dev_pit {
	struct dev_pit_channel ch[3];
	uint8_t port61;         /* bits 0-3 as last written */
	struct dev_pic *pic;    /* IRQ0 goes here; may be NULL */
	uint64_t irqs;          /* IRQ0 edges raised */
	uint64_t missed;        /* periods coalesced into an already raised edge */
};

void dev_pit_init(struct dev_pit *pit, struct dev_pic *pic);
int dev_pit_register(struct dev_pit *pit, struct bus *pio);
/* Raise IRQ0 if channel 0's OUT rose since the last call (at most one edge per call). */
void dev_pit_update(struct dev_pit *pit, uint64_t now_ns);
/* When channel 0's OUT rises next (CLOCK_MONOTONIC ns), UINT64_MAX if never. */
uint64_t dev_pit_next_deadline_ns(const struct dev_pit *pit);

/* Counter value and OUT of a channel at now_ns (what a read would show). */
uint16_t dev_pit_count(const struct dev_pit *pit, unsigned int ch, uint64_t now_ns);
bool dev_pit_out(const struct dev_pit *pit, unsigned int ch, uint64_t now_ns);

int dev_pit_io(void *dev, uint64_t offset, uint32_t size, bool write, uint8_t *data,
	uint64_t now_ns);
int dev_pit_port61_io(void *dev, uint64_t offset, uint32_t size, bool write, uint8_t *data,
	uint64_t now_ns);

#endif
