/* SPDX-License-Identifier: MIT */
/* replay_open: a machine in the recording's initial state, from the file alone. */
#include "replay/replay.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "replay/async.h"
#include "replay/ckpt.h"
#include "stream/digest.h"
#include "stream/format.h"
#include "stream/checkpoint.h"
#include "stream/point.h"
#include "stream/snapshot.h"
#include "vcpu/kvm.h"

static int meta_u64(struct replay *r, const char *key, uint64_t *v)
{
	char buf[64];
	char *end;

	if (stream_meta_get(r->db, key, buf, sizeof(buf)) < 0) {
		return err_set(&r->err, -EINVAL, "meta.%s is missing", key);
	}
	*v = strtoull(buf, &end, 10);
	if (*end) {
		return err_set(&r->err, -EINVAL, "meta.%s is \"%s\", not a number", key, buf);
	}
	return 0;
}

/* Column i of a cpuid row: an integer of 32 bits, or false. */
static bool cpuid_col(sqlite3_stmt *st, int i, uint32_t *v)
{
	int64_t x = sqlite3_column_int64(st, i);

	*v = (uint32_t)x;
	return sqlite3_column_type(st, i) == SQLITE_INTEGER && x >= 0 && x <= UINT32_MAX;
}

static int load_cpuid(struct replay *r, struct kvm_cpuid2 **out)
{
	sqlite3_stmt *st = NULL;
	struct kvm_cpuid2 *c = NULL;
	unsigned int n = 0;
	int rc;

	rc = sqlite3_prepare_v2(r->db, "SELECT function, idx, flags, eax, ebx, ecx, edx FROM cpuid "
				"ORDER BY function, idx", -1, &st, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	c = kvm_cpuid2_alloc(256);
	if (!c) {
		sqlite3_finalize(st);
		return -ENOMEM;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == 256) {
			sqlite3_finalize(st);
			free(c);
			return err_set(&r->err, -EINVAL, "corrupt recording: the cpuid table has more than "
				       "256 rows (KVM takes at most 256)");
		}
		struct kvm_cpuid_entry2 *e = &c->entries[n++];

		uint32_t *cols[] = { &e->function, &e->index, &e->flags, &e->eax, &e->ebx, &e->ecx, &e->edx };

		for (int i = 0; i < 7; i++) {
			if (!cpuid_col(st, i, cols[i])) {
				rc = err_set(&r->err, -EINVAL, "corrupt recording: cpuid row %u: %s is not a "
					     "32-bit value", n - 1, sqlite3_column_name(st, i));
				sqlite3_finalize(st);
				free(c);
				return rc;
			}
		}
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		goto fail;
	sqlite3_finalize(st);
	if (n == 0) {
		free(c);
		return err_set(&r->err, -EINVAL, "corrupt recording: the cpuid table is empty");
	}
	c->nent = n;
	*out = c;
	return 0;
fail:
	err_set(&r->err, -EINVAL, "reading table cpuid: %s", sqlite3_errmsg(r->db));
	sqlite3_finalize(st);
	free(c);
	return -EINVAL;
}

static int load_pages(struct replay *r)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(r->db, "SELECT gpa, data FROM mem_page", -1, &st, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t gpa = (uint64_t)sqlite3_column_int64(st, 0);
		const void *data = sqlite3_column_blob(st, 1);
		int n = sqlite3_column_bytes(st, 1);

		if (n != (int)GUEST_PAGE_SIZE || guest_mem_write(&r->m.mem, gpa, data, (uint64_t)n) < 0) {
			sqlite3_finalize(st);
			return err_set(&r->err, -EINVAL, "corrupt recording: mem_page at gpa 0x%llx (%d bytes) does not fit "
				 "the recorded %llu bytes of RAM", (unsigned long long)gpa, n,
				 (unsigned long long)r->m.cfg.mem_size);
		}
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE) {
		sqlite3_finalize(st);
		return err_set(&r->err, -EIO, "reading table mem_page: %s",
			 sqlite3_errmsg(r->db));
	}
	sqlite3_finalize(st);
	return 0;
}

