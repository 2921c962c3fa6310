/* SPDX-License-Identifier: MIT */
#include "stream/snapshot.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream/format.h"
#include "vcpu/kvm.h"

static const char *const kind_names[STREAM_STATE_COUNT] = {
	[STREAM_STATE_SREGS] = "sregs",     [STREAM_STATE_REGS] = "regs",
	[STREAM_STATE_FPU] = "fpu",         [STREAM_STATE_XCRS] = "xcrs",
	[STREAM_STATE_XSAVE] = "xsave",     [STREAM_STATE_MSRS] = "msrs",
	[STREAM_STATE_DEBUGREGS] = "debugregs", [STREAM_STATE_MP_STATE] = "mp_state",
	[STREAM_STATE_EVENTS] = "events",
};
_Static_assert(sizeof(kind_names) / sizeof(kind_names[0]) == STREAM_STATE_COUNT,
	       "one name per state kind");

const char *stream_state_kind_name(unsigned int kind)
{
	return kind < STREAM_STATE_COUNT ? kind_names[kind] : NULL;
}

static size_t msrs_size(uint32_t n)
{
	return sizeof(struct kvm_msrs) + (size_t)n * sizeof(struct kvm_msr_entry);
}

/*
 * KVM_GET_MSRS stops at the first MSR it cannot read and returns how many it
 * did (api.rst 4.18): skip that one and go on with the rest.
 */
/*
 * Paravirtual MSRs (kvmclock 0x11/0x12, KVM's 0x4b564dxx, Hyper-V's
 * 0x400000xx) belong to the hypervisor CPUID leaves the deterministic
 * profile hides; KVM then refuses to set some of them on restore.
 */
static bool msr_is_paravirt(uint32_t index)
{
	return index == 0x11 || index == 0x12 || (index >= 0x4b564d00 && index <= 0x4b564dff) ||
	       (index >= 0x40000000 && index <= 0x400000ff);
}

static int take_msrs(struct stream_snapshot *s, const struct vcpu *vcpu, int kvm_fd,
		     struct err *err)
{
	struct kvm_msr_list *list = NULL;
	struct kvm_msrs *out, *batch = NULL;
	uint32_t done = 0;
	int r = kvm_get_msr_index_list(kvm_fd, &list);

	if (r < 0) {
		err_printf(err, "snapshot: KVM_GET_MSR_INDEX_LIST: %s", strerror(-r));
		return r;
	}
	out = calloc(1, msrs_size(list->nmsrs));
	batch = calloc(1, msrs_size(list->nmsrs));
	if (!out || !batch) {
		r = -ENOMEM;
		err_printf(err, "snapshot: %u MSRs: out of memory", list->nmsrs);
		goto out;
	}
	for (uint32_t i = 0; i < list->nmsrs;) {
		batch->nmsrs = list->nmsrs - i;
		for (uint32_t j = 0; j < batch->nmsrs; j++)
			batch->entries[j] = (struct kvm_msr_entry){ .index = list->indices[i + j] };
		r = vcpu_get_msrs(vcpu, batch);
		if (r < 0) {
			err_printf(err, "snapshot: KVM_GET_MSRS from 0x%x: %s",
				 list->indices[i], strerror(-r));
			goto out;
		}
		for (int j = 0; j < r; j++)
			if (!msr_is_paravirt(batch->entries[j].index))
				out->entries[done++] = batch->entries[j];
		i += (uint32_t)r + 1;   /* +1: skip the one KVM refused */
	}
	out->nmsrs = done;
	s->msrs = out;
	out = NULL;
	r = 0;
out:
	free(out);
	free(batch);
	free(list);
	return r;
}

int stream_snapshot_take(struct stream_snapshot *s, const struct vcpu *vcpu, int kvm_fd,
			 struct err *err)
{
	const char *what = NULL;
	int r;

