/* SPDX-License-Identifier: MIT */
#include "machine/cpuid.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vcpu/kvm.h"

enum cpuid_reg { EAX, EBX, ECX, EDX };

struct cpuid_feature {
	const char *name;
	unsigned int function, index;
	enum cpuid_reg reg;
	unsigned int bit;
};

/* Bit positions from the Intel SDM vol. 2A, CPUID; names as in /proc/cpuinfo. */
static const struct cpuid_feature features[] = {
	{ "sse3", 1, 0, ECX, 0 },       { "pclmulqdq", 1, 0, ECX, 1 },
	{ "monitor", 1, 0, ECX, 3 },    { "vmx", 1, 0, ECX, 5 },
	{ "ssse3", 1, 0, ECX, 9 },      { "fma", 1, 0, ECX, 12 },
	{ "cx16", 1, 0, ECX, 13 },      { "pcid", 1, 0, ECX, 17 },
	{ "sse4_1", 1, 0, ECX, 19 },    { "sse4_2", 1, 0, ECX, 20 },
	{ "x2apic", 1, 0, ECX, 21 },    { "movbe", 1, 0, ECX, 22 },
	{ "popcnt", 1, 0, ECX, 23 },    { "tsc_deadline_timer", 1, 0, ECX, 24 },
	{ "aes", 1, 0, ECX, 25 },       { "xsave", 1, 0, ECX, 26 },
	{ "avx", 1, 0, ECX, 28 },       { "f16c", 1, 0, ECX, 29 },
	{ "rdrand", 1, 0, ECX, 30 },    { "hypervisor", 1, 0, ECX, 31 },
	{ "apic", 1, 0, EDX, 9 },       { "mtrr", 1, 0, EDX, 12 },
	{ "mce", 1, 0, EDX, 7 },        { "mca", 1, 0, EDX, 14 },
	{ "fsgsbase", 7, 0, EBX, 0 },   { "tsc_adjust", 7, 0, EBX, 1 },
	{ "bmi1", 7, 0, EBX, 3 },       { "hle", 7, 0, EBX, 4 },
	{ "avx2", 7, 0, EBX, 5 },       { "smep", 7, 0, EBX, 7 },
	{ "bmi2", 7, 0, EBX, 8 },       { "erms", 7, 0, EBX, 9 },
	{ "invpcid", 7, 0, EBX, 10 },   { "rtm", 7, 0, EBX, 11 },
	{ "avx512f", 7, 0, EBX, 16 },   { "rdseed", 7, 0, EBX, 18 },
	{ "adx", 7, 0, EBX, 19 },       { "smap", 7, 0, EBX, 20 },
	{ "clflushopt", 7, 0, EBX, 23 }, { "sha_ni", 7, 0, EBX, 29 },
	{ "umip", 7, 0, ECX, 2 },       { "pku", 7, 0, ECX, 3 },
	{ "waitpkg", 7, 0, ECX, 5 },    { "shstk", 7, 0, ECX, 7 },
	{ "la57", 7, 0, ECX, 16 },      { "rdpid", 7, 0, ECX, 22 },
	{ "ibt", 7, 0, EDX, 20 },
	{ "lahf_lm", 0x80000001, 0, ECX, 0 }, { "lzcnt", 0x80000001, 0, ECX, 5 },
	{ "pdpe1gb", 0x80000001, 0, EDX, 26 }, { "rdtscp", 0x80000001, 0, EDX, 27 },
};

static unsigned int *reg_of(struct kvm_cpuid_entry2 *e, enum cpuid_reg reg)
{
	switch (reg) {
	case EAX: return &e->eax;
	case EBX: return &e->ebx;
	case ECX: return &e->ecx;
	default:  return &e->edx;
	}
}

static const struct cpuid_feature *feature_find(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++)
		if (strlen(features[i].name) == len && strncmp(features[i].name, name, len) == 0)
			return &features[i];
	return NULL;
}

