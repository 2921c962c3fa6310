/* SPDX-License-Identifier: MIT */
#include "tests/analysis/util.h"
#include "tests/test.h"

#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <sys/stat.h>

static const char fixture_schema[] =
	"PRAGMA journal_mode = WAL;"
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value);"
	"CREATE TABLE image(name TEXT PRIMARY KEY, role TEXT, size INTEGER, sha256 TEXT, data BLOB);"
	"CREATE TABLE cpuid(function, idx, flags, eax, ebx, ecx, edx, PRIMARY KEY(function, idx));"
	"CREATE TABLE vcpu_state(vcpu, phase, kind, data BLOB, PRIMARY KEY(vcpu, phase, kind));"
	"CREATE TABLE mem_page(gpa INTEGER PRIMARY KEY, data BLOB);"
	"CREATE TABLE exit(seq INTEGER PRIMARY KEY, vcpu, reason, vmm_ticks, guest_ticks, rip, addr,"
	" size, dir, data);"
	"CREATE TABLE event(seq, vcpu, kind, value, data BLOB);"
	"CREATE TABLE exit_reason(reason INTEGER PRIMARY KEY, name TEXT);"
	"CREATE TABLE event_kind(kind INTEGER PRIMARY KEY, name TEXT);"
	"INSERT INTO exit_reason VALUES (0,'UNKNOWN'),(2,'IO'),(5,'HLT'),(6,'MMIO'),(8,'SHUTDOWN'),"
	" (10,'INTR'),(17,'INTERNAL_ERROR');"
	"INSERT INTO event_kind VALUES (1,'irq'),(2,'nmi'),(3,'irq_window');"
	"INSERT INTO image VALUES ('fixture.elf','kernel',4,'00ff','\x7f' || 'ELF');";

/* A stand-in for a writer's own view, with marker values: the file's views must win. */
static const char fixture_views[] =
	"CREATE VIEW exit_timeline AS SELECT seq, vcpu, reason, 'x' AS reason_name, 0 AS ts_ns,"
	" 0 AS dur_ns, 0 AS guest_ns, 0 AS vmm_ns, rip, addr AS port, NULL AS gpa, size, dir, data"
	" FROM exit;";

static void meta_set(sqlite3 *db, const char *key, const char *fmt, ...)
{
	char val[256];
	char *sql;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	sql = sqlite3_mprintf("INSERT INTO meta VALUES (%Q, %Q)", key, val);
	TEST_ASSERT(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "meta %s: %s", key,
		    sqlite3_errmsg(db));
	sqlite3_free(sql);
}

