/*
 * NAME
 *	mproto - the filter side of the milter protocol, without libmilter
 * SUMMARY
 *	socket, thread pool, framing, macros, negotiation, replies
 * SYNOPSIS
 *	#include "mproto.h"
 *
 *	ma_mserver_open(spec, &s, err, sizeof(err));
 *	ma_mserver_run(s, &handler);		(until ma_mserver_stop)
 * DESCRIPTION
 *	libmilter (Debian's, built with its worker pool) spends five system
 *	calls on every protocol command: a 1 ms poll to see whether more is
 *	queued, then a poll and a read for the 5-byte head and again for
 *	the body, plus a pipe write and a futex hand-off to its controller
 *	thread between messages: some 300 system calls for a 15-field
 *	message, which on a VM is most of a milter's CPU. Here a connection
 *	is served by one thread with a 64 KiB read buffer: one read() takes
 *	everything the MTA has sent (with the SMFIP_NR_* steps, a whole
 *	header and body arrive together), and all replies of end of message
 *	leave in one write().
 *
 *	Threads: ma_mserver_run() starts MA_MPROTO_SPARE threads that each
 *	block in accept() and serve the connection they get to its end.
 *	A thread that takes the last waiting place starts another (up to
 *	MA_MPROTO_THREADS_MAX), and a thread finding MA_MPROTO_IDLE_MAX
 *	others waiting ends, so threads are reused across connections and
 *	none is made per message once the pool has grown to the load.
 *
 *	Framing: uint32 length (network order, counting the command byte),
 *	command, data. Macros (SMFIC_MACRO) are kept per step and looked up
 *	from the current step backwards; those of the message steps are
 *	dropped at end of message and abort. Every step's reply is sent
 *	unless the MTA agreed to none for it; a handler's non-continue
 *	answer to such a step cannot be sent and is logged (debug).
 *
 *	TCP: TCP_NODELAY on every accepted connection and TCP_QUICKACK
 *	again after every read, so neither side waits 40 ms for a delayed
 *	ACK when the MTA sets no TCP_NODELAY (Postfix) and sends a macro
 *	packet, which gets no reply, ahead of a command.
 *
 *	Stop: ma_mserver_stop() shuts the listening socket (accept() wakes
 *	up), shuts the read side of connections between messages and lets
 *	a connection inside a message finish it; each thread closes its
 *	connection when the message is done. The MTA applies its
 *	milter_default_action (Postfix) or F= flags (Sendmail) to what
 *	comes next.
 * MEMORY
 *	One struct ma_mconn per connection (malloc), its read buffer grown
 *	to the largest packet seen (at most MA_MPROTO_PACKET_MAX), macros
 *	copied per step, the end-of-message output buffer. All freed when
 *	the connection ends.
 * LIMITS
 *	MA_MPROTO_PACKET_MAX bytes per packet (larger: the connection is
 *	closed), MA_MPROTO_ARGS_MAX MAIL/RCPT arguments, MA_MPROTO_TIMEOUT_S
 *	without a byte from the MTA (libmilter's default), MA_MPROTO_
 *	THREADS_MAX connections served at once (more wait in the listen
 *	backlog).
 * DIAGNOSTICS
 *	Protocol errors close the connection with a debug line; socket
 *	trouble at open is returned in err; accept() errors are logged.
 * THREADS
 *	Handlers of one connection run in sequence in one thread; different
 *	connections in parallel. The server's counters and the connection
 *	list are guarded by one mutex.
 * STANDARDS
 *	Sendmail milter protocol version 6 (libmilter/docs, mfdef.h),
 *	Postfix MILTER_README and src/milter/milter8.c.
 * SEE ALSO
 *	milter.c (the handler), main.c.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <mailauth/log.h>

#include "mproto.h"

#define MA_MPROTO_PACKET_MAX	(1024 * 1024)	/* bytes, one packet */
#define MA_MPROTO_READ_CHUNK	(64 * 1024)	/* read buffer at start */
#define MA_MPROTO_ARGS_MAX	64		/* MAIL/RCPT arguments */
#define MA_MPROTO_TIMEOUT_S	7210		/* idle MTA, as libmilter */
#define MA_MPROTO_SPARE		4		/* threads waiting in accept */
#define MA_MPROTO_IDLE_MAX	64		/* more idle ones end */
#define MA_MPROTO_THREADS_MAX	MA_MPROTO_CONNS_MAX	/* mproto.h */
#define MA_MPROTO_WARN_EVERY_S	10		/* accept() trouble, logged */
#define MA_MPROTO_STOP_WAIT_S	30		/* messages in flight at stop */
#define MA_MPROTO_BACKLOG	256

