/* SPDX-License-Identifier: MIT */
#include "machine/async.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine/kick.h"
#include "machine/machine.h"
#include "vcpu/vm.h"

int machine_async_inject(struct machine *m, struct machine_irq_action *act, uint64_t now)
{
	bool retry;
	int r = machine_inject_pending(m, act, &retry);

	if (r < 0)
		return r;
	if (r > 0) {
		act->async = true;
		m->async_injections++;
	}
	machine_async_arm(m, retry, now);
	return 0;
}

void machine_async_arm(struct machine *m, bool retry, uint64_t now)
{
	uint64_t at = devices_next_deadline_ns(&m->dev);

	if (retry && now + MACHINE_ASYNC_RETRY_NS < at)
		at = now + MACHINE_ASYNC_RETRY_NS;
	if (m->deadline_ns && m->deadline_ns < at)
		at = m->deadline_ns;
	if (at == UINT64_MAX)
		return;
	/* A kick still to come, no later than this one, does the job. */
	if (m->kick_at_ns > now && m->kick_at_ns <= at)
		return;
	if (machine_kick_arm(m, at) == 0)
		m->kick_at_ns = at;
}

/* Words of a dirty bitmap covering one RAM region. */
static size_t region_words(const struct guest_mem_region *reg)
{
	return (size_t)((reg->size / GUEST_PAGE_SIZE + 63) / 64);
}

#define H_P1 0x9e3779b185ebca87ULL
#define H_P2 0xc2b2ae3d27d4eb4fULL
#define H_P3 0x165667b19e3779f9ULL

static inline uint64_t rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t lane(uint64_t acc, uint64_t w)
{
	return rotl64(acc + w * H_P2, 31) * H_P1;
}

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
	return w;
}

uint64_t machine_hash64(const void *data, size_t len, uint64_t seed)
{
	const uint8_t *p = data;
	uint64_t a = seed + H_P1 + H_P2, b = seed + H_P2, c = seed, d = seed - H_P1, h;
	size_t i = 0;

	/* Four independent lanes keep the multipliers busy: ~8 bytes per cycle. */
	for (; i + 32 <= len; i += 32) {
		a = lane(a, load64(p + i));
		b = lane(b, load64(p + i + 8));
		c = lane(c, load64(p + i + 16));
		d = lane(d, load64(p + i + 24));
	}
	h = rotl64(a, 1) + rotl64(b, 7) + rotl64(c, 12) + rotl64(d, 18) + (uint64_t)len;
	for (; i + 8 <= len; i += 8)
		h = rotl64(h ^ lane(0, load64(p + i)), 27) * H_P1 + H_P3;
	for (; i < len; i++)
		h = rotl64(h ^ (p[i] * H_P3), 11) * H_P1;
	h ^= h >> 33;
	h *= H_P2;
	h ^= h >> 29;
	h *= H_P3;
	return h ^ (h >> 32);
}

int machine_dirty_init(struct machine_dirty *d, const struct machine *m)
{
	size_t words = 0, most = 0;

	memset(d, 0, sizeof(*d));
	for (unsigned int i = 0; i < m->mem.nregions && i < GUEST_MEM_MAX_REGIONS; i++) {
		size_t n = region_words(&m->mem.regions[i]);

		d->region_word[i] = words;
		words += n;
		if (n > most)
			most = n;
	}
	d->bits = calloc(words ? words : 1, sizeof(uint64_t));
	d->scratch = calloc(most ? most : 1, sizeof(uint64_t));
	if (!d->bits || !d->scratch) {
		machine_dirty_free(d);
		return -ENOMEM;
	}
	d->words = words;
	d->scratch_words = most;
	return 0;
}

void machine_dirty_free(struct machine_dirty *d)
{
	free(d->bits);
	free(d->scratch);
	memset(d, 0, sizeof(*d));
}

int machine_dirty_collect(struct machine_dirty *d, const struct machine *m)
{
	for (unsigned int i = 0; i < m->mem.nregions && i < GUEST_MEM_MAX_REGIONS; i++) {
		size_t n = region_words(&m->mem.regions[i]);
		uint64_t *dst = d->bits + d->region_word[i];
		int r;

		/* The kernel fills a bitmap of the slot's pages and clears its own (api.rst 4.8). */
		memset(d->scratch, 0, n * sizeof(uint64_t));
		r = vm_get_dirty_log(m->vm_fd, m->mem.regions[i].slot, d->scratch);
		if (r < 0)
			return r;
		for (size_t w = 0; w < n; w++)
			dst[w] |= d->scratch[w];
	}
	return 0;
}

void machine_dirty_clear(struct machine_dirty *d)
{
	memset(d->bits, 0, d->words * sizeof(uint64_t));
}

uint64_t machine_dirty_digest(const struct machine_dirty *d, const struct machine *m, uint32_t *pages)
{
	uint64_t h = 0x6b7672722d6d656dULL;   /* "kvrr-mem" */
	uint32_t count = 0;

	for (unsigned int i = 0; i < m->mem.nregions && i < GUEST_MEM_MAX_REGIONS; i++) {
		const struct guest_mem_region *reg = &m->mem.regions[i];
		size_t n = region_words(reg);

		for (size_t w = 0; w < n; w++) {
			uint64_t bits = d->bits[d->region_word[i] + w];

			while (bits) {
				uint64_t page = w * 64 + (uint64_t)__builtin_ctzll(bits);
				uint64_t gpa = reg->gpa + page * GUEST_PAGE_SIZE;

				bits &= bits - 1;
				h = machine_hash64(&gpa, sizeof(gpa), h);
				h = machine_hash64(reg->host + page * GUEST_PAGE_SIZE, GUEST_PAGE_SIZE, h);
				count++;
			}
		}
	}
	*pages = count;
	return h;
}

int machine_xsave_digest(const struct machine *m, uint64_t *digest)
{
	struct kvm_xsave xs;
	int r = vcpu_get_xsave(&m->vcpu, &xs);

	if (r < 0)
		return r;
	*digest = machine_hash64(&xs, sizeof(xs), 0);
	return 0;
}
