/*
 * NAME
 *	test_rfc5322 - unit tests of From parsing, envelope paths, domains
 * DESCRIPTION
 *	Table-driven: each row is a name, an input (with an explicit length
 *	when it holds NUL bytes) and what we want. Hostile rows come from
 *	the ways attackers dress up From fields to mislead DMARC.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailauth/arena.h>
#include <mailauth/rfc5322.h>

#include "ma_limits.h"

#define L(s)	s, sizeof(s) - 1	/* literal with its exact length */

struct from_case {
	const char *name;
	const char *in;
	size_t	len;
	enum ma_status want;
	const char *domains;		/* comma-joined, when MA_OK */
};

static const struct from_case from_cases[] = {
	{"plain", L("user@example.com"), MA_OK, "example.com"},
	{"upper case", L("User@Example.COM"), MA_OK, "example.com"},
	{"trailing dot", L("user@example.com."), MA_OK, "example.com"},
	{"name-addr", L("Joe User <joe@example.com>"), MA_OK, "example.com"},
	{"no display name", L("<joe@example.com>"), MA_OK, "example.com"},
	{"quoted display name",
	 L("\"User, Joe\" <joe@example.com>"), MA_OK, "example.com"},
	{"quoted name escapes",
	 L("\"a \\\"b\\\" \\\\ c\" <joe@example.com>"), MA_OK, "example.com"},
	{"quoted local part", L("\"joe user\"@example.com"), MA_OK,
	 "example.com"},
	{"dotted local part", L("first.last@example.com"), MA_OK,
	 "example.com"},
	{"comments", L("(x) joe(y)@(z)example.com(w)"), MA_OK, "example.com"},
	{"nested comments", L("joe@example.com (a (b (c)) d)"), MA_OK,
	 "example.com"},
	{"folded", L("Joe\r\n\t<joe@\r\n example.com>\r\n"), MA_OK,
	 "example.com"},
	{"folded LF", L("Joe\n <joe@example.com>"), MA_OK, "example.com"},
	{"two mailboxes", L("a@one.example, B <b@Two.Example>"), MA_OK,
	 "one.example,two.example"},
	{"duplicates kept", L("a@x.example, b@x.example"), MA_OK,
	 "x.example,x.example"},
	{"group", L("team: a@one.example, b@two.example;"), MA_OK,
	 "one.example,two.example"},
	{"group and mailbox", L("g: a@one.example; , c@two.example"), MA_OK,
	 "one.example,two.example"},
	{"route", L("<@relay.example,@r2.example:joe@example.com>"), MA_OK,
	 "example.com"},
	{"obs phrase", L("Joe Q. Public <joe@example.com>"), MA_OK,
	 "example.com"},
	{"obs domain spaces", L("joe@example . com"), MA_OK, "example.com"},
	{"trailing comma", L("<a@good.example>,"), MA_OK, "good.example"},
	{"leading commas", L(", ,a@good.example"), MA_OK, "good.example"},
	{"utf8 display name", L("J\xc3\xb6rg <j@example.com>"), MA_OK,
	 "example.com"},
	{"underscore domain", L("a@mail_1.example.com"), MA_OK,
	 "mail_1.example.com"},
	{"single label", L("root@localhost"), MA_OK, "localhost"},

	/* hostile: the domain of the real addr-spec, or nothing */
	{"quoted address as name",
	 L("\"a@good.com\" <x@evil.com>"), MA_OK, "evil.com"},
	{"comment with at", L("(a@good.com) x@evil.com"), MA_OK, "evil.com"},
	{"comment in angle", L("<x@evil.com (a@good.com)>"), MA_OK, "evil.com"},
	{"address as name", L("a@evil.com <b@good.com>"), MA_ERR_SYNTAX, NULL},
	{"two angle addrs", L("<a@good.com> <b@evil.com>"), MA_ERR_SYNTAX,
	 NULL},
	{"nested angles", L("<<a@good.com>>"), MA_ERR_SYNTAX, NULL},
	{"angle inside angle", L("<a@good.com <b@evil.com>>"), MA_ERR_SYNTAX,
	 NULL},
	{"unbalanced quote", L("\"a@good.com <x@evil.com>"), MA_ERR_SYNTAX,
	 NULL},
	{"unbalanced quote 2", L("\"x\" \"a@good.com <x@evil.com>"),
	 MA_ERR_SYNTAX, NULL},
	{"unbalanced comment", L("a@good.com (x"), MA_ERR_SYNTAX, NULL},
	{"stray close paren", L("a@good.com )"), MA_ERR_SYNTAX, NULL},
	{"comment then address", L("a@b.com (comment) c@d.com"),
	 MA_ERR_SYNTAX, NULL},
	{"two at signs", L("a@evil.com@good.com"), MA_ERR_SYNTAX, NULL},
	{"words without dot", L("John Doe@good.com"), MA_ERR_SYNTAX, NULL},
	{"unclosed angle", L("<a@good.com"), MA_ERR_SYNTAX, NULL},
	{"stray close angle", L("a@good.com>"), MA_ERR_SYNTAX, NULL},
	{"NUL in domain", L("a@good.com\0.evil.com"), MA_ERR_SYNTAX, NULL},
	{"NUL in name", L("\"a\0b\" <a@good.com>"), MA_ERR_SYNTAX, NULL},
	{"NUL in comment", L("(\0) a@good.com"), MA_ERR_SYNTAX, NULL},
	{"bad one spoils all", L("a@evil.com, b@[10.0.0.1]"), MA_ERR_SYNTAX,
	 NULL},
	{"bad one first", L("b@good..com, a@evil.com"), MA_ERR_SYNTAX, NULL},
	{"control char", L("a@good.com\x01"), MA_ERR_SYNTAX, NULL},
	{"backslash outside", L("a\\@good.com"), MA_ERR_SYNTAX, NULL},
	{"deep comments",
	 L("((((((((((((((((((x)))))))))))))))))) a@good.com"),
	 MA_ERR_SYNTAX, NULL},
	{"nested group", L("g: h: a@b.example;;"), MA_ERR_SYNTAX, NULL},
	{"unterminated group", L("g: a@b.example"), MA_ERR_SYNTAX, NULL},
	{"group without name", L(": a@b.example;"), MA_ERR_SYNTAX, NULL},
	{"utf8 domain", L("a@b\xc3\xa4r.example"), MA_ERR_SYNTAX, NULL},
	{"ipv4 as domain", L("a@192.0.2.1"), MA_ERR_SYNTAX, NULL},

	/* nothing usable */
	{"empty", L(""), MA_ERR_SYNTAX, NULL},
	{"blank", L(" \r\n\t"), MA_ERR_SYNTAX, NULL},
	{"commas only", L(",,"), MA_ERR_SYNTAX, NULL},
	{"garbage", L("!!!"), MA_ERR_SYNTAX, NULL},
	{"undisclosed", L("undisclosed-recipients:;"), MA_ERR_SYNTAX, NULL},
	{"missing at", L("Joe <joe>"), MA_ERR_SYNTAX, NULL},
	{"missing at bare", L("joe"), MA_ERR_SYNTAX, NULL},
	{"empty angle", L("Joe <>"), MA_ERR_SYNTAX, NULL},
	{"domain literal", L("a@[192.0.2.1]"), MA_ERR_SYNTAX, NULL},
	{"leading hyphen", L("a@-x.example"), MA_ERR_SYNTAX, NULL},
	{"double trailing dot", L("a@example.com.."), MA_ERR_SYNTAX, NULL},
	{"empty local", L("@example.com"), MA_ERR_SYNTAX, NULL},
	{"empty domain", L("a@"), MA_ERR_SYNTAX, NULL},
	{"bad chars in domain", L("a@ex!ample.com"), MA_ERR_SYNTAX, NULL},
};

