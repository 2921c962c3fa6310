/* SPDX-License-Identifier: MIT */
/*
 * A tiny test harness that speaks TAP, after the KVM selftests' assertions.
 *
 *   TEST(name) { ...TEST_ASSERT(cond, fmt, ...); ... }
 *   int main(void) { return test_main(); }   -- or TEST_MAIN()
 *
 * Each TEST runs in a forked child so a crash or a failed assertion fails
 * that test only. A test calls TEST_SKIP("why") when an optional host
 * capability is missing; it is then reported "# SKIP why", never as passed.
 * /dev/kvm missing is not such a capability: test_require_kvm() fails.
 */
#ifndef KVMRR_TESTS_TEST_H
#define KVMRR_TESTS_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct test_case {
	const char *name;
	void (*fn)(void);
};

#define TEST_MAX 256
extern struct test_case test_cases[TEST_MAX];
extern int test_count;

#define TEST(name_)                                                       \
	static void test_##name_(void);                                    \
	__attribute__((constructor)) static void test_register_##name_(void) \
	{                                                                  \
		if (test_count < TEST_MAX)                                 \
			test_cases[test_count++] = (struct test_case){ #name_, test_##name_ }; \
	}                                                                  \
	static void test_##name_(void)

#define TEST_EXIT_SKIP 77

/* Fail the current test: file:line, the condition text, errno, the message. */
#define TEST_ASSERT(cond, ...)                                             \
	do {                                                               \
		if (!(cond)) {                                             \
			int e_ = errno;                                    \
			fprintf(stderr, "# %s:%d: assertion failed: %s\n# ", \
				__FILE__, __LINE__, #cond);                \
			fprintf(stderr, __VA_ARGS__);                      \
			fprintf(stderr, "\n# errno: %d (%s)\n", e_, strerror(e_)); \
			exit(1);                                           \
		}                                                          \
	} while (0)

#define TEST_ASSERT_EQ(a, b)                                               \
	do {                                                               \
		long long a_ = (long long)(a), b_ = (long long)(b);         \
		TEST_ASSERT(a_ == b_, "%s == %s: wanted %lld (0x%llx), got %lld (0x%llx)", \
			    #a, #b, b_, (unsigned long long)b_, a_, (unsigned long long)a_); \
	} while (0)

/* A wrapper's return: 0 wanted, -errno got. */
#define TEST_ASSERT_OK(call)                                               \
	do {                                                               \
		long long r_ = (long long)(call);                          \
		TEST_ASSERT(r_ >= 0, "%s returned %lld (%s)", #call, r_,    \
			    r_ < 0 ? strerror((int)-r_) : "ok");           \
	} while (0)

#define TEST_ASSERT_STR_EQ(a, b)                                           \
	do {                                                               \
		const char *a_ = (a), *b_ = (b);                           \
		TEST_ASSERT(a_ && b_ && strcmp(a_, b_) == 0,               \
			    "%s == %s: wanted \"%s\", got \"%s\"", #a, #b,   \
			    b_ ? b_ : "(null)", a_ ? a_ : "(null)");       \
	} while (0)

/* Needs vcpu/exit.h. */
#define TEST_ASSERT_EXIT(exit, want)                                       \
	TEST_ASSERT((exit)->reason == (uint32_t)(want),                    \
		    "exit reason: wanted %s, got %s (%u)",                 \
		    vcpu_exit_reason_name(want), vcpu_exit_reason_name((exit)->reason), \
		    (exit)->reason)

#define TEST_SKIP(...)                                                     \
	do {                                                               \
		printf("# SKIP-REASON ");                                  \
		printf(__VA_ARGS__);                                       \
		printf("\n");                                              \
		fflush(stdout);                                            \
		exit(TEST_EXIT_SKIP);                                      \
	} while (0)

/* Fail loudly (not skip) when /dev/kvm is missing or unusable. */
void test_require_kvm(void);
int test_main(int argc, char **argv);

#define TEST_MAIN() \
	int main(int argc, char **argv) { return test_main(argc, argv); }

/* Path of a built artifact, from the environment the test runner sets (KVMRR_BUILD_DIR). */
const char *test_build_path(const char *rel, char *buf, size_t len);
/* Run a shell command, capture stdout+stderr into a malloc'd string; returns the exit status (or -1). */
int test_run_capture(const char *cmd, char **output);

#endif
