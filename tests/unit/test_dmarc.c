/*
 * NAME
 *	test_dmarc - unit tests of DMARC record parsing and evaluation
 * DESCRIPTION
 *	One test per rule, named after its RFC 9989 section (numbers of
 *	draft-ietf-dmarc-dmarcbis-41, the text RFC 9989 was published from).
 *	DNS comes from an offline resolver with local zone lines; nothing
 *	leaves the process. Table-driven; failures say "got X, want Y".
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailauth/arena.h>
#include <mailauth/dns.h>
#include <mailauth/dmarc.h>

#include "ma_limits.h"

/* --- helpers ------------------------------------------------------------ */

#define R_NONE	MA_DMARC_NONE
#define R_PASS	MA_DMARC_PASS
#define R_FAIL	MA_DMARC_FAIL
#define R_TEMP	MA_DMARC_TEMPERROR
#define R_PERM	MA_DMARC_PERMERROR
#define P_UN	MA_DMARC_P_UNSET
#define P_NO	MA_DMARC_P_NONE
#define P_QU	MA_DMARC_P_QUARANTINE
#define P_RE	MA_DMARC_P_REJECT

/* mkdns - offline resolver with zone lines and failure names */
static struct ma_dns *
mkdns(const char *const *lines, const char *const *failures)
{
	struct ma_dns_options opt;
	struct ma_dns *d = NULL;
	char	err[256];
	size_t	i;

	memset(&opt, 0, sizeof(opt));
	opt.offline = 1;
	opt.timeout_ms = 2000;
	ck_assert_msg(ma_dns_new(&opt, &d, err, sizeof(err)) == MA_OK,
		      "ma_dns_new: %s", err);
	for (i = 0; lines != NULL && lines[i] != NULL; i++)
		ck_assert_msg(ma_dns_add_record(d, lines[i], err, sizeof(err))
			      == MA_OK, "add_record(%s): %s", lines[i], err);
	for (i = 0; failures != NULL && failures[i] != NULL; i++)
		ck_assert(ma_dns_add_failure(d, failures[i]) == MA_OK);
	return (d);
}

struct eval_case {
	const char *name;
	const char *const *zone;
	const char *const *failures;
	const char *from;		/* one Author Domain */
	enum ma_spf_result spf;
	const char *spf_domain;
	const char *dkim_d;		/* one signature, or NULL */
	enum ma_dkim_result dkim;
	/* want */
	enum ma_dmarc_result result;
	enum ma_dmarc_policy policy;
	enum ma_dmarc_policy disposition;
	const char *policy_domain;	/* NULL: don't check */
	const char *org_domain;		/* NULL: don't check */
};

/* run_case - evaluate one table row and compare */
static void
run_case(const struct eval_case *tc)
{
	struct ma_dns *dns = mkdns(tc->zone, tc->failures);
	struct ma_arena *a = ma_arena_new();
	struct ma_dns_budget budget;
	struct ma_dmarc_input in;
	struct ma_dmarc_outcome out;
	struct ma_dkim_sig sig;
	const char *doms[1];

	memset(&budget, 0, sizeof(budget));
	budget.max_queries = MA_LIMIT_DNS_QUERIES;
	memset(&in, 0, sizeof(in));
	memset(&sig, 0, sizeof(sig));
	doms[0] = tc->from;
	in.from_status = MA_OK;
	in.from_domains = doms;
	in.n_from = 1;
	in.spf_result = tc->spf;
	in.spf_domain = tc->spf_domain;
	if (tc->dkim_d != NULL) {
		sig.result = tc->dkim;
		sig.domain = tc->dkim_d;
		sig.selector = "s";
		in.dkim = &sig;
		in.n_dkim = 1;
	}
	ck_assert_int_eq(ma_dmarc_evaluate(dns, &budget, a, &in, &out), MA_OK);
	ck_assert_msg(out.result == tc->result,
		      "%s: result got %s, want %s (%s)", tc->name,
		      ma_dmarc_result_str(out.result),
		      ma_dmarc_result_str(tc->result), out.reason);
	ck_assert_msg(out.policy == tc->policy,
		      "%s: policy got %s, want %s (%s)", tc->name,
		      ma_dmarc_policy_str(out.policy),
		      ma_dmarc_policy_str(tc->policy), out.reason);
	ck_assert_msg(out.disposition == tc->disposition,
		      "%s: disposition got %s, want %s (%s)", tc->name,
		      ma_dmarc_policy_str(out.disposition),
		      ma_dmarc_policy_str(tc->disposition), out.reason);
	if (tc->policy_domain != NULL)
		ck_assert_msg(strcmp(out.policy_domain, tc->policy_domain) == 0,
			      "%s: policy_domain got \"%s\", want \"%s\"",
			      tc->name, out.policy_domain, tc->policy_domain);
	if (tc->org_domain != NULL)
		ck_assert_msg(strcmp(out.org_domain, tc->org_domain) == 0,
			      "%s: org_domain got \"%s\", want \"%s\"",
			      tc->name, out.org_domain, tc->org_domain);
	ck_assert_msg(out.reason != NULL && out.reason[0] != '\0',
		      "%s: empty reason", tc->name);
	ck_assert_msg(out.dns_queries <= 40, "%s: %u queries", tc->name,
		      out.dns_queries);
	ma_arena_free(&a);
	ma_dns_free(&dns);
}

/* run_cases - every row of a table */
static void
run_cases(const struct eval_case *tc, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		run_case(&tc[i]);
}

/* RSKIP - the fields a non-OK row does not check */
#define RSKIP P_UN, P_UN, P_UN, 'u', 0, 0, 0, 0, 0

#define NCASES(t) (sizeof(t) / sizeof((t)[0]))

/* --- record parsing (4.7, 4.8) ------------------------------------------ */

struct rec_case {
	const char *name;
	const char *txt;
	enum ma_status st;
	enum ma_dmarc_policy p, sp, np;
	char	psd;
	int	testing;
	int	adkim_s, aspf_s;
	int	bad_policy;
	unsigned n_rua;
};

