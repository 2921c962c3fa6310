/* SPDX-License-Identifier: MIT */
/*
 * vCPU fd ioctls, after kvm-ioctls' `VcpuFd` (x86_64). One function per
 * ioctl, named after it; 0 / documented value / -errno; never prints.
 */
#ifndef KVMRR_VCPU_VCPU_H
#define KVMRR_VCPU_VCPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "vcpu/exit.h"

struct vcpu {
	int fd;
	uint32_t id;
	struct kvm_run *run;        /* the shared kvm_run page(s), mmap'd on the vCPU fd */
	size_t run_size;
	struct kvm_coalesced_mmio_ring *coalesced_ring; /* NULL unless KVM_CAP_COALESCED_MMIO */
};

/* KVM_CREATE_VCPU + mmap of the kvm_run area (and the coalesced MMIO ring if any). */
int vcpu_open(struct vcpu *vcpu, int kvm_fd, int vm_fd, uint32_t id);
/* munmap + close; safe on a zeroed or half-opened struct (fd < 0 or 0 left alone when run == NULL). */
void vcpu_close(struct vcpu *vcpu);

/*
 * KVM_RUN, then decode the exit. Returns 0 with *exit filled; EINTR (a signal
 * or immediate_exit) is exit->reason == KVM_EXIT_INTR, not an error.
 * Returns -errno for real failures (e.g. -EFAULT, -ENOEXEC).
 */
int vcpu_run(struct vcpu *vcpu, struct vcpu_exit *exit);
/* The kvm_run page, for fields vcpu_exit does not cover (if_flag, cr8, ...). */
static inline struct kvm_run *vcpu_run_page(const struct vcpu *vcpu) { return vcpu->run; }
/* kvm_run.immediate_exit: when set, the next KVM_RUN returns EINTR at once. */
void vcpu_set_immediate_exit(struct vcpu *vcpu, bool on);
/* kvm_run.request_interrupt_window */
void vcpu_set_request_interrupt_window(struct vcpu *vcpu, bool on);

int vcpu_get_regs(const struct vcpu *vcpu, struct kvm_regs *regs);
int vcpu_set_regs(const struct vcpu *vcpu, const struct kvm_regs *regs);
int vcpu_get_sregs(const struct vcpu *vcpu, struct kvm_sregs *sregs);
int vcpu_set_sregs(const struct vcpu *vcpu, const struct kvm_sregs *sregs);
/* KVM_GET_FPU never fills fpu->mxcsr (the kernel copies every field but it); read MXCSR via XSAVE. */
int vcpu_get_fpu(const struct vcpu *vcpu, struct kvm_fpu *fpu);
int vcpu_set_fpu(const struct vcpu *vcpu, const struct kvm_fpu *fpu);
int vcpu_set_cpuid2(const struct vcpu *vcpu, const struct kvm_cpuid2 *cpuid);
/* KVM_GET_CPUID2: cpuid->nent is the capacity on entry, the count on return. */
int vcpu_get_cpuid2(const struct vcpu *vcpu, struct kvm_cpuid2 *cpuid);
int vcpu_enable_cap(const struct vcpu *vcpu, const struct kvm_enable_cap *cap);
/* KVM_GET_LAPIC / KVM_SET_LAPIC: -EINVAL without an in-kernel irqchip. */
int vcpu_get_lapic(const struct vcpu *vcpu, struct kvm_lapic_state *lapic);
int vcpu_set_lapic(const struct vcpu *vcpu, const struct kvm_lapic_state *lapic);
/* KVM_GET_MSRS / KVM_SET_MSRS: return the number of MSRs processed (may be < nmsrs). */
int vcpu_get_msrs(const struct vcpu *vcpu, struct kvm_msrs *msrs);
int vcpu_set_msrs(const struct vcpu *vcpu, const struct kvm_msrs *msrs);
int vcpu_get_mp_state(const struct vcpu *vcpu, struct kvm_mp_state *mp);
int vcpu_set_mp_state(const struct vcpu *vcpu, const struct kvm_mp_state *mp);
int vcpu_get_xsave(const struct vcpu *vcpu, struct kvm_xsave *xsave);
int vcpu_set_xsave(const struct vcpu *vcpu, const struct kvm_xsave *xsave);
int vcpu_get_xcrs(const struct vcpu *vcpu, struct kvm_xcrs *xcrs);
int vcpu_set_xcrs(const struct vcpu *vcpu, const struct kvm_xcrs *xcrs);
int vcpu_get_debug_regs(const struct vcpu *vcpu, struct kvm_debugregs *dregs);
int vcpu_set_debug_regs(const struct vcpu *vcpu, const struct kvm_debugregs *dregs);
int vcpu_get_vcpu_events(const struct vcpu *vcpu, struct kvm_vcpu_events *events);
int vcpu_set_vcpu_events(const struct vcpu *vcpu, const struct kvm_vcpu_events *events);
int vcpu_set_guest_debug(const struct vcpu *vcpu, const struct kvm_guest_debug *dbg);
int vcpu_kvmclock_ctrl(const struct vcpu *vcpu);
/* KVM_GET_TSC_KHZ returns the frequency (> 0); KVM_SET_TSC_KHZ. */
int vcpu_get_tsc_khz(const struct vcpu *vcpu);
int vcpu_set_tsc_khz(const struct vcpu *vcpu, uint32_t khz);
int vcpu_translate_gva(const struct vcpu *vcpu, struct kvm_translation *tr);
int vcpu_smi(const struct vcpu *vcpu);
int vcpu_nmi(const struct vcpu *vcpu);
/* KVM_INTERRUPT: inject an external interrupt (userspace irqchip only). */
int vcpu_interrupt(const struct vcpu *vcpu, uint32_t vector);

/*
 * Sync regs (KVM_CAP_SYNC_REGS): kvm_valid_regs asks KVM to fill run->s.regs
 * at every exit; kvm_dirty_regs tells it to load them at the next entry.
 * Masks are KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS.
 */
void vcpu_sync_regs_set_valid(struct vcpu *vcpu, uint64_t mask);
void vcpu_sync_regs_clear_valid(struct vcpu *vcpu, uint64_t mask);
void vcpu_sync_regs_set_dirty(struct vcpu *vcpu, uint64_t mask);
void vcpu_sync_regs_clear_dirty(struct vcpu *vcpu, uint64_t mask);
/* The sync area, valid after an exit for the parts in kvm_valid_regs. */
const struct kvm_sync_regs *vcpu_sync_regs_read(const struct vcpu *vcpu);
/* The sync area for writing; the caller then marks the parts dirty. */
struct kvm_sync_regs *vcpu_sync_regs_write(struct vcpu *vcpu);

/*
 * Coalesced MMIO ring (KVM_COALESCED_MMIO_PAGE_OFFSET in the vCPU mapping).
 * Pops the oldest entry into *out: returns 1 if one was popped, 0 if empty,
 * -ENODEV if the host has no ring.
 */
int vcpu_coalesced_mmio_pop(struct vcpu *vcpu, struct kvm_coalesced_mmio *out);

#endif