/* Steps that may carry macros, in protocol order. */
static const char macro_steps[] = "CHMRTLNBE";
#define N_STEPS	(sizeof(macro_steps) - 1)
#define FIRST_MSG_STEP	2			/* 'M' */

struct ma_mserver {
	int	fd;
	int	is_tcp;
	char   *unix_path;
	const struct ma_mhandler *h;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned threads;		/* alive */
	unsigned idle;			/* waiting in accept() */
	int	stopping;
	struct ma_mconn *conns;		/* being served */
	time_t	accept_warned;		/* accept_trouble() */
	unsigned long accept_errors;
};

struct ma_mconn {
	struct ma_mserver *srv;
	struct ma_mconn *next, *prev;
	int	fd;
	int	in_msg;			/* MAIL seen, no end/abort yet */
	int	started;		/* close() is owed */
	int	at_eom;			/* modifications allowed */
	unsigned long actions, pflags;	/* negotiated */
	void   *priv;
	int	step;			/* index into macro_steps, or -1 */
	char   *macro[N_STEPS];		/* name\0value\0 pairs */
	size_t	macro_len[N_STEPS];
	char	reply[512];		/* "550 5.7.1 text" or "" */
	unsigned char *rbuf;		/* read buffer */
	size_t	rcap, rstart, rend;
	unsigned char *out;		/* end-of-message output */
	size_t	olen, ocap;
};

/* --- socket ------------------------------------------------------------- */

static enum ma_status
open_err(char *err, size_t errlen, const char *spec, const char *what)
{
	snprintf(err, errlen, "%s: %s%s%s", spec, what, errno ? ": " : "",
		 errno ? strerror(errno) : "");
	return (MA_ERR_IO);
}

/* open_unix - bind a unix-domain socket at path */
static enum ma_status
open_unix(struct ma_mserver *s, const char *spec, const char *path,
	  char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct stat st;

	errno = 0;
	if (*path == '\0' || strlen(path) >= sizeof(sun.sun_path))
		return (open_err(err, errlen, spec, "bad unix socket path"));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	/* replace a stale socket, never another kind of file */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return (open_err(err, errlen, spec,
					 "exists and is not a socket"));
		(void) unlink(path);
	}
	if ((s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return (open_err(err, errlen, spec, "socket"));
	if (bind(s->fd, (struct sockaddr *) &sun, sizeof(sun)) < 0)
		return (open_err(err, errlen, spec, "bind"));
	if ((s->unix_path = strdup(path)) == NULL)
		return (MA_ERR_NOMEM);
	return (MA_OK);
}

/* open_inet - bind PORT@ADDR (ADDR a literal or a name; default any) */
static enum ma_status
open_inet(struct ma_mserver *s, const char *spec, const char *rest,
	  int family, char *err, size_t errlen)
{
	struct addrinfo hints, *ai = NULL;
	char	port[16], host[256];
	const char *at = strchr(rest, '@');
	size_t	plen = at ? (size_t) (at - rest) : strlen(rest);
	int	rc, one = 1;

	errno = 0;
	if (plen == 0 || plen >= sizeof(port) ||
	    (at != NULL && strlen(at + 1) >= sizeof(host)))
		return (open_err(err, errlen, spec, "expected PORT@ADDR"));
	memcpy(port, rest, plen);
	port[plen] = '\0';
	if (at != NULL)
		memcpy(host, at + 1, strlen(at + 1) + 1);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(at && host[0] ? host : NULL, port, &hints,
			      &ai)) != 0) {
		snprintf(err, errlen, "%s: %s", spec, gai_strerror(rc));
		return (MA_ERR_SYNTAX);
	}
	s->is_tcp = 1;
	s->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		freeaddrinfo(ai);
		return (open_err(err, errlen, spec, "socket"));
	}
	(void) setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	rc = bind(s->fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (rc < 0)
		return (open_err(err, errlen, spec, "bind"));
	return (MA_OK);
}

