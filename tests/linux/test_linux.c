/* SPDX-License-Identifier: MIT */
/*
 * Debian's Linux kernel under kvmrr (issue 10): PVH boot with the busybox
 * initramfs of scripts/get-linux, the kernel's view of our devices, and the
 * loader's errors on real kernel files. The kernel is fetched with
 * `apt-get download` into the build directory the first time (no root
 * install); without it these tests fail, they are never skipped.
 */
#include <linux/kvm.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/e2e/e2e.h"
#include "tests/machine/tsc_compare.h"

/* CPL0 runs in KVM's emulator here: the boot takes minutes. */
#define LINUX_BOOT_LIMIT_DEFAULT 600
/*
 * Once the boot has reached the stage this host reaches, a console silent
 * this long means it is in the part this host's emulator crawls through
 * (docs/host.md: the INT3 alternatives self-test and on, ~750,000 exits
 * before the next wall): the run is stopped there instead of waiting for
 * the time limit. KVMRR_LINUX_QUIET=SEC changes it (0: never).
 */
#define LINUX_QUIET_DEFAULT 60
/*
 * The emulator cannot execute CMPXCHG16B, POPCNT or XRSTOR at CPL0. CX16 is
 * hidden through CPUID; this host's KVM shows the guest XSAVE and POPCNT
 * whatever CPUID says (the kernel patched in POPCNT with our profile clearing
 * it), so the kernel is told to clear them itself and uses its software
 * fallbacks. INT3, CLAC and STAC the VMM executes itself (machine/exception.c).
 */
#define LINUX_CPU_FEATURES "-cx16,-popcnt"
/*
 * The kernel also sees RDRAND/RDSEED here whatever the profile says, and used
 * them to seed its RNG ("crng init done" at 0 s): nothing a VMM can record.
 */
#define LINUX_CMDLINE "console=ttyS0 clearcpuid=xsave,popcnt,rdrand,rdseed"
/* How far the boot gets on this host within the limit (index in linux_stages). */
#define LINUX_STAGE_EXPECTED 2
/* Exits recorded by the replay test: past the first asynchronous ticks (seq ~10,920; 7 by 11,500). */
#define LINUX_RECORD_EXITS 11500

static char linux_dir[512];

static const char *linux_file(const char *name)
{
	static char path[4][600];
	static int next;
	char *p = path[next++ % 4];

	snprintf(p, sizeof(path[0]), "%s/%s", linux_dir, name);
	return p;
}

/* scripts/get-linux into BUILD/linux once; later calls find the files. */
static void need_linux(void)
{
	char cmd[1200], *out = NULL;
	struct stat st;

	snprintf(linux_dir, sizeof(linux_dir), "%s/linux", getenv("KVMRR_BUILD_DIR"));
	if (stat(linux_file("vmlinux"), &st) == 0 && stat(linux_file("initramfs.cpio.gz"), &st) == 0)
		return;
	snprintf(cmd, sizeof(cmd), "%s/scripts/get-linux %s", getenv("KVMRR_SOURCE_DIR"), linux_dir);
	int status = test_run_capture(cmd, &out);
	TEST_ASSERT(status == 0, "scripts/get-linux failed (status %d):\n%s", status, out);
	free(out);
}

static int boot_limit(void)
{
	const char *s = getenv("KVMRR_LINUX_TIMEOUT");

	return s && atoi(s) > 0 ? atoi(s) : LINUX_BOOT_LIMIT_DEFAULT;
}

/* How far the boot got, for the log: the last kernel line that has a timestamp. */
static void note_progress(const struct e2e_cmd *c)
{
	const char *last = NULL, *p = c->out;

	while ((p = strstr(p, "\n[")) != NULL)
		last = ++p;
	if (last)
		printf("# last kernel line after %.0f s: %.*s\n", c->secs, (int)strcspn(last, "\n"), last);
}

/*
 * The boot's milestones, in order: the test reports the last one reached and
 * asserts the one this host reaches (LINUX_STAGE_EXPECTED, or
 * KVMRR_LINUX_STAGE=N to expect another on a faster host).
 */
