/* SPDX-License-Identifier: MIT */
/* kvmrr run: the machine with its device models, nothing recorded. */
#include "cli/cli.h"

#include <inttypes.h>
#include <stdio.h>

static void report_unhandled(const struct bus *bus)
{
	if (bus->unhandled_reads || bus->unhandled_writes)
		fprintf(stderr, "kvmrr: unhandled %s accesses: %" PRIu64 " reads, %" PRIu64
			" writes (last at 0x%" PRIx64 ")\n", bus->name, bus->unhandled_reads,
			bus->unhandled_writes, bus->last_unhandled_addr);
	else
		fprintf(stderr, "kvmrr: no unhandled %s accesses\n", bus->name);
}

int cli_report_end(struct machine *m, const char *cmd)
{
	int status = machine_exit_status(m);
	bool bad = m->end != END_GUEST_EXIT && m->end != END_HALT;

	if (bad || !m->cfg.verbose) {
		if (bad) {
			fprintf(stderr, "kvmrr %s: %s after %" PRIu64 " exits: %s\n", cmd,
				machine_end_name(m->end), m->exits, m->end_detail);
			if (m->end != END_MAX_EXITS && m->end != END_SIGNAL)
				machine_dump_regs(m, stderr);
		}
	} else {
		fprintf(stderr, "kvmrr %s: %s after %" PRIu64 " exits: %s\n", cmd,
			machine_end_name(m->end), m->exits, m->end_detail);
	}
	if (m->cfg.verbose) {
		fprintf(stderr, "kvmrr: %" PRIu64 " exits at patched RDTSC sites, %" PRIu64
			" INT3s delivered and %" PRIu64 " CLAC/STAC/FWAIT executed by the VMM\n", m->tsc_exits,
			m->int3_delivered, m->clac_stac_emulated);
		report_unhandled(&m->pio);
		report_unhandled(&m->mmio);
	}
	return status;
}

int cli_machine_setup(struct machine *m, const struct cli_machine_opts *o, struct err *err)
{
	int r = machine_create(m, &o->cfg, err);

	if (r == 0)
		r = machine_load(m, err);
	if (r == 0 && m->cfg.verbose && !m->cfg.tsc_native)
		fprintf(stderr, "kvmrr: RDTSC/RDTSCP patched at %zu sites (%zu instructions decoded)\n",
			m->tsc_sites.n, m->tsc_sites.decoded);
	return r;
}

int cli_cmd_run(int argc, char **argv)
{
	struct cli_machine_opts o;
	struct machine m;
	struct err err = { 0 };
	int r, status;

	r = cli_parse_machine_options("run", argc, argv, &o);
	if (r != 0)
		return r > 0 ? 0 : 2;
	if (cli_machine_setup(&m, &o, &err) < 0) {
		fprintf(stderr, "kvmrr run: %s\n", err.msg[0] ? err.msg : "machine setup failed");
		machine_destroy(&m);
		return 2;
	}
	cli_install_signal_handlers();
	m.stop = &cli_stop;
	machine_run(&m, NULL);
	status = cli_report_end(&m, "run");
	machine_destroy(&m);
	return status;
}
