/*
 * NAME
 *	mproto.h - the filter side of the milter protocol (version 6)
 * DESCRIPTION
 *	Our own server for the Sendmail/Postfix milter protocol, in place
 *	of libmilter (see mproto.c and doc/design.md for why). It listens
 *	on one socket, serves each connection in a thread of a reused pool
 *	and calls a handler per protocol step, much like libmilter's
 *	xxfi_* callbacks; the step's reply is sent unless the MTA agreed
 *	to get none (SMFIP_NR_*). Only at end of message may a handler
 *	queue header edits and a quarantine; they leave with the final
 *	reply in one write.
 *
 *	Constants are libmilter's (mfapi.h, mfdef.h): SMFIF_* actions,
 *	SMFIP_* protocol flags.
 */
#ifndef MAILAUTH_MPROTO_H
#define MAILAUTH_MPROTO_H

#include <stddef.h>
#include <sys/socket.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#include <mailauth/status.h>

struct ma_mserver;
struct ma_mconn;

/* Connections served at once (one thread and one descriptor each). */
#define MA_MPROTO_CONNS_MAX	2048

/* What a handler answers to one step. */
enum ma_mreply {
	MA_MR_CONTINUE,		/* go on */
	MA_MR_NOREPLY,		/* as continue; never answered */
	MA_MR_ACCEPT,		/* accept the message (connection at connect) */
	MA_MR_REJECT,		/* 5xx (the set reply, if any) */
	MA_MR_TEMPFAIL,		/* 4xx (the set reply, if any) */
	MA_MR_DISCARD,		/* accept and drop */
	MA_MR_SKIP		/* no more body chunks (if SMFIP_SKIP) */
};

/*
 * The steps. Every member may be NULL (then: continue). negotiate gets
 * the MTA's offer and sets what we want (a subset); returning
 * MA_MR_REJECT refuses the connection. close is called once for every
 * connection that got as far as a negotiate or a connect, also when the
 * MTA went away mid-message, and also before a SMFIC_QUIT_NC reuse.
 */
struct ma_mhandler {
	enum ma_mreply (*negotiate)(struct ma_mconn *c, unsigned long actions,
				    unsigned long proto, unsigned long *want_act,
				    unsigned long *want_proto);
	enum ma_mreply (*connect)(struct ma_mconn *c, const char *hostname,
				  const struct sockaddr *sa);
	enum ma_mreply (*helo)(struct ma_mconn *c, const char *helo);
	enum ma_mreply (*envfrom)(struct ma_mconn *c, char **argv);
	enum ma_mreply (*envrcpt)(struct ma_mconn *c, char **argv);
	enum ma_mreply (*header)(struct ma_mconn *c, const char *name,
				 const char *value);
	enum ma_mreply (*eoh)(struct ma_mconn *c);
	enum ma_mreply (*body)(struct ma_mconn *c, const unsigned char *p,
			       size_t len);
	enum ma_mreply (*eom)(struct ma_mconn *c);
	void	(*abort)(struct ma_mconn *c);
	void	(*close)(struct ma_mconn *c);
};

/*
 * ma_mserver_open - parse spec (inet:PORT@ADDR, inet6:PORT@ADDR,
 * unix:PATH, local:PATH or /PATH), bind and listen. A stale unix socket
 * file is replaced; its mode is left to the caller.
 */
enum ma_status ma_mserver_open(const char *spec, struct ma_mserver **out,
			       char *err, size_t errlen);

/* ma_mserver_is_tcp - an inet:/inet6: socket */
int	ma_mserver_is_tcp(const struct ma_mserver *s);

/*
 * ma_mserver_run - serve until ma_mserver_stop(); returns when every
 * connection has ended (messages in progress finish, idle connections
 * are closed), or after MA_MPROTO_STOP_WAIT_S. 0 on a clean stop.
 */
int	ma_mserver_run(struct ma_mserver *s, const struct ma_mhandler *h);

/* ma_mserver_stop - from any thread: stop accepting, wind down */
void	ma_mserver_stop(struct ma_mserver *s);

/*
 * ma_mserver_serve_fd - serve one connection on fd in this thread, to
 * its end (tests and the fuzz target; fd is not closed). 0, or -1 when
 * out of memory.
 */
int	ma_mserver_serve_fd(const struct ma_mhandler *h, int fd, int is_tcp);

/* ma_mserver_close - close the socket (unlink a unix socket), free */
void	ma_mserver_close(struct ma_mserver **sp);

/* --- for handlers, on their own connection ------------------------------ */

/* ma_mconn_priv, ma_mconn_set_priv - the handler's per-connection data */
void   *ma_mconn_priv(const struct ma_mconn *c);
void	ma_mconn_set_priv(struct ma_mconn *c, void *priv);

/* ma_mconn_pflags - the negotiated SMFIP_* flags */
unsigned long ma_mconn_pflags(const struct ma_mconn *c);

/*
 * ma_mconn_macro - the value of macro name ("i", "{daemon_name}"; the
 * braces are optional either side) as the MTA last defined it for this
 * or an earlier step of the message or connection; NULL if undefined.
 */
const char *ma_mconn_macro(const struct ma_mconn *c, const char *name);

/*
 * ma_mconn_setreply - the SMTP reply for the next REJECT or TEMPFAIL:
 * rcode "4xx"/"5xx" (must match the action), xcode "x.y.z" or NULL,
 * text printable ASCII without '%'. 0, or -1 when refused.
 */
int	ma_mconn_setreply(struct ma_mconn *c, const char *rcode,
			  const char *xcode, const char *text);

/*
 * End of message only (-1 elsewhere, or when the MTA did not grant the
 * action): insert a header field at index (0: top), change the index-th
 * (1-based) field called name (value NULL: delete it), quarantine.
 */
int	ma_mconn_insheader(struct ma_mconn *c, int index, const char *name,
			   const char *value);
int	ma_mconn_chgheader(struct ma_mconn *c, const char *name, int index,
			   const char *value);
int	ma_mconn_quarantine(struct ma_mconn *c, const char *reason);

#endif
