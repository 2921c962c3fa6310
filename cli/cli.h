/* SPDX-License-Identifier: MIT */
#ifndef KVMRR_CLI_CLI_H
#define KVMRR_CLI_CLI_H

#include <signal.h>
#include <stdbool.h>

#include "common/err.h"
#include "machine/machine.h"

/* Options shared by run and record, parsed by cli_parse_machine_options. */
struct cli_machine_opts {
	struct machine_config cfg;
	const char *output;     /* record: -o */
	bool force;             /* record: overwrite -o */
	bool quiet;
	double checkpoint_sec;  /* record: seconds between checkpoints; 0: none */
};

/*
 * Parse [options] GUEST for `cmd` (run or record). Returns 0, 1 after
 * printing help, or -1 after printing a usage error.
 */
int cli_parse_machine_options(const char *cmd, int argc, char **argv, struct cli_machine_opts *o);

/* machine_create + machine_load from the options; 0 or -errno with err. */
int cli_machine_setup(struct machine *m, const struct cli_machine_opts *o, struct err *err);

/* SIGINT/SIGTERM set this and kick the vCPU. */
extern volatile sig_atomic_t cli_stop;
void cli_install_signal_handlers(void);

/* Print how the run ended (registers for crashes) to stderr; returns the exit status. */
int cli_report_end(struct machine *m, const char *cmd);

int cli_cmd_run(int argc, char **argv);
int cli_cmd_record(int argc, char **argv);
int cli_cmd_replay(int argc, char **argv);
int cli_cmd_trace(int argc, char **argv);
int cli_cmd_check(int argc, char **argv);

#endif
