/* SPDX-License-Identifier: MIT */
/*
 * The replay hook: the same machine_run loop as record, with the log in the
 * place of the device models. before_entry re-applies the recorded actions
 * of the last exit; on_exit checks the exit against the next recorded one
 * and answers reads with the recorded data.
 */
#include "replay/replay.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "replay/async.h"
#include "tracer/format.h"

#define UART_THR 0x3f8
#define UART_LCR 0x3fb
#define UART_LCR_DLAB 0x80

/* Exits the VMM caused, which are no synchronisation points (replay/async.h). */
static bool vmm_exit(const struct replay *r, uint32_t reason)
{
	return reason == KVM_EXIT_INTR || (r->irq_async && reason == KVM_EXIT_IRQ_WINDOW_OPEN);
}

/* The next recorded exit that is a synchronisation point (INTR rows are not). */
static int fetch_next(struct replay *r)
{
	int rc;

	do {
		rc = replay_log_next_exit(&r->log, &r->next, r->err, sizeof(r->err));
		if (rc <= 0) {
			r->have_next = false;
			return rc;
		}
		if (vmm_exit(r, r->next.reason)) {
			/* An asynchronous injection: reach its point (replay/async.h). */
			rc = replay_async_begin(r);
			if (rc < 0)
				return rc;
			r->have_next = rc > 0;
			if (rc > 0)
				return 1;
		}
	} while (vmm_exit(r, r->next.reason));
	r->have_next = true;
	return 1;
}

static int apply_event(struct replay *r, const struct replay_event *ev)
{
	struct machine *m = &r->m;
	int rc = 0;

	switch (ev->kind) {
	case TRACER_EVENT_IRQ:
		rc = vcpu_interrupt(&m->vcpu, (uint32_t)ev->value);
		break;
	case TRACER_EVENT_NMI:
		rc = vcpu_nmi(&m->vcpu);
		break;
	case TRACER_EVENT_IRQ_WINDOW:
		/* With asynchronous delivery the window-open exits are not replayed: never ask for them. */
		vcpu_set_request_interrupt_window(&m->vcpu, ev->value != 0 && !r->irq_async);
		break;
	default:
		snprintf(r->err, sizeof(r->err), "event after seq %" PRId64 ": unknown kind %u",
			 ev->seq, ev->kind);
		return -EINVAL;
	}
	if (rc < 0)
		snprintf(r->err, sizeof(r->err), "re-applying %s 0x%" PRIx64 " after seq %" PRId64 ": %s",
			 tracer_event_kind_name(ev->kind), (uint64_t)ev->value, ev->seq, strerror(-rc));
	return rc;
}

static int replay_before_entry(void *ctx, struct machine *m)
{
	struct replay *r = ctx;
	struct replay_event ev;
	int rc;

	(void)m;
	while ((rc = replay_log_take_event(&r->log, r->last_seq, &ev, r->err, sizeof(r->err))) > 0) {
		rc = apply_event(r, &ev);
		if (rc < 0)
			break;
	}
	if (rc == 0 && replay_async_seeking(r))
		rc = replay_async_before_entry(r);
	return rc;
}

static void note_actual(struct replay_seen *s, const struct vcpu_exit *e, uint64_t rip)
{
	s->have_actual = true;
	s->reason = e->reason;
	s->rip = rip;
	s->dir = -1;
	s->len = 0;
	if (e->reason == KVM_EXIT_IO) {
		s->addr = e->io.port;
		s->size = e->io.size;
		s->dir = e->io.in ? 0 : 1;
		s->len = (size_t)e->io.size * e->io.count;
		if (!e->io.in)
			memcpy(s->data, e->io.data, s->len < sizeof(s->data) ? s->len : sizeof(s->data));
	} else if (e->reason == KVM_EXIT_MMIO) {
		s->addr = e->mmio.gpa;
		s->size = e->mmio.len;
		s->dir = e->mmio.write ? 1 : 0;
		s->len = e->mmio.len;
		if (e->mmio.write)
			memcpy(s->data, e->mmio.data, s->len < sizeof(s->data) ? s->len : sizeof(s->data));
	}
}

/* NULL if the exit matches the recorded one, else what differs. */
static const char *compare(const struct replay_exit *rec, const struct replay_seen *act)
{
	if (rec->reason != act->reason)
		return "exit reason differs";
	if (act->reason == KVM_EXIT_IO || act->reason == KVM_EXIT_MMIO) {
		if (rec->addr != act->addr)
			return act->reason == KVM_EXIT_IO ? "port differs" : "gpa differs";
		if (rec->size != act->size)
			return "size differs";
		if (rec->dir != act->dir)
			return "direction differs";
		if (rec->len != act->len)
			return "length differs";
		if (act->dir == 1 && memcmp(rec->data, act->data, act->len < sizeof(act->data) ?
					    act->len : sizeof(act->data)) != 0)
			return "data written differs";
	}
	if (rec->rip != act->rip)
		return "rip differs";
	return NULL;
}

/* Reproduce the console from the recorded UART transmitter writes. */
static void echo_console(struct replay *r, const struct replay_exit *rec)
{
	if (rec->reason != KVM_EXIT_IO || rec->dir != 1 || rec->size != 1)
		return;
	if (rec->addr == UART_LCR)
		r->uart_lcr = rec->data[0];
	else if (rec->addr == UART_THR && !(r->uart_lcr & UART_LCR_DLAB) && !r->opt.quiet_console)
		(void)!write(r->m.cfg.serial_out_fd, rec->data, rec->len);
}

