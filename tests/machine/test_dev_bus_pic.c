/* SPDX-License-Identifier: MIT */
/*
 * The port/MMIO bus, the i8259 PIC pair, the entropy port and the MMIO test device, driven through the buses exactly as the run loop does for a guest's
 * exits. No KVM needed: these are the register-level behaviours a guest
 * driver relies on.
 */
#include "common/clock.h"
#include "tests/test.h"

#include "machine/machine.h"
#include "tests/machine/rig.h"

/* ------------------------------------------------------------------ bus */

static int counting_handler(void *dev, uint64_t off, uint32_t size, bool write, uint8_t *data,
			    uint64_t now_ns)
{
	uint64_t *last = dev;

	(void)now_ns;
	*last = off << 8 | size << 1 | write;
	if (!write)
		memset(data, 0x5a, size);
	return 0;
}

static void counting_save(const void *dev, void *state)
{
	memcpy(state, dev, sizeof(uint64_t));
}

static void counting_restore(void *dev, const void *state)
{
	memcpy(dev, state, sizeof(uint64_t));
}

static const struct bus_device_ops counting_ops = {
	.io = counting_handler, .state_size = sizeof(uint64_t), .save = counting_save, .restore = counting_restore,
};

TEST(bus_overlap_and_dispatch)
{
	struct bus b;
	uint64_t last = 0;
	uint8_t data[8];
	unsigned int i;

	bus_init(&b, "pio");
	TEST_ASSERT_EQ(bus_register(&b, 0x100, 0, "zero", &counting_ops, &last), -EINVAL);
	TEST_ASSERT_OK(bus_register(&b, 0x100, 0x10, "a", &counting_ops, &last));
	TEST_ASSERT_EQ(bus_register(&b, 0x10f, 1, "tail", &counting_ops, &last), -EEXIST);
	TEST_ASSERT_EQ(bus_register(&b, 0xf0, 0x11, "head", &counting_ops, &last), -EEXIST);
	TEST_ASSERT_EQ(bus_register(&b, 0x0, 0x1000, "cover", &counting_ops, &last), -EEXIST);
	TEST_ASSERT_OK(bus_register(&b, 0x110, 1, "adjacent", &counting_ops, &last));
	TEST_ASSERT_OK(bus_register(&b, 0xf0, 0x10, "below", &counting_ops, &last));
	TEST_ASSERT_STR_EQ(bus_find(&b, 0x10f)->name, "a");
	TEST_ASSERT(bus_find(&b, 0x111) == NULL, "0x111 is unmapped");

	TEST_ASSERT_EQ(bus_access(&b, 0x104, 2, false, data, 0), 1);
	TEST_ASSERT_EQ(last, 4 << 8 | 2 << 1 | 0);
	TEST_ASSERT_EQ(data[0], 0x5a);
	TEST_ASSERT_EQ(bus_access(&b, 0x10f, 1, true, data, 0), 1);
	TEST_ASSERT_EQ(last, 0xf << 8 | 1 << 1 | 1);

	for (i = b.nranges; i < BUS_MAX_RANGES; i++)
		TEST_ASSERT_OK(bus_register(&b, 0x1000 + i, 1, "fill", &counting_ops, &last));
	TEST_ASSERT_EQ(bus_register(&b, 0x9000, 1, "one too many", &counting_ops, &last),
		       -ENOSPC);
}

