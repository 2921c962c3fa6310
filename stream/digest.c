/* SPDX-License-Identifier: MIT */
/*
 * Digests of guest RAM: stream_mem_digest (format version 1, stream/snapshot.h),
 * a SHA-256 of all RAM in gpa order, and the page digests of version 2
 * (stream/digest.h).
 */
#include "stream/digest.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "machine/sha256.h"
#include "stream/pagemap.h"
#include "stream/snapshot.h"
#ifdef KVMRR_HAVE_LIBCRYPTO
#include <openssl/evp.h>
#endif

/*
 * SHA-256: with libcrypto (SHA-NI here, ~1 GB/s) when the build found it,
 * else machine/sha256 (~0.2 GB/s). Same function, same digest. One context
 * serves many digests (begin, update, end), freed once.
 */
struct digest_ctx {
#ifdef KVMRR_HAVE_LIBCRYPTO
	EVP_MD_CTX *evp;
#endif
	struct sha256 s;
};

static void digest_open(struct digest_ctx *d)
{
#ifdef KVMRR_HAVE_LIBCRYPTO
	d->evp = EVP_MD_CTX_new();
#else
	(void)d;
#endif
}

static void digest_begin(struct digest_ctx *d)
{
#ifdef KVMRR_HAVE_LIBCRYPTO
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

static void digest_end(struct digest_ctx *d, uint8_t digest[32])
{
#ifdef KVMRR_HAVE_LIBCRYPTO
	unsigned int len = 32;

	if (d->evp) {
		EVP_DigestFinal_ex(d->evp, digest, &len);
		return;
	}
#endif
	sha256_final(&d->s, digest);
}

static void digest_close(struct digest_ctx *d)
{
#ifdef KVMRR_HAVE_LIBCRYPTO
	EVP_MD_CTX_free(d->evp);
	d->evp = NULL;
#else
	(void)d;
#endif
}

/* ---- Format version 1: SHA-256 of all RAM ---- */

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
	/* Never-populated pages are hashed from a zero page, not read (stream/pagemap.h). */
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

/* The regions of mem in gpa order, whatever order they were created in; returns how many. */
static unsigned int regions_by_gpa(const struct guest_mem *mem, unsigned int idx[GUEST_MEM_MAX_REGIONS])
{
	unsigned int n = mem->nregions < GUEST_MEM_MAX_REGIONS ? mem->nregions : GUEST_MEM_MAX_REGIONS;

	for (unsigned int i = 0; i < n; i++) {
		unsigned int j = i;

		while (j > 0 && mem->regions[idx[j - 1]].gpa > mem->regions[i].gpa) {
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = i;
	}
	return n;
}

void stream_mem_digest(const struct guest_mem *mem, uint8_t digest[32], char hex[65])
{
	unsigned int idx[GUEST_MEM_MAX_REGIONS];
	unsigned int n = regions_by_gpa(mem, idx);
	struct digest_ctx d;

	digest_open(&d);
	digest_begin(&d);
	for (unsigned int i = 0; i < n; i++)
		digest_region(&d, &mem->regions[idx[i]]);
	digest_end(&d, digest);
	digest_close(&d);
	if (hex)
		sha256_hex(digest, hex);
}

/* ---- Format version 2: a digest per page, combined (stream/digest.h) ---- */

#define PAGE_DIGEST 8     /* stream_hash64 of the page, little-endian */

static void bit_set(uint64_t *bits, uint64_t i, bool on)
{
	if (on)
		bits[i / 64] |= 1ULL << (i % 64);
	else
		bits[i / 64] &= ~(1ULL << (i % 64));
}

static void put_le64(uint8_t out[8], uint64_t v)
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(v >> (8 * i));
}

/* Digest page i of region r into p; a page of zeros is marked as holding no data. */
static void page_update(struct stream_mem_pages *p, uint64_t zero_digest,
			const struct guest_mem_region *reg, unsigned int r, uint64_t i)
{
	uint64_t h = stream_hash64(reg->host + i * GUEST_PAGE_SIZE, GUEST_PAGE_SIZE, 0);

	put_le64(p->digest[r] + i * PAGE_DIGEST, h);
	bit_set(p->nonzero[r], i, h != zero_digest);
	p->hashed++;
}

static uint64_t zero_page_digest(void)
{
	static const uint8_t zero[GUEST_PAGE_SIZE];

	return stream_hash64(zero, sizeof(zero), 0);
}

/* Digest every page whose bit is set in bits (one bit per page of region r). */
static void pages_update(struct stream_mem_pages *p, uint64_t zero_digest,
			 const struct guest_mem_region *reg, unsigned int r, const uint64_t *bits)
{
	uint64_t words = (reg->size / GUEST_PAGE_SIZE + 63) / 64;

	for (uint64_t w = 0; w < words; w++)
		for (uint64_t b = bits[w]; b; b &= b - 1)
			page_update(p, zero_digest, reg, r, w * 64 + (uint64_t)__builtin_ctzll(b));
}

int stream_mem_pages_load(struct stream_mem_pages *p, struct machine *m)
{
	uint64_t zero_digest = zero_page_digest();
	int r = stream_dirty_init(&p->written, m);

	for (unsigned int i = 0; !r && i < m->mem.nregions && i < GUEST_MEM_MAX_REGIONS; i++) {
		uint64_t npages = m->mem.regions[i].size / GUEST_PAGE_SIZE;

		p->digest[i] = calloc(npages ? npages : 1, PAGE_DIGEST);  /* untouched: lazily zero */
		p->nonzero[i] = calloc((npages + 63) / 64 + 1, sizeof(uint64_t));
		if (!p->digest[i] || !p->nonzero[i])
			r = -ENOMEM;
	}
	if (r < 0) {
		stream_mem_pages_free(p);
		return r;
	}
	for (unsigned int i = 0; i < m->mem.nregions && i < GUEST_MEM_MAX_REGIONS; i++) {
		const struct guest_mem_region *reg = &m->mem.regions[i];
		uint64_t *pop = calloc((reg->size / GUEST_PAGE_SIZE + 63) / 64 + 1, sizeof(uint64_t));

		if (!pop) {
			r = -ENOMEM;
			break;
		}
		/* Never-populated pages are zero: not read, no digest (stream/pagemap.h). */
		stream_pages_populated(reg->host, reg->size / GUEST_PAGE_SIZE, pop);
		pages_update(p, zero_digest, reg, i, pop);
		free(pop);
	}
	if (r < 0) {
		stream_mem_pages_free(p);
	} else {
		p->m = m;
		m->written = &p->written;
		stream_dirty_attach(&p->written, m);
	}
	return r;
}

/* SHA-256("kvmrr-mem-v2" || le64(RAM bytes) || (le64(gpa) || page digest) of each page with data). */
static void pages_combine(const struct stream_mem_pages *p, const struct guest_mem *mem, uint8_t digest[32])
{
	static const char tag[] = "kvmrr-mem-v2";
	unsigned int idx[GUEST_MEM_MAX_REGIONS];
	unsigned int n = regions_by_gpa(mem, idx);
	struct digest_ctx d;
	uint8_t le[8];

	digest_open(&d);
	digest_begin(&d);
	digest_update(&d, tag, sizeof(tag) - 1);
	put_le64(le, mem->ram_size);
	digest_update(&d, le, sizeof(le));
	for (unsigned int k = 0; k < n; k++) {
		const struct guest_mem_region *reg = &mem->regions[idx[k]];
		uint64_t words = (reg->size / GUEST_PAGE_SIZE + 63) / 64;

		for (uint64_t w = 0; w < words; w++)
			for (uint64_t b = p->nonzero[idx[k]][w]; b; b &= b - 1) {
				uint64_t i = w * 64 + (uint64_t)__builtin_ctzll(b);

				put_le64(le, reg->gpa + i * GUEST_PAGE_SIZE);
				digest_update(&d, le, sizeof(le));
				digest_update(&d, p->digest[idx[k]] + i * PAGE_DIGEST, PAGE_DIGEST);
			}
	}
	digest_end(&d, digest);
	digest_close(&d);
}

int stream_mem_pages_final(struct stream_mem_pages *p, struct machine *m, uint8_t digest[32],
			   char hex[65])
{
	uint64_t zero_digest = zero_page_digest();
	int r = stream_dirty_collect(&p->written, m);

	if (r < 0)
		return r;
	for (unsigned int i = 0; i < m->mem.nregions && i < GUEST_MEM_MAX_REGIONS; i++)
		pages_update(p, zero_digest, &m->mem.regions[i], i,
			     p->written.bits + p->written.region_word[i]);
	stream_dirty_clear(&p->written);
	pages_combine(p, &m->mem, digest);
	if (hex)
		sha256_hex(digest, hex);
	return 0;
}

void stream_mem_pages_free(struct stream_mem_pages *p)
{
	if (p->m && p->m->written == &p->written) {
		p->m->written = NULL;
		stream_dirty_detach(&p->written, p->m);
	}
	p->m = NULL;
	stream_dirty_free(&p->written);
	for (unsigned int i = 0; i < GUEST_MEM_MAX_REGIONS; i++) {
		free(p->digest[i]);
		free(p->nonzero[i]);
		p->digest[i] = NULL;
		p->nonzero[i] = NULL;
	}
}
