/* SPDX-License-Identifier: MIT */
/*
 * Going back (gdb's bs and bc, monitor seek): every past state is named by
 * a position (replay/gdb_exec.h) and reached forwards from replay_seek.
 * reverse-continue scans from the latest checkpoint before the current
 * exit up to it, remembering the last breakpoint or watchpoint hit, then
 * goes to that hit; with none it scans from the checkpoint before, and so
 * on down to the initial state ("No more reverse-execution history").
 * reverse-stepi goes to (seq, hits, steps - 1); at steps 0 it finds the
 * instruction before by stepping from the previous hit or exit.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "replay/ckpt.h"
#include "replay/gdb_exec_internal.h"
#include "stream/checkpoint.h"

#define MAX_STEPS 5000000ULL      /* single steps to find the instruction before a hit or an exit */

/* The state right after exit seq, completed; seq -1: the initial state (the recording reopened). */
static int seek(struct gdb_exec *x, int64_t seq)
{
	struct replay *r = x->r;
	struct replay_options o = r->opt;
	struct kvm_regs regs;
	int rc;

	x->seeks++;
	x->ended = false;
	x->stopped = false;
	if (seq < 0 && r->ckpts && replay_ckpts_best(r, 0) == -1) {
		rc = replay_ckpts_restore(r, -1);   /* the replay's first checkpoint: the initial state */
		x->need_fetch = false;
	} else if (seq < 0) {
		o.until = -1;
		o.from = -1;
		replay_close(r);
		rc = replay_open(r, &o);
		x->need_fetch = true;
	} else if (r->ckpts && replay_ckpts_best(r, seq + 1) == seq) {
		rc = replay_ckpts_restore(r, seq);   /* a checkpoint in memory right there: no replay to it */
		x->need_fetch = false;
	} else {
		rc = replay_seek(r, seq);
		x->need_fetch = false;
		if (rc == 0)
			rc = gdb_exec_settle(x);
	}
	if (rc < 0)
		return rc;
	if (r->m.end == END_DIVERGED)
		return err_set(&r->err, -EPROTO, "going back to exit %" PRId64 ": the replay diverged at exit %" PRIu64
			       ": %s", seq, r->first_div.seq, r->first_div_what);
	x->pos = (struct gdb_pos){ .seq = seq < 0 ? -1 : r->last_seq };
	x->pos_inexact = false;
	/* Right on a breakpoint: the stop a continue would make there (replay/gdb_exec.h). */
	if (vcpu_get_regs(&r->m.vcpu, &regs) == 0 && gdb_exec_at_bp(x, regs.rip)) {
		x->pos.hits = 1;
		memcpy(x->pos.bp, x->bp, sizeof(x->bp));
	}
	return 0;
}

static int not_reproduced(struct gdb_exec *x, const struct gdb_pos *p)
{
	return err_set(&x->r->err, -EPROTO, "going back to seq %" PRId64 " +%" PRIu64 " hits +%" PRIu64
		       " steps reached seq %" PRId64 " +%" PRIu64 " hits +%" PRIu64 " steps instead",
		       p->seq, p->hits, p->steps, x->pos.seq, x->pos.hits, x->pos.steps);
}

/* Go to p, with the breakpoints its hits were counted with. */
static int goto_pos(struct gdb_exec *x, const struct gdb_pos *p, struct gdb_stop *st)
{
	struct gdb_bp now[GDB_EXEC_NBP];
	int rc;

	memcpy(now, x->bp, sizeof(now));
	if (p->hits)
		memcpy(x->bp, p->bp, sizeof(now));
	rc = seek(x, p->seq);
	st->kind = GDB_STOP_STEP;
	st->why[0] = 0;
	if (rc == 0 && p->hits > x->pos.hits) {
		x->want_hits = p->hits;
		rc = gdb_exec_run(x, GDB_MODE_COUNT, -1, st);
	}
	for (uint64_t i = 0; rc == 0 && i < p->steps; i++)
		rc = gdb_exec_run(x, GDB_MODE_STEP, -1, st);
	memcpy(x->bp, now, sizeof(now));
	if (rc == 0 && (x->pos.seq != p->seq || x->pos.hits != p->hits || x->pos.steps != p->steps))
		rc = not_reproduced(x, p);
	return rc;
}

int gdb_exec_goto_seq(struct gdb_exec *x, int64_t seq, struct gdb_stop *st)
{
	int rc = seek(x, seq);

	st->kind = GDB_STOP_STEP;
	st->why[0] = 0;
	return rc;
}

/* After an interrupted continue: count the steps from the last hit to here (registers equal). */
static int resolve_steps(struct gdb_exec *x, struct gdb_stop *st)
{
	struct gdb_pos p = x->pos;
	struct kvm_regs want, now;
	int rc = vcpu_get_regs(&x->r->m.vcpu, &want);

	p.steps = 0;
	if (rc == 0)
		rc = goto_pos(x, &p, st);
	for (uint64_t i = 0; rc == 0; i++) {
		if ((rc = vcpu_get_regs(&x->r->m.vcpu, &now)) < 0 || memcmp(&now, &want, sizeof(now)) == 0)
			break;
		if (i == MAX_STEPS || x->pos.seq != p.seq || x->pos.hits != p.hits)
			return err_set(&x->r->err, -ERANGE, "cannot find the interrupted state again within %llu "
				       "steps of seq %" PRId64, MAX_STEPS, p.seq);
		rc = gdb_exec_run(x, GDB_MODE_STEP, -1, st);
		if (rc == 0 && st->kind != GDB_STOP_STEP)
			return err_set(&x->r->err, -EPROTO, "the replay stopped while finding the interrupted state");
	}
	return rc;
}

