/* SPDX-License-Identifier: MIT */
/*
 * The i8254 PIT (with port 0x61), driven through the buses exactly as the
 * run loop does for a guest's exits. No KVM needed: these are the
 * register-level behaviours a guest driver relies on.
 */
#include "tests/test.h"

#include <time.h>

#include "machine/machine.h"
#include "tests/machine/rig.h"

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

TEST(pit_mode4_oneshot_irq0_like_linux_clockevents)
{
	struct rig r;
	uint64_t p0, p1, t, first = 0, end;
	unsigned int edges = 0;

	rig_init(&r, -1, -1);
	pic_setup(&r, 0x01);
	outb(&r, 0x21, 0xfe);
	outb(&r, 0x43, 0x38);                          /* ch0, lo/hi, mode 4 (software strobe) */
	outb(&r, 0x40, 2386 & 0xff);
	p0 = now_ns();
	outb(&r, 0x40, 2386 >> 8);                     /* 2 ms */
	p1 = now_ns();
	TEST_ASSERT(dev_pit_next_deadline_ns(&r.d.pit) >= p0 + 2000000 &&
		    dev_pit_next_deadline_ns(&r.d.pit) <= p1 + 2001000, "deadline 2 ms out");
	for (end = p1 + 12000000; (t = now_ns()) < end; sleep_ns(200000)) {
		devices_update(&r.d, t);
		if (dev_pic_has_pending(&r.d.pic)) {
			TEST_ASSERT_EQ(dev_pic_ack(&r.d.pic), 0x20);
			outb(&r, 0x20, 0x20);
			if (!edges++)
				first = t;
		}
	}
	TEST_ASSERT_EQ(edges, 1);
	TEST_ASSERT(first >= p0 + 2000000, "the strobe came %" PRIu64 " ns after loading",
		    first - p0);
	TEST_ASSERT_EQ(dev_pit_next_deadline_ns(&r.d.pit), UINT64_MAX);
	/* The next event: a new count alone re-arms it (no control word). */
	outb(&r, 0x40, 1193 & 0xff);
	outb(&r, 0x40, 1193 >> 8);
	sleep_ns(3000000);
	devices_update(&r.d, now_ns());
	TEST_ASSERT_EQ(dev_pic_ack(&r.d.pic), 0x20);
	devices_destroy(&r.d);
}

/* Which half of a mode-3 period [lo, hi] clocks fall in: 1 high, 0 low, -1 both. */
static int mode3_half(uint64_t lo, uint64_t hi, uint64_t period)
{
	int a = lo % period < period / 2, b = hi % period < period / 2;

	return hi - lo < period / 2 && a == b ? a : -1;
}

TEST(pit_mode3_square_wave_on_out2)
{
	struct rig r;
	uint64_t p0, p1, t0, t1, end;
	unsigned int high = 0, low = 0;
	int want;
	uint8_t v;

	rig_init(&r, -1, -1);
	outb(&r, 0x61, 0x01);
	outb(&r, 0x43, 0xb6);                          /* ch2, lo/hi, mode 3 */
	outb(&r, 0x42, 2386 & 0xff);
	p0 = now_ns();
	outb(&r, 0x42, 2386 >> 8);                     /* 2 ms period */
	p1 = now_ns();
	/* Check the samples whose timing pins them inside one half period. */
	for (end = p1 + 200000000; now_ns() < end && (!high || !low); sleep_ns(70000)) {
		t0 = now_ns();
		v = inb(&r, 0x61);
		t1 = now_ns();
		want = mode3_half(ns_to_clocks(t0 - p1), ns_to_clocks(t1 - p0), 2386);
		if (want < 0)
			continue;
		TEST_ASSERT_EQ(!!(v & 0x20), want);
		want ? high++ : low++;
	}
	TEST_ASSERT(high > 0 && low > 0, "OUT2 seen %u times high, %u low", high, low);
	/* Counts by two: always even. */
	TEST_ASSERT_EQ(pit_read16(&r, 0x42) & 1, 0);
	outb(&r, 0x61, 0x00);                          /* gate low: OUT2 high, as the 8254 does */
	TEST_ASSERT_EQ(inb(&r, 0x61) & 0x20, 0x20);
	devices_destroy(&r.d);
}

TEST_MAIN()
