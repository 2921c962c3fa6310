/* SPDX-License-Identifier: MIT */
#include "replay/gdb_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "replay/gdb_target.h"

#define SUPPORTED "PacketSize=1000;QStartNoAckMode+;qXfer:features:read+;swbreak+;hwbreak+;" \
		  "ReverseContinue+;ReverseStep+;vContSupported+"

int gdb_session_send(struct gdb_session *s, const char *payload, size_t len)
{
	int n = gdb_frame(s->out, sizeof(s->out), payload, len);

	if (n < 0)
		return n;
	s->out_len = n;
	for (int o = 0; o < n;) {
		ssize_t w = write(s->fd, s->out + o, (size_t)(n - o));

		if (w <= 0)
			return -EPIPE;
		o += (int)w;
	}
	return 0;
}

static int send_str(struct gdb_session *s, const char *str)
{
	return gdb_session_send(s, str, strlen(str));
}

int gdb_session_print(struct gdb_session *s, const char *fmt, ...)
{
	char text[1200], hex[2 * sizeof(text) + 2];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if (n >= (int)sizeof(text))
		n = (int)sizeof(text) - 1;
	hex[0] = 'O';
	gdb_hex_encode(hex + 1, text, (size_t)n);
	return send_str(s, hex);
}

int gdb_session_stop(struct gdb_session *s, const struct gdb_stop *st)
{
	char buf[64];

	switch (st->kind) {
	case GDB_STOP_BREAK:
		return send_str(s, "T05hwbreak:;thread:01;");
	case GDB_STOP_WATCH:
		snprintf(buf, sizeof(buf), "T05watch:%" PRIx64 ";thread:01;", st->addr);
		return send_str(s, buf);
	case GDB_STOP_INTERRUPT:
		return send_str(s, "T02thread:01;");
	case GDB_STOP_BEGIN:
		return send_str(s, "T05replaylog:begin;thread:01;");
	case GDB_STOP_END:
		gdb_session_print(s, "kvmrr: %s\n", st->why);
		return send_str(s, "T05replaylog:end;thread:01;");
	default:
		return send_str(s, "T05thread:01;");
	}
}

static int reply_regs(struct gdb_session *s, int one)
{
	struct gdb_target_state st;
	uint8_t v[GDB_TARGET_REG_MAX];
	char out[2 * GDB_PACKET_MAX + 1];
	size_t o = 0;

	if (gdb_target_load(&s->x->r->m, &st) < 0)
		return send_str(s, "E05");
	for (int i = one < 0 ? 0 : one; i < (one < 0 ? GDB_TARGET_NREGS : one + 1); i++) {
		int n = gdb_target_reg(&st, (unsigned int)i, v);

		if (n < 0)
			return send_str(s, "E16");
		gdb_hex_encode(out + o, v, (size_t)n);
		o += 2 * (size_t)n;
	}
	return gdb_session_send(s, out, o);
}

static int reply_mem(struct gdb_session *s, const char *p)
{
	uint8_t data[GDB_PACKET_MAX / 2];
	char out[GDB_PACKET_MAX + 1];
	struct kvm_sregs sregs;
	uint64_t addr, len;
	int n;

	if (gdb_parse_hex(&p, &addr) < 0 || *p++ != ',' || gdb_parse_hex(&p, &len) < 0 || *p)
		return send_str(s, "E16");
	if (len > sizeof(data))
		len = sizeof(data);
	if (vcpu_get_sregs(&s->x->r->m.vcpu, &sregs) < 0)
		return send_str(s, "E05");
	n = gdb_target_read(&s->x->r->m, &sregs, addr, data, (size_t)len);
	if (n < 0)
		return send_str(s, "E0e");
	gdb_hex_encode(out, data, (size_t)n);
	return gdb_session_send(s, out, 2 * (size_t)n);
}

static int reply_xfer(struct gdb_session *s, const char *p)
{
	const char *xml = gdb_target_xml();
	size_t total = strlen(xml);
	char out[GDB_PACKET_MAX];
	uint64_t off, len;

	if (strncmp(p, "target.xml:", 11) != 0)
		return send_str(s, "E00");
	p += 11;
	if (gdb_parse_hex(&p, &off) < 0 || *p++ != ',' || gdb_parse_hex(&p, &len) < 0)
		return send_str(s, "E16");
	if (off > total)
		return send_str(s, "E16");
	if (len > sizeof(out) - 1)
		len = sizeof(out) - 1;
	if (len > total - off)
		len = total - off;
	out[0] = off + len < total ? 'm' : 'l';
	memcpy(out + 1, xml + off, (size_t)len);
	return gdb_session_send(s, out, (size_t)len + 1);
}

