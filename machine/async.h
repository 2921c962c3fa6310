/* SPDX-License-Identifier: MIT */
/*
 * Asynchronous interrupts: deliver a due interrupt at once by kicking the
 * vCPU out of KVM_RUN, and the state digests that identify the exact point
 * where it landed (docs/async.md).
 *
 * The rule that keeps record and replay in step: at a kick
 * (KVM_EXIT_INTR) the VMM either does nothing at all, or injects an
 * interrupt (an asynchronous event). It never changes
 * request_interrupt_window there: window requests stay at synchronous exits.
 * A guest that cannot take the interrupt at the kick is kicked again
 * MACHINE_ASYNC_RETRY_NS later.
 *
 * KVM_EXIT_IRQ_WINDOW_OPEN is no synchronisation point either: on this
 * host KVM's emulator runs guest CPL0 code in batches and checks the window
 * between them, so the exit's RIP varies from run to run. An injection
 * there is an asynchronous event as well (act->async), and a replay never
 * requests the window.
 *
 * The point is identified by the general registers and RFLAGS, a digest of
 * the XSAVE area, and a digest of the guest pages written since the
 * previous asynchronous event (KVM's dirty log, api.rst 4.8
 * KVM_GET_DIRTY_LOG, which also clears the log).
 */
#ifndef KVMRR_MACHINE_ASYNC_H
#define KVMRR_MACHINE_ASYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "vcpu/guest_mem.h"

struct machine;
struct machine_irq_action;

/* A guest that could not take the interrupt at a kick is kicked again this much later. */
#define MACHINE_ASYNC_RETRY_NS 75000ULL

/*
 * Before an entry that follows a kick: inject the pending interrupt if the
 * guest can take it now (act->async set), else arm a retry kick. Leaves
 * request_interrupt_window alone. 0 or -errno (KVM_INTERRUPT failed; the
 * run's end says why).
 */
int machine_async_inject(struct machine *m, struct machine_irq_action *act, uint64_t now);

/*
 * Arm the kick timer for the next device deadline (and the run's timeout),
 * or MACHINE_ASYNC_RETRY_NS after now (CLOCK_MONOTONIC ns) if retry. Cheap: one timer_settime
 * only when the kick must come earlier than the one armed.
 */
void machine_async_arm(struct machine *m, bool retry, uint64_t now);

/* ---- Digests of the point ---- */

/* 64-bit hash of len bytes (a 4-lane multiply-rotate hash, ~8 bytes per cycle), chained on seed. */
uint64_t machine_hash64(const void *data, size_t len, uint64_t seed);

/* The guest pages written since the log was last cleared, accumulated in one bitmap. */
struct machine_dirty {
	uint64_t *bits;                 /* one bit per 4 KiB page, each region from a word boundary */
	size_t words;
	size_t region_word[GUEST_MEM_MAX_REGIONS];          /* first word of each guest_mem region */
	uint64_t *scratch;              /* KVM_GET_DIRTY_LOG buffer for one slot */
	size_t scratch_words;
};

/* Size the bitmaps for m's RAM (KVM_MEM_LOG_DIRTY_PAGES must be on). 0 or -ENOMEM. */
int machine_dirty_init(struct machine_dirty *d, const struct machine *m);
void machine_dirty_free(struct machine_dirty *d);
/* KVM_GET_DIRTY_LOG on every RAM slot, ORed into d (the kernel's log is cleared). 0 or -errno. */
int machine_dirty_collect(struct machine_dirty *d, const struct machine *m);
/* Forget the accumulated pages (after an event). */
void machine_dirty_clear(struct machine_dirty *d);
/* Digest of (gpa, content) of every accumulated page in gpa order; *pages = how many. */
uint64_t machine_dirty_digest(const struct machine_dirty *d, const struct machine *m, uint32_t *pages);

/* Digest of the vCPU's XSAVE area (KVM_GET_XSAVE). 0 or -errno. */
int machine_xsave_digest(const struct machine *m, uint64_t *digest);

#endif
