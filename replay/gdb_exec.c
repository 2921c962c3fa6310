/* SPDX-License-Identifier: MIT */
/*
 * Forward execution under gdb: the replay's own hook (replay/verify.c),
 * wrapped. Debug exits are sorted by DR6: B0, or a single step while
 * replay/async.c steps, goes to the replay (asynchronous points); B1-B3,
 * or a single step gdb asked for, is gdb's. A stop ends machine_run with
 * END_UNTIL and x->stopped; the next run clears it. Every stop completes
 * the last exit's operation first (stream_checkpoint_settle), so gdb sees
 * the state a checkpoint or a seek to that exit would hold.
 */
#include "replay/gdb_exec.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "machine/kick.h"
#include "replay/async.h"
#include "replay/gdb_exec_internal.h"
#include "replay/gdb_target.h"

#define DR6_BS (1ULL << 14)
#define POLL_NS 20000000ULL      /* look for gdb's 0x03 this often while running */
#define KICK_NS 50000000ULL      /* and kick the vCPU out this often to look */

void gdb_exec_init(struct gdb_exec *x, struct replay *r, int sock)
{
	memset(x, 0, sizeof(*x));
	x->r = r;
	x->sock = sock;
	x->pos.seq = -1;
	x->need_fetch = true;
}

uint64_t gdb_exec_rip(struct gdb_exec *x)
{
	struct kvm_regs regs;

	return vcpu_get_regs(&x->r->m.vcpu, &regs) == 0 ? regs.rip : 0;
}

static void pause_run(struct gdb_exec *x, enum gdb_stop_kind kind, uint64_t addr)
{
	x->stopped = true;
	x->stop.kind = kind;
	x->stop.addr = addr;
	x->stop.why[0] = 0;
	machine_set_end(&x->r->m, END_UNTIL, "stopped for gdb");
}

/* gdb sends nothing but 0x03 while the target runs; anything else waits for the stop. */
static void poll_interrupt(struct gdb_exec *x)
{
	uint64_t now = clock_now_ns();
	struct pollfd p = { .fd = x->sock, .events = POLLIN };
	uint8_t b;

	if (x->sock < 0 || now - x->last_poll_ns < POLL_NS)
		return;
	x->last_poll_ns = now;
	while (poll(&p, 1, 0) == 1 && (p.revents & POLLIN) && !x->interrupted) {
		if (read(x->sock, &b, 1) != 1) {
			x->interrupted = true;   /* gdb went away: stop, the server sees the close */
			break;
		}
		if (b == 0x03)
			x->interrupted = true;
	}
}

static int hook_before_entry(void *ctx, struct machine *m)
{
	struct gdb_exec *x = ctx;
	const struct machine_hook *in = replay_hook(x->r);
	uint64_t now;
	int rc;

	if (x->interrupted) {
		pause_run(x, GDB_STOP_INTERRUPT, 0);
		return 0;
	}
	rc = in->before_entry(in->ctx, m);
	now = clock_now_ns();
	if (rc == 0 && x->sock >= 0)
		machine_kick_arm_by(m, now + KICK_NS, now);
	return rc;
}

static int on_hit(struct gdb_exec *x, unsigned int bits);

/* A step gdb asked for, the step over a breakpoint a continue started on, or a software watch step. */
static int on_step(struct gdb_exec *x)
{
	uint64_t rip;
	int rc, w;

	if (x->skipping) {
		x->skipping = false;
		if (x->mode != GDB_MODE_STEP && (rc = gdb_exec_arm(x, true, x->sw_watch)) < 0)
			return rc;
	}
	if (x->mode != GDB_MODE_STEP) {
		x->single_steps++;
		w = x->sw_watch ? gdb_exec_watch_changed(x) : -1;
		return w >= 0 ? on_hit(x, 2u << w) : 0;
	}
	rip = gdb_exec_rip(x);
	x->single_steps++;
	if (!x->seq_moved)
		x->pos.steps++;
	if (gdb_exec_at_bp(x, rip)) {
		x->pos.hits++;
		x->pos.steps = 0;
		memcpy(x->pos.bp, x->bp, sizeof(x->bp));
	}
	pause_run(x, GDB_STOP_STEP, 0);
	return 0;
}

