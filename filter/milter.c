/*
 * NAME
 *	milter - libmilter callbacks of mailauthd
 * SUMMARY
 *	translate the milter protocol into engine calls, apply the verdict
 * SYNOPSIS
 *	#include "milter.h"
#include "mproto.h"
 *
 *	ma_milter_set_engine(engine, on_error);
 *	smfi_register(*ma_milter_desc());
 * DESCRIPTION
 *	One struct milter_conn per milter connection, made at negotiate
 *	(or connect, with MTAs that skip negotiation) and freed at close,
 *	which copes with a connection that never saw a connect. Each
 *	callback fetches its context, turns the arguments into plain C,
 *	makes one engine call and maps the status to SMFIS_*:
 *
 *	    negotiate	ask for what we use; no-reply steps where offered
 *	    connect	ma_session_new (+ {daemon_name})
 *	    helo	ma_session_set_helo
 *	    envfrom	({auth_authen}) ma_msg_new, ma_msg_set_queue_id (i)
 *	    envrcpt	ma_msg_rcpt
 *	    header	ma_msg_header (value exactly as after the colon)
 *	    eoh, body	ma_msg_eoh, ma_msg_body (MA_MR_SKIP once the
 *			engine wants no more body, where the MTA allows it)
 *	    eom		ma_msg_eom, then apply the verdict, ma_msg_free
 *	    abort	ma_msg_free
 *	    close	ma_msg_free, ma_session_free, engine unref
 *
 *	Applying a verdict: delete the listed Authentication-Results
 *	instances (indexes descending, as given), insert the added fields at
 *	the top in the given order, then accept, quarantine (hold queue),
 *	reject or tempfail with the verdict's reply. No policy lives here.
 *
 *	When the engine cannot decide (a call fails, no session or message
 *	could be made), the configured on-error action applies; tempfail
 *	unless configured otherwise. Mail is never lost silently.
 * MEMORY
 *	The connection context is malloc'ed and owned by libmilter's private
 *	pointer. It holds one engine reference (the configuration snapshot
 *	at connect), the session and at most one message. Verdict data is
 *	borrowed from the message and used before ma_msg_free().
 * LIMITS
 *	Header values given to smfi_insheader() are copied once to turn
 *	CRLF into LF; nothing else is buffered.
 * DIAGNOSTICS
 *	info: one line per message (queue id and the verdict's log line).
 *	warn: engine errors, failed header edits; debug: negotiation.
 *	Counted for the metrics (metrics.c): connections, each message's
 *	verdict (or on-error action) and its time from MAIL FROM to the
 *	end-of-message reply; ma_milter_handler() has each step timed.
 * THREADS
 *	libmilter runs callbacks of one connection in sequence, different
 *	connections in parallel. The current engine pointer is guarded by a
 *	mutex; everything else is per connection.
 * STANDARDS
 *	Sendmail milter protocol version 6 (libmilter), Postfix MILTER_README.
 * SEE ALSO
 *	engine.h, main.c, Postfix src/milter/milter8.c
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>


#include <mailauth/engine.h>
#include <mailauth/report.h>
#include <mailauth/log.h>

#include "json_out.h"
#include "metrics.h"
#include "milter.h"
#include "mproto.h"

#define QID_MAX	64

struct milter_conn {
	struct ma_engine *engine;	/* snapshot at connect; one reference */
	enum ma_action on_error;
	struct ma_session *session;
	struct ma_msg *msg;		/* current transaction or NULL */
	enum ma_status msg_status;	/* first failed engine call, or MA_OK */
	int	passing;		/* Mode: this message is not ours */
	enum ma_msg_mode mode;		/* of the message (metrics) */
	long long t_mail;		/* MAIL FROM, ma_metrics_now_ns() */
	char	qid[QID_MAX];
};

static pthread_mutex_t cur_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ma_engine *cur_engine;
static enum ma_action cur_on_error = MA_ACTION_TEMPFAIL;
static struct ma_report_store *report_store;	/* set before smfi_main */
static int log_json;			/* LogFormat json; set at (re)load */