/* Z/z: type 0/1 instruction (both hardware), 2 write, 3 read (served as access), 4 access. */
static int reply_bp(struct gdb_session *s, const char *p, bool insert)
{
	static const enum gdb_bp_type types[5] = { GDB_BP_EXEC, GDB_BP_EXEC, GDB_BP_WRITE, GDB_BP_ACCESS,
						   GDB_BP_ACCESS };
	uint64_t type, addr, kind;
	int rc;

	if (gdb_parse_hex(&p, &type) < 0 || type > 4 || *p++ != ',' || gdb_parse_hex(&p, &addr) < 0 ||
	    *p++ != ',' || gdb_parse_hex(&p, &kind) < 0)
		return send_str(s, type > 4 ? "" : "E16");
	rc = insert ? gdb_exec_insert(s->x, types[type], addr, (unsigned int)kind) :
		      gdb_exec_remove(s->x, types[type], addr, (unsigned int)kind);
	if (rc == 0 && insert && type <= 1 && !s->warned_user_bp) {
		struct kvm_sregs sr;
		uint64_t gpa;
		bool user = false;

		if (vcpu_get_sregs(&s->x->r->m.vcpu, &sr) == 0 &&
		    gdb_target_translate(&s->x->r->m, &sr, addr, &gpa, &user) == 0 && user)
			s->warned_user_bp = 1;   /* said at the next continue (no console output here) */
	}
	return send_str(s, rc == -ENOSPC ? "E1c" : rc < 0 ? "E16" : "OK");
}

static int run(struct gdb_session *s, int (*fn)(struct gdb_exec *, struct gdb_stop *))
{
	struct gdb_stop st = { 0 };
	int rc;

	if (s->warned_user_bp == 1) {
		gdb_session_print(s, "kvmrr: a breakpoint is on a page the guest maps user-accessible: if the guest runs it at CPL3, "
				  "it cannot fire on a host whose KVM gives no breakpoints or single steps there (docs/host.md)\n");
		s->warned_user_bp = 2;
	}
	rc = fn(s->x, &st);
	if (rc < 0) {
		gdb_session_print(s, "kvmrr: %s\n", s->x->r->err.msg[0] ? s->x->r->err.msg : strerror(-rc));
		st.kind = GDB_STOP_END;
		snprintf(st.why, sizeof(st.why), "the replay failed; only going back (reverse, monitor seek) may help");
		s->x->ended = true;
	}
	return gdb_session_stop(s, &st);
}

static int vcont(struct gdb_session *s, const char *p)
{
	if (strcmp(p, "?") == 0)
		return send_str(s, "vCont;c;C;s;S");
	if (p[0] != ';')
		return send_str(s, "");
	if (p[1] == 's' || p[1] == 'S')
		return run(s, gdb_exec_step);
	if (p[1] == 'c' || p[1] == 'C')
		return run(s, gdb_exec_continue);
	return send_str(s, "E16");
}

static int query(struct gdb_session *s, const char *p)
{
	if (strncmp(p, "qSupported", 10) == 0)
		return send_str(s, SUPPORTED);
	if (strncmp(p, "qXfer:features:read:", 20) == 0)
		return reply_xfer(s, p + 20);
	if (strcmp(p, "qfThreadInfo") == 0)
		return send_str(s, "m01");
	if (strcmp(p, "qsThreadInfo") == 0)
		return send_str(s, "l");
	if (strcmp(p, "qC") == 0)
		return send_str(s, "QC01");
	if (strncmp(p, "qAttached", 9) == 0)
		return send_str(s, "1");
	if (strncmp(p, "qRcmd,", 6) == 0) {
		char cmd[GDB_PACKET_MAX / 2 + 1];
		size_t n = strlen(p + 6) / 2;

		if (strlen(p + 6) % 2 || gdb_hex_decode(cmd, p + 6, n) < 0)
			return send_str(s, "E16");
		cmd[n] = 0;
		return gdb_monitor(s, cmd);
	}
	return send_str(s, "");
}

