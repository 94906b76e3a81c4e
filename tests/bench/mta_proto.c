/*
 * NAME
 *	mta_proto - the MTA side of the milter protocol, version 6
 * SUMMARY
 *	one connection to a milter: option negotiation, one function per
 *	command, replies read up to the final one
 * SYNOPSIS
 *	#include "mta_proto.h"
 *
 *	c = mta_open("unix:/path", 10, err, sizeof(err));
 *	mta_optneg(c, MTA_F_ALL, MTA_P_ALL);
 *	mta_connect(c, macros, n, "client.example", "192.0.2.1", 4711, &r);
 *	mta_helo(), mta_mail(), mta_rcpt()..., mta_data(),
 *	mta_header()..., mta_eoh(), mta_body()..., mta_eom(&r);
 *	mta_abort() or the next mta_mail(); mta_quit(c); mta_close(&c);
 * DESCRIPTION
 *	Speaks as Postfix 3.7's milter8 client does. mta_optneg() offers a
 *	version, actions and protocol steps and keeps what the milter asks
 *	for: the version (2..6), the actions and steps, which must be
 *	subsets of the offer, and the symbol lists (SMFIR_SETSYMLIST form
 *	inside the negotiation reply), which from then on restrict the
 *	macros sent per stage.
 *
 *	Each command function sends the stage's macros (SMFIC_MACRO, only
 *	when at least one remains after the symbol list) and the command,
 *	unless the milter negotiated the step away (SMFIP_NO*): then
 *	nothing is sent and r->final is MTA_R_NONE. For a step negotiated
 *	as no-reply (SMFIP_NR_*) nothing is read either, and the packets
 *	stay in the output buffer until a step that waits for a reply,
 *	mta_abort() or mta_quit() flushes it, as a buffered stream would.
 *	Otherwise the buffer is flushed and the reply read: progress
 *	packets are skipped; a modification packet before the final reply
 *	is allowed only at end of message and only for a negotiated
 *	action; SMFIR_SKIP only for a body chunk when SMFIP_SKIP was
 *	negotiated. Anything else is a protocol error.
 *
 *	Header values go without their leading white space unless
 *	SMFIP_HDR_LEADSPC was negotiated (Postfix strips it for milters
 *	that do not ask for it). Body chunks are sent as given; callers
 *	keep them within MTA_BODY_CHUNK bytes.
 *
 *	mta_watch_header() names a header field; at end of message
 *	r->nwatch counts the SMFIR_ADDHEADER, SMFIR_INSHEADER and
 *	SMFIR_CHGHEADER packets that name it (case-insensitive).
 * MEMORY
 *	struct mta_conn and its buffers are malloc'ed by mta_open() and
 *	released by mta_close(), which takes NULL and clears the pointer.
 *	Macro and header text is copied into the output buffer.
 * LIMITS
 *	Every read and write waits at most timeout_s seconds (SO_RCVTIMEO,
 *	SO_SNDTIMEO, also bounding connect()); one reply at most six times
 *	that, progress packets included. A packet longer than MTA_REPLY_MAX
 *	or more than MTA_REPLY_PACKETS_MAX packets before a final reply is
 *	a protocol error. The output buffer holds two body chunks.
 * DIAGNOSTICS
 *	Functions return 0, or -1 with the reason in mta_error(): connect
 *	failure, timeout, the milter closing the connection, a protocol
 *	error. After -1 the connection is not usable; close it.
 * THREADS
 *	One thread per connection; connections share nothing.
 * STANDARDS
 *	Sendmail milter protocol version 6 (libmilter mfdef.h);
 *	Postfix MILTER_README and src/milter/milter8.c behaviour.
 * SEE ALSO
 *	milter_load.c, tests/e2e/milter_proto.py
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "mta_proto.h"

#define OBUF_SIZE	(2 * (MTA_BODY_CHUNK + 5) + 4096)
#define IBUF_SIZE	65536
#define HDR_LEN		5		/* uint32 length + command byte */
#define WATCH_MAX	128
#define SPEC_MAX	512
#define REPLY_WAIT_FACTOR 6		/* one reply: timeout_s * this */