/* ma_milter_set_log_json - per-message lines as JSON objects (or not) */
void
ma_milter_set_log_json(int on)
{
	__atomic_store_n(&log_json, on != 0, __ATOMIC_RELAXED);
}

/* ma_milter_set_report_store - where DMARC history rows go (NULL: none) */
void
ma_milter_set_report_store(struct ma_report_store *s)
{
	report_store = s;
}

/* ma_milter_set_engine - install the snapshot new sessions use */
void
ma_milter_set_engine(struct ma_engine *e, enum ma_action on_error)
{
	struct ma_engine *old;

	if (e != NULL)
		ma_engine_ref(e);
	pthread_mutex_lock(&cur_lock);
	old = cur_engine;
	cur_engine = e;
	cur_on_error = on_error;
	pthread_mutex_unlock(&cur_lock);
	if (old != NULL)
		ma_engine_unref(&old);
}

/* conn_get - the connection context, made on first use */
static struct milter_conn *
conn_get(struct ma_mconn *ctx)
{
	struct milter_conn *c = ma_mconn_priv(ctx);

	if (c != NULL)
		return (c);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (NULL);
	pthread_mutex_lock(&cur_lock);
	c->engine = cur_engine;
	if (c->engine != NULL)
		ma_engine_ref(c->engine);
	c->on_error = cur_on_error;
	pthread_mutex_unlock(&cur_lock);
	ma_mconn_set_priv(ctx, c);
	ma_metrics_conn_open();
	return (c);
}

/* conn_msg_end - free the current message, if any */
static void
conn_msg_end(struct milter_conn *c)
{
	ma_msg_free(&c->msg);
	c->msg_status = MA_OK;
	c->passing = 0;
	c->qid[0] = '\0';
}

/* conn_qid - remember the queue id macro "i" when the MTA sends it */
static void
conn_qid(struct ma_mconn *ctx, struct milter_conn *c)
{
	const char *qid = ma_mconn_macro(ctx, "i");

	if (qid == NULL || *qid == '\0')
		return;
	if (strlen(qid) >= sizeof(c->qid))
		return;
	if (strcmp(c->qid, qid) == 0)
		return;
	memcpy(c->qid, qid, strlen(qid) + 1);
	if (c->msg != NULL)
		ma_msg_set_queue_id(c->msg, c->qid);
}

/*
 * on_error - the configured action for an engine that cannot decide.
 * Only end of message may quarantine; earlier, quarantine is remembered
 * (msg_status) and applied at end of message.
 */
static enum ma_mreply
on_error(struct ma_mconn *ctx, const struct milter_conn *c, int at_eom)
{
	enum ma_action a = (c != NULL) ? c->on_error : MA_ACTION_TEMPFAIL;

	switch (a) {
	case MA_ACTION_ACCEPT:
		return (MA_MR_ACCEPT);
	case MA_ACTION_QUARANTINE:
		if (!at_eom)
			return (MA_MR_CONTINUE);
		if (ma_mconn_quarantine(ctx, "mailauthd: authentication not "
					"evaluated") != 0)
			break;
		return (MA_MR_ACCEPT);
	case MA_ACTION_REJECT:
		(void) ma_mconn_setreply(ctx, "550", "5.7.1",
					 "message could not be authenticated");
		return (MA_MR_REJECT);
	case MA_ACTION_TEMPFAIL:
		break;
	}
	(void) ma_mconn_setreply(ctx, "451", "4.3.0", "temporary "
				 "authentication failure, try again later");
	return (MA_MR_TEMPFAIL);
}

/* is_fatal - a status after which feeding the message is pointless */
static int
is_fatal(enum ma_status st)
{
	return (st == MA_ERR_NOMEM || st == MA_ERR_INTERNAL);
}

/*
 * feed_failed - note a failed engine feed call. Syntax and limit trouble
 * is the engine's to judge at end of message; after a fatal status the
 * on-error action applies there.
 */