static void feature_set(struct kvm_cpuid2 *cpuid, const char *name, int on)
{
	const struct cpuid_feature *f = feature_find(name, strlen(name));
	struct kvm_cpuid_entry2 *e = f ? kvm_cpuid2_find(cpuid, f->function, f->index) : NULL;

	if (!e)
		return;
	if (on)
		*reg_of(e, f->reg) |= 1u << f->bit;
	else
		*reg_of(e, f->reg) &= ~(1u << f->bit);
}

/* Drop the entries whose function is in [lo, hi]. */
static void remove_leaves(struct kvm_cpuid2 *cpuid, unsigned int lo, unsigned int hi)
{
	unsigned int out = 0;

	for (unsigned int i = 0; i < cpuid->nent; i++) {
		unsigned int fn = cpuid->entries[i].function;

		if (fn >= lo && fn <= hi)
			continue;
		cpuid->entries[out++] = cpuid->entries[i];
	}
	cpuid->nent = out;
}

void machine_cpuid_profile(struct kvm_cpuid2 *cpuid)
{
	/*
	 * RDRAND/RDSEED return host entropy without an exit; the hypervisor
	 * bit and leaves 0x4000_0000+ advertise kvmclock and PV features that
	 * read host time through shared memory. TSX aborts depend on host
	 * cache state. WAITPKG's TPAUSE/UMWAIT wait on the TSC. There is no
	 * LAPIC or IOAPIC in the default machine, so no APIC, x2APIC or TSC
	 * deadline timer. CET shadow stacks are beyond this host's emulator.
	 */
	static const char *const hidden[] = {
		"rdrand", "rdseed", "hypervisor", "hle", "rtm", "waitpkg",
		"apic", "x2apic", "tsc_deadline_timer", "shstk", "ibt", "monitor",
	};

	for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++)
		feature_set(cpuid, hidden[i], 0);
	remove_leaves(cpuid, 0x40000000, 0x4fffffff);
	/* AMD mirrors the APIC bit in 0x8000_0001 EDX bit 9. */
	struct kvm_cpuid_entry2 *ext = kvm_cpuid2_find(cpuid, 0x80000001, 0);
	if (ext)
		ext->edx &= ~(1u << 9);
	/* No PMU: architectural performance monitoring leaf reads as absent. */
	struct kvm_cpuid_entry2 *pmu = kvm_cpuid2_find(cpuid, 0xa, 0);
	if (pmu)
		pmu->eax = pmu->ebx = pmu->ecx = pmu->edx = 0;
}

int machine_cpuid_edit(struct kvm_cpuid2 *cpuid, const struct kvm_cpuid2 *supported,
		       const char *edits, struct err *err)
{
	const char *p = edits;

	while (p && *p) {
		size_t len = strcspn(p, ",");
		char sign = *p;
		const struct cpuid_feature *f;

		if (len == 0) {
			p++;
			continue;
		}
		if ((sign != '-' && sign != '+') || len < 2) {
			return err_set(err, -EINVAL, "--cpu-features: \"%.*s\": each feature needs a '+' or '-' "
				 "prefix, e.g. -cx16", (int)len, p);
		}
		f = feature_find(p + 1, len - 1);
		if (!f) {
			err_printf(err, "--cpu-features: unknown feature \"%.*s\"; known: %s",
				 (int)len - 1, p + 1, machine_cpuid_feature_names());
			return -EINVAL;
		}
		if (sign == '+') {
			struct kvm_cpuid_entry2 *s = kvm_cpuid2_find((struct kvm_cpuid2 *)supported,
								     f->function, f->index);
			if (!s || !(*reg_of(s, f->reg) & (1u << f->bit))) {
				return err_set(err, -EINVAL, "--cpu-features: +%s: KVM on this host does not "
					 "support it", f->name);
			}
		}
		feature_set(cpuid, f->name, sign == '+');
		p += len;
	}
	return 0;
}

const char *machine_cpuid_feature_names(void)
{
	static char names[1024];

	if (!names[0]) {
		size_t used = 0;

		for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++)
			used += snprintf(names + used, sizeof(names) - used, "%s%s", i ? " " : "",
					 features[i].name);
	}
	return names;
}
