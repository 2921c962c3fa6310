/* SPDX-License-Identifier: MIT */
#include "replay/gdb_target.h"

#include <errno.h>
#include <string.h>

#include "machine/machine.h"

enum { F_CORE, F_SSE, F_SEG, F_CTRL };

struct reg_desc {
	const char *name;
	unsigned int bits;
	const char *type;
	int feature;
};

#define GPR(n) { n, 64, "int64", F_CORE }
#define ST(n) { n, 80, "i387_ext", F_CORE }
#define FP(n) { n, 32, "int", F_CORE }
#define XMM(n) { n, 128, "vec128", F_SSE }
#define CR(n) { n, 64, "int64", F_CTRL }

static const struct reg_desc regs[GDB_TARGET_NREGS] = {
	GPR("rax"), GPR("rbx"), GPR("rcx"), GPR("rdx"), GPR("rsi"), GPR("rdi"),
	{ "rbp", 64, "data_ptr", F_CORE }, { "rsp", 64, "data_ptr", F_CORE },
	GPR("r8"), GPR("r9"), GPR("r10"), GPR("r11"), GPR("r12"), GPR("r13"), GPR("r14"), GPR("r15"),
	{ "rip", 64, "code_ptr", F_CORE }, { "eflags", 32, "int32", F_CORE },
	FP("cs"), FP("ss"), FP("ds"), FP("es"), FP("fs"), FP("gs"),
	ST("st0"), ST("st1"), ST("st2"), ST("st3"), ST("st4"), ST("st5"), ST("st6"), ST("st7"),
	FP("fctrl"), FP("fstat"), FP("ftag"), FP("fiseg"), FP("fioff"), FP("foseg"), FP("fooff"), FP("fop"),
	XMM("xmm0"), XMM("xmm1"), XMM("xmm2"), XMM("xmm3"), XMM("xmm4"), XMM("xmm5"), XMM("xmm6"),
	XMM("xmm7"), XMM("xmm8"), XMM("xmm9"), XMM("xmm10"), XMM("xmm11"), XMM("xmm12"), XMM("xmm13"),
	XMM("xmm14"), XMM("xmm15"), { "mxcsr", 32, "int", F_SSE },
	{ "fs_base", 64, "int", F_SEG }, { "gs_base", 64, "int", F_SEG },
	CR("cr0"), CR("cr2"), CR("cr3"), CR("cr4"), CR("efer"),
};

static const char *const features[] = {
	[F_CORE] = "org.gnu.gdb.i386.core", [F_SSE] = "org.gnu.gdb.i386.sse",
	[F_SEG] = "org.gnu.gdb.i386.segments", [F_CTRL] = "org.kvmrr.x86.control",
};

static const char sse_types[] =
	"<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"
	"<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
	"<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>"
	"<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>"
	"<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>"
	"<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>"
	"<union id=\"vec128\"><field name=\"v4_float\" type=\"v4f\"/><field name=\"v2_double\" type=\"v2d\"/>"
	"<field name=\"v16_int8\" type=\"v16i8\"/><field name=\"v8_int16\" type=\"v8i16\"/>"
	"<field name=\"v4_int32\" type=\"v4i32\"/><field name=\"v2_int64\" type=\"v2i64\"/>"
	"<field name=\"uint128\" type=\"uint128\"/></union>";

const char *gdb_target_xml(void)
{
	static char xml[8192];
	size_t o = 0;

	if (xml[0])
		return xml;
	o += (size_t)snprintf(xml + o, sizeof(xml) - o, "<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM "
			      "\"gdb-target.dtd\"><target><architecture>i386:x86-64</architecture>");
	for (int f = F_CORE; f <= F_CTRL; f++) {
		o += (size_t)snprintf(xml + o, sizeof(xml) - o, "<feature name=\"%s\">%s", features[f],
				      f == F_SSE ? sse_types : "");
		for (unsigned int i = 0; i < GDB_TARGET_NREGS; i++)
			if (regs[i].feature == f)
				o += (size_t)snprintf(xml + o, sizeof(xml) - o, "<reg name=\"%s\" bitsize=\"%u\" "
						      "type=\"%s\" regnum=\"%u\"/>", regs[i].name, regs[i].bits,
						      regs[i].type, i);
		o += (size_t)snprintf(xml + o, sizeof(xml) - o, "</feature>");
	}
	snprintf(xml + o, sizeof(xml) - o, "</target>");
	return xml;
}

