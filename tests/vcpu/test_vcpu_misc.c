/* SPDX-License-Identifier: MIT */
/* vCPU ioctls around the LAPIC, events, clocks and capabilities. */
#include "tests/test.h"
#include "tests/vcpu/vm_setup.h"

#define MEM_1M (1ULL << 20)

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

TEST(vcpu_events_nmi_masked_round_trip)
{
	struct test_vm t;
	struct kvm_vcpu_events ev;

	test_vm_create(&t, MEM_1M, 0);
	TEST_ASSERT_OK(vcpu_get_vcpu_events(&t.vcpu, &ev));
	TEST_ASSERT_EQ(ev.nmi.masked, 0);
	ev.nmi.masked = 1;
	ev.flags = 0;
	TEST_ASSERT_OK(vcpu_set_vcpu_events(&t.vcpu, &ev));
	memset(&ev, 0, sizeof(ev));
	TEST_ASSERT_OK(vcpu_get_vcpu_events(&t.vcpu, &ev));
	TEST_ASSERT_EQ(ev.nmi.masked, 1);
	test_vm_destroy(&t);
}

TEST(nmi_is_pending_in_vcpu_events)
{
	struct test_vm t;
	struct kvm_vcpu_events ev;

	test_vm_create(&t, MEM_1M, 0);
	if (kvm_check_extension(t.kvm_fd, KVM_CAP_USER_NMI) <= 0)
		TEST_SKIP("host has no KVM_CAP_USER_NMI");
	TEST_ASSERT_OK(vcpu_get_vcpu_events(&t.vcpu, &ev));
	TEST_ASSERT_EQ(ev.nmi.pending, 0);
	TEST_ASSERT_OK(vcpu_nmi(&t.vcpu));
	TEST_ASSERT_OK(vcpu_get_vcpu_events(&t.vcpu, &ev));
	TEST_ASSERT_EQ(ev.nmi.pending, 1);
	test_vm_destroy(&t);
}

TEST(smi_is_pending_in_vcpu_events)
{
	struct test_vm t;
	struct kvm_vcpu_events ev;

	test_vm_create(&t, MEM_1M, 0);
	if (kvm_check_extension(t.vm_fd, KVM_CAP_X86_SMM) <= 0)
		TEST_SKIP("host has no KVM_CAP_X86_SMM (no SMM emulation)");
	TEST_ASSERT_OK(vcpu_get_vcpu_events(&t.vcpu, &ev));
	TEST_ASSERT_EQ(ev.smi.pending, 0);
	TEST_ASSERT_OK(vcpu_smi(&t.vcpu));
	TEST_ASSERT_OK(vcpu_get_vcpu_events(&t.vcpu, &ev));
	TEST_ASSERT(ev.flags & KVM_VCPUEVENT_VALID_SMM, "flags 0x%x lack VALID_SMM", ev.flags);
	TEST_ASSERT_EQ(ev.smi.pending, 1);
	test_vm_destroy(&t);
}

TEST(tsc_khz_is_plausible)
{
	struct test_vm t;

	test_vm_create(&t, MEM_1M, 0);
	if (kvm_check_extension(t.kvm_fd, KVM_CAP_GET_TSC_KHZ) <= 0)
		TEST_SKIP("host has no KVM_CAP_GET_TSC_KHZ");
	int khz = vcpu_get_tsc_khz(&t.vcpu);
	printf("# tsc_khz %d\n", khz);
	TEST_ASSERT(khz >= 100000 && khz <= 10000000, "tsc_khz %d outside 100 MHz..10 GHz", khz);
	/* Setting the current frequency needs no scaling, so every host accepts it. */
	TEST_ASSERT_OK(vcpu_set_tsc_khz(&t.vcpu, (uint32_t)khz));
	TEST_ASSERT_EQ(vcpu_get_tsc_khz(&t.vcpu), khz);
	test_vm_destroy(&t);
}

TEST(tsc_khz_scaled_round_trip)
{
	struct test_vm t;

	test_vm_create(&t, MEM_1M, 0);
	if (kvm_check_extension(t.kvm_fd, KVM_CAP_TSC_CONTROL) <= 0)
		TEST_SKIP("host has no KVM_CAP_TSC_CONTROL (no TSC scaling)");
	int khz = vcpu_get_tsc_khz(&t.vcpu);
	TEST_ASSERT(khz > 0, "KVM_GET_TSC_KHZ: %d", khz);
	TEST_ASSERT_OK(vcpu_set_tsc_khz(&t.vcpu, (uint32_t)khz / 2));
	TEST_ASSERT_EQ(vcpu_get_tsc_khz(&t.vcpu), khz / 2);
	test_vm_destroy(&t);
}

/*
 * api.rst "KVM_KVMCLOCK_CTRL": it tells the guest it was paused, through its
 * kvmclock page; with no kvmclock enabled there is no page and it fails EINVAL.
 */
TEST(kvmclock_ctrl_needs_kvmclock)
{
	struct test_vm t;
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e = { .index = 0x4b564d01, .data = 0x9000 | 1 } };

	test_vm_create(&t, MEM_1M, 0);
	if (kvm_check_extension(t.kvm_fd, KVM_CAP_KVMCLOCK_CTRL) <= 0)
		TEST_SKIP("host has no KVM_CAP_KVMCLOCK_CTRL");
	TEST_ASSERT_EQ(vcpu_kvmclock_ctrl(&t.vcpu), -EINVAL);
	/* MSR_KVM_SYSTEM_TIME_NEW: kvmclock page at gpa 0x9000, enabled. */
	TEST_ASSERT_EQ(vcpu_set_msrs(&t.vcpu, &m.hdr), 1);
	TEST_ASSERT_OK(vcpu_kvmclock_ctrl(&t.vcpu));
	test_vm_destroy(&t);
}

TEST_MAIN()
