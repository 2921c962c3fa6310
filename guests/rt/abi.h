/* SPDX-License-Identifier: MIT */
/*
 * The machine ABI the kvmrr VMM (machine/) offers its guests, as the guest
 * runtime sees it. Plain constants and fixed-width structs only, so host code
 * may include this header too; everything is prefixed ABI_ / abi_ so it never
 * collides with the VMM's own names. Assembler files see the macros only.
 */
#ifndef KVMRR_GUESTS_RT_ABI_H
#define KVMRR_GUESTS_RT_ABI_H

/* ---- Boot: Xen PVH (xen/include/public/arch-x86/hvm/start_info.h) ---- */
/*
 * The image carries an ELF note named "Xen" of type XEN_ELFNOTE_PHYS32_ENTRY
 * whose 8-byte descriptor is the physical address of the 32-bit entry. The
 * loader enters it in 32-bit protected mode, paging off, flat 4 GiB CS/DS,
 * EBX = physical address of struct abi_hvm_start_info. Images load at 1 MiB.
 */
#define ABI_XEN_ELFNOTE_PHYS32_ENTRY 18
#define ABI_HVM_START_MAGIC          0x336ec578
#define ABI_LOAD_ADDR                0x100000
#define ABI_MEMMAP_TYPE_RAM          1

/* ---- 8250 UART, COM1 ---- */
#define ABI_UART_BASE      0x3f8
#define ABI_UART_THR       0      /* write: transmit holding register */
#define ABI_UART_RBR       0      /* read: receive buffer */
#define ABI_UART_IER       1
#define ABI_UART_IIR       2      /* read: interrupt identification */
#define ABI_UART_FCR       2      /* write: FIFO control */
#define ABI_UART_LCR       3
#define ABI_UART_MCR       4
#define ABI_UART_LSR       5
#define ABI_UART_MSR       6
#define ABI_UART_SCR       7      /* scratch: any value written reads back */
#define ABI_UART_LSR_DR    0x01   /* data ready */
#define ABI_UART_LSR_THRE  0x20   /* transmit holding register empty */
#define ABI_UART_IRQ       4

/*
 * ---- Debug exit (QEMU isa-debug-exit, iobase=0xf4, iosize=4) ----
 * A 32-bit OUT of v ends the run with process status (v << 1) | 1; the
 * runtime writes its exit code there, so code 0 is status 1.
 */
#define ABI_PORT_DEBUG_EXIT 0xf4

/* ---- Entropy: IN of 1, 2 or 4 bytes returns that many random bytes ---- */
#define ABI_PORT_ENTROPY    0x5e0

/* ---- i8259 PIC pair, remapped by the runtime to vectors 0x20-0x2f ---- */
#define ABI_PIC1_CMD        0x20
#define ABI_PIC1_DATA       0x21
#define ABI_PIC2_CMD        0xa0
#define ABI_PIC2_DATA       0xa1
#define ABI_PIC_EOI         0x20
#define ABI_IRQ_VECTOR_BASE 0x20

/* ---- i8254 PIT; channel 0 drives IRQ0, port 0x61 bit 0 gates channel 2 ---- */
#define ABI_PIT_CH0         0x40
#define ABI_PIT_CH2         0x42
#define ABI_PIT_CMD         0x43
#define ABI_PIT_GATE        0x61
#define ABI_PIT_HZ          1193182
#define ABI_PIT_IRQ         0

/* ---- CMOS RTC ---- */
#define ABI_RTC_INDEX       0x70
#define ABI_RTC_DATA        0x71

/* ---- MMIO test device (4 KiB at 0xd0000000) ---- */
#define ABI_MMIO_TEST_GPA     0xd0000000
#define ABI_MMIO_TEST_SIZE    0x1000
#define ABI_MMIO_TEST_SCRATCH 0x00   /* read/write, 32 or 64-bit */
#define ABI_MMIO_TEST_TIME_NS 0x08   /* read-only, 64-bit, free-running host ns */
#define ABI_MMIO_TEST_EXITS   0x10   /* read-only, 64-bit, exits handled so far */
#define ABI_MMIO_TEST_ID      0x18   /* read-only, 32-bit */
#define ABI_MMIO_TEST_ID_VALUE 0x5252564b /* "KVRR" little-endian */

/* No LAPIC, no IOAPIC. */
#define ABI_DEFAULT_RAM     (256u << 20)

/* Exit codes of the bundled guests (written to ABI_PORT_DEBUG_EXIT). */
#define ABI_EXIT_OK         0   /* status 1 */
#define ABI_EXIT_FAIL       1   /* a self-check failed: status 3 */
#define ABI_EXIT_EXCEPTION  2   /* unexpected CPU exception: status 5 */
#define ABI_EXIT_BADARG     3   /* bad command line: status 7 */

#ifndef __ASSEMBLER__
#include <stdint.h>

struct abi_hvm_start_info {
	uint32_t magic;           /* ABI_HVM_START_MAGIC */
	uint32_t version;         /* 1: the memmap fields are valid */
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;   /* struct abi_hvm_modlist_entry[nr_modules] */
	uint64_t cmdline_paddr;   /* NUL-terminated, 0: none */
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;    /* struct abi_hvm_memmap_entry[memmap_entries] */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct abi_hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct abi_hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;            /* E820 type: 1 RAM */
	uint32_t reserved;
};

_Static_assert(sizeof(struct abi_hvm_start_info) == 56, "hvm_start_info layout");
_Static_assert(sizeof(struct abi_hvm_memmap_entry) == 24, "hvm_memmap_table_entry layout");
#endif

#endif
