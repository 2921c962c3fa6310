/* SPDX-License-Identifier: MIT */
#include "tracer/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/clock.h"
#include "stream/format.h"
#include "stream/write.h"
#include "tracer/log_int.h"
#include "tracer/ring.h"
#include "tracer/tp.h"

/* The writer's first failure: kept with the file's name; later records are dropped. */
static void writer_failed(struct tracer_log *l)
{
	if (atomic_load(&l->error))
		return;
	pthread_mutex_lock(&l->err_lock);
	snprintf(l->err_msg, sizeof(l->err_msg), "recording %s: %s; the log is incomplete", l->path,
		 l->w.err.msg);
	pthread_mutex_unlock(&l->err_lock);
	atomic_store(&l->error, l->w.err.code);
}

/* The ring record of a tracer_log_job: no stream kind, the pointer in its inline data. */
#define TRACER_KIND_JOB 0xfe
_Static_assert(TRACER_KIND_JOB >= STREAM_KIND_COUNT, "a job is no stream record");

static void run_job(struct tracer_log *l, const struct stream_rec *r)
{
	struct tracer_log_job *job;

	memcpy(&job, r->data, sizeof(job));
	if (!atomic_load(&l->error) && job->write(job, l->db, &l->w.err) < 0)
		writer_failed(l);
	job->free(job);
}

/*
 * The LTTng events of a record the log took (tracer/tp.h): the one call site
 * of each, for every producer's lane, so the trace holds what the log holds,
 * in the log's order. Here on the writer thread, not on a vCPU thread: a
 * blocking channel that is full stalls the writer, and the full ring then
 * the vCPU, as a slow disk does.
 */
static void fire_tp(const struct stream_rec *r, const uint8_t *data)
{
	(void)data;   /* unused when the build has no LTTng */
	if (r->kind == STREAM_EXIT)
		tracer_tp(exit, r, data);
	else
		tracer_tp(inject, r->seq, r->vcpu, r->kind, r->event.value);
}

static void write_rec(struct tracer_log *l, const struct stream_rec *r, const uint8_t *data)
{
	if (r->kind == TRACER_KIND_JOB)
		run_job(l, r);
	else if (stream_write(&l->w, r, data) < 0)
		writer_failed(l);
	else
		fire_tp(r, data);
}

static void txn_begin(struct tracer_log *l);

/* Consume one slot of a lane: a record header, or the next 64 data bytes of its current record. */
static void take_slot(struct tracer_log *l, struct tracer_log_lane *ln, const struct tracer_slot *s)
{
	if (ln->cur_slots_left == 0) {
		memcpy(&ln->cur, s, sizeof(ln->cur));
		l->last_seq = ln->cur.seq;
		if (ln->cur.len <= sizeof(ln->cur.data)) {
			write_rec(l, &ln->cur, ln->cur.data);
			return;
		}
		ln->cur_slots_left = (ln->cur.len + TRACER_REC_SIZE - 1) / TRACER_REC_SIZE;
		ln->cur_off = 0;
		return;
	}
	memcpy(ln->buf + ln->cur_off, s->bytes, TRACER_REC_SIZE);
	ln->cur_off += TRACER_REC_SIZE;
	if (--ln->cur_slots_left == 0)
		write_rec(l, &ln->cur, ln->buf);
}

/* Rows taken so far are committed (or were dropped after a failure): publish that per lane. */
static void lanes_committed(struct tracer_log *l)
{
	uint32_t n = atomic_load_explicit(&l->nlanes, memory_order_acquire);

	for (uint32_t i = 0; i < n; i++)
		atomic_store(&l->lane[i]->committed, l->lane[i]->taken);
}

/* Take up to 1024 slots of each lane (small steps: a producer blocked on a full ring goes on sooner). */
static uint32_t lanes_take(struct tracer_log *l)
{
	uint32_t nl = atomic_load_explicit(&l->nlanes, memory_order_acquire), total = 0;

	for (uint32_t i = 0; i < nl; i++) {
		struct tracer_log_lane *ln = l->lane[i];
		uint32_t n = tracer_ring_ready(&ln->ring);

		if (n > 1024)
			n = 1024;
		if (!n)
			continue;
		if (!l->in_txn)
			txn_begin(l);
		for (uint32_t k = 0; k < n; k++)
			take_slot(l, ln, tracer_ring_peek(&ln->ring, k));
		tracer_ring_pop(&ln->ring, n);
		ln->taken += n;
		total += n;
	}
	return total;
}

static void txn_begin(struct tracer_log *l)
{
	int rc;

	pthread_mutex_lock(&l->db_lock);
	l->in_txn = true;
	l->w.rows = 0;
	l->txn_start_ns = clock_now_ns();
	if (atomic_load(&l->error))
		return;
	rc = sqlite3_exec(l->db, "BEGIN", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		stream_writer_fail(&l->w, rc, "BEGIN", l->last_seq);
		writer_failed(l);
	}
}

