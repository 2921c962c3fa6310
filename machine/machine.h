/* SPDX-License-Identifier: MIT */
/*
 * A minimal VMM over vcpu/: one vCPU, guest RAM, userspace devices, and the
 * one run loop. Record and replay plug into that loop through struct
 * machine_hook; there is no second loop.
 */
#ifndef KVMRR_MACHINE_MACHINE_H
#define KVMRR_MACHINE_MACHINE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/err.h"
#include "vcpu/vcpu.h"
#include "vcpu/guest_mem.h"
#include "machine/bus.h"
#include "machine/devices.h"
#include "machine/kick.h"
#include "machine/tsc_scan.h"

#define MACHINE_DEFAULT_MEM (256ULL << 20)

/* Fixed guest ABI, shared with guests/ (see guests/rt/abi.h). */
#define PORT_DEBUG_EXIT   0xf4
#define PORT_ENTROPY      0x5e0
#define MMIO_TEST_GPA     0xd0000000ULL
#define MMIO_TEST_SIZE    0x1000ULL

struct machine_config {
	uint64_t mem_size;            /* bytes */
	const char *guest_path;       /* PVH or multiboot ELF, or a bzImage */
	const char *initrd_path;      /* NULL: none */
	const char *cmdline;          /* NULL: "" */
	const char *serial_in_path;   /* NULL: no input; "-": stdin */
	int serial_out_fd;            /* where the UART writes (stdout by default) */
	uint64_t max_exits;           /* 0: no limit */
	double timeout_sec;           /* 0: none */
	const char *cpu_features;     /* "-cx16,+foo" edits of the CPUID profile, or NULL */
	bool host_cpuid;              /* --host-cpuid: skip the deterministic profile */
	bool verbose;
	bool dirty_log;                /* KVM_MEM_LOG_DIRTY_PAGES on RAM (asynchronous events) */
	bool irq_at_exits;            /* inject only at exits: no kicks for interrupts (machine/async.h) */
	bool no_devices;              /* replay: no device models, the log answers */
	bool tsc_native;              /* --tsc native: leave RDTSC/RDTSCP unpatched */
	const struct kvm_cpuid2 *cpuid;  /* replay: the recorded CPUID table, used as is */
};

/* How a run ended; stored in recordings, so values are stable. */
enum machine_end {
	END_NONE = 0,          /* still running */
	END_GUEST_EXIT,        /* debug-exit port: code = (value << 1) | 1 */
	END_HALT,              /* HLT with interrupts disabled and nothing pending */
	END_SHUTDOWN,          /* triple fault */
	END_INTERNAL_ERROR,    /* KVM could not emulate, etc. */
	END_FAIL_ENTRY,
	END_TIMEOUT,
	END_SIGNAL,            /* SIGINT / SIGTERM */
	END_MAX_EXITS,
	END_ERROR,             /* a VMM failure (ioctl, I/O), not the guest's doing */
	END_UNHANDLED_EXIT,    /* an exit reason the VMM does not handle */
	END_DIVERGED,          /* replay only */
	END_UNTIL,             /* replay only: reached --until */
	END_INCOMPLETE,        /* replay only: the end of an incomplete recording */
	END_LOG_END,           /* replay only: every recorded exit was replayed */
	END_COUNT
};

/* Exit statuses of `kvmrr run` (and of record) for each way a run ends; README "Using it". */
enum machine_status {
	STATUS_HALT = 0,            /* guest halted for good */
	STATUS_ERROR = 2,           /* usage or VMM error */
	STATUS_SHUTDOWN = 4,        /* triple fault */
	STATUS_INTERNAL_ERROR = 6,  /* KVM could not run or emulate the guest */
	STATUS_TIMEOUT = 8,
	STATUS_MAX_EXITS = 10,
	STATUS_SIGNAL = 12,
	STATUS_UNHANDLED_EXIT = 14,
	STATUS_DIVERGED = 16,
};
const char *machine_end_name(enum machine_end end);

struct stream_dirty;

struct machine {
	struct machine_config cfg;
	int kvm_fd;
	int vm_fd;
	struct vcpu vcpu;
	struct guest_mem mem;
	struct kvm_cpuid2 *cpuid;     /* what the vCPU got (KVM_SET_CPUID2) */
	int tsc_khz;

	struct bus pio;
	struct bus mmio;
	struct devices dev;
	bool devices_up;
	int serial_in_fd;             /* ours to close; -1: none */
	const char *loader;           /* "pvh", "multiboot", "bzimage" after machine_load */

	uint64_t exits;               /* exits handled so far (== next seq) */
	enum machine_end end;
	int guest_code;               /* END_GUEST_EXIT: the process exit status */
	int error;                    /* END_ERROR: -errno */
	char end_detail[512];         /* one line on why it ended, for the report */

	volatile sig_atomic_t *stop;  /* set by a signal handler: end with END_SIGNAL */
	uint64_t deadline_ns;         /* CLOCK_MONOTONIC; 0 none */
	uint32_t last_reason;         /* reason of the last exit (KVM_EXIT_INTR: a kick) */
	struct machine_kick kick;     /* the timer that kicks the vCPU out of KVM_RUN (machine/kick.h) */
	/* Pages written since the load (stream/digest.h): every stream_dirty_collect ORs into it. */
	struct stream_dirty *written;
	/*
	 * Every set of written pages kept by someone (stream_dirty_attach): each
	 * KVM_GET_DIRTY_LOG clears the kernel's log, so each collect feeds them all.
	 */
	struct stream_dirty *dirty_sets[4];
	unsigned int ndirty_sets;
	/* A page the VMM itself wrote (KVM's dirty log does not see those): set by stream_dirty_attach. */
	void (*vmm_wrote)(struct machine *m, uint64_t gpa);
	struct tsc_sites tsc_sites;   /* patched RDTSC/RDTSCP (machine/tsc.c) */
	int64_t tsc_offset;           /* guest TSC - host TSC, read once */
	bool tsc_offset_known;
	uint64_t tsc_exits;           /* HLT exits at patched sites */
	uint64_t int3_delivered;      /* #BP delivered by the VMM (machine/exception.c) */
	uint64_t clac_stac_emulated;  /* CLAC/STAC/FWAIT executed by the VMM (machine/exception.c) */
};

