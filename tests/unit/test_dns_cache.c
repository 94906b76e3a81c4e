/*
 * NAME
 *	test_dns_cache - unit tests of the in-process answer cache
 * DESCRIPTION
 *	policy/dns_cache.c directly (what is kept, for how long, eviction,
 *	limits, copies into the caller's arena) and through ma_dns_query()
 *	with local data (hits counted by ma_dns_stats(), the same answers
 *	as without the cache, failure names never cached); prefetching
 *	(ma_dns_prefetch) and the key-record name it is given for a
 *	DKIM-Signature (ma_dkim_key_name).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include <mailauth/arena.h>
#include <mailauth/dkim.h>
#include <mailauth/dns.h>
#include "dns_int.h"
#include "ma_limits.h"

static char rd1[] = "\x05hello";
static char rd2[] = "\x03two";
static char *rdata[] = {rd1, rd2};
static int rdlen[] = {6, 4};

START_TEST(test_put_get)
{
	struct ma_dns_cache *c = ma_dns_cache_new(10);
	struct ma_arena *a = ma_arena_new();
	struct ma_dns_cached hit;
	unsigned long long hits, misses;
	size_t	n;

	ck_assert_ptr_nonnull(c);
	ma_dns_cache_put(c, "T.Example.", MA_DNS_TXT, MA_DNS_ANSWER, 1, 2,
			 rdata, rdlen, 60, 1000);
	/* case and the trailing dot do not matter, the type does */
	ck_assert_int_eq(ma_dns_cache_get(c, a, "t.example", MA_DNS_TXT, 1001,
					  &hit), MA_OK);
	ck_assert_int_eq(hit.rcode, MA_DNS_ANSWER);
	ck_assert_int_eq(hit.secure, 1);
	ck_assert_uint_eq(hit.n, 2);
	ck_assert_int_eq(hit.len[0], 6);
	ck_assert_mem_eq(hit.data[0], rd1, 6);
	ck_assert_mem_eq(hit.data[1], rd2, 4);
	ck_assert_int_eq(ma_dns_cache_get(c, a, "t.example", MA_DNS_A, 1001,
					  &hit), MA_ERR_NOTFOUND);
	/* kept for the TTL, not a millisecond longer */
	ck_assert_int_eq(ma_dns_cache_get(c, a, "t.example.", MA_DNS_TXT,
					  1000 + 59999, &hit), MA_OK);
	ck_assert_int_eq(ma_dns_cache_get(c, a, "t.example.", MA_DNS_TXT,
					  1000 + 60000, &hit),
			 MA_ERR_NOTFOUND);
	ma_dns_cache_stats(c, &hits, &misses, &n);
	ck_assert_uint_eq(hits, 2);
	ck_assert_uint_eq(misses, 2);
	ck_assert_uint_eq(n, 0);	/* the expired entry went when met */
	ma_dns_cache_free(&c);
	ck_assert_ptr_null(c);
	ma_arena_free(&a);
}
END_TEST

