/*
 * NAME
 *	test_authres - unit tests of Authentication-Results render and check
 * DESCRIPTION
 *	Rendering: exact output for typical results; for hostile values
 *	(injection in selector, domain, reason, CRLF, 10 KB, non-ASCII), a
 *	structural check that the value still has exactly the resinfos we
 *	put in, even for a naive reader that splits on ';' or white space,
 *	plus the sanitised text we want. Recognition: table of A-R values
 *	with and without our authserv-id, including NUL bytes and tricks.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailauth/arena.h>
#include <mailauth/authres.h>

#include "ma_limits.h"

#define L(s)	s, sizeof(s) - 1

#define ID	"mx.example.net"

/* sig - a DKIM result for the tables */
static struct ma_dkim_sig
sig(enum ma_dkim_result r, const char *d, const char *s, const char *b,
    const char *reason)
{
	struct ma_dkim_sig x;

	memset(&x, 0, sizeof(x));
	x.result = r;
	x.domain = d;
	x.selector = s;
	x.algorithm = "rsa-sha256";
	x.b = b;
	x.reason = reason;
	return (x);
}

/* spf - an SPF result */
static struct ma_spf_outcome
spf(enum ma_spf_identity id, enum ma_spf_result r, const char *domain,
    const char *sender, const char *reason)
{
	struct ma_spf_outcome x;

	memset(&x, 0, sizeof(x));
	x.identity = id;
	x.result = r;
	x.domain = domain;
	x.sender = sender;
	x.reason = reason;
	return (x);
}

/*
 * structure - the method=result words of each resinfo, as a naive reader
 * sees them (split on every ';', first white-space word), comma-joined;
 * and check what must hold of any value we render.
 */
static void
structure(const char *v, char *out, size_t size)
{
	const char *p = v, *semi, *w;
	size_t	o = 0, wl, line = 0, nres = 0;
	int	k;

	out[0] = '\0';
	for (p = v; *p; p++) {
		ck_assert_msg((unsigned char) *p < 0x80 && *p != '\0',
			      "non-ASCII byte in \"%s\"", v);
		if (*p == '\r')
			ck_assert_msg(p[1] == '\n' && p[2] == '\t',
				      "CR not in a fold in \"%s\"", v);
		else if (*p == '\n')
			ck_assert_msg(p > v && p[-1] == '\r',
				      "bare LF in \"%s\"", v);
		line = *p == '\n' ? 0 : line + 1;
		ck_assert_msg(line <= 998, "line over 998 in \"%s\"", v);
	}
	ck_assert_msg(strlen(v) <= MA_LIMIT_AUTHRES_BYTES, "too long");
	p = v;
	while ((semi = strchr(p, ';')) != NULL) {
		w = semi + 1;
		w += strspn(w, " \t\r\n");
		wl = strcspn(w, " \t\r\n;");
		k = snprintf(out + o, size - o, "%s%.*s", nres ? "," : "",
			     (int) wl, w);
		if (k > 0 && (size_t) k < size - o)
			o += (size_t) k;
		nres++;
		p = semi + 1;
	}
}

struct render_case {
	const char *name;
	struct ma_dkim_sig dkim[3];
	size_t	n_dkim;
	int	has_mf, has_helo, has_dmarc;
	struct ma_spf_outcome mf, helo;
	struct ma_dmarc_outcome dmarc;
	const char *want;		/* exact value, or NULL */
	const char *want_struct;	/* method=result list */
	const char *want_sub;		/* a substring that must appear */
	const char *want_absent;	/* one that must not */
};

static const struct ma_dmarc_record rec_reject = {.p = MA_DMARC_P_REJECT};
static const struct ma_dmarc_record rec_none = {.p = MA_DMARC_P_NONE};

static char long_value[10 * 1024];

static struct render_case render_cases[16];
static size_t n_render_cases;

