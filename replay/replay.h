/* SPDX-License-Identifier: MIT */
/*
 * Replay: re-run a recording from its initial state on KVM, answer every IN
 * and MMIO read from the log, re-apply every recorded injection at the same
 * seq, verify every exit, and compare the final state. The recording is the
 * only input: no guest image, no device model, no host input.
 */
#ifndef KVMRR_REPLAY_REPLAY_H
#define KVMRR_REPLAY_REPLAY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "machine/machine.h"
#include "common/err.h"
#include "replay/readahead.h"

/* Exit statuses of `kvmrr replay`. */
enum replay_status {
	REPLAY_IDENTICAL = 0,
	REPLAY_DIVERGED = 1,
	REPLAY_ERROR = 2,
	REPLAY_INCOMPLETE = 3,   /* an incomplete recording: its prefix replayed identical */
};

#define REPLAY_HISTORY 5

/* Checkpoints in memory while replaying (replay/ckpt.h), for a debugger: defaults. */
#define REPLAY_CKPT_INTERVAL_SEC 0.25
#define REPLAY_CKPT_CAP (1ULL << 30)

struct replay_async;

struct replay_options {
	const char *path;
	bool json;                  /* the report as JSON on stdout */
	bool continue_on_divergence;
	bool quiet_console;         /* do not reproduce the guest's UART output */
	int64_t until;              /* stop right after this seq; -1: run to the end */
	bool from_start;            /* --until: ignore the recording's checkpoints */
	int64_t from;               /* start from the latest checkpoint at or before this seq; -1: no */
	int64_t probe;              /* take replay_state_digest right after this exit; -1: none */
	unsigned int jobs;          /* --jobs: segments between checkpoints in this many processes */
	bool dirty_log;             /* KVM's dirty log on guest RAM even without asynchronous points */
	double timeout_sec;         /* 0: derived from the recorded run time */
	double ckpt_interval_sec;   /* checkpoints in memory every this much replay time (0: none) */
	uint64_t ckpt_cap;          /* their memory at most (bytes) */
	bool read_inline;           /* read the recording on the vCPU thread, not ahead (replay/readahead.h) */
};

/* One exit as seen by the replayer, for reports: what the log says and what KVM gave. */
struct replay_seen {
	uint64_t seq;
	bool have_rec;
	struct stream_rec rec;
	uint8_t rec_head[64];         /* the first bytes of the recorded data */
	bool have_actual;
	struct stream_rec actual;
	uint8_t actual_head[64];      /* the first bytes the guest wrote (OUT, MMIO write) */
};

/* Events waiting to be re-applied before the next entry. */
#define REPLAY_PENDING (4 * STREAM_ITEM_EVENTS)

struct stream_mem_pages;
struct replay_ckpts;

/*
 * The debug registers, shared by the asynchronous points and gdb
 * (replay/debugregs.c): DR0 belongs to replay/async.c, DR1-DR3 to gdb
 * (replay/gdb_exec.c). Each side writes its part and calls
 * replay_debug_apply, which gives KVM the union.
 */
struct replay_debug {
	uint32_t async_control;       /* async.c: 0, ENABLE|USE_HW_BP (DR0 = async_rip) or ENABLE|SINGLESTEP */
	uint64_t async_rip;
	uint64_t addr[4];             /* [1..3]: gdb's breakpoints and watchpoints */
	uint64_t dr7;                 /* gdb's enable, R/W and LEN bits (DR1-DR3 only) */
	bool step;                    /* gdb single-steps */
};