/* join - the result list as one comma-joined string (static buffer) */
static const char *
join(const char **d, size_t n, char *buf, size_t size)
{
	size_t	i, o = 0;
	int	k;

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		k = snprintf(buf + o, size - o, "%s%s", i ? "," : "", d[i]);
		if (k < 0 || (size_t) k >= size - o)
			break;
		o += (size_t) k;
	}
	return (buf);
}

START_TEST(test_from)
{
	const struct from_case *c = &from_cases[_i];
	struct ma_arena *a = ma_arena_new();
	const char **d = NULL;
	size_t	n = 0;
	char	buf[1024];
	char   *copy;
	enum ma_status st;

	ck_assert_ptr_nonnull(a);
	/* exact-length heap copy, so ASan sees any read past len */
	copy = malloc(c->len ? c->len : 1);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, c->in, c->len);
	st = ma_rfc5322_from_domains(copy, c->len, a, &d, &n);
	ck_assert_msg(st == c->want, "%s: got status %s, want %s", c->name,
		      ma_status_str(st), ma_status_str(c->want));
	if (c->want == MA_OK) {
		join(d, n, buf, sizeof(buf));
		ck_assert_msg(strcmp(buf, c->domains) == 0,
			      "%s: got \"%s\", want \"%s\"", c->name, buf,
			      c->domains);
	}
	free(copy);
	ma_arena_free(&a);
}
END_TEST