static int restore_vcpu(struct replay *r)
{
	struct stream_snapshot s;
	int rc;

	memset(&s, 0, sizeof(s));
	rc = stream_snapshot_load(r->db, 0, "initial", &s, &r->err);
	if (rc == 0)
		rc = stream_snapshot_restore(&s, &r->m.vcpu, &r->err);
	if (rc < 0)
		err_wrap(&r->err, "initial vCPU state");
	stream_snapshot_free(&s);
	return rc;
}

static void load_end(struct replay *r)
{
	char buf[64];

	r->complete = stream_meta_get(r->db, "complete", buf, sizeof(buf)) == 0 && strcmp(buf, "1") == 0;
	if (stream_meta_get(r->db, "end", r->recorded_end, sizeof(r->recorded_end)) < 0)
		snprintf(r->recorded_end, sizeof(r->recorded_end), "unknown");
	if (stream_meta_get(r->db, "end_code", buf, sizeof(buf)) == 0)
		r->recorded_code = atoi(buf);
	if (stream_meta_get(r->db, "tsc_khz", buf, sizeof(buf)) == 0)
		r->tsc_khz = atof(buf);
	if (stream_meta_get(r->db, "format_version", buf, sizeof(buf)) == 0)
		r->format_version = atoi(buf);
}

/*
 * Whether the recorder had the interrupt window requested when it reached
 * exit seq: its last window event before that exit's own (a checkpoint
 * holds no VMM request; the run page's flag outlives the exit that set it).
 */
static bool window_before(sqlite3 *db, int64_t seq)
{
	sqlite3_stmt *st = NULL;
	bool on = false;

	if (sqlite3_prepare_v2(db, "SELECT value FROM event WHERE kind = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT 1",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int(st, 1, STREAM_IRQ_WINDOW);
		sqlite3_bind_int64(st, 2, seq);
		on = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) != 0;
	}
	sqlite3_finalize(st);
	return on;
}

/*
 * Where the replay starts: the initial state, or for --until the latest
 * checkpoint at or before the target (stream/checkpoint.h). The cursor is
 * placed right after that exit.
 */
static int start_point(struct replay *r)
{
	struct stream_checkpoint ck = { .seq = -1 };
	struct stream_dirty *async = NULL;
	int rc = 0;

	if (r->opt.from >= 0)
		rc = stream_checkpoint_find(r->db, r->opt.from, &ck, &r->err);
	else if (r->opt.until > 0 && !r->opt.from_start)
		/*
		 * Strictly before the synchronisation point --until stops at: the
		 * state there is the vCPU as that exit left it, its operation not
		 * yet completed, while a checkpoint holds it completed (settled).
		 */
		rc = stream_checkpoint_find(r->db, stream_sync_seq(r->db, r->opt.until, false) - 1, &ck, &r->err);
	/* The asynchronous points' page set from the start: it must see every collect of the dirty log. */
	if (rc == 0 && replay_async_in_recording(r->db) && !(async = replay_async_dirty(r)))
		rc = err_set(&r->err, -ENOMEM, "out of memory");
	if (rc == 0)
		rc = stream_checkpoint_restore(r->db, &r->m, &ck, async, &r->err);
	if (rc == 0) {
		r->start_seq = ck.seq;
		r->last_seq = ck.seq;
		r->last_ticks = ck.ticks;
		rc = replay_cursor_open(&r->cursor, r->db, ck.seq, ck.ticks, !r->opt.read_inline, &r->err);
	}
	if (rc == 0 && ck.seq >= 0)
		rc = replay_async_after_restore(r, r->m.written);
	if (rc == 0 && ck.seq >= 0 && !r->cursor.irq_async)
		machine_set_irq_window(&r->m, window_before(r->db, ck.seq));
	return rc;
}

/* Format 2: digest the restored RAM page by page (stream/digest.h) for the final comparison. */
static int load_page_digests(struct replay *r)
{
	int rc = -ENOMEM;

	r->pages = calloc(1, sizeof(*r->pages));
	if (r->pages)
		rc = stream_mem_pages_load(r->pages, &r->m);
	if (rc < 0) {
		free(r->pages);
		r->pages = NULL;
		err_set(&r->err, rc, "page digests of %llu bytes of guest RAM: %s",
			(unsigned long long)r->m.cfg.mem_size, strerror(-rc));
	}
	return rc;
}

