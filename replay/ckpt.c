/* SPDX-License-Identifier: MIT */
/* Checkpoints taken while replaying, in memory (replay/ckpt.h). */
#include "replay/ckpt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "replay/async.h"
#include "replay/replay.h"
#include "stream/checkpoint.h"
#include "stream/point.h"
#include "stream/snapshot.h"

struct ckpt {
	int64_t seq;
	uint64_t ticks;
	struct stream_snapshot vcpu;
	bool irq_window;
	uint8_t uart_lcr;
	uint64_t matched, skipped;
	uint64_t *gpas;               /* pages written since the previous checkpoint, in gpa order */
	uint8_t *data;                /* their content here, a page each */
	size_t npages;
	uint64_t *async_gpas;         /* the asynchronous points' pending pages */
	size_t nasync;
};

struct replay_ckpts {
	struct ckpt *v;
	uint32_t n, cap;
	uint32_t cur;                 /* the checkpoint the machine's state descends from */
	struct stream_dirty since;    /* pages written since v[cur] */
	uint64_t bytes, cap_bytes;
	uint64_t interval_ns, next_ns;
	uint64_t taken, thinned, restored, take_ns;
};

static uint64_t ckpt_bytes(const struct ckpt *c)
{
	return sizeof(*c) + c->npages * (GUEST_PAGE_SIZE + sizeof(uint64_t)) + c->nasync * sizeof(uint64_t) +
	       (c->vcpu.msrs ? c->vcpu.msrs->nmsrs * sizeof(struct kvm_msr_entry) : 0);
}

static void ckpt_free(struct ckpt *c)
{
	stream_snapshot_free(&c->vcpu);
	free(c->gpas);
	free(c->data);
	free(c->async_gpas);
	memset(c, 0, sizeof(*c));
}

/* The gpas of set d, malloc'd (at least one slot). */
static uint64_t *gpas_of(const struct stream_dirty *d, struct machine *m, size_t *n)
{
	uint64_t *g;

	*n = stream_dirty_pages(d, m, NULL, 0);
	g = malloc((*n ? *n : 1) * sizeof(*g));
	if (g)
		stream_dirty_pages(d, m, g, *n);
	return g;
}

/* The state now into c; with pages, the pages written since v[cur] (then the set is cleared). */
static int capture(struct replay *r, struct ckpt *c, bool pages)
{
	struct replay_ckpts *s = r->ckpts;
	struct machine *m = &r->m;
	int rc;

	memset(c, 0, sizeof(*c));
	c->seq = r->last_seq;
	c->ticks = r->last_ticks;
	c->irq_window = m->vcpu.run->request_interrupt_window;
	c->uart_lcr = r->uart_lcr;
	c->matched = r->matched;
	c->skipped = r->skipped;
	/* First: the pages KVM's log holds belong in every set, the asynchronous points' included. */
	if ((rc = stream_dirty_collect(&s->since, m)) < 0)
		err_set(&r->err, rc, "checkpoint at seq %" PRId64 ": KVM_GET_DIRTY_LOG: %s", c->seq, strerror(-rc));
	if (rc == 0)
		rc = stream_snapshot_take(&c->vcpu, &m->vcpu, m->kvm_fd, &r->err);
	if (rc == 0 && r->async && !(c->async_gpas = gpas_of(replay_async_dirty(r), m, &c->nasync)))
		rc = -ENOMEM;
	if (rc == 0 && pages) {
		c->gpas = gpas_of(&s->since, m, &c->npages);
		c->data = malloc((c->npages ? c->npages : 1) * GUEST_PAGE_SIZE);
		if (!c->gpas || !c->data)
			rc = -ENOMEM;
		for (size_t i = 0; rc == 0 && i < c->npages; i++)
			memcpy(c->data + i * GUEST_PAGE_SIZE, guest_mem_ptr(&m->mem, c->gpas[i], GUEST_PAGE_SIZE),
			       GUEST_PAGE_SIZE);
		stream_dirty_clear(&s->since);
	}
	if (rc == -ENOMEM)
		err_set(&r->err, rc, "checkpoint at seq %" PRId64 ": out of memory", c->seq);
	if (rc < 0)
		ckpt_free(c);
	return rc;
}

