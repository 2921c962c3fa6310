/* SPDX-License-Identifier: MIT */
/*
 * The page digests of format version 2 (stream/digest.h) on a real VM: the
 * final digest, computed at the end only for the pages written since the
 * load, must equal the same formula applied to every page of RAM read
 * afresh, after the VMM's marked writes and after a guest's own run (KVM's
 * dirty log). A recording of format version 1 is still compared with
 * version 1's digest (a SHA-256 of all RAM).
 */
#include <fcntl.h>
#include <unistd.h>

#include "stream/point.h"
#include "machine/machine.h"
#include "machine/sha256.h"
#include "tests/test.h"
#include "tests/tracer/tracer_e2e.h"
#include "replay/replay.h"
#include "stream/digest.h"
#include "stream/snapshot.h"

/* docs/log-format.md's formula, over every page of RAM (one region below 3 GiB). */
static void reference_digest(const struct machine *m, char hex[65])
{
	static const uint8_t zero[GUEST_PAGE_SIZE];
	const struct guest_mem_region *reg = &m->mem.regions[0];
	struct sha256 s;
	uint8_t le[8], out[32];

	TEST_ASSERT_EQ(m->mem.nregions, 1);
	sha256_init(&s);
	sha256_update(&s, "kvmrr-mem-v2", 12);
	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(m->mem.ram_size >> (8 * i));
	sha256_update(&s, le, 8);
	for (uint64_t p = 0; p < reg->size / GUEST_PAGE_SIZE; p++) {
		const uint8_t *data = reg->host + p * GUEST_PAGE_SIZE;
		uint64_t gpa = reg->gpa + p * GUEST_PAGE_SIZE, h;

		if (!memcmp(data, zero, GUEST_PAGE_SIZE))
			continue;
		for (int i = 0; i < 8; i++)
			le[i] = (uint8_t)(gpa >> (8 * i));
		sha256_update(&s, le, 8);
		h = stream_hash64(data, GUEST_PAGE_SIZE, 0);
		for (int i = 0; i < 8; i++)
			le[i] = (uint8_t)(h >> (8 * i));
		sha256_update(&s, le, 8);
	}
	sha256_final(&s, out);
	sha256_hex(out, hex);
}

static void make_machine(struct machine *m, const char *guest, int out_fd)
{
	struct err err = { 0 };
	struct machine_config cfg = { .mem_size = 64ULL << 20, .guest_path = guest,
				      .serial_out_fd = out_fd, .timeout_sec = 60, .dirty_log = true };

	TEST_ASSERT(machine_create(m, &cfg, &err) == 0, "machine_create: %s", err_text(&err));
	if (guest)
		TEST_ASSERT(machine_load(m, &err) == 0, "machine_load: %s", err_text(&err));
}

static void mark(struct machine *m, uint64_t page)
{
	m->written->bits[page / 64] |= 1ULL << (page % 64);
}

/* VMM writes after the load, marked in m->written: data into a never-populated page,
 * a page cleared back to zeros, a page changed by one byte. */
TEST(page_digest_follows_marked_writes)
{
	struct stream_mem_pages p = { 0 };
	struct machine m;
	uint8_t d[32], *host;
	char got[65], want[65], before[65];

	make_machine(&m, NULL, -1);
	host = m.mem.regions[0].host;
	memset(host + 5 * GUEST_PAGE_SIZE, 0xa5, GUEST_PAGE_SIZE);
	host[9 * GUEST_PAGE_SIZE + 100] = 1;
	host[200 * GUEST_PAGE_SIZE + 7] = 2;
	TEST_ASSERT_OK(stream_mem_pages_load(&p, &m));
	TEST_ASSERT(m.written == &p.written, "the machine tracks writes for the digest");
	TEST_ASSERT(p.hashed < 64, "load hashed %llu pages: only populated ones",
		    (unsigned long long)p.hashed);
	TEST_ASSERT_OK(stream_mem_pages_final(&p, &m, d, before));
	reference_digest(&m, want);
	TEST_ASSERT_STR_EQ(before, want);
	host[1000 * GUEST_PAGE_SIZE + 4095] = 3;
	mark(&m, 1000);
	memset(host + 5 * GUEST_PAGE_SIZE, 0, GUEST_PAGE_SIZE);
	mark(&m, 5);
	host[200 * GUEST_PAGE_SIZE + 7] = 4;
	mark(&m, 200);
	TEST_ASSERT_OK(stream_mem_pages_final(&p, &m, d, got));
	reference_digest(&m, want);
	TEST_ASSERT_STR_EQ(got, want);
	TEST_ASSERT(strcmp(got, before) != 0, "the digest changed with the pages");
	stream_mem_pages_free(&p);
	TEST_ASSERT(m.written == NULL, "tracking stops at free");
	machine_destroy(&m);
}

/*
 * A guest's own writes reach the digest through KVM's dirty log alone, also
 * when another reader (an asynchronous point) collected and cleared it first.
 */
