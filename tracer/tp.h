/* SPDX-License-Identifier: MIT */
/*
 * The LTTng-UST tracepoint provider `kvmrr` (lttng-ust 2.13 API). Events:
 *   kvmrr:exit   (seq, vcpu, reason, tsc_entry, tsc_exit, rip,
 *                 addr, size, dir, count, data[])   every KVM_RUN return
 *   kvmrr:inject (seq, vcpu, kind, value)            a VMM action (event table)
 * One event per exit: its fields are the log's columns (the exit's struct
 * stream_rec, stream/stream.h). addr is the port (IO) or the gpa (MMIO); size
 * the access size; dir 0 = IN / read, 1 = OUT / write, 255 = no access;
 * count the number of accesses (REP string IO: data holds size * count
 * bytes; MMIO: 1; other exits: 0, with addr and size 0); data the bytes the
 * log stores (an internal error's suberror and words too).
 * Fired by the log's writer thread (tracer/log.c, fire_tp), one call site
 * per event, for every producer: `kvmrr record`'s capture point and each
 * vCPU lane of `kvmrr trace` (tracer/preload/). The vCPU thread only pushes
 * the record into its ring; the writer fires the event from the record it
 * writes as the log's row, so the fields are the row's and the events come
 * in the log's order: an inject right after its exit (`kvmrr trace`: ring
 * order per vCPU, where an inject after an IN comes before that exit, which
 * is pushed at the next KVM_RUN; lanes interleaved as the writer takes
 * them). An event's LTTng timestamp is when the writer took the record
 * (usually within milliseconds of the exit, at most a ring's worth of
 * records behind); the exit's own times are tsc_entry and tsc_exit.
 * A full blocking channel stalls the writer; the full ring then blocks the
 * vCPU thread, as a slow disk does: nothing is lost. The writer fires a
 * backlog in a burst and LTTng-UST retries a full blocking channel only
 * every 100 ms: give the channel room (README, "Tracing with LTTng").
 * The trace and the log agree: an event is fired once the log took its row,
 * and none after the log failed (disk full); only the rows of the batch the
 * failure rolled back (at most 50 ms or 50,000 rows) are in the trace alone.
 * With no session listening each event costs the writer one predicted
 * branch. Built only with KVMRR_HAVE_LTTNG (meson -Dlttng=disabled removes
 * it); otherwise the macro is empty.
 */
#if !defined(KVMRR_HAVE_LTTNG)

#ifndef KVMRR_TRACER_TP_H
#define KVMRR_TRACER_TP_H
#define tracer_tp(event, ...) do { } while (0)
#endif

#else /* KVMRR_HAVE_LTTNG */

#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER kvmrr

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "tracer/tp.h"

#if !defined(KVMRR_TRACER_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define KVMRR_TRACER_TP_H

#include <stdint.h>
#include <lttng/tracepoint.h>

#ifndef KVMRR_TRACER_TP_HELPERS
#define KVMRR_TRACER_TP_HELPERS
#include "stream/stream.h"
#define tracer_tp(event, ...) lttng_ust_tracepoint(kvmrr, event, __VA_ARGS__)
/* Accesses of an IO or MMIO exit (REP string IO: data holds size * count bytes). */
static inline uint32_t tracer_tp_count(const struct stream_rec *r)
{
	return r->dir != STREAM_DIR_NONE && r->exit.size ? r->len / r->exit.size : 0;
}
#endif

LTTNG_UST_TRACEPOINT_EVENT(kvmrr, exit,
	LTTNG_UST_TP_ARGS(const struct stream_rec *, r, const uint8_t *, data),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint64_t, seq, (uint64_t)r->seq)
		lttng_ust_field_integer(uint32_t, vcpu, r->vcpu)
		lttng_ust_field_integer(uint32_t, reason, r->exit.reason)
		lttng_ust_field_integer(uint64_t, tsc_entry, r->exit.tsc_entry)
		lttng_ust_field_integer(uint64_t, tsc_exit, r->exit.tsc_exit)
		lttng_ust_field_integer_hex(uint64_t, rip, r->exit.rip)
		lttng_ust_field_integer_hex(uint64_t, addr, r->exit.addr)
		lttng_ust_field_integer(uint32_t, size, r->exit.size)
		lttng_ust_field_integer(uint8_t, dir, r->dir)
		lttng_ust_field_integer(uint32_t, count, tracer_tp_count(r))
		lttng_ust_field_sequence_hex(uint8_t, data, data, uint32_t, data ? r->len : 0)))

LTTNG_UST_TRACEPOINT_EVENT(kvmrr, inject,
	LTTNG_UST_TP_ARGS(int64_t, seq, uint32_t, vcpu, uint32_t, kind, int64_t, value),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(int64_t, seq, seq)
		lttng_ust_field_integer(uint32_t, vcpu, vcpu)
		lttng_ust_field_integer(uint32_t, kind, kind)
		lttng_ust_field_integer(int64_t, value, value)))

#endif /* KVMRR_TRACER_TP_H */

#include <lttng/tracepoint-event.h>

#endif /* KVMRR_HAVE_LTTNG */