static void
feed_failed(struct milter_conn *c, const char *step, enum ma_status st)
{
	if (c->msg_status != MA_OK && is_fatal(c->msg_status))
		return;
	if (c->msg_status == MA_OK || is_fatal(st)) {
		c->msg_status = st;
		ma_log(is_fatal(st) ? MA_LOG_WARN : MA_LOG_DEBUG, "%s: %s: %s",
		       c->qid[0] ? c->qid : "NOQUEUE", step, ma_status_str(st));
	}
}

/* xxfi_negotiate - ask for the steps and actions we use */
static enum ma_mreply
xxfi_negotiate(struct ma_mconn *ctx, unsigned long f0, unsigned long f1,
	       unsigned long *pf0, unsigned long *pf1)
{
	struct milter_conn *c;
	unsigned long want_act = SMFIF_ADDHDRS | SMFIF_CHGHDRS |
	    SMFIF_QUARANTINE;
	unsigned long want_proto = SMFIP_HDR_LEADSPC | SMFIP_NOUNKNOWN |
	    SMFIP_NODATA | SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_RCPT |
	    SMFIP_NR_HDR | SMFIP_NR_BODY | SMFIP_NR_UNKN | SMFIP_NR_DATA |
	    SMFIP_NR_EOH | SMFIP_NR_MAIL;

	if ((c = conn_get(ctx)) == NULL)
		return (MA_MR_REJECT);	/* refuse the connection */
	if ((f0 & want_act) != want_act) {
		ma_log(MA_LOG_WARN, "MTA offers actions 0x%lx, need 0x%lx",
		       f0, want_act);
		return (MA_MR_REJECT);
	}
	/* SMFIS_SKIP is a reply: with it, body chunks need one */
	if ((f1 & SMFIP_SKIP) != 0)
		want_proto = (want_proto & ~SMFIP_NR_BODY) | SMFIP_SKIP;
	*pf0 = want_act;
	*pf1 = f1 & want_proto;
	ma_log(MA_LOG_DEBUG, "negotiate: MTA offers actions 0x%lx protocol "
	       "0x%lx; using 0x%lx 0x%lx", f0, f1, want_act, *pf1);
	return (MA_MR_CONTINUE);
}

/* xxfi_connect - make the session */
static enum ma_mreply
xxfi_connect(struct ma_mconn *ctx, const char *hostname,
	     const struct sockaddr *sa)
{
	struct milter_conn *c = conn_get(ctx);
	const char *daemon;

	if (c == NULL)
		return (MA_MR_TEMPFAIL);
	if (c->session != NULL) {	/* MTA reuses the connection */
		conn_msg_end(c);
		ma_session_free(&c->session);
	}
	if (c->engine == NULL) {
		ma_log(MA_LOG_ERROR, "connect: no engine loaded");
		return (MA_MR_CONTINUE);	/* on_error at MAIL */
	}
	c->session = ma_session_new(c->engine, sa, hostname);
	if (c->session == NULL) {
		ma_log(MA_LOG_ERROR, "connect: cannot make a session");
		return (MA_MR_CONTINUE);
	}
	if ((daemon = ma_mconn_macro(ctx, "{daemon_name}")) != NULL)
		ma_session_set_daemon(c->session, daemon);
	return (MA_MR_CONTINUE);
}

/* xxfi_helo - the HELO/EHLO name */
static enum ma_mreply
xxfi_helo(struct ma_mconn *ctx, const char *helo)
{
	struct milter_conn *c = ma_mconn_priv(ctx);

	if (c != NULL && c->session != NULL && helo != NULL)
		ma_session_set_helo(c->session, helo);
	return (MA_MR_CONTINUE);
}