static void fill_reads(struct replay *r, struct vcpu_exit *e)
{
	const struct replay_exit *rec = &r->next;

	if (e->reason == KVM_EXIT_IO && e->io.in && rec->len == (size_t)e->io.size * e->io.count)
		memcpy(e->io.data, rec->data, rec->len);
	else if (e->reason == KVM_EXIT_IO && e->io.in)
		memset(e->io.data, 0xff, (size_t)e->io.size * e->io.count);
	if (e->reason == KVM_EXIT_MMIO && !e->mmio.write)
		memcpy(e->mmio.data, rec->data, rec->len <= 8 ? rec->len : 8);
}

static void end_from_log(struct replay *r)
{
	struct machine *m = &r->m;

	if (!r->complete) {
		machine_set_end(m, END_MAX_EXITS, "end of an incomplete recording");
		return;
	}
	m->guest_code = r->recorded_code;
	for (int e = END_GUEST_EXIT; e < END_COUNT; e++)
		if (strcmp(machine_end_name((enum machine_end)e), r->recorded_end) == 0) {
			machine_set_end(m, (enum machine_end)e, "end of the recording");
			return;
		}
	machine_set_end(m, END_HALT, "end of the recording");
}

/* Stop the replay for --until. */
static void stop_at_until(struct replay *r)
{
	r->until_reached = true;
	machine_set_end(&r->m, END_MAX_EXITS, "reached --until");
}

/*
 * The recorded exit r->next is done (matched, or an asynchronous point
 * reached): stop for --until, or move on to the next synchronisation point,
 * or end the replay where the log ends.
 */
static int advance(struct replay *r)
{
	int64_t until = r->opt.until;
	int rc;

	r->last_seq = (int64_t)r->next.seq;
	r->have_next = false;
	if (until >= 0 && r->last_seq >= until) {
		stop_at_until(r);
		return 0;
	}
	rc = fetch_next(r);
	/* --until on a row the VMM caused (INTR, skipped): stop at the last exit before it. */
	if (until >= 0 && ((rc > 0 && r->next.seq > (uint64_t)until) ||
			   (rc == 0 && r->log.last_seq >= (uint64_t)until))) {
		stop_at_until(r);
		return 0;
	}
	if (rc == 0)
		end_from_log(r);
	return rc < 0 ? rc : 0;
}

static int replay_on_exit(void *ctx, struct machine *m, struct vcpu_exit *e, uint64_t t0, uint64_t t1)
{
	struct replay *r = ctx;
	struct replay_seen seen;
	bool seeking = replay_async_seeking(r);
	const char *what;
	int rc;

	(void)t0, (void)t1;
	if (seeking) {
		rc = replay_async_on_exit(r, e);
		if (rc < 0 || rc == REPLAY_ASYNC_CONTINUE || rc == REPLAY_ASYNC_DIVERGED)
			return rc < 0 ? rc : 0;
		if (rc == REPLAY_ASYNC_REACHED) {
			r->matched++;
			return advance(r);
		}
	}
	if (vmm_exit(r, e->reason))
		return 0;   /* ours (a kick); not a synchronisation point */
	if (!r->have_next) {
		rc = fetch_next(r);
		if (rc < 0)
			return rc;
	}
	memset(&seen, 0, sizeof(seen));
	note_actual(&seen, e, vcpu_sync_regs_read(&m->vcpu)->regs.rip);
	if (!r->have_next) {
		seen.seq = r->last_seq + 1;
		what = "the guest went on past the last recorded exit";
	} else {
		seen.seq = r->next.seq;
		seen.rec = r->next;
		/* A real exit while an asynchronous point is sought: it came too early. */
		what = seeking ? replay_async_early_exit(r) : compare(&r->next, &seen);
		/* Rows missing before this one: this exit was the first missing seq's. */
		if (r->log.gap_seq >= 0 && r->next.seq > (uint64_t)r->log.gap_seq) {
			seen.seq = (uint64_t)r->log.gap_seq;
			what = "no exit with this seq in the recording (rows are missing)";
			r->log.gap_seq = -1;
		}
	}
	if (what) {
		if (r->divergences++ == 0) {
			r->first_div = seen;
			r->first_div_what = what;
		}
		if (!r->opt.continue_on_divergence || !r->have_next || seeking) {
			machine_set_end(m, END_DIVERGED, what);
			return 0;
		}
	} else {
		r->matched++;
	}
	fill_reads(r, e);
	echo_console(r, &r->next);
	r->history[r->nhistory++ % REPLAY_HISTORY] = seen;
	return advance(r);
}

int replay_run(struct replay *r)
{
	struct machine_hook hook = {
		.before_entry = replay_before_entry,
		.on_exit = replay_on_exit,
		.ctx = r,
	};
	int rc = fetch_next(r);

	if (rc < 0)
		return rc;
	if (rc == 0) {
		snprintf(r->err, sizeof(r->err), "%s holds no exits to replay", r->opt.path);
		return -ENODATA;
	}
	rc = machine_run(&r->m, &hook);
	if (rc < 0 && !r->err[0])
		snprintf(r->err, sizeof(r->err), "%s", r->m.end_detail);
	return rc;
}
