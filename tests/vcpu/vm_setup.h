/* SPDX-License-Identifier: MIT */
/*
 * Test helpers: a VM with RAM at gpa 0 and one vCPU, put in real mode or in
 * 64-bit long mode. Every step asserts (these are for tests only), so a
 * test body reads as the behaviour it checks.
 */
#ifndef KVMRR_TESTS_VCPU_VM_SETUP_H
#define KVMRR_TESTS_VCPU_VM_SETUP_H

#include <stddef.h>
#include <stdint.h>

#include "vcpu/exit.h"
#include "vcpu/guest_mem.h"
#include "vcpu/kvm.h"
#include "vcpu/vcpu.h"
#include "vcpu/vm.h"

#define TEST_VM_IRQCHIP   (1u << 0)  /* in-kernel PIC/IOAPIC/LAPIC before the vCPU */
#define TEST_VM_DIRTY_LOG (1u << 1)  /* RAM slots registered with KVM_MEM_LOG_DIRTY_PAGES */
#define TEST_VM_NO_VCPU   (1u << 2)  /* stop after the RAM: the test creates the vCPU */

/* Long-mode layout (gpa): page tables, GDT, stack; guest code goes above 0x10000. */
#define TEST_PML4_GPA  0x1000ULL
#define TEST_PDPT_GPA  0x2000ULL
#define TEST_PD_GPA    0x3000ULL     /* identity-maps [0, 1 GiB) with 2 MiB pages */
#define TEST_GDT_GPA   0x500ULL
#define TEST_STACK_TOP 0x8000ULL

/* 0xfffbd000: the three TSS pages QEMU uses, below the BIOS, outside RAM. */
#define TEST_TSS_GPA   0xfffbd000ULL

struct test_vm {
	int kvm_fd;
	int vm_fd;
	struct guest_mem mem;
	struct vcpu vcpu;
};

/* /dev/kvm, a VM, mem_size bytes of RAM, the host's supported CPUID on vCPU 0. */
void test_vm_create(struct test_vm *t, uint64_t mem_size, unsigned int flags);
/* vCPU 0 with the host's supported CPUID (done by test_vm_create unless TEST_VM_NO_VCPU). */
void test_vm_add_vcpu(struct test_vm *t);
void test_vm_destroy(struct test_vm *t);

/* Copy code to gpa entry; flat real mode (all segments 0), RIP = entry, RFLAGS = 2. */
void test_vm_real_mode(struct test_vm *t, uint64_t entry, const void *code, size_t len);
/* Copy code to entry; CPL0 64-bit mode with the identity map above, RSP = TEST_STACK_TOP. */
void test_vm_long_mode(struct test_vm *t, uint64_t entry, const void *code, size_t len);

/* vcpu_run that must succeed with the given exit reason; fills *exit. */
void test_vm_run_expect(struct test_vm *t, struct vcpu_exit *ex, uint32_t reason);

/* A file descriptor number that is certainly closed right now. */
int test_closed_fd(void);

#endif
