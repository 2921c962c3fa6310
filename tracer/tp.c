/* SPDX-License-Identifier: MIT */
/* Instantiates the kvmrr tracepoint provider (tracer/tp.h), linked into the program. */
#ifdef KVMRR_HAVE_LTTNG
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#include "tracer/tp.h"
#else
typedef int tracer_tp_unused;  /* ISO C wants a non-empty translation unit */
#endif
