/* SPDX-License-Identifier: MIT */
#include "machine/dev_entropy.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

void dev_entropy_init(struct dev_entropy *e)
{
	memset(e, 0, sizeof(*e));
}

int dev_entropy_io(void *dev, uint64_t offset, uint32_t size, bool write, uint8_t *data,
	uint64_t now_ns)
{
	(void)now_ns;
	struct dev_entropy *e = dev;
	uint32_t got = 0;

	(void)offset;
	if (write)
		return 0;
	/* getrandom() never returns short for <= 256 bytes once the pool is
	 * ready, but a signal can still interrupt it. */
	while (got < size) {
		ssize_t n = getrandom(data + got, size - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (uint32_t)n;
	}
	e->reads++;
	e->bytes += size;
	return 0;
}

/* The whole struct: it holds no links. */
static void entropy_save(const void *dev, void *state)
{
	memcpy(state, dev, sizeof(struct dev_entropy));
}

static void entropy_restore(void *dev, const void *state)
{
	memcpy(dev, state, sizeof(struct dev_entropy));
}

static const struct bus_device_ops entropy_ops = {
	.io = dev_entropy_io, .state_size = sizeof(struct dev_entropy), .save = entropy_save, .restore = entropy_restore,
};

int dev_entropy_register(struct dev_entropy *e, struct bus *pio)
{
	return bus_register(pio, DEV_ENTROPY_PORT, DEV_ENTROPY_LEN, "entropy", &entropy_ops, e);
}
