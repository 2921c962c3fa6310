/* SPDX-License-Identifier: MIT */
/*
 * Sequential reading of a recording's exits and events, one row ahead, for
 * the replayer. Rows are read with prepared statements as replay goes; the
 * log is never loaded whole.
 */
#ifndef KVMRR_REPLAY_LOG_READER_H
#define KVMRR_REPLAY_LOG_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#define REPLAY_DATA_MAX 8192

struct replay_exit {
	uint64_t seq;
	uint32_t vcpu;
	uint32_t reason;
	uint64_t rip;
	bool has_addr;
	uint64_t addr;          /* port or gpa */
	uint32_t size;
	int dir;                /* 0 in/read, 1 out/write, -1 none */
	size_t len;             /* data bytes */
	const uint8_t *data;    /* all len bytes, in the reader's buffer: valid until the next row */
	uint8_t head[64];       /* the first bytes, kept with the exit for reports */
};

struct replay_event {
	int64_t seq;            /* -1: before the first entry */
	uint32_t kind;
	int64_t value;
};

struct replay_log {
	sqlite3 *db;
	sqlite3_stmt *exits;
	sqlite3_stmt *events;
	bool exits_done, events_done;
	bool have_event;
	struct replay_event event;   /* the next unconsumed event */
	uint64_t total_exits;        /* rows in exit */
	uint8_t data[REPLAY_DATA_MAX];  /* the current exit row's data */
	uint64_t rows_read;          /* exit rows returned so far */
	uint64_t last_seq;           /* seq of the last exit row returned */
	uint32_t last_reason;        /* its reason */
	int64_t gap_seq;             /* the first seq with no row (rows missing), -1: none */
};

/* Prepare the readers on an open recording. 0 or -errno + message. */
int replay_log_open(struct replay_log *log, sqlite3 *db, char *err, size_t errlen);
void replay_log_close(struct replay_log *log);
/* The next exit row: 1 read, 0 none left, -errno (message in err). */
int replay_log_next_exit(struct replay_log *log, struct replay_exit *out, char *err, size_t errlen);
/* The next event if its seq is <= seq: 1 (consumed into *out), 0 none, -errno. */
int replay_log_take_event(struct replay_log *log, int64_t seq, struct replay_event *out,
			  char *err, size_t errlen);
/* Seq of the next unconsumed event, or INT64_MIN if none. */
int64_t replay_log_peek_event_seq(const struct replay_log *log);

#endif