static unsigned fixture_rand(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static void fixture_exit(sqlite3_stmt *st, int seq, int last, unsigned *rnd, unsigned *data_rnd)
{
	static const int reasons[10] = { 2, 2, 2, 2, 2, 2, 6, 6, 5, 2 };
	unsigned char data[4];
	int kind = seq == last ? 10 : seq % 10;
	int reason = kind == 10 ? 2 : reasons[kind];
	int64_t addr = 0;
	int size = 1, dir = 1;

	for (int i = 0; i < 4; i++)
		data[i] = (unsigned char)('A' + seq % 26 + i);
	if (kind <= 4) {
		addr = 0x3f8;
	} else if (kind == 5) {
		addr = 0x5e0, size = 4, dir = 0;
		for (int i = 0; i < 4; i++)
			data[i] = (unsigned char)fixture_rand(data_rnd);
	} else if (kind == 6 || kind == 7) {
		addr = kind == 6 ? 0xd0000000LL + (seq % 4) * 4 : 0xd0000010LL, size = 4, dir = kind == 6;
	} else if (kind == 9) {
		addr = 0x80;
	} else if (kind == 10) {
		addr = 0x501;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	sqlite3_bind_int(st, 1, seq);
	sqlite3_bind_int(st, 2, reason);
	sqlite3_bind_int(st, 3, 200 + fixture_rand(rnd) % 3000);
	sqlite3_bind_int(st, 4, 1000 + fixture_rand(rnd) % 5000);
	sqlite3_bind_int64(st, 5, 0x100000 + 0x10 * (seq % 10));
	if (reason != 5) {
		sqlite3_bind_int64(st, 6, addr);
		sqlite3_bind_int(st, 7, size);
		sqlite3_bind_int(st, 8, dir);
		sqlite3_bind_blob(st, 9, data, size, SQLITE_TRANSIENT);
	}
	TEST_ASSERT(sqlite3_step(st) == SQLITE_DONE, "insert exit %d", seq);
}

void fixture_write(const char *path, const struct fixture *fx)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	unsigned rnd = 7, data_rnd = fx->seed;

	unlink(path);
	TEST_ASSERT(sqlite3_open(path, &db) == SQLITE_OK, "create %s", path);
	TEST_ASSERT(sqlite3_exec(db, fixture_schema, NULL, NULL, NULL) == SQLITE_OK, "schema: %s",
		    sqlite3_errmsg(db));
	TEST_ASSERT(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK, "begin");
	meta_set(db, "format", "kvmrr-recording");
	meta_set(db, "format_version", "%d", fx->format_version);
	meta_set(db, "kvmrr_version", "0.1.0");
	meta_set(db, "tsc_khz", "2500000");
	meta_set(db, "tsc_base", "123456789");
	meta_set(db, "command_line", "kvmrr record -o %s fixture.elf", path);
	meta_set(db, "mem_size", "%d", 64 << 20);
	meta_set(db, "loader", "pvh");
	meta_set(db, "complete", "%d", fx->complete);
	if (fx->complete) {
		meta_set(db, "end", "guest-exit");
		meta_set(db, "end_code", "0");
	}
	meta_set(db, "exits", "%d", fx->exits);
	TEST_ASSERT(sqlite3_prepare_v2(db, "INSERT INTO exit VALUES (?1,0,?2,?3,?4,?5,?6,?7,?8,?9)",
				       -1, &st, NULL) == SQLITE_OK, "prepare: %s", sqlite3_errmsg(db));
	for (int seq = 0; seq < fx->exits; seq++)
		fixture_exit(st, seq, fx->exits - 1, &rnd, &data_rnd);
	sqlite3_finalize(st);
	TEST_ASSERT(sqlite3_exec(db, "INSERT INTO event SELECT seq, 0, 1, 32, NULL FROM exit"
				 " WHERE addr = 128", NULL, NULL, NULL) == SQLITE_OK, "events");
	if (fx->views)
		TEST_ASSERT(sqlite3_exec(db, fixture_views, NULL, NULL, NULL) == SQLITE_OK, "views: %s",
			    sqlite3_errmsg(db));
	TEST_ASSERT(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK, "commit");
	TEST_ASSERT(sqlite3_close(db) == SQLITE_OK, "close %s", path);
}

const char *test_tmpdir(void)
{
	static char dir[64];

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/kvmrr-analysis-XXXXXX");
		TEST_ASSERT(mkdtemp(dir), "mkdtemp");
	}
	return dir;
}

char *tmp_path(const char *name)
{
	char *p = NULL;

	TEST_ASSERT(asprintf(&p, "%s/%s", test_tmpdir(), name) > 0, "asprintf");
	return p;
}

