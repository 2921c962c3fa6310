/* SPDX-License-Identifier: MIT */
/*
 * The device models and the buses, driven as the run loop drives them: port
 * and MMIO accesses of every size and direction, handed the time of a fake
 * clock that only the input moves (fuzz/fake_env.c), devices_update, interrupt acknowledges, and serial
 * input through a pipe. Built once per device (FUZZ_DEVICE: the bus range
 * names it aims at, "" for all of them, plus raw addresses and new ranges).
 *
 * The input is a sequence of operations, one byte each, then their operands:
 *   0 PIO  range, offset, size (1, 2, 4), direction, 4 data bytes
 *   1 MMIO range, offset, size (1, 2, 4, 8), direction, 8 data bytes
 *   2 advance the clock by 4 bytes of ns        3 devices_update(now)
 *   4 INTA if the PIC has an interrupt up       5 up to 31 bytes of serial input
 *   6 next deadline                             7 bus target: register a range
 * Checked: no access fails (-errno is a VMM failure, never a guest's doing),
 * a claimed access is claimed by the range bus_find names, an INTA vector
 * is a byte, bus_register keeps ranges disjoint, and in whatever state the
 * input leaves the devices, saving, restoring and saving again (checkpoints)
 * gives the same bytes.
 */
#include "fuzz/fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "machine/devices.h"

#ifndef FUZZ_DEVICE
#error "FUZZ_DEVICE names the device ranges to aim at (\"\" for the whole bus)"
#endif

#define FUZZ_MAX_OPS 4096

struct fuzz_rig {
	struct bus pio, mmio;
	struct devices d;
	uint64_t exits;
	int in_pipe[2];
	struct bus_range aimed[BUS_MAX_RANGES * 2];
	bool aimed_mmio[BUS_MAX_RANGES * 2];
	unsigned int naimed;
	bool whole_bus;
};

static int null_fd = -1;

/* "pit" aims at "pit" and the port 0x61 it owns; "pic" at both chips. */
static bool aims_at(const char *range_name)
{
	if (!FUZZ_DEVICE[0])
		return true;
	if (strcmp(FUZZ_DEVICE, "pit") == 0 && strcmp(range_name, "port61") == 0)
		return true;
	return strncmp(range_name, FUZZ_DEVICE, strlen(FUZZ_DEVICE)) == 0;
}

static void collect_ranges(struct fuzz_rig *r, const struct bus *bus, bool mmio)
{
	unsigned int i;

	for (i = 0; i < bus->nranges; i++) {
		if (!aims_at(bus->ranges[i].name))
			continue;
		r->aimed_mmio[r->naimed] = mmio;
		r->aimed[r->naimed++] = bus->ranges[i];
	}
}

static int dummy_io(void *dev, uint64_t offset, uint32_t size, bool write, uint8_t *data,
		    uint64_t now_ns)
{
	(void)dev;
	(void)now_ns;
	if (!write)
		memset(data, (int)(offset & 0xff), size);
	return 0;
}

/* One access to an aimed range (or, on the whole bus, anywhere). */
static void do_access(struct fuzz_rig *r, struct fuzz_in *in, bool mmio)
{
	static const uint32_t pio_sizes[] = { 1, 2, 4 }, mmio_sizes[] = { 1, 2, 4, 8 };
	unsigned int pick = (unsigned int)fuzz_take(in, 1);
	uint64_t off = fuzz_take(in, mmio ? 2 : 1), addr;
	uint32_t size = mmio ? mmio_sizes[fuzz_take(in, 1) % 4] : pio_sizes[fuzz_take(in, 1) % 3];
	bool write = fuzz_take(in, 1) & 1;
	uint8_t data[8];
	struct bus *bus = mmio ? &r->mmio : &r->pio;
	const struct bus_range *claimed;
	int ret;

	if (r->whole_bus && (pick & 0x80))
		addr = mmio ? fuzz_take(in, 8) : (uint16_t)fuzz_take(in, 2);
	else if (r->naimed && r->aimed_mmio[pick % r->naimed] == mmio)
		addr = r->aimed[pick % r->naimed].base + off % (r->aimed[pick % r->naimed].len + 8);
	else
		addr = mmio ? DEV_MMIO_TEST_GPA + off : off;
	memset(data, 0, sizeof(data));
	memcpy(data, in->p, in->left < size ? in->left : size);
	fuzz_take(in, size);
	r->exits++;
	claimed = bus_find(bus, addr);
	ret = bus_access(bus, addr, size, write, data, fuzz_clock_ns());
	FUZZ_CHECK(ret == 0 || ret == 1, "%s %s 0x%llx size %u: %d (%s)", bus->name,
		   write ? "write" : "read", (unsigned long long)addr, size, ret, strerror(-ret));
	FUZZ_CHECK((ret == 1) == (claimed != NULL), "bus_find and bus_access disagree at 0x%llx",
		   (unsigned long long)addr);
}