START_TEST(test_from_limit)
{
	struct ma_arena *a = ma_arena_new();
	char	buf[4096];
	size_t	o = 0, n = 0, i;
	const char **d = NULL;
	enum ma_status st;

	for (i = 0; i < MA_LIMIT_FROM_ADDRESSES; i++)
		o += (size_t) snprintf(buf + o, sizeof(buf) - o,
				       "%sa%zu@x.example", i ? ", " : "", i);
	st = ma_rfc5322_from_domains(buf, o, a, &d, &n);
	ck_assert_msg(st == MA_OK && n == MA_LIMIT_FROM_ADDRESSES,
		      "at limit: got %s n=%zu, want MA_OK n=%d",
		      ma_status_str(st), n, MA_LIMIT_FROM_ADDRESSES);
	o += (size_t) snprintf(buf + o, sizeof(buf) - o, ", one@more.example");
	st = ma_rfc5322_from_domains(buf, o, a, &d, &n);
	ck_assert_msg(st == MA_ERR_LIMIT, "past limit: got %s, want %s",
		      ma_status_str(st), ma_status_str(MA_ERR_LIMIT));
	ma_arena_free(&a);
}
END_TEST

START_TEST(test_from_big)
{
	struct ma_arena *a = ma_arena_new();
	size_t	len = 64 * 1024, n = 0;
	char   *big = malloc(len);
	const char **d = NULL;
	enum ma_status st;

	ck_assert_ptr_nonnull(big);
	/* huge display name, then a real address */
	memset(big, 'x', len);
	memcpy(big + len - 20, " <a@big.example>    ", 20);
	st = ma_rfc5322_from_domains(big, len, a, &d, &n);
	ck_assert_msg(st == MA_OK && n == 1 && strcmp(d[0], "big.example") == 0,
		      "big name: got %s n=%zu", ma_status_str(st), n);
	/* a 64 KB domain */
	memset(big, 'y', len);
	memcpy(big, "a@", 2);
	st = ma_rfc5322_from_domains(big, len, a, &d, &n);
	ck_assert_msg(st == MA_ERR_SYNTAX, "big domain: got %s, want %s",
		      ma_status_str(st), ma_status_str(MA_ERR_SYNTAX));
	/* a 64 KB comment nest opening */
	memset(big, '(', len);
	st = ma_rfc5322_from_domains(big, len, a, &d, &n);
	ck_assert_msg(st == MA_ERR_SYNTAX, "parens: got %s", ma_status_str(st));
	/* 64 KB of quote characters */
	memset(big, '"', len);
	st = ma_rfc5322_from_domains(big, len, a, &d, &n);
	ck_assert_msg(st == MA_ERR_SYNTAX, "quotes: got %s", ma_status_str(st));
	free(big);
	ma_arena_free(&a);
}
END_TEST

struct path_case {
	const char *name;
	const char *in;
	size_t	len;
	enum ma_status want;
	const char *addr;
	const char *domain;
};

