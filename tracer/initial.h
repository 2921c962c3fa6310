/* SPDX-License-Identifier: MIT */
/* Private to tracer/: the parts of the initial state, each written inside the caller's transaction. */
#ifndef KVMRR_TRACER_INITIAL_H
#define KVMRR_TRACER_INITIAL_H

#include <stddef.h>
#include <sqlite3.h>

#include "common/err.h"
#include "machine/machine.h"

/* meta: versions, host, tsc_khz, command line, machine configuration, started_at. */
int tracer_initial_meta(sqlite3 *db, struct machine *m, int argc, char **argv, struct err *err);
/* image rows: the kernel (and initrd) files as given, with SHA-256. */
int tracer_initial_images(sqlite3 *db, struct machine *m, struct err *err);
/* cpuid rows: the table the vCPU got. */
int tracer_initial_cpuid(sqlite3 *db, struct machine *m, struct err *err);
/* mem_page rows: every non-zero 4 KiB page of RAM. */
int tracer_initial_pages(sqlite3 *db, const struct guest_mem *mem, struct err *err);
/* "pvh", "multiboot" or "bzimage", from the file's headers; "unknown" if unreadable. */
const char *tracer_loader_name(const char *path);

#endif
