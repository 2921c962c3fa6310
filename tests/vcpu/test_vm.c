/* SPDX-License-Identifier: MIT */
/* VM fd ioctls: memory slots, in-kernel devices, clock, dirty log, coalesced MMIO, caps. */
#include <sys/mman.h>

#include "tests/test.h"
#include "tests/vcpu/vm_setup.h"

#define MEM_1M (1ULL << 20)

/* mov byte [0x5000], 0x5a; hlt  (real mode, DS = 0) */
static const uint8_t store_5000[] = { 0xc6, 0x06, 0x00, 0x50, 0x5a, 0xf4 };

/* A read-only slot: guest reads see its bytes, guest writes become MMIO exits. */
TEST(readonly_slot_write_is_mmio_exit)
{
	/* mov al,[0x20000]; mov [0x20001],al; hlt  with DS = 0x2000 */
	static const uint8_t code[] = {
		0xb8, 0x00, 0x20, 0x8e, 0xd8,           /* mov ax,0x2000; mov ds,ax */
		0xa0, 0x00, 0x00,                       /* mov al,[0] */
		0xa2, 0x01, 0x00,                       /* mov [1],al */
		0xf4,
	};
	struct test_vm t;
	struct vcpu_exit ex;
	uint8_t *rom = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	test_vm_create(&t, 0x10000, 0);
	if (kvm_check_extension(t.vm_fd, KVM_CAP_READONLY_MEM) <= 0)
		TEST_SKIP("host has no KVM_CAP_READONLY_MEM");
	TEST_ASSERT(rom != MAP_FAILED, "mmap");
	rom[0] = 0xc3;
	TEST_ASSERT_OK(vm_set_user_memory_region(t.vm_fd, 5, KVM_MEM_READONLY, 0x20000, 0x1000, rom));
	test_vm_real_mode(&t, 0x1000, code, sizeof(code));
	test_vm_run_expect(&t, &ex, KVM_EXIT_MMIO);
	TEST_ASSERT(ex.mmio.write, "read decoded as write");
	TEST_ASSERT_EQ(ex.mmio.gpa, 0x20001);
	TEST_ASSERT_EQ(ex.mmio.len, 1);
	TEST_ASSERT_EQ(ex.mmio.data[0], 0xc3);
	TEST_ASSERT_EQ(rom[1], 0);
	test_vm_run_expect(&t, &ex, KVM_EXIT_HLT);
	/* Size 0 deletes the slot: the same read is now an MMIO read exit. */
	TEST_ASSERT_OK(vm_set_user_memory_region(t.vm_fd, 5, 0, 0x20000, 0, NULL));
	test_vm_real_mode(&t, 0x1000, code, sizeof(code));
	test_vm_run_expect(&t, &ex, KVM_EXIT_MMIO);
	TEST_ASSERT(!ex.mmio.write, "write decoded as read");
	TEST_ASSERT_EQ(ex.mmio.gpa, 0x20000);
	ex.mmio.data[0] = 0x77;                         /* what the "device" returns */
	test_vm_run_expect(&t, &ex, KVM_EXIT_MMIO);
	TEST_ASSERT_EQ(ex.mmio.gpa, 0x20001);
	TEST_ASSERT_EQ(ex.mmio.data[0], 0x77);
	test_vm_destroy(&t);
	munmap(rom, 0x1000);
}

/* api.rst "KVM_SET_IDENTITY_MAP_ADDR": must be called before any vCPU exists. */
TEST(identity_map_addr_only_before_vcpus)
{
	struct test_vm t;

	test_vm_create(&t, MEM_1M, TEST_VM_NO_VCPU);
	TEST_ASSERT_OK(vm_set_identity_map_addr(t.vm_fd, 0xfeffc000));
	test_vm_add_vcpu(&t);
	TEST_ASSERT_EQ(vm_set_identity_map_addr(t.vm_fd, 0xfeffc000), -EINVAL);
	test_vm_destroy(&t);
}

