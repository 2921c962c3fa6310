/* SPDX-License-Identifier: MIT */
/*
 * Typed KVM_RUN exits: vcpu_run() decodes the kvm_run page into a tagged
 * struct. `reason` is the kernel's KVM_EXIT_* value itself, so nothing is
 * lost: a reason this build does not know still comes back, with its number.
 */
#ifndef KVMRR_VCPU_EXIT_H
#define KVMRR_VCPU_EXIT_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

/* Highest KVM_EXIT_* value named by vcpu_exit_reason_name(); see the _Static_assert in exit.c. */
#define VCPU_EXIT_REASON_COUNT (KVM_EXIT_NOTIFY + 1)

struct vcpu_exit_io {
	uint16_t port;
	uint8_t size;     /* 1, 2 or 4 */
	bool in;          /* KVM_EXIT_IO_IN */
	uint32_t count;   /* > 1 for REP INS/OUTS */
	uint8_t *data;    /* size * count bytes inside the kvm_run page: read for OUT, fill for IN */
};

struct vcpu_exit_mmio {
	uint64_t gpa;
	uint32_t len;     /* 1..8 */
	bool write;
	uint8_t *data;    /* run->mmio.data: read for a write, fill for a read */
};

struct vcpu_exit {
	uint32_t reason;  /* KVM_EXIT_*; EINTR from KVM_RUN is reported as KVM_EXIT_INTR */
	union {
		struct vcpu_exit_io io;                 /* KVM_EXIT_IO */
		struct vcpu_exit_mmio mmio;             /* KVM_EXIT_MMIO */
		struct kvm_debug_exit_arch debug;       /* KVM_EXIT_DEBUG */
		struct {                                /* KVM_EXIT_HLT */
			uint32_t len;                   /* 0, or the bytes the VMM gave the guest at */
			uint8_t data[12];               /* this exit (a patched RDTSC: TSC, TSC_AUX) */
		} hlt;
		struct {                                /* KVM_EXIT_FAIL_ENTRY */
			uint64_t hardware_entry_failure_reason;
			uint32_t cpu;
		} fail_entry;
		struct {                                /* KVM_EXIT_INTERNAL_ERROR */
			uint32_t suberror;
			uint32_t ndata;
			uint64_t data[16];
		} internal;
		struct {                                /* KVM_EXIT_SYSTEM_EVENT */
			uint32_t type;
			uint32_t ndata;
			uint64_t data[16];
		} system_event;
		struct {                                /* KVM_EXIT_EXCEPTION */
			uint32_t exception;
			uint32_t error_code;
		} exception;
		struct {                                /* KVM_EXIT_UNKNOWN */
			uint64_t hardware_exit_reason;
		} unknown;
		struct {                                /* KVM_EXIT_HYPERCALL */
			uint64_t nr;
			uint64_t args[6];
			uint64_t *ret;                  /* run->hypercall.ret, for the caller to fill */
		} hypercall;
		struct {                                /* KVM_EXIT_X86_RDMSR / KVM_EXIT_X86_WRMSR */
			uint32_t reason;                /* KVM_MSR_EXIT_REASON_* */
			uint32_t index;
			uint64_t *data;                 /* run->msr.data: fill for RDMSR */
			uint8_t *error;                 /* run->msr.error: set 1 to inject #GP */
		} msr;
		struct {                                /* KVM_EXIT_TPR_ACCESS */
			uint64_t rip;
			uint32_t is_write;
		} tpr_access;
		struct {                                /* KVM_EXIT_NOTIFY */
			uint32_t flags;
		} notify;
		struct {                                /* KVM_EXIT_IOAPIC_EOI */
			uint8_t vector;
		} eoi;
		struct kvm_hyperv_exit *hyperv;         /* KVM_EXIT_HYPERV: run->hyperv, in place */
		struct kvm_xen_exit *xen;               /* KVM_EXIT_XEN: run->xen, in place (fill the result) */
		struct {                                /* KVM_EXIT_X86_BUS_LOCK, KVM_EXIT_DIRTY_RING_FULL, ... */
			uint64_t unused;
		} none;
	};
};

/* "IO", "MMIO", "HLT", ...; "UNKNOWN_REASON" for a value past the table. Never NULL. */
const char *vcpu_exit_reason_name(uint32_t reason);

struct kvm_run;
/* Fill *exit from a kvm_run page after KVM_RUN returned 0 (exit->reason = run->exit_reason). */
void vcpu_exit_decode(struct kvm_run *run, struct vcpu_exit *exit);

#endif
