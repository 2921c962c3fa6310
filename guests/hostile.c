/* SPDX-License-Identifier: MIT */
/*
 * hostile: attacks the VMM on purpose. The VMM must survive every step, and
 * a recording of it must replay identically.
 *   1. every port 0..ports-1 (default all 65536), IN and OUT of 1, 2 and 4
 *      bytes (no OUT to the debug-exit port 0xf4, which would end the run);
 *   2. REP INSB/INSW/INSL of rep_in= bytes (default 16 MiB) each and REP
 *      OUTSB/OUTSL of rep_out= bytes (default 64 KiB: KVM exits once per
 *      element of an OUTS, once per KiB of an INS) on an unclaimed port, the
 *      UART, the entropy port and port 0x80, from and into free RAM;
 *   3. MMIO reads and writes of 1, 2, 4 and 8 bytes from the end of RAM to
 *      4 GiB, every step= bytes (default 8 MiB) and every MiB of the 32-bit
 *      hole, at the LAPIC, IOAPIC and HPET addresses, over the whole MMIO test
 *      device, across its end, and at the last 8 bytes below 4 GiB: guest
 *      page tables pointing at addresses with no RAM behind them;
 *   4. the UART and PIC put back so the last line can be printed, then the
 *      end: exit 0, or with end=triple a triple fault.
 * The port sweep runs at CPL0 (cheaper exits here). The count line's pio=
 * covers the single accesses only: a REP string instruction is split into
 * as many exits as KVM chooses, so those are reported as instructions.
 */
#include "rt/rt.h"

#define PORT_UNCLAIMED 0x1234
#define PORT_POST      0x80
#define LAPIC_GPA      0xfee00000ull
#define IOAPIC_GPA     0xfec00000ull
#define HPET_GPA       0xfed00000ull
#define HOLE_START     0xc0000000ull
#define FOUR_GIB       0x100000000ull

static uint64_t port_end;

static uint64_t sweep_ports(uint64_t pattern)
{
	uint64_t n = 0;

	for (uint64_t p = 0; p < port_end; p++) {
		uint16_t port = (uint16_t)p;

		(void)rt_inb(port);
		(void)rt_inw(port);
		(void)rt_inl(port);
		n += 3;
		if (port == ABI_PORT_DEBUG_EXIT)
			continue;
		rt_outb(port, (uint8_t)pattern);
		rt_outw(port, (uint16_t)pattern);
		rt_outl(port, (uint32_t)pattern);
		n += 3;
	}
	return n;
}

static void rep_ins(uint16_t port, void *dst, uint64_t bytes, unsigned size)
{
	uint64_t count = bytes / size;

	if (size == 1)
		__asm__ volatile("cld; rep insb" : "+D"(dst), "+c"(count) : "d"(port) : "memory");
	else if (size == 2)
		__asm__ volatile("cld; rep insw" : "+D"(dst), "+c"(count) : "d"(port) : "memory");
	else
		__asm__ volatile("cld; rep insl" : "+D"(dst), "+c"(count) : "d"(port) : "memory");
}

static void rep_outs(uint16_t port, const void *src, uint64_t bytes, unsigned size)
{
	uint64_t count = bytes / size;

	if (size == 1)
		__asm__ volatile("cld; rep outsb" : "+S"(src), "+c"(count) : "d"(port) : "memory");
	else
		__asm__ volatile("cld; rep outsl" : "+S"(src), "+c"(count) : "d"(port) : "memory");
}

/* Returns the number of REP instructions run. */
static unsigned rep_storm(uint64_t in_bytes, uint64_t out_bytes)
{
	uint64_t base, size;
	uint8_t *buf;

	rt_free_mem(&base, &size);
	if (size < in_bytes || size < out_bytes)
		rt_fail("hostile: rep_in=%lu / rep_out=%lu bytes, only %lu bytes of free RAM at 0x%lx",
			in_bytes, out_bytes, size, base);
	buf = (uint8_t *)(uintptr_t)base;
	rep_ins(PORT_UNCLAIMED, buf, in_bytes, 1);
	rep_ins(ABI_PORT_ENTROPY, buf, in_bytes, 2);
	rep_ins(ABI_UART_BASE + ABI_UART_SCR, buf, in_bytes, 4);
	rep_outs(PORT_UNCLAIMED, buf, out_bytes, 1);
	rep_outs(PORT_POST, buf, out_bytes, 4);
	rep_outs(ABI_UART_BASE + ABI_UART_SCR, buf, out_bytes, 1);
	return 6;
}

