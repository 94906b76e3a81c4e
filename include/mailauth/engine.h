/*
 * NAME
 *	engine.h - the message pipeline: engine, session, message, verdict
 * DESCRIPTION
 *	Front ends (mailauthd's milter callbacks, mailauth-check, tests) drive
 *	the engine with plain C calls:
 *
 *	    ma_engine_new  (once per configuration; shared, refcounted)
 *	    ma_session_new (per SMTP connection) .. ma_session_set_*
 *	    ma_msg_new     (per transaction, at MAIL FROM)
 *	        ma_msg_rcpt* ma_msg_header* ma_msg_eoh ma_msg_body* ma_msg_eom
 *	    ma_msg_free    (after eom, or instead of it on abort)
 *	    ma_session_free
 *
 *	and get back a struct ma_verdict: plain data saying what to do.
 *	The engine never sees libmilter.
 */
#ifndef MAILAUTH_ENGINE_H
#define MAILAUTH_ENGINE_H

#include <stddef.h>
#include <time.h>
#include <sys/socket.h>
#include <mailauth/status.h>
#include <mailauth/ip.h>
#include <mailauth/spf.h>
#include <mailauth/dkim.h>
#include <mailauth/dmarc.h>

struct ma_dns;
struct ma_keystore;
struct ma_report_row;
struct ma_engine;
struct ma_session;
struct ma_msg;

enum ma_action {
	MA_ACTION_ACCEPT, MA_ACTION_QUARANTINE, MA_ACTION_REJECT,
	MA_ACTION_TEMPFAIL
};

/* What the engine needs from the configuration (filter/config.c builds it). */
struct ma_policy_config {
	const char *authserv_id;	/* AuthservID; required */
	const char *receiver;		/* host name for SPF %{r} */
	int	reject_failures;	/* RejectFailures: act on DMARC policy */
	enum ma_action on_temperror;	/* DMARC temperror: ACCEPT or TEMPFAIL */
	enum ma_action on_error;	/* engine cannot decide: TEMPFAIL default */
	struct ma_cidr_list internal_hosts; /* not judged as inbound */
	int	auth_is_internal;	/* authenticated sessions are outbound */
	int	spf_helo;		/* also check the HELO identity */
	int	remove_forged_ar;	/* delete A-R fields with our authserv-id */
	char  **trusted_authserv_ids;	/* TrustedAuthservIDs: also ours */
	int	no_sign;		/* Mode without s: outbound passes unsigned */
	int	no_verify;		/* Mode without v: inbound passes unjudged */
	int	no_hold;		/* HoldQuarantined no: quarantine = accept */
	unsigned dkim_min_key_bits;	/* MinimumKeyBits, RFC 8301: 1024 */
	int	dkim_allow_sha1;	/* RFC 8301: no */
	unsigned dkim_max_signatures;
	unsigned dns_max_queries;	/* per message */
	unsigned message_dns_ms;	/* per-message DNS time budget */
	time_t	fixed_now;		/* 0: real clock (mailauth-check --time) */

	/* outbound signing (the key store itself is given to ma_engine_new) */
	char  **signing_daemons;	/* {daemon_name} values that are outbound */
	int	force_outbound;		/* every message is outbound (--sign) */
	int	sign_header_relaxed;	/* Canonicalization header/body */
	int	sign_body_relaxed;
	char  **sign_headers;		/* NULL: RFC 6376 5.4.1 set */
	char  **oversign_headers;	/* NULL: From */
	unsigned signature_ttl;		/* x= seconds after t=; 0: none */
};

enum ma_msg_mode { MA_MODE_VERIFY, MA_MODE_OUTBOUND };

struct ma_header_add {
	const char *name;
	const char *value;		/* folded with CRLF/LF as the MTA wants */
};

struct ma_verdict {
	enum ma_msg_mode mode;
	enum ma_action action;
	const char *rcode;		/* "550", "451" (reject/tempfail) */
	const char *xcode;		/* "5.7.1" */
	const char *reply_text;		/* sanitised, no CR/LF */
	const char *quarantine_reason;
	const struct ma_header_add *add;/* insert at the top, in this order */
	size_t	n_add;
	const char *del_name;		/* "Authentication-Results" */
	const unsigned *del_index;	/* 1-based per-name indexes, descending */
	size_t	n_del;
	const struct ma_spf_outcome *spf_mailfrom;	/* NULL: not run */
	const struct ma_spf_outcome *spf_helo;
	const struct ma_dkim_sig *dkim;
	size_t	n_dkim;
	const struct ma_dmarc_outcome *dmarc;		/* NULL: not run */
	const char *authres;		/* value of our A-R field, or NULL */
	const char *const *signatures;	/* DKIM-Signature values added */
	size_t	n_signatures;
	const struct ma_report_row *report_row; /* DMARC history row, or NULL
					 * (outbound, or no policy record) */
	const char *log_line;		/* key=value summary (one line) */
};

/*
 * ma_engine_new - build an engine from a configuration copy; takes
 * ownership of dns and of keys (may be NULL: nothing is signed); both are
 * freed with the engine. Thread-safe once built.
 */
enum ma_status ma_engine_new(const struct ma_policy_config *cfg,
			     struct ma_dns *dns, struct ma_keystore *keys,
			     struct ma_engine **out, char *err, size_t errlen);
void	ma_engine_ref(struct ma_engine *e);
void	ma_engine_unref(struct ma_engine **ep);

/* ma_session_new - one SMTP connection; client may be NULL (unknown) */
struct ma_session *ma_session_new(struct ma_engine *e,
				  const struct sockaddr *client,
				  const char *client_name);
void	ma_session_set_client_ip(struct ma_session *s, const struct ma_ip *ip);
void	ma_session_set_helo(struct ma_session *s, const char *helo);
void	ma_session_set_auth(struct ma_session *s, const char *authen);
void	ma_session_set_daemon(struct ma_session *s, const char *name);
void	ma_session_free(struct ma_session **sp);

/* ma_msg_new - a transaction; mail_from as given in MAIL FROM (with <>) */
struct ma_msg *ma_msg_new(struct ma_session *s, const char *mail_from,
			  size_t len);
void	ma_msg_set_queue_id(struct ma_msg *m, const char *qid);
enum ma_status ma_msg_rcpt(struct ma_msg *m, const char *rcpt, size_t len);

/* ma_msg_header - one field; value as after the colon (folds CRLF or LF) */
enum ma_status ma_msg_header(struct ma_msg *m, const char *name, size_t nlen,
			     const char *value, size_t vlen);
enum ma_status ma_msg_eoh(struct ma_msg *m);
enum ma_status ma_msg_body(struct ma_msg *m, const unsigned char *p, size_t len);

/* ma_msg_eom - evaluate; *out valid until ma_msg_free */
enum ma_status ma_msg_eom(struct ma_msg *m, const struct ma_verdict **out);
void	ma_msg_free(struct ma_msg **mp);

/* ma_msg_mode - verify or outbound, known from MAIL FROM on */
enum ma_msg_mode ma_msg_mode(const struct ma_msg *m);

/* ma_msg_passes - 1 when Mode leaves this message alone (not s or not v) */
int	ma_msg_passes(const struct ma_msg *m);

/* ma_msg_wants_body - whether body chunks matter (front ends may skip them) */
int	ma_msg_wants_body(const struct ma_msg *m);

const char *ma_action_str(enum ma_action a);	/* "accept", ... */

#endif
