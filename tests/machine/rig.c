/* SPDX-License-Identifier: MIT */
#include "tests/machine/rig.h"

#include <time.h>

#include "common/clock.h"
#include "tests/test.h"

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ULL), (long)(ns % 1000000000ULL) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void rig_init(struct rig *r, int out_fd, int in_fd)
{
	bus_init(&r->pio, "pio");
	bus_init(&r->mmio, "mmio");
	TEST_ASSERT_OK(devices_init(&r->d, &r->pio, &r->mmio, out_fd, in_fd, &r->exits));
}

void outb(struct rig *r, uint16_t port, uint8_t v)
{
	TEST_ASSERT(bus_access(&r->pio, port, 1, true, &v, clock_now_ns()) == 1, "OUT 0x%x not claimed", port);
}

uint8_t inb(struct rig *r, uint16_t port)
{
	uint8_t v = 0;

	TEST_ASSERT(bus_access(&r->pio, port, 1, false, &v, clock_now_ns()) == 1, "IN 0x%x not claimed", port);
	return v;
}

void pic_setup(struct rig *r, uint8_t icw4)
{
	outb(r, 0x20, 0x11); outb(r, 0x21, 0x20); outb(r, 0x21, 0x04); outb(r, 0x21, icw4);
	outb(r, 0xa0, 0x11); outb(r, 0xa1, 0x28); outb(r, 0xa1, 0x02); outb(r, 0xa1, icw4);
}
