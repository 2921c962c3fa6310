/* SPDX-License-Identifier: MIT */
/*
 * i8259A, after the Intel 8259A datasheet: ICW1-4, OCW1-3, fully nested
 * priority with rotation, auto-EOI, poll mode, special mask mode.
 */
#include "machine/dev_pic.h"

#include <errno.h>
#include <string.h>

static void chip_reset(struct dev_pic_chip *c)
{
	memset(c, 0, sizeof(*c));
	c->lowest_prio = 7;
}

void dev_pic_init(struct dev_pic *pic)
{
	memset(pic, 0, sizeof(*pic));
	chip_reset(&pic->chip[0]);
	chip_reset(&pic->chip[1]);
	/* Until the guest initialises them, mask everything (firmware would have). */
	pic->chip[0].imr = 0xff;
	pic->chip[1].imr = 0xff;
	pic->chip[0].vector_base = 0x08;
	pic->chip[1].vector_base = 0x70;
}

/* Priority rank of irq: 0 is the highest. */
static unsigned int prio_rank(const struct dev_pic_chip *c, unsigned int irq)
{
	return (irq - c->lowest_prio - 1) & 7;
}

/* The highest-priority IRQ set in mask, or -1. */
static int highest(const struct dev_pic_chip *c, uint8_t mask)
{
	unsigned int r;

	for (r = 0; r < 8; r++) {
		unsigned int irq = (c->lowest_prio + 1 + r) & 7;

		if (mask & (1u << irq))
			return (int)irq;
	}
	return -1;
}

/* The IRQ this chip would signal on INT, or -1. */
static int chip_pending(const struct dev_pic_chip *c, bool is_master)
{
	int req = highest(c, c->irr & ~c->imr);
	uint8_t in_service = c->isr;
	int cur;

	if (req < 0)
		return -1;
	/* Special mask mode: masked in-service levels do not block others. */
	if (c->special_mask)
		in_service &= ~c->imr;
	/* The master's in-service cascade line does not block a new slave request
	 * in special fully nested mode; we do not model SFNM, so it blocks. */
	(void)is_master;
	cur = highest(c, in_service);
	if (cur >= 0 && prio_rank(c, cur) <= prio_rank(c, req))
		return -1;
	return req;
}

/* The cascade: the master's IRQ2 input is the slave's INT output. */
static void update_cascade(struct dev_pic *pic)
{
	struct dev_pic_chip *m = &pic->chip[0];

	if (chip_pending(&pic->chip[1], false) >= 0)
		m->irr |= 1u << 2;
	else
		m->irr &= ~(1u << 2);
}

void dev_pic_set_irq(struct dev_pic *pic, unsigned int irq, int level)
{
	struct dev_pic_chip *c;
	uint8_t bit;

	if (irq >= 16)
		return;
	c = &pic->chip[irq >> 3];
	bit = (uint8_t)(1u << (irq & 7));
	if (level) {
		if (!(c->lines & bit))
			c->irr |= bit;
		c->lines |= bit;
	} else {
		c->lines &= (uint8_t)~bit;
	}
	update_cascade(pic);
}

int dev_pic_has_pending(const struct dev_pic *pic)
{
	return chip_pending(&pic->chip[0], true) >= 0;
}

/* INTA on one chip: returns the IRQ (0..7) acknowledged, or 7 when spurious. */
static unsigned int chip_ack(struct dev_pic_chip *c, bool is_master, bool *spurious)
{
	int irq = chip_pending(c, is_master);

	*spurious = irq < 0;
	if (irq < 0)
		return 7;
	c->irr &= (uint8_t)~(1u << irq);     /* edge mode: the request is consumed */
	if (c->auto_eoi) {
		if (c->rotate_auto_eoi)
			c->lowest_prio = (uint8_t)irq;
	} else {
		c->isr |= (uint8_t)(1u << irq);
	}
	return (unsigned int)irq;
}

int dev_pic_ack(struct dev_pic *pic)
{
	struct dev_pic_chip *m = &pic->chip[0], *s = &pic->chip[1];
	bool spurious;
	unsigned int irq = chip_ack(m, true, &spurious);
	int vector;

	pic->acks++;
	if (spurious) {
		pic->spurious++;
		return m->vector_base + 7;
	}
	if (irq == 2 && !m->single) {
		unsigned int sirq = chip_ack(s, false, &spurious);

		if (spurious)
			pic->spurious++;
		vector = s->vector_base + (int)sirq;
	} else {
		vector = m->vector_base + (int)irq;
	}
	update_cascade(pic);
	return vector;
}

