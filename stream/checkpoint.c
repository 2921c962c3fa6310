/* SPDX-License-Identifier: MIT */
/* Checkpoints in a recording (stream/checkpoint.h). */
#include "stream/checkpoint.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine/machine.h"
#include "stream/format.h"
#include "stream/snapshot.h"

static void phase_name(char *buf, size_t len, int64_t seq)
{
	snprintf(buf, len, "checkpoint %" PRId64, seq);
}

static uint64_t rip_now(struct machine *m)
{
	struct kvm_regs regs;

	return vcpu_get_regs(&m->vcpu, &regs) == 0 ? regs.rip : 0;
}

int stream_checkpoint_settle(struct machine *m, struct err *e)
{
	uint64_t rip = rip_now(m);
	struct vcpu_exit exit;
	int r;

	/* A debug exit still pending from the last run may come first: taken, as long as no instruction ran. */
	for (int i = 0; i < 4; i++) {
		vcpu_set_immediate_exit(&m->vcpu, true);
		r = vcpu_run(&m->vcpu, &exit);
		vcpu_set_immediate_exit(&m->vcpu, false);
		if (r < 0)
			return err_set(e, r, "KVM_RUN to complete the last exit: %s", strerror(-r));
		if (exit.reason == KVM_EXIT_INTR)
			return 0;
		if (exit.reason != KVM_EXIT_DEBUG || rip_now(m) != rip)
			break;
	}
	return err_set(e, -EPROTO, "KVM_RUN with immediate_exit ran the guest to exit %s at rip 0x%" PRIx64,
		       vcpu_exit_reason_name(exit.reason), rip_now(m));
}

/* The digest of a checkpoint: ticks, state blobs in kind order, pages in gpa order, async pages. */
static uint64_t state_digest(uint64_t h, const struct stream_snapshot *s)
{
	for (unsigned int k = 0; k < STREAM_STATE_COUNT; k++) {
		size_t len;
		const void *blob = stream_snapshot_blob(s, k, &len);

		if ((s->have & (1U << k)) && blob)
			h = stream_hash64(blob, len, h);
	}
	return h;
}

/* A checkpoint taken and not yet written (stream/checkpoint.h). */
struct stream_checkpoint_data {
	int64_t seq;
	uint64_t ticks, digest;
	int vcpu_id;
	size_t npages;
	uint64_t *gpas;            /* npages, in gpa order */
	uint8_t *pages;            /* npages * GUEST_PAGE_SIZE copies */
	uint64_t *ablob;           /* async pages, alen bytes */
	size_t alen;
	void *dblob;               /* device state, dlen bytes */
	size_t dlen;
	struct stream_snapshot s;  /* last: it ends with a flexible array (clang refuses it elsewhere) */
};

void stream_checkpoint_data_free(struct stream_checkpoint_data *d)
{
	if (!d)
		return;
	stream_snapshot_free(&d->s);
	free(d->gpas);
	free(d->pages);
	free(d->ablob);
	free(d->dblob);
	free(d);
}

/* The gpas of set (in gpa order) into *gpas (malloc'd), their count into *n. */
static int dirty_gpas(const struct stream_dirty *set, struct machine *m, uint64_t **gpas, size_t *n)
{
	*n = stream_dirty_pages(set, m, NULL, 0);
	*gpas = malloc((*n ? *n : 1) * sizeof(**gpas));
	if (!*gpas)
		return -ENOMEM;
	stream_dirty_pages(set, m, *gpas, *n);
	return 0;
}

/* Copy the changed pages; chain them on d->digest. */
static int capture_pages(struct stream_checkpoint_data *d, struct machine *m, const struct stream_dirty *changed)
{
	if (dirty_gpas(changed, m, &d->gpas, &d->npages) < 0 ||
	    !(d->pages = malloc((d->npages ? d->npages : 1) * GUEST_PAGE_SIZE)))
		return -ENOMEM;
	for (size_t i = 0; i < d->npages; i++) {
		uint8_t *copy = d->pages + i * GUEST_PAGE_SIZE;

		memcpy(copy, guest_mem_ptr(&m->mem, d->gpas[i], GUEST_PAGE_SIZE), GUEST_PAGE_SIZE);
		d->digest = stream_hash64(&d->gpas[i], sizeof(d->gpas[i]), d->digest);
		d->digest = stream_hash64(copy, GUEST_PAGE_SIZE, d->digest);
	}
	return 0;
}