enum ma_status
ma_mserver_open(const char *spec, struct ma_mserver **out, char *err,
		size_t errlen)
{
	struct ma_mserver *s;
	enum ma_status st;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (MA_ERR_NOMEM);
	s->fd = -1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if (strncmp(spec, "unix:", 5) == 0)
		st = open_unix(s, spec, spec + 5, err, errlen);
	else if (strncmp(spec, "local:", 6) == 0)
		st = open_unix(s, spec, spec + 6, err, errlen);
	else if (spec[0] == '/')
		st = open_unix(s, spec, spec, err, errlen);
	else if (strncmp(spec, "inet:", 5) == 0)
		st = open_inet(s, spec, spec + 5, AF_INET, err, errlen);
	else if (strncmp(spec, "inet6:", 6) == 0)
		st = open_inet(s, spec, spec + 6, AF_INET6, err, errlen);
	else {
		snprintf(err, errlen, "%s: not a milter socket (inet:PORT@ADDR, "
			 "inet6:PORT@ADDR or unix:PATH)", spec);
		st = MA_ERR_SYNTAX;
	}
	if (st == MA_OK && listen(s->fd, MA_MPROTO_BACKLOG) < 0)
		st = open_err(err, errlen, spec, "listen");
	if (st != MA_OK) {
		ma_mserver_close(&s);
		return (st);
	}
	*out = s;
	return (MA_OK);
}

int
ma_mserver_is_tcp(const struct ma_mserver *s)
{
	return (s->is_tcp);
}

void
ma_mserver_close(struct ma_mserver **sp)
{
	struct ma_mserver *s;

	unsigned busy;

	if (sp == NULL || (s = *sp) == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	busy = s->threads;
	pthread_mutex_unlock(&s->mu);
	if (s->unix_path != NULL)
		(void) unlink(s->unix_path);
	*sp = NULL;
	if (busy > 0)
		return;		/* threads left behind still use it */
	if (s->fd >= 0)
		close(s->fd);
	free(s->unix_path);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}

/* --- connection I/O -------------------------------------------------- */

/* fill - read more into the buffer; 1 with data, 0 on EOF/error */
static int
fill(struct ma_mconn *c)
{
	ssize_t	n;
	int	one = 1;

	if (c->rstart > 0 && c->rstart == c->rend)
		c->rstart = c->rend = 0;
	if (c->rend == c->rcap && c->rstart > 0) {
		memmove(c->rbuf, c->rbuf + c->rstart, c->rend - c->rstart);
		c->rend -= c->rstart;
		c->rstart = 0;
	}
	do {
		n = read(c->fd, c->rbuf + c->rend, c->rcap - c->rend);
	} while (n < 0 && errno == EINTR);
	if (n <= 0)
		return (0);
	if (c->srv->is_tcp)
		(void) setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one,
				  sizeof(one));
	c->rend += (size_t) n;
	return (1);
}

/* need - at least n bytes buffered from rstart; 0 on EOF/error */
static int
need(struct ma_mconn *c, size_t n)
{
	unsigned char *p;
	size_t	cap;

	if (n > c->rcap) {
		cap = n < 2 * c->rcap ? 2 * c->rcap : n;
		if (c->rstart > 0) {
			memmove(c->rbuf, c->rbuf + c->rstart,
				c->rend - c->rstart);
			c->rend -= c->rstart;
			c->rstart = 0;
		}
		if ((p = realloc(c->rbuf, cap)) == NULL)
			return (0);
		c->rbuf = p;
		c->rcap = cap;
	} else if (c->rstart + n > c->rcap) {
		memmove(c->rbuf, c->rbuf + c->rstart, c->rend - c->rstart);
		c->rend -= c->rstart;
		c->rstart = 0;
	}
	while (c->rend - c->rstart < n)
		if (!fill(c))
			return (0);
	return (1);
}

/*
 * next_packet - the next command; *data and *len point into the read
 * buffer until the next call. 0 on EOF, error or an oversized packet.
 */
static int
next_packet(struct ma_mconn *c, int *cmd, char **data, size_t *len)
{
	uint32_t n;

	if (!need(c, 4))
		return (0);
	memcpy(&n, c->rbuf + c->rstart, 4);
	n = ntohl(n);
	if (n == 0 || n > MA_MPROTO_PACKET_MAX) {
		ma_log(MA_LOG_DEBUG, "milter: packet of %lu bytes: closing",
		       (unsigned long) n);
		return (0);
	}
	if (!need(c, 4 + (size_t) n))
		return (0);
	*cmd = c->rbuf[c->rstart + 4];
	*data = (char *) c->rbuf + c->rstart + 5;
	*len = n - 1;
	c->rstart += 4 + (size_t) n;
	return (1);
}

