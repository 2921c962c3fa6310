/* SPDX-License-Identifier: MIT */
/*
 * preempt: a tiny round-robin scheduler. Three tasks spin at CPL3 on CPU
 * work that keeps its state in memory and makes no exits; PIT IRQ0 (hz=,
 * default 1000) switches tasks in the interrupt handler by swapping the
 * interrupted frame. After ticks= ticks (default 100) the handler returns to
 * main, which prints a digest of what the handler saw of the tasks at each
 * tick (task, its iteration count, its state). The digest differs from run
 * to run; it only repeats when the interrupts land on the same instructions.
 *
 * The bare word `constregs` runs tasks whose spin loop keeps every register,
 * RFLAGS included, constant and changes only memory: `addq $256, (%rax)`
 * (adding 256 leaves the low byte, so PF, ZF, SF, CF, OF and AF, unchanged).
 *
 * The bare word `cpl0` runs the tasks at CPL0 instead (same code, kernel
 * selectors): on hosts whose KVM gives userspace no breakpoints or single
 * steps at CPL3 (this PVM-based one), that is where kvmrr can replay
 * interrupts that land mid-loop (docs/async.md).
 *
 * Needs interrupts delivered while the guest runs without exits: with
 * interrupts injected only at exits the tasks are never preempted.
 */
#include "rt/rt.h"

#define NTASKS 3
#define STACK_SIZE 16384

struct task {
	struct rt_frame frame;
	volatile uint64_t iters;   /* constregs: 256 per iteration */
	volatile uint64_t x;
	uint64_t slices, last_seen;
};

static struct task tasks[NTASKS];
static uint8_t stacks[NTASKS][STACK_SIZE] __attribute__((aligned(16)));
static struct rt_frame main_frame;
static int current = -1;                 /* -1: main */
static volatile uint64_t ticks;
static uint64_t target;
static volatile bool done;
static bool went_back;
static uint64_t digest = 0xcbf29ce484222325ull;
static bool cpl0;                        /* tasks run at CPL0 */

void preempt_constregs_task(volatile uint64_t *counter);
__asm__(".text\n"
	".globl preempt_constregs_task\n"
	"preempt_constregs_task:\n"
	"	movq %rdi, %rax\n"
	"	addq $256, (%rax)\n"      /* give RFLAGS the loop's value before the loop */
	"1:	addq $256, (%rax)\n"
	"	jmp 1b\n");

static void __attribute__((noreturn)) work_task(struct task *t)
{
	uint64_t id = (uint64_t)(t - tasks) + 1;

	for (;;) {
		t->x = (t->x ^ ticks) * 0x9e3779b97f4a7c15ull + id;
		t->iters++;
	}
}

static void fold(uint64_t v)
{
	digest = (digest ^ v) * 0x100000001b3ull;   /* FNV-1a, a word at a time */
}

/* IRQ0 at CPL0: save the interrupted user context, load the next one. */
static void tick(struct rt_frame *f)
{
	int next;

	ticks++;
	/* Switch only out of a task or main's wait (cpl0: both at CPL0), never out of the kernel. */
	if (done || ((f->cs & 3) != 3 && !(cpl0 && f->cs == RT_KERNEL_CS)))
		return;
	if (current < 0) {
		main_frame = *f;
	} else {
		struct task *t = &tasks[current];

		t->frame = *f;
		if (t->iters < t->last_seen)
			went_back = true;
		t->last_seen = t->iters;
		t->slices++;
		fold((uint64_t)current);
		fold(t->iters);
		fold(t->x);
	}
	if (ticks >= target) {
		done = true;
		next = -1;
		main_frame.rflags &= ~RT_RFLAGS_IF;   /* main resumes with IRQs off */
	} else {
		next = (current + 1) % NTASKS;
	}
	*f = next < 0 ? main_frame : tasks[next].frame;
	current = next;
}

/* cpl0: main waits at CPL0 too, so that every tick lands at CPL0. */
static uint64_t wait_done_cpl0(uint64_t arg)
{
	(void)arg;
	__asm__ volatile("sti" ::: "memory");
	while (!done)
		;
	return 0;   /* the last tick resumed us with IF clear */
}

static void task_init(unsigned i, bool constregs)
{
	struct rt_frame *f = &tasks[i].frame;

	*f = (struct rt_frame){
		.cs = cpl0 ? RT_KERNEL_CS : RT_USER_CS,
		.ss = cpl0 ? RT_KERNEL_DS : RT_USER_DS,
		.rflags = RT_RFLAGS_IOPL | RT_RFLAGS_IF | 0x2,
		.rsp = (uint64_t)(uintptr_t)(stacks[i] + STACK_SIZE - 8),
	};
	if (constregs) {
		f->rip = (uint64_t)(uintptr_t)preempt_constregs_task;
		f->rdi = (uint64_t)(uintptr_t)&tasks[i].iters;
	} else {
		f->rip = (uint64_t)(uintptr_t)work_task;
		f->rdi = (uint64_t)(uintptr_t)&tasks[i];
	}
}

int main(void)
{
	uint64_t hz = rt_arg_u64("hz", 1000), min, total = 0;
	bool constregs = rt_flag("constregs");

	cpl0 = rt_flag("cpl0");

	target = rt_arg_u64("ticks", 100);
	if (target < 4 || hz < 19 || hz > 100000)
		rt_fail("preempt: ticks=%lu (>= 4) or hz=%lu (19-100000) out of range", target, hz);
	for (unsigned i = 0; i < NTASKS; i++)
		task_init(i, constregs);
	rt_irq_register(ABI_PIT_IRQ, tick);
	rt_pit_start((uint32_t)hz);
	if (cpl0) {
		rt_call0(wait_done_cpl0, 0);
	} else {
		rt_sti();
		while (!done)
			;
	}
	rt_pit_stop();
	min = (target - 1) / NTASKS;
	for (unsigned i = 0; i < NTASKS; i++) {
		if (tasks[i].slices < min || tasks[i].slices > min + 1)
			rt_fail("preempt: task %u ran %lu slices of %lu, want %lu or %lu", i,
				tasks[i].slices, target - 1, min, min + 1);
		total += constregs ? tasks[i].iters / 256 : tasks[i].iters;
	}
	/*
	 * One task may legitimately not advance: a VMM that catches up on
	 * late PIT ticks delivers them back to back, before a task's first
	 * instruction. All of them standing still means no slice ever ran.
	 */
	if (total == 0)
		rt_fail("preempt: no task advanced in %lu ticks", target);
	if (went_back)
		rt_fail("preempt: a task's iteration count went backwards");
	rt_printf("preempt: mode=%s%s ticks=%lu slices=%lu/%lu/%lu iterations=%lu digest=%016lx\n",
		  constregs ? "constregs" : "work", cpl0 ? " cpl0" : "", target, tasks[0].slices, tasks[1].slices,
		  tasks[2].slices, total, digest);
	return 0;
}
