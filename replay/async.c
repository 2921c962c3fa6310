/* SPDX-License-Identifier: MIT */
#include "replay/async.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "machine/async.h"
#include "machine/kick.h"
#include "replay/replay.h"
#include "tracer/async.h"
#include "tracer/format.h"

#define DR7_L0 0x1ULL            /* DR0 enabled, R/W0 = 00 (execute), LEN0 = 00 */
#define RFLAGS_RF 0x10000ULL     /* resume flag: not part of the point */
#define NREGS 18

struct replay_async {
	struct tracer_async_point want;
	bool seeking, stepping, armed_kick;
	struct machine_dirty dirty;
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
	struct kvm_guest_debug dbg;
	int rc;

	memset(&dbg, 0, sizeof(dbg));
	dbg.control = control;
	if (control & KVM_GUESTDBG_USE_HW_BP) {
		dbg.arch.debugreg[0] = rip;
		dbg.arch.debugreg[7] = DR7_L0;
	}
	rc = vcpu_set_guest_debug(&r->m.vcpu, &dbg);
	if (rc < 0)
		snprintf(r->err, sizeof(r->err), "KVM_SET_GUEST_DEBUG control 0x%x rip 0x%" PRIx64 ": %s",
			 control, rip, strerror(-rc));
	return rc;
}

/* Recorded time (ns) from the last matched exit to the point. */
static uint64_t recorded_ns(struct replay *r, uint64_t seq)
{
	sqlite3_stmt *st = NULL;
	double ticks = 0;
	char khz[32];

	if (tracer_meta_get(r->db, "tsc_khz", khz, sizeof(khz)) < 0 || atof(khz) <= 0)
		return 0;
	if (sqlite3_prepare_v2(r->db, "SELECT total(vmm_ticks + guest_ticks) FROM exit WHERE seq > ? "
			       "AND seq <= ?", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, r->last_seq);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
		if (sqlite3_step(st) == SQLITE_ROW)
			ticks = sqlite3_column_double(st, 0);
	}
	sqlite3_finalize(st);
	return (uint64_t)(ticks * 1e6 / atof(khz));
}

static int async_alloc(struct replay *r)
{
	struct replay_async *a = calloc(1, sizeof(*a));

	if (!a || machine_dirty_init(&a->dirty, &r->m) < 0) {
		free(a);
		snprintf(r->err, sizeof(r->err), "asynchronous replay: out of memory");
		return -ENOMEM;
	}
	r->async = a;
	return 0;
}

/* The vector of the async_irq event after seq: 1, 0 none, -errno. */
static int async_event_at(struct replay *r, uint64_t seq, int *vector)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(r->db, "SELECT value FROM event WHERE seq = ? AND kind = ?", -1, &st, NULL);

	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
		sqlite3_bind_int(st, 2, TRACER_EVENT_ASYNC_IRQ);
		rc = sqlite3_step(st);
	}
	if (rc == SQLITE_ROW)
		*vector = sqlite3_column_int(st, 0);
	else if (rc != SQLITE_DONE)
		snprintf(r->err, sizeof(r->err), "reading the events of seq %" PRIu64 ": %s", seq,
			 sqlite3_errmsg(r->db));
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -EIO;
}

int replay_async_begin(struct replay *r)
{
	struct replay_async *a;
	int vector = 0;
	int rc = async_event_at(r, r->next.seq, &vector);

	if (rc <= 0)
		return rc;
	if (!r->async && (rc = async_alloc(r)) < 0)
		return rc;
	a = r->async;
	rc = tracer_async_point_load(r->db, r->next.seq, &a->want, r->err, sizeof(r->err));
	if (rc == 0) {
		snprintf(r->err, sizeof(r->err), "exit seq %" PRIu64 ": async_irq event without its "
			 "async_point row (a recording cut short?)", r->next.seq);
		rc = -ENODATA;
	}
	if (rc < 0)
		return rc;
	a->want.vector = vector;
	a->seeking = true;
	a->stepping = false;
	a->armed_kick = false;
	a->hits = a->steps = 0;
	a->best_score = -1;
	a->rec_ns = recorded_ns(r, r->next.seq);
	a->budget_ns = REPLAY_ASYNC_FLOOR_NS + REPLAY_ASYNC_FACTOR * a->rec_ns;
	a->start_ns = machine_now_ns();
	a->deadline_ns = a->start_ns + a->budget_ns;
	rc = guest_debug(r, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP, a->want.regs.rip);
	return rc < 0 ? rc : 1;
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
	a->total_ns += machine_now_ns() - a->start_ns;
	guest_debug(r, 0, 0);
	machine_kick_arm(&r->m, r->m.deadline_ns);
}

static int equal_regs(const struct kvm_regs *x, const struct kvm_regs *y)
{
	const uint64_t *a = (const uint64_t *)x, *b = (const uint64_t *)y;
	int n = 0;

	_Static_assert(sizeof(struct kvm_regs) == NREGS * sizeof(uint64_t), "kvm_regs is 18 words");
	for (int i = 0; i < NREGS; i++) {
		uint64_t mask = i == NREGS - 1 ? ~RFLAGS_RF : ~0ULL;   /* rflags is last */

		n += (a[i] & mask) == (b[i] & mask);
	}
	return n;
}

