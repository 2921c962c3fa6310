/* SPDX-License-Identifier: MIT */
/* The meta rows every recording has, `kvmrr record`'s and `kvmrr trace`'s alike: who, where, when. */
#include "tracer/tracer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

static void cpu_model(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "re");
	char line[512];

	snprintf(buf, len, "unknown");
	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) == 0 && colon) {
			colon += 1 + (colon[1] == ' ');
			colon[strcspn(colon, "\n")] = 0;
			snprintf(buf, len, "%s", colon);
			break;
		}
	}
	if (f)
		fclose(f);
}

/* argv joined by spaces; arguments with spaces or quotes in single quotes. */
static char *join_argv(int argc, char **argv)
{
	size_t len = 1;
	char *s, *p;

	for (int i = 0; i < argc; i++)
		len += 4 * strlen(argv[i]) + 3;
	s = p = malloc(len);
	if (!s)
		return NULL;
	*p = 0;
	for (int i = 0; i < argc; i++) {
		bool quote = argv[i][0] == 0 || strpbrk(argv[i], " \t\n'\"\\$") != NULL;

		if (i)
			*p++ = ' ';
		if (quote)
			*p++ = '\'';
		for (const char *c = argv[i]; *c; c++) {
			if (*c == '\'') {   /* ' -> '\'' */
				memcpy(p, "'\\''", 4);
				p += 4;
			} else {
				*p++ = *c;
			}
		}
		if (quote)
			*p++ = '\'';
		*p = 0;
	}
	return s;
}

int tracer_meta_host(sqlite3 *db, int argc, char **argv, int tsc_khz, struct err *err)
{
	struct utsname u;
	char host[2 * sizeof(u.release) + 2] = "unknown", model[256];
	char *cmd = join_argv(argc, argv);
	int r;

	if (!cmd)
		return err_set(err, -ENOMEM, "out of memory");
	if (uname(&u) == 0)
		snprintf(host, sizeof(host), "%s %s", u.sysname, u.release);
	cpu_model(model, sizeof(model));
	r = stream_meta_set_text(db, "kvmrr_version", KVMRR_VERSION, err);
	if (!r) r = stream_meta_set_text(db, "host_kernel", host, err);
	if (!r) r = stream_meta_set_text(db, "cpu_model", model, err);
	if (!r) r = stream_meta_set_int(db, "tsc_khz", tsc_khz, err);
	if (!r) r = stream_meta_set_text(db, "command_line", cmd, err);
	if (!r) r = stream_meta_set_int(db, "started_at", (long long)time(NULL), err);
	free(cmd);
	return r;
}