static void txn_commit(struct tracer_log *l)
{
	int rc;

	if (stream_writer_flush(&l->w) < 0 || stream_writer_seal(&l->w) < 0)
		writer_failed(l);
	if (!atomic_load(&l->error)) {
		rc = sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			stream_writer_fail(&l->w, rc, "COMMIT", l->last_seq);
			writer_failed(l);
		} else {
			l->wal_checkpoint_due = true;
		}
	}
	if (atomic_load(&l->error) && !sqlite3_get_autocommit(l->db))
		sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
	l->in_txn = false;
	pthread_mutex_unlock(&l->db_lock);
	lanes_committed(l);
}

/* Writer thread, outside a transaction: the WAL into the main file once wal_checkpoint_ns went by. */
static void wal_checkpoint_by_time(struct tracer_log *l)
{
	int rc, wal_frames = 0, copied = 0;
	uint64_t now = clock_now_ns();

	if (!l->wal_checkpoint_due || now - l->last_wal_checkpoint_ns < l->wal_checkpoint_ns)
		return;
	l->last_wal_checkpoint_ns = now;
	l->wal_checkpoint_due = false;
	pthread_mutex_lock(&l->db_lock);
	if (!atomic_load(&l->error)) {
		rc = tracer_wal_checkpoint(l->db, &wal_frames, &copied);
		if (rc != SQLITE_OK) {
			stream_writer_fail(&l->w, rc, "WAL checkpoint", l->last_seq);
			writer_failed(l);
		}
	}
	pthread_mutex_unlock(&l->db_lock);
}

static void *writer_main(void *arg)
{
	struct tracer_log *l = arg;

	/*
	 * The vCPU thread is the critical path; the writer only needs throughput
	 * (the ring absorbs bursts). On a busy host, let the vCPU win the CPU.
	 */
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 5);

	for (;;) {
		bool stop = atomic_load(&l->stop), flush = atomic_load(&l->flush);
		uint32_t n = lanes_take(l);

		if (l->in_txn && (l->w.rows >= l->batch_rows ||
				  clock_now_ns() - l->txn_start_ns >= l->batch_ns ||
				  (!n && (stop || flush))))
			txn_commit(l);
		if (!l->in_txn) {
			lanes_committed(l);
			/* Also when the guest went quiet after a commit: its last rows reach the file. */
			wal_checkpoint_by_time(l);
		}
		if (n)
			continue;
		if (stop)
			break;
		/* Lane 0's producer wakes the writer; further lanes are polled every millisecond. */
		tracer_ring_wait(&l->lane[0]->ring, 1000000ULL);
	}
	return NULL;
}

/* Remove a recording and its WAL side files; 0 or -errno of the main file's unlink. */
static int unlink_recording(const char *path)
{
	char side[PATH_MAX + 8];
	int r;

	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
	r = unlink(path) < 0 && errno != ENOENT ? -errno : 0;
	return r;
}

/* Create the file exclusively (O_EXCL) so an existing recording is never clobbered by accident. */
static int create_file(const char *path, bool force, struct err *err)
{
	int fd, r;

	if (force && (r = unlink_recording(path)) < 0) {
		err_printf(err, "recording %s: cannot replace it: %s", path, strerror(-r));
		return r;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		int e = errno;

		if (e == EEXIST)
			err_printf(err, "recording %s already exists; refusing to overwrite it "
				 "(remove it or use --force)", path);
		else
			err_printf(err, "recording %s: cannot create it: %s", path, strerror(e));
		return -e;
	}
	close(fd);
	return 0;
}