/* run_rec - parse one table row and compare */
static void
run_rec(const struct rec_case *tc, size_t n)
{
	struct ma_arena *a = ma_arena_new();
	struct ma_dmarc_record r;
	const char *why;
	enum ma_status st;
	size_t	i;

	for (i = 0; i < n; i++, tc++) {
		st = ma_dmarc_record_parse(tc->txt, strlen(tc->txt), a, &r, &why);
		ck_assert_msg(st == tc->st, "%s: status got %s, want %s (%s)",
			      tc->name, ma_status_str(st), ma_status_str(tc->st),
			      why ? why : "");
		if (st != MA_OK)
			continue;
		ck_assert_msg(r.p == tc->p, "%s: p got %s, want %s", tc->name,
			      ma_dmarc_policy_str(r.p), ma_dmarc_policy_str(tc->p));
		ck_assert_msg(r.sp == tc->sp, "%s: sp got %s, want %s", tc->name,
			      ma_dmarc_policy_str(r.sp),
			      ma_dmarc_policy_str(tc->sp));
		ck_assert_msg(r.np == tc->np, "%s: np got %s, want %s", tc->name,
			      ma_dmarc_policy_str(r.np),
			      ma_dmarc_policy_str(tc->np));
		ck_assert_msg(r.psd == tc->psd, "%s: psd got %c, want %c",
			      tc->name, r.psd, tc->psd);
		ck_assert_msg(r.testing == tc->testing, "%s: t got %d, want %d",
			      tc->name, r.testing, tc->testing);
		ck_assert_msg((r.adkim == MA_DMARC_ALIGN_STRICT) == tc->adkim_s,
			      "%s: adkim got %d, want strict=%d", tc->name,
			      (int) r.adkim, tc->adkim_s);
		ck_assert_msg((r.aspf == MA_DMARC_ALIGN_STRICT) == tc->aspf_s,
			      "%s: aspf got %d, want strict=%d", tc->name,
			      (int) r.aspf, tc->aspf_s);
		ck_assert_msg(r.bad_policy == tc->bad_policy,
			      "%s: bad_policy got %d, want %d", tc->name,
			      r.bad_policy, tc->bad_policy);
		ck_assert_msg(r.n_rua_valid == tc->n_rua,
			      "%s: rua URIs got %u, want %u", tc->name,
			      r.n_rua_valid, tc->n_rua);
	}
	ma_arena_free(&a);
}

START_TEST(test_s4_7_version_must_be_first)
{
	static const struct rec_case t[] = {
		{"plain", "v=DMARC1; p=reject", MA_OK, P_RE, P_UN, P_UN, 'u',
		 0, 0, 0, 0, 0},
		{"upper tag name", "V=DMARC1;p=none", MA_OK, P_NO, P_UN, P_UN,
		 'u', 0, 0, 0, 0, 0},
		{"blanks", "  v = DMARC1 ;  p = quarantine ; ", MA_OK, P_QU,
		 P_UN, P_UN, 'u', 0, 0, 0, 0, 0},
		{"v not first", "p=reject; v=DMARC1", MA_ERR_NOTFOUND, RSKIP},
		{"value case sensitive", "v=dmarc1; p=reject", MA_ERR_NOTFOUND, RSKIP},
		{"other version", "v=DMARC2; p=reject", MA_ERR_NOTFOUND, RSKIP},
		{"version glued", "v=DMARC1p=reject", MA_ERR_NOTFOUND, RSKIP},
		{"spf record", "v=spf1 -all", MA_ERR_NOTFOUND, RSKIP},
		{"empty", "", MA_ERR_NOTFOUND, RSKIP},
		{"only v", "v=DMARC1", MA_OK, P_UN, P_UN, P_UN, 'u', 0, 0, 0,
		 1, 0},
	};

	run_rec(t, NCASES(t));
}
END_TEST

START_TEST(test_s4_7_record_missing_p)
{
	static const struct rec_case t[] = {
		{"no p, rua", "v=DMARC1; rua=mailto:d@example.com", MA_OK,
		 P_UN, P_UN, P_UN, 'u', 0, 0, 0, 1, 1},
		{"no p, no rua", "v=DMARC1; sp=reject", MA_OK, P_UN, P_RE,
		 P_UN, 'u', 0, 0, 0, 1, 0},
		{"invalid p", "v=DMARC1; p=rejekt", MA_OK, P_UN, P_UN, P_UN,
		 'u', 0, 0, 0, 1, 0},
		{"invalid sp", "v=DMARC1; p=reject; sp=bogus", MA_OK, P_RE,
		 P_UN, P_UN, 'u', 0, 0, 0, 1, 0},
		{"invalid np", "v=DMARC1; p=reject; np=", MA_OK, P_RE, P_UN,
		 P_UN, 'u', 0, 0, 0, 1, 0},
	};

	run_rec(t, NCASES(t));
}
END_TEST

START_TEST(test_s4_7_all_tags)
{
	static const struct rec_case t[] = {
		{"all", "v=DMARC1; p=quarantine; sp=reject; np=none; psd=n; "
		 "t=y; adkim=s; aspf=s; rua=mailto:a@example.com,"
		 "mailto:b@example.com!10m; ruf=mailto:f@example.com; fo=1:d",
		 MA_OK, P_QU, P_RE, P_NO, 'n', 1, 1, 1, 0, 2},
		{"case", "v=DMARC1; P=REJECT; PSD=Y; T=N; ADKIM=S", MA_OK,
		 P_RE, P_UN, P_UN, 'y', 0, 1, 0, 0, 0},
		{"psd u", "v=DMARC1; p=none; psd=u", MA_OK, P_NO, P_UN, P_UN,
		 'u', 0, 0, 0, 0, 0},
	};

	run_rec(t, NCASES(t));
}
END_TEST

START_TEST(test_s4_7_unknown_and_removed_tags_ignored)
{
	static const struct rec_case t[] = {
		{"pct rf ri", "v=DMARC1; p=reject; pct=0; rf=afrf; ri=3600",
		 MA_OK, P_RE, P_UN, P_UN, 'u', 0, 0, 0, 0, 0},
		{"unknown", "v=DMARC1; foo=bar; p=none; x=y; x=z", MA_OK, P_NO,
		 P_UN, P_UN, 'u', 0, 0, 0, 0, 0},
	};

	run_rec(t, NCASES(t));
}
END_TEST