TEST(bus_unhandled_counting)
{
	struct rig r;
	uint8_t data[4] = { 1, 2, 3, 4 };

	rig_init(&r, -1, -1);
	TEST_ASSERT_EQ(bus_access(&r.pio, 0x80, 4, false, data, 0), 0);
	TEST_ASSERT_EQ(data[0] & data[1] & data[2] & data[3], 0xff);
	TEST_ASSERT_EQ(bus_access(&r.pio, 0x80, 1, true, data, 0), 0);
	TEST_ASSERT_EQ(bus_access(&r.pio, 0x81, 1, true, data, 0), 0);
	TEST_ASSERT_EQ(r.pio.unhandled_reads, 1);
	TEST_ASSERT_EQ(r.pio.unhandled_writes, 2);
	TEST_ASSERT_EQ(r.pio.last_unhandled_addr, 0x81);
	TEST_ASSERT_EQ(bus_access(&r.mmio, 0xfee00000, 4, false, data, 0), 0);
	TEST_ASSERT_EQ(r.mmio.unhandled_reads, 1);
	TEST_ASSERT_EQ(r.mmio.last_unhandled_addr, 0xfee00000);
	/* The devices claim their ports. */
	TEST_ASSERT_STR_EQ(bus_find(&r.pio, 0x3fd)->name, "uart");
	TEST_ASSERT_STR_EQ(bus_find(&r.pio, 0x43)->name, "pit");
	TEST_ASSERT_STR_EQ(bus_find(&r.pio, 0x71)->name, "rtc");
	TEST_ASSERT_STR_EQ(bus_find(&r.pio, 0x5e3)->name, "entropy");
	TEST_ASSERT(bus_find(&r.pio, PORT_DEBUG_EXIT) == NULL, "0xf4 is the run loop's");
	TEST_ASSERT_STR_EQ(bus_find(&r.mmio, MMIO_TEST_GPA + 0xfff)->name, "mmio-test");
	devices_destroy(&r.d);
}

/* ------------------------------------------------------------------ pic */

TEST(pic_init_mask_ack_eoi)
{
	struct rig r;

	rig_init(&r, -1, -1);
	/* Masked until the guest initialises it. */
	dev_pic_set_irq(&r.d.pic, 0, 1);
	dev_pic_set_irq(&r.d.pic, 0, 0);
	TEST_ASSERT_EQ(dev_pic_has_pending(&r.d.pic), 0);

	pic_setup(&r, 0x01);
	TEST_ASSERT_EQ(inb(&r, 0x21), 0x00);           /* ICW1 cleared IMR */
	TEST_ASSERT_EQ(inb(&r, 0x20), 0x00);           /* ... and IRR: the old edge is gone */
	outb(&r, 0x21, 0xfe);                          /* OCW1: only IRQ0 */
	outb(&r, 0xa1, 0xff);
	TEST_ASSERT_EQ(inb(&r, 0x21), 0xfe);

	dev_pic_set_irq(&r.d.pic, 1, 1);               /* masked */
	TEST_ASSERT_EQ(dev_pic_has_pending(&r.d.pic), 0);
	outb(&r, 0x20, 0x0a);                          /* OCW3: read IRR */
	TEST_ASSERT_EQ(inb(&r, 0x20), 0x02);

	dev_pic_set_irq(&r.d.pic, 0, 1);
	TEST_ASSERT_EQ(dev_pic_has_pending(&r.d.pic), 1);
	TEST_ASSERT_EQ(dev_pic_ack(&r.d.pic), 0x20);
	outb(&r, 0x20, 0x0b);                          /* OCW3: read ISR */
	TEST_ASSERT_EQ(inb(&r, 0x20), 0x01);
	/* A line held high does not request again. */
	dev_pic_set_irq(&r.d.pic, 0, 1);
	TEST_ASSERT_EQ(dev_pic_has_pending(&r.d.pic), 0);
	/* Unmasking IRQ1 while IRQ0 is in service: IRQ0 has priority, so nothing yet. */
	outb(&r, 0x21, 0xfc);
	TEST_ASSERT_EQ(dev_pic_has_pending(&r.d.pic), 0);
	outb(&r, 0x20, 0x20);                          /* non-specific EOI */
	TEST_ASSERT_EQ(inb(&r, 0x20), 0x00);           /* ISR empty */
	TEST_ASSERT_EQ(dev_pic_has_pending(&r.d.pic), 1);
	TEST_ASSERT_EQ(dev_pic_ack(&r.d.pic), 0x21);
	outb(&r, 0x20, 0x61);                          /* specific EOI for IRQ1 */
	TEST_ASSERT_EQ(inb(&r, 0x20), 0x00);
	/* Low then high again: a new edge. */
	dev_pic_set_irq(&r.d.pic, 0, 0);
	dev_pic_set_irq(&r.d.pic, 0, 1);
	TEST_ASSERT_EQ(dev_pic_ack(&r.d.pic), 0x20);
	devices_destroy(&r.d);
}

