/* SPDX-License-Identifier: MIT */
/*
 * Replaying asynchronous injections without a PMU (docs/async.md). The
 * next synchronisation point is a KVM_EXIT_INTR row with an async_irq
 * event: arm a hardware breakpoint at its RIP (KVM_SET_GUEST_DEBUG,
 * api.rst 4.59); at each hit compare the general registers and RFLAGS (from
 * the sync-regs area), then the XSAVE digest, then the digest of the pages
 * written since the previous point; inject only on a full match. Otherwise
 * step over the instruction with the breakpoint disarmed (a re-armed
 * breakpoint fires again at the same RIP on this host even with RF set) and
 * re-arm. A step that lands on the point's RIP again (a REP string
 * instruction interrupted mid-way) is compared at once.
 *
 * Bounded: after REPLAY_ASYNC_MAX_HITS hits and steps, or 2 s + 100x the
 * recorded time from the previous synchronisation point, the replay stops
 * with a divergence that shows the point and the nearest state seen. A real
 * exit before the point is a divergence too. Breakpoint and step exits are
 * ours: never compared against the log.
 */
#ifndef KVMRR_REPLAY_ASYNC_H
#define KVMRR_REPLAY_ASYNC_H

#include <stdbool.h>
#include <stdio.h>
#include <sqlite3.h>
#include <stdint.h>

#include "vcpu/exit.h"

#define REPLAY_ASYNC_MAX_HITS 2000000ULL
#define REPLAY_ASYNC_FLOOR_NS 2000000000ULL
#define REPLAY_ASYNC_FACTOR 100

struct replay;

/* Whether the recording holds asynchronous points (the replay then needs the dirty log). */
bool replay_async_in_recording(sqlite3 *db);

/* r->next is an asynchronous point (STREAM_SYNC_ASYNC): start seeking it. 0 or -errno + r->err. */
int replay_async_begin(struct replay *r);
bool replay_async_seeking(const struct replay *r);
/* The pages written since the last asynchronous point (allocated on first use); NULL on ENOMEM. */
struct stream_dirty *replay_async_dirty(struct replay *r);
/* Before an entry while seeking: the breakpoint and the budget's kick. 0 or -errno. */
int replay_async_before_entry(struct replay *r);

enum replay_async_outcome {
	REPLAY_ASYNC_NOT_OURS = 0,   /* a real exit: the caller reports it (replay_async_early_exit) */
	REPLAY_ASYNC_CONTINUE,       /* a breakpoint, a step or a kick: run on */
	REPLAY_ASYNC_REACHED,        /* matched and injected: the caller moves past r->next */
	REPLAY_ASYNC_DIVERGED,       /* budget spent: divergence filled in, run ended */
};
/* On an exit while seeking: an outcome, or -errno with r->err. */
int replay_async_on_exit(struct replay *r, const struct vcpu_exit *e);
/* The divergence text for a real exit that came before the point; ends the seek. */
const char *replay_async_early_exit(struct replay *r);

/* The point and the nearest state seen (after a divergence), and the seek statistics. */
void replay_async_report(struct replay *r, FILE *out);
/*
 * A stored checkpoint was restored into this new VM: restored holds the
 * pages written from the recording (m->written). On this host KVM reports
 * such a page again at its first touch even when the guest only reads it,
 * which the recorder's VM did before the checkpoint: at each comparison a
 * first report of one whose content is still as restored is dropped from
 * the pages written since the last point. 0 or -ENOMEM.
 */
int replay_async_after_restore(struct replay *r, const struct stream_dirty *restored);
/* The machine went back to a checkpoint in memory, in the same VM (replay/ckpt.c). */
void replay_async_rewound(struct replay *r);
/* The replay goes on after a stop: the seek's time budget starts again. */
void replay_async_resume(struct replay *r);
/* Stop seeking the current point (a checkpoint is being restored). */
void replay_async_abort(struct replay *r);
void replay_async_close(struct replay *r);

#endif