TEST(set_tss_addr_accepted)
{
	struct test_vm t;

	test_vm_create(&t, MEM_1M, TEST_VM_NO_VCPU);   /* already set once by the helper */
	TEST_ASSERT(kvm_check_extension(t.kvm_fd, KVM_CAP_SET_TSS_ADDR) > 0, "no KVM_CAP_SET_TSS_ADDR");
	TEST_ASSERT_OK(vm_set_tss_addr(t.vm_fd, 0xfeffd000));
	test_vm_destroy(&t);
}

TEST(irqchip_pic_and_ioapic_round_trip)
{
	struct test_vm t;
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_PIC_MASTER };

	test_vm_create(&t, MEM_1M, TEST_VM_NO_VCPU);
	TEST_ASSERT_EQ(vm_get_irqchip(t.vm_fd, &chip), -ENXIO);  /* no irqchip yet */
	TEST_ASSERT_OK(vm_create_irqchip(t.vm_fd));
	TEST_ASSERT_OK(vm_get_irqchip(t.vm_fd, &chip));
	chip.chip.pic.imr = 0xfb;
	TEST_ASSERT_OK(vm_set_irqchip(t.vm_fd, &chip));
	memset(&chip.chip, 0, sizeof(chip.chip));
	TEST_ASSERT_OK(vm_get_irqchip(t.vm_fd, &chip));
	TEST_ASSERT_EQ(chip.chip.pic.imr, 0xfb);

	struct kvm_irqchip io = { .chip_id = KVM_IRQCHIP_IOAPIC };
	TEST_ASSERT_OK(vm_get_irqchip(t.vm_fd, &io));
	io.chip.ioapic.redirtbl[3].fields.vector = 0x43;
	io.chip.ioapic.redirtbl[3].fields.mask = 0;
	TEST_ASSERT_OK(vm_set_irqchip(t.vm_fd, &io));
	memset(&io.chip, 0, sizeof(io.chip));
	TEST_ASSERT_OK(vm_get_irqchip(t.vm_fd, &io));
	TEST_ASSERT_EQ(io.chip.ioapic.redirtbl[3].fields.vector, 0x43);
	test_vm_destroy(&t);
}

/* Raising IRQ 4 on the in-kernel PIC sets IRR bit 4 (edge-triggered: on the rising edge). */
TEST(irq_line_sets_pic_irr)
{
	struct test_vm t;
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_PIC_MASTER };

	test_vm_create(&t, MEM_1M, TEST_VM_IRQCHIP);
	TEST_ASSERT_OK(vm_get_irqchip(t.vm_fd, &chip));
	TEST_ASSERT_EQ(chip.chip.pic.irr & 0x10, 0);
	TEST_ASSERT_OK(vm_irq_line(t.vm_fd, 4, 1));
	TEST_ASSERT_OK(vm_irq_line(t.vm_fd, 4, 0));
	TEST_ASSERT_OK(vm_get_irqchip(t.vm_fd, &chip));
	TEST_ASSERT_EQ(chip.chip.pic.irr & 0x10, 0x10);
	test_vm_destroy(&t);
}

TEST(pit2_round_trip)
{
	struct test_vm t;
	struct kvm_pit_state2 pit;

	test_vm_create(&t, MEM_1M, TEST_VM_IRQCHIP | TEST_VM_NO_VCPU);
	TEST_ASSERT_EQ(vm_get_pit2(t.vm_fd, &pit), -ENXIO);      /* no PIT yet */
	TEST_ASSERT_OK(vm_create_pit2(t.vm_fd, KVM_PIT_SPEAKER_DUMMY));
	TEST_ASSERT_OK(vm_get_pit2(t.vm_fd, &pit));
	pit.channels[2].count = 0x1234;
	pit.channels[2].mode = 3;
	pit.channels[2].rw_mode = 3;                    /* lobyte/hibyte */
	TEST_ASSERT_OK(vm_set_pit2(t.vm_fd, &pit));
	memset(&pit, 0, sizeof(pit));
	TEST_ASSERT_OK(vm_get_pit2(t.vm_fd, &pit));
	TEST_ASSERT_EQ(pit.channels[2].count, 0x1234);
	TEST_ASSERT_EQ(pit.channels[2].mode, 3);
	test_vm_destroy(&t);
}

