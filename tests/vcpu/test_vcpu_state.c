/* SPDX-License-Identifier: MIT */
/* vCPU state ioctls: every get/set pair round-trips a value the test chose. */
#include "tests/test.h"
#include "tests/vcpu/vm_setup.h"

#define MEM_1M (1ULL << 20)

TEST(regs_rip_round_trip)
{
	struct test_vm t;
	struct kvm_regs regs;

	test_vm_create(&t, MEM_1M, 0);
	TEST_ASSERT_OK(vcpu_get_regs(&t.vcpu, &regs));
	TEST_ASSERT_EQ(regs.rip, 0xfff0);               /* the reset vector */
	regs.rip = 0x100;
	regs.rax = 0x1122334455667788ULL;
	regs.r15 = 42;
	TEST_ASSERT_OK(vcpu_set_regs(&t.vcpu, &regs));
	memset(&regs, 0, sizeof(regs));
	TEST_ASSERT_OK(vcpu_get_regs(&t.vcpu, &regs));
	TEST_ASSERT_EQ(regs.rip, 0x100);
	TEST_ASSERT_EQ(regs.rax, 0x1122334455667788ULL);
	TEST_ASSERT_EQ(regs.r15, 42);
	test_vm_destroy(&t);
}

TEST(sregs_cs_base_selector_round_trip)
{
	struct test_vm t;
	struct kvm_sregs sregs;

	test_vm_create(&t, MEM_1M, 0);
	TEST_ASSERT_OK(vcpu_get_sregs(&t.vcpu, &sregs));
	TEST_ASSERT_EQ(sregs.cs.selector, 0xf000);      /* reset state */
	sregs.cs.base = 0x1000;
	sregs.cs.selector = 0x100;
	TEST_ASSERT_OK(vcpu_set_sregs(&t.vcpu, &sregs));
	memset(&sregs, 0, sizeof(sregs));
	TEST_ASSERT_OK(vcpu_get_sregs(&t.vcpu, &sregs));
	TEST_ASSERT_EQ(sregs.cs.base, 0x1000);
	TEST_ASSERT_EQ(sregs.cs.selector, 0x100);
	test_vm_destroy(&t);
}

/*
 * FCW and an XMM register round-trip. MXCSR does not: KVM_GET_FPU leaves it 0
 * on this kernel (its fxsave copy skips the field); read MXCSR via XSAVE.
 */
TEST(fpu_control_word_round_trip)
{
	struct test_vm t;
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };

	test_vm_create(&t, MEM_1M, 0);
	for (int i = 0; i < 16; i++)
		fpu.xmm[3][i] = (uint8_t)(0xa0 + i);
	TEST_ASSERT_OK(vcpu_set_fpu(&t.vcpu, &fpu));
	memset(&fpu, 0, sizeof(fpu));
	TEST_ASSERT_OK(vcpu_get_fpu(&t.vcpu, &fpu));
	TEST_ASSERT_EQ(fpu.fcw, 0x37f);
	for (int i = 0; i < 16; i++)
		TEST_ASSERT_EQ(fpu.xmm[3][i], 0xa0 + i);
	fpu.fcw = 0x27f;                                /* 53-bit precision */
	TEST_ASSERT_OK(vcpu_set_fpu(&t.vcpu, &fpu));
	TEST_ASSERT_OK(vcpu_get_fpu(&t.vcpu, &fpu));
	TEST_ASSERT_EQ(fpu.fcw, 0x27f);
	test_vm_destroy(&t);
}

static uint32_t leaf6_ecx_after_set(struct test_vm *t, struct kvm_cpuid2 *cpuid, bool bit3)
{
	struct kvm_cpuid_entry2 *e = kvm_cpuid2_find(cpuid, 6, 0);
	struct kvm_cpuid2 *back = kvm_cpuid2_alloc(cpuid->nent);

	TEST_ASSERT(e && back, "no CPUID leaf 6 in the supported table, or no memory");
	e->ecx = bit3 ? (e->ecx | (1u << 3)) : (e->ecx & ~(1u << 3));
	TEST_ASSERT_OK(vcpu_set_cpuid2(&t->vcpu, cpuid));
	TEST_ASSERT_OK(vcpu_get_cpuid2(&t->vcpu, back));
	TEST_ASSERT_EQ(back->nent, cpuid->nent);
	e = kvm_cpuid2_find(back, 6, 0);
	TEST_ASSERT(e, "leaf 6 missing from KVM_GET_CPUID2");
	uint32_t ecx = e->ecx;
	free(back);
	return ecx;
}

/* Leaf 6 ECX bit 3 (energy performance bias): set, read back, clear, read back. */
TEST(cpuid2_leaf6_ecx_bit3_round_trip)
{
	struct test_vm t;
	struct kvm_cpuid2 *cpuid;

	test_vm_create(&t, MEM_1M, TEST_VM_NO_VCPU);
	TEST_ASSERT_OK(vcpu_open(&t.vcpu, t.kvm_fd, t.vm_fd, 0));
	TEST_ASSERT_OK(kvm_get_supported_cpuid(t.kvm_fd, &cpuid));
	TEST_ASSERT(leaf6_ecx_after_set(&t, cpuid, true) & (1u << 3), "bit 3 not set after set");
	TEST_ASSERT(!(leaf6_ecx_after_set(&t, cpuid, false) & (1u << 3)), "bit 3 still set");
	free(cpuid);
	test_vm_destroy(&t);
}

