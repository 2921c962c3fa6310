/* SPDX-License-Identifier: MIT */
/*
 * rtc: reads the CMOS RTC (waiting out an update in progress, decoding BCD
 * and 12-hour formats as status register B says) and prints the date and
 * time; fails when a field is out of range or the year is not 2000-2099.
 */
#include "rt/rt.h"

enum { SEC = 0x00, MIN = 0x02, HOUR = 0x04, DAY = 0x07, MON = 0x08, YEAR = 0x09,
       STATUS_A = 0x0a, STATUS_B = 0x0b, CENTURY = 0x32 };

struct tm {
	unsigned sec, min, hour, day, mon, year, century;
};

static uint8_t cmos(uint8_t reg)
{
	rt_outb(ABI_RTC_INDEX, reg);
	return rt_inb(ABI_RTC_DATA);
}

static void read_raw(struct tm *t)
{
	t->sec = cmos(SEC);
	t->min = cmos(MIN);
	t->hour = cmos(HOUR);
	t->day = cmos(DAY);
	t->mon = cmos(MON);
	t->year = cmos(YEAR);
	t->century = cmos(CENTURY);
}

static unsigned bcd(unsigned v)
{
	return (v >> 4) * 10 + (v & 15);
}

int main(void)
{
	struct tm a, b;
	unsigned tries = 0, regb, pm;

	/* Read twice until equal, each read outside an update (status A bit 7). */
	do {
		if (++tries > 1000)
			rt_fail("rtc: no stable reading after 1000 tries");
		while (cmos(STATUS_A) & 0x80)
			;
		read_raw(&a);
		read_raw(&b);
	} while (memcmp(&a, &b, sizeof(a)) != 0);
	regb = cmos(STATUS_B);
	pm = a.hour & 0x80;
	a.hour &= 0x7f;
	if (!(regb & 0x04)) {   /* BCD */
		a.sec = bcd(a.sec), a.min = bcd(a.min), a.hour = bcd(a.hour);
		a.day = bcd(a.day), a.mon = bcd(a.mon), a.year = bcd(a.year);
		a.century = bcd(a.century);
	}
	if (!(regb & 0x02) && pm)   /* 12-hour clock */
		a.hour = (a.hour % 12) + 12;
	else if (!(regb & 0x02) && a.hour == 12)
		a.hour = 0;
	if (a.century == 0)
		a.century = 20;
	a.year += 100 * a.century;
	rt_printf("rtc: %04u-%02u-%02u %02u:%02u:%02u (status B 0x%02x)\n", a.year, a.mon, a.day,
		  a.hour, a.min, a.sec, regb);
	if (a.year < 2000 || a.year > 2099 || a.mon < 1 || a.mon > 12 || a.day < 1 ||
	    a.day > 31 || a.hour > 23 || a.min > 59 || a.sec > 59)
		rt_fail("rtc: implausible date/time");
	return 0;
}
