/* SPDX-License-Identifier: MIT */
/*
 * The writer thread's SQL: exit rows go out LOG_MULTI at a time through one
 * multi-row INSERT (one statement run instead of 32: about a third less CPU
 * per row); rows with data over 8 bytes, and the remainder at a commit, go
 * one at a time. Events and asynchronous points are rare and go one at a time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracer/async.h"
#include "tracer/format.h"
#include "tracer/log_int.h"

#define EXIT_COLS 10

void log_writer_fail(struct tracer_log *l, int rc, const char *what, uint64_t seq)
{
	int os = sqlite3_system_errno(l->db);

	if (atomic_load(&l->error))
		return;
	pthread_mutex_lock(&l->err_lock);
	snprintf(l->err_msg, sizeof(l->err_msg),
		 "recording %s: %s failed at seq %llu: %s (SQLite %d%s%s); the log is incomplete",
		 l->path, what, (unsigned long long)seq, sqlite3_errmsg(l->db), rc,
		 os ? ", " : "", os ? strerror(os) : "");
	pthread_mutex_unlock(&l->err_lock);
	atomic_store(&l->error, tracer_sqlite_errno(rc));
}

/* Bind one exit row at parameter base + 1 .. base + EXIT_COLS. */
static void bind_exit(sqlite3_stmt *st, int base, const struct log_rec *r, const uint8_t *data,
		      int64_t vmm_ticks)
{
	sqlite3_bind_int64(st, base + 1, (sqlite3_int64)r->seq);
	sqlite3_bind_int(st, base + 2, r->vcpu);
	sqlite3_bind_int64(st, base + 3, r->reason);
	sqlite3_bind_int64(st, base + 4, vmm_ticks);
	sqlite3_bind_int64(st, base + 5, (sqlite3_int64)(r->tsc_exit - r->tsc_entry));
	sqlite3_bind_int64(st, base + 6, (sqlite3_int64)r->rip);
	if (r->dir == DIR_NONE) {
		sqlite3_bind_null(st, base + 7);
		sqlite3_bind_null(st, base + 8);
		sqlite3_bind_null(st, base + 9);
	} else {
		sqlite3_bind_int64(st, base + 7, (sqlite3_int64)r->addr);
		sqlite3_bind_int64(st, base + 8, r->size);
		sqlite3_bind_int(st, base + 9, r->dir);
	}
	if (r->len)
		sqlite3_bind_blob(st, base + 10, data, (int)r->len, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, base + 10);
}

static void step(struct tracer_log *l, sqlite3_stmt *st, const char *what, uint64_t seq,
		 uint32_t exit_rows)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		log_writer_fail(l, rc, what, seq);
		return;
	}
	atomic_fetch_add_explicit(&l->exit_rows, exit_rows, memory_order_relaxed);
	l->txn_rows += exit_rows ? exit_rows : 1;
}

void log_flush_pending(struct tracer_log *l)
{
	uint32_t n = l->npend;

	l->npend = 0;
	if (!n || atomic_load_explicit(&l->error, memory_order_relaxed))
		return;
	if (n == LOG_MULTI) {
		for (uint32_t i = 0; i < n; i++)
			bind_exit(l->ins_exit_multi, (int)i * EXIT_COLS, &l->pend[i].r, l->pend[i].r.data,
				  l->pend[i].vmm_ticks);
		step(l, l->ins_exit_multi, "INSERT INTO exit", l->pend[0].r.seq, n);
		return;
	}
	for (uint32_t i = 0; i < n; i++) {
		bind_exit(l->ins_exit, 0, &l->pend[i].r, l->pend[i].r.data, l->pend[i].vmm_ticks);
		step(l, l->ins_exit, "INSERT INTO exit", l->pend[i].r.seq, 1);
	}
}

