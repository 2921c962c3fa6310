/* SPDX-License-Identifier: MIT */
/* The reader's side of the stream (stream/cursor.h). */
#include "stream/cursor.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "stream/format.h"
#include "stream/seal.h"

static int prepare(struct stream_cursor *c, const char *sql, sqlite3_stmt **st, struct err *e)
{
	if (sqlite3_prepare_v2(c->db, sql, -1, st, NULL) != SQLITE_OK)
		return err_set(e, -EINVAL, "reading the recording (%s): %s", sql, sqlite3_errmsg(c->db));
	return 0;
}

/* One column where the row says what it is, for messages: "exit seq 12: size". */
struct where {
	const char *table;
	int64_t seq;
};

/*
 * An integer column in [lo, hi]; NULL only where null_ok (then *v = 0 and
 * 1 is returned instead of 0). A value of another type or out of range is
 * a corrupt recording.
 */
static int col_int(sqlite3_stmt *st, int col, int64_t lo, int64_t hi, bool null_ok, int64_t *v,
		   struct where w, struct err *e)
{
	int type = sqlite3_column_type(st, col);

	*v = 0;
	if (type == SQLITE_NULL && null_ok)
		return 1;
	if (type != SQLITE_INTEGER)
		return err_set(e, -EINVAL, "corrupt recording: %s seq %" PRId64 ": %s is %s, not an integer",
			       w.table, w.seq, sqlite3_column_name(st, col),
			       type == SQLITE_NULL ? "NULL" : type == SQLITE_TEXT ? "text" :
			       type == SQLITE_FLOAT ? "a real" : "a blob");
	*v = sqlite3_column_int64(st, col);
	if (*v < lo || *v > hi)
		return err_set(e, -EINVAL, "corrupt recording: %s seq %" PRId64 ": %s %" PRId64 " is out of "
			       "range [%" PRId64 ", %" PRId64 "]", w.table, w.seq,
			       sqlite3_column_name(st, col), *v, lo, hi);
	return 0;
}

static int step_error(struct stream_cursor *c, const char *table, struct err *e)
{
	return err_set(e, -EIO, "reading table %s: %s", table, sqlite3_errmsg(c->db));
}

/* The next event row into c->event (c->have_event). 0 or -errno. */
static int read_event(struct stream_cursor *c, struct err *e)
{
	int64_t seq, kind, value, vcpu;
	int rc = sqlite3_step(c->events);

	c->have_event = false;
	if (rc == SQLITE_DONE)
		return stream_seal_end(&c->seal, STREAM_SEAL_EVENT, e);
	if (rc != SQLITE_ROW)
		return step_error(c, "event", e);
	if (col_int(c->events, 0, -1, INT64_MAX, false, &seq, (struct where){ "event", -1 }, e) < 0)
		return e->code;
	struct where w = { "event", seq };
	if (col_int(c->events, 2, 0, UINT16_MAX, false, &kind, w, e) < 0)
		return e->code;
	if (kind != STREAM_IRQ && kind != STREAM_IRQ_WINDOW && kind != STREAM_ASYNC_IRQ)
		return err_set(e, -EINVAL, "corrupt recording: event seq %" PRId64 ": kind %" PRId64
			       " is not one this build records (irq, irq_window, async_irq)", seq, kind);
	if (col_int(c->events, 3, 0, kind == STREAM_IRQ_WINDOW ? 1 : 255, false, &value, w, e) < 0 ||
	    col_int(c->events, 1, 0, STREAM_MAX_VCPUS - 1, false, &vcpu, w, e) < 0 ||
	    stream_seal_read(&c->seal, STREAM_SEAL_EVENT, c->events, e) < 0)
		return e->code;
	memset(&c->event, 0, sizeof(c->event));
	c->event.vcpu = (uint16_t)vcpu;
	c->event.kind = (uint8_t)kind;
	c->event.dir = STREAM_DIR_NONE;
	c->event.seq = seq;
	c->event.event.value = value;
	c->have_event = true;
	return 0;
}

