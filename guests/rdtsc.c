/* SPDX-License-Identifier: MIT */
/*
 * rdtsc: branches on the TSC, which no VMM can record. For rounds= rounds
 * (default 16) it spins reading RDTSC until window= cycles (default
 * 1000000) have passed, counting iterations; a round with an odd count makes
 * one extra port write (UART scratch). With hz= (default 1000; 0: off) the
 * PIT interrupts the spin. Output and exits depend on the TSC, so a replay
 * must flag this run as divergent unless kvmrr patched the RDTSCs (the
 * default; --tsc native does not). `cpl0` runs the rounds at CPL0 (through
 * rt_call0, interrupts off), where a patched RDTSC exits to the VMM
 * directly. Fails if the TSC goes backwards.
 */
#include "rt/rt.h"

static volatile uint64_t ticks;

static void tick(struct rt_frame *f)
{
	(void)f;
	ticks++;
}

static uint64_t window, total, odd;

/* The rounds: spin on RDTSC until window cycles pass; an odd count makes a port write. */
static uint64_t spin_rounds(uint64_t rounds)
{
	for (uint64_t r = 0; r < rounds; r++) {
		uint64_t t0 = rt_rdtsc(), t, iters = 0;

		do {
			t = rt_rdtsc();
			if (t < t0)
				rt_fail("rdtsc: TSC went back from %lu to %lu", t0, t);
			iters++;
		} while (t - t0 < window);
		total += iters;
		if (iters & 1) {
			odd++;
			rt_outb(ABI_UART_BASE + ABI_UART_SCR, (uint8_t)r);
		}
	}
	return 0;
}

/* Bytes 0f 31 inside an immediate (b8 0f 31 00 00): a decoder must leave them alone. */
static volatile uint32_t immediate_want = 0x310f;   /* in .data, which nobody decodes */

static void check_immediate(void)
{
	uint32_t v;

	__asm__ volatile("movl $0x310f, %0" : "=r"(v));
	if (v != immediate_want)
		rt_fail("rdtsc: the immediate 0x310f reads 0x%x: someone patched inside an instruction", v);
}

int main(void)
{
	uint64_t rounds = rt_arg_u64("rounds", 16), hz = rt_arg_u64("hz", 1000);
	bool cpl0 = rt_flag("cpl0");

	window = rt_arg_u64("window", 1000000);
	check_immediate();
	if (hz && (hz < 19 || hz > 100000))
		rt_fail("rdtsc: hz=%lu out of range 19-100000 (0: no timer)", hz);
	if (hz) {
		rt_irq_register(ABI_PIT_IRQ, tick);
		rt_pit_start((uint32_t)hz);
		rt_sti();
	}
	if (cpl0)
		rt_call0(spin_rounds, rounds);   /* interrupts off: no ticks during the rounds */
	else
		spin_rounds(rounds);
	if (hz) {
		rt_cli();
		rt_pit_stop();
	}
	rt_printf("rdtsc: rounds=%lu window=%lu iterations=%lu odd=%lu ticks=%lu%s\n", rounds, window,
		  total, odd, (uint64_t)ticks, cpl0 ? " cpl0" : "");
	return 0;
}
