/* SPDX-License-Identifier: MIT */
/*
 * A vCPU state snapshot: everything KVM lets userspace read about a vCPU
 * without an in-kernel irqchip, taken with the vcpu/ getters, stored in the
 * recording's vcpu_state table, and written back with the setters.
 * Record takes it right before the first KVM_RUN and at the end; replay
 * restores the initial one into a fresh VM.
 *
 * Restore order (stream_snapshot_restore), and why:
 *   1. sregs     - CR0/CR4/EFER decide how KVM interprets everything after
 *   2. regs      - RIP/RFLAGS after the mode is set
 *   3. fpu       - legacy FPU/SSE state ...
 *   4. xcrs      - XCR0 must enable the components before ...
 *   5. xsave     - ... the full XSAVE area is loaded (it wins over fpu)
 *   6. msrs      - after sregs: KVM re-derives EFER-dependent state from sregs,
 *                  and the TSC MSR is written late to keep its offset close
 *   7. debugregs
 *   8. mp_state
 *   9. events    - last: pending exceptions/interrupts and the interrupt
 *                  shadow must not be cleared by the writes above
 *                  (api.rst 4.31 KVM_SET_VCPU_EVENTS)
 */
#ifndef KVMRR_STREAM_SNAPSHOT_H
#define KVMRR_STREAM_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>
#include <sqlite3.h>

#include "common/err.h"
#include "vcpu/guest_mem.h"
#include "vcpu/vcpu.h"

/* vcpu_state.kind, in restore order. */
enum tracer_state_kind {
	STREAM_STATE_SREGS,
	STREAM_STATE_REGS,
	STREAM_STATE_FPU,
	STREAM_STATE_XCRS,
	STREAM_STATE_XSAVE,
	STREAM_STATE_MSRS,
	STREAM_STATE_DEBUGREGS,
	STREAM_STATE_MP_STATE,
	STREAM_STATE_EVENTS,
	STREAM_STATE_COUNT
};
/* "sregs", "regs", ... (the vcpu_state.kind text); NULL past the table. */
const char *stream_state_kind_name(unsigned int kind);

struct stream_snapshot {
	unsigned int have;                 /* bit (1 << kind) for each kind present */
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	struct kvm_xcrs xcrs;
	struct kvm_msrs *msrs;             /* malloc'd: header + nmsrs entries */
	struct kvm_debugregs debugregs;
	struct kvm_mp_state mp_state;
	struct kvm_vcpu_events events;
	/* Last: newer kernel headers end it with a flexible array, which clang refuses elsewhere. */
	struct kvm_xsave xsave;
};

/*
 * Read the whole state of vcpu. MSRs are the ones in KVM_GET_MSR_INDEX_LIST
 * (from kvm_fd) that can be read; those KVM refuses are skipped. XCRS and
 * XSAVE are left out (bit clear) when the host lacks them. 0 or -errno with
 * a message naming the getter.
 */
int stream_snapshot_take(struct stream_snapshot *s, const struct vcpu *vcpu, int kvm_fd,
			 struct err *err);
/* Write it back in the order above. 0 or -errno naming the setter (and the MSR). */
int stream_snapshot_restore(const struct stream_snapshot *s, const struct vcpu *vcpu,
			    struct err *err);
void stream_snapshot_free(struct stream_snapshot *s);

/* The blob of one kind as stored in vcpu_state.data (the KVM struct as returned). */
const void *stream_snapshot_blob(const struct stream_snapshot *s, unsigned int kind, size_t *len);

/* INSERT the present kinds as rows (vcpu, phase, kind, data). Caller runs the transaction. */
int stream_snapshot_save(sqlite3 *db, uint32_t vcpu, const char *phase,
			 const struct stream_snapshot *s, struct err *err);
/*
 * Load the rows of (vcpu, phase). -ENOENT if there are none, -EINVAL for a
 * blob whose size does not match its struct (the message names the kind,
 * both sizes).
 */
int stream_snapshot_load(sqlite3 *db, uint32_t vcpu, const char *phase,
			 struct stream_snapshot *s, struct err *err);

/* SHA-256 over every RAM region of mem in gpa order; hex is 65 bytes (NUL-terminated). */
void stream_mem_digest(const struct guest_mem *mem, uint8_t digest[32], char hex[65]);

#endif
