/*
 * NAME
 *	verdict - combining results into action, reply and header edits
 * SYNOPSIS
 *	#include "engine_int.h"
 * DESCRIPTION
 *	Precedence (highest first):
 *	1. outbound messages are not judged: accept; their DKIM-Signature
 *	   fields (if a key signs for the From address) are added on top;
 *	2. DMARC fail with disposition reject: reject (550 5.7.1), or
 *	   accept when RejectFailures is off (monitor mode);
 *	3. DMARC fail with disposition quarantine: quarantine (the MTA's
 *	   hold queue), or accept in monitor mode;
 *	4. DMARC temperror: the configured on_temperror action (default
 *	   accept and mark; tempfail gives 451 4.7.0);
 *	5. anything else (pass, none, permerror, fail with p=none): accept.
 *	The disposition already includes the sender's t=y downgrade
 *	(dmarc.c). Every verified message gets our Authentication-Results
 *	field at the top; fields carrying our authserv-id are deleted, the
 *	highest index first (deleting upward shifts indexes).
 * MEMORY
 *	Everything in the message arena.
 * DIAGNOSTICS
 *	MA_ERR_NOMEM/LIMIT when the field or log line cannot be built.
 * STANDARDS
 *	RFC 9989 (policy actions, local policy), RFC 8601 5 (removal),
 *	RFC 3463 / RFC 7372 enhanced status codes.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <mailauth/arena.h>
#include <mailauth/authres.h>
#include <mailauth/buf.h>
#include <mailauth/log.h>
#include "engine_int.h"
#include "ma_limits.h"

#define LOG_LINE_BYTES	4096

/* put_kv - append " key=value" with value sanitised for logs */
static void
put_kv(struct ma_buf *b, const char *key, const char *value)
{
	char	clean[256];
	size_t	i;

	if (value == NULL)
		return;
	(void) ma_log_sanitize(clean, sizeof(clean), value, strlen(value));
	for (i = 0; clean[i] != '\0'; i++)
		if (clean[i] == ' ')
			clean[i] = '_';
	(void) ma_buf_printf(b, "%s%s=%s", b->len ? " " : "", key,
			     *clean ? clean : "-");
}

/* build_log - one key=value line per message */
static const char *
build_log(struct ma_msg *m)
{
	struct ma_buf b;
	char	ip[64];
	size_t	i;
	const struct ma_verdict *v = &m->verdict;

	ma_buf_init(&b, m->arena, LOG_LINE_BYTES);
	put_kv(&b, "qid", m->queue_id ? m->queue_id : "NOQUEUE");
	put_kv(&b, "client", ma_ip_format(&m->s->client, ip, sizeof(ip)));
	put_kv(&b, "helo", m->s->helo);
	put_kv(&b, "mailfrom", m->mail_from);
	put_kv(&b, "mode", m->mode == MA_MODE_OUTBOUND ? "outbound" : "verify");
	if (m->mode == MA_MODE_VERIFY) {
		put_kv(&b, "spf", ma_spf_result_str(m->spf_mailfrom.result));
		if (m->has_spf_helo)
			put_kv(&b, "spf_helo", ma_spf_result_str(m->spf_helo.result));
		if (m->n_sigs == 0)
			put_kv(&b, "dkim", "none");
		for (i = 0; i < m->n_sigs; i++) {
			char   *one = ma_arena_printf(m->arena, "%s/%s/%s",
			    ma_dkim_result_str(m->sigs[i].result),
			    m->sigs[i].domain ? m->sigs[i].domain : "",
			    m->sigs[i].selector ? m->sigs[i].selector : "");

			put_kv(&b, "dkim", one);
		}
		put_kv(&b, "from", m->dmarc.from_domain);
		put_kv(&b, "dmarc", ma_dmarc_result_str(m->dmarc.result));
		put_kv(&b, "policy", ma_dmarc_policy_str(m->dmarc.policy));
		put_kv(&b, "disposition", ma_dmarc_policy_str(m->dmarc.disposition));
		if (m->dmarc.reason != NULL && m->dmarc.result != MA_DMARC_PASS)
			put_kv(&b, "reason", m->dmarc.reason);
		if (m->n_ar_ours > 0)
			(void) ma_buf_printf(&b, " forged_ar_removed=%zu", m->n_ar_ours);
	}
	if (m->mode == MA_MODE_OUTBOUND) {
		if (m->n_sig_values > 0)
			(void) ma_buf_printf(&b, " signed=%zu", m->n_sig_values);
		else
			put_kv(&b, "unsigned", m->sign_note ? m->sign_note
			       : "no signing key");
	}
	put_kv(&b, "action", ma_action_str(v->action));
	if (v->action == MA_ACTION_ACCEPT && m->mode == MA_MODE_VERIFY
	    && m->dmarc.result == MA_DMARC_FAIL
	    && m->dmarc.disposition > MA_DMARC_P_NONE
	    && (!m->e->cfg.reject_failures || m->e->cfg.no_hold))
		put_kv(&b, "would", ma_dmarc_policy_str(m->dmarc.disposition));
	return (b.data ? b.data : "");
}

/* set_reply - SMTP reply for reject/tempfail */
static void
set_reply(struct ma_verdict *v, const char *rcode, const char *xcode,
	  const char *text)
{
	v->rcode = rcode;
	v->xcode = xcode;
	v->reply_text = text;
}

