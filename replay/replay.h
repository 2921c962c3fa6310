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
#include "replay/log_reader.h"

/* Exit statuses of `kvmrr replay`. */
enum replay_status {
	REPLAY_IDENTICAL = 0,
	REPLAY_DIVERGED = 1,
	REPLAY_ERROR = 2,
};

#define REPLAY_HISTORY 5

struct replay_async;

struct replay_options {
	const char *path;
	bool json;                  /* the report as JSON on stdout */
	bool continue_on_divergence;
	bool quiet_console;         /* do not reproduce the guest's UART output */
	int64_t until;              /* stop right after this seq; -1: run to the end */
	double timeout_sec;         /* 0: derived from the recorded run time */
};

/* One exit as seen by the replayer, for reports. */
struct replay_seen {
	uint64_t seq;
	struct replay_exit rec;       /* what the log says */
	bool have_actual;
	uint32_t reason;              /* what KVM gave */
	uint64_t rip, addr;
	uint32_t size;
	int dir;
	size_t len;
	uint8_t data[64];
};

struct replay {
	struct replay_options opt;
	struct machine m;
	sqlite3 *db;
	struct replay_log log;
	bool complete;                /* meta.complete */
	char recorded_end[32];        /* meta.end */
	int recorded_code;            /* meta.end_code */
	bool have_next;
	struct replay_exit next;      /* the next non-INTR recorded exit */
	int64_t last_seq;             /* the last matched seq; -1 before the first */
	uint64_t matched;
	uint64_t divergences;
	struct replay_seen first_div; /* the first divergence */
	const char *first_div_what;
	struct replay_seen history[REPLAY_HISTORY];
	unsigned int nhistory;
	uint8_t uart_lcr;             /* to tell THR from the divisor latch on 0x3f8 */
	bool until_reached;
	char final_diff[512];         /* what differs at the end, "" if nothing */
	struct replay_async *async;   /* seeking asynchronous points (replay/async.h); NULL until one */
	bool irq_async;               /* meta.irq_delivery = async: windows are not replayed */
	char err[512];
};

/* Open the recording and build the machine in its initial state. 0 or -errno + r->err. */
int replay_open(struct replay *r, const struct replay_options *opt);
/* Run to the end (or --until, or the first divergence). 0, or -errno on a VMM/log failure. */
int replay_run(struct replay *r);
/* Print the outcome (text or JSON per opt) and return the exit status. */
int replay_report(struct replay *r, FILE *out);
void replay_close(struct replay *r);

/* kvmrr replay [options] REC.db */
int replay_cmd(int argc, char **argv);

#endif
