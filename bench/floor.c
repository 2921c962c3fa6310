/* SPDX-License-Identifier: MIT */
/*
 * floor: the cost of a port-IO exit with nothing else, the floor kvmrr's
 * run, record and replay are measured against. It uses no project code:
 * /dev/kvm ioctls only (Documentation/virt/kvm/api.rst, section 4).
 *
 * The guest is 20 bytes of long-mode code placed straight into guest RAM
 * with paging on (identity map of the first 1 GiB, 2 MiB pages). It does
 * what the exits guest's storm loop does: N port-IO exits on the UART
 * scratch register 0x3ff, alternating OUTB and INB, then one OUT to port 0xf4 as the end marker. The VMM
 * keeps the scratch byte (OUT stores it, IN returns it) and nothing more:
 * no sync regs, no devices, no timestamps.
 *
 *   floor [--cpl3] N
 *
 * --cpl3 runs the loop at CPL3 (user pages, RFLAGS.IOPL=3) like the exits
 * guest's `cpl3` flag; the default is CPL0, like the exits guest's default.
 * Prints one line: "floor: N exits at CPLc in S s: R exits/s, U us/exit",
 * timed around the KVM_RUN loop only (VM setup excluded).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MEM_SIZE  (4u << 20)
#define PML4_GPA  0x1000
#define PDPT_GPA  0x2000
#define PD_GPA    0x3000
#define GDT_GPA   0x4000
#define CODE_GPA  0x10000
#define STACK_TOP 0x80000
#define SCR_PORT  0x3ff
#define END_PORT  0xf4

/*
 *   mov edx, 0x3ff
 * 1: out dx, al        ; exit (write)
 *   dec rcx
 *   jz 2f
 *   in al, dx          ; exit (read)
 *   dec rcx
 *   jnz 1b
 * 2: out 0xf4, al    ; the end marker (HLT would #GP at CPL3)
 * RCX = N on entry; AL is the byte written (it changes with every read).
 */
static const uint8_t guest_code[] = {
	0xba, 0xff, 0x03, 0x00, 0x00,   /* mov edx, 0x3ff */
	0xee,                           /* out dx, al */
	0x48, 0xff, 0xc9,               /* dec rcx */
	0x74, 0x06,                     /* jz +6 -> end */
	0xec,                           /* in al, dx */
	0x48, 0xff, 0xc9,               /* dec rcx */
	0x75, 0xf4,                     /* jnz -12 -> out */
	0xe6, 0xf4,                     /* out 0xf4, al: the end (not counted) */
};

static int fail(const char *what)
{
	fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
	return 2;
}

static void page_tables(uint8_t *mem, int user)
{
	uint64_t *pml4 = (uint64_t *)(mem + PML4_GPA);
	uint64_t *pdpt = (uint64_t *)(mem + PDPT_GPA);
	uint64_t *pd = (uint64_t *)(mem + PD_GPA);
	uint64_t *gdt = (uint64_t *)(mem + GDT_GPA);
	uint64_t u = user ? 0x4 : 0;    /* U/S: CPL3 may use the pages */

	pml4[0] = PDPT_GPA | 0x3 | u;
	pdpt[0] = PD_GPA | 0x3 | u;
	for (uint64_t i = 0; i < 512; i++)
		pd[i] = (i << 21) | 0x83 | u;   /* present, writable, 2 MiB */
	gdt[0] = 0;
	gdt[1] = 0x00af9b000000ffffULL;         /* 0x08: 64-bit code, DPL 0 */
	gdt[2] = 0x00cf93000000ffffULL;         /* 0x10: data, DPL 0 */
	gdt[3] = 0x00cff3000000ffffULL;         /* 0x18: data, DPL 3 */
	gdt[4] = 0x00affb000000ffffULL;         /* 0x20: 64-bit code, DPL 3 */
}