struct replay {
	struct replay_options opt;
	struct machine m;
	sqlite3 *db;
	struct replay_cursor cursor;    /* the recording, read ahead by a thread (replay/readahead.h) */
	bool complete;                /* meta.complete */
	char recorded_end[32];        /* meta.end */
	int recorded_code;            /* meta.end_code */
	bool have_next;
	struct stream_item next;      /* the next recorded exit to reach (a synchronisation point or async) */
	bool next_fetched;            /* stopped at --until with next already read (past exits the VMM caused) */
	struct stream_rec pending[REPLAY_PENDING];
	unsigned int npending;
	bool skipped_tail;            /* the log ended with exits the VMM caused after the last match */
	int64_t last_seq;             /* the last matched seq; -1 before the first */
	uint64_t last_ticks;          /* its recorded time (stream_item.ticks) */
	double tsc_khz;               /* meta.tsc_khz (0: unknown) */
	int format_version;           /* meta.format_version */
	int64_t start_seq;            /* the checkpoint the replay started from; -1: the initial state */
	char probe_digest[65];        /* replay_state_digest at opt.probe, "" if not reached */
	uint64_t matched;             /* synchronisation points and asynchronous points reached */
	uint64_t skipped;             /* exits the VMM caused, passed over */
	uint64_t divergences;
	struct replay_seen first_div; /* the first divergence */
	char first_div_what[400];
	bool first_div_async;         /* at an asynchronous point (replay_async_report shows it) */
	struct replay_seen history[REPLAY_HISTORY];
	unsigned int nhistory;
	uint8_t uart_lcr;             /* to tell THR from the divisor latch on 0x3f8 */
	bool until_reached;
	char final_diff[512];         /* what differs at the end, "" if nothing */
	struct replay_async *async;   /* seeking asynchronous points (replay/async.h); NULL until one */
	struct stream_mem_pages *pages; /* format 2: page digests since the load (stream/digest.h) */
	struct replay_ckpts *ckpts;   /* checkpoints in memory (replay/ckpt.h); NULL: none */
	bool off_exit;                /* guest instructions ran since exit last_seq (a debugger's steps) */
	struct replay_debug dbg;      /* the debug registers' owners (replay/debugregs.c) */
	struct err err;
};

/* Open the recording and build the machine in its initial state. 0 or -errno + r->err. */
int replay_open(struct replay *r, const struct replay_options *opt);
/* Run to the end (or --until, or the first divergence). 0, or -errno on a VMM/log failure. */
int replay_run(struct replay *r);
/* After stopping at --until: go on to exit until (the run must not have ended otherwise). */
int replay_continue(struct replay *r, int64_t until);
/*
 * Bring the replay to the state right after exit seq (as --until leaves
 * it), backwards or forwards: from the latest checkpoint, in memory or in
 * the recording, before the synchronisation point at or before seq (or
 * straight on when the replay is already between that checkpoint and seq),
 * then replay to seq. 0 or -errno + r->err.
 */
int replay_seek(struct replay *r, int64_t seq);
/* SHA-256 (hex) of the whole state: registers, special registers, XSAVE digest, RAM. */
void replay_state_digest(struct replay *r, char hex[65]);
/* kvmrr replay --jobs N: 0/1/2/3 as replay_report. */
int replay_jobs(const struct replay_options *o, unsigned int jobs);
/* kvmrr inspect REC.db --at SEQ WHAT */
int replay_inspect_cmd(int argc, char **argv);
/* Print the outcome (text or JSON per opt) and return the exit status (enum replay_status). */
int replay_report(struct replay *r, FILE *out);
/* Record a divergence at seq (the first one is kept for the report). */
void replay_diverge(struct replay *r, const struct replay_seen *seen, const char *what, bool async);
void replay_close(struct replay *r);

/* KVM_SET_GUEST_DEBUG with the union of r->dbg's parts. 0 or -errno + r->err. */
int replay_debug_apply(struct replay *r);
/*
 * Complete the last exit's operation (stream_checkpoint_settle) with the
 * debug registers off, then on again: a single step or a breakpoint armed
 * for gdb must not end that KVM_RUN. 0 or -errno + r->err.
 */
int replay_debug_settle(struct replay *r);
/* The replay's machine hook, for a caller that wraps it (replay/gdb_exec.c). */
const struct machine_hook *replay_hook(struct replay *r);
/*
 * Make r->next the next recorded exit to reach: at the start, or after
 * stopping at --until. 1, 0 at the end of the log, -errno + r->err.
 */
int replay_fetch_next(struct replay *r);

/* kvmrr replay [options] REC.db */
int replay_cmd(int argc, char **argv);

#endif
