/* SPDX-License-Identifier: MIT */
/*
 * The replay hook: the same machine_run loop as record, with the log in the
 * place of the device models. The cursor (stream/cursor.h) gives the
 * recorded exits in seq order with what the VMM did after each; on_exit
 * checks each synchronisation point and answers reads with the recorded
 * data, before_entry re-applies the recorded actions, and asynchronous
 * points are reached by replay/async.c.
 */
#include "replay/replay.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "machine/dev_uart.h"
#include "replay/async.h"
#include "replay/ckpt.h"
#include "stream/format.h"

/*
 * A recorder injects at an exit the VMM caused only at an asynchronous
 * point (async_irq): a plain irq after one is not in any real recording.
 */
static void check_skipped(struct replay *r, const struct stream_item *it)
{
	struct replay_seen seen = { .seq = (uint64_t)it->exit.seq, .have_rec = true, .rec = it->exit };

	for (unsigned int i = 0; i < it->nevents; i++)
		if (it->events[i].kind == STREAM_IRQ)
			replay_diverge(r, &seen, "an interrupt injected after an exit the VMM caused, which is no "
				       "synchronisation point (the recording was changed)", false);
}

static int queue_events(struct replay *r, const struct stream_item *it)
{
	for (unsigned int i = 0; i < it->nevents; i++) {
		if (r->npending == REPLAY_PENDING)
			return err_set(&r->err, -EINVAL, "corrupt recording: more than %d events before exit "
				       "seq %" PRId64, REPLAY_PENDING, it->exit.seq + 1);
		r->pending[r->npending++] = it->events[i];
	}
	return 0;
}

/*
 * The next recorded exit to reach: a synchronisation point, or an
 * asynchronous point (then start seeking it). Exits the VMM caused are
 * passed over; their events (window changes) are queued like the others.
 * 1, 0 at the end of the log, -errno.
 */
static int fetch_next(struct replay *r)
{
	int rc;

	r->have_next = false;
	r->skipped_tail = false;
	for (;;) {
		rc = replay_cursor_next(&r->cursor, &r->next, &r->err);
		if (rc <= 0)
			return rc;
		if (r->next.sync != STREAM_SYNC_NONE)
			break;
		r->skipped_tail = r->next.has_exit;
		r->skipped += r->next.has_exit;
		if (r->next.has_exit)
			check_skipped(r, &r->next);
		if ((rc = queue_events(r, &r->next)) < 0)
			return rc;
	}
	r->have_next = true;
	if (r->next.sync == STREAM_SYNC_ASYNC && (rc = replay_async_begin(r)) < 0)
		return rc;
	return 1;
}

static int apply_event(struct replay *r, const struct stream_rec *ev)
{
	struct machine *m = &r->m;
	int rc = 0;

	switch (ev->kind) {
	case STREAM_IRQ:
	case STREAM_ASYNC_IRQ:
		rc = machine_inject_irq(m, (int)ev->event.value);
		break;
	case STREAM_IRQ_WINDOW:
		/* With asynchronous delivery the window-open exits are not replayed: never ask for them. */
		machine_set_irq_window(m, ev->event.value != 0 && !r->cursor.irq_async);
		break;
	default:
		return err_set(&r->err, -EINVAL, "event after seq %" PRId64 ": unknown kind %u", ev->seq, ev->kind);
	}
	if (rc < 0)
		err_set(&r->err, rc, "re-applying %s 0x%" PRIx64 " after seq %" PRId64 ": %s",
			stream_kind_name(ev->kind), (uint64_t)ev->event.value, ev->seq, strerror(-rc));
	return rc;
}

int replay_apply_events(struct replay *r)
{
	int rc = 0;

	for (unsigned int i = 0; i < r->npending && rc == 0; i++)
		rc = apply_event(r, &r->pending[i]);
	r->npending = 0;
	return rc;
}

static int replay_before_entry(void *ctx, struct machine *m)
{
	struct replay *r = ctx;
	int rc = replay_apply_events(r);

	(void)m;
	if (rc == 0 && replay_async_seeking(r))
		rc = replay_async_before_entry(r);
	return rc;
}

