/*
 * NAME
 *	message - one transaction through the engine
 * SYNOPSIS
 *	#include <mailauth/engine.h>
 * DESCRIPTION
 *	A message starts at MAIL FROM. Its mode is decided then: outbound
 *	(client in InternalHosts, or an authenticated session when
 *	auth_is_internal) or verify. For verify, header fields are fed to
 *	DKIM as they arrive, the From and Authentication-Results fields are
 *	noted, body chunks go to DKIM, and ma_msg_eom() runs SPF, finishes
 *	DKIM, runs DMARC and builds the verdict (verdict.c).
 * MEMORY
 *	Everything lives in the message's arena, freed by ma_msg_free();
 *	the verdict and all it points to are valid until then.
 * LIMITS
 *	MA_LIMIT_HEADER_FIELDS, MA_LIMIT_HEADER_FIELD_BYTES and
 *	MA_LIMIT_HEADER_BYTES: past them DKIM results are made permerror
 *	(the engine no longer saw what it verified); Authentication-Results
 *	and From fields are still counted so that no forged field escapes.
 * DIAGNOSTICS
 *	MA_ERR_NOMEM/INTERNAL from feed calls; the front end then applies
 *	the on-error action. Limits are logged at warning level once.
 * THREADS
 *	One thread at a time per message.
 * STANDARDS
 *	RFC 5322 3.6 (one From), RFC 7208 2.3/2.4, RFC 8601 5 (removal of
 *	fields carrying our authserv-id).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mailauth/arena.h>
#include <mailauth/authres.h>
#include <mailauth/buf.h>
#include <mailauth/dkim.h>
#include <mailauth/dns.h>
#include <mailauth/log.h>
#include <mailauth/rfc5322.h>
#include <mailauth/sign.h>
#include "engine_int.h"
#include "ma_limits.h"

/* is_signing_daemon - {daemon_name} is one whose mail is outbound */
static int
is_signing_daemon(const struct ma_policy_config *cfg, const char *daemon)
{
	size_t	i;

	if (daemon == NULL || cfg->signing_daemons == NULL)
		return (0);
	for (i = 0; cfg->signing_daemons[i] != NULL; i++)
		if (strcmp(cfg->signing_daemons[i], daemon) == 0)
			return (1);
	return (0);
}

/*
 * Prefetching: names whose answers the evaluation at end of message will
 * need are asked for as soon as they are known (MAIL FROM, HELO, the
 * From field, each DKIM-Signature), so that the answers arrive while the
 * MTA is still sending the message. Only verified mail; the queries are
 * not charged to the budget (ma_dns_prefetch()). The evaluation asks the
 * same questions in the same order as without prefetching.
 */

/* prefetch_spf - the SPF record of a MAIL FROM or HELO domain */
static void
prefetch_spf(struct ma_msg *m, const char *domain)
{
	if (domain != NULL && strchr(domain, '.') != NULL)
		ma_dns_prefetch(m->e->dns, domain, MA_DNS_TXT);
}

/*
 * from_domains - the domains of the (first) From field, parsed once: at
 * the field for prefetching, reused by DMARC at end of message
 */
static enum ma_status
from_domains(struct ma_msg *m, const char ***domains, size_t *n)
{
	enum ma_status st;

	if (!m->from_parsed) {
		st = ma_rfc5322_from_domains(m->from_value, m->from_len,
					     m->arena, &m->from_domains,
					     &m->n_from_domains);
		if (st == MA_ERR_NOMEM)
			return (st);
		m->from_parse_st = st;
		m->from_parsed = 1;
	}
	*domains = m->from_domains;
	*n = m->n_from_domains;
	return (m->from_parse_st);
}

/* prefetch_from - _dmarc of the From field's domains (the first few) */
static void
prefetch_from(struct ma_msg *m)
{
	const char **domains;
	size_t	n, i;
	char	name[MA_LIMIT_NAME + sizeof("_dmarc.")];

	if (from_domains(m, &domains, &n) != MA_OK)
		return;
	for (i = 0; i < n && i < MA_LIMIT_PREFETCH_FROM; i++) {
		if (snprintf(name, sizeof(name), "_dmarc.%s", domains[i]) <
		    (int) sizeof(name))
			ma_dns_prefetch(m->e->dns, name, MA_DNS_TXT);
	}
}

