/* SPDX-License-Identifier: MIT */
/*
 * The recording reader on a SQLite file built from the input: the input's
 * bytes are written to a file, which goes through what `kvmrr replay` reads
 * before and while it runs the guest (without KVM): stream_recording_open
 * (format check), the meta values, the checkpoint list and lookups,
 * stream_sync_seq, the RDTSC sites, and the cursor from the start and from
 * a checkpoint to the end.
 * Checked: an error is negative with a message; the cursor's exits come in
 * increasing seq order with at most STREAM_DATA_MAX data bytes and at most
 * STREAM_ITEM_EVENTS events each.
 * With libFuzzer, a custom mutator edits the database rather than its bytes
 * (a row's value changed, a row deleted or copied, as in the tamper tests),
 * so mutants stay SQLite files; the seeds are small real recordings.
 */
#include "fuzz/fuzz.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>

#include "machine/tsc_scan.h"
#include "stream/checkpoint.h"
#include "stream/cursor.h"
#include "stream/format.h"
#include "stream/seal.h"

#define FUZZ_MAX_ITEMS 200000     /* a seed has a few hundred exits */

static char path[64];

static void check_err(int r, const struct err *e, const char *what)
{
	FUZZ_CHECK(r <= 0, "%s returned %d", what, r);
	if (r < 0)
		FUZZ_CHECK(e->code < 0 && e->msg[0], "%s failed (%d) without a message", what, r);
}

/* Walk the cursor from after (-1: the start) to the end or an error. */
static void walk(sqlite3 *db, int64_t after)
{
	struct stream_cursor c;
	struct stream_item it;
	struct err e = { 0 };
	int64_t last = after;
	int r = stream_cursor_open(&c, db, after, 0, &e);

	check_err(r, &e, "stream_cursor_open");
	if (r < 0)
		return;
	for (int n = 0; n < FUZZ_MAX_ITEMS; n++) {
		memset(&e, 0, sizeof(e));
		r = stream_cursor_next(&c, &it, &e);
		if (r <= 0) {
			check_err(r, &e, "stream_cursor_next");
			break;
		}
		FUZZ_CHECK(it.nevents <= STREAM_ITEM_EVENTS, "%u events", it.nevents);
		if (!it.has_exit)
			continue;
		FUZZ_CHECK(it.exit.seq > last, "seq %lld after %lld", (long long)it.exit.seq, (long long)last);
		FUZZ_CHECK(it.exit.len <= STREAM_DATA_MAX, "%u data bytes", it.exit.len);
		last = it.exit.seq;
	}
	stream_cursor_close(&c);
}

static void read_recording(void)
{
	struct err e = { 0 };
	struct stream_checkpoint ck;
	struct tsc_sites sites;
	int64_t *seqs = NULL;
	uint32_t n = 0;
	sqlite3 *db = NULL;
	char buf[64];
	int r = stream_recording_open(path, &db, &e);

	check_err(r, &e, "stream_recording_open");
	if (r < 0)
		return;
	stream_schema_version(db);
	stream_meta_get(db, "tsc_khz", buf, sizeof(buf));
	stream_sync_seq(db, 10, false);
	stream_sync_seq(db, 10, true);
	memset(&sites, 0, sizeof(sites));
	r = stream_tsc_sites_load(db, &sites, &e);
	check_err(r, &e, "stream_tsc_sites_load");
	tsc_sites_free(&sites);
	walk(db, -1);
	r = stream_checkpoint_list(db, &seqs, &n, &e);
	check_err(r, &e, "stream_checkpoint_list");
	if (r == 0 && n > 0) {
		memset(&e, 0, sizeof(e));
		r = stream_checkpoint_find(db, seqs[n - 1], &ck, &e);
		check_err(r, &e, "stream_checkpoint_find");
		if (r == 0)
			FUZZ_CHECK(ck.seq == seqs[n - 1], "find %lld gave %lld", (long long)seqs[n - 1],
				   (long long)ck.seq);
		walk(db, seqs[0]);
	}
	free(seqs);
	sqlite3_close(db);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f;

	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/kvmrr-fuzz-recording-%d.db", (int)getpid());
	f = fopen(path, "wb");
	FUZZ_CHECK(f, "cannot write %s", path);
	FUZZ_CHECK(fwrite(data, 1, size, f) == size && fclose(f) == 0, "cannot write %s", path);
	read_recording();
	unlink(path);
	return 0;
}