static const struct path_case path_cases[] = {
	{"angle", L("<user@Example.COM>"), MA_OK, "user@Example.COM",
	 "example.com"},
	{"bare", L("user@example.com"), MA_OK, "user@example.com",
	 "example.com"},
	{"null", L("<>"), MA_OK, "", ""},
	{"empty", L(""), MA_OK, "", ""},
	{"null spaces", L(" <> "), MA_OK, "", ""},
	{"trailing space", L("<a@example.com>  \r\n"), MA_OK, "a@example.com",
	 "example.com"},
	{"trailing dot", L("<a@example.com.>"), MA_OK, "a@example.com.",
	 "example.com"},
	{"quoted local", L("<\"a b@c\"@example.com>"), MA_OK,
	 "\"a b@c\"@example.com", "example.com"},
	{"quoted pair", L("<\"a\\\"b\"@example.com>"), MA_OK,
	 "\"a\\\"b\"@example.com", "example.com"},
	{"source route", L("<@r1.example,@r2.example:u@example.com>"), MA_OK,
	 "u@example.com", "example.com"},
	{"utf8 local", L("<j\xc3\xb6rg@example.com>"), MA_OK,
	 "j\xc3\xb6rg@example.com", "example.com"},
	{"no at", L("<postmaster>"), MA_ERR_SYNTAX, NULL, NULL},
	{"literal", L("<a@[192.0.2.1]>"), MA_ERR_SYNTAX, NULL, NULL},
	{"unclosed", L("<a@example.com"), MA_ERR_SYNTAX, NULL, NULL},
	{"unopened", L("a@example.com>"), MA_ERR_SYNTAX, NULL, NULL},
	{"esmtp params", L("<a@example.com> SIZE=100"), MA_ERR_SYNTAX, NULL,
	 NULL},
	{"two at", L("<a@b@example.com>"), MA_ERR_SYNTAX, NULL, NULL},
	{"NUL", L("<a@example.com\0.evil>"), MA_ERR_SYNTAX, NULL, NULL},
	{"space in local", L("<a b@example.com>"), MA_ERR_SYNTAX, NULL, NULL},
	{"unterminated quote", L("<\"ab@example.com>"), MA_ERR_SYNTAX, NULL,
	 NULL},
	{"bad route", L("<@r1.example u@example.com>"), MA_ERR_SYNTAX, NULL,
	 NULL},
	{"empty local", L("<@example.com>"), MA_ERR_SYNTAX, NULL, NULL},
	{"bad domain", L("<a@exa mple.com>"), MA_ERR_SYNTAX, NULL, NULL},
	{"crlf inside", L("<a@example.com\r\n>"), MA_ERR_SYNTAX, NULL, NULL},
};

START_TEST(test_path)
{
	const struct path_case *c = &path_cases[_i];
	struct ma_arena *a = ma_arena_new();
	const char *addr = NULL, *dom = NULL;
	char   *copy;
	enum ma_status st;

	copy = malloc(c->len ? c->len : 1);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, c->in, c->len);
	st = ma_rfc5321_path_domain(copy, c->len, a, &addr, &dom);
	ck_assert_msg(st == c->want, "%s: got status %s, want %s", c->name,
		      ma_status_str(st), ma_status_str(c->want));
	if (c->want == MA_OK) {
		ck_assert_msg(strcmp(addr, c->addr) == 0,
			      "%s: got addr \"%s\", want \"%s\"", c->name,
			      addr, c->addr);
		ck_assert_msg(strcmp(dom, c->domain) == 0,
			      "%s: got domain \"%s\", want \"%s\"", c->name,
			      dom, c->domain);
	}
	free(copy);
	ma_arena_free(&a);
}
END_TEST

struct domain_case {
	const char *in;
	size_t	len;
	int	valid;
	const char *norm;		/* when valid */
};

