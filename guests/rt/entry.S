/* SPDX-License-Identifier: MIT */
/*
 * PVH entry, long-mode switch, descriptor tables, page tables and the
 * interrupt stubs of the guest runtime.
 *
 * The 32-bit path is short and straight: on this host 32-bit protected mode
 * runs in KVM's instruction emulator, which cannot execute IRET there, so we
 * only load a GDT, enable PAE + LME + paging with tables that are already
 * built (no loop), and far-jump into 64-bit code.
 */
#include "rt/abi.h"

#define EFER_MSR 0xc0000080
#define EFER_LME 0x100
#define CR4_PAE  0x20
#define CR0_PG_PE 0x80000001

/* ---- The PVH note: "Xen", XEN_ELFNOTE_PHYS32_ENTRY, 8-byte entry address ---- */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4
	.long 8
	.long ABI_XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.balign 4
	.quad _start32
	.balign 4

	.section .text.boot, "ax", @progbits
	.code32
	.globl _start32
_start32:
	cli
	cld
	movl %ebx, rt_start_info_paddr
	movl $0, rt_start_info_paddr + 4
	lgdt rt_gdt_desc
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $rt_pml4, %eax
	movl %eax, %cr3
	movl $EFER_MSR, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $CR0_PG_PE, %eax
	movl %eax, %cr0
	ljmp $0x08, $start64

	.code64
start64:
	movl $0x10, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	leaq rt_kstack_top(%rip), %rsp
	call rt_kernel_init
	/*
	 * Drop to CPL3 with IOPL=3 and interrupts disabled. This host's
	 * PVM-based KVM keeps CPL3 at IOPL 0 whatever we ask (CLI/STI fault
	 * there), so port access from CPL3 rests on the TSS IO bitmap.
	 */
	pushq $0x1b
	leaq rt_ustack_top(%rip), %rax
	pushq %rax
	pushq $0x3002
	pushq $0x23
	leaq rt_user_entry(%rip), %rax
	pushq %rax
	iretq

	.text
rt_user_entry:
	/* As if called: RSP = 8 mod 16 at the first instruction of a function. */
	subq $8, %rsp
	call rt_user_start
	ud2

/*
 * Interrupt stubs, one per 16 bytes for vectors 0-47 so the IDT can be
 * filled from rt_trap_stubs + 16 * vector. Vectors with a CPU error code do
 * not push the dummy one.
 */
	.balign 16
	.globl rt_trap_stubs
rt_trap_stubs:
	.irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
	.balign 16
	.if (\vec == 8) || (\vec == 10) || (\vec == 11) || (\vec == 12) || (\vec == 13) || (\vec == 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
	.else
	pushq $0
	.endif
	pushq $\vec
	jmp rt_trap_common
	.endr

	.balign 16
	.globl rt_syscall_stub
rt_syscall_stub:
	pushq $0
	pushq $0x80
	jmp rt_trap_common

/* Push the GPRs as struct rt_frame, call rt_trap(frame), pop the (maybe edited) frame. */
rt_trap_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	cld
	movq %rsp, %rdi
	call rt_trap
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp
	iretq

/* ---- GDT: null, kernel code64, kernel data, user data, user code64, TSS (16 bytes) ---- */
	.data
	.balign 16
	.globl rt_gdt
rt_gdt:
	.quad 0
	.quad 0x00af9a000000ffff
	.quad 0x00cf92000000ffff
	.quad 0x00cff2000000ffff
	.quad 0x00affa000000ffff
	.quad 0, 0                      /* TSS, filled by rt_kernel_init */
rt_gdt_end:
	.balign 8
	.word 0
rt_gdt_desc:
	.word rt_gdt_end - rt_gdt - 1
	.quad rt_gdt

/*
 * Identity map of the first 4 GiB with 2 MiB pages: present, writable, user
 * (CPL3 may touch everything), and cache-disabled for the last GiB where the
 * MMIO hole is. Built by the assembler so the emulated 32-bit path has no loop.
 */
#define PTE_P_W_U 0x7
#define PTE_PS    0x80
#define PTE_PWT_PCD 0x18
	.balign 4096
	.globl rt_pml4
rt_pml4:
	.quad rt_pdpt + PTE_P_W_U
	.fill 511, 8, 0
rt_pdpt:
	.quad rt_pd + PTE_P_W_U
	.quad rt_pd + 0x1000 + PTE_P_W_U
	.quad rt_pd + 0x2000 + PTE_P_W_U
	.quad rt_pd + 0x3000 + PTE_P_W_U
	.fill 508, 8, 0
rt_pd:
	.set page, 0
	.rept 1536
	.quad (page << 21) | PTE_PS | PTE_P_W_U
	.set page, page + 1
	.endr
	.rept 512
	.quad (page << 21) | PTE_PS | PTE_PWT_PCD | PTE_P_W_U
	.set page, page + 1
	.endr

/* ---- Stacks ---- */
	.bss
	.balign 4096
	.globl rt_kstack_top, rt_ustack_top, rt_dfstack_top
	.skip 16384
rt_kstack_top:
	.skip 4096
rt_dfstack_top:
	.skip 65536
rt_ustack_top:

	.section .note.GNU-stack, "", @progbits
