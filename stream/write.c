/* SPDX-License-Identifier: MIT */
/* The writer's side of the stream (stream/write.h). */
#include "stream/write.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream/format.h"
#include "stream/seal.h"

#define EXIT_COLS 10

int stream_writer_fail(struct stream_writer *w, int rc, const char *what, int64_t seq)
{
	int os = sqlite3_system_errno(w->db);

	if (w->err.code)
		return w->err.code;
	return err_set(&w->err, stream_sqlite_errno(rc), "%s failed at seq %lld: %s (SQLite %d%s%s)",
		       what, (long long)seq, sqlite3_errmsg(w->db), rc, os ? ", " : "", os ? strerror(os) : "");
}

/* Bind one exit row at parameter base + 1 .. base + EXIT_COLS. */
static void bind_exit(sqlite3_stmt *st, int base, const struct stream_rec *r, const uint8_t *data,
		      int64_t vmm_ticks)
{
	sqlite3_bind_int64(st, base + 1, r->seq);
	sqlite3_bind_int(st, base + 2, r->vcpu);
	sqlite3_bind_int64(st, base + 3, r->exit.reason);
	sqlite3_bind_int64(st, base + 4, vmm_ticks);
	sqlite3_bind_int64(st, base + 5, (sqlite3_int64)(r->exit.tsc_exit - r->exit.tsc_entry));
	if (r->exit.rip == STREAM_RIP_NONE)
		sqlite3_bind_null(st, base + 6);
	else
		sqlite3_bind_int64(st, base + 6, (sqlite3_int64)r->exit.rip);
	if (r->dir == STREAM_DIR_NONE) {
		sqlite3_bind_null(st, base + 7);
		sqlite3_bind_null(st, base + 8);
		sqlite3_bind_null(st, base + 9);
	} else {
		sqlite3_bind_int64(st, base + 7, (sqlite3_int64)r->exit.addr);
		sqlite3_bind_int64(st, base + 8, r->exit.size);
		sqlite3_bind_int(st, base + 9, r->dir);
	}
	if (r->len)
		sqlite3_bind_blob(st, base + 10, data, (int)r->len, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, base + 10);
}

/* The row hash of the exit row bind_exit writes (stream/seal.h). */
static uint64_t exit_hash(const struct stream_rec *r, const uint8_t *data, int64_t vmm_ticks)
{
	struct stream_seal_row row;

	stream_seal_row_init(&row);
	stream_seal_int(&row, r->seq);
	stream_seal_int(&row, r->vcpu);
	stream_seal_int(&row, r->exit.reason);
	stream_seal_int(&row, vmm_ticks);
	stream_seal_int(&row, (int64_t)(r->exit.tsc_exit - r->exit.tsc_entry));
	if (r->exit.rip == STREAM_RIP_NONE)
		stream_seal_null(&row);
	else
		stream_seal_int(&row, (int64_t)r->exit.rip);
	if (r->dir == STREAM_DIR_NONE) {
		stream_seal_null(&row);
		stream_seal_null(&row);
		stream_seal_null(&row);
	} else {
		stream_seal_int(&row, (int64_t)r->exit.addr);
		stream_seal_int(&row, r->exit.size);
		stream_seal_int(&row, r->dir);
	}
	if (r->len)
		stream_seal_blob(&row, data, r->len);
	else
		stream_seal_null(&row);
	return stream_seal_row_hash(&row, STREAM_SEAL_EXIT);
}

static int step(struct stream_writer *w, sqlite3_stmt *st, const char *what, int64_t seq, uint32_t rows)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return stream_writer_fail(w, rc, what, seq);
	w->rows += rows;
	return 0;
}

int stream_writer_flush(struct stream_writer *w)
{
	uint32_t n = w->npend;
	int r = 0;

	w->npend = 0;
	if (!n || w->err.code)
		return w->err.code;
	if (n == STREAM_WRITE_MULTI) {
		for (uint32_t i = 0; i < n; i++)
			bind_exit(w->ins_exit_multi, (int)i * EXIT_COLS, &w->pend[i].r, w->pend[i].r.data,
				  w->pend[i].vmm_ticks);
		return step(w, w->ins_exit_multi, "INSERT INTO exit", w->pend[0].r.seq, n);
	}
	for (uint32_t i = 0; i < n && !r; i++) {
		bind_exit(w->ins_exit, 0, &w->pend[i].r, w->pend[i].r.data, w->pend[i].vmm_ticks);
		r = step(w, w->ins_exit, "INSERT INTO exit", w->pend[i].r.seq, 1);
	}
	return r;
}