/* OCW2: EOI and rotation commands (bits 7-5: R, SL, EOI; bits 2-0: level). */
static void write_ocw2(struct dev_pic_chip *c, uint8_t val)
{
	unsigned int level = val & 7;
	int irq;

	switch (val >> 5) {
	case 0: /* clear rotate in auto-EOI mode */
		c->rotate_auto_eoi = false;
		break;
	case 4: /* set rotate in auto-EOI mode */
		c->rotate_auto_eoi = true;
		break;
	case 1: /* non-specific EOI */
	case 5: /* rotate on non-specific EOI */
		irq = highest(c, c->isr);
		if (irq < 0)
			break;
		c->isr &= (uint8_t)~(1u << irq);
		if (val >> 5 == 5)
			c->lowest_prio = (uint8_t)irq;
		break;
	case 3: /* specific EOI */
		c->isr &= (uint8_t)~(1u << level);
		break;
	case 7: /* rotate on specific EOI */
		c->isr &= (uint8_t)~(1u << level);
		c->lowest_prio = (uint8_t)level;
		break;
	case 6: /* set priority */
		c->lowest_prio = (uint8_t)level;
		break;
	default: /* 2: no operation */
		break;
	}
}

static void write_command(struct dev_pic_chip *c, uint8_t val)
{
	if (val & 0x10) {       /* ICW1 */
		uint8_t base = c->vector_base, lines = c->lines;

		/* Clears IMR, ISR, IRR, special mask; IR7 lowest; reads IRR. An
		 * input already high must go low and high again to request. */
		chip_reset(c);
		c->vector_base = base;
		c->lines = lines;
		c->icw4_needed = val & 0x01;
		c->single = val & 0x02;
		c->init_step = 2;
	} else if (val & 0x08) { /* OCW3 */
		c->poll = val & 0x04;
		if (val & 0x02)
			c->read_isr = val & 0x01;
		if (val & 0x40)
			c->special_mask = val & 0x20;
	} else {                 /* OCW2 */
		write_ocw2(c, val);
	}
}

static void write_data(struct dev_pic_chip *c, uint8_t val)
{
	switch (c->init_step) {
	case 2:
		c->vector_base = val & 0xf8;
		c->init_step = c->single ? (c->icw4_needed ? 4 : 0) : 3;
		break;
	case 3:
		c->icw3 = val;
		c->init_step = c->icw4_needed ? 4 : 0;
		break;
	case 4:
		c->auto_eoi = val & 0x02;
		c->init_step = 0;
		break;
	default:                 /* OCW1 */
		c->imr = val;
		break;
	}
}

static uint8_t read_command(struct dev_pic *pic, unsigned int n)
{
	struct dev_pic_chip *c = &pic->chip[n];

	if (c->poll) {
		/* Poll: acknowledge the highest request like an INTA, report 0x80|irq. */
		bool spurious;
		unsigned int irq;

		c->poll = false;
		irq = chip_ack(c, n == 0, &spurious);
		update_cascade(pic);
		return spurious ? 0 : (uint8_t)(0x80 | irq);
	}
	return c->read_isr ? c->isr : c->irr;
}

static int chip_io(struct dev_pic *pic, unsigned int n, uint64_t offset, uint32_t size,
		   bool write, uint8_t *data)
{
	struct dev_pic_chip *c = &pic->chip[n];
	bool data_port = offset & 1;

	(void)size;  /* the 8259 decodes bytes; wider accesses touch the first port only */
	if (write) {
		if (data_port)
			write_data(c, data[0]);
		else
			write_command(c, data[0]);
		update_cascade(pic);
	} else {
		data[0] = data_port ? c->imr : read_command(pic, n);
		if (size > 1)
			memset(data + 1, 0xff, size - 1);
	}
	return 0;
}

int dev_pic_master_io(void *dev, uint64_t offset, uint32_t size, bool write, uint8_t *data,
	uint64_t now_ns)
{
	(void)now_ns;
	return chip_io(dev, 0, offset, size, write, data);
}

int dev_pic_slave_io(void *dev, uint64_t offset, uint32_t size, bool write, uint8_t *data,
	uint64_t now_ns)
{
	(void)now_ns;
	return chip_io(dev, 1, offset, size, write, data);
}

/* Both chips, their ISR/IRR/IMR and modes: the whole struct, it holds no links. */
static void pic_save(const void *dev, void *state)
{
	memcpy(state, dev, sizeof(struct dev_pic));
}

static void pic_restore(void *dev, const void *state)
{
	memcpy(dev, state, sizeof(struct dev_pic));
}

static const struct bus_device_ops pic_master_ops = {
	.io = dev_pic_master_io, .state_size = sizeof(struct dev_pic), .save = pic_save, .restore = pic_restore,
};
static const struct bus_device_ops pic_slave_ops = {
	.io = dev_pic_slave_io, .state_size = sizeof(struct dev_pic), .save = pic_save, .restore = pic_restore,
};

int dev_pic_register(struct dev_pic *pic, struct bus *pio)
{
	int ret = bus_register(pio, DEV_PIC_MASTER_PORT, 2, "pic-master", &pic_master_ops, pic);

	if (ret < 0)
		return ret;
	return bus_register(pio, DEV_PIC_SLAVE_PORT, 2, "pic-slave", &pic_slave_ops, pic);
}
