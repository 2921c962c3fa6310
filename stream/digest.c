/* SPDX-License-Identifier: MIT */
/* stream_mem_digest (declared in stream/snapshot.h): SHA-256 of all guest RAM in gpa order. */
#include "stream/snapshot.h"

#include <stdbool.h>
#include <stdlib.h>

#include "machine/sha256.h"
#include "stream/pagemap.h"
#ifdef KVMRR_HAVE_LIBCRYPTO
#include <openssl/evp.h>
#endif

/*
 * SHA-256 of RAM: with libcrypto (SHA-NI here, ~1 GB/s) when the build found
 * it, else machine/sha256 (~0.2 GB/s). Same function, same digest. Pages
 * never populated are hashed from a zero page instead of being read, which
 * would fault each one in (stream/pagemap.h): same bytes, same digest.
 */
struct digest_ctx {
#ifdef KVMRR_HAVE_LIBCRYPTO
	EVP_MD_CTX *evp;
#endif
	struct sha256 s;
};

static void digest_init(struct digest_ctx *d)
{
#ifdef KVMRR_HAVE_LIBCRYPTO
	d->evp = EVP_MD_CTX_new();
	if (d->evp && EVP_DigestInit_ex(d->evp, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(d->evp);
		d->evp = NULL;   /* FIPS config, no memory: the portable code gives the same digest */
	}
	if (d->evp)
		return;
#endif
	sha256_init(&d->s);
}

static void digest_update(struct digest_ctx *d, const void *p, size_t len)
{
#ifdef KVMRR_HAVE_LIBCRYPTO
	if (d->evp) {
		EVP_DigestUpdate(d->evp, p, len);
		return;
	}
#endif
	sha256_update(&d->s, p, len);
}

static void digest_final(struct digest_ctx *d, uint8_t digest[32])
{
#ifdef KVMRR_HAVE_LIBCRYPTO
	unsigned int len = 32;

	if (d->evp) {
		EVP_DigestFinal_ex(d->evp, digest, &len);
		EVP_MD_CTX_free(d->evp);
		return;
	}
#endif
	sha256_final(&d->s, digest);
}

static void digest_region(struct digest_ctx *d, const struct guest_mem_region *reg)
{
	static const uint8_t zero[GUEST_PAGE_SIZE];
	uint64_t npages = reg->size / GUEST_PAGE_SIZE;
	uint64_t *pop = malloc((npages + 63) / 64 * 8);
	uint64_t i = 0;

	if (!pop) {
		digest_update(d, reg->host, reg->size);
		return;
	}
	stream_pages_populated(reg->host, npages, pop);
	while (i < npages) {
		uint64_t j = i;
		bool data = stream_page_populated(pop, i);

		while (j < npages && stream_page_populated(pop, j) == data)
			j++;
		if (data)
			digest_update(d, reg->host + i * GUEST_PAGE_SIZE, (j - i) * GUEST_PAGE_SIZE);
		else
			for (uint64_t k = i; k < j; k++)
				digest_update(d, zero, GUEST_PAGE_SIZE);
		i = j;
	}
	free(pop);
}

void stream_mem_digest(const struct guest_mem *mem, uint8_t digest[32], char hex[65])
{
	const struct guest_mem_region *order[GUEST_MEM_MAX_REGIONS];
	unsigned int n = mem->nregions;
	struct digest_ctx d;

	/* Regions in gpa order, whatever order they were created in. */
	for (unsigned int i = 0; i < n; i++) {
		unsigned int j = i;

		while (j > 0 && order[j - 1]->gpa > mem->regions[i].gpa) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = &mem->regions[i];
	}
	digest_init(&d);
	for (unsigned int i = 0; i < n; i++)
		digest_region(&d, order[i]);
	digest_final(&d, digest);
	if (hex)
		sha256_hex(digest, hex);
}
