/* SPDX-License-Identifier: MIT */
#include "replay/async.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "machine/kick.h"
#include "replay/replay.h"
#include "stream/format.h"
#include "stream/point.h"

#define NREGS STREAM_POINT_REGS

struct replay_async {
	struct stream_point want;
	int vector;
	bool seeking, stepping, armed_kick;
	struct stream_dirty dirty;
	/* After a stored checkpoint's restore: pages the new VM may report at a mere first touch */
	struct stream_dirty touch;
	uint64_t *touch_hash;          /* their content's hash as restored, by bit index */
	size_t touch_left;
	/*
	 * The point each page was first reported for in this VM: after going
	 * back in it (rewound), a first touch already spent is not reported
	 * again, so that point gets the page from here.
	 */
	struct stream_dirty ever;
	uint64_t *first_at;            /* point seq + 1, by bit index */
	bool rewound;
	uint64_t start_ns, deadline_ns, budget_ns, rec_ns;
	uint64_t hits, steps;              /* this seek */
	/* the nearest state seen: score = 4 * equal registers + 2 * xsave + mem */
	int best_score;
	struct kvm_regs best;
	bool best_xsave, best_mem, best_ready;
	uint32_t best_pages;
	/* all seeks, for the report */
	uint64_t reached, total_hits, total_steps, total_ns;
	char what[400];
};

bool replay_async_in_recording(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	bool yes = false;

	if (sqlite3_prepare_v2(db, "SELECT 1 FROM async_point LIMIT 1", -1, &st, NULL) == SQLITE_OK)
		yes = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return yes;
}

bool replay_async_seeking(const struct replay *r)
{
	return r->async && r->async->seeking;
}

static int guest_debug(struct replay *r, uint32_t control, uint64_t rip)
{
	r->dbg.async_control = control;
	r->dbg.async_rip = rip;
	return replay_debug_apply(r);
}

/* Recorded time (ns) from the last matched exit to the point. */
static uint64_t recorded_ns(const struct replay *r)
{
	return (uint64_t)clock_ticks_to_ns((double)(r->next.ticks - r->last_ticks), r->tsc_khz);
}

static int async_alloc(struct replay *r)
{
	struct replay_async *a = calloc(1, sizeof(*a));

	if (!a || stream_dirty_init(&a->dirty, &r->m) < 0 || stream_dirty_init(&a->ever, &r->m) < 0 ||
	    !(a->first_at = calloc(a->ever.words * 64, sizeof(uint64_t)))) {
		if (a) {
			stream_dirty_free(&a->dirty);
			stream_dirty_free(&a->ever);
		}
		free(a);
		return err_set(&r->err, -ENOMEM, "asynchronous replay: out of memory");
	}
	/* Whoever collects the dirty log (page digests, probes) feeds this set too. */
	stream_dirty_attach(&a->dirty, &r->m);
	r->async = a;
	return 0;
}

struct stream_dirty *replay_async_dirty(struct replay *r)
{
	if (!r->async && async_alloc(r) < 0)
		return NULL;
	return &r->async->dirty;
}

int replay_async_begin(struct replay *r)
{
	struct replay_async *a;
	int rc;

	if (!r->async && (rc = async_alloc(r)) < 0)
		return rc;
	a = r->async;
	a->want = r->next.point;
	a->vector = -1;
	for (unsigned int i = 0; i < r->next.nevents; i++)
		if (r->next.events[i].kind == STREAM_ASYNC_IRQ)
			a->vector = (int)r->next.events[i].event.value;
	a->seeking = true;
	a->stepping = false;
	a->armed_kick = false;
	a->hits = a->steps = 0;
	a->best_score = -1;
	a->rec_ns = recorded_ns(r);
	a->budget_ns = REPLAY_ASYNC_FLOOR_NS + REPLAY_ASYNC_FACTOR * a->rec_ns;
	a->start_ns = clock_now_ns();
	a->deadline_ns = a->start_ns + a->budget_ns;
	return guest_debug(r, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP, a->want.regs.rip);
}

int replay_async_before_entry(struct replay *r)
{
	struct replay_async *a = r->async;

	/* The budget must end even if the breakpoint never fires: a kick at its deadline. */
	if (!a->armed_kick) {
		uint64_t at = r->m.deadline_ns && r->m.deadline_ns < a->deadline_ns ? r->m.deadline_ns :
			      a->deadline_ns;

		machine_kick_arm(&r->m, at);
		a->armed_kick = true;
	}
	return 0;
}

