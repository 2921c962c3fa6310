/* SPDX-License-Identifier: MIT */
/*
 * gdb's breakpoints and watchpoints in DR1-DR3 (DR0 is the asynchronous
 * points', replay/debugregs.c), the software check of write watchpoints,
 * and the settle at every stop.
 */
#include "replay/gdb_exec_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "replay/gdb_target.h"

static unsigned int len_bits(unsigned int len)
{
	return len == 1 ? 0 : len == 2 ? 1 : len == 8 ? 2 : 3;
}

/* Write gdb's part of the debug registers: breakpoints armed or not, single step or not. */
int gdb_exec_arm(struct gdb_exec *x, bool bps, bool step)
{
	struct replay_debug *d = &x->r->dbg;

	d->step = step;
	d->dr7 = 0;
	for (int i = 0; i < GDB_EXEC_NBP; i++) {
		const struct gdb_bp *b = &x->bp[i];
		int n = i + 1;

		d->addr[n] = b->used ? b->addr : 0;
		if (!b->used || !bps)
			continue;
		d->dr7 |= 1ULL << (2 * n);
		d->dr7 |= (uint64_t)b->type << (16 + 4 * n);
		if (b->type != GDB_BP_EXEC)
			d->dr7 |= (uint64_t)len_bits(b->len) << (18 + 4 * n);
	}
	return replay_debug_apply(x->r);
}

int gdb_exec_insert(struct gdb_exec *x, enum gdb_bp_type type, uint64_t addr, unsigned int len)
{
	if (type != GDB_BP_EXEC && ((len != 1 && len != 2 && len != 4 && len != 8) || (addr & (len - 1))))
		return -EINVAL;
	for (int i = 0; i < GDB_EXEC_NBP; i++)
		if (x->bp[i].used && x->bp[i].type == type && x->bp[i].addr == addr)
			return 0;
	for (int i = 0; i < GDB_EXEC_NBP; i++)
		if (!x->bp[i].used) {
			x->bp[i] = (struct gdb_bp){ .used = true, .type = type, .addr = addr, .len = len };
			return 0;
		}
	return -ENOSPC;
}

int gdb_exec_remove(struct gdb_exec *x, enum gdb_bp_type type, uint64_t addr, unsigned int len)
{
	(void)len;
	for (int i = 0; i < GDB_EXEC_NBP; i++)
		if (x->bp[i].used && x->bp[i].type == type && x->bp[i].addr == addr) {
			x->bp[i].used = false;
			return 0;
		}
	return 0;   /* removing what is not there is no error for gdb */
}

bool gdb_exec_at_bp(const struct gdb_exec *x, uint64_t rip)
{
	for (int i = 0; i < GDB_EXEC_NBP; i++)
		if (x->bp[i].used && x->bp[i].type == GDB_BP_EXEC && x->bp[i].addr == rip)
			return true;
	return false;
}

uint64_t gdb_exec_watch_read(struct gdb_exec *x, int i)
{
	uint64_t v = 0;

	guest_mem_read(&x->r->m.mem, x->watch_gpa[i], &v, x->bp[i].len);
	return v;
}

/* The write watchpoints' values (software check); sw_watch when there is one. */
void gdb_exec_watch_load(struct gdb_exec *x)
{
	struct kvm_sregs sregs;
	bool user, have = vcpu_get_sregs(&x->r->m.vcpu, &sregs) == 0;

	x->sw_watch = false;
	for (int i = 0; i < GDB_EXEC_NBP; i++) {
		x->watch_ok[i] = have && x->bp[i].used && x->bp[i].type == GDB_BP_WRITE &&
				 gdb_target_translate(&x->r->m, &sregs, x->bp[i].addr, &x->watch_gpa[i], &user) == 0;
		if (x->watch_ok[i]) {
			x->watch_val[i] = gdb_exec_watch_read(x, i);
			x->sw_watch = true;
		}
	}
}

/* The first write watchpoint whose value changed (its new value kept), -1 if none. */
int gdb_exec_watch_changed(struct gdb_exec *x)
{
	for (int i = 0; i < GDB_EXEC_NBP; i++) {
		uint64_t v;

		if (!x->watch_ok[i] || (v = gdb_exec_watch_read(x, i)) == x->watch_val[i])
			continue;
		x->watch_val[i] = v;
		return i;
	}
	return -1;
}

/* Complete the last exit's operation with gdb's debug registers off (a step must not fire there). */
int gdb_exec_settle(struct gdb_exec *x)
{
	int rc = replay_debug_settle(x->r);   /* with the debug registers KVM holds now off */

	/* Stopped: gdb's registers stay off (a seek replays with the replay's hook alone), DR0 back on. */
	x->r->dbg.dr7 = 0;
	x->r->dbg.step = false;
	return rc < 0 ? rc : replay_debug_apply(x->r);
}
