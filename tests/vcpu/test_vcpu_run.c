/* SPDX-License-Identifier: MIT */
/* vCPU tests that run guests: KVM_RUN, exits, sync regs, debug, interrupts. */
#include <signal.h>
#include <sys/time.h>

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

/* mov dx,0x3f8; out dx,al; out dx,al; hlt */
static const uint8_t out_twice[] = { 0xba, 0xf8, 0x03, 0xee, 0xee, 0xf4 };

TEST(sync_regs_rax_written_through_run_page_reaches_guest)
{
	struct test_vm t;
	struct vcpu_exit ex;
	struct kvm_regs regs;

	test_vm_create(&t, MEM_1M, 0);
	int caps = kvm_check_extension(t.kvm_fd, KVM_CAP_SYNC_REGS);
	if (caps <= 0 || !(caps & KVM_SYNC_X86_REGS))
		TEST_SKIP("KVM_CAP_SYNC_REGS without KVM_SYNC_X86_REGS (cap = %d)", caps);
	test_vm_real_mode(&t, 0x1000, out_twice, sizeof(out_twice));
	TEST_ASSERT_OK(vcpu_get_regs(&t.vcpu, &regs));
	regs.rax = 'a';
	TEST_ASSERT_OK(vcpu_set_regs(&t.vcpu, &regs));

	vcpu_sync_regs_set_valid(&t.vcpu, KVM_SYNC_X86_REGS);
	test_vm_run_expect(&t, &ex, KVM_EXIT_IO);
	TEST_ASSERT_EQ(ex.io.data[0], 'a');
	/* KVM filled the sync area at the exit: RIP is past the first OUT. */
	TEST_ASSERT_EQ(vcpu_sync_regs_read(&t.vcpu)->regs.rip, 0x1004);
	TEST_ASSERT_EQ(vcpu_sync_regs_read(&t.vcpu)->regs.rax & 0xff, 'a');

	vcpu_sync_regs_write(&t.vcpu)->regs.rax = 'z';
	vcpu_sync_regs_set_dirty(&t.vcpu, KVM_SYNC_X86_REGS);
	test_vm_run_expect(&t, &ex, KVM_EXIT_IO);
	TEST_ASSERT_EQ(ex.io.data[0], 'z');
	/* KVM consumed the dirty mark at entry (api.rst "kvm_dirty_regs"). */
	TEST_ASSERT_EQ(vcpu_run_page(&t.vcpu)->kvm_dirty_regs & KVM_SYNC_X86_REGS, 0);

	vcpu_sync_regs_clear_valid(&t.vcpu, KVM_SYNC_X86_REGS);
	TEST_ASSERT_EQ(vcpu_run_page(&t.vcpu)->kvm_valid_regs, 0);
	vcpu_sync_regs_set_dirty(&t.vcpu, KVM_SYNC_X86_REGS);
	vcpu_sync_regs_clear_dirty(&t.vcpu, KVM_SYNC_X86_REGS);
	TEST_ASSERT_EQ(vcpu_run_page(&t.vcpu)->kvm_dirty_regs, 0);
	test_vm_run_expect(&t, &ex, KVM_EXIT_HLT);
	test_vm_destroy(&t);
}

