/* SPDX-License-Identifier: MIT */
/*
 * replay/readahead.h against stream/cursor.h: on the same recording, the
 * cursor read ahead by a thread gives the items the stream cursor gives, in
 * the same order, with the same data, the same cursor state after each,
 * and the same error at the same item. The recording is made here with the
 * recorder's writer: exits with data of every size up to STREAM_DATA_MAX
 * (the byte ring wraps many times), events, a missing row, and optionally
 * a corrupt one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "replay/readahead.h"
#include "stream/format.h"
#include "stream/write.h"
#include "tests/test.h"

#define EXITS 4000
#define GAP_SEQ 1500       /* no row: the cursor reports the gap at the next exit */

static void exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	TEST_ASSERT(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK, "%s: %s", sql, msg ? msg : "");
}

/* Every 97th exit carries 60000 bytes, the others 0 to 16: 2.4 MB in all, the ring is 1 MiB. */
static int data_len(int seq)
{
	return seq % 97 == 0 ? 60000 : seq % 17;
}

static void write_rec(struct stream_writer *w, const struct stream_rec *r, const uint8_t *data)
{
	TEST_ASSERT(stream_write(w, r, data) == 0, "%s", w->err.msg);
}

/*
 * Written as the recorder writes (stream/write.h: sealed rows, in
 * transactions of 1000 seqs), then `edit` (SQL, NULL: none) on the file.
 */
static void make_recording(const char *path, const char *edit)
{
	sqlite3 *db = NULL;
	struct stream_writer *w = calloc(1, sizeof(*w));
	struct err e = { 0 };
	uint8_t *buf = malloc(STREAM_DATA_MAX);
	uint64_t tsc = 1000;

	TEST_ASSERT(buf && w, "malloc");
	unlink(path);
	TEST_ASSERT(sqlite3_open(path, &db) == SQLITE_OK, "open %s", path);
	TEST_ASSERT(stream_schema_create(db, &e) == 0, "%s", e.msg);
	exec(db, "INSERT OR REPLACE INTO meta VALUES ('irq_delivery', 'exits')");
	TEST_ASSERT(stream_writer_init(w, db, &e) == 0, "%s", e.msg);
	w->tsc_base = tsc;
	/* A window request before the first exit, then exits with an interrupt or a window change after some. */
	exec(db, "BEGIN");
	write_rec(w, &(struct stream_rec){ .kind = STREAM_IRQ_WINDOW, .dir = STREAM_DIR_NONE, .seq = -1,
					   .event.value = 1 }, NULL);
	for (int seq = 0; seq < EXITS; seq++) {
		struct stream_rec r = { .kind = STREAM_EXIT, .dir = STREAM_DIR_OUT, .seq = seq,
					.len = (uint32_t)data_len(seq) };

		if (seq % 1000 == 999) {
			TEST_ASSERT(stream_writer_flush(w) == 0 && stream_writer_seal(w) == 0, "%s", w->err.msg);
			exec(db, "COMMIT");
			exec(db, "BEGIN");
		}
		if (seq == GAP_SEQ)
			continue;
		r.exit.reason = KVM_EXIT_IO;
		r.exit.size = 1;
		r.exit.tsc_entry = tsc += 3;
		r.exit.tsc_exit = tsc += 5;
		r.exit.rip = 0x100000 + (uint64_t)seq;
		r.exit.addr = 0x3f8;
		for (uint32_t i = 0; i < r.len; i++)
			buf[i] = (uint8_t)(seq * 31 + (int)i);
		memcpy(r.data, buf, r.len < 8 ? r.len : 8);
		write_rec(w, &r, buf);
		if (seq % 13 == 0)
			write_rec(w, &(struct stream_rec){ .kind = STREAM_IRQ, .dir = STREAM_DIR_NONE, .seq = seq,
							   .event.value = 32 }, NULL);
		if (seq % 29 == 0)
			write_rec(w, &(struct stream_rec){ .kind = STREAM_IRQ_WINDOW, .dir = STREAM_DIR_NONE,
							   .seq = seq, .event.value = seq % 2 }, NULL);
	}
	TEST_ASSERT(stream_writer_flush(w) == 0 && stream_writer_seal(w) == 0, "%s", w->err.msg);
	exec(db, "COMMIT");
	stream_writer_fini(w);
	if (edit)
		exec(db, edit);
	sqlite3_close(db);
	free(buf);
	free(w);
}

