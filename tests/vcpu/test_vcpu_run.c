/* SPDX-License-Identifier: MIT */
/* vCPU tests that run guests: KVM_RUN, exits, sync regs, debug, interrupts. */
#include "tests/test.h"
#include "tests/vcpu/vm_setup.h"

#define MEM_1M (1ULL << 20)

/* mov dx,0x3f8; add al,bl; add al,'0'; out dx,al; hlt */
static const uint8_t add_code[] = { 0xba, 0xf8, 0x03, 0x00, 0xd8, 0x04, 0x30, 0xee, 0xf4 };

TEST(real_mode_guest_adds_and_halts)
{
	struct test_vm t;
	struct vcpu_exit ex;
	struct kvm_regs regs;

	test_vm_create(&t, MEM_1M, 0);
	test_vm_real_mode(&t, 0x1000, add_code, sizeof(add_code));
	TEST_ASSERT_OK(vcpu_get_regs(&t.vcpu, &regs));
	regs.rax = 2;
	regs.rbx = 3;
	TEST_ASSERT_OK(vcpu_set_regs(&t.vcpu, &regs));

	test_vm_run_expect(&t, &ex, KVM_EXIT_IO);
	TEST_ASSERT_EQ(ex.io.port, 0x3f8);
	TEST_ASSERT_EQ(ex.io.size, 1);
	TEST_ASSERT_EQ(ex.io.count, 1);
	TEST_ASSERT(!ex.io.in, "OUT decoded as IN");
	TEST_ASSERT_EQ(ex.io.data[0], '5');
	test_vm_run_expect(&t, &ex, KVM_EXIT_HLT);
	TEST_ASSERT_OK(vcpu_get_regs(&t.vcpu, &regs));
	TEST_ASSERT_EQ(regs.rip, 0x1000 + sizeof(add_code));
	test_vm_destroy(&t);
}

/* in al,dx; mov bl,al; out dx,al; hlt -- the IN data the VMM writes reaches the guest. */
TEST(io_in_data_filled_by_vmm_reaches_guest)
{
	static const uint8_t code[] = { 0xba, 0x10, 0x00, 0xec, 0x88, 0xc3, 0xee, 0xf4 };
	struct test_vm t;
	struct vcpu_exit ex;
	struct kvm_regs regs;

	test_vm_create(&t, MEM_1M, 0);
	test_vm_real_mode(&t, 0x1000, code, sizeof(code));
	test_vm_run_expect(&t, &ex, KVM_EXIT_IO);
	TEST_ASSERT(ex.io.in, "IN decoded as OUT");
	TEST_ASSERT_EQ(ex.io.port, 0x10);
	ex.io.data[0] = 0xa5;
	test_vm_run_expect(&t, &ex, KVM_EXIT_IO);
	TEST_ASSERT(!ex.io.in, "OUT decoded as IN");
	TEST_ASSERT_EQ(ex.io.data[0], 0xa5);
	test_vm_run_expect(&t, &ex, KVM_EXIT_HLT);
	TEST_ASSERT_OK(vcpu_get_regs(&t.vcpu, &regs));
	TEST_ASSERT_EQ(regs.rbx & 0xff, 0xa5);
	test_vm_destroy(&t);
}

/* 64-bit: mov rax, imm64; out 0x80, eax (low dword); hlt */
TEST(long_mode_guest_runs)
{
	static const uint8_t code[] = {
		0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, /* mov rax, imm64 */
		0xe7, 0x80,                                                 /* out 0x80, eax */
		0xf4,
	};
	struct test_vm t;
	struct vcpu_exit ex;
	struct kvm_regs regs;

	test_vm_create(&t, 4 * MEM_1M, 0);
	test_vm_long_mode(&t, 0x10000, code, sizeof(code));
	test_vm_run_expect(&t, &ex, KVM_EXIT_IO);
	TEST_ASSERT_EQ(ex.io.port, 0x80);
	TEST_ASSERT_EQ(ex.io.size, 4);
	uint32_t v;
	memcpy(&v, ex.io.data, 4);
	TEST_ASSERT_EQ(v, 0x55667788);
	test_vm_run_expect(&t, &ex, KVM_EXIT_HLT);
	TEST_ASSERT_OK(vcpu_get_regs(&t.vcpu, &regs));
	TEST_ASSERT_EQ(regs.rax, 0x1122334455667788ULL);
	test_vm_destroy(&t);
}

TEST_MAIN()
