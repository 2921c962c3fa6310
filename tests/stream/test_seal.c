/* SPDX-License-Identifier: MIT */
/*
 * Seals (stream/seal.h) on a real SQLite file written by the stream writer
 * and read back by the cursor, no KVM: a sound file reads whole from the
 * start and from the middle of a batch; each kind of damage to the rows or
 * to the seals is reported as a corrupt recording, and only once the rows
 * of the damaged batch have been read.
 */
#include "stream/cursor.h"
#include "stream/format.h"
#include "stream/seal.h"
#include "stream/write.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/test.h"
#include "vcpu/exit.h"

#define EXITS 10000            /* three batches: 0-4095, 4096-8191, 8192-9999 */
#define IRQ_EVERY 97

static char path[64];

static void exec_sql(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	TEST_ASSERT(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK, "%s: %s", sql, msg);
}

/* A recording of EXITS OUT exits (one with 100 bytes of data), an irq event every IRQ_EVERY, in commits of 1000. */
static void write_recording(void)
{
	struct stream_writer w;
	struct err e = { 0 };
	sqlite3 *db;
	uint8_t wide[100];

	snprintf(path, sizeof(path), "/tmp/kvmrr-seal-%d.db", (int)getpid());
	unlink(path);
	TEST_ASSERT(sqlite3_open(path, &db) == SQLITE_OK, "open %s", path);
	TEST_ASSERT_OK(stream_schema_create(db, &e));
	TEST_ASSERT_OK(stream_writer_init(&w, db, &e));
	memset(wide, 0xab, sizeof(wide));
	for (int64_t seq = 0; seq < EXITS; seq++) {
		struct stream_rec r = { .kind = STREAM_EXIT, .seq = seq, .dir = 1, .len = 1 };

		if (seq % 1000 == 0)
			exec_sql(db, "BEGIN");
		r.exit.reason = KVM_EXIT_IO;
		r.exit.addr = 0x3f8;
		r.exit.size = 1;
		r.exit.rip = 0x100000 + (uint64_t)seq;
		r.exit.tsc_entry = 1000 * (uint64_t)seq;
		r.exit.tsc_exit = 1000 * (uint64_t)seq + 10;
		r.data[0] = (uint8_t)seq;
		if (seq == 5000)
			r.len = sizeof(wide);
		TEST_ASSERT_OK(stream_write(&w, &r, r.len > 8 ? wide : r.data));
		if (seq % IRQ_EVERY == 0) {
			struct stream_rec ev = { .kind = STREAM_IRQ, .seq = seq, .dir = STREAM_DIR_NONE,
						 .event.value = 0x20 };

			TEST_ASSERT_OK(stream_write(&w, &ev, NULL));
		}
		if (seq % 1000 == 999 || seq == EXITS - 1) {
			TEST_ASSERT_OK(stream_writer_flush(&w));
			TEST_ASSERT_OK(stream_writer_seal(&w));
			exec_sql(db, "COMMIT");
		}
	}
	stream_writer_fini(&w);
	sqlite3_close(db);
}

/* Read the copy at path after exit `after` to its end; 0 or the cursor's error, the last seq read in *last. */
static int read_all(int64_t after, int64_t *last, struct err *e)
{
	struct stream_cursor c;
	struct stream_item it;
	sqlite3 *db;
	int r;

	*last = after;
	TEST_ASSERT(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK, "open");
	r = stream_cursor_open(&c, db, after, 0, e);
	while (r == 0 && (r = stream_cursor_next(&c, &it, e)) == 1) {
		if (it.has_exit)
			*last = it.exit.seq;
		r = 0;
	}
	stream_cursor_close(&c);
	sqlite3_close(db);
	return r;
}

/* Run sql on a fresh copy of the recording, then read it from after. */
static int tampered(const char *sql, int64_t after, int64_t *last, struct err *e)
{
	sqlite3 *db;

	write_recording();
	TEST_ASSERT(sqlite3_open(path, &db) == SQLITE_OK, "open");
	exec_sql(db, sql);
	sqlite3_close(db);
	return read_all(after, last, e);
}

static void expect_corrupt(const char *sql, int64_t after, int64_t first_unread, const char *words)
{
	struct err e = { 0 };
	int64_t last;
	int r = tampered(sql, after, &last, &e);

	TEST_ASSERT(r == -EINVAL, "%s: read gave %d (%s), wanted a corrupt recording", sql, r, e.msg);
	TEST_ASSERT(strstr(e.msg, words), "%s: message \"%s\" lacks \"%s\"", sql, e.msg, words);
	/* Found once the damaged batch was read whole, not before. */
	TEST_ASSERT(last >= first_unread - 1, "%s: reported after seq %lld, before the batch ends (%s)", sql,
		    (long long)last, e.msg);
	unlink(path);
}

