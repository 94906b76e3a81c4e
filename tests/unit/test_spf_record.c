/*
 * NAME
 *	test_spf_record - SPF record checker, macro expansion, evaluation
 * DESCRIPTION
 *	Table-driven: ma_spf_record_check() on valid records and every
 *	syntax error class (including the CVE-2023-42118 shapes: many
 *	macro variables, long macro strings), ma_spf_expand() on the
 *	RFC 7208 7.4 examples, and ma_spf_check() on an offline resolver
 *	for the behaviours we add to libspf2 (no free pass for 127/8,
 *	void-lookup limit, permerror for bad records).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailauth/arena.h>
#include <mailauth/buf.h>
#include <mailauth/dns.h>
#include <mailauth/spf.h>

#include "spf_int.h"

struct rec_case {
	const char *name;
	const char *rec;
	int	valid;
};

static const struct rec_case rec_cases[] = {
	{"minimal", "v=spf1", 1},
	{"all", "v=spf1 -all", 1},
	{"case", "V=SPF1 A MX -ALL", 1},
	{"spaces", "v=spf1  a   -all  ", 1},
	{"everything", "v=spf1 +a ~mx -ptr ?include:_spf.example.com "
	 "ip4:192.0.2.0/24 ip6:2001:db8::/32 exists:%{ir}.%{l1r+-}._spf.%{d} "
	 "a:mail.example.com/24//64 mx//64 redirect=_spf.example.org "
	 "exp=explain._spf.%{d} foo=bar", 1},
	{"unknown-mod", "v=spf1 default=+ -all", 1},
	{"toplabel-dash", "v=spf1 a:foo.xn--zz -all", 1},
	{"trailing-dot", "v=spf1 a:example.com. -all", 1},
	{"macro-end", "v=spf1 a:%{d} -all", 1},
	{"escapes", "v=spf1 exists:%%%_%-.example.com -all", 1},
	{"cidr0", "v=spf1 ip4:0.0.0.0/0 a/0 a//0", 1},
	/* errors */
	{"no-version", "spf1 -all", 0},
	{"version-glued", "v=spf1-all", 0},
	{"empty", "", 0},
	{"bad-qualifier", "v=spf1 !all", 0},
	{"unknown-mech", "v=spf1 foo -all", 0},
	{"all-arg", "v=spf1 all:foo", 0},
	{"all-dot", "v=spf1 all.", 0},
	{"all-cidr", "v=spf1 all/8", 0},
	{"include-none", "v=spf1 include", 0},
	{"include-empty", "v=spf1 include:", 0},
	{"include-cidr", "v=spf1 include:example.com/24", 0},
	{"exists-none", "v=spf1 exists", 0},
	{"ptr-cidr", "v=spf1 ptr/24", 0},
	{"a-empty", "v=spf1 a:", 0},
	{"a-numeric-top", "v=spf1 a:foo.123", 0},
	{"a-only-top", "v=spf1 a:com", 0},
	{"a-only-top-dot", "v=spf1 a:com.", 0},
	{"a-bad-top", "v=spf1 a:foo.-bar", 0},
	{"a-cidr33", "v=spf1 a/33", 0},
	{"a-cidr6-129", "v=spf1 a//129", 0},
	{"cidr-leading-0", "v=spf1 ip4:1.2.3.4/032", 0},
	{"ip4-none", "v=spf1 ip4", 0},
	{"ip4-short", "v=spf1 ip4:1.2.3", 0},
	{"ip4-port", "v=spf1 ip4:1.2.3.4:25", 0},
	{"ip4-octet", "v=spf1 ip4:1.2.3.256", 0},
	{"ip4-dual", "v=spf1 ip4:1.2.3.4/32//64", 0},
	{"ip6-bad", "v=spf1 ip6:1:2::3::4", 0},
	{"ip6-cidr", "v=spf1 ip6:::1/129", 0},
	{"mod-prefix", "v=spf1 -redirect=example.com", 0},
	{"mod-empty-name", "v=spf1 =foo", 0},
	{"mod-bad-char", "v=spf1 a$b=c", 0},
	{"redirect-colon", "v=spf1 redirect:example.com", 0},
	{"redirect-empty", "v=spf1 redirect=", 0},
	{"redirect-twice", "v=spf1 redirect=a.example redirect=b.example", 0},
	{"exp-twice", "v=spf1 exp=a.example exp=b.example", 0},
	{"exp-empty", "v=spf1 exp=", 0},
	{"control", "v=spf1 a:foo.example\tcom", 0},
	{"nul", "v=spf1 -all\0", 0},
	{"non-ascii", "v=spf1 a:\xc3\xa9.example -all", 0},
	{"macro-bad-letter", "v=spf1 a:%{x}.example", 0},
	{"macro-exp-only", "v=spf1 a:%{c}.example", 0},
	{"macro-exp-only-r", "v=spf1 exists:%{r}.example", 0},
	{"macro-exp-only-t", "v=spf1 exists:%{t}.example", 0},
	{"macro-zero", "v=spf1 exists:%{d0}.example", 0},
	{"macro-unterminated", "v=spf1 exists:%{d", 0},
	{"macro-bad-delim", "v=spf1 exists:%{d*}.example", 0},
	{"macro-bare-pct", "v=spf1 exists:%d.example", 0},
	{"macro-trailing-pct", "v=spf1 exists:foo.example%", 0},
	{"mod-bad-macro", "v=spf1 foo=%abc", 0},
	/* CVE-2023-42118 shapes are syntax-valid but never reach libspf2 */
	{"cve-many-vars", NULL, 1},
};