TEST(get_cpuid2_too_small_is_e2big)
{
	struct test_vm t;
	struct kvm_cpuid2 *small = kvm_cpuid2_alloc(1);

	test_vm_create(&t, MEM_1M, 0);                  /* sets the full supported table */
	TEST_ASSERT_EQ(vcpu_get_cpuid2(&t.vcpu, small), -E2BIG);
	free(small);
	test_vm_destroy(&t);
}

struct msrs3 {
	struct kvm_msrs hdr;
	struct kvm_msr_entry e[3];
};

/* KVM_GET/SET_MSRS return how many entries they processed, stopping at the first bad one. */
TEST(msrs_count_processed)
{
	struct test_vm t;
	struct msrs3 m = { .hdr.nmsrs = 2, .e = { { .index = 0x174 }, { .index = 0x175 } } };

	test_vm_create(&t, MEM_1M, 0);
	TEST_ASSERT_EQ(vcpu_get_msrs(&t.vcpu, &m.hdr), 2);
	struct msrs3 w = { .hdr.nmsrs = 1, .e = { { .index = 0x174, .data = 0x10 } } };
	TEST_ASSERT_EQ(vcpu_set_msrs(&t.vcpu, &w.hdr), 1);
	m.e[0].data = 0;
	TEST_ASSERT_EQ(vcpu_get_msrs(&t.vcpu, &m.hdr), 2);
	TEST_ASSERT_EQ(m.e[0].data, 0x10);
	/* An MSR KVM does not know stops the batch: 1 of 3 processed. */
	struct msrs3 bad = { .hdr.nmsrs = 3,
			     .e = { { .index = 0x174 }, { .index = 0xdead0000 }, { .index = 0x175 } } };
	TEST_ASSERT_EQ(vcpu_get_msrs(&t.vcpu, &bad.hdr), 1);
	test_vm_destroy(&t);
}

TEST(lapic_icr_round_trip_with_irqchip)
{
	struct test_vm t;
	struct kvm_lapic_state lapic;
	const uint32_t icr = 1;                         /* fixed delivery, vector 1 */
	uint32_t got;

	test_vm_create(&t, MEM_1M, TEST_VM_IRQCHIP);
	TEST_ASSERT_OK(vcpu_get_lapic(&t.vcpu, &lapic));
	memcpy(&got, &lapic.regs[0x300], 4);
	TEST_ASSERT_EQ(got, 0);
	memcpy(&lapic.regs[0x300], &icr, 4);
	TEST_ASSERT_OK(vcpu_set_lapic(&t.vcpu, &lapic));
	memset(&lapic, 0, sizeof(lapic));
	TEST_ASSERT_OK(vcpu_get_lapic(&t.vcpu, &lapic));
	memcpy(&got, &lapic.regs[0x300], 4);
	TEST_ASSERT_EQ(got, icr);
	test_vm_destroy(&t);
}

/* kvm_arch_vcpu_ioctl(): KVM_GET_LAPIC without an in-kernel LAPIC is EINVAL. */
TEST(lapic_without_irqchip_is_einval)
{
	struct test_vm t;
	struct kvm_lapic_state lapic;

	test_vm_create(&t, MEM_1M, 0);
	TEST_ASSERT_EQ(vcpu_get_lapic(&t.vcpu, &lapic), -EINVAL);
	test_vm_destroy(&t);
}

TEST(mp_state_round_trip)
{
	struct test_vm t;
	struct kvm_mp_state mp;

	test_vm_create(&t, MEM_1M, TEST_VM_IRQCHIP);
	TEST_ASSERT_OK(vcpu_get_mp_state(&t.vcpu, &mp));
	TEST_ASSERT_EQ(mp.mp_state, KVM_MP_STATE_RUNNABLE);
	mp.mp_state = KVM_MP_STATE_HALTED;
	TEST_ASSERT_OK(vcpu_set_mp_state(&t.vcpu, &mp));
	mp.mp_state = 0xff;
	TEST_ASSERT_OK(vcpu_get_mp_state(&t.vcpu, &mp));
	TEST_ASSERT_EQ(mp.mp_state, KVM_MP_STATE_HALTED);
	test_vm_destroy(&t);
}

/* api.rst "KVM_SET_MP_STATE": without an in-kernel LAPIC only RUNNABLE is accepted. */
TEST(mp_state_halted_needs_irqchip)
{
	struct test_vm t;
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_HALTED };

	test_vm_create(&t, MEM_1M, 0);
	TEST_ASSERT_EQ(vcpu_set_mp_state(&t.vcpu, &mp), -EINVAL);
	test_vm_destroy(&t);
}

TEST_MAIN()