/* commands, MTA to milter (SMFIC_*) */
#define C_ABORT		'A'
#define C_BODY		'B'
#define C_CONNECT	'C'
#define C_MACRO		'D'
#define C_EOM		'E'
#define C_HELO		'H'
#define C_HEADER	'L'
#define C_MAIL		'M'
#define C_EOH		'N'
#define C_OPTNEG	'O'
#define C_QUIT		'Q'
#define C_QUIT_NC	'K'
#define C_RCPT		'R'
#define C_DATA		'T'

struct mta_conn {
	int	fd;
	int	timeout_s;
	uint32_t version;		/* negotiated */
	uint32_t actions;
	uint32_t proto;
	char   *symlist[MTA_M_COUNT];	/* NULL: send every macro */
	char	watch[WATCH_MAX];
	unsigned char *obuf;
	size_t	olen;
	unsigned char *ibuf;
	size_t	icap, ioff, ilen;
	char	err[MTA_ERR_MAX];
};

/* fail - set the error text, return -1 */
static int __attribute__((format(printf, 2, 3)))
fail(struct mta_conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void) vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return (-1);
}

/* put32 - network order uint32 */
static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char) (v >> 24);
	p[1] = (unsigned char) (v >> 16);
	p[2] = (unsigned char) (v >> 8);
	p[3] = (unsigned char) v;
}

/* get32 - network order uint32 */
static uint32_t
get32(const unsigned char *p)
{
	return ((uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 |
		(uint32_t) p[2] << 8 | (uint32_t) p[3]);
}

/* mono_ms - CLOCK_MONOTONIC milliseconds */
static long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* ------------------------------------------------------------ socket */

/* set_timeouts - bound every read, write and the connect */
static int
set_timeouts(struct mta_conn *c)
{
	struct timeval tv;

	tv.tv_sec = c->timeout_s;
	tv.tv_usec = 0;
	if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return (fail(c, "setsockopt: %s", strerror(errno)));
	return (0);
}

/* open_unix - "unix:PATH" / "local:PATH" */
static int
open_unix(struct mta_conn *c, const char *path)
{
	struct sockaddr_un su;

	memset(&su, 0, sizeof(su));
	su.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(su.sun_path))
		return (fail(c, "socket path too long: %s", path));
	memcpy(su.sun_path, path, strlen(path) + 1);
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return (fail(c, "socket: %s", strerror(errno)));
	if (set_timeouts(c) < 0)
		return (-1);
	if (connect(c->fd, (struct sockaddr *) &su, sizeof(su)) < 0)
		return (fail(c, "connect %s: %s", path, strerror(errno)));
	return (0);
}

/* open_inet - "inet:PORT@HOST" / "inet6:PORT@HOST" (HOST default loopback) */
static int
open_inet(struct mta_conn *c, const char *rest, int family)
{
	char	buf[SPEC_MAX], *host;
	struct addrinfo hints, *res, *ai;
	int	gai, one = 1;

	if (snprintf(buf, sizeof(buf), "%s", rest) >= (int) sizeof(buf))
		return (fail(c, "socket spec too long"));
	if ((host = strchr(buf, '@')) != NULL)
		*host++ = '\0';
	else
		host = family == AF_INET6 ? "::1" : "127.0.0.1";
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((gai = getaddrinfo(host, buf, &hints, &res)) != 0)
		return (fail(c, "%s port %s: %s", host, buf,
			     gai_strerror(gai)));
	(void) fail(c, "%s port %s: no address", host, buf);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			       ai->ai_protocol);
		if (c->fd < 0) {
			(void) fail(c, "socket: %s", strerror(errno));
			continue;
		}
		(void) setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one,
				  sizeof(one));
		if (set_timeouts(c) == 0 &&
		    connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		(void) fail(c, "connect %s port %s: %s", host, buf,
			    strerror(errno));
		(void) close(c->fd);
		c->fd = -1;
	}
	freeaddrinfo(res);
	return (c->fd < 0 ? -1 : 0);
}

