/* SPDX-License-Identifier: MIT */
#include "stream/point.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "machine/machine.h"
#include "vcpu/vm.h"

#define RFLAGS_RF 0x10000ULL     /* resume flag: not part of the point */

/* Words of a dirty bitmap covering one RAM region. */
static size_t region_words(const struct guest_mem_region *reg)
{
	return (size_t)((reg->size / GUEST_PAGE_SIZE + 63) / 64);
}

int stream_dirty_init(struct stream_dirty *d, const struct machine *m)
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
		stream_dirty_free(d);
		return -ENOMEM;
	}
	d->words = words;
	d->scratch_words = most;
	return 0;
}

void stream_dirty_free(struct stream_dirty *d)
{
	free(d->bits);
	free(d->scratch);
	memset(d, 0, sizeof(*d));
}

int stream_dirty_collect(struct stream_dirty *d, const struct machine *m)
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
		/* The log is cleared: every set that keeps written pages gets them too. */
		for (unsigned int k = 0; k < m->ndirty_sets; k++) {
			struct stream_dirty *o = m->dirty_sets[k];

			if (o != d)
				for (size_t w = 0; w < n; w++)
					o->bits[o->region_word[i] + w] |= d->scratch[w];
		}
	}
	return 0;
}

/* The VMM wrote guest RAM itself: every set that keeps written pages must know. */
static void vmm_wrote(struct machine *m, uint64_t gpa)
{
	for (unsigned int k = 0; k < m->ndirty_sets; k++)
		stream_dirty_mark(m->dirty_sets[k], m, gpa);
}

int stream_dirty_attach(struct stream_dirty *d, struct machine *m)
{
	if (m->ndirty_sets == sizeof(m->dirty_sets) / sizeof(m->dirty_sets[0]))
		return -ENOSPC;
	m->dirty_sets[m->ndirty_sets++] = d;
	m->vmm_wrote = vmm_wrote;
	return 0;
}

void stream_dirty_detach(struct stream_dirty *d, struct machine *m)
{
	for (unsigned int k = 0; k < m->ndirty_sets; k++)
		if (m->dirty_sets[k] == d) {
			m->dirty_sets[k] = m->dirty_sets[--m->ndirty_sets];
			return;
		}
}

void stream_dirty_mark(struct stream_dirty *d, const struct machine *m, uint64_t gpa)
{
	for (unsigned int i = 0; i < m->mem.nregions && i < GUEST_MEM_MAX_REGIONS; i++) {
		const struct guest_mem_region *reg = &m->mem.regions[i];

		if (gpa >= reg->gpa && gpa - reg->gpa < reg->size) {
			uint64_t page = (gpa - reg->gpa) / GUEST_PAGE_SIZE;

			d->bits[d->region_word[i] + page / 64] |= 1ULL << (page % 64);
			return;
		}
	}
}

size_t stream_dirty_pages(const struct stream_dirty *d, const struct machine *m, uint64_t *gpas, size_t max)
{
	size_t count = 0;

	for (unsigned int i = 0; i < m->mem.nregions && i < GUEST_MEM_MAX_REGIONS; i++) {
		const struct guest_mem_region *reg = &m->mem.regions[i];

		for (size_t w = 0; w < region_words(reg); w++) {
			uint64_t bits = d->bits[d->region_word[i] + w];

			while (bits) {
				uint64_t page = w * 64 + (uint64_t)__builtin_ctzll(bits);

				bits &= bits - 1;
				if (count < max)
					gpas[count] = reg->gpa + page * GUEST_PAGE_SIZE;
				count++;
			}
		}
	}
	return count;
}

void stream_dirty_minus(struct stream_dirty *dst, const struct stream_dirty *a, const struct stream_dirty *b)
{
	for (size_t w = 0; w < dst->words; w++)
		dst->bits[w] = a->bits[w] & ~b->bits[w];
}

/* The host address of page bit `page` of region i, or NULL. */
static const void *page_host(const struct machine *m, unsigned int i, uint64_t page)
{
	const struct guest_mem_region *reg = &m->mem.regions[i];

	return guest_mem_ptr(&m->mem, reg->gpa + page * GUEST_PAGE_SIZE, GUEST_PAGE_SIZE);
}

void stream_dirty_hash_pages(const struct stream_dirty *d, const struct machine *m, uint64_t *hash)
{
	for (unsigned int i = 0; i < m->mem.nregions && i < GUEST_MEM_MAX_REGIONS; i++)
		for (size_t w = 0; w < region_words(&m->mem.regions[i]); w++)
			for (uint64_t bits = d->bits[d->region_word[i] + w]; bits; bits &= bits - 1) {
				uint64_t page = w * 64 + (uint64_t)__builtin_ctzll(bits);
				const void *host = page_host(m, i, page);

				hash[d->region_word[i] * 64 + page] = host ? stream_hash64(host, GUEST_PAGE_SIZE, 0) : 0;
			}
}

size_t stream_dirty_drop_unchanged(struct stream_dirty *d, struct stream_dirty *touch, const uint64_t *hash,
				   const struct machine *m)
{
	size_t left = 0;

	for (unsigned int i = 0; i < m->mem.nregions && i < GUEST_MEM_MAX_REGIONS; i++)
		for (size_t w = 0; w < region_words(&m->mem.regions[i]); w++) {
			size_t at = d->region_word[i] + w;
			uint64_t both = d->bits[at] & touch->bits[at];

			touch->bits[at] &= ~both;
			left += (size_t)__builtin_popcountll(touch->bits[at]);
			for (; both; both &= both - 1) {
				uint64_t page = w * 64 + (uint64_t)__builtin_ctzll(both);
				const void *host = page_host(m, i, page);

				if (host && stream_hash64(host, GUEST_PAGE_SIZE, 0) == hash[at * 64 + page % 64])
					d->bits[at] &= ~(1ULL << (page % 64));
			}
		}
	return left;
}

