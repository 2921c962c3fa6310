/* SPDX-License-Identifier: MIT */
/* Private to tracer/: the state shared by capture.c (sinks) and record.c (machine glue). */
#ifndef KVMRR_TRACER_TRACER_INT_H
#define KVMRR_TRACER_TRACER_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "machine/machine.h"
#include "tracer/log.h"
#include "tracer/tracer.h"

struct stream_dirty;
/* Checkpoints (tracer/checkpoint.c): set up after the initial state, one maybe after each exit. */
int tracer_ckpt_init(struct tracer *t, struct machine *m, struct err *err);
int tracer_ckpt_maybe(struct tracer *t, struct machine *m, uint32_t reason, uint64_t tsc_exit);
void tracer_ckpt_free(struct tracer *t);
/* meta.checkpoints and meta.checkpoint_ns (after the log was drained). 0 or -errno. */
int tracer_ckpt_finish(struct tracer *t, struct err *err);


struct tracer {
	struct tracer_log *log;
	uint64_t seq;                /* next exit seq */
	uint64_t vmm_exits;          /* exits the VMM caused (kicks), stream_sync_of */
	uint64_t async_points;       /* of those, the ones an interrupt was injected after */
	uint64_t tsc_base;
	bool window;                 /* request_interrupt_window as last logged */
	struct machine_hook hook;
	struct tracer_async *async;  /* asynchronous points (tracer/async.c); NULL until the first */
	struct tracer_ckpt *ckpt;    /* checkpoints (tracer/checkpoint.c); NULL: none */
	double checkpoint_sec;
	void (*release)(struct tracer *t);   /* frees what the machine glue set up (tracer_ckpt_free) */
	struct stream_mem_pages *pages; /* page digests since the load (stream/digest.h), record.c's */
};


#endif