TEST(pic_priority_nesting_cascade_spurious)
{
	struct rig r;

	rig_init(&r, -1, -1);
	pic_setup(&r, 0x01);
	dev_pic_set_irq(&r.d.pic, 4, 1);
	dev_pic_set_irq(&r.d.pic, 3, 1);
	TEST_ASSERT_EQ(dev_pic_ack(&r.d.pic), 0x23);   /* IRQ3 beats IRQ4 */
	TEST_ASSERT_EQ(dev_pic_has_pending(&r.d.pic), 0);
	dev_pic_set_irq(&r.d.pic, 1, 1);               /* higher priority nests */
	TEST_ASSERT_EQ(dev_pic_has_pending(&r.d.pic), 1);
	TEST_ASSERT_EQ(dev_pic_ack(&r.d.pic), 0x21);
	outb(&r, 0x20, 0x0b);
	TEST_ASSERT_EQ(inb(&r, 0x20), 0x0a);           /* IRQ1 and IRQ3 in service */
	outb(&r, 0x20, 0x20);                          /* EOI goes to the highest: IRQ1 */
	TEST_ASSERT_EQ(inb(&r, 0x20), 0x08);
	outb(&r, 0x20, 0x20);
	TEST_ASSERT_EQ(dev_pic_ack(&r.d.pic), 0x24);
	outb(&r, 0x20, 0x20);

	/* IRQ8 through the cascade; IRQ2 on the master is the slave's output. */
	dev_pic_set_irq(&r.d.pic, 8, 1);
	TEST_ASSERT_EQ(dev_pic_has_pending(&r.d.pic), 1);
	TEST_ASSERT_EQ(dev_pic_ack(&r.d.pic), 0x28);
	outb(&r, 0x20, 0x0b);
	outb(&r, 0xa0, 0x0b);
	TEST_ASSERT_EQ(inb(&r, 0x20), 0x04);
	TEST_ASSERT_EQ(inb(&r, 0xa0), 0x01);
	outb(&r, 0xa0, 0x20);
	outb(&r, 0x20, 0x20);
	/* Masked on the slave: nothing reaches the master. */
	outb(&r, 0xa1, 0x02);
	dev_pic_set_irq(&r.d.pic, 9, 1);
	TEST_ASSERT_EQ(dev_pic_has_pending(&r.d.pic), 0);
	outb(&r, 0xa1, 0x00);
	TEST_ASSERT_EQ(dev_pic_has_pending(&r.d.pic), 1);
	TEST_ASSERT_EQ(dev_pic_ack(&r.d.pic), 0x29);
	outb(&r, 0xa0, 0x20);
	outb(&r, 0x20, 0x20);

	/* INTA with nothing requested: IRQ7's vector, ISR untouched. */
	TEST_ASSERT_EQ(dev_pic_ack(&r.d.pic), 0x27);
	outb(&r, 0x20, 0x0b);
	TEST_ASSERT_EQ(inb(&r, 0x20), 0x00);
	TEST_ASSERT_EQ(r.d.pic.spurious, 1);
	devices_destroy(&r.d);
}

TEST(pic_auto_eoi_and_poll)
{
	struct rig r;

	rig_init(&r, -1, -1);
	pic_setup(&r, 0x03);                           /* 8086 mode + AEOI */
	dev_pic_set_irq(&r.d.pic, 5, 1);
	TEST_ASSERT_EQ(dev_pic_ack(&r.d.pic), 0x25);
	outb(&r, 0x20, 0x0b);
	TEST_ASSERT_EQ(inb(&r, 0x20), 0x00);           /* no ISR bit in auto-EOI */
	dev_pic_set_irq(&r.d.pic, 6, 1);
	TEST_ASSERT_EQ(dev_pic_has_pending(&r.d.pic), 1);
	outb(&r, 0x20, 0x0c);                          /* OCW3 poll */
	TEST_ASSERT_EQ(inb(&r, 0x20), 0x86);
	TEST_ASSERT_EQ(dev_pic_has_pending(&r.d.pic), 0);
	outb(&r, 0x20, 0x0c);
	TEST_ASSERT_EQ(inb(&r, 0x20), 0x00);           /* poll with nothing: bit 7 clear */
	devices_destroy(&r.d);
}

