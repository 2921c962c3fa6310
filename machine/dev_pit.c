/* SPDX-License-Identifier: MIT */
/*
 * i8254, after the Intel 82C54 datasheet. Time is not simulated: a
 * channel's state is derived from how many PIT clocks have elapsed since
 * its count was loaded.
 */
#include "machine/dev_pit.h"

#include <string.h>
#include <time.h>

#define NS_PER_SEC 1000000000ULL
/* DRAM refresh request toggles port 0x61 bit 4 about every 15 us. */
#define REFRESH_NS 15085ULL

static uint64_t ns_to_ticks(uint64_t ns)
{
	return (uint64_t)((unsigned __int128)ns * DEV_PIT_HZ / NS_PER_SEC);
}

/* The first ns at which ticks clocks have elapsed. */
static uint64_t ticks_to_ns_ceil(uint64_t ticks)
{
	return (uint64_t)(((unsigned __int128)ticks * NS_PER_SEC + DEV_PIT_HZ - 1) / DEV_PIT_HZ);
}

static uint64_t elapsed_ticks(const struct dev_pit_channel *c, uint64_t now_ns)
{
	if (c->paused)
		return c->paused_ticks;
	return now_ns > c->start_ns ? ns_to_ticks(now_ns - c->start_ns) : 0;
}

static bool periodic(const struct dev_pit_channel *c)
{
	return c->mode == 2 || c->mode == 3;
}

uint16_t dev_pit_count(const struct dev_pit *pit, unsigned int ch, uint64_t now_ns)
{
	const struct dev_pit_channel *c = &pit->ch[ch];
	uint64_t t, d;

	if (!c->armed)
		return (uint16_t)c->reload;
	t = elapsed_ticks(c, now_ns);
	switch (c->mode) {
	case 2:
		return (uint16_t)(c->reload - t % c->reload);
	case 3:
		/* Decrements by two, reloading twice per period. */
		d = t % c->reload;
		return (uint16_t)((c->reload - (2 * d) % c->reload) & 0xfffe);
	default:
		/* One-shot modes: after terminal count it wraps and keeps counting. */
		return (uint16_t)(c->reload - t);
	}
}

bool dev_pit_out(const struct dev_pit *pit, unsigned int ch, uint64_t now_ns)
{
	const struct dev_pit_channel *c = &pit->ch[ch];
	uint64_t t;

	if (!c->armed)
		return c->mode != 0;        /* mode 0 drives OUT low after the control word */
	if (periodic(c) && !c->gate)
		return true;
	t = elapsed_ticks(c, now_ns);
	switch (c->mode) {
	case 0:
	case 1:
		return t >= c->reload;
	case 2:
		return t % c->reload != c->reload - 1;
	case 3:
		return t % c->reload < (c->reload + 1) / 2;
	default:                            /* 4, 5: one-clock low strobe at terminal count */
		return t != c->reload;
	}
}

/* Schedule OUT's next rising edge after edge number edge_index. */
static void schedule_edge(struct dev_pit_channel *c)
{
	uint64_t tick;

	c->next_edge_ns = UINT64_MAX;
	if (!c->armed || c->paused || (periodic(c) && !c->gate))
		return;
	if (periodic(c))
		tick = (c->edge_index + 1) * c->reload;
	else if (c->edge_index == 0)
		tick = c->mode >= 4 ? c->reload + 1ULL : c->reload;
	else
		return;
	c->next_edge_ns = c->start_ns + ticks_to_ns_ceil(tick);
}

void dev_pit_update(struct dev_pit *pit, uint64_t now_ns)
{
	struct dev_pit_channel *c = &pit->ch[0];
	uint64_t periods;

	if (now_ns < c->next_edge_ns)
		return;
	/* OUT rose at least once since the last call; the PIC latches one
	 * edge, so several missed periods coalesce into it. */
	if (pit->pic) {
		dev_pic_set_irq(pit->pic, 0, 1);
		dev_pic_set_irq(pit->pic, 0, 0);
	}
	pit->irqs++;
	if (periodic(c)) {
		periods = elapsed_ticks(c, now_ns) / c->reload;
		if (periods > c->edge_index + 1)
			pit->missed += periods - c->edge_index - 1;
		c->edge_index = periods > c->edge_index ? periods : c->edge_index + 1;
	} else {
		c->edge_index = 1;
	}
	schedule_edge(c);
}

