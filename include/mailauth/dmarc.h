/*
 * NAME
 *	dmarc.h - DMARC (RFC 9989): record parsing, discovery, alignment, policy
 */
#ifndef MAILAUTH_DMARC_H
#define MAILAUTH_DMARC_H

#include <stddef.h>
#include <mailauth/status.h>
#include <mailauth/spf.h>
#include <mailauth/dkim.h>

struct ma_arena;
struct ma_dns;
struct ma_dns_budget;

enum ma_dmarc_result {
	MA_DMARC_NONE, MA_DMARC_PASS, MA_DMARC_FAIL, MA_DMARC_TEMPERROR,
	MA_DMARC_PERMERROR
};

enum ma_dmarc_policy {
	MA_DMARC_P_UNSET = 0, MA_DMARC_P_NONE, MA_DMARC_P_QUARANTINE,
	MA_DMARC_P_REJECT
};

enum ma_dmarc_align { MA_DMARC_ALIGN_RELAXED = 0, MA_DMARC_ALIGN_STRICT };

struct ma_dmarc_record {
	enum ma_dmarc_policy p;		/* UNSET if absent or invalid */
	enum ma_dmarc_policy sp;	/* UNSET if absent */
	enum ma_dmarc_policy np;	/* UNSET if absent */
	char	psd;			/* 'y', 'n' or 'u' (default) */
	int	testing;		/* t=y */
	enum ma_dmarc_align adkim, aspf;
	const char *rua;		/* raw value or NULL */
	const char *ruf;
	const char *fo;
	/* additions (RFC 9989 4.10.1): p absent or invalid, or sp/np invalid */
	int	bad_policy;
	unsigned n_rua_valid;		/* syntactically valid URIs in rua */
	unsigned n_ruf_valid;		/* ... in ruf */
	const char *warning;		/* first discarded tag, or NULL */
};

struct ma_dmarc_input {
	/* RFC5322.From: status MA_OK with n_from >= 1 domains, MA_ERR_NOTFOUND
	 * (no From field), MA_ERR_SYNTAX (From unparseable or several From
	 * fields). */
	enum ma_status from_status;
	const char *const *from_domains;
	size_t	n_from;
	enum ma_spf_result spf_result;	/* SPF of the MAIL FROM identity (or HELO for null sender) */
	const char *spf_domain;		/* the domain that SPF evaluated */
	const struct ma_dkim_sig *dkim;
	size_t	n_dkim;
};

struct ma_dmarc_outcome {
	enum ma_dmarc_result result;
	const char *from_domain;	/* "" if none */
	const char *policy_domain;	/* where the record was found; "" if none */
	const char *org_domain;		/* organizational domain; "" if none */
	enum ma_dmarc_policy policy;	/* the policy that applies (p, sp or np) */
	enum ma_dmarc_policy disposition; /* what the sender asks after t=y */
	int	testing;		/* t=y */
	int	spf_aligned, dkim_aligned;
	const char *dkim_aligned_domain;/* the aligned passing d=, or NULL */
	const struct ma_dmarc_record *record; /* NULL if none found */
	const char *reason;		/* short text */
	const char *discovery;		/* "treewalk" */
	/* additions */
	size_t	n_author_domains;	/* distinct From domains evaluated */
	int	author_exists;		/* 1 yes, 0 NXDOMAIN (np), -1 not checked */
	unsigned dns_queries;		/* DMARC TXT and existence queries sent */
};

const char *ma_dmarc_result_str(enum ma_dmarc_result r);
const char *ma_dmarc_policy_str(enum ma_dmarc_policy p); /* "none", ...;
							   * UNSET: "unset" */

/*
 * ma_dmarc_record_parse - parse one TXT record (RFC 9989 section 4.7).
 * MA_ERR_NOTFOUND when it is not a DMARC record (no "v=DMARC1" first),
 * MA_ERR_SYNTAX with *why for an invalid one (a known tag given twice),
 * MA_ERR_LIMIT past MA_LIMIT_DMARC_RECORD_BYTES or MA_LIMIT_DMARC_TAGS.
 * Bad values of single tags are discarded (defaults, 4.8) and noted in
 * out->warning; a missing/invalid p or invalid sp/np sets bad_policy.
 */
enum ma_status ma_dmarc_record_parse(const char *txt, size_t len,
				     struct ma_arena *arena,
				     struct ma_dmarc_record *out,
				     const char **why);

/*
 * ma_dmarc_evaluate - discover the policy (DNS tree walk), the
 * organizational domain, check alignment, choose the policy. Always fills
 * *out unless MA_ERR_NOMEM.
 */
enum ma_status ma_dmarc_evaluate(struct ma_dns *dns, struct ma_dns_budget *budget,
				 struct ma_arena *arena,
				 const struct ma_dmarc_input *in,
				 struct ma_dmarc_outcome *out);

#endif
