/* SPDX-License-Identifier: MIT */
/*
 * Checkpoints in a recording: the whole state replay needs at an exit, so a
 * replay can start there instead of at the beginning (docs/log-format.md,
 * tables checkpoint and checkpoint_page).
 *
 * A checkpoint at exit seq holds the vCPU state right after that exit was
 * handled, with the operation it asked for completed (an IN's data in RAX,
 * RIP past the instruction: api.rst says KVM finishes it at the next
 * KVM_RUN, which stream_checkpoint_settle does with immediate_exit, so no
 * guest instruction runs), the guest pages written since the previous
 * checkpoint (KVM's dirty log), the pages written since the last
 * asynchronous point (that point's digest needs them), and the recorded
 * ticks up to the exit. What the VMM did after the exit (its events) is
 * not in it: a replay applies them before its next entry, as it would.
 * Each checkpoint carries a digest of its own rows; a changed row is
 * refused, never restored.
 */
#ifndef KVMRR_STREAM_CHECKPOINT_H
#define KVMRR_STREAM_CHECKPOINT_H

#include <stdbool.h>
#include <stdint.h>
#include <sqlite3.h>

#include "common/err.h"
#include "stream/point.h"

struct machine;

/*
 * Finish the operation the last exit asked for without running the guest
 * (KVM_RUN, immediate_exit); a debug exit still pending from the last run
 * at the same RIP is taken on the way. -EPROTO if the guest ran to an exit.
 */
int stream_checkpoint_settle(struct machine *m, struct err *e);

/*
 * Write the checkpoint at seq (after stream_checkpoint_settle): vCPU state,
 * the pages in changed (then cleared), the pages in async (kept), ticks.
 * The caller holds db and its transaction. 0 or -errno + e.
 */
int stream_checkpoint_save(sqlite3 *db, struct machine *m, int64_t seq, uint64_t ticks,
			   struct stream_dirty *changed, const struct stream_dirty *async, struct err *e);

/*
 * The same in two steps, so the recorder's vCPU thread never waits for
 * SQLite: capture copies everything (state, pages, device state, digest)
 * out of the machine and clears changed; write puts it into db (any thread,
 * inside the caller's transaction). 0 or -errno + e.
 */
struct stream_checkpoint_data;
int stream_checkpoint_capture(struct machine *m, int64_t seq, uint64_t ticks, struct stream_dirty *changed,
			      const struct stream_dirty *async, struct stream_checkpoint_data **out, struct err *e);
int stream_checkpoint_write(sqlite3 *db, const struct stream_checkpoint_data *d, struct err *e);
void stream_checkpoint_data_free(struct stream_checkpoint_data *d);

struct stream_checkpoint {
	int64_t seq;               /* -1: none (start from the initial state) */
	uint64_t ticks;
	uint32_t pages;            /* pages in this checkpoint */
};

/*
 * Both see only checkpoints whose exit is in the file: a recording killed
 * with kill -9 may hold a checkpoint taken after an exit whose row was still
 * on its way to the file; the state after that exit is no place to start.
 */
/* The latest checkpoint at or before seq (c->seq = -1 if none, or if the file has none). 0 or -errno. */
int stream_checkpoint_find(sqlite3 *db, int64_t seq, struct stream_checkpoint *c, struct err *e);
/* The checkpoint seqs in order, into *seqs (malloc'd). 0 or -errno. */
int stream_checkpoint_list(sqlite3 *db, int64_t **seqs, uint32_t *n, struct err *e);

/*
 * Bring m (in the recording's initial state) to checkpoint c: every page
 * written up to it, the vCPU state, and async (if not NULL) filled with the
 * pages pending for the next asynchronous point. Verifies each checkpoint's
 * digest on the way. 0 or -errno + e.
 */
int stream_checkpoint_restore(sqlite3 *db, struct machine *m, const struct stream_checkpoint *c,
			      struct stream_dirty *async, struct err *e);

/*
 * Check every checkpoint's rows against its digest, without a machine
 * (kvmrr check); *n: the checkpoints checked. 0 or -errno + e.
 */
int stream_checkpoint_verify_all(sqlite3 *db, uint32_t *n, struct err *e);
/*
 * The content of page gpa at checkpoint seq (-1: the initial state): the
 * latest checkpoint_page at or before seq, else mem_page, else zeros.
 * 0 or -errno + e (a page of the wrong size is a corrupt recording).
 */
int stream_checkpoint_page_at(sqlite3 *db, int64_t seq, uint64_t gpa, void *page, struct err *e);

#endif
