/* SPDX-License-Identifier: MIT */
/*
 * What gdb sees of the replayed vCPU: the x86-64 target description (always
 * the 64-bit layout: core, x87, SSE, fs_base/gs_base, and cr0/cr2/cr3/cr4/
 * efer in a feature of their own), the registers in that order, and guest
 * memory read through the page tables of the current CR3 by a software walk
 * (no paging, 32-bit, PAE, 4- and 5-level; 4 KiB, 2/4 MiB and 1 GiB pages).
 */
#ifndef KVMRR_REPLAY_GDB_TARGET_H
#define KVMRR_REPLAY_GDB_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

struct machine;

#define GDB_TARGET_NREGS 64
#define GDB_TARGET_REG_MAX 16     /* bytes of the largest register (xmm) */

/* The whole target description ("target.xml"). */
const char *gdb_target_xml(void);

/* The vCPU's registers, read once per stop. */
struct gdb_target_state {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xsave xsave;
};
/* 0 or -errno (a failed KVM_GET_* ioctl). */
int gdb_target_load(struct machine *m, struct gdb_target_state *st);
/* Register regno (gdb's numbering) into buf, little-endian; its size in bytes, or -EINVAL. */
int gdb_target_reg(const struct gdb_target_state *st, unsigned int regno, uint8_t *buf);

/*
 * Translate a virtual address with the vCPU's paging mode and CR3:
 * 0 with *gpa and *user (every level user-accessible), -EFAULT if not mapped.
 */
int gdb_target_translate(struct machine *m, const struct kvm_sregs *s, uint64_t va, uint64_t *gpa, bool *user);
/* Read len bytes at va; the number read (stops at the first unmapped byte), -EFAULT if none. */
int gdb_target_read(struct machine *m, const struct kvm_sregs *s, uint64_t va, uint8_t *buf, size_t len);

#endif
