/* SPDX-License-Identifier: MIT */
/*
 * The LTTng-UST tracepoint provider `kvmrr` (lttng-ust 2.13 API). Events:
 *   kvmrr:exit   (seq, vcpu, reason, tsc_entry, tsc_exit, rip)  every KVM_RUN return
 *   kvmrr:pio    (seq, port, size, dir, count, value, data[])   KVM_EXIT_IO
 *   kvmrr:mmio   (seq, gpa, len, dir, value, data[])             KVM_EXIT_MMIO
 *   kvmrr:inject (seq, vcpu, kind, value)                       a VMM action (event table)
 * Fields match the log's columns; `value` is the first element (IO) or the
 * whole access (MMIO) as a little-endian integer. Fired from the capture
 * point (tracer/capture.c), one call site per event; with no session
 * listening each is one predicted branch. Built only with KVMRR_HAVE_LTTNG
 * (meson -Dlttng=disabled removes it); otherwise the macro is empty.
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
/* Little-endian integer of the first n (<= 8) bytes at p. */
static inline uint64_t tracer_tp_le(const uint8_t *p, uint32_t n)
{
	uint64_t v = 0;

	for (uint32_t i = 0; i < n && i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}
#define tracer_tp(event, ...) lttng_ust_tracepoint(kvmrr, event, __VA_ARGS__)
#endif

LTTNG_UST_TRACEPOINT_EVENT(kvmrr, exit,
	LTTNG_UST_TP_ARGS(uint64_t, seq, uint32_t, vcpu, uint32_t, reason,
			  uint64_t, tsc_entry, uint64_t, tsc_exit, uint64_t, rip),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint64_t, seq, seq)
		lttng_ust_field_integer(uint32_t, vcpu, vcpu)
		lttng_ust_field_integer(uint32_t, reason, reason)
		lttng_ust_field_integer(uint64_t, tsc_entry, tsc_entry)
		lttng_ust_field_integer(uint64_t, tsc_exit, tsc_exit)
		lttng_ust_field_integer_hex(uint64_t, rip, rip)))

LTTNG_UST_TRACEPOINT_EVENT(kvmrr, pio,
	LTTNG_UST_TP_ARGS(uint64_t, seq, uint16_t, port, uint8_t, size, uint8_t, dir,
			  uint32_t, count, const uint8_t *, data),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint64_t, seq, seq)
		lttng_ust_field_integer_hex(uint16_t, port, port)
		lttng_ust_field_integer(uint8_t, size, size)
		lttng_ust_field_integer(uint8_t, dir, dir)
		lttng_ust_field_integer(uint32_t, count, count)
		lttng_ust_field_integer_hex(uint64_t, value, tracer_tp_le(data, size))
		lttng_ust_field_sequence_hex(uint8_t, data, data, uint32_t, (uint32_t)size * count)))

LTTNG_UST_TRACEPOINT_EVENT(kvmrr, mmio,
	LTTNG_UST_TP_ARGS(uint64_t, seq, uint64_t, gpa, uint32_t, len, uint8_t, dir,
			  const uint8_t *, data),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint64_t, seq, seq)
		lttng_ust_field_integer_hex(uint64_t, gpa, gpa)
		lttng_ust_field_integer(uint32_t, len, len)
		lttng_ust_field_integer(uint8_t, dir, dir)
		lttng_ust_field_integer_hex(uint64_t, value, tracer_tp_le(data, len))
		lttng_ust_field_sequence_hex(uint8_t, data, data, uint32_t, len)))

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
