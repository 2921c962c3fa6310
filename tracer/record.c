/* SPDX-License-Identifier: MIT */
/*
 * The record side of the machine hook, and the initial and final state.
 * The initial state is written in one transaction before the first KVM_RUN
 * and checkpointed into the main file, the final one after the writer has
 * drained.
 */
#include "tracer/tracer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "common/clock.h"
#include "machine/sha256.h"
#include "stream/digest.h"
#include "stream/seal.h"
#include "tracer/async.h"
#include "tracer/initial.h"
#include "stream/snapshot.h"
#include "tracer/tracer_int.h"
#include "vcpu/kvm.h"

static int record_before_entry(void *ctx, struct machine *m)
{
	struct tracer *t = ctx;
	struct machine_irq_action act;
	int r = machine_deliver_irqs(m, &act);

	if (r < 0)
		return r;
	if (act.injected_vector >= 0) {
		t->async_points += act.async;
		r = act.async ? tracer_async_capture(t, m, act.injected_vector) :
			tracer_capture_event(t, m->vcpu.id, STREAM_IRQ, act.injected_vector, NULL);
		if (r < 0)
			return r;
	}
	if (act.window_requested != t->window) {
		t->window = act.window_requested;
		r = tracer_capture_event(t, m->vcpu.id, STREAM_IRQ_WINDOW, t->window, NULL);
	}
	return r;
}

static int record_on_exit(void *ctx, struct machine *m, struct vcpu_exit *exit,
			  uint64_t tsc_entry, uint64_t tsc_exit)
{
	struct tracer *t = ctx;
	/* Handle first, so an IN or MMIO read is logged with the data the device returned. */
	int r = machine_handle_exit(m, exit);
	/* RIP from the sync-regs area: KVM filled it at this exit (KVM_SYNC_X86_REGS valid). */
	uint64_t rip = vcpu_sync_regs_read(&m->vcpu)->regs.rip;
	int c = tracer_capture_exit(t, m->vcpu.id, exit, rip, tsc_entry, tsc_exit);

	if (stream_sync_of(exit->reason, !m->cfg.irq_at_exits, false) == STREAM_SYNC_NONE)
		t->vmm_exits++;
	if (r == 0 && c == 0 && t->ckpt)
		c = tracer_ckpt_maybe(t, m, exit->reason, tsc_exit);

	return r < 0 ? r : c;
}

const struct machine_hook *tracer_hook(struct tracer *t)
{
	t->hook = (struct machine_hook){ .before_entry = record_before_entry,
					 .on_exit = record_on_exit, .ctx = t };
	return &t->hook;
}

static void record_pages_free(struct tracer *t)
{
	if (t->pages)
		stream_mem_pages_free(t->pages);
	free(t->pages);
	t->pages = NULL;
}

/* Digest the loaded RAM page by page; the final digest updates what the guest wrote. */
static int record_pages_load(struct tracer *t, struct machine *m, struct err *err)
{
	int r = -ENOMEM;

	t->pages = calloc(1, sizeof(*t->pages));
	if (t->pages)
		r = stream_mem_pages_load(t->pages, m);
	if (r < 0) {
		free(t->pages);
		t->pages = NULL;
		err_set(err, r, "recording %s: initial state: page digests of %llu bytes of guest RAM: %s",
			tracer_log_path(t->log), (unsigned long long)m->mem.ram_size, strerror(-r));
	}
	return r;
}

int tracer_record_initial(struct tracer *t, struct machine *m, int argc, char **argv,
			  struct err *err)
{
	int cap = kvm_check_extension(m->kvm_fd, KVM_CAP_SYNC_REGS);
	sqlite3 *db;
	int r;

