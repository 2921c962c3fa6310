/* SPDX-License-Identifier: MIT */
/*
 * replay/gdb_packet.c, the GDB remote protocol's framing (no KVM): whole
 * packets, checksums, escapes, the interrupt byte, acks, truncated and
 * oversized packets, framing our replies, hex.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "replay/gdb_packet.h"
#include "tests/test.h"

static struct gdb_rx rx;

/* Feed s (n bytes); the events in order into ev (at most 8), their count. */
static int feed(const char *s, size_t n, enum gdb_rx_event ev[8])
{
	int k = 0;

	for (size_t i = 0; i < n; i++) {
		enum gdb_rx_event e = gdb_rx_feed(&rx, (uint8_t)s[i]);

		if (e != GDB_RX_NONE && k < 8)
			ev[k++] = e;
	}
	return k;
}

#define FEED(s, ev) feed(s, sizeof(s) - 1, ev)

TEST(whole_packet_and_checksum)
{
	enum gdb_rx_event ev[8];

	gdb_rx_init(&rx);
	TEST_ASSERT_EQ(FEED("$qSupported#37", ev), 1);
	TEST_ASSERT_EQ(ev[0], GDB_RX_PACKET);
	TEST_ASSERT_STR_EQ(rx.buf, "qSupported");
	TEST_ASSERT_EQ(FEED("$g#67", ev), 1);
	TEST_ASSERT_EQ(ev[0], GDB_RX_PACKET);
	TEST_ASSERT_STR_EQ(rx.buf, "g");
	TEST_ASSERT_EQ(FEED("$g#6A", ev), 1);   /* upper-case hex digits, wrong sum */
	TEST_ASSERT_EQ(ev[0], GDB_RX_BAD_CSUM);
	TEST_ASSERT_EQ(FEED("$g#zz", ev), 1);
	TEST_ASSERT_EQ(ev[0], GDB_RX_BAD_CSUM);
	TEST_ASSERT_EQ(FEED("$#00", ev), 1);    /* empty packet */
	TEST_ASSERT_EQ(ev[0], GDB_RX_PACKET);
	TEST_ASSERT_EQ(rx.len, 0);
}

TEST(acks_interrupt_noise)
{
	enum gdb_rx_event ev[8];

	gdb_rx_init(&rx);
	TEST_ASSERT_EQ(FEED("+-\x03xyz", ev), 3);
	TEST_ASSERT_EQ(ev[0], GDB_RX_ACK);
	TEST_ASSERT_EQ(ev[1], GDB_RX_NACK);
	TEST_ASSERT_EQ(ev[2], GDB_RX_INTERRUPT);
	/* 0x03 inside a packet is data, not an interrupt */
	TEST_ASSERT_EQ(FEED("$\x03#03", ev), 1);
	TEST_ASSERT_EQ(ev[0], GDB_RX_PACKET);
	TEST_ASSERT_EQ(rx.buf[0], 3);
}

TEST(escapes)
{
	enum gdb_rx_event ev[8];
	char framed[64];
	const char payload[] = "a$b#c}d*e";
	int n = gdb_frame(framed, sizeof(framed), payload, sizeof(payload) - 1);

	TEST_ASSERT(n > 0, "gdb_frame: %d", n);
	TEST_ASSERT(!memchr(framed + 1, '$', (size_t)n - 1) && !memchr(framed + 1, '*', (size_t)n - 1),
		    "unescaped byte in %.*s", n, framed);
	gdb_rx_init(&rx);
	TEST_ASSERT_EQ(feed(framed, (size_t)n, ev), 1);
	TEST_ASSERT_EQ(ev[0], GDB_RX_PACKET);
	TEST_ASSERT_EQ(rx.len, sizeof(payload) - 1);
	TEST_ASSERT(memcmp(rx.buf, payload, rx.len) == 0, "round trip gave %s", rx.buf);
	/* an escape right before '#' is broken */
	TEST_ASSERT_EQ(FEED("$a}#da", ev), 1);
	TEST_ASSERT_EQ(ev[0], GDB_RX_BAD_CSUM);
}

TEST(truncated_then_next)
{
	enum gdb_rx_event ev[8];

	gdb_rx_init(&rx);
	TEST_ASSERT_EQ(FEED("$m1000,", ev), 0);
	TEST_ASSERT_EQ(FEED("$g#67", ev), 1);   /* a new '$' drops the unfinished packet */
	TEST_ASSERT_STR_EQ(rx.buf, "g");
	TEST_ASSERT_EQ(FEED("$g#6", ev), 0);    /* half a checksum: still waiting */
	TEST_ASSERT_EQ(FEED("7", ev), 1);
	TEST_ASSERT_EQ(ev[0], GDB_RX_PACKET);
}

TEST(oversized_dropped_whole)
{
	enum gdb_rx_event ev[8];
	size_t n = GDB_PACKET_MAX + 100;
	char *big = malloc(n + 4);

	TEST_ASSERT(big, "malloc");
	big[0] = '$';
	memset(big + 1, 'q', n);
	memcpy(big + 1 + n, "#00", 3);
	gdb_rx_init(&rx);
	TEST_ASSERT_EQ(feed(big, n + 4, ev), 1);
	TEST_ASSERT_EQ(ev[0], GDB_RX_OVERFLOW);
	TEST_ASSERT_EQ(rx.len, 0);
	TEST_ASSERT_EQ(FEED("$g#67", ev), 1);
	TEST_ASSERT_EQ(ev[0], GDB_RX_PACKET);
	free(big);
	/* exactly GDB_PACKET_MAX bytes fit */
	big = malloc(GDB_PACKET_MAX);
	TEST_ASSERT(big, "malloc");
	memset(big, 'a', GDB_PACKET_MAX);
	{
		static char framed[GDB_PACKET_MAX + 8];
		int k = gdb_frame(framed, sizeof(framed), big, GDB_PACKET_MAX);

		TEST_ASSERT_EQ(k, GDB_PACKET_MAX + 4);
		TEST_ASSERT_EQ(feed(framed, (size_t)k, ev), 1);
		TEST_ASSERT_EQ(ev[0], GDB_RX_PACKET);
		TEST_ASSERT_EQ(rx.len, GDB_PACKET_MAX);
		TEST_ASSERT_EQ(gdb_frame(framed, 10, big, 100), -ENOSPC);
	}
	free(big);
}

TEST(hex)
{
	uint8_t b[4];
	char s[9];
	const char *p = "1f,", *q = "x", *r = "11112222333344445";
	uint64_t v;

	gdb_hex_encode(s, (const uint8_t[]){ 0xde, 0xad, 0x00, 0x7f }, 4);
	TEST_ASSERT_STR_EQ(s, "dead007f");
	TEST_ASSERT_OK(gdb_hex_decode(b, "DEad007F", 4));
	TEST_ASSERT_EQ(b[0], 0xde);
	TEST_ASSERT_EQ(b[3], 0x7f);
	TEST_ASSERT_EQ(gdb_hex_decode(b, "de", 2), -EINVAL);   /* short */
	TEST_ASSERT_EQ(gdb_hex_decode(b, "zz", 1), -EINVAL);
	TEST_ASSERT_OK(gdb_parse_hex(&p, &v));
	TEST_ASSERT_EQ(v, 0x1f);
	TEST_ASSERT_EQ(*p, ',');
	TEST_ASSERT_EQ(gdb_parse_hex(&q, &v), -EINVAL);
	TEST_ASSERT_EQ(gdb_parse_hex(&r, &v), -EINVAL);        /* 17 digits */
}

TEST_MAIN()
