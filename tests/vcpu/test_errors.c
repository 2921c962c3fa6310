/* SPDX-License-Identifier: MIT */
/*
 * Error paths: every wrapper given a bad fd (-1, or a number just closed)
 * returns -EBADF, read from errno at once, and does not crash or print.
 */
#include "tests/test.h"
#include "tests/vcpu/vm_setup.h"

#define EXPECT_EBADF(call) TEST_ASSERT_EQ((call), -EBADF)

static void system_and_vm_wrappers(int fd)
{
	struct kvm_cpuid2 *cpuid = (void *)1;
	struct kvm_msr_list *msrs = (void *)1;
	struct kvm_irqchip chip = { 0 };
	struct kvm_pit_state2 pit = { 0 };
	struct kvm_clock_data clock = { 0 };
	struct kvm_enable_cap cap = { 0 };
	uint64_t bitmap[4];

	EXPECT_EBADF(kvm_get_api_version(fd));
	EXPECT_EBADF(kvm_check_api_version(fd));
	EXPECT_EBADF(kvm_check_extension(fd, KVM_CAP_USER_MEMORY));
	EXPECT_EBADF(kvm_get_vcpu_mmap_size(fd));
	EXPECT_EBADF(kvm_create_vm(fd));
	EXPECT_EBADF(kvm_get_supported_cpuid(fd, &cpuid));
	TEST_ASSERT(cpuid == NULL, "*out not NULL after a failure");
	EXPECT_EBADF(kvm_get_emulated_cpuid(fd, &cpuid));
	EXPECT_EBADF(kvm_get_msr_index_list(fd, &msrs));
	TEST_ASSERT(msrs == NULL, "*out not NULL after a failure");
	EXPECT_EBADF(kvm_get_msr_feature_index_list(fd, &msrs));

	EXPECT_EBADF(vm_set_user_memory_region(fd, 0, 0, 0, 4096, bitmap));
	EXPECT_EBADF(vm_set_tss_addr(fd, TEST_TSS_GPA));
	EXPECT_EBADF(vm_set_identity_map_addr(fd, 0xfeffc000));
	EXPECT_EBADF(vm_create_irqchip(fd));
	EXPECT_EBADF(vm_create_pit2(fd, 0));
	EXPECT_EBADF(vm_get_irqchip(fd, &chip));
	EXPECT_EBADF(vm_set_irqchip(fd, &chip));
	EXPECT_EBADF(vm_get_pit2(fd, &pit));
	EXPECT_EBADF(vm_set_pit2(fd, &pit));
	EXPECT_EBADF(vm_get_clock(fd, &clock));
	EXPECT_EBADF(vm_set_clock(fd, &clock));
	EXPECT_EBADF(vm_get_dirty_log(fd, 0, bitmap));
	EXPECT_EBADF(vm_register_coalesced_mmio(fd, 0xd0000000, 4096, false));
	EXPECT_EBADF(vm_unregister_coalesced_mmio(fd, 0xd0000000, 4096, false));
	EXPECT_EBADF(vm_enable_cap(fd, &cap));
	EXPECT_EBADF(vm_irq_line(fd, 4, 1));
	EXPECT_EBADF(vm_create_vcpu(fd, 0));
}