/* build_cases - the table (needs run-time struct values) */
static void
build_cases(void)
{
	struct render_case *c;

	n_render_cases = 0;
	memset(render_cases, 0, sizeof(render_cases));
	memset(long_value, 'a', sizeof(long_value) - 1);
	long_value[sizeof(long_value) - 1] = '\0';

	c = &render_cases[n_render_cases++];
	c->name = "typical";
	c->dkim[0] = sig(MA_DKIM_PASS, "example.com", "sel",
			 "AbCdEfGhIjKlMnOp", "ok");
	c->dkim[0].key_bits = 2048;
	c->n_dkim = 1;
	c->has_mf = c->has_helo = c->has_dmarc = 1;
	c->mf = spf(MA_SPF_MAILFROM, MA_SPF_PASS, "example.com",
		    "sender@example.com", "ok");
	c->helo = spf(MA_SPF_HELO, MA_SPF_NONE, "mail.example.com",
		      "postmaster@mail.example.com", "no SPF record");
	c->dmarc.result = MA_DMARC_PASS;
	c->dmarc.from_domain = "example.com";
	c->dmarc.policy_domain = "example.com";
	c->dmarc.policy = MA_DMARC_P_REJECT;
	c->dmarc.disposition = MA_DMARC_P_NONE;
	c->dmarc.record = &rec_reject;
	c->want = ID ";\r\n"
	    "\tdkim=pass (2048-bit key) header.d=example.com header.s=sel\r\n"
	    "\theader.a=rsa-sha256 header.b=AbCdEfGh;\r\n"
	    "\tspf=pass smtp.mailfrom=sender@example.com;\r\n"
	    "\tspf=none reason=\"no SPF record\" smtp.helo=mail.example.com;\r\n"
	    "\tdmarc=pass (p=reject dis=none) header.from=example.com\r\n"
	    "\tpolicy.dmarc=reject polrec.p=reject";
	c->want_struct = "dkim=pass,spf=pass,spf=none,dmarc=pass";

	c = &render_cases[n_render_cases++];
	c->name = "unsigned, nothing else";
	c->want = ID ";\r\n\tdkim=none";
	c->want_struct = "dkim=none";

	c = &render_cases[n_render_cases++];
	c->name = "failures with reasons, policy found higher up";
	c->dkim[0] = sig(MA_DKIM_FAIL, "sub.example.com", "s1", "xyz",
			 "body hash mismatch");
	c->n_dkim = 1;
	c->has_mf = c->has_dmarc = 1;
	c->mf = spf(MA_SPF_MAILFROM, MA_SPF_SOFTFAIL, "example.org",
		    "bounce@example.org", "not permitted");
	c->dmarc.result = MA_DMARC_FAIL;
	c->dmarc.from_domain = "sub.example.com";
	c->dmarc.policy_domain = "example.com";
	c->dmarc.policy = MA_DMARC_P_QUARANTINE;
	c->dmarc.disposition = MA_DMARC_P_NONE;
	c->dmarc.testing = 1;
	c->dmarc.record = &rec_none;
	c->dmarc.reason = "no aligned identifier";
	c->want = ID ";\r\n"
	    "\tdkim=fail reason=\"body hash mismatch\" header.d=sub.example.com\r\n"
	    "\theader.s=s1 header.a=rsa-sha256 header.b=xyz;\r\n"
	    "\tspf=softfail reason=\"not permitted\" "
	    "smtp.mailfrom=bounce@example.org;\r\n"
	    "\tdmarc=fail (p=quarantine dis=none t=y) "
	    "reason=\"no aligned identifier\"\r\n"
	    "\theader.from=sub.example.com policy.dmarc=none polrec.p=none\r\n"
	    "\tpolrec.domain=example.com";
	c->want_struct = "dkim=fail,spf=softfail,dmarc=fail";

	c = &render_cases[n_render_cases++];
	c->name = "selector injection";
	c->dkim[0] = sig(MA_DKIM_PASS, "evil.example",
			 "sel; dkim=pass header.d=paypal.com", "AAAAAAAAAA",
			 "ok");
	c->n_dkim = 1;
	c->want_struct = "dkim=pass";
	c->want_sub = "header.s=\"sel??dkim?pass?header.d?paypal.com\"";
	c->want_absent = "header.d=paypal";

	c = &render_cases[n_render_cases++];
	c->name = "CRLF header injection in domain";
	c->dkim[0] = sig(MA_DKIM_PERMERROR, "example.com\r\nX-Evil: 1",
			 "s", NULL, "bad d=\r\nX-Evil: 2");
	c->n_dkim = 1;
	c->want_struct = "dkim=permerror";
	c->want_sub = "reason=\"bad d???X-Evil: 2\"\r\n"
	    "\theader.d=\"example.com??X-Evil:?1\" header.s=s";
	c->want_absent = "\nX-Evil";

	c = &render_cases[n_render_cases++];
	c->name = "comment and quote injection";
	c->has_mf = 1;
	c->mf = spf(MA_SPF_MAILFROM, MA_SPF_FAIL, "e.example",
		    "a\"(x)\\\"@e.example", "r\"); spf=pass");
	c->want_struct = "dkim=none,spf=fail";
	c->want_sub = "reason=\"r?]? spf?pass\" "
	    "smtp.mailfrom=\"a??x???@e.example\"";
	c->want_absent = "spf=pass";

	c = &render_cases[n_render_cases++];
	c->name = "non-ASCII";
	c->has_mf = 1;
	c->mf = spf(MA_SPF_MAILFROM, MA_SPF_PASS, "e.example",
		    "j\xc3\xb6rg@e.example", "ok");
	c->want_struct = "dkim=none,spf=pass";
	c->want_sub = "smtp.mailfrom=\"j??rg@e.example\"";

	c = &render_cases[n_render_cases++];
	c->name = "10 KB values";
	c->dkim[0] = sig(MA_DKIM_FAIL, long_value, long_value, long_value,
			 long_value);
	c->n_dkim = 1;
	c->want_struct = "dkim=fail";

	c = &render_cases[n_render_cases++];
	c->name = "header.b disambiguation";
	c->dkim[0] = sig(MA_DKIM_PASS, "example.com", "a",
			 "abcdefghijkl1xxxx", "ok");
	c->dkim[1] = sig(MA_DKIM_FAIL, "Example.COM", "b",
			 "abcdefghijkl2yyyy", "bad");
	c->dkim[2] = sig(MA_DKIM_PASS, "other.example", "c",
			 "abcdefghijkl3zzzz", "ok");
	c->n_dkim = 3;
	c->want_struct = "dkim=pass,dkim=fail,dkim=pass";
	c->want = ID ";\r\n"
	    "\tdkim=pass header.d=example.com header.s=a header.a=rsa-sha256\r\n"
	    "\theader.b=abcdefghijkl1;\r\n"
	    "\tdkim=fail reason=\"bad\" header.d=Example.COM header.s=b\r\n"
	    "\theader.a=rsa-sha256 header.b=abcdefghijkl2;\r\n"
	    "\tdkim=pass header.d=other.example header.s=c header.a=rsa-sha256\r\n"
	    "\theader.b=abcdefgh";

	c = &render_cases[n_render_cases++];
	c->name = "header.b with tspecials, helo literal, i=";
	c->dkim[0] = sig(MA_DKIM_PASS, "example.com", "s", "ab/+cdefgh",
			 "ok");
	c->dkim[0].identity = "@example.com";
	c->n_dkim = 1;
	c->has_helo = 1;
	c->helo = spf(MA_SPF_HELO, MA_SPF_NONE, "[192.0.2.1]", "", "literal");
	c->want_struct = "dkim=pass,spf=none";
	c->want_sub = "header.i=@example.com header.s=s\r\n"
	    "\theader.a=rsa-sha256 header.b=\"ab/+cdef\";\r\n"
	    "\tspf=none reason=\"literal\" smtp.helo=\"[192.0.2.1]\"";
}