/* prefetch_key - the key record a DKIM-Signature names */
static void
prefetch_key(struct ma_msg *m, const char *value, size_t vlen)
{
	char	name[MA_LIMIT_NAME + 1];

	if (m->n_prefetch_keys < MA_LIMIT_PREFETCH_KEYS &&
	    ma_dkim_key_name(value, vlen, name, sizeof(name)) == 0) {
		m->n_prefetch_keys++;
		ma_dns_prefetch(m->e->dns, name, MA_DNS_TXT);
	}
}

/* ma_msg_new - start a transaction */
struct ma_msg *
ma_msg_new(struct ma_session *s, const char *mail_from, size_t len)
{
	struct ma_arena *a;
	struct ma_msg *m;
	const struct ma_policy_config *cfg = &s->engine->cfg;
	const char *addr, *domain;

	if ((a = ma_arena_new()) == NULL)
		return (NULL);
	if ((m = ma_arena_alloc(a, sizeof(*m))) == NULL) {
		ma_arena_free(&a);
		return (NULL);
	}
	m->arena = a;
	m->s = s;
	m->e = s->engine;
	m->mail_from_raw = ma_arena_memdup(a, mail_from ? mail_from : "",
					   mail_from ? len : 0);
	if (m->mail_from_raw == NULL) {
		ma_arena_free(&a);
		return (NULL);
	}
	if (ma_rfc5321_path_domain(m->mail_from_raw, strlen(m->mail_from_raw),
				   a, &addr, &domain) == MA_OK) {
		m->mail_from = addr;
		m->mail_from_domain = domain;
	} else {
		m->mail_from = m->mail_from_raw;
		m->mail_from_domain = "";
		m->mail_from_bad = 1;
	}
	if (cfg->force_outbound
	    || ma_cidr_list_match(&cfg->internal_hosts, &s->client)
	    || (cfg->auth_is_internal && s->authen != NULL)
	    || is_signing_daemon(cfg, s->daemon))
		m->mode = MA_MODE_OUTBOUND;
	else
		m->mode = MA_MODE_VERIFY;
	m->budget.max_queries = cfg->dns_max_queries;
	if (m->mode == MA_MODE_VERIFY && s->client.family != 0) {
		prefetch_spf(m, m->mail_from_domain);
		prefetch_spf(m, s->helo);
	}
	return (m);
}

/* ma_msg_set_queue_id - MTA queue id for logs */
void
ma_msg_set_queue_id(struct ma_msg *m, const char *qid)
{
	if (qid != NULL)
		m->queue_id = ma_arena_strdup(m->arena, qid);
}

/* ma_msg_rcpt - note a recipient */
enum ma_status
ma_msg_rcpt(struct ma_msg *m, const char *rcpt, size_t len)
{
	if (m->n_rcpt++ == 0
	    && (m->first_rcpt = ma_arena_memdup(m->arena, rcpt, len)) == NULL)
		return (MA_ERR_NOMEM);
	return (MA_OK);
}

/* ma_msg_passes - Mode leaves this message alone (unsigned, unjudged) */
int
ma_msg_passes(const struct ma_msg *m)
{
	return (m->mode == MA_MODE_OUTBOUND ? m->e->cfg.no_sign
		: m->e->cfg.no_verify);
}

/* ma_msg_mode - verify or outbound */
enum ma_msg_mode
ma_msg_mode(const struct ma_msg *m)
{
	return (m->mode);
}

/* ma_msg_wants_body - whether a verifier or a signer still reads the body */
int
ma_msg_wants_body(const struct ma_msg *m)
{
	if (m->mode == MA_MODE_OUTBOUND)
		return (m->n_signers > 0 && !m->sign_broken);
	return (m->dkim != NULL && !m->dkim_broken);
}

/* field_name_is - case-insensitive comparison of a field name */
static int
field_name_is(const char *name, size_t nlen, const char *want)
{
	return (nlen == strlen(want) && strncasecmp(name, want, nlen) == 0);
}

/*
 * build_field - "Name:value" with every bare LF made CRLF (milters may
 * hand folded values with LF only); DKIM needs the field as sent.
 */
static char *
build_field(struct ma_arena *a, const char *name, size_t nlen,
	    const char *value, size_t vlen, size_t *len_out)
{
	size_t	i, lf = 0, n, o;
	char   *f;

	for (i = 0; i < vlen; i++)
		if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r'))
			lf++;
	n = nlen + 1 + vlen + lf;
	if ((f = ma_arena_alloc(a, n + 1)) == NULL)
		return (NULL);
	memcpy(f, name, nlen);
	f[nlen] = ':';
	o = nlen + 1;
	for (i = 0; i < vlen; i++) {
		if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r'))
			f[o++] = '\r';
		f[o++] = value[i];
	}
	*len_out = o;
	return (f);
}

