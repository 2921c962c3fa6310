/* SPDX-License-Identifier: MIT */
/*
 * The CPL3 start (start_info, command line, main), system call wrappers, the
 * exit path with its count line, and the free-memory query.
 */
#include "rt/rt.h"
#include "rt/internal.h"

#define CMDLINE_MAX 1024
#define ARGS_MAX 64

uint64_t rt_pio_count;
uint64_t rt_mmio_count;

extern char _end[];

static char cmdline[CMDLINE_MAX];
static char argbuf[CMDLINE_MAX];
static const char *args[ARGS_MAX];
static unsigned nargs;

uint64_t rt_syscall(uint64_t nr, uint64_t a0, uint64_t a1)
{
	uint64_t r;

	__asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "D"(a0), "S"(a1) : "memory");
	return r;
}

void rt_wait_irq(void) { rt_syscall(RT_SYS_WAIT_IRQ, 0, 0); }
void rt_halt(void) { rt_syscall(RT_SYS_HALT, 0, 0); }
void rt_sti(void) { rt_syscall(RT_SYS_STI, 0, 0); }
void rt_cli(void) { rt_syscall(RT_SYS_CLI, 0, 0); }

uint64_t rt_call0(uint64_t (*fn)(uint64_t), uint64_t arg)
{
	return rt_syscall(RT_SYS_CALL0, (uint64_t)(uintptr_t)fn, arg);
}

/* Load an empty IDT and execute UD2: #UD, #GP and #DF cannot be delivered. */
static uint64_t triple_fault(uint64_t arg)
{
	struct __attribute__((packed)) { uint16_t limit; uint64_t base; } empty = { 0, 0 };

	(void)arg;
	__asm__ volatile("lidt %0; ud2" : : "m"(empty));
	return 0;
}

void rt_triple_fault(void)
{
	rt_call0(triple_fault, 0);
	for (;;)
		__asm__ volatile("" ::: "memory");
}

/*
 * The last line states the totals of the whole run, including the accesses
 * that print it (one LSR read + one THR write per character, as the THR is
 * always empty on a virtual UART) and the debug-exit write. Its length
 * depends on the numbers it prints, so iterate to the fixed point; the
 * sequence only grows and the length is bounded, so it stops.
 */
void rt_exit(uint32_t code)
{
	char line[80];
	uint64_t pio, mmio, total;

	/* No IRQ EOI may change the counts from here on. */
	if (rt_cpl() == 0)
		__asm__ volatile("cli" ::: "memory");
	else
		rt_cli();
	pio = rt_pio_count;
	mmio = rt_mmio_count;
	total = pio;
	for (;;) {
		int len = rt_snprintf(line, sizeof(line), "kvmrr-guest: pio=%lu mmio=%lu\n",
				      total, mmio);
		uint64_t want = pio + 2 * (uint64_t)len + 1;

		if (want == total)
			break;
		total = want;
	}
	rt_puts(line);
	rt_outl(ABI_PORT_DEBUG_EXIT, code);
	for (;;) {
		if (rt_cpl() == 0)
			__asm__ volatile("cli; hlt");
		else
			rt_halt();
	}
}

void rt_fail(const char *fmt, ...)
{
	va_list ap;

	rt_puts("FAIL: ");
	va_start(ap, fmt);
	rt_vprintf(fmt, ap);
	va_end(ap);
	rt_putc('\n');
	rt_exit(ABI_EXIT_FAIL);
}

const struct abi_hvm_start_info *rt_start_info(void)
{
	return (const struct abi_hvm_start_info *)(uintptr_t)rt_start_info_paddr;
}

const char *rt_cmdline(void)
{
	return cmdline;
}

/* Copy the command line out of loader memory and split it into words. */
static void cmdline_init(const struct abi_hvm_start_info *si)
{
	const char *src = (const char *)(uintptr_t)si->cmdline_paddr;
	size_t n = 0;

	if (src) {
		while (src[n] && n + 1 < CMDLINE_MAX)
			n++;
		if (src[n]) {
			rt_printf("kvmrr-guest: command line longer than %d bytes\n", CMDLINE_MAX - 1);
			rt_exit(ABI_EXIT_BADARG);
		}
		memcpy(cmdline, src, n);
	}
	cmdline[n] = '\0';
	memcpy(argbuf, cmdline, n + 1);
	for (char *p = argbuf; *p;) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			*p++ = '\0';
		if (!*p)
			break;
		if (nargs == ARGS_MAX) {
			rt_printf("kvmrr-guest: more than %d command line words\n", ARGS_MAX);
			rt_exit(ABI_EXIT_BADARG);
		}
		args[nargs++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n')
			p++;
	}
}

const char *rt_arg(const char *key)
{
	size_t klen = strlen(key);

	for (unsigned i = 0; i < nargs; i++) {
		if (strncmp(args[i], key, klen) != 0)
			continue;
		if (args[i][klen] == '=')
			return args[i] + klen + 1;
		if (args[i][klen] == '\0')
			return args[i] + klen;
	}
	return NULL;
}

bool rt_flag(const char *key)
{
	return rt_arg(key) != NULL;
}

uint64_t rt_arg_u64(const char *key, uint64_t def)
{
	const char *s = rt_arg(key), *p;
	uint64_t v = 0, base = 10;

	if (!s)
		return def;
	p = s;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	if (!*p)
		goto bad;
	for (; *p; p++) {
		unsigned d;

		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (base == 16 && (*p | 0x20) >= 'a' && (*p | 0x20) <= 'f')
			d = (unsigned)((*p | 0x20) - 'a' + 10);
		else
			goto bad;
		if (v > (UINT64_MAX - d) / base)
			goto bad;
		v = v * base + d;
	}
	return v;
bad:
	rt_printf("kvmrr-guest: bad number in %s=%s\n", key, s);
	rt_exit(ABI_EXIT_BADARG);
}

void rt_free_mem(uint64_t *base, uint64_t *size)
{
	const struct abi_hvm_start_info *si = rt_start_info();
	const struct abi_hvm_memmap_entry *e;
	uint64_t start = ((uint64_t)(uintptr_t)_end + (2u << 20) - 1) & ~((2ull << 20) - 1);

	*base = start;
	*size = 0;
	if (si->version < 1 || !si->memmap_paddr)
		return;
	e = (const struct abi_hvm_memmap_entry *)(uintptr_t)si->memmap_paddr;
	for (uint32_t i = 0; i < si->memmap_entries; i++) {
		uint64_t end = e[i].addr + e[i].size;

		if (e[i].type != ABI_MEMMAP_TYPE_RAM || start < e[i].addr || start >= end)
			continue;
		if (end > (4ull << 30))
			end = 4ull << 30;   /* the identity map ends at 4 GiB */
		*size = end - start;
	}
}

void rt_user_start(void)
{
	const struct abi_hvm_start_info *si = rt_start_info();

	if (si->magic != ABI_HVM_START_MAGIC) {
		rt_printf("kvmrr-guest: bad hvm_start_info magic 0x%x at 0x%lx (want 0x%x)\n",
			  si->magic, rt_start_info_paddr, ABI_HVM_START_MAGIC);
		rt_exit(ABI_EXIT_FAIL);
	}
	cmdline_init(si);
	rt_exit((uint32_t)main());
}
