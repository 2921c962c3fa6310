/* SPDX-License-Identifier: MIT */
/* SHA-256 against the FIPS 180-4 example vectors, one-shot and fed in odd pieces. */
#include "tests/test.h"

#include "machine/sha256.h"

static void check(const void *data, size_t len, const char *want)
{
	uint8_t d[SHA256_DIGEST_SIZE];
	char hex[2 * SHA256_DIGEST_SIZE + 1];
	struct sha256 s;
	size_t i, step;

	sha256(data, len, d);
	sha256_hex(d, hex);
	TEST_ASSERT_STR_EQ(hex, want);
	/* Same digest whatever the split: exercises the partial-block buffer. */
	for (step = 1; step < 130; step += 17) {
		sha256_init(&s);
		for (i = 0; i < len; i += step)
			sha256_update(&s, (const uint8_t *)data + i, len - i < step ? len - i : step);
		sha256_final(&s, d);
		sha256_hex(d, hex);
		TEST_ASSERT_STR_EQ(hex, want);
	}
}

TEST(fips_vectors)
{
	check("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	check("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
	      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	check("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
	      "klmnopqrlmnopqrsmnopqrstnopqrstu", 112,
	      "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST(million_a)
{
	static uint8_t buf[1000000];

	memset(buf, 'a', sizeof(buf));
	check(buf, sizeof(buf), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_MAIN()
