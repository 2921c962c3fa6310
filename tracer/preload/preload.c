/* SPDX-License-Identifier: MIT */
/*
 * The ioctl() wrapper (trace_int.h). On the hot path (KVM_RUN) it adds two
 * RDTSCs, the decode of the run page and a ring push, and no syscall of its
 * own: RIP comes from the sync-regs area when the VMM enabled it, else from
 * one KVM_GET_REGS with --regs, else it stays unknown (STREAM_RIP_NONE).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/clock.h"
#include "tracer/log.h"
#include "tracer/preload/trace_int.h"
#include "vcpu/exit.h"

static struct trace_vcpu *_Atomic trace_fd_vcpu[TRACE_MAX_FD];
static pthread_mutex_t trace_create_lock = PTHREAD_MUTEX_INITIALIZER;

static long kvm_ioctl(int fd, unsigned long req, void *arg)
{
	return syscall(SYS_ioctl, fd, req, arg);
}

static struct trace_vcpu *vcpu_of_fd(int fd)
{
	if (fd < 0 || fd >= TRACE_MAX_FD)
		return NULL;
	return atomic_load_explicit(&trace_fd_vcpu[fd], memory_order_acquire);
}

/*
 * Start capturing on the vCPU's thread: false once the session stops. The
 * busy flag and the stopping flag are both seq_cst, so the session either
 * sees busy (and waits) or this thread sees stopping (and captures nothing).
 */
static bool capture_enter(struct trace_vcpu *v)
{
	atomic_store(&v->busy, 1);
	if (!atomic_load(&trace_s.stopping))
		return true;
	atomic_store(&v->busy, 0);
	return false;
}

static void capture_leave(struct trace_vcpu *v)
{
	atomic_store(&v->busy, 0);
}

static void push(struct trace_vcpu *v, const struct stream_rec *r, const void *data)
{
	int e = tracer_log_lane_rec(trace_s.log, v->lane, r, data);

	if (e < 0) {
		struct err err = { 0 };

		tracer_log_error(trace_s.log, &err);
		trace_session_fail(e, err.msg[0] ? err.msg : "writing the log");
	}
}

static void push_exit(struct trace_vcpu *v, struct stream_rec *r, const void *data)
{
	if (r->len && r->len <= sizeof(r->data))
		memcpy(r->data, data, r->len);
	push(v, r, data);
}

static void push_event(struct trace_vcpu *v, enum stream_kind kind, int64_t value)
{
	struct stream_rec r = { .kind = (uint8_t)kind, .dir = STREAM_DIR_NONE, .vcpu = (uint16_t)v->id,
				.seq = v->last_seq, .event.value = value };

	push(v, &r, NULL);
}

void trace_flush_pending(struct trace_vcpu *v)
{
	if (!v->pending)
		return;
	v->pending = false;
	push_exit(v, &v->rec, v->pending_data);
}

/* Before KVM_RUN: the previous IN / MMIO read with its data, and a change of the window request. */
static void capture_before(struct trace_vcpu *v)
{
	uint8_t w = v->run->request_interrupt_window;

	trace_flush_pending(v);
	if (w != v->window) {
		v->window = w;
		push_event(v, STREAM_IRQ_WINDOW, w);
	}
}

static uint64_t exit_rip(struct trace_vcpu *v)
{
	struct kvm_regs regs;

	if (v->run->kvm_valid_regs & KVM_SYNC_X86_REGS)
		return v->run->s.regs.regs.rip;
	if (trace_s.regs && kvm_ioctl(v->fd, KVM_GET_REGS, &regs) == 0)
		return regs.rip;
	return STREAM_RIP_NONE;
}

/* After KVM_RUN returned (err: its errno, 0 on success). */
static void capture_after(struct trace_vcpu *v, int err, uint64_t tsc_entry, uint64_t tsc_exit)
{
	uint8_t scratch[STREAM_SCRATCH];
	struct stream_rec *r = &v->rec;
	struct vcpu_exit exit;
	const void *data;

	if (err && err != EINTR)
		return;   /* no exit: KVM refused the entry (the VMM sees the error) */
	if (err) {
		memset(&exit, 0, sizeof(exit));
		exit.reason = KVM_EXIT_INTR;
	} else {
		vcpu_exit_decode(v->run, &exit);
	}
	memset(r, 0, sizeof(*r));
	r->vcpu = (uint16_t)v->id;
	r->seq = (int64_t)atomic_fetch_add_explicit(&trace_s.seq, 1, memory_order_relaxed);
	data = stream_rec_of_exit(r, &exit, scratch);
	r->exit.tsc_entry = tsc_entry;
	r->exit.tsc_exit = tsc_exit;
	r->exit.rip = exit_rip(v);
	v->last_seq = r->seq;
	if (r->dir == STREAM_DIR_IN && r->len) {
		/* The VMM writes what the guest reads into the run page before the next KVM_RUN. */
		v->pending = true;
		v->pending_data = data;
		return;
	}
	push_exit(v, r, data);
}