/* Reproduce the console from the recorded UART transmitter writes. */
static void echo_console(struct replay *r, const struct stream_item *it)
{
	const struct stream_rec *rec = &it->exit;

	if (rec->exit.reason != KVM_EXIT_IO || rec->dir != STREAM_DIR_OUT || rec->exit.size != 1 || !rec->len)
		return;
	if (dev_uart_transmits(&r->uart_lcr, rec->exit.addr, it->data[0]) && !r->opt.quiet_console)
		(void)!write(r->m.cfg.serial_out_fd, it->data, rec->len);
}

/* Answer an IN or MMIO read with the recorded bytes (all 0xff when the shapes differ). */
static void fill_reads(const struct stream_item *it, struct vcpu_exit *e)
{
	const struct stream_rec *rec = &it->exit;

	if (e->reason == KVM_EXIT_IO && e->io.in) {
		size_t n = (size_t)e->io.size * e->io.count;

		if (rec->len == n)
			memcpy(e->io.data, it->data, n);
		else
			memset(e->io.data, 0xff, n);
	}
	if (e->reason == KVM_EXIT_MMIO && !e->mmio.write)
		memcpy(e->mmio.data, it->data, rec->len <= 8 ? rec->len : 8);
}

/* A divergence, and the run's end unless --continue-on-divergence can go on. */
void replay_diverge(struct replay *r, const struct replay_seen *seen, const char *what, bool async)
{
	if (r->divergences++ == 0) {
		r->first_div = *seen;
		snprintf(r->first_div_what, sizeof(r->first_div_what), "%s", what);
		r->first_div_async = async;
	}
	if (!r->opt.continue_on_divergence || !r->have_next || async)
		machine_set_end(&r->m, END_DIVERGED, what);
}

/*
 * The recorded exit r->next is done (matched, or an asynchronous point
 * reached): queue what the VMM did after it, stop for --until, or move on
 * to the next synchronisation point, or end the replay where the log ends.
 */
int replay_advance(struct replay *r)
{
	int64_t until = r->opt.until;
	int rc = queue_events(r, &r->next);

	if (rc < 0)
		return rc;
	if (r->opt.probe >= 0 && r->next.exit.seq == r->opt.probe && !r->divergences)
		replay_state_digest(r, r->probe_digest);
	r->last_seq = r->next.exit.seq;
	r->last_ticks = r->next.ticks;
	if (until >= 0 && r->last_seq >= until) {
		r->until_reached = true;
		machine_set_end(&r->m, END_UNTIL, "reached --until");
		return 0;
	}
	rc = fetch_next(r);
	/* --until on a row the VMM caused (skipped): stop at the last exit before it. */
	if (until >= 0 && ((rc > 0 && r->next.exit.seq > until) || (rc == 0 && r->cursor.last_seq >= until))) {
		r->next_fetched = rc > 0;   /* replay_continue goes on to it */
		r->until_reached = true;
		machine_set_end(&r->m, END_UNTIL, "reached --until");
		return 0;
	}
	if (rc == 0) {
		if (r->complete)
			machine_set_end(&r->m, END_LOG_END, "end of the recording");
		else
			machine_set_end(&r->m, END_INCOMPLETE, "end of an incomplete recording");
	}
	if (rc > 0)
		rc = replay_ckpts_after_exit(r);
	return rc < 0 ? rc : 0;
}

static void seen_rec(struct replay_seen *s, const struct stream_item *it)
{
	s->have_rec = true;
	s->rec = it->exit;
	memcpy(s->rec_head, it->data, it->exit.len < sizeof(s->rec_head) ? it->exit.len : sizeof(s->rec_head));
}

