/* SPDX-License-Identifier: MIT */
/* Shared by replay/gdb_exec.c (forwards) and replay/gdb_reverse.c (backwards). */
#ifndef KVMRR_REPLAY_GDB_EXEC_INTERNAL_H
#define KVMRR_REPLAY_GDB_EXEC_INTERNAL_H

#include "replay/gdb_exec.h"

enum gdb_exec_mode {
	GDB_MODE_CONT,    /* stop at the first breakpoint or watchpoint */
	GDB_MODE_STEP,    /* one instruction, breakpoints off */
	GDB_MODE_COUNT,   /* stop at the x->want_hits-th hit since the last exit */
	GDB_MODE_SCAN,    /* never stop at hits; remember the last one (x->last) */
};

/* Run in mode until a stop, or right after exit until (-1: none). 0 (st filled) or -errno. */
int gdb_exec_run(struct gdb_exec *x, int mode, int64_t until, struct gdb_stop *st);
/* gdb's part of the debug registers: breakpoints armed or not, single step or not. */
int gdb_exec_arm(struct gdb_exec *x, bool bps, bool step);
bool gdb_exec_at_bp(const struct gdb_exec *x, uint64_t rip);
/* Complete the last exit's operation (KVM_RUN, immediate_exit) with gdb's registers off. */
int gdb_exec_settle(struct gdb_exec *x);

/* RIP now (0 if KVM_GET_REGS fails). */
uint64_t gdb_exec_rip(struct gdb_exec *x);
/* Write watchpoints checked in software (replay/gdb_bp.c): values at a run's start, changes after a step. */
void gdb_exec_watch_load(struct gdb_exec *x);
/* The first write watchpoint whose value changed (its new value kept), -1 if none. */
int gdb_exec_watch_changed(struct gdb_exec *x);
uint64_t gdb_exec_watch_read(struct gdb_exec *x, int i);

#endif
