/*
 * NAME
 *	dmarc - DMARC evaluation (RFC 9989): tree walk, alignment, policy
 * SUMMARY
 *	Author Domain(s) + SPF and DKIM results -> DMARC result and policy
 * SYNOPSIS
 *	#include <mailauth/dmarc.h>
 *
 *	enum ma_status ma_dmarc_evaluate(dns, budget, arena, in, out)
 *	const char *ma_dmarc_result_str(r)
 *	const char *ma_dmarc_policy_str(p)
 * DESCRIPTION
 *	Section numbers are those of draft-ietf-dmarc-dmarcbis-41, the text
 *	RFC 9989 was published from (4.7 record, 4.10 tree walk, 4.10.1
 *	policy discovery, 4.10.2 organizational domain, 5.3 receiver
 *	actions, 11.5 several From domains).
 *
 *	For each Author Domain A:
 * .IP 1.
 *	DNS Tree Walk (4.10) from A: TXT _dmarc.A, then _dmarc of A's parent
 *	(or of A cut to 7 labels when A has 8 or more labels), then one label
 *	less at a time up to the top-level label: at most 8 queries
 *	(MA_LIMIT_DMARC_TREEWALK). Answers that are not v=DMARC1 are
 *	ignored; several DMARC records at one name count as none (4.10
 *	step 2). The walk stops at a record with psd=y or psd=n.
 * .IP 2.
 *	Organizational Domain (4.10.2) of the names that had a record,
 *	longest first: psd=n -> that name; psd=y (not at the start) -> the
 *	name one label below it; otherwise the record with the fewest
 *	labels; no record -> the start itself. No Public Suffix List.
 * .IP 3.
 *	Policy record (4.10.1): A's own record, else that of its
 *	Organizational Domain, else the PSD record (psd=y). None -> result
 *	none. A record with no valid p (or a bad sp/np) acts as p=none when
 *	rua has a valid URI, and otherwise DMARC is not applied (none).
 * .IP 4.
 *	Alignment (3.2.10, 4.4): strict = identical domains (a subdomain
 *	never aligns strictly), relaxed = the same Organizational Domain,
 *	found by one more tree walk per identifier (results shared through
 *	a per-call cache). SPF counts when spf_result is pass, each DKIM
 *	signature when its result is pass. pass if any aligns, else fail.
 * .IP 5.
 *	Policy (4.7, 4.10.1): p when the record is A's own; for a subdomain
 *	of the policy domain sp, or np when A does not exist (3.2.13, A.4:
 *	NXDOMAIN, RFC 8020), falling back np -> sp -> p. The existence query
 *	is only sent for a failing message whose np and sp differ; it is a
 *	query of type A: NXDOMAIN for any type means no such name (RFC 8020),
 *	NODATA or an answer means it exists (A.4: any RR makes a name
 *	exist, not only MX/A/AAAA). For a pass, policy is sp in that case
 *	(informational only: the disposition of a pass is none). t=y
 *	(4.7): the disposition is one level lower (reject -> quarantine,
 *	quarantine -> none).
 * .PP
 *	From field (5.3.1, 11.5): no From field: none (DMARC does not apply;
 *	the reason says why). Several From fields or an unparseable one:
 *	permerror. One From with several distinct domains: every domain is
 *	evaluated (up to MA_LIMIT_DMARC_AUTHOR_DOMAINS) and the strictest
 *	outcome is kept, precedence
 *		fail (strictest disposition) > temperror > permerror
 *		> pass > none;
 *	with more domains than the limit, a fail among the first ones still
 *	gives fail, anything else permerror ("evaluation incomplete").
 *
 *	DNS trouble (SERVFAIL, timeout, budget) on a query the result
 *	depends on gives temperror (5.3.6); NXDOMAIN and NODATA mean "no
 *	record". Local overrides are not applied here: see verdict.c.
 * MEMORY
 *	Everything in *out (strings, record) lives in the arena until it is
 *	freed, except dkim_aligned_domain, which points at the caller's
 *	struct ma_dkim_sig domain (the message's arena too). Other input
 *	strings are borrowed for the call only. Reasons are capped at 511
 *	bytes.
 * LIMITS
 *	MA_LIMIT_DMARC_TREEWALK queries per walk, MA_LIMIT_DMARC_LOOKUPS
 *	distinct names cached per call, MA_LIMIT_DMARC_AUTHOR_DOMAINS
 *	domains, MA_LIMIT_DKIM_SIGNATURES signatures looked at; the DNS
 *	budget bounds the rest.
 * DIAGNOSTICS
 *	MA_OK with *out filled (result and reason), MA_ERR_NOMEM, and
 *	MA_ERR_INTERNAL when out is NULL. Nothing is logged here: the engine
 *	logs out->reason.
 * THREADS
 *	Reentrant; dns is shared and thread-safe, budget and arena are the
 *	message's.
 * STANDARDS
 *	RFC 9989 (DMARC), RFC 8020 (NXDOMAIN), RFC 8601 (result words).
 * SEE ALSO
 *	dmarc_record.c (record syntax), dns(3), verdict.c.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <mailauth/arena.h>
#include <mailauth/dns.h>
#include <mailauth/dmarc.h>

#include "ma_limits.h"

#define MAX_DOMAIN	253		/* RFC 1035 2.3.4, text form */
#define MAX_LABEL	63

