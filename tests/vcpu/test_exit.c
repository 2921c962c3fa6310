/* SPDX-License-Identifier: MIT */
/*
 * Exit names and decoding. Decoding is a plain function of the kvm_run page,
 * so these tests feed it pages they fill themselves (guests that really exit
 * are in test_vcpu_run.c and friends).
 */
#include "tests/test.h"
#include "tests/vcpu/vm_setup.h"

TEST(every_reason_below_count_has_a_name)
{
	for (uint32_t r = 0; r < VCPU_EXIT_REASON_COUNT; r++) {
		const char *n = vcpu_exit_reason_name(r);
		TEST_ASSERT(n && n[0] && strcmp(n, "UNKNOWN_REASON") != 0, "reason %u has no name", r);
		for (uint32_t s = 0; s < r; s++)
			TEST_ASSERT(strcmp(n, vcpu_exit_reason_name(s)) != 0,
				    "reasons %u and %u share the name %s", s, r, n);
	}
}

TEST(names_match_kvm_constants)
{
	TEST_ASSERT_STR_EQ(vcpu_exit_reason_name(KVM_EXIT_UNKNOWN), "UNKNOWN");
	TEST_ASSERT_STR_EQ(vcpu_exit_reason_name(KVM_EXIT_IO), "IO");
	TEST_ASSERT_STR_EQ(vcpu_exit_reason_name(KVM_EXIT_HLT), "HLT");
	TEST_ASSERT_STR_EQ(vcpu_exit_reason_name(KVM_EXIT_MMIO), "MMIO");
	TEST_ASSERT_STR_EQ(vcpu_exit_reason_name(KVM_EXIT_INTR), "INTR");
	TEST_ASSERT_STR_EQ(vcpu_exit_reason_name(KVM_EXIT_INTERNAL_ERROR), "INTERNAL_ERROR");
	TEST_ASSERT_STR_EQ(vcpu_exit_reason_name(KVM_EXIT_X86_RDMSR), "X86_RDMSR");
	TEST_ASSERT_STR_EQ(vcpu_exit_reason_name(KVM_EXIT_NOTIFY), "NOTIFY");
	TEST_ASSERT_STR_EQ(vcpu_exit_reason_name(VCPU_EXIT_REASON_COUNT), "UNKNOWN_REASON");
	TEST_ASSERT_STR_EQ(vcpu_exit_reason_name(UINT32_MAX), "UNKNOWN_REASON");
}

/* A kvm_run page-sized buffer, like the real mapping, so data_offset can point inside it. */
static struct kvm_run *fake_run(uint8_t *buf, size_t size, uint32_t reason)
{
	memset(buf, 0xee, size);
	struct kvm_run *run = (struct kvm_run *)buf;
	run->exit_reason = reason;
	return run;
}

static _Alignas(4096) uint8_t page[8192];

TEST(decode_io_points_into_page)
{
	struct kvm_run *run = fake_run(page, sizeof(page), KVM_EXIT_IO);
	struct vcpu_exit ex;

	run->io.direction = KVM_EXIT_IO_IN;
	run->io.size = 2;
	run->io.port = 0x1f0;
	run->io.count = 4;
	run->io.data_offset = 4096;
	vcpu_exit_decode(run, &ex);
	TEST_ASSERT_EXIT(&ex, KVM_EXIT_IO);
	TEST_ASSERT(ex.io.in, "IN decoded as OUT");
	TEST_ASSERT_EQ(ex.io.size, 2);
	TEST_ASSERT_EQ(ex.io.port, 0x1f0);
	TEST_ASSERT_EQ(ex.io.count, 4);
	TEST_ASSERT(ex.io.data == page + 4096, "data %p, wanted %p", (void *)ex.io.data,
		    (void *)(page + 4096));
}

