/* SPDX-License-Identifier: MIT */
/*
 * kvmrr replay --gdb [HOST:]PORT: the GDB remote serial protocol over TCP
 * on a replay (replay/gdb_exec.h). One gdb at a time; after D (detach) or a
 * closed connection the server waits for the next one with the replay
 * where it was; k / vKill ends it. Writes (G, P, M, X) are refused: a
 * replay is history.
 */
#ifndef KVMRR_REPLAY_GDB_SERVER_H
#define KVMRR_REPLAY_GDB_SERVER_H

#include <stddef.h>

#include "replay/gdb_exec.h"
#include "replay/gdb_packet.h"

struct gdb_session {
	struct gdb_exec *x;
	int fd;
	bool noack, done, kill;
	int warned_user_bp;       /* a breakpoint on a user page: 1 to say at the next run, 2 said */
	struct gdb_rx rx;
	char out[2 * GDB_PACKET_MAX + 8];   /* the last packet sent, framed (resent on '-') */
	int out_len;
};

/* Serve on hostport ("PORT" or "HOST:PORT"; port 0 picks one, printed). Exit status as replay_cmd. */
int replay_gdb_serve(const struct replay_options *opt, const char *hostport);

/* Send one packet (payload len bytes). 0 or -errno (the connection is gone). */
int gdb_session_send(struct gdb_session *s, const char *payload, size_t len);
/* Console output for gdb's user (an 'O' packet). */
int gdb_session_print(struct gdb_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The reply to a stop (T packet), with console output before it for ends and divergences. */
int gdb_session_stop(struct gdb_session *s, const struct gdb_stop *st);

/* qRcmd: run one monitor command (replay/gdb_monitor.c); its output goes out as 'O' packets. */
int gdb_monitor(struct gdb_session *s, const char *cmd);

#endif
