/* SPDX-License-Identifier: MIT */
/*
 * The deterministic CPUID profile: what KVM supports, minus everything that
 * lets a guest observe the host or get non-determinism without an exit.
 */
#ifndef KVMRR_MACHINE_CPUID_H
#define KVMRR_MACHINE_CPUID_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/kvm.h>

#include "common/err.h"

/* Apply the deterministic profile to a KVM_GET_SUPPORTED_CPUID table in place. */
void machine_cpuid_profile(struct kvm_cpuid2 *cpuid);
/*
 * Apply "-cx16,+avx2,..." edits. Unknown names and '+' on a feature KVM does
 * not support are errors (-EINVAL, message in err).
 */
int machine_cpuid_edit(struct kvm_cpuid2 *cpuid, const struct kvm_cpuid2 *supported,
		       const char *edits, struct err *err);
/* The names --cpu-features knows, space-separated, for --help. */
const char *machine_cpuid_feature_names(void);

#endif