/* out_add - queue one reply packet: cmd, then the parts (ptr, len) */
static int
out_add(struct ma_mconn *c, int cmd, const void *a, size_t alen,
	const void *b, size_t blen, const void *d, size_t dlen)
{
	size_t	total = 5 + alen + blen + dlen;
	uint32_t n = htonl((uint32_t) (1 + alen + blen + dlen));
	unsigned char *p;
	size_t	cap;

	if (total > MA_MPROTO_PACKET_MAX)
		return (-1);
	if (c->olen + total > c->ocap) {
		cap = c->ocap ? c->ocap : 1024;
		while (cap < c->olen + total)
			cap *= 2;
		if ((p = realloc(c->out, cap)) == NULL)
			return (-1);
		c->out = p;
		c->ocap = cap;
	}
	p = c->out + c->olen;
	memcpy(p, &n, 4);
	p[4] = (unsigned char) cmd;
	p += 5;
	if (alen)
		memcpy(p, a, alen), p += alen;
	if (blen)
		memcpy(p, b, blen), p += blen;
	if (dlen)
		memcpy(p, d, dlen);
	c->olen += total;
	return (0);
}

/* flush - write everything queued; 0, or -1 when the MTA is gone */
static int
flush(struct ma_mconn *c)
{
	size_t	off = 0;
	ssize_t	n;

	while (off < c->olen) {
		n = write(c->fd, c->out + off, c->olen - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			c->olen = 0;
			return (-1);
		}
		off += (size_t) n;
	}
	c->olen = 0;
	return (0);
}

/* --- macros ------------------------------------------------------------ */

static int
step_index(int cmd)
{
	const char *p = cmd ? strchr(macro_steps, cmd) : NULL;

	return (p ? (int) (p - macro_steps) : -1);
}

/* drop_macros - forget the macros of steps from..N_STEPS-1 */
static void
drop_macros(struct ma_mconn *c, int from)
{
	int	i;

	for (i = from; i < (int) N_STEPS; i++) {
		free(c->macro[i]);
		c->macro[i] = NULL;
		c->macro_len[i] = 0;
	}
}

/* set_macros - SMFIC_MACRO: step code, then name\0value\0 pairs */
static void
set_macros(struct ma_mconn *c, const char *data, size_t len)
{
	int	i;

	if (len < 1 || (i = step_index(data[0])) < 0)
		return;
	free(c->macro[i]);
	c->macro[i] = NULL;
	c->macro_len[i] = 0;
	if (len < 2 || (c->macro[i] = malloc(len)) == NULL)
		return;
	memcpy(c->macro[i], data + 1, len - 1);
	c->macro[i][len - 1] = '\0';	/* a last unterminated value ends */
	c->macro_len[i] = len;
}

/* bare - a macro name without its braces: pointer and length */
static const char *
bare(const char *name, size_t *len)
{
	size_t	n = strlen(name);

	if (n >= 2 && name[0] == '{' && name[n - 1] == '}') {
		*len = n - 2;
		return (name + 1);
	}
	*len = n;
	return (name);
}

const char *
ma_mconn_macro(const struct ma_mconn *c, const char *name)
{
	const char *want, *p, *end, *nm, *val;
	size_t	wlen, nlen;
	int	i;

	want = bare(name, &wlen);
	for (i = c->step >= 0 ? c->step : (int) N_STEPS - 1; i >= 0; i--) {
		if (c->macro[i] == NULL)
			continue;
		p = c->macro[i];
		end = p + c->macro_len[i];
		while (p < end) {
			nm = p;
			p += strnlen(p, (size_t) (end - p)) + 1;
			if (p >= end)
				break;
			val = p;
			p += strnlen(p, (size_t) (end - p)) + 1;
			nm = bare(nm, &nlen);
			if (nlen == wlen && memcmp(nm, want, wlen) == 0)
				return (val);
		}
	}
	return (NULL);
}

/* --- handler API -------------------------------------------------------- */

void *
ma_mconn_priv(const struct ma_mconn *c)
{
	return (c->priv);
}

void
ma_mconn_set_priv(struct ma_mconn *c, void *priv)
{
	c->priv = priv;
}

unsigned long
ma_mconn_pflags(const struct ma_mconn *c)
{
	return (c->pflags);
}

/* printable - nonempty printable ASCII, no '%' (Sendmail expands it) */
static int
printable(const char *s)
{
	if (s == NULL || *s == '\0')
		return (0);
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e || *s == '%')
			return (0);
	return (1);
}

