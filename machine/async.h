/* SPDX-License-Identifier: MIT */
/*
 * Asynchronous interrupts: deliver a due interrupt at once by kicking the
 * vCPU out of KVM_RUN, and the state digests that identify the exact point
 * where it landed (docs/async.md).
 *
 * The rule that keeps record and replay in step: at a kick
 * (KVM_EXIT_INTR) the VMM either does nothing at all, or injects an
 * interrupt (an asynchronous event). It never changes
 * request_interrupt_window there: window requests stay at synchronous exits.
 * A guest that cannot take the interrupt at the kick is kicked again
 * MACHINE_ASYNC_RETRY_NS later.
 *
 * KVM_EXIT_IRQ_WINDOW_OPEN is no synchronisation point either: on this
 * host KVM's emulator runs guest CPL0 code in batches and checks the window
 * between them, so the exit's RIP varies from run to run. An injection
 * there is an asynchronous event as well (act->async), and a replay never
 * requests the window.
 *
 * The point is identified by the general registers and RFLAGS, a digest of
 * the XSAVE area, and a digest of the guest pages written since the
 * previous asynchronous event (KVM's dirty log, api.rst 4.8
 * KVM_GET_DIRTY_LOG, which also clears the log).
 */
#ifndef KVMRR_MACHINE_ASYNC_H
#define KVMRR_MACHINE_ASYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "vcpu/guest_mem.h"

struct machine;
struct machine_irq_action;

/* A guest that could not take the interrupt at a kick is kicked again this much later. */
#define MACHINE_ASYNC_RETRY_NS 75000ULL

/*
 * Before an entry that follows a kick: inject the pending interrupt if the
 * guest can take it now (act->async set), else arm a retry kick. Leaves
 * request_interrupt_window alone. 0 or -errno (KVM_INTERRUPT failed; the
 * run's end says why).
 */
int machine_async_inject(struct machine *m, struct machine_irq_action *act, uint64_t now);

/*
 * Arm the kick timer for the next device deadline (and the run's timeout),
 * or MACHINE_ASYNC_RETRY_NS after now (CLOCK_MONOTONIC ns) if retry. Cheap: one timer_settime
 * only when the kick must come earlier than the one armed.
 */
void machine_async_arm(struct machine *m, bool retry, uint64_t now);

#endif
