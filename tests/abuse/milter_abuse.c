/*
 * NAME
 *	milter_abuse - milter-protocol abuse of a running mailauthd
 * SUMMARY
 *	connections closed at every stage, aborts, QUIT without connect,
 *	QUIT_NC reuse, many messages per connection, many connections,
 *	oversized and malformed packets
 * SYNOPSIS
 *	milter_abuse -s SOCKET -m MSG_FILE [-n MSGS] [-c CONNS] [-k CASE]
 * DESCRIPTION
 *	Run by tests/abuse.sh against a mailauthd it started with the
 *	tests/bench/load_data.py data set. MSG_FILE is a message that
 *	mailauthd accepts from 203.0.113.25 as daemon MX
 *	(msg/verify-1.eml: From sender1.example, SPF and DKIM pass).
 *
 *	Every case is one function; after each one a normal message on a
 *	fresh connection must still be accepted (the daemon is alive and
 *	serving). Per case one line "PASS name" or "FAIL name: why", then
 *	"milter_abuse: N passed, N failed". With -k only that case runs.
 *
 *	Well-formed traffic goes through tests/bench/mta_proto.c (what
 *	the milter negotiates is honoured); malformed packets are written
 *	raw on a connection negotiated without no-reply steps, so that
 *	every step the daemon still accepts is answered.
 * MEMORY
 *	The message file is read once; connections are closed and freed
 *	by each case.
 * LIMITS
 *	-n messages on one connection (default 5000), -c connections at
 *	once (default 2000; RLIMIT_NOFILE is raised to fit, the daemon's
 *	own limit is the caller's business); every read is bounded
 *	(IO_TIMEOUT seconds).
 * DIAGNOSTICS
 *	Exit 0 when every case passed, 1 otherwise, 2 for usage errors.
 * THREADS
 *	One thread.
 * STANDARDS
 *	Sendmail milter protocol version 6 (libmilter/docs, mfdef.h).
 * SEE ALSO
 *	tests/abuse.sh, tests/bench/mta_proto.c, filter/mproto.c.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../bench/mta_proto.h"
#include "../bench/msg_file.h"

#define IO_TIMEOUT	20		/* seconds, every wait */
#define PACKET_MAX	(1024 * 1024)	/* MA_MPROTO_PACKET_MAX */
#define CONNS_MAX	4000

static const char *sock_spec;
static const char *sock_path;
static struct msg_file msg;
static unsigned n_per_conn = 5000;
static unsigned n_conns = 2000;
static unsigned passed, failed;
static char why[256];

/* bad - set the failure reason; returns -1 */
static int __attribute__((format(printf, 1, 2)))
bad(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void) vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return (-1);
}

/* ------------------------------------------------------------ mta_proto */

static const struct mta_macro conn_macros[] = {
	{"j", "mx.abuse.example"}, {"{daemon_name}", "MX"},
	{"{daemon_addr}", "127.0.0.1"}, {"v", "Postfix 3.7.11"},
	{"{client_addr}", "203.0.113.25"},
	{"{client_name}", "mail.sender1.example"},
	{"{client_port}", "40000"},
};
#define N_CONN_MACROS (sizeof(conn_macros) / sizeof(conn_macros[0]))

/* stages at which a session may be left */
enum stop_at {
	AT_CONNECT, AT_HELO, AT_MAIL, AT_RCPT, AT_HEADER, AT_EOH, AT_BODY,
	AT_EOM_SENT, AT_NONE
};

/* is_final - an answer that ends the message */
static int
is_final(const struct mta_reply *r)
{
	return (r->final != MTA_R_NONE && r->final != MTA_R_CONTINUE &&
		r->final != MTA_R_SKIP);
}

/* final_name - for messages */
static const char *
final_name(enum mta_final f)
{
	static const char *const n[] = {"none", "continue", "accept", "reject",
	    "tempfail", "discard", "replycode", "skip"};

	return ((unsigned) f < sizeof(n) / sizeof(n[0]) ? n[f] : "?");
}

/* open_conn - connected and negotiated; NULL with why set */
static struct mta_conn *
open_conn(void)
{
	struct mta_conn *c;
	char	err[MTA_ERR_MAX];

	if ((c = mta_open(sock_spec, IO_TIMEOUT, err, sizeof(err))) == NULL) {
		(void) bad("open: %s", err);
		return (NULL);
	}
	if (mta_optneg(c, MTA_F_ALL, MTA_P_ALL) < 0) {
		(void) bad("optneg: %s", mta_error(c));
		mta_close(&c);
	}
	return (c);
}