/* mta_open - connect to a milter socket spec; NULL with err set */
struct mta_conn *
mta_open(const char *spec, int timeout_s, char *err, size_t errlen)
{
	struct mta_conn *c;
	int	rc;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->obuf = malloc(OBUF_SIZE)) == NULL ||
	    (c->ibuf = malloc(IBUF_SIZE)) == NULL) {
		(void) snprintf(err, errlen, "out of memory");
		if (c != NULL)
			free(c->obuf);
		free(c);
		return (NULL);
	}
	c->fd = -1;
	c->icap = IBUF_SIZE;
	c->timeout_s = timeout_s > 0 ? timeout_s : 10;
	if (strncmp(spec, "unix:", 5) == 0)
		rc = open_unix(c, spec + 5);
	else if (strncmp(spec, "local:", 6) == 0)
		rc = open_unix(c, spec + 6);
	else if (spec[0] == '/')
		rc = open_unix(c, spec);
	else if (strncmp(spec, "inet:", 5) == 0)
		rc = open_inet(c, spec + 5, AF_INET);
	else if (strncmp(spec, "inet6:", 6) == 0)
		rc = open_inet(c, spec + 6, AF_INET6);
	else
		rc = fail(c, "unknown socket spec: %s", spec);
	if (rc < 0) {
		(void) snprintf(err, errlen, "%s", c->err);
		mta_close(&c);
		return (NULL);
	}
	return (c);
}

/* mta_close - close and free; takes NULL, clears *cp */
void
mta_close(struct mta_conn **cp)
{
	struct mta_conn *c;
	int	i;

	if (cp == NULL || (c = *cp) == NULL)
		return;
	if (c->fd >= 0)
		(void) close(c->fd);
	for (i = 0; i < MTA_M_COUNT; i++)
		free(c->symlist[i]);
	free(c->obuf);
	free(c->ibuf);
	free(c);
	*cp = NULL;
}

/* mta_error - the reason of the last -1; borrowed */
const char *
mta_error(const struct mta_conn *c)
{
	return (c->err);
}

/* mta_protocol - the negotiated protocol steps (SMFIP_*) */
uint32_t
mta_protocol(const struct mta_conn *c)
{
	return (c->proto);
}

/* mta_watch_header - count end-of-message edits of this field */
void
mta_watch_header(struct mta_conn *c, const char *name)
{
	(void) snprintf(c->watch, sizeof(c->watch), "%s", name ? name : "");
}

/* ------------------------------------------------------------ output */

/* write_all - send n bytes, bounded by SO_SNDTIMEO */
static int
write_all(struct mta_conn *c, const unsigned char *p, size_t n)
{
	ssize_t	w;

	while (n > 0) {
		w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return (fail(c, "write timeout (%d s)", c->timeout_s));
		if (w < 0)
			return (fail(c, "write: %s", strerror(errno)));
		p += w;
		n -= (size_t) w;
	}
	return (0);
}

/* flush - write out what is buffered */
static int
flush(struct mta_conn *c)
{
	int	rc = 0;

	if (c->olen > 0)
		rc = write_all(c, c->obuf, c->olen);
	c->olen = 0;
	return (rc);
}

/* pkt_begin - room for a packet of dlen data bytes; writes its header */
static int
pkt_begin(struct mta_conn *c, char cmd, size_t dlen)
{
	if (dlen + HDR_LEN > OBUF_SIZE || dlen + 1 > UINT32_MAX)
		return (fail(c, "packet of %zu bytes too long", dlen));
	if (c->olen + HDR_LEN + dlen > OBUF_SIZE && flush(c) < 0)
		return (-1);
	put32(c->obuf + c->olen, (uint32_t) (dlen + 1));
	c->obuf[c->olen + 4] = (unsigned char) cmd;
	c->olen += HDR_LEN;
	return (0);
}

/* pkt_add - append to the packet begun (room was made by pkt_begin) */
static void
pkt_add(struct mta_conn *c, const void *p, size_t n)
{
	memcpy(c->obuf + c->olen, p, n);
	c->olen += n;
}

/* pkt_str - append a string and its NUL */
static void
pkt_str(struct mta_conn *c, const char *s)
{
	pkt_add(c, s, strlen(s) + 1);
}

/* name_eq - macro names equal, braces ignored ("{x}" == "x") */
static int
name_eq(const char *a, size_t alen, const char *b)
{
	size_t	blen = strlen(b);

	if (alen >= 2 && a[0] == '{' && a[alen - 1] == '}') {
		a++;
		alen -= 2;
	}
	if (blen >= 2 && b[0] == '{' && b[blen - 1] == '}') {
		b++;
		blen -= 2;
	}
	return (alen == blen && memcmp(a, b, alen) == 0);
}

