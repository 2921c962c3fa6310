/* SPDX-License-Identifier: MIT */
/* Guest RAM: layout around the 32-bit hole and bounds-checked access. */
#include "tests/test.h"
#include "tests/vcpu/vm_setup.h"

TEST(small_ram_is_one_region_at_zero)
{
	struct guest_mem m;

	TEST_ASSERT_OK(guest_mem_alloc(&m, 1 << 20));
	TEST_ASSERT_EQ(m.nregions, 1);
	TEST_ASSERT_EQ(m.regions[0].gpa, 0);
	TEST_ASSERT_EQ(m.regions[0].size, 1 << 20);
	TEST_ASSERT_EQ(m.ram_size, 1 << 20);
	TEST_ASSERT(guest_mem_ptr(&m, 0, 1) == m.regions[0].host, "gpa 0 not at host base");
	TEST_ASSERT(guest_mem_ptr(&m, (1 << 20) - 8, 8) != NULL, "last 8 bytes refused");
	TEST_ASSERT(guest_mem_ptr(&m, (1 << 20) - 8, 9) == NULL, "range past the end accepted");
	TEST_ASSERT(guest_mem_ptr(&m, 1 << 20, 1) == NULL, "gpa at the end accepted");
	guest_mem_free(&m);
	TEST_ASSERT_EQ(m.nregions, 0);
	guest_mem_free(&m);                             /* twice is harmless */
}

TEST(ram_above_hole_start_moves_above_4g)
{
	struct guest_mem m;
	const uint64_t size = GUEST_MEM_HOLE_START + 0x10000;

	TEST_ASSERT_OK(guest_mem_alloc(&m, size));
	TEST_ASSERT_EQ(m.nregions, 2);
	TEST_ASSERT_EQ(m.regions[0].size, GUEST_MEM_HOLE_START);
	TEST_ASSERT_EQ(m.regions[1].gpa, GUEST_MEM_HOLE_END);
	TEST_ASSERT_EQ(m.regions[1].size, 0x10000);
	TEST_ASSERT_EQ(m.regions[1].slot, 1);
	TEST_ASSERT_EQ(m.ram_size, size);
	TEST_ASSERT(guest_mem_ptr(&m, GUEST_MEM_HOLE_START - 1, 1) != NULL, "last low byte refused");
	TEST_ASSERT(guest_mem_ptr(&m, GUEST_MEM_HOLE_START - 1, 2) == NULL, "range into the hole accepted");
	TEST_ASSERT(guest_mem_ptr(&m, GUEST_MEM_HOLE_START, 1) == NULL, "hole accepted");
	TEST_ASSERT(guest_mem_ptr(&m, 0xfee00000, 4) == NULL, "LAPIC page accepted");
	TEST_ASSERT(guest_mem_ptr(&m, GUEST_MEM_HOLE_END, 0x10000) == m.regions[1].host,
		    "high region not at its host base");
	TEST_ASSERT(guest_mem_ptr(&m, GUEST_MEM_HOLE_END + 0xffff, 2) == NULL, "past high end accepted");
	guest_mem_free(&m);
}

TEST(ptr_refuses_overflowing_ranges)
{
	struct guest_mem m;

	TEST_ASSERT_OK(guest_mem_alloc(&m, 1 << 20));
	TEST_ASSERT(guest_mem_ptr(&m, UINT64_MAX, 2) == NULL, "gpa + len wraps to 1: accepted");
	TEST_ASSERT(guest_mem_ptr(&m, 0x1000, UINT64_MAX) == NULL, "len UINT64_MAX accepted");
	TEST_ASSERT(guest_mem_ptr(&m, 0x1000, UINT64_MAX - 0xfff) == NULL, "end wraps to 0: accepted");
	TEST_ASSERT(guest_mem_ptr(&m, UINT64_MAX, 0) == NULL, "empty range far outside accepted");
	guest_mem_free(&m);
}

TEST(alloc_rejects_bad_sizes)
{
	struct guest_mem m;

	TEST_ASSERT_EQ(guest_mem_alloc(&m, 0), -EINVAL);
	TEST_ASSERT_EQ(guest_mem_alloc(&m, 4097), -EINVAL);
	TEST_ASSERT_EQ(guest_mem_alloc(&m, UINT64_MAX & ~0xfffULL), -EINVAL);
	TEST_ASSERT_EQ(m.nregions, 0);
}

TEST(read_write_round_trip_and_efault)
{
	struct guest_mem m;
	uint8_t in[16], out[16];

	TEST_ASSERT_OK(guest_mem_alloc(&m, 1 << 16));
	for (int i = 0; i < 16; i++)
		in[i] = (uint8_t)(i * 7);
	TEST_ASSERT_OK(guest_mem_write(&m, 0xfff8, in, 8));
	TEST_ASSERT_OK(guest_mem_read(&m, 0xfff8, out, 8));
	TEST_ASSERT(memcmp(in, out, 8) == 0, "read back differs");
	TEST_ASSERT_EQ(guest_mem_write(&m, 0xfff8, in, 16), -EFAULT);
	TEST_ASSERT_EQ(guest_mem_read(&m, 0x10000, out, 1), -EFAULT);
	guest_mem_free(&m);
}

/* What KVM writes through the slot is what guest_mem_ptr shows, above 4 GiB too. */
TEST(registered_ram_is_what_the_guest_sees)
{
	/* 64-bit: mov rax, 0x100000010; mov dword [rax], 0xcafe; mov byte [0x5000], 1; hlt */
	static const uint8_t code[] = {
		0x48, 0xb8, 0x10, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
		0xc7, 0x00, 0xfe, 0xca, 0x00, 0x00,
		0xc6, 0x04, 0x25, 0x00, 0x50, 0x00, 0x00, 0x01,
		0xf4,
	};
	struct test_vm t;
	struct vcpu_exit ex;
	uint32_t v = 0;

	test_vm_create(&t, GUEST_MEM_HOLE_START + 0x200000, 0);
	test_vm_long_mode(&t, 0x10000, code, sizeof(code));
	/* Map gva 4 GiB (PDPT[4]) to gpa 4 GiB with one 2 MiB page. */
	uint64_t *pdpt = guest_mem_ptr(&t.mem, TEST_PDPT_GPA, GUEST_PAGE_SIZE);
	uint64_t *pd = guest_mem_ptr(&t.mem, 0x4000, GUEST_PAGE_SIZE);
	pdpt[4] = 0x4000 | 0x3;
	pd[0] = GUEST_MEM_HOLE_END | 0x83;
	test_vm_run_expect(&t, &ex, KVM_EXIT_HLT);
	TEST_ASSERT_OK(guest_mem_read(&t.mem, GUEST_MEM_HOLE_END + 0x10, &v, 4));
	TEST_ASSERT_EQ(v, 0xcafe);
	TEST_ASSERT_EQ(*(uint8_t *)guest_mem_ptr(&t.mem, 0x5000, 1), 1);
	test_vm_destroy(&t);
}

TEST_MAIN()
