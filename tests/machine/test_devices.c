/* SPDX-License-Identifier: MIT */
/*
 * Device models driven through the port/MMIO buses exactly as the run loop
 * does for a guest's IN/OUT and MMIO exits. No KVM needed: these are the
 * register-level behaviours a guest driver relies on.
 */
#include "tests/test.h"

#include <poll.h>
#include <time.h>

#include "machine/devices.h"
#include "machine/machine.h"

struct rig {
	struct bus pio, mmio;
	struct devices d;
	uint64_t exits;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ULL), (long)(ns % 1000000000ULL) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void rig_init(struct rig *r, int out_fd, int in_fd)
{
	bus_init(&r->pio, "pio");
	bus_init(&r->mmio, "mmio");
	TEST_ASSERT_OK(devices_init(&r->d, &r->pio, &r->mmio, out_fd, in_fd, &r->exits));
}

static void outb(struct rig *r, uint16_t port, uint8_t v)
{
	TEST_ASSERT(bus_access(&r->pio, port, 1, true, &v) == 1, "OUT 0x%x not claimed", port);
}

static uint8_t inb(struct rig *r, uint16_t port)
{
	uint8_t v = 0;

	TEST_ASSERT(bus_access(&r->pio, port, 1, false, &v) == 1, "IN 0x%x not claimed", port);
	return v;
}

/* The PC BIOS / Linux programming: vectors 0x20 and 0x28, cascade on IRQ2. */
static void pic_setup(struct rig *r, uint8_t icw4)
{
	outb(r, 0x20, 0x11); outb(r, 0x21, 0x20); outb(r, 0x21, 0x04); outb(r, 0x21, icw4);
	outb(r, 0xa0, 0x11); outb(r, 0xa1, 0x28); outb(r, 0xa1, 0x02); outb(r, 0xa1, icw4);
}

/* ------------------------------------------------------------------ bus */

static int counting_handler(void *dev, uint64_t off, uint32_t size, bool write, uint8_t *data)
{
	uint64_t *last = dev;

	*last = off << 8 | size << 1 | write;
	if (!write)
		memset(data, 0x5a, size);
	return 0;
}

TEST(bus_overlap_and_dispatch)
{
	struct bus b;
	uint64_t last = 0;
	uint8_t data[8];
	unsigned int i;

	bus_init(&b, "pio");
	TEST_ASSERT_EQ(bus_register(&b, 0x100, 0, "zero", counting_handler, &last), -EINVAL);
	TEST_ASSERT_OK(bus_register(&b, 0x100, 0x10, "a", counting_handler, &last));
	TEST_ASSERT_EQ(bus_register(&b, 0x10f, 1, "tail", counting_handler, &last), -EEXIST);
	TEST_ASSERT_EQ(bus_register(&b, 0xf0, 0x11, "head", counting_handler, &last), -EEXIST);
	TEST_ASSERT_EQ(bus_register(&b, 0x0, 0x1000, "cover", counting_handler, &last), -EEXIST);
	TEST_ASSERT_OK(bus_register(&b, 0x110, 1, "adjacent", counting_handler, &last));
	TEST_ASSERT_OK(bus_register(&b, 0xf0, 0x10, "below", counting_handler, &last));
	TEST_ASSERT_STR_EQ(bus_find(&b, 0x10f)->name, "a");
	TEST_ASSERT(bus_find(&b, 0x111) == NULL, "0x111 is unmapped");

	TEST_ASSERT_EQ(bus_access(&b, 0x104, 2, false, data), 1);
	TEST_ASSERT_EQ(last, 4 << 8 | 2 << 1 | 0);
	TEST_ASSERT_EQ(data[0], 0x5a);
	TEST_ASSERT_EQ(bus_access(&b, 0x10f, 1, true, data), 1);
	TEST_ASSERT_EQ(last, 0xf << 8 | 1 << 1 | 1);

	for (i = b.nranges; i < BUS_MAX_RANGES; i++)
		TEST_ASSERT_OK(bus_register(&b, 0x1000 + i, 1, "fill", counting_handler, &last));
	TEST_ASSERT_EQ(bus_register(&b, 0x9000, 1, "one too many", counting_handler, &last),
		       -ENOSPC);
}