/* The next async_point row into c->point (c->have_point). 0 or -errno. */
static int read_point(struct stream_cursor *c, struct err *e)
{
	sqlite3_stmt *st = c->points;
	int64_t seq, vcpu, rip, rflags, cpl, xs, mem, pages;
	int rc = sqlite3_step(st);

	c->have_point = false;
	if (rc == SQLITE_DONE)
		return stream_seal_end(&c->seal, STREAM_SEAL_POINT, e);
	if (rc != SQLITE_ROW)
		return step_error(c, "async_point", e);
	if (col_int(st, 0, 0, INT64_MAX, false, &seq, (struct where){ "async_point", -1 }, e) < 0)
		return e->code;
	struct where w = { "async_point", seq };
	/* kvmrr records one vCPU (id 0): any other is a changed row. */
	if (col_int(st, 1, 0, 0, false, &vcpu, w, e) < 0 ||
	    col_int(st, 2, INT64_MIN, INT64_MAX, false, &rip, w, e) < 0 ||
	    col_int(st, 3, INT64_MIN, INT64_MAX, false, &rflags, w, e) < 0 ||
	    col_int(st, 4, 0, 3, false, &cpl, w, e) < 0 ||
	    col_int(st, 6, INT64_MIN, INT64_MAX, false, &xs, w, e) < 0 ||
	    col_int(st, 7, INT64_MIN, INT64_MAX, false, &mem, w, e) < 0 ||
	    col_int(st, 8, 0, UINT32_MAX, false, &pages, w, e) < 0)
		return e->code;
	if (sqlite3_column_type(st, 5) != SQLITE_BLOB)
		return err_set(e, -EINVAL, "corrupt recording: async_point seq %" PRId64 ": regs is not a blob",
			       seq);
	if (sqlite3_column_bytes(st, 5) != (int)sizeof(c->point.regs))
		return err_set(e, -EINVAL, "corrupt recording: async_point seq %" PRId64 ": regs is %d bytes, "
			       "want %zu", seq, sqlite3_column_bytes(st, 5), sizeof(c->point.regs));
	if (stream_seal_read(&c->seal, STREAM_SEAL_POINT, st, e) < 0)
		return e->code;
	memset(&c->point, 0, sizeof(c->point));
	memcpy(&c->point.regs, sqlite3_column_blob(st, 5), sizeof(c->point.regs));
	c->point.seq = seq;
	c->point.vcpu = (uint32_t)vcpu;
	/* The rip and rflags columns are the ones a reader (or a test) edits. */
	c->point.regs.rip = (uint64_t)rip;
	c->point.regs.rflags = (uint64_t)rflags;
	c->point.cpl = (uint32_t)cpl;
	c->point.xsave_digest = (uint64_t)xs;
	c->point.mem_digest = (uint64_t)mem;
	c->point.dirty_pages = (uint32_t)pages;
	c->have_point = true;
	return 0;
}

static int bind_after(sqlite3_stmt *st, int64_t after)
{
	return sqlite3_bind_int64(st, 1, after) == SQLITE_OK ? 0 : -EINVAL;
}

int stream_cursor_open(struct stream_cursor *c, sqlite3 *db, int64_t after, uint64_t ticks, struct err *e)
{
	sqlite3_stmt *count = NULL;
	char buf[16];
	int r;

	memset(c, 0, sizeof(*c));
	c->db = db;
	c->gap_seq = -1;
	c->last_seq = after;
	c->after = after;
	c->ticks = ticks;
	c->irq_async = stream_meta_get(db, "irq_delivery", buf, sizeof(buf)) == 0 && strcmp(buf, "async") == 0;
	if (stream_meta_get(db, "irq_delivery", buf, sizeof(buf)) == 0 && !c->irq_async && strcmp(buf, "exits"))
		return err_set(e, -EINVAL, "corrupt recording: meta.irq_delivery is \"%s\", neither \"async\" "
			       "nor \"exits\"", buf);
	/* Columns in table order: the rows' seals hash them so (stream/seal.h). */
	r = prepare(c, "SELECT " STREAM_SEAL_EXIT_COLS " FROM exit WHERE seq > ?1 ORDER BY seq", &c->exits, e);
	if (r == 0)
		r = prepare(c, "SELECT " STREAM_SEAL_EVENT_COLS " FROM event WHERE seq >= ?1 ORDER BY seq, rowid",
			    &c->events, e);
	if (r == 0)
		r = prepare(c, "SELECT " STREAM_SEAL_POINT_COLS " FROM async_point WHERE seq >= ?1 ORDER BY seq",
			    &c->points, e);
	if (r == 0 && (bind_after(c->exits, after) || bind_after(c->events, after) ||
		       bind_after(c->points, after)))
		r = err_set(e, -EINVAL, "reading the recording after seq %lld", (long long)after);
	if (r == 0)
		r = prepare(c, "SELECT coalesce(max(seq) + 1, 0) FROM exit", &count, e);
	if (r == 0 && sqlite3_step(count) == SQLITE_ROW)
		c->total_exits = (uint64_t)sqlite3_column_int64(count, 0);
	sqlite3_finalize(count);
	if (r == 0 && stream_seal_expected(db))
		r = stream_seal_open(&c->seal, db, (const int64_t[STREAM_SEAL_TABLES]){ after + 1, after, after }, e);
	if (r == 0)
		r = read_event(c, e);
	if (r == 0)
		r = read_point(c, e);
	if (r < 0)
		stream_cursor_close(c);
	return r;
}