/* xxfi_envfrom - start a transaction */
static enum ma_mreply
xxfi_envfrom(struct ma_mconn *ctx, char **argv)
{
	struct milter_conn *c = ma_mconn_priv(ctx);
	const char *auth;
	const char *from = (argv != NULL && argv[0] != NULL) ? argv[0] : "";

	if (c == NULL)
		return (on_error(ctx, NULL, 0));
	conn_msg_end(c);
	if (c->session == NULL) {
		c->msg_status = MA_ERR_INTERNAL;
		return (on_error(ctx, c, 0));
	}
	if ((auth = ma_mconn_macro(ctx, "{auth_authen}")) != NULL && *auth)
		ma_session_set_auth(c->session, auth);
	if ((c->msg = ma_msg_new(c->session, from, strlen(from))) == NULL) {
		ma_log(MA_LOG_ERROR, "MAIL FROM: cannot make a message");
		c->msg_status = MA_ERR_NOMEM;
		return (on_error(ctx, c, 0));
	}
	conn_qid(ctx, c);
	c->mode = ma_msg_mode(c->msg);
	c->t_mail = ma_metrics_now_ns();
	if (ma_msg_passes(c->msg)) {
		/* Mode: this direction is not ours; the MTA goes on alone */
		ma_log(MA_LOG_DEBUG, "%s: %s mail passes (Mode)",
		       c->qid[0] ? c->qid : "NOQUEUE",
		       ma_msg_mode(c->msg) == MA_MODE_OUTBOUND ? "outbound"
		       : "inbound");
		conn_msg_end(c);
		c->passing = 1;		/* accepted at end of message */
	}
	return (MA_MR_CONTINUE);
}

/* xxfi_envrcpt - one recipient */
static enum ma_mreply
xxfi_envrcpt(struct ma_mconn *ctx, char **argv)
{
	struct milter_conn *c = ma_mconn_priv(ctx);
	enum ma_status st;

	if (c == NULL || c->msg == NULL || argv == NULL || argv[0] == NULL)
		return (MA_MR_CONTINUE);
	conn_qid(ctx, c);
	if ((st = ma_msg_rcpt(c->msg, argv[0], strlen(argv[0]))) != MA_OK)
		feed_failed(c, "RCPT TO", st);
	return (MA_MR_CONTINUE);
}

/* xxfi_header - one header field, value exactly as after the colon */
static enum ma_mreply
xxfi_header(struct ma_mconn *ctx, const char *name, const char *value)
{
	struct milter_conn *c = ma_mconn_priv(ctx);
	enum ma_status st;

	if (c == NULL || c->msg == NULL || name == NULL || value == NULL)
		return (MA_MR_CONTINUE);
	st = ma_msg_header(c->msg, name, strlen(name), value, strlen(value));
	if (st != MA_OK)
		feed_failed(c, "header", st);
	return (MA_MR_CONTINUE);
}

/* xxfi_eoh - end of the header */
static enum ma_mreply
xxfi_eoh(struct ma_mconn *ctx)
{
	struct milter_conn *c = ma_mconn_priv(ctx);
	enum ma_status st;

	if (c == NULL || c->msg == NULL)
		return (MA_MR_CONTINUE);
	conn_qid(ctx, c);
	if ((st = ma_msg_eoh(c->msg)) != MA_OK)
		feed_failed(c, "end of header", st);
	return (MA_MR_CONTINUE);
}

/* xxfi_body - one body chunk */
static enum ma_mreply
xxfi_body(struct ma_mconn *ctx, const unsigned char *p, size_t len)
{
	struct milter_conn *c = ma_mconn_priv(ctx);
	enum ma_status st;

	if (c == NULL || c->msg == NULL || is_fatal(c->msg_status))
		return (MA_MR_CONTINUE);
	if (!ma_msg_wants_body(c->msg))
		return ((ma_mconn_pflags(ctx) & SMFIP_SKIP) ? MA_MR_SKIP :
			MA_MR_CONTINUE);
	if ((st = ma_msg_body(c->msg, p, len)) != MA_OK)
		feed_failed(c, "body", st);
	return (MA_MR_CONTINUE);
}

/*
 * header_value - the value as the MTA wants it inserted: LF line ends
 * (Postfix stores "\n" and rejects nothing else cleanly; Sendmail adds
 * CR itself), with the leading space iff SMFIP_HDR_LEADSPC is in force.
 * Returns a malloc'ed copy or NULL.
 */
