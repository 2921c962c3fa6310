/* SPDX-License-Identifier: MIT */
/*
 * The CMOS RTC, driven through the port bus exactly as the run loop does
 * for a guest's exits, against the host's wall clock.
 */
#include "tests/test.h"

#include <time.h>

#include "machine/machine.h"
#include "tests/machine/rig.h"

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

TEST_MAIN()