START_TEST(test_s4_8_syntax_errors_take_defaults)
{
	static const struct rec_case t[] = {
		{"bad psd t adkim aspf", "v=DMARC1; p=reject; psd=x; t=maybe; "
		 "adkim=q; aspf=", MA_OK, P_RE, P_UN, P_UN, 'u', 0, 0, 0, 0, 0},
		{"tag without =", "v=DMARC1; p=reject; garbage; ;;", MA_OK,
		 P_RE, P_UN, P_UN, 'u', 0, 0, 0, 0, 0},
		{"bad rua", "v=DMARC1; p=none; rua=not a uri,:x,mailto:", MA_OK,
		 P_NO, P_UN, P_UN, 'u', 0, 0, 0, 0, 0},
		{"bad size suffix", "v=DMARC1; p=none; rua=mailto:a@b.example!x",
		 MA_OK, P_NO, P_UN, P_UN, 'u', 0, 0, 0, 0, 0},
	};
	struct ma_arena *a = ma_arena_new();
	struct ma_dmarc_record r;
	static const char *const fo_bad[] = {"0:1", "x", "0:", "d:d", "01"};
	static const char *const fo_good[] = {"0", "1", "d", "s", "0:d:s",
					      "s:1"};
	char	buf[64];
	size_t	i;

	run_rec(t, NCASES(t));
	for (i = 0; i < NCASES(fo_bad); i++) {
		snprintf(buf, sizeof(buf), "v=DMARC1; p=none; fo=%s", fo_bad[i]);
		ck_assert_int_eq(ma_dmarc_record_parse(buf, strlen(buf), a, &r,
						       NULL), MA_OK);
		ck_assert_msg(r.fo == NULL && r.warning != NULL,
			      "fo=%s: got kept, want discarded", fo_bad[i]);
	}
	for (i = 0; i < NCASES(fo_good); i++) {
		snprintf(buf, sizeof(buf), "v=DMARC1; p=none; fo=%s",
			 fo_good[i]);
		ck_assert_int_eq(ma_dmarc_record_parse(buf, strlen(buf), a, &r,
						       NULL), MA_OK);
		ck_assert_msg(r.fo != NULL && strcmp(r.fo, fo_good[i]) == 0,
			      "fo=%s: got %s, want kept", fo_good[i],
			      r.fo ? r.fo : "(null)");
	}
	ma_arena_free(&a);
}
END_TEST

START_TEST(test_s4_7_duplicate_tag_invalidates_record)
{
	static const struct rec_case t[] = {
		{"dup p", "v=DMARC1; p=none; p=reject", MA_ERR_SYNTAX, RSKIP},
		{"dup rua", "v=DMARC1; p=none; rua=mailto:a@x.example; "
		 "RUA=mailto:b@x.example", MA_ERR_SYNTAX, RSKIP},
	};

	run_rec(t, NCASES(t));
}
END_TEST

START_TEST(test_limits_hostile_records)
{
	struct ma_arena *a = ma_arena_new();
	struct ma_dmarc_record r;
	const char *why;
	char   *big;
	size_t	i, len;
	unsigned seed = 12345;
	char	rnd[300];
	static const char nul_rec[] = "v=DMARC1; p=reject\0; sp=none";
	static const char nul_val[] = "v=DMARC1; p=rej\0ect";
	static const char nul_ver[] = "v=DMARC1\0; p=reject";

	/* overlong: more than MA_LIMIT_DMARC_RECORD_BYTES */
	big = malloc(MA_LIMIT_DMARC_RECORD_BYTES * 2);
	ck_assert_ptr_nonnull(big);
	len = (size_t) snprintf(big, 64, "v=DMARC1; p=reject; rua=mailto:");
	memset(big + len, 'a', MA_LIMIT_DMARC_RECORD_BYTES * 2 - len);
	ck_assert_int_eq(ma_dmarc_record_parse(big,
					       MA_LIMIT_DMARC_RECORD_BYTES * 2,
					       a, &r, &why), MA_ERR_LIMIT);
	/* 1000 tags */
	len = (size_t) snprintf(big, 32, "v=DMARC1");
	for (i = 0; i < 1000 && len + 4 < MA_LIMIT_DMARC_RECORD_BYTES; i++) {
		memcpy(big + len, ";x=1", 4);
		len += 4;
	}
	ck_assert_int_eq(ma_dmarc_record_parse(big, len, a, &r, &why),
			 MA_ERR_LIMIT);
	free(big);
	/* NUL bytes: never trusted as terminators */
	ck_assert_int_eq(ma_dmarc_record_parse(nul_rec, sizeof(nul_rec) - 1,
					       a, &r, &why), MA_OK);
	ck_assert_msg(r.p == P_UN && r.sp == P_NO && r.bad_policy,
		      "NUL after p: got p=%s, want p discarded",
		      ma_dmarc_policy_str(r.p));
	ck_assert_int_eq(ma_dmarc_record_parse(nul_val, sizeof(nul_val) - 1,
					       a, &r, &why), MA_OK);
	ck_assert_int_eq(r.p, P_UN);
	ck_assert_int_eq(ma_dmarc_record_parse(nul_ver, sizeof(nul_ver) - 1,
					       a, &r, &why), MA_ERR_NOTFOUND);
	/* a length shorter than the text: only len bytes are read */
	ck_assert_int_eq(ma_dmarc_record_parse("v=DMARC1; p=reject", 8, a, &r,
					       &why), MA_OK);
	ck_assert_int_eq(r.p, P_UN);
	ck_assert_int_eq(ma_dmarc_record_parse(NULL, 0, a, &r, &why),
			 MA_ERR_NOTFOUND);
	/* garbage: 2000 pseudo-random records must not crash */
	for (i = 0; i < 2000; i++) {
		size_t	j, n;

		seed = seed * 1103515245u + 12345u;
		n = (seed >> 16) % sizeof(rnd);
		memcpy(rnd, "v=DMARC1;", 9);
		for (j = 9; j < n; j++) {
			seed = seed * 1103515245u + 12345u;
			if ((seed >> 16) % 4 == 0)
				rnd[j] = ";=, \t"[(seed >> 8) % 5];
			else
				rnd[j] = (char) (seed >> 16);
		}
		(void) ma_dmarc_record_parse(rnd, n < 9 ? 9 : n, a, &r, &why);
	}
	ma_arena_free(&a);
}
END_TEST

/* --- discovery and policy (4.10, 4.10.1) -------------------------------- */

static const char *const zone_basic[] = {
	"_dmarc.example.com 300 IN TXT \"v=DMARC1; p=reject; sp=quarantine\"",
	"www.example.com 300 IN A 192.0.2.1",
	"_dmarc.sub.example.com 300 IN TXT \"v=DMARC1; p=none\"",
	NULL
};

