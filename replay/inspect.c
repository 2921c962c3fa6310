/* SPDX-License-Identifier: MIT */
/*
 * kvmrr inspect REC.db --at SEQ WHAT: the machine right after exit SEQ,
 * reached by replaying from the latest checkpoint at or before it (and
 * verified on the way, like any replay).
 */
#include "replay/replay.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "stream/point.h"

#define INSPECT_MAX_LEN (1 << 20)

struct inspect_opts {
	struct replay_options replay;
	const char *what;           /* regs, sregs, mem, phys, pages-changed */
	uint64_t addr, len;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kvmrr inspect REC.db --at SEQ WHAT\n"
		"\n"
		"The state right after exit SEQ, replayed from the recording's latest\n"
		"checkpoint at or before SEQ. WHAT is one of:\n"
		"  regs              general registers, RIP and RFLAGS\n"
		"  sregs             control, segment and descriptor-table registers\n"
		"  mem GVA LEN       LEN bytes at guest virtual address GVA (the guest's page\n"
		"                    tables of its current CR3), as a hex dump\n"
		"  phys GPA LEN      LEN bytes at guest physical address GPA, as a hex dump\n"
		"  pages-changed     the guest pages written between exit SEQ-1 and exit SEQ\n"
		"\n"
		"exit status: 0 shown, 1 the replay diverged before SEQ, 2 error\n");
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || end == s || *end ? -1 : 0;
}

static int parse(int argc, char **argv, struct inspect_opts *o)
{
	static const struct option longopts[] = {
		{ "at", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	uint64_t at = UINT64_MAX;
	int c, rest;

	memset(o, 0, sizeof(*o));
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 1;
		}
		if (c != 'a' || parse_u64(optarg, &at) || at > INT64_MAX) {
			fprintf(stderr, "kvmrr inspect: see 'kvmrr inspect --help'\n");
			return -1;
		}
	}
	/* REC.db first; options may come after it too. */
	if (optind < argc && argv[optind][0] != '-')
		o->replay.path = argv[optind++];
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1)
		if (c != 'a' || parse_u64(optarg, &at) || at > INT64_MAX) {
			fprintf(stderr, "kvmrr inspect: --at needs a seq; see 'kvmrr inspect --help'\n");
			return -1;
		}
	rest = argc - optind;
	if (!o->replay.path || at == UINT64_MAX || rest < 1) {
		fprintf(stderr, "kvmrr inspect: need REC.db, --at SEQ and what to show; see 'kvmrr inspect --help'\n");
		return -1;
	}
	o->what = argv[optind];
	if (!strcmp(o->what, "mem") || !strcmp(o->what, "phys")) {
		if (rest != 3 || parse_u64(argv[optind + 1], &o->addr) || parse_u64(argv[optind + 2], &o->len) ||
		    !o->len || o->len > INSPECT_MAX_LEN) {
			fprintf(stderr, "kvmrr inspect: %s needs ADDRESS and LEN (1 to %d bytes)\n", o->what,
				INSPECT_MAX_LEN);
			return -1;
		}
	} else if (rest != 1 || (strcmp(o->what, "regs") && strcmp(o->what, "sregs") &&
				 strcmp(o->what, "pages-changed"))) {
		fprintf(stderr, "kvmrr inspect: unknown '%s'; see 'kvmrr inspect --help'\n", o->what);
		return -1;
	}
	o->replay.until = (int64_t)at;
	o->replay.from = -1;
	o->replay.probe = -1;
	o->replay.quiet_console = true;
	return 0;
}

static void hexdump(uint64_t addr, const uint8_t *p, uint64_t len)
{
	for (uint64_t off = 0; off < len; off += 16) {
		uint64_t n = len - off < 16 ? len - off : 16;

		printf("%016" PRIx64 " ", addr + off);
		for (uint64_t i = 0; i < 16; i++)
			printf(i < n ? " %02x" : "   ", p[off + i]);
		printf("  |");
		for (uint64_t i = 0; i < n; i++)
			putchar(isprint(p[off + i]) ? p[off + i] : '.');
		printf("|\n");
	}
}