int stream_checkpoint_capture(struct machine *m, int64_t seq, uint64_t ticks, struct stream_dirty *changed,
			      const struct stream_dirty *async, struct stream_checkpoint_data **out, struct err *e)
{
	struct stream_checkpoint_data *d = calloc(1, sizeof(*d));
	size_t n = 0;
	int r;

	if (!d)
		return err_set(e, -ENOMEM, "checkpoint at seq %" PRId64 ": out of memory", seq);
	d->seq = seq;
	d->ticks = ticks;
	d->vcpu_id = m->vcpu.id;
	d->digest = stream_hash64(&ticks, sizeof(ticks), (uint64_t)seq);
	r = stream_dirty_collect(changed, m);
	if (r < 0) {
		stream_checkpoint_data_free(d);
		return err_set(e, r, "checkpoint at seq %" PRId64 ": KVM_GET_DIRTY_LOG: %s", seq, strerror(-r));
	}
	r = stream_snapshot_take(&d->s, &m->vcpu, m->kvm_fd, e);
	if (r == 0) {
		d->digest = state_digest(d->digest, &d->s);
		r = capture_pages(d, m, changed);
		if (r == 0 && async && (r = dirty_gpas(async, m, &d->ablob, &n)) == 0)
			d->alen = n * sizeof(*d->ablob);
		/* Every device model's state (machine/devices.h): a replay has none, a resumed run needs them. */
		if (r == 0 && devices_save(&m->pio, &m->mmio, &d->dblob, &d->dlen) < 0)
			r = -ENOMEM;
		if (r < 0)
			err_set(e, r, "checkpoint at seq %" PRId64 ": out of memory", seq);
	}
	if (r < 0) {
		stream_checkpoint_data_free(d);
		return r;
	}
	if (d->alen)
		d->digest = stream_hash64(d->ablob, d->alen, d->digest);
	if (d->dlen)
		d->digest = stream_hash64(d->dblob, d->dlen, d->digest);
	stream_dirty_clear(changed);
	*out = d;
	return 0;
}

/* The pages of d into checkpoint_page. */
static int write_pages(sqlite3 *db, const struct stream_checkpoint_data *d)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "INSERT INTO checkpoint_page(seq, gpa, data) VALUES(?, ?, ?)", -1, &st, NULL);

	for (size_t i = 0; rc == SQLITE_OK && i < d->npages; i++) {
		sqlite3_bind_int64(st, 1, d->seq);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)d->gpas[i]);
		sqlite3_bind_blob(st, 3, d->pages + i * GUEST_PAGE_SIZE, GUEST_PAGE_SIZE, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(db);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return rc;
}

int stream_checkpoint_write(sqlite3 *db, const struct stream_checkpoint_data *d, struct err *e)
{
	sqlite3_stmt *st = NULL;
	char phase[48];
	int r, rc;

	phase_name(phase, sizeof(phase), d->seq);
	r = stream_snapshot_save(db, d->vcpu_id, phase, &d->s, e);
	if (r < 0)
		return r;
	rc = write_pages(db, d);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "INSERT INTO checkpoint(seq, ticks, pages, async_pages, devices, digest) "
					"VALUES(?, ?, ?, ?, ?, ?)", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, d->seq);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)d->ticks);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)d->npages);
		sqlite3_bind_blob(st, 4, d->ablob ? (const void *)d->ablob : "", (int)d->alen, SQLITE_STATIC);
		sqlite3_bind_blob(st, 5, d->dblob, (int)d->dlen, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, (sqlite3_int64)d->digest);
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(db);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		return err_set(e, stream_sqlite_errno(rc), "checkpoint at seq %" PRId64 ": %s", d->seq,
			       sqlite3_errmsg(db));
	return 0;
}

int stream_checkpoint_save(sqlite3 *db, struct machine *m, int64_t seq, uint64_t ticks,
			   struct stream_dirty *changed, const struct stream_dirty *async, struct err *e)
{
	struct stream_checkpoint_data *d = NULL;
	int r = stream_checkpoint_capture(m, seq, ticks, changed, async, &d, e);

	if (r == 0)
		r = stream_checkpoint_write(db, d, e);
	stream_checkpoint_data_free(d);
	return r;
}

static bool has_checkpoints(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	bool yes = sqlite3_prepare_v2(db, "SELECT 1 FROM checkpoint LIMIT 1", -1, &st, NULL) == SQLITE_OK &&
		   sqlite3_step(st) == SQLITE_ROW;

	sqlite3_finalize(st);
	return yes;
}

/* The checkpoint's exit row is in the file (stream/checkpoint.h). */
#define CKPT_HAS_EXIT "seq <= (SELECT max(seq) FROM exit)"