int
ma_mconn_setreply(struct ma_mconn *c, const char *rcode, const char *xcode,
		  const char *text)
{
	int	n;

	if (rcode == NULL || strlen(rcode) != 3 ||
	    (rcode[0] != '4' && rcode[0] != '5') ||
	    rcode[1] < '0' || rcode[1] > '9' || rcode[2] < '0' ||
	    rcode[2] > '9' || (xcode != NULL && (!printable(xcode) ||
	    xcode[0] != rcode[0])) || (text != NULL && !printable(text)))
		return (-1);
	n = snprintf(c->reply, sizeof(c->reply), "%s%s%s%s%s", rcode,
		     xcode ? " " : "", xcode ? xcode : "", text ? " " : "",
		     text ? text : "");
	if (n < 0 || (size_t) n >= sizeof(c->reply)) {
		c->reply[0] = '\0';
		return (-1);
	}
	return (0);
}

int
ma_mconn_insheader(struct ma_mconn *c, int index, const char *name,
		   const char *value)
{
	uint32_t idx = htonl((uint32_t) (index < 0 ? 0 : index));

	if (!c->at_eom || (c->actions & SMFIF_ADDHDRS) == 0 || name == NULL ||
	    value == NULL)
		return (-1);
	return (out_add(c, SMFIR_INSHEADER, &idx, 4, name, strlen(name) + 1,
			value, strlen(value) + 1));
}

int
ma_mconn_chgheader(struct ma_mconn *c, const char *name, int index,
		   const char *value)
{
	uint32_t idx = htonl((uint32_t) (index < 1 ? 1 : index));

	if (!c->at_eom || (c->actions & SMFIF_CHGHDRS) == 0 || name == NULL)
		return (-1);
	if (value == NULL)
		value = "";
	return (out_add(c, SMFIR_CHGHEADER, &idx, 4, name, strlen(name) + 1,
			value, strlen(value) + 1));
}

int
ma_mconn_quarantine(struct ma_mconn *c, const char *reason)
{
	if (!c->at_eom || (c->actions & SMFIF_QUARANTINE) == 0 ||
	    !printable(reason))
		return (-1);
	return (out_add(c, SMFIR_QUARANTINE, reason, strlen(reason) + 1,
			NULL, 0, NULL, 0));
}

/* --- steps ------------------------------------------------------------- */

/* reply - queue the answer to a step; NR steps get none */
static int
reply(struct ma_mconn *c, enum ma_mreply r, unsigned long nr)
{
	int	cmd;

	if (nr != 0 && (c->pflags & nr) != 0) {
		if (r != MA_MR_CONTINUE && r != MA_MR_NOREPLY)
			ma_log(MA_LOG_DEBUG, "milter: answer %d to a no-reply "
			       "step dropped", (int) r);
		return (0);
	}
	switch (r) {
	case MA_MR_ACCEPT:
		cmd = SMFIR_ACCEPT;
		break;
	case MA_MR_REJECT:
	case MA_MR_TEMPFAIL:
		if (c->reply[0] != '\0' &&
		    c->reply[0] == (r == MA_MR_REJECT ? '5' : '4')) {
			(void) out_add(c, SMFIR_REPLYCODE, c->reply,
				       strlen(c->reply) + 1, NULL, 0, NULL, 0);
			c->reply[0] = '\0';
			return (0);
		}
		c->reply[0] = '\0';
		cmd = r == MA_MR_REJECT ? SMFIR_REJECT : SMFIR_TEMPFAIL;
		break;
	case MA_MR_DISCARD:
		cmd = SMFIR_DISCARD;
		break;
	case MA_MR_SKIP:
		cmd = (c->pflags & SMFIP_SKIP) ? SMFIR_SKIP : SMFIR_CONTINUE;
		if (cmd == SMFIR_CONTINUE && (c->pflags & SMFIP_NR_BODY))
			return (0);
		break;
	default:
		cmd = SMFIR_CONTINUE;
		break;
	}
	return (out_add(c, cmd, NULL, 0, NULL, 0, NULL, 0));
}

/* argv_of - split NUL-separated strings into argv (in place) */
static size_t
argv_of(char *data, size_t len, char **argv)
{
	size_t	n = 0, off = 0, l;

	while (off < len && n < MA_MPROTO_ARGS_MAX) {
		l = strnlen(data + off, len - off);
		if (off + l >= len)
			break;		/* unterminated: ignored */
		argv[n++] = data + off;
		off += l + 1;
	}
	argv[n] = NULL;
	return (n);
}

