/* SPDX-License-Identifier: MIT */
/* The replay's cursor, read ahead by a thread (replay/readahead.h). */
#include "replay/readahead.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/*
 * 512 items and 1 MiB of data: a few ms of replay ahead, and room for the
 * largest item's data (STREAM_DATA_MAX) whatever the ring holds.
 */
#define SLOTS 512u
#define BYTES (1u << 20)
_Static_assert(BYTES >= 2 * STREAM_DATA_MAX, "the largest item's data fits when the byte ring is half full");

struct replay_cursor_slot {
	struct stream_item it;
	int rc;                        /* stream_cursor_next's */
	uint64_t rows;                 /* the stream cursor's state after this item */
	int64_t last_seq, gap_seq;
	bool exits_done;
	uint64_t data_at, data_end;    /* its data in the byte ring (running counts) */
};

/* A field added to struct stream_item (stream/cursor.h) must be added to copy_item too. */
_Static_assert(sizeof(struct stream_item) == 544, "struct stream_item changed: update copy_item");

/* What stream_cursor_next wrote into it (the rest it leaves as it was). */
static void copy_item(struct stream_item *to, const struct stream_item *from)
{
	to->has_exit = from->has_exit;
	if (from->has_exit) {
		to->exit = from->exit;
		to->ticks = from->ticks;
	}
	to->sync = from->sync;
	to->nevents = from->nevents;
	memcpy(to->events, from->events, from->nevents * sizeof(from->events[0]));
	to->has_point = from->has_point;
	if (from->has_point)
		to->point = from->point;
}

/* The replay's view: the stream cursor's state after the item it takes. */
static void take_state(struct replay_cursor *c, uint64_t rows, int64_t last_seq, int64_t gap_seq, bool exits_done)
{
	c->rows = rows;
	c->last_seq = last_seq;
	c->exits_done = exits_done;
	/* The first gap not yet reported (the replay resets gap_seq once it did). */
	if (c->gap_seq < 0)
		c->gap_seq = gap_seq;
}

static bool room(struct replay_cursor *c, uint32_t head, uint64_t bytes_needed)
{
	return head - atomic_load(&c->tail) < SLOTS && bytes_needed - atomic_load(&c->bytes_tail) <= BYTES;
}

/* The reader: sleep while the ring is full (the replay wakes it when half of it is free). false: stop. */
static bool wait_room(struct replay_cursor *c, uint32_t head, uint64_t bytes_needed)
{
	if (room(c, head, bytes_needed))
		return !atomic_load(&c->stop);
	pthread_mutex_lock(&c->lock);
	atomic_store(&c->reader_sleeping, true);
	while (!atomic_load(&c->stop) && !room(c, head, bytes_needed))
		pthread_cond_wait(&c->reader_wake, &c->lock);
	atomic_store(&c->reader_sleeping, false);
	pthread_mutex_unlock(&c->lock);
	return !atomic_load(&c->stop);
}

static void put_bytes(struct replay_cursor *c, uint64_t at, const uint8_t *data, uint32_t n)
{
	uint32_t off = (uint32_t)(at & (BYTES - 1)), first = n < BYTES - off ? n : BYTES - off;

	memcpy(c->bytes + off, data, first);
	memcpy(c->bytes, data + first, n - first);
}

static void *reader(void *arg)
{
	struct replay_cursor *c = arg;
	uint64_t bytes = 0;
	int rc = 1;

	for (uint32_t head = 0; rc > 0; head++) {
		struct replay_cursor_slot *s = &c->slots[head % SLOTS];
		uint32_t n;

		if (!wait_room(c, head, bytes + STREAM_DATA_MAX))
			break;
		rc = stream_cursor_next(c->stream, &s->it, &c->err);
		n = s->it.has_exit ? s->it.exit.len : 0;
		put_bytes(c, bytes, s->it.data, n);
		s->data_at = bytes;
		s->data_end = bytes += n;
		s->rc = rc;
		s->rows = c->stream->rows;
		s->last_seq = c->stream->last_seq;
		s->gap_seq = c->stream->gap_seq;
		s->exits_done = c->stream->exits_done;
		c->stream->gap_seq = -1;   /* carried by this item: the next gap is the next item's */
		atomic_store(&c->bytes_head, bytes);
		atomic_store(&c->head, head + 1);
		if (atomic_load(&c->replay_sleeping)) {
			pthread_mutex_lock(&c->lock);
			pthread_cond_signal(&c->replay_wake);
			pthread_mutex_unlock(&c->lock);
		}
	}
	return NULL;
}