/* macro_wanted - the stage's symbol list names it (no list: all) */
static int
macro_wanted(const struct mta_conn *c, int stage, const char *name)
{
	const char *p = c->symlist[stage], *e;

	if (p == NULL)
		return (1);
	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		for (e = p; *e != '\0' && *e != ' ' && *e != ','; e++)
			;
		if (e > p && name_eq(p, (size_t) (e - p), name))
			return (1);
		p = e;
	}
	return (0);
}

/* put_macros - SMFIC_MACRO for a command, when any macro remains */
static int
put_macros(struct mta_conn *c, char cmd, int stage,
	   const struct mta_macro *m, size_t nm)
{
	size_t	i, len = 1;
	char	tag = cmd;

	for (i = 0; i < nm; i++)
		if (m[i].value != NULL && macro_wanted(c, stage, m[i].name))
			len += strlen(m[i].name) + strlen(m[i].value) + 2;
	if (len == 1)
		return (0);
	if (pkt_begin(c, C_MACRO, len) < 0)
		return (-1);
	pkt_add(c, &tag, 1);
	for (i = 0; i < nm; i++)
		if (m[i].value != NULL && macro_wanted(c, stage, m[i].name)) {
			pkt_str(c, m[i].name);
			pkt_str(c, m[i].value);
		}
	return (0);
}

/* ------------------------------------------------------------ input */

