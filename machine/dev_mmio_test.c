/* SPDX-License-Identifier: MIT */
#include "machine/dev_mmio_test.h"

#include <string.h>
#include <time.h>

static void put_le64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

int dev_mmio_test_io(void *dev, uint64_t offset, uint32_t size, bool write, uint8_t *data,
	uint64_t now_ns)
{
	struct dev_mmio_test *t = dev;
	/* The register file as bytes, with room for an access straddling its end. */
	uint8_t regs[MMIO_TEST_NREGS_END + 8] = { 0 };
	uint32_t i;

	if (offset >= MMIO_TEST_NREGS_END) {
		if (!write)
			memset(data, 0, size);
		write ? t->writes++ : t->reads++;
		return 0;
	}
	put_le64(regs + MMIO_TEST_SCRATCH, t->scratch);
	if (write) {
		t->writes++;
		/* Only the scratch bytes are writable. */
		for (i = 0; i < size && offset + i < MMIO_TEST_TIME_NS; i++)
			regs[offset + i] = data[i];
		t->scratch = get_le64(regs + MMIO_TEST_SCRATCH);
		return 0;
	}
	t->reads++;
	put_le64(regs + MMIO_TEST_TIME_NS, now_ns);
	put_le64(regs + MMIO_TEST_EXITS, t->exit_counter ? *t->exit_counter : 0);
	put_le64(regs + MMIO_TEST_ID, DEV_MMIO_TEST_ID);
	memcpy(data, regs + offset, size);
	return 0;
}

void dev_mmio_test_init(struct dev_mmio_test *t, const uint64_t *exit_counter)
{
	memset(t, 0, sizeof(*t));
	t->exit_counter = exit_counter;
}

/* The scratch register and the counters; the exit counter it shows stays the live one. */
static void mmio_test_save(const void *dev, void *state)
{
	memcpy(state, dev, sizeof(struct dev_mmio_test));
}

static void mmio_test_restore(void *dev, const void *state)
{
	struct dev_mmio_test *t = dev;
	const uint64_t *counter = t->exit_counter;

	memcpy(t, state, sizeof(*t));
	t->exit_counter = counter;
}

static const struct bus_device_ops mmio_test_ops = {
	.io = dev_mmio_test_io, .state_size = sizeof(struct dev_mmio_test),
	.save = mmio_test_save, .restore = mmio_test_restore,
};

int dev_mmio_test_register(struct dev_mmio_test *t, struct bus *mmio)
{
	return bus_register(mmio, DEV_MMIO_TEST_GPA, DEV_MMIO_TEST_SIZE, "mmio-test", &mmio_test_ops, t);
}
