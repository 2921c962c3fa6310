/* SPDX-License-Identifier: MIT */
/*
 * The SQL the analysis commands read through.
 *
 * analysis_exit is private to analysis/ (a TEMP view, never written to the
 * file): one row per exit with its times in TSC ticks, so that shares are
 * exact ratios of integers. The documented views (docs/log-format.md) are
 * written into the file by the recorder; for a file that lacks them (a
 * hand-made fixture) we create TEMP copies from the recorder's own
 * definitions (stream_views), so that `kvmrr query` works on every
 * version-1 recording.
 *
 * analysis_exit has no entry time: a running sum is cheap in C
 * (analysis_clock_entry) and costly as a window function.
 *
 * Time model (docs/log-format.md, table exit): vmm_ticks(n) is the VMM time
 * before entry n, so the VMM time spent on exit n is vmm_ticks(n + 1) of the
 * same vCPU; the last exit has none (0). Entry n is at
 * sum(vmm + guest for seq < n) + vmm_ticks(n) ticks after tsc_base.
 */
#include "analysis/internal.h"
#include "stream/format.h"

#include <errno.h>
#include <string.h>

/*
 * One vCPU (every recording so far): the VMM time after exit n is the
 * entry vmm_ticks of row seq + 1, a rowid lookup. SQLite's window functions
 * cost about 4x more on a million exits, so they are kept for recordings
 * with several vCPUs, where the next exit of the same vCPU is not seq + 1.
 */
#define ANALYSIS_EXIT_COLS \
	"CREATE TEMP VIEW analysis_exit AS SELECT" \
	" e.seq AS seq, e.vcpu AS vcpu, e.reason AS reason," \
	" COALESCE(r.name, 'UNKNOWN(' || e.reason || ')') AS reason_name," \
	" e.vmm_ticks AS entry_vmm_ticks, e.guest_ticks AS guest_ticks,"
#define ANALYSIS_EXIT_TAIL \
	" e.rip AS rip, e.addr AS addr, e.size AS size, e.dir AS dir, e.data AS data" \
	" FROM main.exit e LEFT JOIN main.exit_reason r ON r.reason = e.reason"

/* A join, not a scalar subquery: SQLite would run that once per reference. */
static const char analysis_exit_one_vcpu_sql[] = ANALYSIS_EXIT_COLS
	" COALESCE(n.vmm_ticks, 0) AS vmm_ticks,"
	ANALYSIS_EXIT_TAIL " LEFT JOIN main.exit n ON n.seq = e.seq + 1";

static const char analysis_exit_vcpus_sql[] = ANALYSIS_EXIT_COLS
	" COALESCE(LEAD(e.vmm_ticks) OVER w, 0) AS vmm_ticks,"
	ANALYSIS_EXIT_TAIL " WINDOW w AS (PARTITION BY e.vcpu ORDER BY e.seq)";

#define NS(x) "CAST((" x ") * 1000000.0 / (SELECT CAST(value AS REAL) FROM main.meta" \
	      " WHERE key = 'tsc_khz') AS INTEGER)"

/* The documented exit_timeline columns, private name so that it always exists. */
static const char analysis_timeline_sql[] =
	"CREATE TEMP VIEW analysis_timeline AS SELECT seq, vcpu, reason, reason_name,"
	" " NS("SUM(entry_vmm_ticks + guest_ticks) OVER (PARTITION BY vcpu ORDER BY seq)"
	       " - guest_ticks") " AS ts_ns,"
	" " NS("guest_ticks + vmm_ticks") " AS dur_ns,"
	" " NS("guest_ticks") " AS guest_ns,"
	" " NS("vmm_ticks") " AS vmm_ns, rip,"
	" CASE WHEN reason = 2 THEN addr END AS port,"
	" CASE WHEN reason = 6 THEN addr END AS gpa,"
	" size, dir, data FROM temp.analysis_exit";

static int analysis_exec(const char *cmd, struct analysis_rec *rec, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(rec->db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "kvmrr %s: %s: cannot create a view: %s\n  (SQL: %.60s...)\n",
			cmd, rec->path, err ? err : sqlite3_errmsg(rec->db), sql);
		sqlite3_free(err);
		return -EIO;
	}
	return 0;
}

static bool analysis_has_main_object(struct analysis_rec *rec, const char *name)
{
	sqlite3_stmt *st = NULL;
	bool found = false;

	if (sqlite3_prepare_v2(rec->db, "SELECT 1 FROM main.sqlite_master WHERE name = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

/* More than one vCPU in the exit table? (-errno on error) */
static int analysis_vcpus(const char *cmd, struct analysis_rec *rec)
{
	sqlite3_stmt *st = NULL;
	int rc = analysis_prepare(cmd, rec, "SELECT MIN(vcpu) IS NOT MAX(vcpu) FROM main.exit", &st);

	if (rc)
		return rc;
	rc = sqlite3_step(st);
	rc = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : analysis_step_error(cmd, rec, rc);
	sqlite3_finalize(st);
	return rc;
}

/* Called by analysis_rec_open() once the tables are known to be there. */
int analysis_views_create(const char *cmd, struct analysis_rec *rec)
{
	int rc = analysis_vcpus(cmd, rec);

	if (rc >= 0)
		rc = analysis_exec(cmd, rec, rc ? analysis_exit_vcpus_sql : analysis_exit_one_vcpu_sql);
	if (rc == 0)
		rc = analysis_exec(cmd, rec, analysis_timeline_sql);
	/* The recorder's own definitions (stream/format.h), as TEMP copies where the file has none. */
	for (size_t i = 0; rc == 0 && i < STREAM_VIEW_COUNT; i++) {
		struct err err = { 0 };

		if (analysis_has_main_object(rec, stream_views[i].name))
			continue;
		if (stream_view_create(rec->db, &stream_views[i], true, &err) < 0) {
			fprintf(stderr, "kvmrr %s: %s: cannot create a view: %s\n", cmd, rec->path, err.msg);
			rc = -EIO;
		}
	}
	return rc;
}

void analysis_clock_reset(struct analysis_clock *c)
{
	memset(c, 0, sizeof(*c));
}

int analysis_clock_entry(struct analysis_clock *c, int64_t vcpu, int64_t entry_vmm, int64_t guest,
			 double *entry)
{
	if (vcpu < 0 || vcpu >= ANALYSIS_MAX_VCPUS)
		return -ERANGE;
	*entry = c->elapsed[vcpu] + entry_vmm;
	c->elapsed[vcpu] += (double)entry_vmm + guest;
	return 0;
}
