/* SPDX-License-Identifier: MIT */
/*
 * kvmrr trace -o REC.db [--regs] [--force] [--quiet] -- COMMAND ARGS...
 * Runs COMMAND (a dynamically linked VMM such as QEMU) with
 * libkvmrr-trace.so preloaded, waits for it, writes the recording's end.
 * The exit status is the VMM's (128 + signal if it was killed); kvmrr's own
 * failures return 125 (126: cannot run COMMAND).
 */
#include "cli/cli.h"
#include "cli/trace.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TRACE_FAIL 125

struct trace_opts {
	const char *output;
	bool regs, force, quiet;
	char **cmd;
};

static volatile sig_atomic_t trace_child;

/* SIGINT, SIGTERM, SIGHUP to kvmrr go to the VMM, which ends the way it does for them. */
static void forward_signal(int sig)
{
	if (trace_child > 0)
		kill(trace_child, sig);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: kvmrr trace -o REC.db [--regs] [--force] [--quiet] -- COMMAND [ARGS...]\n\n"
		"Run a dynamically linked VMM (qemu-system-x86_64 -enable-kvm ...) with kvmrr's capture\n"
		"library preloaded: every KVM_RUN exit of every vCPU goes to REC.db (kvmrr stats, query,\n"
		"export, report, diff read it; kvmrr replay does not: a trace holds no device state)\n"
		"and to the LTTng kvmrr:* events.\n\n"
		"  -o, --output FILE  the recording (refused if it exists, unless --force)\n"
		"  --regs             one KVM_GET_REGS per exit for its RIP (else RIP only if the VMM\n"
		"                     enabled sync regs, NULL otherwise)\n"
		"  --force            replace an existing FILE\n"
		"  --quiet            no summary line\n\n"
		"The exit status is the VMM's (128 + N if signal N killed it); 125: kvmrr failed.\n");
}

static int parse(int argc, char **argv, struct trace_opts *o)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		} else if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) && i + 1 < argc) {
			o->output = argv[++i];
		} else if (strcmp(a, "--regs") == 0) {
			o->regs = true;
		} else if (strcmp(a, "--force") == 0) {
			o->force = true;
		} else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
			o->quiet = true;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 1;
		} else {
			fprintf(stderr, "kvmrr trace: unknown option or missing value: %s\n", a);
			return -1;
		}
	}
	if (!o->output || i >= argc) {
		fprintf(stderr, "kvmrr trace: %s\n", !o->output ? "-o REC.db is required" :
			"no command to trace (kvmrr trace -o REC.db -- COMMAND ARGS...)");
		usage(stderr);
		return -1;
	}
	o->cmd = argv + i;
	return 0;
}

/* The child: LD_PRELOAD (in front of any the user set) and the recording's settings, then exec. */
static void exec_vmm(const struct trace_opts *o, const char *lib, const char *exe, const char *out)
{
	const char *old = getenv("LD_PRELOAD");
	char pre[2 * PATH_MAX + 2];

#ifdef KVMRR_TRACE_SANITIZER_RT
	/* This build's library is sanitized: its runtimes must come first in the VMM. */
	snprintf(pre, sizeof(pre), "%s:%s%s%s", KVMRR_TRACE_SANITIZER_RT, lib, old && *old ? ":" : "",
		 old ? old : "");
	setenv("ASAN_OPTIONS", "detect_leaks=0", 0);   /* the VMM's own leaks at exit are not ours */
#else
	snprintf(pre, sizeof(pre), "%s%s%s", lib, old && *old ? ":" : "", old ? old : "");
#endif
	setenv("LD_PRELOAD", pre, 1);
	setenv("KVMRR_TRACE_OUT", out, 1);
	setenv("KVMRR_TRACE_FORCE", o->force ? "1" : "0", 1);
	setenv("KVMRR_TRACE_REGS", o->regs ? "1" : "0", 1);
	execv(exe, o->cmd);
	fprintf(stderr, "kvmrr trace: cannot run %s: %s\n", exe, strerror(errno));
	_exit(126);
}

/* Check everything that can be checked before the VMM starts. */
static int prepare(const struct trace_opts *o, char *exe, char *lib, char *out, struct err *err)
{
	int r = cli_trace_resolve(o->cmd[0], exe, PATH_MAX, err);

	if (!r)
		r = cli_trace_check_dynamic(exe, err);
	if (!r)
		r = cli_trace_library(lib, PATH_MAX, err);
	if (r)
		return r;
	if (!realpath(".", out) || strlen(out) + strlen(o->output) + 2 > PATH_MAX)
		return err_set(err, -ENAMETOOLONG, "%s: path too long", o->output);
	if (o->output[0] == '/')
		snprintf(out, PATH_MAX, "%s", o->output);
	else
		snprintf(out + strlen(out), PATH_MAX - strlen(out), "/%s", o->output);
	if (!o->force && access(out, F_OK) == 0)
		return err_set(err, -EEXIST, "recording %s already exists; refusing to overwrite it "
			       "(remove it or use --force)", o->output);
	return 0;
}

static int wait_vmm(pid_t pid)
{
	struct sigaction sa = { .sa_handler = forward_signal };
	int status = 0;

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	trace_child = pid;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

int cli_cmd_trace(int argc, char **argv)
{
	char exe[PATH_MAX], lib[PATH_MAX], out[PATH_MAX];
	struct trace_opts o = { 0 };
	struct err err = { 0 };
	long long exits = 0, vcpus = 0;
	int r = parse(argc, argv, &o), status;
	pid_t pid;

	if (r)
		return r > 0 ? 0 : 2;
	r = prepare(&o, exe, lib, out, &err);
	if (r) {
		fprintf(stderr, "kvmrr trace: %s\n", err.msg);
		return TRACE_FAIL;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "kvmrr trace: fork: %s\n", strerror(errno));
		return TRACE_FAIL;
	}
	if (pid == 0)
		exec_vmm(&o, lib, exe, out);
	status = wait_vmm(pid);
	r = cli_trace_finish(out, o.cmd[0], status, &exits, &vcpus, &err);
	if (r) {
		fprintf(stderr, "kvmrr trace: %s\n", err.msg);
		return TRACE_FAIL;
	}
	if (!o.quiet)
		fprintf(stderr, "kvmrr trace: %lld exits of %lld vCPU%s recorded to %s (%s)\n", exits,
			vcpus, vcpus == 1 ? "" : "s", o.output,
			WIFSIGNALED(status) ? "the VMM was killed" : "the VMM exited");
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}