START_TEST(test_what_is_kept)
{
	struct ma_dns_cache *c = ma_dns_cache_new(10);
	struct ma_arena *a = ma_arena_new();
	struct ma_dns_cached hit;
	char	big[MA_DNS_CACHE_ENTRY_BYTES + 1];
	char   *bigv[] = {big};
	int	bigl[] = {(int) sizeof(big)};
	int	neg[] = {-1};

	memset(big, 'x', sizeof(big));
	ma_dns_cache_put(c, "nx.example", MA_DNS_A, MA_DNS_NXDOMAIN, 0, 0,
			 NULL, NULL, 30, 0);
	ck_assert_int_eq(ma_dns_cache_get(c, a, "nx.example", MA_DNS_A, 1,
					  &hit), MA_OK);
	ck_assert_int_eq(hit.rcode, MA_DNS_NXDOMAIN);
	ck_assert_uint_eq(hit.n, 0);
	ma_dns_cache_put(c, "nd.example", MA_DNS_A, MA_DNS_NODATA, 0, 0,
			 NULL, NULL, 30, 0);
	ck_assert_int_eq(ma_dns_cache_get(c, a, "nd.example", MA_DNS_A, 1,
					  &hit), MA_OK);
	ck_assert_int_eq(hit.rcode, MA_DNS_NODATA);
	/* never: failures, TTL 0, an ANSWER without RRs, oversized, bad */
	ma_dns_cache_put(c, "sf.example", MA_DNS_A, MA_DNS_SERVFAIL, 0, 0,
			 NULL, NULL, 30, 0);
	ma_dns_cache_put(c, "to.example", MA_DNS_A, MA_DNS_TIMEOUT, 0, 0,
			 NULL, NULL, 30, 0);
	ma_dns_cache_put(c, "z.example", MA_DNS_TXT, MA_DNS_ANSWER, 0, 2,
			 rdata, rdlen, 0, 0);
	ma_dns_cache_put(c, "e.example", MA_DNS_TXT, MA_DNS_ANSWER, 0, 0,
			 NULL, NULL, 30, 0);
	ma_dns_cache_put(c, "big.example", MA_DNS_TXT, MA_DNS_ANSWER, 0, 1,
			 bigv, bigl, 30, 0);
	ma_dns_cache_put(c, "neg.example", MA_DNS_TXT, MA_DNS_ANSWER, 0, 1,
			 rdata, neg, 30, 0);
	ma_dns_cache_put(c, "", MA_DNS_TXT, MA_DNS_ANSWER, 0, 1, rdata,
			 rdlen, 30, 0);
	ma_dns_cache_put(c, "many.example", MA_DNS_TXT, MA_DNS_ANSWER, 0,
			 MA_LIMIT_DNS_RRS + 1, rdata, rdlen, 30, 0);
	ck_assert_int_eq(ma_dns_cache_get(c, a, "sf.example", MA_DNS_A, 1,
					  &hit), MA_ERR_NOTFOUND);
	ck_assert_int_eq(ma_dns_cache_get(c, a, "to.example", MA_DNS_A, 1,
					  &hit), MA_ERR_NOTFOUND);
	ck_assert_int_eq(ma_dns_cache_get(c, a, "z.example", MA_DNS_TXT, 1,
					  &hit), MA_ERR_NOTFOUND);
	ck_assert_int_eq(ma_dns_cache_get(c, a, "e.example", MA_DNS_TXT, 1,
					  &hit), MA_ERR_NOTFOUND);
	ck_assert_int_eq(ma_dns_cache_get(c, a, "big.example", MA_DNS_TXT, 1,
					  &hit), MA_ERR_NOTFOUND);
	ck_assert_int_eq(ma_dns_cache_get(c, a, "neg.example", MA_DNS_TXT, 1,
					  &hit), MA_ERR_NOTFOUND);
	ck_assert_int_eq(ma_dns_cache_get(c, a, "", MA_DNS_TXT, 1, &hit),
			 MA_ERR_NOTFOUND);
	ck_assert_int_eq(ma_dns_cache_get(c, a, "many.example", MA_DNS_TXT,
					  1, &hit), MA_ERR_NOTFOUND);
	/* a TTL of a week is kept an hour at most */
	ma_dns_cache_put(c, "long.example", MA_DNS_TXT, MA_DNS_ANSWER, 0, 1,
			 rdata, rdlen, 7 * 86400, 0);
	ck_assert_int_eq(ma_dns_cache_get(c, a, "long.example", MA_DNS_TXT,
					  MA_DNS_CACHE_TTL_MAX * 1000LL - 1,
					  &hit), MA_OK);
	ck_assert_int_eq(ma_dns_cache_get(c, a, "long.example", MA_DNS_TXT,
					  MA_DNS_CACHE_TTL_MAX * 1000LL, &hit),
			 MA_ERR_NOTFOUND);
	/* no cache at all: every call is harmless */
	ck_assert_ptr_null(ma_dns_cache_new(0));
	ma_dns_cache_put(NULL, "x.example", MA_DNS_A, MA_DNS_NXDOMAIN, 0, 0,
			 NULL, NULL, 30, 0);
	ck_assert_int_eq(ma_dns_cache_get(NULL, a, "x.example", MA_DNS_A, 0,
					  &hit), MA_ERR_NOTFOUND);
	ma_dns_cache_free(&c);
	ma_arena_free(&a);
}
END_TEST