/* The reader's own connection to the recording's file; NULL (read on this thread) when there is none. */
static sqlite3 *open_again(sqlite3 *db)
{
	const char *path = sqlite3_db_filename(db, "main");
	sqlite3 *own = NULL;

	if (!path || !*path)
		return NULL;
	if (sqlite3_open_v2(path, &own, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		sqlite3_close(own);
		return NULL;
	}
	/*
	 * Reading forward needs few pages in cache. The default 2 MiB grows this
	 * thread's malloc arena page by page, each an mprotect that reaches KVM's
	 * MMU notifier (kvm_unmap_hva_range) while the guest runs.
	 */
	sqlite3_exec(own, "PRAGMA cache_size = -128", NULL, NULL, NULL);
	return own;
}

/*
 * The reader blocks every signal, as the recorder's writer does: SIGINT,
 * SIGTERM and the kick must land on the vCPU thread, where they interrupt
 * KVM_RUN.
 */
static bool start_reader(struct replay_cursor *c)
{
	sigset_t all, old;

	if (!c->slots) {
		c->slots = calloc(SLOTS, sizeof(*c->slots));
		c->bytes = malloc(BYTES);
		c->joined = malloc(STREAM_DATA_MAX);
	}
	if (!c->slots || !c->bytes || !c->joined)
		return false;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	c->threaded = pthread_create(&c->thread, NULL, reader, c) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return c->threaded;
}

static void stop_reader(struct replay_cursor *c)
{
	if (!c->threaded)
		return;
	pthread_mutex_lock(&c->lock);
	atomic_store(&c->stop, true);
	pthread_cond_signal(&c->reader_wake);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	c->threaded = false;
}

/* The first open: the stream cursor's memory, the reader's connection, the means to sleep. */
static int set_up(struct replay_cursor *c, sqlite3 *db, bool ahead, struct err *e)
{
	memset(c, 0, sizeof(*c));
	c->stream = calloc(1, sizeof(*c->stream));
	if (!c->stream)
		return err_set(e, -ENOMEM, "out of memory");
	c->db = ahead ? open_again(db) : NULL;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->reader_wake, NULL);
	pthread_cond_init(&c->replay_wake, NULL);
	c->open = true;
	return 0;
}

int replay_cursor_open(struct replay_cursor *c, sqlite3 *db, int64_t after, uint64_t ticks, bool ahead,
		       struct err *e)
{
	int rc = 0;

	if (!c->open)
		rc = set_up(c, db, ahead, e);
	else
		stop_reader(c), stream_cursor_close(c->stream);
	if (rc < 0)
		return rc;
	c->rows = 0;
	c->exits_done = false;
	c->gap_seq = -1;
	c->taken = false;
	atomic_store(&c->stop, false);
	atomic_store(&c->head, 0);
	atomic_store(&c->tail, 0);
	atomic_store(&c->bytes_head, 0);
	atomic_store(&c->bytes_tail, 0);
	/* Opened here, on the replay's thread: its errors are open's, as they were. */
	rc = stream_cursor_open(c->stream, c->db ? c->db : db, after, ticks, e);
	if (rc == 0) {   /* before the reader moves it */
		c->irq_async = c->stream->irq_async;
		c->total_exits = c->stream->total_exits;
		c->last_seq = c->stream->last_seq;
	}
	/* Without a thread, the stream cursor is stepped here on the replay's connection. */
	if (rc == 0 && c->db && !start_reader(c)) {
		stream_cursor_close(c->stream);
		sqlite3_close(c->db);
		c->db = NULL;
		rc = stream_cursor_open(c->stream, db, after, ticks, e);
	}
	if (rc < 0)
		replay_cursor_close(c);
	return rc;
}

