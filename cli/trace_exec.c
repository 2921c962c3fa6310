/* SPDX-License-Identifier: MIT */
/*
 * What `kvmrr trace` checks before it starts the VMM: the command resolved
 * on PATH, dynamically linked (LD_PRELOAD cannot reach a static program),
 * and where the capture library is.
 */
#include "cli/trace.h"

#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool is_exec_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int cli_trace_resolve(const char *cmd, char *out, size_t len, struct err *err)
{
	const char *path = getenv("PATH");
	char dir[PATH_MAX];

	if (strchr(cmd, '/')) {
		snprintf(out, len, "%s", cmd);
		if (is_exec_file(out))
			return 0;
		return err_set(err, -ENOENT, "%s: no such executable file", cmd);
	}
	for (const char *p = path ? path : "/usr/local/bin:/usr/bin:/bin"; *p;) {
		size_t n = strcspn(p, ":");

		snprintf(dir, sizeof(dir), "%.*s", (int)n, n ? p : ".");
		snprintf(out, len, "%s/%s", dir, cmd);
		if (is_exec_file(out))
			return 0;
		p += n + (p[n] == ':');
	}
	return err_set(err, -ENOENT, "%s: not found on PATH", cmd);
}

/* A 64-bit ELF: does it name a program interpreter (PT_INTERP)? 1 yes, 0 no, -errno. */
static int elf64_has_interp(FILE *f, const Elf64_Ehdr *eh)
{
	Elf64_Phdr ph;

	if (eh->e_phentsize != sizeof(ph))
		return -ENOEXEC;
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		if (fseek(f, (long)(eh->e_phoff + (uint64_t)i * sizeof(ph)), SEEK_SET) != 0 ||
		    fread(&ph, sizeof(ph), 1, f) != 1)
			return -ENOEXEC;
		if (ph.p_type == PT_INTERP)
			return 1;
	}
	return 0;
}

int cli_trace_check_dynamic(const char *path, struct err *err)
{
	FILE *f = fopen(path, "rb");
	Elf64_Ehdr eh;
	size_t n;
	int r;

	if (!f)
		return err_set(err, -errno, "%s: cannot read it: %s", path, strerror(errno));
	n = fread(&eh, 1, sizeof(eh), f);
	if (n >= 2 && memcmp(&eh, "#!", 2) == 0) {
		fclose(f);   /* a script: its interpreter is a dynamically linked program, or says so */
		return 0;
	}
	if (n < sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) {
		fclose(f);
		return err_set(err, -ENOEXEC, "%s: not an ELF executable or a script", path);
	}
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64) {
		fclose(f);
		return err_set(err, -ENOEXEC, "%s: not an x86-64 program; the capture library is one",
			       path);
	}
	r = elf64_has_interp(f, &eh);
	fclose(f);
	if (r < 0)
		return err_set(err, r, "%s: truncated or corrupt ELF program headers", path);
	if (r == 0)
		return err_set(err, -ENOEXEC, "%s is statically linked (no PT_INTERP program header): "
			       "LD_PRELOAD cannot wrap its ioctl() calls, so kvmrr trace cannot see its "
			       "exits; trace a dynamically linked build of it", path);
	return 0;
}

int cli_trace_library(char *out, size_t len, struct err *err)
{
	static const char *const rel[] = { "../tracer/preload/libkvmrr-trace.so", "libkvmrr-trace.so",
					   "../lib/kvmrr/libkvmrr-trace.so",
					   "../lib/x86_64-linux-gnu/kvmrr/libkvmrr-trace.so" };
	const char *env = getenv("KVMRR_TRACE_LIB");
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (env && *env) {
		if (env[0] != '/' || access(env, R_OK) != 0)
			return err_set(err, -ENOENT, "KVMRR_TRACE_LIB=%s: wanted the absolute path of a "
				       "readable libkvmrr-trace.so", env);
		snprintf(out, len, "%s", env);
		return 0;
	}
	if (n <= 0)
		return err_set(err, -errno, "/proc/self/exe: %s", strerror(errno));
	exe[n] = 0;
	slash = strrchr(exe, '/');
	*slash = 0;
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		char p[PATH_MAX + 64];

		snprintf(p, sizeof(p), "%s/%s", exe, rel[i]);
		if (realpath(p, out) && access(out, R_OK) == 0)
			return 0;
	}
	return err_set(err, -ENOENT, "libkvmrr-trace.so not found next to %s (nor in ../trace, "
		       "../lib/kvmrr); set KVMRR_TRACE_LIB to its path", exe);
}