enum lk_state { LK_NONE, LK_RECORD, LK_TEMP };

/* One _dmarc.<name> TXT lookup, cached for the call. */
struct lookup {
	const char *name;		/* normalised domain, without _dmarc */
	enum lk_state state;
	enum ma_status pst;		/* parse status for LK_RECORD */
	struct ma_dmarc_record rec;
	const char *note;		/* why there is no usable record */
};

struct ctx {
	struct ma_dns *dns;
	struct ma_dns_budget *budget;
	struct ma_arena *arena;
	struct lookup *lk[MA_LIMIT_DMARC_LOOKUPS];
	size_t	n_lk;
	unsigned queries;
};

/* Result of one tree walk. */
struct walk {
	const char *start;
	struct lookup *start_lk;
	struct lookup *found[MA_LIMIT_DMARC_TREEWALK];	/* longest first */
	size_t	n_found;
	struct lookup *temp;		/* the lookup that failed, or NULL */
	const char *org;		/* NULL when temp */
	struct lookup *psd_lk;		/* psd=y record that set org */
};

/* ma_dmarc_result_str - RFC 8601 result words */
const char *
ma_dmarc_result_str(enum ma_dmarc_result r)
{
	switch (r) {
	case MA_DMARC_NONE:
		return ("none");
	case MA_DMARC_PASS:
		return ("pass");
	case MA_DMARC_FAIL:
		return ("fail");
	case MA_DMARC_TEMPERROR:
		return ("temperror");
	case MA_DMARC_PERMERROR:
		return ("permerror");
	}
	return ("permerror");
}

/* ma_dmarc_policy_str - RFC 9989 4.7 dmarc-request words */
const char *
ma_dmarc_policy_str(enum ma_dmarc_policy p)
{
	switch (p) {
	case MA_DMARC_P_NONE:
		return ("none");
	case MA_DMARC_P_QUARANTINE:
		return ("quarantine");
	case MA_DMARC_P_REJECT:
		return ("reject");
	case MA_DMARC_P_UNSET:
		break;
	}
	return ("unset");
}

/* norm_domain - lower-case copy without trailing dot; NULL if not a name */
static const char *
norm_domain(struct ma_arena *a, const char *s, int *nomem)
{
	size_t	len, i, label = 0;
	char   *d;
	int	c;

	if (s == NULL)
		return (NULL);
	len = strnlen(s, MAX_DOMAIN + 2);
	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > MAX_DOMAIN)
		return (NULL);
	for (i = 0; i < len; i++) {
		c = (unsigned char) s[i];
		if (c == '.') {
			if (label == 0)
				return (NULL);
			label = 0;
			continue;
		}
		/* letters, digits, hyphen, underscore: A-labels only */
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		      || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return (NULL);
		if (++label > MAX_LABEL)
			return (NULL);
	}
	if ((d = ma_arena_memdup(a, s, len)) == NULL) {
		*nomem = 1;
		return (NULL);
	}
	for (i = 0; i < len; i++)
		if (d[i] >= 'A' && d[i] <= 'Z')
			d[i] = (char) (d[i] + ('a' - 'A'));
	return (d);
}

/* count_labels - labels of a normalised name */
static size_t
count_labels(const char *d)
{
	size_t	n = 1;

	for (; *d != '\0'; d++)
		if (*d == '.')
			n++;
	return (n);
}

/* suffix - the last k labels of a normalised name with n labels */
static const char *
suffix(const char *d, size_t n, size_t k)
{
	while (n > k && *d != '\0') {
		if (*d++ == '.')
			n--;
	}
	return (d);
}