/* Compare the state at the point's RIP; 1 full match (and the guest can take the interrupt). */
static int compare_here(struct replay *r, const struct kvm_regs *regs)
{
	struct replay_async *a = r->async;
	struct kvm_run *run = r->m.vcpu.run;
	int score = 4 * equal_regs(regs, &a->want.regs), rc;
	bool xs_ok = false, mem_ok = false;
	uint32_t pages = 0;

	if (score == 4 * NREGS) {
		uint64_t xs = 0, md;

		rc = machine_xsave_digest(&r->m, &xs);
		if (rc < 0)
			return rc;
		xs_ok = xs == a->want.xsave_digest;
		/* GET_DIRTY_LOG clears the kernel's log: keep every page since the previous point. */
		rc = machine_dirty_collect(&a->dirty, &r->m);
		if (rc < 0)
			return rc;
		md = machine_dirty_digest(&a->dirty, &r->m, &pages);
		mem_ok = md == a->want.mem_digest && pages == a->want.dirty_pages;
		score += 2 * xs_ok + mem_ok;
	}
	if (score > a->best_score) {
		a->best_score = score;
		a->best = *regs;
		a->best_xsave = xs_ok;
		a->best_mem = mem_ok;
		a->best_pages = pages;
		a->best_ready = run->ready_for_interrupt_injection && run->if_flag;
	}
	return xs_ok && mem_ok && run->ready_for_interrupt_injection && run->if_flag;
}

static int inject(struct replay *r)
{
	struct replay_async *a = r->async;
	struct replay_event ev;
	int rc;

	end_seek(r);
	a->reached++;
	machine_dirty_clear(&a->dirty);
	while ((rc = replay_log_take_event(&r->log, (int64_t)a->want.seq, &ev, r->err, sizeof(r->err))) > 0) {
		if (ev.kind == TRACER_EVENT_IRQ_WINDOW)
			continue;   /* windows are not replayed with asynchronous delivery */
		if (ev.kind != TRACER_EVENT_ASYNC_IRQ) {
			snprintf(r->err, sizeof(r->err), "seq %" PRIu64 ": a %s event after an async_irq",
				 a->want.seq, tracer_event_kind_name(ev.kind) ? tracer_event_kind_name(ev.kind) : "unknown");
			return -ENOTSUP;
		}
		rc = vcpu_interrupt(&r->m.vcpu, (uint32_t)ev.value);
		if (rc < 0) {
			snprintf(r->err, sizeof(r->err), "KVM_INTERRUPT 0x%" PRIx64 " at the asynchronous point "
				 "of seq %" PRIu64 ": %s", (uint64_t)ev.value, a->want.seq, strerror(-rc));
			return rc;
		}
	}
	return rc < 0 ? rc : REPLAY_ASYNC_REACHED;
}

static int diverge(struct replay *r, const char *why)
{
	struct replay_async *a = r->async;
	uint64_t spent = machine_now_ns() - a->start_ns;

	snprintf(a->what, sizeof(a->what), "asynchronous point (irq 0x%x at rip 0x%llx, CPL %u) not reached: "
		 "%s after %" PRIu64 " breakpoint hits, %" PRIu64 " steps, %.1f ms (budget %.1f ms)%s",
		 a->want.vector, a->want.regs.rip, a->want.cpl, why, a->hits, a->steps, spent / 1e6,
		 a->budget_ns / 1e6, a->hits == 0 && a->want.cpl == 3 ?
		 "; no hit at CPL3: this host's KVM may give no breakpoints there (docs/async.md)" : "");
	end_seek(r);
	if (r->divergences++ == 0) {
		memset(&r->first_div, 0, sizeof(r->first_div));
		r->first_div.seq = r->next.seq;
		r->first_div.rec = r->next;
		r->first_div_what = a->what;
	}
	machine_set_end(&r->m, END_DIVERGED, a->what);
	return REPLAY_ASYNC_DIVERGED;
}

static bool over_budget(struct replay_async *a)
{
	return a->hits + a->steps >= REPLAY_ASYNC_MAX_HITS || machine_now_ns() >= a->deadline_ns;
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
	if (rc < 0) {
		snprintf(r->err, sizeof(r->err), "comparing the asynchronous point of seq %" PRIu64 ": %s",
			 a->want.seq, strerror(-rc));
		return rc;
	}
	if (rc == 1)
		return inject(r);
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
		 "was reached, after %" PRIu64 " breakpoint hits", a->want.vector, a->want.regs.rip, a->hits);
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
	if (a->what[0] && r->first_div_what == a->what) {
		const uint64_t *w = (const uint64_t *)&a->want.regs, *b = (const uint64_t *)&a->best;

		fprintf(out, "asynchronous point of seq %" PRIu64 ": irq 0x%x, CPL %u, %u pages written since "
			"the previous point\n", a->want.seq, a->want.vector, a->want.cpl, a->want.dirty_pages);
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

void replay_async_close(struct replay *r)
{
	if (!r->async)
		return;
	machine_dirty_free(&r->async->dirty);
	free(r->async);
	r->async = NULL;
}
