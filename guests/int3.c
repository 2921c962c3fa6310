/* SPDX-License-Identifier: MIT */
/*
 * int3: executes INT3 n= times (default 3) at CPL0 in long mode; the #BP
 * handler counts each one, checks the frame (RIP right after the INT3, CS
 * the kernel's) and returns with IRETQ. `ist` gives gate 3 the IST1 stack,
 * so the handler must run on it. Each INT3 is followed by an FWAIT, which
 * this host's emulator cannot execute either (kvmrr does: a no-op here). Prints `int3: n=.. handled=.. ist=0|1`.
 */
#include "rt/rt.h"

extern char int3_after[];
static volatile uint64_t handled, bad_rip, bad_cs, bad_stack;
static uint64_t use_ist;

static void on_bp(struct rt_frame *f)
{
	uint64_t here = (uint64_t)(uintptr_t)&here;

	handled++;
	if (f->rip != (uint64_t)(uintptr_t)int3_after)
		bad_rip = f->rip;
	if (f->cs != RT_KERNEL_CS)
		bad_cs = f->cs;
	/* On IST1 the handler's stack is far from the interrupted one (rt_call0's kernel stack). */
	if (use_ist && here > f->rsp - 4096 && here < f->rsp + 4096)
		bad_stack = here;
}

/* One INT3 site, so the label after it is unique. */
static __attribute__((noinline, noclone)) void one_int3(void)
{
	__asm__ volatile("int3\n.globl int3_after\nint3_after:" ::: "memory");
}

static uint64_t breakpoints(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		one_int3();
		__asm__ volatile("fwait" ::: "memory");   /* no x87 exception pending: a no-op */
	}
	return handled;
}

int main(void)
{
	uint64_t n = rt_arg_u64("n", 3), got;

	use_ist = rt_flag("ist");
	rt_exc_register(3, on_bp, use_ist ? 1 : 0);
	got = rt_call0(breakpoints, n);
	if (got != n || bad_rip || bad_cs || bad_stack)
		rt_fail("int3: %lu of %lu handled, bad rip 0x%lx, bad cs 0x%lx, bad stack 0x%lx",
			got, n, bad_rip, bad_cs, bad_stack);
	rt_printf("int3: n=%lu handled=%lu ist=%lu\n", n, got, use_ist);
	return 0;
}
