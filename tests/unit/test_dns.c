/*
 * NAME
 *	test_dns - unit tests of the resolver (policy/dns.c, dns_zone.c)
 * DESCRIPTION
 *	Local data of every type, NXDOMAIN vs NODATA, failure names,
 *	invalid names, budgets and deadlines, zone-line and zone-file
 *	errors, rdata decoding of hostile bytes, a real timeout against a
 *	silent UDP socket, real answers from a tiny UDP responder thread,
 *	and concurrent queries. Everything runs on loopback or offline.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <check.h>

#include <mailauth/arena.h>
#include <mailauth/dns.h>
#include "dns_int.h"
#include "ma_limits.h"

/* --- helpers ---------------------------------------------------------- */

static const char *zone_lines[] = {
	"a.example. 300 IN A 192.0.2.1",
	"a.example. IN 300 A 192.0.2.2",
	"A.Example 60 AAAA 2001:db8::1",
	"t.example. TXT \"v=spf1 \" \"-all\"   ; a comment",
	"t.example. 300 TXT \"second; not a comment\"",
	"e.example. TXT \"a\\\"b\\065\\000z\"",
	"b.example. TXT bare",
	"m.example. MX 10 Mail.Example.",
	"m.example. MX 20 mx2.example",
	"null.example. MX 0 .",
	"2.2.0.192.in-addr.arpa. PTR host.example.",
	"c.example. CNAME a.example.",
	"d.example. CNAME nope.example.",
	"cf.example. CNAME gone.example.",
	"loop1.example. CNAME loop2.example.",
	"loop2.example. CNAME LOOP1.example.",
	"ns.example. NS ns1.example.",
	"fail.example. A 192.0.2.9",
	"",
	"   ; only a comment",
	NULL
};

/* new_offline - offline context with the zone above */
static struct ma_dns *
new_offline(void)
{
	struct ma_dns_options opt;
	struct ma_dns *d = NULL;
	char	err[256];
	size_t	i;
	enum ma_status st;

	memset(&opt, 0, sizeof(opt));
	opt.offline = 1;
	opt.timeout_ms = 2000;
	st = ma_dns_new(&opt, &d, err, sizeof(err));
	ck_assert_msg(st == MA_OK, "ma_dns_new: got %d (%s), want MA_OK",
		      st, err);
	for (i = 0; zone_lines[i] != NULL; i++) {
		st = ma_dns_add_record(d, zone_lines[i], err, sizeof(err));
		ck_assert_msg(st == MA_OK, "add %s: got %d (%s), want MA_OK",
			      zone_lines[i], st, err);
	}
	ck_assert_int_eq(ma_dns_add_failure(d, "fail.example"), MA_OK);
	ck_assert_int_eq(ma_dns_add_failure(d, "gone.example."), MA_OK);
	return (d);
}

/* new_forward - context forwarding to 127.0.0.1@port */
static struct ma_dns *
new_forward(int port, unsigned timeout_ms)
{
	struct ma_dns_options opt;
	struct ma_dns *d = NULL;
	char	ns[64], err[256];
	const char *nsv[2];
	enum ma_status st;

	snprintf(ns, sizeof(ns), "127.0.0.1@%d", port);
	nsv[0] = ns;
	nsv[1] = NULL;
	memset(&opt, 0, sizeof(opt));
	opt.nameservers = nsv;
	opt.timeout_ms = timeout_ms;
	st = ma_dns_new(&opt, &d, err, sizeof(err));
	ck_assert_msg(st == MA_OK, "ma_dns_new: got %d (%s), want MA_OK",
		      st, err);
	return (d);
}

/* udp_socket - bound UDP socket on 127.0.0.1, port out */
static int
udp_socket(int *port)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	int	fd;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *) &sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &sin, &slen), 0);
	*port = ntohs(sin.sin_port);
	return (fd);
}

/* has_rr - does the answer hold an RR with these bytes? */
static int
has_rr(const struct ma_dns_answer *a, const char *data, size_t len)
{
	size_t	i;

	for (i = 0; i < a->n_rr; i++)
		if (a->rr[i].len == len &&
		    memcmp(a->rr[i].data, data, len) == 0)
			return (1);
	return (0);
}

/* --- local data -------------------------------------------------------- */