TEST(clock_set_then_get)
{
	struct test_vm t;
	struct kvm_clock_data c = { .clock = 1000000000000ULL };  /* 1000 s */

	test_vm_create(&t, MEM_1M, TEST_VM_NO_VCPU);
	TEST_ASSERT_OK(vm_set_clock(t.vm_fd, &c));
	memset(&c, 0, sizeof(c));
	TEST_ASSERT_OK(vm_get_clock(t.vm_fd, &c));
	TEST_ASSERT(c.clock >= 1000000000000ULL && c.clock < 1010000000000ULL,
		    "clock %llu ns, wanted 1000 s plus under 10 s", (unsigned long long)c.clock);
	test_vm_destroy(&t);
}

TEST(dirty_log_marks_page_written_by_guest)
{
	struct test_vm t;
	struct vcpu_exit ex;
	uint64_t bitmap[MEM_1M / GUEST_PAGE_SIZE / 64];

	test_vm_create(&t, MEM_1M, TEST_VM_DIRTY_LOG);
	test_vm_real_mode(&t, 0x1000, store_5000, sizeof(store_5000));
	TEST_ASSERT_OK(vm_get_dirty_log(t.vm_fd, 0, bitmap));   /* clear what setup wrote */
	test_vm_run_expect(&t, &ex, KVM_EXIT_HLT);
	memset(bitmap, 0, sizeof(bitmap));
	TEST_ASSERT_OK(vm_get_dirty_log(t.vm_fd, 0, bitmap));
	TEST_ASSERT_EQ((bitmap[0] >> 5) & 1, 1);
	TEST_ASSERT_EQ((bitmap[0] >> 6) & 1, 0);
	TEST_ASSERT_EQ(*(uint8_t *)guest_mem_ptr(&t.mem, 0x5000, 1), 0x5a);
	/* Getting the log reset it (no manual-protect cap enabled). */
	TEST_ASSERT_OK(vm_get_dirty_log(t.vm_fd, 0, bitmap));
	TEST_ASSERT_EQ((bitmap[0] >> 5) & 1, 0);
	test_vm_destroy(&t);
}

TEST(dirty_log_needs_logging_slot)
{
	struct test_vm t;
	uint64_t bitmap[MEM_1M / GUEST_PAGE_SIZE / 64];

	test_vm_create(&t, MEM_1M, 0);
	TEST_ASSERT_EQ(vm_get_dirty_log(t.vm_fd, 0, bitmap), -ENOENT);
	test_vm_destroy(&t);
}

TEST(create_vcpu_duplicate_id_is_eexist)
{
	struct test_vm t;
	struct vcpu second;

	test_vm_create(&t, MEM_1M, 0);
	TEST_ASSERT_EQ(vm_create_vcpu(t.vm_fd, 0), -EEXIST);
	TEST_ASSERT_OK(vcpu_open(&second, t.kvm_fd, t.vm_fd, 1));
	TEST_ASSERT(second.fd >= 0 && second.fd != t.vcpu.fd, "second vCPU fd %d", second.fd);
	TEST_ASSERT_EQ(second.id, 1);
	vcpu_close(&second);
	TEST_ASSERT_EQ(second.fd, -1);
	test_vm_destroy(&t);
}

static void expect_coalesced(struct test_vm *t, uint64_t gpa, uint32_t len, const void *data)
{
	struct kvm_coalesced_mmio e;

	TEST_ASSERT_EQ(vcpu_coalesced_mmio_pop(&t->vcpu, &e), 1);
	TEST_ASSERT_EQ(e.phys_addr, gpa);
	TEST_ASSERT_EQ(e.len, len);
	TEST_ASSERT(memcmp(e.data, data, len) == 0, "ring data differs at gpa 0x%llx",
		    (unsigned long long)gpa);
}

