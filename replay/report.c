/* SPDX-License-Identifier: MIT */
/* The end of a replay: final-state comparison and the report (text or JSON). */
#include "replay/replay.h"

#include <inttypes.h>
#include <string.h>

#include "replay/async.h"
#include "replay/ckpt.h"
#include "stream/digest.h"
#include "stream/format.h"
#include "machine/sha256.h"
#include "stream/point.h"
#include "stream/snapshot.h"

/* Every recorded exit was read and reached: the end (even a timeout) is the recording's. */
static bool log_consumed(const struct replay *r)
{
	return r->cursor.exits_done && !r->have_next;
}

/*
 * The recording ends with exits the VMM caused (the kick of --timeout or a
 * signal), skipped as no synchronisation points, after the last one
 * replayed: the guest ran on without exits to a point nothing in the log
 * marks, so its final state cannot be compared.
 */
static bool ended_by_kick(const struct replay *r)
{
	return log_consumed(r) && r->skipped_tail;
}

static bool final_compared(const struct replay *r)
{
	return !r->divergences && !r->until_reached && r->complete && !ended_by_kick(r);
}

/* Compare the final vCPU state and memory digest with the recording's; fills r->final_diff. */
static void compare_final(struct replay *r)
{
	struct stream_snapshot want, got;
	char hex[65], want_hex[80];
	struct err msg = { 0 };
	/*
	 * Not the MSRs (the TSC and its deadline are the host's time) nor the
	 * FPU blob (the legacy view of what XSAVE holds).
	 */
	static const unsigned int kinds[] = { STREAM_STATE_REGS, STREAM_STATE_SREGS, STREAM_STATE_XCRS,
					      STREAM_STATE_XSAVE, STREAM_STATE_DEBUGREGS, STREAM_STATE_MP_STATE,
					      STREAM_STATE_EVENTS };
	uint8_t digest[32];
	size_t used = 0;
	int rc;

	memset(&want, 0, sizeof(want));
	memset(&got, 0, sizeof(got));
	if (stream_snapshot_load(r->db, 0, "final", &want, &msg) < 0 ||
	    stream_snapshot_take(&got, &r->m.vcpu, r->m.kvm_fd, &msg) < 0) {
		snprintf(r->final_diff, sizeof(r->final_diff), "final state unavailable: %.400s", msg.msg);
		goto out;
	}
	/* The header's component bitmaps are the VMM's history, not the guest's state. */
	stream_xsave_normalize(&want.xsave);
	stream_xsave_normalize(&got.xsave);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t la, lb;
		const void *a = stream_snapshot_blob(&want, kinds[i], &la);
		const void *b = stream_snapshot_blob(&got, kinds[i], &lb);

		if (a && b && (la != lb || memcmp(a, b, la) != 0))
			used += snprintf(r->final_diff + used, sizeof(r->final_diff) - used, "%s%s",
					 used ? ", " : "", stream_state_kind_name(kinds[i]));
	}
	if (!r->pages) {              /* format version 1: SHA-256 of all RAM */
		stream_mem_digest(&r->m.mem, digest, hex);
	} else if ((rc = stream_mem_pages_final(r->pages, &r->m, digest, hex)) < 0) {
		snprintf(r->final_diff, sizeof(r->final_diff), "final memory digest unavailable: "
			 "KVM_GET_DIRTY_LOG: %s", strerror(-rc));
		goto out;
	}
	if (stream_meta_get(r->db, "final_mem_digest", want_hex, sizeof(want_hex)) == 0 &&
	    strcmp(want_hex, hex) != 0)
		snprintf(r->final_diff + used, sizeof(r->final_diff) - used, "%sguest memory (digest %.16s... "
			 "recorded, %.16s... replayed)", used ? ", " : "", want_hex, hex);
out:
	stream_snapshot_free(&want);
	stream_snapshot_free(&got);
}