static void end_seek(struct replay *r)
{
	struct replay_async *a = r->async;

	a->seeking = false;
	a->total_hits += a->hits;
	a->total_steps += a->steps;
	a->total_ns += clock_now_ns() - a->start_ns;
	guest_debug(r, 0, 0);
	machine_kick_arm(&r->m, r->m.deadline_ns);
}

void replay_async_resume(struct replay *r)
{
	struct replay_async *a = r->async;

	if (!replay_async_seeking(r))
		return;
	a->start_ns = clock_now_ns();
	a->deadline_ns = a->start_ns + a->budget_ns;
	a->armed_kick = false;
}

void replay_async_rewound(struct replay *r)
{
	if (r->async)
		r->async->rewound = true;
}

void replay_async_abort(struct replay *r)
{
	if (replay_async_seeking(r)) {
		r->async->stepping = false;
		end_seek(r);
	}
}

/* Compare the state at the point's RIP; 1 full match (and the guest can take the interrupt). */
static int compare_here(struct replay *r, const struct kvm_regs *regs)
{
	struct replay_async *a = r->async;
	struct kvm_run *run = r->m.vcpu.run;
	struct stream_point_match got;
	int rc = 0, score;

	if (a->touch_left) {   /* first touches of restored pages that were only read are no writes */
		rc = stream_dirty_collect(&a->dirty, &r->m);
		if (rc == 0)
			a->touch_left = stream_dirty_drop_unchanged(&a->dirty, &a->touch, a->touch_hash, &r->m);
	}
	if (rc == 0 && a->rewound)
		stream_dirty_add_first(&a->dirty, &a->ever, a->first_at, (uint64_t)r->next.exit.seq + 1);
	if (rc == 0)
		rc = stream_point_compare(&a->dirty, &r->m, regs, &a->want, r->format_version < 2, &got);
	if (rc < 0)
		return rc;
	score = 4 * got.equal_regs + 2 * got.xsave + got.mem;
	if (score > a->best_score) {
		a->best_score = score;
		a->best = *regs;
		a->best_xsave = got.xsave;
		a->best_mem = got.mem;
		a->best_pages = got.pages;
		a->best_ready = run->ready_for_interrupt_injection && run->if_flag;
	}
	return rc == 1 && run->ready_for_interrupt_injection && run->if_flag;
}

/* The point is reached: the injection is the item's async_irq event, re-applied before the next entry. */
static int reached(struct replay *r)
{
	struct replay_async *a = r->async;

	end_seek(r);
	a->reached++;
	stream_dirty_note_first(&a->dirty, &a->ever, a->first_at, (uint64_t)r->next.exit.seq + 1);
	stream_dirty_clear(&a->dirty);
	return REPLAY_ASYNC_REACHED;
}

static int diverge(struct replay *r, const char *why)
{
	struct replay_async *a = r->async;
	uint64_t spent = clock_now_ns() - a->start_ns;
	struct replay_seen seen = { .seq = (uint64_t)r->next.exit.seq, .have_rec = true, .rec = r->next.exit };

	snprintf(a->what, sizeof(a->what), "asynchronous point (irq 0x%x at rip 0x%llx, CPL %u) not reached: "
		 "%s after %" PRIu64 " breakpoint hits, %" PRIu64 " steps, %.1f ms (budget %.1f ms)%s",
		 a->vector, a->want.regs.rip, a->want.cpl, why, a->hits, a->steps, spent / 1e6,
		 a->budget_ns / 1e6, a->hits == 0 && a->want.cpl == 3 ?
		 "; no hit at CPL3: this host's KVM may give no breakpoints there (docs/async.md)" : "");
	end_seek(r);
	replay_diverge(r, &seen, a->what, true);
	return REPLAY_ASYNC_DIVERGED;
}

static bool over_budget(struct replay_async *a)
{
	return a->hits + a->steps >= REPLAY_ASYNC_MAX_HITS || clock_now_ns() >= a->deadline_ns;
}