/* ar_is_ours - an A-R field with our AuthservID or a TrustedAuthservIDs one */
static int
ar_is_ours(const struct ma_policy_config *cfg, const char *value, size_t vlen)
{
	size_t	i;

	if (ma_authres_is_ours(value, vlen, cfg->authserv_id))
		return (1);
	for (i = 0; cfg->trusted_authserv_ids != NULL
	     && cfg->trusted_authserv_ids[i] != NULL; i++)
		if (ma_authres_is_ours(value, vlen, cfg->trusted_authserv_ids[i]))
			return (1);
	return (0);
}

/* note_ar - remember whether an A-R field carries our authserv-id */
static enum ma_status
note_ar(struct ma_msg *m, const char *value, size_t vlen)
{
	unsigned *nv;

	m->n_ar++;
	if (!ar_is_ours(&m->e->cfg, value, vlen))
		return (MA_OK);
	if (m->n_ar_ours == m->cap_ar_ours) {
		size_t	ncap = m->cap_ar_ours ? m->cap_ar_ours * 2 : 4;

		if ((nv = ma_arena_calloc(m->arena, ncap, sizeof(*nv))) == NULL)
			return (MA_ERR_NOMEM);
		if (m->n_ar_ours > 0)
			memcpy(nv, m->ar_ours, m->n_ar_ours * sizeof(*nv));
		m->ar_ours = nv;
		m->cap_ar_ours = ncap;
	}
	m->ar_ours[m->n_ar_ours++] = m->n_ar;
	return (MA_OK);
}

/* start_dkim - per-message DKIM verification, on the first field */
static void
start_dkim(struct ma_msg *m)
{
	struct ma_dkim_options opt;

	memset(&opt, 0, sizeof(opt));
	opt.now = m->e->cfg.fixed_now;
	opt.min_key_bits = m->e->cfg.dkim_min_key_bits;
	opt.allow_sha1 = m->e->cfg.dkim_allow_sha1;
	opt.max_signatures = m->e->cfg.dkim_max_signatures;
	if (ma_dkim_verify_start(m->e->dkim, &opt, &m->budget, m->arena,
				 &m->dkim) != MA_OK) {
		m->dkim = NULL;
		m->dkim_broken = 1;
	}
}

/* overflow - mark the header block as past our limits (logged once) */
static void
overflow(struct ma_msg *m, const char *what)
{
	if (!m->header_overflow)
		ma_log(MA_LOG_WARN, "%s: header %s exceeds limit; DKIM results "
		       "will be permerror", m->queue_id ? m->queue_id : "NOQUEUE",
		       what);
	m->header_overflow = 1;
}

/* keep_from - the first From value (capped: the parser then says syntax) */
static enum ma_status
keep_from(struct ma_msg *m, const char *value, size_t vlen)
{
	if (vlen > MA_LIMIT_HEADER_FIELD_BYTES)
		vlen = MA_LIMIT_HEADER_FIELD_BYTES;
	if ((m->from_value = ma_arena_memdup(m->arena, value, vlen)) == NULL)
		return (MA_ERR_NOMEM);
	m->from_len = vlen;
	return (MA_OK);
}

/*
 * keep_outbound_field - store a field of an outbound message: which keys
 * sign is known only once the From field has been seen.
 */
