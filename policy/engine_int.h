/*
 * NAME
 *	engine_int.h - engine internals shared by engine.c, message.c, verdict.c
 */
#ifndef MAILAUTH_ENGINE_INT_H
#define MAILAUTH_ENGINE_INT_H

#include <pthread.h>

#include <mailauth/engine.h>
#include <mailauth/dns.h>
#include <mailauth/buf.h>

struct ma_engine {
	pthread_mutex_t lock;
	unsigned refs;
	struct ma_policy_config cfg;	/* deep copy; strings owned */
	struct ma_dns *dns;
	struct ma_dkim_verifier *dkim;
	struct ma_keystore *keys;	/* NULL: no signing */
};

struct ma_session {
	struct ma_engine *engine;	/* one reference */
	struct ma_ip client;
	char   *client_name;
	char   *helo;
	char   *authen;
	char   *daemon;
};

struct ma_msg {
	struct ma_session *s;
	struct ma_engine *e;
	struct ma_arena *arena;
	enum ma_msg_mode mode;
	const char *mail_from_raw;	/* as given */
	const char *mail_from;		/* address without <>, "" null sender */
	const char *mail_from_domain;	/* "" when null or unparseable */
	int	mail_from_bad;		/* unparseable path */
	const char *queue_id;
	size_t	n_rcpt;
	const char *first_rcpt;

	/* header facts */
	unsigned n_fields;		/* all fields seen */
	size_t	header_bytes;
	int	header_overflow;	/* limits hit: DKIM cannot be trusted */
	unsigned n_from;		/* From fields seen */
	unsigned n_prefetch_keys;	/* DKIM key records prefetched */
	const char *from_value;		/* first From value (arena) */
	size_t	from_len;
	int	from_parsed;		/* from_domains() ran: */
	enum ma_status from_parse_st;	/* its status, */
	const char **from_domains;	/* domains (arena) */
	size_t	n_from_domains;
	unsigned n_ar;			/* A-R fields seen */
	unsigned *ar_ours;		/* indexes (1-based) carrying our id */
	size_t	n_ar_ours;
	size_t	cap_ar_ours;

	/* outbound: fields kept until the From field says which keys sign */
	const char **out_fields;
	size_t	*out_lens;
	size_t	n_out_fields;
	size_t	cap_out_fields;
	struct ma_dkim_signer **signers;
	size_t	n_signers;
	const char **sig_values;	/* DKIM-Signature values made */
	size_t	n_sig_values;
	const char *sign_note;		/* why unsigned */
	int	sign_broken;

	struct ma_dns_budget budget;
	struct ma_dkim_verify *dkim;
	int	dkim_broken;		/* start/feed failed: results untrusted */
	int	eoh_seen;

	struct ma_spf_outcome spf_mailfrom;
	struct ma_spf_outcome spf_helo;
	int	has_spf_helo;
	struct ma_dmarc_outcome dmarc;
	const struct ma_dkim_sig *sigs;
	size_t	n_sigs;
	struct ma_verdict verdict;
	int	done;
};

/* ma_report_row_build - the DMARC history row of a judged message (or NULL) */
struct ma_report_row;
const struct ma_report_row *ma_report_row_build(struct ma_msg *m);

/* ma_verdict_build - combine the results of m into m->verdict */
enum ma_status ma_verdict_build(struct ma_msg *m);

/* ma_verdict_error - verdict for a message the engine could not judge */
void	ma_verdict_error(struct ma_msg *m, const char *why);

#endif
