/* SPDX-License-Identifier: MIT */
/*
 * The recorded stream: every exit, and everything the VMM did to the guest
 * after it, in seq order. One kind enum and one record type serve the
 * recorder's ring (tracer/), the SQLite writer (stream/write.c) and the
 * replay reader (stream/cursor.h); which exits are synchronisation points
 * is decided here, once (stream_sync_of).
 */
#ifndef KVMRR_STREAM_STREAM_H
#define KVMRR_STREAM_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/kvm.h>

/*
 * Longest data one exit carries: a REP string IO exit is at most a page on
 * hardware-virt hosts (KVM hands userspace up to a page of it at once), an
 * internal error 4 + 16 * 8 bytes, an MMIO access 8. The SQLite column, the
 * ring and the replay check all take this one bound.
 */
#define STREAM_DATA_MAX 65536

/*
 * What a record is. STREAM_EXIT is a row of table exit; the others are rows
 * of table event (their numbers are event.kind, stable in the format).
 */
enum stream_kind {
	STREAM_EXIT = 0,
	STREAM_IRQ = 1,         /* value = vector, injected with KVM_INTERRUPT at an exit */
	STREAM_NMI = 2,         /* reserved in the format: the machine injects no NMIs */
	STREAM_IRQ_WINDOW = 3,  /* value = new request_interrupt_window (0/1), on change */
	STREAM_ASYNC_IRQ = 4,   /* value = vector, injected at a kick; carries a struct stream_point */
	STREAM_VCPU_EVENTS = 5, /* a traced VMM's KVM_SET_VCPU_EVENTS: value = the interrupt it injects, or -1 */
	STREAM_KIND_COUNT
};
/* "exit", "irq", "nmi", "irq_window", "async_irq"; NULL for a code this build does not know. */
const char *stream_kind_name(unsigned int kind);

/* vcpu ids a record can name. */
#define STREAM_MAX_VCPUS 64

enum stream_dir { STREAM_DIR_IN = 0, STREAM_DIR_OUT = 1, STREAM_DIR_NONE = 0xff };

/*
 * One record: one ring slot of 64 bytes. Data over 8 bytes follows in
 * ceil(len / 64) raw slots in the ring, and in a buffer everywhere else.
 */
struct stream_rec {
	uint8_t kind;            /* enum stream_kind */
	uint8_t dir;             /* exits: enum stream_dir (NONE: no port/gpa access) */
	uint16_t vcpu;
	uint32_t len;            /* data bytes, <= STREAM_DATA_MAX */
	int64_t seq;             /* exit: its ordinal; event: the exit it follows (-1: before the first) */
	union {
		struct {
			uint32_t reason;         /* KVM_EXIT_* */
			uint32_t size;           /* access size (IO: 1/2/4, MMIO: 1..8) */
			uint64_t tsc_entry;      /* host TSC right before KVM_RUN */
			uint64_t tsc_exit;       /* host TSC right after it returned */
			uint64_t rip;            /* STREAM_RIP_NONE: not known (column rip NULL) */
			uint64_t addr;           /* port or gpa */
		} exit;
		struct {
			int64_t value;           /* vector, or window 0/1 */
		} event;
	};
	uint8_t data[8];
};
/* exit.rip of an exit whose RIP the recorder did not read (kvmrr trace without --regs). */
#define STREAM_RIP_NONE UINT64_MAX
_Static_assert(sizeof(struct stream_rec) == 64, "a record is one ring slot");

/*
 * Where an asynchronous interrupt was injected: the vCPU state that
 * identifies the instruction exactly (stream/point.h), the data of an
 * STREAM_ASYNC_IRQ record and a row of table async_point.
 */
struct stream_point {
	int64_t seq;               /* the exit (KVM_EXIT_INTR or IRQ_WINDOW_OPEN) it followed */
	uint32_t vcpu;
	uint32_t cpl;
	struct kvm_regs regs;      /* general registers, rip and rflags */
	uint64_t xsave_digest;     /* stream_xsave_digest */
	uint64_t mem_digest;       /* stream_dirty_digest of the pages written since the previous point */
	uint32_t dirty_pages;
	uint32_t pad;
};

struct vcpu_exit;

/*
 * The record of an exit: reason, and for IO/MMIO port or gpa, size,
 * direction and the data (size * count bytes of a REP string IO); for an
 * internal error the suberror and its data words. Returns the data (in the
 * exit, or in scratch: 4 + 16 * 8 bytes), r->len bytes of it; seq, vcpu,
 * rip and the TSCs are the caller's.
 */
const void *stream_rec_of_exit(struct stream_rec *r, const struct vcpu_exit *exit, uint8_t *scratch);
#define STREAM_SCRATCH (4 + 16 * 8)

/*
 * NULL if exit b (data bd) is the same exit as the recorded a (data ad),
 * else what differs first: reason, port/gpa, size, direction, length,
 * written data (all of it), rip. The data of an IN or MMIO read is not the
 * guest's doing and is not compared.
 */
const char *stream_rec_differs(const struct stream_rec *a, const uint8_t *ad,
			       const struct stream_rec *b, const uint8_t *bd);

/* What replay does with a recorded exit. */
enum stream_sync {
	STREAM_SYNC_EXIT,    /* a synchronisation point: the replayed exit must match it */
	STREAM_SYNC_ASYNC,   /* the VMM's kick before an asynchronous injection: reach its point */
	STREAM_SYNC_NONE,    /* the VMM caused it and changed nothing: not reproduced, skipped */
};

/*
 * The one rule. KVM_EXIT_INTR is the VMM's kick; with asynchronous delivery
 * (meta.irq_delivery = async) KVM_EXIT_IRQ_WINDOW_OPEN lands wherever KVM's
 * emulator stopped, so it is no synchronisation point either. Such an exit
 * followed by an async_irq is where an interrupt must be injected.
 */
static inline enum stream_sync stream_sync_of(uint32_t reason, bool irq_async, bool has_async_irq)
{
	if (reason != KVM_EXIT_INTR && !(irq_async && reason == KVM_EXIT_IRQ_WINDOW_OPEN))
		return STREAM_SYNC_EXIT;
	return has_async_irq ? STREAM_SYNC_ASYNC : STREAM_SYNC_NONE;
}

#endif
