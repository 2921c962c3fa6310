/* SPDX-License-Identifier: MIT */
/* kvmrr record: kvmrr run with the tracer's hook in the loop. */
#include "cli/cli.h"

#include <stdio.h>

#include "tracer/tracer.h"

int cli_cmd_record(int argc, char **argv)
{
	struct tracer_options topt = { 0 };
	struct cli_machine_opts o;
	struct tracer *t = NULL;
	struct machine m;
	struct err err = { 0 };
	uint64_t total, vmm;
	int r, status;

	r = cli_parse_machine_options("record", argc, argv, &o);
	if (r != 0)
		return r > 0 ? 0 : 2;
	topt.force = o.force;
	topt.checkpoint_sec = o.checkpoint_sec;
	r = cli_machine_setup(&m, &o, &err);
	if (r == 0)
		r = tracer_open(&t, o.output, &topt, &err);
	if (r == 0)
		r = tracer_record_initial(t, &m, argc + 1, argv - 1, &err);
	if (r < 0) {
		fprintf(stderr, "kvmrr record: %s\n", err.msg[0] ? err.msg : "setup failed");
		tracer_close(t);
		machine_destroy(&m);
		return 2;
	}
	cli_install_signal_handlers();
	m.stop = &cli_stop;
	machine_run(&m, tracer_hook(t));
	status = cli_report_end(&m, "record");
	r = tracer_finish(t, &m, &err);
	total = tracer_exits(t);
	vmm = tracer_vmm_exits(t);
	tracer_close(t);
	machine_destroy(&m);
	if (r < 0) {
		fprintf(stderr, "kvmrr record: the recording %s is incomplete: %s\n", o.output, err.msg);
		return 2;
	}
	if (!o.quiet)
		fprintf(stderr, "kvmrr record: %llu exits recorded to %s (%llu synchronisation points, "
			"%llu caused by the VMM)\n", (unsigned long long)total, o.output,
			(unsigned long long)(total - vmm), (unsigned long long)vmm);
	return status;
}
