/* SPDX-License-Identifier: MIT */
/* MC146818A after the Motorola datasheet (the PC's CMOS clock). */
#include "machine/dev_rtc.h"

#include <string.h>
#include <time.h>

static uint8_t to_bcd(unsigned int v)
{
	return (uint8_t)((v / 10 % 10) << 4 | v % 10);
}

static unsigned int from_bcd(uint8_t v)
{
	return (v >> 4) * 10u + (v & 15);
}

/* A time-register value in the format register B selects. */
static uint8_t fmt(const struct dev_rtc *rtc, unsigned int v)
{
	return (rtc->cmos[RTC_REG_B] & RTC_B_DM) ? (uint8_t)v : to_bcd(v);
}

static unsigned int unfmt(const struct dev_rtc *rtc, uint8_t v)
{
	return (rtc->cmos[RTC_REG_B] & RTC_B_DM) ? v : from_bcd(v);
}

static uint8_t fmt_hour(const struct dev_rtc *rtc, unsigned int h)
{
	unsigned int h12;

	if (rtc->cmos[RTC_REG_B] & RTC_B_24H)
		return fmt(rtc, h);
	h12 = h % 12 ? h % 12 : 12;
	return (uint8_t)(fmt(rtc, h12) | (h >= 12 ? 0x80 : 0));
}

static unsigned int unfmt_hour(const struct dev_rtc *rtc, uint8_t v)
{
	unsigned int h;

	if (rtc->cmos[RTC_REG_B] & RTC_B_24H)
		return unfmt(rtc, v);
	h = unfmt(rtc, v & 0x7f) % 12;
	return (v & 0x80) ? h + 12 : h;
}

/* Fill the time registers from host UTC + offset. */
static void rtc_latch_time(struct dev_rtc *rtc, struct timespec *now)
{
	time_t t;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, now);
	t = now->tv_sec + rtc->offset_sec;
	gmtime_r(&t, &tm);
	rtc->cmos[RTC_SECONDS] = fmt(rtc, (unsigned int)tm.tm_sec);
	rtc->cmos[RTC_MINUTES] = fmt(rtc, (unsigned int)tm.tm_min);
	rtc->cmos[RTC_HOURS] = fmt_hour(rtc, (unsigned int)tm.tm_hour);
	rtc->cmos[RTC_DAY_OF_WEEK] = fmt(rtc, (unsigned int)tm.tm_wday + 1);
	rtc->cmos[RTC_DAY_OF_MONTH] = fmt(rtc, (unsigned int)tm.tm_mday);
	rtc->cmos[RTC_MONTH] = fmt(rtc, (unsigned int)tm.tm_mon + 1);
	rtc->cmos[RTC_YEAR] = fmt(rtc, (unsigned int)(tm.tm_year + 1900) % 100);
	rtc->cmos[RTC_CENTURY] = fmt(rtc, (unsigned int)(tm.tm_year + 1900) / 100);
}

/* The guest set the clock (SET cleared): keep its time as an offset from the host's. */
static void rtc_commit_time(struct dev_rtc *rtc)
{
	struct tm tm = { 0 };
	struct timespec now;
	time_t t;

	tm.tm_sec = (int)unfmt(rtc, rtc->cmos[RTC_SECONDS]);
	tm.tm_min = (int)unfmt(rtc, rtc->cmos[RTC_MINUTES]);
	tm.tm_hour = (int)unfmt_hour(rtc, rtc->cmos[RTC_HOURS]);
	tm.tm_mday = (int)unfmt(rtc, rtc->cmos[RTC_DAY_OF_MONTH]);
	tm.tm_mon = (int)unfmt(rtc, rtc->cmos[RTC_MONTH]) - 1;
	tm.tm_year = (int)(unfmt(rtc, rtc->cmos[RTC_CENTURY]) * 100 +
			   unfmt(rtc, rtc->cmos[RTC_YEAR])) - 1900;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return;                     /* nonsense date: keep the old offset */
	clock_gettime(CLOCK_REALTIME, &now);
	rtc->offset_sec = (int64_t)t - (int64_t)now.tv_sec;
}