int replay_open(struct replay *r, const struct replay_options *opt)
{
	struct machine_config cfg = { 0 };
	struct kvm_cpuid2 *cpuid = NULL;
	uint64_t mem_size = 0;
	int rc;

	memset(r, 0, sizeof(*r));
	r->opt = *opt;
	r->last_seq = -1;
	rc = stream_recording_open(opt->path, &r->db, &r->err);
	if (rc < 0)
		return rc;
	if (stream_meta_get(r->db, "traced_vmm", r->recorded_end, sizeof(r->recorded_end)) == 0)
		return err_set(&r->err, -EOPNOTSUPP, "a trace of another VMM (%s, kvmrr trace), not a "
			       "kvmrr recording: it holds the exits, not the guest's memory or device "
			       "state, so it cannot be replayed; stats, query, export, report and diff "
			       "read it", r->recorded_end);
	load_end(r);
	rc = meta_u64(r, "mem_size", &mem_size);
	if (rc == 0)
		rc = load_cpuid(r, &cpuid);
	if (rc < 0)
		return rc;
	cfg.mem_size = mem_size;
	cfg.no_devices = true;
	cfg.cpuid = cpuid;
	cfg.serial_out_fd = STDOUT_FILENO;
	cfg.timeout_sec = opt->timeout_sec;
	/*
	 * Pages written between async points; format 2: pages written since the
	 * load (final digest); inspect's pages-changed.
	 */
	cfg.dirty_log = replay_async_in_recording(r->db) || stream_schema_version(r->db) >= 2 || opt->dirty_log;
	rc = machine_create(&r->m, &cfg, &r->err);
	free(cpuid);
	r->m.cfg.cpuid = NULL;
	if (rc == 0)
		rc = load_pages(r);
	if (rc == 0 && stream_schema_version(r->db) >= 2)
		rc = load_page_digests(r);
	if (rc == 0 && stream_schema_version(r->db) >= 2)   /* patched RDTSC sites (none with --tsc native) */
		rc = stream_tsc_sites_load(r->db, &r->m.tsc_sites, &r->err);
	if (rc == 0)
		rc = restore_vcpu(r);
	if (rc == 0)
		rc = start_point(r);
	/* A complete recording's meta.exits is its exit rows, seq 0 to exits - 1 (a gap the cursor finds). */
	if (rc == 0 && r->complete && meta_u64(r, "exits", &mem_size) == 0 && mem_size != r->cursor.total_exits)
		rc = r->cursor.total_exits == 0 ?
			err_set(&r->err, -EINVAL, "corrupt recording: complete, meta.exits says %llu exits, "
				"but table exit holds no exits", (unsigned long long)mem_size) :
			err_set(&r->err, -EINVAL, "corrupt recording: complete, meta.exits says %llu exits, "
				"the exit table ends at seq %llu", (unsigned long long)mem_size,
				(unsigned long long)r->cursor.total_exits - 1);
	if (rc == 0 && opt->ckpt_interval_sec > 0)
		rc = replay_ckpts_init(r, opt->ckpt_interval_sec, opt->ckpt_cap);
	if (rc == 0 && opt->until >= 0 && (uint64_t)opt->until >= r->cursor.total_exits)
		rc = err_set(&r->err, -ERANGE, "--until %lld: the recording holds exits 0 to %lld only",
			     (long long)opt->until, (long long)r->cursor.total_exits - 1);
	return rc;
}

void replay_close(struct replay *r)
{
	replay_ckpts_free(r);
	replay_async_close(r);
	if (r->pages)
		stream_mem_pages_free(r->pages);
	free(r->pages);
	r->pages = NULL;
	replay_cursor_close(&r->cursor);
	machine_destroy(&r->m);
	if (r->db)
		sqlite3_close(r->db);
	r->db = NULL;
}