static void vcpu_state_wrappers(const struct vcpu *v)
{
	struct kvm_regs regs = { 0 };
	struct kvm_sregs sregs = { 0 };
	struct kvm_fpu fpu = { 0 };
	struct kvm_lapic_state lapic = { 0 };
	struct kvm_mp_state mp = { 0 };
	static struct kvm_xsave xsave;
	struct kvm_xcrs xcrs = { 0 };
	struct kvm_debugregs dregs = { 0 };
	struct kvm_vcpu_events events = { 0 };
	struct kvm_guest_debug dbg = { 0 };
	struct kvm_enable_cap cap = { 0 };
	struct kvm_translation tr = { 0 };
	struct { struct kvm_msrs hdr; struct kvm_msr_entry e; } msrs = { .hdr.nmsrs = 1 };
	struct kvm_cpuid2 *cpuid = kvm_cpuid2_alloc(4);

	TEST_ASSERT(cpuid, "kvm_cpuid2_alloc");
	EXPECT_EBADF(vcpu_get_regs(v, &regs));
	EXPECT_EBADF(vcpu_set_regs(v, &regs));
	EXPECT_EBADF(vcpu_get_sregs(v, &sregs));
	EXPECT_EBADF(vcpu_set_sregs(v, &sregs));
	EXPECT_EBADF(vcpu_get_fpu(v, &fpu));
	EXPECT_EBADF(vcpu_set_fpu(v, &fpu));
	EXPECT_EBADF(vcpu_set_cpuid2(v, cpuid));
	EXPECT_EBADF(vcpu_get_cpuid2(v, cpuid));
	EXPECT_EBADF(vcpu_enable_cap(v, &cap));
	EXPECT_EBADF(vcpu_get_lapic(v, &lapic));
	EXPECT_EBADF(vcpu_set_lapic(v, &lapic));
	EXPECT_EBADF(vcpu_get_msrs(v, &msrs.hdr));
	EXPECT_EBADF(vcpu_set_msrs(v, &msrs.hdr));
	EXPECT_EBADF(vcpu_get_mp_state(v, &mp));
	EXPECT_EBADF(vcpu_set_mp_state(v, &mp));
	EXPECT_EBADF(vcpu_get_xsave(v, &xsave));
	EXPECT_EBADF(vcpu_set_xsave(v, &xsave));
	EXPECT_EBADF(vcpu_get_xcrs(v, &xcrs));
	EXPECT_EBADF(vcpu_set_xcrs(v, &xcrs));
	EXPECT_EBADF(vcpu_get_debug_regs(v, &dregs));
	EXPECT_EBADF(vcpu_set_debug_regs(v, &dregs));
	EXPECT_EBADF(vcpu_get_vcpu_events(v, &events));
	EXPECT_EBADF(vcpu_set_vcpu_events(v, &events));
	EXPECT_EBADF(vcpu_set_guest_debug(v, &dbg));
	EXPECT_EBADF(vcpu_kvmclock_ctrl(v));
	EXPECT_EBADF(vcpu_get_tsc_khz(v));
	EXPECT_EBADF(vcpu_set_tsc_khz(v, 1000000));
	EXPECT_EBADF(vcpu_translate_gva(v, &tr));
	EXPECT_EBADF(vcpu_smi(v));
	EXPECT_EBADF(vcpu_nmi(v));
	EXPECT_EBADF(vcpu_interrupt(v, 0x20));
	free(cpuid);
}

static void vcpu_fd_wrappers(int fd)
{
	struct vcpu v = { .fd = fd };
	struct vcpu_exit ex = { .reason = 0xffff };

	vcpu_state_wrappers(&v);
	EXPECT_EBADF(vcpu_run(&v, &ex));
	TEST_ASSERT_EQ(ex.reason, 0xffff);              /* a failed run decodes nothing */
}

TEST(wrappers_on_fd_minus_one_are_ebadf)
{
	system_and_vm_wrappers(-1);
	vcpu_fd_wrappers(-1);
}

TEST(wrappers_on_closed_fd_are_ebadf)
{
	int fd = test_closed_fd();

	system_and_vm_wrappers(fd);
	vcpu_fd_wrappers(fd);
}

/* vcpu_open on bad fds fails cleanly and leaves a struct vcpu_close accepts. */
TEST(vcpu_open_on_bad_fds)
{
	struct vcpu v;
	int kvm = kvm_open(NULL);

	test_require_kvm();
	TEST_ASSERT(kvm >= 0, "kvm_open: %s", strerror(-kvm));
	TEST_ASSERT_EQ(vcpu_open(&v, -1, -1, 0), -EBADF);
	TEST_ASSERT_EQ(v.fd, -1);
	TEST_ASSERT(v.run == NULL, "run mapped after a failure");
	TEST_ASSERT_EQ(vcpu_open(&v, kvm, test_closed_fd(), 0), -EBADF);
	vcpu_close(&v);
	if (fcntl(0, F_GETFD) < 0)                      /* make sure fd 0 is open */
		TEST_ASSERT_EQ(dup2(kvm, 0), 0);
	struct vcpu zeroed = { 0 };
	vcpu_close(&zeroed);                            /* fd 0 of a zeroed struct is not closed */
	TEST_ASSERT(fcntl(0, F_GETFD) >= 0, "vcpu_close closed fd 0");
	TEST_ASSERT_EQ(vcpu_coalesced_mmio_pop(&v, &(struct kvm_coalesced_mmio){ 0 }), -ENODEV);
	close(kvm);
}

TEST_MAIN()