/* session - CONNECT and HELO on c; stops early at AT_CONNECT/AT_HELO */
static int
session(struct mta_conn *c, enum stop_at at)
{
	struct mta_reply r;

	if (mta_connect(c, conn_macros, N_CONN_MACROS, "mail.sender1.example",
			"203.0.113.25", 40000, &r) < 0)
		return (bad("connect: %s", mta_error(c)));
	if (is_final(&r))
		return (bad("connect answered %s", final_name(r.final)));
	if (at == AT_CONNECT)
		return (mta_flush(c));
	if (mta_helo(c, NULL, 0, "mail.sender1.example", &r) < 0)
		return (bad("helo: %s", mta_error(c)));
	if (is_final(&r))
		return (bad("helo answered %s", final_name(r.final)));
	return (at == AT_HELO ? mta_flush(c) : 0);
}

/*
 * message - MAIL .. EOM of the message file on a session; with at other
 * than AT_NONE stop (flushed) before finishing. The final reply in *out.
 */
static int
message(struct mta_conn *c, enum stop_at at, enum mta_final *out)
{
	static unsigned long seq;
	struct mta_reply r;
	char	qid[32];
	struct mta_macro im[] = {{"i", qid}};
	struct mta_macro mm[] = {{"i", qid},
	    {"{mail_addr}", "bounce@sender1.example"}};
	struct mta_macro rm[] = {{"i", qid},
	    {"{rcpt_addr}", "user1@rcpt.example"},
	    {"{rcpt_host}", "rcpt.example"}, {"{rcpt_mailer}", "smtp"}};
	size_t	i, off, n;

	*out = MTA_R_NONE;
	(void) snprintf(qid, sizeof(qid), "4AB%09lX", ++seq);
	if (mta_mail(c, mm, 2, "bounce@sender1.example", &r) < 0)
		return (bad("mail: %s", mta_error(c)));
	if (at == AT_MAIL)
		return (mta_flush(c));
	if (!is_final(&r) &&
	    mta_rcpt(c, rm, 4, "user1@rcpt.example", &r) < 0)
		return (bad("rcpt: %s", mta_error(c)));
	if (at == AT_RCPT)
		return (mta_flush(c));
	if (!is_final(&r) && mta_data(c, im, 1, &r) < 0)
		return (bad("data: %s", mta_error(c)));
	for (i = 0; i < msg.nf && !is_final(&r); i++) {
		if (mta_header(c, msg.f[i].name, msg.f[i].nlen,
			       msg.f[i].value, msg.f[i].vlen, &r) < 0)
			return (bad("header: %s", mta_error(c)));
		if (at == AT_HEADER && i == msg.nf / 2)
			return (mta_flush(c));
	}
	if (!is_final(&r) && mta_eoh(c, im, 1, &r) < 0)
		return (bad("eoh: %s", mta_error(c)));
	if (at == AT_EOH)
		return (mta_flush(c));
	for (off = 0; off < msg.blen && !is_final(&r) &&
	     r.final != MTA_R_SKIP; off += n) {
		n = msg.blen - off < MTA_BODY_CHUNK ? msg.blen - off :
		    MTA_BODY_CHUNK;
		if (at == AT_BODY)
			n = msg.blen / 2;
		if (mta_body(c, msg.body + off, n, &r) < 0)
			return (bad("body: %s", mta_error(c)));
		if (at == AT_BODY)
			return (mta_flush(c));
	}
	if (is_final(&r)) {
		*out = r.final;
		return (mta_abort(c));
	}
	if (at == AT_EOM_SENT) {	/* EOM written, its reply never read */
		static const unsigned char eom[5] = {0, 0, 0, 1, 'E'};

		if (mta_flush(c) < 0 ||
		    write(mta_fd(c), eom, sizeof(eom)) != sizeof(eom))
			return (bad("eom: %s", strerror(errno)));
		return (0);
	}
	if (mta_eom(c, im, 1, &r) < 0)
		return (bad("eom: %s", mta_error(c)));
	*out = r.final;
	return (0);
}

/* expect_accept - one more message on c must be accepted */
static int
expect_accept(struct mta_conn *c)
{
	enum mta_final f;

	if (message(c, AT_NONE, &f) < 0)
		return (-1);
	if (f != MTA_R_ACCEPT)
		return (bad("message answered %s, not accept", final_name(f)));
	return (0);
}