uint64_t dev_pit_next_deadline_ns(const struct dev_pit *pit)
{
	return pit->ch[0].next_edge_ns;
}

static void load_count(struct dev_pit_channel *c, uint32_t value, uint64_t now_ns)
{
	if (value == 0)
		value = c->bcd ? 10000 : 65536;
	c->reload = value;
	c->armed = true;
	c->null_count = false;
	c->start_ns = now_ns;
	c->paused = !c->gate && (c->mode == 0 || c->mode == 4);
	c->paused_ticks = 0;
	c->edge_index = 0;
	schedule_edge(c);
}

static uint8_t status_byte(const struct dev_pit *pit, unsigned int ch, uint64_t now_ns)
{
	const struct dev_pit_channel *c = &pit->ch[ch];

	return (uint8_t)(dev_pit_out(pit, ch, now_ns) << 7 | c->null_count << 6 |
			 c->access << 4 | c->mode << 1 | c->bcd);
}

static uint16_t to_bcd(uint16_t v)
{
	v %= 10000;
	return (uint16_t)((v / 1000) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | v % 10);
}

static void latch_count(struct dev_pit *pit, unsigned int ch, uint64_t now_ns)
{
	struct dev_pit_channel *c = &pit->ch[ch];
	uint16_t v;

	if (c->count_latched)           /* a second latch before reading is ignored */
		return;
	v = dev_pit_count(pit, ch, now_ns);
	c->latch = c->bcd ? to_bcd(v) : v;
	c->count_latched = true;
	c->latch_msb_next = false;
}

static void write_control(struct dev_pit *pit, uint8_t val, uint64_t now_ns)
{
	unsigned int sc = val >> 6, ch;
	struct dev_pit_channel *c;

	if (sc == 3) {                  /* read-back: bit 5 = !COUNT, bit 4 = !STATUS */
		for (ch = 0; ch < 3; ch++) {
			if (!(val & (2u << ch)))
				continue;
			if (!(val & 0x20))
				latch_count(pit, ch, now_ns);
			if (!(val & 0x10) && !pit->ch[ch].status_latched) {
				pit->ch[ch].status = status_byte(pit, ch, now_ns);
				pit->ch[ch].status_latched = true;
			}
		}
		return;
	}
	c = &pit->ch[sc];
	if (((val >> 4) & 3) == 0) {    /* counter latch command */
		latch_count(pit, sc, now_ns);
		return;
	}
	c->access = (val >> 4) & 3;
	c->mode = (val >> 1) & 7;
	if (c->mode > 5)
		c->mode -= 4;
	c->bcd = val & 1;
	c->armed = false;
	c->paused = false;
	c->null_count = true;
	c->write_msb_next = false;
	c->read_msb_next = false;
	c->count_latched = false;
	c->status_latched = false;
	c->next_edge_ns = UINT64_MAX;
}

static void write_counter(struct dev_pit_channel *c, uint8_t val, uint64_t now_ns)
{
	switch (c->access) {
	case 1:
		load_count(c, val, now_ns);
		break;
	case 2:
		load_count(c, (uint32_t)val << 8, now_ns);
		break;
	default:
		if (!c->write_msb_next) {
			c->write_lsb = val;
			c->write_msb_next = true;
		} else {
			c->write_msb_next = false;
			load_count(c, c->write_lsb | (uint32_t)val << 8, now_ns);
		}
		break;
	}
}

/* One byte of a 16-bit value per the access mode; *msb_next is the flip-flop. */
static uint8_t read_byte(uint8_t access, uint16_t v, bool *msb_next, bool *done)
{
	*done = true;
	if (access == 1)
		return (uint8_t)v;
	if (access == 2)
		return (uint8_t)(v >> 8);
	if (!*msb_next) {
		*msb_next = true;
		*done = false;
		return (uint8_t)v;
	}
	*msb_next = false;
	return (uint8_t)(v >> 8);
}