static const char *const linux_stages[] = {
	"Linux version ",                     /* 0 the kernel prints */
	"BogoMIPS",                           /* 1 delay loop calibrated: asynchronous ticks work */
	"x86/fpu: x87 FPU will use FXSAVE",   /* 2 then the alternatives self-test: INT3 */
	"devtmpfs: initialized",              /* 3 after the alternatives: exceptions (CLAC) */
	"clocksource: Switched to clocksource",   /* 4 */
	"Freeing unused kernel image",        /* 5 */
	"KVMRR-INIT-READY",                   /* 6 /init runs */
	"serial-says-42",                     /* 7 it ran a command from --serial-in */
	"KVMRR-INIT-DONE",                    /* 8 and ends the run through the debug-exit port */
};
#define LINUX_STAGES ((int)(sizeof(linux_stages) / sizeof(linux_stages[0])))

static int stage_reached(const char *out)
{
	int n = -1;

	for (int i = 0; i < LINUX_STAGES && strstr(out, linux_stages[i]); i++)
		n = i;
	return n;
}

static int stage_expected(void)
{
	const char *s = getenv("KVMRR_LINUX_STAGE");

	return s && *s ? atoi(s) : LINUX_STAGE_EXPECTED;
}

static int quiet_limit(void)
{
	const char *s = getenv("KVMRR_LINUX_QUIET");

	return s && *s ? atoi(s) : LINUX_QUIET_DEFAULT;
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The shell command cmd with its console in DIR/watch.out, watched once a
 * second: stopped with SIGTERM (kvmrr ends with status 12) once it has
 * reached stage `want` and printed nothing for quiet seconds (*stalled set),
 * killed after limit seconds.
 */
static void linux_watch(struct e2e_cmd *c, const char *dir, const char *cmd, int limit, int want, bool *stalled)
{
	char out[300], err[300], *full = NULL;
	double t0 = now_sec(), grew = t0;
	long long size = 0;
	int st, quiet = quiet_limit();
	pid_t pid;

	snprintf(out, sizeof(out), "%s/watch.out", dir);
	snprintf(err, sizeof(err), "%s/watch.err", dir);
	TEST_ASSERT(asprintf(&full, "exec %s </dev/null >'%s' 2>'%s'", cmd, out, err) >= 0, "asprintf");
	*stalled = false;
	fflush(stdout);
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", full, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, WNOHANG) == 0) {
		struct stat sb;

		sleep(1);
		if (stat(out, &sb) == 0 && sb.st_size != size) {
			size = sb.st_size;
			grew = now_sec();
		} else if (!*stalled && quiet > 0 && now_sec() - grew >= quiet) {
			char *text = e2e_read_file(out, NULL);

			*stalled = stage_reached(text) >= want;
			free(text);
			if (*stalled)
				kill(pid, SIGTERM);
		}
		if (now_sec() - t0 > limit + 10)
			kill(pid, SIGKILL);
	}
	c->secs = now_sec() - t0;
	c->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	c->out = e2e_read_file(out, &c->out_len);
	c->err = e2e_read_file(err, NULL);
	printf("# %s -> status %d in %.0f s%s\n", cmd, c->status, c->secs,
	       *stalled ? " (stopped: the console was silent after the expected stage)" : "");
	free(full);
}

/* `kvmrr CMD` of the kernel with the initramfs and a serial command; extra: more options. */
static void linux_cmd(struct e2e_cmd *c, const char *dir, const char *cmd, const char *extra, int limit)
{
	char cmds[300], opts[1400];
	FILE *f;

	snprintf(cmds, sizeof(cmds), "%s/cmds", dir);
	f = fopen(cmds, "w");
	TEST_ASSERT(f, "%s", cmds);
	fprintf(f, "echo serial-says-$((6 * 7))\nexit\n");
	fclose(f);
	snprintf(opts, sizeof(opts), "-v --mem 1G --timeout %d --cpu-features %s --serial-in %s "
		 "--initrd %s --cmdline \"%s\" %s", limit - 30, LINUX_CPU_FEATURES, cmds,
		 linux_file("initramfs.cpio.gz"), LINUX_CMDLINE, extra);
	e2e_sh(c, dir, limit, "%s %s %s %s", e2e_kvmrr(), cmd, opts, linux_file("vmlinux"));
	note_progress(c);
}