/* is_sub_or_same - d equals parent or lies below it */
static int
is_sub_or_same(const char *d, const char *parent)
{
	size_t	dl = strlen(d), pl = strlen(parent);

	if (dl == pl)
		return (strcmp(d, parent) == 0);
	return (dl > pl && d[dl - pl - 1] == '.'
		&& strcmp(d + dl - pl, parent) == 0);
}

/* rcode_is_temp - DNS outcomes that make the answer unknown */
static int
rcode_is_temp(enum ma_dns_rcode rc)
{
	return (rc == MA_DNS_SERVFAIL || rc == MA_DNS_TIMEOUT
		|| rc == MA_DNS_BUDGET);
}

/* lookup - TXT _dmarc.<name>, cached; NULL on MA_ERR_NOMEM */
static struct lookup *
lookup(struct ctx *c, const char *name)
{
	struct ma_dns_answer *ans = NULL;
	struct lookup *lk;
	struct ma_dmarc_record rec;
	const char *qname, *why;
	enum ma_status st, pst;
	size_t	i, n_dmarc = 0;

	for (i = 0; i < c->n_lk; i++)
		if (strcmp(c->lk[i]->name, name) == 0)
			return (c->lk[i]);
	if ((lk = ma_arena_alloc(c->arena, sizeof(*lk))) == NULL)
		return (NULL);
	lk->name = name;
	lk->state = LK_NONE;
	if ((qname = ma_arena_printf(c->arena, "_dmarc.%s", name)) == NULL)
		return (NULL);
	c->queries++;
	st = c->dns == NULL ? MA_ERR_INTERNAL :
	    ma_dns_query(c->dns, c->budget, c->arena, qname, MA_DNS_TXT, &ans);
	if (st == MA_ERR_NOMEM)
		return (NULL);
	if (ans == NULL || (st != MA_OK && st != MA_ERR_SYNTAX)) {
		lk->state = LK_TEMP;
		lk->note = c->dns == NULL ? "no resolver" : "resolver error";
	} else if (rcode_is_temp(ans->rcode)) {
		lk->state = LK_TEMP;
		lk->note = ans->why ? ans->why : ma_dns_rcode_str(ans->rcode);
	} else if (ans->rcode == MA_DNS_ANSWER) {
		for (i = 0; i < ans->n_rr && i < MA_LIMIT_DNS_RRS; i++) {
			pst = ma_dmarc_record_parse(ans->rr[i].data,
						    ans->rr[i].len, c->arena,
						    &rec, &why);
			if (pst == MA_ERR_NOMEM)
				return (NULL);
			if (pst == MA_ERR_NOTFOUND)
				continue;	/* not DMARC: 4.10 step 2 */
			if (++n_dmarc == 1) {
				lk->rec = rec;
				lk->pst = pst;
				lk->note = why;
			}
		}
		if (n_dmarc == 1) {
			lk->state = LK_RECORD;
			if (lk->pst != MA_OK)
				lk->rec.psd = 'u';
		} else if (n_dmarc > 1)
			lk->note = "several DMARC records: all discarded";
		else
			lk->note = "no DMARC record";
	} else
		lk->note = "no DMARC record";
	if (c->n_lk < MA_LIMIT_DMARC_LOOKUPS)
		c->lk[c->n_lk++] = lk;
	return (lk);
}

/* walk_step - add one lookup to a walk; 1 when the walk stops there */
static int
walk_step(struct walk *w, struct lookup *lk)
{
	if (lk->state == LK_TEMP) {
		w->temp = lk;
		return (1);
	}
	if (lk->state != LK_RECORD)
		return (0);
	w->found[w->n_found++] = lk;
	return (lk->pst == MA_OK && (lk->rec.psd == 'y' || lk->rec.psd == 'n'));
}