static uint8_t read_counter(struct dev_pit *pit, unsigned int ch, uint64_t now_ns)
{
	struct dev_pit_channel *c = &pit->ch[ch];
	uint16_t v;
	bool done;
	uint8_t b;

	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	if (c->count_latched) {
		b = read_byte(c->access, c->latch, &c->latch_msb_next, &done);
		if (done)
			c->count_latched = false;
		return b;
	}
	v = dev_pit_count(pit, ch, now_ns);
	if (c->bcd)
		v = to_bcd(v);
	return read_byte(c->access, v, &c->read_msb_next, &done);
}

int dev_pit_io(void *dev, uint64_t offset, uint32_t size, bool write, uint8_t *data,
	uint64_t now_ns)
{
	struct dev_pit *pit = dev;
	uint64_t now = now_ns;

	if (write) {
		if (offset == 3)
			write_control(pit, data[0], now);
		else
			write_counter(&pit->ch[offset], data[0], now);
		return 0;
	}
	/* The control register cannot be read (the 8254 leaves the bus floating). */
	data[0] = offset == 3 ? 0xff : read_counter(pit, (unsigned int)offset, now);
	if (size > 1)
		memset(data + 1, 0xff, size - 1);
	return 0;
}

static void set_gate(struct dev_pit_channel *c, bool gate, uint64_t now_ns)
{
	bool oneshot = c->mode == 0 || c->mode == 4;

	if (gate == c->gate)
		return;
	c->gate = gate;
	if (!c->armed)
		return;
	if (!gate) {
		if (oneshot) {              /* counting suspends */
			c->paused_ticks = elapsed_ticks(c, now_ns);
			c->paused = true;
		}
	} else if (oneshot) {               /* resumes where it stopped */
		c->start_ns = now_ns - (c->paused ? ticks_to_ns_ceil(c->paused_ticks) : 0);
		c->paused = false;
	} else {                            /* a rising gate (re)triggers from the reload value */
		c->start_ns = now_ns;
		c->edge_index = 0;
	}
	schedule_edge(c);
}

int dev_pit_port61_io(void *dev, uint64_t offset, uint32_t size, bool write, uint8_t *data,
	uint64_t now_ns)
{
	struct dev_pit *pit = dev;
	uint64_t now = now_ns;

	(void)offset;
	if (write) {
		pit->port61 = data[0] & 0x0f;
		set_gate(&pit->ch[2], data[0] & 1, now);
		return 0;
	}
	data[0] = (uint8_t)(pit->port61 | ((now / REFRESH_NS) & 1) << 4 |
			    dev_pit_out(pit, 2, now) << 5);
	if (size > 1)
		memset(data + 1, 0xff, size - 1);
	return 0;
}

void dev_pit_init(struct dev_pit *pit, struct dev_pic *pic)
{
	unsigned int i;

	memset(pit, 0, sizeof(*pit));
	pit->pic = pic;
	for (i = 0; i < 3; i++) {
		pit->ch[i].access = 3;
		pit->ch[i].reload = 65536;
		pit->ch[i].gate = i != 2;   /* channel 2's gate is port 0x61 bit 0 */
		pit->ch[i].next_edge_ns = UINT64_MAX;
	}
}

/* The channels, port 0x61 and the counters; the link to the PIC stays the live one. */
static void pit_save(const void *dev, void *state)
{
	memcpy(state, dev, sizeof(struct dev_pit));
}

static void pit_restore(void *dev, const void *state)
{
	struct dev_pit *pit = dev;
	struct dev_pic *pic = pit->pic;

	memcpy(pit, state, sizeof(*pit));
	pit->pic = pic;
}

static const struct bus_device_ops pit_ops = {
	.io = dev_pit_io, .state_size = sizeof(struct dev_pit), .save = pit_save, .restore = pit_restore,
};
static const struct bus_device_ops port61_ops = {
	.io = dev_pit_port61_io, .state_size = sizeof(struct dev_pit), .save = pit_save, .restore = pit_restore,
};

int dev_pit_register(struct dev_pit *pit, struct bus *pio)
{
	int ret = bus_register(pio, DEV_PIT_PORT, 4, "pit", &pit_ops, pit);

	if (ret < 0)
		return ret;
	return bus_register(pio, DEV_PIT_PORT_61, 1, "port61", &port61_ops, pit);
}