TEST(pic_rotation_and_special_mask)
{
	struct rig r;

	rig_init(&r, -1, -1);
	pic_setup(&r, 0x01);
	outb(&r, 0x20, 0xc3);                          /* set priority: IRQ3 lowest, IRQ4 highest */
	dev_pic_set_irq(&r.d.pic, 1, 1);
	dev_pic_set_irq(&r.d.pic, 4, 1);
	TEST_ASSERT_EQ(dev_pic_ack(&r.d.pic), 0x24);
	outb(&r, 0x20, 0xa0);                          /* rotate on non-specific EOI: IRQ4 lowest */
	TEST_ASSERT_EQ(r.d.pic.chip[0].lowest_prio, 4);
	TEST_ASSERT_EQ(dev_pic_ack(&r.d.pic), 0x21);
	outb(&r, 0x20, 0x20);

	/* Special mask mode: masking the in-service IRQ3 lets the lower IRQ5 in. */
	outb(&r, 0x20, 0xc7);                          /* back to IRQ0 highest */
	dev_pic_set_irq(&r.d.pic, 3, 1);
	TEST_ASSERT_EQ(dev_pic_ack(&r.d.pic), 0x23);
	dev_pic_set_irq(&r.d.pic, 5, 1);
	TEST_ASSERT_EQ(dev_pic_has_pending(&r.d.pic), 0);
	outb(&r, 0x20, 0x68);                          /* OCW3: set special mask mode */
	outb(&r, 0x21, 0x08);
	TEST_ASSERT_EQ(dev_pic_has_pending(&r.d.pic), 1);
	TEST_ASSERT_EQ(dev_pic_ack(&r.d.pic), 0x25);
	outb(&r, 0x20, 0x48);                          /* OCW3: reset special mask mode */
	outb(&r, 0x20, 0x0b);                          /* OCW3: read ISR */
	TEST_ASSERT_EQ(inb(&r, 0x20), 0x28);           /* IRQ3 and IRQ5 in service */
	devices_destroy(&r.d);
}

/*
 * Special mask mode (OCW3 ESMM|SMM), on and off again. Without it an
 * in-service IRQ blocks lower requests even when the guest masks it; with
 * it a masked in-service level no longer blocks; OCW3 without ESMM leaves
 * the mode alone; resetting it blocks again.
 */
TEST(pic_special_mask_mode_set_and_reset)
{
	struct rig r;

	rig_init(&r, -1, -1);
	pic_setup(&r, 0x01);
	outb(&r, 0xa1, 0xff);
	dev_pic_set_irq(&r.d.pic, 3, 1);
	TEST_ASSERT_EQ(dev_pic_ack(&r.d.pic), 0x23);   /* IRQ3 in service */
	outb(&r, 0x21, 0x08);                          /* mask IRQ3 */
	dev_pic_set_irq(&r.d.pic, 5, 1);
	TEST_ASSERT(!dev_pic_has_pending(&r.d.pic),
		    "normal mask mode: in-service IRQ3 (masked) must still block IRQ5");
	outb(&r, 0x20, 0x28);                          /* OCW3 with SMM but no ESMM: no change */
	TEST_ASSERT(!dev_pic_has_pending(&r.d.pic), "OCW3 without ESMM turned special mask mode on");

	outb(&r, 0x20, 0x68);                          /* OCW3: ESMM|SMM, set */
	TEST_ASSERT(dev_pic_has_pending(&r.d.pic),
		    "special mask mode: masked in-service IRQ3 must not block IRQ5");
	TEST_ASSERT_EQ(dev_pic_ack(&r.d.pic), 0x25);
	outb(&r, 0x20, 0x65);                          /* specific EOI for IRQ5; IRQ3 stays in service */
	outb(&r, 0x20, 0x0b);
	TEST_ASSERT_EQ(inb(&r, 0x20), 0x08);

	outb(&r, 0x20, 0x48);                          /* OCW3: ESMM, SMM clear: reset */
	dev_pic_set_irq(&r.d.pic, 6, 1);
	TEST_ASSERT(!dev_pic_has_pending(&r.d.pic),
		    "special mask mode reset: in-service IRQ3 must block IRQ6 again");
	outb(&r, 0x20, 0x63);                          /* specific EOI for IRQ3 */
	TEST_ASSERT(dev_pic_has_pending(&r.d.pic), "IRQ6 after IRQ3's EOI");
	TEST_ASSERT_EQ(dev_pic_ack(&r.d.pic), 0x26);
	devices_destroy(&r.d);
}