int stream_checkpoint_find(sqlite3 *db, int64_t seq, struct stream_checkpoint *c, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int rc;

	memset(c, 0, sizeof(*c));
	c->seq = -1;
	if (!has_checkpoints(db))   /* none taken, or a recording of format version 1 */
		return 0;
	rc = sqlite3_prepare_v2(db, "SELECT seq, ticks, pages FROM checkpoint WHERE seq <= ? "
				"AND " CKPT_HAS_EXIT " ORDER BY seq DESC LIMIT 1", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, seq);
		rc = sqlite3_step(st);
	}
	if (rc == SQLITE_ROW) {
		c->seq = sqlite3_column_int64(st, 0);
		c->ticks = (uint64_t)sqlite3_column_int64(st, 1);
		c->pages = (uint32_t)sqlite3_column_int64(st, 2);
		rc = SQLITE_DONE;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return err_set(e, -EIO, "reading table checkpoint: %s", sqlite3_errmsg(db));
	return 0;
}

int stream_checkpoint_list(sqlite3 *db, int64_t **seqs, uint32_t *n, struct err *e)
{
	sqlite3_stmt *st = NULL;
	uint32_t cap = 0;
	int rc;

	*seqs = NULL;
	*n = 0;
	if (!has_checkpoints(db))
		return 0;
	rc = sqlite3_prepare_v2(db, "SELECT seq FROM checkpoint WHERE " CKPT_HAS_EXIT " ORDER BY seq", -1, &st, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			int64_t *more = realloc(*seqs, (cap = cap ? 2 * cap : 64) * sizeof(**seqs));

			if (!more) {
				sqlite3_finalize(st);
				return err_set(e, -ENOMEM, "reading table checkpoint: out of memory");
			}
			*seqs = more;
		}
		(*seqs)[(*n)++] = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return err_set(e, -EIO, "reading table checkpoint: %s", sqlite3_errmsg(db));
	return 0;
}

/* Write the pages of checkpoint seq into m (want: its pages column; m NULL: only read them); their digest chained on *h. */
static int restore_pages(sqlite3 *db, struct machine *m, int64_t seq, int64_t want, uint64_t *h, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int64_t n = 0;
	int rc = sqlite3_prepare_v2(db, "SELECT gpa, data FROM checkpoint_page WHERE seq = ? ORDER BY gpa",
				    -1, &st, NULL);

	if (rc == SQLITE_OK)
		sqlite3_bind_int64(st, 1, seq);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t gpa = (uint64_t)sqlite3_column_int64(st, 0);
		const void *data = sqlite3_column_blob(st, 1);

		if (sqlite3_column_bytes(st, 1) != (int)GUEST_PAGE_SIZE || gpa % GUEST_PAGE_SIZE ||
		    (m && guest_mem_write(&m->mem, gpa, data, GUEST_PAGE_SIZE) < 0)) {
			sqlite3_finalize(st);
			return err_set(e, -EINVAL, "corrupt recording: checkpoint %" PRId64 ": page at gpa 0x%"
				       PRIx64 " does not fit guest RAM", seq, gpa);
		}
		*h = stream_hash64(&gpa, sizeof(gpa), *h);
		*h = stream_hash64(data, GUEST_PAGE_SIZE, *h);
		if (m && m->written)   /* written by us, not by the guest: KVM's log does not see it */
			stream_dirty_mark(m->written, m, gpa);
		n++;
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return err_set(e, -EIO, "reading checkpoint %" PRId64 "'s pages: %s", seq, sqlite3_errmsg(db));
	/* The digest covers the pages, not their count: the column must agree with the rows. */
	if (n != want)
		return err_set(e, -EINVAL, "corrupt recording: checkpoint %" PRId64 " says %" PRId64 " pages, "
			       "its checkpoint_page rows are %" PRId64, seq, want, n);
	return 0;
}

/* Apply one checkpoint's pages; verify it; the target's state into m (restore set). m NULL: verify only. */
static int apply_one(sqlite3 *db, struct machine *m, sqlite3_stmt *row, bool restore,
		     struct stream_dirty *async, struct err *e)
{
	int64_t seq = sqlite3_column_int64(row, 0);
	uint64_t ticks = (uint64_t)sqlite3_column_int64(row, 1), want = (uint64_t)sqlite3_column_int64(row, 5);
	const void *dblob = sqlite3_column_blob(row, 4);
	int dlen = sqlite3_column_bytes(row, 4);
	uint64_t h = stream_hash64(&ticks, sizeof(ticks), (uint64_t)seq);
	const uint8_t *ablob = sqlite3_column_blob(row, 3);
	int alen = sqlite3_column_bytes(row, 3);
	struct stream_snapshot s;
	char phase[48];
	int r;

