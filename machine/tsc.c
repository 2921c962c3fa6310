/* SPDX-License-Identifier: MIT */
/*
 * RDTSC under the VMM's control, the run-time half: the loader replaced
 * every RDTSC/RDTSCP with HLT+NOP (machine/loader_tsc.c); at the HLT exit
 * the VMM gives the guest the value the instruction would have read.
 */
#include "machine/machine.h"

#include "common/clock.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#define MSR_IA32_TSC  0x10
#define MSR_TSC_AUX   0xc0000103

/* KVM_GET_MSRS of one MSR. */
static int read_msr(struct machine *m, uint32_t index, uint64_t *value)
{
	/* struct kvm_msrs ends in a flexible array: one entry after its header, aligned. */
	_Alignas(struct kvm_msrs) uint8_t buf[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)] = { 0 };
	struct kvm_msrs *msrs = (struct kvm_msrs *)buf;
	int r;

	msrs->nmsrs = 1;
	msrs->entries[0].index = index;
	r = vcpu_get_msrs(&m->vcpu, msrs);
	if (r != 1)
		return r < 0 ? r : -EIO;
	*value = msrs->entries[0].data;
	return 0;
}

/* The guest's TSC now: host TSC plus the offset measured once (KVM's own offset). */
static int guest_tsc(struct machine *m, uint64_t *tsc)
{
	if (!m->tsc_offset_known) {
		uint64_t before = clock_rdtsc(), guest, after;
		int r = read_msr(m, MSR_IA32_TSC, &guest);

		after = clock_rdtsc();
		if (r < 0)
			return r;
		m->tsc_offset = (int64_t)(guest - (before + (after - before) / 2));
		m->tsc_offset_known = true;
	}
	*tsc = clock_rdtsc() + (uint64_t)m->tsc_offset;
	return 0;
}

/* The bytes the site gives the guest: TSC (8), then TSC_AUX (4) for RDTSCP. */
static int site_value(struct machine *m, const struct tsc_site *s, uint8_t *out, uint32_t *len)
{
	uint64_t tsc, aux = 0;
	int r = guest_tsc(m, &tsc);

	if (r == 0 && s->kind == TSC_SITE_RDTSCP)
		r = read_msr(m, MSR_TSC_AUX, &aux);
	if (r < 0)
		return r;
	memcpy(out, &tsc, 8);
	memcpy(out + 8, &aux, 4);
	*len = s->kind == TSC_SITE_RDTSCP ? 12 : 8;
	return 0;
}

int machine_tsc_exit(struct machine *m, struct vcpu_exit *exit, const uint8_t *recorded, size_t len)
{
	const struct tsc_site *s;
	struct kvm_regs regs;
	uint64_t tsc;
	uint32_t aux;
	char detail[200];
	int r;

	if (!m->tsc_sites.n || vcpu_get_regs(&m->vcpu, &regs) < 0 ||
	    !(s = tsc_sites_find(&m->tsc_sites, regs.rip - 1)))
		return 0;
	if (recorded) {
		r = len == (s->kind == TSC_SITE_RDTSCP ? 12u : 8u) ? 0 : -EINVAL;
		memcpy(exit->hlt.data, recorded, r == 0 ? len : 0);
		exit->hlt.len = (uint32_t)len;
	} else {
		r = site_value(m, s, exit->hlt.data, &exit->hlt.len);
	}
	memcpy(&tsc, exit->hlt.data, 8);
	memcpy(&aux, exit->hlt.data + 8, 4);
	regs.rax = (uint32_t)tsc;
	regs.rdx = tsc >> 32;
	if (s->kind == TSC_SITE_RDTSCP)
		regs.rcx = aux;
	regs.rip = s->addr + s->len;
	if (r == 0)
		r = vcpu_set_regs(&m->vcpu, &regs);
	if (r < 0) {
		snprintf(detail, sizeof(detail), "patched %s at 0x%" PRIx64 ": %s",
			 s->kind == TSC_SITE_RDTSCP ? "RDTSCP" : "RDTSC", s->addr,
			 r == -EINVAL ? "the recorded value has the wrong size" : strerror(-r));
		machine_set_end(m, END_ERROR, detail);
		return r;
	}
	m->tsc_exits++;
	return 1;
}