/* An access across a page boundary is two MMIO exits (KVM splits it at the page). */
static void count_mmio(uint64_t gpa, unsigned size)
{
	rt_count(&rt_mmio_count);
	if ((gpa & 4095) + size > 4096)
		rt_count(&rt_mmio_count);
}

static void poke(uint64_t gpa)
{
	volatile uint8_t *b = (volatile uint8_t *)(uintptr_t)gpa;
	volatile uint16_t *w = (volatile uint16_t *)(uintptr_t)gpa;
	volatile uint32_t *l = (volatile uint32_t *)(uintptr_t)gpa;
	volatile uint64_t *q = (volatile uint64_t *)(uintptr_t)gpa;

	count_mmio(gpa, 1); (void)*b;
	count_mmio(gpa, 2); (void)*w;
	count_mmio(gpa, 4); (void)*l;
	count_mmio(gpa, 8); (void)*q;
	count_mmio(gpa, 1); *b = 0xa5;
	count_mmio(gpa, 2); *w = 0xa55a;
	count_mmio(gpa, 4); *l = 0xa55aa55a;
	count_mmio(gpa, 8); *q = 0xa55aa55aa55aa55aull;
}

/* Returns the number of addresses poked. */
static uint64_t mmio_storm(uint64_t step)
{
	static const uint64_t special[] = { LAPIC_GPA, LAPIC_GPA + 0xb0, IOAPIC_GPA, IOAPIC_GPA + 0x10,
					    HPET_GPA, ABI_MMIO_TEST_GPA + 0xffc, FOUR_GIB - 8 };
	uint64_t base, size, ram_end, n = 0;

	rt_free_mem(&base, &size);
	ram_end = (base + size + step - 1) / step * step;
	for (uint64_t a = ram_end; a < HOLE_START; a += step, n++)
		poke(a);
	for (uint64_t a = HOLE_START; a < FOUR_GIB; a += 1ull << 20, n++)
		poke(a + 0x100);
	for (uint64_t off = 0; off < 0x1000; off += 8, n++)
		poke(ABI_MMIO_TEST_GPA + off);
	for (unsigned i = 0; i < sizeof(special) / sizeof(special[0]); i++, n++)
		poke(special[i]);
	return n;
}

/* Undo what the sweep wrote: 8N1 at divisor 1, no UART interrupts, all IRQs masked. */
static void restore_devices(void)
{
	rt_outb(ABI_UART_BASE + ABI_UART_LCR, 0x83);
	rt_outb(ABI_UART_BASE + ABI_UART_THR, 1);
	rt_outb(ABI_UART_BASE + ABI_UART_IER, 0);
	rt_outb(ABI_UART_BASE + ABI_UART_LCR, 0x03);
	rt_outb(ABI_UART_BASE + ABI_UART_IER, 0);
	rt_outb(ABI_UART_BASE + ABI_UART_MCR, 0);
	rt_outb(ABI_UART_BASE + ABI_UART_FCR, 0);
	rt_outb(ABI_PIC1_DATA, 0xff);
	rt_outb(ABI_PIC2_DATA, 0xff);
}

int main(void)
{
	uint64_t step = rt_arg_u64("step", 8ull << 20);
	uint64_t rep_in = rt_arg_u64("rep_in", 16ull << 20), rep_out = rt_arg_u64("rep_out", 64ull << 10);
	uint64_t ports, pokes;
	unsigned reps;
	const char *end = rt_arg("end");

	port_end = rt_arg_u64("ports", 0x10000);
	if (port_end > 0x10000 || step < (1u << 20) || step % 4096 || rep_in % 4 || rep_out % 4)
		rt_fail("hostile: ports=%lu (at most 65536), step=%lu (a page multiple, >= 1 MiB), "
			"rep_in=%lu, rep_out=%lu (multiples of 4)", port_end, step, rep_in, rep_out);
	ports = rt_call0(sweep_ports, 0x5a5a5a5a);
	reps = rep_storm(rep_in, rep_out);
	pokes = mmio_storm(step);
	restore_devices();
	rt_printf("hostile: %lu port accesses, %u REP string instructions (%lu bytes in, %lu out), "
		  "%lu MMIO addresses x 8 accesses: the VMM is still here\n", ports, reps, rep_in,
		  rep_out, pokes);
	if (end && strcmp(end, "triple") == 0)
		rt_triple_fault();
	return 0;
}
