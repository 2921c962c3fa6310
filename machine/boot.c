/* SPDX-License-Identifier: MIT */
/* machine_load: a guest image into RAM and the vCPU into its boot state. */
#include "machine/machine.h"

#include <string.h>

#include "machine/loader.h"

#define APIC_BASE_ENABLE (1ULL << 11)   /* IA32_APIC_BASE: xAPIC global enable */

int machine_load(struct machine *m, struct err *err)
{
	struct loader_args args = {
		.kernel_path = m->cfg.guest_path,
		.initrd_path = m->cfg.initrd_path,
		.cmdline = m->cfg.cmdline,
		.tsc_sites = m->cfg.tsc_native ? NULL : &m->tsc_sites,
	};
	struct loader_result res;
	struct kvm_sregs sregs;
	int r;

	r = loader_load(&m->mem, &args, &res, err);
	if (r < 0)
		return r;
	m->loader = res.kind_name;
	r = vcpu_get_sregs(&m->vcpu, &sregs);
	if (r < 0) {
		err_printf(err, "KVM_GET_SREGS: %s", strerror(-r));
		return r;
	}
	loader_apply_sregs(&res, &sregs);
	/*
	 * There is no LAPIC in the default machine. KVM derives CPUID.1:EDX.APIC
	 * from IA32_APIC_BASE's enable bit at run time, so clear it too, or a
	 * guest still finds an APIC whatever the CPUID profile says.
	 */
	sregs.apic_base &= ~APIC_BASE_ENABLE;
	r = vcpu_set_sregs(&m->vcpu, &sregs);
	if (r < 0) {
		err_printf(err, "KVM_SET_SREGS (boot state of the %s image): %s",
			 res.kind_name, strerror(-r));
		return r;
	}
	r = vcpu_set_regs(&m->vcpu, &res.regs);
	if (r < 0)
		err_printf(err, "KVM_SET_REGS (boot state): %s", strerror(-r));
	return r;
}