void stream_dirty_note_first(const struct stream_dirty *d, struct stream_dirty *ever, uint64_t *first_at,
			     uint64_t value)
{
	for (size_t w = 0; w < d->words; w++) {
		uint64_t fresh = d->bits[w] & ~ever->bits[w];

		ever->bits[w] |= fresh;
		for (; fresh; fresh &= fresh - 1)
			first_at[w * 64 + (size_t)__builtin_ctzll(fresh)] = value;
	}
}

void stream_dirty_add_first(struct stream_dirty *d, const struct stream_dirty *ever, const uint64_t *first_at,
			    uint64_t value)
{
	for (size_t w = 0; w < d->words; w++)
		for (uint64_t bits = ever->bits[w] & ~d->bits[w]; bits; bits &= bits - 1) {
			size_t b = (size_t)__builtin_ctzll(bits);

			if (first_at[w * 64 + b] == value)
				d->bits[w] |= 1ULL << b;
		}
}

void stream_dirty_clear(struct stream_dirty *d)
{
	memset(d->bits, 0, d->words * sizeof(uint64_t));
}

uint64_t stream_dirty_digest(const struct stream_dirty *d, const struct machine *m, uint32_t *pages)
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
				h = stream_hash64(&gpa, sizeof(gpa), h);
				h = stream_hash64(reg->host + page * GUEST_PAGE_SIZE, GUEST_PAGE_SIZE, h);
				count++;
			}
		}
	}
	*pages = count;
	return h;
}

/* XSAVE header (standard format): XSTATE_BV at byte 512, XCOMP_BV at 520. */
#define XSAVE_HEADER_OFF 512
#define XSAVE_HEADER_BV_LEN 16

void stream_xsave_normalize(struct kvm_xsave *xs)
{
	memset((uint8_t *)xs->region + XSAVE_HEADER_OFF, 0, XSAVE_HEADER_BV_LEN);
}

int stream_xsave_digest(const struct machine *m, uint64_t *digest, bool raw)
{
	struct kvm_xsave xs;
	int r = vcpu_get_xsave(&m->vcpu, &xs);

	if (r < 0)
		return r;
	/*
	 * Which components the header calls "in use" depends on how often the
	 * VMM entered KVM_RUN (each entry may load and save the guest's FPU,
	 * and XSAVEOPT leaves components in their init state out); KVM fills
	 * the areas of those with their init values, so the content is the
	 * same either way. Format 1 recordings hashed the header too (raw).
	 */
	if (!raw)
		stream_xsave_normalize(&xs);
	*digest = stream_hash64(&xs, sizeof(xs), 0);
	return 0;
}

int stream_point_capture(struct stream_dirty *d, struct machine *m, struct stream_point *p)
{
	struct kvm_sregs sregs;
	int r;

	/* KVM filled the sync-regs area at this exit (KVM_SYNC_X86_REGS valid). */
	p->regs = vcpu_sync_regs_read(&m->vcpu)->regs;
	r = vcpu_get_sregs(&m->vcpu, &sregs);
	if (r < 0)
		return r;
	p->cpl = sregs.cs.selector & 3;
	r = stream_xsave_digest(m, &p->xsave_digest, false);
	if (r < 0)
		return r;
	r = stream_dirty_collect(d, m);
	if (r < 0)
		return r;
	p->mem_digest = stream_dirty_digest(d, m, &p->dirty_pages);
	stream_dirty_clear(d);
	return 0;
}

static int equal_regs(const struct kvm_regs *x, const struct kvm_regs *y)
{
	const uint64_t *a = (const uint64_t *)x, *b = (const uint64_t *)y;
	int n = 0;

	_Static_assert(sizeof(struct kvm_regs) == STREAM_POINT_REGS * sizeof(uint64_t), "kvm_regs is 18 words");
	for (int i = 0; i < STREAM_POINT_REGS; i++) {
		uint64_t mask = i == STREAM_POINT_REGS - 1 ? ~RFLAGS_RF : ~0ULL;   /* rflags is last */

		n += (a[i] & mask) == (b[i] & mask);
	}
	return n;
}

int stream_point_compare(struct stream_dirty *d, struct machine *m, const struct kvm_regs *regs,
			 const struct stream_point *want, bool raw_xsave, struct stream_point_match *out)
{
	struct kvm_sregs sregs;
	uint64_t xs = 0, md;
	int r;

	memset(out, 0, sizeof(*out));
	out->equal_regs = equal_regs(regs, &want->regs);
	if (out->equal_regs != STREAM_POINT_REGS)
		return 0;
	/* The same registers at another privilege level are another point: one register short. */
	r = vcpu_get_sregs(&m->vcpu, &sregs);
	if (r < 0)
		return r;
	if ((sregs.cs.selector & 3) != want->cpl) {
		out->equal_regs--;
		return 0;
	}
	out->compared = true;
	r = stream_xsave_digest(m, &xs, raw_xsave);
	if (r < 0)
		return r;
	out->xsave = xs == want->xsave_digest;
	/* GET_DIRTY_LOG clears the kernel's log: keep every page since the previous point. */
	r = stream_dirty_collect(d, m);
	if (r < 0)
		return r;
	md = stream_dirty_digest(d, m, &out->pages);
	out->mem = md == want->mem_digest && out->pages == want->dirty_pages;
	return out->xsave && out->mem;
}