/* many_vars - "v=spf1 exists:" + 120 x "%{d}" + ".x.example" */
static char *
many_vars(void)
{
	static char buf[1024];
	size_t	pos;
	int	i;

	pos = (size_t) snprintf(buf, sizeof(buf), "v=spf1 exists:");
	for (i = 0; i < 120; i++)
		pos += (size_t) snprintf(buf + pos, sizeof(buf) - pos, "%%{d}");
	(void) snprintf(buf + pos, sizeof(buf) - pos, "x.example");
	return (buf);
}

START_TEST(test_record_check)
{
	const struct rec_case *c = &rec_cases[_i];
	const char *rec = c->rec ? c->rec : many_vars();
	size_t	len = strcmp(c->name, "nul") == 0 ? strlen(rec) + 1 : strlen(rec);
	char	err[128] = "";
	enum ma_status st = ma_spf_record_check(rec, len, err, sizeof(err));

	ck_assert_msg((st == MA_OK) == c->valid, "%s: got %s (%s), want %s",
		      c->name, ma_status_str(st), err,
		      c->valid ? "valid" : "syntax error");
}
END_TEST

START_TEST(test_record_size)
{
	char   *big = malloc(MA_LIMIT_SPF_RECORD_BYTES + 16);
	char	err[128];
	size_t	i;

	ck_assert_ptr_nonnull(big);
	memcpy(big, "v=spf1", 6);
	for (i = 6; i < MA_LIMIT_SPF_RECORD_BYTES + 10; i += 2)
		memcpy(big + i, " a", 2);
	ck_assert_int_ne(ma_spf_record_check(big, i, err, sizeof(err)), MA_OK);
	/* too many terms under the byte limit */
	ck_assert_int_ne(ma_spf_record_check(big, 6 + 2 * 200, err,
					     sizeof(err)), MA_OK);
	ck_assert_int_eq(ma_spf_record_check(big, 6 + 2 * 100, err,
					     sizeof(err)), MA_OK);
	free(big);
}
END_TEST

struct exp_case {
	const char *in;
	int	is_exp;
	const char *want;
};

