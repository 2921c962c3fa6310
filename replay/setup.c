/* SPDX-License-Identifier: MIT */
/* replay_open: a machine in the recording's initial state, from the file alone. */
#include "replay/replay.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "replay/async.h"
#include "tracer/format.h"
#include "tracer/snapshot.h"
#include "vcpu/kvm.h"

static int meta_u64(struct replay *r, const char *key, uint64_t *v)
{
	char buf[64];
	char *end;

	if (tracer_meta_get(r->db, key, buf, sizeof(buf)) < 0) {
		snprintf(r->err, sizeof(r->err), "%s: meta.%s is missing", r->opt.path, key);
		return -EINVAL;
	}
	*v = strtoull(buf, &end, 10);
	if (*end) {
		snprintf(r->err, sizeof(r->err), "%s: meta.%s is \"%s\", not a number", r->opt.path, key, buf);
		return -EINVAL;
	}
	return 0;
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
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < 256) {
		struct kvm_cpuid_entry2 *e = &c->entries[n++];

		e->function = (uint32_t)sqlite3_column_int64(st, 0);
		e->index = (uint32_t)sqlite3_column_int64(st, 1);
		e->flags = (uint32_t)sqlite3_column_int64(st, 2);
		e->eax = (uint32_t)sqlite3_column_int64(st, 3);
		e->ebx = (uint32_t)sqlite3_column_int64(st, 4);
		e->ecx = (uint32_t)sqlite3_column_int64(st, 5);
		e->edx = (uint32_t)sqlite3_column_int64(st, 6);
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		goto fail;
	sqlite3_finalize(st);
	if (n == 0) {
		free(c);
		snprintf(r->err, sizeof(r->err), "%s: the cpuid table is empty", r->opt.path);
		return -EINVAL;
	}
	c->nent = n;
	*out = c;
	return 0;
fail:
	snprintf(r->err, sizeof(r->err), "%s: reading table cpuid: %s", r->opt.path, sqlite3_errmsg(r->db));
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
			snprintf(r->err, sizeof(r->err), "%s: mem_page at gpa 0x%llx (%d bytes) does not fit "
				 "the recorded %llu bytes of RAM", r->opt.path, (unsigned long long)gpa, n,
				 (unsigned long long)r->m.cfg.mem_size);
			sqlite3_finalize(st);
			return -EINVAL;
		}
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE) {
		snprintf(r->err, sizeof(r->err), "%s: reading table mem_page: %s", r->opt.path,
			 sqlite3_errmsg(r->db));
		sqlite3_finalize(st);
		return -EIO;
	}
	sqlite3_finalize(st);
	return 0;
}

static int restore_vcpu(struct replay *r)
{
	struct tracer_snapshot s;
	char msg[400] = "";
	int rc;

	memset(&s, 0, sizeof(s));
	rc = tracer_snapshot_load(r->db, 0, "initial", &s, msg, sizeof(msg));
	if (rc == 0)
		rc = tracer_snapshot_restore(&s, &r->m.vcpu, msg, sizeof(msg));
	if (rc < 0)
		snprintf(r->err, sizeof(r->err), "%s: initial vCPU state: %s", r->opt.path, msg);
	tracer_snapshot_free(&s);
	return rc;
}

static void load_end(struct replay *r)
{
	char buf[64];

	r->complete = tracer_meta_get(r->db, "complete", buf, sizeof(buf)) == 0 && strcmp(buf, "1") == 0;
	if (tracer_meta_get(r->db, "end", r->recorded_end, sizeof(r->recorded_end)) < 0)
		snprintf(r->recorded_end, sizeof(r->recorded_end), "unknown");
	if (tracer_meta_get(r->db, "end_code", buf, sizeof(buf)) == 0)
		r->recorded_code = atoi(buf);
}

int replay_open(struct replay *r, const struct replay_options *opt)
{
	struct machine_config cfg = { 0 };
	struct kvm_cpuid2 *cpuid = NULL;
	char buf[16];
	uint64_t mem_size = 0;
	int rc;

	memset(r, 0, sizeof(*r));
	r->opt = *opt;
	r->last_seq = -1;
	rc = tracer_recording_open(opt->path, &r->db, r->err, sizeof(r->err));
	if (rc < 0)
		return rc;
	load_end(r);
	r->irq_async = tracer_meta_get(r->db, "irq_delivery", buf, sizeof(buf)) == 0 &&
		       strcmp(buf, "async") == 0;
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
	cfg.dirty_log = replay_async_in_recording(r->db);   /* pages written between async points */
	rc = machine_create(&r->m, &cfg, r->err, sizeof(r->err));
	free(cpuid);
	r->m.cfg.cpuid = NULL;
	if (rc == 0)
		rc = load_pages(r);
	if (rc == 0)
		rc = restore_vcpu(r);
	if (rc == 0)
		rc = replay_log_open(&r->log, r->db, r->err, sizeof(r->err));
	if (rc == 0 && opt->until >= 0 && (uint64_t)opt->until >= r->log.total_exits) {
		snprintf(r->err, sizeof(r->err), "--until %lld: %s holds exits 0 to %llu only",
			 (long long)opt->until, opt->path, (unsigned long long)r->log.total_exits - 1);
		rc = -ERANGE;
	}
	return rc;
}

void replay_close(struct replay *r)
{
	replay_async_close(r);
	replay_log_close(&r->log);
	machine_destroy(&r->m);
	if (r->db)
		sqlite3_close(r->db);
	r->db = NULL;
}
