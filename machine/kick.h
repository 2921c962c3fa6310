/* SPDX-License-Identifier: MIT */
/*
 * Kicking the vCPU out of KVM_RUN: a POSIX timer sends SIGUSR1 to the vCPU
 * thread, whose handler sets kvm_run.immediate_exit. The flag closes the
 * race of a signal that lands just before KVM_RUN is entered: KVM then
 * returns EINTR at once instead of running the guest (api.rst, kvm_run).
 */
#ifndef KVMRR_MACHINE_KICK_H
#define KVMRR_MACHINE_KICK_H

#include <stdint.h>

struct machine;

/* Install the handler on the calling (vCPU) thread and arm m->deadline_ns if set. */
int machine_kick_start(struct machine *m);
/* Arm the timer to kick at abs_ns (CLOCK_MONOTONIC); 0 disarms. */
int machine_kick_arm(struct machine *m, uint64_t abs_ns);
void machine_kick_stop(struct machine *m);
/* Async-signal-safe: make the running vCPU leave KVM_RUN (for SIGINT handlers). */
void machine_kick_now(void);

#endif