static char *
header_value(unsigned long pflags, const char *v)
{
	size_t	len = strlen(v), i, o = 0;
	char   *out;
	int	leadspc = (pflags & SMFIP_HDR_LEADSPC) != 0;

	if (!leadspc && (*v == ' '))
		v++, len--;
	if ((out = malloc(len + 2)) == NULL)
		return (NULL);
	if (leadspc && *v != ' ' && *v != '\t')
		out[o++] = ' ';
	for (i = 0; i < len; i++) {
		if (v[i] == '\r' && v[i + 1] == '\n')
			continue;
		out[o++] = v[i];
	}
	out[o] = '\0';
	return (out);
}

/* apply_headers - delete forged A-R instances, insert ours at the top */
static void
apply_headers(struct ma_mconn *ctx, const struct milter_conn *c,
	      const struct ma_verdict *v)
{
	const char *qid = c->qid[0] ? c->qid : "NOQUEUE";
	size_t	i;
	char   *val;

	for (i = 0; i < v->n_del && v->del_name != NULL; i++) {
		if (ma_mconn_chgheader(ctx, v->del_name,
				       (int) v->del_index[i], NULL) != 0)
			ma_log(MA_LOG_WARN, "%s: cannot delete %s #%u", qid,
			       v->del_name, v->del_index[i]);
	}
	/* Inserting at 0 from last to first leaves them in the given order. */
	for (i = v->n_add; i-- > 0;) {
		val = header_value(ma_mconn_pflags(ctx), v->add[i].value);
		if (val == NULL) {
			ma_log(MA_LOG_WARN, "%s: out of memory adding %s", qid,
			       v->add[i].name);
			continue;
		}
		if (ma_mconn_insheader(ctx, 0, v->add[i].name, val) != 0)
			ma_log(MA_LOG_WARN, "%s: cannot add %s", qid,
			       v->add[i].name);
		free(val);
	}
}

/* set_reply - the verdict's SMTP reply (the MTA's default if refused) */
static void
set_reply(struct ma_mconn *ctx, const char *qid, const struct ma_verdict *v)
{
	if (v->rcode == NULL)
		return;
	if (ma_mconn_setreply(ctx, v->rcode, v->xcode, v->reply_text) != 0)
		ma_log(MA_LOG_WARN, "%s: reply %s %s refused",
		       qid, v->rcode, v->xcode ? v->xcode : "");
}

/* apply_action - the verdict's action as a milter reply */
static enum ma_mreply
apply_action(struct ma_mconn *ctx, const struct milter_conn *c,
	     const struct ma_verdict *v)
{
	const char *qid = c->qid[0] ? c->qid : "NOQUEUE";

	switch (v->action) {
	case MA_ACTION_ACCEPT:
		return (MA_MR_ACCEPT);
	case MA_ACTION_QUARANTINE:
		if (ma_mconn_quarantine(ctx, v->quarantine_reason ?
					v->quarantine_reason : "mailauthd") != 0) {
			ma_log(MA_LOG_WARN, "%s: quarantine refused by the MTA",
			       qid);
			return (on_error(ctx, c, 1));
		}
		return (MA_MR_ACCEPT);
	case MA_ACTION_REJECT:
		set_reply(ctx, qid, v);
		return (MA_MR_REJECT);
	case MA_ACTION_TEMPFAIL:
		set_reply(ctx, qid, v);
		return (MA_MR_TEMPFAIL);
	}
	return (on_error(ctx, c, 1));
}

/* log_message - the one line per message, key=value or JSON (LogFormat) */
static void
log_message(const struct milter_conn *c, const char *line)
{
	const char *qid = c->qid[0] ? c->qid : "NOQUEUE";
	char   *json;

	if (!__atomic_load_n(&log_json, __ATOMIC_RELAXED)) {
		ma_log(MA_LOG_INFO, "%s: %s", qid, line);
		return;
	}
	if ((json = ma_json_log_line(qid, line)) == NULL) {
		ma_log(MA_LOG_INFO, "%s: %s", qid, line);
		return;
	}
	ma_log(MA_LOG_INFO, "%s", json);
	free(json);
}

