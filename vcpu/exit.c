/* SPDX-License-Identifier: MIT */
#include "vcpu/exit.h"

#include <string.h>

/* Indexed by KVM_EXIT_*; every value up to KVM_EXIT_NOTIFY is named. */
static const char *const exit_reason_names[] = {
	[KVM_EXIT_UNKNOWN] = "UNKNOWN",
	[KVM_EXIT_EXCEPTION] = "EXCEPTION",
	[KVM_EXIT_IO] = "IO",
	[KVM_EXIT_HYPERCALL] = "HYPERCALL",
	[KVM_EXIT_DEBUG] = "DEBUG",
	[KVM_EXIT_HLT] = "HLT",
	[KVM_EXIT_MMIO] = "MMIO",
	[KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
	[KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
	[KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
	[KVM_EXIT_INTR] = "INTR",
	[KVM_EXIT_SET_TPR] = "SET_TPR",
	[KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
	[KVM_EXIT_S390_SIEIC] = "S390_SIEIC",
	[KVM_EXIT_S390_RESET] = "S390_RESET",
	[KVM_EXIT_DCR] = "DCR",
	[KVM_EXIT_NMI] = "NMI",
	[KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
	[KVM_EXIT_OSI] = "OSI",
	[KVM_EXIT_PAPR_HCALL] = "PAPR_HCALL",
	[KVM_EXIT_S390_UCONTROL] = "S390_UCONTROL",
	[KVM_EXIT_WATCHDOG] = "WATCHDOG",
	[KVM_EXIT_S390_TSCH] = "S390_TSCH",
	[KVM_EXIT_EPR] = "EPR",
	[KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
	[KVM_EXIT_S390_STSI] = "S390_STSI",
	[KVM_EXIT_IOAPIC_EOI] = "IOAPIC_EOI",
	[KVM_EXIT_HYPERV] = "HYPERV",
	[KVM_EXIT_ARM_NISV] = "ARM_NISV",
	[KVM_EXIT_X86_RDMSR] = "X86_RDMSR",
	[KVM_EXIT_X86_WRMSR] = "X86_WRMSR",
	[KVM_EXIT_DIRTY_RING_FULL] = "DIRTY_RING_FULL",
	[KVM_EXIT_AP_RESET_HOLD] = "AP_RESET_HOLD",
	[KVM_EXIT_X86_BUS_LOCK] = "X86_BUS_LOCK",
	[KVM_EXIT_XEN] = "XEN",
	[KVM_EXIT_RISCV_SBI] = "RISCV_SBI",
	[KVM_EXIT_RISCV_CSR] = "RISCV_CSR",
	[KVM_EXIT_NOTIFY] = "NOTIFY",
};

_Static_assert(sizeof(exit_reason_names) / sizeof(exit_reason_names[0]) == VCPU_EXIT_REASON_COUNT,
	       "exit_reason_names must name every KVM_EXIT_* below VCPU_EXIT_REASON_COUNT");

const char *vcpu_exit_reason_name(uint32_t reason)
{
	if (reason >= VCPU_EXIT_REASON_COUNT || !exit_reason_names[reason])
		return "UNKNOWN_REASON";
	return exit_reason_names[reason];
}

static void decode_io(struct kvm_run *run, struct vcpu_exit *exit)
{
	/* KVM_EXIT_IO: the data sits inside the kvm_run mapping at data_offset. */
	exit->io.port = run->io.port;
	exit->io.size = run->io.size;
	exit->io.in = run->io.direction == KVM_EXIT_IO_IN;
	exit->io.count = run->io.count;
	exit->io.data = (uint8_t *)run + run->io.data_offset;
}

static void decode_mmio(struct kvm_run *run, struct vcpu_exit *exit)
{
	/* KVM_EXIT_MMIO */
	exit->mmio.gpa = run->mmio.phys_addr;
	exit->mmio.len = run->mmio.len;
	exit->mmio.write = run->mmio.is_write;
	exit->mmio.data = run->mmio.data;
}

static void decode_internal(struct kvm_run *run, struct vcpu_exit *exit)
{
	/* KVM_EXIT_INTERNAL_ERROR; ndata can exceed the array on a buggy kernel. */
	uint32_t n = run->internal.ndata;

	exit->internal.suberror = run->internal.suberror;
	exit->internal.ndata = n;
	if (n > 16)
		n = 16;
	memcpy(exit->internal.data, run->internal.data, n * sizeof(uint64_t));
}

static void decode_system_event(struct kvm_run *run, struct vcpu_exit *exit)
{
	/* KVM_EXIT_SYSTEM_EVENT; kernels before 5.18 set ndata 0 and data[0] is `flags`. */
	exit->system_event.type = run->system_event.type;
	exit->system_event.ndata = run->system_event.ndata;
	memcpy(exit->system_event.data, run->system_event.data, sizeof(exit->system_event.data));
}

static void decode_hypercall(struct kvm_run *run, struct vcpu_exit *exit)
{
	/* KVM_EXIT_HYPERCALL */
	exit->hypercall.nr = run->hypercall.nr;
	memcpy(exit->hypercall.args, run->hypercall.args, sizeof(exit->hypercall.args));
	exit->hypercall.ret = (uint64_t *)&run->hypercall.ret;
}

static void decode_msr(struct kvm_run *run, struct vcpu_exit *exit)
{
	/* KVM_EXIT_X86_RDMSR / KVM_EXIT_X86_WRMSR */
	exit->msr.reason = run->msr.reason;
	exit->msr.index = run->msr.index;
	exit->msr.data = (uint64_t *)&run->msr.data;
	exit->msr.error = &run->msr.error;
}

void vcpu_exit_decode(struct kvm_run *run, struct vcpu_exit *exit)
{
	memset(exit, 0, sizeof(*exit));
	exit->reason = run->exit_reason;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		decode_io(run, exit);
		break;
	case KVM_EXIT_MMIO:
		decode_mmio(run, exit);
		break;
	case KVM_EXIT_DEBUG:
		exit->debug = run->debug.arch;          /* KVM_EXIT_DEBUG */
		break;
	case KVM_EXIT_FAIL_ENTRY:                       /* KVM_EXIT_FAIL_ENTRY */
		exit->fail_entry.hardware_entry_failure_reason =
			run->fail_entry.hardware_entry_failure_reason;
		exit->fail_entry.cpu = run->fail_entry.cpu;
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		decode_internal(run, exit);
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		decode_system_event(run, exit);
		break;
	case KVM_EXIT_EXCEPTION:                        /* KVM_EXIT_EXCEPTION */
		exit->exception.exception = run->ex.exception;
		exit->exception.error_code = run->ex.error_code;
		break;
	case KVM_EXIT_UNKNOWN:                          /* KVM_EXIT_UNKNOWN */
		exit->unknown.hardware_exit_reason = run->hw.hardware_exit_reason;
		break;
	case KVM_EXIT_HYPERCALL:
		decode_hypercall(run, exit);
		break;
	case KVM_EXIT_X86_RDMSR:
	case KVM_EXIT_X86_WRMSR:
		decode_msr(run, exit);
		break;
	case KVM_EXIT_TPR_ACCESS:                       /* KVM_EXIT_TPR_ACCESS */
		exit->tpr_access.rip = run->tpr_access.rip;
		exit->tpr_access.is_write = run->tpr_access.is_write;
		break;
	case KVM_EXIT_NOTIFY:
		exit->notify.flags = run->notify.flags;   /* KVM_EXIT_NOTIFY */
		break;
	case KVM_EXIT_IOAPIC_EOI:
		exit->eoi.vector = run->eoi.vector;       /* KVM_EXIT_IOAPIC_EOI */
		break;
	case KVM_EXIT_HYPERV:
		exit->hyperv = &run->hyperv;              /* KVM_EXIT_HYPERV */
		break;
	case KVM_EXIT_XEN:
		exit->xen = &run->xen;                    /* KVM_EXIT_XEN */
		break;
	case KVM_EXIT_HLT:
		exit->hlt.len = 0;                        /* the VMM may fill it (machine/tsc.c) */
		break;
	case KVM_EXIT_IRQ_WINDOW_OPEN:
	case KVM_EXIT_SHUTDOWN:
	case KVM_EXIT_INTR:
	case KVM_EXIT_NMI:
	case KVM_EXIT_SET_TPR:
	case KVM_EXIT_DIRTY_RING_FULL:
	case KVM_EXIT_AP_RESET_HOLD:
	case KVM_EXIT_X86_BUS_LOCK:
		/* No payload: the reason is all there is (cr8, if_flag stay in kvm_run). */
		break;
	default:
		/* Not an x86 exit, or newer than this build: the reason number is kept. */
		break;
	}
}
