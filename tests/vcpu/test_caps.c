/* SPDX-License-Identifier: MIT */
/* KVM_ENABLE_CAP on the VM and vCPU fds, each shown changing what the guest sees. */
#include "tests/test.h"
#include "tests/vcpu/vm_setup.h"

#define MEM_1M (1ULL << 20)
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01u
#define MSR_UNKNOWN_TO_KVM      0x00001fffu     /* no architectural or KVM MSR */

static void enable_user_space_msr(struct test_vm *t, uint64_t reasons)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_USER_SPACE_MSR, .args = { reasons } };

	if (kvm_check_extension(t->vm_fd, KVM_CAP_X86_USER_SPACE_MSR) <= 0)
		TEST_SKIP("host has no KVM_CAP_X86_USER_SPACE_MSR");
	TEST_ASSERT_OK(vm_enable_cap(t->vm_fd, &cap));
}

/* mov ecx,MSR_UNKNOWN_TO_KVM; rdmsr; mov dx,0x3f8; out dx,al; hlt */
static const uint8_t rdmsr_code[] = {
	0x66, 0xb9, 0xff, 0x1f, 0x00, 0x00, 0x0f, 0x32, 0xba, 0xf8, 0x03, 0xee, 0xf4,
};

/* With KVM_CAP_X86_USER_SPACE_MSR, an unknown RDMSR exits; the value we give reaches the guest. */
TEST(vm_enable_cap_user_space_msr_rdmsr_exit)
{
	struct test_vm t;
	struct vcpu_exit ex;

	test_vm_create(&t, MEM_1M, 0);
	enable_user_space_msr(&t, KVM_MSR_EXIT_REASON_UNKNOWN);
	test_vm_real_mode(&t, 0x1000, rdmsr_code, sizeof(rdmsr_code));
	test_vm_run_expect(&t, &ex, KVM_EXIT_X86_RDMSR);
	TEST_ASSERT_EQ(ex.msr.index, MSR_UNKNOWN_TO_KVM);
	TEST_ASSERT_EQ(ex.msr.reason, KVM_MSR_EXIT_REASON_UNKNOWN);
	*ex.msr.data = 0x3c;
	*ex.msr.error = 0;
	test_vm_run_expect(&t, &ex, KVM_EXIT_IO);
	TEST_ASSERT_EQ(ex.io.data[0], 0x3c);
	test_vm_destroy(&t);
}

TEST(vm_enable_cap_unknown_cap_is_einval)
{
	struct test_vm t;
	struct kvm_enable_cap cap = { .cap = 0x7fffffff };

	test_vm_create(&t, MEM_1M, 0);
	TEST_ASSERT_EQ(vm_enable_cap(t.vm_fd, &cap), -EINVAL);
	TEST_ASSERT_EQ(vcpu_enable_cap(&t.vcpu, &cap), -EINVAL);
	test_vm_destroy(&t);
}

/* mov ecx,MSR_KVM_SYSTEM_TIME_NEW; xor eax,eax; xor edx,edx; wrmsr; hlt */
static const uint8_t wrmsr_code[] = {
	0x66, 0xb9, 0x01, 0x4d, 0x56, 0x4b, 0x66, 0x31, 0xc0, 0x66, 0x31, 0xd2, 0x0f, 0x30, 0xf4,
};

/* A VM whose CPUID hides every KVM paravirt feature (leaf 0x40000001 EAX = 0). */
static void vm_without_pv_features(struct test_vm *t)
{
	struct kvm_cpuid2 *cpuid;
	struct kvm_cpuid_entry2 *pv;

	test_vm_create(t, MEM_1M, TEST_VM_NO_VCPU);
	TEST_ASSERT_OK(vcpu_open(&t->vcpu, t->kvm_fd, t->vm_fd, 0));
	TEST_ASSERT_OK(kvm_get_supported_cpuid(t->kvm_fd, &cpuid));
	pv = kvm_cpuid2_find(cpuid, 0x40000001, 0);
	if (!pv)
		TEST_SKIP("host CPUID has no KVM paravirt leaf 0x40000001");
	pv->eax = 0;
	TEST_ASSERT_OK(vcpu_set_cpuid2(&t->vcpu, cpuid));
	free(cpuid);
	enable_user_space_msr(t, KVM_MSR_EXIT_REASON_INVAL | KVM_MSR_EXIT_REASON_UNKNOWN);
	test_vm_real_mode(t, 0x1000, wrmsr_code, sizeof(wrmsr_code));
}

/*
 * api.rst "KVM_CAP_ENFORCE_PV_FEATURE_CPUID": once enabled, paravirt MSRs the
 * guest's CPUID does not advertise fault. Without it the WRMSR just works.
 */
TEST(vcpu_enable_cap_enforce_pv_cpuid)
{
	struct test_vm t;
	struct vcpu_exit ex;
	struct kvm_enable_cap cap = { .cap = KVM_CAP_ENFORCE_PV_FEATURE_CPUID, .args = { 1 } };

	vm_without_pv_features(&t);
	if (kvm_check_extension(t.kvm_fd, KVM_CAP_ENFORCE_PV_FEATURE_CPUID) <= 0)
		TEST_SKIP("host has no KVM_CAP_ENFORCE_PV_FEATURE_CPUID");
	test_vm_run_expect(&t, &ex, KVM_EXIT_HLT);      /* not enforced: accepted */
	test_vm_destroy(&t);

	vm_without_pv_features(&t);
	TEST_ASSERT_OK(vcpu_enable_cap(&t.vcpu, &cap));
	test_vm_run_expect(&t, &ex, KVM_EXIT_X86_WRMSR);
	TEST_ASSERT_EQ(ex.msr.index, MSR_KVM_SYSTEM_TIME_NEW);
	TEST_ASSERT(ex.msr.reason & (KVM_MSR_EXIT_REASON_INVAL | KVM_MSR_EXIT_REASON_UNKNOWN),
		    "msr exit reason 0x%x", ex.msr.reason);
	test_vm_destroy(&t);
}

TEST_MAIN()
