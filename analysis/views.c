/* SPDX-License-Identifier: MIT */
/*
 * The SQL the analysis commands read through.
 *
 * analysis_exit is private to analysis/ (a TEMP view, never written to the
 * file): one row per exit with its times in TSC ticks, so that shares are
 * exact ratios of integers. The documented views (docs/log-format.md) are
 * written into the file by the recorder; for a file that lacks them
 * (recorded by an early writer, or a hand-made fixture) we create TEMP
 * copies with the same columns so that `kvmrr query` works on every
 * version-1 recording.
 *
 * Time model (docs/log-format.md, table exit): vmm_ticks(n) is the VMM time
 * before entry n, so the VMM time spent on exit n is vmm_ticks(n + 1) of the
 * same vCPU; the last exit has none (0). Entry n is at
 * sum(vmm + guest for seq < n) + vmm_ticks(n) ticks after tsc_base.
 */
#include "analysis/internal.h"

#include <errno.h>
#include <string.h>

static const char analysis_exit_sql[] =
	"CREATE TEMP VIEW analysis_exit AS SELECT"
	" e.seq AS seq, e.vcpu AS vcpu, e.reason AS reason,"
	" COALESCE(r.name, 'UNKNOWN_' || e.reason) AS reason_name,"
	" SUM(e.vmm_ticks + e.guest_ticks) OVER w - e.guest_ticks AS ts_ticks,"
	" e.guest_ticks AS guest_ticks,"
	" COALESCE(LEAD(e.vmm_ticks) OVER w, 0) AS vmm_ticks,"
	" e.rip AS rip, e.addr AS addr, e.size AS size, e.dir AS dir, e.data AS data"
	" FROM main.exit e LEFT JOIN main.exit_reason r ON r.reason = e.reason"
	" WINDOW w AS (PARTITION BY e.vcpu ORDER BY e.seq)";

struct analysis_view {
	const char *name;
	const char *sql;
};

#define NS(x) "CAST((" x ") * 1000000.0 / (SELECT CAST(value AS REAL) FROM main.meta" \
	      " WHERE key = 'tsc_khz') AS INTEGER)"

static const struct analysis_view analysis_doc_views[] = {
	{ "exit_timeline",
	  "CREATE TEMP VIEW exit_timeline AS SELECT * FROM temp.analysis_timeline" },
	{ "exit_stats",
	  "CREATE TEMP VIEW exit_stats AS SELECT reason_name, COUNT(*) AS count,"
	  " COUNT(*) * 1.0 / (SELECT COUNT(*) FROM main.exit) AS share,"
	  " SUM(dur_ns) AS total_ns, SUM(guest_ns) AS guest_ns, SUM(vmm_ns) AS vmm_ns,"
	  " MIN(dur_ns) AS min_ns, AVG(dur_ns) AS avg_ns, MAX(dur_ns) AS max_ns"
	  " FROM temp.analysis_timeline GROUP BY reason ORDER BY count DESC" },
	{ "pio_stats",
	  "CREATE TEMP VIEW pio_stats AS SELECT port, dir, COUNT(*) AS count,"
	  " SUM(dur_ns) AS total_ns, SUM(vmm_ns) AS vmm_ns, AVG(dur_ns) AS avg_ns"
	  " FROM temp.analysis_timeline WHERE reason = 2 GROUP BY port, dir ORDER BY count DESC" },
	{ "mmio_stats",
	  "CREATE TEMP VIEW mmio_stats AS SELECT gpa, dir, COUNT(*) AS count,"
	  " SUM(dur_ns) AS total_ns, SUM(vmm_ns) AS vmm_ns, AVG(dur_ns) AS avg_ns"
	  " FROM temp.analysis_timeline WHERE reason = 6 GROUP BY gpa, dir ORDER BY count DESC" },
	{ "events",
	  "CREATE TEMP VIEW events AS SELECT v.seq AS seq, v.vcpu AS vcpu,"
	  " COALESCE(k.name, 'kind_' || v.kind) AS kind_name, v.value AS value"
	  " FROM main.event v LEFT JOIN main.event_kind k ON k.kind = v.kind"
	  " ORDER BY v.rowid" },
};

/* The documented exit_timeline columns, private name so that it always exists. */
static const char analysis_timeline_sql[] =
	"CREATE TEMP VIEW analysis_timeline AS SELECT seq, vcpu, reason, reason_name,"
	" " NS("ts_ticks") " AS ts_ns,"
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

/* Called by analysis_rec_open() once the tables are known to be there. */
int analysis_views_create(const char *cmd, struct analysis_rec *rec)
{
	int rc = analysis_exec(cmd, rec, analysis_exit_sql);

	if (rc == 0)
		rc = analysis_exec(cmd, rec, analysis_timeline_sql);

	for (size_t i = 0; rc == 0 && i < sizeof(analysis_doc_views) / sizeof(analysis_doc_views[0]); i++) {
		if (!analysis_has_main_object(rec, analysis_doc_views[i].name))
			rc = analysis_exec(cmd, rec, analysis_doc_views[i].sql);
	}
	return rc;
}