int replay_ckpts_init(struct replay *r, double interval_sec, uint64_t cap)
{
	struct replay_ckpts *s = calloc(1, sizeof(*s));
	int rc = -ENOMEM;

	if (!s || !(s->v = calloc(16, sizeof(*s->v))) || stream_dirty_init(&s->since, &r->m) < 0) {
		if (s)
			free(s->v);
		free(s);
		return err_set(&r->err, -ENOMEM, "replay checkpoints: out of memory");
	}
	s->cap = 16;
	s->cap_bytes = cap;
	s->interval_ns = (uint64_t)(interval_sec * 1e9);
	s->next_ns = clock_now_ns() + s->interval_ns;
	r->ckpts = s;
	/* C0: the start point; its pages are the recording's. */
	rc = stream_dirty_attach(&s->since, &r->m);
	if (rc < 0)
		err_set(&r->err, rc, "replay checkpoints: %s", strerror(-rc));
	if (rc == 0)
		rc = capture(r, &s->v[0], false);
	stream_dirty_clear(&s->since);
	if (rc < 0) {
		replay_ckpts_free(r);
		return rc;
	}
	s->n = 1;
	s->bytes = ckpt_bytes(&s->v[0]);
	return 0;
}

void replay_ckpts_free(struct replay *r)
{
	struct replay_ckpts *s = r->ckpts;

	if (!s)
		return;
	for (uint32_t i = 0; i < s->n; i++)
		ckpt_free(&s->v[i]);
	stream_dirty_detach(&s->since, &r->m);
	stream_dirty_free(&s->since);
	free(s->v);
	free(s);
	r->ckpts = NULL;
}

