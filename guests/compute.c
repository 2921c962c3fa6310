/* SPDX-License-Identifier: MIT */
/*
 * compute: CPU-heavy work at CPL3, no exits. Fills mb= MiB (default 64) of
 * free RAM with an xorshift64* stream (seed 0x9e3779b97f4a7c15), hashes it
 * with SHA-256 and checks the digest against the one computed on the host
 * for 64 MiB and 1 MiB (other sizes print the digest unchecked). SHA-256
 * itself is checked first on the FIPS 180-2 "abc" example. This file may
 * use SSE: none of it runs at CPL0.
 */
#include "rt/rt.h"
#include "machine/sha256.h"

static const char *const known[][2] = {
	{ "64", "422d9d650a18c97e1bfca0cf437e317804e4480c10376a5dd2c39d2fac1957e6" },
	{ "1", "07e6be4717e722132dac92ae5d06eec90301cf7aa4aaf1759d00071b1694e1df" },
};

static void fill(uint64_t *w, uint64_t words)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;

	for (uint64_t i = 0; i < words; i++) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		w[i] = x * 0x2545f4914f6cdd1dull;
	}
}

static void digest_hex(const void *p, uint64_t len, char hex[65])
{
	struct sha256 c;
	uint8_t d[32];

	sha256_init(&c);
	sha256_update(&c, p, len);
	sha256_final(&c, d);
	sha256_hex(d, hex);
}

int main(void)
{
	uint64_t mb = rt_arg_u64("mb", 64), base, size, len;
	const char *want = NULL;
	char hex[65], mbs[24];

	digest_hex("abc", 3, hex);
	if (strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") != 0)
		rt_fail("compute: SHA-256(\"abc\") = %s, not the FIPS 180-2 value", hex);
	rt_free_mem(&base, &size);
	len = mb << 20;
	if (mb == 0 || len > size)
		rt_fail("compute: mb=%lu does not fit the %lu MiB free at 0x%lx", mb, size >> 20, base);
	fill((uint64_t *)(uintptr_t)base, len / 8);
	digest_hex((const void *)(uintptr_t)base, len, hex);
	rt_printf("compute: sha256(%lu MiB) = %s\n", mb, hex);
	rt_snprintf(mbs, sizeof(mbs), "%lu", mb);
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(mbs, known[i][0]) == 0)
			want = known[i][1];
	if (!want) {
		rt_printf("compute: no known digest for %lu MiB: unchecked\n", mb);
		return 0;
	}
	if (strcmp(hex, want) != 0)
		rt_fail("compute: digest mismatch, want %s", want);
	rt_printf("compute: digest ok\n");
	return 0;
}
