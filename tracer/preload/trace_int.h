/* SPDX-License-Identifier: MIT */
/*
 * The capture library of `kvmrr trace` (libkvmrr-trace.so), loaded into an
 * unmodified VMM with LD_PRELOAD. preload.c wraps ioctl(): it learns each
 * vCPU from KVM_CREATE_VCPU, maps that vCPU's kvm_run page itself, and
 * captures every KVM_RUN return into the vCPU's own lane of the recorder's
 * log (tracer/log.h: one lock-free ring per vCPU thread, one writer thread).
 * session.c opens the recording at the first vCPU and drains it when the
 * VMM exits. `kvmrr trace` (cli/trace.c) writes the end. Nothing here is
 * exported but ioctl (trace/exports.map).
 */
#ifndef KVMRR_TRACE_TRACE_INT_H
#define KVMRR_TRACE_TRACE_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/kvm.h>

#include "stream/stream.h"

/* The environment `kvmrr trace` passes (read and removed by the library's constructor). */
#define TRACE_ENV_OUT   "KVMRR_TRACE_OUT"    /* recording path; unset: the library stays idle */
#define TRACE_ENV_FORCE "KVMRR_TRACE_FORCE"  /* "1": replace an existing file */
#define TRACE_ENV_REGS  "KVMRR_TRACE_REGS"   /* "1": one KVM_GET_REGS per exit for RIP */

/* vCPU fds the library can follow (fd numbers below this). */
#define TRACE_MAX_FD 4096

struct trace_vcpu {
	int fd;
	uint32_t id;                 /* the KVM vCPU id: the vcpu column */
	uint32_t lane;               /* its ring in the log */
	struct kvm_run *run;         /* the library's own mapping of the run page and the PIO page */
	_Atomic int busy;            /* the vCPU thread is capturing (session.c waits for 0) */
	pid_t tid;                   /* the thread that last ran it: events from it are captured */
	int64_t last_seq;            /* its last exit (events follow it); -1 before the first */
	bool pending;                /* an IN / MMIO read whose data the VMM fills before the next run */
	const uint8_t *pending_data; /* where, in the run page */
	struct stream_rec rec;       /* the pending exit */
	uint8_t window;              /* request_interrupt_window as last captured */
};

struct trace_session {
	struct tracer_log *log;      /* NULL: idle (no path given, or a failure) */
	char path[4096];
	bool force, regs;
	_Atomic uint64_t seq;        /* next exit seq, over all vCPUs */
	_Atomic int stopping;        /* the VMM is exiting: capture nothing more */
	struct trace_vcpu *vcpus[STREAM_MAX_VCPUS];
	_Atomic uint32_t nvcpus;
	_Atomic uint64_t events_elsewhere;   /* vCPU ioctls from a thread other than its runner, not captured */
};

extern struct trace_session trace_s;

/* session.c: open the recording (first vCPU; fd its fd, for KVM_GET_TSC_KHZ). 0 or -errno. */
int trace_session_open(int vcpu_fd);
/* session.c: report a failure once on stderr and stop capturing. */
void trace_session_fail(int r, const char *what);
/* preload.c: push the vCPU's pending exit with the data the VMM put in the run page. */
void trace_flush_pending(struct trace_vcpu *v);

#endif