/* normal - a fresh connection, one message, accept, QUIT */
static int
normal(void)
{
	struct mta_conn *c;
	int	rc;

	if ((c = open_conn()) == NULL)
		return (-1);
	rc = session(c, AT_NONE) < 0 ? -1 : expect_accept(c);
	(void) mta_quit(c);
	mta_close(&c);
	return (rc);
}

/* ------------------------------------------------------------ raw */

/* raw_open - a bare connection to the unix socket; -1 with why */
static int
raw_open(void)
{
	struct sockaddr_un su;
	struct timeval tv = {IO_TIMEOUT, 0};
	int	fd;

	memset(&su, 0, sizeof(su));
	su.sun_family = AF_UNIX;
	(void) snprintf(su.sun_path, sizeof(su.sun_path), "%s", sock_path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return (bad("socket: %s", strerror(errno)));
	(void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *) &su, sizeof(su)) < 0) {
		(void) bad("connect %s: %s", sock_path, strerror(errno));
		(void) close(fd);
		return (-1);
	}
	return (fd);
}

/* raw_write - all of p; -1 on error (EPIPE counts: SIGPIPE ignored) */
static int
raw_write(int fd, const void *p, size_t n)
{
	const char *s = p;
	ssize_t	w;

	while (n > 0) {
		if ((w = write(fd, s, n)) < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return (-1);
		s += w;
		n -= (size_t) w;
	}
	return (0);
}

/* raw_pkt - one packet: length, cmd, data */
static int
raw_pkt(int fd, int cmd, const void *data, size_t len)
{
	unsigned char h[5];
	uint32_t n = htonl((uint32_t) (len + 1));

	memcpy(h, &n, 4);
	h[4] = (unsigned char) cmd;
	if (raw_write(fd, h, 5) < 0 || (len > 0 && raw_write(fd, data, len) < 0))
		return (bad("write: %s", strerror(errno)));
	return (0);
}

/* raw_read - exactly n bytes; 0 on EOF before any, -1 error/timeout */
static int
raw_read(int fd, void *p, size_t n)
{
	char   *s = p;
	size_t	got = 0;
	ssize_t	r;

	while (got < n) {
		if ((r = read(fd, s + got, n - got)) < 0 && errno == EINTR)
			continue;
		if (r == 0 && got == 0)
			return (0);
		if (r <= 0)
			return (bad("read: %s", r ? strerror(errno) : "EOF"));
		got += (size_t) r;
	}
	return (1);
}

/* raw_reply - one reply packet's command; data dropped. -1 error or EOF */
static int
raw_reply(int fd)
{
	unsigned char h[5];
	char	buf[4096];
	uint32_t n;
	size_t	k;
	int	rc;

	if ((rc = raw_read(fd, h, 5)) <= 0)
		return (rc == 0 ? bad("connection closed") : -1);
	memcpy(&n, h, 4);
	n = ntohl(n);
	if (n == 0 || n > PACKET_MAX)
		return (bad("reply of %u bytes", (unsigned) n));
	for (n--; n > 0; n -= (uint32_t) k) {
		k = n < sizeof(buf) ? n : sizeof(buf);
		if (raw_read(fd, buf, k) <= 0)
			return (bad("short reply"));
	}
	return (h[4]);
}

/* raw_final - replies until a final one (EOM sends edits first) */
static int
raw_final(int fd)
{
	int	cmd;

	while ((cmd = raw_reply(fd)) >= 0)
		if (cmd == 0 || strchr("+-2bhimepq", cmd) == NULL)
			return (cmd);	/* not an edit or progress */
	return (-1);
}

/* raw_closed - the daemon closes fd (EOF or reset) within IO_TIMEOUT */
static int
raw_closed(int fd)
{
	char	buf[4096];
	ssize_t	r;

	for (;;) {
		r = read(fd, buf, sizeof(buf));
		if (r == 0 || (r < 0 && errno == ECONNRESET))
			return (0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return (bad("not closed: %s", strerror(errno)));
		/* replies to what came before the abuse: read on */
	}
}

/* raw_optneg - negotiate offering no skipped or no-reply steps */
static int
raw_optneg(int fd)
{
	uint32_t v[3] = {htonl(6), htonl(MTA_F_ALL),
	    htonl(MTA_P_HDR_LEADSPC)};
	int	cmd;

	if (raw_pkt(fd, 'O', v, sizeof(v)) < 0)
		return (-1);
	if ((cmd = raw_reply(fd)) != 'O')
		return (cmd < 0 ? -1 : bad("optneg answered 0x%02x", cmd));
	return (0);
}

/* raw_step - a command with its reply, which must be continue */
static int
raw_step(int fd, int cmd, const void *data, size_t len)
{
	int	r;

	if (raw_pkt(fd, cmd, data, len) < 0)
		return (-1);
	if ((r = raw_reply(fd)) != 'c')
		return (r < 0 ? -1 : bad("'%c' answered '%c'", cmd, r));
	return (0);
}

/* raw_session - optneg, CONNECT (IPv4), HELO; the socket or -1 */
static int
raw_session(void)
{
	static const char conn[] = "mail.sender1.example\0" "4\x9c\x40"
	    "203.0.113.25";
	char	mac[256];
	size_t	ml = 0;
	size_t	i;
	int	fd;

	if ((fd = raw_open()) < 0)
		return (-1);
	mac[ml++] = 'C';
	for (i = 0; i < N_CONN_MACROS; i++) {
		ml += (size_t) snprintf(mac + ml, sizeof(mac) - ml, "%s",
					conn_macros[i].name) + 1;
		ml += (size_t) snprintf(mac + ml, sizeof(mac) - ml, "%s",
					conn_macros[i].value) + 1;
	}
	if (raw_optneg(fd) < 0 || raw_pkt(fd, 'D', mac, ml) < 0 ||
	    raw_step(fd, 'C', conn, sizeof(conn)) < 0 ||
	    raw_step(fd, 'H', "mail.sender1.example", 21) < 0) {
		(void) close(fd);
		return (-1);
	}
	return (fd);
}

/* raw_rest - RCPT .. EOM of the message after a MAIL; the final reply */
static int
raw_rest(int fd)
{
	char	buf[MTA_BODY_CHUNK + 1];
	size_t	i, off, n, l;
	int	r;

	if (raw_step(fd, 'R', "<user1@rcpt.example>", 21) < 0 ||
	    raw_step(fd, 'T', NULL, 0) < 0)
		return (-1);
	for (i = 0; i < msg.nf; i++) {
		l = msg.f[i].nlen + msg.f[i].vlen + 2;
		if (l > sizeof(buf))
			return (bad("header field too long"));
		memcpy(buf, msg.f[i].name, msg.f[i].nlen);
		buf[msg.f[i].nlen] = '\0';
		memcpy(buf + msg.f[i].nlen + 1, msg.f[i].value, msg.f[i].vlen);
		buf[l - 1] = '\0';
		if (raw_step(fd, 'L', buf, l) < 0)
			return (-1);
	}
	if (raw_step(fd, 'N', NULL, 0) < 0)
		return (-1);
	for (off = 0; off < msg.blen; off += n) {
		n = msg.blen - off < MTA_BODY_CHUNK ? msg.blen - off :
		    MTA_BODY_CHUNK;
		if (raw_step(fd, 'B', msg.body + off, n) < 0)
			return (-1);
	}
	if (raw_pkt(fd, 'E', NULL, 0) < 0 || (r = raw_final(fd)) < 0)
		return (-1);
	if (r != 'a')
		return (bad("EOM answered '%c', not accept", r));
	return (0);
}

/* ------------------------------------------------------------ cases */

/* close_raw - connect to the socket, close at once */
static int
close_raw(void)
{
	int	fd;

	if ((fd = raw_open()) < 0)
		return (-1);
	(void) close(fd);
	return (0);
}

/* close_optneg - close right after the negotiation */
static int
close_optneg(void)
{
	struct mta_conn *c;

	if ((c = open_conn()) == NULL)
		return (-1);
	mta_close(&c);
	return (0);
}

/* close_at - close without QUIT after stage at */
static int
close_at(enum stop_at at)
{
	struct mta_conn *c;
	enum mta_final f;
	int	rc;

	if ((c = open_conn()) == NULL)
		return (-1);
	rc = session(c, at);
	if (rc == 0 && at > AT_HELO)
		rc = message(c, at, &f);
	mta_close(&c);
	return (rc);
}

/* abort_mid_body - ABORT halfway through the body, then a whole message */
static int
abort_mid_body(void)
{
	struct mta_conn *c;
	enum mta_final f;
	int	rc;

	if ((c = open_conn()) == NULL)
		return (-1);
	rc = session(c, AT_NONE);
	if (rc == 0)
		rc = message(c, AT_BODY, &f);
	if (rc == 0 && mta_abort(c) < 0)
		rc = bad("abort: %s", mta_error(c));
	if (rc == 0)
		rc = expect_accept(c);
	(void) mta_quit(c);
	mta_close(&c);
	return (rc);
}

/* quit_no_connect - QUIT right after the negotiation (and before it) */
static int
quit_no_connect(void)
{
	struct mta_conn *c;
	int	fd, rc;

	if ((fd = raw_open()) < 0)
		return (-1);
	rc = raw_pkt(fd, 'Q', NULL, 0);
	if (rc == 0)
		rc = raw_closed(fd);
	(void) close(fd);
	if (rc < 0)
		return (-1);
	if ((c = open_conn()) == NULL)
		return (-1);
	rc = mta_quit(c) < 0 ? bad("quit: %s", mta_error(c)) :
	    raw_closed(mta_fd(c));
	mta_close(&c);
	return (rc);
}

/* quit_nc_reuse - QUIT_NC between sessions, three sessions, 2 messages */
static int
quit_nc_reuse(void)
{
	struct mta_conn *c;
	int	i, rc = 0;

	if ((c = open_conn()) == NULL)
		return (-1);
	for (i = 0; i < 3 && rc == 0; i++) {
		rc = session(c, AT_NONE);
		if (rc == 0)
			rc = expect_accept(c);
		if (rc == 0)
			rc = expect_accept(c);
		if (rc == 0 && mta_quit_nc(c) < 0)
			rc = bad("quit_nc: %s", mta_error(c));
	}
	/* and a QUIT_NC with a message open */
	if (rc == 0)
		rc = session(c, AT_NONE);
	if (rc == 0)
		rc = message(c, AT_EOH, &(enum mta_final){0});
	if (rc == 0 && mta_quit_nc(c) < 0)
		rc = bad("quit_nc: %s", mta_error(c));
	if (rc == 0 && (rc = session(c, AT_NONE)) == 0)
		rc = expect_accept(c);
	(void) mta_quit(c);
	mta_close(&c);
	return (rc);
}

/* many_messages - n_per_conn messages on one connection */
static int
many_messages(void)
{
	struct mta_conn *c;
	unsigned i;
	int	rc;

	if ((c = open_conn()) == NULL)
		return (-1);
	rc = session(c, AT_NONE);
	for (i = 0; i < n_per_conn && rc == 0; i++)
		if ((rc = expect_accept(c)) < 0)
			(void) snprintf(why + strlen(why),
					sizeof(why) - strlen(why),
					" (message %u)", i + 1);
	(void) mta_quit(c);
	mta_close(&c);
	return (rc);
}

/* raise_nofile - room for n more descriptors */
static int
raise_nofile(unsigned n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return (bad("getrlimit: %s", strerror(errno)));
	if (rl.rlim_cur >= n + 64)
		return (0);
	rl.rlim_cur = n + 64;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < rl.rlim_cur)
		return (bad("RLIMIT_NOFILE hard limit %lu < %u",
			    (unsigned long) rl.rlim_max, n + 64));
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return (bad("setrlimit: %s", strerror(errno)));
	return (0);
}

/*
 * many_conns - n_conns sessions open at once, a message on each; then
 * 100 more than the daemon's 2048 threads: their negotiation waits
 * until connections close, then is answered.
 */
static int
many_conns(void)
{
	static struct mta_conn *cs[CONNS_MAX];
	static int extra[200];
	unsigned i, n = n_conns, nextra = 0, open_now;
	int	rc = 0, cmd;

	if (n > CONNS_MAX)
		n = CONNS_MAX;
	if (raise_nofile(n + 200) < 0)
		return (-1);
	for (i = 0; i < n && rc == 0; i++)
		if ((cs[i] = open_conn()) == NULL ||
		    session(cs[i], AT_NONE) < 0)
			rc = -1;
	open_now = i;
	if (rc < 0)
		(void) snprintf(why + strlen(why), sizeof(why) - strlen(why),
				" (connection %u)", i);
	for (i = 0; i < open_now && rc == 0; i++)
		if ((rc = expect_accept(cs[i])) < 0)
			(void) snprintf(why + strlen(why),
					sizeof(why) - strlen(why),
					" (connection %u)", i);
	/* beyond the pool: 2048 - n + 100 more, negotiation sent */
	if (rc == 0 && n + 100 > 2048) {
		nextra = n + 100 - 2048 + 48;
		if (nextra > 200)
			nextra = 200;
		for (i = 0; i < nextra && rc == 0; i++) {
			uint32_t v[3] = {htonl(6), htonl(MTA_F_ALL), 0};

			if ((extra[i] = raw_open()) < 0 ||
			    raw_pkt(extra[i], 'O', v, sizeof(v)) < 0) {
				rc = -1;
				nextra = i + (extra[i] >= 0);
			}
		}
		/* free pool places: close 250 of the first ones */
		for (i = 0; i < 250 && i < open_now; i++) {
			(void) mta_quit(cs[i]);
			mta_close(&cs[i]);
		}
		for (i = 0; i < nextra && rc == 0; i++)
			if ((cmd = raw_reply(extra[i])) != 'O')
				rc = cmd < 0 ? -1 :
				    bad("extra %u: optneg answered %c", i, cmd);
	}
	for (i = 0; i < nextra; i++)
		if (extra[i] >= 0)
			(void) close(extra[i]);
	for (i = 0; i < open_now; i++) {
		if (cs[i] != NULL)
			(void) mta_quit(cs[i]);
		mta_close(&cs[i]);
	}
	return (rc);
}

/* big_macro - a macro packet of len bytes at stage st, name, then 'x's */
static int
big_macro(int fd, int st, const char *name, size_t len)
{
	char   *p;
	size_t	nl = strlen(name) + 1;
	int	rc;

	if ((p = malloc(len)) == NULL)
		return (bad("out of memory"));
	memset(p, 'x', len);
	p[0] = (char) st;
	memcpy(p + 1, name, nl);
	p[len - 1] = '\0';
	rc = raw_pkt(fd, 'D', p, len);
	free(p);
	return (rc);
}

/* macro_under - macros of a packet at the limit are taken; accept */
static int
macro_under(void)
{
	int	fd, rc;

	if ((fd = raw_session()) < 0)
		return (-1);
	/* packet length counts the command byte: PACKET_MAX exactly */
	rc = big_macro(fd, 'M', "{junk}", PACKET_MAX - 1);
	if (rc == 0)
		rc = big_macro(fd, 'M', "{mail_host}", PACKET_MAX - 1);
	if (rc == 0)
		rc = raw_step(fd, 'M', "<bounce@sender1.example>", 25);
	if (rc == 0)
		rc = raw_rest(fd);
	(void) close(fd);
	return (rc);
}

/* macro_big_qid - a queue id (i) of almost 1 MiB: a verdict or a close */
static int
macro_big_qid(void)
{
	int	fd, rc;

	if ((fd = raw_session()) < 0)
		return (-1);
	rc = big_macro(fd, 'M', "i", PACKET_MAX - 1);
	if (rc == 0)
		rc = raw_pkt(fd, 'M', "<bounce@sender1.example>", 25);
	if (rc == 0)	/* whatever it answers, or a close */
		(void) raw_reply(fd);
	(void) close(fd);
	return (rc);
}

/* macro_over - one byte over the limit: the daemon closes */
static int
macro_over(void)
{
	int	fd, rc;

	if ((fd = raw_session()) < 0)
		return (-1);
	(void) big_macro(fd, 'M', "{junk}", PACKET_MAX);	/* may EPIPE */
	rc = raw_closed(fd);
	(void) close(fd);
	return (rc);
}

/* bad_length - a length field of v after a valid session: closed */
static int
bad_length(uint32_t v)
{
	unsigned char h[9];
	int	fd, rc;

	if ((fd = raw_session()) < 0)
		return (-1);
	v = htonl(v);
	memcpy(h, &v, 4);
	memcpy(h + 4, "Mabcd", 5);
	rc = raw_write(fd, h, sizeof(h));
	if (rc == 0)
		rc = raw_closed(fd);
	(void) close(fd);
	return (rc);
}

static int len_zero(void) { return (bad_length(0)); }
static int len_max(void) { return (bad_length(0xffffffffu)); }

/* unknown_cmds - unknown command bytes, before and after negotiation */
static int
unknown_cmds(void)
{
	static const unsigned char cmds[] = {0x00, 0xff, 'Z', 'z', 0x7f};
	size_t	i;
	int	fd, rc = 0;

	for (i = 0; i < sizeof(cmds) && rc == 0; i++) {
		if ((fd = raw_open()) < 0)
			return (-1);
		rc = raw_pkt(fd, cmds[i], "abc", 3);
		if (rc == 0)
			rc = raw_closed(fd);
		(void) close(fd);
		if (rc == 0 && (fd = raw_session()) < 0)
			return (-1);
		if (rc == 0)
			rc = raw_pkt(fd, cmds[i], NULL, 0);
		if (rc == 0)
			rc = raw_closed(fd);
		(void) close(fd);
	}
	return (rc);
}

/* header_no_nul - header packets without their NULs: closed */
static int
header_no_nul(void)
{
	static const struct {
		const char *p;
		size_t	len;
	} h[] = {
		{"Subject: no nul at all", 22},
		{"Subject\0no second nul", 21},
		{"", 0},
		{"\0", 1},
	};
	size_t	i;
	int	fd, rc = 0;

	for (i = 0; i < sizeof(h) / sizeof(h[0]) && rc == 0; i++) {
		if ((fd = raw_session()) < 0)
			return (-1);
		rc = raw_step(fd, 'M', "<bounce@sender1.example>", 25);
		if (rc == 0)
			rc = raw_step(fd, 'R', "<user1@rcpt.example>", 21);
		if (rc == 0)
			rc = raw_pkt(fd, 'L', h[i].p, h[i].len);
		if (rc == 0)
			rc = raw_closed(fd);
		(void) close(fd);
	}
	return (rc);
}

/* mail_many_args - MAIL with 10000 NUL-separated arguments: a verdict */
static int
mail_many_args(void)
{
	static const char first[] = "<bounce@sender1.example>";
	char   *p;
	size_t	len = sizeof(first), i;
	int	fd, rc;

	if ((p = malloc(sizeof(first) + 10000 * 16)) == NULL)
		return (bad("out of memory"));
	memcpy(p, first, sizeof(first));
	for (i = 1; i < 10000; i++)
		len += (size_t) sprintf(p + len, "X%05zu=Y", i) + 1;
	if ((fd = raw_session()) < 0) {
		free(p);
		return (-1);
	}
	rc = raw_step(fd, 'M', p, len);
	free(p);
	if (rc == 0)
		rc = raw_rest(fd);
	(void) close(fd);
	return (rc);
}

/* empty_mail - MAIL and RCPT without arguments: closed */
static int
empty_mail(void)
{
	int	fd, rc;

	if ((fd = raw_session()) < 0)
		return (-1);
	rc = raw_pkt(fd, 'M', "no-nul", 6);
	if (rc == 0)
		rc = raw_closed(fd);
	(void) close(fd);
	return (rc);
}

/* garbage_after - a valid HELO packet and garbage in one write: closed */
static int
garbage_after(void)
{
	static const unsigned char g[] = {0, 0, 0, 14, 'H',
	    'm', 'a', 'i', 'l', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0,
	    0xde, 0xad, 0xbe, 0xef, 'Q', 1, 2, 3, 4, 5, 6, 7, 8};
	unsigned char junk[512];
	unsigned seed = 20251124;
	size_t	i;
	int	fd, rc, k;

	if ((fd = raw_session()) < 0)
		return (-1);
	rc = raw_write(fd, g, sizeof(g));
	if (rc == 0)
		rc = raw_closed(fd);	/* after HELO's reply */
	(void) close(fd);
	/* random bytes after a valid session: closed, or waiting (we close) */
	for (k = 0; k < 50 && rc == 0; k++) {
		if ((fd = raw_session()) < 0)
			return (-1);
		for (i = 0; i < sizeof(junk); i++)
			junk[i] = (unsigned char) (rand_r(&seed) >> 7);
		(void) raw_write(fd, junk, 16 + (size_t) k * 9);
		(void) close(fd);
	}
	return (rc);
}

/* connect_odd - CONNECT packets with odd families and truncations */
static int
connect_odd(void)
{
	static const struct {
		const char *p;
		size_t	len;
	} v[] = {
		{"host", 4}, {"host\0", 5}, {"host\0" "4", 6},
		{"host\0" "4\1\2", 8}, {"host\0" "4\1\2" "not-an-ip", 18},
		{"host\0" "6\1\2" "IPv6:::1", 17}, {"host\0" "L", 6},
		{"host\0" "U\0\0/sock", 13},
	};
	size_t	i;
	int	fd, rc = 0, r;

	for (i = 0; i < sizeof(v) / sizeof(v[0]) && rc == 0; i++) {
		if ((fd = raw_open()) < 0)
			return (-1);
		rc = raw_optneg(fd);
		if (rc == 0)
			rc = raw_pkt(fd, 'C', v[i].p, v[i].len);
		if (rc == 0 && (r = raw_reply(fd)) < 0 &&
		    strcmp(why, "connection closed") != 0)
			rc = -1;
		(void) close(fd);
	}
	return (rc);
}

/* ------------------------------------------------------------ main */

struct abuse_case {
	const char *name;
	int	(*fn)(void);
	int	stage;			/* close_at stage, or -1 */
};

static const struct abuse_case cases[] = {
	{"close_after_socket_connect", close_raw, -1},
	{"close_after_optneg", close_optneg, -1},
	{"close_after_connect", NULL, AT_CONNECT},
	{"close_after_helo", NULL, AT_HELO},
	{"close_after_mail", NULL, AT_MAIL},
	{"close_after_rcpt", NULL, AT_RCPT},
	{"close_after_header", NULL, AT_HEADER},
	{"close_after_eoh", NULL, AT_EOH},
	{"close_mid_body", NULL, AT_BODY},
	{"close_before_eom_reply", NULL, AT_EOM_SENT},
	{"abort_mid_body_then_message", abort_mid_body, -1},
	{"quit_without_connect", quit_no_connect, -1},
	{"quit_nc_reuse", quit_nc_reuse, -1},
	{"connect_odd_addresses", connect_odd, -1},
	{"macro_at_packet_limit", macro_under, -1},
	{"macro_huge_queue_id", macro_big_qid, -1},
	{"macro_over_packet_limit", macro_over, -1},
	{"length_zero", len_zero, -1},
	{"length_0xffffffff", len_max, -1},
	{"unknown_commands", unknown_cmds, -1},
	{"header_without_nul", header_no_nul, -1},
	{"mail_10000_args", mail_many_args, -1},
	{"mail_unterminated", empty_mail, -1},
	{"garbage_after_packet", garbage_after, -1},
	{"many_messages_one_connection", many_messages, -1},
	{"many_connections", many_conns, -1},
};

/* run - one case, then a normal message; PASS/FAIL line */
static void
run(const struct abuse_case *k)
{
	int	rc;

	why[0] = '\0';
	rc = k->fn ? k->fn() : close_at((enum stop_at) k->stage);
	if (rc == 0 && normal() < 0) {
		char	w[sizeof(why)];

		(void) snprintf(w, sizeof(w), "%s", why);
		(void) snprintf(why, sizeof(why), "normal message after: %.200s",
				w);
		rc = -1;
	}
	if (rc == 0) {
		printf("PASS %s\n", k->name);
		passed++;
	} else {
		printf("FAIL %s: %s\n", k->name, why[0] ? why : "?");
		failed++;
	}
	fflush(stdout);
}

static void __attribute__((noreturn))
usage(void)
{
	size_t	i;

	fprintf(stderr, "usage: milter_abuse -s unix:PATH -m MSG_FILE "
		"[-n MSGS] [-c CONNS] [-k CASE]\ncases:");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		fprintf(stderr, " %s", cases[i].name);
	fprintf(stderr, "\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *only = NULL;
	size_t	i;
	int	ch;

	while ((ch = getopt(argc, argv, "s:m:n:c:k:")) != -1) {
		switch (ch) {
		case 's':
			sock_spec = optarg;
			break;
		case 'm':
			msg.path = optarg;
			break;
		case 'n':
			n_per_conn = (unsigned) strtoul(optarg, NULL, 10);
			break;
		case 'c':
			n_conns = (unsigned) strtoul(optarg, NULL, 10);
			break;
		case 'k':
			only = optarg;
			break;
		default:
			usage();
		}
	}
	if (sock_spec == NULL || msg.path == NULL ||
	    strncmp(sock_spec, "unix:", 5) != 0)
		usage();
	sock_path = sock_spec + 5;
	(void) signal(SIGPIPE, SIG_IGN);
	if (msg_file_load(&msg) < 0) {
		fprintf(stderr, "milter_abuse: cannot load %s\n", msg.path);
		return (2);
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (only == NULL || strcmp(only, cases[i].name) == 0)
			run(&cases[i]);
	msg_file_free(&msg);
	printf("milter_abuse: %u passed, %u failed\n", passed, failed);
	return (failed == 0 && passed > 0 ? 0 : 1);
}
