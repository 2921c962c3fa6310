/* SPDX-License-Identifier: MIT */
/* Shared by the analysis/ commands; not a public interface. */
#ifndef KVMRR_ANALYSIS_INTERNAL_H
#define KVMRR_ANALYSIS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sqlite3.h>


/* KVM_EXIT_* codes the views treat specially (<linux/kvm.h>, KVM API doc 5. "kvm_run"). */
#define ANALYSIS_EXIT_IO 2
#define ANALYSIS_EXIT_MMIO 6

/* An open recording. */
struct analysis_rec {
	sqlite3 *db;
	const char *path;
	double tsc_khz;     /* meta.tsc_khz, > 0 */
	bool complete;      /* meta.complete = 1 */
	int64_t exits;      /* rows in exit */
};

/*
 * Open PATH read-only and check that it is a kvmrr recording this build
 * reads: the file exists, is SQLite, passes quick_check, has meta.format =
 * 'kvmrr-recording', meta.format_version = 1, the tables and a tsc_khz.
 * Creates the temp view analysis_exit (seq, vcpu, reason, reason_name,
 * entry_vmm_ticks, guest_ticks, vmm_ticks = VMM time after this exit, rip,
 * addr, size, dir, data; see views.c), analysis_timeline and, when the file lacks
 * them, temp copies of the documented views. Prints one clear message on
 * stderr (prefixed by CMD) on failure, a warning for an incomplete recording.
 * Returns 0, -ENOENT/-EISDIR/-EACCES (cannot open), -EINVAL (not a recording
 * or corrupt), -EPROTONOSUPPORT (format version), -ENOMEM.
 */
int analysis_rec_open(const char *cmd, const char *path, struct analysis_rec *rec);
void analysis_rec_close(struct analysis_rec *rec);
/* meta value as a malloc'd string, or NULL when absent. */
char *analysis_meta(struct analysis_rec *rec, const char *key);

/* 1 for errors caused by the input, 2 for internal ones (-ENOMEM, -EIO). */
int analysis_status_of(int rc);

/* Prepare SQL or print "CMD: PATH: SQLite error on <what>: <errmsg>"; returns 0 or -EIO. */
int analysis_prepare(const char *cmd, struct analysis_rec *rec, const char *sql,
		     sqlite3_stmt **stmt);
/* After sqlite3_step failed: print the message; returns -EIO. */
int analysis_step_error(const char *cmd, struct analysis_rec *rec, int rc);

/* TSC ticks to nanoseconds with the recording's tsc_khz. */
double analysis_ticks_ns(const struct analysis_rec *rec, double ticks);

/*
 * Entry times of exits read in seq order: the running sum of vmm + guest
 * ticks per vCPU (docs/log-format.md, table exit).
 */
#define ANALYSIS_MAX_VCPUS 1024
struct analysis_clock {
	double elapsed[ANALYSIS_MAX_VCPUS];
};
void analysis_clock_reset(struct analysis_clock *c);
/* Entry time of the next exit of VCPU, in ticks since tsc_base; -ERANGE for a bad vCPU. */
int analysis_clock_entry(struct analysis_clock *c, int64_t vcpu, int64_t entry_vmm, int64_t guest,
			 double *entry);

/* Output formats shared by stats and query. */
enum analysis_format { ANALYSIS_FMT_TABLE, ANALYSIS_FMT_CSV, ANALYSIS_FMT_JSON };
/* Parse "table", "csv" or "json"; -EINVAL for anything else. */
int analysis_parse_format(const char *s, enum analysis_format *fmt);
/* Parse a non-negative decimal integer option value; -EINVAL otherwise. */
int analysis_parse_count(const char *s, long *out);

/* Escapers (format.c). */
void analysis_put_hex(FILE *f, const void *data, size_t len);
/* A JSON string literal, quotes included; invalid UTF-8 becomes U+FFFD. */
void analysis_put_json_str(FILE *f, const char *s, size_t len);
/* A CSV field (RFC 4180): quoted when it holds , " CR LF or edge spaces. */
void analysis_put_csv_str(FILE *f, const char *s, size_t len);
/* One SQLite column value as JSON (null, number, string; blobs as hex strings). */
void analysis_put_json_col(FILE *f, sqlite3_stmt *stmt, int col);
/* One SQLite column value as a CSV field (NULL empty, blobs as hex). */
void analysis_put_csv_col(FILE *f, sqlite3_stmt *stmt, int col);
/* Header row and every row of a statement as CSV; returns 0 or the SQLite error code. */
int analysis_put_csv_rows(FILE *f, sqlite3_stmt *stmt);
/* One SQLite column value as malloc'd display text (NULL as "NULL", blobs as hex). */
char *analysis_col_text(sqlite3_stmt *stmt, int col);

/*
 * A text table that aligns its columns: add cells row by row, then print.
 * Numeric columns (right-aligned) are marked with analysis_table_right().
 */
struct analysis_table;
struct analysis_table *analysis_table_new(int ncols);
void analysis_table_right(struct analysis_table *t, int col);
/* Copies the text; returns 0 or -ENOMEM. */
int analysis_table_add(struct analysis_table *t, const char *text);
int analysis_table_addf(struct analysis_table *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Takes ownership of a malloc'd string (which may be NULL: -ENOMEM). */
int analysis_table_add_owned(struct analysis_table *t, char *text);
void analysis_table_print(struct analysis_table *t, FILE *f, const char *indent);
void analysis_table_free(struct analysis_table *t);

/* Open -o FILE for writing ("-" or NULL: stdout); prints the error. */
FILE *analysis_out_open(const char *cmd, const char *path);
/* Close it (not stdout), reporting write errors; returns 0 or -EIO. */
int analysis_out_close(const char *cmd, const char *path, FILE *f);

/* Exit reason, direction and size as text for messages. */
const char *analysis_dir_name(int reason, int dir);

#endif
