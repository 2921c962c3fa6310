/* SPDX-License-Identifier: MIT */
/* Synthetic exits fed straight into the capture point, for the sink tests. */
#ifndef KVMRR_TESTS_TRACER_SYNTH_H
#define KVMRR_TESTS_TRACER_SYNTH_H

#include "tests/tracer/tracer_test_util.h"
#include "tracer/log.h"
#include "tracer/tracer.h"

#define TSC_BASE 1000000000ULL

struct synth {
	struct tracer *t;
	uint64_t tsc;            /* host TSC after the previous exit */
	uint64_t rng;
	uint8_t buf[8192];       /* the "kvm_run page" data area */
};

static inline void synth_open(struct synth *s, const char *path, const struct tracer_options *opt)
{
	struct err err = { 0 };

	memset(s, 0, sizeof(*s));
	TEST_ASSERT(tracer_open(&s->t, path, opt, &err) == 0, "tracer_open %s: %s", path, err.msg);
	tracer_set_tsc_base(s->t, TSC_BASE);
	s->tsc = TSC_BASE;
	s->rng = 0x9e3779b97f4a7c15ULL;
}

/* Capture e with VMM time vmm and guest time guest (ticks). */
static inline int synth_feed(struct synth *s, const struct vcpu_exit *e, uint64_t rip, uint64_t vmm,
		      uint64_t guest)
{
	uint64_t entry = s->tsc + vmm, exit = entry + guest;

	s->tsc = exit;
	return tracer_capture_exit(s->t, 0, e, rip, entry, exit);
}

static inline struct vcpu_exit synth_io(struct synth *s, uint16_t port, uint8_t size, uint32_t count,
				 bool in)
{
	struct vcpu_exit e = { .reason = KVM_EXIT_IO };

	e.io = (struct vcpu_exit_io){ .port = port, .size = size, .in = in, .count = count,
				      .data = s->buf };
	for (uint32_t i = 0; i < (uint32_t)size * count; i++)
		s->buf[i] = (uint8_t)tt_rand(&s->rng);
	return e;
}

static inline void synth_finish(struct synth *s, const char *end)
{
	struct err err = { 0 };
	int r = tracer_end(s->t, &(struct tracer_end){ .end = end, .code = 0, .detail = "synthetic" },
			   &err);

	TEST_ASSERT(r == 0, "tracer_end: %s", err.msg);
	tracer_close(s->t);
	s->t = NULL;
}

static inline void set_khz(const char *path, long khz)
{
	sqlite3 *db = tt_open(path);
	char sql[128];

	snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO meta VALUES('tsc_khz', %ld)", khz);
	TEST_ASSERT(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(db));
	sqlite3_close(db);
}

#endif
