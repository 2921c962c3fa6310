/* SPDX-License-Identifier: MIT */
/*
 * Asynchronous injection points (docs/async.md): when the machine injects
 * an interrupt at a kick (KVM_EXIT_INTR), the recording gets an
 * `async_irq` event at that exit's seq and an `async_point` row with the
 * vCPU state that identifies the instruction exactly: all general
 * registers and RFLAGS (from the sync-regs area of the INTR exit), the CPL,
 * a digest of XSAVE, and a digest of the guest pages written since the
 * previous asynchronous event (stream/point.h).
 *
 * The point goes to the writer thread through the log's ring like the exit
 * rows, and is committed in the same transactions: a recording cut short
 * holds the points of all its committed async_irq events.
 */
#ifndef KVMRR_TRACER_ASYNC_H
#define KVMRR_TRACER_ASYNC_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct tracer;
struct machine;

/*
 * Capture the point of an interrupt (vector) just injected at a kick: the
 * async_irq event and the async_point row. Call from the record hook's
 * before_entry, before the next KVM_RUN. 0 or -errno (m->end_detail says why).
 */
int tracer_async_capture(struct tracer *t, struct machine *m, int vector);

/* Start keeping the pages written since the start (before anything else collects the dirty log). */
int tracer_async_start(struct tracer *t, struct machine *m);
/* The pages written since the last asynchronous point (NULL before the first). */
struct stream_dirty *tracer_async_dirty(struct tracer *t);

/*
 * Write the meta counters async_events and async_capture_ns (after the log
 * was drained), then free the state. Safe when nothing was captured.
 * 0 or -errno with a message.
 */
int tracer_async_finish(struct tracer *t, struct err *err);

#endif