/* ------------------------------------------------------------------ entropy, mmio */

TEST(entropy_port_varies)
{
	struct rig r;
	uint32_t v[16];
	uint8_t b[4];
	unsigned int i, j, dup = 0;

	rig_init(&r, -1, -1);
	for (i = 0; i < 16; i++)
		TEST_ASSERT_EQ(bus_access(&r.pio, 0x5e0 + (i & 3), 4, false, (uint8_t *)&v[i], 0), 1);
	for (i = 0; i < 16; i++)
		for (j = i + 1; j < 16; j++)
			dup += v[i] == v[j];
	TEST_ASSERT(dup == 0, "16 random dwords with %u duplicates", dup);
	memset(b, 0, sizeof(b));
	TEST_ASSERT_EQ(bus_access(&r.pio, 0x5e0, 2, false, b, 0), 1);
	TEST_ASSERT_EQ(b[2] | b[3], 0);                /* a 2-byte IN fills only 2 bytes */
	TEST_ASSERT_EQ(r.d.entropy.bytes, 16 * 4 + 2);
	TEST_ASSERT_EQ(bus_access(&r.pio, 0x5e0, 1, true, b, 0), 1);
	devices_destroy(&r.d);
}

static uint64_t mmio_read(struct rig *r, uint64_t off, uint32_t size)
{
	uint64_t v = 0;

	TEST_ASSERT_EQ(bus_access(&r->mmio, MMIO_TEST_GPA + off, size, false, (uint8_t *)&v, clock_now_ns()), 1);
	return v;
}

static void mmio_write(struct rig *r, uint64_t off, uint32_t size, uint64_t v)
{
	TEST_ASSERT_EQ(bus_access(&r->mmio, MMIO_TEST_GPA + off, size, true, (uint8_t *)&v, clock_now_ns()), 1);
}

TEST(mmio_test_device_registers)
{
	struct rig r;
	uint64_t t0, t1, h0, h1;

	rig_init(&r, -1, -1);
	TEST_ASSERT_EQ(mmio_read(&r, 0x18, 8), 0x5252564b);
	TEST_ASSERT_EQ(mmio_read(&r, 0x18, 4), 0x5252564b);
	mmio_write(&r, 0x00, 8, 0x1122334455667788ULL);
	TEST_ASSERT_EQ(mmio_read(&r, 0x00, 8), 0x1122334455667788ULL);
	mmio_write(&r, 0x04, 4, 0xdeadbeef);
	TEST_ASSERT_EQ(mmio_read(&r, 0x00, 8), 0xdeadbeef55667788ULL);
	TEST_ASSERT_EQ(mmio_read(&r, 0x00, 4), 0x55667788);

	h0 = now_ns();
	t0 = mmio_read(&r, 0x08, 8);
	sleep_ns(1000000);
	t1 = mmio_read(&r, 0x08, 8);
	h1 = now_ns();
	TEST_ASSERT(t0 >= h0 && t1 <= h1 && t1 - t0 >= 1000000,
		    "time register %" PRIu64 " -> %" PRIu64 " within host %" PRIu64 "..%" PRIu64,
		    t0, t1, h0, h1);

	r.exits = 12345;
	TEST_ASSERT_EQ(mmio_read(&r, 0x10, 8), 12345);
	r.exits++;
	TEST_ASSERT_EQ(mmio_read(&r, 0x10, 8), 12346);
	mmio_write(&r, 0x10, 8, 7);                    /* read-only: ignored */
	mmio_write(&r, 0x18, 4, 7);
	TEST_ASSERT_EQ(mmio_read(&r, 0x10, 8), 12346);
	TEST_ASSERT_EQ(mmio_read(&r, 0x18, 8), 0x5252564b);
	TEST_ASSERT_EQ(mmio_read(&r, 0x20, 8), 0);
	TEST_ASSERT_EQ(mmio_read(&r, 0xff8, 8), 0);
	mmio_write(&r, 0x100, 8, ~0ULL);
	TEST_ASSERT_EQ(mmio_read(&r, 0x100, 8), 0);
	TEST_ASSERT_EQ(mmio_read(&r, 0x00, 8), 0xdeadbeef55667788ULL);
	devices_destroy(&r.d);
}