START_TEST(test_eviction)
{
	struct ma_dns_cache *c = ma_dns_cache_new(3);
	struct ma_arena *a = ma_arena_new();
	struct ma_dns_cached hit;
	unsigned long long hits, misses;
	char	name[32];
	size_t	n;
	int	i;

	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "n%d.example", i);
		ma_dns_cache_put(c, name, MA_DNS_TXT, MA_DNS_ANSWER, 0, 1,
				 rdata, rdlen, 30, 0);
	}
	ma_dns_cache_stats(c, &hits, &misses, &n);
	ck_assert_uint_eq(n, 3);
	/* the first inserted went first */
	ck_assert_int_eq(ma_dns_cache_get(c, a, "n0.example", MA_DNS_TXT, 1,
					  &hit), MA_ERR_NOTFOUND);
	ck_assert_int_eq(ma_dns_cache_get(c, a, "n1.example", MA_DNS_TXT, 1,
					  &hit), MA_ERR_NOTFOUND);
	ck_assert_int_eq(ma_dns_cache_get(c, a, "n4.example", MA_DNS_TXT, 1,
					  &hit), MA_OK);
	/* a second answer for a name replaces the first */
	ma_dns_cache_put(c, "n4.example", MA_DNS_TXT, MA_DNS_NXDOMAIN, 0, 0,
			 NULL, NULL, 30, 0);
	ck_assert_int_eq(ma_dns_cache_get(c, a, "n4.example", MA_DNS_TXT, 1,
					  &hit), MA_OK);
	ck_assert_int_eq(hit.rcode, MA_DNS_NXDOMAIN);
	ma_dns_cache_stats(c, &hits, &misses, &n);
	ck_assert_uint_eq(n, 3);
	ma_dns_cache_free(&c);
	ma_arena_free(&a);
}
END_TEST

/* new_cached - offline resolver with local data and a cache of n */
static struct ma_dns *
new_cached(size_t n)
{
	struct ma_dns_options opt;
	struct ma_dns *d = NULL;
	char	err[256];

	memset(&opt, 0, sizeof(opt));
	opt.offline = 1;
	opt.cache_entries = n;
	ck_assert_int_eq(ma_dns_new(&opt, &d, err, sizeof(err)), MA_OK);
	ck_assert_int_eq(ma_dns_add_record(d, "t.example. 300 TXT \"v=spf1\" "
					   "\" -all\"", err, sizeof(err)),
			 MA_OK);
	ck_assert_int_eq(ma_dns_add_record(d, "a.example. 300 A 192.0.2.1",
					   err, sizeof(err)), MA_OK);
	ck_assert_int_eq(ma_dns_add_failure(d, "fail.example"), MA_OK);
	return (d);
}

START_TEST(test_through_query)
{
	struct ma_dns *with = new_cached(100), *without = new_cached(0);
	struct ma_arena *a = ma_arena_new();
	struct ma_dns_answer *x, *y;
	struct ma_dns_stats st;
	static const struct {
		const char *name;
		int	type;
	} q[] = {
		{"t.example", MA_DNS_TXT}, {"T.EXAMPLE.", MA_DNS_TXT},
		{"a.example", MA_DNS_A}, {"a.example", MA_DNS_TXT},
		{"nx.example", MA_DNS_A}, {"fail.example", MA_DNS_TXT},
	};
	size_t	i, r, k;

	/* the same answers with and without the cache, three times over */
	for (r = 0; r < 3; r++) {
		for (i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
			ck_assert_int_eq(ma_dns_query(with, NULL, a, q[i].name,
						      q[i].type, &x), MA_OK);
			ck_assert_int_eq(ma_dns_query(without, NULL, a,
						      q[i].name, q[i].type,
						      &y), MA_OK);
			ck_assert_msg(x->rcode == y->rcode, "%s: %s vs %s",
				      q[i].name, ma_dns_rcode_str(x->rcode),
				      ma_dns_rcode_str(y->rcode));
			ck_assert_uint_eq(x->n_rr, y->n_rr);
			for (k = 0; k < x->n_rr; k++) {
				ck_assert_uint_eq(x->rr[k].len, y->rr[k].len);
				ck_assert_mem_eq(x->rr[k].data, y->rr[k].data,
						 x->rr[k].len);
			}
		}
	}
	ma_dns_stats(with, &st);
	ck_assert_uint_eq(st.queries, 18);
	/* round 1: only T.EXAMPLE. (t.example asked before); rounds 2
	 * and 3: all five but the failure name, which is never kept */
	ck_assert_msg(st.cache_hits == 11, "hits %llu", st.cache_hits);
	ck_assert_uint_eq(st.servfails, 3);
	ck_assert_uint_eq(st.cache_entries, 4);
	ma_dns_stats(without, &st);
	ck_assert_uint_eq(st.cache_hits, 0);
	ck_assert_uint_eq(st.cache_entries, 0);
	ma_dns_free(&with);
	ma_dns_free(&without);
	ma_arena_free(&a);
}
END_TEST

