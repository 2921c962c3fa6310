/* SPDX-License-Identifier: MIT */
/*
 * crash: ends the run abnormally on purpose, as mode= says:
 *   triple (default)  load an empty IDT at CPL0 and execute UD2: #UD, #GP and
 *                     #DF cannot be delivered, so the CPU shuts down
 *   ud | pf | gp      an exception the runtime reports (exit code 2)
 *   halt              HLT with interrupts disabled (kvmrr: "guest halted")
 *   spin              loop forever with interrupts disabled and no exits
 */
#include "rt/rt.h"

int main(void)
{
	const char *mode = rt_arg("mode");

	if (!mode || !*mode)
		mode = "triple";
	rt_printf("crash: mode=%s\n", mode);
	if (strcmp(mode, "triple") == 0) {
		rt_triple_fault();
	} else if (strcmp(mode, "ud") == 0) {
		__asm__ volatile("ud2");
	} else if (strcmp(mode, "pf") == 0) {
		/* Above the 4 GiB identity map: not present. */
		(void)*(volatile uint64_t *)(uintptr_t)0x100000000ull;
	} else if (strcmp(mode, "gp") == 0) {
		__asm__ volatile("hlt; ud2");   /* privileged at CPL3 (ud2: never a patched RDTSC's f4 90) */
	} else if (strcmp(mode, "halt") == 0) {
		rt_halt();
	} else if (strcmp(mode, "spin") == 0) {
		for (;;)
			__asm__ volatile("" ::: "memory");
	} else {
		rt_printf("crash: unknown mode=%s (triple, ud, pf, gp, halt, spin)\n", mode);
		return ABI_EXIT_BADARG;
	}
	rt_fail("crash: mode=%s did not end the run", mode);
}