static void describe(char *buf, size_t len, uint32_t reason, uint64_t addr, uint32_t size, int dir,
		     const uint8_t *data, size_t n, uint64_t rip)
{
	size_t used = (size_t)snprintf(buf, len, "%s", vcpu_exit_reason_name(reason));

	if (reason == KVM_EXIT_IO || reason == KVM_EXIT_MMIO) {
		used += (size_t)snprintf(buf + used, len - used, " %s 0x%" PRIx64 " size %u",
					 reason == KVM_EXIT_IO ? (dir ? "OUT" : "IN") : (dir ? "write" : "read"),
					 addr, size);
		if (n) {
			used += (size_t)snprintf(buf + used, len - used, " data ");
			for (size_t i = 0; i < n && i < 16 && used + 3 < len; i++)
				used += (size_t)snprintf(buf + used, len - used, "%02x", data[i]);
			if (n > 16 && used + 4 < len)
				used += (size_t)snprintf(buf + used, len - used, "...");
		}
	}
	snprintf(buf + used, len - used, " at rip 0x%" PRIx64, rip);
}

static void describe_rec(char *buf, size_t len, const struct replay_seen *s)
{
	if (!s->have_rec) {
		snprintf(buf, len, "(end of the recording)");
		return;
	}
	describe(buf, len, s->rec.exit.reason, s->rec.exit.addr, s->rec.exit.size, s->rec.dir,
		 s->rec_head, s->rec.len < sizeof(s->rec_head) ? s->rec.len : sizeof(s->rec_head),
		 s->rec.exit.rip);
}

static void describe_act(char *buf, size_t len, const struct replay_seen *s)
{
	if (!s->have_actual) {
		snprintf(buf, len, "(none)");
		return;
	}
	/* The data of an IN or MMIO read is what replay supplies, not something the guest did. */
	describe(buf, len, s->actual.exit.reason, s->actual.exit.addr, s->actual.exit.size, s->actual.dir,
		 s->actual_head, s->actual.dir != STREAM_DIR_OUT ? 0 : s->actual.len > 64 ? 64 : s->actual.len,
		 s->actual.exit.rip);
}

static void report_text(struct replay *r, FILE *out)
{
	char a[256], b[256];

	fprintf(out, "replay: divergence at seq %" PRIu64 ": %s\n", r->first_div.seq, r->first_div_what);
	describe_rec(a, sizeof(a), &r->first_div);
	describe_act(b, sizeof(b), &r->first_div);
	if (r->first_div.have_rec && (uint64_t)r->first_div.rec.seq != r->first_div.seq)   /* rows missing */
		fprintf(out, "  expected: (no row; the next one, seq %" PRId64 ", is %s)\n  actual:   %s\n",
			r->first_div.rec.seq, a, b);
	else
		fprintf(out, "  expected: %s\n  actual:   %s\n", a, b);
	if (r->async && r->first_div_async)
		replay_async_report(r, out);
	fprintf(out, "vCPU registers:\n");
	machine_dump_regs(&r->m, out);
	fprintf(out, "last matching exits:\n");
	unsigned int n = r->nhistory < REPLAY_HISTORY ? r->nhistory : REPLAY_HISTORY;
	for (unsigned int i = r->nhistory - n; i < r->nhistory; i++) {
		const struct replay_seen *s = &r->history[i % REPLAY_HISTORY];

		if (s->seq == r->first_div.seq && r->divergences)
			continue;
		describe_rec(a, sizeof(a), s);
		fprintf(out, "  seq %" PRIu64 ": %s\n", s->seq, a);
	}
}

static void json_exit(FILE *out, const char *name, uint32_t reason, uint64_t addr, uint32_t size,
		      int dir, const uint8_t *data, size_t n, uint64_t rip)
{
	fprintf(out, "\"%s\":{\"reason\":\"%s\",\"rip\":%" PRIu64, name, vcpu_exit_reason_name(reason), rip);
	if (reason == KVM_EXIT_IO || reason == KVM_EXIT_MMIO) {
		fprintf(out, ",\"%s\":%" PRIu64 ",\"size\":%u,\"dir\":\"%s\",\"data\":\"",
			reason == KVM_EXIT_IO ? "port" : "gpa", addr, size, dir ? "out" : "in");
		for (size_t i = 0; i < n; i++)
			fprintf(out, "%02x", data[i]);
		fprintf(out, "\"");
	}
	fprintf(out, "}");
}

