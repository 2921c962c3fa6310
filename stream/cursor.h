/* SPDX-License-Identifier: MIT */
/*
 * The reader's side of the stream: one cursor over a recording that yields,
 * in seq order, each exit together with what the VMM did after it (its
 * events and, for an asynchronous injection, the point), already sorted
 * into synchronisation points and exits the VMM caused (stream_sync_of).
 * Rows are read with prepared statements stepping in seq order; the log is
 * never loaded whole. Every value read is range-checked: an impossible one
 * is an error (-EINVAL, "corrupt recording: ..."), never truncated.
 */
#ifndef KVMRR_STREAM_CURSOR_H
#define KVMRR_STREAM_CURSOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sqlite3.h>

#include "common/err.h"
#include "stream/seal.h"
#include "stream/stream.h"

/* The recorder writes at most an injection and a window change after an exit. */
#define STREAM_ITEM_EVENTS 4

struct stream_item {
	bool has_exit;                  /* false: the events before the first exit */
	struct stream_rec exit;         /* kind STREAM_EXIT */
	const uint8_t *data;            /* its exit.len bytes: valid until the next call */
	uint64_t ticks;                 /* recorded TSC ticks from the start to this exit */
	enum stream_sync sync;
	struct stream_rec events[STREAM_ITEM_EVENTS];   /* what the VMM did after it, in order */
	unsigned int nevents;
	bool has_point;                 /* an async_irq among the events: where it was injected */
	struct stream_point point;
};

struct stream_cursor {
	sqlite3 *db;
	sqlite3_stmt *exits, *events, *points;
	struct stream_seal_check seal;  /* format 4 on: rows checked against their seals */
	bool irq_async;                 /* meta.irq_delivery = async */
	int64_t after;                  /* the exit the cursor started after (-1: the start) */
	bool started, exits_done;
	bool have_event, have_point;
	struct stream_rec event;        /* the next event row, not yet given out */
	struct stream_point point;      /* the next async_point row */
	uint64_t ticks;
	uint64_t rows;                  /* exit rows read */
	int64_t last_seq;               /* seq of the last exit row read */
	int64_t gap_seq;                /* the first seq with no row (rows missing), -1: none */
	uint64_t total_exits;           /* max(seq) + 1 (count(*) reads every row: 0.5 s at 10^7) */
	uint8_t data[STREAM_DATA_MAX];
};

/*
 * Prepare the readers on an open, format-checked recording, positioned
 * right after exit `after` (-1: at the start; else a checkpoint's seq, with
 * its recorded ticks): the first item then holds the events that followed
 * that exit. 0 or -errno + e.
 */
int stream_cursor_open(struct stream_cursor *c, sqlite3 *db, int64_t after, uint64_t ticks, struct err *e);
void stream_cursor_close(struct stream_cursor *c);
/* The next item: 1, 0 at the end of the recording, -errno + e. */
int stream_cursor_next(struct stream_cursor *c, struct stream_item *it, struct err *e);

/*
 * The synchronisation point nearest seq (stream_sync_of, asked of the
 * tables): the last at or before it, or with after the first after it.
 * -1: none.
 */
int64_t stream_sync_seq(sqlite3 *db, int64_t seq, bool after);

#endif
