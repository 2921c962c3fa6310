/* SPDX-License-Identifier: MIT */
/*
 * One error type, carried from where a failure happens to where it is
 * printed: a code (-errno) and one line of text. Each layer that knows more
 * adds its context in front with err_wrap():
 *   "reading table exit: database disk image is malformed"
 *   -> "rec.db: reading table exit: database disk image is malformed"
 */
#ifndef KVMRR_COMMON_ERR_H
#define KVMRR_COMMON_ERR_H

#include <stddef.h>

#define ERR_MSG_MAX 512

struct err {
	int code;                 /* -errno; 0: no error */
	char msg[ERR_MSG_MAX];
};

/* Set code and message; returns code, so `return err_set(e, -EINVAL, ...)`. e may be NULL. */
int err_set(struct err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Set the message only (the caller returns the code). e may be NULL. */
void err_printf(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Put context in front of the message: "<context>: <message>"; returns e->code. */
int err_wrap(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The message, or "" when there is none. */
static inline const char *err_text(const struct err *e) { return e && e->msg[0] ? e->msg : ""; }

#endif
