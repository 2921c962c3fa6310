/* SPDX-License-Identifier: MIT */
/* Reports for runs that end badly: registers, instruction bytes, internal errors. */
#include "machine/machine.h"

#include <inttypes.h>
#include <string.h>

/* Up to len instruction bytes at CS:RIP, through the guest page tables; returns the count read. */
int machine_read_code(struct machine *m, uint8_t *buf, int len)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	int n = 0;

	if (vcpu_get_regs(&m->vcpu, &regs) < 0 || vcpu_get_sregs(&m->vcpu, &sregs) < 0)
		return 0;
	for (; n < len; n++) {
		struct kvm_translation tr = { .linear_address = sregs.cs.base + regs.rip + (uint64_t)n };
		uint8_t *p;

		if (vcpu_translate_gva(&m->vcpu, &tr) < 0 || !tr.valid)
			break;
		p = guest_mem_ptr(&m->mem, tr.physical_address, 1);
		if (!p)
			break;
		buf[n] = *p;
	}
	return n;
}

void machine_describe_internal_error(struct machine *m, const struct vcpu_exit *exit)
{
	uint8_t code[15];
	char bytes[64] = "";
	struct kvm_regs regs = { 0 };
	int n, used = 0;

	vcpu_get_regs(&m->vcpu, &regs);
	n = machine_read_code(m, code, (int)sizeof(code));
	for (int i = 0; i < n && used < (int)sizeof(bytes) - 4; i++)
		used += snprintf(bytes + used, sizeof(bytes) - used, "%s%02x", i ? " " : "", code[i]);
	m->end = END_INTERNAL_ERROR;
	snprintf(m->end_detail, sizeof(m->end_detail),
		 "KVM internal error, suberror %u%s at RIP 0x%" PRIx64 ", instruction bytes: %s",
		 exit->internal.suberror,
		 exit->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
			 " (emulation failure: KVM cannot emulate this instruction)" : "",
		 (uint64_t)regs.rip, n ? bytes : "(unreadable)");
}

static void dump_seg(FILE *out, const char *name, const struct kvm_segment *s)
{
	fprintf(out, "  %-3s sel=%04x base=%016" PRIx64 " limit=%08x type=%x dpl=%u l=%u db=%u p=%u\n",
		name, s->selector, (uint64_t)s->base, s->limit, s->type, s->dpl, s->l, s->db, s->present);
}

void machine_dump_gprs(struct machine *m, FILE *out)
{
	struct kvm_regs r;

	if (vcpu_get_regs(&m->vcpu, &r) < 0) {
		fprintf(out, "  (vCPU registers unavailable)\n");
		return;
	}
	fprintf(out, "  rip=%016llx rflags=%016llx\n", r.rip, r.rflags);
	fprintf(out, "  rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx\n", r.rax, r.rbx, r.rcx, r.rdx);
	fprintf(out, "  rsi=%016llx rdi=%016llx rsp=%016llx rbp=%016llx\n", r.rsi, r.rdi, r.rsp, r.rbp);
	fprintf(out, "  r8 =%016llx r9 =%016llx r10=%016llx r11=%016llx\n", r.r8, r.r9, r.r10, r.r11);
	fprintf(out, "  r12=%016llx r13=%016llx r14=%016llx r15=%016llx\n", r.r12, r.r13, r.r14, r.r15);
}

void machine_dump_sregs(struct machine *m, FILE *out)
{
	struct kvm_sregs s;

	if (vcpu_get_sregs(&m->vcpu, &s) < 0) {
		fprintf(out, "  (vCPU special registers unavailable)\n");
		return;
	}
	fprintf(out, "  cr0=%016llx cr2=%016llx cr3=%016llx cr4=%016llx efer=%llx\n",
		s.cr0, s.cr2, s.cr3, s.cr4, s.efer);
	dump_seg(out, "cs", &s.cs);
	dump_seg(out, "ss", &s.ss);
	dump_seg(out, "ds", &s.ds);
	fprintf(out, "  gdt base=%016llx limit=%04x  idt base=%016llx limit=%04x\n",
		s.gdt.base, s.gdt.limit, s.idt.base, s.idt.limit);
}

void machine_dump_regs(struct machine *m, FILE *out)
{
	machine_dump_gprs(m, out);
	machine_dump_sregs(m, out);
}