/* choose_action - precedence as in the DESCRIPTION */
static void
choose_action(struct ma_msg *m)
{
	struct ma_verdict *v = &m->verdict;
	const struct ma_dmarc_outcome *d = &m->dmarc;
	const char *dom = d->from_domain && *d->from_domain ? d->from_domain
	    : "the From domain";
	char	clean[128];

	(void) ma_log_sanitize(clean, sizeof(clean), dom, strlen(dom));
	v->action = MA_ACTION_ACCEPT;
	if (d->result == MA_DMARC_FAIL && m->e->cfg.reject_failures) {
		if (d->disposition == MA_DMARC_P_REJECT) {
			v->action = MA_ACTION_REJECT;
			set_reply(v, "550", "5.7.1", ma_arena_printf(m->arena,
			    "Message rejected by DMARC policy of %s", clean));
		} else if (d->disposition == MA_DMARC_P_QUARANTINE
			   && !m->e->cfg.no_hold) {
			v->action = MA_ACTION_QUARANTINE;
			v->quarantine_reason = ma_arena_printf(m->arena,
			    "DMARC policy of %s: quarantine", clean);
		}
	} else if (d->result == MA_DMARC_TEMPERROR
		   && m->e->cfg.on_temperror == MA_ACTION_TEMPFAIL) {
		v->action = MA_ACTION_TEMPFAIL;
		set_reply(v, "451", "4.7.0", ma_arena_printf(m->arena,
		    "Temporary failure evaluating DMARC for %s, try again later",
		    clean));
	}
}

/* add_authres - our A-R field and the deletions of forged ones */
static enum ma_status
add_authres(struct ma_msg *m)
{
	struct ma_verdict *v = &m->verdict;
	struct ma_authres_input in;
	struct ma_header_add *add;
	unsigned *del;
	const char *value;
	enum ma_status st;
	size_t	i;

	memset(&in, 0, sizeof(in));
	in.authserv_id = m->e->cfg.authserv_id;
	in.spf_mailfrom = &m->spf_mailfrom;
	in.spf_helo = m->has_spf_helo ? &m->spf_helo : NULL;
	in.dkim = m->sigs;
	in.n_dkim = m->n_sigs;
	in.dmarc = &m->dmarc;
	if ((st = ma_authres_render(m->arena, &in, &value)) != MA_OK)
		return (st);
	while (*value == ' ' || *value == '\t')
		value++;
	if ((add = ma_arena_alloc(m->arena, sizeof(*add))) == NULL)
		return (MA_ERR_NOMEM);
	add->name = "Authentication-Results";
	add->value = value;
	v->add = add;
	v->n_add = 1;
	v->authres = value;
	if (m->n_ar_ours == 0 || !m->e->cfg.remove_forged_ar)
		return (MA_OK);
	if ((del = ma_arena_calloc(m->arena, m->n_ar_ours, sizeof(*del))) == NULL)
		return (MA_ERR_NOMEM);
	for (i = 0; i < m->n_ar_ours; i++)	/* noted ascending: reverse */
		del[i] = m->ar_ours[m->n_ar_ours - 1 - i];
	v->del_name = "Authentication-Results";
	v->del_index = del;
	v->n_del = m->n_ar_ours;
	return (MA_OK);
}

/* add_signatures - DKIM-Signature fields of an outbound message */
static enum ma_status
add_signatures(struct ma_msg *m)
{
	struct ma_verdict *v = &m->verdict;
	struct ma_header_add *add;
	size_t	i;

	if (m->n_sig_values == 0)
		return (MA_OK);
	if ((add = ma_arena_calloc(m->arena, m->n_sig_values, sizeof(*add))) == NULL)
		return (MA_ERR_NOMEM);
	for (i = 0; i < m->n_sig_values; i++) {
		add[i].name = "DKIM-Signature";
		add[i].value = m->sig_values[i];
	}
	v->add = add;
	v->n_add = m->n_sig_values;
	v->signatures = m->sig_values;
	v->n_signatures = m->n_sig_values;
	return (MA_OK);
}

/* ma_verdict_build - combine results into the verdict */
enum ma_status
ma_verdict_build(struct ma_msg *m)
{
	struct ma_verdict *v = &m->verdict;
	enum ma_status st;

	memset(v, 0, sizeof(*v));
	v->mode = m->mode;
	v->action = MA_ACTION_ACCEPT;
	if (m->mode == MA_MODE_VERIFY) {
		v->spf_mailfrom = &m->spf_mailfrom;
		v->spf_helo = m->has_spf_helo ? &m->spf_helo : NULL;
		v->dkim = m->sigs;
		v->n_dkim = m->n_sigs;
		v->dmarc = &m->dmarc;
		choose_action(m);
		if ((st = add_authres(m)) != MA_OK)
			return (st);
		v->report_row = ma_report_row_build(m);
	} else if ((st = add_signatures(m)) != MA_OK)
		return (st);
	v->log_line = build_log(m);
	return (MA_OK);
}

/* ma_verdict_error - the engine could not judge: on_error action */
void
ma_verdict_error(struct ma_msg *m, const char *why)
{
	struct ma_verdict *v = &m->verdict;
	char	ip[64];

	memset(v, 0, sizeof(*v));
	v->mode = m->mode;
	v->action = m->e->cfg.on_error;
	if (v->action == MA_ACTION_TEMPFAIL)
		set_reply(v, "451", "4.3.0",
			  "Temporary authentication failure, try again later");
	else if (v->action == MA_ACTION_REJECT)
		set_reply(v, "550", "5.7.0", "Authentication failure");
	v->log_line = ma_arena_printf(m->arena,
	    "qid=%s client=%s error=%s action=%s",
	    m->queue_id ? m->queue_id : "NOQUEUE",
	    ma_ip_format(&m->s->client, ip, sizeof(ip)), why,
	    ma_action_str(v->action));
	if (v->log_line == NULL)
		v->log_line = "error=out-of-memory";
}
