/*
 * NAME
 *	report_row - the DMARC history row of one judged message
 * SYNOPSIS
 *	#include "engine_int.h"
 * DESCRIPTION
 *	Copies what RFC 9990's <record> and <policy_published> need out of a
 *	message's results into a struct ma_report_row (plain, fixed-size
 *	data), so that it can be queued and spooled after the message is
 *	freed. A row is made for every verified message for which a DMARC
 *	policy record was found: without one there is nobody to report to.
 *	The disposition is what we did (after t=y and local policy); when it
 *	is milder than the sender's policy asks, the override says why
 *	(policy_test_mode for t=y, local_policy for RejectFailures no).
 * MEMORY
 *	The row lives in the message arena; the front end copies it.
 * LIMITS
 *	Values longer than the row's fixed fields are cut (snprintf);
 *	MA_REPORT_MAX_DKIM signatures.
 * STANDARDS
 *	RFC 9990 (aggregate reports), RFC 9989.
 * SEE ALSO
 *	report.h, verdict.c
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <mailauth/arena.h>
#include <mailauth/report.h>
#include <mailauth/rfc5322.h>
#include "engine_int.h"

#define PUT(field, value) \
	(void) snprintf((field), sizeof(field), "%s", (value) ? (value) : "")

/* policy_word - "none"/"quarantine"/"reject", "" when unset */
static const char *
policy_word(enum ma_dmarc_policy p)
{
	return (p == MA_DMARC_P_UNSET ? "" : ma_dmarc_policy_str(p));
}

/* rcpt_domain - domain of the first recipient, "" if none */
static const char *
rcpt_domain(struct ma_msg *m)
{
	const char *addr, *dom;

	if (m->first_rcpt == NULL
	    || ma_rfc5321_path_domain(m->first_rcpt, strlen(m->first_rcpt),
				      m->arena, &addr, &dom) != MA_OK)
		return ("");
	return (dom);
}

/* fill_auth - the DKIM and SPF results as reported */
static void
fill_auth(struct ma_report_row *r, const struct ma_msg *m)
{
	size_t	i;

	for (i = 0; i < m->n_sigs && r->n_dkim < MA_REPORT_MAX_DKIM; i++) {
		struct ma_report_dkim *d = &r->dkim[r->n_dkim++];

		PUT(d->domain, m->sigs[i].domain);
		PUT(d->selector, m->sigs[i].selector);
		PUT(d->result, ma_dkim_result_str(m->sigs[i].result));
		if (m->sigs[i].result != MA_DKIM_PASS)
			PUT(d->human_result, m->sigs[i].reason);
	}
	PUT(r->spf[0].domain, m->spf_mailfrom.domain);
	PUT(r->spf[0].scope, "mfrom");
	PUT(r->spf[0].result, ma_spf_result_str(m->spf_mailfrom.result));
	r->n_spf = 1;
	if (m->has_spf_helo) {
		PUT(r->spf[1].domain, m->spf_helo.domain);
		PUT(r->spf[1].scope, "helo");
		PUT(r->spf[1].result, ma_spf_result_str(m->spf_helo.result));
		r->n_spf = 2;
	}
}

/* ma_report_row_build - the row, or NULL when there is nothing to report */
const struct ma_report_row *
ma_report_row_build(struct ma_msg *m)
{
	const struct ma_dmarc_outcome *d = &m->dmarc;
	const struct ma_dmarc_record *rec = d->record;
	struct ma_report_row *r;
	char	ip[64];
	enum ma_dmarc_policy did;

	if (m->mode != MA_MODE_VERIFY || rec == NULL || d->policy_domain == NULL
	    || *d->policy_domain == '\0')
		return (NULL);
	if ((r = ma_arena_alloc(m->arena, sizeof(*r))) == NULL)
		return (NULL);
	r->when = m->e->cfg.fixed_now ? (long long) m->e->cfg.fixed_now
	    : (long long) time(NULL);
	PUT(r->reporter, m->e->cfg.receiver);
	PUT(r->source_ip, ma_ip_format(&m->s->client, ip, sizeof(ip)));
	PUT(r->header_from, d->from_domain);
	PUT(r->envelope_from, m->mail_from_domain);
	PUT(r->envelope_to, rcpt_domain(m));
	PUT(r->policy_domain, d->policy_domain);
	PUT(r->p, policy_word(rec->p));
	PUT(r->sp, policy_word(rec->sp));
	PUT(r->np, policy_word(rec->np));
	PUT(r->adkim, rec->adkim == MA_DMARC_ALIGN_STRICT ? "s" : "r");
	PUT(r->aspf, rec->aspf == MA_DMARC_ALIGN_STRICT ? "s" : "r");
	r->testing = rec->testing;
	PUT(r->discovery, d->discovery ? d->discovery : "treewalk");
	PUT(r->rua, rec->rua);
	PUT(r->dmarc_result, ma_dmarc_result_str(d->result));
	did = m->verdict.action == MA_ACTION_REJECT ? MA_DMARC_P_REJECT
	    : m->verdict.action == MA_ACTION_QUARANTINE ? MA_DMARC_P_QUARANTINE
	    : MA_DMARC_P_NONE;
	PUT(r->disposition, ma_dmarc_policy_str(did));
	PUT(r->dkim_aligned, d->dkim_aligned ? "pass" : "fail");
	PUT(r->spf_aligned, d->spf_aligned ? "pass" : "fail");
	if (d->result == MA_DMARC_FAIL && did < d->policy) {
		if (d->testing && did == d->disposition) {
			PUT(r->override, "policy_test_mode");
			PUT(r->override_comment, "t=y");
		} else {
			PUT(r->override, "local_policy");
			PUT(r->override_comment, "report-only mode");
		}
	}
	fill_auth(r, m);
	return (r);
}
