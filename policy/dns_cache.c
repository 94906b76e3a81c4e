/*
 * NAME
 *	dns_cache - answers kept in the process, by name and type
 * SUMMARY
 *	A bounded, TTL-respecting cache in front of libunbound.
 * SYNOPSIS
 *	#include "dns_int.h"
 * DESCRIPTION
 *	libunbound has a cache of its own, but every query, answered from
 *	that cache or not, crosses to its worker thread and back through
 *	two pipes and our dispatcher: a dozen system calls and two context
 *	switches. Mail from one sender domain asks the same four or five
 *	questions for every message, so the answers are kept here as well
 *	and a repeated question costs one hash lookup under a mutex.
 *
 *	Only definite answers are kept: ANSWER (the raw rdata of each RR,
 *	decoded again by the caller for every hit, so a hit and a miss
 *	take the same checks), NODATA and NXDOMAIN, each for its TTL
 *	(libunbound gives the negative TTL for the latter two), at most
 *	MA_DNS_CACHE_TTL_MAX. SERVFAIL, timeouts, bogus answers and TTL 0
 *	are never kept.
 *
 *	Keys are the type and the name in lower case without trailing
 *	dot. When the cache is full, the entry inserted first goes
 *	(expired ones go when met).
 *
 *	Process-wide totals over every cache (ma_dns_cache_totals(), for
 *	the metrics): hits since start and entries held now, kept with
 *	relaxed atomics beside each cache's own counters.
 * MEMORY
 *	One malloc per entry (key, rdata and lengths in one block); all
 *	freed by ma_dns_cache_free(). Hits are copied into the caller's
 *	arena.
 * LIMITS
 *	max entries as configured (DNSCacheSize; 0: no cache);
 *	MA_LIMIT_DNS_RRS RRs and MA_DNS_CACHE_ENTRY_BYTES bytes of rdata
 *	per entry (bigger answers are not kept).
 * THREADS
 *	All functions are safe from any thread; one mutex.
 * SEE ALSO
 *	dns.c, RFC 2308 (negative caching).
 */
#include "config.h"

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mailauth/arena.h>
#include "dns_int.h"
#include "ma_limits.h"

#define BUCKETS	4096		/* power of two */

/* Totals over every cache of the process (atomic; ma_dns_cache_totals). */
static unsigned long long all_hits;
static size_t all_entries;

struct entry {
	struct entry *next;		/* bucket chain */
	struct entry *older, *newer;	/* insertion order */
	long long expires_ms;
	uint64_t hash;
	int	type;
	enum ma_dns_rcode rcode;
	int	secure;
	size_t	n;
	size_t	name_len;
	size_t *len;			/* n lengths, then rdata, then name */
	unsigned char **data;
	char   *name;
};

struct ma_dns_cache {
	pthread_mutex_t mu;
	size_t	max, count;
	struct entry *bucket[BUCKETS];
	struct entry *oldest, *newest;
	unsigned long long hits, misses;
};

/* norm - lower-case copy without trailing dot; 0 when unusable */
static size_t
norm(const char *name, char *out)
{
	size_t	len, i;

	len = strnlen(name, MA_DNS_NAME_MAX + 2);
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > MA_DNS_NAME_MAX)
		return (0);
	for (i = 0; i < len; i++)
		out[i] = (char) tolower((unsigned char) name[i]);
	out[len] = '\0';
	return (len);
}

/* hash - FNV-1a of type and name */
static uint64_t
hash(int type, const char *name, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	size_t	i;

	h = (h ^ (uint64_t) type) * 1099511628211ULL;
	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char) name[i]) * 1099511628211ULL;
	return (h);
}

struct ma_dns_cache *
ma_dns_cache_new(size_t max_entries)
{
	struct ma_dns_cache *c;

	if (max_entries == 0)
		return (NULL);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (NULL);
	pthread_mutex_init(&c->mu, NULL);
	c->max = max_entries;
	return (c);
}

/* unlink_entry - out of its bucket and the age list; caller frees */
static void
unlink_entry(struct ma_dns_cache *c, struct entry *e)
{
	struct entry **pp;

	for (pp = &c->bucket[e->hash & (BUCKETS - 1)]; *pp != NULL;
	     pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	}
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		c->oldest = e->newer;
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		c->newest = e->older;
	c->count--;
	__atomic_sub_fetch(&all_entries, 1, __ATOMIC_RELAXED);
}

void
ma_dns_cache_free(struct ma_dns_cache **cp)
{
	struct ma_dns_cache *c;
	struct entry *e, *next;

	if (cp == NULL || (c = *cp) == NULL)
		return;
	for (e = c->oldest; e != NULL; e = next) {
		next = e->newer;
		free(e);
	}
	__atomic_sub_fetch(&all_entries, c->count, __ATOMIC_RELAXED);
	pthread_mutex_destroy(&c->mu);
	free(c);
	*cp = NULL;
}

/* find - the live entry for (type, name); expired ones are dropped */
static struct entry *
find(struct ma_dns_cache *c, uint64_t h, int type, const char *name,
     size_t len, long long now)
{
	struct entry *e;

	for (e = c->bucket[h & (BUCKETS - 1)]; e != NULL; e = e->next) {
		if (e->hash != h || e->type != type || e->name_len != len ||
		    memcmp(e->name, name, len) != 0)
			continue;
		if (e->expires_ms > now)
			return (e);
		unlink_entry(c, e);
		free(e);
		return (NULL);
	}
	return (NULL);
}