static const struct {
	const char *name;
	int	type;
	enum ma_dns_rcode rcode;
	size_t	n_rr;
	const char *data;	/* one RR that must be there, or NULL */
	size_t	len;
	unsigned pref;
} local_cases[] = {
	{"a.example", MA_DNS_A, MA_DNS_ANSWER, 2, "\xc0\x00\x02\x02", 4, 0},
	{"A.EXAMPLE.", MA_DNS_A, MA_DNS_ANSWER, 2, "\xc0\x00\x02\x01", 4, 0},
	{"a.example", MA_DNS_AAAA, MA_DNS_ANSWER, 1,
	 "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16, 0},
	{"t.example", MA_DNS_TXT, MA_DNS_ANSWER, 2, "v=spf1 -all", 11, 0},
	{"t.example", MA_DNS_TXT, MA_DNS_ANSWER, 2,
	 "second; not a comment", 21, 0},
	{"e.example", MA_DNS_TXT, MA_DNS_ANSWER, 1, "a\"bA\0z", 6, 0},
	{"b.example", MA_DNS_TXT, MA_DNS_ANSWER, 1, "bare", 4, 0},
	{"m.example", MA_DNS_MX, MA_DNS_ANSWER, 2, "mail.example", 12, 10},
	{"m.example", MA_DNS_MX, MA_DNS_ANSWER, 2, "mx2.example", 11, 20},
	{"null.example", MA_DNS_MX, MA_DNS_ANSWER, 1, "", 0, 0},
	{"2.2.0.192.in-addr.arpa", MA_DNS_PTR, MA_DNS_ANSWER, 1,
	 "host.example", 12, 0},
	{"c.example", MA_DNS_CNAME, MA_DNS_ANSWER, 1, "a.example", 9, 0},
	{"c.example", MA_DNS_A, MA_DNS_ANSWER, 2, "\xc0\x00\x02\x01", 4, 0},
	{"c.example", MA_DNS_TXT, MA_DNS_NODATA, 0, NULL, 0, 0},
	{"d.example", MA_DNS_A, MA_DNS_NXDOMAIN, 0, NULL, 0, 0},
	{"cf.example", MA_DNS_TXT, MA_DNS_SERVFAIL, 0, NULL, 0, 0},
	{"loop1.example", MA_DNS_A, MA_DNS_SERVFAIL, 0, NULL, 0, 0},
	{"a.example", MA_DNS_MX, MA_DNS_NODATA, 0, NULL, 0, 0},
	{"a.example", MA_DNS_TXT, MA_DNS_NODATA, 0, NULL, 0, 0},
	{"example", MA_DNS_A, MA_DNS_NODATA, 0, NULL, 0, 0},
	{"nope.example", MA_DNS_A, MA_DNS_NXDOMAIN, 0, NULL, 0, 0},
	{"www.google.com", MA_DNS_A, MA_DNS_NXDOMAIN, 0, NULL, 0, 0},
	{"fail.example", MA_DNS_A, MA_DNS_ANSWER, 1, "\xc0\x00\x02\x09", 4, 0},
	{"fail.example", MA_DNS_TXT, MA_DNS_SERVFAIL, 0, NULL, 0, 0},
	{"FAIL.example.", MA_DNS_MX, MA_DNS_SERVFAIL, 0, NULL, 0, 0},
	{"gone.example", MA_DNS_TXT, MA_DNS_SERVFAIL, 0, NULL, 0, 0},
	{"sub.gone.example", MA_DNS_TXT, MA_DNS_NXDOMAIN, 0, NULL, 0, 0},
};

START_TEST(test_local)
{
	struct ma_dns *d = new_offline();
	struct ma_arena *a = ma_arena_new();
	struct ma_dns_answer *ans;
	size_t	i, j;
	enum ma_status st;
	int	found;

	for (i = 0; i < sizeof(local_cases) / sizeof(local_cases[0]); i++) {
		st = ma_dns_query(d, NULL, a, local_cases[i].name,
				  local_cases[i].type, &ans);
		ck_assert_msg(st == MA_OK, "%s/%d: status got %d, want 0",
			      local_cases[i].name, local_cases[i].type, st);
		ck_assert_msg(ans->rcode == local_cases[i].rcode,
			      "%s/%d: got %s (%s), want %s",
			      local_cases[i].name, local_cases[i].type,
			      ma_dns_rcode_str(ans->rcode),
			      ans->why ? ans->why : "-",
			      ma_dns_rcode_str(local_cases[i].rcode));
		ck_assert_msg(ans->n_rr == local_cases[i].n_rr,
			      "%s/%d: n_rr got %zu, want %zu",
			      local_cases[i].name, local_cases[i].type,
			      ans->n_rr, local_cases[i].n_rr);
		if (local_cases[i].data == NULL)
			continue;
		ck_assert_msg(has_rr(ans, local_cases[i].data,
				     local_cases[i].len),
			      "%s/%d: got first RR '%.*s', want '%s'",
			      local_cases[i].name, local_cases[i].type,
			      (int) ans->rr[0].len, ans->rr[0].data,
			      local_cases[i].data);
		if (local_cases[i].type == MA_DNS_MX) {
			found = 0;
			for (j = 0; j < ans->n_rr; j++)
				if (ans->rr[j].len == local_cases[i].len &&
				    ans->rr[j].pref == local_cases[i].pref)
					found = 1;
			ck_assert_msg(found, "%s MX: pref %u missing",
				      local_cases[i].name,
				      local_cases[i].pref);
		}
		if (local_cases[i].type == MA_DNS_MX ||
		    local_cases[i].type == MA_DNS_PTR ||
		    local_cases[i].type == MA_DNS_CNAME)
			ck_assert_int_eq(ans->rr[0].data[ans->rr[0].len], 0);
	}
	ma_arena_free(&a);
	ma_dns_free(&d);
	ck_assert_ptr_null(d);
}
END_TEST

/* Data after the first query is refused (documented restriction). */
START_TEST(test_add_after_query)
{
	struct ma_dns *d = new_offline();
	struct ma_arena *a = ma_arena_new();
	struct ma_dns_answer *ans;
	char	err[128];

	ck_assert_int_eq(ma_dns_query(d, NULL, a, "a.example", MA_DNS_A,
				      &ans), MA_OK);
	ck_assert_int_eq(ma_dns_add_record(d, "x.example. A 192.0.2.1",
					   err, sizeof(err)),
			 MA_ERR_INTERNAL);
	ck_assert_int_eq(ma_dns_add_failure(d, "y.example"), MA_ERR_INTERNAL);
	ma_arena_free(&a);
	ma_dns_free(&d);
}
END_TEST

/* A TXT RRset over MA_LIMIT_DNS_TXT_BYTES is a SERVFAIL, not a crash. */
START_TEST(test_txt_limit)
{
	struct ma_dns_options opt;
	struct ma_dns *d = NULL;
	struct ma_arena *a = ma_arena_new();
	struct ma_dns_answer *ans;
	char	line[1200], s[256], err[256];
	int	i;

	memset(&opt, 0, sizeof(opt));
	opt.offline = 1;
	ck_assert_int_eq(ma_dns_new(&opt, &d, err, sizeof(err)), MA_OK);
	memset(s, 'x', 250);
	s[250] = '\0';
	for (i = 0; i < 40; i++) {
		snprintf(line, sizeof(line),
			 "big.example. TXT \"%d\" \"%s\" \"%s\"", i, s, s);
		ck_assert_int_eq(ma_dns_add_record(d, line, err, sizeof(err)),
				 MA_OK);
	}
	/* 70 RRs: all taken; one more than MA_LIMIT_DNS_RRS: SERVFAIL,
	 * never a cut RRset (an SPF record could be the one cut off) */
	for (i = 0; i < 70; i++) {
		snprintf(line, sizeof(line), "many.example. A 10.0.%d.%d",
			 i / 256, i % 256);
		ck_assert_int_eq(ma_dns_add_record(d, line, err, sizeof(err)),
				 MA_OK);
	}
	for (i = 0; i < MA_LIMIT_DNS_RRS + 1; i++) {
		snprintf(line, sizeof(line), "toomany.example. A 10.1.%d.%d",
			 i / 256, i % 256);
		ck_assert_int_eq(ma_dns_add_record(d, line, err, sizeof(err)),
				 MA_OK);
	}
	ck_assert_int_eq(ma_dns_query(d, NULL, a, "big.example", MA_DNS_TXT,
				      &ans), MA_OK);
	ck_assert_msg(ans->rcode == MA_DNS_SERVFAIL, "got %s, want servfail",
		      ma_dns_rcode_str(ans->rcode));
	ck_assert_int_eq(ma_dns_query(d, NULL, a, "many.example", MA_DNS_A,
				      &ans), MA_OK);
	ck_assert_int_eq(ans->rcode, MA_DNS_ANSWER);
	ck_assert_msg(ans->n_rr == 70, "n_rr got %zu, want 70", ans->n_rr);
	ck_assert_int_eq(ma_dns_query(d, NULL, a, "toomany.example", MA_DNS_A,
				      &ans), MA_OK);
	ck_assert_msg(ans->rcode == MA_DNS_SERVFAIL, "got %s, want servfail",
		      ma_dns_rcode_str(ans->rcode));
	ma_arena_free(&a);
	ma_dns_free(&d);
}
END_TEST

/* --- names, budget, deadline ----------------------------------------- */

static const struct {
	const char *name;
	enum ma_status want;
} name_cases[] = {
	{"", MA_ERR_SYNTAX},
	{".", MA_ERR_SYNTAX},
	{"a..example", MA_ERR_SYNTAX},
	{".a.example", MA_ERR_SYNTAX},
	{"a.example..", MA_ERR_SYNTAX},
	{"a b.example", MA_ERR_SYNTAX},
	{"a\\046b.example", MA_ERR_SYNTAX},
	{"a\tb", MA_ERR_SYNTAX},
	{"caf\xc3\xa9.example", MA_ERR_SYNTAX},
	{"x\x01y.example", MA_ERR_SYNTAX},
	{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	 ".example", MA_ERR_SYNTAX},		/* 64-octet label */
	{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	 ".example", MA_OK},			/* 63-octet label */
	{"a.example.", MA_OK},
	{"_dmarc.a.example", MA_OK},
	{"a\"b(c);d@$.example", MA_OK},	/* odd, harmless */
};

START_TEST(test_names)
{
	struct ma_dns *d = new_offline();
	struct ma_arena *a = ma_arena_new();
	struct ma_dns_answer *ans;
	char	longname[400];
	size_t	i;
	enum ma_status st;

	for (i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++) {
		st = ma_dns_query(d, NULL, a, name_cases[i].name, MA_DNS_TXT,
				  &ans);
		ck_assert_msg(st == name_cases[i].want,
			      "'%s': got %d, want %d", name_cases[i].name, st,
			      name_cases[i].want);
		ck_assert_ptr_nonnull(ans);
		if (st == MA_ERR_SYNTAX)
			ck_assert_msg(ans->rcode == MA_DNS_NXDOMAIN &&
				      strcmp(ans->why, "invalid name") == 0,
				      "'%s': got %s, want nxdomain",
				      name_cases[i].name,
				      ma_dns_rcode_str(ans->rcode));
	}
	/* 253 characters pass, 254 and 390 do not */
	for (i = 0; i < 253; i++)
		longname[i] = (i % 10 == 9) ? '.' : 'a';
	longname[253] = '\0';
	ck_assert_int_eq(ma_dns_query(d, NULL, a, longname, MA_DNS_A, &ans),
			 MA_OK);
	longname[253] = 'a';
	longname[254] = '\0';
	ck_assert_int_eq(ma_dns_query(d, NULL, a, longname, MA_DNS_A, &ans),
			 MA_ERR_SYNTAX);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ck_assert_int_eq(ma_dns_query(d, NULL, a, longname, MA_DNS_A, &ans),
			 MA_ERR_SYNTAX);
	ck_assert_int_eq(ma_dns_query(d, NULL, a, NULL, MA_DNS_A, &ans),
			 MA_ERR_SYNTAX);
	ck_assert_int_eq(ma_dns_add_failure(d, "bad name"), MA_ERR_INTERNAL);
	ma_arena_free(&a);
	ma_dns_free(&d);
}
END_TEST

START_TEST(test_budget)
{
	struct ma_dns *d = new_offline();
	struct ma_arena *a = ma_arena_new();
	struct ma_dns_answer *ans;
	struct ma_dns_budget b;

	memset(&b, 0, sizeof(b));
	b.max_queries = 2;
	ck_assert_int_eq(ma_dns_query(d, &b, a, "a.example", MA_DNS_A, &ans),
			 MA_OK);
	ck_assert_int_eq(ans->rcode, MA_DNS_ANSWER);
	ck_assert_int_eq(ma_dns_query(d, &b, a, "fail.example", MA_DNS_TXT,
				      &ans), MA_OK);
	ck_assert_int_eq(ans->rcode, MA_DNS_SERVFAIL);
	ck_assert_int_eq(ma_dns_query(d, &b, a, "a.example", MA_DNS_A, &ans),
			 MA_OK);
	ck_assert_msg(ans->rcode == MA_DNS_BUDGET, "got %s, want budget",
		      ma_dns_rcode_str(ans->rcode));
	ck_assert_msg(b.queries == 2, "queries got %u, want 2", b.queries);
	ck_assert_msg(b.servfails == 1, "servfails got %u, want 1",
		      b.servfails);

	/* a deadline in the past: TIMEOUT, nothing sent */
	memset(&b, 0, sizeof(b));
	b.deadline_ms = ma_dns_now_ms() - 1;
	ck_assert_int_eq(ma_dns_query(d, &b, a, "a.example", MA_DNS_A, &ans),
			 MA_OK);
	ck_assert_msg(ans->rcode == MA_DNS_TIMEOUT, "got %s, want timeout",
		      ma_dns_rcode_str(ans->rcode));
	ck_assert_msg(b.timeouts == 1, "timeouts got %u, want 1", b.timeouts);
	ck_assert_msg(b.queries == 0, "queries got %u, want 0", b.queries);

	/* a deadline in the future does not hurt local answers */
	b.deadline_ms = ma_dns_now_ms() + 5000;
	ck_assert_int_eq(ma_dns_query(d, &b, a, "a.example", MA_DNS_A, &ans),
			 MA_OK);
	ck_assert_int_eq(ans->rcode, MA_DNS_ANSWER);
	ck_assert_str_eq(ma_dns_rcode_str(MA_DNS_NODATA), "nodata");
	ma_arena_free(&a);
	ma_dns_free(&d);
}
END_TEST

/* --- zone lines and files ----------------------------------------------- */

static const struct {
	const char *line;
	enum ma_status want;
	const char *err;	/* substring of the message */
} zone_cases[] = {
	{"x.example. 300 IN A 192.0.2.1", MA_OK, NULL},
	{"x.example. A 192.0.2.1 ; comment", MA_OK, NULL},
	{"x.example. 300 IN TXT \"unterminated", MA_ERR_SYNTAX,
	 "unterminated"},
	{"x.example. 300 IN BOGUS foo", MA_ERR_SYNTAX, "type"},
	{"x.example. 300 IN A 192.0.2.256", MA_ERR_SYNTAX, "address"},
	{"x.example. 300 IN A 192.0.2.1 192.0.2.2", MA_ERR_SYNTAX, "address"},
	{"x.example. 300 IN AAAA 192.0.2.1", MA_ERR_SYNTAX, "address"},
	{"x.example. A \"192.0.2.1\"", MA_ERR_SYNTAX, "address"},
	{"x.example. 300 CH A 192.0.2.1", MA_ERR_SYNTAX, "class"},
	{"x.example. 99999999999 A 192.0.2.1", MA_ERR_SYNTAX, "TTL"},
	{"x.example. MX mail.example.", MA_ERR_SYNTAX, "MX"},
	{"x.example. MX 70000 mail.example.", MA_ERR_SYNTAX, "MX"},
	{"x.example. MX 10 bad..name", MA_ERR_SYNTAX, "MX"},
	{"x.example. PTR", MA_ERR_SYNTAX, "name"},
	{"x.example. CNAME a b", MA_ERR_SYNTAX, "name"},
	{"x.example. TXT", MA_ERR_SYNTAX, "TXT"},
	{"x.example. TXT \"bad\\9\"", MA_ERR_SYNTAX, "escape"},
	{"x.example. TXT \"bad\\999\"", MA_ERR_SYNTAX, "escape"},
	{"x.example. TXT \"a\"\"b\"", MA_ERR_SYNTAX, "blank"},
	{"x.example. 300 IN", MA_ERR_SYNTAX, "type"},
	{"x.example.", MA_ERR_SYNTAX, "type"},
	{"@ A 192.0.2.1", MA_ERR_SYNTAX, "relative"},
	{"$ORIGIN example.", MA_ERR_SYNTAX, "directive"},
	{"\tA 192.0.2.1", MA_ERR_SYNTAX, "owner"},
	{"x..example. A 192.0.2.1", MA_ERR_SYNTAX, "owner"},
	{"a(b.example. A 192.0.2.1", MA_ERR_SYNTAX, "owner"},
	{"x.example. CNAME a)b.example.", MA_ERR_SYNTAX, "name"},
	{"x.example. SOA ( a b c )", MA_ERR_SYNTAX, "parenthes"},
	{"x.example. A 192.0.2.1\x01", MA_ERR_SYNTAX, "control"},
	{"x.example. TXT a\ny.example. TXT b", MA_ERR_SYNTAX, "line break"},
	{"x.example. TXT \"crlf\"\r\n", MA_OK, NULL},
	{"", MA_OK, NULL},
	{"; comment \"with quote", MA_OK, NULL},
	{"x.example. TXT \"" "with \\\"quote\\\" and ; semicolon\"", MA_OK,
	 NULL},
};

START_TEST(test_zone_lines)
{
	struct ma_dns_options opt;
	struct ma_dns *d = NULL;
	char	err[256], *big;
	size_t	i;
	enum ma_status st;

	memset(&opt, 0, sizeof(opt));
	opt.offline = 1;
	ck_assert_int_eq(ma_dns_new(&opt, &d, err, sizeof(err)), MA_OK);
	for (i = 0; i < sizeof(zone_cases) / sizeof(zone_cases[0]); i++) {
		err[0] = '\0';
		st = ma_dns_add_record(d, zone_cases[i].line, err,
				       sizeof(err));
		ck_assert_msg(st == zone_cases[i].want,
			      "'%s': got %d (%s), want %d",
			      zone_cases[i].line, st, err, zone_cases[i].want);
		if (zone_cases[i].err != NULL)
			ck_assert_msg(strstr(err, zone_cases[i].err) != NULL,
				      "'%s': got error '%s', want '%s'",
				      zone_cases[i].line, err,
				      zone_cases[i].err);
	}
	/* an overlong line */
	big = malloc(MA_LIMIT_ZONE_LINE + 100);
	ck_assert_ptr_nonnull(big);
	memset(big, 'a', MA_LIMIT_ZONE_LINE + 99);
	memcpy(big, "x.example. TXT ", 15);
	big[MA_LIMIT_ZONE_LINE + 99] = '\0';
	ck_assert_int_eq(ma_dns_add_record(d, big, err, sizeof(err)),
			 MA_ERR_LIMIT);
	/* a long TXT string is split, not refused */
	big[15] = '"';
	big[3000] = '"';
	big[3001] = '\0';
	st = ma_dns_add_record(d, big, err, sizeof(err));
	ck_assert_msg(st == MA_OK, "long TXT: got %d (%s)", st, err);
	free(big);
	ma_dns_free(&d);
}
END_TEST

/* write_file - temp file with text; path out */
static void
write_file(char *path, size_t pathlen, const char *text, size_t len)
{
	int	fd;

	snprintf(path, pathlen, "/tmp/test_dns_XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t) len);
	close(fd);
}

START_TEST(test_zone_file)
{
	static const char good[] =
	    "; test zone\n"
	    "f.example. 300 IN A 192.0.2.5\n"
	    "\n"
	    "f.example. TXT \"v=spf1\" \" ~all\"\r\n"
	    "g.example. MX 5 f.example.";	/* no final newline */
	static const char bad[] =
	    "f.example. A 192.0.2.5\n"
	    "; fine\n"
	    "f.example. TXT \"oops\n"
	    "g.example. A 192.0.2.6\n";
	static const char nul[] =
	    "f.example. A 192.0.2.5\nf.ex\0ample. A 1.2.3.4\n";
	struct ma_dns_options opt;
	struct ma_dns *d = NULL;
	struct ma_arena *a = ma_arena_new();
	struct ma_dns_answer *ans;
	char	path[64], err[512], *big;
	enum ma_status st;

	memset(&opt, 0, sizeof(opt));
	opt.offline = 1;
	ck_assert_int_eq(ma_dns_new(&opt, &d, err, sizeof(err)), MA_OK);
	write_file(path, sizeof(path), good, sizeof(good) - 1);
	st = ma_dns_load_zone_file(d, path, err, sizeof(err));
	ck_assert_msg(st == MA_OK, "good file: got %d (%s)", st, err);
	unlink(path);

	write_file(path, sizeof(path), bad, sizeof(bad) - 1);
	st = ma_dns_load_zone_file(d, path, err, sizeof(err));
	ck_assert_msg(st == MA_ERR_SYNTAX, "bad file: got %d, want syntax", st);
	ck_assert_msg(strstr(err, ":3: unterminated") != NULL,
		      "bad file: got '%s', want ':3: unterminated'", err);
	unlink(path);

	write_file(path, sizeof(path), nul, sizeof(nul) - 1);
	st = ma_dns_load_zone_file(d, path, err, sizeof(err));
	ck_assert_msg(st == MA_ERR_SYNTAX && strstr(err, ":2: NUL") != NULL,
		      "NUL file: got %d '%s'", st, err);
	unlink(path);

	big = malloc(MA_LIMIT_ZONE_LINE * 2 + 40);
	ck_assert_ptr_nonnull(big);
	memcpy(big, "f.example. A 192.0.2.5\n", 23);
	memset(big + 23, 'x', MA_LIMIT_ZONE_LINE * 2);
	write_file(path, sizeof(path), big, MA_LIMIT_ZONE_LINE * 2 + 23);
	free(big);
	st = ma_dns_load_zone_file(d, path, err, sizeof(err));
	ck_assert_msg(st == MA_ERR_LIMIT && strstr(err, ":2: line longer")
		      != NULL, "long file: got %d '%s'", st, err);
	unlink(path);

	st = ma_dns_load_zone_file(d, "/nonexistent/zone", err, sizeof(err));
	ck_assert_int_eq(st, MA_ERR_IO);

	ck_assert_int_eq(ma_dns_query(d, NULL, a, "f.example", MA_DNS_TXT,
				      &ans), MA_OK);
	ck_assert_int_eq(ans->rcode, MA_DNS_ANSWER);
	ck_assert(has_rr(ans, "v=spf1 ~all", 11));
	ck_assert_int_eq(ma_dns_query(d, NULL, a, "g.example", MA_DNS_MX,
				      &ans), MA_OK);
	ck_assert_int_eq(ans->rcode, MA_DNS_ANSWER);
	ck_assert_uint_eq(ans->rr[0].pref, 5);
	ma_arena_free(&a);
	ma_dns_free(&d);
}
END_TEST

/* a record over several lines in "( )", as mailauth-keygen writes it */
START_TEST(test_zone_file_parens)
{
	static const char good[] =
	    "sel._domainkey.example.com.\tIN\tTXT\t( \"v=DKIM1; k=rsa; \"\n"
	    "\t\"p=MIIB\" ; a comment ( inside\n"
	    "\t\"AQAB\" )  ; end\n"
	    "x.example.com. 60 IN TXT \"a ( b ) c\"\n";
	static const struct {
		const char *text;
		const char *want;
	} bad[] = {
		{"a.example. TXT ( \"x\"\n", ":1: \"(\" not closed"},
		{"a.example. TXT ( ( \"x\" ) )\n", ":1: unbalanced"},
		{"a.example. TXT \"x\" )\n", ":1: unbalanced"},
		{"a.example. A 192.0.2.1\nb.example. TXT (\n\"x\"\n", ":2: \"(\" not closed"},
	};
	struct ma_dns_options opt;
	struct ma_dns *d = NULL;
	struct ma_arena *a = ma_arena_new();
	struct ma_dns_answer *ans;
	char	path[64], err[512];
	enum ma_status st;
	size_t	i;

	memset(&opt, 0, sizeof(opt));
	opt.offline = 1;
	ck_assert_int_eq(ma_dns_new(&opt, &d, err, sizeof(err)), MA_OK);
	write_file(path, sizeof(path), good, sizeof(good) - 1);
	st = ma_dns_load_zone_file(d, path, err, sizeof(err));
	ck_assert_msg(st == MA_OK, "got %d (%s)", st, err);
	unlink(path);
	ck_assert_int_eq(ma_dns_query(d, NULL, a, "sel._domainkey.example.com",
				      MA_DNS_TXT, &ans), MA_OK);
	ck_assert_int_eq(ans->rcode, MA_DNS_ANSWER);
	ck_assert(has_rr(ans, "v=DKIM1; k=rsa; p=MIIBAQAB", 26));
	ck_assert_int_eq(ma_dns_query(d, NULL, a, "x.example.com",
				      MA_DNS_TXT, &ans), MA_OK);
	ck_assert(has_rr(ans, "a ( b ) c", 9));
	ma_dns_free(&d);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(ma_dns_new(&opt, &d, err, sizeof(err)), MA_OK);
		write_file(path, sizeof(path), bad[i].text, strlen(bad[i].text));
		st = ma_dns_load_zone_file(d, path, err, sizeof(err));
		ck_assert_msg(st == MA_ERR_SYNTAX && strstr(err, bad[i].want) != NULL,
			      "case %zu: got %d '%s', want '%s'", i, st, err,
			      bad[i].want);
		unlink(path);
		ma_dns_free(&d);
	}
	ma_arena_free(&a);
}
END_TEST

/* --- rdata decoding of hostile bytes --------------------------------- */

static const struct {
	int	type;
	const char *rdata;
	size_t	len;
	enum ma_status want;
	const char *data;
	size_t	dlen;
} rdata_cases[] = {
	{MA_DNS_TXT, "\x03" "abc" "\x02" "de", 7, MA_OK, "abcde", 5},
	{MA_DNS_TXT, "\x00", 1, MA_OK, "", 0},
	{MA_DNS_TXT, "\x05" "abc", 4, MA_ERR_SYNTAX, NULL, 0},
	{MA_DNS_TXT, "\x03" "abc" "\x01", 5, MA_ERR_SYNTAX, NULL, 0},
	{MA_DNS_TXT, "", 0, MA_ERR_SYNTAX, NULL, 0},
	{MA_DNS_A, "\x01\x02\x03", 3, MA_ERR_SYNTAX, NULL, 0},
	{MA_DNS_AAAA, "\x01\x02\x03\x04", 4, MA_ERR_SYNTAX, NULL, 0},
	{MA_DNS_MX, "\x00\x0a\x02" "MX\x01" "e\x00", 8, MA_OK, "mx.e", 4},
	{MA_DNS_MX, "\x00\x0a", 2, MA_ERR_SYNTAX, NULL, 0},
	{MA_DNS_MX, "\x00\x0a\x00", 3, MA_OK, "", 0},
	{MA_DNS_MX, "\x00\x0a\x05" "ab", 5, MA_ERR_SYNTAX, NULL, 0},
	{MA_DNS_PTR, "\xc0\x0c", 2, MA_ERR_SYNTAX, NULL, 0},
	{MA_DNS_PTR, "\x01" "a", 2, MA_ERR_SYNTAX, NULL, 0},
	{MA_DNS_PTR, "\x01" "a\x00" "x", 4, MA_ERR_SYNTAX, NULL, 0},
	{MA_DNS_PTR, "\x03" "a.b\x00", 5, MA_OK, "a\\046b", 6},
	{MA_DNS_CNAME, "\x03" "a b\x00", 5, MA_OK, "a\\032b", 6},
	{MA_DNS_CNAME, "\x40" "a", 2, MA_ERR_SYNTAX, NULL, 0},
};

START_TEST(test_rdata)
{
	struct ma_arena *a = ma_arena_new();
	struct ma_dns_rr rr;
	unsigned char buf[300];
	const char *why;
	size_t	i;
	enum ma_status st;

	for (i = 0; i < sizeof(rdata_cases) / sizeof(rdata_cases[0]); i++) {
		st = ma_dns_rdata_decode(a, rdata_cases[i].type,
					 (const unsigned char *)
					 rdata_cases[i].rdata,
					 rdata_cases[i].len, &rr, &why);
		ck_assert_msg(st == rdata_cases[i].want,
			      "case %zu: got %d (%s), want %d", i, st,
			      why ? why : "-", rdata_cases[i].want);
		if (st != MA_OK)
			ck_assert_ptr_nonnull(why);
		if (rdata_cases[i].data != NULL)
			ck_assert_msg(rr.len == rdata_cases[i].dlen &&
				      memcmp(rr.data, rdata_cases[i].data,
					     rr.len) == 0,
				      "case %zu: got '%.*s', want '%s'", i,
				      (int) rr.len, rr.data,
				      rdata_cases[i].data);
	}
	/* a name of 300 wire bytes: too long */
	for (i = 0; i < 290; i += 5) {
		buf[i] = 4;
		memcpy(buf + i + 1, "abcd", 4);
	}
	buf[290] = 0;
	st = ma_dns_rdata_decode(a, MA_DNS_PTR, buf, 291, &rr, &why);
	ck_assert_int_eq(st, MA_ERR_SYNTAX);
	/* every label byte escaped: still bounded */
	for (i = 0; i < 250; i += 64) {
		buf[i] = 63;
		memset(buf + i + 1, 0x01, 63);
	}
	buf[0] = 63; buf[64] = 63; buf[128] = 63; buf[192] = 61;
	buf[254] = 0;
	st = ma_dns_rdata_decode(a, MA_DNS_PTR, buf, 255, &rr, &why);
	ck_assert_msg(st == MA_OK, "escaped name: got %d (%s)", st,
		      why ? why : "-");
	ck_assert_uint_eq(rr.len, 250 * 4 + 3);
	ma_arena_free(&a);
}
END_TEST

/* --- real network: silent server, tiny responder ----------------------- */

START_TEST(test_timeout)
{
	struct ma_dns *d;
	struct ma_arena *a = ma_arena_new();
	struct ma_dns_answer *ans;
	struct ma_dns_budget b;
	long long t0, el;
	int	port, fd, i;

	fd = udp_socket(&port);
	d = new_forward(port, 300);
	memset(&b, 0, sizeof(b));
	for (i = 0; i < 3; i++) {
		t0 = ma_dns_now_ms();
		ck_assert_int_eq(ma_dns_query(d, &b, a, "silent.example",
					      MA_DNS_TXT, &ans), MA_OK);
		el = ma_dns_now_ms() - t0;
		ck_assert_msg(ans->rcode == MA_DNS_TIMEOUT,
			      "got %s (%s), want timeout",
			      ma_dns_rcode_str(ans->rcode),
			      ans->why ? ans->why : "-");
		ck_assert_msg(el >= 250 && el < 2000,
			      "elapsed got %lld ms, want about 300", el);
	}
	ck_assert_uint_eq(b.timeouts, 3);
	/* the budget's deadline wins when it is nearer */
	b.deadline_ms = ma_dns_now_ms() + 100;
	t0 = ma_dns_now_ms();
	ck_assert_int_eq(ma_dns_query(d, &b, a, "silent2.example", MA_DNS_A,
				      &ans), MA_OK);
	el = ma_dns_now_ms() - t0;
	ck_assert_int_eq(ans->rcode, MA_DNS_TIMEOUT);
	ck_assert_msg(el < 250, "elapsed got %lld ms, want about 100", el);
	ma_dns_free(&d);
	ma_arena_free(&a);
	close(fd);
}
END_TEST

struct responder {
	int	fd;
	int	stop;
	pthread_t thread;
};

/* put16 - network order */
static size_t
put16(unsigned char *p, size_t pos, unsigned v)
{
	p[pos] = (unsigned char) (v >> 8);
	p[pos + 1] = (unsigned char) v;
	return (pos + 2);
}

/* add_rr - answer RR pointing at the question name */
static size_t
add_rr(unsigned char *p, size_t pos, unsigned type, const void *rdata,
       size_t len)
{
	pos = put16(p, pos, 0xc00c);
	pos = put16(p, pos, type);
	pos = put16(p, pos, 1);
	pos = put16(p, pos, 0);
	pos = put16(p, pos, 60);
	pos = put16(p, pos, (unsigned) len);
	memcpy(p + pos, rdata, len);
	return (pos + len);
}

/* respond - one query to one answer, by the first label */
static size_t
respond(const unsigned char *q, size_t qlen, unsigned char *r)
{
	size_t	pos = 12, qend;
	unsigned type, ancount = 0, rcode = 0, i;
	unsigned char lab[64];
	size_t	llen;

	if (qlen < 17)
		return (0);
	llen = q[12];
	if (llen > 63 || 13 + llen > qlen)
		return (0);
	memcpy(lab, q + 13, llen);
	lab[llen] = '\0';
	while (pos < qlen && q[pos] != 0)
		pos += 1 + q[pos];
	if (pos + 5 > qlen)
		return (0);
	type = ((unsigned) q[pos + 1] << 8) | q[pos + 2];
	qend = pos + 5;
	memcpy(r, q, qend);
	pos = qend;
	if (strcmp((char *) lab, "nx") == 0)
		rcode = 3;
	else if (strcmp((char *) lab, "refused") == 0)
		rcode = 5;
	else if (type == 16 && strcmp((char *) lab, "txt") == 0) {
		pos = add_rr(r, pos, 16, "\x06hello \x05world", 13);
		pos = add_rr(r, pos, 16, "\x03two", 4);
		ancount = 2;
	} else if (type == 1 && strcmp((char *) lab, "a") == 0) {
		pos = add_rr(r, pos, 1, "\xc0\x00\x02\x07", 4);
		ancount = 1;
	} else if (type == 1 && strcmp((char *) lab, "many") == 0) {
		for (i = 0; i < 80; i++) {
			unsigned char ip[4] = {10, 0, 0, (unsigned char) i};

			pos = add_rr(r, pos, 1, ip, 4);
		}
		ancount = 80;
	} else if (type == 16 && strcmp((char *) lab, "bad") == 0) {
		pos = add_rr(r, pos, 16, "\x09short", 6);
		ancount = 1;
	}
	r[2] = 0x81;			/* QR, RD */
	r[3] = (unsigned char) (0x80 | rcode);	/* RA */
	put16(r, 4, 1);
	put16(r, 6, ancount);
	put16(r, 8, 0);
	put16(r, 10, 0);
	return (pos);
}

/* responder_main - answer until stop */
static void *
responder_main(void *arg)
{
	struct responder *rs = arg;
	unsigned char q[1500], r[4096];
	struct sockaddr_storage from;
	socklen_t flen;
	struct pollfd pfd;
	ssize_t	n;
	size_t	rlen;

	while (!__atomic_load_n(&rs->stop, __ATOMIC_ACQUIRE)) {
		pfd.fd = rs->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		flen = sizeof(from);
		n = recvfrom(rs->fd, q, sizeof(q), 0,
			     (struct sockaddr *) &from, &flen);
		if (n <= 0)
			continue;
		if ((rlen = respond(q, (size_t) n, r)) > 0)
			(void) sendto(rs->fd, r, rlen, 0,
				      (struct sockaddr *) &from, flen);
	}
	return (NULL);
}

START_TEST(test_responder)
{
	struct responder rs;
	struct ma_dns *d;
	struct ma_arena *a = ma_arena_new();
	struct ma_dns_answer *ans;
	struct ma_dns_budget b;
	int	port;

	memset(&rs, 0, sizeof(rs));
	rs.fd = udp_socket(&port);
	ck_assert_int_eq(pthread_create(&rs.thread, NULL, responder_main,
					&rs), 0);
	d = new_forward(port, 1500);
	memset(&b, 0, sizeof(b));

	ck_assert_int_eq(ma_dns_query(d, &b, a, "txt.test", MA_DNS_TXT,
				      &ans), MA_OK);
	ck_assert_msg(ans->rcode == MA_DNS_ANSWER, "txt: got %s (%s)",
		      ma_dns_rcode_str(ans->rcode), ans->why ? ans->why : "-");
	ck_assert_uint_eq(ans->n_rr, 2);
	ck_assert(has_rr(ans, "hello world", 11));
	ck_assert(has_rr(ans, "two", 3));

	ck_assert_int_eq(ma_dns_query(d, &b, a, "a.test", MA_DNS_A, &ans),
			 MA_OK);
	ck_assert_int_eq(ans->rcode, MA_DNS_ANSWER);
	ck_assert(has_rr(ans, "\xc0\x00\x02\x07", 4));

	ck_assert_int_eq(ma_dns_query(d, &b, a, "a.test", MA_DNS_MX, &ans),
			 MA_OK);
	ck_assert_msg(ans->rcode == MA_DNS_NODATA, "nodata: got %s",
		      ma_dns_rcode_str(ans->rcode));

	ck_assert_int_eq(ma_dns_query(d, &b, a, "nx.test", MA_DNS_A, &ans),
			 MA_OK);
	ck_assert_msg(ans->rcode == MA_DNS_NXDOMAIN, "nx: got %s",
		      ma_dns_rcode_str(ans->rcode));

	ck_assert_int_eq(ma_dns_query(d, &b, a, "many.test", MA_DNS_A, &ans),
			 MA_OK);
	ck_assert_int_eq(ans->rcode, MA_DNS_ANSWER);
	ck_assert_uint_eq(ans->n_rr, 80);

	ck_assert_int_eq(ma_dns_query(d, &b, a, "refused.test", MA_DNS_A,
				      &ans), MA_OK);
	ck_assert_msg(ans->rcode == MA_DNS_SERVFAIL ||
		      ans->rcode == MA_DNS_TIMEOUT, "refused: got %s",
		      ma_dns_rcode_str(ans->rcode));

	ck_assert_int_eq(ma_dns_query(d, &b, a, "bad.test", MA_DNS_TXT,
				      &ans), MA_OK);
	ck_assert_msg(ans->rcode == MA_DNS_SERVFAIL ||
		      ans->rcode == MA_DNS_TIMEOUT, "malformed: got %s",
		      ma_dns_rcode_str(ans->rcode));
	ck_assert_uint_eq(b.queries, 7);

	ma_dns_free(&d);
	__atomic_store_n(&rs.stop, 1, __ATOMIC_RELEASE);
	pthread_join(rs.thread, NULL);
	close(rs.fd);
	ma_arena_free(&a);
}
END_TEST

/* --- threads ------------------------------------------------------------ */

struct worker {
	struct ma_dns *d;
	int	failures;
	int	timeouts;	/* mode: queries against a silent server */
};

/* worker_main - many queries, each checked */
static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct ma_arena *a;
	struct ma_dns_answer *ans;
	int	i, n = w->timeouts ? 3 : 200;

	for (i = 0; i < n; i++) {
		if ((a = ma_arena_new()) == NULL) {
			w->failures++;
			continue;
		}
		if (w->timeouts) {
			if (ma_dns_query(w->d, NULL, a, "x.silent", MA_DNS_A,
					 &ans) != MA_OK ||
			    ans->rcode != MA_DNS_TIMEOUT)
				w->failures++;
		} else if (ma_dns_query(w->d, NULL, a,
					i % 2 ? "t.example" : "nope.example",
					MA_DNS_TXT, &ans) != MA_OK ||
			   ans->rcode != (i % 2 ? MA_DNS_ANSWER :
					  MA_DNS_NXDOMAIN) ||
			   (i % 2 && ans->n_rr != 2)) {
			w->failures++;
		}
		ma_arena_free(&a);
	}
	return (NULL);
}

