/* SPDX-License-Identifier: MIT */
/* Private to tracer/log*.c: the ring record and the writer's state. */
#ifndef KVMRR_TRACER_LOG_INT_H
#define KVMRR_TRACER_LOG_INT_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sqlite3.h>

#include "tracer/log.h"
#include "tracer/ring.h"

#define LOG_MAX_VCPUS 64
#define DIR_NONE 0xff
/* Exit rows per INSERT statement: one VDBE run for many rows (10 parameters each). */
#define LOG_MULTI 32

enum { REC_EXIT = 1, REC_EVENT = 2, REC_ASYNC = 3 };  /* REC_ASYNC: data = struct tracer_async_point */

/* One ring slot. Data over 8 bytes follows in ceil(len / 64) raw slots. */
struct log_rec {
	uint8_t type;
	uint8_t dir;             /* DIR_NONE: no access (addr/size/dir NULL) */
	uint16_t vcpu;
	uint32_t reason;         /* exit: KVM_EXIT_*; event: kind */
	uint32_t size;
	uint32_t len;
	uint64_t seq;            /* events: int64 seq (-1 before the first entry) */
	uint64_t tsc_entry;
	uint64_t tsc_exit;
	uint64_t rip;            /* events: value */
	uint64_t addr;
	uint8_t data[8];
};
_Static_assert(sizeof(struct log_rec) == TRACER_REC_SIZE, "a record is one ring slot");

/* An exit row decoded by the writer, its data inline (<= 8 bytes). */
struct log_pending {
	struct log_rec r;
	int64_t vmm_ticks;
};

struct tracer_log {
	char path[PATH_MAX];
	sqlite3 *db;
	sqlite3_stmt *ins_exit, *ins_exit_multi, *ins_event, *ins_async;
	pthread_mutex_t db_lock;
	pthread_t writer;
	bool writer_started;
	struct tracer_ring ring;
	uint32_t batch_rows;
	uint64_t batch_ns;

	/* writer-thread state */
	bool in_txn;
	uint64_t txn_start_ns;
	uint32_t txn_rows;
	struct log_rec cur;      /* record being assembled from continuation slots */
	uint32_t cur_slots_left, cur_off;
	uint8_t *buf;            /* TRACER_MAX_DATA */
	uint64_t prev_tsc_exit[LOG_MAX_VCPUS];
	struct log_pending pend[LOG_MULTI];   /* exit rows waiting for a multi-row INSERT */
	uint32_t npend;
	uint64_t tsc_base;

	_Atomic uint64_t exit_rows;
	_Atomic uint32_t committed;   /* ring index up to which rows are committed */
	_Atomic int flush;
	_Atomic int stop;
	_Atomic int error;            /* -errno once the writer failed */
	pthread_mutex_t err_lock;
	char err_msg[PATH_MAX + 1024];
};

/* Writer thread, log_sql.c: decode and insert one complete record; flush pending rows. */
void log_write_rec(struct tracer_log *l, const struct log_rec *r, const uint8_t *data);
void log_flush_pending(struct tracer_log *l);
/* Remember the writer's first failure (message + -errno); later rows are discarded. */
void log_writer_fail(struct tracer_log *l, int rc, const char *what, uint64_t seq);
/* Prepare the INSERT statements. */
int log_prepare(struct tracer_log *l, char *err, size_t errlen);

#endif
