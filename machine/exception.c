/* SPDX-License-Identifier: MIT */
/*
 * Instructions the VMM executes itself, at an emulation failure. CLAC and
 * STAC (SMAP) only flip RFLAGS.AC; FWAIT without a pending x87 exception
 * does nothing. And the exceptions the VMM delivers itself. This host's KVM emulator cannot
 * execute INT3 in long mode at CPL0 (an emulation failure), and a #BP
 * injected with KVM_SET_VCPU_EVENTS makes no progress there, so the VMM does
 * what the CPU does (Intel SDM vol. 3, 6.14 "Exception and interrupt
 * handling in 64-bit mode"): read IDT gate 3, switch to its IST stack if it
 * names one, align the stack to 16, push SS, RSP, RFLAGS, CS and the RIP
 * after the INT3, clear TF, NT, RF (and IF for an interrupt gate), and jump
 * to the gate. Only the state of the guest decides the result: replay does
 * the same at the same recorded exit.
 */
#include "machine/machine.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#define EFER_LMA        (1ULL << 10)
#define RFLAGS_TF       (1ULL << 8)
#define RFLAGS_IF       (1ULL << 9)
#define RFLAGS_NT       (1ULL << 14)
#define RFLAGS_RF       (1ULL << 16)
#define RFLAGS_AC       (1ULL << 18)
#define CR0_MP          (1ULL << 1)
#define CR0_TS          (1ULL << 3)
#define FSW_ES          0x80
#define GATE_INTERRUPT  0xe
#define GATE_TRAP       0xf
#define TSS_IST1        0x24

/* Copy len bytes between buf and guest linear address gva (page by page through the page tables). */
static int linear_copy(struct machine *m, uint64_t gva, void *buf, size_t len, bool write)
{
	uint8_t *b = buf;

	while (len) {
		struct kvm_translation tr = { .linear_address = gva };
		size_t chunk = 4096 - (gva & 4095);
		uint8_t *p;

		if (chunk > len)
			chunk = len;
		if (vcpu_translate_gva(&m->vcpu, &tr) < 0 || !tr.valid || (write && !tr.writeable))
			return -EFAULT;
		p = guest_mem_ptr(&m->mem, tr.physical_address, chunk);
		if (!p)
			return -EFAULT;
		if (write) {
			memcpy(p, b, chunk);
			if (m->vmm_wrote)
				m->vmm_wrote(m, tr.physical_address);
		}
		else
			memcpy(b, p, chunk);
		gva += chunk;
		b += chunk;
		len -= chunk;
	}
	return 0;
}

/* The 64-bit code segment named by sel, from the GDT, as KVM_SET_SREGS wants it. */
static int load_code_segment(struct machine *m, const struct kvm_sregs *s, uint16_t sel,
			     struct kvm_segment *cs)
{
	uint64_t d;

	if ((sel & ~7u) == 0 || (sel & 4) || (uint32_t)(sel & ~7u) + 7 > s->gdt.limit ||
	    linear_copy(m, s->gdt.base + (sel & ~7u), &d, 8, false) < 0)
		return -EINVAL;
	*cs = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel,
		.type = (uint8_t)(d >> 40 & 0xf), .s = (uint8_t)(d >> 44 & 1),
		.dpl = (uint8_t)(d >> 45 & 3), .present = (uint8_t)(d >> 47 & 1),
		.avl = (uint8_t)(d >> 52 & 1), .l = (uint8_t)(d >> 53 & 1),
		.db = (uint8_t)(d >> 54 & 1), .g = (uint8_t)(d >> 55 & 1),
	};
	return cs->present && cs->s && (cs->type & 8) && cs->l && !cs->db && cs->dpl == 0 ? 0 : -EINVAL;
}

