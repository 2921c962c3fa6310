/* SPDX-License-Identifier: MIT */
/*
 * Running a replay under gdb: breakpoints and watchpoints in DR1-DR3
 * (DR0 stays with the asynchronous points), continue, single step,
 * interrupts from gdb, and the way back (reverse-continue, reverse-stepi)
 * through replay_seek.
 *
 * A position in the replay is (seq, hits, steps): from the state right
 * after exit seq (its operation completed, as a checkpoint holds it; seq
 * -1 is the initial state), run on with the current breakpoints to the
 * hits-th breakpoint or watchpoint stop, then single-step steps
 * instructions. A single step that lands on an instruction breakpoint is a
 * hit (hits + 1, steps 0), the stop a continue would have made there; the
 * step that completes exit seq' moves the position to (seq', 0, 0). The
 * replay is deterministic, so a position names one state, and going to it
 * is seek(seq), continue hits times, step steps times, with the
 * breakpoints of the position's last hit (kept in it), whatever they are
 * now. (Breakpoints changed between two hits after the same exit make
 * such a position unreproducible: going there then fails with an error.)
 */
#ifndef KVMRR_REPLAY_GDB_EXEC_H
#define KVMRR_REPLAY_GDB_EXEC_H

#include <stdbool.h>
#include <stdint.h>

#include "replay/replay.h"

#define GDB_EXEC_NBP 3            /* DR1-DR3 */

enum gdb_bp_type { GDB_BP_EXEC = 0, GDB_BP_WRITE = 1, GDB_BP_ACCESS = 3 };

struct gdb_bp {
	bool used;
	enum gdb_bp_type type;
	uint64_t addr;
	unsigned int len;         /* 1, 2, 4, 8 */
};

struct gdb_pos {
	int64_t seq;
	uint64_t hits, steps;
	struct gdb_bp bp[GDB_EXEC_NBP];   /* the breakpoints hits counted (as at the last hit) */
};

enum gdb_stop_kind {
	GDB_STOP_STEP,        /* a single step (or a seek) ended */
	GDB_STOP_BREAK,       /* an instruction breakpoint */
	GDB_STOP_WATCH,       /* a watchpoint: stop.addr */
	GDB_STOP_INTERRUPT,   /* gdb's 0x03 */
	GDB_STOP_BEGIN,       /* going back reached the start of the recording */
	GDB_STOP_END,         /* the replay ended: stop.why says how (end of the log, divergence) */
};

struct gdb_stop {
	enum gdb_stop_kind kind;
	uint64_t addr;
	char why[600];
};

struct gdb_exec {
	struct replay *r;
	struct gdb_bp bp[GDB_EXEC_NBP];
	struct gdb_pos pos;
	int sock;                 /* polled for 0x03 while running; -1: none */
	bool ended;               /* the replay ran to its end (or diverged): only going back is possible */
	bool need_fetch;          /* freshly opened: r->next not fetched yet */
	bool pos_inexact;         /* stopped by an interrupt: pos.steps not counted */
	/* one run */
	int mode;
	bool interrupted, stopped, skipping, seq_moved;
	uint64_t want_hits;
	struct gdb_stop stop;
	uint64_t last_poll_ns;
	bool have_last;           /* reverse-continue's scan: the last hit seen */
	struct gdb_pos last;
	uint64_t last_addr;
	enum gdb_stop_kind last_kind;
	/*
	 * Write watchpoints are also checked by single-stepping and comparing
	 * memory: this host's instruction emulator (CPL0 code) ignores data
	 * breakpoints. sw_watch: this run steps for them.
	 */
	bool sw_watch;
	bool watch_ok[GDB_EXEC_NBP];
	uint64_t watch_gpa[GDB_EXEC_NBP], watch_val[GDB_EXEC_NBP];
	/* statistics, for monitor stats and the benchmarks */
	uint64_t bp_hits, single_steps, seeks;
};

/* The replay is open (replay_open); start in its initial state. */
void gdb_exec_init(struct gdb_exec *x, struct replay *r, int sock);
/* Set or clear a breakpoint/watchpoint: 0, -ENOSPC (all in use), -EINVAL (bad length or alignment). */
int gdb_exec_insert(struct gdb_exec *x, enum gdb_bp_type type, uint64_t addr, unsigned int len);
int gdb_exec_remove(struct gdb_exec *x, enum gdb_bp_type type, uint64_t addr, unsigned int len);

/* Each fills *st and returns 0, or -errno + x->r->err when the VMM failed. */
int gdb_exec_continue(struct gdb_exec *x, struct gdb_stop *st);
int gdb_exec_step(struct gdb_exec *x, struct gdb_stop *st);
int gdb_exec_reverse_continue(struct gdb_exec *x, struct gdb_stop *st);
int gdb_exec_reverse_step(struct gdb_exec *x, struct gdb_stop *st);
/* The state right after exit seq (-1: the initial state): seek, then completed. */
int gdb_exec_goto_seq(struct gdb_exec *x, int64_t seq, struct gdb_stop *st);
/* The replay's end as a stop, with the divergence if there was one. */
void gdb_exec_ended(struct gdb_exec *x, struct gdb_stop *st);
/* Where we are, as text: "seq N (+H hits, +S steps)". */
void gdb_exec_where(const struct gdb_exec *x, char *buf, size_t len);

#endif
