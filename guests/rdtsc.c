/* SPDX-License-Identifier: MIT */
/*
 * rdtsc: branches on the TSC, which no VMM can record. For rounds= rounds
 * (default 16) it spins reading RDTSC until window= cycles (default
 * 1000000) have passed, counting iterations; a round with an odd count makes
 * one extra port write (UART scratch). With hz= (default 1000; 0: off) the
 * PIT interrupts the spin. Output and exits depend on the TSC, so a replay
 * must flag this run as divergent. Fails if the TSC goes backwards.
 */
#include "rt/rt.h"

static volatile uint64_t ticks;

static void tick(struct rt_frame *f)
{
	(void)f;
	ticks++;
}

int main(void)
{
	uint64_t rounds = rt_arg_u64("rounds", 16), window = rt_arg_u64("window", 1000000);
	uint64_t hz = rt_arg_u64("hz", 1000), total = 0, odd = 0;

	if (hz && (hz < 19 || hz > 100000))
		rt_fail("rdtsc: hz=%lu out of range 19-100000 (0: no timer)", hz);
	if (hz) {
		rt_irq_register(ABI_PIT_IRQ, tick);
		rt_pit_start((uint32_t)hz);
		rt_sti();
	}
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
	if (hz) {
		rt_cli();
		rt_pit_stop();
	}
	rt_printf("rdtsc: rounds=%lu window=%lu iterations=%lu odd=%lu ticks=%lu\n", rounds, window,
		  total, odd, (uint64_t)ticks);
	return 0;
}