START_TEST(test_prefetch)
{
	struct ma_dns *d = new_cached(100), *none = new_cached(0);
	struct ma_arena *a = ma_arena_new();
	struct ma_dns_answer *ans;
	struct ma_dns_stats st;
	int	i;

	ma_dns_prefetch(d, "t.example", MA_DNS_TXT);
	ma_dns_prefetch(d, "nx.example", MA_DNS_A);
	ma_dns_prefetch(d, "fail.example", MA_DNS_TXT);	/* never */
	ma_dns_prefetch(d, "bad..name", MA_DNS_TXT);		/* never */
	ma_dns_prefetch(none, "t.example", MA_DNS_TXT);	/* no cache */
	for (i = 0; i < 200; i++) {		/* the answers come in */
		ma_dns_stats(d, &st);
		if (st.cache_entries == 2)
			break;
		usleep(10000);
	}
	ck_assert_uint_eq(st.prefetches, 2);
	ck_assert_uint_eq(st.cache_entries, 2);
	ck_assert_uint_eq(st.queries, 0);	/* prefetches are not queries */
	/* asked again: nothing sent, the query comes from the cache */
	ma_dns_prefetch(d, "t.example", MA_DNS_TXT);
	ck_assert_int_eq(ma_dns_query(d, NULL, a, "t.example", MA_DNS_TXT,
				      &ans), MA_OK);
	ck_assert_int_eq(ans->rcode, MA_DNS_ANSWER);
	ck_assert_uint_eq(ans->n_rr, 1);
	ck_assert_mem_eq(ans->rr[0].data, "v=spf1 -all", 11);
	ck_assert_int_eq(ma_dns_query(d, NULL, a, "nx.example", MA_DNS_A,
				      &ans), MA_OK);
	ck_assert_int_eq(ans->rcode, MA_DNS_NXDOMAIN);
	ma_dns_stats(d, &st);
	ck_assert_uint_eq(st.prefetches, 2);
	ck_assert_uint_eq(st.cache_hits, 2);
	ma_dns_stats(none, &st);
	ck_assert_uint_eq(st.prefetches, 0);
	/* freed with prefetches possibly in flight: no leak, no crash */
	ma_dns_prefetch(d, "a.example", MA_DNS_A);
	ma_dns_free(&d);
	ma_dns_free(&none);
	ma_arena_free(&a);
}
END_TEST

/* key_name - ma_dkim_key_name() on a C string */
static int
key_name(const char *sig, char *out, size_t outlen)
{
	return (ma_dkim_key_name(sig, strlen(sig), out, outlen));
}

START_TEST(test_key_name)
{
	char	out[64];
	static const char sig[] = "v=1; a=rsa-sha256; d=Example.COM;\r\n"
	    "\t s = sel1 ; h=from; bh=x; b=y";

	ck_assert_int_eq(ma_dkim_key_name(sig, sizeof(sig) - 1, out,
					  sizeof(out)), 0);
	ck_assert_str_eq(out, "sel1._domainkey.Example.COM");
	/* missing tags, hostile values, too long: no name */
	ck_assert_int_eq(key_name("v=1; d=example.com", out, sizeof(out)), -1);
	ck_assert_int_eq(key_name("s=a b; d=example.com", out, sizeof(out)), -1);
	ck_assert_int_eq(key_name("s=a; d=ex\001ample.com", out, sizeof(out)), -1);
	ck_assert_int_eq(key_name("s=; d=example.com", out, sizeof(out)), -1);
	/* "a._domainkey.example.com" is 24 characters and its NUL */
	ck_assert_int_eq(key_name("s=a; d=example.com", out, 24), -1);
	ck_assert_int_eq(key_name("s=a; d=example.com", out, 25), 0);
	ck_assert_str_eq(out, "a._domainkey.example.com");
	ck_assert_int_eq(ma_dkim_key_name(NULL, 0, out, sizeof(out)), -1);
}
END_TEST

static Suite *
dns_cache_suite(void)
{
	Suite  *s = suite_create("dns_cache");
	TCase  *tc = tcase_create("cache");

	tcase_add_test(tc, test_put_get);
	tcase_add_test(tc, test_what_is_kept);
	tcase_add_test(tc, test_eviction);
	tcase_add_test(tc, test_through_query);
	tcase_add_test(tc, test_prefetch);
	tcase_add_test(tc, test_key_name);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner *sr = srunner_create(dns_cache_suite());
	int	failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