TEST(bus_unhandled_counting)
{
	struct rig r;
	uint8_t data[4] = { 1, 2, 3, 4 };

	rig_init(&r, -1, -1);
	TEST_ASSERT_EQ(bus_access(&r.pio, 0x80, 4, false, data), 0);
	TEST_ASSERT_EQ(data[0] & data[1] & data[2] & data[3], 0xff);
	TEST_ASSERT_EQ(bus_access(&r.pio, 0x80, 1, true, data), 0);
	TEST_ASSERT_EQ(bus_access(&r.pio, 0x81, 1, true, data), 0);
	TEST_ASSERT_EQ(r.pio.unhandled_reads, 1);
	TEST_ASSERT_EQ(r.pio.unhandled_writes, 2);
	TEST_ASSERT_EQ(r.pio.last_unhandled_addr, 0x81);
	TEST_ASSERT_EQ(bus_access(&r.mmio, 0xfee00000, 4, false, data), 0);
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

/* ------------------------------------------------------------------ pit */

static uint16_t pit_read16(struct rig *r, uint16_t port)
{
	uint8_t lo = inb(r, port);

	return (uint16_t)(lo | inb(r, port) << 8);
}

/* Latch and read channel ch (lo/hi access); *t0..*t1 brackets the latch. */
static uint16_t pit_latched(struct rig *r, unsigned int ch, uint64_t *t0, uint64_t *t1)
{
	*t0 = now_ns();
	outb(r, 0x43, (uint8_t)(ch << 6));
	*t1 = now_ns();
	return pit_read16(r, (uint16_t)(0x40 + ch));
}

static uint64_t ns_to_clocks(uint64_t ns)
{
	return ns * 1193182ULL / 1000000000ULL;
}

/*
 * A one-shot (mode 0) count loaded between s0 and s1 and latched between l0
 * and l1 must show reload - elapsed clocks (mod 2^16) for an elapsed time in
 * that window: the check holds however late the host ran us.
 */
static void assert_mode0_count(uint16_t v, uint32_t reload, uint64_t s0, uint64_t s1,
			       uint64_t l0, uint64_t l1)
{
	uint64_t lo = l0 > s1 ? ns_to_clocks(l0 - s1) : 0, hi = ns_to_clocks(l1 - s0) + 2;
	uint64_t t = (reload - v) & 0xffff;

	while (t + 65536 <= lo)
		t += 65536;
	TEST_ASSERT(t + 2 >= lo && t <= hi, "count %u = %" PRIu64 " clocks elapsed, wanted "
		    "%" PRIu64 "..%" PRIu64, v, t, lo, hi);
}

TEST(pit_counter_readback_and_latch)
{
	struct rig r;
	uint16_t a, b, latched, live;
	uint64_t s0, s1, l0, l1, m0, m1;

	rig_init(&r, -1, -1);
	s0 = now_ns();
	outb(&r, 0x43, 0x30);                          /* ch0, lo/hi, mode 0, binary */
	outb(&r, 0x40, 0xff);
	outb(&r, 0x40, 0xff);                          /* 65535 clocks: ~55 ms */
	s1 = now_ns();
	a = pit_latched(&r, 0, &l0, &l1);
	assert_mode0_count(a, 0xffff, s0, s1, l0, l1);
	sleep_ns(2000000);
	b = pit_latched(&r, 0, &m0, &m1);
	assert_mode0_count(b, 0xffff, s0, s1, m0, m1);
	TEST_ASSERT(b != a, "the count moves: %u then %u", a, b);

	/* A latched value holds while the counter runs on. */
	outb(&r, 0x43, 0x00);
	l1 = now_ns();
	sleep_ns(3000000);
	latched = pit_read16(&r, 0x40);
	live = pit_latched(&r, 0, &m0, &m1);
	assert_mode0_count(latched, 0xffff, s0, s1, s1, l1);
	TEST_ASSERT((uint16_t)(latched - live) >= 3000,
		    "latched %u must be the count from 3 ms before live %u", latched, live);
	/* LSB-only access mode returns the low byte each time. */
	outb(&r, 0x43, 0x14);                          /* ch0, LSB only, mode 2 */
	outb(&r, 0x40, 200);
	a = inb(&r, 0x40);
	TEST_ASSERT(a >= 1 && a <= 200, "LSB-only count %u within 1..200", a);
	devices_destroy(&r.d);
}

TEST(pit_readback_status)
{
	struct rig r;
	uint8_t st;

	rig_init(&r, -1, -1);
	outb(&r, 0x43, 0xb0);                          /* ch2, lo/hi, mode 0 */
	outb(&r, 0x43, 0xe8);                          /* read-back status of ch2 */
	st = inb(&r, 0x42);
	TEST_ASSERT_EQ(st, 0x70);                      /* OUT low, null count, lo/hi, mode 0 */
	outb(&r, 0x42, 0x00);
	outb(&r, 0x42, 0x10);
	outb(&r, 0x43, 0xe8);
	st = inb(&r, 0x42);
	TEST_ASSERT_EQ(st, 0x30);                      /* count loaded: null count clear */
	devices_destroy(&r.d);
}

TEST(pit_mode2_periodic_irq0)
{
	struct rig r;
	uint64_t p0, start, deadline, t, last = 0, next, lo, hi;
	unsigned int ticks = 0;

	rig_init(&r, -1, -1);
	pic_setup(&r, 0x01);
	outb(&r, 0x21, 0xfe);
	outb(&r, 0x43, 0x34);
	outb(&r, 0x40, 1193 & 0xff);
	p0 = now_ns();
	outb(&r, 0x40, 1193 >> 8);                     /* 1 ms period, counting from here */
	start = now_ns();
	next = devices_next_deadline_ns(&r.d);
	TEST_ASSERT(next >= p0 + 999000 && next <= start + 1000100,
		    "first deadline %" PRIu64 " ns after programming", next - p0);
	deadline = start + 100000000ULL;
	while ((t = now_ns()) < deadline) {
		devices_update(&r.d, t);
		last = t;
		if (dev_pic_has_pending(&r.d.pic)) {
			TEST_ASSERT_EQ(dev_pic_ack(&r.d.pic), 0x20);
			outb(&r, 0x20, 0x20);
			ticks++;
		}
		sleep_ns(200000);
	}
	/*
	 * A loaded host runs our loop late: periods it missed are coalesced.
	 * Delivered plus coalesced must be exactly the periods elapsed at the
	 * last update, given when counting started (between p0 and start).
	 */
	lo = ns_to_clocks(last - start) / 1193;
	hi = ns_to_clocks(last - p0) / 1193;
	printf("# %u ticks in 100 ms, %" PRIu64 " coalesced\n", ticks, r.d.pit.missed);
	TEST_ASSERT(ticks >= 10 && ticks + r.d.pit.missed >= lo && ticks + r.d.pit.missed <= hi,
		    "%u IRQ0 ticks + %" PRIu64 " coalesced, %" PRIu64 "..%" PRIu64 " periods elapsed",
		    ticks, r.d.pit.missed, lo, hi);

	/* Missed periods coalesce into one edge, not a storm. */
	sleep_ns(30000000);
	devices_update(&r.d, now_ns());
	devices_update(&r.d, now_ns());
	TEST_ASSERT_EQ(dev_pic_ack(&r.d.pic), 0x20);
	outb(&r, 0x20, 0x20);
	TEST_ASSERT_EQ(dev_pic_has_pending(&r.d.pic), 0);
	TEST_ASSERT(r.d.pit.missed >= 25, "%" PRIu64 " periods coalesced after a 30 ms gap",
		    r.d.pit.missed);
	TEST_ASSERT(devices_next_deadline_ns(&r.d) > now_ns() - 1000000,
		    "next deadline is in the future, not in the backlog");
	devices_destroy(&r.d);
}

TEST(pit_mode0_oneshot_and_port61_gate)
{
	struct rig r;
	uint16_t a, b;
	uint8_t p61;
	uint64_t g0, g1, l0, l1;
	unsigned int i, refresh_seen = 0;

	rig_init(&r, -1, -1);
	TEST_ASSERT_EQ(inb(&r, 0x61) & 0x01, 0);       /* gate 2 off at reset */
	outb(&r, 0x43, 0xb0);                          /* ch2, lo/hi, mode 0 */
	outb(&r, 0x42, 1193 & 0xff);
	outb(&r, 0x42, 1193 >> 8);                     /* 1 ms */
	a = pit_read16(&r, 0x42);
	sleep_ns(2000000);
	b = pit_read16(&r, 0x42);
	TEST_ASSERT(a == 1193 && b == 1193, "gate low holds the count: %u, %u", a, b);
	TEST_ASSERT_EQ(inb(&r, 0x61) & 0x20, 0);       /* OUT2 low in mode 0 */

	g0 = now_ns();
	outb(&r, 0x61, 0x01);                          /* gate on, speaker off */
	g1 = now_ns();
	p61 = inb(&r, 0x61);
	TEST_ASSERT(!(p61 & 0x20) || now_ns() - g0 >= 1000000, "OUT2 still low: 0x%02x", p61);
	TEST_ASSERT_EQ(p61 & 0x03, 0x01);
	sleep_ns(2000000);
	p61 = inb(&r, 0x61);
	TEST_ASSERT(p61 & 0x20, "OUT2 high after terminal count, port 0x61 = 0x%02x", p61);
	/* After terminal count it wraps and keeps counting, from where the gate started it. */
	b = pit_latched(&r, 2, &l0, &l1);
	assert_mode0_count(b, 1193, g0, g1, l0, l1);

	/* Gate low again: the count freezes. */
	outb(&r, 0x61, 0x00);
	a = pit_latched(&r, 2, &l0, &l1);
	sleep_ns(1000000);
	b = pit_latched(&r, 2, &l0, &l1);
	TEST_ASSERT_EQ(a, b);

	/* Bit 4 toggles with DRAM refresh, about every 15 us. */
	for (i = 0; i < 2000 && refresh_seen != 3; i++) {
		refresh_seen |= (inb(&r, 0x61) & 0x10) ? 2 : 1;
		sleep_ns(3000);
	}
	TEST_ASSERT_EQ(refresh_seen, 3);
	outb(&r, 0x61, 0x03);
	TEST_ASSERT_EQ(inb(&r, 0x61) & 0x03, 0x03);    /* speaker bit reads back */
	devices_destroy(&r.d);
}

/* ------------------------------------------------------------------ uart */

TEST(uart_lsr_iir_transitions)
{
	struct rig r;

	rig_init(&r, -1, -1);
	TEST_ASSERT_EQ(inb(&r, 0x3fd), 0x60);          /* THRE|TEMT, no data */
	TEST_ASSERT_EQ(inb(&r, 0x3fa), 0x01);          /* no interrupt, FIFO off */
	outb(&r, 0x3fa, 0x07);                         /* enable + clear FIFOs */
	TEST_ASSERT_EQ(inb(&r, 0x3fa), 0xc1);          /* 16550A: FIFO bits */
	pic_setup(&r, 0x01);
	outb(&r, 0x21, 0xef);                          /* only IRQ4 */

	outb(&r, 0x3f9, 0x02);                         /* ETBEI: THR is empty, so it fires */
	TEST_ASSERT_EQ(dev_pic_has_pending(&r.d.pic), 1);
	TEST_ASSERT_EQ(inb(&r, 0x3fa), 0xc2);
	TEST_ASSERT_EQ(inb(&r, 0x3fa), 0xc1);          /* reading IIR cleared THRE */
	outb(&r, 0x3f8, 'x');
	TEST_ASSERT_EQ(inb(&r, 0x3fa), 0xc2);          /* written and gone: THRE again */
	TEST_ASSERT_EQ(dev_pic_ack(&r.d.pic), 0x24);
	outb(&r, 0x20, 0x20);

	outb(&r, 0x3f9, 0x03);                         /* + ERBFI */
	TEST_ASSERT_EQ(dev_uart_rx_push(&r.d.uart, (const uint8_t *)"ab", 2), 2);
	TEST_ASSERT_EQ(inb(&r, 0x3fd), 0x61);          /* DR */
	TEST_ASSERT_EQ(inb(&r, 0x3fa), 0xc4);          /* RX data outranks THRE */
	TEST_ASSERT_EQ(inb(&r, 0x3f8), 'a');
	TEST_ASSERT_EQ(inb(&r, 0x3f8), 'b');
	TEST_ASSERT_EQ(inb(&r, 0x3fd), 0x60);
	/* THRE was acknowledged by the IIR read above and ETBEI stayed on. */
	TEST_ASSERT_EQ(inb(&r, 0x3fa), 0xc1);
	outb(&r, 0x3f9, 0x00);
	TEST_ASSERT_EQ(inb(&r, 0x3f9), 0x00);
	outb(&r, 0x3ff, 0xa5);                         /* scratch */
	TEST_ASSERT_EQ(inb(&r, 0x3ff), 0xa5);
	devices_destroy(&r.d);
}

TEST(uart_divisor_latch_and_loopback)
{
	struct rig r;

	rig_init(&r, -1, -1);
	outb(&r, 0x3f9, 0x05);                         /* IER */
	outb(&r, 0x3fb, 0x83);                         /* DLAB */
	outb(&r, 0x3f8, 0x01);
	outb(&r, 0x3f9, 0x02);
	TEST_ASSERT_EQ(inb(&r, 0x3f8), 0x01);
	TEST_ASSERT_EQ(inb(&r, 0x3f9), 0x02);
	TEST_ASSERT_EQ(r.d.uart.divisor, 0x0201);
	outb(&r, 0x3fb, 0x03);
	TEST_ASSERT_EQ(inb(&r, 0x3fb), 0x03);
	TEST_ASSERT_EQ(inb(&r, 0x3f9), 0x05);          /* IER untouched by the latch */
	TEST_ASSERT_EQ(r.d.uart.tx_bytes, 0);          /* DLL writes are not output */

	/* Linux's 8250 probe: loopback with RTS and OUT2 reads MSR 0x90. */
	outb(&r, 0x3fc, 0x1a);
	TEST_ASSERT_EQ(inb(&r, 0x3fe) & 0xf0, 0x90);
	outb(&r, 0x3f8, 'L');
	TEST_ASSERT_EQ(inb(&r, 0x3fd) & 0x01, 0x01);
	TEST_ASSERT_EQ(inb(&r, 0x3f8), 'L');
	TEST_ASSERT_EQ(r.d.uart.tx_bytes, 0);
	outb(&r, 0x3fc, 0x0b);
	TEST_ASSERT_EQ(inb(&r, 0x3fe) & 0xf0, 0xb0);   /* DCD, DSR, CTS */
	devices_destroy(&r.d);
}

TEST(uart_output_reaches_fd)
{
	struct rig r;
	int p[2];
	char buf[64];
	ssize_t n;
	const char *s;

	TEST_ASSERT_OK(pipe2(p, O_NONBLOCK));
	rig_init(&r, p[1], -1);
	for (s = "hello\n"; *s; s++)
		outb(&r, 0x3f8, (uint8_t)*s);
	n = read(p[0], buf, sizeof(buf));
	TEST_ASSERT_EQ(n, 6);
	TEST_ASSERT(memcmp(buf, "hello\n", 6) == 0, "got \"%.*s\"", (int)n, buf);
	for (s = "tail"; *s; s++)
		outb(&r, 0x3f8, (uint8_t)*s);
	/* A partial line waits a little, then a poll flushes it; destroy flushes the rest. */
	devices_update(&r.d, now_ns());
	n = read(p[0], buf, sizeof(buf));
	TEST_ASSERT(n < 0 && errno == EAGAIN, "a fresh partial line stays buffered (n=%zd)", n);
	devices_update(&r.d, now_ns() + 2 * DEV_UART_FLUSH_NS);
	n = read(p[0], buf, sizeof(buf));
	TEST_ASSERT(n == 4 && memcmp(buf, "tail", 4) == 0, "stale partial line flushed (n=%zd)", n);
	outb(&r, 0x3f8, '!');
	devices_destroy(&r.d);
	n = read(p[0], buf, sizeof(buf));
	TEST_ASSERT(n == 1 && buf[0] == '!', "destroy flushes (n=%zd)", n);
	TEST_ASSERT_EQ(r.d.uart.tx_bytes, 11);
	close(p[0]);
	close(p[1]);
}

TEST(uart_input_from_file_to_eof)
{
	struct rig r;
	char path[] = "/tmp/kvmrr-uart-XXXXXX";
	int fd = mkstemp(path);
	char got[8] = { 0 };
	unsigned int i;

	TEST_ASSERT(fd >= 0, "mkstemp");
	TEST_ASSERT_EQ(write(fd, "xyz", 3), 3);
	TEST_ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
	unlink(path);
	rig_init(&r, -1, fd);
	pic_setup(&r, 0x01);
	outb(&r, 0x21, 0xef);
	outb(&r, 0x3f9, 0x01);                         /* ERBFI */
	TEST_ASSERT(dev_uart_wants_input(&r.d.uart), "input open and RX interrupts on");
	TEST_ASSERT_EQ(inb(&r, 0x3fd) & 1, 0);
	devices_update(&r.d, now_ns());
	TEST_ASSERT_EQ(dev_pic_has_pending(&r.d.pic), 1);
	TEST_ASSERT_EQ(inb(&r, 0x3fa) & 0x0f, 0x04);
	for (i = 0; i < 3 && (inb(&r, 0x3fd) & 1); i++)
		got[i] = (char)inb(&r, 0x3f8);
	TEST_ASSERT_STR_EQ(got, "xyz");
	TEST_ASSERT(!dev_uart_input_done(&r.d.uart), "EOF not seen yet");
	devices_update(&r.d, now_ns());
	TEST_ASSERT(dev_uart_input_done(&r.d.uart), "EOF after the last byte");
	TEST_ASSERT(!dev_uart_wants_input(&r.d.uart), "no more input to wait for");
	TEST_ASSERT_EQ(inb(&r, 0x3fa) & 0x0f, 0x01);
	devices_destroy(&r.d);
	close(fd);
}

/* ------------------------------------------------------------------ rtc */

static uint8_t cmos(struct rig *r, uint8_t reg)
{
	outb(r, 0x70, reg);
	return inb(r, 0x71);
}

static int bcd_ok(uint8_t v)
{
	return (v & 0x0f) < 10 && (v >> 4) < 10;
}

static unsigned int bcd(uint8_t v)
{
	return (v >> 4) * 10u + (v & 15);
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* time() reads a coarse clock that may lag CLOCK_REALTIME, which the RTC follows. */
static time_t rt_sec(void)
{
	return (time_t)(realtime_ns() / 1000000000ULL);
}

TEST(rtc_time_formats)
{
	struct rig r;
	time_t host;
	struct tm tm;
	uint8_t sec, min, hour, day, mon, year, cent, h12;

	rig_init(&r, -1, -1);
	TEST_ASSERT_EQ(cmos(&r, RTC_REG_D), 0x80);
	TEST_ASSERT_EQ(cmos(&r, RTC_REG_B), 0x02);     /* BCD, 24 h */
	do {
		host = rt_sec();
		sec = cmos(&r, 0); min = cmos(&r, 2); hour = cmos(&r, 4);
		day = cmos(&r, 7); mon = cmos(&r, 8); year = cmos(&r, 9); cent = cmos(&r, 0x32);
	} while (rt_sec() != host);
	gmtime_r(&host, &tm);
	TEST_ASSERT(bcd_ok(sec) && bcd_ok(min) && bcd_ok(hour) && bcd_ok(day) && bcd_ok(mon) &&
		    bcd_ok(year) && bcd_ok(cent), "BCD digits: %02x:%02x:%02x %02x/%02x/%02x%02x",
		    hour, min, sec, day, mon, cent, year);
	TEST_ASSERT_EQ(bcd(sec), tm.tm_sec);
	TEST_ASSERT_EQ(bcd(min), tm.tm_min);
	TEST_ASSERT_EQ(bcd(hour), tm.tm_hour);
	TEST_ASSERT_EQ(bcd(day), tm.tm_mday);
	TEST_ASSERT_EQ(bcd(mon), tm.tm_mon + 1);
	TEST_ASSERT_EQ(bcd(cent) * 100 + bcd(year), tm.tm_year + 1900);

	outb(&r, 0x70, RTC_REG_B);
	outb(&r, 0x71, 0x06);                          /* binary, 24 h */
	do {
		host = rt_sec();
		min = cmos(&r, 2); hour = cmos(&r, 4);
	} while (rt_sec() != host);
	gmtime_r(&host, &tm);
	TEST_ASSERT_EQ(min, tm.tm_min);
	TEST_ASSERT_EQ(hour, tm.tm_hour);
	outb(&r, 0x70, RTC_REG_B);
	outb(&r, 0x71, 0x04);                          /* binary, 12 h */
	h12 = cmos(&r, 4);
	gmtime_r(&(time_t){ rt_sec() }, &tm);
	TEST_ASSERT_EQ(h12 & 0x7f, tm.tm_hour % 12 ? tm.tm_hour % 12 : 12);
	TEST_ASSERT_EQ(!!(h12 & 0x80), tm.tm_hour >= 12);
	devices_destroy(&r.d);
}

TEST(rtc_uip_set_ram_and_nmi_bit)
{
	struct rig r;
	uint64_t t0, t1, sub;
	unsigned int tries, inside = 0, outside = 0;
	uint8_t a;

	rig_init(&r, -1, -1);
	/*
	 * UIP is set in the last ~2.2 ms of each second. Aim reads at 1.2 ms
	 * before the second and at mid-second; a read counts only if the host
	 * ran it where we aimed (a loaded host may wake us late).
	 */
	for (tries = 0; tries < 20 && (!inside || !outside); tries++) {
		sub = realtime_ns() % 1000000000ULL;
		sleep_ns((1000000000ULL - 1200000ULL - sub + 1000000000ULL) % 1000000000ULL);
		t0 = realtime_ns();
		a = cmos(&r, RTC_REG_A);
		t1 = realtime_ns();
		TEST_ASSERT_EQ(a & 0x7f, 0x26);
		if (t0 / 1000000000ULL == t1 / 1000000000ULL &&
		    t0 % 1000000000ULL >= 1000000000ULL - 2000000ULL) {
			TEST_ASSERT(a & 0x80, "UIP clear at %" PRIu64 " ns into the second",
				    (uint64_t)(t0 % 1000000000ULL));
			inside++;
		}
		sleep_ns(500000000ULL);
		t0 = realtime_ns();
		a = cmos(&r, RTC_REG_A);
		t1 = realtime_ns();
		if (t0 / 1000000000ULL == t1 / 1000000000ULL &&
		    t1 % 1000000000ULL < 1000000000ULL - RTC_UIP_NS) {
			TEST_ASSERT(!(a & 0x80), "UIP set at %" PRIu64 " ns into the second",
				    (uint64_t)(t1 % 1000000000ULL));
			outside++;
		}
	}
	TEST_ASSERT(inside && outside, "could not time reads around the update (%u in, %u out)",
		    inside, outside);

	outb(&r, 0x70, 0x80 | 0x40);                   /* NMI-disable bit is not part of the index */
	outb(&r, 0x71, 0x5a);
	TEST_ASSERT_EQ(cmos(&r, 0x40), 0x5a);
	TEST_ASSERT_EQ(cmos(&r, 0x7f), 0x00);
	TEST_ASSERT_EQ(inb(&r, 0x70), 0xff);           /* index is write-only */

	/* The guest sets the clock: SET, write year 1999, release. */
	outb(&r, 0x70, RTC_REG_B);
	outb(&r, 0x71, 0x82);
	outb(&r, 0x70, 0x09);
	outb(&r, 0x71, 0x99);
	outb(&r, 0x70, 0x32);
	outb(&r, 0x71, 0x19);
	outb(&r, 0x70, RTC_REG_B);
	outb(&r, 0x71, 0x02);
	TEST_ASSERT_EQ(cmos(&r, 0x09), 0x99);
	TEST_ASSERT_EQ(cmos(&r, 0x32), 0x19);
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
		TEST_ASSERT_EQ(bus_access(&r.pio, 0x5e0 + (i & 3), 4, false, (uint8_t *)&v[i]), 1);
	for (i = 0; i < 16; i++)
		for (j = i + 1; j < 16; j++)
			dup += v[i] == v[j];
	TEST_ASSERT(dup == 0, "16 random dwords with %u duplicates", dup);
	memset(b, 0, sizeof(b));
	TEST_ASSERT_EQ(bus_access(&r.pio, 0x5e0, 2, false, b), 1);
	TEST_ASSERT_EQ(b[2] | b[3], 0);                /* a 2-byte IN fills only 2 bytes */
	TEST_ASSERT_EQ(r.d.entropy.bytes, 16 * 4 + 2);
	TEST_ASSERT_EQ(bus_access(&r.pio, 0x5e0, 1, true, b), 1);
	devices_destroy(&r.d);
}

static uint64_t mmio_read(struct rig *r, uint64_t off, uint32_t size)
{
	uint64_t v = 0;

	TEST_ASSERT_EQ(bus_access(&r->mmio, MMIO_TEST_GPA + off, size, false, (uint8_t *)&v), 1);
	return v;
}

static void mmio_write(struct rig *r, uint64_t off, uint32_t size, uint64_t v)
{
	TEST_ASSERT_EQ(bus_access(&r->mmio, MMIO_TEST_GPA + off, size, true, (uint8_t *)&v), 1);
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

TEST_MAIN()