/* Read ahead on a thread (false: the same cursor, read on the caller's thread). */
static bool ahead = true;
/* How the last compare ended: stream_cursor_next's last return and message. */
static int last_rc;
static char last_msg[ERR_MSG_MAX];

/*
 * Read the recording after exit `after` with both cursors, item by item;
 * moved_from >= 0: the read-ahead cursor was opened there first, read 700
 * items, and is moved (a checkpoint restored). Returns the number of items
 * compared.
 */
static long compare(const char *path, int64_t after, int64_t moved_from)
{
	sqlite3 *db = NULL, *db2 = NULL;
	struct stream_cursor *s = calloc(1, sizeof(*s));
	struct replay_cursor *r = calloc(1, sizeof(*r));
	struct stream_item *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct err ea = { 0 }, eb = { 0 };
	long n = 0;
	int ra, rb;

	TEST_ASSERT(s && r && a && b, "calloc");
	TEST_ASSERT(stream_recording_open(path, &db, &ea) == 0, "%s", ea.msg);
	TEST_ASSERT(stream_recording_open(path, &db2, &ea) == 0, "%s", ea.msg);
	TEST_ASSERT(stream_cursor_open(s, db2, after, 0, &ea) == 0, "%s", ea.msg);
	if (moved_from >= 0) {
		TEST_ASSERT(replay_cursor_open(r, db, moved_from, 0, ahead, &eb) == 0, "%s", eb.msg);
		for (int i = 0; i < 700; i++)
			TEST_ASSERT(replay_cursor_next(r, b, &eb) == 1, "%s", eb.msg);
	}
	TEST_ASSERT(replay_cursor_open(r, db, after, 0, ahead, &eb) == 0, "%s", eb.msg);
	TEST_ASSERT(r->threaded == ahead, "read on a thread: %d, wanted %d", r->threaded, ahead);
	TEST_ASSERT_EQ(r->total_exits, s->total_exits);
	TEST_ASSERT_EQ(r->irq_async, s->irq_async);
	do {
		ra = stream_cursor_next(s, a, &ea);
		rb = replay_cursor_next(r, b, &eb);
		TEST_ASSERT(ra == rb, "item %ld: stream cursor %d, read ahead %d (%s | %s)", n, ra, rb, ea.msg, eb.msg);
		if (ra < 0)
			TEST_ASSERT_STR_EQ(ea.msg, eb.msg);
		TEST_ASSERT_EQ(a->has_exit, b->has_exit);
		if (a->has_exit) {
			TEST_ASSERT(!memcmp(&a->exit, &b->exit, sizeof(a->exit)), "item %ld: exit seq %lld differs", n,
				    (long long)a->exit.seq);
			TEST_ASSERT(!memcmp(a->data, b->data, a->exit.len), "item %ld: exit seq %lld: data differ", n,
				    (long long)a->exit.seq);
			TEST_ASSERT_EQ(a->ticks, b->ticks);
		}
		TEST_ASSERT_EQ(a->sync, b->sync);
		TEST_ASSERT_EQ(a->nevents, b->nevents);
		TEST_ASSERT(!memcmp(a->events, b->events, a->nevents * sizeof(a->events[0])), "item %ld: events", n);
		TEST_ASSERT_EQ(a->has_point, b->has_point);
		TEST_ASSERT_EQ(r->rows, s->rows);
		TEST_ASSERT_EQ(r->last_seq, s->last_seq);
		TEST_ASSERT_EQ(r->exits_done, s->exits_done);
		TEST_ASSERT_EQ(r->gap_seq, s->gap_seq);
		s->gap_seq = r->gap_seq = -1;   /* reported, as replay_on_exit does */
		n++;
	} while (ra > 0);
	last_rc = ra;
	snprintf(last_msg, sizeof(last_msg), "%s", ea.msg);
	/* The end, or an error, is given again when asked again. */
	rb = replay_cursor_next(r, b, &eb);
	TEST_ASSERT(rb == ra, "asked again after %d: %d", ra, rb);
	replay_cursor_close(r);
	replay_cursor_close(r);
	stream_cursor_close(s);
	sqlite3_close(db);
	sqlite3_close(db2);
	free(a), free(b), free(r), free(s);
	return n;
}