START_TEST(test_s4_10_1_policy_discovery)
{
	static const struct eval_case t[] = {
		{"record at author domain: p", zone_basic, NULL, "example.com",
		 MA_SPF_FAIL, "example.com", NULL, 0,
		 R_FAIL, P_RE, P_RE, "example.com", "example.com"},
		{"existing subdomain: sp", zone_basic, NULL, "www.example.com",
		 MA_SPF_NONE, NULL, NULL, 0,
		 R_FAIL, P_QU, P_QU, "example.com", "example.com"},
		{"own record wins", zone_basic, NULL, "sub.example.com",
		 MA_SPF_NONE, NULL, NULL, 0,
		 R_FAIL, P_NO, P_NO, "sub.example.com", "example.com"},
		{"no record anywhere", zone_basic, NULL, "example.org",
		 MA_SPF_PASS, "example.org", NULL, 0,
		 R_NONE, P_UN, P_UN, "", NULL},
		{"pass", zone_basic, NULL, "example.com",
		 MA_SPF_PASS, "example.com", NULL, 0,
		 R_PASS, P_RE, P_NO, "example.com", "example.com"},
		{"upper case author", zone_basic, NULL, "WWW.Example.COM.",
		 MA_SPF_PASS, "www.example.com", NULL, 0,
		 R_PASS, P_QU, P_NO, "example.com", "example.com"},
	};

	run_cases(t, NCASES(t));
}
END_TEST

START_TEST(test_s4_10_1_missing_p_with_rua_is_p_none)
{
	static const char *const z[] = {
		"_dmarc.example.com 300 IN TXT \"v=DMARC1; sp=reject; "
		"rua=mailto:d@example.com\"",
		"_dmarc.bad.example 300 IN TXT \"v=DMARC1; p=reject; np=bogus; "
		"rua=mailto:d@bad.example\"",
		NULL
	};
	static const struct eval_case t[] = {
		{"no p, rua: p=none (sp ignored too)", z, NULL, "a.example.com",
		 MA_SPF_NONE, NULL, NULL, 0,
		 R_FAIL, P_NO, P_NO, "example.com", NULL},
		{"bad np, rua: p=none", z, NULL, "bad.example",
		 MA_SPF_NONE, NULL, NULL, 0,
		 R_FAIL, P_NO, P_NO, "bad.example", NULL},
	};

	run_cases(t, NCASES(t));
}
END_TEST

START_TEST(test_s4_10_1_missing_p_without_rua_not_applied)
{
	static const char *const z[] = {
		"_dmarc.example.com 300 IN TXT \"v=DMARC1; sp=reject\"",
		"_dmarc.example.net 300 IN TXT \"v=DMARC1; p=reject; "
		"rua=mailto:\"",
		NULL
	};
	static const struct eval_case t[] = {
		{"no p, no rua", z, NULL, "example.com",
		 MA_SPF_NONE, NULL, NULL, 0,
		 R_NONE, P_UN, P_UN, "example.com", NULL},
	};

	run_cases(t, NCASES(t));
}
END_TEST

START_TEST(test_s4_10_step2_multiple_records_discarded)
{
	static const char *const z[] = {
		"_dmarc.example.com 300 IN TXT \"v=DMARC1; p=reject\"",
		"_dmarc.example.com 300 IN TXT \"v=DMARC1; p=none\"",
		"_dmarc.example.com 300 IN TXT \"v=spf1 -all\"",
		"_dmarc.two.example 300 IN TXT \"v=DMARC1; p=quarantine\"",
		"_dmarc.two.example 300 IN TXT \"not dmarc\"",
		"_dmarc.a.three.example 300 IN TXT \"v=DMARC1; p=none\"",
		"_dmarc.a.three.example 300 IN TXT \"v=DMARC1; p=none; t=y\"",
		"_dmarc.three.example 300 IN TXT \"v=DMARC1; p=reject\"",
		NULL
	};
	static const struct eval_case t[] = {
		{"two DMARC records: none", z, NULL, "example.com",
		 MA_SPF_NONE, NULL, NULL, 0, R_NONE, P_UN, P_UN, "", NULL},
		{"non-DMARC text ignored", z, NULL, "two.example",
		 MA_SPF_NONE, NULL, NULL, 0, R_FAIL, P_QU, P_QU, "two.example",
		 NULL},
		{"walk goes on above a discarded pair", z, NULL,
		 "a.three.example", MA_SPF_NONE, NULL, NULL, 0,
		 R_FAIL, P_RE, P_RE, "three.example", "three.example"},
	};

	run_cases(t, NCASES(t));
}
END_TEST

START_TEST(test_s4_10_treewalk_skips_labels)
{
	static const char *const z[] = {
		/* never queried: 11 labels, cut to 7 after the first query */
		"_dmarc.b.c.d.e.f.g.h.i.j.mail.example.com 300 IN TXT "
		"\"v=DMARC1; p=none; psd=n\"",
		"_dmarc.c.d.e.f.g.h.i.j.mail.example.com 300 IN TXT "
		"\"v=DMARC1; p=none; psd=n\"",
		"_dmarc.example.com 300 IN TXT \"v=DMARC1; p=reject\"",
		NULL
	};
	static const char *const z7[] = {
		"_dmarc.g.h.i.j.mail.example.com 300 IN TXT "
		"\"v=DMARC1; p=quarantine; psd=n\"",
		"_dmarc.example.com 300 IN TXT \"v=DMARC1; p=reject\"",
		NULL
	};
	static const struct eval_case t[] = {
		{"skipped labels are never queried", z, NULL,
		 "a.b.c.d.e.f.g.h.i.j.mail.example.com", MA_SPF_NONE, NULL,
		 NULL, 0, R_FAIL, P_RE, P_RE, "example.com", "example.com"},
		{"7-label name is queried", z7, NULL,
		 "a.b.c.d.e.f.g.h.i.j.mail.example.com", MA_SPF_NONE, NULL,
		 NULL, 0, R_FAIL, P_QU, P_QU, "g.h.i.j.mail.example.com",
		 "g.h.i.j.mail.example.com"},
	};
	struct ma_dns *dns = mkdns(z, NULL);
	struct ma_arena *a = ma_arena_new();
	struct ma_dmarc_input in;
	struct ma_dmarc_outcome out;
	const char *d[] = {"a.b.c.d.e.f.g.h.i.j.mail.example.com"};
	const char *d3[] = {"x.y.example.com"};

	run_cases(t, NCASES(t));
	/* the whole walk is 8 queries at most */
	memset(&in, 0, sizeof(in));
	in.from_status = MA_OK;
	in.from_domains = d;
	in.n_from = 1;
	ck_assert_int_eq(ma_dmarc_evaluate(dns, NULL, a, &in, &out), MA_OK);
	ck_assert_msg(out.dns_queries == MA_LIMIT_DMARC_TREEWALK,
		      "queries got %u, want %d", out.dns_queries,
		      MA_LIMIT_DMARC_TREEWALK);
	/* short names: one query per label */
	in.from_domains = d3;
	ck_assert_int_eq(ma_dmarc_evaluate(dns, NULL, a, &in, &out), MA_OK);
	ck_assert_msg(out.dns_queries == 4, "queries got %u, want 4",
		      out.dns_queries);
	ma_arena_free(&a);
	ma_dns_free(&dns);
}
END_TEST