static void report_json(struct replay *r, FILE *out, const char *result)
{
	struct kvm_regs regs = { 0 };

	fprintf(out, "{\"result\":\"%s\",\"exits\":%" PRIu64 ",\"matched\":%" PRIu64 ",\"skipped\":%" PRIu64
		",\"divergences\":%" PRIu64 ",\"complete\":%s,\"final_state\":\"%s\"",
		result, r->cursor.rows, r->matched, r->skipped, r->divergences, r->complete ? "true" : "false",
		r->final_diff[0] ? "differs" : final_compared(r) ? "identical" : "not compared");
	if (r->divergences) {
		const struct replay_seen *s = &r->first_div;

		fprintf(out, ",\"divergence\":{\"seq\":%" PRIu64 ",\"what\":\"%s\",", s->seq, r->first_div_what);
		json_exit(out, "expected", s->rec.exit.reason, s->rec.exit.addr, s->rec.exit.size, s->rec.dir,
			  s->rec_head, s->rec.len > sizeof(s->rec_head) ? sizeof(s->rec_head) : s->rec.len,
			  s->rec.exit.rip);
		fprintf(out, ",");
		json_exit(out, "actual", s->actual.exit.reason, s->actual.exit.addr, s->actual.exit.size,
			  s->actual.dir, s->actual_head, s->actual.len > 64 ? 64 : s->actual.len, s->actual.exit.rip);
		fprintf(out, "}");
	}
	vcpu_get_regs(&r->m.vcpu, &regs);
	fprintf(out, ",\"regs\":{\"rip\":%llu,\"rflags\":%llu,\"rax\":%llu,\"rbx\":%llu,\"rcx\":%llu,"
		"\"rdx\":%llu,\"rsi\":%llu,\"rdi\":%llu,\"rsp\":%llu,\"rbp\":%llu}}\n",
		regs.rip, regs.rflags, regs.rax, regs.rbx, regs.rcx, regs.rdx, regs.rsi, regs.rdi,
		regs.rsp, regs.rbp);
}

/* "N exits" and "S synchronisation points, K caused by the VMM": the words record uses too. */
static void counts(const struct replay *r, char *n, size_t nlen, char *how, size_t howlen)
{
	snprintf(n, nlen, "%" PRIu64 " exits", r->matched + r->skipped);
	snprintf(how, howlen, "%" PRIu64 " synchronisation points, %" PRIu64 " caused by the VMM",
		 r->matched, r->skipped);
}

/* Guest RAM: the page digest (format 2, pays for the pages written), else SHA-256 of it all. */
static void memory_digest(struct replay *r, uint8_t digest[32], char hex[65])
{
	if (!r->pages || stream_mem_pages_final(r->pages, &r->m, digest, hex) < 0)
		stream_mem_digest(&r->m.mem, digest, hex);
}

void replay_state_digest(struct replay *r, char hex[65])
{
	struct sha256 h;
	struct kvm_regs regs = { 0 };
	struct kvm_sregs sregs = { 0 };
	uint8_t mem[32], out[32];
	char mem_hex[65];
	uint64_t xs = 0;

	vcpu_get_regs(&r->m.vcpu, &regs);
	vcpu_get_sregs(&r->m.vcpu, &sregs);
	stream_xsave_digest(&r->m, &xs, false);
	memory_digest(r, mem, mem_hex);
	sha256_init(&h);
	sha256_update(&h, &regs, sizeof(regs));
	sha256_update(&h, &sregs, sizeof(sregs));
	sha256_update(&h, &xs, sizeof(xs));
	sha256_update(&h, mem, sizeof(mem));
	sha256_final(&h, out);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", out[i]);
}

