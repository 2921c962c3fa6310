/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the end-to-end tests: run the real kvmrr binary on the bundled
 * guests with stdout and stderr captured apart, and read or tamper with
 * recordings through SQLite.
 */
#ifndef KVMRR_TESTS_E2E_E2E_H
#define KVMRR_TESTS_E2E_E2E_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "tests/test.h"

/* What one command did. */
struct e2e_cmd {
	int status;      /* exit status; 128 + signal if killed; 124 if the safety timeout hit */
	char *out;       /* stdout (the guest console) */
	size_t out_len;
	char *err;       /* stderr (kvmrr's reports) */
	double secs;     /* wall time */
};

/* A fresh directory under /tmp for one test; removed by e2e_cleanup. */
void e2e_tmpdir(char *buf, size_t len);
void e2e_cleanup(const char *dir);

/* Paths of build/cli/kvmrr and build/guests/NAME.elf (static buffers; fail when not built). */
const char *e2e_kvmrr(void);
const char *e2e_guest(const char *name);

/*
 * Run a shell command (printf-style), stdin from /dev/null, under a safety
 * `timeout` of limit seconds; fills *c. Output goes through files in dir.
 */
void e2e_sh(struct e2e_cmd *c, const char *dir, int limit, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void e2e_free(struct e2e_cmd *c);
/* The whole file, NUL-terminated (malloc'd; fails the test when unreadable); *len its size if len. */
char *e2e_read_file(const char *path, size_t *len);

/* `kvmrr run OPTS GUEST` / `kvmrr record -o REC OPTS GUEST` / `kvmrr replay OPTS REC`. */
void e2e_run(struct e2e_cmd *c, const char *dir, const char *guest, const char *opts);
void e2e_record(struct e2e_cmd *c, const char *dir, const char *rec, const char *guest,
		const char *opts);
void e2e_replay(struct e2e_cmd *c, const char *dir, const char *rec, const char *opts);

/* Fail with the command's output when cond is false. */
#define E2E_ASSERT(c, cond, ...)                                              \
	TEST_ASSERT(cond, "%s\n# status %d, stdout:\n%s\n# stderr:\n%s", e2e_msg(__VA_ARGS__), \
		    (c)->status, (c)->out, (c)->err)
const char *e2e_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Fail unless text contains needle. */
#define E2E_HAS(c, text, needle)                                              \
	E2E_ASSERT(c, strstr((text), (needle)), "wanted \"%s\" in the output", (needle))

/* "kvmrr-guest: pio=N mmio=M" from the console; fails when missing. */
void e2e_guest_counts(const struct e2e_cmd *c, uint64_t *pio, uint64_t *mmio);

/* Replay results read from the text report on stderr. */
bool e2e_identical(const struct e2e_cmd *c);
/* The seq of "replay: divergence at seq N"; -1 when absent. */
long long e2e_divergence_seq(const struct e2e_cmd *c);

/* SQLite on a recording (read-write, for tampering with copies); formats are sqlite3_mprintf's (%Q, %q). */
sqlite3 *e2e_db_open(const char *path);
long long e2e_db_int(sqlite3 *db, const char *fmt, ...);
void e2e_db_exec(sqlite3 *db, const char *fmt, ...);
/* A blob column of the first row (malloc'd copy); *len its size; NULL for SQL NULL. */
void *e2e_db_blob(sqlite3 *db, size_t *len, const char *fmt, ...);

/*
 * Exits replay counts as synchronisation points among seq < below: all but
 * the VMM's own (KVM_EXIT_INTR, and KVM_EXIT_IRQ_WINDOW_OPEN when
 * meta.irq_delivery = async), plus the asynchronous points (async_irq events).
 */
long long e2e_sync_points(sqlite3 *db, long long below);

/*
 * Copy the recording orig to DIR/NAME.db, run sql on the copy (it must
 * change a row), seal its stream tables anew (tests/reseal.h: the copy is
 * then what a recorder that saw those rows would have written, so replay's
 * comparisons are under test, not the seals), then `kvmrr replay OPTS` it
 * (opts NULL: "-q") into *c.
 */
void e2e_tamper(struct e2e_cmd *c, const char *dir, const char *orig, const char *name, const char *opts,
		const char *sql);
/* Status 1, not identical, the divergence at a seq in [lo, hi]; returns that seq. */
long long e2e_diverged(const struct e2e_cmd *c, long long lo, long long hi);
/* blob with byte i xor'ed with x, as an SQL blob literal X'..' into buf. */
const char *e2e_blob_literal(const void *blob, size_t len, size_t i, uint8_t x, char *buf, size_t buflen);

/* cp src dst (fails the test on error). */
void e2e_copy(const char *src, const char *dst);

#endif
