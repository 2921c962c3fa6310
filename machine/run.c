/* SPDX-License-Identifier: MIT */
/*
 * The run loop, after kvmtool's kvm-cpu.c: KVM_RUN, one hook call, and one
 * switch on the exit reason in machine_handle_exit().
 */
#include "machine/machine.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>

#include "common/clock.h"
#include "machine/async.h"
#include "machine/kick.h"

static void set_end(struct machine *m, enum machine_end end, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_end(struct machine *m, enum machine_end end, const char *fmt, ...)
{
	va_list ap;

	if (m->end != END_NONE)
		return;
	m->end = end;
	va_start(ap, fmt);
	vsnprintf(m->end_detail, sizeof(m->end_detail), fmt, ap);
	va_end(ap);
}

void machine_set_end(struct machine *m, enum machine_end end, const char *detail)
{
	set_end(m, end, "%s", detail);
}

int machine_inject_irq(struct machine *m, int vector)
{
	int r = vcpu_interrupt(&m->vcpu, (uint32_t)vector);

	if (r < 0)
		set_end(m, END_ERROR, "KVM_INTERRUPT vector 0x%x: %s", vector, strerror(-r));
	return r;
}

void machine_set_irq_window(struct machine *m, bool on)
{
	vcpu_set_request_interrupt_window(&m->vcpu, on);
}

int machine_inject_pending(struct machine *m, struct machine_irq_action *act, bool *waiting)
{
	struct kvm_run *run = m->vcpu.run;
	int vector, r;

	*waiting = false;
	if (!dev_pic_has_pending(&m->dev.pic))
		return 0;
	/* KVM_INTERRUPT is only valid when the vCPU can take it (api.rst 4.16). */
	if (!run->ready_for_interrupt_injection || !run->if_flag) {
		*waiting = true;
		return 0;
	}
	vector = dev_pic_ack(&m->dev.pic);
	r = machine_inject_irq(m, vector);
	if (r < 0)
		return r;
	act->injected_vector = vector;
	*waiting = dev_pic_has_pending(&m->dev.pic);
	return 1;
}

int machine_deliver_irqs(struct machine *m, struct machine_irq_action *act)
{
	bool waiting = false;
	uint64_t now;
	int r;

	act->injected_vector = -1;
	act->async = false;
	if (m->last_reason == KVM_EXIT_INTR) {
		/* A kick: inject or do nothing, never touch the window (machine/async.h). */
		act->window_requested = m->vcpu.run->request_interrupt_window;
		if (m->cfg.irq_at_exits)
			return 0;
		now = clock_now_ns();
		devices_update(&m->dev, now);
		return machine_async_inject(m, act, now);
	}
	now = clock_now_ns();
	devices_update(&m->dev, now);
	r = machine_inject_pending(m, act, &waiting);
	if (r < 0)
		return r;
	/* The window-open exit lands wherever KVM's emulator stopped: asynchronous too. */
	if (r > 0 && m->last_reason == KVM_EXIT_IRQ_WINDOW_OPEN && !m->cfg.irq_at_exits)
		act->async = true;
	if (!m->cfg.irq_at_exits)
		machine_async_arm(m, false, now);
	act->window_requested = waiting;
	machine_set_irq_window(m, waiting);
	return 0;
}

/* ppoll until the next device deadline, serial input, or a signal. */
static void wait_for_interrupt(struct machine *m, uint64_t deadline)
{
	struct pollfd pfd = { .fd = dev_uart_wants_input(&m->dev.uart) ? m->dev.uart.in_fd : -1,
			      .events = POLLIN };
	uint64_t now = clock_now_ns();
	struct timespec ts;

	if (m->deadline_ns && m->deadline_ns < deadline)
		deadline = m->deadline_ns;
	if (deadline <= now)
		return;
	ts.tv_sec = (time_t)((deadline - now) / 1000000000ULL);
	ts.tv_nsec = (long)((deadline - now) % 1000000000ULL);
	ppoll(pfd.fd >= 0 ? &pfd : NULL, pfd.fd >= 0 ? 1 : 0,
	      deadline == UINT64_MAX ? NULL : &ts, NULL);
}

static int handle_hlt(struct machine *m)
{
	struct kvm_run *run = m->vcpu.run;
	uint64_t deadline;

	devices_update(&m->dev, clock_now_ns());
	if (dev_pic_has_pending(&m->dev.pic) && run->if_flag)
		return 0;
	deadline = devices_next_deadline_ns(&m->dev);
	if (!run->if_flag || (deadline == UINT64_MAX && !dev_uart_wants_input(&m->dev.uart))) {
		set_end(m, END_HALT, "guest halted with interrupts %s and no interrupt pending",
			run->if_flag ? "enabled but no interrupt source" : "disabled");
		return 0;
	}
	wait_for_interrupt(m, deadline);
	return 0;
}

static void handle_debug_exit(struct machine *m, const struct vcpu_exit_io *io)
{
	uint32_t value = 0;

	memcpy(&value, io->data, io->size < 4 ? io->size : 4);
	m->guest_code = (int)((value << 1) | 1);
	set_end(m, END_GUEST_EXIT, "guest wrote 0x%x to the debug-exit port: exit status %d",
		value, m->guest_code & 0xff);
}

static int handle_io(struct machine *m, struct vcpu_exit_io *io)
{
	uint64_t now = clock_now_ns();

	for (uint32_t i = 0; i < io->count; i++) {
		uint8_t *data = io->data + (size_t)i * io->size;
		int r;

		if (!io->in && io->port == PORT_DEBUG_EXIT) {
			handle_debug_exit(m, io);
			return 0;
		}
		r = bus_access(&m->pio, io->port, io->size, !io->in, data, now);
		if (r < 0) {
			set_end(m, END_ERROR, "port 0x%x %s size %u: %s", io->port,
				io->in ? "IN" : "OUT", io->size, strerror(-r));
			return r;
		}
	}
	return 0;
}

static int handle_mmio(struct machine *m, struct vcpu_exit_mmio *mmio)
{
	int r = bus_access(&m->mmio, mmio->gpa, mmio->len, mmio->write, mmio->data, clock_now_ns());

	if (r < 0)
		set_end(m, END_ERROR, "MMIO 0x%" PRIx64 " %s len %u: %s", mmio->gpa,
			mmio->write ? "write" : "read", mmio->len, strerror(-r));
	return r < 0 ? r : 0;
}

int machine_handle_exit(struct machine *m, struct vcpu_exit *exit)
{
	switch (exit->reason) {
	case KVM_EXIT_IO:
		return handle_io(m, &exit->io);
	case KVM_EXIT_MMIO:
		return handle_mmio(m, &exit->mmio);
	case KVM_EXIT_HLT: {
		int r = machine_tsc_exit(m, exit, NULL, 0);

		return r != 0 ? 0 : handle_hlt(m);   /* a patched RDTSC site, or its error (m->end set) */
	}
	case KVM_EXIT_IRQ_WINDOW_OPEN:
	case KVM_EXIT_INTR:
		return 0;   /* before_entry injects; the loop checks stop and timeout */
	case KVM_EXIT_SHUTDOWN:
		set_end(m, END_SHUTDOWN, "triple fault (KVM_EXIT_SHUTDOWN)");
		return 0;
	case KVM_EXIT_INTERNAL_ERROR:
		if (machine_fixup_emulation_failure(m, exit) == 0)
			machine_describe_internal_error(m, exit);
		return 0;
	case KVM_EXIT_FAIL_ENTRY:
		set_end(m, END_FAIL_ENTRY, "KVM_EXIT_FAIL_ENTRY: hardware entry failure reason 0x%" PRIx64
			" on cpu %u", exit->fail_entry.hardware_entry_failure_reason, exit->fail_entry.cpu);
		return 0;
	case KVM_EXIT_SYSTEM_EVENT:
		set_end(m, END_SHUTDOWN, "system event %u (shutdown/reset)", exit->system_event.type);
		return 0;
	default:
		set_end(m, END_UNHANDLED_EXIT, "unhandled exit %s (%u)",
			vcpu_exit_reason_name(exit->reason), exit->reason);
		return 0;
	}
}

/* Stop, timeout and exit-budget checks, once per loop turn. */
static bool should_stop(struct machine *m)
{
	if (m->stop && *m->stop)
		set_end(m, END_SIGNAL, "ended by signal");
	else if (m->deadline_ns && clock_now_ns() >= m->deadline_ns)
		set_end(m, END_TIMEOUT, "timeout after %.1f s", m->cfg.timeout_sec);
	else if (m->cfg.max_exits && m->exits >= m->cfg.max_exits)
		set_end(m, END_MAX_EXITS, "reached --max-exits %" PRIu64, m->cfg.max_exits);
	else if (m->dev.uart.in_error)   /* never taken as the end of the input */
		set_end(m, END_ERROR, "serial input %s: read failed: %s",
			m->cfg.serial_in_path ? m->cfg.serial_in_path : "(fd)", strerror(m->dev.uart.in_error));
	return m->end != END_NONE;
}

int machine_run(struct machine *m, const struct machine_hook *hook)
{
	static const struct machine_hook none;
	struct vcpu_exit exit;
	int r = 0;

	if (!hook)
		hook = &none;
	if (m->cfg.timeout_sec > 0)
		m->deadline_ns = clock_now_ns() + (uint64_t)(m->cfg.timeout_sec * 1e9);
	r = machine_kick_start(m);
	if (r < 0) {
		set_end(m, END_ERROR, "cannot arm the vCPU kick timer: %s", strerror(-r));
		return r;
	}
	while (!should_stop(m)) {
		struct machine_irq_action act;
		uint64_t t0, t1;

		r = hook->before_entry ? hook->before_entry(hook->ctx, m) : machine_deliver_irqs(m, &act);
		if (r < 0 || m->end != END_NONE)
			break;
		t0 = clock_rdtsc();
		r = vcpu_run(&m->vcpu, &exit);
		t1 = clock_rdtsc();
		if (r < 0) {
			set_end(m, END_ERROR, "KVM_RUN: %s", strerror(-r));
			break;
		}
		if (exit.reason == KVM_EXIT_INTR)
			vcpu_set_immediate_exit(&m->vcpu, false);
		m->last_reason = exit.reason;
		r = hook->on_exit ? hook->on_exit(hook->ctx, m, &exit, t0, t1) : machine_handle_exit(m, &exit);
		m->exits++;
		if (r < 0)
			break;
	}
	machine_kick_stop(m);
	if (r < 0) {
		m->error = r;
		set_end(m, END_ERROR, "%s", strerror(-r));
	}
	return r < 0 ? r : 0;
}