/* RFC 7208 7.4, <sender> strong-bad@email.example.com, 192.0.2.3 */
static const struct exp_case exp_cases[] = {
	{"%{s}", 0, "strong-bad@email.example.com"},
	{"%{o}", 0, "email.example.com"},
	{"%{d}", 0, "email.example.com"},
	{"%{d4}", 0, "email.example.com"},
	{"%{d3}", 0, "email.example.com"},
	{"%{d2}", 0, "example.com"},
	{"%{d1}", 0, "com"},
	{"%{dr}", 0, "com.example.email"},
	{"%{d2r}", 0, "example.email"},
	{"%{l}", 0, "strong-bad"},
	{"%{l-}", 0, "strong.bad"},
	{"%{lr}", 0, "strong-bad"},
	{"%{lr-}", 0, "bad.strong"},
	{"%{l1r-}", 0, "strong"},
	{"%{ir}.%{v}._spf.%{d2}", 0, "3.2.0.192.in-addr._spf.example.com"},
	{"%{lr-}.lp._spf.%{d2}", 0, "bad.strong.lp._spf.example.com"},
	{"%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", 0,
	 "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
	{"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", 0,
	 "3.2.0.192.in-addr.strong.lp._spf.example.com"},
	{"%{d2}.trusted-domains.example.net", 0,
	 "example.com.trusted-domains.example.net"},
	{"%%%_%-", 1, "% %20"},
	{"%{L}", 1, "strong-bad"},
	{"%{S}", 1, "strong-bad%40email.example.com"},
	{"%{c} %{r} %{t}", 1, "192.0.2.3 mx.example.org 1234"},
	{"%{h}", 0, "helo.example.net"},
	{"%{p}", 0, "unknown"},
};

/* ctx_example - the RFC 7208 7.4 context */
static void
ctx_example(struct ma_spf_macro_ctx *c)
{
	memset(c, 0, sizeof(*c));
	c->sender = "strong-bad@email.example.com";
	c->local = "strong-bad";
	c->local_len = 10;
	c->sender_domain = "email.example.com";
	c->domain = "email.example.com";
	(void) ma_ip_parse("192.0.2.3", &c->ip);
	c->helo = "helo.example.net";
	c->receiver = "mx.example.org";
	c->now = 1234;
}

START_TEST(test_expand)
{
	const struct exp_case *c = &exp_cases[_i];
	struct ma_spf_macro_ctx ctx;
	struct ma_arena *a = ma_arena_new();
	struct ma_buf b;
	char	err[128] = "";
	enum ma_status st;

	ctx_example(&ctx);
	ma_buf_init(&b, a, 4096);
	st = ma_spf_expand(&ctx, c->in, strlen(c->in), c->is_exp, &b, err,
			   sizeof(err));
	ck_assert_msg(st == MA_OK, "%s: got %s (%s), want OK", c->in,
		      ma_status_str(st), err);
	ck_assert_msg(b.data != NULL && strcmp(b.data, c->want) == 0,
		      "%s: got \"%s\", want \"%s\"", c->in,
		      b.data ? b.data : "(null)", c->want);
	ma_arena_free(&a);
}
END_TEST

START_TEST(test_expand_ip6_and_truncation)
{
	struct ma_spf_macro_ctx ctx;
	struct ma_arena *a = ma_arena_new();
	struct ma_buf b;
	char	err[128], spec[600];
	size_t	i, pos = 0;

	ctx_example(&ctx);
	(void) ma_ip_parse("2001:db8::cb01", &ctx.ip);
	ma_buf_init(&b, a, 4096);
	ck_assert_int_eq(ma_spf_expand(&ctx, "%{ir}.%{v}._spf.%{d2}", 21, 0,
				       &b, err, sizeof(err)), MA_OK);
	ck_assert_str_eq(b.data, "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
			 "0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
	/* 7.3: longer than 253 -> labels dropped from the left */
	for (i = 0; i < 30; i++)
		pos += (size_t) snprintf(spec + pos, sizeof(spec) - pos,
					 "label%02zu.", i);
	pos += (size_t) snprintf(spec + pos, sizeof(spec) - pos, "%%{d}");
	ma_buf_init(&b, a, 4096);
	ck_assert_int_eq(ma_spf_expand(&ctx, spec, pos, 0, &b, err,
				       sizeof(err)), MA_OK);
	ck_assert_msg(b.len <= 253, "got %zu bytes, want <= 253", b.len);
	ck_assert_msg(strncmp(b.data, "label", 5) == 0, "got \"%s\"", b.data);
	ck_assert_msg(strcmp(b.data + b.len - 17, "email.example.com") == 0,
		      "got \"%s\"", b.data);
	ma_arena_free(&a);
}
END_TEST

/* eval_one - ma_spf_check on an offline zone */
static enum ma_spf_result
eval_one(const char *const *zone, const char *ip, const char *from,
	 struct ma_spf_outcome *out, struct ma_arena *a)
{
	struct ma_dns_options opt;
	struct ma_dns *dns = NULL;
	struct ma_dns_budget budget;
	struct ma_spf_request req;
	char	err[256];

	memset(&opt, 0, sizeof(opt));
	opt.offline = 1;
	ck_assert_int_eq(ma_dns_new(&opt, &dns, err, sizeof(err)), MA_OK);
	for (; *zone; zone++)
		ck_assert_msg(ma_dns_add_record(dns, *zone, err, sizeof(err))
			      == MA_OK, "%s: %s", *zone, err);
	memset(&budget, 0, sizeof(budget));
	memset(&req, 0, sizeof(req));
	ck_assert_int_eq(ma_ip_parse(ip, &req.client), MA_OK);
	req.helo = "helo.example.net";
	req.mail_from = from;
	req.now = 1;
	ck_assert_int_eq(ma_spf_check(dns, &budget, a, MA_SPF_MAILFROM, &req,
				      out), MA_OK);
	ma_dns_free(&dns);
	return (out->result);
}

struct eval_case {
	const char *name;
	const char *ip;
	const char *zone[6];
	enum ma_spf_result want;
};

static const struct eval_case eval_cases[] = {
	{"loopback-no-free-pass", "127.0.0.1",
	 {"example.com. 300 IN TXT \"v=spf1 -all\"", NULL}, MA_SPF_FAIL},
	{"loopback-neutral", "127.0.0.1",
	 {"example.com. 300 IN TXT \"v=spf1 ?all\"", NULL}, MA_SPF_NEUTRAL},
	{"ip4-pass", "192.0.2.1",
	 {"example.com. 300 IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"", NULL},
	 MA_SPF_PASS},
	{"ip4-slash0", "198.51.100.7",
	 {"example.com. 300 IN TXT \"v=spf1 ip4:0.0.0.0/0 -all\"", NULL},
	 MA_SPF_PASS},
	{"syntax-permerror", "192.0.2.1",
	 {"example.com. 300 IN TXT \"v=spf1 a:foo.123 -all\"", NULL},
	 MA_SPF_PERMERROR},
	{"cve-shape-permerror-free", "192.0.2.1",
	 {"example.com. 300 IN TXT \"v=spf1 -all exp=e.example.com\"",
	  "e.example.com. 300 IN TXT \"%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}"
	  "%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}"
	  "%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}"
	  "%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}"
	  "%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}"
	  "%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}"
	  "%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}"
	  "%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}"
	  "%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}xx\"",
	  NULL}, MA_SPF_FAIL},
	{"void-limit", "192.0.2.1",
	 {"example.com. 300 IN TXT \"v=spf1 a:n1.example.com "
	  "a:n2.example.com a:n3.example.com +all\"", NULL},
	 MA_SPF_PERMERROR},
	{"void-at-limit", "192.0.2.1",
	 {"example.com. 300 IN TXT \"v=spf1 a:n1.example.com "
	  "a:n2.example.com +all\"", NULL}, MA_SPF_PASS},
	{"no-record", "192.0.2.1",
	 {"example.com. 300 IN TXT \"hello\"", NULL}, MA_SPF_NONE},
};

START_TEST(test_eval)
{
	const struct eval_case *c = &eval_cases[_i];
	struct ma_arena *a = ma_arena_new();
	struct ma_spf_outcome out;
	enum ma_spf_result r;

	ma_spf_init();
	r = eval_one(c->zone, c->ip, "user@example.com", &out, a);
	ck_assert_msg(r == c->want, "%s: got %s (%s), want %s", c->name,
		      ma_spf_result_str(r), out.reason,
		      ma_spf_result_str(c->want));
	if (r == MA_SPF_FAIL)
		ck_assert_ptr_nonnull(out.explanation);
	ma_arena_free(&a);
}
END_TEST

START_TEST(test_identity)
{
	struct ma_arena *a = ma_arena_new();
	struct ma_spf_outcome out;
	struct ma_spf_request req;

	memset(&req, 0, sizeof(req));
	(void) ma_ip_parse("192.0.2.1", &req.client);
	req.mail_from = "";
	req.helo = "[192.0.2.1]";
	ck_assert_int_eq(ma_spf_check(NULL, NULL, a, MA_SPF_MAILFROM, &req,
				      &out), MA_OK);
	ck_assert_msg(out.result == MA_SPF_NONE, "got %s, want none",
		      ma_spf_result_str(out.result));
	ck_assert_str_eq(out.sender, "postmaster@[192.0.2.1]");
	req.helo = "nodot";
	ck_assert_int_eq(ma_spf_check(NULL, NULL, a, MA_SPF_HELO, &req, &out),
			 MA_OK);
	ck_assert_int_eq(out.result, MA_SPF_NONE);
	ck_assert_str_eq(ma_spf_result_str(MA_SPF_SOFTFAIL), "softfail");
	ma_arena_free(&a);
}
END_TEST

/* main - run the suite */
int
main(void)
{
	Suite  *s = suite_create("spf_record");
	TCase  *tc = tcase_create("all");
	SRunner *sr;
	int	failed;

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_record_check, 0,
			    (int) (sizeof(rec_cases) / sizeof(rec_cases[0])));
	tcase_add_test(tc, test_record_size);
	tcase_add_loop_test(tc, test_expand, 0,
			    (int) (sizeof(exp_cases) / sizeof(exp_cases[0])));
	tcase_add_test(tc, test_expand_ip6_and_truncation);
	tcase_add_loop_test(tc, test_eval, 0,
			    (int) (sizeof(eval_cases) / sizeof(eval_cases[0])));
	tcase_add_test(tc, test_identity);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed ? EXIT_FAILURE : EXIT_SUCCESS);
}
