/* SPDX-License-Identifier: MIT */
/*
 * gdb's `monitor` commands on a replay: where we are (seq), going to an
 * exit (seek), what comes next in the log (exits), and the next or
 * previous exit matching a filter (next, prev) found with SQL on the
 * recording's exit table, then reached by running on or by seeking.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "replay/gdb_exec_internal.h"
#include "replay/gdb_server.h"
#include "stream/stream.h"
#include "vcpu/exit.h"

#define HELP "monitor commands:\n" \
	"  seq                 where the replay is: the last exit and the position after it\n" \
	"  seek SEQ            the state right after exit SEQ (-1: the initial state)\n" \
	"  exits [N]           the next N exits of the recording (default 10)\n" \
	"  next FILTER...      run on to the next exit matching every filter\n" \
	"  prev FILTER...      go back to the previous exit matching every filter\n" \
	"                      filters: reason=IO|MMIO|HLT|<number> port=N gpa=N dir=in|out\n" \
	"  stats               breakpoint hits, single steps and seeks so far\n" \
	"after seek, next and prev: `maint flush register-cache` (gdb keeps its copy)\n"

static int send_str_ok(struct gdb_session *s, bool ok)
{
	return gdb_session_send(s, ok ? "OK" : "E01", 2 + !ok);
}

static void describe(sqlite3_stmt *st, char *buf, size_t len)
{
	int64_t seq = sqlite3_column_int64(st, 0);
	uint32_t reason = (uint32_t)sqlite3_column_int64(st, 1);
	uint64_t addr = (uint64_t)sqlite3_column_int64(st, 2), rip = (uint64_t)sqlite3_column_int64(st, 5);
	int dir = sqlite3_column_int(st, 4);

	snprintf(buf, len, "exit %" PRId64 ": %s%s%s 0x%" PRIx64 " size %d rip 0x%" PRIx64, seq,
		 vcpu_exit_reason_name(reason), dir == STREAM_DIR_IN ? " in" : dir == STREAM_DIR_OUT ? " out" : "",
		 reason == KVM_EXIT_IO ? " port" : reason == KVM_EXIT_MMIO ? " gpa" : "", addr,
		 sqlite3_column_int(st, 3), rip);
}

#define EXIT_COLS "SELECT seq, reason, addr, size, dir, rip FROM exit "

static int list_exits(struct gdb_session *s, int64_t after, long n)
{
	sqlite3_stmt *st = NULL;
	char line[200];
	int rc = sqlite3_prepare_v2(s->x->r->db, EXIT_COLS "WHERE seq > ? ORDER BY seq LIMIT ?", -1, &st, NULL);

	if (rc != SQLITE_OK)
		return gdb_session_print(s, "kvmrr: reading table exit: %s\n", sqlite3_errmsg(s->x->r->db));
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int64(st, 2, n);
	while (sqlite3_step(st) == SQLITE_ROW) {
		describe(st, line, sizeof(line));
		gdb_session_print(s, "%s\n", line);
	}
	sqlite3_finalize(st);
	return 0;
}

static int where(struct gdb_session *s)
{
	struct gdb_exec *x = s->x;
	sqlite3_stmt *st = NULL;
	char pos[160], line[200] = "the initial state (no exit yet)";

	gdb_exec_where(x, pos, sizeof(pos));
	if (x->pos.seq >= 0 &&
	    sqlite3_prepare_v2(x->r->db, EXIT_COLS "WHERE seq = ?", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, x->pos.seq);
		if (sqlite3_step(st) == SQLITE_ROW)
			describe(st, line, sizeof(line));
	}
	sqlite3_finalize(st);
	return gdb_session_print(s, "%s\n%s; %s\n", pos, line, x->ended ? "the replay has ended" : "replaying");
}

/* "reason=IO port=0x3f8" into SQL conditions bound in order. 0 or -EINVAL (message sent). */
static int parse_filter(struct gdb_session *s, char *words, char *sql, size_t len, int64_t v[4], int *nv)
{
	size_t o = 0;

	*nv = 0;
	for (char *w = strtok(words, " \t"); w; w = strtok(NULL, " \t")) {
		char *eq = strchr(w, '='), *end;
		const char *col;
		int64_t val;

		if (!eq || *nv == 4)
			return gdb_session_print(s, "kvmrr: filter \"%s\": need key=value (at most 4)\n", w), -EINVAL;
		*eq++ = 0;
		col = "addr";
		if (strcmp(w, "reason") == 0) {
			col = "reason";
			val = strcasecmp(eq, "IO") == 0 ? KVM_EXIT_IO : strcasecmp(eq, "MMIO") == 0 ? KVM_EXIT_MMIO :
			      strcasecmp(eq, "HLT") == 0 ? KVM_EXIT_HLT : strtoll(eq, &end, 0);
			if (val == 0 && strcmp(eq, "0"))
				return gdb_session_print(s, "kvmrr: reason=%s: IO, MMIO, HLT or a number\n", eq),
				       -EINVAL;
		} else if (strcmp(w, "dir") == 0) {
			col = "dir";
			if (strcmp(eq, "in") && strcmp(eq, "out"))
				return gdb_session_print(s, "kvmrr: dir=%s: in or out\n", eq), -EINVAL;
			val = strcmp(eq, "in") == 0 ? STREAM_DIR_IN : STREAM_DIR_OUT;
		} else if (strcmp(w, "port") == 0 || strcmp(w, "gpa") == 0) {
			val = strtoll(eq, &end, 0);
			if (*end || end == eq)
				return gdb_session_print(s, "kvmrr: %s=%s: not a number\n", w, eq), -EINVAL;
			o += (size_t)snprintf(sql + o, len - o, " AND reason = %d", strcmp(w, "port") == 0 ?
					      KVM_EXIT_IO : KVM_EXIT_MMIO);
		} else {
			return gdb_session_print(s, "kvmrr: unknown filter \"%s\" (reason, port, gpa, dir)\n", w),
			       -EINVAL;
		}
		o += (size_t)snprintf(sql + o, len - o, " AND %s = ?", col);
		v[(*nv)++] = val;
	}
	return 0;
}