TEST(decode_mmio_msr_hypercall_give_writable_views)
{
	struct kvm_run *run = fake_run(page, sizeof(page), KVM_EXIT_MMIO);
	struct vcpu_exit ex;

	run->mmio.phys_addr = 0xd0000010;
	run->mmio.len = 4;
	run->mmio.is_write = 0;
	vcpu_exit_decode(run, &ex);
	TEST_ASSERT(!ex.mmio.write && ex.mmio.len == 4 && ex.mmio.gpa == 0xd0000010, "mmio fields");
	ex.mmio.data[3] = 0x99;
	TEST_ASSERT_EQ(run->mmio.data[3], 0x99);

	run = fake_run(page, sizeof(page), KVM_EXIT_X86_WRMSR);
	run->msr.index = 0x1234;
	run->msr.reason = KVM_MSR_EXIT_REASON_FILTER;
	run->msr.data = 77;
	vcpu_exit_decode(run, &ex);
	TEST_ASSERT_EQ(ex.msr.index, 0x1234);
	TEST_ASSERT_EQ(ex.msr.reason, KVM_MSR_EXIT_REASON_FILTER);
	TEST_ASSERT_EQ(*ex.msr.data, 77);
	*ex.msr.error = 1;
	TEST_ASSERT_EQ(run->msr.error, 1);

	run = fake_run(page, sizeof(page), KVM_EXIT_HYPERCALL);
	run->hypercall.nr = 9;
	run->hypercall.args[5] = 6;
	vcpu_exit_decode(run, &ex);
	TEST_ASSERT_EQ(ex.hypercall.nr, 9);
	TEST_ASSERT_EQ(ex.hypercall.args[5], 6);
	*ex.hypercall.ret = 5;
	TEST_ASSERT_EQ(run->hypercall.ret, 5);
}

TEST(decode_internal_error_clamps_ndata)
{
	struct kvm_run *run = fake_run(page, sizeof(page), KVM_EXIT_INTERNAL_ERROR);
	struct vcpu_exit ex;

	run->internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
	run->internal.ndata = 40;                       /* more than the 16 slots */
	for (int i = 0; i < 16; i++)
		run->internal.data[i] = (uint64_t)i * 3;
	vcpu_exit_decode(run, &ex);
	TEST_ASSERT_EQ(ex.internal.suberror, KVM_INTERNAL_ERROR_EMULATION);
	TEST_ASSERT_EQ(ex.internal.ndata, 40);          /* reported as the kernel said */
	TEST_ASSERT_EQ(ex.internal.data[15], 45);
}

TEST(decode_keeps_payloads_of_other_reasons)
{
	struct vcpu_exit ex;
	struct kvm_run *run = fake_run(page, sizeof(page), KVM_EXIT_SYSTEM_EVENT);

	run->system_event.type = KVM_SYSTEM_EVENT_RESET;
	run->system_event.ndata = 1;
	run->system_event.data[0] = 0xabc;
	vcpu_exit_decode(run, &ex);
	TEST_ASSERT_EQ(ex.system_event.type, KVM_SYSTEM_EVENT_RESET);
	TEST_ASSERT_EQ(ex.system_event.data[0], 0xabc);

	run = fake_run(page, sizeof(page), KVM_EXIT_FAIL_ENTRY);
	run->fail_entry.hardware_entry_failure_reason = 0x21;
	run->fail_entry.cpu = 1;
	vcpu_exit_decode(run, &ex);
	TEST_ASSERT_EQ(ex.fail_entry.hardware_entry_failure_reason, 0x21);
	TEST_ASSERT_EQ(ex.fail_entry.cpu, 1);

	run = fake_run(page, sizeof(page), KVM_EXIT_DEBUG);
	run->debug.arch.pc = 0x1002;
	run->debug.arch.exception = 1;
	vcpu_exit_decode(run, &ex);
	TEST_ASSERT_EQ(ex.debug.pc, 0x1002);
	TEST_ASSERT_EQ(ex.debug.exception, 1);

	run = fake_run(page, sizeof(page), KVM_EXIT_UNKNOWN);
	run->hw.hardware_exit_reason = 0x7b;
	vcpu_exit_decode(run, &ex);
	TEST_ASSERT_EQ(ex.unknown.hardware_exit_reason, 0x7b);

	run = fake_run(page, sizeof(page), KVM_EXIT_IOAPIC_EOI);
	run->eoi.vector = 0x31;
	vcpu_exit_decode(run, &ex);
	TEST_ASSERT_EQ(ex.eoi.vector, 0x31);

	run = fake_run(page, sizeof(page), KVM_EXIT_HYPERV);
	vcpu_exit_decode(run, &ex);
	TEST_ASSERT(ex.hyperv == &run->hyperv, "hyperv view not in place");
}

/* An exit this build does not know still comes back with its number. */
TEST(decode_unknown_reason_keeps_number)
{
	struct vcpu_exit ex;
	struct kvm_run *run = fake_run(page, sizeof(page), 1000);

	vcpu_exit_decode(run, &ex);
	TEST_ASSERT_EQ(ex.reason, 1000);
	TEST_ASSERT_STR_EQ(vcpu_exit_reason_name(ex.reason), "UNKNOWN_REASON");
}

TEST_MAIN()
