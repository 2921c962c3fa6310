/* SPDX-License-Identifier: MIT */
/* machine_load: a guest image into RAM and the vCPU into its boot state. */
#include "machine/machine.h"

#include <string.h>

#include "machine/loader.h"

int machine_load(struct machine *m, char *err, size_t errlen)
{
	struct loader_args args = {
		.kernel_path = m->cfg.guest_path,
		.initrd_path = m->cfg.initrd_path,
		.cmdline = m->cfg.cmdline,
	};
	struct loader_result res;
	struct kvm_sregs sregs;
	int r;

	r = loader_load(&m->mem, &args, &res, err, errlen);
	if (r < 0)
		return r;
	m->loader = res.kind_name;
	r = vcpu_get_sregs(&m->vcpu, &sregs);
	if (r < 0) {
		snprintf(err, errlen, "KVM_GET_SREGS: %s", strerror(-r));
		return r;
	}
	loader_apply_sregs(&res, &sregs);
	r = vcpu_set_sregs(&m->vcpu, &sregs);
	if (r < 0) {
		snprintf(err, errlen, "KVM_SET_SREGS (boot state of the %s image): %s",
			 res.kind_name, strerror(-r));
		return r;
	}
	r = vcpu_set_regs(&m->vcpu, &res.regs);
	if (r < 0)
		snprintf(err, errlen, "KVM_SET_REGS (boot state): %s", strerror(-r));
	return r;
}
