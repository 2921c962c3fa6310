/* SPDX-License-Identifier: MIT */
/*
 * MC146818 real-time clock and CMOS RAM at 0x70 (index; bit 7 is the NMI
 * mask, ignored) and 0x71 (data). The time is the host's UTC wall clock plus
 * an offset the guest may set; no RTC interrupts (IRQ8) are generated.
 */
#ifndef KVMRR_MACHINE_DEV_RTC_H
#define KVMRR_MACHINE_DEV_RTC_H

#include <stdbool.h>
#include <stdint.h>

#include "machine/bus.h"

#define DEV_RTC_PORT 0x70

enum {
	RTC_SECONDS = 0x00,
	RTC_SECONDS_ALARM = 0x01,
	RTC_MINUTES = 0x02,
	RTC_MINUTES_ALARM = 0x03,
	RTC_HOURS = 0x04,
	RTC_HOURS_ALARM = 0x05,
	RTC_DAY_OF_WEEK = 0x06,
	RTC_DAY_OF_MONTH = 0x07,
	RTC_MONTH = 0x08,
	RTC_YEAR = 0x09,
	RTC_REG_A = 0x0a,
	RTC_REG_B = 0x0b,
	RTC_REG_C = 0x0c,
	RTC_REG_D = 0x0d,
	RTC_CENTURY = 0x32,
};

#define RTC_A_UIP   0x80
#define RTC_B_SET   0x80
#define RTC_B_DM    0x04      /* 1: binary, 0: BCD */
#define RTC_B_24H   0x02
#define RTC_D_VRT   0x80
/* UIP is set this long before each second's update (and through it). */
#define RTC_UIP_NS  (244000ULL + 1984000ULL)

struct dev_rtc {
	uint8_t index;
	bool nmi_masked;          /* bit 7 of the last index write; kept, not acted on */
	uint8_t cmos[128];        /* RAM and the control registers; time bytes live here while SET */
	int64_t offset_sec;       /* guest time - host time, set when the guest writes the time */
};

void dev_rtc_init(struct dev_rtc *rtc);
int dev_rtc_register(struct dev_rtc *rtc, struct bus *pio);
/* What a read of CMOS register reg shows now. */
uint8_t dev_rtc_read_reg(struct dev_rtc *rtc, uint8_t reg);
int dev_rtc_io(void *dev, uint64_t offset, uint32_t size, bool write, uint8_t *data,
	uint64_t now_ns);

#endif