void stream_cursor_close(struct stream_cursor *c)
{
	sqlite3_finalize(c->exits);
	sqlite3_finalize(c->events);
	sqlite3_finalize(c->points);
	c->exits = c->events = c->points = NULL;
	stream_seal_close(&c->seal);
}

/* The next exit row into it->exit. 1, 0 none left, -errno. */
static int read_exit(struct stream_cursor *c, struct stream_item *it, struct err *e)
{
	sqlite3_stmt *st = c->exits;
	int64_t seq, vcpu, reason, rip, addr, size, dir, vmm, guest;
	int rc, n, nulls;

	if (c->exits_done)
		return 0;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		c->exits_done = true;
		return stream_seal_end(&c->seal, STREAM_SEAL_EXIT, e);
	}
	if (rc != SQLITE_ROW)
		return step_error(c, "exit", e);
	if (col_int(st, 0, 0, INT64_MAX, false, &seq, (struct where){ "exit", -1 }, e) < 0)
		return e->code;
	struct where w = { "exit", seq };
	/* The query orders by seq, a primary key: only a damaged b-tree gives one twice or backwards. */
	if (seq <= c->last_seq)
		return err_set(e, -EINVAL, "corrupt recording: exit seq %" PRId64 " comes after seq %" PRId64
			       " (the file is damaged: PRAGMA quick_check says where)", seq, c->last_seq);
	/* kvmrr records one vCPU (id 0): any other is a changed row. */
	if (col_int(st, 1, 0, 0, false, &vcpu, w, e) < 0 ||
	    col_int(st, 2, 0, UINT32_MAX, false, &reason, w, e) < 0 ||
	    col_int(st, 5, INT64_MIN, INT64_MAX, false, &rip, w, e) < 0)
		return e->code;
	/* port/gpa, size and dir: all three or none (an exit without an access). */
	if ((rc = col_int(st, 6, reason == KVM_EXIT_IO ? 0 : INT64_MIN, reason == KVM_EXIT_IO ? 0xffff : INT64_MAX,
			  true, &addr, w, e)) < 0)
		return rc;
	nulls = rc;
	if ((rc = col_int(st, 7, 1, 8, true, &size, w, e)) < 0)
		return rc;
	nulls += rc;
	if ((rc = col_int(st, 8, 0, 1, true, &dir, w, e)) < 0)
		return rc;
	nulls += rc;
	if (nulls != 0 && nulls != 3)
		return err_set(e, -EINVAL, "corrupt recording: exit seq %" PRId64 ": addr, size and dir must be "
			       "all set or all NULL", seq);
	if (col_int(st, 3, INT64_MIN, INT64_MAX, true, &vmm, w, e) < 0 ||
	    col_int(st, 4, INT64_MIN, INT64_MAX, true, &guest, w, e) < 0)
		return e->code;
	rc = sqlite3_column_type(st, 9);
	if (rc != SQLITE_NULL && rc != SQLITE_BLOB)
		return err_set(e, -EINVAL, "corrupt recording: exit seq %" PRId64 ": data is not a blob", seq);
	n = sqlite3_column_bytes(st, 9);
	if (n < 0 || n > STREAM_DATA_MAX)
		return err_set(e, -EINVAL, "corrupt recording: exit seq %" PRId64 ": %d data bytes, more than "
			       "the %d an exit can carry", seq, n, STREAM_DATA_MAX);
	if (n)
		memcpy(c->data, sqlite3_column_blob(st, 9), (size_t)n);
	if (stream_seal_read(&c->seal, STREAM_SEAL_EXIT, st, e) < 0)
		return e->code;
	memset(&it->exit, 0, sizeof(it->exit));
	it->exit.kind = STREAM_EXIT;
	it->exit.dir = nulls ? STREAM_DIR_NONE : (uint8_t)dir;
	it->exit.vcpu = (uint16_t)vcpu;
	it->exit.len = (uint32_t)n;
	it->exit.seq = seq;
	it->exit.exit.reason = (uint32_t)reason;
	it->exit.exit.size = (uint32_t)size;
	it->exit.exit.rip = (uint64_t)rip;
	it->exit.exit.addr = (uint64_t)addr;
	memcpy(it->exit.data, c->data, n < 8 ? (size_t)n : 8);
	it->data = c->data;
	c->ticks += (uint64_t)(vmm > 0 ? vmm : 0) + (uint64_t)(guest > 0 ? guest : 0);
	it->ticks = c->ticks;
	/* seq counts every exit from 0: a jump means rows are missing. */
	if (c->gap_seq < 0 && seq != c->last_seq + 1)
		c->gap_seq = c->last_seq + 1;
	c->rows++;
	c->last_seq = seq;
	return 1;
}

