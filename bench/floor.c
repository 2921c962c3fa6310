/* SPDX-License-Identifier: MIT */
/*
 * floor: the cost of a port-IO exit with nothing else, the floor kvmrr's
 * run, record and replay are measured against. It uses no project code:
 * /dev/kvm ioctls only (Documentation/virt/kvm/api.rst, section 4).
 *
 * The guest is a few bytes of long-mode code placed straight into guest RAM
 * with paging on (identity map of the first 1 GiB, 2 MiB pages). It does
 * what the exits guest's storm loop does: N port-IO exits on the UART
 * scratch register 0x3ff, alternating OUTB and INB, then one OUTB to port
 * 0xf4 as the end marker (HLT would #GP at CPL3). The VMM keeps the scratch
 * byte (OUT stores it, IN returns it) and nothing more: no sync regs, no
 * devices, no timestamps.
 *
 *   floor [--cpl3] [--min] N
 *
 * --cpl3 runs the loop at CPL3 (user pages, RFLAGS.IOPL=3) like the exits
 * guest's `cpl3` flag; the default is CPL0, like the exits guest's default.
 * --min runs the 3-instructions-per-exit loop instead of the exits guest's
 * instructions (see the loops below).
 * Prints one line: "floor: N exits at CPLc (L loop) in S s: R exits/s,
 * U us/exit", timed around the KVM_RUN loop only (VM setup excluded).
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
#define COUNT_GPA 0x20000   /* "storm": the PIO counter (absolute in the asm) */
#define STACK_TOP 0x80000
#define SCR_PORT  0x3ff
#define END_PORT  0xf4

/*
 * The guest loops, assembled here and copied to CODE_GPA (position
 * independent; the PIO counter lives in its own page at COUNT_GPA, as the
 * exits guest's counter lives in .bss, away from its code).
 * In: RDI = N, EDX = 0x3ff. Out: one OUTB to port 0xf4 with AL = 0 (done)
 * or 1 (an IN did not read back the byte last written).
 *
 * "min": nothing but the exits: 3 instructions per exit.
 * "storm": the instructions the exits guest's storm() compiles to (GCC -O2,
 * guests/exits.c): a parity test choosing OUT or IN, the byte i/2, a
 * read-back compare and an increment of a PIO counter in memory, 9 or 10
 * instructions per exit. Guest code at CPL0 is emulated here, so every
 * instruction costs time: "storm" is the floor to compare the exits guest
 * with, "min" is the bare exit.
 */
__asm__(
	".pushsection .rodata\n"
	".globl floor_min_start, floor_min_end\n"
	"floor_min_start:\n"
	"	mov %rdi, %rcx\n"
	"1:	outb %al, %dx\n"
	"	dec %rcx\n"
	"	jz 2f\n"
	"	inb %dx, %al\n"
	"	dec %rcx\n"
	"	jnz 1b\n"
	"2:	xor %eax, %eax\n"
	"	outb %al, $0xf4\n"
	"floor_min_end:\n"
	".globl floor_storm_start, floor_storm_end\n"
	"floor_storm_start:\n"
	"	xor %esi, %esi\n"
	"	xor %ecx, %ecx\n"
	"	jmp 3f\n"
	"1:	incq 0x20000\n"          /* read: count, IN, compare */
	"	inb %dx, %al\n"
	"	cmp %sil, %al\n"
	"	jne 5f\n"
	"	add $1, %rcx\n"
	"	cmp %rcx, %rdi\n"
	"	je 4f\n"
	"3:	test $1, %cl\n"
	"	jne 1b\n"
	"	mov %rcx, %rsi\n"                /* write: byte i/2, count, OUT */
	"	shr %rsi\n"
	"	incq 0x20000\n"
	"	mov %esi, %eax\n"
	"	outb %al, %dx\n"
	"	add $1, %rcx\n"
	"	cmp %rcx, %rdi\n"
	"	jne 3b\n"
	"4:	xor %eax, %eax\n"
	"	outb %al, $0xf4\n"
	"5:	mov $1, %eax\n"
	"	outb %al, $0xf4\n"
	"floor_storm_end:\n"
	".popsection\n");