/* do_negotiate - SMFIC_OPTNEG; -1 refuses the connection */
static int
do_negotiate(struct ma_mconn *c, const char *data, size_t len)
{
	const struct ma_mhandler *h = c->srv->h;
	uint32_t v[3];
	unsigned long act = 0, proto = 0;

	if (len < MILTER_OPTLEN)
		return (-1);
	memcpy(v, data, sizeof(v));
	v[0] = ntohl(v[0]);
	v[1] = ntohl(v[1]);
	v[2] = ntohl(v[2]);
	if (v[0] < 2)
		return (-1);
	c->started = 1;
	if (h->negotiate != NULL &&
	    h->negotiate(c, v[1], v[2], &act, &proto) == MA_MR_REJECT)
		return (-1);
	c->actions = act & v[1];
	c->pflags = proto & v[2];
	v[0] = htonl(v[0] < SMFI_PROT_VERSION ? v[0] : SMFI_PROT_VERSION);
	v[1] = htonl((uint32_t) c->actions);
	v[2] = htonl((uint32_t) c->pflags);
	return (out_add(c, SMFIC_OPTNEG, v, sizeof(v), NULL, 0, NULL, 0));
}

/* do_connect - SMFIC_CONNECT: host\0 family [port(2) address\0] */
static enum ma_mreply
do_connect(struct ma_mconn *c, char *data, size_t len)
{
	const struct ma_mhandler *h = c->srv->h;
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;
	const struct sockaddr *sa = NULL;
	size_t	hl = strnlen(data, len);
	char   *addr;
	char	family;

	if (hl >= len || hl + 1 >= len)
		return (h->connect ? h->connect(c, hl < len ? data : "", NULL) :
			MA_MR_CONTINUE);
	family = data[hl + 1];
	if ((family == SMFIA_INET || family == SMFIA_INET6) && hl + 4 < len &&
	    strnlen(data + hl + 4, len - hl - 4) < len - hl - 4) {
		addr = data + hl + 4;
		if (family == SMFIA_INET6 && strncmp(addr, "IPv6:", 5) == 0)
			addr += 5;
		memset(&s4, 0, sizeof(s4));
		memset(&s6, 0, sizeof(s6));
		if (family == SMFIA_INET &&
		    inet_pton(AF_INET, addr, &s4.sin_addr) == 1) {
			s4.sin_family = AF_INET;
			memcpy(&s4.sin_port, data + hl + 2, 2);
			sa = (const struct sockaddr *) &s4;
		} else if (family == SMFIA_INET6 &&
			   inet_pton(AF_INET6, addr, &s6.sin6_addr) == 1) {
			s6.sin6_family = AF_INET6;
			memcpy(&s6.sin6_port, data + hl + 2, 2);
			sa = (const struct sockaddr *) &s6;
		}
	}
	return (h->connect ? h->connect(c, data, sa) : MA_MR_CONTINUE);
}

/* end_message - the message is over: drop its macros and reply text */
static void
end_message(struct ma_mconn *c)
{
	c->in_msg = 0;
	c->at_eom = 0;
	c->reply[0] = '\0';
	drop_macros(c, FIRST_MSG_STEP);
}

/* do_close - the handler's close, once, and the connection state */
static void
do_close(struct ma_mconn *c)
{
	if (c->started && c->srv->h->close != NULL)
		c->srv->h->close(c);
	c->started = 0;
	c->priv = NULL;
	end_message(c);
	drop_macros(c, 0);
}

/*
 * dispatch - one command; 1 to go on, 0 to close the connection.
 * Replies are queued and written when the command needs an answer.
 */