static int replay_on_exit(void *ctx, struct machine *m, struct vcpu_exit *e, uint64_t t0, uint64_t t1)
{
	struct replay *r = ctx;
	struct replay_seen seen;
	uint8_t scratch[STREAM_SCRATCH];
	const uint8_t *data;
	const char *what;
	bool seeking = replay_async_seeking(r);
	int rc;

	(void)t0, (void)t1;
	if (seeking) {
		rc = replay_async_on_exit(r, e);
		if (rc < 0 || rc == REPLAY_ASYNC_CONTINUE || rc == REPLAY_ASYNC_DIVERGED)
			return rc < 0 ? rc : 0;
		if (rc == REPLAY_ASYNC_REACHED) {
			r->matched++;
			return replay_advance(r);
		}
	}
	if (stream_sync_of(e->reason, r->cursor.irq_async, false) == STREAM_SYNC_NONE)
		return 0;   /* ours (a kick); not a synchronisation point */
	memset(&seen, 0, sizeof(seen));
	seen.have_actual = true;
	data = stream_rec_of_exit(&seen.actual, e, scratch);
	seen.actual.exit.rip = vcpu_sync_regs_read(&m->vcpu)->regs.rip;
	if (seen.actual.dir == STREAM_DIR_OUT)
		memcpy(seen.actual_head, data, seen.actual.len < 64 ? seen.actual.len : 64);
	if (!r->have_next) {
		seen.seq = (uint64_t)(r->last_seq + 1);
		what = "the guest went on past the last recorded exit";
	} else {
		seen.seq = (uint64_t)r->next.exit.seq;
		seen_rec(&seen, &r->next);
		/* A real exit while an asynchronous point is sought: it came too early. */
		what = seeking ? replay_async_early_exit(r) :
		       stream_rec_differs(&r->next.exit, r->next.data, &seen.actual, data);
		/* Rows missing before this one: this exit was the first missing seq's. */
		if (r->cursor.gap_seq >= 0 && r->next.exit.seq > r->cursor.gap_seq) {
			seen.seq = (uint64_t)r->cursor.gap_seq;
			what = "no exit with this seq in the recording (rows are missing)";
			r->cursor.gap_seq = -1;
		}
	}
	if (what) {
		replay_diverge(r, &seen, what, seeking);
		if (m->end == END_DIVERGED)
			return 0;
	} else {
		r->matched++;
	}
	fill_reads(&r->next, e);
	if (!what)   /* an INT3 the VMM delivers: the same here as when recorded */
		machine_fixup_emulation_failure(m, e);
	if (!what && e->reason == KVM_EXIT_HLT && r->next.exit.len)   /* a patched RDTSC: the logged value */
		machine_tsc_exit(m, e, r->next.data, r->next.exit.len);
	echo_console(r, &r->next);
	r->history[r->nhistory++ % REPLAY_HISTORY] = seen;
	return replay_advance(r);
}

int replay_fetch_next(struct replay *r)
{
	return fetch_next(r);
}

const struct machine_hook *replay_hook(struct replay *r)
{
	static struct machine_hook hook = { .before_entry = replay_before_entry, .on_exit = replay_on_exit };

	hook.ctx = r;
	return &hook;
}

int replay_continue(struct replay *r, int64_t until)
{
	int rc;

	if (!r->until_reached || r->m.end != END_UNTIL)
		return err_set(&r->err, -EINVAL, "the replay ended (%s), it cannot go on", r->m.end_detail);
	r->opt.until = until;
	if (!r->next_fetched) {
		rc = fetch_next(r);
		if (rc < 0)
			return rc;
		if (rc == 0)
			return err_set(&r->err, -ERANGE, "no exit after seq %" PRId64, r->last_seq);
		r->next_fetched = true;
	}
	/* until is an exit the VMM caused before the next one to reach: stopped there already. */
	if (until >= 0 && r->next.exit.seq > until)
		return 0;
	r->next_fetched = false;
	r->until_reached = false;
	r->m.end = END_NONE;
	r->m.end_detail[0] = 0;
	replay_async_resume(r);   /* time spent stopped is not the seek's */
	rc = machine_run(&r->m, replay_hook(r));
	if (rc < 0 && !r->err.msg[0])
		err_set(&r->err, rc, "%s", r->m.end_detail);
	return rc;
}

int replay_run(struct replay *r)
{
	int rc = fetch_next(r);

	if (rc < 0)
		return rc;
	if (rc == 0) {
		/* Nothing to match: run to where the recording ended and compare the final state. */
		machine_set_end(&r->m, r->complete ? END_LOG_END : END_INCOMPLETE, "no exits to replay");
		return 0;
	}
	rc = machine_run(&r->m, replay_hook(r));
	if (rc < 0 && !r->err.msg[0])
		err_set(&r->err, rc, "%s", r->m.end_detail);
	return rc;
}
