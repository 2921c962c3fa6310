/* SPDX-License-Identifier: MIT */
/*
 * The SQLite sink driven directly with synthetic exits, into real files:
 * exact row counts, the time columns and views, data round trips, a tiny
 * ring, REP-sized data, bytes per exit.
 */
#include <time.h>

#include "tests/test.h"
#include "tests/tracer/synth.h"

TEST(row_counts_exact)
{
	char dir[64], path[128], buf[64];
	struct synth s;
	uint64_t want[8] = { 0 };
	sqlite3 *db;

	tt_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/rec.db", dir);
	synth_open(&s, path, NULL);
	TEST_ASSERT_OK(tracer_capture_event(s.t, 0, STREAM_IRQ_WINDOW, 1, NULL)); /* seq -1 */
	for (int i = 0; i < 5000; i++) {
		struct vcpu_exit e = { 0 };
		uint8_t mmio[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

		switch (i % 5) {
		case 0: e = synth_io(&s, 0x3f8, 1, 1, false); want[0]++; break;
		case 1: e = synth_io(&s, 0x40, 1, 1, true); want[1]++; break;
		case 2: e.reason = KVM_EXIT_MMIO;
			e.mmio = (struct vcpu_exit_mmio){ .gpa = 0xd0000000, .len = 4, .write = i & 1,
							  .data = mmio };
			want[2]++; break;
		case 3: e.reason = KVM_EXIT_HLT; want[3]++; break;
		case 4: e.reason = KVM_EXIT_INTR; want[4]++; break;
		}
		TEST_ASSERT_OK(synth_feed(&s, &e, 0x100000 + i, 3000, 20000));
		if (i % 100 == 0)
			TEST_ASSERT_OK(tracer_capture_event(s.t, 0, STREAM_IRQ, 0x20, NULL));
	}
	TEST_ASSERT_EQ(tracer_exits(s.t), 5000);
	synth_finish(&s, "guest-exit");

	db = tt_open(path);
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM exit"), 5000);
	TEST_ASSERT_EQ(tt_int(db, "SELECT max(seq) - min(seq) + 1 FROM exit"), 5000);
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM exit WHERE reason = 2 AND dir = 1"), want[0]);
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM exit WHERE reason = 2 AND dir = 0"), want[1]);
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM exit WHERE reason = 6"), want[2]);
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM exit WHERE reason = 5"), want[3]);
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM exit WHERE reason = 10"), want[4]);
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM exit WHERE reason IN (5, 10) AND addr IS NULL"
			      " AND size IS NULL AND dir IS NULL AND data IS NULL"), want[3] + want[4]);
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM event"), 51);
	TEST_ASSERT_EQ(tt_int(db, "SELECT seq FROM events LIMIT 1"), -1);
	TEST_ASSERT_STR_EQ(tt_text(db, "SELECT kind_name FROM events LIMIT 1", buf, sizeof(buf)), "irq_window");
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM events WHERE kind_name = 'irq' AND value = 32"), 50);
	/* Each irq event carries the seq of the exit it followed. */
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM event WHERE kind = 1 AND seq % 100 = 0"), 50);
	TEST_ASSERT_EQ(tt_int(db, "SELECT value FROM meta WHERE key = 'complete'"), 1);
	TEST_ASSERT_EQ(tt_int(db, "SELECT value FROM meta WHERE key = 'exits'"), 5000);
	TEST_ASSERT_STR_EQ(tt_text(db, "SELECT value FROM meta WHERE key = 'end'", buf, sizeof(buf)), "guest-exit");
	TEST_ASSERT_STR_EQ(tt_text(db, "SELECT value FROM meta WHERE key = 'format'", buf, sizeof(buf)),
			   "kvmrr-recording");
	TEST_ASSERT_STR_EQ(tt_text(db, "PRAGMA journal_mode", buf, sizeof(buf)), "delete");
	sqlite3_close(db);
	tt_cleanup(dir);
}