/* tree_walk - RFC 9989 4.10 from start, then 4.10.2 selection */
static enum ma_status
tree_walk(struct ctx *c, const char *start, struct walk *w)
{
	struct lookup *lk;
	size_t	n, k, i;

	memset(w, 0, sizeof(*w));
	w->start = start;
	n = count_labels(start);
	if ((lk = lookup(c, start)) == NULL)
		return (MA_ERR_NOMEM);
	w->start_lk = lk;
	if (!walk_step(w, lk)) {
		/* 4.10 steps 3-4: parent, or cut to 7 labels when x >= 8 */
		k = n - 1 > MA_LIMIT_DMARC_TREEWALK - 1 ?
		    MA_LIMIT_DMARC_TREEWALK - 1 : n - 1;
		for (; k >= 1; k--) {
			if ((lk = lookup(c, suffix(start, n, k))) == NULL)
				return (MA_ERR_NOMEM);
			if (walk_step(w, lk))
				break;
		}
	}
	if (w->temp != NULL)
		return (MA_OK);
	/* 4.10.2: longest to shortest */
	for (i = 0; i < w->n_found; i++) {
		lk = w->found[i];
		if (lk->pst != MA_OK)
			continue;
		if (lk->rec.psd == 'n') {
			w->org = lk->name;
			return (MA_OK);
		}
		if (lk->rec.psd == 'y' && lk != w->start_lk) {
			w->org = suffix(start, n, count_labels(lk->name) + 1);
			w->psd_lk = lk;
			return (MA_OK);
		}
	}
	w->org = w->n_found > 0 ? w->found[w->n_found - 1]->name : start;
	return (MA_OK);
}

/*
 * aligned - identifier alignment (3.2.10, 4.10.2): 1 aligned, 0 not,
 * -1 unknown (DNS trouble), -2 out of memory.
 */
static int
aligned(struct ctx *c, const char *author, const char *author_org,
	const char *ident, enum ma_dmarc_align mode)
{
	struct walk w;
	const char *id;
	int	nomem = 0;

	if ((id = norm_domain(c->arena, ident, &nomem)) == NULL)
		return (nomem ? -2 : 0);
	if (strcmp(id, author) == 0)
		return (1);
	if (mode == MA_DMARC_ALIGN_STRICT)
		return (0);			/* never a subdomain */
	if (author_org == NULL)
		return (-1);
	if (!is_sub_or_same(id, author_org))
		return (0);
	if (tree_walk(c, id, &w) != MA_OK)
		return (-2);
	if (w.temp != NULL)
		return (-1);
	return (strcmp(w.org, author_org) == 0);
}

/* author_exists - 1, 0 (NXDOMAIN: RFC 9989 3.2.13, A.4), -1 unknown */
static int
author_exists(struct ctx *c, const char *author)
{
	struct ma_dns_answer *ans = NULL;
	enum ma_status st;

	c->queries++;
	st = ma_dns_query(c->dns, c->budget, c->arena, author, MA_DNS_A, &ans);
	if (st == MA_ERR_NOMEM)
		return (-2);
	if (ans == NULL || (st != MA_OK && st != MA_ERR_SYNTAX)
	    || rcode_is_temp(ans->rcode))
		return (-1);
	return (ans->rcode != MA_DNS_NXDOMAIN);
}

/* lower_one - t=y: apply the policy one level below (4.7) */
static enum ma_dmarc_policy
lower_one(enum ma_dmarc_policy p)
{
	if (p == MA_DMARC_P_REJECT)
		return (MA_DMARC_P_QUARANTINE);
	if (p == MA_DMARC_P_QUARANTINE)
		return (MA_DMARC_P_NONE);
	return (p);
}

/* set_reason - formatted reason in the arena (capped, never NULL) */
static void __attribute__((format(printf, 3, 4)))
set_reason(struct ma_dmarc_outcome *out, struct ctx *c, const char *fmt, ...)
{
	char	buf[512];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		out->reason = "reason unavailable";
	else if ((out->reason = ma_arena_strdup(c->arena, buf)) == NULL)
		out->reason = "out of memory";
}

/* check_alignment - SPF and DKIM alignment; sets out flags, returns result */
static enum ma_status
check_alignment(struct ctx *c, const struct ma_dmarc_input *in,
		const char *author, const char *org,
		const struct ma_dmarc_record *rec, struct ma_dmarc_outcome *out,
		int *unknown)
{
	size_t	i;
	int	a;

	*unknown = 0;
	if (in->spf_result == MA_SPF_PASS && in->spf_domain != NULL) {
		a = aligned(c, author, org, in->spf_domain, rec->aspf);
		if (a == -2)
			return (MA_ERR_NOMEM);
		if (a < 0)
			*unknown = 1;
		out->spf_aligned = a == 1;
	}
	for (i = 0; in->dkim != NULL && i < in->n_dkim
	     && i < MA_LIMIT_DKIM_SIGNATURES; i++) {
		if (in->dkim[i].result != MA_DKIM_PASS
		    || in->dkim[i].domain == NULL)
			continue;
		a = aligned(c, author, org, in->dkim[i].domain, rec->adkim);
		if (a == -2)
			return (MA_ERR_NOMEM);
		if (a < 0)
			*unknown = 1;
		if (a == 1) {
			out->dkim_aligned = 1;
			out->dkim_aligned_domain = in->dkim[i].domain;
			break;
		}
	}
	return (MA_OK);
}