/* --- organizational domain (4.10.2) ------------------------------------- */

START_TEST(test_s4_10_2_org_domain_selection)
{
	static const char *const fewest[] = {
		"_dmarc.mail.example.com 300 IN TXT \"v=DMARC1; p=none\"",
		"_dmarc.example.com 300 IN TXT \"v=DMARC1; p=reject\"",
		NULL
	};
	static const char *const psdn[] = {
		"_dmarc.mail.example.com 300 IN TXT \"v=DMARC1; p=quarantine; "
		"psd=n\"",
		"_dmarc.example.com 300 IN TXT \"v=DMARC1; p=reject\"",
		NULL
	};
	static const char *const psdy[] = {
		"_dmarc.com 300 IN TXT \"v=DMARC1; p=reject; sp=quarantine; "
		"psd=y\"",
		NULL
	};
	static const char *const psdy_org[] = {
		"_dmarc.com 300 IN TXT \"v=DMARC1; p=reject; psd=y\"",
		"_dmarc.example.com 300 IN TXT \"v=DMARC1; p=none\"",
		NULL
	};
	static const struct eval_case t[] = {
		/* fewest labels: example.com; its record applies (sp -> p) */
		{"fewest labels", fewest, NULL, "a.mail.example.com",
		 MA_SPF_PASS, "x.example.com", NULL, 0,
		 R_PASS, P_RE, P_NO, "example.com", "example.com"},
		/* psd=n: mail.example.com is org; x.example.com not aligned */
		{"psd=n stops", psdn, NULL, "a.mail.example.com",
		 MA_SPF_PASS, "x.example.com", NULL, 0,
		 R_FAIL, P_QU, P_QU, "mail.example.com", "mail.example.com"},
		{"psd=n aligned below", psdn, NULL, "a.mail.example.com",
		 MA_SPF_PASS, "b.mail.example.com", NULL, 0,
		 R_PASS, P_QU, P_NO, "mail.example.com", "mail.example.com"},
		/* psd=y at com: org is example.com, PSD record applies */
		{"psd=y: one label below", psdy, NULL, "a.mail.example.com",
		 MA_SPF_NONE, NULL, "example.com", MA_DKIM_PASS,
		 R_PASS, P_QU, P_NO, "com", "example.com"},
		{"psd=y: other org fails", psdy, NULL, "a.mail.example.com",
		 MA_SPF_PASS, "example.net", "evil.com", MA_DKIM_PASS,
		 R_FAIL, P_QU, P_QU, "com", "example.com"},
		/* PSD policy not used when the org domain has a record */
		{"psd=y, org record wins", psdy_org, NULL, "a.example.com",
		 MA_SPF_NONE, NULL, NULL, 0,
		 R_FAIL, P_NO, P_NO, "example.com", "example.com"},
	};

	run_cases(t, NCASES(t));
}
END_TEST

/* --- alignment (3.2.10, 4.4) -------------------------------------------- */

START_TEST(test_s3_2_10_2_strict_alignment_rejects_subdomain)
{
	static const char *const z[] = {
		"_dmarc.example.com 300 IN TXT \"v=DMARC1; p=reject; adkim=s; "
		"aspf=s\"",
		NULL
	};
	static const struct eval_case t[] = {
		{"dkim subdomain", z, NULL, "example.com",
		 MA_SPF_NONE, NULL, "mail.example.com", MA_DKIM_PASS,
		 R_FAIL, P_RE, P_RE, "example.com", NULL},
		{"spf subdomain", z, NULL, "example.com",
		 MA_SPF_PASS, "bounce.example.com", NULL, 0,
		 R_FAIL, P_RE, P_RE, "example.com", NULL},
		{"parent of author", z, NULL, "mail.example.com",
		 MA_SPF_PASS, "example.com", "example.com", MA_DKIM_PASS,
		 R_FAIL, P_RE, P_RE, "example.com", NULL},
		{"suffix trick", z, NULL, "example.com",
		 MA_SPF_PASS, "badexample.com", "xexample.com", MA_DKIM_PASS,
		 R_FAIL, P_RE, P_RE, "example.com", NULL},
		{"identical, any case", z, NULL, "example.com",
		 MA_SPF_NONE, NULL, "EXAMPLE.com.", MA_DKIM_PASS,
		 R_PASS, P_RE, P_NO, "example.com", NULL},
	};

	run_cases(t, NCASES(t));
}
END_TEST

START_TEST(test_s3_2_10_1_relaxed_alignment)
{
	static const char *const z[] = {
		"_dmarc.example.com 300 IN TXT \"v=DMARC1; p=reject\"",
		"_dmarc.other.example.com 300 IN TXT \"v=DMARC1; p=none; psd=n\"",
		NULL
	};
	static const struct eval_case t[] = {
		{"dkim subdomain", z, NULL, "example.com",
		 MA_SPF_NONE, NULL, "mail.example.com", MA_DKIM_PASS,
		 R_PASS, P_RE, P_NO, "example.com", "example.com"},
		{"spf parent", z, NULL, "news.example.com",
		 MA_SPF_PASS, "example.com", NULL, 0,
		 R_PASS, P_RE, P_NO, "example.com", "example.com"},
		{"other org domain", z, NULL, "news.example.com",
		 MA_SPF_PASS, "foo.example.net", NULL, 0,
		 R_FAIL, P_RE, P_RE, "example.com", "example.com"},
		{"sub with its own org (psd=n)", z, NULL, "example.com",
		 MA_SPF_PASS, "x.other.example.com", NULL, 0,
		 R_FAIL, P_RE, P_RE, "example.com", "example.com"},
	};

	run_cases(t, NCASES(t));
}
END_TEST