int machine_deliver_int3(struct machine *m, char *why, size_t whylen)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	struct kvm_segment cs;
	uint8_t op = 0, gate[16];
	uint64_t frame[5], target, rsp;
	unsigned int ist, type;

	if (vcpu_get_regs(&m->vcpu, &r) < 0 || vcpu_get_sregs(&m->vcpu, &s) < 0) {
		snprintf(why, whylen, "cannot read the vCPU registers");
		return -EIO;
	}
	if (!(s.efer & EFER_LMA) || !s.cs.l || (s.cs.selector & 3) ||
	    machine_read_code(m, &op, 1) != 1 || op != 0xcc)
		return -ENOENT;   /* not an INT3 at CPL0 in 64-bit mode */
	if (s.idt.limit < 3 * 16 + 15 || linear_copy(m, s.idt.base + 3 * 16, gate, 16, false) < 0) {
		snprintf(why, whylen, "IDT gate 3 unreadable (IDT base 0x%" PRIx64 " limit 0x%x)",
			 (uint64_t)s.idt.base, s.idt.limit);
		return -EFAULT;
	}
	type = gate[5] & 0xf;
	ist = gate[4] & 7;
	target = (uint64_t)(gate[0] | gate[1] << 8) | (uint64_t)(gate[6] | gate[7] << 8) << 16 |
		 (uint64_t)(gate[8] | gate[9] << 8 | gate[10] << 16 | (uint32_t)gate[11] << 24) << 32;
	if (!(gate[5] & 0x80) || (type != GATE_INTERRUPT && type != GATE_TRAP) ||
	    load_code_segment(m, &s, (uint16_t)(gate[2] | gate[3] << 8), &cs) < 0) {
		snprintf(why, whylen, "IDT gate 3 is not a present 64-bit gate to a CPL0 code segment "
			 "(type 0x%x, attributes 0x%02x, selector 0x%x)", type, gate[5], gate[2] | gate[3] << 8);
		return -EINVAL;
	}
	rsp = r.rsp;
	if (ist && linear_copy(m, s.tr.base + TSS_IST1 + (ist - 1) * 8, &rsp, 8, false) < 0) {
		snprintf(why, whylen, "TSS (base 0x%" PRIx64 ") IST%u unreadable", (uint64_t)s.tr.base, ist);
		return -EFAULT;
	}
	rsp = (rsp & ~15ULL) - sizeof(frame);
	frame[0] = r.rip + 1;
	frame[1] = s.cs.selector;
	frame[2] = r.rflags;
	frame[3] = r.rsp;
	frame[4] = s.ss.selector;
	if (linear_copy(m, rsp, frame, sizeof(frame), true) < 0) {
		snprintf(why, whylen, "cannot push the #BP frame at 0x%" PRIx64, rsp);
		return -EFAULT;
	}
	r.rsp = rsp;
	r.rip = target;
	r.rflags &= ~(RFLAGS_TF | RFLAGS_NT | RFLAGS_RF | (type == GATE_INTERRUPT ? RFLAGS_IF : 0));
	s.cs = cs;
	if (vcpu_set_sregs(&m->vcpu, &s) < 0 || vcpu_set_regs(&m->vcpu, &r) < 0) {
		snprintf(why, whylen, "cannot set the vCPU registers");
		return -EIO;
	}
	return 0;
}

/* CLAC (0f 01 ca) / STAC (0f 01 cb) at CPL0: RFLAGS.AC cleared / set, RIP past it. 1 done, 0 not one. */
static int emulate_clac_stac(struct machine *m)
{
	uint8_t op[3];
	struct kvm_regs r;
	struct kvm_sregs s;

	if (machine_read_code(m, op, 3) != 3 || op[0] != 0x0f || op[1] != 0x01 ||
	    (op[2] != 0xca && op[2] != 0xcb) || vcpu_get_sregs(&m->vcpu, &s) < 0 ||
	    (s.cs.selector & 3) || vcpu_get_regs(&m->vcpu, &r) < 0)
		return 0;
	r.rflags = op[2] == 0xca ? r.rflags & ~RFLAGS_AC : r.rflags | RFLAGS_AC;
	r.rip += 3;
	return vcpu_set_regs(&m->vcpu, &r) < 0 ? -EIO : 1;
}

/*
 * FWAIT (9b) at CPL0: with CR0.TS or CR0.MP clear (no #NM) and no x87
 * exception pending (FSW.ES clear, no #MF) it does nothing: RIP past it.
 * 1 done, 0 not one (or one that would fault: the caller reports it).
 */
static int emulate_fwait(struct machine *m)
{
	uint8_t op = 0;
	struct kvm_regs r;
	struct kvm_sregs s;
	struct kvm_fpu f;

	if (machine_read_code(m, &op, 1) != 1 || op != 0x9b || vcpu_get_sregs(&m->vcpu, &s) < 0 ||
	    (s.cs.selector & 3) || ((s.cr0 & CR0_TS) && (s.cr0 & CR0_MP)) ||
	    vcpu_get_fpu(&m->vcpu, &f) < 0 || (f.fsw & FSW_ES) || vcpu_get_regs(&m->vcpu, &r) < 0)
		return 0;
	r.rip += 1;
	return vcpu_set_regs(&m->vcpu, &r) < 0 ? -EIO : 1;
}

int machine_fixup_emulation_failure(struct machine *m, const struct vcpu_exit *exit)
{
	char why[256];
	uint64_t rip = vcpu_sync_regs_read(&m->vcpu)->regs.rip;
	int r;

	if (exit->reason != KVM_EXIT_INTERNAL_ERROR ||
	    exit->internal.suberror != KVM_INTERNAL_ERROR_EMULATION)
		return 0;
	r = emulate_clac_stac(m);
	if (r == 0)
		r = emulate_fwait(m);
	if (r != 0) {
		m->clac_stac_emulated += r > 0;
		if (r < 0)
			machine_set_end(m, END_ERROR, "CLAC/STAC/FWAIT: cannot set the vCPU registers");
		return r;
	}
	r = machine_deliver_int3(m, why, sizeof(why));
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		char detail[400];

		snprintf(detail, sizeof(detail), "INT3 at RIP 0x%" PRIx64
			 " (KVM cannot emulate it here): cannot deliver #BP: %s", rip, why);
		machine_set_end(m, END_INTERNAL_ERROR, detail);
		return r;
	}
	m->int3_delivered++;
	return 1;
}