int stream_writer_seal(struct stream_writer *w)
{
	sqlite3_stmt *st = w->ins_seal;
	int r = 0;

	for (unsigned int i = 0; i < w->sums.n && !r && !w->err.code; i++) {
		sqlite3_bind_int(st, 1, w->sums.s[i].tbl);
		sqlite3_bind_int64(st, 2, w->sums.s[i].batch);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)w->sums.s[i].rows);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)w->sums.s[i].digest);
		r = step(w, st, "INSERT INTO seal", w->sums.s[i].batch << STREAM_SEAL_SHIFT, 0);
	}
	w->sums.n = 0;
	return w->err.code;
}

/* Add a row to the seal sums of this transaction (writing them out when all are taken). */
static int seal_row(struct stream_writer *w, enum stream_seal_table t, int64_t seq, uint64_t hash)
{
	int r;

	if (stream_seal_add(&w->sums, t, seq, hash))
		return 0;
	if ((r = stream_writer_seal(w)) < 0)
		return r;
	stream_seal_add(&w->sums, t, seq, hash);
	return 0;
}

static int write_exit(struct stream_writer *w, const struct stream_rec *r, const uint8_t *data)
{
	uint64_t *prev = &w->prev_tsc_exit[r->vcpu % STREAM_MAX_VCPUS];
	int64_t vmm = (int64_t)(r->exit.tsc_entry - (*prev ? *prev : w->tsc_base));
	int e;

	*prev = r->exit.tsc_exit;
	if ((e = seal_row(w, STREAM_SEAL_EXIT, r->seq, exit_hash(r, data, vmm))) < 0)
		return e;
	if (r->len > sizeof(r->data)) {        /* data not inline: insert now, in order */
		if ((e = stream_writer_flush(w)) < 0)
			return e;
		bind_exit(w->ins_exit, 0, r, data, vmm);
		return step(w, w->ins_exit, "INSERT INTO exit", r->seq, 1);
	}
	w->pend[w->npend].r = *r;
	w->pend[w->npend++].vmm_ticks = vmm;
	return w->npend == STREAM_WRITE_MULTI ? stream_writer_flush(w) : 0;
}

static int write_event(struct stream_writer *w, const struct stream_rec *r)
{
	struct stream_seal_row row;
	int e;

	stream_seal_row_init(&row);
	stream_seal_int(&row, r->seq);
	stream_seal_int(&row, r->vcpu);
	stream_seal_int(&row, r->kind);
	stream_seal_int(&row, r->event.value);
	stream_seal_null(&row);
	if ((e = seal_row(w, STREAM_SEAL_EVENT, r->seq, stream_seal_row_hash(&row, STREAM_SEAL_EVENT))) < 0)
		return e;
	sqlite3_bind_int64(w->ins_event, 1, r->seq);
	sqlite3_bind_int(w->ins_event, 2, r->vcpu);
	sqlite3_bind_int(w->ins_event, 3, r->kind);
	sqlite3_bind_int64(w->ins_event, 4, r->event.value);
	return step(w, w->ins_event, "INSERT INTO event", r->seq, 1);
}

