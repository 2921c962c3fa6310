/* SPDX-License-Identifier: MIT */
/*
 * The GDB remote serial protocol's framing, without sockets or KVM: a
 * byte-at-a-time receiver ("$payload#xx", '+'/'-' acks, the 0x03 interrupt
 * byte, '}' escapes), the sender's framing and escaping, and hex helpers.
 * A packet longer than GDB_PACKET_MAX is dropped whole (GDB_RX_OVERFLOW),
 * never truncated; a bad checksum is reported (the server answers '-').
 */
#ifndef KVMRR_REPLAY_GDB_PACKET_H
#define KVMRR_REPLAY_GDB_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GDB_PACKET_MAX 4096       /* the PacketSize we announce: payload bytes after unescaping */

enum gdb_rx_event {
	GDB_RX_NONE = 0,     /* need more bytes */
	GDB_RX_PACKET,       /* rx->buf[0..len) holds a payload (NUL-terminated too) */
	GDB_RX_BAD_CSUM,     /* a whole packet with a wrong checksum (or non-hex digits) */
	GDB_RX_OVERFLOW,     /* a whole packet longer than GDB_PACKET_MAX, dropped */
	GDB_RX_INTERRUPT,    /* 0x03 outside a packet */
	GDB_RX_ACK,
	GDB_RX_NACK,
};

struct gdb_rx {
	int state;
	bool escape, overflow;
	uint8_t sum;
	char ck[2];
	size_t len;
	char buf[GDB_PACKET_MAX + 1];
};

void gdb_rx_init(struct gdb_rx *rx);
/* Feed one byte; returns what it completed (GDB_RX_NONE most of the time). */
enum gdb_rx_event gdb_rx_feed(struct gdb_rx *rx, uint8_t byte);

/*
 * Frame payload (len bytes) as "$...#xx" into out (cap bytes), escaping
 * '$', '#', '}' and '*'. Returns the framed length, or -ENOSPC.
 */
int gdb_frame(char *out, size_t cap, const void *payload, size_t len);

/* Lower-case hex of n bytes into out (2n chars + NUL). */
void gdb_hex_encode(char *out, const void *in, size_t n);
/* n bytes from 2n hex digits; -EINVAL on a non-hex digit or a short string. */
int gdb_hex_decode(void *out, const char *in, size_t n);
/*
 * A hex number at *p (at most 16 digits), *p moved past it; -EINVAL if
 * there is no digit or more than 16.
 */
int gdb_parse_hex(const char **p, uint64_t *v);

#endif
