/* SPDX-License-Identifier: MIT */
#include "tests/e2e/e2e.h"

#include <linux/kvm.h>
#include <sys/stat.h>
#include <time.h>

#include "stream/cursor.h"
#include "tests/reseal.h"

void e2e_tmpdir(char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/kvmrr-e2e-XXXXXX");
	TEST_ASSERT(mkdtemp(buf), "mkdtemp %s", buf);
}

void e2e_cleanup(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	TEST_ASSERT(system(cmd) == 0, "%s", cmd);
}

static const char *built(const char *rel, char *buf, size_t len)
{
	struct stat st;

	test_build_path(rel, buf, len);
	TEST_ASSERT(stat(buf, &st) == 0, "%s is not built (looked at %s; KVMRR_BUILD_DIR=%s)", rel, buf,
		    getenv("KVMRR_BUILD_DIR") ? getenv("KVMRR_BUILD_DIR") : "(unset)");
	return buf;
}

const char *e2e_kvmrr(void)
{
	static char buf[512];

	return built("cli/kvmrr", buf, sizeof(buf));
}

const char *e2e_guest(const char *name)
{
	static char bufs[4][512];
	static int next;
	char rel[128];
	char *buf = bufs[next++ % 4];

	snprintf(rel, sizeof(rel), "guests/%s.elf", name);
	return built(rel, buf, sizeof(bufs[0]));
}