TEST(boot_to_init_and_run_a_command)
{
	char dir[256], cmds[300], *cmd = NULL;
	struct e2e_cmd c;
	int reached, want = stage_expected();
	bool stalled;
	FILE *f;

	test_require_kvm();
	need_linux();
	e2e_tmpdir(dir, sizeof(dir));
	snprintf(cmds, sizeof(cmds), "%s/cmds", dir);
	f = fopen(cmds, "w");
	TEST_ASSERT(f && fprintf(f, "echo serial-says-$((6 * 7))\nexit\n") > 0 && fclose(f) == 0, "%s", cmds);
	TEST_ASSERT(asprintf(&cmd, "%s run -v --mem 1G --timeout %d --cpu-features %s --serial-in %s --initrd %s "
			     "--cmdline \"%s\" %s", e2e_kvmrr(), boot_limit() - 30, LINUX_CPU_FEATURES, cmds,
			     linux_file("initramfs.cpio.gz"), LINUX_CMDLINE, linux_file("vmlinux")) >= 0, "asprintf");
	linux_watch(&c, dir, cmd, boot_limit(), want, &stalled);
	free(cmd);
	note_progress(&c);
	reached = stage_reached(c.out);
	printf("# stage %d of %d reached (%s) in %.0f s, status %d\n", reached, LINUX_STAGES - 1,
	       reached >= 0 ? linux_stages[reached] : "none", c.secs, c.status);
	/* Our PIC and RTC are real enough for the kernel: it complains otherwise. */
	E2E_ASSERT(&c, !strstr(c.out, "Using NULL legacy PIC"), "the kernel found no PIC");
	E2E_ASSERT(&c, !strstr(c.out, "Unable to read current time from RTC"), "the kernel could not read the RTC");
	E2E_ASSERT(&c, !strstr(c.out, "No local APIC present") || strstr(c.out, "APIC disabled by BIOS"),
		   "the kernel looked for an APIC that CPUID does not advertise");
	E2E_ASSERT(&c, reached >= want, "the boot reached stage %d (%s), this host reaches stage %d (%s)",
		   reached, reached >= 0 ? linux_stages[reached] : "none", want, linux_stages[want]);
	/* Never a crash or an unexplained stop: the guest's end, the time limit, or our stop. */
	E2E_ASSERT(&c, c.status == 1 || c.status == 8 || (stalled && c.status == 12), "status %d: wanted 1 "
		   "(/init ended the run), 8 (--timeout) or 12 (stopped by this test)", c.status);
	E2E_ASSERT(&c, !strstr(c.err, "internal-error"), "an emulation failure stopped the boot");
	if (c.status == 8 || stalled)
		TEST_SKIP("the boot did not reach /init here (stage %d, %s, after %.0f s%s): the /init and "
			  "serial-command checks cannot run on this host", reached,
			  reached >= 0 ? linux_stages[reached] : "none", c.secs,
			  stalled ? "; stopped after a silent console" : "");
	E2E_ASSERT(&c, reached == LINUX_STAGES - 1, "/init ended the run but printed stage %d only", reached);
	e2e_free(&c);
	e2e_cleanup(dir);
}

/*
 * The first part of the boot, recorded: it includes asynchronous timer ticks
 * (the delay-loop calibration) and RDTSC readings given by the VMM, and it
 * replays identical (every exit, every asynchronous point, the final memory
 * digest).
 */