static int dispatch(struct gdb_session *s, const char *p)
{
	switch (p[0]) {
	case '?': {
		struct gdb_stop st = { .kind = GDB_STOP_STEP };

		return gdb_session_stop(s, &st);
	}
	case 'g': return p[1] ? send_str(s, "E16") : reply_regs(s, -1);
	case 'p': {
		uint64_t n;

		p++;
		return gdb_parse_hex(&p, &n) < 0 || *p || n >= GDB_TARGET_NREGS ? send_str(s, "E16") :
		       reply_regs(s, (int)n);
	}
	case 'm': return reply_mem(s, p + 1);
	case 'G': case 'P': case 'M': case 'X':
		return send_str(s, "E01");   /* a replay is history: no writes */
	case 'c': return p[1] ? send_str(s, "E16") : run(s, gdb_exec_continue);
	case 's': return p[1] ? send_str(s, "E16") : run(s, gdb_exec_step);
	case 'b':
		if (strcmp(p, "bc") == 0)
			return run(s, gdb_exec_reverse_continue);
		if (strcmp(p, "bs") == 0)
			return run(s, gdb_exec_reverse_step);
		return send_str(s, "");
	case 'Z': return reply_bp(s, p + 1, true);
	case 'z': return reply_bp(s, p + 1, false);
	case 'H': return send_str(s, "OK");
	case 'T': return send_str(s, "OK");
	case 'q': return query(s, p);
	case 'Q':
		if (strcmp(p, "QStartNoAckMode") == 0) {
			int rc = send_str(s, "OK");

			s->noack = true;
			return rc;
		}
		return send_str(s, "");
	case 'v':
		if (strncmp(p, "vCont", 5) == 0)
			return vcont(s, p + 5);
		if (strncmp(p, "vKill", 5) == 0) {
			s->done = s->kill = true;
			return send_str(s, "OK");
		}
		return send_str(s, "");
	case 'D':
		s->done = true;
		return send_str(s, "OK");
	case 'k':
		s->done = s->kill = true;
		return 0;
	default:
		return send_str(s, "");
	}
}

/* One connection: packets until D, k or the connection closes. */
static int session(struct gdb_exec *x, int fd)
{
	struct gdb_session s = { .x = x, .fd = fd };
	uint8_t buf[4096];

	gdb_rx_init(&s.rx);
	x->sock = fd;
	while (!s.done) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n && !s.done; i++) {
			enum gdb_rx_event ev = gdb_rx_feed(&s.rx, buf[i]);
			int rc = 0;

			if (ev == GDB_RX_PACKET) {
				if (!s.noack && write(fd, "+", 1) != 1)
					return 0;
				rc = dispatch(&s, s.rx.buf);
			} else if (ev == GDB_RX_BAD_CSUM || ev == GDB_RX_OVERFLOW) {
				if (!s.noack && write(fd, "-", 1) != 1)
					return 0;
				if (ev == GDB_RX_OVERFLOW && s.noack)
					rc = send_str(&s, "E16");
			} else if (ev == GDB_RX_NACK && s.out_len) {
				rc = write(fd, s.out, (size_t)s.out_len) == s.out_len ? 0 : -EPIPE;
			}
			if (rc < 0)
				return 0;
		}
	}
	x->sock = -1;
	return s.kill;
}

static int listen_on(const char *hostport, struct err *e)
{
	char host[256] = "127.0.0.1";
	const char *colon = strrchr(hostport, ':');
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	char *end;
	long port;
	int fd, one = 1;

	if (colon && colon > hostport)
		snprintf(host, sizeof(host), "%.*s", (int)(colon - hostport), hostport);
	if (colon)
		hostport = colon + 1;
	port = strtol(hostport, &end, 10);
	if (*end || end == hostport || port < 0 || port > 65535)
		return err_set(e, -EINVAL, "--gdb %s: need [HOST:]PORT with PORT 0 to 65535", hostport);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return err_set(e, -EINVAL, "--gdb: host \"%s\" is not an IPv4 address", host);
	sa.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(e, -errno, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		int rc = -errno;

		close(fd);
		return err_set(e, rc, "--gdb: cannot listen on %s:%ld: %s", host, port, strerror(-rc));
	}
	fprintf(stderr, "kvmrr replay: gdb server listening on %s:%u (target remote %s:%u)\n", host,
		ntohs(sa.sin_port), host, ntohs(sa.sin_port));
	return fd;
}

int replay_gdb_serve(const struct replay_options *opt, const char *hostport)
{
	static struct replay r;
	static struct gdb_exec x;
	struct err e = { 0 };
	int lfd, rc;

	lfd = listen_on(hostport, &e);
	if (lfd < 0) {
		fprintf(stderr, "kvmrr replay: %s\n", e.msg);
		return REPLAY_ERROR;
	}
	rc = replay_open(&r, opt);
	if (rc < 0) {
		fprintf(stderr, "kvmrr replay: %s: %s\n", opt->path, r.err.msg);
		replay_close(&r);
		close(lfd);
		return REPLAY_ERROR;
	}
	gdb_exec_init(&x, &r, -1);
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), one = 1;

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "kvmrr replay: accept: %s\n", strerror(errno));
			break;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		rc = session(&x, fd);
		close(fd);
		if (rc)
			break;
		fprintf(stderr, "kvmrr replay: gdb detached; waiting for the next one\n");
	}
	replay_close(&r);
	close(lfd);
	return 0;
}