/* Times: absolute TSCs come back exactly from the deltas; the view is monotonic, in ns. */
TEST(tsc_deltas_and_timeline)
{
	char dir[64], path[160];
	static uint64_t entries[20000], exits_[20000];
	struct synth s;
	sqlite3 *db;
	sqlite3_stmt *st;
	long long prev_ts = -1;
	int n = 0;

	tt_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/rec.db", dir);
	synth_open(&s, path, NULL);
	for (int i = 0; i < 20000; i++) {
		struct vcpu_exit e = synth_io(&s, 0x3f8, 1, 1, false);

		TEST_ASSERT_OK(synth_feed(&s, &e, 0x1000, 1 + tt_rand(&s.rng) % 100000,
					  1 + tt_rand(&s.rng) % 1000000));
		exits_[i] = s.tsc;
	}
	synth_finish(&s, "halt");
	set_khz(path, 2000000);   /* 2 GHz: 1 tick = 0.5 ns */
	db = tt_open(path);
	/* tsc_entry(n) = tsc_base + sum(vmm+guest, seq < n) + vmm(n) */
	TEST_ASSERT(sqlite3_prepare_v2(db, "SELECT seq, guest_ticks, SUM(vmm_ticks + guest_ticks)"
		" OVER (ORDER BY seq) - guest_ticks FROM exit ORDER BY seq", -1, &st, NULL) == SQLITE_OK, "prep");
	while (sqlite3_step(st) == SQLITE_ROW) {
		uint64_t entry = TSC_BASE + (uint64_t)sqlite3_column_int64(st, 2);

		entries[n] = entry;
		TEST_ASSERT_EQ(entry + (uint64_t)sqlite3_column_int64(st, 1), exits_[n]);
		n++;
	}
	sqlite3_finalize(st);
	TEST_ASSERT_EQ(n, 20000);
	TEST_ASSERT(sqlite3_prepare_v2(db, "SELECT seq, ts_ns, guest_ns, vmm_ns, dur_ns, port, gpa"
		" FROM exit_timeline ORDER BY seq", -1, &st, NULL) == SQLITE_OK, "prep");
	n = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		long long ts = sqlite3_column_int64(st, 1);
		long long want_ts = (long long)((entries[n] - TSC_BASE) / 2);

		TEST_ASSERT(ts > prev_ts, "ts_ns not increasing at seq %d: %lld after %lld", n, ts, prev_ts);
		TEST_ASSERT(llabs(ts - want_ts) <= 1, "seq %d: ts_ns %lld, wanted %lld", n, ts, want_ts);
		TEST_ASSERT(llabs(sqlite3_column_int64(st, 4) - sqlite3_column_int64(st, 2) -
				  sqlite3_column_int64(st, 3)) <= 1, "dur = guest + vmm at seq %d", n);
		if (n + 1 < 20000)  /* vmm_ns: time after this exit until the next entry */
			TEST_ASSERT(llabs(sqlite3_column_int64(st, 3) -
					  (long long)(entries[n + 1] - exits_[n]) / 2) <= 1, "vmm_ns at %d", n);
		TEST_ASSERT_EQ(sqlite3_column_int64(st, 5), 0x3f8);
		TEST_ASSERT(sqlite3_column_type(st, 6) == SQLITE_NULL, "gpa NULL for IO");
		prev_ts = ts;
		n++;
	}
	sqlite3_finalize(st);
	TEST_ASSERT_EQ(n, 20000);
	TEST_ASSERT_EQ(tt_int(db, "SELECT count FROM exit_stats WHERE reason_name = 'IO'"), 20000);
	/* The stats views agree with the timeline (up to 1 ns of rounding per row). */
	TEST_ASSERT(tt_int(db, "SELECT abs((SELECT total_ns FROM exit_stats) -"
			   " (SELECT sum(dur_ns) FROM exit_timeline))") <= 20000, "exit_stats total_ns");
	TEST_ASSERT(tt_int(db, "SELECT abs((SELECT vmm_ns FROM pio_stats) -"
			   " (SELECT sum(vmm_ns) FROM exit_timeline))") <= 20000, "pio_stats vmm_ns");
	TEST_ASSERT_EQ(tt_int(db, "SELECT max_ns >= avg_ns AND avg_ns >= min_ns FROM exit_stats"), 1);
	TEST_ASSERT_EQ(tt_int(db, "SELECT count FROM pio_stats WHERE port = 1016 AND dir = 1"), 20000);
	sqlite3_close(db);
	tt_cleanup(dir);
}