/*
 * Create the VM, RAM, the vCPU with the CPUID profile, and the devices.
 * No guest is loaded (replay restores one instead). On failure returns
 * -errno and writes a message to err.
 */
int machine_create(struct machine *m, const struct machine_config *cfg, struct err *err);
/* Load cfg->guest_path (+initrd, cmdline) and set the boot vCPU state. */
int machine_load(struct machine *m, struct err *err);
void machine_destroy(struct machine *m);

/*
 * The hook record and replay implement. A NULL hook (or NULL members) gives
 * a plain `kvmrr run`.
 *
 * before_entry: called before every KVM_RUN; the default injects pending
 *   interrupts (machine_deliver_irqs).
 * on_exit: called once per exit, with the host TSC read right before
 *   KVM_RUN and right after it returned. The default handles the exit with
 *   the device models (machine_handle_exit).
 * Both return 0 to go on, or -errno to end the run with END_ERROR. To end
 * the run otherwise they set m->end.
 */
struct machine_hook {
	int (*before_entry)(void *ctx, struct machine *m);
	int (*on_exit)(void *ctx, struct machine *m, struct vcpu_exit *exit,
		       uint64_t tsc_entry, uint64_t tsc_exit);
	void *ctx;
};

/* Run until m->end is set. Returns 0, or -errno if the VMM itself failed. */
int machine_run(struct machine *m, const struct machine_hook *hook);

/* The default exit handler: devices, HLT waits, end conditions. */
int machine_handle_exit(struct machine *m, struct vcpu_exit *exit);

/* What machine_deliver_irqs did before an entry, so a recorder can log it. */
struct machine_irq_action {
	int injected_vector;          /* -1: none */
	bool window_requested;        /* request_interrupt_window set for this entry */
	bool async;                   /* injected at a kick (KVM_EXIT_INTR): an asynchronous event */
};
int machine_deliver_irqs(struct machine *m, struct machine_irq_action *act);
/*
 * The VMM's actions on the guest, the same for a live run and a replay:
 * inject an interrupt (KVM_INTERRUPT; a failure ends the run with
 * END_ERROR and returns -errno), ask for an exit when the guest can take
 * one (request_interrupt_window).
 */
int machine_inject_irq(struct machine *m, int vector);
void machine_set_irq_window(struct machine *m, bool on);
/*
 * Inject the PIC's pending interrupt if the vCPU can take it right now.
 * Returns 1 (injected, act->injected_vector set), 0 (nothing pending, or
 * the vCPU cannot take it) or -errno; *waiting: an interrupt still waits.
 */
int machine_inject_pending(struct machine *m, struct machine_irq_action *act, bool *waiting);

/* Print the vCPU registers, for reports of triple faults, timeouts and errors. */
void machine_dump_regs(struct machine *m, FILE *out);
/* Only the general registers, RIP and RFLAGS / only control, segment and table registers. */
void machine_dump_gprs(struct machine *m, FILE *out);
void machine_dump_sregs(struct machine *m, FILE *out);

/* Fill end/end_detail for KVM_EXIT_INTERNAL_ERROR with RIP and the instruction bytes. */
void machine_describe_internal_error(struct machine *m, const struct vcpu_exit *exit);
/* Up to len bytes of code at CS:RIP through the guest page tables; returns how many. */
int machine_read_code(struct machine *m, uint8_t *buf, int len);
/*
 * Deliver #BP for the INT3 at CS:RIP (64-bit mode, CPL0) as the CPU does:
 * IDT gate 3, IST stack, 64-bit frame, RFLAGS bits cleared, RIP = handler.
 * 0; -ENOENT if RIP holds no INT3 at CPL0 in 64-bit mode; other -errno with
 * why filled if the gate, TSS or stack is unusable.
 */
int machine_deliver_int3(struct machine *m, char *why, size_t whylen);
/*
 * At an emulation-failure exit, execute what the VMM can execute itself
 * (INT3, CLAC, STAC, FWAIT). 1: done, the guest goes on; 0: not one of those (the caller
 * reports the failure); -errno: it was one but could not be done (m->end set).
 */
int machine_fixup_emulation_failure(struct machine *m, const struct vcpu_exit *exit);
/*
 * At a HLT exit: if RIP-1 is a patched RDTSC/RDTSCP site, give the guest
 * what it would have read (recorded = NULL: the guest TSC now, and TSC_AUX;
 * else the recorded bytes, replay), set EAX/EDX (and ECX), RIP past the
 * site, and keep the bytes given in exit->hlt. 1: a site; 0: a real HLT;
 * -errno (m->end set).
 */
int machine_tsc_exit(struct machine *m, struct vcpu_exit *exit, const uint8_t *recorded, size_t len);
/* End the run (first end wins) with a one-line reason. */
void machine_set_end(struct machine *m, enum machine_end end, const char *detail);

/* Exit status of `kvmrr run` for an end (guest code for END_GUEST_EXIT). */
int machine_exit_status(const struct machine *m);

#endif
