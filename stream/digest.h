/* SPDX-License-Identifier: MIT */
/*
 * The final memory digest of format version 2: a digest per 4 KiB page of
 * guest RAM, combined into one (a two-level Merkle hash):
 *
 *   final_mem_digest = SHA-256("kvmrr-mem-v2" || le64(RAM bytes) ||
 *                              for each page, in gpa order, whose bytes are not all zero:
 *                                  le64(gpa) || le64(stream_hash64(page, 4096, 0)))
 *
 * The page hash is the 64-bit one of the asynchronous points (stream/point.h,
 * ~8 bytes a cycle): a guest that writes 64 MiB costs ~5 ms at the end,
 * where a SHA-256 per page cost ~45 ms here. It detects a divergence (a
 * differing page goes unseen with probability 2^-64); it is no
 * cryptographic commitment to the memory. (A page that is not zero but
 * hashes like the zero page would be left out, with the same probability.)
 *
 * The page digests are computed at load (the pages /proc/self/pagemap says
 * were ever populated; the others are zero without being touched) and, at
 * the end, again only for the pages written since: KVM's dirty log
 * (KVM_MEM_LOG_DIRTY_PAGES must be on for RAM) accumulated in m->written by
 * every stream_dirty_collect. What the VMM itself writes after the load
 * (an exception frame it delivers, machine/exception.c) reaches every
 * attached set through m->vmm_wrote; replay's checkpoint restore marks its
 * pages itself.
 * So record and replay pay for the pages the guest touched, not for all RAM.
 * Format version 1's digest is stream_mem_digest (stream/snapshot.h).
 */
#ifndef KVMRR_STREAM_DIGEST_H
#define KVMRR_STREAM_DIGEST_H

#include <stdint.h>

#include "stream/point.h"
#include "machine/machine.h"

struct stream_mem_pages {
	struct stream_dirty written;                    /* pages written since the load */
	uint8_t *digest[GUEST_MEM_MAX_REGIONS];          /* 8 bytes (le64) per page of each region */
	uint64_t *nonzero[GUEST_MEM_MAX_REGIONS];        /* page holds data: its digest is set */
	uint64_t hashed;                                 /* pages hashed, load and end */
	struct machine *m;                               /* whose m->written points here */
};

/* At load: digest every populated page of m's RAM and start tracking m->written. 0 or -errno. */
int stream_mem_pages_load(struct stream_mem_pages *p, struct machine *m);
/*
 * At the end: collect the dirty log, re-digest the pages written since the
 * load, combine. digest (32 bytes) and hex (65, may be NULL). 0 or -errno
 * (KVM_GET_DIRTY_LOG failed).
 */
int stream_mem_pages_final(struct stream_mem_pages *p, struct machine *m, uint8_t digest[32],
			   char hex[65]);
/* Stop tracking (m->written = NULL) and free. p may be zeroed memory. */
void stream_mem_pages_free(struct stream_mem_pages *p);

#endif