START_TEST(test_threads)
{
	struct worker w[8];
	pthread_t th[8];
	struct ma_dns *d = new_offline(), *s;
	int	i, fd, port;

	for (i = 0; i < 8; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].d = d;
		ck_assert_int_eq(pthread_create(&th[i], NULL, worker_main,
						&w[i]), 0);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		ck_assert_msg(w[i].failures == 0, "thread %d: %d failures", i,
			      w[i].failures);
	}
	ma_dns_free(&d);

	/* timeouts and cancels from 8 threads at once */
	fd = udp_socket(&port);
	s = new_forward(port, 100);
	for (i = 0; i < 8; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].d = s;
		w[i].timeouts = 1;
		ck_assert_int_eq(pthread_create(&th[i], NULL, worker_main,
						&w[i]), 0);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		ck_assert_msg(w[i].failures == 0, "thread %d: %d failures", i,
			      w[i].failures);
	}
	ma_dns_free(&s);
	close(fd);
}
END_TEST

START_TEST(test_new_errors)
{
	struct ma_dns_options opt;
	struct ma_dns *d = NULL;
	const char *nsv[] = {"not an address", NULL};
	char	err[256];

	memset(&opt, 0, sizeof(opt));
	opt.nameservers = nsv;
	err[0] = '\0';
	ck_assert_int_ne(ma_dns_new(&opt, &d, err, sizeof(err)), MA_OK);
	ck_assert_ptr_null(d);
	ck_assert_msg(strstr(err, "not an address") != NULL,
		      "got '%s', want the bad address named", err);
	ma_dns_free(&d);
	ma_dns_free(NULL);

	/* no nameservers: /etc/resolv.conf, or an error naming it */
	memset(&opt, 0, sizeof(opt));
	err[0] = '\0';
	if (ma_dns_new(&opt, &d, err, sizeof(err)) == MA_OK)
		ma_dns_free(&d);
	else
		ck_assert_msg(strstr(err, "resolv.conf") != NULL,
			      "got '%s', want resolv.conf named", err);
	ck_assert_int_eq(ma_dns_new(NULL, NULL, err, sizeof(err)),
			 MA_ERR_INTERNAL);
}
END_TEST

/* dns_suite - all cases */
static Suite *
dns_suite(void)
{
	Suite  *s = suite_create("dns");
	TCase  *tc = tcase_create("local");
	TCase  *tn = tcase_create("network");

	tcase_add_test(tc, test_local);
	tcase_add_test(tc, test_add_after_query);
	tcase_add_test(tc, test_txt_limit);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_budget);
	tcase_add_test(tc, test_zone_lines);
	tcase_add_test(tc, test_zone_file);
	tcase_add_test(tc, test_zone_file_parens);
	tcase_add_test(tc, test_rdata);
	tcase_add_test(tc, test_new_errors);
	suite_add_tcase(s, tc);
	tcase_set_timeout(tn, 30);
	tcase_add_test(tn, test_timeout);
	tcase_add_test(tn, test_responder);
	tcase_add_test(tn, test_threads);
	suite_add_tcase(s, tn);
	return (s);
}

int
main(void)
{
	SRunner *sr = srunner_create(dns_suite());
	int	failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
