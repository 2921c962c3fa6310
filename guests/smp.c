/* SPDX-License-Identifier: MIT */
/*
 * smp: start the second CPU with INIT/SIPI through the local APIC the VMM
 * provides (QEMU's, under -smp 2; kvmrr's own machine has one vCPU and no
 * LAPIC), then both make n= (default 1000) port-IO exits: the BSP writes
 * 0, 1, ... with 32-bit OUTs to port 0x700, the AP to port 0x701. The AP
 * enters at a real-mode trampoline copied to 0x8000 (SIPI vector 8), goes
 * straight to long mode on the BSP's page tables and GDT, makes its exits,
 * reports done in memory and halts.
 */
#include "rt/rt.h"

#define LAPIC_BASE   0xfee00000ULL
#define LAPIC_SVR    0x0f0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define TRAMPOLINE   0x8000
#define PORT_BSP     0x700
#define PORT_AP      0x701

extern const char smp_tramp_start[], smp_tramp_end[];
volatile uint64_t smp_ap_n, smp_ap_done;
uint8_t smp_ap_stack[8192] __attribute__((aligned(16)));

/*
 * The AP's way in: 16-bit code at 0x8000 (CS = 0x800), addressed through CS
 * by offsets from smp_tramp_start; PAE, CR3 = rt_pml4, EFER.LME, then PE and
 * PG at once and a far jump into 64-bit code at its linked address.
 */
__asm__(
	".section .text\n"
	".code16\n"
	".globl smp_tramp_start\n"
	"smp_tramp_start:\n"
	"	cli\n"
	"	lgdtl %cs:(smp_tramp_gdt - smp_tramp_start)\n"
	"	movl %cr4, %eax\n"
	"	orl $0x20, %eax\n"
	"	movl %eax, %cr4\n"
	"	movl $rt_pml4, %eax\n"
	"	movl %eax, %cr3\n"
	"	movl $0xc0000080, %ecx\n"
	"	rdmsr\n"
	"	orl $0x100, %eax\n"
	"	wrmsr\n"
	"	movl %cr0, %eax\n"
	"	orl $0x80000001, %eax\n"
	"	movl %eax, %cr0\n"
	"	ljmpl $0x08, $smp_ap_entry64\n"
	"	.balign 8\n"
	"smp_tramp_gdt:\n"
	"	.word 6 * 8 - 1\n"
	"	.long rt_gdt\n"
	".globl smp_tramp_end\n"
	"smp_tramp_end:\n"
	".code64\n"
	"smp_ap_entry64:\n"
	"	movl $0x10, %eax\n"
	"	movl %eax, %ds\n"
	"	movl %eax, %es\n"
	"	movl %eax, %ss\n"
	"	leaq smp_ap_stack + 8192(%rip), %rsp\n"
	"	call smp_ap_main\n"
	"1:	cli\n"
	"	hlt\n"
	"	jmp 1b\n");

void smp_ap_main(void);
void smp_ap_main(void)
{
	for (uint32_t i = 0; i < smp_ap_n; i++)
		rt_outl(PORT_AP, i);
	__atomic_store_n(&smp_ap_done, 1, __ATOMIC_RELEASE);
}

static void lapic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg) = v;
}

static uint32_t lapic_read(uint32_t reg)
{
	return *(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg);
}

static void spin(uint64_t n)
{
	for (volatile uint64_t i = 0; i < n; i++)
		;
}

/* INIT, then SIPI twice (the MP specification's sequence), to APIC id 1. */
static void start_ap(void)
{
	lapic_write(LAPIC_SVR, lapic_read(LAPIC_SVR) | 0x1ff);
	lapic_write(LAPIC_ICR_HI, 1u << 24);
	lapic_write(LAPIC_ICR_LO, 0x4500);              /* INIT, level assert */
	spin(100000);
	for (int i = 0; i < 2; i++) {
		lapic_write(LAPIC_ICR_HI, 1u << 24);
		lapic_write(LAPIC_ICR_LO, 0x4600 | (TRAMPOLINE >> 12));   /* start-up */
		spin(10000);
	}
}

int main(void)
{
	uint64_t n = rt_arg_u64("n", 1000), wait;

	smp_ap_n = n;
	memcpy((void *)TRAMPOLINE, smp_tramp_start, (size_t)(smp_tramp_end - smp_tramp_start));
	start_ap();
	for (uint32_t i = 0; i < n; i++)
		rt_outl(PORT_BSP, i);
	for (wait = 0; !__atomic_load_n(&smp_ap_done, __ATOMIC_ACQUIRE); wait++)
		if (wait == 2000000000ULL)
			rt_fail("smp: the second CPU did not finish its %lu exits (no LAPIC, or no -smp 2?)", n);
	rt_printf("smp: 2 CPUs, %lu port-IO exits each: ok\n", n);
	return 0;
}