const char *e2e_msg(const char *fmt, ...)
{
	static char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return buf;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, got;

	TEST_ASSERT(f, "open %s", path);
	do {
		if (n + 65536 + 1 > cap) {
			cap = cap ? 2 * cap : 131072;
			buf = realloc(buf, cap);
			TEST_ASSERT(buf, "realloc %zu", cap);
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
	} while (got);
	fclose(f);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void e2e_sh(struct e2e_cmd *c, const char *dir, int limit, const char *fmt, ...)
{
	char *cmd = NULL, *full = NULL, out[300], err[300];
	va_list ap;
	double t0;
	int st;

	memset(c, 0, sizeof(*c));
	va_start(ap, fmt);
	TEST_ASSERT(vasprintf(&cmd, fmt, ap) >= 0, "vasprintf");
	va_end(ap);
	snprintf(out, sizeof(out), "%s/cmd.stdout", dir);
	snprintf(err, sizeof(err), "%s/cmd.stderr", dir);
	/* The safety timeout only guards the suite against a hang; kvmrr's own --timeout is tested. */
	TEST_ASSERT(asprintf(&full, "timeout -k 5 %d sh -c '%s' </dev/null >'%s' 2>'%s'", limit, cmd,
			     out, err) >= 0, "asprintf");
	t0 = now_sec();
	st = system(full);
	c->secs = now_sec() - t0;
	TEST_ASSERT(st != -1, "system(%s)", full);
	c->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	c->out = slurp(out, &c->out_len);
	c->err = slurp(err, NULL);
	printf("# %s -> status %d in %.2f s\n", cmd, c->status, c->secs);
	/* Under -Db_sanitize the sanitizers exit 1, which is also "guest exited 0": look at the text. */
	TEST_ASSERT(!strstr(c->err, "ERROR: AddressSanitizer") && !strstr(c->err, "ERROR: LeakSanitizer") &&
		    !strstr(c->err, "runtime error:"), "%s: a sanitizer reported an error:\n%s", cmd, c->err);
	free(cmd);
	free(full);
}

char *e2e_read_file(const char *path, size_t *len)
{
	return slurp(path, len);
}

void e2e_free(struct e2e_cmd *c)
{
	free(c->out);
	free(c->err);
	c->out = c->err = NULL;
}

void e2e_run(struct e2e_cmd *c, const char *dir, const char *guest, const char *opts)
{
	e2e_sh(c, dir, 120, "%s run %s %s", e2e_kvmrr(), opts ? opts : "", e2e_guest(guest));
}

void e2e_record(struct e2e_cmd *c, const char *dir, const char *rec, const char *guest,
		const char *opts)
{
	e2e_sh(c, dir, 120, "%s record -f -o %s %s %s", e2e_kvmrr(), rec, opts ? opts : "",
	       e2e_guest(guest));
}

void e2e_replay(struct e2e_cmd *c, const char *dir, const char *rec, const char *opts)
{
	e2e_sh(c, dir, 180, "%s replay %s %s", e2e_kvmrr(), opts ? opts : "", rec);
}

void e2e_guest_counts(const struct e2e_cmd *c, uint64_t *pio, uint64_t *mmio)
{
	const char *p = strstr(c->out, "kvmrr-guest: pio=");
	unsigned long long a, b;

	E2E_ASSERT(c, p && sscanf(p, "kvmrr-guest: pio=%llu mmio=%llu", &a, &b) == 2,
		   "no \"kvmrr-guest: pio=N mmio=M\" line on the console");
	*pio = a;
	*mmio = b;
}

bool e2e_identical(const struct e2e_cmd *c)
{
	return strstr(c->err, " exits, identical") != NULL;
}

long long e2e_divergence_seq(const struct e2e_cmd *c)
{
	const char *p = strstr(c->err, "divergence at seq ");
	long long seq;

	if (!p || sscanf(p, "divergence at seq %lld", &seq) != 1)
		return -1;
	return seq;
}

sqlite3 *e2e_db_open(const char *path)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);

	TEST_ASSERT(rc == SQLITE_OK, "open %s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static sqlite3_stmt *query(sqlite3 *db, const char *fmt, va_list ap)
{
	sqlite3_stmt *st = NULL;
	char *sql = sqlite3_vmprintf(fmt, ap);
	int rc;

	TEST_ASSERT(sql, "sqlite3_vmprintf");
	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	TEST_ASSERT(rc == SQLITE_OK, "prepare \"%s\": %s", sql, sqlite3_errmsg(db));
	rc = sqlite3_step(st);
	TEST_ASSERT(rc == SQLITE_ROW || rc == SQLITE_DONE, "\"%s\": %s", sql, sqlite3_errmsg(db));
	TEST_ASSERT(rc == SQLITE_ROW || sqlite3_column_count(st) == 0, "\"%s\" returned no row", sql);
	sqlite3_free(sql);
	return st;
}

long long e2e_db_int(sqlite3 *db, const char *fmt, ...)
{
	sqlite3_stmt *st;
	long long v;
	va_list ap;

	va_start(ap, fmt);
	st = query(db, fmt, ap);
	va_end(ap);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

void e2e_db_exec(sqlite3 *db, const char *fmt, ...)
{
	char *sql, *msg = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	TEST_ASSERT(sql, "sqlite3_vmprintf");
	rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	TEST_ASSERT(rc == SQLITE_OK, "\"%s\": %s", sql, msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(sql);
}

void *e2e_db_blob(sqlite3 *db, size_t *len, const char *fmt, ...)
{
	sqlite3_stmt *st;
	void *copy = NULL;
	va_list ap;

	va_start(ap, fmt);
	st = query(db, fmt, ap);
	va_end(ap);
	*len = (size_t)sqlite3_column_bytes(st, 0);
	if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
		copy = malloc(*len ? *len : 1);
		TEST_ASSERT(copy, "malloc");
		memcpy(copy, sqlite3_column_blob(st, 0), *len);
	}
	sqlite3_finalize(st);
	return copy;
}

void e2e_copy(const char *src, const char *dst)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", src, dst);
	TEST_ASSERT(system(cmd) == 0, "%s", cmd);
}

long long e2e_sync_points(sqlite3 *db, long long below)
{
	struct stream_cursor *c = malloc(sizeof(*c));
	struct stream_item it;
	struct err e = { 0 };
	long long n = 0;
	int r;

	TEST_ASSERT(c, "malloc");
	TEST_ASSERT(stream_cursor_open(c, db, -1, 0, &e) == 0, "%s", e.msg);
	/* The classification replay itself uses (stream_sync_of). */
	while ((r = stream_cursor_next(c, &it, &e)) > 0)
		if (it.has_exit && it.exit.seq < below && it.sync != STREAM_SYNC_NONE)
			n++;
	TEST_ASSERT(r == 0, "%s", e.msg);
	stream_cursor_close(c);
	free(c);
	return n;
}

void e2e_tamper(struct e2e_cmd *c, const char *dir, const char *orig, const char *name, const char *opts,
		const char *sql)
{
	char path[256];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/%s.db", dir, name);
	e2e_copy(orig, path);
	db = e2e_db_open(path);
	e2e_db_exec(db, "%s", sql);
	TEST_ASSERT(sqlite3_total_changes(db) > 0, "%s: \"%s\" changed nothing", name, sql);
	test_reseal(db);
	sqlite3_close(db);
	e2e_replay(c, dir, path, opts ? opts : "-q");
	printf("# %s: %s\n", name, sql);
}

long long e2e_diverged(const struct e2e_cmd *c, long long lo, long long hi)
{
	long long seq = e2e_divergence_seq(c);

	E2E_ASSERT(c, c->status == 1, "status %d, wanted 1 (diverged)", c->status);
	E2E_ASSERT(c, !e2e_identical(c), "a tampered recording replayed as identical");
	E2E_ASSERT(c, seq >= lo && seq <= hi, "divergence at seq %lld, wanted %lld..%lld", seq, lo, hi);
	return seq;
}

const char *e2e_blob_literal(const void *blob, size_t len, size_t i, uint8_t x, char *buf, size_t buflen)
{
	const uint8_t *b = blob;
	size_t used = (size_t)snprintf(buf, buflen, "X'");

	TEST_ASSERT(2 * len + 4 <= buflen, "a %zu-byte blob does not fit a %zu-byte literal", len, buflen);
	for (size_t k = 0; k < len; k++)
		used += (size_t)snprintf(buf + used, buflen - used, "%02x", k == i ? b[k] ^ x : b[k]);
	snprintf(buf + used, buflen - used, "'");
	return buf;
}