static int run_v(char **out, char **err, const char *prefix, const char *fmt, va_list ap)
{
	char *args = NULL, *cmd = NULL, *o = tmp_path(".out"), *e = tmp_path(".err");
	int status;

	TEST_ASSERT(vasprintf(&args, fmt, ap) >= 0, "vasprintf");
	TEST_ASSERT(asprintf(&cmd, "%s%s >%s 2>%s", prefix, args, o, e) > 0, "asprintf");
	status = system(cmd);
	if (out)
		*out = slurp(o, NULL);
	if (err)
		*err = slurp(e, NULL);
	free(args);
	free(cmd);
	free(o);
	free(e);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int run_analysis(char **out, char **err, const char *fmt, ...)
{
	char buf[512], prefix[600];
	va_list ap;
	int rc;

	snprintf(prefix, sizeof(prefix), "%s ",
		 test_build_path("tests/analysis/analysis_main", buf, sizeof(buf)));
	va_start(ap, fmt);
	rc = run_v(out, err, prefix, fmt, ap);
	va_end(ap);
	return rc;
}

int run_shell(char **out, char **err, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = run_v(out, err, "", fmt, ap);
	va_end(ap);
	return rc;
}

static sqlite3_stmt *sql_row(const char *path, const char *sql, sqlite3 **db)
{
	sqlite3_stmt *st = NULL;

	TEST_ASSERT(sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK, "open %s", path);
	TEST_ASSERT(sqlite3_prepare_v2(*db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
		    sqlite3_errmsg(*db));
	TEST_ASSERT(sqlite3_step(st) == SQLITE_ROW, "%s: no row (%s)", sql, sqlite3_errmsg(*db));
	return st;
}

int64_t sql_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = sql_row(path, sql, &db);
	int64_t v = sqlite3_column_int64(st, 0);

	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

double sql_double(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = sql_row(path, sql, &db);
	double v = sqlite3_column_double(st, 0);

	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

void sql_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	TEST_ASSERT(sqlite3_open(path, &db) == SQLITE_OK, "open %s", path);
	TEST_ASSERT(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "%s: %s", sql,
		    sqlite3_errmsg(db));
	sqlite3_close(db);
}

char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0, got;

	TEST_ASSERT(f, "open %s", path);
	do {
		if (n + 65536 + 1 > cap) {
			cap = cap ? cap * 2 : 131072;
			buf = realloc(buf, cap);
			TEST_ASSERT(buf, "realloc %zu", cap);
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
	} while (got > 0);
	fclose(f);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	TEST_ASSERT(f && fputs(text, f) >= 0 && fclose(f) == 0, "write %s", path);
}

void copy_file(const char *from, const char *to)
{
	size_t len;
	char *data = slurp(from, &len);
	FILE *f = fopen(to, "wb");

	TEST_ASSERT(f && fwrite(data, 1, len, f) == len && fclose(f) == 0, "copy to %s", to);
	free(data);
}

int count_str(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Time of the exits matching WHERE (on `e`), in ticks: guest time plus the VMM time after it. */
double raw_ticks(const char *db, const char *where)
{
	char sql[512];

	snprintf(sql, sizeof(sql),
		 "SELECT COALESCE(SUM(e.guest_ticks), 0) + COALESCE(SUM(n.vmm_ticks), 0) FROM exit e"
		 " LEFT JOIN exit n ON n.vcpu = e.vcpu AND n.seq = e.seq + 1 WHERE %s", where);
	return sql_double(db, sql);
}

/* Check one CSV row of `stats --format csv` against the raw table. */
void check_stats_row(const char *db, const char *where, char *line, double total_ticks,
		      int64_t total_count)
{
	double samples_share, time_share, total_ns, guest_ns, vmm_ns, min_ns, avg_ns, max_ns;
	long long samples;
	char sql[512], *comma = strchr(line, ',');
	double khz = sql_double(db, "SELECT value FROM meta WHERE key = 'tsc_khz'");
	double ticks = raw_ticks(db, where);

	TEST_ASSERT(comma && sscanf(comma + 1, "%lld,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf", &samples,
				    &samples_share, &time_share, &total_ns, &guest_ns, &vmm_ns,
				    &min_ns, &avg_ns, &max_ns) == 9, "bad CSV row: %s", line);
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM exit e WHERE %s", where);
	TEST_ASSERT_EQ(samples, sql_int(db, sql));
	TEST_ASSERT(fabs(samples_share - (double)samples / total_count) < 1e-12,
		    "%s: samples share %.17g, SQL %.17g", line, samples_share,
		    (double)samples / total_count);
	TEST_ASSERT(fabs(time_share - ticks / total_ticks) < 1e-12, "%s: time share %.17g, SQL %.17g",
		    line, time_share, ticks / total_ticks);
	TEST_ASSERT(fabs(total_ns - ticks * 1e6 / khz) <= 1, "%s: total_ns %.0f, SQL %.1f", line,
		    total_ns, ticks * 1e6 / khz);
	snprintf(sql, sizeof(sql), "SELECT SUM(guest_ticks) FROM exit e WHERE %s", where);
	TEST_ASSERT(fabs(guest_ns - sql_double(db, sql) * 1e6 / khz) <= 1, "%s: guest_ns", line);
	TEST_ASSERT(fabs(guest_ns + vmm_ns - total_ns) <= 2, "%s: guest + vmm != total", line);
	snprintf(sql, sizeof(sql), "SELECT MAX(e.guest_ticks + COALESCE(n.vmm_ticks, 0)) FROM exit e"
		 " LEFT JOIN exit n ON n.seq = e.seq + 1 WHERE %s", where);
	TEST_ASSERT(fabs(max_ns - sql_double(db, sql) * 1e6 / khz) <= 1, "%s: max_ns", line);
	TEST_ASSERT(min_ns <= avg_ns && avg_ns <= max_ns, "%s: min <= avg <= max", line);
}

