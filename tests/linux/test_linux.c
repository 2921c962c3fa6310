/* SPDX-License-Identifier: MIT */
/*
 * Debian's Linux kernel under kvmrr (issue 10): PVH boot with the busybox
 * initramfs of scripts/get-linux, the kernel's view of our devices, and the
 * loader's errors on real kernel files. The kernel is fetched with
 * `apt-get download` into the build directory the first time (no root
 * install); without it these tests fail, they are never skipped.
 */
#include <sys/stat.h>

#include "tests/e2e/e2e.h"

/* CPL0 runs in KVM's emulator here: the boot takes minutes. */
#define LINUX_BOOT_LIMIT_DEFAULT 600
/*
 * The emulator cannot execute CMPXCHG16B or XRSTOR at CPL0. CX16 is hidden
 * through CPUID; this host's KVM shows the guest XSAVE whatever CPUID says,
 * so the kernel is told to clear it itself.
 */
#define LINUX_CPU_FEATURES "-cx16"
#define LINUX_CMDLINE "console=ttyS0 clearcpuid=xsave"

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

TEST(boot_to_init_and_run_a_command)
{
	char dir[256], cmds[300], opts[1400];
	struct e2e_cmd c;
	FILE *f;

	test_require_kvm();
	need_linux();
	e2e_tmpdir(dir, sizeof(dir));
	snprintf(cmds, sizeof(cmds), "%s/cmds", dir);
	f = fopen(cmds, "w");
	TEST_ASSERT(f, "%s", cmds);
	fprintf(f, "echo serial-says-$((6 * 7))\nexit\n");
	fclose(f);
	snprintf(opts, sizeof(opts), "--mem 1G --timeout %d --cpu-features %s --serial-in %s "
		 "--initrd %s --cmdline \"%s\"", boot_limit() - 30,
		 LINUX_CPU_FEATURES, cmds, linux_file("initramfs.cpio.gz"), LINUX_CMDLINE);
	e2e_sh(&c, dir, boot_limit(), "%s run %s %s", e2e_kvmrr(), opts, linux_file("vmlinux"));
	note_progress(&c);
	E2E_HAS(&c, c.out, "Linux version ");
	/* Our PIC and RTC are real enough for the kernel: it complains otherwise. */
	E2E_ASSERT(&c, !strstr(c.out, "Using NULL legacy PIC"), "the kernel found no PIC");
	E2E_ASSERT(&c, !strstr(c.out, "Unable to read current time from RTC"), "the kernel could not read the RTC");
	E2E_ASSERT(&c, !strstr(c.out, "No local APIC present") || strstr(c.out, "APIC disabled by BIOS"),
		   "the kernel looked for an APIC that CPUID does not advertise");
	/* The delay-loop calibration spins on jiffies: it needs asynchronous ticks. */
	E2E_HAS(&c, c.out, "BogoMIPS");
	/*
	 * The run ends through /init (status 1), or by the time limit (8), or on
	 * an instruction this host's KVM cannot emulate at CPL0 (6), reported
	 * with RIP and the instruction bytes: never a crash or a silent hang.
	 */
	if (c.status == 6) {
		E2E_HAS(&c, c.err, "emulation failure");
		E2E_HAS(&c, c.err, "instruction bytes: ");
		printf("# stopped by an emulation failure: %.*s\n", (int)strcspn(strstr(c.err, "at RIP"), "\n"),
		       strstr(c.err, "at RIP"));
	} else if (c.status == 8) {
		printf("# the boot did not reach /init within %d s (stopped by --timeout)\n", boot_limit() - 30);
	} else {
		E2E_ASSERT(&c, c.status == 1, "status %d: wanted 1 (/init ended the run), 6 or 8", c.status);
		E2E_HAS(&c, c.out, "KVMRR-INIT-READY");
		E2E_HAS(&c, c.out, "serial-says-42");
		E2E_HAS(&c, c.out, "KVMRR-INIT-DONE");
	}
	e2e_free(&c);
	e2e_cleanup(dir);
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
