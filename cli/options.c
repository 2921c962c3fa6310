/* SPDX-License-Identifier: MIT */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/size.h"
#include "machine/cpuid.h"
#include "machine/kick.h"

volatile sig_atomic_t cli_stop;

static void on_stop_signal(int sig)
{
	(void)sig;
	cli_stop = 1;
	machine_kick_now();
}

void cli_install_signal_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void usage(const char *cmd, FILE *out)
{
	fprintf(out,
		"usage: kvmrr %s [options] GUEST\n"
		"\n"
		"%s"
		"GUEST is a PVH ELF (XEN_ELFNOTE_PHYS32_ENTRY), a multiboot v1 ELF, or a Linux\n"
		"bzImage (64-bit boot protocol); --kernel FILE may name it instead.\n"
		"\n"
		"options:\n"
		"%s"
		"  --mem SIZE           guest RAM, with K/M/G suffix (default 256M)\n"
		"  --cmdline STR        guest command line (alias: --append)\n"
		"  --kernel FILE        the guest image (instead of GUEST)\n"
		"  --initrd FILE        initial ramdisk (PVH module / bzImage initrd)\n"
		"  --serial-in FILE     UART input from FILE ('-' for stdin)\n"
		"  --max-exits N        stop after N exits\n"
		"  --timeout SEC        stop after SEC seconds (kicks a spinning guest)\n"
		"  --cpu-features LIST  edit the CPUID profile, e.g. -cx16,+avx2\n"
		"  --host-cpuid         use KVM's supported CPUID as is (not deterministic)\n"
		"  --irq-at-exits       inject interrupts only at exits, never kick the guest for\n"
		"                       one (a guest spinning without exits then waits forever)\n"
		"  --tsc MODE           patch (default): the guest's RDTSC/RDTSCP become exits the\n"
		"                       VMM answers (and records); native: leave the code as is\n"
		"  -v, --verbose        report the RDTSC sites patched, and unhandled port and\n"
		"                       MMIO accesses at the end\n"
		"  -q, --quiet          no end-of-run summary on success\n"
		"  -h, --help           this text\n"
		"\n"
		"exit status: the guest's debug-exit code ((value << 1) | 1, port 0xf4);\n"
		"  0 guest halted, 2 usage or VMM error, 4 triple fault, 6 KVM internal\n"
		"  error or entry failure, 8 timeout, 10 --max-exits reached, 12 signal,\n"
		"  14 unhandled exit reason\n",
		cmd,
		strcmp(cmd, "record") == 0 ?
			"Run the guest and record every exit into the SQLite log REC.db,\n"
			"with LTTng-UST tracepoints kvmrr:* when a session listens.\n\n" :
			"Run the guest on KVM with the default device models.\n\n",
		strcmp(cmd, "record") == 0 ?
			"  -o, --output REC.db  the recording to write (required)\n"
			"  -f, --force          overwrite an existing recording\n"
			"  --checkpoint-every SEC  store a checkpoint every SEC seconds of run so\n"
			"                       replay --until starts near its target (default 2,\n"
			"                       0: none)\n" : "");
	fprintf(out, "\n--cpu-features knows: %s\n", machine_cpuid_feature_names());
}

int cli_parse_machine_options(const char *cmd, int argc, char **argv, struct cli_machine_opts *o)
{
	static const struct option longopts[] = {
		{ "mem", required_argument, NULL, 'm' },
		{ "cmdline", required_argument, NULL, 'c' },
		{ "append", required_argument, NULL, 'c' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "serial-in", required_argument, NULL, 's' },
		{ "max-exits", required_argument, NULL, 'x' },
		{ "timeout", required_argument, NULL, 't' },
		{ "cpu-features", required_argument, NULL, 'F' },
		{ "host-cpuid", no_argument, NULL, 'H' },
		{ "irq-at-exits", no_argument, NULL, 'I' },
		{ "tsc", required_argument, NULL, 'T' },
		{ "output", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ "checkpoint-every", required_argument, NULL, 'C' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool record = strcmp(cmd, "record") == 0;
	char *end;
	int c;

	memset(o, 0, sizeof(*o));
	o->cfg.mem_size = MACHINE_DEFAULT_MEM;
	o->cfg.serial_out_fd = STDOUT_FILENO;
	o->checkpoint_sec = 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, record ? "o:fvqh" : "vqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			o->cfg.mem_size = size_parse(optarg);
			if (o->cfg.mem_size < (2ULL << 20) || o->cfg.mem_size % 4096) {
				fprintf(stderr, "kvmrr %s: --mem %s: need a size of at least 2M, a multiple of 4K\n",
					cmd, optarg);
				return -1;
			}
			break;
		case 'c': o->cfg.cmdline = optarg; break;
		case 'k': o->cfg.guest_path = optarg; break;
		case 'i': o->cfg.initrd_path = optarg; break;
		case 's': o->cfg.serial_in_path = optarg; break;
		case 'x':
			o->cfg.max_exits = strtoull(optarg, &end, 0);
			if (*end || !o->cfg.max_exits) {
				fprintf(stderr, "kvmrr %s: --max-exits %s: need a positive integer\n", cmd, optarg);
				return -1;
			}
			break;
		case 't':
			o->cfg.timeout_sec = strtod(optarg, &end);
			if (*end || o->cfg.timeout_sec <= 0) {
				fprintf(stderr, "kvmrr %s: --timeout %s: need a positive number of seconds\n",
					cmd, optarg);
				return -1;
			}
			break;
		case 'F': o->cfg.cpu_features = optarg; break;
		case 'H': o->cfg.host_cpuid = true; break;
		case 'I': o->cfg.irq_at_exits = true; break;
		case 'T':
			if (strcmp(optarg, "native") != 0 && strcmp(optarg, "patch") != 0) {
				fprintf(stderr, "kvmrr %s: --tsc %s: need 'patch' or 'native'\n", cmd, optarg);
				return -1;
			}
			o->cfg.tsc_native = strcmp(optarg, "native") == 0;
			break;
		case 'o':
			if (!record)
				goto bad;
			o->output = optarg;
			break;
		case 'f': o->force = true; break;
		case 'C':
			o->checkpoint_sec = strtod(optarg, &end);
			if (!record || *end || o->checkpoint_sec < 0) {
				fprintf(stderr, "kvmrr %s: --checkpoint-every %s: need seconds >= 0 (record only)\n",
					cmd, optarg);
				return -1;
			}
			break;
		case 'v': o->cfg.verbose = true; break;
		case 'q': o->quiet = true; break;
		case 'h':
			usage(cmd, stdout);
			return 1;
		default:
		bad:
			fprintf(stderr, "kvmrr %s: see 'kvmrr %s --help'\n", cmd, cmd);
			return -1;
		}
	}
	if (optind < argc)
		o->cfg.guest_path = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "kvmrr %s: unexpected argument '%s' after the guest\n", cmd, argv[optind]);
		return -1;
	}
	if (!o->cfg.guest_path) {
		fprintf(stderr, "kvmrr %s: no guest image given; see 'kvmrr %s --help'\n", cmd, cmd);
		return -1;
	}
	/*
	 * A recording identifies asynchronous injection points by the pages written
	 * (stream/point.h), and digests at the end only the pages written since the
	 * load (stream/digest.h): both read KVM's dirty log.
	 */
	o->cfg.dirty_log = record;
	if (record && !o->output) {
		fprintf(stderr, "kvmrr record: -o REC.db is required\n");
		return -1;
	}
	return 0;
}