START_TEST(test_render)
{
	const struct render_case *c = &render_cases[_i];
	struct ma_arena *a = ma_arena_new();
	struct ma_authres_input in;
	const char *v = NULL;
	char	st_buf[512];
	enum ma_status st;

	memset(&in, 0, sizeof(in));
	in.authserv_id = ID;
	in.dkim = c->dkim;
	in.n_dkim = c->n_dkim;
	in.spf_mailfrom = c->has_mf ? &c->mf : NULL;
	in.spf_helo = c->has_helo ? &c->helo : NULL;
	in.dmarc = c->has_dmarc ? &c->dmarc : NULL;
	st = ma_authres_render(a, &in, &v);
	ck_assert_msg(st == MA_OK, "%s: got %s, want MA_OK", c->name,
		      ma_status_str(st));
	if (c->want != NULL)
		ck_assert_msg(strcmp(v, c->want) == 0,
			      "%s:\ngot  \"%s\"\nwant \"%s\"", c->name, v,
			      c->want);
	structure(v, st_buf, sizeof(st_buf));
	ck_assert_msg(strcmp(st_buf, c->want_struct) == 0,
		      "%s: got resinfos \"%s\", want \"%s\" in \"%s\"", c->name,
		      st_buf, c->want_struct, v);
	if (c->want_sub != NULL)
		ck_assert_msg(strstr(v, c->want_sub) != NULL,
			      "%s: got \"%s\", want it to hold \"%s\"", c->name,
			      v, c->want_sub);
	if (c->want_absent != NULL)
		ck_assert_msg(strstr(v, c->want_absent) == NULL,
			      "%s: got \"%s\", want it without \"%s\"", c->name,
			      v, c->want_absent);
	ma_arena_free(&a);
}
END_TEST

