/* SPDX-License-Identifier: MIT */
#include "replay/gdb_packet.h"

#include <errno.h>
#include <string.h>

enum { RX_IDLE, RX_DATA, RX_CK1, RX_CK2 };

void gdb_rx_init(struct gdb_rx *rx)
{
	memset(rx, 0, sizeof(*rx));
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void start_packet(struct gdb_rx *rx)
{
	rx->state = RX_DATA;
	rx->len = 0;
	rx->sum = 0;
	rx->escape = false;
	rx->overflow = false;
}

static void data_byte(struct gdb_rx *rx, uint8_t b)
{
	rx->sum = (uint8_t)(rx->sum + b);
	if (b == '}' && !rx->escape) {
		rx->escape = true;
		return;
	}
	if (rx->escape) {
		b ^= 0x20;
		rx->escape = false;
	}
	if (rx->len >= GDB_PACKET_MAX)
		rx->overflow = true;
	else
		rx->buf[rx->len++] = (char)b;
}

static enum gdb_rx_event finish(struct gdb_rx *rx)
{
	int hi = hexval(rx->ck[0]), lo = hexval(rx->ck[1]);

	rx->state = RX_IDLE;
	rx->buf[rx->len] = 0;
	if (rx->overflow) {
		rx->len = 0;
		return GDB_RX_OVERFLOW;
	}
	if (hi < 0 || lo < 0 || (uint8_t)(hi << 4 | lo) != rx->sum || rx->escape) {
		rx->len = 0;
		return GDB_RX_BAD_CSUM;
	}
	return GDB_RX_PACKET;
}

enum gdb_rx_event gdb_rx_feed(struct gdb_rx *rx, uint8_t b)
{
	switch (rx->state) {
	case RX_IDLE:
		if (b == '$')
			start_packet(rx);
		else if (b == 0x03)
			return GDB_RX_INTERRUPT;
		else if (b == '+')
			return GDB_RX_ACK;
		else if (b == '-')
			return GDB_RX_NACK;
		return GDB_RX_NONE;   /* noise between packets is ignored */
	case RX_DATA:
		if (b == '$') {       /* a new packet: the unfinished one is dropped */
			start_packet(rx);
		} else if (b == '#') {
			rx->state = RX_CK1;
		} else {
			data_byte(rx, b);
		}
		return GDB_RX_NONE;
	case RX_CK1:
		rx->ck[0] = (char)b;
		rx->state = RX_CK2;
		return GDB_RX_NONE;
	default:
		rx->ck[1] = (char)b;
		return finish(rx);
	}
}

int gdb_frame(char *out, size_t cap, const void *payload, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = payload;
	uint8_t sum = 0;
	size_t o = 0;

	if (cap < 4)
		return -ENOSPC;
	out[o++] = '$';
	for (size_t i = 0; i < len; i++) {
		uint8_t b = p[i];
		bool esc = b == '$' || b == '#' || b == '}' || b == '*';

		if (o + (esc ? 2 : 1) + 3 > cap)
			return -ENOSPC;
		if (esc) {
			out[o++] = '}';
			sum = (uint8_t)(sum + '}');
			b ^= 0x20;
		}
		out[o++] = (char)b;
		sum = (uint8_t)(sum + b);
	}
	out[o++] = '#';
	out[o++] = hex[sum >> 4];
	out[o++] = hex[sum & 15];
	return (int)o;
}

void gdb_hex_encode(char *out, const void *in, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = in;

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[2 * n] = 0;
}

int gdb_hex_decode(void *out, const char *in, size_t n)
{
	uint8_t *p = out;

	for (size_t i = 0; i < n; i++) {
		int hi = hexval((unsigned char)in[2 * i]), lo;

		if (hi < 0)
			return -EINVAL;
		lo = hexval((unsigned char)in[2 * i + 1]);
		if (lo < 0)
			return -EINVAL;
		p[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int gdb_parse_hex(const char **p, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;
	int n = 0, d;

	while ((d = hexval((unsigned char)*s)) >= 0) {
		if (++n > 16)
			return -EINVAL;
		x = x << 4 | (uint64_t)d;
		s++;
	}
	if (n == 0)
		return -EINVAL;
	*p = s;
	*v = x;
	return 0;
}