static void tmp_path(char *buf, size_t len, const char *name)
{
	const char *dir = getenv("TMPDIR");

	snprintf(buf, len, "%s/kvmrr-readahead-%d-%s.db", dir && *dir ? dir : "/tmp", (int)getpid(), name);
}

TEST(same_items_as_the_stream_cursor)
{
	char path[256];
	long n;

	tmp_path(path, sizeof(path), "whole");
	make_recording(path, NULL);
	n = compare(path, -1, -1);
	TEST_ASSERT(n == EXITS + 1, "compared %ld items, wanted %d (the events before the first exit, "
		    "%d exits, the end)", n, EXITS + 1, EXITS - 1);
	/* From a checkpoint's seq (2002 has an interrupt): its events first, then the exits after it. */
	n = compare(path, 2002, -1);
	TEST_ASSERT(n == EXITS - 2002 + 1, "after 2002: compared %ld items, wanted %d", n, EXITS - 2002 + 1);
	/* Moved back from further on, and forward from the start. */
	TEST_ASSERT(compare(path, 2002, 2500) == n, "moved back to 2002: not the same items");
	TEST_ASSERT(compare(path, 2002, 0) == n, "moved forward to 2002: not the same items");
	ahead = false;
	TEST_ASSERT(compare(path, -1, -1) == EXITS + 1, "read on this thread: not the same items");
	TEST_ASSERT(compare(path, 2002, 2500) == n, "read on this thread, moved back: not the same items");
	ahead = true;
	unlink(path);
}

TEST(error_at_its_item)
{
	char path[256];
	long n;

	tmp_path(path, sizeof(path), "corrupt");
	/* A value out of range: an error at its row. */
	make_recording(path, "UPDATE exit SET size = 'one' WHERE seq = 3000");
	n = compare(path, -1, -1);
	/* The events before the first exit, exits 0 to 2999 but one, then exit 3000's error. */
	TEST_ASSERT(n == 3001 && last_rc < 0, "the error came with item %ld (rc %d), wanted 3001", n, last_rc);
	/* A value in range, under its seal: an error where the cursor checks the seal. */
	make_recording(path, "UPDATE exit SET rip = rip + 1 WHERE seq = 3000");
	n = compare(path, -1, -1);
	TEST_ASSERT(last_rc < 0 && n > 3001 && n <= EXITS + 1, "the seal's error came with item %ld (rc %d)", n,
		    last_rc);
	printf("# %s, with item %ld\n", last_msg, n);
	unlink(path);
}

/* Closed before the end, with the reader asleep on a full ring: no hang. */
TEST(close_before_the_end)
{
	char path[256];
	sqlite3 *db = NULL;
	struct replay_cursor *r = calloc(1, sizeof(*r));
	struct stream_item *it = calloc(1, sizeof(*it));
	struct err e = { 0 };

	TEST_ASSERT(r && it, "calloc");
	tmp_path(path, sizeof(path), "close");
	make_recording(path, NULL);
	TEST_ASSERT(stream_recording_open(path, &db, &e) == 0, "%s", e.msg);
	for (int k = 0; k < 3; k++) {
		TEST_ASSERT(replay_cursor_open(r, db, -1, 0, true, &e) == 0, "%s", e.msg);
		for (int i = 0; i < k * 700; i++)
			TEST_ASSERT(replay_cursor_next(r, it, &e) == 1, "%s", e.msg);
		usleep(20000);
		replay_cursor_close(r);
	}
	sqlite3_close(db);
	free(it), free(r);
	unlink(path);
}

TEST_MAIN()