TEST(sound_file_reads_whole_from_start_and_middle)
{
	struct err e = { 0 };
	int64_t last;
	sqlite3 *db;
	sqlite3_stmt *st;

	write_recording();
	TEST_ASSERT_EQ(read_all(-1, &last, &e), 0);
	TEST_ASSERT_EQ(last, EXITS - 1);
	TEST_ASSERT_EQ(read_all(5000, &last, &e), 0);       /* the middle of batch 1: its head is hashed */
	TEST_ASSERT_EQ(read_all(4095, &last, &e), 0);       /* the last seq of batch 0 */
	TEST_ASSERT_EQ(read_all(EXITS - 1, &last, &e), 0);
	/* Batch 1 (4096-8191) was written by the five commits of 4000-8999: five seal rows, they add up. */
	TEST_ASSERT(sqlite3_open(path, &db) == SQLITE_OK, "open");
	TEST_ASSERT(sqlite3_prepare_v2(db, "SELECT count(*), sum(rows) FROM seal WHERE tbl = 0 AND batch = 1",
				       -1, &st, NULL) == SQLITE_OK, "prepare");
	TEST_ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
	TEST_ASSERT_EQ(sqlite3_column_int(st, 0), 5);
	TEST_ASSERT_EQ(sqlite3_column_int(st, 1), 4096);
	sqlite3_finalize(st);
	sqlite3_close(db);
	unlink(path);
}

TEST(changed_time_is_found_at_the_end_of_its_batch)
{
	expect_corrupt("UPDATE exit SET vmm_ticks = vmm_ticks + 1 WHERE seq = 100", -1, 4096,
		       "exit rows of seq -1 to 4095 are not the ones the recorder sealed");
	expect_corrupt("UPDATE exit SET guest_ticks = guest_ticks - 1 WHERE seq = 9999", -1, EXITS,
		       "exit rows of seq 8192 to 12287");
}

TEST(changed_data_and_moved_event)
{
	expect_corrupt("UPDATE exit SET data = zeroblob(100) WHERE seq = 5000", -1, 8192, "a row differs");
	/* Events are read one ahead of the exits: found once the batch's last event was taken. */
	expect_corrupt("UPDATE event SET seq = seq + 1 WHERE seq = 97 * 42", -1, 97 * 42 + 1, "event rows");
}

TEST(missing_and_extra_rows)
{
	expect_corrupt("DELETE FROM exit WHERE seq = 7", -1, 4096, "4095 read, 4096 sealed");
	expect_corrupt("INSERT INTO event(seq, vcpu, kind, value) VALUES(4100, 0, 1, 32)", -1, 97 * 84,
		       "event rows");
	/* A whole batch of events gone: found when the next batch's first event is read. */
	expect_corrupt("DELETE FROM event WHERE seq BETWEEN 4096 AND 8191", -1, 97 * 42, "are missing");
	/* The tail gone: found at the end. */
	expect_corrupt("DELETE FROM exit WHERE seq >= 8192", -1, 8192, "are missing");
}

TEST(damaged_seals)
{
	expect_corrupt("UPDATE seal SET digest = digest + 1 WHERE tbl = 0 AND batch = 1 AND rowid = "
		       "(SELECT min(rowid) FROM seal WHERE tbl = 0 AND batch = 1)", -1, 8192, "exit rows of seq 4096");
	expect_corrupt("DELETE FROM seal WHERE tbl = 1 AND batch = 2", -1, 97 * 103, "event rows of seq 8192");
	expect_corrupt("UPDATE seal SET rows = 'x' WHERE tbl = 0 AND batch = 0", -1, 4096, "no integer");
}

TEST(head_of_the_first_batch_is_checked_from_the_middle)
{
	/* The reader starts after seq 6000: the rows of batch 1 before it are read for the seal. */
	expect_corrupt("UPDATE exit SET rip = rip + 1 WHERE seq = 4200", 6000, 8192, "exit rows of seq 4096");
}

TEST(rows_before_the_batch_read_are_not_checked)
{
	struct err e = { 0 };
	int64_t last;

	/* A damaged batch the reader never reads does not stop it (replay --from-checkpoint). */
	TEST_ASSERT_EQ(tampered("UPDATE exit SET vmm_ticks = 0 WHERE seq = 100", 5000, &last, &e), 0);
	TEST_ASSERT_EQ(last, EXITS - 1);
	unlink(path);
}

TEST_MAIN()