int gdb_target_load(struct machine *m, struct gdb_target_state *st)
{
	int rc = vcpu_get_regs(&m->vcpu, &st->regs);

	if (rc == 0)
		rc = vcpu_get_sregs(&m->vcpu, &st->sregs);
	if (rc == 0)
		rc = vcpu_get_xsave(&m->vcpu, &st->xsave);
	return rc;
}

/* The full x87 tag word from FXSAVE's abridged one: 11 empty, 00 valid (zero/special not told apart). */
static uint32_t full_tag(uint8_t abridged)
{
	uint32_t tag = 0;

	for (int i = 0; i < 8; i++)
		if (!(abridged & (1u << i)))
			tag |= 3u << (2 * i);
	return tag;
}

static int put(uint8_t *buf, uint64_t v, int n)
{
	memcpy(buf, &v, (size_t)n);   /* little-endian host and target */
	return n;
}

static int fpu_reg(const uint8_t *fx, unsigned int regno, uint8_t *buf)
{
	uint16_t w;
	uint64_t q;

	if (regno >= 24 && regno < 32) {
		memcpy(buf, fx + 32 + 16 * (regno - 24), 10);
		return 10;
	}
	if (regno >= 40 && regno < 56) {
		memcpy(buf, fx + 160 + 16 * (regno - 40), 16);
		return 16;
	}
	switch (regno) {
	case 32: memcpy(&w, fx, 2); return put(buf, w, 4);
	case 33: memcpy(&w, fx + 2, 2); return put(buf, w, 4);
	case 34: return put(buf, full_tag(fx[4]), 4);
	case 35: return put(buf, 0, 4);                                   /* fiseg: not in the 64-bit FXSAVE */
	case 36: memcpy(&q, fx + 8, 8); return put(buf, q, 4);
	case 37: return put(buf, 0, 4);
	case 38: memcpy(&q, fx + 16, 8); return put(buf, q, 4);
	case 39: memcpy(&w, fx + 6, 2); return put(buf, w & 0x7ff, 4);
	case 56: memcpy(&q, fx + 24, 4); return put(buf, q & 0xffffffffu, 4);
	default: return -EINVAL;
	}
}