/* An async_point row (tracer/async.h); data is the struct as the vCPU thread filled it. */
static void write_async(struct tracer_log *l, const uint8_t *data)
{
	struct tracer_async_point p;
	sqlite3_stmt *st = l->ins_async;

	memcpy(&p, data, sizeof(p));
	sqlite3_bind_int64(st, 1, (sqlite3_int64)p.seq);
	sqlite3_bind_int64(st, 2, p.vcpu);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)p.regs.rip);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)p.regs.rflags);
	sqlite3_bind_int64(st, 5, p.cpl);
	sqlite3_bind_blob(st, 6, &p.regs, sizeof(p.regs), SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)p.xsave_digest);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)p.mem_digest);
	sqlite3_bind_int64(st, 9, p.dirty_pages);
	step(l, st, "INSERT INTO async_point", p.seq, 0);
}

void log_write_rec(struct tracer_log *l, const struct log_rec *r, const uint8_t *data)
{
	if (atomic_load_explicit(&l->error, memory_order_relaxed))
		return;
	if (r->type == REC_EXIT) {
		uint64_t *prev = &l->prev_tsc_exit[r->vcpu % LOG_MAX_VCPUS];
		int64_t vmm = (int64_t)(r->tsc_entry - (*prev ? *prev : l->tsc_base));

		*prev = r->tsc_exit;
		if (r->len > sizeof(r->data)) {        /* data in l->buf: insert now, in order */
			log_flush_pending(l);
			bind_exit(l->ins_exit, 0, r, data, vmm);
			step(l, l->ins_exit, "INSERT INTO exit", r->seq, 1);
			return;
		}
		l->pend[l->npend++] = (struct log_pending){ .r = *r, .vmm_ticks = vmm };
		if (l->npend == LOG_MULTI)
			log_flush_pending(l);
		return;
	}
	if (r->type == REC_ASYNC) {
		write_async(l, data);
		return;
	}
	sqlite3_bind_int64(l->ins_event, 1, (sqlite3_int64)r->seq);
	sqlite3_bind_int(l->ins_event, 2, r->vcpu);
	sqlite3_bind_int64(l->ins_event, 3, r->reason);
	sqlite3_bind_int64(l->ins_event, 4, (sqlite3_int64)r->rip);
	step(l, l->ins_event, "INSERT INTO event", r->seq, 0);
}

int log_prepare(struct tracer_log *l, char *err, size_t errlen)
{
	static const char head[] = "INSERT INTO exit(seq, vcpu, reason, vmm_ticks, guest_ticks, rip,"
				   " addr, size, dir, data) VALUES";
	static const char tuple[] = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
	char *multi = malloc(sizeof(head) + LOG_MULTI * sizeof(tuple) + 1);
	int rc;

	if (!multi)
		return -ENOMEM;
	strcpy(multi, head);
	for (int i = 0; i < LOG_MULTI; i++) {
		strcat(multi, i ? "," : "");
		strcat(multi, tuple);
	}
	rc = sqlite3_prepare_v3(l->db, multi, -1, SQLITE_PREPARE_PERSISTENT, &l->ins_exit_multi, NULL);
	if (rc == SQLITE_OK) {
		char single[sizeof(head) + sizeof(tuple)];

		snprintf(single, sizeof(single), "%s%s", head, tuple);
		rc = sqlite3_prepare_v3(l->db, single, -1, SQLITE_PREPARE_PERSISTENT, &l->ins_exit, NULL);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v3(l->db, "INSERT INTO event(seq, vcpu, kind, value, data)"
					" VALUES(?, ?, ?, ?, NULL)", -1, SQLITE_PREPARE_PERSISTENT,
					&l->ins_event, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v3(l->db, "INSERT INTO async_point(seq, vcpu, rip, rflags, cpl, regs,"
					" xsave_digest, mem_digest, dirty_pages) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
					-1, SQLITE_PREPARE_PERSISTENT, &l->ins_async, NULL);
	free(multi);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "recording %s: preparing inserts: %s", l->path, sqlite3_errmsg(l->db));
		return tracer_sqlite_errno(rc);
	}
	return 0;
}
