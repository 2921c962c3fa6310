/* SPDX-License-Identifier: MIT */
/*
 * Identifying an asynchronous point (docs/async.md): the general registers
 * and RFLAGS, the CPL, a digest of the XSAVE area, and a digest of the
 * guest pages written since the previous point (KVM's dirty log, api.rst
 * 4.8 KVM_GET_DIRTY_LOG, which also clears the kernel's log). Record
 * captures a point with stream_point_capture; replay compares the state at
 * each breakpoint hit with stream_point_compare. Both use the same digests.
 */
#ifndef KVMRR_STREAM_POINT_H
#define KVMRR_STREAM_POINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stream/hash.h"
#include "stream/stream.h"
#include "vcpu/guest_mem.h"

struct machine;


/* The guest pages written since the set was last cleared, accumulated in one bitmap. */
struct stream_dirty {
	uint64_t *bits;                 /* one bit per 4 KiB page, each region from a word boundary */
	size_t words;
	size_t region_word[GUEST_MEM_MAX_REGIONS];          /* first word of each guest_mem region */
	uint64_t *scratch;              /* KVM_GET_DIRTY_LOG buffer for one slot */
	size_t scratch_words;
};

/* Size the bitmaps for m's RAM (KVM_MEM_LOG_DIRTY_PAGES must be on). 0 or -ENOMEM. */
int stream_dirty_init(struct stream_dirty *d, const struct machine *m);
void stream_dirty_free(struct stream_dirty *d);
/*
 * Keep d up to date with every collect on m, whoever makes it (KVM clears
 * its log on each). At most 4 sets; -ENOSPC beyond. Detach before freeing d.
 */
int stream_dirty_attach(struct stream_dirty *d, struct machine *m);
void stream_dirty_detach(struct stream_dirty *d, struct machine *m);
/* KVM_GET_DIRTY_LOG on every RAM slot, ORed into d and into every attached set. 0 or -errno. */
int stream_dirty_collect(struct stream_dirty *d, const struct machine *m);
/* Forget the accumulated pages (after a point). */
void stream_dirty_clear(struct stream_dirty *d);
/* Mark the page holding gpa (a page the VMM wrote itself: KVM's log does not see those). */
void stream_dirty_mark(struct stream_dirty *d, const struct machine *m, uint64_t gpa);
/* The accumulated pages' gpas in order into gpas (up to max); returns how many there are. */
size_t stream_dirty_pages(const struct stream_dirty *d, const struct machine *m, uint64_t *gpas, size_t max);
/* dst = the pages in a but not in b (all three sized for the same machine). */
void stream_dirty_minus(struct stream_dirty *dst, const struct stream_dirty *a, const struct stream_dirty *b);
/* hash[i] = stream_hash64 of page i of d (i: the page's bit index in the set), for the pages in d. */
void stream_dirty_hash_pages(const struct stream_dirty *d, const struct machine *m, uint64_t *hash);
/*
 * For each page in both d and *touch: clear it from *touch, and drop it from
 * d when its content still hashes to hash[i]: KVM on this host reports a
 * page at its first touch in a new VM even when the guest only read it
 * (docs/host.md). Returns how many pages are left in *touch.
 */
size_t stream_dirty_drop_unchanged(struct stream_dirty *d, struct stream_dirty *touch, const uint64_t *hash,
				   const struct machine *m);
/*
 * The first reports in this VM: each page in d not yet in *ever gets
 * first_at[i] = value and joins *ever. stream_dirty_add_first marks in d
 * every page of *ever whose first_at[i] is value.
 */
void stream_dirty_note_first(const struct stream_dirty *d, struct stream_dirty *ever, uint64_t *first_at,
			     uint64_t value);
void stream_dirty_add_first(struct stream_dirty *d, const struct stream_dirty *ever, const uint64_t *first_at,
			    uint64_t value);
/* Digest of (gpa, content) of every accumulated page in gpa order; *pages = how many. */
uint64_t stream_dirty_digest(const struct stream_dirty *d, const struct machine *m, uint32_t *pages);

/*
 * Zero the XSAVE header's component bitmaps (XSTATE_BV, XCOMP_BV): which
 * components it calls in use depends on how often the VMM entered KVM_RUN
 * (XSAVEOPT leaves init-state ones out; KVM fills their areas with the init
 * values), not on the guest.
 */
void stream_xsave_normalize(struct kvm_xsave *xs);
/*
 * Digest of the vCPU's XSAVE area (KVM_GET_XSAVE), without the header's
 * component bitmaps (raw: with them, as format 1 recordings have it). 0 or -errno.
 */
int stream_xsave_digest(const struct machine *m, uint64_t *digest, bool raw);

/*
 * The point the vCPU is at now (right after an exit: registers from the
 * sync-regs area), its pages since the last point, and clear the set for
 * the next one. p->seq and p->vcpu are the caller's. 0 or -errno.
 */
int stream_point_capture(struct stream_dirty *d, struct machine *m, struct stream_point *p);

/* How close the vCPU is to a recorded point. */
struct stream_point_match {
	int equal_regs;          /* of the 18 words of kvm_regs (RFLAGS.RF ignored) */
	bool compared;           /* all registers equal: xsave and mem were compared */
	bool xsave, mem;         /* their digests equal */
	uint32_t pages;          /* pages written since the previous point */
};
#define STREAM_POINT_REGS 18
/*
 * Compare the vCPU (regs: the sync-regs area at this exit) with want. The
 * digests are only computed when every register matches; the dirty set is
 * then collected (and kept: the caller clears it once the point is
 * reached). raw_xsave: the recording's XSAVE digests are format 1's. 1 full match, 0 not, -errno.
 */
int stream_point_compare(struct stream_dirty *d, struct machine *m, const struct kvm_regs *regs,
			 const struct stream_point *want, bool raw_xsave, struct stream_point_match *out);

#endif