/* The index of the stored checkpoint at seq, or -1. */
static int find(const struct replay_ckpts *s, int64_t seq)
{
	for (uint32_t lo = 0, hi = s->n; lo < hi;) {
		uint32_t mid = (lo + hi) / 2;

		if (s->v[mid].seq == seq)
			return (int)mid;
		if (s->v[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int64_t replay_ckpts_best(const struct replay *r, int64_t before)
{
	const struct replay_ckpts *s = r->ckpts;
	int64_t best = INT64_MIN;

	for (uint32_t i = 0; s && i < s->n && s->v[i].seq < before; i++)
		best = s->v[i].seq;
	return best;
}

/* Where c goes in seq order; c's pages (written since v[cur]) cover what changed since its predecessor. */
static int insert(struct replay_ckpts *s, const struct ckpt *c)
{
	uint32_t at = 0;

	if (s->n == s->cap) {
		struct ckpt *more = realloc(s->v, 2 * s->cap * sizeof(*more));

		if (!more)
			return -ENOMEM;
		s->v = more;
		s->cap *= 2;
	}
	while (at < s->n && s->v[at].seq < c->seq)
		at++;
	memmove(&s->v[at + 1], &s->v[at], (s->n - at) * sizeof(*s->v));
	s->v[at] = *c;
	s->n++;
	s->cur = at;
	s->bytes += ckpt_bytes(c);
	return 0;
}

/* Fold v[j] into v[j + 1]: the pages only v[j] held move there (same content: not written in between). */
static int merge(struct replay_ckpts *s, struct machine *m, uint32_t j)
{
	struct ckpt *a = &s->v[j], *b = &s->v[j + 1];
	size_t n = 0, i = 0, k = 0, cap = a->npages + b->npages;
	uint64_t *gpas = malloc((cap ? cap : 1) * sizeof(*gpas));
	uint8_t *data = malloc((cap ? cap : 1) * GUEST_PAGE_SIZE);

	if (!gpas || !data) {
		free(gpas);
		free(data);
		return -ENOMEM;
	}
	while (i < a->npages || k < b->npages) {
		bool from_b = k < b->npages && (i == a->npages || b->gpas[k] <= a->gpas[i]);
		const uint8_t *src = from_b ? b->data + k * GUEST_PAGE_SIZE : a->data + i * GUEST_PAGE_SIZE;

		gpas[n] = from_b ? b->gpas[k] : a->gpas[i];
		memcpy(data + n * GUEST_PAGE_SIZE, src, GUEST_PAGE_SIZE);
		if (from_b && i < a->npages && a->gpas[i] == b->gpas[k])
			i++;   /* both held it: b's content is the one at b */
		if (from_b)
			k++;
		else
			i++;
		n++;
	}
	s->bytes -= ckpt_bytes(a) + ckpt_bytes(b);
	free(b->gpas);
	free(b->data);
	b->gpas = gpas;
	b->data = data;
	b->npages = n;
	s->bytes += ckpt_bytes(b);
	if (s->cur == j) {   /* the state descends from v[j - 1] now: what v[j] held was written since */
		for (i = 0; i < a->npages; i++)
			stream_dirty_mark(&s->since, m, a->gpas[i]);
		s->cur = j - 1;
	} else if (s->cur > j) {
		s->cur--;
	}
	ckpt_free(a);
	memmove(&s->v[j], &s->v[j + 1], (s->n - j - 1) * sizeof(*s->v));
	s->n--;
	s->thinned++;
	return 0;
}

/* Under the cap: merge away the checkpoint whose removal leaves the smallest gap (never C0, never the newest). */
static int thin(struct replay_ckpts *s, struct machine *m)
{
	while (s->bytes > s->cap_bytes && s->n > 2) {
		uint32_t best = 1;

		for (uint32_t j = 2; j + 1 < s->n; j++)
			if (s->v[j + 1].ticks - s->v[j - 1].ticks < s->v[best + 1].ticks - s->v[best - 1].ticks)
				best = j;
		if (merge(s, m, best) < 0)
			return -ENOMEM;
	}
	return 0;
}

int replay_ckpts_after_exit(struct replay *r)
{
	struct replay_ckpts *s = r->ckpts;
	struct ckpt c;
	uint64_t now;
	int at, rc;

	if (!s || r->npending || !r->have_next || r->next.sync != STREAM_SYNC_EXIT || r->m.end != END_NONE)
		return 0;
	at = find(s, r->last_seq);
	now = clock_now_ns();
	if (at < 0 && (!s->interval_ns || now < s->next_ns))
		return 0;
	/* Settled as when it was taken: an INS completes into memory only now (gdb's debug registers off). */
	rc = replay_debug_settle(r);
	if (rc == 0 && at >= 0) {   /* passing a stored one: the state is that one's again */
		rc = stream_dirty_collect(&s->since, &r->m);
		stream_dirty_clear(&s->since);
		s->cur = (uint32_t)at;
	} else if (rc == 0) {
		rc = capture(r, &c, true);
		if (rc == 0 && (rc = insert(s, &c)) < 0)
			ckpt_free(&c);
		if (rc == 0)
			rc = thin(s, &r->m);
		if (rc == -ENOMEM)
			err_set(&r->err, rc, "replay checkpoints: out of memory");
		s->taken += rc == 0;
		s->take_ns += clock_now_ns() - now;
	}
	s->next_ns = clock_now_ns() + s->interval_ns;
	return rc;
}

/* Complete what KVM holds of the last exit; whatever exit that KVM_RUN reports is of no matter. */
static int settle_any(struct replay *r)
{
	struct vcpu_exit exit;
	int rc;

	vcpu_set_immediate_exit(&r->m.vcpu, true);
	rc = vcpu_run(&r->m.vcpu, &exit);
	vcpu_set_immediate_exit(&r->m.vcpu, false);
	if (rc < 0)
		return err_set(&r->err, rc, "KVM_RUN to complete the last exit: %s", strerror(-rc));
	return 0;
}

/* The content of gpa at v[k]: the latest checkpoint up to k holding it, else the recording's at C0. */
static int page_at(struct replay *r, uint32_t k, uint64_t gpa, uint8_t *scratch, const uint8_t **out)
{
	struct replay_ckpts *s = r->ckpts;

	for (uint32_t j = k; j > 0; j--) {
		const struct ckpt *c = &s->v[j];
		const uint64_t *hit = NULL;

		for (size_t lo = 0, hi = c->npages; lo < hi && !hit;) {
			size_t mid = (lo + hi) / 2;

			if (c->gpas[mid] == gpa)
				hit = &c->gpas[mid];
			else if (c->gpas[mid] < gpa)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (hit) {
			*out = c->data + (size_t)(hit - c->gpas) * GUEST_PAGE_SIZE;
			return 0;
		}
	}
	*out = scratch;
	return stream_checkpoint_page_at(r->db, s->v[0].seq, gpa, scratch, &r->err);
}

/* Every page that may differ between now and v[k], back to its content there. */
static int restore_memory(struct replay *r, uint32_t k)
{
	struct replay_ckpts *s = r->ckpts;
	struct machine *m = &r->m;
	uint32_t lo = k < s->cur ? k : s->cur, hi = k < s->cur ? s->cur : k;
	uint8_t scratch[GUEST_PAGE_SIZE];
	uint64_t *gpas;
	size_t n;
	int rc = stream_dirty_collect(&s->since, m);

	if (rc < 0)
		return err_set(&r->err, rc, "KVM_GET_DIRTY_LOG: %s", strerror(-rc));
	for (uint32_t j = lo + 1; j <= hi; j++)
		for (size_t i = 0; i < s->v[j].npages; i++)
			stream_dirty_mark(&s->since, m, s->v[j].gpas[i]);
	if (!(gpas = gpas_of(&s->since, m, &n)))
		return err_set(&r->err, -ENOMEM, "restoring a checkpoint: out of memory");
	for (size_t i = 0; i < n && rc == 0; i++) {
		const uint8_t *src;

		rc = page_at(r, k, gpas[i], scratch, &src);
		if (rc == 0 && guest_mem_write(&m->mem, gpas[i], src, GUEST_PAGE_SIZE) < 0)
			rc = err_set(&r->err, -EINVAL, "restoring a checkpoint: gpa 0x%" PRIx64 " is not RAM", gpas[i]);
		if (rc == 0 && m->written)   /* written by us: KVM's log does not see it */
			stream_dirty_mark(m->written, m, gpas[i]);
	}
	free(gpas);
	stream_dirty_clear(&s->since);
	s->cur = k;
	return rc;
}

int replay_ckpts_restore(struct replay *r, int64_t seq)
{
	struct replay_ckpts *s = r->ckpts;
	int k = s ? find(s, seq) : -1;
	const struct ckpt *c;
	int rc;

	if (k < 0)
		return err_set(&r->err, -ENOENT, "no replay checkpoint at seq %" PRId64, seq);
	c = &s->v[k];
	replay_async_abort(r);
	replay_async_rewound(r);
	/*
	 * KVM still holds the last exit's operation (an IN's completion, say)
	 * and would finish it over the restored state at the next KVM_RUN:
	 * finish it now. What it changes is overwritten below.
	 */
	rc = settle_any(r);
	if (rc == 0)
		rc = restore_memory(r, (uint32_t)k);
	if (rc == 0)
		rc = stream_snapshot_restore(&c->vcpu, &r->m.vcpu, &r->err);
	if (rc < 0)
		return rc;
	machine_set_irq_window(&r->m, c->irq_window);
	if (r->async) {
		struct stream_dirty *d = replay_async_dirty(r);

		stream_dirty_clear(d);
		for (size_t i = 0; i < c->nasync; i++)
			stream_dirty_mark(d, &r->m, c->async_gpas[i]);
	}
	rc = replay_cursor_open(&r->cursor, r->db, c->seq, c->ticks, !r->opt.read_inline, &r->err);
	if (rc < 0)
		return rc;
	r->npending = 0;
	r->have_next = false;
	r->next_fetched = false;
	r->last_seq = c->seq;
	r->last_ticks = c->ticks;
	r->uart_lcr = c->uart_lcr;
	r->matched = c->matched;
	r->skipped = c->skipped;
	/* Stopped as at --until: replay_continue goes on from here. */
	r->until_reached = true;
	r->opt.until = c->seq;
	r->m.end = END_UNTIL;
	snprintf(r->m.end_detail, sizeof(r->m.end_detail), "restored the checkpoint at seq %" PRId64, c->seq);
	s->restored++;
	return 0;
}

void replay_ckpts_stats(const struct replay *r, struct replay_ckpt_stats *out)
{
	const struct replay_ckpts *s = r->ckpts;

	memset(out, 0, sizeof(*out));
	if (!s)
		return;
	out->count = s->n;
	out->bytes = s->bytes;
	out->taken = s->taken;
	out->thinned = s->thinned;
	out->restored = s->restored;
	out->take_ns = s->take_ns;
}