static int
dispatch(struct ma_mconn *c, int cmd, char *data, size_t len)
{
	const struct ma_mhandler *h = c->srv->h;
	char   *argv[MA_MPROTO_ARGS_MAX + 1];
	enum ma_mreply r = MA_MR_CONTINUE;
	unsigned long nr = 0;
	size_t	nl;

	c->step = step_index(cmd);
	switch (cmd) {
	case SMFIC_OPTNEG:
		if (do_negotiate(c, data, len) < 0)
			return (0);
		return (flush(c) == 0);
	case SMFIC_MACRO:
		set_macros(c, data, len);
		return (1);
	case SMFIC_CONNECT:
		if (c->started && c->in_msg)
			end_message(c);
		c->started = 1;
		r = do_connect(c, data, len);
		nr = SMFIP_NR_CONN;
		break;
	case SMFIC_HELO:
		if (len == 0 || strnlen(data, len) >= len)
			return (0);
		r = h->helo ? h->helo(c, data) : r;
		nr = SMFIP_NR_HELO;
		break;
	case SMFIC_MAIL:
		c->in_msg = 1;
		if (argv_of(data, len, argv) == 0)
			return (0);
		r = h->envfrom ? h->envfrom(c, argv) : r;
		nr = SMFIP_NR_MAIL;
		break;
	case SMFIC_RCPT:
		if (argv_of(data, len, argv) == 0)
			return (0);
		r = h->envrcpt ? h->envrcpt(c, argv) : r;
		nr = SMFIP_NR_RCPT;
		break;
	case SMFIC_DATA:
		nr = SMFIP_NR_DATA;
		break;
	case SMFIC_UNKNOWN:
		nr = SMFIP_NR_UNKN;
		break;
	case SMFIC_HEADER:
		nl = strnlen(data, len);
		if (nl >= len || strnlen(data + nl + 1, len - nl - 1) >=
		    len - nl - 1)
			return (0);
		r = h->header ? h->header(c, data, data + nl + 1) : r;
		nr = SMFIP_NR_HDR;
		break;
	case SMFIC_EOH:
		r = h->eoh ? h->eoh(c) : r;
		nr = SMFIP_NR_EOH;
		break;
	case SMFIC_BODY:
		r = h->body ? h->body(c, (unsigned char *) data, len) : r;
		nr = SMFIP_NR_BODY;
		break;
	case SMFIC_BODYEOB:
		if (len > 0 && h->body != NULL)
			(void) h->body(c, (unsigned char *) data, len);
		c->at_eom = 1;
		r = h->eom ? h->eom(c) : r;
		c->at_eom = 0;
		if (r == MA_MR_NOREPLY || r == MA_MR_SKIP)
			r = MA_MR_CONTINUE;
		(void) reply(c, r, 0);
		end_message(c);
		return (flush(c) == 0);
	case SMFIC_ABORT:
		if (h->abort != NULL && c->started)
			h->abort(c);
		end_message(c);
		return (1);
	case SMFIC_QUIT:
		return (0);
	case SMFIC_QUIT_NC:
		do_close(c);		/* the negotiation holds */
		return (1);
	default:
		ma_log(MA_LOG_DEBUG, "milter: unknown command 0x%02x: closing",
		       (unsigned) cmd & 0xff);
		return (0);
	}
	if (reply(c, r, nr) < 0)
		return (0);
	if (c->olen > 0 && flush(c) < 0)
		return (0);
	/* a final answer ends the message */
	if (r == MA_MR_REJECT || r == MA_MR_TEMPFAIL || r == MA_MR_DISCARD ||
	    (r == MA_MR_ACCEPT && c->in_msg))
		end_message(c);
	return (1);
}

/* serve_conn - one connection, to its end */
static void
serve_conn(struct ma_mconn *c)
{
	struct timeval tv = {MA_MPROTO_TIMEOUT_S, 0};
	int	one = 1, cmd;
	char   *data;
	size_t	len;

	(void) setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void) setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (c->srv->is_tcp) {
		(void) setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one,
				  sizeof(one));
		(void) setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one,
				  sizeof(one));
	}
	while (next_packet(c, &cmd, &data, &len)) {
		if (!dispatch(c, cmd, data, len))
			break;
		if (!c->in_msg &&
		    __atomic_load_n(&c->srv->stopping, __ATOMIC_ACQUIRE))
			break;
	}
	do_close(c);
}

/* --- threads ------------------------------------------------------------ */

static void *worker(void *arg);

/* spawn - one more worker; caller holds s->mu */
static void
spawn(struct ma_mserver *s)
{
	pthread_attr_t attr;
	pthread_t t;
	int	rc;

	if (s->threads >= MA_MPROTO_THREADS_MAX || s->stopping)
		return;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if ((rc = pthread_create(&t, &attr, worker, s)) == 0)
		s->threads++;
	else
		ma_log(MA_LOG_WARN, "milter: cannot start a thread: %s",
		       strerror(rc));
	pthread_attr_destroy(&attr);
}

/* conn_new - a connection context for fd */
static struct ma_mconn *
conn_new(struct ma_mserver *s, int fd)
{
	struct ma_mconn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (NULL);
	if ((c->rbuf = malloc(MA_MPROTO_READ_CHUNK)) == NULL) {
		free(c);
		return (NULL);
	}
	c->rcap = MA_MPROTO_READ_CHUNK;
	c->srv = s;
	c->fd = fd;
	c->step = -1;
	return (c);
}

