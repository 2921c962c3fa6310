/* SPDX-License-Identifier: MIT */
/*
 * The GDB remote protocol's receiver (replay/gdb_packet.c) on arbitrary
 * bytes from the network. Invariants besides crashes: a packet's length
 * stays within GDB_PACKET_MAX and its buffer is NUL-terminated; every
 * payload framed again by gdb_frame is received back byte for byte; the
 * hex parser never reads past a NUL.
 */
#include "fuzz/fuzz.h"

#include <string.h>

#include "replay/gdb_packet.h"

static struct gdb_rx rx, back;
static char framed[2 * GDB_PACKET_MAX + 8];

static void check_round_trip(void)
{
	int n = gdb_frame(framed, sizeof(framed), rx.buf, rx.len);
	int events = 0;

	if (n < 0)
		abort();   /* any payload of at most GDB_PACKET_MAX bytes fits twice its size */
	gdb_rx_init(&back);
	for (int i = 0; i < n; i++)
		if (gdb_rx_feed(&back, (uint8_t)framed[i]) != GDB_RX_NONE)
			events++;
	if (events != 1 || back.len != rx.len || memcmp(back.buf, rx.buf, rx.len) != 0)
		abort();
}

static void parse_fields(const char *p)
{
	uint64_t v;

	while (*p) {
		if (gdb_parse_hex(&p, &v) < 0)
			p++;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gdb_rx_init(&rx);
	for (size_t i = 0; i < size; i++) {
		enum gdb_rx_event e = gdb_rx_feed(&rx, data[i]);

		if (rx.len > GDB_PACKET_MAX)
			abort();
		if (e == GDB_RX_PACKET) {
			if (rx.buf[rx.len] != 0)
				abort();
			check_round_trip();
			parse_fields(rx.buf);
		}
	}
	return 0;
}
