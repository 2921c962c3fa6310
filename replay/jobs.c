/* SPDX-License-Identifier: MIT */
/*
 * kvmrr replay --jobs N: the stretches between the recording's checkpoints
 * replayed at once, in up to N processes. Segment i starts from checkpoint
 * i-1 (segment 0 from the initial state) and runs to the first
 * synchronisation exit after checkpoint i, where it takes a digest of the
 * whole state (registers, special registers, XSAVE, RAM). Segment i+1
 * passes the same exit and takes the same digest: the two must be equal,
 * so every segment is shown to end exactly where the next one began. Each
 * segment verifies its exits as any replay does; the last one compares the
 * final state. The first diverging segment's report is the one shown.
 */
#include "replay/replay.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stream/checkpoint.h"
#include "stream/format.h"

struct segment {
	int64_t from;             /* checkpoint seq; -1: the initial state */
	int64_t until;            /* the overlap exit; -1: to the end */
	int64_t probe;            /* the overlap exit of the segment before (-1: none) */
	pid_t pid;
	int out_fd;               /* memfd: the segment's report */
	struct {
		int status;               /* enum replay_status, or REPLAY_ERROR if it died */
		uint64_t matched, skipped;
		char start_digest[65], end_digest[65];
	} *res;                   /* shared with the child */
};

/* The segments of the recording at path; *n of them in *out (malloc'd). 0 or -errno + e. */
static int plan(const char *path, struct segment **out, uint32_t *n, struct err *e)
{
	sqlite3 *db = NULL;
	int64_t *cks = NULL, prev = -1, probe = -1;
	uint32_t nck = 0, k = 0;
	struct segment *s;
	int rc = stream_recording_open(path, &db, e);

	if (rc == 0)
		rc = stream_checkpoint_list(db, &cks, &nck, e);
	s = rc == 0 ? calloc(nck + 1, sizeof(*s)) : NULL;
	if (rc == 0 && !s)
		rc = err_set(e, -ENOMEM, "out of memory");
	for (uint32_t i = 0; rc == 0 && i <= nck; i++) {
		int64_t until = i < nck ? stream_sync_seq(db, cks[i], true) : -1;

		if (i < nck && until < 0)
			continue;   /* nothing after this checkpoint to overlap on: the next segment runs to the end */
		s[k++] = (struct segment){ .from = prev, .until = until, .probe = probe, .out_fd = -1 };
		if (i < nck) {
			prev = cks[i];
			probe = until;
		}
	}
	free(cks);
	if (db)
		sqlite3_close(db);
	*out = s;
	*n = k;
	return rc;
}

/* In the child: replay one segment, fill its result, report into out_fd. */
static int run_segment(const struct replay_options *base, struct segment *s)
{
	static struct replay r;
	struct replay_options o = *base;
	FILE *out = fdopen(s->out_fd, "w");
	int rc;

	o.from = s->from;
	o.until = s->until;
	o.probe = s->probe;
	o.quiet_console = true;
	/* Every CPU replays a segment already (and a thread started after fork is refused by TSan). */
	o.read_inline = true;
	s->res->status = REPLAY_ERROR;
	if (!out)
		return REPLAY_ERROR;
	rc = replay_open(&r, &o);
	if (rc == 0)
		rc = replay_run(&r);
	if (rc < 0) {
		fprintf(out, "kvmrr replay: %s: %s\n", o.path, r.err.msg[0] ? r.err.msg : strerror(-rc));
	} else {
		if (s->until >= 0 && r.until_reached && !r.divergences)
			replay_state_digest(&r, s->res->end_digest);
		s->res->status = replay_report(&r, out);
		memcpy(s->res->start_digest, r.probe_digest, sizeof(s->res->start_digest));
		s->res->matched = r.matched;
		s->res->skipped = r.skipped;
	}
	fclose(out);
	replay_close(&r);
	return s->res->status;
}

static int start_segment(const struct replay_options *o, struct segment *s)
{
	s->out_fd = memfd_create("kvmrr-segment", 0);
	if (s->out_fd < 0)
		return -errno;
	s->pid = fork();
	if (s->pid < 0)
		return -errno;
	if (s->pid == 0)
		_exit(run_segment(o, s));
	return 0;
}

static void show_report(const struct segment *s, FILE *out)
{
	char buf[4096];
	ssize_t n;

	lseek(s->out_fd, 0, SEEK_SET);
	while ((n = read(s->out_fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, out);
}

/* Run every segment, at most jobs at a time. 0 or -errno. */
static int run_all(const struct replay_options *o, struct segment *s, uint32_t n, unsigned int jobs)
{
	uint32_t next = 0, running = 0, done = 0;
	int rc = 0;

	while (done < n) {
		while (rc == 0 && running < jobs && next < n) {
			rc = start_segment(o, &s[next++]);
			running += rc == 0;
		}
		if (running == 0)
			break;
		int wst;
		pid_t pid = wait(&wst);

		if (pid < 0)
			return -errno;
		running--;
		done++;
	}
	return rc;
}

int replay_jobs(const struct replay_options *o, unsigned int jobs)
{
	struct segment *s = NULL;
	struct err e = { 0 };
	uint32_t n = 0;
	int rc = plan(o->path, &s, &n, &e), status = REPLAY_IDENTICAL;

	for (uint32_t i = 0; rc == 0 && i < n; i++) {
		s[i].res = mmap(NULL, sizeof(*s[i].res), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (s[i].res == MAP_FAILED) {
			s[i].res = NULL;
			rc = err_set(&e, -errno, "mmap: %s", strerror(errno));
		}
	}
	fflush(stdout);
	fflush(stderr);
	if (rc == 0 && (rc = run_all(o, s, n, jobs)) < 0)
		err_set(&e, rc, "starting a segment: %s", strerror(-rc));
	for (uint32_t i = 0; rc == 0 && i < n; i++) {
		if (s[i].res->status != REPLAY_IDENTICAL && s[i].res->status != REPLAY_INCOMPLETE) {
			fprintf(stderr, "replay: segment %u of %u (from seq %" PRId64 ") diverged:\n", i + 1, n,
				s[i].from);
			show_report(&s[i], stderr);
			status = s[i].res->status == REPLAY_ERROR ? REPLAY_ERROR : REPLAY_DIVERGED;
			break;
		}
		if (i > 0 && strcmp(s[i - 1].res->end_digest, s[i].res->start_digest) != 0) {
			fprintf(stderr, "replay: divergence at seq %" PRId64 ": segment %u ends in another state than "
				"segment %u, started from the checkpoint after seq %" PRId64 ", passes there (the "
				"checkpoint is not what the replay reaches)\n", s[i - 1].until, i, i + 1, s[i].from);
			status = REPLAY_DIVERGED;
			break;
		}
		if (i + 1 == n) {
			fprintf(stderr, "replay: %u segments in up to %u processes, each identical and ending in "
				"the state the next one passes; the last one:\n", n, jobs);
			show_report(&s[i], stderr);
			status = s[i].res->status;
		}
	}
	if (rc < 0) {
		fprintf(stderr, "kvmrr replay: %s: %s\n", o->path, e.msg);
		status = REPLAY_ERROR;
	}
	for (uint32_t i = 0; i < n; i++) {
		if (s[i].out_fd >= 0)
			close(s[i].out_fd);
		if (s[i].res)
			munmap(s[i].res, sizeof(*s[i].res));
	}
	free(s);
	return status;
}