START_TEST(test_s4_4_results_must_pass)
{
	static const struct eval_case t[] = {
		{"spf softfail", zone_basic, NULL, "example.com",
		 MA_SPF_SOFTFAIL, "example.com", NULL, 0,
		 R_FAIL, P_RE, P_RE, "example.com", NULL},
		{"dkim fail", zone_basic, NULL, "example.com",
		 MA_SPF_NONE, NULL, "example.com", MA_DKIM_FAIL,
		 R_FAIL, P_RE, P_RE, "example.com", NULL},
		{"dkim temperror", zone_basic, NULL, "example.com",
		 MA_SPF_NEUTRAL, "example.com", "example.com", MA_DKIM_TEMPERROR,
		 R_FAIL, P_RE, P_RE, "example.com", NULL},
	};

	run_cases(t, NCASES(t));
}
END_TEST

START_TEST(test_s4_4_1_any_dkim_signature_aligns)
{
	struct ma_dns *dns = mkdns(zone_basic, NULL);
	struct ma_arena *a = ma_arena_new();
	struct ma_dmarc_input in;
	struct ma_dmarc_outcome out;
	struct ma_dkim_sig sig[3];
	const char *d[] = {"example.com"};

	memset(&in, 0, sizeof(in));
	memset(sig, 0, sizeof(sig));
	sig[0].result = MA_DKIM_PASS;
	sig[0].domain = "example.net";
	sig[1].result = MA_DKIM_FAIL;
	sig[1].domain = "example.com";
	sig[2].result = MA_DKIM_PASS;
	sig[2].domain = "www.example.com";
	in.from_status = MA_OK;
	in.from_domains = d;
	in.n_from = 1;
	in.dkim = sig;
	in.n_dkim = 3;
	ck_assert_int_eq(ma_dmarc_evaluate(dns, NULL, a, &in, &out), MA_OK);
	ck_assert_msg(out.result == R_PASS && out.dkim_aligned
		      && !out.spf_aligned, "got %s, want pass by DKIM (%s)",
		      ma_dmarc_result_str(out.result), out.reason);
	ck_assert_str_eq(out.dkim_aligned_domain, "www.example.com");
	ck_assert_ptr_nonnull(out.record);
	ck_assert_str_eq(out.discovery, "treewalk");
	ma_arena_free(&a);
	ma_dns_free(&dns);
}
END_TEST

/* --- np, t (4.7) --------------------------------------------------------- */

START_TEST(test_s4_7_np_nonexistent_subdomain)
{
	static const char *const z[] = {
		"_dmarc.example.com 300 IN TXT \"v=DMARC1; p=quarantine; sp=none; "
		"np=reject\"",
		"www.example.com 300 IN A 192.0.2.1",
		"txt.example.com 300 IN TXT \"hello\"",
		"host.deep.example.com 300 IN A 192.0.2.2",
		"_dmarc.np.example 300 IN TXT \"v=DMARC1; p=reject; np=none\"",
		"_dmarc.sp.example 300 IN TXT \"v=DMARC1; p=none; sp=quarantine\"",
		NULL
	};
	static const struct eval_case t[] = {
		{"NXDOMAIN: np", z, NULL, "nx.example.com",
		 MA_SPF_NONE, NULL, NULL, 0,
		 R_FAIL, P_RE, P_RE, "example.com", NULL},
		{"exists (A): sp", z, NULL, "www.example.com",
		 MA_SPF_NONE, NULL, NULL, 0,
		 R_FAIL, P_NO, P_NO, "example.com", NULL},
		{"exists (other type): sp", z, NULL, "txt.example.com",
		 MA_SPF_NONE, NULL, NULL, 0,
		 R_FAIL, P_NO, P_NO, "example.com", NULL},
		{"empty non-terminal exists: sp", z, NULL, "deep.example.com",
		 MA_SPF_NONE, NULL, NULL, 0,
		 R_FAIL, P_NO, P_NO, "example.com", NULL},
		{"np not for the domain itself", z, NULL, "example.com",
		 MA_SPF_NONE, NULL, NULL, 0,
		 R_FAIL, P_QU, P_QU, "example.com", NULL},
		{"NXDOMAIN, np=none below p=reject", z, NULL, "nx.np.example",
		 MA_SPF_NONE, NULL, NULL, 0,
		 R_FAIL, P_NO, P_NO, "np.example", NULL},
		{"no np: falls back to sp", z, NULL, "nx.sp.example",
		 MA_SPF_NONE, NULL, NULL, 0,
		 R_FAIL, P_QU, P_QU, "sp.example", NULL},
	};

	run_cases(t, NCASES(t));
}
END_TEST

START_TEST(test_s4_7_t_y_one_level_lower)
{
	static const char *const z[] = {
		"_dmarc.r.example 300 IN TXT \"v=DMARC1; p=reject; t=y\"",
		"_dmarc.q.example 300 IN TXT \"v=DMARC1; p=quarantine; t=y\"",
		"_dmarc.n.example 300 IN TXT \"v=DMARC1; p=none; t=y\"",
		"_dmarc.f.example 300 IN TXT \"v=DMARC1; p=reject; t=n\"",
		NULL
	};
	static const struct eval_case t[] = {
		{"reject -> quarantine", z, NULL, "r.example",
		 MA_SPF_NONE, NULL, NULL, 0, R_FAIL, P_RE, P_QU, NULL, NULL},
		{"quarantine -> none", z, NULL, "q.example",
		 MA_SPF_NONE, NULL, NULL, 0, R_FAIL, P_QU, P_NO, NULL, NULL},
		{"none stays none", z, NULL, "n.example",
		 MA_SPF_NONE, NULL, NULL, 0, R_FAIL, P_NO, P_NO, NULL, NULL},
		{"t=n applies", z, NULL, "f.example",
		 MA_SPF_NONE, NULL, NULL, 0, R_FAIL, P_RE, P_RE, NULL, NULL},
		{"pass: nothing", z, NULL, "r.example",
		 MA_SPF_PASS, "r.example", NULL, 0, R_PASS, P_RE, P_NO, NULL,
		 NULL},
	};

	run_cases(t, NCASES(t));
}
END_TEST

/* --- DNS errors (5.3.6) -------------------------------------------------- */

