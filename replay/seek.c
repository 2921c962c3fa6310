/* SPDX-License-Identifier: MIT */
/* replay_seek: any exit's state, from the nearest checkpoint (replay/replay.h). */
#include "replay/replay.h"

#include <errno.h>
#include <inttypes.h>

#include "replay/ckpt.h"
#include "stream/checkpoint.h"

/* Open the recording again at seq: from its latest stored checkpoint before it. */
static int reopen_at(struct replay *r, int64_t seq)
{
	struct replay_options o = r->opt;
	int rc;

	o.until = seq;
	o.from = -1;
	o.probe = -1;
	replay_close(r);
	rc = replay_open(r, &o);
	return rc < 0 ? rc : replay_run(r);
}

int replay_seek(struct replay *r, int64_t seq)
{
	struct stream_checkpoint rec;
	int64_t sync, here = INT64_MIN, mem;
	int rc;

	if (seq < 0 || (uint64_t)seq >= r->cursor.total_exits)
		return err_set(&r->err, -ERANGE, "seq %" PRId64 ": the recording holds exits 0 to %" PRIu64 " only",
			       seq, r->cursor.total_exits - 1);
	if (r->until_reached && r->m.end == END_UNTIL && !r->off_exit)
		here = r->last_seq;
	/* Already there: at seq, or at the exit before it when seq is one the VMM caused. */
	if (here == seq || (here < seq && r->next_fetched && r->next.exit.seq > seq))
		return 0;
	/* A checkpoint holds a settled state: it must lie before the synchronisation point seq stops at. */
	sync = stream_sync_seq(r->db, seq, false);
	mem = replay_ckpts_best(r, sync);
	rc = stream_checkpoint_find(r->db, sync - 1, &rec, &r->err);
	if (rc < 0)
		return rc;
	if (here < seq && here >= mem && here >= rec.seq) {
		rc = replay_continue(r, seq);          /* straight on */
	} else if (mem != INT64_MIN && mem >= rec.seq) {
		rc = replay_ckpts_restore(r, mem);
		if (rc == 0)
			rc = replay_continue(r, seq);
	} else {
		return reopen_at(r, seq);
	}
	if (rc == 0)
		r->off_exit = false;
	return rc;
}