static const struct domain_case domain_cases[] = {
	{L("example.com"), 1, "example.com"},
	{L("Example.COM."), 1, "example.com"},
	{L("a"), 1, "a"},
	{L("xn--bcher-kva.example"), 1, "xn--bcher-kva.example"},
	{L("_dmarc.example.com"), 1, "_dmarc.example.com"},
	{L("a-b.c-d.example"), 1, "a-b.c-d.example"},
	{L("1.example.123a"), 1, "1.example.123a"},
	{L(""), 0, NULL},
	{L("."), 0, NULL},
	{L("example..com"), 0, NULL},
	{L(".example.com"), 0, NULL},
	{L("example.com.."), 0, NULL},
	{L("-a.example"), 0, NULL},
	{L("a-.example"), 0, NULL},
	{L("a.example-"), 0, NULL},
	{L("a b.example"), 0, NULL},
	{L("a;b.example"), 0, NULL},
	{L("a\0b.example"), 0, NULL},
	{L("b\xc3\xa4r.example"), 0, NULL},
	{L("192.0.2.1"), 0, NULL},
	{L("[192.0.2.1]"), 0, NULL},
	/* 63-character label: fine; 64: not */
	{L("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	   ".example"), 1,
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	 ".example"},
	{L("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	   ".example"), 0, NULL},
};

START_TEST(test_domain)
{
	const struct domain_case *c = &domain_cases[_i];
	struct ma_arena *a = ma_arena_new();
	char   *n;
	int	v;

	v = ma_domain_is_valid(c->in, c->len);
	ck_assert_msg(v == c->valid, "\"%s\": got valid %d, want %d", c->in,
		      v, c->valid);
	n = ma_domain_normalize(a, c->in, c->len);
	if (c->valid)
		ck_assert_msg(n != NULL && strcmp(n, c->norm) == 0,
			      "\"%s\": got \"%s\", want \"%s\"", c->in,
			      n ? n : "(null)", c->norm);
	else
		ck_assert_msg(n == NULL, "\"%s\": got \"%s\", want NULL",
			      c->in, n);
	ma_arena_free(&a);
}
END_TEST

START_TEST(test_domain_length)
{
	char	d[300];
	size_t	i;

	/* 253 characters: 63.63.63.61 */
	memset(d, 'a', sizeof(d));
	d[63] = d[127] = d[191] = '.';
	ck_assert_msg(ma_domain_is_valid(d, 253) == 1, "253: got invalid");
	ck_assert_msg(ma_domain_is_valid(d, 254) == 0, "254: got valid");
	d[253] = '.';
	ck_assert_msg(ma_domain_is_valid(d, 254) == 1,
		      "253 + root dot: got invalid");
	for (i = 0; i < sizeof(d); i++)
		d[i] = (i % 2) ? '.' : 'a';
	ck_assert_msg(ma_domain_is_valid(d, 299) == 0, "299: got valid");
}
END_TEST

/* rfc5322_suite - all cases */
/* test_from_addresses - local parts for SigningTable lookups */
START_TEST(test_from_addresses)
{
	static const struct {
		const char *in;
		size_t	n;
		const char *local0, *domain0, *local1;
	} t[] = {
		{"Joe <joe@Example.COM>", 1, "joe", "example.com", NULL},
		{"a.b@x.example", 1, "a.b", "x.example", NULL},
		{"\"odd local\"@x.example", 1, "\"odd local\"", "x.example", NULL},
		{"\"x@y.example\" <real@z.example>", 1, "real", "z.example", NULL},
		{"g: one@a.example, two@b.example;", 2, "one", "a.example", "two"},
		{"(c) u (d) @ d.example", 1, "u", "d.example", NULL},
	};
	size_t	i, n;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct ma_arena *a = ma_arena_new();
		const char **locals, **domains;

		ck_assert_msg(ma_rfc5322_from_addresses(t[i].in, strlen(t[i].in), a,
		    &locals, &domains, &n) == MA_OK, "%s: not parsed", t[i].in);
		ck_assert_uint_eq(n, t[i].n);
		ck_assert_msg(strcmp(locals[0], t[i].local0) == 0,
			      "%s: got local \"%s\", want \"%s\"", t[i].in,
			      locals[0], t[i].local0);
		ck_assert_str_eq(domains[0], t[i].domain0);
		if (t[i].local1 != NULL)
			ck_assert_str_eq(locals[1], t[i].local1);
		ma_arena_free(&a);
	}
}
END_TEST

static Suite *
rfc5322_suite(void)
{
	Suite  *s = suite_create("rfc5322");
	TCase  *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_from, 0,
			    sizeof(from_cases) / sizeof(from_cases[0]));
	tcase_add_test(tc, test_from_limit);
	tcase_add_test(tc, test_from_addresses);
	tcase_add_test(tc, test_from_big);
	tcase_add_loop_test(tc, test_path, 0,
			    sizeof(path_cases) / sizeof(path_cases[0]));
	tcase_add_loop_test(tc, test_domain, 0,
			    sizeof(domain_cases) / sizeof(domain_cases[0]));
	tcase_add_test(tc, test_domain_length);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner *sr = srunner_create(rfc5322_suite());
	int	failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