extern const uint8_t floor_min_start[], floor_min_end[];
extern const uint8_t floor_storm_start[], floor_storm_end[];

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
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == END_PORT) {
			uint8_t code = *((uint8_t *)run + run->io.data_offset);
			if (code == 0)
				return 0;
			fprintf(stderr, "floor: the guest read back a wrong byte after %llu exits\n",
				(unsigned long long)*exits);
			return 2;
		}
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

struct floor_vm {
	int kvm, vm, vcpu;
	struct kvm_run *run;
};

/* One VM with 4 MiB of RAM, the loop at CODE_GPA, one vCPU in long mode. */
static int floor_vm_setup(struct floor_vm *f, const uint8_t *code, size_t len, int cpl3, uint64_t n)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if ((f->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC)) < 0)
		return fail("open /dev/kvm");
	if ((f->vm = ioctl(f->kvm, KVM_CREATE_VM, 0)) < 0)
		return fail("KVM_CREATE_VM");
	uint8_t *mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return fail("mmap guest RAM");
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = MEM_SIZE,
		.userspace_addr = (uintptr_t)mem,
	};
	if (ioctl(f->vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION");
	page_tables(mem, cpl3);
	memcpy(mem + CODE_GPA, code, len);
	if ((f->vcpu = ioctl(f->vm, KVM_CREATE_VCPU, 0)) < 0)
		return fail("KVM_CREATE_VCPU");
	int run_size = ioctl(f->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < 0)
		return fail("KVM_GET_VCPU_MMAP_SIZE");
	f->run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, f->vcpu, 0);
	if (f->run == MAP_FAILED)
		return fail("mmap kvm_run");
	if (set_cpuid(f->kvm, f->vcpu) < 0)
		return fail("KVM_GET_SUPPORTED_CPUID/KVM_SET_CPUID2");
	if (ioctl(f->vcpu, KVM_GET_SREGS, &sregs) < 0)
		return fail("KVM_GET_SREGS");
	long_mode_sregs(&sregs, cpl3);
	if (ioctl(f->vcpu, KVM_SET_SREGS, &sregs) < 0)
		return fail("KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = CODE_GPA;
	regs.rsp = STACK_TOP;
	regs.rdi = n;
	regs.rdx = SCR_PORT;
	regs.rflags = cpl3 ? 0x3002 : 0x2;     /* IOPL=3 lets CPL3 do port IO */
	if (ioctl(f->vcpu, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_REGS");
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: floor [--cpl3] [--min] N   (N > 0 port-IO exits)\n");
	return 2;
}

int main(int argc, char **argv)
{
	int cpl3 = 0, min = 0;
	uint64_t n = 0, exits = 0;
	struct floor_vm f;
	double t0, t1;
	int rc, i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--cpl3") == 0)
			cpl3 = 1;
		else if (strcmp(argv[i], "--min") == 0)
			min = 1;
		else
			return usage();
	}
	if (i != argc - 1 || (n = strtoull(argv[i], NULL, 0)) == 0)
		return usage();
	rc = min ? floor_vm_setup(&f, floor_min_start, floor_min_end - floor_min_start, cpl3, n)
		 : floor_vm_setup(&f, floor_storm_start, floor_storm_end - floor_storm_start, cpl3, n);
	if (rc)
		return rc;
	t0 = now();
	rc = run_loop(f.vcpu, f.run, &exits);
	t1 = now();
	if (rc)
		return rc;
	if (exits != n) {
		fprintf(stderr, "floor: %llu exits, wanted %llu\n",
			(unsigned long long)exits, (unsigned long long)n);
		return 2;
	}
	printf("floor: %llu exits at CPL%d (%s loop) in %.6f s: %.0f exits/s, %.3f us/exit\n",
	       (unsigned long long)n, cpl3 ? 3 : 0, min ? "min" : "storm", t1 - t0,
	       n / (t1 - t0), (t1 - t0) * 1e6 / n);
	return 0;
}