static void long_mode_sregs(struct kvm_sregs *s, int cpl3)
{
	struct kvm_segment code = {
		.limit = 0xffffffff, .selector = cpl3 ? 0x23 : 0x08, .type = 11,
		.present = 1, .dpl = cpl3 ? 3 : 0, .s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment data = {
		.limit = 0xffffffff, .selector = cpl3 ? 0x1b : 0x10, .type = 3,
		.present = 1, .dpl = cpl3 ? 3 : 0, .db = 1, .s = 1, .g = 1,
	};

	s->cs = code;
	s->ds = s->es = s->fs = s->gs = s->ss = data;
	s->gdt.base = GDT_GPA;
	s->gdt.limit = 5 * 8 - 1;
	s->cr3 = PML4_GPA;
	s->cr4 = 1u << 5;                       /* PAE */
	s->cr0 = 0x80050033;                    /* PG WP NE ET MP PE */
	s->efer = 0x500;                        /* LME LMA */
}

/* Long mode needs CPUID.80000001H:EDX.LM in the vCPU's table (api.rst 4.46). */
static int set_cpuid(int kvm, int vcpu)
{
	int n = 256;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
	int rc;

	if (!c)
		return -1;
	c->nent = n;
	rc = ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c);
	if (rc == 0)
		rc = ioctl(vcpu, KVM_SET_CPUID2, c);
	free(c);
	return rc;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The whole VMM: KVM_RUN, store or return the scratch byte, until port 0xf4. */
static int run_loop(int vcpu, struct kvm_run *run, uint64_t *exits)
{
	uint8_t scratch = 0;

	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			return fail("KVM_RUN");
		}
		/* KVM_EXIT_IO: run->io is valid (api.rst 5, kvm_run). */
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == END_PORT)
			return 0;
		if (run->exit_reason != KVM_EXIT_IO || run->io.port != SCR_PORT) {
			fprintf(stderr, "floor: unexpected exit %u (port 0x%x) after %llu exits\n",
				run->exit_reason, run->io.port, (unsigned long long)*exits);
			return 2;
		}
		/* The data byte lives at run + io.data_offset. */
		uint8_t *data = (uint8_t *)run + run->io.data_offset;
		if (run->io.direction == KVM_EXIT_IO_OUT)
			scratch = *data;
		else
			*data = scratch;
		(*exits)++;
	}
}

int main(int argc, char **argv)
{
	int cpl3 = argc > 1 && strcmp(argv[1], "--cpl3") == 0;
	const char *arg = argv[1 + cpl3];
	uint64_t n, exits = 0;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	double t0, t1;
	int rc;

	if (argc != 2 + cpl3 || (n = strtoull(arg, NULL, 0)) == 0) {
		fprintf(stderr, "usage: floor [--cpl3] N   (N > 0 port-IO exits)\n");
		return 2;
	}
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("open /dev/kvm");
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
	uint8_t *mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return fail("mmap guest RAM");
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = MEM_SIZE,
		.userspace_addr = (uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION");
	page_tables(mem, cpl3);
	memcpy(mem + CODE_GPA, guest_code, sizeof(guest_code));

	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < 0)
		return fail("KVM_GET_VCPU_MMAP_SIZE");
	struct kvm_run *run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return fail("mmap kvm_run");
	if (set_cpuid(kvm, vcpu) < 0)
		return fail("KVM_GET_SUPPORTED_CPUID/KVM_SET_CPUID2");
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return fail("KVM_GET_SREGS");
	long_mode_sregs(&sregs, cpl3);
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return fail("KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = CODE_GPA;
	regs.rsp = STACK_TOP;
	regs.rcx = n;
	regs.rflags = cpl3 ? 0x3002 : 0x2;     /* IOPL=3 lets CPL3 do port IO */
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_REGS");

	t0 = now();
	rc = run_loop(vcpu, run, &exits);
	t1 = now();
	if (rc)
		return rc;
	if (exits != n) {
		fprintf(stderr, "floor: %llu exits, wanted %llu\n",
			(unsigned long long)exits, (unsigned long long)n);
		return 2;
	}
	printf("floor: %llu exits at CPL%d in %.6f s: %.0f exits/s, %.3f us/exit\n",
	       (unsigned long long)n, cpl3 ? 3 : 0, t1 - t0, n / (t1 - t0),
	       (t1 - t0) * 1e6 / n);
	return 0;
}
