/*
 * NAME
 *	fuzz_milter.c - libFuzzer target: the milter protocol server
 * DESCRIPTION
 *	The input is what an MTA writes on a milter connection: framed
 *	packets (uint32 length, command, data), well formed or not. It is
 *	written into one end of a socketpair, that end is shut for
 *	writing, and filter/mproto.c serves the other end to EOF in this
 *	thread (ma_mserver_serve_fd) while a reader thread drains the
 *	replies. The handler asks for every protocol step, offers every
 *	no-reply flag the input's OPTNEG grants, looks up macros at each
 *	step, and at end of message sets a reply, inserts, changes and
 *	deletes header fields and quarantines, with values taken from the
 *	input (header names and values, the envelope); its answer to each
 *	step is chosen by the step's data so that reject, tempfail, skip
 *	and accept paths are all taken.
 *
 *	Inputs over 1 MiB are cut (the packet limit is the server's).
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mailauth/log.h>
#include "mproto.h"

#define MAX_INPUT	(1024 * 1024)

static char last_name[256], last_value[256];

static void
quiet_sink(enum ma_log_level level, const char *text, void *ctx)
{
	(void) level;
	(void) text;
	(void) ctx;
}

/* pick - an answer from a byte of the step's data */
static enum ma_mreply
pick(const char *s)
{
	static const enum ma_mreply r[] = {
		MA_MR_CONTINUE, MA_MR_NOREPLY, MA_MR_CONTINUE, MA_MR_ACCEPT,
		MA_MR_REJECT, MA_MR_TEMPFAIL, MA_MR_DISCARD, MA_MR_SKIP
	};

	return (s != NULL && *s ? r[(unsigned char) s[0] % 8] :
		MA_MR_CONTINUE);
}

static void
look(struct ma_mconn *c)
{
	(void) ma_mconn_macro(c, "i");
	(void) ma_mconn_macro(c, "{daemon_name}");
	(void) ma_mconn_macro(c, "{auth_authen}");
	(void) ma_mconn_macro(c, last_name);
}

static enum ma_mreply
h_negotiate(struct ma_mconn *c, unsigned long act, unsigned long proto,
	    unsigned long *wa, unsigned long *wp)
{
	(void) c;
	*wa = act;
	*wp = proto;
	return (MA_MR_CONTINUE);
}

static enum ma_mreply
h_connect(struct ma_mconn *c, const char *host, const struct sockaddr *sa)
{
	(void) sa;
	look(c);
	return (pick(host));
}

static enum ma_mreply
h_helo(struct ma_mconn *c, const char *helo)
{
	look(c);
	return (pick(helo));
}

static enum ma_mreply
h_argv(struct ma_mconn *c, char **argv)
{
	look(c);
	if (argv[0] != NULL)
		(void) snprintf(last_value, sizeof(last_value), "%s", argv[0]);
	return (pick(argv[1]));
}

static enum ma_mreply
h_header(struct ma_mconn *c, const char *name, const char *value)
{
	look(c);
	(void) snprintf(last_name, sizeof(last_name), "%s", name);
	(void) snprintf(last_value, sizeof(last_value), "%s", value);
	return (pick(value));
}

static enum ma_mreply
h_eoh(struct ma_mconn *c)
{
	look(c);
	return (MA_MR_CONTINUE);
}

static enum ma_mreply
h_body(struct ma_mconn *c, const unsigned char *p, size_t len)
{
	(void) c;
	return (len > 0 ? pick((const char *) p) : MA_MR_CONTINUE);
}

static enum ma_mreply
h_eom(struct ma_mconn *c)
{
	look(c);
	(void) ma_mconn_setreply(c, "550", "5.7.1", last_value);
	(void) ma_mconn_setreply(c, last_value, NULL, "text");
	(void) ma_mconn_insheader(c, 0, last_name, last_value);
	(void) ma_mconn_insheader(c, 3, "X-Fuzz", "a\n\tb");
	(void) ma_mconn_chgheader(c, last_name, 2, NULL);
	(void) ma_mconn_chgheader(c, last_name, 1, last_value);
	(void) ma_mconn_quarantine(c, last_value);
	return (pick(last_value));
}

static void
h_abort(struct ma_mconn *c)
{
	look(c);
}

static void
h_close(struct ma_mconn *c)
{
	ma_mconn_set_priv(c, NULL);
}

static const struct ma_mhandler handler = {
	.negotiate = h_negotiate, .connect = h_connect, .helo = h_helo,
	.envfrom = h_argv, .envrcpt = h_argv, .header = h_header,
	.eoh = h_eoh, .body = h_body, .eom = h_eom, .abort = h_abort,
	.close = h_close,
};

/* drain - read and drop the replies until EOF */
static void *
drain(void *arg)
{
	int	fd = *(int *) arg;
	char	buf[65536];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	return (NULL);
}

/* feed - write the input, then shut the write side */
struct feed {
	int	fd;
	const uint8_t *p;
	size_t	len;
};

static void *
feed(void *arg)
{
	struct feed *f = arg;
	size_t	off = 0;
	ssize_t	n;

	while (off < f->len) {
		n = send(f->fd, f->p + off, f->len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		off += (size_t) n;
	}
	(void) shutdown(f->fd, SHUT_WR);
	return (NULL);
}

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int once;
	pthread_t rt, wt;
	struct feed f;
	int	sv[2];

	if (!once) {
		ma_log_set_sink(quiet_sink, NULL, MA_LOG_DEBUG);
		once = 1;
	}
	if (size > MAX_INPUT)
		size = MAX_INPUT;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return (0);
	last_name[0] = last_value[0] = '\0';
	f.fd = sv[0];
	f.p = data;
	f.len = size;
	if (pthread_create(&wt, NULL, feed, &f) != 0) {
		close(sv[0]);
		close(sv[1]);
		return (0);
	}
	if (pthread_create(&rt, NULL, drain, &sv[0]) != 0) {
		(void) pthread_join(wt, NULL);
		close(sv[0]);
		close(sv[1]);
		return (0);
	}
	(void) ma_mserver_serve_fd(&handler, sv[1], 0);
	(void) shutdown(sv[1], SHUT_RDWR);
	(void) pthread_join(wt, NULL);
	(void) pthread_join(rt, NULL);
	close(sv[0]);
	close(sv[1]);
	return (0);
}