TEST(immediate_exit_gives_intr_without_running)
{
	struct test_vm t;
	struct vcpu_exit ex;
	struct kvm_regs regs;

	test_vm_create(&t, MEM_1M, 0);
	test_vm_real_mode(&t, 0x1000, add_code, sizeof(add_code));
	vcpu_set_immediate_exit(&t.vcpu, true);
	TEST_ASSERT_EQ(vcpu_run_page(&t.vcpu)->immediate_exit, 1);
	test_vm_run_expect(&t, &ex, KVM_EXIT_INTR);
	TEST_ASSERT_OK(vcpu_get_regs(&t.vcpu, &regs));
	TEST_ASSERT_EQ(regs.rip, 0x1000);
	vcpu_set_immediate_exit(&t.vcpu, false);
	test_vm_run_expect(&t, &ex, KVM_EXIT_IO);
	test_vm_destroy(&t);
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* A signal during KVM_RUN is EINTR from the kernel: vcpu_run reports an INTR exit. */
TEST(signal_during_run_is_an_intr_exit)
{
	static const uint8_t spin[] = { 0xeb, 0xfe };   /* jmp $ */
	struct sigaction sa = { .sa_handler = on_alarm };  /* no SA_RESTART */
	struct itimerval it = { .it_value = { .tv_usec = 50000 } };
	struct test_vm t;
	struct vcpu_exit ex;
	struct kvm_regs regs;

	test_vm_create(&t, MEM_1M, 0);
	test_vm_real_mode(&t, 0x1000, spin, sizeof(spin));
	TEST_ASSERT_OK(sigaction(SIGALRM, &sa, NULL));
	TEST_ASSERT_OK(setitimer(ITIMER_REAL, &it, NULL));
	test_vm_run_expect(&t, &ex, KVM_EXIT_INTR);
	TEST_ASSERT_OK(vcpu_get_regs(&t.vcpu, &regs));
	TEST_ASSERT_EQ(regs.rip, 0x1000);
	test_vm_destroy(&t);
}

/* nop; nop; nop; hlt -- a hardware breakpoint on the third nop (linear 0x1002). */
TEST(hw_breakpoint_hits_at_its_rip)
{
	static const uint8_t code[] = { 0x90, 0x90, 0x90, 0xf4 };
	struct kvm_guest_debug dbg = {
		.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP,
	};
	struct test_vm t;
	struct vcpu_exit ex;
	struct kvm_regs regs;

	test_vm_create(&t, 4 * MEM_1M, 0);
	test_vm_long_mode(&t, 0x10000, code, sizeof(code));
	dbg.arch.debugreg[0] = 0x10002;
	dbg.arch.debugreg[7] = 0x400 | 0x2;             /* G0, execute, 1 byte */
	TEST_ASSERT_OK(vcpu_set_guest_debug(&t.vcpu, &dbg));
	test_vm_run_expect(&t, &ex, KVM_EXIT_DEBUG);
	TEST_ASSERT_EQ(ex.debug.pc, 0x10002);
	TEST_ASSERT(ex.debug.dr6 & 1, "DR6 0x%llx does not name breakpoint 0",
		    (unsigned long long)ex.debug.dr6);
	TEST_ASSERT_OK(vcpu_get_regs(&t.vcpu, &regs));
	TEST_ASSERT_EQ(regs.rip, 0x10002);
	/* Turn debugging off: the guest carries on to HLT. */
	memset(&dbg, 0, sizeof(dbg));
	TEST_ASSERT_OK(vcpu_set_guest_debug(&t.vcpu, &dbg));
	test_vm_run_expect(&t, &ex, KVM_EXIT_HLT);
	test_vm_destroy(&t);
}

/* Map gva [1 GiB, 1 GiB + 2 MiB) to gpa 0x200000, translate it, and let the guest write through it. */
TEST(translate_gva_on_paged_long_mode_guest)
{
	/* mov byte [0x40000123], 0x77; hlt */
	static const uint8_t code[] = { 0xc6, 0x04, 0x25, 0x23, 0x01, 0x00, 0x40, 0x77, 0xf4 };
	struct test_vm t;
	struct vcpu_exit ex;
	struct kvm_translation tr = { .linear_address = 0x40000123 };

	test_vm_create(&t, 4 * MEM_1M, 0);
	test_vm_long_mode(&t, 0x10000, code, sizeof(code));
	uint64_t *pdpt = guest_mem_ptr(&t.mem, TEST_PDPT_GPA, GUEST_PAGE_SIZE);
	uint64_t *pd2 = guest_mem_ptr(&t.mem, 0x4000, GUEST_PAGE_SIZE);
	TEST_ASSERT(pdpt && pd2, "page tables outside RAM");
	pdpt[1] = 0x4000 | 0x3;
	pd2[0] = 0x200000 | 0x83;

	TEST_ASSERT_OK(vcpu_translate_gva(&t.vcpu, &tr));
	TEST_ASSERT_EQ(tr.valid, 1);
	TEST_ASSERT_EQ(tr.physical_address, 0x200123);
	TEST_ASSERT_EQ(tr.writeable, 1);
	tr = (struct kvm_translation){ .linear_address = 0x10000 };
	TEST_ASSERT_OK(vcpu_translate_gva(&t.vcpu, &tr));
	TEST_ASSERT_EQ(tr.valid, 1);
	TEST_ASSERT_EQ(tr.physical_address, 0x10000);
	tr = (struct kvm_translation){ .linear_address = 0x80000000 };  /* PDPT[2] not present */
	TEST_ASSERT_OK(vcpu_translate_gva(&t.vcpu, &tr));
	TEST_ASSERT_EQ(tr.valid, 0);

	test_vm_run_expect(&t, &ex, KVM_EXIT_HLT);
	uint8_t *p = guest_mem_ptr(&t.mem, 0x200123, 1);
	TEST_ASSERT_EQ(*p, 0x77);
	test_vm_destroy(&t);
}

/*
 * KVM_INTERRUPT with a userspace irqchip: the guest halts with IF=1, the VMM
 * injects vector 0x30 and the guest's real-mode handler runs.
 */
TEST(interrupt_injected_runs_guest_handler)
{
	static const uint8_t main_code[] = { 0xfb, 0xf4, 0xeb, 0xfd };    /* sti; hlt; jmp hlt */
	/* mov dx,0x3f8; mov al,'!'; out dx,al; cli; hlt */
	static const uint8_t handler[] = { 0xba, 0xf8, 0x03, 0xb0, 0x21, 0xee, 0xfa, 0xf4 };
	const uint16_t ivt_entry[2] = { 0x2000, 0x0000 };              /* offset, segment */
	struct test_vm t;
	struct vcpu_exit ex;

	test_vm_create(&t, MEM_1M, 0);
	test_vm_real_mode(&t, 0x1000, main_code, sizeof(main_code));
	TEST_ASSERT_OK(guest_mem_write(&t.mem, 0x2000, handler, sizeof(handler)));
	TEST_ASSERT_OK(guest_mem_write(&t.mem, 0x30 * 4, ivt_entry, sizeof(ivt_entry)));
	test_vm_run_expect(&t, &ex, KVM_EXIT_HLT);
	/* kvm_run reports the guest can take an interrupt (api.rst "ready_for_interrupt_injection"). */
	TEST_ASSERT_EQ(vcpu_run_page(&t.vcpu)->if_flag, 1);
	TEST_ASSERT_EQ(vcpu_run_page(&t.vcpu)->ready_for_interrupt_injection, 1);
	TEST_ASSERT_OK(vcpu_interrupt(&t.vcpu, 0x30));
	test_vm_run_expect(&t, &ex, KVM_EXIT_IO);
	TEST_ASSERT_EQ(ex.io.port, 0x3f8);
	TEST_ASSERT_EQ(ex.io.data[0], '!');
	test_vm_destroy(&t);
}

/*
 * cli; mov dx,0x3f8; out dx,al; sti; jmp $ -- the window opens after STI.
 * KVM checks the request between exits, and this host emulates CPL0 code in
 * batches, so the guest spins rather than halts: a HLT would exit first.
 */
TEST(request_interrupt_window_exits_when_if_set)
{
	static const uint8_t code[] = { 0xfa, 0xba, 0xf8, 0x03, 0xee, 0xfb, 0xeb, 0xfe };
	struct test_vm t;
	struct vcpu_exit ex;
	struct kvm_regs regs;

	test_vm_create(&t, MEM_1M, 0);
	test_vm_real_mode(&t, 0x1000, code, sizeof(code));
	vcpu_set_request_interrupt_window(&t.vcpu, true);
	TEST_ASSERT_EQ(vcpu_run_page(&t.vcpu)->request_interrupt_window, 1);
	test_vm_run_expect(&t, &ex, KVM_EXIT_IO);        /* IF still 0: no window yet */
	test_vm_run_expect(&t, &ex, KVM_EXIT_IRQ_WINDOW_OPEN);
	TEST_ASSERT_EQ(vcpu_run_page(&t.vcpu)->if_flag, 1);
	TEST_ASSERT_EQ(vcpu_run_page(&t.vcpu)->ready_for_interrupt_injection, 1);
	TEST_ASSERT_OK(vcpu_get_regs(&t.vcpu, &regs));
	TEST_ASSERT_EQ(regs.rip, 0x1006);
	/* Without the request the guest spins until a signal or immediate_exit. */
	vcpu_set_request_interrupt_window(&t.vcpu, false);
	vcpu_set_immediate_exit(&t.vcpu, true);
	test_vm_run_expect(&t, &ex, KVM_EXIT_INTR);
	test_vm_destroy(&t);
}

/*
 * With an empty IDT, INT3 cannot be delivered. On hardware-assisted KVM this
 * is #GP, #DF, a triple fault: KVM_EXIT_SHUTDOWN. This PVM host emulates CPL0
 * and reports KVM_EXIT_INTERNAL_ERROR / EMULATION with the instruction bytes
 * (api.rst "emulation_failure"). Either way the guest must not reach HLT.
 */
TEST(undeliverable_exception_stops_the_guest)
{
	static const uint8_t code[] = { 0xcc, 0xf4 };   /* int3; hlt */
	struct test_vm t;
	struct vcpu_exit ex;
	struct kvm_sregs sregs;

	test_vm_create(&t, 4 * MEM_1M, 0);
	test_vm_long_mode(&t, 0x10000, code, sizeof(code));
	TEST_ASSERT_OK(vcpu_get_sregs(&t.vcpu, &sregs));
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	TEST_ASSERT_OK(vcpu_set_sregs(&t.vcpu, &sregs));
	TEST_ASSERT_OK(vcpu_run(&t.vcpu, &ex));
	if (ex.reason == KVM_EXIT_INTERNAL_ERROR) {
		uint8_t insn[16];

		TEST_ASSERT_EQ(ex.internal.suberror, KVM_INTERNAL_ERROR_EMULATION);
		TEST_ASSERT(ex.internal.ndata >= 3, "ndata %u: no instruction bytes", ex.internal.ndata);
		TEST_ASSERT(ex.internal.data[0] & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES,
			    "flags 0x%llx", (unsigned long long)ex.internal.data[0]);
		memcpy(insn, &ex.internal.data[1], sizeof(insn));   /* insn_size, insn_bytes[15] */
		TEST_ASSERT_EQ(insn[1], 0xcc);
		printf("# this host: INTERNAL_ERROR/EMULATION on int3, not SHUTDOWN\n");
	} else {
		TEST_ASSERT_EXIT(&ex, KVM_EXIT_SHUTDOWN);
	}
	test_vm_destroy(&t);
}

TEST(run_page_is_the_mapped_kvm_run)
{
	struct test_vm t;
	struct vcpu_exit ex;

	test_vm_create(&t, MEM_1M, 0);
	test_vm_real_mode(&t, 0x1000, add_code, sizeof(add_code));
	TEST_ASSERT(vcpu_run_page(&t.vcpu) == t.vcpu.run, "vcpu_run_page is not vcpu->run");
	TEST_ASSERT_EQ(t.vcpu.run_size, kvm_get_vcpu_mmap_size(t.kvm_fd));
	test_vm_run_expect(&t, &ex, KVM_EXIT_IO);
	TEST_ASSERT_EQ(vcpu_run_page(&t.vcpu)->exit_reason, KVM_EXIT_IO);
	/* The IO data pointer lies inside the mapping. */
	uint8_t *base = (uint8_t *)t.vcpu.run;
	TEST_ASSERT(ex.io.data > base && ex.io.data + ex.io.size <= base + t.vcpu.run_size,
		    "io.data %p outside the kvm_run mapping %p + %zu", (void *)ex.io.data,
		    (void *)base, t.vcpu.run_size);
	test_vm_destroy(&t);
}

TEST_MAIN()
