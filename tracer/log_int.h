/* SPDX-License-Identifier: MIT */
/* Private to tracer/log.c and tracer/log_lanes.c: the log's state. */
#ifndef KVMRR_TRACER_LOG_INT_H
#define KVMRR_TRACER_LOG_INT_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "stream/write.h"
#include "tracer/log.h"
#include "tracer/ring.h"

/*
 * One producer's ring (a lane) and the writer's assembly state for it: lane
 * 0 is the recorder's; tracer_log_lane_add() adds one per further producer
 * thread (a traced VMM's vCPU threads, trace/).
 */
struct tracer_log_lane {
	struct tracer_ring ring;
	struct stream_rec cur;   /* record being assembled from continuation slots */
	uint32_t cur_slots_left, cur_off;
	uint32_t taken;          /* writer: ring index up to which slots were consumed */
	uint8_t *buf;            /* STREAM_DATA_MAX */
	_Atomic uint32_t committed;   /* ring index up to which rows are committed */
};

struct tracer_log {
	char path[PATH_MAX];
	sqlite3 *db;
	struct stream_writer w;
	pthread_mutex_t db_lock;
	pthread_t writer;
	bool writer_started;
	struct tracer_log_lane *lane[TRACER_LOG_LANES];
	_Atomic uint32_t nlanes;     /* lanes published to the writer */
	pthread_mutex_t lane_lock;   /* tracer_log_lane_add callers */
	uint32_t ring_records;
	uint32_t batch_rows;
	uint64_t batch_ns;
	uint64_t wal_checkpoint_ns;  /* copy the WAL into the main file this often */
	uint64_t last_wal_checkpoint_ns;
	bool wal_checkpoint_due;     /* a commit since the last checkpoint */

	/* writer-thread state */
	bool in_txn;
	uint64_t txn_start_ns;
	uint32_t txn_rows;
	int64_t last_seq;        /* of the last record taken, for error messages */

	_Atomic int flush;
	_Atomic int stop;
	_Atomic int error;            /* -errno once the writer failed */
	pthread_mutex_t err_lock;
	char err_msg[PATH_MAX + 1024];
};

#endif