static void dummy_save(const void *dev, void *state)
{
	(void)dev;
	(void)state;
}

static void dummy_restore(void *dev, const void *state)
{
	(void)dev;
	(void)state;
}

static const struct bus_device_ops dummy_ops = {
	.io = dummy_io, .state_size = 0, .save = dummy_save, .restore = dummy_restore,
};

static void do_register(struct fuzz_rig *r, struct fuzz_in *in)
{
	bool mmio = fuzz_take(in, 1) & 1;
	uint64_t base = fuzz_take(in, mmio ? 8 : 2), len = fuzz_take(in, 2);
	struct bus *bus = mmio ? &r->mmio : &r->pio;
	const struct bus_range *before = bus_find(bus, base);
	int ret = bus_register(bus, base, len, "fuzz", &dummy_ops, NULL);

	FUZZ_CHECK(ret == 0 || ret == -EEXIST || ret == -ENOSPC || ret == -EINVAL,
		   "bus_register: %d", ret);
	if (ret == 0) {
		FUZZ_CHECK(before == NULL, "registered over an existing range at 0x%llx",
			   (unsigned long long)base);
		FUZZ_CHECK(bus_find(bus, base) && bus_find(bus, base)->base == base &&
			   bus_find(bus, base + len - 1)->base == base, "new range not found");
	}
}

static void do_serial_input(struct fuzz_rig *r, struct fuzz_in *in)
{
	size_t n = fuzz_take(in, 1) % 32;

	if (n > in->left)
		n = in->left;
	/* Non-blocking: a full pipe drops the rest, as a fast typist's tty would. */
	if (n && write(r->in_pipe[1], in->p, n) < 0 && errno != EAGAIN)
		FUZZ_CHECK(0, "write to the serial pipe: %s", strerror(errno));
	in->p += n;
	in->left -= n;
}

static void run_ops(struct fuzz_rig *r, struct fuzz_in *in)
{
	unsigned int ops;
	int vec;

	for (ops = 0; in->left && ops < FUZZ_MAX_OPS; ops++) {
		switch (fuzz_take(in, 1) % 8) {
		case 0: do_access(r, in, false); break;
		case 1: do_access(r, in, true); break;
		case 2: fuzz_clock_advance(fuzz_take(in, 4)); break;
		case 3: devices_update(&r->d, fuzz_clock_ns()); break;
		case 4:
			if (dev_pic_has_pending(&r->d.pic)) {
				vec = dev_pic_ack(&r->d.pic);
				FUZZ_CHECK(vec >= 0 && vec <= 255, "INTA gave %d", vec);
			}
			break;
		case 5: do_serial_input(r, in); break;
		case 6: (void)devices_next_deadline_ns(&r->d); break;
		case 7:
			if (r->whole_bus)
				do_register(r, in);
			break;
		}
	}
}

/* Whatever state the input left: restoring a save and saving again gives the same bytes. */
static void check_save_restore(struct bus *bus)
{
	size_t len = bus_save(bus, NULL, 0);
	uint8_t *a = malloc(len ? len : 1), *b = malloc(len ? len : 1);

	FUZZ_CHECK(a && b, "malloc %zu", len);
	FUZZ_CHECK(bus_save(bus, a, len) == len, "%s: bus_save size changed", bus->name);
	FUZZ_CHECK(bus_restore(bus, a, len) == 0, "%s: bus_restore of its own save", bus->name);
	FUZZ_CHECK(bus_save(bus, b, len) == len && memcmp(a, b, len) == 0,
		   "%s: save after restore differs", bus->name);
	free(a);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_rig r;
	struct fuzz_in in = { data, size };
	int ret;

	if (null_fd < 0)
		null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	FUZZ_CHECK(null_fd >= 0, "open /dev/null: %s", strerror(errno));
	memset(&r, 0, sizeof(r));
	FUZZ_CHECK(pipe2(r.in_pipe, O_NONBLOCK | O_CLOEXEC) == 0, "pipe2: %s", strerror(errno));
	fuzz_clock_reset();
	bus_init(&r.pio, "pio");
	bus_init(&r.mmio, "mmio");
	ret = devices_init(&r.d, &r.pio, &r.mmio, null_fd, r.in_pipe[0], &r.exits);
	FUZZ_CHECK(ret == 0, "devices_init: %d", ret);
	r.whole_bus = !FUZZ_DEVICE[0];
	collect_ranges(&r, &r.pio, false);
	collect_ranges(&r, &r.mmio, true);
	FUZZ_CHECK(r.naimed > 0, "no bus range is named \"%s\"", FUZZ_DEVICE);
	run_ops(&r, &in);
	check_save_restore(&r.pio);
	check_save_restore(&r.mmio);
	devices_destroy(&r.d);
	close(r.in_pipe[0]);
	close(r.in_pipe[1]);
	return 0;
}