	memset(s, 0, sizeof(*s));
	if ((r = vcpu_get_sregs(vcpu, &s->sregs)) < 0)
		what = "KVM_GET_SREGS";
	else if ((r = vcpu_get_regs(vcpu, &s->regs)) < 0)
		what = "KVM_GET_REGS";
	else if ((r = vcpu_get_fpu(vcpu, &s->fpu)) < 0)
		what = "KVM_GET_FPU";
	else if ((r = vcpu_get_debug_regs(vcpu, &s->debugregs)) < 0)
		what = "KVM_GET_DEBUGREGS";
	else if ((r = vcpu_get_mp_state(vcpu, &s->mp_state)) < 0)
		what = "KVM_GET_MP_STATE";
	else if ((r = vcpu_get_vcpu_events(vcpu, &s->events)) < 0)
		what = "KVM_GET_VCPU_EVENTS";
	if (what) {
		err_printf(err, "snapshot of vcpu %u: %s: %s", vcpu->id, what, strerror(-r));
		return r;
	}
	s->have = 1U << STREAM_STATE_SREGS | 1U << STREAM_STATE_REGS | 1U << STREAM_STATE_FPU |
		  1U << STREAM_STATE_DEBUGREGS | 1U << STREAM_STATE_MP_STATE |
		  1U << STREAM_STATE_EVENTS;
	/* XCRS/XSAVE need KVM_CAP_XCRS/KVM_CAP_XSAVE; a host without them has no such state. */
	if (vcpu_get_xcrs(vcpu, &s->xcrs) == 0)
		s->have |= 1U << STREAM_STATE_XCRS;
	if (vcpu_get_xsave(vcpu, &s->xsave) == 0)
		s->have |= 1U << STREAM_STATE_XSAVE;
	r = take_msrs(s, vcpu, kvm_fd, err);
	if (r < 0)
		return r;
	s->have |= 1U << STREAM_STATE_MSRS;
	return 0;
}

static int restore_msrs(const struct kvm_msrs *msrs, const struct vcpu *vcpu, struct err *err)
{
	int r = vcpu_set_msrs(vcpu, msrs);

	if (r >= 0 && (uint32_t)r < msrs->nmsrs) {
		const struct kvm_msr_entry *e = &msrs->entries[r];

		return err_set(err, -EINVAL, "restore: KVM_SET_MSRS refused MSR 0x%x = 0x%llx (%d of %u set)",
			 e->index, (unsigned long long)e->data, r, msrs->nmsrs);
	}
	if (r < 0)
		err_printf(err, "restore: KVM_SET_MSRS (%u MSRs): %s", msrs->nmsrs, strerror(-r));
	return r < 0 ? r : 0;
}

int stream_snapshot_restore(const struct stream_snapshot *s, const struct vcpu *vcpu,
			    struct err *err)
{
	for (unsigned int k = 0; k < STREAM_STATE_COUNT; k++) {
		struct kvm_vcpu_events ev;
		int r = 0;

		if (!(s->have & (1U << k)))
			continue;
		switch (k) {
		case STREAM_STATE_SREGS: r = vcpu_set_sregs(vcpu, &s->sregs); break;
		case STREAM_STATE_REGS: r = vcpu_set_regs(vcpu, &s->regs); break;
		case STREAM_STATE_FPU: r = vcpu_set_fpu(vcpu, &s->fpu); break;
		case STREAM_STATE_XCRS: r = vcpu_set_xcrs(vcpu, &s->xcrs); break;
		case STREAM_STATE_XSAVE: r = vcpu_set_xsave(vcpu, &s->xsave); break;
		case STREAM_STATE_MSRS:
			r = restore_msrs(s->msrs, vcpu, err);
			if (r < 0)
				return r;
			break;
		case STREAM_STATE_DEBUGREGS: r = vcpu_set_debug_regs(vcpu, &s->debugregs); break;
		case STREAM_STATE_MP_STATE: r = vcpu_set_mp_state(vcpu, &s->mp_state); break;
		case STREAM_STATE_EVENTS:
			/* GET leaves these flags clear; set them so NMI and SIPI state are restored too. */
			ev = s->events;
			ev.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR;
			r = vcpu_set_vcpu_events(vcpu, &ev);
			break;
		}
		if (r < 0) {
			err_printf(err, "restore of vcpu %u: setting %s: %s", vcpu->id,
				 kind_names[k], strerror(-r));
			return r;
		}
	}
	return 0;
}

void stream_snapshot_free(struct stream_snapshot *s)
{
	free(s->msrs);
	s->msrs = NULL;
	s->have = 0;
}

