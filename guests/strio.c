/* SPDX-License-Identifier: MIT */
/*
 * strio: string port IO of several KiB. One REP OUTSB sends 6 KiB of text
 * to the UART: on hardware-virt hosts KVM hands userspace up to a page of
 * it per exit, so replay must check every byte of a wide exit (this host's
 * emulator makes one exit per byte). Then it prints a checksum of the text.
 */
#include "rt/rt.h"

#define STRIO_BYTES 6144
#define STRIO_LINE 64

static char text[STRIO_BYTES];

int main(void)
{
	const char *p = text;
	uint64_t n = STRIO_BYTES;
	uint32_t sum = 0;

	/* 96 lines of 64 bytes: "strio NN ....\n" */
	for (int i = 0; i < STRIO_BYTES; i++) {
		int col = i % STRIO_LINE, line = i / STRIO_LINE;

		text[i] = col == STRIO_LINE - 1 ? '\n' : col < 6 ? "strio "[col] :
			  col == 6 ? (char)('0' + line / 10 % 10) : col == 7 ? (char)('0' + line % 10) :
			  (char)('a' + (line + col) % 26);
		sum = sum * 31 + (uint8_t)text[i];
	}
	__asm__ volatile("cld; rep outsb" : "+S"(p), "+c"(n) : "d"(0x3f8) : "memory");
	rt_printf("strio: %u bytes sent with one REP OUTSB, sum %08x\n", STRIO_BYTES, sum);
	return n == 0 ? 0 : 1;
}