static int find_exit(struct gdb_session *s, bool forward, char *words, int64_t *seq)
{
	struct gdb_exec *x = s->x;
	char sql[400], cond[300] = "";
	int64_t v[4];
	int nv, rc;
	sqlite3_stmt *st = NULL;
	bool after_exit = x->pos.hits || x->pos.steps || x->pos_inexact;

	if (parse_filter(s, words, cond, sizeof(cond), v, &nv) < 0)
		return -EINVAL;
	snprintf(sql, sizeof(sql), "SELECT seq FROM exit WHERE seq %s ?%s ORDER BY seq %s LIMIT 1",
		 forward ? ">" : after_exit ? "<=" : "<", cond, forward ? "ASC" : "DESC");
	if (sqlite3_prepare_v2(x->r->db, sql, -1, &st, NULL) != SQLITE_OK)
		return gdb_session_print(s, "kvmrr: %s\n", sqlite3_errmsg(x->r->db)), -EIO;
	sqlite3_bind_int64(st, 1, x->pos.seq);
	for (int i = 0; i < nv; i++)
		sqlite3_bind_int64(st, i + 2, v[i]);
	rc = sqlite3_step(st) == SQLITE_ROW ? 0 : -ENOENT;
	if (rc == 0)
		*seq = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc < 0)
		gdb_session_print(s, "kvmrr: no %s exit matches\n", forward ? "later" : "earlier");
	return rc;
}

static int go(struct gdb_session *s, bool forward, char *words)
{
	struct gdb_exec *x = s->x;
	struct gdb_stop st = { .kind = GDB_STOP_STEP };
	int64_t seq;
	int rc = find_exit(s, forward, words, &seq);

	if (rc < 0)
		return send_str_ok(s, false);
	rc = forward && !x->ended ? gdb_exec_run(x, GDB_MODE_SCAN, seq, &st) : gdb_exec_goto_seq(x, seq, &st);
	if (rc < 0)
		gdb_session_print(s, "kvmrr: %s\n", x->r->err.msg);
	else if (st.kind != GDB_STOP_STEP || x->pos.seq != seq)
		gdb_session_print(s, "kvmrr: stopped before exit %" PRId64 ": %s\n", seq, st.why);
	else
		where(s);
	return send_str_ok(s, rc == 0);
}

int gdb_monitor(struct gdb_session *s, const char *cmd)
{
	struct gdb_exec *x = s->x;
	char words[GDB_PACKET_MAX / 2 + 1], *arg, *end;
	struct gdb_stop st;
	long long n;
	int rc;

	snprintf(words, sizeof(words), "%s", cmd);
	arg = strchr(words, ' ');
	if (arg)
		*arg++ = 0;
	else
		arg = words + strlen(words);
	if (strcmp(words, "seq") == 0)
		return where(s), send_str_ok(s, true);
	if (strcmp(words, "next") == 0 || strcmp(words, "prev") == 0)
		return go(s, words[0] == 'n', arg);
	if (strcmp(words, "stats") == 0) {
		gdb_session_print(s, "breakpoint hits %" PRIu64 ", single steps %" PRIu64 ", seeks %" PRIu64 "\n",
				  x->bp_hits, x->single_steps, x->seeks);
		return send_str_ok(s, true);
	}
	if (strcmp(words, "exits") == 0) {
		n = *arg ? strtoll(arg, &end, 0) : 10;
		if ((*arg && *end) || n < 1 || n > 1000)
			return gdb_session_print(s, "kvmrr: exits [N]: N from 1 to 1000\n"), send_str_ok(s, false);
		return list_exits(s, x->pos.seq, (long)n), send_str_ok(s, true);
	}
	if (strcmp(words, "seek") == 0) {
		n = strtoll(arg, &end, 0);
		if (!*arg || *end || n < -1 || (n >= 0 && (uint64_t)n >= x->r->cursor.total_exits))
			return gdb_session_print(s, "kvmrr: seek SEQ: SEQ from -1 to %llu\n",
						 (unsigned long long)x->r->cursor.total_exits - 1), send_str_ok(s, false);
		rc = gdb_exec_goto_seq(x, n, &st);
		if (rc < 0)
			gdb_session_print(s, "kvmrr: seek %lld: %s\n", n, x->r->err.msg);
		else
			where(s);
		return send_str_ok(s, rc == 0);
	}
	if (strcmp(words, "help") && words[0])
		gdb_session_print(s, "kvmrr: unknown monitor command \"%s\"\n", words);
	gdb_session_print(s, HELP);
	return send_str_ok(s, !strcmp(words, "help"));
}
