/* SPDX-License-Identifier: MIT */
/*
 * stream/ without KVM: the verify step (stream_rec_differs) on exits as
 * wide as a page of REP OUTSB, the synchronisation-point rule, and the
 * error type.
 */
#include "stream/stream.h"

#include <errno.h>
#include <string.h>

#include "common/err.h"
#include "tests/test.h"
#include "vcpu/exit.h"

#define WIDE 4096

/* A REP OUTSB of WIDE bytes to the UART as KVM hands it on hardware-virt hosts. */
static void wide_out(struct vcpu_exit *e, uint8_t *buf)
{
	memset(e, 0, sizeof(*e));
	e->reason = KVM_EXIT_IO;
	e->io.port = 0x3f8;
	e->io.size = 1;
	e->io.in = false;
	e->io.count = WIDE;
	e->io.data = buf;
}

TEST(wide_out_compared_to_the_last_byte)
{
	static uint8_t rec_buf[WIDE], act_buf[WIDE], scratch[STREAM_SCRATCH];
	struct vcpu_exit rec_exit, act_exit;
	struct stream_rec rec, act;
	const uint8_t *rd, *ad;

	for (int i = 0; i < WIDE; i++)
		rec_buf[i] = act_buf[i] = (uint8_t)(i * 7);
	wide_out(&rec_exit, rec_buf);
	wide_out(&act_exit, act_buf);
	rd = stream_rec_of_exit(&rec, &rec_exit, scratch);
	ad = stream_rec_of_exit(&act, &act_exit, scratch);
	TEST_ASSERT_EQ(rec.len, WIDE);
	TEST_ASSERT(stream_rec_differs(&rec, rd, &act, ad) == NULL, "equal exits differ");
	act_buf[4000] ^= 1;
	TEST_ASSERT(stream_rec_differs(&rec, rd, &act, ad) != NULL, "a byte at offset 4000 went unnoticed");
	TEST_ASSERT_STR_EQ(stream_rec_differs(&rec, rd, &act, ad), "data written differs");
	act_buf[4000] ^= 1;
	act_buf[WIDE - 1] ^= 0x80;
	TEST_ASSERT_STR_EQ(stream_rec_differs(&rec, rd, &act, ad), "data written differs");
	act_buf[WIDE - 1] ^= 0x80;
	/* Fewer bytes: the length differs before any byte is compared. */
	act_exit.io.count = WIDE - 1;
	ad = stream_rec_of_exit(&act, &act_exit, scratch);
	TEST_ASSERT_STR_EQ(stream_rec_differs(&rec, rd, &act, ad), "length differs");
}

TEST(read_data_is_not_compared_but_shape_is)
{
	static uint8_t a[8], b[8], scratch[STREAM_SCRATCH];
	struct vcpu_exit x = { .reason = KVM_EXIT_MMIO, .mmio = { .gpa = 0xd0000000, .len = 4, .write = false } };
	struct vcpu_exit y = x;
	struct stream_rec ra, rb;
	const uint8_t *da, *db;

	x.mmio.data = a;
	y.mmio.data = b;
	b[0] = 0x55;   /* what the VMM returned is not the guest's doing */
	da = stream_rec_of_exit(&ra, &x, scratch);
	db = stream_rec_of_exit(&rb, &y, scratch);
	TEST_ASSERT(stream_rec_differs(&ra, da, &rb, db) == NULL, "read data compared");
	rb.exit.addr += 8;
	TEST_ASSERT_STR_EQ(stream_rec_differs(&ra, da, &rb, db), "gpa differs");
	rb.exit.addr -= 8;
	rb.exit.size = 2;
	TEST_ASSERT_STR_EQ(stream_rec_differs(&ra, da, &rb, db), "size differs");
	rb.exit.size = 4;
	rb.dir = STREAM_DIR_OUT;
	TEST_ASSERT_STR_EQ(stream_rec_differs(&ra, da, &rb, db), "direction differs");
	rb.dir = STREAM_DIR_IN;
	rb.exit.rip = 1;
	TEST_ASSERT_STR_EQ(stream_rec_differs(&ra, da, &rb, db), "rip differs");
}

TEST(sync_point_rule)
{
	TEST_ASSERT_EQ(stream_sync_of(KVM_EXIT_IO, true, false), STREAM_SYNC_EXIT);
	TEST_ASSERT_EQ(stream_sync_of(KVM_EXIT_HLT, false, false), STREAM_SYNC_EXIT);
	TEST_ASSERT_EQ(stream_sync_of(KVM_EXIT_INTR, false, false), STREAM_SYNC_NONE);
	TEST_ASSERT_EQ(stream_sync_of(KVM_EXIT_INTR, true, true), STREAM_SYNC_ASYNC);
	/* Window-open exits are points only when interrupts are delivered at exits. */
	TEST_ASSERT_EQ(stream_sync_of(KVM_EXIT_IRQ_WINDOW_OPEN, false, false), STREAM_SYNC_EXIT);
	TEST_ASSERT_EQ(stream_sync_of(KVM_EXIT_IRQ_WINDOW_OPEN, true, false), STREAM_SYNC_NONE);
	TEST_ASSERT_EQ(stream_sync_of(KVM_EXIT_IRQ_WINDOW_OPEN, true, true), STREAM_SYNC_ASYNC);
}

TEST(err_carries_code_and_context)
{
	struct err e = { 0 };
	char big[2 * ERR_MSG_MAX];

	TEST_ASSERT_EQ(err_set(&e, -ENOENT, "table %s missing", "exit"), -ENOENT);
	TEST_ASSERT_EQ(err_wrap(&e, "reading %s", "rec.db"), -ENOENT);
	TEST_ASSERT_STR_EQ(e.msg, "reading rec.db: table exit missing");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	err_wrap(&e, "%s", big);   /* cut, never overflowing */
	TEST_ASSERT_EQ(strlen(e.msg), ERR_MSG_MAX - 1);
	TEST_ASSERT_EQ(err_set(NULL, -EIO, "nowhere"), -EIO);
}

TEST_MAIN()