/* From the current position, step until done(x) holds: the position before that step. */
static int step_until(struct gdb_exec *x, int64_t seq, uint64_t hits, struct gdb_pos *before, struct gdb_stop *st)
{
	for (uint64_t i = 0; i < MAX_STEPS; i++) {
		int rc;

		*before = x->pos;
		rc = gdb_exec_run(x, GDB_MODE_STEP, seq, st);   /* stop right after exit seq, even the last */
		if (rc < 0)
			return rc;
		if (st->kind != GDB_STOP_STEP)
			return err_set(&x->r->err, -EPROTO, "the replay stopped (%s) while looking for the instruction "
				       "before seq %" PRId64, st->why, seq);
		if (x->pos.seq > seq || (x->pos.seq == seq && x->pos.hits >= hits))
			return 0;
	}
	return err_set(&x->r->err, -ERANGE, "more than %llu instructions before seq %" PRId64, MAX_STEPS, seq);
}

int gdb_exec_reverse_step(struct gdb_exec *x, struct gdb_stop *st)
{
	struct gdb_pos p, target;
	int rc = x->pos_inexact ? resolve_steps(x, st) : 0;

	p = x->pos;
	if (rc < 0)
		return rc;
	if (p.steps > 0) {
		target = p;
		target.steps--;
		return goto_pos(x, &target, st);
	}
	if (p.seq < 0 && p.hits == 0) {
		st->kind = GDB_STOP_BEGIN;
		return 0;
	}
	target = p;
	target.hits = p.hits - 1;
	rc = p.hits > 0 ? goto_pos(x, &target, st) : seek(x, p.seq - 1);
	if (rc == 0 && p.hits > 0) {
		struct gdb_bp now[GDB_EXEC_NBP];

		memcpy(now, x->bp, sizeof(now));
		memcpy(x->bp, p.bp, sizeof(now));   /* the landing on hit p.hits is with p's breakpoints */
		rc = step_until(x, p.seq, p.hits, &target, st);
		memcpy(x->bp, now, sizeof(now));
		memcpy(target.bp, p.bp, sizeof(now));
	} else if (rc == 0) {
		rc = step_until(x, p.seq, p.hits, &target, st);
	}
	if (rc == 0)
		rc = goto_pos(x, &target, st);
	return rc;
}

/* Scan [seek(from), right after exit to] for the last hit. 1 found (x->last), 0 none, -errno. */
static int scan(struct gdb_exec *x, int64_t from, int64_t to, struct gdb_stop *st)
{
	int rc = seek(x, from);

	x->have_last = false;
	if (rc == 0 && x->pos.hits) {
		x->have_last = true;
		x->last = x->pos;
		x->last_kind = GDB_STOP_BREAK;
	}
	if (rc == 0 && to >= 0 && from < to)
		rc = gdb_exec_run(x, GDB_MODE_SCAN, to, st);
	if (rc == 0 && st->kind == GDB_STOP_INTERRUPT)
		return 2;
	return rc < 0 ? rc : x->have_last;
}

/* The latest checkpoint (recorded or in memory) strictly before seq, -1 if none. */
static int64_t checkpoint_before(struct gdb_exec *x, int64_t seq)
{
	int64_t *seqs = NULL, best = -1;
	uint32_t n = 0;

	if (stream_checkpoint_list(x->r->db, &seqs, &n, &x->r->err) < 0)
		return -1;
	for (uint32_t i = 0; i < n; i++)
		if (seqs[i] < seq && seqs[i] > best)
			best = seqs[i];
	free(seqs);
	if (x->r->ckpts && replay_ckpts_best(x->r, seq) > best)   /* those the replay took in memory */
		best = replay_ckpts_best(x->r, seq);
	return best;
}

int gdb_exec_reverse_continue(struct gdb_exec *x, struct gdb_stop *st)
{
	struct gdb_pos p = x->pos;
	int64_t end = p.seq, from;
	int rc;

	p.steps = 0;
	if (p.hits >= 2 && !x->pos.steps && !x->pos_inexact)
		p.hits--;
	if (p.hits >= 1 && (p.hits != x->pos.hits || x->pos.steps || x->pos_inexact)) {
		rc = goto_pos(x, &p, st);
		if (st->kind == GDB_STOP_STEP)
			st->kind = GDB_STOP_BREAK;   /* there at once: a breakpoint right after an exit */
		return rc;
	}
	for (;;) {
		from = end < 0 ? -1 : checkpoint_before(x, end);
		rc = scan(x, from, end, st);
		if (rc < 0 || rc == 2)
			return rc < 0 ? rc : 0;
		if (rc == 1) {
			struct gdb_pos hit = x->last;
			enum gdb_stop_kind kind = x->last_kind;
			uint64_t addr = x->last_addr;

			rc = goto_pos(x, &hit, st);
			st->kind = kind;
			st->addr = addr;
			return rc;
		}
		if (from < 0) {
			rc = seek(x, -1);
			st->kind = GDB_STOP_BEGIN;
			return rc;
		}
		end = from;
	}
}
