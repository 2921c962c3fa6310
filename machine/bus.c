/* SPDX-License-Identifier: MIT */
#include "machine/bus.h"

#include <errno.h>
#include <string.h>

void bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
}

/* [a, a+alen) and [b, b+blen) intersect; lengths are > 0, ends may wrap at 2^64. */
static int ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a - b < blen || b - a < alen;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len, const char *name,
		 bus_handler_fn fn, void *dev)
{
	unsigned int i;

	if (len == 0 || fn == NULL)
		return -EINVAL;
	if (base + len - 1 < base)
		return -EINVAL;
	for (i = 0; i < bus->nranges; i++)
		if (ranges_overlap(base, len, bus->ranges[i].base, bus->ranges[i].len))
			return -EEXIST;
	if (bus->nranges >= BUS_MAX_RANGES)
		return -ENOSPC;
	bus->ranges[bus->nranges++] = (struct bus_range){
		.base = base, .len = len, .name = name, .fn = fn, .dev = dev,
	};
	return 0;
}

const struct bus_range *bus_find(const struct bus *bus, uint64_t addr)
{
	unsigned int i;

	for (i = 0; i < bus->nranges; i++)
		if (addr - bus->ranges[i].base < bus->ranges[i].len)
			return &bus->ranges[i];
	return NULL;
}

int bus_access(struct bus *bus, uint64_t addr, uint32_t size, bool write, uint8_t *data,
	       uint64_t now_ns)
{
	const struct bus_range *r = bus_find(bus, addr);
	int ret;

	if (size == 0 || size > 8)
		return -EINVAL;
	if (r == NULL) {
		/* Nobody decodes the address: the data lines float high. */
		if (write) {
			bus->unhandled_writes++;
		} else {
			bus->unhandled_reads++;
			memset(data, 0xff, size);
		}
		bus->last_unhandled_addr = addr;
		return 0;
	}
	ret = r->fn(r->dev, addr - r->base, size, write, data, now_ns);
	return ret < 0 ? ret : 1;
}
