/* SPDX-License-Identifier: MIT */
#include "tests/test.h"

#include <signal.h>

struct test_case test_cases[TEST_MAX];
int test_count;

void test_require_kvm(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "# FATAL: /dev/kvm is not usable (%s): KVM tests cannot run here. "
			"Load kvm_intel/kvm_amd and check permissions; these tests are never skipped.\n",
			strerror(errno));
		exit(1);
	}
	close(fd);
}

/* Run one test in a child; read "# SKIP-REASON ..." from its stdout for skips. */
static int run_one(const struct test_case *tc, int index)
{
	int pipefd[2];
	char reason[1024] = "";
	pid_t pid;
	int status = 0;

	fflush(stdout);
	if (pipe(pipefd) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		dup2(pipefd[1], STDOUT_FILENO);
		close(pipefd[1]);
		tc->fn();
		fflush(stdout);
		_exit(0);
	}
	close(pipefd[1]);
	{
		FILE *in = fdopen(pipefd[0], "r");
		char line[1024];

		while (in && fgets(line, sizeof(line), in)) {
			if (strncmp(line, "# SKIP-REASON ", 14) == 0) {
				snprintf(reason, sizeof(reason), "%s", line + 14);
				reason[strcspn(reason, "\n")] = 0;
			} else {
				fputs(line, stdout);
			}
		}
		if (in)
			fclose(in);
	}
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		printf("ok %d - %s\n", index, tc->name);
		return 0;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == TEST_EXIT_SKIP) {
		printf("ok %d - %s # SKIP %s\n", index, tc->name, reason[0] ? reason : "no reason given");
		return 0;
	}
	if (WIFSIGNALED(status))
		printf("not ok %d - %s (killed by signal %d: %s)\n", index, tc->name,
		       WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		printf("not ok %d - %s (exit status %d)\n", index, tc->name, WEXITSTATUS(status));
	return 1;
}

int test_main(int argc, char **argv)
{
	int failed = 0;
	const char *only = argc > 1 ? argv[1] : NULL;

	printf("TAP version 13\n");
	printf("1..%d\n", test_count);
	for (int i = 0; i < test_count; i++) {
		if (only && strcmp(only, test_cases[i].name) != 0) {
			printf("ok %d - %s # SKIP not selected on the command line\n", i + 1,
			       test_cases[i].name);
			continue;
		}
		failed += run_one(&test_cases[i], i + 1);
	}
	return failed ? 1 : 0;
}

const char *test_build_path(const char *rel, char *buf, size_t len)
{
	const char *dir = getenv("KVMRR_BUILD_DIR");

	snprintf(buf, len, "%s/%s", dir ? dir : ".", rel);
	return buf;
}

int test_run_capture(const char *cmd, char **output)
{
	char *full = NULL, *out = NULL;
	size_t cap = 0, used = 0;
	FILE *p;
	int status;

	if (asprintf(&full, "%s 2>&1", cmd) < 0)
		return -1;
	p = popen(full, "r");
	free(full);
	if (!p)
		return -1;
	for (;;) {
		if (used + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			out = realloc(out, cap);
			if (!out)
				abort();
		}
		size_t n = fread(out + used, 1, cap - used - 1, p);
		if (n == 0)
			break;
		used += n;
	}
	if (!out)
		out = calloc(1, 1);
	out[used] = 0;
	status = pclose(p);
	*output = out;
	if (status == -1 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}