void
ma_dns_cache_put(struct ma_dns_cache *c, const char *name, int type,
		 enum ma_dns_rcode rcode, int secure, size_t n,
		 char *const *data, const int *len, unsigned ttl,
		 long long now)
{
	char	key[MA_DNS_NAME_MAX + 1];
	size_t	klen, i, bytes = 0, size;
	struct entry *e, *old;
	unsigned char *p;
	uint64_t h;

	if (c == NULL || ttl == 0 || n > MA_LIMIT_DNS_RRS ||
	    (rcode != MA_DNS_ANSWER && rcode != MA_DNS_NODATA &&
	     rcode != MA_DNS_NXDOMAIN) || (rcode == MA_DNS_ANSWER && n == 0) ||
	    (klen = norm(name, key)) == 0)
		return;
	for (i = 0; i < n; i++) {
		if (len[i] < 0 || data[i] == NULL)
			return;
		bytes += (size_t) len[i];
	}
	if (bytes > MA_DNS_CACHE_ENTRY_BYTES)
		return;
	if (ttl > MA_DNS_CACHE_TTL_MAX)
		ttl = MA_DNS_CACHE_TTL_MAX;
	size = sizeof(*e) + n * (sizeof(size_t) + sizeof(unsigned char *)) +
	    bytes + klen + 1;
	if ((e = calloc(1, size)) == NULL)
		return;
	e->len = (size_t *) (e + 1);
	e->data = (unsigned char **) (e->len + n);
	p = (unsigned char *) (e->data + n);
	for (i = 0; i < n; i++) {
		e->len[i] = (size_t) len[i];
		e->data[i] = p;
		memcpy(p, data[i], e->len[i]);
		p += e->len[i];
	}
	e->name = (char *) p;
	memcpy(e->name, key, klen + 1);
	e->name_len = klen;
	e->type = type;
	e->rcode = rcode;
	e->secure = secure;
	e->n = n;
	e->expires_ms = now + (long long) ttl * 1000;
	h = e->hash = hash(type, key, klen);

	pthread_mutex_lock(&c->mu);
	if ((old = find(c, h, type, key, klen, now)) != NULL) {
		unlink_entry(c, old);
		free(old);
	}
	while (c->count >= c->max && c->oldest != NULL) {
		old = c->oldest;
		unlink_entry(c, old);
		free(old);
	}
	e->next = c->bucket[h & (BUCKETS - 1)];
	c->bucket[h & (BUCKETS - 1)] = e;
	e->older = c->newest;
	if (c->newest != NULL)
		c->newest->newer = e;
	else
		c->oldest = e;
	c->newest = e;
	c->count++;
	__atomic_add_fetch(&all_entries, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&c->mu);
}

enum ma_status
ma_dns_cache_get(struct ma_dns_cache *c, struct ma_arena *arena,
		 const char *name, int type, long long now,
		 struct ma_dns_cached *out)
{
	char	key[MA_DNS_NAME_MAX + 1];
	struct entry *e;
	size_t	klen, i;
	enum ma_status st = MA_ERR_NOTFOUND;

	if (c == NULL || (klen = norm(name, key)) == 0)
		return (MA_ERR_NOTFOUND);
	pthread_mutex_lock(&c->mu);
	if ((e = find(c, hash(type, key, klen), type, key, klen, now)) ==
	    NULL) {
		c->misses++;
		goto out;
	}
	c->hits++;
	__atomic_add_fetch(&all_hits, 1, __ATOMIC_RELAXED);
	out->rcode = e->rcode;
	out->secure = e->secure;
	out->n = e->n;
	out->data = NULL;
	out->len = NULL;
	st = MA_ERR_NOMEM;
	if (e->n > 0 &&
	    ((out->data = ma_arena_calloc(arena, e->n, sizeof(*out->data))) ==
	     NULL ||
	     (out->len = ma_arena_calloc(arena, e->n, sizeof(*out->len))) ==
	     NULL))
		goto out;
	for (i = 0; i < e->n; i++) {
		out->len[i] = (int) e->len[i];
		if ((out->data[i] = ma_arena_alloc(arena, e->len[i] + 1)) ==
		    NULL)
			goto out;
		memcpy(out->data[i], e->data[i], e->len[i]);
	}
	st = MA_OK;
out:
	pthread_mutex_unlock(&c->mu);
	return (st);
}

int
ma_dns_cache_has(struct ma_dns_cache *c, const char *name, int type,
		 long long now)
{
	char	key[MA_DNS_NAME_MAX + 1];
	size_t	klen;
	int	found;

	if (c == NULL || (klen = norm(name, key)) == 0)
		return (0);
	pthread_mutex_lock(&c->mu);
	found = find(c, hash(type, key, klen), type, key, klen, now) != NULL;
	pthread_mutex_unlock(&c->mu);
	return (found);
}

void
ma_dns_cache_stats(struct ma_dns_cache *c, unsigned long long *hits,
		   unsigned long long *misses, size_t *entries)
{
	*hits = *misses = 0;
	*entries = 0;
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	*hits = c->hits;
	*misses = c->misses;
	*entries = c->count;
	pthread_mutex_unlock(&c->mu);
}

/* ma_dns_cache_totals - hits of every cache since start, entries now */
void
ma_dns_cache_totals(unsigned long long *hits, size_t *entries)
{
	*hits = __atomic_load_n(&all_hits, __ATOMIC_RELAXED);
	*entries = __atomic_load_n(&all_entries, __ATOMIC_RELAXED);
}