START_TEST(test_render_caps)
{
	struct ma_arena *a = ma_arena_new();
	struct ma_authres_input in;
	struct ma_dkim_sig s;
	const char *v = NULL, *p, *q;
	char	want[MA_LIMIT_AR_VALUE_CHARS + 16];
	enum ma_status st;

	build_cases();			/* long_value */
	s = sig(MA_DKIM_PASS, "example.com", long_value, long_value, "ok");
	memset(&in, 0, sizeof(in));
	in.authserv_id = ID;
	in.dkim = &s;
	in.n_dkim = 1;
	st = ma_authres_render(a, &in, &v);
	ck_assert_msg(st == MA_OK, "got %s", ma_status_str(st));
	/* header.s: cut to the cap with "..." inside quotes */
	p = strstr(v, "header.s=\"");
	ck_assert_msg(p != NULL, "no header.s in \"%s\"", v);
	p += strlen("header.s=\"");
	q = strchr(p, '"');
	ck_assert_msg(q != NULL && (size_t) (q - p) == MA_LIMIT_AR_VALUE_CHARS,
		      "header.s: got %zu chars, want %d",
		      q ? (size_t) (q - p) : 0, MA_LIMIT_AR_VALUE_CHARS);
	ck_assert_msg(memcmp(q - 3, "...", 3) == 0, "no ... mark");
	/* header.b: a bare prefix of 8 */
	memset(want, 0, sizeof(want));
	snprintf(want, sizeof(want), "header.b=%.8s", long_value);
	ck_assert_msg(strstr(v, want) != NULL && v[strlen(v) - 9] == '=',
		      "got \"%s\", want it to end with %s", v, want);
	ma_arena_free(&a);
}
END_TEST

START_TEST(test_render_errors)
{
	struct ma_arena *a = ma_arena_new();
	struct ma_authres_input in;
	struct ma_dkim_sig many[200];
	struct ma_spf_outcome o;
	const char *v = NULL;
	enum ma_status st;
	size_t	i;

	memset(&in, 0, sizeof(in));
	st = ma_authres_render(a, &in, &v);
	ck_assert_msg(st == MA_ERR_SYNTAX && v == NULL,
		      "no id: got %s, want MA_ERR_SYNTAX", ma_status_str(st));
	in.authserv_id = "mx.example.net; dkim=pass";
	st = ma_authres_render(a, &in, &v);
	ck_assert_msg(st == MA_ERR_SYNTAX, "id with ';': got %s",
		      ma_status_str(st));
	in.authserv_id = "";
	st = ma_authres_render(a, &in, &v);
	ck_assert_msg(st == MA_ERR_SYNTAX, "empty id: got %s",
		      ma_status_str(st));

	in.authserv_id = ID;
	o = spf(MA_SPF_MAILFROM, (enum ma_spf_result) 99, "", "", "");
	in.spf_mailfrom = &o;
	st = ma_authres_render(a, &in, &v);
	ck_assert_msg(st == MA_ERR_INTERNAL, "bad enum: got %s",
		      ma_status_str(st));
	in.spf_mailfrom = NULL;

	build_cases();
	for (i = 0; i < 200; i++)
		many[i] = sig(MA_DKIM_FAIL, long_value, long_value, long_value,
			      long_value);
	in.dkim = many;
	in.n_dkim = 200;
	st = ma_authres_render(a, &in, &v);
	ck_assert_msg(st == MA_ERR_LIMIT, "too big: got %s, want MA_ERR_LIMIT",
		      ma_status_str(st));
	ma_arena_free(&a);
}
END_TEST

struct ours_case {
	const char *name;
	const char *in;
	size_t	len;
	int	want;
};