TEST(recorded_boot_prefix_replays_identical)
{
	char dir[256], rec[300], extra[400];
	struct e2e_cmd c, p;
	long long asyncs, tsc_values;
	sqlite3 *db;

	test_require_kvm();
	need_linux();
	e2e_tmpdir(dir, sizeof(dir));
	snprintf(rec, sizeof(rec), "%s/boot.db", dir);
	snprintf(extra, sizeof(extra), "-f -o %s --max-exits %d", rec, LINUX_RECORD_EXITS);
	linux_cmd(&c, dir, "record", extra, boot_limit());
	E2E_ASSERT(&c, c.status == 10, "record of the first %d exits: status %d, wanted 10 (--max-exits)",
		   LINUX_RECORD_EXITS, c.status);
	db = e2e_db_open(rec);
	asyncs = e2e_db_int(db, "SELECT count(*) FROM event WHERE kind = 4");
	tsc_values = e2e_db_int(db, "SELECT count(*) FROM exit WHERE reason = %d AND length(data) >= 8",
				KVM_EXIT_HLT);
	printf("# recorded %d exits in %.0f s: %lld asynchronous ticks, %lld RDTSC values, %lld sites\n",
	       LINUX_RECORD_EXITS, c.secs, asyncs, tsc_values, e2e_db_int(db, "SELECT count(*) FROM tsc_site"));
	sqlite3_close(db);
	E2E_ASSERT(&c, asyncs >= 1 && tsc_values >= 1, "the recorded part holds %lld asynchronous ticks "
		   "and %lld RDTSC values: wanted both", asyncs, tsc_values);
	/* The suite's 180 s guard of a replay is less than this record takes on a loaded machine. */
	e2e_sh(&p, dir, (int)(3 * c.secs) + 120, "%s replay -q %s", e2e_kvmrr(), rec);
	printf("# replayed in %.0f s\n", p.secs);
	E2E_ASSERT(&p, p.status == 0 && e2e_identical(&p), "replay of the recorded boot: status %d, "
		   "wanted 0 and identical", p.status);
	e2e_free(&c);
	e2e_free(&p);
	e2e_cleanup(dir);
}

/* The RDTSC decoder finds exactly objdump's sites in Debian's kernel, plus the alternatives' targets. */
TEST(rdtsc_sites_equal_objdump)
{
	struct tsc_sites sites;
	size_t direct, rdtscp = 0;

	need_linux();
	direct = tsc_compare_with_objdump(linux_file("vmlinux"), &sites);
	for (size_t i = 0; i < sites.n; i++)
		rdtscp += sites.v[i].kind == TSC_SITE_RDTSCP;
	printf("# vmlinux: %zu RDTSC/RDTSCP sites in the file (objdump agrees), %zu alternatives targets, "
	       "%zu RDTSCP, %zu instructions decoded\n", direct, sites.n - direct, rdtscp, sites.decoded);
	TEST_ASSERT(direct > 10, "only %zu sites in a Linux kernel", direct);
	tsc_sites_free(&sites);
}

TEST(loader_errors_on_kernel_files)
{
	char dir[256], big[300];
	struct e2e_cmd c;

	need_linux();
	e2e_tmpdir(dir, sizeof(dir));
	/* An ELF without the PVH note (and no multiboot header): a host program. */
	e2e_sh(&c, dir, 60, "%s run /bin/true", e2e_kvmrr());
	E2E_ASSERT(&c, c.status == 2, "status %d for an ELF without a PVH note", c.status);
	E2E_HAS(&c, c.err, "/bin/true");
	E2E_HAS(&c, c.err, "PVH");
	e2e_free(&c);
	/* A missing initrd. */
	e2e_sh(&c, dir, 60, "%s run --initrd %s/no-such-initrd %s", e2e_kvmrr(), dir, linux_file("vmlinux"));
	E2E_ASSERT(&c, c.status == 2, "status %d for a missing initrd", c.status);
	E2E_HAS(&c, c.err, "no-such-initrd");
	e2e_free(&c);
	/* An initrd larger than the memory. */
	snprintf(big, sizeof(big), "%s/big.img", dir);
	e2e_sh(&c, dir, 60, "truncate -s 200M %s", big);
	e2e_free(&c);
	e2e_sh(&c, dir, 60, "%s run --mem 128M --initrd %s %s", e2e_kvmrr(), big, linux_file("vmlinux"));
	E2E_ASSERT(&c, c.status == 2, "status %d for an initrd larger than RAM", c.status);
	E2E_HAS(&c, c.err, "big.img");
	e2e_free(&c);
	e2e_cleanup(dir);
}

TEST_MAIN()