static enum ma_status
keep_outbound_field(struct ma_msg *m, const char *name, size_t nlen,
		    const char *value, size_t vlen)
{
	enum ma_status st;
	char   *field;
	size_t	flen;

	if (m->e->keys == NULL || m->sign_broken)
		return (MA_OK);
	if (field_name_is(name, nlen, "From") && m->n_from++ == 0
	    && (st = keep_from(m, value, vlen)) != MA_OK)
		return (st);
	m->header_bytes += nlen + vlen + 3;
	if (m->n_out_fields >= MA_LIMIT_HEADER_FIELDS
	    || nlen + vlen + 1 > MA_LIMIT_HEADER_FIELD_BYTES
	    || m->header_bytes > MA_LIMIT_HEADER_BYTES) {
		m->sign_broken = 1;
		m->sign_note = "header exceeds limits";
		return (MA_OK);
	}
	if (m->n_out_fields == m->cap_out_fields) {
		size_t	ncap = m->cap_out_fields ? m->cap_out_fields * 2 : 32;
		const char **nf = ma_arena_calloc(m->arena, ncap, sizeof(*nf));
		size_t *nl = ma_arena_calloc(m->arena, ncap, sizeof(*nl));

		if (nf == NULL || nl == NULL)
			return (MA_ERR_NOMEM);
		if (m->n_out_fields > 0) {
			memcpy(nf, m->out_fields, m->n_out_fields * sizeof(*nf));
			memcpy(nl, m->out_lens, m->n_out_fields * sizeof(*nl));
		}
		m->out_fields = nf;
		m->out_lens = nl;
		m->cap_out_fields = ncap;
	}
	if ((field = build_field(m->arena, name, nlen, value, vlen, &flen)) == NULL)
		return (MA_ERR_NOMEM);
	m->out_fields[m->n_out_fields] = field;
	m->out_lens[m->n_out_fields++] = flen;
	return (MA_OK);
}

/* sign_options - the signer options of this engine */
static void
sign_options(const struct ma_msg *m, struct ma_dkim_sign_options *o)
{
	const struct ma_policy_config *cfg = &m->e->cfg;

	memset(o, 0, sizeof(*o));
	o->header_relaxed = cfg->sign_header_relaxed;
	o->body_relaxed = cfg->sign_body_relaxed;
	o->sign_headers = (const char *const *) cfg->sign_headers;
	o->oversign_headers = (const char *const *) cfg->oversign_headers;
	o->now = cfg->fixed_now ? cfg->fixed_now : time(NULL);
	o->expire_secs = cfg->signature_ttl;
}

/*
 * start_signers - at end of header: the keys for the author address
 * (the first mailbox of the From field), one signer each, fed the kept
 * fields. A message without a key goes unsigned, with the reason noted.
 */
static enum ma_status
start_signers(struct ma_msg *m)
{
	const struct ma_sign_key *keys[MA_LIMIT_SIGN_KEYS];
	struct ma_dkim_sign_options opt;
	const char **locals, **domains;
	size_t	n_addr = 0, n_keys = 0, i, j;
	enum ma_status st;
	char   *addr;

	if (m->e->keys == NULL) {
		m->sign_note = "no keys configured";
		return (MA_OK);
	}
	if (m->sign_broken)
		return (MA_OK);
	if (m->n_from != 1) {
		m->sign_note = m->n_from ? "several From fields" : "no From field";
		return (MA_OK);
	}
	st = ma_rfc5322_from_addresses(m->from_value, m->from_len, m->arena,
				       &locals, &domains, &n_addr);
	if (st == MA_ERR_NOMEM)
		return (st);
	if (st != MA_OK || n_addr == 0) {
		m->sign_note = "From field not parseable";
		return (MA_OK);
	}
	if ((addr = ma_arena_printf(m->arena, "%s@%s", locals[0], domains[0])) == NULL)
		return (MA_ERR_NOMEM);
	if ((st = ma_keystore_lookup(m->e->keys, addr, keys, MA_LIMIT_SIGN_KEYS,
				     &n_keys)) != MA_OK)
		return (st);
	if (n_keys == 0) {
		m->sign_note = ma_arena_printf(m->arena, "no signing key for %s",
					       domains[0]);
		return (MA_OK);
	}
	if ((m->signers = ma_arena_calloc(m->arena, n_keys,
					  sizeof(*m->signers))) == NULL)
		return (MA_ERR_NOMEM);
	sign_options(m, &opt);
	for (i = 0; i < n_keys; i++) {
		if ((st = ma_dkim_sign_start(m->e->keys, keys[i], &opt, m->arena,
					     &m->signers[i])) != MA_OK)
			return (st);
		m->n_signers++;
		for (j = 0; j < m->n_out_fields; j++)
			if ((st = ma_dkim_sign_header(m->signers[i], m->out_fields[j],
						      m->out_lens[j])) != MA_OK)
				return (st);
		if ((st = ma_dkim_sign_eoh(m->signers[i])) != MA_OK)
			return (st);
	}
	return (MA_OK);
}

