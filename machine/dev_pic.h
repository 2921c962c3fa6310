/* SPDX-License-Identifier: MIT */
/*
 * i8259A programmable interrupt controller pair, as on the PC: master at
 * 0x20/0x21, slave at 0xa0/0xa1 cascaded on the master's IRQ2. Inputs are
 * edge-triggered (IRR latches a 0->1 transition); the cascade input follows
 * the slave's INT output as a level.
 */
#ifndef KVMRR_MACHINE_DEV_PIC_H
#define KVMRR_MACHINE_DEV_PIC_H

#include <stdbool.h>
#include <stdint.h>

#include "machine/bus.h"

#define DEV_PIC_MASTER_PORT 0x20
#define DEV_PIC_SLAVE_PORT  0xa0

struct dev_pic_chip {
	uint8_t irr;            /* interrupt request register */
	uint8_t isr;            /* in-service register */
	uint8_t imr;            /* interrupt mask register (OCW1) */
	uint8_t lines;          /* input levels, for edge detection */
	uint8_t vector_base;    /* ICW2 & 0xf8 */
	uint8_t lowest_prio;    /* IRQ with the lowest priority (rotation), 7 after init */
	uint8_t init_step;      /* 0: operational; 2,3,4: next ICW expected */
	bool icw4_needed;
	bool single;            /* ICW1 SNGL: no cascade, no ICW3 */
	bool auto_eoi;          /* ICW4 AEOI */
	bool rotate_auto_eoi;   /* OCW2 R=1 SL=0 EOI=0 */
	bool special_mask;      /* OCW3 SMM */
	bool read_isr;          /* OCW3 RR/RIS: command port reads ISR (else IRR) */
	bool poll;              /* OCW3 P: next command-port read is a poll */
	uint8_t icw3;
};

struct dev_pic {
	struct dev_pic_chip chip[2];   /* 0: master, 1: slave */
	uint64_t acks;                 /* INTA cycles */
	uint64_t spurious;             /* INTA cycles that found nothing (IRQ7/15) */
};

void dev_pic_init(struct dev_pic *pic);
/* Register both chips on the port bus. */
int dev_pic_register(struct dev_pic *pic, struct bus *pio);
/* Drive input irq (0..15) to level; a 0->1 edge sets its IRR bit. */
void dev_pic_set_irq(struct dev_pic *pic, unsigned int irq, int level);
/* 1 if the master's INT output is up: an unmasked request that priority allows. */
int dev_pic_has_pending(const struct dev_pic *pic);
/*
 * The INTA cycle: returns the vector the PIC puts on the bus and updates
 * IRR/ISR. With nothing to deliver it returns the spurious vector of IRQ7
 * (or IRQ15 through the cascade), without setting the ISR bit, as hardware.
 */
int dev_pic_ack(struct dev_pic *pic);

/* Bus handlers (dev is the struct dev_pic): offset 0 command, 1 data. */
int dev_pic_master_io(void *dev, uint64_t offset, uint32_t size, bool write, uint8_t *data,
	uint64_t now_ns);
int dev_pic_slave_io(void *dev, uint64_t offset, uint32_t size, bool write, uint8_t *data,
	uint64_t now_ns);

#endif