TEST(page_digest_follows_guest_writes)
{
	struct stream_mem_pages p = { 0 };
	struct machine m;
	uint8_t d[32];
	char guest[512], loaded[65], got[65], want[65];
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	struct stream_dirty other;
	uint64_t at_load, seen = 0;

	TEST_ASSERT(null >= 0, "/dev/null");
	make_machine(&m, e2e_guest("hello", guest, sizeof(guest)), null);
	TEST_ASSERT_OK(stream_mem_pages_load(&p, &m));
	TEST_ASSERT_OK(stream_mem_pages_final(&p, &m, d, loaded));
	at_load = p.hashed;
	TEST_ASSERT_OK(machine_run(&m, NULL));
	TEST_ASSERT_EQ(m.end, END_GUEST_EXIT);
	/* Another reader of the dirty log (an asynchronous point) clears KVM's log first. */
	TEST_ASSERT_OK(stream_dirty_init(&other, &m));
	TEST_ASSERT_OK(stream_dirty_collect(&other, &m));
	for (size_t w = 0; w < other.words; w++)
		seen += (uint64_t)__builtin_popcountll(other.bits[w]);
	TEST_ASSERT(seen > 0, "the asynchronous reader saw the guest's pages");
	stream_dirty_free(&other);
	TEST_ASSERT_OK(stream_mem_pages_final(&p, &m, d, got));
	reference_digest(&m, want);
	printf("# %llu pages hashed at load, %llu at the end, of %llu\n", (unsigned long long)at_load,
	       (unsigned long long)(p.hashed - at_load),
	       (unsigned long long)(m.mem.ram_size / GUEST_PAGE_SIZE));
	TEST_ASSERT_STR_EQ(got, want);
	TEST_ASSERT(strcmp(got, loaded) != 0, "the guest's writes changed the digest");
	TEST_ASSERT(p.hashed > at_load, "the dirty log named written pages");
	TEST_ASSERT(p.hashed - at_load < m.mem.ram_size / GUEST_PAGE_SIZE / 16,
		    "the end hashed %llu pages: only written ones", (unsigned long long)(p.hashed - at_load));
	stream_mem_pages_free(&p);
	machine_destroy(&m);
	close(null);
}

/* `kvmrr replay REC` exit status, its output in *out (caller frees). */
static int replay_status(const char *rec, char **out)
{
	char bin[512], cmd[1024];

	test_build_path("cli/kvmrr", bin, sizeof(bin));
	snprintf(cmd, sizeof(cmd), "%s replay --quiet-console %s 2>&1", bin, rec);
	return test_run_capture(cmd, out);
}

static void set_meta(const char *rec, const char *key, const char *value)
{
	sqlite3 *db = tt_open(rec);
	char sql[256];

	snprintf(sql, sizeof(sql), "UPDATE meta SET value = '%s' WHERE key = '%s'", value, key);
	TEST_ASSERT(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "%s", sql);
	test_reseal(db);    /* the digest comparison is under test, not the seal of meta */
	sqlite3_close(db);
}

/* SHA-256 of all RAM after an in-process replay of rec, which must not use page digests. */
static void v1_digest_by_replay(const char *rec, char hex[65])
{
	struct replay_options opt = { .path = rec, .quiet_console = true, .until = -1 };
	struct replay r;
	uint8_t d[32];

	TEST_ASSERT(replay_open(&r, &opt) == 0, "replay_open: %s", err_text(&r.err));
	TEST_ASSERT(r.pages == NULL, "a version-1 recording gets no page digests");
	TEST_ASSERT(replay_run(&r) == 0, "replay_run: %s", err_text(&r.err));
	stream_mem_digest(&r.m.mem, d, hex);
	replay_close(&r);
}

TEST(version_1_recording_compares_the_whole_ram_digest)
{
	struct e2e_run rec;
	char v1[65], *out = NULL;

	e2e_record(&rec, "hello", (const char *const[]){ "--timeout", "60", NULL });
	TEST_ASSERT_EQ(rec.status, 1);
	TEST_ASSERT_EQ(replay_status(rec.rec, &out), 0);
	free(out);
	/* Version 2's digest, tampered: the final comparison sees it. */
	set_meta(rec.rec, "final_mem_digest", "00000000000000000000000000000000"
		 "00000000000000000000000000000000");
	TEST_ASSERT_EQ(replay_status(rec.rec, &out), 1);
	TEST_ASSERT(strstr(out, "guest memory"), "no memory difference reported: %s", out);
	free(out);
	/* The same file as version 1: its digest is the SHA-256 of all RAM. */
	set_meta(rec.rec, "format_version", "1");
	v1_digest_by_replay(rec.rec, v1);
	set_meta(rec.rec, "final_mem_digest", v1);
	TEST_ASSERT_EQ(replay_status(rec.rec, &out), 0);
	TEST_ASSERT(strstr(out, "identical"), "%s", out);
	free(out);
	v1[0] = v1[0] == '0' ? '1' : '0';
	set_meta(rec.rec, "final_mem_digest", v1);
	TEST_ASSERT_EQ(replay_status(rec.rec, &out), 1);
	TEST_ASSERT(strstr(out, "guest memory"), "no memory difference reported: %s", out);
	free(out);
	e2e_free(&rec);
	tt_cleanup(rec.dir);
}

TEST_MAIN()
