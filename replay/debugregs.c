/* SPDX-License-Identifier: MIT */
/*
 * One KVM_SET_GUEST_DEBUG for two owners (struct replay_debug): DR0 for
 * reaching asynchronous points (replay/async.c), DR1-DR3 for gdb. Single
 * stepping is on when either asks for it. gdb's bits in dr7 never touch
 * DR0's; DR0 is enabled only while async.c wants its breakpoint.
 */
#include "replay/replay.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "stream/checkpoint.h"

#define DR7_L0 0x1ULL              /* DR0 enabled, R/W0 = 00 (execute), LEN0 = 00 */
#define DR7_DR0_BITS 0x000f0003ULL /* L0, G0, R/W0, LEN0 */

int replay_debug_apply(struct replay *r)
{
	const struct replay_debug *d = &r->dbg;
	struct kvm_guest_debug dbg;
	uint32_t control = 0;
	int rc;

	memset(&dbg, 0, sizeof(dbg));
	if (d->async_control & KVM_GUESTDBG_USE_HW_BP) {
		dbg.arch.debugreg[0] = d->async_rip;
		dbg.arch.debugreg[7] |= DR7_L0;
	}
	for (int i = 1; i < 4; i++)
		dbg.arch.debugreg[i] = d->addr[i];
	dbg.arch.debugreg[7] |= d->dr7 & ~DR7_DR0_BITS;
	if (dbg.arch.debugreg[7])
		control |= KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP;
	if ((d->async_control & KVM_GUESTDBG_SINGLESTEP) || d->step)
		control |= KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
	dbg.control = control;
	rc = vcpu_set_guest_debug(&r->m.vcpu, &dbg);
	if (rc < 0)
		err_set(&r->err, rc, "KVM_SET_GUEST_DEBUG control 0x%x dr7 0x%" PRIx64 ": %s", control,
			(uint64_t)dbg.arch.debugreg[7], strerror(-rc));
	return rc;
}

int replay_debug_settle(struct replay *r)
{
	struct kvm_guest_debug off;
	bool on = r->dbg.async_control || r->dbg.dr7 || r->dbg.step;
	int rc;

	if (!on)
		return stream_checkpoint_settle(&r->m, &r->err);
	memset(&off, 0, sizeof(off));
	rc = vcpu_set_guest_debug(&r->m.vcpu, &off);
	if (rc < 0)
		return err_set(&r->err, rc, "KVM_SET_GUEST_DEBUG off: %s", strerror(-rc));
	rc = stream_checkpoint_settle(&r->m, &r->err);
	return rc < 0 ? rc : replay_debug_apply(r);
}
