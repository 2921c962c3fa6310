/* SPDX-License-Identifier: MIT */
/*
 * mmio: exercises the MMIO test device at 0xd0000000: the ID register reads
 * "KVRR"; scratch read-back after 32-bit and 64-bit writes; the host-time
 * register strictly increases across reads; the exit-count register grows by
 * at least the exits made in between. rounds= (default 16) repeats the time
 * and exit-count checks.
 */
#include "rt/rt.h"

#define DEV ABI_MMIO_TEST_GPA

int main(void)
{
	uint64_t rounds = rt_arg_u64("rounds", 16);
	uint32_t id = rt_mmio_read32(DEV + ABI_MMIO_TEST_ID);
	uint64_t t0, t1, e0, e1, v;

	if (id != ABI_MMIO_TEST_ID_VALUE)
		rt_fail("mmio: ID register 0x%x, want 0x%x", id, ABI_MMIO_TEST_ID_VALUE);
	rt_mmio_write32(DEV + ABI_MMIO_TEST_SCRATCH, 0xdeadbeef);
	v = rt_mmio_read32(DEV + ABI_MMIO_TEST_SCRATCH);
	if (v != 0xdeadbeef)
		rt_fail("mmio: scratch read 0x%lx after a 32-bit write of 0xdeadbeef", v);
	rt_mmio_write64(DEV + ABI_MMIO_TEST_SCRATCH, 0x0123456789abcdefull);
	v = rt_mmio_read64(DEV + ABI_MMIO_TEST_SCRATCH);
	if (v != 0x0123456789abcdefull)
		rt_fail("mmio: scratch read 0x%lx after a 64-bit write of 0x0123456789abcdef", v);
	t0 = rt_mmio_read64(DEV + ABI_MMIO_TEST_TIME_NS);
	e0 = rt_mmio_read64(DEV + ABI_MMIO_TEST_EXITS);
	for (uint64_t i = 0; i < rounds; i++) {
		t1 = rt_mmio_read64(DEV + ABI_MMIO_TEST_TIME_NS);
		if (t1 <= t0)
			rt_fail("mmio: time went from %lu to %lu ns (round %lu)", t0, t1, i);
		e1 = rt_mmio_read64(DEV + ABI_MMIO_TEST_EXITS);
		/* Two reads since e0 (time, then exits) are two exits at least. */
		if (e1 < e0 + 2)
			rt_fail("mmio: exit count went from %lu to %lu (round %lu)", e0, e1, i);
		t0 = t1;
		e0 = e1;
	}
	rt_printf("mmio: id=KVRR scratch32 ok scratch64 ok time ok exits ok (%lu rounds)\n", rounds);
	return 0;
}
