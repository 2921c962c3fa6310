/* SPDX-License-Identifier: MIT */
#include "tests/vcpu/vm_setup.h"

#include <stdlib.h>

#include "tests/test.h"

void test_vm_add_vcpu(struct test_vm *t)
{
	struct kvm_cpuid2 *cpuid = NULL;

	TEST_ASSERT_OK(vcpu_open(&t->vcpu, t->kvm_fd, t->vm_fd, 0));
	/* Long mode needs CPUID.80000001H:EDX.LM in the guest's table (KVM checks EFER against it). */
	TEST_ASSERT_OK(kvm_get_supported_cpuid(t->kvm_fd, &cpuid));
	TEST_ASSERT_OK(vcpu_set_cpuid2(&t->vcpu, cpuid));
	free(cpuid);
}

void test_vm_create(struct test_vm *t, uint64_t mem_size, unsigned int flags)
{
	uint32_t slot_flags = (flags & TEST_VM_DIRTY_LOG) ? KVM_MEM_LOG_DIRTY_PAGES : 0;

	test_require_kvm();
	memset(t, 0, sizeof(*t));
	t->vcpu.fd = -1;
	t->kvm_fd = kvm_open(NULL);
	TEST_ASSERT(t->kvm_fd >= 0, "kvm_open: %s", strerror(-t->kvm_fd));
	TEST_ASSERT_OK(kvm_check_api_version(t->kvm_fd));
	t->vm_fd = kvm_create_vm(t->kvm_fd);
	TEST_ASSERT(t->vm_fd >= 0, "kvm_create_vm: %s", strerror(-t->vm_fd));
	/* Intel needs it for real mode; elsewhere it is accepted and unused. */
	TEST_ASSERT_OK(vm_set_tss_addr(t->vm_fd, TEST_TSS_GPA));
	TEST_ASSERT_OK(guest_mem_alloc(&t->mem, mem_size));
	TEST_ASSERT_OK(guest_mem_register(&t->mem, t->vm_fd, slot_flags));
	if (flags & TEST_VM_IRQCHIP)
		TEST_ASSERT_OK(vm_create_irqchip(t->vm_fd));
	if (!(flags & TEST_VM_NO_VCPU))
		test_vm_add_vcpu(t);
}

void test_vm_destroy(struct test_vm *t)
{
	vcpu_close(&t->vcpu);
	if (t->vm_fd > 0)
		close(t->vm_fd);
	if (t->kvm_fd > 0)
		close(t->kvm_fd);
	guest_mem_free(&t->mem);
}

void test_vm_real_mode(struct test_vm *t, uint64_t entry, const void *code, size_t len)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = entry, .rflags = 2 };

	TEST_ASSERT_OK(guest_mem_write(&t->mem, entry, code, len));
	TEST_ASSERT_OK(vcpu_get_sregs(&t->vcpu, &sregs));
	struct kvm_segment *segs[] = { &sregs.cs, &sregs.ds, &sregs.es,
				       &sregs.fs, &sregs.gs, &sregs.ss };
	for (size_t i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
		segs[i]->base = 0;
		segs[i]->selector = 0;
	}
	TEST_ASSERT_OK(vcpu_set_sregs(&t->vcpu, &sregs));
	TEST_ASSERT_OK(vcpu_set_regs(&t->vcpu, &regs));
}

static void long_mode_tables(struct test_vm *t)
{
	uint64_t *pml4 = guest_mem_ptr(&t->mem, TEST_PML4_GPA, GUEST_PAGE_SIZE);
	uint64_t *pdpt = guest_mem_ptr(&t->mem, TEST_PDPT_GPA, GUEST_PAGE_SIZE);
	uint64_t *pd = guest_mem_ptr(&t->mem, TEST_PD_GPA, GUEST_PAGE_SIZE);
	uint64_t *gdt = guest_mem_ptr(&t->mem, TEST_GDT_GPA, 3 * sizeof(uint64_t));

	TEST_ASSERT(pml4 && pdpt && pd && gdt, "RAM too small for the page tables (%llu bytes)",
		    (unsigned long long)t->mem.ram_size);
	pml4[0] = TEST_PDPT_GPA | 0x3;                  /* present, writable */
	pdpt[0] = TEST_PD_GPA | 0x3;
	for (uint64_t i = 0; i < 512; i++)
		pd[i] = (i << 21) | 0x83;               /* present, writable, 2 MiB page */
	gdt[0] = 0;
	gdt[1] = 0x00af9b000000ffffULL;                 /* 0x08: 64-bit code, DPL 0 */
	gdt[2] = 0x00cf93000000ffffULL;                 /* 0x10: data, DPL 0 */
}

void test_vm_long_mode(struct test_vm *t, uint64_t entry, const void *code, size_t len)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = entry, .rflags = 2, .rsp = TEST_STACK_TOP };
	struct kvm_segment code_seg = {
		.base = 0, .limit = 0xffffffff, .selector = 0x08, .type = 11,
		.present = 1, .dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment data_seg = {
		.base = 0, .limit = 0xffffffff, .selector = 0x10, .type = 3,
		.present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};

	long_mode_tables(t);
	TEST_ASSERT_OK(guest_mem_write(&t->mem, entry, code, len));
	TEST_ASSERT_OK(vcpu_get_sregs(&t->vcpu, &sregs));
	sregs.cs = code_seg;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data_seg;
	sregs.gdt.base = TEST_GDT_GPA;
	sregs.gdt.limit = 3 * 8 - 1;
	sregs.cr3 = TEST_PML4_GPA;
	sregs.cr4 = 1u << 5;                            /* PAE */
	sregs.cr0 = 0x80050033;                         /* PG WP NE ET MP PE */
	sregs.efer = 0x500;                             /* LME LMA */
	TEST_ASSERT_OK(vcpu_set_sregs(&t->vcpu, &sregs));
	TEST_ASSERT_OK(vcpu_set_regs(&t->vcpu, &regs));
}

void test_vm_run_expect(struct test_vm *t, struct vcpu_exit *ex, uint32_t reason)
{
	struct kvm_regs regs;

	TEST_ASSERT_OK(vcpu_run(&t->vcpu, ex));
	if (ex->reason != reason && vcpu_get_regs(&t->vcpu, &regs) == 0)
		fprintf(stderr, "# unexpected exit %s at rip 0x%llx\n",
			vcpu_exit_reason_name(ex->reason), (unsigned long long)regs.rip);
	TEST_ASSERT_EXIT(ex, reason);
}

int test_closed_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	TEST_ASSERT(fd >= 0, "open /dev/null");
	close(fd);
	return fd;
}