/* eval_one - evaluate one Author Domain (already validated) */
static enum ma_status
eval_one(struct ctx *c, const struct ma_dmarc_input *in, const char *author,
	 struct ma_dmarc_outcome *out)
{
	struct walk w;
	struct lookup *plk = NULL;
	const struct ma_dmarc_record *rec;
	enum ma_dmarc_policy p, sp, np;
	enum ma_status st;
	int	unknown, ex;
	size_t	i;

	if ((st = tree_walk(c, author, &w)) != MA_OK)
		return (st);
	out->org_domain = w.org ? w.org : "";
	if (w.start_lk->state == LK_RECORD)
		plk = w.start_lk;
	else if (w.temp != NULL) {
		out->result = MA_DMARC_TEMPERROR;
		set_reason(out, c, "DNS failure at _dmarc.%s: %s", w.temp->name,
			   w.temp->note);
		return (MA_OK);
	} else {
		for (i = 0; i < w.n_found && plk == NULL; i++)
			if (strcmp(w.found[i]->name, w.org) == 0)
				plk = w.found[i];
		if (plk == NULL)
			plk = w.psd_lk;
	}
	if (plk == NULL) {
		out->result = MA_DMARC_NONE;
		set_reason(out, c, "no DMARC policy record for %s (%s)", author,
			   w.start_lk->note ? w.start_lk->note : "tree walk");
		return (MA_OK);
	}
	out->policy_domain = plk->name;
	if (plk->pst != MA_OK) {
		out->result = MA_DMARC_PERMERROR;
		set_reason(out, c, "_dmarc.%s: %s", plk->name,
			   plk->note ? plk->note : "invalid record");
		return (MA_OK);
	}
	rec = &plk->rec;
	out->record = rec;
	out->testing = rec->testing;
	p = rec->p;
	sp = rec->sp;
	np = rec->np;
	if (rec->bad_policy) {
		/* 4.10.1: p=none if rua has a valid URI, else no DMARC */
		if (rec->n_rua_valid == 0) {
			out->result = MA_DMARC_NONE;
			set_reason(out, c, "_dmarc.%s: %s and no valid rua: "
				   "DMARC not applied (RFC 9989 4.10.1)",
				   plk->name, rec->warning ? rec->warning :
				   "no valid p");
			return (MA_OK);
		}
		p = MA_DMARC_P_NONE;
		sp = np = MA_DMARC_P_UNSET;
	}
	if ((st = check_alignment(c, in, author, w.org, rec, out, &unknown))
	    != MA_OK)
		return (st);

	/* policy: p for the policy domain itself, sp/np below it (4.10.1) */
	if (sp == MA_DMARC_P_UNSET)
		sp = p;
	if (np == MA_DMARC_P_UNSET)
		np = sp;
	out->author_exists = -1;
	if (strcmp(plk->name, author) == 0)
		out->policy = p;
	else if (np == sp || out->spf_aligned || out->dkim_aligned)
		out->policy = sp;	/* existence does not matter */
	else {
		if ((ex = author_exists(c, author)) == -2)
			return (MA_ERR_NOMEM);
		out->author_exists = ex;
		if (ex < 0) {
			out->result = MA_DMARC_TEMPERROR;
			set_reason(out, c, "DNS failure checking that %s exists "
				   "(np)", author);
			return (MA_OK);
		}
		out->policy = ex ? sp : np;
	}

	if (out->spf_aligned || out->dkim_aligned) {
		out->result = MA_DMARC_PASS;
		out->disposition = MA_DMARC_P_NONE;
		set_reason(out, c, "%s aligned with %s",
			   out->dkim_aligned ? "DKIM" : "SPF", author);
		return (MA_OK);
	}
	if (unknown) {
		out->result = MA_DMARC_TEMPERROR;
		set_reason(out, c, "DNS failure determining the organizational "
			   "domain for alignment");
		return (MA_OK);
	}
	out->result = MA_DMARC_FAIL;
	out->disposition = rec->testing ? lower_one(out->policy) : out->policy;
	set_reason(out, c, "no aligned SPF or DKIM pass for %s (policy %s%s%s)",
		   author, ma_dmarc_policy_str(out->policy),
		   rec->testing ? ", t=y: " : "",
		   rec->testing ? ma_dmarc_policy_str(out->disposition) : "");
	return (MA_OK);
}