START_TEST(test_s5_3_6_dns_failure_is_temperror)
{
	static const char *const z[] = {
		"_dmarc.example.com 300 IN TXT \"v=DMARC1; p=reject\"",
		NULL
	};
	static const char *const fail_author[] = {"_dmarc.fail.example", NULL};
	static const char *const fail_parent[] = {"_dmarc.com", NULL};
	static const char *const fail_sub[] = {"_dmarc.a.example.com", NULL};
	static const char *const fail_exists[] = {"nx.example.org", NULL};
	static const char *const znp[] = {
		"_dmarc.example.org 300 IN TXT \"v=DMARC1; p=none; np=reject\"",
		NULL
	};
	static const struct eval_case t[] = {
		{"author record lookup fails", z, fail_author, "fail.example",
		 MA_SPF_PASS, "fail.example", NULL, 0,
		 R_TEMP, P_UN, P_UN, NULL, NULL},
		{"walk fails, exact match still passes", z, fail_parent,
		 "example.com", MA_SPF_PASS, "example.com", NULL, 0,
		 R_PASS, P_RE, P_NO, "example.com", ""},
		{"walk fails, relaxed unknown", z, fail_parent,
		 "example.com", MA_SPF_PASS, "a.example.com", NULL, 0,
		 R_TEMP, P_RE, P_UN, "example.com", ""},
		{"subdomain lookup fails", z, fail_sub, "a.example.com",
		 MA_SPF_NONE, NULL, NULL, 0, R_TEMP, P_UN, P_UN, NULL, NULL},
		{"existence check fails", znp, fail_exists, "nx.example.org",
		 MA_SPF_NONE, NULL, NULL, 0, R_TEMP, P_UN, P_UN, NULL, NULL},
	};

	run_cases(t, NCASES(t));
}
END_TEST

START_TEST(test_s5_3_6_budget_spent_is_temperror)
{
	struct ma_dns *dns = mkdns(zone_basic, NULL);
	struct ma_arena *a = ma_arena_new();
	struct ma_dns_budget budget;
	struct ma_dmarc_input in;
	struct ma_dmarc_outcome out;
	const char *d[] = {"www.example.com"};

	memset(&budget, 0, sizeof(budget));
	budget.max_queries = 1;
	budget.queries = 1;
	memset(&in, 0, sizeof(in));
	in.from_status = MA_OK;
	in.from_domains = d;
	in.n_from = 1;
	ck_assert_int_eq(ma_dmarc_evaluate(dns, &budget, a, &in, &out), MA_OK);
	ck_assert_msg(out.result == R_TEMP, "got %s, want temperror",
		      ma_dmarc_result_str(out.result));
	ma_arena_free(&a);
	ma_dns_free(&dns);
}
END_TEST

START_TEST(test_s4_7_hostile_record_in_dns)
{
	static const char *const z[] = {
		"_dmarc.dup.example 300 IN TXT \"v=DMARC1; p=none; p=reject\"",
		"_dmarc.many.example 300 IN TXT \"v=DMARC1;a=1;b=1;c=1;d=1;e=1;"
		"f=1;g=1;h=1;i=1;j=1;k=1;l=1;m=1;n=1;o=1;q=1;r=1;s=1;u=1;w=1;"
		"x=1;y=1;z=1;aa=1;bb=1;cc=1;dd=1;ee=1;ff=1;gg=1;hh=1;ii=1;jj=1;"
		"p=reject\"",
		NULL
	};
	static const struct eval_case t[] = {
		{"duplicate tag", z, NULL, "dup.example",
		 MA_SPF_NONE, NULL, NULL, 0, R_PERM, P_UN, P_UN, "dup.example",
		 NULL},
		{"too many tags", z, NULL, "many.example",
		 MA_SPF_NONE, NULL, NULL, 0, R_PERM, P_UN, P_UN, "many.example",
		 NULL},
	};

	run_cases(t, NCASES(t));
}
END_TEST

/* --- From field (5.3.1, 11.5) ------------------------------------------- */

/* eval_from - evaluate with a given From status and domains */
static void
eval_from(struct ma_dns *dns, struct ma_arena *a, enum ma_status fst,
	  const char *const *doms, size_t n, const char *spf_domain,
	  struct ma_dmarc_outcome *out)
{
	struct ma_dmarc_input in;

	memset(&in, 0, sizeof(in));
	in.from_status = fst;
	in.from_domains = doms;
	in.n_from = n;
	in.spf_result = MA_SPF_PASS;
	in.spf_domain = spf_domain;
	ck_assert_int_eq(ma_dmarc_evaluate(dns, NULL, a, &in, out), MA_OK);
	ck_assert_msg(out->reason != NULL && out->reason[0] != '\0',
		      "empty reason");
}

