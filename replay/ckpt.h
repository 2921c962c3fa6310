/* SPDX-License-Identifier: MIT */
/*
 * Checkpoints taken while replaying, kept in memory, so that a debugger
 * (replay_seek) can go back in bounded time.
 *
 * The store is a chain C0, C1, ... in seq order. C0 is where the replay
 * started (the initial state or a recorded checkpoint): its pages are the
 * recording's (stream_checkpoint_page_at). Each later Cj holds the vCPU
 * state (settled, as a recorded checkpoint's), the asynchronous points'
 * pending pages, and the guest pages written since C(j-1) with their
 * content at Cj. So the content of page p at Ck is that of the latest
 * Cj (j <= k) holding p, else the recording's at C0; and going from any
 * state to Ck only writes the pages written since the checkpoint the state
 * descends from ("cur") and those held by the checkpoints between the two.
 *
 * A checkpoint is taken after a synchronisation point when the next target
 * is one too (never while an asynchronous point is sought) and no event
 * waits to be applied, once interval_ns of replay time have passed. When
 * the pages held exceed the cap, the checkpoint whose removal leaves the
 * smallest gap in recorded time is merged into its successor (never C0
 * nor the newest): the pages it alone held move there, so the chain stays
 * whole and memory stays under the cap, older history getting sparser.
 */
#ifndef KVMRR_REPLAY_CKPT_H
#define KVMRR_REPLAY_CKPT_H

#include <stdint.h>

struct replay;

struct replay_ckpt_stats {
	uint32_t count;            /* checkpoints in the store, C0 included */
	uint64_t bytes;            /* memory they hold */
	uint64_t taken, thinned, restored;
	uint64_t take_ns;          /* time spent taking them */
};

/* C0 at the replay's start point; checkpoints every interval_sec (0: only C0), at most cap bytes. */
int replay_ckpts_init(struct replay *r, double interval_sec, uint64_t cap);
void replay_ckpts_free(struct replay *r);
/* After exit r->last_seq with r->next fetched: note passing a stored checkpoint, or take one if due. */
int replay_ckpts_after_exit(struct replay *r);
/* The latest stored checkpoint with seq < before: its seq, or INT64_MIN if none. */
int64_t replay_ckpts_best(const struct replay *r, int64_t before);
/*
 * Bring the machine and the replay to that checkpoint (seq from
 * replay_ckpts_best): memory, vCPU, pending pages, cursor. The replay is
 * then stopped as at --until (replay_continue goes on). 0 or -errno + r->err.
 */
int replay_ckpts_restore(struct replay *r, int64_t seq);
void replay_ckpts_stats(const struct replay *r, struct replay_ckpt_stats *s);

#endif
