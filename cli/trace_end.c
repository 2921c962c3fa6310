/* SPDX-License-Identifier: MIT */
/*
 * The end of a trace, written by `kvmrr trace` once the VMM is gone: the
 * library cannot know how the process ends (a kill -9 runs none of its
 * code), its parent does. Opening the file also recovers what the VMM's
 * writer had committed to the -wal.
 */
#include "cli/trace.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stream/format.h"
#include "stream/seal.h"

static long long count_rows(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long n = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static int write_end(sqlite3 *db, const char *vmm, int status, bool drained, long long exits,
		     struct err *err)
{
	char detail[512];
	bool sig = WIFSIGNALED(status);
	int code = sig ? WTERMSIG(status) : WEXITSTATUS(status);
	int r;

	if (sig)
		snprintf(detail, sizeof(detail), "%s was killed by signal %d (%s)%s", vmm, code,
			 strsignal(code), drained ? "" : "; the recording holds what was committed before");
	else
		snprintf(detail, sizeof(detail), "%s exited with status %d%s", vmm, code,
			 drained ? "" : " without running the library's exit handler");
	r = stream_sql_exec(db, "BEGIN", "finishing: BEGIN", err);
	if (!r) r = stream_meta_set_text(db, "end", sig ? "vmm-signal" : "vmm-exit", err);
	if (!r) r = stream_meta_set_int(db, "end_code", code, err);
	if (!r) r = stream_meta_set_text(db, "end_detail", detail, err);
	if (!r) r = stream_meta_set_int(db, "exits", exits, err);
	if (!r) r = stream_meta_set_int(db, "complete", drained ? 1 : 0, err);
	if (!r) r = stream_seal_state_write(db, true, err);
	if (!r)
		r = stream_sql_exec(db, "COMMIT", "finishing: COMMIT", err);
	else
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	if (!r)
		r = stream_sql_exec(db, "PRAGMA journal_mode=DELETE", "finishing: leaving WAL mode", err);
	return r;
}

int cli_trace_finish(const char *path, const char *vmm, int status, long long *exits,
		     long long *vcpus, struct err *err)
{
	char buf[64];
	sqlite3 *db = NULL;
	int r;

	if (access(path, F_OK) != 0)
		return err_set(err, -ENOENT, "%s created no KVM vCPU, so there is no recording %s", vmm,
			       path);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		r = err_set(err, -EIO, "%s: %s", path, db ? sqlite3_errmsg(db) : "cannot open it");
		sqlite3_close(db);
		return r;
	}
	sqlite3_busy_timeout(db, 5000);
	r = stream_schema_check(db, err);
	if (!r && stream_meta_get(db, "traced_vmm", buf, sizeof(buf)) < 0)
		r = err_set(err, -EINVAL, "no meta.traced_vmm: the VMM's capture library never "
			    "finished writing its header");
	*exits = r ? 0 : count_rows(db, "SELECT count(*) FROM exit");
	*vcpus = r ? 0 : count_rows(db, "SELECT count(DISTINCT vcpu) FROM exit");
	if (!r)
		r = write_end(db, vmm, status,
			      stream_meta_get(db, "traced_drained", buf, sizeof(buf)) == 0, *exits, err);
	sqlite3_close(db);
	if (r < 0)
		err_wrap(err, "recording %s", path);
	return r;
}
