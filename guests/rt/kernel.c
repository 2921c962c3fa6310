/* SPDX-License-Identifier: MIT */
/*
 * The CPL0 half of the runtime: TSS, IDT, SSE enable, and rt_trap(), the one
 * C entry for exceptions, IRQs and system calls. All of it runs in KVM's
 * instruction emulator on this host, so it is built with -mgeneral-regs-only
 * and kept short.
 */
#include "rt/rt.h"
#include "rt/internal.h"

#include <stddef.h>

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
	uint8_t iomap[8192 + 1];   /* all ports allowed, then the 0xff terminator */
} __attribute__((packed));

struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t reserved;
};

struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

extern uint64_t rt_gdt[];
extern char rt_trap_stubs[], rt_syscall_stub[];
extern char rt_kstack_top[], rt_dfstack_top[];

uint64_t rt_start_info_paddr;
rt_irq_fn rt_irq_handlers[16];
uint64_t rt_irq_counts[16];
static rt_irq_fn exc_handlers[32];

static struct tss64 tss __attribute__((aligned(16)));
static struct idt_gate idt[256] __attribute__((aligned(16)));

static void set_gate(unsigned vec, void *handler, unsigned dpl, unsigned ist)
{
	uint64_t off = (uint64_t)(uintptr_t)handler;

	idt[vec] = (struct idt_gate){
		.off_lo = (uint16_t)off,
		.sel = RT_KERNEL_CS,
		.ist = (uint8_t)ist,
		.type_attr = (uint8_t)(0x8e | (dpl << 5)),   /* present, 64-bit interrupt gate */
		.off_mid = (uint16_t)(off >> 16),
		.off_hi = (uint32_t)(off >> 32),
	};
}

static void tss_init(void)
{
	uint64_t base = (uint64_t)(uintptr_t)&tss;
	uint64_t limit = sizeof(tss) - 1;

	tss.rsp[0] = (uint64_t)(uintptr_t)rt_kstack_top;
	tss.ist[0] = (uint64_t)(uintptr_t)rt_dfstack_top;   /* IST1: #DF */
	/* An all-zero IO bitmap lets CPL3 reach every port even where IOPL is not 3. */
	tss.iomap_base = offsetof(struct tss64, iomap);
	tss.iomap[8192] = 0xff;
	/* 64-bit available TSS descriptor (type 9), present. */
	rt_gdt[5] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
		    ((limit >> 16 & 0xf) << 48) | ((base >> 24 & 0xff) << 56);
	rt_gdt[6] = base >> 32;
	__asm__ volatile("ltr %w0" : : "r"(RT_TSS_SEL));
}

void rt_kernel_init(void)
{
	struct desc_ptr idtr = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };
	uint64_t cr0, cr4;

	tss_init();
	for (unsigned v = 0; v < 48; v++)
		set_gate(v, rt_trap_stubs + 16 * v, 0, v == 8 ? 1 : 0);
	set_gate(0x80, rt_syscall_stub, 3, 0);
	__asm__ volatile("lidt %0" : : "m"(idtr));
	/* SSE for CPL3 code: CR0.EM=0, CR0.MP=1, CR4.OSFXSR|OSXMMEXCPT. */
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	cr0 = (cr0 & ~0x4ull) | 0x2;
	__asm__ volatile("mov %0, %%cr0" : : "r"(cr0));
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	cr4 |= 0x600;
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4));
}

void rt_exc_register(unsigned vec, rt_irq_fn fn, unsigned ist)
{
	if (vec >= 32 || ist > 1)
		rt_fail("rt_exc_register: vector %u or IST %u out of range", vec, ist);
	exc_handlers[vec] = fn;
	set_gate(vec, rt_trap_stubs + 16 * vec, 0, ist);
}

static const char *const exc_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS", "#NP",
	"#SS", "#GP", "#PF", "RSV", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

