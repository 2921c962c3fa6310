/* SPDX-License-Identifier: MIT */
#include "replay/log_reader.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, char *err, size_t errlen)
{
	int rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);

	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "reading the recording (%s): %s", sql, sqlite3_errmsg(db));
		return -EINVAL;
	}
	return 0;
}

static int fetch_event(struct replay_log *log, char *err, size_t errlen)
{
	int rc;

	log->have_event = false;
	if (log->events_done)
		return 0;
	rc = sqlite3_step(log->events);
	if (rc == SQLITE_DONE) {
		log->events_done = true;
		return 0;
	}
	if (rc != SQLITE_ROW) {
		snprintf(err, errlen, "reading table event: %s", sqlite3_errmsg(log->db));
		return -EIO;
	}
	log->event.seq = sqlite3_column_int64(log->events, 0);
	log->event.kind = (uint32_t)sqlite3_column_int64(log->events, 1);
	log->event.value = sqlite3_column_int64(log->events, 2);
	log->have_event = true;
	return 0;
}

int replay_log_open(struct replay_log *log, sqlite3 *db, char *err, size_t errlen)
{
	sqlite3_stmt *count = NULL;
	int r;

	memset(log, 0, sizeof(*log));
	log->db = db;
	log->gap_seq = -1;
	r = prepare(db, "SELECT seq, vcpu, reason, rip, addr, size, dir, data FROM exit ORDER BY seq",
		    &log->exits, err, errlen);
	if (r == 0)
		r = prepare(db, "SELECT seq, kind, value FROM event ORDER BY seq, rowid", &log->events, err, errlen);
	if (r == 0)
		r = prepare(db, "SELECT count(*) FROM exit", &count, err, errlen);
	if (r == 0 && sqlite3_step(count) == SQLITE_ROW)
		log->total_exits = (uint64_t)sqlite3_column_int64(count, 0);
	sqlite3_finalize(count);
	if (r == 0)
		r = fetch_event(log, err, errlen);
	return r;
}

void replay_log_close(struct replay_log *log)
{
	sqlite3_finalize(log->exits);
	sqlite3_finalize(log->events);
	log->exits = log->events = NULL;
}

int replay_log_next_exit(struct replay_log *log, struct replay_exit *out, char *err, size_t errlen)
{
	const void *blob;
	int rc, n;

	if (log->exits_done)
		return 0;
	rc = sqlite3_step(log->exits);
	if (rc == SQLITE_DONE) {
		log->exits_done = true;
		return 0;
	}
	if (rc != SQLITE_ROW) {
		snprintf(err, errlen, "reading table exit: %s", sqlite3_errmsg(log->db));
		return -EIO;
	}
	out->seq = (uint64_t)sqlite3_column_int64(log->exits, 0);
	out->vcpu = (uint32_t)sqlite3_column_int64(log->exits, 1);
	out->reason = (uint32_t)sqlite3_column_int64(log->exits, 2);
	out->rip = (uint64_t)sqlite3_column_int64(log->exits, 3);
	out->has_addr = sqlite3_column_type(log->exits, 4) != SQLITE_NULL;
	out->addr = (uint64_t)sqlite3_column_int64(log->exits, 4);
	out->size = (uint32_t)sqlite3_column_int64(log->exits, 5);
	out->dir = sqlite3_column_type(log->exits, 6) == SQLITE_NULL ? -1 :
		   sqlite3_column_int(log->exits, 6);
	blob = sqlite3_column_blob(log->exits, 7);
	n = sqlite3_column_bytes(log->exits, 7);
	if (n < 0 || n > REPLAY_DATA_MAX) {
		snprintf(err, errlen, "exit seq %llu: %d data bytes, more than the %d an exit can carry",
			 (unsigned long long)out->seq, n, REPLAY_DATA_MAX);
		return -EINVAL;
	}
	out->len = (size_t)n;
	if (n)
		memcpy(log->data, blob, (size_t)n);
	out->data = log->data;
	memcpy(out->head, log->data, out->len < sizeof(out->head) ? out->len : sizeof(out->head));
	/* seq counts every exit from 0: a jump means rows are missing. */
	if (log->gap_seq < 0 && out->seq != (log->rows_read ? log->last_seq + 1 : 0))
		log->gap_seq = log->rows_read ? (int64_t)log->last_seq + 1 : 0;
	log->rows_read++;
	log->last_seq = out->seq;
	log->last_reason = out->reason;
	return 1;
}

int replay_log_take_event(struct replay_log *log, int64_t seq, struct replay_event *out,
			  char *err, size_t errlen)
{
	if (!log->have_event || log->event.seq > seq)
		return 0;
	*out = log->event;
	int r = fetch_event(log, err, errlen);
	return r < 0 ? r : 1;
}

int64_t replay_log_peek_event_seq(const struct replay_log *log)
{
	return log->have_event ? log->event.seq : INT64_MIN;
}