START_TEST(test_s5_3_1_from_field_cases)
{
	static const char *const z[] = {
		"_dmarc.good.example 300 IN TXT \"v=DMARC1; p=none\"",
		"_dmarc.victim.example 300 IN TXT \"v=DMARC1; p=reject\"",
		"_dmarc.q.example 300 IN TXT \"v=DMARC1; p=quarantine\"",
		NULL
	};
	struct ma_dns *dns = mkdns(z, NULL);
	struct ma_arena *a = ma_arena_new();
	struct ma_dmarc_outcome out;
	const char *one[] = {"good.example"};
	const char *same[] = {"good.example", "GOOD.example"};
	const char *mixed[] = {"good.example", "q.example", "victim.example"};
	const char *nodmarc[] = {"good.example", "nothing.example"};
	const char *many[] = {"a.example", "b.example", "c.example",
			      "d.example", "e.example", "victim.example"};
	const char *bad[] = {"ex\xc3\xa4mple.com"};

	/* no From field: DMARC does not apply, with a reason */
	eval_from(dns, a, MA_ERR_NOTFOUND, NULL, 0, "good.example", &out);
	ck_assert_msg(out.result == R_NONE, "no From: got %s, want none",
		      ma_dmarc_result_str(out.result));
	/* several From fields or unparseable: permerror */
	eval_from(dns, a, MA_ERR_SYNTAX, one, 1, "good.example", &out);
	ck_assert_msg(out.result == R_PERM, "bad From: got %s, want permerror",
		      ma_dmarc_result_str(out.result));
	eval_from(dns, a, MA_OK, one, 0, "good.example", &out);
	ck_assert_msg(out.result == R_PERM, "0 domains: got %s, want permerror",
		      ma_dmarc_result_str(out.result));
	/* one domain twice is one Author Domain */
	eval_from(dns, a, MA_OK, same, 2, "good.example", &out);
	ck_assert_msg(out.result == R_PASS && out.n_author_domains == 1,
		      "same domain twice: got %s/%zu, want pass/1",
		      ma_dmarc_result_str(out.result), out.n_author_domains);
	/* 11.5: each domain evaluated, the strictest failing policy kept */
	eval_from(dns, a, MA_OK, mixed, 3, "good.example", &out);
	ck_assert_msg(out.result == R_FAIL && out.policy == P_RE
		      && strcmp(out.from_domain, "victim.example") == 0,
		      "mixed: got %s %s %s, want fail reject victim.example",
		      ma_dmarc_result_str(out.result),
		      ma_dmarc_policy_str(out.policy), out.from_domain);
	ck_assert_uint_eq(out.n_author_domains, 3);
	/* a domain without DMARC does not spoil a pass */
	eval_from(dns, a, MA_OK, nodmarc, 2, "good.example", &out);
	ck_assert_msg(out.result == R_PASS, "pass+none: got %s, want pass",
		      ma_dmarc_result_str(out.result));
	/* too many domains: incomplete -> permerror unless one fails */
	eval_from(dns, a, MA_OK, many, 5, "a.example", &out);
	ck_assert_msg(out.result == R_PERM, "5 domains: got %s, want permerror",
		      ma_dmarc_result_str(out.result));
	/* victim.example is past the limit: not evaluated */
	eval_from(dns, a, MA_OK, many, 6, "a.example", &out);
	ck_assert_msg(out.result == R_PERM, "6 domains: got %s, want permerror",
		      ma_dmarc_result_str(out.result));
	/* U-label (not converted by the caller): permerror */
	eval_from(dns, a, MA_OK, bad, 1, "good.example", &out);
	ck_assert_msg(out.result == R_PERM, "U-label: got %s, want permerror",
		      ma_dmarc_result_str(out.result));
	ma_arena_free(&a);
	ma_dns_free(&dns);
}
END_TEST

START_TEST(test_s11_5_limit_still_fails)
{
	static const char *const z[] = {
		"_dmarc.victim.example 300 IN TXT \"v=DMARC1; p=reject\"",
		NULL
	};
	struct ma_dns *dns = mkdns(z, NULL);
	struct ma_arena *a = ma_arena_new();
	struct ma_dmarc_outcome out;
	const char *many[] = {"victim.example", "b.example", "c.example",
			      "d.example", "e.example", "f.example"};

	eval_from(dns, a, MA_OK, many, 6, "b.example", &out);
	ck_assert_msg(out.result == R_FAIL && out.disposition == P_RE,
		      "got %s/%s, want fail/reject",
		      ma_dmarc_result_str(out.result),
		      ma_dmarc_policy_str(out.disposition));
	ma_arena_free(&a);
	ma_dns_free(&dns);
}
END_TEST

/* --- strings (RFC 8601) -------------------------------------------------- */

START_TEST(test_rfc8601_result_strings)
{
	ck_assert_str_eq(ma_dmarc_result_str(MA_DMARC_NONE), "none");
	ck_assert_str_eq(ma_dmarc_result_str(MA_DMARC_PASS), "pass");
	ck_assert_str_eq(ma_dmarc_result_str(MA_DMARC_FAIL), "fail");
	ck_assert_str_eq(ma_dmarc_result_str(MA_DMARC_TEMPERROR), "temperror");
	ck_assert_str_eq(ma_dmarc_result_str(MA_DMARC_PERMERROR), "permerror");
	ck_assert_str_eq(ma_dmarc_policy_str(MA_DMARC_P_NONE), "none");
	ck_assert_str_eq(ma_dmarc_policy_str(MA_DMARC_P_QUARANTINE),
			 "quarantine");
	ck_assert_str_eq(ma_dmarc_policy_str(MA_DMARC_P_REJECT), "reject");
	ck_assert_str_eq(ma_dmarc_policy_str(MA_DMARC_P_UNSET), "unset");
}
END_TEST

/* dmarc_suite - every test */
static Suite *
dmarc_suite(void)
{
	Suite  *s = suite_create("dmarc");
	TCase  *rec = tcase_create("record");
	TCase  *ev = tcase_create("evaluate");

	tcase_add_test(rec, test_s4_7_version_must_be_first);
	tcase_add_test(rec, test_s4_7_record_missing_p);
	tcase_add_test(rec, test_s4_7_all_tags);
	tcase_add_test(rec, test_s4_7_unknown_and_removed_tags_ignored);
	tcase_add_test(rec, test_s4_8_syntax_errors_take_defaults);
	tcase_add_test(rec, test_s4_7_duplicate_tag_invalidates_record);
	tcase_add_test(rec, test_limits_hostile_records);
	tcase_add_test(rec, test_rfc8601_result_strings);
	suite_add_tcase(s, rec);

	tcase_set_timeout(ev, 30);
	tcase_add_test(ev, test_s4_10_1_policy_discovery);
	tcase_add_test(ev, test_s4_10_1_missing_p_with_rua_is_p_none);
	tcase_add_test(ev, test_s4_10_1_missing_p_without_rua_not_applied);
	tcase_add_test(ev, test_s4_10_step2_multiple_records_discarded);
	tcase_add_test(ev, test_s4_10_treewalk_skips_labels);
	tcase_add_test(ev, test_s4_10_2_org_domain_selection);
	tcase_add_test(ev, test_s3_2_10_2_strict_alignment_rejects_subdomain);
	tcase_add_test(ev, test_s3_2_10_1_relaxed_alignment);
	tcase_add_test(ev, test_s4_4_results_must_pass);
	tcase_add_test(ev, test_s4_4_1_any_dkim_signature_aligns);
	tcase_add_test(ev, test_s4_7_np_nonexistent_subdomain);
	tcase_add_test(ev, test_s4_7_t_y_one_level_lower);
	tcase_add_test(ev, test_s5_3_6_dns_failure_is_temperror);
	tcase_add_test(ev, test_s5_3_6_budget_spent_is_temperror);
	tcase_add_test(ev, test_s4_7_hostile_record_in_dns);
	tcase_add_test(ev, test_s5_3_1_from_field_cases);
	tcase_add_test(ev, test_s11_5_limit_still_fails);
	suite_add_tcase(s, ev);
	return (s);
}

/* main - run the suite; non-zero exit on any failure */
int
main(void)
{
	SRunner *sr = srunner_create(dmarc_suite());
	int	nfail;

	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