const void *stream_snapshot_blob(const struct stream_snapshot *s, unsigned int kind, size_t *len)
{
	switch (kind) {
	case STREAM_STATE_SREGS: *len = sizeof(s->sregs); return &s->sregs;
	case STREAM_STATE_REGS: *len = sizeof(s->regs); return &s->regs;
	case STREAM_STATE_FPU: *len = sizeof(s->fpu); return &s->fpu;
	case STREAM_STATE_XCRS: *len = sizeof(s->xcrs); return &s->xcrs;
	case STREAM_STATE_XSAVE: *len = sizeof(s->xsave); return &s->xsave;
	case STREAM_STATE_MSRS:
		*len = s->msrs ? msrs_size(s->msrs->nmsrs) : 0;
		return s->msrs;
	case STREAM_STATE_DEBUGREGS: *len = sizeof(s->debugregs); return &s->debugregs;
	case STREAM_STATE_MP_STATE: *len = sizeof(s->mp_state); return &s->mp_state;
	case STREAM_STATE_EVENTS: *len = sizeof(s->events); return &s->events;
	default: *len = 0; return NULL;
	}
}

int stream_snapshot_save(sqlite3 *db, uint32_t vcpu, const char *phase,
			 const struct stream_snapshot *s, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO vcpu_state(vcpu, phase, kind, data)"
				    " VALUES(?, ?, ?, ?)", -1, &st, NULL);

	for (unsigned int k = 0; rc == SQLITE_OK && k < STREAM_STATE_COUNT; k++) {
		size_t len;
		const void *blob = stream_snapshot_blob(s, k, &len);

		if (!(s->have & (1U << k)) || !blob)
			continue;
		sqlite3_bind_int64(st, 1, vcpu);
		sqlite3_bind_text(st, 2, phase, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, kind_names[k], -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 4, blob, (int)len, SQLITE_STATIC);
		rc = sqlite3_step(st);
		rc = rc == SQLITE_DONE ? sqlite3_reset(st) : rc;
	}
	if (rc != SQLITE_OK)
		err_printf(err, "writing the %s vCPU %u state: %s", phase, vcpu, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? 0 : stream_sqlite_errno(rc);
}

static int load_kind(struct stream_snapshot *s, unsigned int k, const void *blob, size_t len,
		     struct err *err)
{
	size_t want;
	void *dst;

	if (k == STREAM_STATE_MSRS) {
		const struct kvm_msrs *m = blob;

		if (len < sizeof(*m) || len != msrs_size(m->nmsrs)) {
			return err_set(err, -EINVAL, "vcpu_state msrs: %zu bytes does not hold a kvm_msrs "
				 "header and its entries (%zu bytes for nmsrs %u)", len,
				 len >= sizeof(*m) ? msrs_size(m->nmsrs) : sizeof(*m),
				 len >= sizeof(*m) ? m->nmsrs : 0);
		}
		free(s->msrs);
		s->msrs = malloc(len);
		if (!s->msrs)
			return -ENOMEM;
		memcpy(s->msrs, blob, len);
		return 0;
	}
	dst = (void *)stream_snapshot_blob(s, k, &want);
	if (len != want) {
		return err_set(err, -EINVAL, "vcpu_state %s: %zu bytes, wanted %zu (sizeof the KVM struct)",
			 kind_names[k], len, want);
	}
	memcpy(dst, blob, len);
	return 0;
}

int stream_snapshot_load(sqlite3 *db, uint32_t vcpu, const char *phase,
			 struct stream_snapshot *s, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int r = 0, rc;

	memset(s, 0, sizeof(*s));
	rc = sqlite3_prepare_v2(db, "SELECT kind, data FROM vcpu_state WHERE vcpu = ? AND phase = ?",
				-1, &st, NULL);
	if (rc != SQLITE_OK) {
		err_printf(err, "reading vcpu_state: %s", sqlite3_errmsg(db));
		return stream_sqlite_errno(rc);
	}
	sqlite3_bind_int64(st, 1, vcpu);
	sqlite3_bind_text(st, 2, phase, -1, SQLITE_STATIC);
	while (!r && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *kind = (const char *)sqlite3_column_text(st, 0);
		unsigned int k;

		for (k = 0; k < STREAM_STATE_COUNT && strcmp(kind ? kind : "", kind_names[k]); k++)
			;
		if (k == STREAM_STATE_COUNT) {
			err_printf(err, "vcpu_state: unknown kind '%s' for vcpu %u %s",
				 kind ? kind : "(null)", vcpu, phase);
			r = -EINVAL;
			break;
		}
		r = load_kind(s, k, sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1),
			      err);
		if (!r)
			s->have |= 1U << k;
	}
	sqlite3_finalize(st);
	if (!r && !s->have) {
		err_printf(err, "vcpu_state has no %s state for vcpu %u", phase, vcpu);
		r = -ENOENT;
	}
	if (r < 0)
		stream_snapshot_free(s);
	return r;
}