/* init_outcome - defaults for one outcome */
static void
init_outcome(struct ma_dmarc_outcome *out, const char *from)
{
	memset(out, 0, sizeof(*out));
	out->result = MA_DMARC_NONE;
	out->from_domain = from;
	out->policy_domain = "";
	out->org_domain = "";
	out->policy = MA_DMARC_P_UNSET;
	out->disposition = MA_DMARC_P_UNSET;
	out->author_exists = -1;
	out->discovery = "treewalk";
	out->reason = "";
}

/*
 * rank - precedence when several Author Domains are merged (11.5):
 * fail > temperror > permerror > pass > none; among fails the stricter
 * disposition, then the stricter policy.
 */
static int
rank(const struct ma_dmarc_outcome *o)
{
	switch (o->result) {
	case MA_DMARC_FAIL:
		return (100 + 10 * (int) o->disposition + (int) o->policy);
	case MA_DMARC_TEMPERROR:
		return (4);
	case MA_DMARC_PERMERROR:
		return (3);
	case MA_DMARC_PASS:
		return (2);
	case MA_DMARC_NONE:
		break;
	}
	return (1);
}

/* ma_dmarc_evaluate - the whole DMARC check of one message */
enum ma_status
ma_dmarc_evaluate(struct ma_dns *dns, struct ma_dns_budget *budget,
		  struct ma_arena *arena, const struct ma_dmarc_input *in,
		  struct ma_dmarc_outcome *out)
{
	struct ctx c;
	struct ma_dmarc_outcome one, best = {0};
	const char *doms[MA_LIMIT_DMARC_AUTHOR_DOMAINS];
	const char *d;
	size_t	n = 0, i, j, skipped = 0;
	enum ma_status st;
	int	nomem = 0, dup;

	if (out == NULL)
		return (MA_ERR_INTERNAL);
	init_outcome(out, "");
	memset(&c, 0, sizeof(c));
	c.dns = dns;
	c.budget = budget;
	c.arena = arena;

	/* 5.3.1: exactly one Author Domain, else say why */
	if (in == NULL || in->from_status == MA_ERR_NOTFOUND) {
		out->reason = "no From header field: no Author Domain, DMARC "
		    "does not apply (RFC 9989 5.3.1)";
		return (MA_OK);
	}
	if (in->from_status != MA_OK || in->n_from == 0
	    || in->from_domains == NULL) {
		out->result = MA_DMARC_PERMERROR;
		out->reason = "From header field repeated or unparseable: no "
		    "single Author Domain (RFC 9989 5.3.1, 11.5)";
		return (MA_OK);
	}
	for (i = 0; i < in->n_from && i < MA_LIMIT_FROM_ADDRESSES; i++) {
		if ((d = norm_domain(arena, in->from_domains[i], &nomem))
		    == NULL) {
			if (nomem)
				return (MA_ERR_NOMEM);
			out->result = MA_DMARC_PERMERROR;
			out->from_domain = "";
			out->reason = "Author Domain is not a valid A-label "
			    "domain name (RFC 9989 5.3.1)";
			return (MA_OK);
		}
		for (dup = 0, j = 0; j < n; j++)
			if (strcmp(doms[j], d) == 0)
				dup = 1;
		if (dup)
			continue;
		if (n == MA_LIMIT_DMARC_AUTHOR_DOMAINS) {
			skipped++;
			continue;
		}
		doms[n++] = d;
	}
	if (i < in->n_from)
		skipped += in->n_from - i;

	for (i = 0; i < n; i++) {
		init_outcome(&one, doms[i]);
		if ((st = eval_one(&c, in, doms[i], &one)) != MA_OK)
			return (st);
		if (i == 0 || rank(&one) > rank(&best))
			best = one;
	}
	*out = best;
	out->n_author_domains = n;
	out->dns_queries = c.queries;
	if (skipped > 0 && out->result != MA_DMARC_FAIL) {
		out->result = MA_DMARC_PERMERROR;
		out->disposition = MA_DMARC_P_UNSET;
		set_reason(out, &c, "more than %d Author Domains in From: "
			   "evaluation incomplete (RFC 9989 11.5)",
			   MA_LIMIT_DMARC_AUTHOR_DOMAINS);
	} else if (n > 1)
		set_reason(out, &c, "%zu Author Domains, strictest kept: %s",
			   n + skipped, best.reason);
	return (MA_OK);
}
