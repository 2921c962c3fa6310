/* SPDX-License-Identifier: MIT */
/*
 * The kvmrr guest runtime: what a bundled guest's main() can use.
 *
 * main() runs at CPL3 with IOPL=3 and interrupts disabled. Port IO from CPL3
 * is direct (IOPL=3, and an all-allowing TSS IO bitmap for hosts like this
 * PVM-based one that keep CPL3 at IOPL 0); HLT, STI/CLI and "run this at
 * CPL0" are system calls (int 0x80; where the host turns that into #UD,
 * as this one does, the #UD handler serves it).
 * Every port-IO and MMIO access goes through the counting helpers below (one
 * IN/OUT or one load/store each, so one exit each), and rt_exit() prints the
 * final `kvmrr-guest: pio=N mmio=M` line with the totals of the whole run.
 *
 * Code that runs at CPL0 (IRQ handlers, functions given to rt_call0) must be
 * built without SSE/x87 (-mgeneral-regs-only): KVM's emulator runs it here.
 */
#ifndef KVMRR_GUESTS_RT_RT_H
#define KVMRR_GUESTS_RT_RT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rt/abi.h"

/* Selectors of the runtime's GDT. */
#define RT_KERNEL_CS 0x08
#define RT_KERNEL_DS 0x10
#define RT_USER_DS   0x1b
#define RT_USER_CS   0x23
#define RT_TSS_SEL   0x28

#define RT_RFLAGS_IF   0x200ull
#define RT_RFLAGS_IOPL 0x3000ull

/* What the interrupt stubs push; handlers may edit it (e.g. to switch tasks). */
struct rt_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;   /* pushed by the CPU */
};

/* ---- Counted port IO and MMIO (usable at CPL0 and CPL3) ---- */
extern uint64_t rt_pio_count;
extern uint64_t rt_mmio_count;

/* One instruction, so an interrupt handler's own count is never lost. */
static inline void rt_count(uint64_t *c)
{
	__asm__ volatile("incq %0" : "+m"(*c));
}

static inline uint8_t rt_inb(uint16_t port)
{
	uint8_t v;

	rt_count(&rt_pio_count);
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint16_t rt_inw(uint16_t port)
{
	uint16_t v;

	rt_count(&rt_pio_count);
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t rt_inl(uint16_t port)
{
	uint32_t v;

	rt_count(&rt_pio_count);
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void rt_outb(uint16_t port, uint8_t v)
{
	rt_count(&rt_pio_count);
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void rt_outw(uint16_t port, uint16_t v)
{
	rt_count(&rt_pio_count);
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void rt_outl(uint16_t port, uint32_t v)
{
	rt_count(&rt_pio_count);
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint32_t rt_mmio_read32(uint64_t gpa)
{
	rt_count(&rt_mmio_count);
	return *(volatile uint32_t *)(uintptr_t)gpa;
}

static inline uint64_t rt_mmio_read64(uint64_t gpa)
{
	rt_count(&rt_mmio_count);
	return *(volatile uint64_t *)(uintptr_t)gpa;
}

static inline void rt_mmio_write32(uint64_t gpa, uint32_t v)
{
	rt_count(&rt_mmio_count);
	*(volatile uint32_t *)(uintptr_t)gpa = v;
}

static inline void rt_mmio_write64(uint64_t gpa, uint64_t v)
{
	rt_count(&rt_mmio_count);
	*(volatile uint64_t *)(uintptr_t)gpa = v;
}

static inline uint64_t rt_rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* Current privilege level (0 or 3). */
static inline unsigned rt_cpl(void)
{
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	return cs & 3;
}

/* ---- System calls (int 0x80; from CPL3) ---- */
enum rt_sys {
	RT_SYS_WAIT_IRQ = 0, /* sti; hlt; cli: wait for (and handle) one interrupt */
	RT_SYS_HALT,         /* hlt with interrupts disabled: the end under kvmrr */
	RT_SYS_STI,          /* set IF in the caller's RFLAGS */
	RT_SYS_CLI,          /* clear IF in the caller's RFLAGS */
	RT_SYS_CALL0,        /* call fn(arg) at CPL0, interrupts disabled */
	RT_SYS_COUNT
};

uint64_t rt_syscall(uint64_t nr, uint64_t a0, uint64_t a1);
void rt_wait_irq(void);
void rt_halt(void);
void rt_sti(void);
void rt_cli(void);
/* Run fn(arg) at CPL0 (exit-heavy loops: CPL0 exits are ~3x cheaper here). */
uint64_t rt_call0(uint64_t (*fn)(uint64_t), uint64_t arg);
/* Shut the CPU down (an empty IDT, then UD2 at CPL0): kvmrr ends with "triple fault". */
__attribute__((noreturn)) void rt_triple_fault(void);

/* ---- Console, exit ---- */
void rt_putc(char c);
void rt_puts(const char *s);   /* no newline added */
int rt_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int rt_vprintf(const char *fmt, va_list ap);
int rt_snprintf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int rt_vsnprintf(char *buf, size_t len, const char *fmt, va_list ap);
/* Print the final count line, write code to the debug-exit port. Never returns. */
__attribute__((noreturn)) void rt_exit(uint32_t code);
/* printf a "<guest>: FAIL ..." line and rt_exit(ABI_EXIT_FAIL). */
__attribute__((noreturn, format(printf, 1, 2))) void rt_fail(const char *fmt, ...);

/* ---- Command line: "key=value" and bare "flag" words ---- */
const char *rt_cmdline(void);
/* Value of key=value (or "" for a bare word "key"); NULL when absent. */
const char *rt_arg(const char *key);
bool rt_flag(const char *key);
/* Decimal or 0x-hex value of key, def when absent; a bad number exits ABI_EXIT_BADARG. */
uint64_t rt_arg_u64(const char *key, uint64_t def);

/* ---- Memory ---- */
/* Free RAM after the image (2 MiB aligned), from the PVH memory map. */
void rt_free_mem(uint64_t *base, uint64_t *size);
const struct abi_hvm_start_info *rt_start_info(void);

/* ---- Interrupts, PIC, PIT ---- */
typedef void (*rt_irq_fn)(struct rt_frame *f);
/* Set the handler of irq (0-15; runs at CPL0), init the PIC once, unmask irq. */
void rt_irq_register(unsigned irq, rt_irq_fn fn);
/* Handle exception vec (0-31) with fn at CPL0 instead of the report; ist: its IST stack (0: none, 1: #DF's). */
void rt_exc_register(unsigned vec, rt_irq_fn fn, unsigned ist);
void rt_pic_mask(unsigned irq);
void rt_pic_unmask(unsigned irq);
/* Channel 0, mode 2 at hz (divisor rounded); returns the divisor. */
uint32_t rt_pit_start(uint32_t hz);
void rt_pit_stop(void);
/* Latch and read channel 0's current count. */
uint16_t rt_pit_read(void);

/* ---- Strings ---- */
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

/* Guests define this; argc/argv are not used: see rt_arg(). */
int main(void);

#endif
