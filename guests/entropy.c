/* SPDX-License-Identifier: MIT */
/*
 * entropy: reads n= bytes (default 4096, a multiple of 4) from the entropy
 * port with 32-bit INs, plus one 1-byte and one 2-byte read, prints their
 * SHA-256, and checks they look random: not all equal (an unhandled port
 * reads all ones), and between 45% and 55% of the bits set.
 */
#include "rt/rt.h"
#include "machine/sha256.h"

#define MAX_BYTES (1u << 20)

static uint8_t buf[MAX_BYTES + 3];

static unsigned popcount8(uint8_t b)
{
	unsigned n = 0;

	for (; b; b &= (uint8_t)(b - 1))
		n++;
	return n;
}

int main(void)
{
	uint64_t n = rt_arg_u64("n", 4096), ones = 0;
	struct sha256 c;
	uint8_t d[32];
	char hex[65];
	bool all_same = true;

	if (n < 64 || n > MAX_BYTES || n % 4)
		rt_fail("entropy: n=%lu must be a multiple of 4 in 64-%u", n, MAX_BYTES);
	for (uint64_t i = 0; i < n; i += 4) {
		uint32_t v = rt_inl(ABI_PORT_ENTROPY);

		memcpy(buf + i, &v, 4);
	}
	buf[n] = rt_inb(ABI_PORT_ENTROPY);
	{
		uint16_t v = rt_inw(ABI_PORT_ENTROPY);

		memcpy(buf + n + 1, &v, 2);
	}
	n += 3;
	for (uint64_t i = 0; i < n; i++) {
		ones += popcount8(buf[i]);
		all_same &= buf[i] == buf[0];
	}
	sha256_init(&c);
	sha256_update(&c, buf, n);
	sha256_final(&c, d);
	sha256_hex(d, hex);
	rt_printf("entropy: %lu bytes sha256=%s ones=%lu/%lu\n", n, hex, ones, n * 8);
	if (all_same)
		rt_fail("entropy: all %lu bytes are 0x%02x", n, buf[0]);
	if (ones * 100 < n * 8 * 45 || ones * 100 > n * 8 * 55)
		rt_fail("entropy: %lu of %lu bits set, outside 45%%-55%%", ones, n * 8);
	return 0;
}