/* The async_point row of an async_irq record; data is the struct stream_point the vCPU thread filled. */
static int write_point(struct stream_writer *w, const struct stream_rec *r, const uint8_t *data)
{
	struct stream_point p;
	struct stream_seal_row row;
	sqlite3_stmt *st = w->ins_point;
	int e;

	if (r->len != sizeof(p))
		return err_set(&w->err, -EINVAL, "async_irq record at seq %lld carries %u bytes, not a "
			       "point (%zu)", (long long)r->seq, r->len, sizeof(p));
	memcpy(&p, data, sizeof(p));
	stream_seal_row_init(&row);
	stream_seal_int(&row, p.seq);
	stream_seal_int(&row, p.vcpu);
	stream_seal_int(&row, (int64_t)p.regs.rip);
	stream_seal_int(&row, (int64_t)p.regs.rflags);
	stream_seal_int(&row, p.cpl);
	stream_seal_blob(&row, &p.regs, sizeof(p.regs));
	stream_seal_int(&row, (int64_t)p.xsave_digest);
	stream_seal_int(&row, (int64_t)p.mem_digest);
	stream_seal_int(&row, p.dirty_pages);
	if ((e = seal_row(w, STREAM_SEAL_POINT, p.seq, stream_seal_row_hash(&row, STREAM_SEAL_POINT))) < 0)
		return e;
	sqlite3_bind_int64(st, 1, p.seq);
	sqlite3_bind_int64(st, 2, p.vcpu);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)p.regs.rip);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)p.regs.rflags);
	sqlite3_bind_int64(st, 5, p.cpl);
	sqlite3_bind_blob(st, 6, &p.regs, sizeof(p.regs), SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)p.xsave_digest);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)p.mem_digest);
	sqlite3_bind_int64(st, 9, p.dirty_pages);
	return step(w, st, "INSERT INTO async_point", p.seq, 1);
}

int stream_write(struct stream_writer *w, const struct stream_rec *r, const uint8_t *data)
{
	int e;

	if (w->err.code)
		return w->err.code;
	switch (r->kind) {
	case STREAM_EXIT:
		return write_exit(w, r, data);
	case STREAM_IRQ:
	case STREAM_NMI:
	case STREAM_IRQ_WINDOW:
	case STREAM_VCPU_EVENTS:
		return write_event(w, r);
	case STREAM_ASYNC_IRQ:
		e = write_event(w, r);
		return e ? e : write_point(w, r, data);
	default:
		/* Unknown kinds are a bug in the producer, never an event row with a guess. */
		return err_set(&w->err, -EINVAL, "record at seq %lld: unknown kind %u",
			       (long long)r->seq, r->kind);
	}
}

int stream_writer_init(struct stream_writer *w, sqlite3 *db, struct err *e)
{
	static const char head[] = "INSERT INTO exit(seq, vcpu, reason, vmm_ticks, guest_ticks, rip,"
				   " addr, size, dir, data) VALUES";
	static const char tuple[] = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
	char multi[sizeof(head) + STREAM_WRITE_MULTI * sizeof(tuple) + 1];
	char single[sizeof(head) + sizeof(tuple)];
	int rc;

	memset(w, 0, sizeof(*w));
	w->db = db;
	strcpy(multi, head);
	for (int i = 0; i < STREAM_WRITE_MULTI; i++) {
		strcat(multi, i ? "," : "");
		strcat(multi, tuple);
	}
	snprintf(single, sizeof(single), "%s%s", head, tuple);
	rc = sqlite3_prepare_v3(db, multi, -1, SQLITE_PREPARE_PERSISTENT, &w->ins_exit_multi, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v3(db, single, -1, SQLITE_PREPARE_PERSISTENT, &w->ins_exit, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v3(db, "INSERT INTO event(seq, vcpu, kind, value, data)"
					" VALUES(?, ?, ?, ?, NULL)", -1, SQLITE_PREPARE_PERSISTENT,
					&w->ins_event, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v3(db, "INSERT INTO async_point(seq, vcpu, rip, rflags, cpl, regs,"
					" xsave_digest, mem_digest, dirty_pages) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
					-1, SQLITE_PREPARE_PERSISTENT, &w->ins_point, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v3(db, "INSERT INTO seal(tbl, batch, rows, digest) VALUES(?, ?, ?, ?)",
					-1, SQLITE_PREPARE_PERSISTENT, &w->ins_seal, NULL);
	if (rc != SQLITE_OK) {
		err_set(e, stream_sqlite_errno(rc), "preparing inserts: %s", sqlite3_errmsg(db));
		stream_writer_fini(w);
		return e ? e->code : stream_sqlite_errno(rc);
	}
	return 0;
}

void stream_writer_fini(struct stream_writer *w)
{
	sqlite3_finalize(w->ins_exit);
	sqlite3_finalize(w->ins_exit_multi);
	sqlite3_finalize(w->ins_event);
	sqlite3_finalize(w->ins_point);
	sqlite3_finalize(w->ins_seal);
	w->ins_exit = w->ins_exit_multi = w->ins_event = w->ins_point = w->ins_seal = NULL;
}
