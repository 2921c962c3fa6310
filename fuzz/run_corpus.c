/* SPDX-License-Identifier: MIT */
/*
 * main() for a fuzz target built without libFuzzer (any compiler): runs
 * LLVMFuzzerTestOneInput on every file of the directories (or files) named,
 * so the seed corpora and the crash inputs kept in fuzz/regressions/ run in
 * the ordinary test suite. Speaks TAP: one case per directory.
 */
#include "fuzz/fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

static int run_file(const char *path)
{
	struct stat st;
	uint8_t *buf;
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f || fstat(fileno(f), &st) < 0) {
		printf("# %s: %s\n", path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
	fclose(f);
	if (!buf || n != (size_t)st.st_size) {
		printf("# %s: short read (%zu of %lld bytes)\n", path, n, (long long)st.st_size);
		free(buf);
		return -1;
	}
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 0;
}

/* Every regular file in dir (not recursive); the count run, or -1. */
static int run_dir(const char *dir)
{
	char path[4096];
	struct dirent *e;
	DIR *d = opendir(dir);
	int count = 0;

	if (!d) {
		printf("# %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (run_file(path) < 0) {
			count = -1;
			break;
		}
		count++;
	}
	closedir(d);
	return count;
}

int main(int argc, char **argv)
{
	int i, n, failed = 0;

	printf("TAP version 13\n1..%d\n", argc - 1);
	for (i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) == 0 && S_ISREG(st.st_mode))
			n = run_file(argv[i]) == 0 ? 1 : -1;
		else
			n = run_dir(argv[i]);
		/* A crash aborts the program before this line: the runner counts it as a failure. */
		printf("%s %d - %s: %d inputs ran without a crash or a broken check\n",
		       n > 0 ? "ok" : "not ok", i, argv[i], n);
		failed |= n <= 0;
	}
	return failed;
}