/* Attach the events at or before seq (and an async_irq's point) to it. 0 or -errno. */
static int take_events(struct stream_cursor *c, struct stream_item *it, int64_t seq, struct err *e)
{
	int r;

	while (c->have_event && c->event.seq <= seq) {
		if (it->has_exit && c->event.vcpu != it->exit.vcpu)
			return err_set(e, -EINVAL, "corrupt recording: event seq %" PRId64 " is for vcpu %u, its "
				       "exit's is %u", c->event.seq, c->event.vcpu, it->exit.vcpu);
		if (it->nevents == STREAM_ITEM_EVENTS)
			return err_set(e, -EINVAL, "corrupt recording: more than %d events after exit seq %" PRId64,
				       STREAM_ITEM_EVENTS, seq);
		it->events[it->nevents++] = c->event;
		if (c->event.kind == STREAM_ASYNC_IRQ) {
			/* Points without their event (none are written) are passed over. */
			while (c->have_point && c->point.seq < c->event.seq)
				if ((r = read_point(c, e)) < 0)
					return r;
			if (it->has_point || !c->have_point || c->point.seq != c->event.seq)
				return err_set(e, -ENODATA, "corrupt recording: exit seq %" PRId64 ": async_irq "
					       "event without its async_point row (a recording cut short?)",
					       c->event.seq);
			it->point = c->point;
			it->has_point = true;
			if ((r = read_point(c, e)) < 0)
				return r;
		}
		if ((r = read_event(c, e)) < 0)
			return r;
	}
	return 0;
}

int stream_cursor_next(struct stream_cursor *c, struct stream_item *it, struct err *e)
{
	int r;

	it->has_exit = false;
	it->nevents = 0;
	it->has_point = false;
	it->data = c->data;
	it->sync = STREAM_SYNC_NONE;
	if (!c->started) {
		c->started = true;
		/* What the VMM did before the first entry (or after the exit a replay starts from). */
		if (c->have_event && c->event.seq <= c->after) {
			r = take_events(c, it, c->after, e);
			return r < 0 ? r : 1;
		}
	}
	r = read_exit(c, it, e);
	/* Events are written in order after their exit's predecessor: none can lie past the next exit. */
	if (r == 0 && c->have_event && c->event.seq > c->last_seq + 1)
		return err_set(e, -EINVAL, "corrupt recording: event seq %" PRId64 " lies past the last exit "
			       "(seq %" PRId64 ")", c->event.seq, c->last_seq);
	if (r <= 0)
		return r;
	it->has_exit = true;
	r = take_events(c, it, it->exit.seq, e);
	if (r < 0)
		return r;
	it->sync = stream_sync_of(it->exit.exit.reason, c->irq_async, it->has_point);
	return 1;
}

int64_t stream_sync_seq(sqlite3 *db, int64_t seq, bool after)
{
	sqlite3_stmt *st = NULL;
	int64_t at = -1;
	char sql[360], how[16];
	bool irq_async = stream_meta_get(db, "irq_delivery", how, sizeof(how)) == 0 && !strcmp(how, "async");

	/* stream_sync_of in SQL: not a kick (nor a window-open exit when async), or an async point. */
	snprintf(sql, sizeof(sql), "SELECT %s(seq) FROM exit WHERE seq %s ?1 AND (reason NOT IN (%d, %d) "
		 "OR seq IN (SELECT seq FROM async_point WHERE seq %s ?1))", after ? "min" : "max",
		 after ? ">" : "<=", KVM_EXIT_INTR, irq_async ? KVM_EXIT_IRQ_WINDOW_OPEN : KVM_EXIT_INTR,
		 after ? ">" : "<=");
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, seq);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER)
			at = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return at;
}