/* Check exit row seq against what was fed: addr, size, dir and the data bytes. */
static void check_row(sqlite3_stmt *st, uint64_t seq, uint64_t addr, uint32_t size, int dir,
		      const uint8_t *data, uint32_t len)
{
	sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
	TEST_ASSERT(sqlite3_step(st) == SQLITE_ROW, "no exit row for seq %llu", (unsigned long long)seq);
	TEST_ASSERT_EQ(sqlite3_column_int64(st, 0), addr);
	TEST_ASSERT_EQ(sqlite3_column_int64(st, 1), size);
	TEST_ASSERT_EQ(sqlite3_column_int64(st, 2), dir);
	TEST_ASSERT_EQ(sqlite3_column_bytes(st, 3), len);
	TEST_ASSERT(memcmp(sqlite3_column_blob(st, 3), data, len) == 0,
		    "seq %llu: data bytes differ", (unsigned long long)seq);
	sqlite3_reset(st);
}

/* Feed IO of every size and count (up to a 4 KiB REP) and MMIO of every length; read all back. */
static void roundtrip(const struct tracer_options *opt, int rounds)
{
	char dir[64], path[160];
	struct synth s;
	static uint8_t copy[200000][16];
	static uint8_t big[200000 / 97 + 1][4096];
	sqlite3 *db;
	sqlite3_stmt *st;
	uint64_t seq = 0, rng = 42;

	tt_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/rec.db", dir);
	synth_open(&s, path, opt);
	for (int i = 0; i < rounds; i++, seq++) {
		struct vcpu_exit e = { 0 };
		uint8_t mmio[8];

		if (i % 97 == 0) {              /* REP string IO: a whole page */
			e = synth_io(&s, 0x3f8, i % 2 ? 4 : 1, i % 2 ? 1024 : 4096, i % 3 == 0);
			memcpy(big[i / 97], s.buf, 4096);
		} else if (i % 2) {
			static const uint8_t sizes[3] = { 1, 2, 4 };

			e = synth_io(&s, (uint16_t)(0x60 + i % 7), sizes[i % 3], 1 + (i % 5 == 0), i % 4 == 1);
			memcpy(copy[i], s.buf, (size_t)e.io.size * e.io.count);
		} else {
			for (int j = 0; j < 8; j++)
				mmio[j] = (uint8_t)tt_rand(&rng);
			e.reason = KVM_EXIT_MMIO;
			e.mmio = (struct vcpu_exit_mmio){ .gpa = 0xd0000000 + (uint64_t)i * 8,
							  .len = 1 + i % 8, .write = i % 3 == 0, .data = mmio };
			memcpy(copy[i], mmio, 8);
		}
		TEST_ASSERT_OK(synth_feed(&s, &e, 0x200000, 100, 1000));
	}
	synth_finish(&s, "halt");
	db = tt_open(path);
	TEST_ASSERT_EQ(tt_int(db, "SELECT count(*) FROM exit"), rounds);
	TEST_ASSERT(sqlite3_prepare_v2(db, "SELECT addr, size, dir, data FROM exit WHERE seq = ?", -1,
				       &st, NULL) == SQLITE_OK, "prep");
	for (int i = 0; i < rounds; i++) {
		if (i % 97 == 0)
			check_row(st, (uint64_t)i, 0x3f8, i % 2 ? 4 : 1, i % 3 != 0, big[i / 97], 4096);
		else if (i % 2)
			check_row(st, (uint64_t)i, 0x60 + i % 7, (uint32_t[]){ 1, 2, 4 }[i % 3], i % 4 != 1,
				  copy[i], (uint32_t[]){ 1, 2, 4 }[i % 3] * (1 + (i % 5 == 0)));
		else
			check_row(st, (uint64_t)i, 0xd0000000 + (uint64_t)i * 8, 1 + i % 8, i % 3 == 0,
				  copy[i], 1 + i % 8);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	tt_cleanup(dir);
}

TEST(data_round_trip)
{
	roundtrip(NULL, 200000);
}

/* A 2-slot ring wraps on every record; a 4 KiB REP needs 64 continuation slots through it. */
TEST(ring_wrap_tiny_capacity)
{
	struct tracer_options opt = { .ring_records = 2, .batch_rows = 7 };

	roundtrip(&opt, 6000);
}

TEST(internal_error_data)
{
	char dir[64], path[160];
	struct synth s;
	struct vcpu_exit e = { .reason = KVM_EXIT_INTERNAL_ERROR };
	uint8_t want[4 + 3 * 8];
	sqlite3 *db;
	sqlite3_stmt *st;

	tt_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/rec.db", dir);
	synth_open(&s, path, NULL);
	e.internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
	e.internal.ndata = 3;
	e.internal.data[0] = 0x1122334455667788ULL;
	e.internal.data[1] = 2;
	e.internal.data[2] = 0xdeadbeef;
	memcpy(want, &e.internal.suberror, 4);
	memcpy(want + 4, e.internal.data, 24);
	TEST_ASSERT_OK(synth_feed(&s, &e, 0xfff0, 1, 1));
	synth_finish(&s, "internal-error");
	db = tt_open(path);
	TEST_ASSERT(sqlite3_prepare_v2(db, "SELECT data, addr FROM exit WHERE seq = 0", -1, &st, NULL) ==
		    SQLITE_OK, "prep");
	TEST_ASSERT(sqlite3_step(st) == SQLITE_ROW, "row");
	TEST_ASSERT_EQ(sqlite3_column_bytes(st, 0), sizeof(want));
	TEST_ASSERT(memcmp(sqlite3_column_blob(st, 0), want, sizeof(want)) == 0, "suberror + words");
	TEST_ASSERT(sqlite3_column_type(st, 1) == SQLITE_NULL, "no addr");
	sqlite3_finalize(st);
	sqlite3_close(db);
	tt_cleanup(dir);
}

/* 100k OUTs to the UART with realistic times: at most 32 bytes of file per exit. */
TEST(bytes_per_port_io_exit)
{
	char dir[64], path[160];
	struct synth s;
	sqlite3 *db;
	double per;
	long long pages, psize;
	const int rows = 100000;

	tt_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/rec.db", dir);
	synth_open(&s, path, NULL);
	for (int i = 0; i < rows; i++) {
		struct vcpu_exit e = synth_io(&s, 0x3f8, 1, 1, false);

		/* ~2 us VMM, ~10-30 us guest at 2.5 GHz; RIP in a 64 KiB loop of a kernel at 1 MiB */
		TEST_ASSERT_OK(synth_feed(&s, &e, 0x100000 + tt_rand(&s.rng) % 0x10000,
					  4000 + tt_rand(&s.rng) % 2000, 25000 + tt_rand(&s.rng) % 50000));
	}
	synth_finish(&s, "guest-exit");
	db = tt_open(path);
	pages = tt_int(db, "PRAGMA page_count");
	psize = tt_int(db, "PRAGMA page_size");
	per = (double)(pages * psize) / rows;
	printf("# %d port-IO exits: %lld pages of %lld bytes = %.2f bytes per exit\n", rows, pages,
	       psize, per);
	TEST_ASSERT(per <= 32.0, "%.2f bytes per port-IO exit, wanted <= 32", per);
	sqlite3_close(db);
	tt_cleanup(dir);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Every view over 1M rows: results checked, times printed (not asserted: a loaded host is slow). */
TEST(views_on_a_million_rows)
{
	static const char *const q[] = {
		"SELECT count(*) FROM (SELECT * FROM exit_timeline)",
		"SELECT sum(count) FROM exit_stats",
		"SELECT sum(count) FROM pio_stats",
		"SELECT count(*) + 1000000 FROM mmio_stats",
		"SELECT count(*) + 1000000 - 1000 FROM events",
	};
	char dir[64], path[160];
	struct synth s;
	sqlite3 *db;

	tt_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/rec.db", dir);
	synth_open(&s, path, NULL);
	for (int i = 0; i < 1000000; i++) {
		struct vcpu_exit e = synth_io(&s, i & 1 ? 0x3f8 : 0x3fd, 1, 1, i & 1);

		TEST_ASSERT_OK(synth_feed(&s, &e, 0x100000 + i % 4096, 3000, 20000));
		if (i % 1000 == 0)
			TEST_ASSERT_OK(tracer_capture_event(s.t, 0, STREAM_IRQ, 0x20, NULL));
	}
	synth_finish(&s, "halt");
	set_khz(path, 2500000);
	db = tt_open(path);
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		double t0 = now_s();

		TEST_ASSERT_EQ(tt_int(db, q[i]), 1000000);
		printf("# %.2f s: %s\n", now_s() - t0, q[i]);
	}
	sqlite3_close(db);
	tt_cleanup(dir);
}

TEST_MAIN()
