/* SPDX-License-Identifier: MIT */
/*
 * PIC and PIT helpers. They run at CPL3 (the TSS IO bitmap makes the ports reachable),
 * so only the interrupt handlers themselves pay for CPL0 emulation. The PIC
 * is programmed on first use so guests that take no interrupts make no
 * PIC accesses at all.
 */
#include "rt/rt.h"
#include "rt/internal.h"

static bool pic_ready;
static uint16_t pic_mask = 0xffff;   /* shadow of both IMRs: no read-back needed */

static void pic_write_mask(unsigned irq)
{
	if (irq < 8)
		rt_outb(ABI_PIC1_DATA, (uint8_t)pic_mask);
	else
		rt_outb(ABI_PIC2_DATA, (uint8_t)(pic_mask >> 8));
}

/* ICW1-ICW4 on both chips: edge triggered, cascade on IRQ2, vectors 0x20/0x28. */
static void pic_init(void)
{
	rt_outb(ABI_PIC1_CMD, 0x11);
	rt_outb(ABI_PIC2_CMD, 0x11);
	rt_outb(ABI_PIC1_DATA, ABI_IRQ_VECTOR_BASE);
	rt_outb(ABI_PIC2_DATA, ABI_IRQ_VECTOR_BASE + 8);
	rt_outb(ABI_PIC1_DATA, 0x04);
	rt_outb(ABI_PIC2_DATA, 0x02);
	rt_outb(ABI_PIC1_DATA, 0x01);
	rt_outb(ABI_PIC2_DATA, 0x01);
	pic_mask = 0xffff & ~(1u << 2);
	rt_outb(ABI_PIC1_DATA, (uint8_t)pic_mask);
	rt_outb(ABI_PIC2_DATA, (uint8_t)(pic_mask >> 8));
	pic_ready = true;
}

void rt_pic_mask(unsigned irq)
{
	pic_mask |= (uint16_t)(1u << irq);
	pic_write_mask(irq);
}

void rt_pic_unmask(unsigned irq)
{
	pic_mask &= (uint16_t)~(1u << irq);
	pic_write_mask(irq);
}

void rt_irq_register(unsigned irq, rt_irq_fn fn)
{
	if (irq >= 16)
		rt_fail("rt_irq_register: irq %u out of range 0-15", irq);
	if (!pic_ready)
		pic_init();
	rt_irq_handlers[irq] = fn;
	rt_pic_unmask(irq);
}

uint32_t rt_pit_start(uint32_t hz)
{
	uint32_t div = hz ? (ABI_PIT_HZ + hz / 2) / hz : 0x10000;

	if (div < 1)
		div = 1;
	if (div > 0x10000)
		div = 0x10000;
	/* Channel 0, lobyte/hibyte, mode 2 (rate generator), binary; 0 means 65536. */
	rt_outb(ABI_PIT_CMD, 0x34);
	rt_outb(ABI_PIT_CH0, (uint8_t)div);
	rt_outb(ABI_PIT_CH0, (uint8_t)(div >> 8));
	return div;
}

void rt_pit_stop(void)
{
	/* A control word stops the channel until a new count is written. */
	rt_outb(ABI_PIT_CMD, 0x30);
	rt_pic_mask(ABI_PIT_IRQ);
}

uint16_t rt_pit_read(void)
{
	uint8_t lo, hi;

	rt_outb(ABI_PIT_CMD, 0x00);   /* latch channel 0 */
	lo = rt_inb(ABI_PIT_CH0);
	hi = rt_inb(ABI_PIT_CH0);
	return (uint16_t)(lo | hi << 8);
}
