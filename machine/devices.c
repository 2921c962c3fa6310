/* SPDX-License-Identifier: MIT */
#include "machine/devices.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "machine/machine.h"

_Static_assert(DEV_MMIO_TEST_GPA == MMIO_TEST_GPA && DEV_MMIO_TEST_SIZE == MMIO_TEST_SIZE,
	       "the MMIO test device sits where machine.h says");
_Static_assert(DEV_ENTROPY_PORT == PORT_ENTROPY, "the entropy port is where machine.h says");

int devices_init(struct devices *d, struct bus *pio, struct bus *mmio, int out_fd, int in_fd,
		 const uint64_t *exit_counter)
{
	int ret;

	memset(d, 0, sizeof(*d));
	dev_pic_init(&d->pic);
	dev_pit_init(&d->pit, &d->pic);
	dev_uart_init(&d->uart, &d->pic, out_fd, in_fd);
	dev_rtc_init(&d->rtc);
	dev_entropy_init(&d->entropy);
	dev_mmio_test_init(&d->mmio_test, exit_counter);

	ret = dev_pic_register(&d->pic, pio);
	if (ret == 0)
		ret = dev_pit_register(&d->pit, pio);
	if (ret == 0)
		ret = dev_uart_register(&d->uart, pio);
	if (ret == 0)
		ret = dev_rtc_register(&d->rtc, pio);
	if (ret == 0)
		ret = dev_entropy_register(&d->entropy, pio);
	if (ret == 0)
		ret = dev_mmio_test_register(&d->mmio_test, mmio);
	return ret;
}

void devices_destroy(struct devices *d)
{
	dev_uart_destroy(&d->uart);
}

void devices_update(struct devices *d, uint64_t now_ns)
{
	dev_pit_update(&d->pit, now_ns);
	dev_uart_poll(&d->uart, now_ns);
}

uint64_t devices_next_deadline_ns(const struct devices *d)
{
	uint64_t deadline = dev_pit_next_deadline_ns(&d->pit);

	/*
	 * A partial line (a shell prompt) must reach the user even if the guest
	 * then idles: wake once when it is due for a flush. Serial input is not a
	 * deadline: the caller polls uart.in_fd while dev_uart_wants_input().
	 */
	if (d->uart.out_len) {
		uint64_t flush_at = d->uart.out_first_ns + DEV_UART_FLUSH_NS;

		if (flush_at < deadline)
			deadline = flush_at;
	}
	return deadline;
}

int devices_save(const struct bus *pio, const struct bus *mmio, void **blob, size_t *len)
{
	size_t a = bus_save(pio, NULL, 0), b = bus_save(mmio, NULL, 0);
	uint8_t *p = malloc(a + b ? a + b : 1);

	if (!p)
		return -ENOMEM;
	bus_save(pio, p, a);
	bus_save(mmio, p + a, b);
	*blob = p;
	*len = a + b;
	return 0;
}

int devices_restore(struct bus *pio, struct bus *mmio, const void *blob, size_t len)
{
	size_t a = bus_save(pio, NULL, 0);

	if (len < a || bus_restore(pio, blob, a) < 0)
		return -EINVAL;
	return bus_restore(mmio, (const uint8_t *)blob + a, len - a);
}