static bool is_time_reg(uint8_t reg)
{
	return reg <= RTC_YEAR || reg == RTC_CENTURY;
}

uint8_t dev_rtc_read_reg(struct dev_rtc *rtc, uint8_t reg)
{
	struct timespec now;
	uint8_t v;

	reg &= 0x7f;
	switch (reg) {
	case RTC_REG_A:
		clock_gettime(CLOCK_REALTIME, &now);
		v = rtc->cmos[RTC_REG_A] & 0x7f;
		/* An update is in progress in the last moments of each second. */
		if ((uint64_t)now.tv_nsec >= 1000000000ULL - RTC_UIP_NS &&
		    !(rtc->cmos[RTC_REG_B] & RTC_B_SET))
			v |= RTC_A_UIP;
		return v;
	case RTC_REG_C:
		v = rtc->cmos[RTC_REG_C];   /* interrupt flags: reading clears them */
		rtc->cmos[RTC_REG_C] = 0;
		return v;
	case RTC_REG_D:
		return RTC_D_VRT;           /* the battery is fine */
	default:
		if (is_time_reg(reg) && !(rtc->cmos[RTC_REG_B] & RTC_B_SET))
			rtc_latch_time(rtc, &now);
		return rtc->cmos[reg];
	}
}

static void rtc_write_reg(struct dev_rtc *rtc, uint8_t reg, uint8_t val)
{
	struct timespec now;
	uint8_t old;

	switch (reg) {
	case RTC_REG_A:
		rtc->cmos[RTC_REG_A] = val & 0x7f;  /* UIP is read-only */
		break;
	case RTC_REG_B:
		old = rtc->cmos[RTC_REG_B];
		if ((val & RTC_B_SET) && !(old & RTC_B_SET))
			rtc_latch_time(rtc, &now);  /* freeze the time for the guest to edit */
		/* A format change (DM, 24/12) shows at the next time read. */
		rtc->cmos[RTC_REG_B] = val;
		if (!(val & RTC_B_SET) && (old & RTC_B_SET))
			rtc_commit_time(rtc);
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		break;                      /* read-only */
	default:
		/* Time registers take effect only while SET holds the clock. */
		if (is_time_reg(reg) && !(rtc->cmos[RTC_REG_B] & RTC_B_SET))
			break;
		rtc->cmos[reg] = val;
		break;
	}
}

int dev_rtc_io(void *dev, uint64_t offset, uint32_t size, bool write, uint8_t *data,
	uint64_t now_ns)
{
	(void)now_ns;
	struct dev_rtc *rtc = dev;

	if (offset == 0) {
		if (write) {
			rtc->index = data[0] & 0x7f;
			rtc->nmi_masked = data[0] & 0x80;
		} else {
			data[0] = 0xff;             /* the index register is write-only */
		}
	} else if (write) {
		rtc_write_reg(rtc, rtc->index, data[0]);
	} else {
		data[0] = dev_rtc_read_reg(rtc, rtc->index);
	}
	if (!write && size > 1)
		memset(data + 1, 0xff, size - 1);
	return 0;
}

void dev_rtc_init(struct dev_rtc *rtc)
{
	memset(rtc, 0, sizeof(*rtc));
	rtc->cmos[RTC_REG_A] = 0x26;        /* 32.768 kHz time base, 1024 Hz rate */
	rtc->cmos[RTC_REG_B] = RTC_B_24H;   /* BCD, 24-hour, no interrupts */
	rtc->cmos[RTC_REG_D] = RTC_D_VRT;
}

/* The whole struct: it holds no links. */
static void rtc_save(const void *dev, void *state)
{
	memcpy(state, dev, sizeof(struct dev_rtc));
}

static void rtc_restore(void *dev, const void *state)
{
	memcpy(dev, state, sizeof(struct dev_rtc));
}

static const struct bus_device_ops rtc_ops = {
	.io = dev_rtc_io, .state_size = sizeof(struct dev_rtc), .save = rtc_save, .restore = rtc_restore,
};

int dev_rtc_register(struct dev_rtc *rtc, struct bus *pio)
{
	return bus_register(pio, DEV_RTC_PORT, 2, "rtc", &rtc_ops, rtc);
}