static int open_db(struct tracer_log *l, struct err *err)
{
	int rc = sqlite3_open_v2(l->path, &l->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	char what[64];
	int r;

	if (rc != SQLITE_OK) {
		err_printf(err, "recording %s: sqlite3_open: %s", l->path,
			 l->db ? sqlite3_errmsg(l->db) : sqlite3_errstr(rc));
		return stream_sqlite_errno(rc);
	}
	snprintf(what, sizeof(what), "recording: setting WAL mode");
	/*
	 * synchronous=OFF: no fsync per commit, checkpoint or journal switch
	 * (11 of them, ~4 ms each on this host's disk, were most of record's fixed
	 * cost). A crash of kvmrr loses nothing (WAL); the file is made durable
	 * once, when it is complete (tracer_end). Set before the WAL switch, which
	 * is a transaction of its own.
	 */
	r = stream_sql_exec(l->db, "PRAGMA synchronous=OFF; PRAGMA journal_mode=WAL;"
			    " PRAGMA cache_size=-16384;", what, err);
	if (!r)
		r = stream_schema_create(l->db, err);
	if (!r)   /* the file is a recording (an empty one) from here on, without its -wal */
		r = tracer_log_wal_checkpoint(l->db, l->path, "after the schema", err);
	l->last_wal_checkpoint_ns = clock_now_ns();
	if (!r) {
		struct err e = { 0 };

		r = stream_writer_init(&l->w, l->db, &e);
		if (r < 0)
			err_printf(err, "recording %s: %s", l->path, e.msg);
	}
	return r;
}

/*
 * The writer blocks every signal, so SIGINT/SIGTERM and the kick signal land
 * on the vCPU thread, where they interrupt KVM_RUN (api.rst: KVM_RUN returns
 * EINTR for a signal to that thread).
 */
static int start_writer(struct tracer_log *l)
{
	sigset_t all, old;
	int r;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&l->writer, NULL, writer_main, l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

int tracer_log_open(struct tracer_log **out, const char *path, const struct tracer_log_options *opt,
		    struct err *err)
{
	struct tracer_log_options o = opt ? *opt : (struct tracer_log_options){ 0 };
	struct tracer_log *l;
	int r;

	if (strlen(path) >= PATH_MAX) {
		return err_set(err, -ENAMETOOLONG, "recording path too long (%zu bytes)", strlen(path));
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return err_set(err, -ENOMEM, "recording %s: out of memory", path);
	snprintf(l->path, sizeof(l->path), "%s", path);
	pthread_mutex_init(&l->db_lock, NULL);
	pthread_mutex_init(&l->err_lock, NULL);
	pthread_mutex_init(&l->lane_lock, NULL);
	l->ring_records = o.ring_records ? o.ring_records : 65536;
	l->batch_rows = o.batch_rows ? o.batch_rows : 50000;
	l->batch_ns = (uint64_t)(o.batch_ms ? o.batch_ms : 50) * 1000000ULL;
	l->wal_checkpoint_ns = (uint64_t)(o.wal_checkpoint_ms ? o.wal_checkpoint_ms : 1000) * 1000000ULL;
	r = tracer_log_lane_add(l, NULL);
	if (r < 0) {
		err_printf(err, "recording %s: ring of %u slots: %s", path, l->ring_records,
			 strerror(-r));
		goto fail;
	}
	r = create_file(path, o.force, err);
	if (r < 0)
		goto fail;
	r = open_db(l, err);
	if (r < 0) {
		/* Do not leave a half-made file that would block the next try without --force. */
		sqlite3_close(l->db);
		l->db = NULL;
		unlink_recording(path);
		goto fail;
	}
	r = start_writer(l);
	if (r < 0) {
		err_printf(err, "recording %s: starting the writer thread: %s", path, strerror(-r));
		goto fail;
	}
	l->writer_started = true;
	*out = l;
	return 0;
fail:
	tracer_log_close(l);
	return r;
}

void tracer_log_close(struct tracer_log *l)
{
	if (!l)
		return;
	if (l->writer_started) {
		atomic_store(&l->stop, 1);
		tracer_ring_kick(&l->lane[0]->ring);
		pthread_join(l->writer, NULL);
	}
	stream_writer_fini(&l->w);
	if (l->db)
		sqlite3_close(l->db);
	for (uint32_t i = 0; i < atomic_load(&l->nlanes); i++) {
		tracer_ring_free(&l->lane[i]->ring);
		free(l->lane[i]->buf);
		free(l->lane[i]);
	}
	pthread_mutex_destroy(&l->db_lock);
	pthread_mutex_destroy(&l->err_lock);
	pthread_mutex_destroy(&l->lane_lock);
	free(l);
}

void tracer_log_set_tsc_base(struct tracer_log *l, uint64_t tsc)
{
	l->w.tsc_base = tsc;  /* published to the writer by the first push (release) */
}

int tracer_log_job(struct tracer_log *l, struct tracer_log_job *job)
{
	struct stream_rec r = { .kind = TRACER_KIND_JOB, .seq = -1 };
	int e = atomic_load_explicit(&l->error, memory_order_relaxed);

	if (e) {
		job->free(job);
		return e;
	}
	_Static_assert(sizeof(job) <= sizeof(r.data), "a pointer fits in a record's inline data");
	memcpy(r.data, &job, sizeof(job));
	tracer_ring_push(&l->lane[0]->ring, (const struct tracer_slot *)&r);
	return 0;
}

int tracer_log_error(struct tracer_log *l, struct err *err)
{
	int e = atomic_load(&l->error);

	if (e && err) {
		pthread_mutex_lock(&l->err_lock);
		err_printf(err, "%s", l->err_msg);
		pthread_mutex_unlock(&l->err_lock);
	}
	return e;
}

sqlite3 *tracer_log_lock(struct tracer_log *l)
{
	pthread_mutex_lock(&l->db_lock);
	return l->db;
}

void tracer_log_unlock(struct tracer_log *l)
{
	pthread_mutex_unlock(&l->db_lock);
}

const char *tracer_log_path(const struct tracer_log *l)
{
	return l->path;
}
