/* SPDX-License-Identifier: MIT */
/* Helpers for the analysis tests: fixture recordings, running commands, SQL. */
#ifndef KVMRR_TESTS_ANALYSIS_UTIL_H
#define KVMRR_TESTS_ANALYSIS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A recording-shaped SQLite file built from docs/log-format.md (tables
 * only, no views: the analysis must create what it needs). Exits follow a
 * fixed pattern of UART OUTs, entropy INs (data from `seed`), MMIO writes
 * and reads, HLTs and POST-code OUTs with an IRQ injected, ending with an
 * OUT to the debug-exit port; times come from an LCG.
 */
struct fixture {
	int exits;
	unsigned seed;          /* entropy data and timings */
	int format_version;     /* 1 */
	bool complete;
	bool views;             /* also write a marker exit_timeline view, as a writer would */
};
/* Returns 0 or fails the test. */
void fixture_write(const char *path, const struct fixture *fx);

/* A fresh directory under /tmp for this test; never NULL. */
const char *test_tmpdir(void);
/* Path of a file in it. */
char *tmp_path(const char *name);

/*
 * Run the analysis stand-in (tests/analysis/analysis_main) with shell-quoted
 * ARGS; stdout and stderr captured separately (malloc'd, may be freed).
 * Returns the exit status, or -1 when it did not exit normally.
 */
int run_analysis(char **out, char **err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Same for any shell command. */
int run_shell(char **out, char **err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* First column of the first row of SQL on PATH, as an integer / a double. */
int64_t sql_int(const char *path, const char *sql);
double sql_double(const char *path, const char *sql);
/* Execute SQL on PATH (read-write); fails the test on error. */
void sql_exec(const char *path, const char *sql);

/* Read a whole file (malloc'd, NUL-terminated); *len may be NULL. */
char *slurp(const char *path, size_t *len);
/* Write a NUL-terminated string to a file. */
void write_file(const char *path, const char *text);
/* Copy a file. */
void copy_file(const char *from, const char *to);
/* Count the occurrences of NEEDLE in HAY. */
int count_str(const char *hay, const char *needle);

/* Ticks of the exits matching WHERE (alias e): guest time + the VMM time after each. */
double raw_ticks(const char *db, const char *where);
/*
 * Check one row of `stats --format csv` (after its key) against independent
 * SQL over the exit table: WHERE selects the row's exits (alias e); totals
 * are those of the grouped set.
 */
void check_stats_row(const char *db, const char *where, char *line, double total_ticks,
		     int64_t total_count);

#endif
