/* SPDX-License-Identifier: MIT */
/* Records of exits, made and compared the same way by record and replay. */
#include "stream/stream.h"

#include <string.h>

#include "vcpu/exit.h"

const void *stream_rec_of_exit(struct stream_rec *r, const struct vcpu_exit *exit, uint8_t *scratch)
{
	r->kind = STREAM_EXIT;
	r->dir = STREAM_DIR_NONE;
	r->len = 0;
	r->exit.reason = exit->reason;
	r->exit.size = 0;
	r->exit.addr = 0;
	switch (exit->reason) {
	case KVM_EXIT_IO:          /* exit->io valid */
		r->dir = exit->io.in ? STREAM_DIR_IN : STREAM_DIR_OUT;
		r->exit.addr = exit->io.port;
		r->exit.size = exit->io.size;
		r->len = (uint32_t)exit->io.size * exit->io.count;
		return exit->io.data;
	case KVM_EXIT_MMIO:        /* exit->mmio valid */
		r->dir = exit->mmio.write ? STREAM_DIR_OUT : STREAM_DIR_IN;
		r->exit.addr = exit->mmio.gpa;
		r->exit.size = exit->mmio.len;
		r->len = exit->mmio.len;
		return exit->mmio.data;
	case KVM_EXIT_HLT:         /* at a patched RDTSC site: the value the VMM gave (machine/tsc.c) */
		r->len = exit->hlt.len;
		return exit->hlt.len ? exit->hlt.data : NULL;
	case KVM_EXIT_INTERNAL_ERROR: { /* exit->internal valid */
		uint32_t n = exit->internal.ndata < 16 ? exit->internal.ndata : 16;

		memcpy(scratch, &exit->internal.suberror, 4);
		memcpy(scratch + 4, exit->internal.data, (size_t)n * 8);
		r->len = 4 + n * 8;
		return scratch;
	}
	default:
		return NULL;
	}
}

const char *stream_rec_differs(const struct stream_rec *a, const uint8_t *ad,
			       const struct stream_rec *b, const uint8_t *bd)
{
	bool io = b->exit.reason == KVM_EXIT_IO;

	if (a->exit.reason != b->exit.reason)
		return "exit reason differs";
	if (io || b->exit.reason == KVM_EXIT_MMIO) {
		if (a->exit.addr != b->exit.addr)
			return io ? "port differs" : "gpa differs";
		if (a->exit.size != b->exit.size)
			return "size differs";
		if (a->dir != b->dir)
			return "direction differs";
		if (a->len != b->len)
			return "length differs";
		if (b->dir == STREAM_DIR_OUT && b->len && memcmp(ad, bd, b->len) != 0)
			return "data written differs";
	}
	if (a->exit.rip != b->exit.rip)
		return "rip differs";
	return NULL;
}