/* Without a thread: the stream cursor itself, its state carried as the reader's would be. */
static int next_here(struct replay_cursor *c, struct stream_item *it, struct err *e)
{
	int rc = stream_cursor_next(c->stream, it, e);

	take_state(c, c->stream->rows, c->stream->last_seq, c->stream->gap_seq, c->stream->exits_done);
	c->stream->gap_seq = -1;
	return rc;
}

/* The replay is done with the item it took (and its data): the reader may reuse them. */
static void give_back(struct replay_cursor *c)
{
	uint32_t tail = atomic_load_explicit(&c->tail, memory_order_relaxed);
	uint64_t bytes_end = c->slots[tail % SLOTS].data_end;   /* read before the slot is the reader's again */

	atomic_store(&c->bytes_tail, bytes_end);
	atomic_store(&c->tail, tail + 1);
	c->taken = false;
	/* Half the slots and half the bytes free: room for a burst of reading (and the largest item). */
	if (atomic_load(&c->reader_sleeping) && atomic_load(&c->head) - (tail + 1) <= SLOTS / 2 &&
	    atomic_load(&c->bytes_head) - bytes_end <= BYTES / 2) {
		pthread_mutex_lock(&c->lock);
		pthread_cond_signal(&c->reader_wake);
		pthread_mutex_unlock(&c->lock);
	}
}

/* An item's data, where it lies in the byte ring, or made whole when it wraps around the end. */
static const uint8_t *data_of(struct replay_cursor *c, const struct replay_cursor_slot *s)
{
	uint32_t off = (uint32_t)(s->data_at & (BYTES - 1)), n = (uint32_t)(s->data_end - s->data_at);

	if (off + n <= BYTES)
		return c->bytes + off;
	memcpy(c->joined, c->bytes + off, BYTES - off);
	memcpy(c->joined + (BYTES - off), c->bytes, n - (BYTES - off));
	return c->joined;
}

int replay_cursor_next(struct replay_cursor *c, struct stream_item *it, struct err *e)
{
	const struct replay_cursor_slot *s;
	uint32_t tail;

	if (!c->threaded)
		return next_here(c, it, e);
	if (c->taken)
		give_back(c);
	tail = atomic_load_explicit(&c->tail, memory_order_relaxed);
	if (atomic_load(&c->head) == tail) {
		pthread_mutex_lock(&c->lock);
		atomic_store(&c->replay_sleeping, true);
		while (atomic_load(&c->head) == tail)
			pthread_cond_wait(&c->replay_wake, &c->lock);
		atomic_store(&c->replay_sleeping, false);
		pthread_mutex_unlock(&c->lock);
	}
	s = &c->slots[tail % SLOTS];
	copy_item(it, &s->it);
	it->data = data_of(c, s);
	take_state(c, s->rows, s->last_seq, s->gap_seq, s->exits_done);
	/* The end or an error stays where it is: asked again, the same answer. */
	if (s->rc < 0)
		*e = c->err;
	c->taken = s->rc > 0;
	return s->rc;
}

void replay_cursor_close(struct replay_cursor *c)
{
	if (!c->open)
		return;
	stop_reader(c);
	stream_cursor_close(c->stream);
	sqlite3_close(c->db);
	pthread_cond_destroy(&c->replay_wake);
	pthread_cond_destroy(&c->reader_wake);
	pthread_mutex_destroy(&c->lock);
	free(c->stream);
	free(c->slots);
	free(c->bytes);
	free(c->joined);
	memset(c, 0, sizeof(*c));
}