static void
conn_free(struct ma_mconn *c)
{
	drop_macros(c, 0);
	free(c->rbuf);
	free(c->out);
	free(c);
}

/*
 * accept_trouble - log an accept() failure (out of descriptors or
 * memory) at most once per MA_MPROTO_WARN_EVERY_S, with the count of
 * the ones not logged; caller holds s->mu
 */
static void
accept_trouble(struct ma_mserver *s, int e)
{
	time_t	now = time(NULL);

	s->accept_errors++;
	if (now - s->accept_warned < MA_MPROTO_WARN_EVERY_S)
		return;
	ma_log(MA_LOG_WARN, "milter: accept: %s (%lu times since the last "
	       "warning; connections wait in the backlog)", strerror(e),
	       s->accept_errors);
	s->accept_warned = now;
	s->accept_errors = 0;
}

/* worker - accept a connection, serve it, again; end when not needed */
static void *
worker(void *arg)
{
	struct ma_mserver *s = arg;
	struct ma_mconn *c;
	int	fd, e;

	pthread_mutex_lock(&s->mu);
	while (!s->stopping) {
		s->idle++;
		pthread_mutex_unlock(&s->mu);
		fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
		e = errno;
		pthread_mutex_lock(&s->mu);
		s->idle--;
		if (fd < 0) {
			if (s->stopping)
				break;
			if (e == EMFILE || e == ENFILE || e == ENOBUFS ||
			    e == ENOMEM) {
				accept_trouble(s, e);
				pthread_mutex_unlock(&s->mu);
				(void) nanosleep(&(struct timespec){0,
				    100000000L}, NULL);
				pthread_mutex_lock(&s->mu);
			}
			continue;
		}
		if (s->stopping) {
			close(fd);
			break;
		}
		if (s->idle == 0)
			spawn(s);	/* someone must be in accept() */
		if ((c = conn_new(s, fd)) == NULL) {
			close(fd);
			continue;
		}
		c->next = s->conns;
		if (s->conns != NULL)
			s->conns->prev = c;
		s->conns = c;
		pthread_mutex_unlock(&s->mu);

		serve_conn(c);

		pthread_mutex_lock(&s->mu);
		if (c->prev != NULL)
			c->prev->next = c->next;
		else
			s->conns = c->next;
		if (c->next != NULL)
			c->next->prev = c->prev;
		close(fd);
		conn_free(c);
		if (s->idle >= MA_MPROTO_IDLE_MAX)
			break;		/* plenty are waiting */
	}
	s->threads--;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return (NULL);
}

int
ma_mserver_run(struct ma_mserver *s, const struct ma_mhandler *h)
{
	struct timespec until;
	struct ma_mconn *c;
	unsigned i;
	int	rc = 0;

	s->h = h;
	pthread_mutex_lock(&s->mu);
	for (i = 0; i < MA_MPROTO_SPARE; i++)
		spawn(s);
	if (s->threads == 0) {
		pthread_mutex_unlock(&s->mu);
		return (-1);
	}
	while (!s->stopping)
		pthread_cond_wait(&s->cv, &s->mu);
	/* wake the acceptors; close connections between messages */
	(void) shutdown(s->fd, SHUT_RDWR);
	for (c = s->conns; c != NULL; c = c->next)
		if (!__atomic_load_n(&c->in_msg, __ATOMIC_ACQUIRE))
			(void) shutdown(c->fd, SHUT_RD);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += MA_MPROTO_STOP_WAIT_S;
	while (s->threads > 0)
		if (pthread_cond_timedwait(&s->cv, &s->mu, &until) ==
		    ETIMEDOUT) {
			ma_log(MA_LOG_WARN, "milter: %u connections still "
			       "busy after %d s: leaving them", s->threads,
			       MA_MPROTO_STOP_WAIT_S);
			rc = -1;
			break;
		}
	pthread_mutex_unlock(&s->mu);
	return (rc);
}

int
ma_mserver_serve_fd(const struct ma_mhandler *h, int fd, int is_tcp)
{
	struct ma_mserver s;
	struct ma_mconn *c;

	memset(&s, 0, sizeof(s));
	s.fd = -1;
	s.is_tcp = is_tcp;
	s.h = h;
	if ((c = conn_new(&s, fd)) == NULL)
		return (-1);
	serve_conn(c);
	conn_free(c);
	return (0);
}

void
ma_mserver_stop(struct ma_mserver *s)
{
	pthread_mutex_lock(&s->mu);
	__atomic_store_n(&s->stopping, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}
