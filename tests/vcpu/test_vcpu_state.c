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
 * (kvm_arch_vcpu_ioctl_get_fpu copies every fxsave field but it); use XSAVE.
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

TEST(xsave_mxcsr_and_xmm_round_trip)
{
	struct test_vm t;
	struct kvm_xsave xs;
	uint8_t *legacy = (uint8_t *)xs.region;
	uint32_t mxcsr = 0x1fa0;                        /* default + precision flag */
	uint64_t xstate_bv;

	test_vm_create(&t, MEM_1M, 0);
	TEST_ASSERT_OK(vcpu_get_xsave(&t.vcpu, &xs));
	memcpy(legacy + 24, &mxcsr, 4);                 /* FXSAVE layout: MXCSR at 24 */
	for (int i = 0; i < 16; i++)
		legacy[160 + 16 * 1 + i] = (uint8_t)(0x50 + i); /* XMM1 at 160 + 16 */
	memcpy(&xstate_bv, legacy + 512, 8);            /* XSAVE header: XSTATE_BV */
	xstate_bv |= 3;                                 /* x87 and SSE state present */
	memcpy(legacy + 512, &xstate_bv, 8);
	TEST_ASSERT_OK(vcpu_set_xsave(&t.vcpu, &xs));
	memset(&xs, 0, sizeof(xs));
	TEST_ASSERT_OK(vcpu_get_xsave(&t.vcpu, &xs));
	memcpy(&mxcsr, legacy + 24, 4);
	TEST_ASSERT_EQ(mxcsr, 0x1fa0);
	for (int i = 0; i < 16; i++)
		TEST_ASSERT_EQ(legacy[176 + i], 0x50 + i);
	test_vm_destroy(&t);
}

TEST(xcrs_xcr0_round_trip)
{
	struct test_vm t;
	struct kvm_xcrs xcrs;

	test_vm_create(&t, MEM_1M, 0);
	if (kvm_check_extension(t.kvm_fd, KVM_CAP_XCRS) <= 0)
		TEST_SKIP("host has no KVM_CAP_XCRS");
	TEST_ASSERT_OK(vcpu_get_xcrs(&t.vcpu, &xcrs));
	TEST_ASSERT_EQ(xcrs.nr_xcrs, 1);
	TEST_ASSERT_EQ(xcrs.xcrs[0].xcr, 0);
	TEST_ASSERT_EQ(xcrs.xcrs[0].value, 1);           /* reset: x87 only */
	xcrs.xcrs[0].value = 3;                          /* x87 | SSE */
	TEST_ASSERT_OK(vcpu_set_xcrs(&t.vcpu, &xcrs));
	memset(&xcrs, 0, sizeof(xcrs));
	TEST_ASSERT_OK(vcpu_get_xcrs(&t.vcpu, &xcrs));
	TEST_ASSERT_EQ(xcrs.xcrs[0].value, 3);
	/* XCR0 without x87 is architecturally invalid. */
	xcrs.xcrs[0].value = 2;
	TEST_ASSERT_EQ(vcpu_set_xcrs(&t.vcpu, &xcrs), -EINVAL);
	test_vm_destroy(&t);
}

TEST(debugregs_round_trip)
{
	struct test_vm t;
	struct kvm_debugregs d;

	test_vm_create(&t, MEM_1M, 0);
	TEST_ASSERT_OK(vcpu_get_debug_regs(&t.vcpu, &d));
	TEST_ASSERT_EQ(d.dr7, 0x400);                    /* reset value */
	for (int i = 0; i < 4; i++)
		d.db[i] = 0x1000 * (uint64_t)(i + 1);
	d.dr7 = 0x400 | 0x2 | 0x8;                       /* G0, G1 */
	TEST_ASSERT_OK(vcpu_set_debug_regs(&t.vcpu, &d));
	memset(&d, 0, sizeof(d));
	TEST_ASSERT_OK(vcpu_get_debug_regs(&t.vcpu, &d));
	for (int i = 0; i < 4; i++)
		TEST_ASSERT_EQ(d.db[i], 0x1000 * (i + 1));
	TEST_ASSERT_EQ(d.dr7, 0x40a);
	test_vm_destroy(&t);
}

TEST_MAIN()