/* The state --until stops in, in two numbers a replay from elsewhere must match. */
static void print_digests(struct replay *r, FILE *out)
{
	uint8_t digest[32];
	char hex[65];
	uint64_t xs = 0;

	memory_digest(r, digest, hex);
	stream_xsave_digest(&r->m, &xs, false);
	fprintf(out, "  memory digest %s xsave %016" PRIx64 "\n", hex, xs);
}

static void report_outcome(struct replay *r, FILE *out)
{
	char n[40], how[120];

	counts(r, n, sizeof(n), how, sizeof(how));
	if (r->divergences && !r->opt.continue_on_divergence) {
		report_text(r, out);
	} else if (r->until_reached) {
		fprintf(out, "replay: stopped after seq %" PRId64 " (%s, identical so far; %s)\n", r->last_seq,
			n, how);

		if (r->last_seq < r->opt.until)
			fprintf(out, "replay: seq %" PRId64 "-%" PRId64 " are exits the VMM caused (KVM_EXIT_INTR); "
				"the guest ran on to them without exits, which replay does not reproduce: "
				"this is the state after seq %" PRId64 "\n", r->last_seq + 1, r->opt.until,
				r->last_seq);
		machine_dump_regs(&r->m, out);
		print_digests(r, out);
	} else if (r->divergences) {
		fprintf(out, "replay: %s (%s), %" PRIu64 " divergences; the first:\n", n, how, r->divergences);
		report_text(r, out);
	} else if (r->final_diff[0]) {
		fprintf(out, "replay: %s matched (%s), but the final state differs: %s\n", n, how, r->final_diff);
	} else if (r->complete && ended_by_kick(r)) {
		fprintf(out, "replay: %s, identical (%s; the recording ended by %s while the guest "
			"ran without exits after seq %" PRId64 ": that stretch has no exit to check and its "
			"final state is not compared)\n", n, how, r->recorded_end, r->last_seq);
	} else if (!r->complete) {
		fprintf(out, "replay: %s, identical (%s; the recording is incomplete: replayed its prefix, "
			"no final state to compare; exit status %d)\n", n, how, REPLAY_INCOMPLETE);
	} else {
		fprintf(out, "replay: %s, identical (%s)\n", n, how);
	}
}

int replay_report(struct replay *r, FILE *out)
{
	const char *result;
	int status;

	if (r->m.end == END_TIMEOUT && !r->divergences && !log_consumed(r)) {
		struct replay_seen seen = { .seq = r->have_next ? (uint64_t)r->next.exit.seq :
						   (uint64_t)(r->last_seq + 1),
					    .have_rec = r->have_next, .rec = r->next.exit };

		replay_diverge(r, &seen, "no exit within the time budget (the guest never reached it)", false);
	}
	if (final_compared(r))
		compare_final(r);
	if (r->divergences || r->final_diff[0]) {
		result = "diverged";
		status = REPLAY_DIVERGED;
	} else if (!r->complete && !r->until_reached) {
		result = "incomplete";
		status = REPLAY_INCOMPLETE;
	} else {
		result = "identical";
		status = REPLAY_IDENTICAL;
	}
	if (r->opt.json) {
		report_json(r, out, result);
		return status;
	}
	if (r->start_seq >= 0)
		fprintf(out, "replay: started from the checkpoint after seq %" PRId64 "\n", r->start_seq);
	report_outcome(r, out);
	if (r->async && !r->divergences)
		replay_async_report(r, out);   /* the seek statistics */
	if (r->ckpts) {
		struct replay_ckpt_stats st;

		replay_ckpts_stats(r, &st);
		fprintf(out, "checkpoints in memory: %u held, %.1f MiB (cap %.0f MiB); %" PRIu64 " taken in %.1f ms, %"
			PRIu64 " thinned, %" PRIu64 " restored\n", st.count, st.bytes / 1048576.0,
			r->opt.ckpt_cap / 1048576.0, st.taken, st.take_ns / 1e6, st.thinned, st.restored);
	}
	return status;
}