/*
 * Writes into a coalesced zone do not exit: they queue in the ring, in
 * order. Once the zone is unregistered, the same write is an MMIO exit.
 */
TEST(coalesced_mmio_zone_fills_ring)
{
	static const uint8_t code[] = {
		0xb8, 0x00, 0x20, 0x8e, 0xd8,           /* mov ax,0x2000; mov ds,ax */
		0xc6, 0x06, 0x10, 0x00, 0x42,           /* mov byte [0x10],0x42 */
		0xc7, 0x06, 0x20, 0x00, 0x34, 0x12,     /* mov word [0x20],0x1234 */
		0xf4,                                   /* hlt */
		0xc6, 0x06, 0x30, 0x00, 0x55,           /* mov byte [0x30],0x55 */
		0xf4,
	};
	struct test_vm t;
	struct vcpu_exit ex;
	struct kvm_coalesced_mmio e;

	test_vm_create(&t, 0x10000, 0);
	if (!t.vcpu.coalesced_ring)
		TEST_SKIP("host has no KVM_CAP_COALESCED_MMIO");
	TEST_ASSERT_OK(vm_register_coalesced_mmio(t.vm_fd, 0x20000, 0x1000, false));
	test_vm_real_mode(&t, 0x1000, code, sizeof(code));
	TEST_ASSERT_EQ(vcpu_coalesced_mmio_pop(&t.vcpu, &e), 0);
	test_vm_run_expect(&t, &ex, KVM_EXIT_HLT);
	expect_coalesced(&t, 0x20010, 1, "\x42");
	expect_coalesced(&t, 0x20020, 2, "\x34\x12");
	TEST_ASSERT_EQ(vcpu_coalesced_mmio_pop(&t.vcpu, &e), 0);

	TEST_ASSERT_OK(vm_unregister_coalesced_mmio(t.vm_fd, 0x20000, 0x1000, false));
	test_vm_run_expect(&t, &ex, KVM_EXIT_MMIO);
	TEST_ASSERT_EQ(ex.mmio.gpa, 0x20030);
	TEST_ASSERT_EQ(ex.mmio.data[0], 0x55);
	TEST_ASSERT_EQ(vcpu_coalesced_mmio_pop(&t.vcpu, &e), 0);
	test_vm_destroy(&t);
}

/* The port-IO flavour: OUTs to a coalesced port range queue with pio = 1. */
TEST(coalesced_pio_zone_fills_ring)
{
	/* mov al,0x11; out 0x80,al; mov al,0x22; out 0x80,al; hlt */
	static const uint8_t code[] = { 0xb0, 0x11, 0xe6, 0x80, 0xb0, 0x22, 0xe6, 0x80, 0xf4 };
	struct test_vm t;
	struct vcpu_exit ex;
	struct kvm_coalesced_mmio e;

	test_vm_create(&t, 0x10000, 0);
	if (!t.vcpu.coalesced_ring || kvm_check_extension(t.kvm_fd, KVM_CAP_COALESCED_PIO) <= 0)
		TEST_SKIP("host has no KVM_CAP_COALESCED_PIO");
	TEST_ASSERT_OK(vm_register_coalesced_mmio(t.vm_fd, 0x80, 1, true));
	test_vm_real_mode(&t, 0x1000, code, sizeof(code));
	test_vm_run_expect(&t, &ex, KVM_EXIT_HLT);
	for (int i = 0; i < 2; i++) {
		TEST_ASSERT_EQ(vcpu_coalesced_mmio_pop(&t.vcpu, &e), 1);
		TEST_ASSERT_EQ(e.pio, 1);
		TEST_ASSERT_EQ(e.phys_addr, 0x80);
		TEST_ASSERT_EQ(e.data[0], 0x11 * (i + 1));
	}
	TEST_ASSERT_EQ(vcpu_coalesced_mmio_pop(&t.vcpu, &e), 0);
	test_vm_destroy(&t);
}

TEST_MAIN()