	if (cap < 0 || !(cap & KVM_SYNC_X86_REGS)) {
		err_printf(err, "recording needs KVM_CAP_SYNC_REGS with KVM_SYNC_X86_REGS to "
			 "read RIP at every exit; this host reports 0x%x", cap < 0 ? 0 : cap);
		return -EOPNOTSUPP;
	}
	r = record_pages_load(t, m, err);
	if (r < 0)
		return r;
	db = tracer_log_lock(t->log);
	r = stream_sql_exec(db, "BEGIN", "initial state: BEGIN", err);
	if (!r)
		r = tracer_initial_meta(db, m, argc, argv, err);
	if (!r)   /* "async": INTR and IRQ_WINDOW_OPEN rows are no synchronisation points (tracer/async.h) */
		r = stream_meta_set_text(db, "irq_delivery", m->cfg.irq_at_exits ? "exits" : "async",
					 err);
	if (!r)
		r = tracer_initial_images(db, m, err);
	if (!r)
		r = tracer_initial_cpuid(db, m, err);
	if (!r)
		r = tracer_initial_pages(db, &m->mem, err);
	if (!r)
		r = stream_tsc_sites_save(db, &m->tsc_sites, err);
	if (!r)
		r = stream_meta_set_text(db, "tsc", m->cfg.tsc_native ? "native" : "patch", err);
	if (!r) {
		struct stream_snapshot s;

		r = stream_snapshot_take(&s, &m->vcpu, m->kvm_fd, err);
		if (!r)
			r = stream_snapshot_save(db, m->vcpu.id, "initial", &s, err);
		stream_snapshot_free(&s);
	}
	if (!r) {
		/* The time base: right before the first entry, after the slow writes above. */
		tracer_set_tsc_base(t, clock_rdtsc());
		r = stream_meta_set_int(db, "tsc_base", (long long)t->tsc_base, err);
	}
	if (!r)
		r = stream_seal_state_write(db, false, err);
	if (!r)
		r = stream_sql_exec(db, "COMMIT", "initial state: COMMIT", err);
	else
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	/* Before the guest runs: the named file alone is a valid (incomplete) recording. */
	if (!r)
		r = tracer_log_wal_checkpoint(db, tracer_log_path(t->log), "after the initial state", err);
	/* The asynchronous points' page set from the start: it must see every collect of the dirty log. */
	if (!r && !m->cfg.irq_at_exits && (r = tracer_async_start(t, m)) < 0)
		err_set(err, r, "asynchronous points: %s", strerror(-r));
	if (!r && t->checkpoint_sec > 0) {
		tracer_log_unlock(t->log);
		r = tracer_ckpt_init(t, m, err);
		db = tracer_log_lock(t->log);
	}
	tracer_log_unlock(t->log);
	if (r < 0) {
		record_pages_free(t);
		err_wrap(err, "recording %s: initial state", tracer_log_path(t->log));
	}
	return r;
}

int tracer_finish(struct tracer *t, struct machine *m, struct err *err)
{
	struct stream_snapshot s;
	uint8_t digest[SHA256_DIGEST_SIZE];
	char hex[2 * SHA256_DIGEST_SIZE + 1];
	sqlite3 *db;
	int r = tracer_log_drain(t->log, err);
	int a = tracer_async_finish(t, r < 0 ? NULL : err);

	if (r == 0 && a == 0)
		a = tracer_ckpt_finish(t, err);
	if (r < 0 || (r = a) < 0) {
		record_pages_free(t);
		return r;
	}
	r = stream_snapshot_take(&s, &m->vcpu, m->kvm_fd, err);
	if (!r) {
		db = tracer_log_lock(t->log);
		r = stream_snapshot_save(db, m->vcpu.id, "final", &s, err);
		tracer_log_unlock(t->log);
	}
	stream_snapshot_free(&s);
	if (!r && (r = stream_mem_pages_final(t->pages, m, digest, hex)) < 0)
		err_set(err, r, "recording %s: final memory digest: KVM_GET_DIRTY_LOG: %s",
			tracer_log_path(t->log), strerror(-r));
	record_pages_free(t);
	if (r < 0)
		return r;
	return tracer_end(t, &(struct tracer_end){ .end = machine_end_name(m->end),
						   .code = machine_exit_status(m),
						   .detail = m->end_detail, .mem_digest = hex },
			  err);
}
