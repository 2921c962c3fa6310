/* SPDX-License-Identifier: MIT */
/*
 * The recording format (docs/log-format.md), shared by the writer (tracer/)
 * and the readers (replay/, analysis/). Changing a code or a table's meaning
 * bumps TRACER_FORMAT_VERSION; readers refuse versions they do not know.
 */
#ifndef KVMRR_TRACER_FORMAT_H
#define KVMRR_TRACER_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <sqlite3.h>

#define TRACER_FORMAT_NAME    "kvmrr-recording"
#define TRACER_FORMAT_VERSION 1

/* event.kind: what the VMM did to the guest after exit `seq`, before the next KVM_RUN. */
enum tracer_event_kind {
	TRACER_EVENT_NONE = 0,
	TRACER_EVENT_IRQ = 1,         /* value = vector, injected with KVM_INTERRUPT */
	TRACER_EVENT_NMI = 2,         /* KVM_NMI */
	TRACER_EVENT_IRQ_WINDOW = 3,  /* value = new request_interrupt_window (0/1), on change */
	TRACER_EVENT_ASYNC_IRQ = 4,   /* value = vector, injected at a kick (KVM_EXIT_INTR); see async_point */
	TRACER_EVENT_COUNT
};
/* "irq", "nmi", "irq_window", "async_irq"; NULL for a code this build does not know. */
const char *tracer_event_kind_name(unsigned int kind);

/* vcpu_state.kind, in restore order (see tracer/snapshot.h). */
#define TRACER_STATE_KINDS "sregs regs fpu xcrs xsave msrs debugregs mp_state events"

/* A documented view: CREATE VIEW name AS select (docs/log-format.md, "Views"). */
struct tracer_view {
	const char *name;
	const char *select;
};
#define TRACER_VIEW_COUNT 5
extern const struct tracer_view tracer_views[TRACER_VIEW_COUNT];
/* CREATE [TEMP] VIEW of v; 0 or -EIO with the SQLite message in err. */
int tracer_view_create(sqlite3 *db, const struct tracer_view *v, bool temp, char *err, size_t errlen);

/*
 * Create every table, index and view of format TRACER_FORMAT_VERSION in an
 * empty database and fill meta(format, format_version, complete=0) and the
 * name tables. 0 or -errno with a message naming the statement.
 */
int tracer_schema_create(sqlite3 *db, char *err, size_t errlen);

/*
 * Check that db holds a recording this build can read: meta.format is
 * TRACER_FORMAT_NAME and meta.format_version is TRACER_FORMAT_VERSION.
 * Returns 0, -EPROTONOSUPPORT for another version (the message names both),
 * -EINVAL if it is no kvmrr recording.
 */
int tracer_schema_check(sqlite3 *db, char *err, size_t errlen);

/*
 * Open a recording read-only and check its format. *db is set on success
 * only; close it with sqlite3_close(). 0 or -errno with a message.
 */
int tracer_recording_open(const char *path, sqlite3 **db, char *err, size_t errlen);

/* meta helpers: 0 or -EIO with a message. */
int tracer_meta_set_text(sqlite3 *db, const char *key, const char *value, char *err, size_t errlen);
int tracer_meta_set_int(sqlite3 *db, const char *key, long long value, char *err, size_t errlen);
/* Text of meta[key] into buf; -ENOENT if absent. */
int tracer_meta_get(sqlite3 *db, const char *key, char *buf, size_t len);

/* -errno for a SQLite result code: FULL -ENOSPC, NOMEM -ENOMEM, BUSY -EBUSY, READONLY -EROFS, else -EIO. */
int tracer_sqlite_errno(int rc);

/* Run SQL text (no rows); 0 or -EIO with "what: sqlite message" in err. */
int tracer_sql_exec(sqlite3 *db, const char *sql, const char *what, char *err, size_t errlen);

#endif
