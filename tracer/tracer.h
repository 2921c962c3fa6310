/* SPDX-License-Identifier: MIT */
/*
 * Recording: `kvmrr record`. One capture point sees every exit and queues
 * its record in the log's ring (tracer/log.h, lossless); the log's writer
 * thread writes it to SQLite in batches and fires its LTTng-UST event
 * (tracer/tp.h) from the same record. The format is docs/log-format.md.
 *
 * Use, on the vCPU thread:
 *   tracer_open(&t, "rec.db", &opt, err, sizeof(err));       create file, schema, writer
 *   machine_create + machine_load ...
 *   tracer_record_initial(t, m, argc, argv, err, ...);        meta, images, cpuid, state, pages
 *   machine_run(m, tracer_hook(t));                           every exit captured
 *   tracer_finish(t, m, err, ...);                            drain, final state, complete=1
 *   tracer_close(t);
 * If machine_run fails because the log could not be written (disk full),
 * tracer_finish returns that error and its message; the file keeps
 * complete=0. Never report success without tracer_finish returning 0.
 */
#ifndef KVMRR_TRACER_TRACER_H
#define KVMRR_TRACER_TRACER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "common/err.h"
#include "stream/format.h"
#include "stream/stream.h"
#include "vcpu/exit.h"

struct machine;
struct machine_hook;
struct tracer;
struct tracer_log;

struct tracer_options {
	bool force;              /* overwrite an existing file */
	uint32_t ring_records;   /* 0: default (65536 slots of 64 bytes: 4 MiB) */
	uint32_t batch_rows;     /* 0: default (commit every 50000 rows ...) */
	uint32_t batch_ms;       /* 0: default (... or every 50 ms) */
	double checkpoint_sec;   /* a checkpoint this often (run time); 0: none (stream/checkpoint.h) */
};

/* Create the recording (refuses an existing file unless opt->force). 0 or -errno + message. */
int tracer_open(struct tracer **t, const char *path, const struct tracer_options *opt,
		struct err *err);

/*
 * The initial state, right before the first KVM_RUN (after machine_load):
 * meta, the guest images with SHA-256, the CPUID table, the vCPU snapshot,
 * the non-zero pages. Also asks KVM for RIP in the sync-regs area at every
 * exit (KVM_CAP_SYNC_REGS, required). argv is the kvmrr command line.
 */
int tracer_record_initial(struct tracer *t, struct machine *m, int argc, char **argv,
			  struct err *err);

/*
 * The record hook for machine_run. before_entry: machine_deliver_irqs, and
 * each injection / window change becomes an event row. on_exit:
 * machine_handle_exit, then the exit is captured (IN and MMIO-read data as
 * the devices returned it). A log write failure ends the run (-errno).
 */
const struct machine_hook *tracer_hook(struct tracer *t);

/*
 * Drain the log, write the final vCPU snapshot, final_mem_digest, the end
 * (m->end, exit status, detail) and complete=1, and switch the file out of
 * WAL mode. Returns 0, or the first error (e.g. the writer's -ENOSPC) with
 * its message; then complete stays 0.
 */
int tracer_finish(struct tracer *t, struct machine *m, struct err *err);
/* Stop the writer and close the file (after tracer_finish, or to abandon it). NULL is fine. */
void tracer_close(struct tracer *t);

/* ---- The capture point, usable without a machine (tests, replay tools) ---- */

/*
 * Capture one exit: assigns the next seq, fires kvmrr:exit (one event with
 * the row's columns) and queues the row. IO: port, size, dir, size*count data bytes;
 * MMIO: gpa, len, dir, data; INTERNAL_ERROR: data = u32 suberror then ndata
 * u64 words (little-endian). 0 or the log's error.
 */
int tracer_capture_exit(struct tracer *t, uint32_t vcpu, const struct vcpu_exit *exit,
			uint64_t rip, uint64_t tsc_entry, uint64_t tsc_exit);
/*
 * Capture a VMM action after the last captured exit (seq -1 before the
 * first). An STREAM_ASYNC_IRQ carries the point where it was injected;
 * point is NULL for the other kinds.
 */
int tracer_capture_event(struct tracer *t, uint32_t vcpu, enum stream_kind kind, int64_t value,
			 const struct stream_point *point);

struct tracer_end {
	const char *end;         /* meta.end: "guest-exit", "signal", ... */
	int code;                /* meta.end_code */
	const char *detail;      /* meta.end_detail */
	const char *mem_digest;  /* meta.final_mem_digest (hex), or NULL */
};
/* Drain, write the end meta and complete=1, leave WAL mode. What tracer_finish ends with. */
int tracer_end(struct tracer *t, const struct tracer_end *e, struct err *err);

/*
 * meta rows of any recording: kvmrr_version, host_kernel, cpu_model,
 * tsc_khz, command_line (argv joined, quoted where needed), started_at.
 * Inside the caller's transaction. 0 or -errno with a message.
 */
int tracer_meta_host(sqlite3 *db, int argc, char **argv, int tsc_khz, struct err *err);

/* The log writer's error (0 if none) and its message. */
int tracer_error(struct tracer *t, struct err *err);
/* Exits captured so far (the next seq). */
uint64_t tracer_exits(const struct tracer *t);
/* Of those, the exits the VMM caused that are no synchronisation points (stream_sync_of). */
uint64_t tracer_vmm_exits(const struct tracer *t);
/* Set the TSC the first exit's vmm_ticks counts from (default: when tracer_open ran). */
void tracer_set_tsc_base(struct tracer *t, uint64_t tsc);

#endif