int replay_async_on_exit(struct replay *r, const struct vcpu_exit *e)
{
	struct replay_async *a = r->async;
	const struct kvm_regs *regs = &vcpu_sync_regs_read(&r->m.vcpu)->regs;
	int rc;

	if (e->reason == KVM_EXIT_INTR)
		return over_budget(a) ? diverge(r, "time budget spent") : REPLAY_ASYNC_CONTINUE;
	if (e->reason != KVM_EXIT_DEBUG)
		return REPLAY_ASYNC_NOT_OURS;
	if (a->stepping) {
		a->steps++;
		a->stepping = false;
		if (regs->rip != a->want.regs.rip) {
			rc = guest_debug(r, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP, a->want.regs.rip);
			return rc < 0 ? rc : REPLAY_ASYNC_CONTINUE;
		}
	} else {
		a->hits++;
	}
	rc = compare_here(r, regs);
	if (rc < 0)
		return err_set(&r->err, rc, "comparing the asynchronous point of seq %" PRId64 ": %s",
			       a->want.seq, strerror(-rc));
	if (rc == 1)
		return reached(r);
	if (over_budget(a))
		return diverge(r, a->hits + a->steps >= REPLAY_ASYNC_MAX_HITS ? "hit budget spent" :
			       "time budget spent");
	/* Step over with the breakpoint disarmed: RF does not stop a re-hit here. */
	a->stepping = true;
	rc = guest_debug(r, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP, 0);
	return rc < 0 ? rc : REPLAY_ASYNC_CONTINUE;
}

const char *replay_async_early_exit(struct replay *r)
{
	struct replay_async *a = r->async;

	snprintf(a->what, sizeof(a->what), "exit before the asynchronous point (irq 0x%x at rip 0x%llx) "
		 "was reached, after %" PRIu64 " breakpoint hits", a->vector, a->want.regs.rip, a->hits);
	end_seek(r);
	return a->what;
}

static const char *const reg_names[NREGS] = {
	"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip", "rflags",
};

void replay_async_report(struct replay *r, FILE *out)
{
	struct replay_async *a = r->async;

	if (!a)
		return;
	if (r->first_div_async) {
		const uint64_t *w = (const uint64_t *)&a->want.regs, *b = (const uint64_t *)&a->best;

		fprintf(out, "asynchronous point of seq %" PRId64 ": irq 0x%x, CPL %u, %u pages written since "
			"the previous point\n", a->want.seq, a->vector, a->want.cpl, a->want.dirty_pages);
		if (a->best_score < 0) {
			fprintf(out, "  no state seen at its rip\n");
		} else {
			fprintf(out, "  %-7s %-18s %-18s\n", "", "recorded", "nearest seen");
			for (int i = 0; i < NREGS; i++)
				fprintf(out, "  %-7s %016" PRIx64 "   %016" PRIx64 "%s\n", reg_names[i], w[i], b[i],
					w[i] == b[i] ? "" : "  <-");
			fprintf(out, "  xsave   %s\n  pages   %s (%u written)\n  ready   %s\n",
				a->best_score >= 4 * NREGS ? (a->best_xsave ? "equal" : "differs") : "not compared",
				a->best_score >= 4 * NREGS ? (a->best_mem ? "equal" : "differ") : "not compared",
				a->best_pages, a->best_ready ? "yes" : "no (interrupts off or shadowed)");
		}
	}
	fprintf(out, "asynchronous events: %" PRIu64 " reached, %" PRIu64 " breakpoint hits (%.1f per event), "
		"%" PRIu64 " steps, %.1f ms seeking (%.3f ms per event)\n", a->reached, a->total_hits,
		a->reached ? (double)a->total_hits / (double)a->reached : 0.0, a->total_steps, a->total_ns / 1e6,
		a->reached ? a->total_ns / 1e6 / (double)a->reached : 0.0);
}

int replay_async_after_restore(struct replay *r, const struct stream_dirty *restored)
{
	struct replay_async *a = r->async;

	if (!a || !restored)
		return 0;
	if (!a->touch_hash) {
		if (stream_dirty_init(&a->touch, &r->m) < 0 ||
		    !(a->touch_hash = calloc(a->touch.words * 64, sizeof(uint64_t)))) {
			stream_dirty_free(&a->touch);
			return err_set(&r->err, -ENOMEM, "asynchronous replay: out of memory");
		}
	}
	/* The pages pending for the next point at the checkpoint are in the set already: no candidates. */
	stream_dirty_minus(&a->touch, restored, &a->dirty);
	stream_dirty_hash_pages(&a->touch, &r->m, a->touch_hash);
	a->touch_left = stream_dirty_pages(&a->touch, &r->m, NULL, 0);
	return 0;
}

void replay_async_close(struct replay *r)
{
	if (!r->async)
		return;
	if (r->async->touch_hash)
		stream_dirty_free(&r->async->touch);
	free(r->async->touch_hash);
	free(r->async->first_at);
	stream_dirty_free(&r->async->ever);
	stream_dirty_detach(&r->async->dirty, &r->m);
	stream_dirty_free(&r->async->dirty);
	free(r->async);
	r->async = NULL;
}
