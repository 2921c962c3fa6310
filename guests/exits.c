/* SPDX-License-Identifier: MIT */
/*
 * exits: a storm of n= (default 1000000) port-IO exits on the UART scratch
 * register, alternating a write and a read that must return what was
 * written. The loop runs at CPL0 by default (exits are ~3x cheaper there on
 * this host); the bare word `cpl3` runs it at CPL3 instead.
 */
#include "rt/rt.h"

#define SCR (ABI_UART_BASE + ABI_UART_SCR)

#define WRONG_CPL UINT64_MAX

static unsigned want_cpl;

/* Returns the index of the first bad read-back + 1, WRONG_CPL, or 0. */
static uint64_t storm(uint64_t n)
{
	uint8_t last = 0;

	if (rt_cpl() != want_cpl)
		return WRONG_CPL;
	for (uint64_t i = 0; i < n; i++) {
		if (i & 1) {
			if (rt_inb(SCR) != last)
				return i + 1;
		} else {
			last = (uint8_t)(i >> 1);
			rt_outb(SCR, last);
		}
	}
	return 0;
}

int main(void)
{
	uint64_t n = rt_arg_u64("n", 1000000);
	bool cpl3 = rt_flag("cpl3");
	uint64_t bad;

	want_cpl = cpl3 ? 3 : 0;
	bad = cpl3 ? storm(n) : rt_call0(storm, n);
	if (bad == WRONG_CPL)
		rt_fail("exits: the loop ran at CPL%u, not CPL%u", 3 - want_cpl, want_cpl);
	if (bad)
		rt_fail("exits: scratch register read-back mismatch at access %lu", bad - 1);
	rt_printf("exits: %lu port-IO exits at CPL%d: ok\n", n, cpl3 ? 3 : 0);
	return 0;
}