/* Save and restore are part of being a device: a range without them is refused. */
TEST(device_without_save_is_refused)
{
	struct bus b;
	uint64_t last = 0;
	struct bus_device_ops no_save = counting_ops;

	bus_init(&b, "pio");
	no_save.save = NULL;
	TEST_ASSERT_EQ(bus_register(&b, 0x100, 1, "nosave", &no_save, &last), -EINVAL);
	no_save = counting_ops;
	no_save.restore = NULL;
	TEST_ASSERT_EQ(bus_register(&b, 0x100, 1, "norestore", &no_save, &last), -EINVAL);
	TEST_ASSERT_EQ(bus_register(&b, 0x100, 1, "noops", NULL, &last), -EINVAL);
}

/* Every device's registers come back as they were saved: PIC masks and mode, UART line state, PIT, RTC, MMIO scratch. */
TEST(devices_save_restore_round_trip)
{
	static const uint16_t ports[] = { 0x21, 0xa1, 0x3f9, 0x3fb, 0x3fc, 0x3ff };
	struct rig r;
	enum { N = sizeof(ports) / sizeof(ports[0]) };
	uint8_t before[N], after[N];
	uint64_t scratch = 0x1122334455667788ULL, v = 0;
	void *blob;
	size_t len;

	rig_init(&r, -1, -1);
	pic_setup(&r, 0x01);
	outb(&r, 0x21, 0xb5);          /* master IMR */
	outb(&r, 0xa1, 0x3c);          /* slave IMR */
	outb(&r, 0x3f9, 0x05);         /* UART IER */
	outb(&r, 0x3fb, 0x1b);         /* LCR 8E1 */
	outb(&r, 0x3fc, 0x0b);         /* MCR */
	outb(&r, 0x3ff, 0x5a);         /* scratch */
	outb(&r, 0x61, 0x01);          /* PIT channel 2 gate */
	outb(&r, 0x70, 0x0e);          /* CMOS RAM byte 0x0e */
	outb(&r, 0x71, 0x42);
	TEST_ASSERT_EQ(bus_access(&r.mmio, MMIO_TEST_GPA, 8, true, (uint8_t *)&scratch, clock_now_ns()), 1);
	for (size_t i = 0; i < N; i++)
		before[i] = inb(&r, ports[i]);
	TEST_ASSERT_OK(devices_save(&r.pio, &r.mmio, &blob, &len));
	/* Change all of it. */
	outb(&r, 0x21, 0x00);
	outb(&r, 0xa1, 0xff);
	outb(&r, 0x3f9, 0x00);
	outb(&r, 0x3fb, 0x03);
	outb(&r, 0x3fc, 0x00);
	outb(&r, 0x3ff, 0x00);
	outb(&r, 0x61, 0x00);
	outb(&r, 0x70, 0x0e);
	outb(&r, 0x71, 0x00);
	scratch = 0;
	TEST_ASSERT_EQ(bus_access(&r.mmio, MMIO_TEST_GPA, 8, true, (uint8_t *)&scratch, clock_now_ns()), 1);
	TEST_ASSERT_OK(devices_restore(&r.pio, &r.mmio, blob, len));
	for (size_t i = 0; i < N; i++) {
		after[i] = inb(&r, ports[i]);
		TEST_ASSERT(after[i] == before[i], "port 0x%x: 0x%02x after restore, 0x%02x saved", ports[i],
			    after[i], before[i]);
	}
	/* Port 0x61: bits 0-3 as written (bits 4-5 follow the time). */
	TEST_ASSERT_EQ(inb(&r, 0x61) & 0x0f, 0x01);
	outb(&r, 0x70, 0x0e);
	TEST_ASSERT_EQ(inb(&r, 0x71), 0x42);
	TEST_ASSERT_EQ(bus_access(&r.mmio, MMIO_TEST_GPA, 8, false, (uint8_t *)&v, clock_now_ns()), 1);
	TEST_ASSERT_EQ(v, 0x1122334455667788ULL);
	TEST_ASSERT_EQ(devices_restore(&r.pio, &r.mmio, blob, len - 1), -EINVAL);
	free(blob);
	devices_destroy(&r.d);
}

TEST_MAIN()