/* need - at least n unread bytes in ibuf (grows up to the limit) */
static int
need(struct mta_conn *c, size_t n)
{
	unsigned char *nb;
	ssize_t	r;

	while (c->ilen - c->ioff < n) {
		if (c->ioff > 0) {
			memmove(c->ibuf, c->ibuf + c->ioff, c->ilen - c->ioff);
			c->ilen -= c->ioff;
			c->ioff = 0;
		}
		if (n > c->icap) {
			if ((nb = realloc(c->ibuf, n)) == NULL)
				return (fail(c, "out of memory"));
			c->ibuf = nb;
			c->icap = n;
		}
		r = recv(c->fd, c->ibuf + c->ilen, c->icap - c->ilen, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return (fail(c, "read timeout (%d s)", c->timeout_s));
		if (r < 0)
			return (fail(c, "read: %s", strerror(errno)));
		if (r == 0)
			return (fail(c, "milter closed the connection"));
		c->ilen += (size_t) r;
	}
	return (0);
}

/* read_pkt - one packet; data borrowed until the next read */
static int
read_pkt(struct mta_conn *c, char *cmd, const unsigned char **data,
	 size_t *len)
{
	uint32_t n;

	if (need(c, 4) < 0)
		return (-1);
	n = get32(c->ibuf + c->ioff);
	if (n == 0 || n > MTA_REPLY_MAX)
		return (fail(c, "reply packet length %u", (unsigned) n));
	if (need(c, 4 + (size_t) n) < 0)
		return (-1);
	*cmd = (char) c->ibuf[c->ioff + 4];
	*data = c->ibuf + c->ioff + 5;
	*len = n - 1;
	c->ioff += 4 + (size_t) n;
	if (c->ioff == c->ilen)
		c->ioff = c->ilen = 0;
	return (0);
}

/* mod_action - the action a modification needs, 0: not a modification */
static uint32_t
mod_action(char cmd)
{
	switch (cmd) {
	case '+':
		return (MTA_F_ADDRCPT);
	case '-':
		return (MTA_F_DELRCPT);
	case '2':
		return (MTA_F_ADDRCPT_PAR);
	case 'e':
		return (MTA_F_CHGFROM);
	case 'b':
		return (MTA_F_CHGBODY);
	case 'h':
	case 'i':
		return (MTA_F_ADDHDRS);
	case 'm':
		return (MTA_F_CHGHDRS);
	case 'q':
		return (MTA_F_QUARANTINE);
	default:
		return (0);
	}
}

/* note_mod - count a modification, and whether it names the watched field */
static void
note_mod(struct mta_conn *c, char cmd, const unsigned char *d, size_t len,
	 struct mta_reply *r)
{
	size_t	off = (cmd == 'i' || cmd == 'm') ? 4 : 0, n;

	r->nmods++;
	if (cmd == 'q')
		r->nquarantine++;
	if ((cmd != 'h' && cmd != 'i' && cmd != 'm') || c->watch[0] == '\0' ||
	    len <= off)
		return;
	d += off;
	len -= off;
	n = strnlen((const char *) d, len);
	if (n < len && n == strlen(c->watch) &&
	    strncasecmp((const char *) d, c->watch, n) == 0)
		r->nwatch++;
}

/* final_kind - the final reply a command byte stands for, MTA_R_NONE: not */
static enum mta_final
final_kind(char cmd)
{
	switch (cmd) {
	case 'c':
		return (MTA_R_CONTINUE);
	case 'a':
		return (MTA_R_ACCEPT);
	case 'r':
		return (MTA_R_REJECT);
	case 't':
		return (MTA_R_TEMPFAIL);
	case 'd':
		return (MTA_R_DISCARD);
	case 'y':
		return (MTA_R_REPLYCODE);
	case 's':
		return (MTA_R_SKIP);
	default:
		return (MTA_R_NONE);
	}
}

/*
 * read_reply - flush, then read packets up to a final reply. Progress is
 * skipped; modifications only at_eom; SKIP only is_body with SMFIP_SKIP.
 */
static int
read_reply(struct mta_conn *c, struct mta_reply *r, int at_eom, int is_body)
{
	const unsigned char *d;
	size_t	len, n;
	char	cmd;
	uint32_t act;
	unsigned i;
	long long deadline;

	if (flush(c) < 0)
		return (-1);
	deadline = mono_ms() + 1000LL * c->timeout_s * REPLY_WAIT_FACTOR;
	for (i = 0; i < MTA_REPLY_PACKETS_MAX; i++) {
		if (mono_ms() > deadline)
			return (fail(c, "no final reply within %d s",
				     c->timeout_s * REPLY_WAIT_FACTOR));
		if (read_pkt(c, &cmd, &d, &len) < 0)
			return (-1);
		if (cmd == 'p') {
			r->nprogress++;
			continue;
		}
		if ((act = mod_action(cmd)) != 0) {
			if (!at_eom)
				return (fail(c, "modification '%c' before "
					     "end of message", cmd));
			if ((c->actions & act) == 0)
				return (fail(c, "modification '%c' not "
					     "negotiated", cmd));
			note_mod(c, cmd, d, len, r);
			continue;
		}
		r->final = final_kind(cmd);
		if (r->final == MTA_R_NONE)
			return (fail(c, "unexpected reply 0x%02x",
				     (unsigned char) cmd));
		if (r->final == MTA_R_SKIP &&
		    (!is_body || (c->proto & MTA_P_SKIP) == 0))
			return (fail(c, "SKIP not negotiated or not for "
				     "a body"));
		if (r->final == MTA_R_REPLYCODE) {
			n = strnlen((const char *) d, len);
			if (n < 3 || (d[0] != '2' && d[0] != '4' &&
				       d[0] != '5'))
				return (fail(c, "bad REPLYCODE text"));
			(void) snprintf(r->text, sizeof(r->text), "%.*s",
					(int) n, (const char *) d);
		}
		return (0);
	}
	return (fail(c, "more than %d packets without a final reply",
		     MTA_REPLY_PACKETS_MAX));
}

/*
 * step - one command: macros (stage >= 0), the command packet, the reply
 * unless negotiated away (skip_flag) or as no-reply (nr_flag).
 */
static int
step(struct mta_conn *c, char cmd, int stage, const struct mta_macro *m,
     size_t nm, uint32_t skip_flag, uint32_t nr_flag,
     const struct iovec *iov, int niov, struct mta_reply *r)
{
	size_t	len = 0;
	int	i;

	memset(r, 0, sizeof(*r));
	r->final = MTA_R_NONE;
	if ((c->proto & skip_flag) != 0)
		return (0);
	if (stage >= 0 && put_macros(c, cmd, stage, m, nm) < 0)
		return (-1);
	for (i = 0; i < niov; i++)
		len += iov[i].iov_len;
	if (pkt_begin(c, cmd, len) < 0)
		return (-1);
	for (i = 0; i < niov; i++)
		pkt_add(c, iov[i].iov_base, iov[i].iov_len);
	if ((c->proto & nr_flag) != 0)
		return (0);
	return (read_reply(c, r, cmd == C_EOM, cmd == C_BODY));
}

/* iov_str - an iovec over a string and its NUL */
static struct iovec
iov_str(const char *s)
{
	struct iovec v;

	v.iov_base = (void *) s;
	v.iov_len = strlen(s) + 1;
	return (v);
}

/* ------------------------------------------------------------ commands */

/* mta_optneg - SMFIC_OPTNEG: offer, keep what the milter takes */
int
mta_optneg(struct mta_conn *c, uint32_t actions, uint32_t proto)
{
	unsigned char b[12];
	const unsigned char *d;
	size_t	len, off, n;
	uint32_t stage;
	char	cmd;

	put32(b, MTA_VERSION);
	put32(b + 4, actions);
	put32(b + 8, proto);
	if (pkt_begin(c, C_OPTNEG, sizeof(b)) < 0)
		return (-1);
	pkt_add(c, b, sizeof(b));
	if (flush(c) < 0 || read_pkt(c, &cmd, &d, &len) < 0)
		return (-1);
	if (cmd != C_OPTNEG || len < 12)
		return (fail(c, "negotiation answered 0x%02x, %zu bytes",
			     (unsigned char) cmd, len));
	c->version = get32(d);
	c->actions = get32(d + 4);
	c->proto = get32(d + 8);
	if (c->version < 2 || c->version > MTA_VERSION)
		return (fail(c, "milter protocol version %u",
			     (unsigned) c->version));
	if ((c->actions & ~actions) != 0 || (c->proto & ~proto) != 0)
		return (fail(c, "milter wants actions 0x%x protocol 0x%x, "
			     "offered 0x%x 0x%x", (unsigned) c->actions,
			     (unsigned) c->proto, (unsigned) actions,
			     (unsigned) proto));
	for (off = 12; off + 4 < len; off += n + 1) {
		stage = get32(d + off);
		off += 4;
		n = strnlen((const char *) d + off, len - off);
		if (stage >= MTA_M_COUNT)
			return (fail(c, "symbol list for stage %u",
				     (unsigned) stage));
		free(c->symlist[stage]);
		if ((c->symlist[stage] = strndup((const char *) d + off, n))
		    == NULL)
			return (fail(c, "out of memory"));
	}
	return (0);
}

/* mta_connect - SMFIC_CONNECT: client name, family, port, address */
int
mta_connect(struct mta_conn *c, const struct mta_macro *m, size_t nm,
	    const char *name, const char *addr, unsigned port,
	    struct mta_reply *r)
{
	unsigned char a6[16], pb[2];
	char	fam = 'U';
	struct iovec v[4];
	int	n = 2;

	if (inet_pton(AF_INET, addr, a6) == 1)
		fam = '4';
	else if (inet_pton(AF_INET6, addr, a6) == 1)
		fam = '6';
	pb[0] = (unsigned char) (port >> 8);
	pb[1] = (unsigned char) port;
	v[0] = iov_str(name);
	v[1].iov_base = &fam;
	v[1].iov_len = 1;
	if (fam != 'U') {
		v[2].iov_base = pb;
		v[2].iov_len = 2;
		v[3] = iov_str(addr);
		n = 4;
	}
	return (step(c, C_CONNECT, MTA_M_CONNECT, m, nm, MTA_P_NOCONNECT,
		     MTA_P_NR_CONN, v, n, r));
}

/* mta_helo - SMFIC_HELO */
int
mta_helo(struct mta_conn *c, const struct mta_macro *m, size_t nm,
	 const char *helo, struct mta_reply *r)
{
	struct iovec v = iov_str(helo);

	return (step(c, C_HELO, MTA_M_HELO, m, nm, MTA_P_NOHELO,
		     MTA_P_NR_HELO, &v, 1, r));
}

/* mta_mail - SMFIC_MAIL "<from>" (no ESMTP parameters) */
int
mta_mail(struct mta_conn *c, const struct mta_macro *m, size_t nm,
	 const char *from, struct mta_reply *r)
{
	struct iovec v[3];

	v[0].iov_base = "<";
	v[0].iov_len = 1;
	v[1].iov_base = (void *) from;
	v[1].iov_len = strlen(from);
	v[2].iov_base = ">";
	v[2].iov_len = 2;		/* with the NUL */
	return (step(c, C_MAIL, MTA_M_ENVFROM, m, nm, MTA_P_NOMAIL,
		     MTA_P_NR_MAIL, v, 3, r));
}

/* mta_rcpt - SMFIC_RCPT "<rcpt>" */
int
mta_rcpt(struct mta_conn *c, const struct mta_macro *m, size_t nm,
	 const char *rcpt, struct mta_reply *r)
{
	struct iovec v[3];

	v[0].iov_base = "<";
	v[0].iov_len = 1;
	v[1].iov_base = (void *) rcpt;
	v[1].iov_len = strlen(rcpt);
	v[2].iov_base = ">";
	v[2].iov_len = 2;
	return (step(c, C_RCPT, MTA_M_ENVRCPT, m, nm, MTA_P_NORCPT,
		     MTA_P_NR_RCPT, v, 3, r));
}

/* mta_data - SMFIC_DATA */
int
mta_data(struct mta_conn *c, const struct mta_macro *m, size_t nm,
	 struct mta_reply *r)
{
	return (step(c, C_DATA, MTA_M_DATA, m, nm, MTA_P_NODATA,
		     MTA_P_NR_DATA, NULL, 0, r));
}

/*
 * mta_header - SMFIC_HEADER name, value (as after the colon; its leading
 * white space is dropped unless SMFIP_HDR_LEADSPC). No macros, as Postfix.
 */
int
mta_header(struct mta_conn *c, const char *name, size_t nlen,
	   const char *value, size_t vlen, struct mta_reply *r)
{
	struct iovec v[4];

	if ((c->proto & MTA_P_HDR_LEADSPC) == 0)
		while (vlen > 0 && (*value == ' ' || *value == '\t')) {
			value++;
			vlen--;
		}
	v[0].iov_base = (void *) name;
	v[0].iov_len = nlen;
	v[1].iov_base = "";
	v[1].iov_len = 1;
	v[2].iov_base = (void *) value;
	v[2].iov_len = vlen;
	v[3].iov_base = "";
	v[3].iov_len = 1;
	return (step(c, C_HEADER, -1, NULL, 0, MTA_P_NOHDRS, MTA_P_NR_HDR,
		     v, 4, r));
}

/* mta_eoh - SMFIC_EOH */
int
mta_eoh(struct mta_conn *c, const struct mta_macro *m, size_t nm,
	struct mta_reply *r)
{
	return (step(c, C_EOH, MTA_M_EOH, m, nm, MTA_P_NOEOH, MTA_P_NR_EOH,
		     NULL, 0, r));
}

/* mta_body - SMFIC_BODY, one chunk (at most MTA_BODY_CHUNK bytes) */
int
mta_body(struct mta_conn *c, const char *p, size_t len, struct mta_reply *r)
{
	struct iovec v;

	if (len > MTA_BODY_CHUNK)
		return (fail(c, "body chunk of %zu bytes", len));
	v.iov_base = (void *) p;
	v.iov_len = len;
	return (step(c, C_BODY, -1, NULL, 0, MTA_P_NOBODY, MTA_P_NR_BODY,
		     &v, 1, r));
}

/* mta_eom - SMFIC_BODYEOB; modifications counted up to the final reply */
int
mta_eom(struct mta_conn *c, const struct mta_macro *m, size_t nm,
	struct mta_reply *r)
{
	return (step(c, C_EOM, MTA_M_EOM, m, nm, 0, 0, NULL, 0, r));
}

/* mta_flush - write out the no-reply commands buffered so far */
int
mta_flush(struct mta_conn *c)
{
	return (flush(c));
}

/* mta_abort - SMFIC_ABORT (no reply), flushed */
int
mta_abort(struct mta_conn *c)
{
	if (pkt_begin(c, C_ABORT, 0) < 0)
		return (-1);
	return (flush(c));
}

/* mta_quit - SMFIC_QUIT (no reply), flushed */
int
mta_quit(struct mta_conn *c)
{
	if (pkt_begin(c, C_QUIT, 0) < 0)
		return (-1);
	return (flush(c));
}

/* mta_quit_nc - SMFIC_QUIT_NC (no reply), flushed */
int
mta_quit_nc(struct mta_conn *c)
{
	if (pkt_begin(c, C_QUIT_NC, 0) < 0)
		return (-1);
	return (flush(c));
}

/* mta_fd - the socket */
int
mta_fd(const struct mta_conn *c)
{
	return (c->fd);
}