/* xxfi_eom - evaluate and apply the verdict */
static enum ma_mreply
xxfi_eom(struct ma_mconn *ctx)
{
	struct milter_conn *c = ma_mconn_priv(ctx);
	const struct ma_verdict *v = NULL;
	enum ma_status st;
	enum ma_mreply r;

	if (c == NULL)
		return (on_error(ctx, NULL, 1));
	if (c->msg == NULL && c->passing) {
		char	line[QID_MAX + 64];

		conn_qid(ctx, c);
		(void) snprintf(line, sizeof(line), "qid=%s mode=%s "
				"passed=Mode action=accept",
				c->qid[0] ? c->qid : "NOQUEUE",
				c->mode == MA_MODE_OUTBOUND ? "outbound" : "verify");
		log_message(c, line);
		ma_metrics_message(c->mode, MA_ACTION_ACCEPT);
		ma_metrics_message_done(c->t_mail);
		conn_msg_end(c);
		return (MA_MR_ACCEPT);
	}
	if (c->msg == NULL) {
		ma_log(MA_LOG_WARN, "end of message without a transaction");
		ma_metrics_eval_error();
		return (on_error(ctx, c, 1));
	}
	conn_qid(ctx, c);
	st = is_fatal(c->msg_status) ? c->msg_status : ma_msg_eom(c->msg, &v);
	if (st != MA_OK || v == NULL) {
		ma_log(MA_LOG_WARN, "%s: evaluation failed: %s; applying "
		       "on-error action %s", c->qid[0] ? c->qid : "NOQUEUE",
		       ma_status_str(st), ma_action_str(c->on_error));
		r = on_error(ctx, c, 1);
		ma_metrics_eval_error();
		ma_metrics_message(c->mode, c->on_error);
	} else {
		/* header edits only matter for mail that goes on */
		if (v->action == MA_ACTION_ACCEPT
		    || v->action == MA_ACTION_QUARANTINE)
			apply_headers(ctx, c, v);
		r = apply_action(ctx, c, v);
		log_message(c, v->log_line != NULL ? v->log_line
			    : ma_action_str(v->action));
		/* queued, never waits for the database */
		if (v->report_row != NULL && report_store != NULL)
			(void) ma_report_store_append(report_store, v->report_row);
		ma_metrics_verdict(v);
	}
	ma_metrics_message_done(c->t_mail);
	conn_msg_end(c);
	return (r);
}

/* xxfi_abort - the transaction ended without end of message */
static void
xxfi_abort(struct ma_mconn *ctx)
{
	struct milter_conn *c = ma_mconn_priv(ctx);

	if (c != NULL)
		conn_msg_end(c);
}

/* xxfi_close - end of the connection; copes with no connect */
static void
xxfi_close(struct ma_mconn *ctx)
{
	struct milter_conn *c = ma_mconn_priv(ctx);

	if (c == NULL)
		return;
	conn_msg_end(c);
	ma_session_free(&c->session);
	if (c->engine != NULL)
		ma_engine_unref(&c->engine);
	free(c);
	ma_metrics_conn_close();
	ma_mconn_set_priv(ctx, NULL);
}

static const struct ma_mhandler milter_handler = {
	.negotiate = xxfi_negotiate,
	.connect = xxfi_connect,
	.helo = xxfi_helo,
	.envfrom = xxfi_envfrom,
	.envrcpt = xxfi_envrcpt,
	.header = xxfi_header,
	.eoh = xxfi_eoh,
	.body = xxfi_body,
	.eom = xxfi_eom,
	.abort = xxfi_abort,
	.close = xxfi_close,
};

/* ma_milter_handler - the protocol steps of mailauthd, each timed */
const struct ma_mhandler *
ma_milter_handler(void)
{
	return (ma_metrics_timed(&milter_handler));
}