int gdb_target_reg(const struct gdb_target_state *st, unsigned int regno, uint8_t *buf)
{
	static const unsigned char gpr_order[16] = { 0, 1, 2, 3, 4, 5, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
	const struct kvm_regs *r = &st->regs;
	const struct kvm_sregs *s = &st->sregs;
	/* kvm_regs: rax rbx rcx rdx rsi rdi rsp rbp r8..r15 rip rflags */
	const uint64_t *g = (const uint64_t *)r;
	const struct kvm_segment *seg[6] = { &s->cs, &s->ss, &s->ds, &s->es, &s->fs, &s->gs };
	const uint64_t ctrl[5] = { s->cr0, s->cr2, s->cr3, s->cr4, s->efer };

	if (regno < 16)
		return put(buf, g[gpr_order[regno]], 8);
	if (regno == 16)
		return put(buf, r->rip, 8);
	if (regno == 17)
		return put(buf, r->rflags, 4);
	if (regno < 24)
		return put(buf, seg[regno - 18]->selector, 4);
	if (regno < 57)
		return fpu_reg((const uint8_t *)st->xsave.region, regno, buf);
	if (regno == 57)
		return put(buf, s->fs.base, 8);
	if (regno == 58)
		return put(buf, s->gs.base, 8);
	if (regno < GDB_TARGET_NREGS)
		return put(buf, ctrl[regno - 59], 8);
	return -EINVAL;
}

#define CR0_PG (1ULL << 31)
#define CR4_PSE (1ULL << 4)
#define CR4_PAE (1ULL << 5)
#define CR4_LA57 (1ULL << 12)
#define EFER_LMA (1ULL << 10)
#define PTE_P 1ULL
#define PTE_US 4ULL
#define PTE_PS 0x80ULL
#define ADDR_MASK 0x000ffffffffff000ULL

static int entry(struct machine *m, uint64_t gpa, unsigned int size, uint64_t *e)
{
	*e = 0;
	return guest_mem_read(&m->mem, gpa, e, size) < 0 ? -EFAULT : 0;
}

/* 64-bit entries: PAE (3 levels from the PDPT) or long mode (4 or 5). */
static int walk64(struct machine *m, const struct kvm_sregs *s, uint64_t va, int levels, uint64_t *gpa, bool *user)
{
	uint64_t table = levels == 2 ? s->cr3 & ~0x1fULL : s->cr3 & ADDR_MASK, e;
	int shift = 12 + 9 * (levels - 1);

	if (levels == 2) {   /* PAE: a 4-entry PDPT, then the 2-level walk below */
		if (entry(m, table + ((va >> 30) & 3) * 8, 8, &e) < 0 || !(e & PTE_P))
			return -EFAULT;
		table = e & ADDR_MASK;
		shift = 21;
	}
	for (;;) {
		if (entry(m, table + ((va >> shift) & 511) * 8, 8, &e) < 0 || !(e & PTE_P))
			return -EFAULT;
		*user = *user && (e & PTE_US);
		if (shift == 12 || ((e & PTE_PS) && (shift == 21 || shift == 30))) {
			uint64_t mask = (1ULL << shift) - 1;

			*gpa = ((e & ADDR_MASK) & ~mask) | (va & mask);
			return 0;
		}
		table = e & ADDR_MASK;
		shift -= 9;
	}
}

static int walk32(struct machine *m, const struct kvm_sregs *s, uint64_t va, uint64_t *gpa, bool *user)
{
	uint64_t e;

	if (entry(m, (s->cr3 & 0xfffff000ULL) + ((va >> 22) & 1023) * 4, 4, &e) < 0 || !(e & PTE_P))
		return -EFAULT;
	*user = e & PTE_US;
	if ((e & PTE_PS) && (s->cr4 & CR4_PSE)) {
		*gpa = (e & 0xffc00000ULL) | ((e >> 13) & 0xffULL) << 32 | (va & 0x3fffffULL);
		return 0;
	}
	if (entry(m, (e & 0xfffff000ULL) + ((va >> 12) & 1023) * 4, 4, &e) < 0 || !(e & PTE_P))
		return -EFAULT;
	*user = *user && (e & PTE_US);
	*gpa = (e & 0xfffff000ULL) | (va & 0xfffULL);
	return 0;
}

int gdb_target_translate(struct machine *m, const struct kvm_sregs *s, uint64_t va, uint64_t *gpa, bool *user)
{
	*user = true;
	if (!(s->cr0 & CR0_PG)) {
		*gpa = va;
		*user = false;
		return 0;
	}
	if (s->efer & EFER_LMA)
		return walk64(m, s, va, s->cr4 & CR4_LA57 ? 5 : 4, gpa, user);
	if (s->cr4 & CR4_PAE)
		return walk64(m, s, va & 0xffffffffULL, 2, gpa, user);
	return walk32(m, s, va & 0xffffffffULL, gpa, user);
}

int gdb_target_read(struct machine *m, const struct kvm_sregs *s, uint64_t va, uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		uint64_t gpa, a = va + done;
		size_t n = 4096 - (a & 4095);
		bool user;

		if (n > len - done)
			n = len - done;
		if (gdb_target_translate(m, s, a, &gpa, &user) < 0 || guest_mem_read(&m->mem, gpa, buf + done, n) < 0)
			break;
		done += n;
	}
	return done ? (int)done : -EFAULT;
}
