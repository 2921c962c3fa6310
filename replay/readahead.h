/* SPDX-License-Identifier: MIT */
/*
 * The replay's cursor: stream/cursor.h read ahead by a thread, the mirror
 * of the recorder's writer thread. The reader thread steps its own
 * connection to the recording (the replay's is NOMUTEX and stays with the
 * vCPU thread) and fills a ring of items; replay_cursor_next pops one, so
 * the vCPU thread runs no SQLite per exit. The ring's slots hold the items
 * the stream cursor filled; their data bytes go to a byte ring beside it.
 *
 * What the replay sees is the cursor as it stood after the item it last
 * took: the fields below are those of struct stream_cursor, carried with
 * each item. An error the stream cursor returns waits in the ring until
 * the replay asks for that item: a replay that stops before it never sees
 * it, as when it read row by row.
 *
 * A recording with no file name (in memory) is read on the caller's thread.
 */
#ifndef KVMRR_REPLAY_READAHEAD_H
#define KVMRR_REPLAY_READAHEAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sqlite3.h>

#include "common/err.h"
#include "stream/cursor.h"

struct replay_cursor_slot;

struct replay_cursor {
	/* The stream cursor's state after the last item taken (struct stream_cursor's meaning). */
	bool irq_async;
	uint64_t total_exits;
	uint64_t rows;
	int64_t last_seq;
	int64_t gap_seq;                /* the replay resets it to -1 once it reported the gap */
	bool exits_done;

	/* Below: the reader's. */
	sqlite3 *db;                    /* its own connection (NULL: read on the caller's thread) */
	struct stream_cursor *stream;   /* stepped by the thread while it runs */
	bool open, threaded, taken;     /* taken: the replay holds slot tail (its data) */
	pthread_t thread;
	struct replay_cursor_slot *slots;
	uint8_t *bytes;                 /* the items' data, in order */
	struct err err;                 /* the stream cursor's error, set before its slot is published */
	uint8_t *joined;                /* an item's data that wraps around the byte ring, made whole */
	pthread_mutex_t lock;           /* only to sleep and wake */
	pthread_cond_t reader_wake, replay_wake;
	_Alignas(64) _Atomic uint32_t head;   /* next slot the thread fills */
	_Atomic uint64_t bytes_head;          /* next data byte it writes (a running count) */
	_Atomic bool stop, reader_sleeping;
	_Alignas(64) _Atomic uint32_t tail;   /* next slot the replay takes */
	_Atomic uint64_t bytes_tail;
	_Atomic bool replay_sleeping;
};

/*
 * stream_cursor_open on the recording db (the replay's connection: the
 * reader opens its own on the same file), then start reading ahead. c is
 * zeroed, closed, or open: an open cursor is moved (a checkpoint restored),
 * keeping its connection and rings. 0 or -errno + e (then c is closed), the
 * stream cursor's errors as they are. !ahead: read on the caller's thread.
 */
int replay_cursor_open(struct replay_cursor *c, sqlite3 *db, int64_t after, uint64_t ticks, bool ahead,
		       struct err *e);
/* The next item, as stream_cursor_next: 1, 0 at the end, -errno + e. it->data: valid until the next call. */
int replay_cursor_next(struct replay_cursor *c, struct stream_item *it, struct err *e);
/* Stop the reader and close. A zeroed or closed cursor may be closed again. */
void replay_cursor_close(struct replay_cursor *c);

#endif
