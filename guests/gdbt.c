/* SPDX-License-Identifier: MIT */
/*
 * gdbt: a CPL0 target for kvmrr's gdb tests (tests/gdb). rounds= times
 * (default 50), at CPL0: gdbt_tick(i) adds i + 1 to the memory counter
 * gdbt_counter, then one '.' goes to the UART (an IN of its status on
 * 0x3fd and an OUT on 0x3f8). spin=N first spins N iterations without an
 * exit (a long continue to interrupt). Prints `gdbt: rounds=R counter=C`.
 * CPL0 because this host's KVM gives no breakpoints or single steps at CPL3.
 */
#include "rt/rt.h"

volatile uint64_t gdbt_counter;
volatile uint64_t gdbt_spins;

__attribute__((noinline, noclone)) void gdbt_tick(uint64_t i)
{
	gdbt_counter += i + 1;
}

static uint64_t spin_n;

static uint64_t work(uint64_t rounds)
{
	for (uint64_t i = 0; i < spin_n; i++)
		gdbt_spins++;
	for (uint64_t i = 0; i < rounds; i++) {
		gdbt_tick(i);
		rt_putc('.');
	}
	rt_putc('\n');
	return gdbt_counter;
}

int main(void)
{
	uint64_t rounds = rt_arg_u64("rounds", 50), got;

	spin_n = rt_arg_u64("spin", 0);
	got = rt_call0(work, rounds);
	if (got != rounds * (rounds + 1) / 2)
		rt_fail("counter %llu, want %llu", (unsigned long long)got,
			(unsigned long long)(rounds * (rounds + 1) / 2));
	rt_printf("gdbt: rounds=%llu counter=%llu\n", (unsigned long long)rounds, (unsigned long long)got);
	rt_exit(0);
}