/* LEN bytes at GVA through the guest's page tables (KVM_TRANSLATE), one page at a time. */
static int read_virt(struct replay *r, uint64_t gva, uint8_t *buf, uint64_t len)
{
	for (uint64_t done = 0; done < len;) {
		struct kvm_translation tr = { .linear_address = gva + done };
		uint64_t n = GUEST_PAGE_SIZE - ((gva + done) % GUEST_PAGE_SIZE);

		if (n > len - done)
			n = len - done;
		if (vcpu_translate_gva(&r->m.vcpu, &tr) < 0 || !tr.valid)
			return err_set(&r->err, -EFAULT, "virtual address 0x%" PRIx64 " is not mapped", gva + done);
		if (guest_mem_read(&r->m.mem, tr.physical_address, buf + done, n) < 0)
			return err_set(&r->err, -EFAULT, "virtual address 0x%" PRIx64 " maps to 0x%llx, outside RAM",
				       gva + done, tr.physical_address);
		done += n;
	}
	return 0;
}

static int show_memory(struct replay *r, const struct inspect_opts *o)
{
	uint8_t *buf = malloc(o->len);
	int rc;

	if (!buf)
		return err_set(&r->err, -ENOMEM, "out of memory");
	if (!strcmp(o->what, "phys")) {
		rc = guest_mem_read(&r->m.mem, o->addr, buf, o->len);
		if (rc < 0)
			err_set(&r->err, rc, "0x%" PRIx64 "+%" PRIu64 " is not in guest RAM", o->addr, o->len);
	} else {
		rc = read_virt(r, o->addr, buf, o->len);
	}
	if (rc == 0)
		hexdump(o->addr, buf, o->len);
	free(buf);
	return rc;
}

/* Replay on from SEQ-1 to SEQ with the dirty log cleared in between. */
static int show_pages_changed(struct replay *r, int64_t at)
{
	struct stream_dirty d;
	uint64_t *gpas;
	size_t n;
	int rc = stream_dirty_init(&d, &r->m);

	if (rc < 0)
		return err_set(&r->err, rc, "out of memory");
	rc = stream_dirty_collect(&d, &r->m);   /* forget what came before SEQ-1 */
	stream_dirty_clear(&d);
	if (rc == 0)
		rc = replay_continue(r, at);
	if (rc == 0 && r->divergences)
		rc = 1;
	if (rc == 0)
		rc = stream_dirty_collect(&d, &r->m);
	if (rc == 0) {
		n = stream_dirty_pages(&d, &r->m, NULL, 0);
		gpas = calloc(n ? n : 1, sizeof(*gpas));
		if (!gpas) {
			rc = -ENOMEM;
		} else {
			stream_dirty_pages(&d, &r->m, gpas, n);
			printf("%zu pages written by the guest between exit %" PRId64 " and exit %" PRId64 ":\n",
			       n, at - 1, at);
			for (size_t i = 0; i < n; i++)
				printf("  0x%" PRIx64 "\n", gpas[i]);
			free(gpas);
		}
	}
	stream_dirty_free(&d);
	if (rc < 0 && !r->err.msg[0])
		err_set(&r->err, rc, "reading the dirty log: %s", strerror(-rc));
	return rc;
}

int replay_inspect_cmd(int argc, char **argv)
{
	static struct replay r;
	struct inspect_opts o;
	bool pages;
	int64_t at;
	int rc = parse(argc, argv, &o);

	if (rc != 0)
		return rc > 0 ? 0 : REPLAY_ERROR;
	pages = !strcmp(o.what, "pages-changed");
	at = o.replay.until;
	if (pages && o.replay.until == 0) {
		fprintf(stderr, "kvmrr inspect: pages-changed needs a seq after the first exit\n");
		return REPLAY_ERROR;
	}
	o.replay.dirty_log = pages;
	if (pages)
		o.replay.until--;   /* stop before SEQ, then go on to it */
	rc = replay_open(&r, &o.replay);
	if (rc == 0)
		rc = replay_run(&r);
	if (rc == 0 && (r.divergences || !r.until_reached)) {
		replay_report(&r, stderr);
		replay_close(&r);
		return REPLAY_DIVERGED;
	}
	if (rc == 0 && pages)
		rc = show_pages_changed(&r, at);
	else if (rc == 0 && !strcmp(o.what, "regs"))
		machine_dump_gprs(&r.m, stdout);
	else if (rc == 0 && !strcmp(o.what, "sregs"))
		machine_dump_sregs(&r.m, stdout);
	else if (rc == 0)
		rc = show_memory(&r, &o);
	if (rc == 1) {
		replay_report(&r, stderr);
		replay_close(&r);
		return REPLAY_DIVERGED;
	}
	if (rc < 0)
		fprintf(stderr, "kvmrr inspect: %s: %s\n", o.replay.path, r.err.msg[0] ? r.err.msg : strerror(-rc));
	replay_close(&r);
	return rc < 0 ? REPLAY_ERROR : 0;
}