/* ma_msg_header - one header field */
enum ma_status
ma_msg_header(struct ma_msg *m, const char *name, size_t nlen,
	      const char *value, size_t vlen)
{
	enum ma_status st;
	char   *field;
	size_t	flen;

	if (m->mode == MA_MODE_OUTBOUND)
		return (keep_outbound_field(m, name, nlen, value, vlen));
	m->n_fields++;
	if (field_name_is(name, nlen, "Authentication-Results")
	    && (st = note_ar(m, value, vlen)) != MA_OK)
		return (st);
	if (field_name_is(name, nlen, "From") && m->n_from++ == 0) {
		if ((st = keep_from(m, value, vlen)) != MA_OK)
			return (st);
		prefetch_from(m);
	}
	if (field_name_is(name, nlen, "DKIM-Signature"))
		prefetch_key(m, value, vlen);
	if (m->header_overflow)
		return (MA_OK);
	if (m->n_fields > MA_LIMIT_HEADER_FIELDS) {
		overflow(m, "field count");
		return (MA_OK);
	}
	if (nlen + vlen + 1 > MA_LIMIT_HEADER_FIELD_BYTES) {
		overflow(m, "field size");
		return (MA_OK);
	}
	m->header_bytes += nlen + vlen + 3;
	if (m->header_bytes > MA_LIMIT_HEADER_BYTES) {
		overflow(m, "block size");
		return (MA_OK);
	}
	if (m->dkim == NULL && !m->dkim_broken)
		start_dkim(m);
	if (m->dkim_broken)
		return (MA_OK);
	if ((field = build_field(m->arena, name, nlen, value, vlen, &flen)) == NULL)
		return (MA_ERR_NOMEM);
	if (ma_dkim_verify_header(m->dkim, field, flen) != MA_OK)
		m->dkim_broken = 1;
	return (MA_OK);
}

/* ma_msg_eoh - end of header */
enum ma_status
ma_msg_eoh(struct ma_msg *m)
{
	m->eoh_seen = 1;
	if (m->mode == MA_MODE_OUTBOUND) {
		enum ma_status st = start_signers(m);

		if (st != MA_OK) {
			m->sign_broken = 1;
			m->sign_note = ma_status_str(st);
		}
		return (st == MA_ERR_NOMEM ? st : MA_OK);
	}
	if (m->dkim == NULL && !m->dkim_broken)
		start_dkim(m);
	if (m->dkim != NULL && !m->dkim_broken
	    && ma_dkim_verify_eoh(m->dkim) != MA_OK)
		m->dkim_broken = 1;
	return (MA_OK);
}

/* ma_msg_body - body chunk */
enum ma_status
ma_msg_body(struct ma_msg *m, const unsigned char *p, size_t len)
{
	size_t	i;

	if (!ma_msg_wants_body(m))
		return (MA_OK);
	if (m->mode == MA_MODE_OUTBOUND) {
		for (i = 0; i < m->n_signers; i++)
			if (ma_dkim_sign_body(m->signers[i], p, len) != MA_OK) {
				m->sign_broken = 1;
				m->sign_note = "signer failed on the body";
			}
		return (MA_OK);
	}
	if (ma_dkim_verify_body(m->dkim, p, len) != MA_OK)
		m->dkim_broken = 1;
	return (MA_OK);
}

/* run_spf - SPF for MAIL FROM (and HELO when configured) */
static enum ma_status
run_spf(struct ma_msg *m)
{
	struct ma_spf_request req;
	enum ma_status st;

	if (m->s->client.family == 0) {
		/* offline checks without --client-ip: nothing to authorise */
		memset(&m->spf_mailfrom, 0, sizeof(m->spf_mailfrom));
		m->spf_mailfrom.result = MA_SPF_NONE;
		m->spf_mailfrom.domain = *m->mail_from_domain ? m->mail_from_domain
		    : (m->s->helo ? m->s->helo : "");
		m->spf_mailfrom.reason = "client address unknown";
		return (MA_OK);
	}
	memset(&req, 0, sizeof(req));
	req.client = m->s->client;
	req.helo = m->s->helo;
	req.mail_from = m->mail_from;
	req.receiver = m->e->cfg.receiver;
	req.now = m->e->cfg.fixed_now;
	st = ma_spf_check(m->e->dns, &m->budget, m->arena, MA_SPF_MAILFROM,
			  &req, &m->spf_mailfrom);
	if (st != MA_OK)
		return (st);
	if (m->e->cfg.spf_helo && m->s->helo != NULL && *m->s->helo != '\0') {
		st = ma_spf_check(m->e->dns, &m->budget, m->arena, MA_SPF_HELO,
				  &req, &m->spf_helo);
		if (st != MA_OK)
			return (st);
		m->has_spf_helo = 1;
	}
	return (MA_OK);
}