static int trace_run(struct trace_vcpu *v, int fd, void *arg)
{
	uint64_t tsc_entry, tsc_exit;
	long r;
	int e;

	if (capture_enter(v)) {
		v->tid = (pid_t)syscall(SYS_gettid);
		capture_before(v);
		capture_leave(v);
	}
	tsc_entry = clock_rdtsc();
	r = kvm_ioctl(fd, KVM_RUN, arg);
	e = r < 0 ? errno : 0;
	tsc_exit = clock_rdtsc();
	if (capture_enter(v)) {
		capture_after(v, e, tsc_entry, tsc_exit);
		capture_leave(v);
	}
	errno = e;
	return (int)r;
}

/* A vCPU the VMM just created: map its run page and the PIO page after it, give it a lane. */
static void vcpu_new(int fd, unsigned long id)
{
	struct trace_vcpu *v;
	uint32_t n;

	if (fd >= TRACE_MAX_FD || id >= STREAM_MAX_VCPUS) {
		fprintf(stderr, "kvmrr trace: vCPU id %lu (fd %d) is not traced: kvmrr follows ids below "
			"%d and fds below %d\n", id, fd, STREAM_MAX_VCPUS, TRACE_MAX_FD);
		return;
	}
	pthread_mutex_lock(&trace_create_lock);
	/* Once the recording failed or the VMM is exiting, later vCPUs are not traced. */
	if (atomic_load(&trace_s.stopping) || (!trace_s.log && trace_session_open(fd) < 0))
		goto out;
	v = calloc(1, sizeof(*v));
	if (!v) {
		trace_session_fail(-ENOMEM, "a new vCPU");
		goto out;
	}
	v->fd = fd;
	v->id = (uint32_t)id;
	v->last_seq = -1;
	v->run = mmap(NULL, (KVM_PIO_PAGE_OFFSET + 1) * 4096UL, PROT_READ, MAP_SHARED, fd, 0);
	if (v->run == MAP_FAILED) {
		trace_session_fail(-errno, "mapping the new vCPU's kvm_run page");
		free(v);
		goto out;
	}
	int r = tracer_log_lane_add(trace_s.log, &v->lane);

	if (r < 0) {
		trace_session_fail(r, "a ring for the new vCPU");
		munmap(v->run, (KVM_PIO_PAGE_OFFSET + 1) * 4096UL);
		free(v);
		goto out;
	}
	n = atomic_load(&trace_s.nvcpus);
	trace_s.vcpus[n] = v;
	atomic_store(&trace_s.nvcpus, n + 1);
	atomic_store_explicit(&trace_fd_vcpu[fd], v, memory_order_release);
out:
	pthread_mutex_unlock(&trace_create_lock);
}

/* KVM_INTERRUPT, KVM_NMI, KVM_SET_VCPU_EVENTS that succeeded on a traced vCPU. */
static void vcpu_action(struct trace_vcpu *v, unsigned long req, const void *arg)
{
	const struct kvm_vcpu_events *ev = arg;

	if ((pid_t)syscall(SYS_gettid) != v->tid) {
		/* Its ring has one producer, the thread that runs it. */
		atomic_fetch_add_explicit(&trace_s.events_elsewhere, 1, memory_order_relaxed);
		return;
	}
	if (!capture_enter(v))
		return;
	if (req == KVM_INTERRUPT)
		push_event(v, STREAM_IRQ, ((const struct kvm_interrupt *)arg)->irq);
	else if (req == KVM_NMI)
		push_event(v, STREAM_NMI, 2);
	else
		push_event(v, STREAM_VCPU_EVENTS, ev->interrupt.injected ? ev->interrupt.nr : -1);
	capture_leave(v);
}

__attribute__((visibility("default"))) int ioctl(int fd, unsigned long req, ...)
{
	struct trace_vcpu *v = NULL;
	va_list ap;
	void *arg;
	long r;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (trace_s.path[0] && (v = vcpu_of_fd(fd)) && req == KVM_RUN && trace_s.log)
		return trace_run(v, fd, arg);
	r = kvm_ioctl(fd, req, arg);
	if (r < 0 || !trace_s.path[0])
		return (int)r;
	if (req == KVM_CREATE_VCPU)
		vcpu_new((int)r, (unsigned long)arg);
	else if (v && trace_s.log && (req == KVM_INTERRUPT || req == KVM_NMI || req == KVM_SET_VCPU_EVENTS))
		vcpu_action(v, req, arg);
	return (int)r;
}