static int on_hit(struct gdb_exec *x, unsigned int bits)
{
	int i = bits & 2 ? 0 : bits & 4 ? 1 : 2;
	const struct gdb_bp *b = &x->bp[i];
	enum gdb_stop_kind kind = b->type == GDB_BP_EXEC ? GDB_STOP_BREAK : GDB_STOP_WATCH;

	x->pos.hits++;
	x->pos.steps = 0;
	memcpy(x->pos.bp, x->bp, sizeof(x->bp));
	x->bp_hits++;
	if (x->watch_ok[i])
		x->watch_val[i] = gdb_exec_watch_read(x, i);
	if (x->mode == GDB_MODE_SCAN) {
		x->have_last = true;
		x->last = x->pos;
		x->last_kind = kind;
		x->last_addr = b->addr;
	}
	if (x->mode == GDB_MODE_SCAN || (x->mode == GDB_MODE_COUNT && x->pos.hits < x->want_hits)) {
		if (kind != GDB_STOP_BREAK)
			return 0;   /* a watchpoint traps after the access: nothing to step over */
		x->skipping = true;
		return gdb_exec_arm(x, false, true);
	}
	pause_run(x, kind, b->addr);
	return 0;
}

static int hook_on_exit(void *ctx, struct machine *m, struct vcpu_exit *e, uint64_t t0, uint64_t t1)
{
	struct gdb_exec *x = ctx;
	struct replay *r = x->r;
	const struct machine_hook *in = replay_hook(r);
	int64_t before = r->last_seq;
	bool theirs = true, step = false;
	unsigned int bits = 0;
	int rc = 0;

	if (e->reason == KVM_EXIT_DEBUG) {
		uint64_t dr6 = e->debug.dr6;
		bool bs = dr6 & DR6_BS;

		bits = (unsigned int)(dr6 & 0xe);
		step = bs && r->dbg.step;
		theirs = replay_async_seeking(r) &&
			 ((dr6 & 1) || (bs && (r->dbg.async_control & KVM_GUESTDBG_SINGLESTEP)) || (!bits && !step));
	}
	if (theirs)
		rc = in->on_exit(in->ctx, m, e, t0, t1);
	if (rc < 0)
		return rc;
	if (r->last_seq != before) {
		x->pos = (struct gdb_pos){ .seq = r->last_seq };
		x->pos_inexact = false;
		x->seq_moved = true;
	}
	if (m->end != END_NONE)
		return 0;
	/*
	 * A step that made an exit ends there, its operation completed by the
	 * settle at the stop: not at the next single-step trap, which comes
	 * after one more instruction on some hosts (an OUT's RIP is already
	 * past it when KVM exits).
	 */
	if (x->mode == GDB_MODE_STEP && x->seq_moved && e->reason != KVM_EXIT_DEBUG) {
		x->single_steps++;
		pause_run(x, GDB_STOP_STEP, 0);   /* landing on a breakpoint: counted after the settle */
		return 0;
	}
	if (e->reason == KVM_EXIT_INTR || e->reason == KVM_EXIT_DEBUG)
		poll_interrupt(x);
	if (step)
		rc = on_step(x);
	if (rc == 0 && bits && !x->stopped)
		rc = on_hit(x, bits);
	if (rc == 0 && x->interrupted && !x->stopped)
		pause_run(x, GDB_STOP_INTERRUPT, 0);
	return rc;
}