static const struct ours_case ours_cases[] = {
	{"plain", L(ID "; spf=pass smtp.mailfrom=a@b.example"), 1},
	{"upper case", L("MX.Example.NET; dkim=pass"), 1},
	{"leading space", L("  " ID ";"), 1},
	{"folded", L("\r\n\t" ID "\r\n ; dkim=pass"), 1},
	{"leading comment", L("(x) " ID "; dkim=pass"), 1},
	{"nested comment", L("(a (b) \\) c) " ID ";"), 1},
	{"deep comment", L("((((((((((((((((((((x)))))))))))))))))))) " ID ";"),
	 1},
	{"quoted", L("\"" ID "\"; dkim=pass"), 1},
	{"quoted escapes", L("\"mx\\.example\\.net\";"), 1},
	{"quoted padded", L("\" " ID " \";"), 1},
	{"version", L(ID " 1; dkim=pass"), 1},
	{"comment after", L(ID "(x); dkim=pass"), 1},
	{"no semicolon", L(ID), 1},
	{"none", L(ID "; none"), 1},
	{"NUL after id", L(ID "\0; dkim=pass"), 1},
	{"tspecial after id", L(ID "/x; dkim=pass"), 1},
	{"other", L("mx.other.example; dkim=pass"), 0},
	{"suffix", L("mx.example.net.evil; dkim=pass"), 0},
	{"prefix", L("evil.mx.example.net; dkim=pass"), 0},
	{"longer", L("mx.example.network; dkim=pass"), 0},
	{"shorter", L("mx.example.ne; dkim=pass"), 0},
	{"in comment only", L("(" ID ") other.example; dkim=pass"), 0},
	{"later in value", L("other.example; dkim=pass header.d=" ID), 0},
	{"empty", L(""), 0},
	{"blank", L(" \r\n\t"), 0},
	{"semicolon first", L("; " ID), 0},
	{"unclosed comment", L("(x " ID "; dkim=pass"), 0},
	{"NUL before id", L("\0" ID ";"), 0},
	{"NUL in comment", L("(\0) " ID ";"), 0},
	{"NUL inside id", L("mx.exa\0mple.net;"), 0},
	{"quoted other", L("\"mx.example.net.evil\";"), 0},
};

START_TEST(test_ours)
{
	const struct ours_case *c = &ours_cases[_i];
	char   *copy;
	int	got;

	copy = malloc(c->len ? c->len : 1);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, c->in, c->len);
	got = ma_authres_is_ours(copy, c->len, ID);
	ck_assert_msg(got == c->want, "%s: got %d, want %d", c->name, got,
		      c->want);
	free(copy);
}
END_TEST

START_TEST(test_ours_big)
{
	size_t	len = 10 * 1024;
	char   *big = malloc(len);

	ck_assert_ptr_nonnull(big);
	memset(big, '(', len);
	ck_assert_msg(ma_authres_is_ours(big, len, ID) == 0, "parens: got 1");
	memset(big, ' ', len);
	memcpy(big + len - strlen(ID), ID, strlen(ID));
	ck_assert_msg(ma_authres_is_ours(big, len, ID) == 1,
		      "10 KB of space then id: got 0");
	memset(big, 'a', len);
	ck_assert_msg(ma_authres_is_ours(big, len, ID) == 0,
		      "long token: got 1");
	big[0] = '"';
	ck_assert_msg(ma_authres_is_ours(big, len, ID) == 0,
		      "long quoted: got 1");
	ck_assert_msg(ma_authres_is_ours(ID, strlen(ID), NULL) == 0,
		      "NULL id: got 1");
	ck_assert_msg(ma_authres_is_ours(ID, strlen(ID), "") == 0,
		      "empty id: got 1");
	free(big);
}
END_TEST

START_TEST(test_roundtrip)
{
	struct ma_arena *a = ma_arena_new();
	struct ma_authres_input in;
	const char *v = NULL;

	memset(&in, 0, sizeof(in));
	in.authserv_id = ID;
	ck_assert(ma_authres_render(a, &in, &v) == MA_OK);
	ck_assert_msg(ma_authres_is_ours(v, strlen(v), ID) == 1,
		      "our own field \"%s\" not recognised", v);
	ma_arena_free(&a);
}
END_TEST

/* authres_suite - all cases */
static Suite *
authres_suite(void)
{
	Suite  *s = suite_create("authres");
	TCase  *tc = tcase_create("core");

	build_cases();
	tcase_add_loop_test(tc, test_render, 0, (int) n_render_cases);
	tcase_add_test(tc, test_render_caps);
	tcase_add_test(tc, test_render_errors);
	tcase_add_loop_test(tc, test_ours, 0,
			    sizeof(ours_cases) / sizeof(ours_cases[0]));
	tcase_add_test(tc, test_ours_big);
	tcase_add_test(tc, test_roundtrip);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner *sr = srunner_create(authres_suite());
	int	failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