#ifdef FUZZ_LIBFUZZER
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

static const char *const columns[] = { "seq", "vcpu", "reason", "rip", "addr", "size", "dir", "data", "kind",
	"value", "ticks", "pages", "async_pages", "devices", "digest", "regs", "cpl", "rflags" };
static const char *const values[] = { "NULL", "'x'", "X''", "-1", "0", "1", "4294967296", "9223372036854775807",
	"randomblob(9)", "zeroblob(70000)" };
static const char *const tables[] = { "exit", "event", "checkpoint", "async_point", "checkpoint_page",
	"vcpu_state", "meta", "cpuid" };

/* One SQL edit of a row (see the tamper tests): a value changed, a row deleted or copied. */
static char *edit_sql(unsigned int seed)
{
	const char *t = tables[seed % 8], *c = columns[(seed / 8) % 18];
	unsigned int row = (seed / 1728) % 300, how = (seed / 144) % 12;
	char value[64];

	if (how < 10)
		snprintf(value, sizeof(value), "%s", values[how]);
	else     /* one more or less than it was */
		snprintf(value, sizeof(value), "%s %c 1", c, how == 10 ? '+' : '-');
	switch ((seed >> 24) % 4) {
	case 0:
		return sqlite3_mprintf("DELETE FROM %s WHERE rowid = (SELECT rowid FROM %s LIMIT 1 OFFSET %u)",
				       t, t, row);
	case 1:
		return sqlite3_mprintf("INSERT INTO %s SELECT * FROM %s LIMIT 1 OFFSET %u", t, t, row);
	default:
		return sqlite3_mprintf("UPDATE %s SET %s = %s WHERE rowid = (SELECT rowid FROM %s LIMIT 1 "
				       "OFFSET %u)", t, !strcmp(t, "meta") ? "value" : c, value, t, row);
	}
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	sqlite3 *db = NULL;
	sqlite3_int64 out_len = 0;
	unsigned char *copy, *out = NULL;
	char *sql;

	if (seed % 8 == 0 || sqlite3_open(":memory:", &db) != SQLITE_OK)
		goto bytes;
	copy = sqlite3_malloc64(size ? size : 1);
	if (!copy)
		goto bytes;
	memcpy(copy, data, size);
	if (sqlite3_deserialize(db, "main", copy, (sqlite3_int64)size, (sqlite3_int64)size,
				SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE) != SQLITE_OK)
		goto bytes;
	sql = edit_sql(seed);
	sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_free(sql);
	/* Half the mutants of a sealed file are sealed anew, so they get past the seals into the cursor. */
	if (seed & 0x10000000) {
		struct err e = { 0 };

		sqlite3_exec(db, "SAVEPOINT reseal", NULL, NULL, NULL);
		if (stream_seal_rebuild(db, &e) < 0)
			sqlite3_exec(db, "ROLLBACK TO reseal", NULL, NULL, NULL);
		sqlite3_exec(db, "RELEASE reseal", NULL, NULL, NULL);
	}
	out = sqlite3_serialize(db, "main", &out_len, 0);
	if (!out || (size_t)out_len > max_size) {
		sqlite3_free(out);
		goto bytes;
	}
	memcpy(data, out, (size_t)out_len);
	sqlite3_free(out);
	sqlite3_close(db);
	return (size_t)out_len;
bytes:
	sqlite3_close(db);
	return LLVMFuzzerMutate(data, size, max_size);
}
#endif