	memset(&s, 0, sizeof(s));
	phase_name(phase, sizeof(phase), seq);
	r = stream_snapshot_load(db, m ? m->vcpu.id : 0, phase, &s, e);
	if (r == 0) {
		h = state_digest(h, &s);
		r = restore_pages(db, m, seq, sqlite3_column_type(row, 2) == SQLITE_INTEGER ?
				  sqlite3_column_int64(row, 2) : -1, &h, e);
	}
	if (r == 0 && alen > 0)
		h = stream_hash64(ablob, (size_t)alen, h);
	if (r == 0 && dlen > 0)
		h = stream_hash64(dblob, (size_t)dlen, h);
	if (r == 0 && h != want)
		r = err_set(e, -EINVAL, "corrupt recording: checkpoint %" PRId64 " does not match its digest "
			    "(a row was changed)", seq);
	if (r == 0 && restore)
		r = stream_snapshot_restore(&s, &m->vcpu, e);
	/* A machine with device models (not a replay's) gets their state back too. */
	if (r == 0 && restore && m->pio.nranges && devices_restore(&m->pio, &m->mmio, dblob, (size_t)dlen) < 0)
		r = err_set(e, -EINVAL, "corrupt recording: checkpoint %" PRId64 ": the device state (%d bytes) "
			    "does not fit this machine's devices", seq, dlen);

	stream_snapshot_free(&s);
	if (r == 0 && restore && async) {
		stream_dirty_clear(async);
		for (int i = 0; i + 8 <= alen; i += 8) {
			uint64_t gpa;

			memcpy(&gpa, ablob + i, 8);
			stream_dirty_mark(async, m, gpa);
		}
	}
	return r;
}

int stream_checkpoint_restore(sqlite3 *db, struct machine *m, const struct stream_checkpoint *c,
			      struct stream_dirty *async, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r = 0, rc;

	if (c->seq < 0)
		return 0;
	rc = sqlite3_prepare_v2(db, "SELECT seq, ticks, pages, async_pages, devices, digest FROM checkpoint "
				"WHERE seq <= ? ORDER BY seq", -1, &st, NULL);
	if (rc == SQLITE_OK)
		sqlite3_bind_int64(st, 1, c->seq);
	while (r == 0 && rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = apply_one(db, m, st, sqlite3_column_int64(st, 0) == c->seq, async, e);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (r == 0 && rc != SQLITE_DONE)
		r = err_set(e, -EIO, "reading table checkpoint: %s", sqlite3_errmsg(db));
	return r;
}

int stream_checkpoint_verify_all(sqlite3 *db, uint32_t *n, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r = 0, rc = sqlite3_prepare_v2(db, "SELECT seq, ticks, pages, async_pages, devices, digest FROM checkpoint "
					   "ORDER BY seq", -1, &st, NULL);

	*n = 0;
	while (r == 0 && rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = apply_one(db, NULL, st, false, NULL, e);
		(*n)++;
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (r == 0 && rc != SQLITE_DONE)
		r = err_set(e, -EIO, "reading table checkpoint: %s", sqlite3_errmsg(db));
	return r;
}

int stream_checkpoint_page_at(sqlite3 *db, int64_t seq, uint64_t gpa, void *page, struct err *e)
{
	static const char *const sql[] = {
		"SELECT data FROM checkpoint_page WHERE gpa = ?1 AND seq <= ?2 ORDER BY seq DESC LIMIT 1",
		"SELECT data FROM mem_page WHERE gpa = ?1",
	};

	for (unsigned int i = seq < 0 ? 1 : 0; i < 2; i++) {
		sqlite3_stmt *st = NULL;
		int rc = sqlite3_prepare_v2(db, sql[i], -1, &st, NULL), n;

		if (rc == SQLITE_OK) {
			sqlite3_bind_int64(st, 1, (sqlite3_int64)gpa);
			if (i == 0)
				sqlite3_bind_int64(st, 2, seq);
			rc = sqlite3_step(st);
		}
		if (rc == SQLITE_ROW) {
			n = sqlite3_column_bytes(st, 0);
			if (n == (int)GUEST_PAGE_SIZE)
				memcpy(page, sqlite3_column_blob(st, 0), GUEST_PAGE_SIZE);
			sqlite3_finalize(st);
			if (n != (int)GUEST_PAGE_SIZE)
				return err_set(e, -EINVAL, "corrupt recording: the page at gpa 0x%" PRIx64 " holds %d "
					       "bytes", gpa, n);
			return 0;
		}
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return err_set(e, -EIO, "reading the page at gpa 0x%" PRIx64 ": %s", gpa, sqlite3_errmsg(db));
	}
	memset(page, 0, GUEST_PAGE_SIZE);
	return 0;
}
