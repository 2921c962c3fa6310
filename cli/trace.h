/* SPDX-License-Identifier: MIT */
/* kvmrr trace (cli/trace.c): run a VMM under libkvmrr-trace.so (trace/trace_int.h). */
#ifndef KVMRR_CLI_TRACE_H
#define KVMRR_CLI_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

/* cli/trace_exec.c: cmd as execvp would find it, into out. 0 or -ENOENT with a message. */
int cli_trace_resolve(const char *cmd, char *out, size_t len, struct err *err);
/* 0 if LD_PRELOAD reaches the program at path (a dynamic ELF or a script); -ENOEXEC with why. */
int cli_trace_check_dynamic(const char *path, struct err *err);
/* The capture library's absolute path ($KVMRR_TRACE_LIB, or beside the kvmrr binary). */
int cli_trace_library(char *out, size_t len, struct err *err);

/*
 * cli/trace_end.c: after the VMM ended with wait status `status`, write the
 * end into the recording it left at path: end, end_code, end_detail, exits,
 * complete (1 if the library drained every exit), and leave WAL mode.
 * *exits gets the rows of table exit. 0, -ENOENT if the VMM made no
 * recording, or -errno with a message.
 */
int cli_trace_finish(const char *path, const char *vmm, int status, long long *exits,
		     long long *vcpus, struct err *err);

#endif