/* Get the machine ready to run on: 1 ready, 0 the replay is over (st filled), -errno. */
static int prepare(struct gdb_exec *x, int64_t until, struct gdb_stop *st)
{
	struct replay *r = x->r;
	struct machine *m = &r->m;
	int rc;

	if (x->stopped && m->end == END_UNTIL && !r->until_reached) {
		m->end = END_NONE;
		m->end_detail[0] = 0;
	} else if ((m->end == END_UNTIL && r->until_reached) || (x->need_fetch && m->end == END_NONE)) {
		/* As replay_continue: next may be read already (--until stopped before exits the VMM caused). */
		rc = r->next_fetched ? 1 : replay_fetch_next(r);
		if (rc < 0)
			return rc;
		if (rc > 0 && until >= 0 && r->next.exit.seq > until && r->until_reached) {
			r->next_fetched = true;
			st->kind = GDB_STOP_STEP;   /* until is an exit the VMM caused before the next: here already */
			st->why[0] = 0;
			return 0;
		}
		r->next_fetched = false;
		r->until_reached = false;
		m->end = END_NONE;
		m->end_detail[0] = 0;
		x->need_fetch = false;
		if (rc == 0)
			machine_set_end(m, r->complete ? END_LOG_END : END_INCOMPLETE, "end of the recording");
	}
	x->stopped = false;
	if (m->end != END_NONE) {
		gdb_exec_ended(x, st);
		return 0;
	}
	return 1;
}

int gdb_exec_run(struct gdb_exec *x, int mode, int64_t until, struct gdb_stop *st)
{
	static struct machine_hook hook = { .before_entry = hook_before_entry, .on_exit = hook_on_exit };
	struct replay *r = x->r;
	int rc = prepare(x, until, st);

	if (rc <= 0)
		return rc;
	hook.ctx = x;
	r->opt.until = until;
	x->mode = mode;
	x->seq_moved = false;
	x->skipping = mode != GDB_MODE_STEP && gdb_exec_at_bp(x, gdb_exec_rip(x));
	if (mode == GDB_MODE_STEP)
		x->sw_watch = false;
	else
		gdb_exec_watch_load(x);
	rc = gdb_exec_arm(x, mode != GDB_MODE_STEP && !x->skipping,
			  mode == GDB_MODE_STEP || x->skipping || x->sw_watch);
	if (rc < 0)
		return rc;
	replay_async_resume(r);   /* gdb's time stopped is not the seek's */
	rc = machine_run(&r->m, &hook);
	x->interrupted = false;
	r->off_exit = x->stopped;   /* stopped between exits: replay_seek must not go on from here */
	if (rc < 0)
		return rc;
	if (x->stopped) {
		*st = x->stop;
		if (st->kind == GDB_STOP_INTERRUPT)
			x->pos_inexact = true;
		rc = gdb_exec_settle(x);
		if (rc == 0 && mode == GDB_MODE_STEP && x->seq_moved && !x->pos.hits && gdb_exec_at_bp(x, gdb_exec_rip(x))) {
			x->pos.hits = 1;
			memcpy(x->pos.bp, x->bp, sizeof(x->bp));
		}
		return rc;
	}
	if (r->m.end == END_UNTIL && r->until_reached) {
		st->kind = GDB_STOP_STEP;
		st->why[0] = 0;
		return gdb_exec_settle(x);
	}
	gdb_exec_ended(x, st);
	return 0;
}

void gdb_exec_ended(struct gdb_exec *x, struct gdb_stop *st)
{
	struct replay *r = x->r;

	x->ended = true;
	st->kind = GDB_STOP_END;
	if (r->divergences)
		snprintf(st->why, sizeof(st->why), "the replay diverged at exit seq %" PRIu64 ": %s",
			 r->first_div.seq, r->first_div_what);
	else
		snprintf(st->why, sizeof(st->why), "the replay ended after exit seq %" PRId64 ": %s",
			 r->last_seq, r->m.end_detail);
}

int gdb_exec_continue(struct gdb_exec *x, struct gdb_stop *st)
{
	return gdb_exec_run(x, GDB_MODE_CONT, -1, st);
}

int gdb_exec_step(struct gdb_exec *x, struct gdb_stop *st)
{
	return gdb_exec_run(x, GDB_MODE_STEP, -1, st);
}

void gdb_exec_where(const struct gdb_exec *x, char *buf, size_t len)
{
	snprintf(buf, len, "seq %" PRId64 " (+%" PRIu64 " hits, +%" PRIu64 " steps)%s", x->pos.seq, x->pos.hits,
		 x->pos.steps, x->pos_inexact ? " (an interrupted continue: steps not counted)" : "");
}
