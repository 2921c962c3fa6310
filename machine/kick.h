/* SPDX-License-Identifier: MIT */
/*
 * Kicking the vCPU out of KVM_RUN: a POSIX timer sends SIGUSR1 to the vCPU
 * thread, whose handler sets kvm_run.immediate_exit. The flag closes the
 * race of a signal that lands just before KVM_RUN is entered: KVM then
 * returns EINTR at once instead of running the guest (api.rst, kvm_run).
 * The timer and when it fires belong to the machine; the handler alone
 * needs a process-wide pointer (a signal handler has no argument): one
 * running vCPU per process.
 */
#ifndef KVMRR_MACHINE_KICK_H
#define KVMRR_MACHINE_KICK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct machine;

struct machine_kick {
	timer_t timer;
	bool started;
	uint64_t at_ns;       /* CLOCK_MONOTONIC ns of the next kick; 0: none armed */
};

/* Install the handler on the calling (vCPU) thread and arm m->deadline_ns if set. */
int machine_kick_start(struct machine *m);
/* Arm the timer to kick at abs_ns (CLOCK_MONOTONIC); 0 disarms. */
int machine_kick_arm(struct machine *m, uint64_t abs_ns);
/* Arm for abs_ns unless a kick still to come (after now) fires no later. */
int machine_kick_arm_by(struct machine *m, uint64_t abs_ns, uint64_t now);
void machine_kick_stop(struct machine *m);
/* Async-signal-safe: make the running vCPU leave KVM_RUN (for SIGINT handlers). */
void machine_kick_now(void);

#endif