/* finish_dkim - collect per-signature results */
static enum ma_status
finish_dkim(struct ma_msg *m)
{
	struct ma_dkim_sig *copy;
	size_t	i;

	m->sigs = NULL;
	m->n_sigs = 0;
	if (m->dkim == NULL)
		return (MA_OK);
	if (!m->dkim_broken
	    && ma_dkim_verify_eom(m->dkim, &m->sigs, &m->n_sigs) != MA_OK) {
		m->sigs = NULL;
		m->n_sigs = 0;
		m->dkim_broken = 1;
	}
	if (!m->header_overflow || m->n_sigs == 0)
		return (MA_OK);
	/* past our header limits we did not see all that was signed */
	if ((copy = ma_arena_calloc(m->arena, m->n_sigs, sizeof(*copy))) == NULL)
		return (MA_ERR_NOMEM);
	for (i = 0; i < m->n_sigs; i++) {
		copy[i] = m->sigs[i];
		copy[i].result = MA_DKIM_PERMERROR;
		copy[i].reason = "header block exceeds limits";
	}
	m->sigs = copy;
	return (MA_OK);
}

/* run_dmarc - DMARC over the From domain(s) */
static enum ma_status
run_dmarc(struct ma_msg *m)
{
	struct ma_dmarc_input in;
	const char **domains = NULL;
	size_t	n = 0;
	enum ma_status st;

	memset(&in, 0, sizeof(in));
	if (m->n_from == 0) {
		in.from_status = MA_ERR_NOTFOUND;
	} else {
		st = from_domains(m, &domains, &n);
		if (st == MA_ERR_NOMEM)
			return (st);
		if (st != MA_OK)
			n = 0;
		in.from_status = st == MA_OK && m->n_from == 1 ? MA_OK
		    : MA_ERR_SYNTAX;
	}
	in.from_domains = domains;
	in.n_from = n;
	in.spf_result = m->spf_mailfrom.result;
	in.spf_domain = m->spf_mailfrom.domain;
	in.dkim = m->sigs;
	in.n_dkim = m->n_sigs;
	return (ma_dmarc_evaluate(m->e->dns, &m->budget, m->arena, &in,
				  &m->dmarc));
}

/*
 * finish_signers - the DKIM-Signature values. A signer that fails leaves
 * the message unsigned rather than half signed.
 */
static enum ma_status
finish_signers(struct ma_msg *m)
{
	size_t	i;

	if (m->n_signers == 0 || m->sign_broken)
		return (MA_OK);
	if ((m->sig_values = ma_arena_calloc(m->arena, m->n_signers,
					     sizeof(*m->sig_values))) == NULL)
		return (MA_ERR_NOMEM);
	for (i = 0; i < m->n_signers; i++)
		if (ma_dkim_sign_eom(m->signers[i], &m->sig_values[i]) != MA_OK) {
			m->sign_broken = 1;
			m->sign_note = "signer failed";
			m->n_sig_values = 0;
			return (MA_OK);
		}
	m->n_sig_values = m->n_signers;
	return (MA_OK);
}

/* ma_msg_eom - evaluate and build the verdict */
enum ma_status
ma_msg_eom(struct ma_msg *m, const struct ma_verdict **out)
{
	enum ma_status st = MA_OK;

	*out = &m->verdict;
	if (m->done)
		return (MA_OK);
	m->done = 1;
	if (m->mode == MA_MODE_OUTBOUND) {
		if (!m->eoh_seen)
			(void) ma_msg_eoh(m);
		st = finish_signers(m);
	}
	if (m->mode == MA_MODE_VERIFY) {
		if (m->e->cfg.message_dns_ms > 0)
			m->budget.deadline_ms = ma_dns_now_ms()
			    + m->e->cfg.message_dns_ms;
		if ((st = run_spf(m)) == MA_OK && (st = finish_dkim(m)) == MA_OK)
			st = run_dmarc(m);
	}
	if (st == MA_OK)
		st = ma_verdict_build(m);
	if (st != MA_OK) {
		ma_verdict_error(m, ma_status_str(st));
		return (st);
	}
	return (MA_OK);
}

/* ma_msg_free - end of transaction */
void
ma_msg_free(struct ma_msg **mp)
{
	struct ma_arena *a;

	if (mp == NULL || *mp == NULL)
		return;
	a = (*mp)->arena;
	*mp = NULL;
	ma_arena_free(&a);
}
