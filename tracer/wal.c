/* SPDX-License-Identifier: MIT */
/* WAL checkpoints of a recording (tracer/log.h says when they happen). */
#include "tracer/log.h"

#include "stream/format.h"

int tracer_wal_checkpoint(sqlite3 *db, int *wal_frames, int *copied)
{
	int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, wal_frames, copied);

	/* BUSY: a reader holds an old snapshot; the frames it needs wait for the next checkpoint. */
	return rc == SQLITE_BUSY ? SQLITE_OK : rc;
}

int tracer_log_wal_checkpoint(sqlite3 *db, const char *path, const char *what, struct err *err)
{
	int wal_frames = 0, copied = 0;
	int rc = tracer_wal_checkpoint(db, &wal_frames, &copied);

	if (rc == SQLITE_OK)
		return 0;
	return err_set(err, stream_sqlite_errno(rc), "recording %s: %s: WAL checkpoint (%d of %d "
		       "frames copied): %s", path, what, copied, wal_frames, sqlite3_errmsg(db));
}