static __attribute__((noreturn)) void exception(struct rt_frame *f)
{
	uint64_t cr2;
	const char *name = exc_names[f->vector];

	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	rt_printf("kvmrr-guest: exception %lu (%s) error=0x%lx rip=0x%lx cr2=0x%lx cs=0x%lx "
		  "rsp=0x%lx rflags=0x%lx rax=0x%lx rbx=0x%lx\n", f->vector, name ? name : "?",
		  f->error, f->rip, cr2, f->cs, f->rsp, f->rflags, f->rax, f->rbx);
	rt_exit(ABI_EXIT_EXCEPTION);
}

static void syscall(struct rt_frame *f)
{
	switch (f->rax) {
	case RT_SYS_WAIT_IRQ:
		/* STI's shadow covers HLT, so a pending IRQ cannot slip in between. */
		__asm__ volatile("sti; hlt; cli" ::: "memory");
		f->rax = 0;
		break;
	case RT_SYS_HALT:
		__asm__ volatile("cli; hlt" ::: "memory");
		f->rax = 0;
		break;
	case RT_SYS_STI:
		f->rflags |= RT_RFLAGS_IF;
		f->rax = 0;
		break;
	case RT_SYS_CLI:
		f->rflags &= ~RT_RFLAGS_IF;
		f->rax = 0;
		break;
	case RT_SYS_CALL0:
		f->rax = ((uint64_t (*)(uint64_t))(uintptr_t)f->rdi)(f->rsi);
		break;
	default:
		rt_printf("kvmrr-guest: unknown system call %lu at rip=0x%lx\n", f->rax, f->rip);
		rt_exit(ABI_EXIT_FAIL);
	}
}

static void irq(struct rt_frame *f)
{
	unsigned n = (unsigned)(f->vector - ABI_IRQ_VECTOR_BASE);

	rt_irq_counts[n]++;
	if (rt_irq_handlers[n])
		rt_irq_handlers[n](f);
	if (n >= 8)
		rt_outb(ABI_PIC2_CMD, ABI_PIC_EOI);
	rt_outb(ABI_PIC1_CMD, ABI_PIC_EOI);
}

/*
 * This host's PVM-based KVM raises #UD for INT n from CPL3 (and its SYSCALL
 * leaves the handler at CPL3), so a #UD from CPL3 on an `int $0x80` is taken
 * as that system call: step over it and serve it. Elsewhere the gate works.
 */
static bool is_user_int80(const struct rt_frame *f)
{
	const uint8_t *insn = (const uint8_t *)(uintptr_t)f->rip;

	return f->vector == 6 && (f->cs & 3) == 3 && insn[0] == 0xcd && insn[1] == 0x80;
}

/*
 * kvmrr replaces each RDTSC in the image with HLT; NOP (f4 90), which
 * exits at CPL0 but raises #GP at CPL3. The runtime then reads the TSC
 * itself at CPL0 (through its own patched RDTSC when there is one) and
 * steps over the site, so CPL3 code sees the VMM's value too.
 */
static bool is_user_rdtsc_site(const struct rt_frame *f)
{
	const uint8_t *insn = (const uint8_t *)(uintptr_t)f->rip;

	return f->vector == 13 && (f->cs & 3) == 3 && insn[0] == 0xf4 && insn[1] == 0x90;
}

void rt_trap(struct rt_frame *f)
{
	if (is_user_rdtsc_site(f)) {
		uint64_t tsc = rt_rdtsc();

		f->rax = (uint32_t)tsc;
		f->rdx = tsc >> 32;
		f->rip += 2;
	} else if (is_user_int80(f)) {
		f->rip += 2;
		syscall(f);
	} else if (f->vector < 32 && exc_handlers[f->vector])
		exc_handlers[f->vector](f);
	else if (f->vector < 32)
		exception(f);
	else if (f->vector < 48)
		irq(f);
	else
		syscall(f);
}
