/* SPDX-License-Identifier: MIT */
#include "machine/bus.h"

#include <errno.h>
#include <stdbool.h>
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
		 const struct bus_device_ops *ops, void *dev)
{
	unsigned int i;

	if (len == 0 || !ops || !ops->io || !ops->save || !ops->restore || !ops->state_size)
		return -EINVAL;
	if (base + len - 1 < base)
		return -EINVAL;
	for (i = 0; i < bus->nranges; i++)
		if (ranges_overlap(base, len, bus->ranges[i].base, bus->ranges[i].len))
			return -EEXIST;
	if (bus->nranges >= BUS_MAX_RANGES)
		return -ENOSPC;
	bus->ranges[bus->nranges++] = (struct bus_range){
		.base = base, .len = len, .name = name, .fn = ops->io, .ops = ops, .dev = dev,
	};
	return 0;
}

/* The first range of its device: the one whose state is saved. */
static bool first_of_device(const struct bus *bus, unsigned int i)
{
	for (unsigned int k = 0; k < i; k++)
		if (bus->ranges[k].dev == bus->ranges[i].dev)
			return false;
	return true;
}

size_t bus_save(const struct bus *bus, void *buf, size_t cap)
{
	size_t used = 0;

	for (unsigned int i = 0; i < bus->nranges; i++) {
		const struct bus_range *r = &bus->ranges[i];

		if (!first_of_device(bus, i))
			continue;
		if (buf && used + r->ops->state_size <= cap)
			r->ops->save(r->dev, (uint8_t *)buf + used);
		used += r->ops->state_size;
	}
	return used;
}

int bus_restore(struct bus *bus, const void *buf, size_t len)
{
	size_t used = 0;

	if (len != bus_save(bus, NULL, 0))
		return -EINVAL;
	for (unsigned int i = 0; i < bus->nranges; i++) {
		const struct bus_range *r = &bus->ranges[i];

		if (!first_of_device(bus, i))
			continue;
		r->ops->restore(r->dev, (const uint8_t *)buf + used);
		used += r->ops->state_size;
	}
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
