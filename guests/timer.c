/* SPDX-License-Identifier: MIT */
/*
 * timer: programs PIT channel 0 at hz= (default 1000) and counts n= ticks
 * (default 20) by waiting with STI+HLT (a system call). Checks that every
 * wait ended with at least one IRQ0 and that the PIT counter reads back
 * within its divisor.
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
	uint64_t n = rt_arg_u64("n", 20), hz = rt_arg_u64("hz", 1000);
	uint64_t waits = 0;
	uint32_t div;
	uint16_t count;

	if (hz < 19 || hz > 100000)
		rt_fail("timer: hz=%lu out of range 19-100000", hz);
	rt_irq_register(ABI_PIT_IRQ, tick);
	div = rt_pit_start((uint32_t)hz);
	count = rt_pit_read();
	if (count > div)
		rt_fail("timer: PIT channel 0 read back %u, above its divisor %u", count, div);
	while (ticks < n) {
		uint64_t before = ticks;

		rt_wait_irq();
		waits++;
		if (ticks == before)
			rt_fail("timer: HLT returned without a tick (tick %lu of %lu)", before, n);
	}
	rt_pit_stop();
	rt_printf("timer: %lu ticks at %lu Hz (divisor %u)\n", n, hz, div);
	return 0;
}
