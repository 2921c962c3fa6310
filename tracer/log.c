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

#include "tracer/async.h"
#include "tracer/format.h"
#include "tracer/log_int.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Consume one slot: a record header, or the next 64 data bytes of the current record. */
static void take_slot(struct tracer_log *l, const struct tracer_slot *s)
{
	if (l->cur_slots_left == 0) {
		memcpy(&l->cur, s, sizeof(l->cur));
		if (l->cur.len <= sizeof(l->cur.data)) {
			log_write_rec(l, &l->cur, l->cur.data);
			return;
		}
		l->cur_slots_left = (l->cur.len + TRACER_REC_SIZE - 1) / TRACER_REC_SIZE;
		l->cur_off = 0;
		return;
	}
	memcpy(l->buf + l->cur_off, s->bytes, TRACER_REC_SIZE);
	l->cur_off += TRACER_REC_SIZE;
	if (--l->cur_slots_left == 0)
		log_write_rec(l, &l->cur, l->buf);
}

static void txn_begin(struct tracer_log *l)
{
	int rc;

	pthread_mutex_lock(&l->db_lock);
	l->in_txn = true;
	l->txn_rows = 0;
	l->txn_start_ns = now_ns();
	if (atomic_load(&l->error))
		return;
	rc = sqlite3_exec(l->db, "BEGIN", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		log_writer_fail(l, rc, "BEGIN", l->cur.seq);
}

static void txn_commit(struct tracer_log *l, uint32_t tail)
{
	int rc;

	log_flush_pending(l);
	if (!atomic_load(&l->error)) {
		rc = sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			log_writer_fail(l, rc, "COMMIT", l->cur.seq);
	}
	if (atomic_load(&l->error) && !sqlite3_get_autocommit(l->db))
		sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
	l->in_txn = false;
	pthread_mutex_unlock(&l->db_lock);
	atomic_store(&l->committed, tail);
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
		uint32_t n = tracer_ring_ready(&l->ring);
		uint32_t tail = atomic_load(&l->ring.tail);
		bool stop = atomic_load(&l->stop), flush = atomic_load(&l->flush);

		/* Free slots in small steps: a producer blocked on a full ring goes on sooner. */
		if (n > 1024)
			n = 1024;
		if (n) {
			if (!l->in_txn)
				txn_begin(l);
			for (uint32_t i = 0; i < n; i++)
				take_slot(l, tracer_ring_peek(&l->ring, i));
			tracer_ring_pop(&l->ring, n);
			tail += n;
		}
		if (l->in_txn && (l->txn_rows >= l->batch_rows ||
				  now_ns() - l->txn_start_ns >= l->batch_ns ||
				  (!n && (stop || flush))))
			txn_commit(l, tail);
		if (!l->in_txn)
			atomic_store(&l->committed, tail);
		if (n)
			continue;
		if (stop)
			break;
		tracer_ring_wait(&l->ring, 1000000ULL);
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
static int create_file(const char *path, bool force, char *err, size_t errlen)
{
	int fd, r;

	if (force && (r = unlink_recording(path)) < 0) {
		snprintf(err, errlen, "recording %s: cannot replace it: %s", path, strerror(-r));
		return r;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		int e = errno;

		if (e == EEXIST)
			snprintf(err, errlen, "recording %s already exists; refusing to overwrite it "
				 "(remove it or use --force)", path);
		else
			snprintf(err, errlen, "recording %s: cannot create it: %s", path, strerror(e));
		return -e;
	}
	close(fd);
	return 0;
}

static int open_db(struct tracer_log *l, char *err, size_t errlen)
{
	int rc = sqlite3_open_v2(l->path, &l->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	char what[64];
	int r;

	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "recording %s: sqlite3_open: %s", l->path,
			 l->db ? sqlite3_errmsg(l->db) : sqlite3_errstr(rc));
		return tracer_sqlite_errno(rc);
	}
	snprintf(what, sizeof(what), "recording: setting WAL mode");
	r = tracer_sql_exec(l->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
			    " PRAGMA cache_size=-16384;", what, err, errlen);
	if (!r)
		r = tracer_schema_create(l->db, err, errlen);
	if (!r)
		r = log_prepare(l, err, errlen);
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
		    char *err, size_t errlen)
{
	struct tracer_log_options o = opt ? *opt : (struct tracer_log_options){ 0 };
	struct tracer_log *l;
	int r;

	if (strlen(path) >= PATH_MAX) {
		snprintf(err, errlen, "recording path too long (%zu bytes)", strlen(path));
		return -ENAMETOOLONG;
	}
	l = calloc(1, sizeof(*l));
	if (!l || !(l->buf = malloc(TRACER_MAX_DATA + TRACER_REC_SIZE))) {
		free(l);
		snprintf(err, errlen, "recording %s: out of memory", path);
		return -ENOMEM;
	}
	snprintf(l->path, sizeof(l->path), "%s", path);
	pthread_mutex_init(&l->db_lock, NULL);
	pthread_mutex_init(&l->err_lock, NULL);
	l->batch_rows = o.batch_rows ? o.batch_rows : 50000;
	l->batch_ns = (uint64_t)(o.batch_ms ? o.batch_ms : 50) * 1000000ULL;
	r = tracer_ring_init(&l->ring, o.ring_records ? o.ring_records : 65536);
	if (r < 0) {
		snprintf(err, errlen, "recording %s: ring of %u slots: %s", path, o.ring_records,
			 strerror(-r));
		goto fail;
	}
	r = create_file(path, o.force, err, errlen);
	if (r < 0)
		goto fail;
	r = open_db(l, err, errlen);
	if (r < 0) {
		/* Do not leave a half-made file that would block the next try without --force. */
		sqlite3_close(l->db);
		l->db = NULL;
		unlink_recording(path);
		goto fail;
	}
	r = start_writer(l);
	if (r < 0) {
		snprintf(err, errlen, "recording %s: starting the writer thread: %s", path, strerror(-r));
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
		tracer_ring_kick(&l->ring);
		pthread_join(l->writer, NULL);
	}
	sqlite3_finalize(l->ins_exit);
	sqlite3_finalize(l->ins_exit_multi);
	sqlite3_finalize(l->ins_event);
	sqlite3_finalize(l->ins_async);
	if (l->db)
		sqlite3_close(l->db);
	tracer_ring_free(&l->ring);
	pthread_mutex_destroy(&l->db_lock);
	pthread_mutex_destroy(&l->err_lock);
	free(l->buf);
	free(l);
}

void tracer_log_set_tsc_base(struct tracer_log *l, uint64_t tsc)
{
	l->tsc_base = tsc;  /* published to the writer by the first push (release) */
}

static int push_rec(struct tracer_log *l, const struct log_rec *r, const void *data)
{
	int e = tracer_ring_push(&l->ring, (const struct tracer_slot *)r);

	if (!e && r->len > sizeof(r->data)) {
		const uint8_t *p = data;

		for (uint32_t off = 0; !e && off < r->len; off += TRACER_REC_SIZE) {
			struct tracer_slot s;
			uint32_t n = r->len - off < TRACER_REC_SIZE ? r->len - off : TRACER_REC_SIZE;

			memcpy(s.bytes, p + off, n);
			e = tracer_ring_push(&l->ring, &s);
		}
	}
	if (e < 0)
		return atomic_load(&l->error) ? atomic_load(&l->error) : e;
	return 0;
}

int tracer_log_exit(struct tracer_log *l, const struct tracer_exit_info *x)
{
	struct log_rec r;
	int e = atomic_load_explicit(&l->error, memory_order_relaxed);

	if (e)
		return e;
	if (x->len > TRACER_MAX_DATA)
		return -E2BIG;
	r = (struct log_rec){
		.type = REC_EXIT, .dir = x->has_access ? x->dir : DIR_NONE, .vcpu = (uint16_t)x->vcpu,
		.reason = x->reason, .size = x->size, .len = x->data ? x->len : 0, .seq = x->seq,
		.tsc_entry = x->tsc_entry, .tsc_exit = x->tsc_exit, .rip = x->rip, .addr = x->addr,
	};
	if (r.len && r.len <= sizeof(r.data))
		memcpy(r.data, x->data, r.len);
	return push_rec(l, &r, x->data);
}

int tracer_log_event(struct tracer_log *l, uint64_t seq, uint32_t vcpu, uint32_t kind, int64_t value)
{
	struct log_rec r = { .type = REC_EVENT, .dir = DIR_NONE, .vcpu = (uint16_t)vcpu,
			     .reason = kind, .seq = seq, .rip = (uint64_t)value };
	int e = atomic_load_explicit(&l->error, memory_order_relaxed);

	return e ? e : push_rec(l, &r, NULL);
}

int tracer_log_async_point(struct tracer_log *l, const struct tracer_async_point *p)
{
	struct log_rec r = { .type = REC_ASYNC, .dir = DIR_NONE, .len = sizeof(*p), .seq = p->seq };
	int e = atomic_load_explicit(&l->error, memory_order_relaxed);

	_Static_assert(sizeof(*p) > sizeof(r.data), "a point travels in continuation slots");
	return e ? e : push_rec(l, &r, p);
}

int tracer_log_error(struct tracer_log *l, char *err, size_t errlen)
{
	int e = atomic_load(&l->error);

	if (e && err) {
		pthread_mutex_lock(&l->err_lock);
		snprintf(err, errlen, "%s", l->err_msg);
		pthread_mutex_unlock(&l->err_lock);
	}
	return e;
}

int tracer_log_drain(struct tracer_log *l, char *err, size_t errlen)
{
	uint32_t target = atomic_load(&l->ring.head);
	struct timespec ts = { 0, 200000 };

	atomic_store(&l->flush, 1);
	while (atomic_load(&l->committed) != target && !atomic_load(&l->error)) {
		tracer_ring_kick(&l->ring);
		nanosleep(&ts, NULL);
	}
	atomic_store(&l->flush, 0);
	return tracer_log_error(l, err, errlen);
}

uint64_t tracer_log_exit_rows(struct tracer_log *l)
{
	return atomic_load(&l->exit_rows);
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
