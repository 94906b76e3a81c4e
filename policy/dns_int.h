/*
 * NAME
 *	dns_int.h - resolver internals shared by dns.c, dns_zone.c and
 *	dns_rdata.c
 * DESCRIPTION
 *	Not part of the engine contract (include/mailauth/dns.h). The
 *	unit test includes it to reach the name check, the zone-line
 *	parser and the rdata decoder directly.
 */
#ifndef MAILAUTH_DNS_INT_H
#define MAILAUTH_DNS_INT_H

#include <stddef.h>
#include <mailauth/status.h>
#include <mailauth/dns.h>

struct ma_arena;

/* Longest name in text form, no trailing dot (RFC 1035 2.3.4). */
#define MA_DNS_NAME_MAX		253
#define MA_DNS_LABEL_MAX	63

/* RR types that zone lines may carry besides enum ma_dns_type. */
#define MA_DNS_T_NS		2
#define MA_DNS_T_SPF		99

/*
 * Local names: every name that has local data, with the types it has,
 * and whether it was declared a failure name. Read-only once the first
 * query ran.
 */
struct ma_dns_names;

struct ma_dns_names *ma_dns_names_new(void);
void	ma_dns_names_free(struct ma_dns_names **tp);

/* ma_dns_names_add - note local data of type at name (type 0: failure) */
enum ma_status ma_dns_names_add(struct ma_dns_names *t, const char *name,
				size_t len, int type);

/* ma_dns_names_fails - is name a failure name without local type data? */
int	ma_dns_names_fails(const struct ma_dns_names *t, const char *name,
			   size_t len, int type);

/*
 * ma_dns_name_check - a query or owner name in presentation form:
 * at most 253 characters (plus an optional trailing dot), labels of
 * 1..63 printable ASCII characters other than backslash. Returns the
 * length without the trailing dot, or 0 when the name is invalid.
 */
size_t	ma_dns_name_check(const char *p, size_t len);

/*
 * One parsed zone line. text is the canonical line handed to
 * ub_ctx_data_add(); name is the owner, lower case, no trailing dot.
 */
struct ma_dns_zone_rr {
	char	name[MA_DNS_NAME_MAX + 1];
	size_t	name_len;
	int	type;
	char   *text;		/* malloc'ed; caller frees */
};

/*
 * ma_dns_zone_parse - parse one zone line (p, len). MA_OK with
 * rr->text set, MA_ERR_NOTFOUND for a blank or comment-only line,
 * MA_ERR_SYNTAX or MA_ERR_LIMIT with err filled.
 */
enum ma_status ma_dns_zone_parse(const char *p, size_t len,
				 struct ma_dns_zone_rr *rr,
				 char *err, size_t errlen);

/*
 * ma_dns_rdata_decode - one RR's rdata (uncompressed, as libunbound
 * hands it out) into rr, strings in arena. MA_ERR_SYNTAX when the
 * rdata is malformed; *why says what.
 */
enum ma_status ma_dns_rdata_decode(struct ma_arena *arena, int type,
				   const unsigned char *p, size_t len,
				   struct ma_dns_rr *rr, const char **why);

/*
 * The process-wide answer cache (dns_cache.c). A hit is copied into the
 * caller's arena as raw rdata, decoded again by dns.c.
 */
struct ma_dns_cache;

struct ma_dns_cached {
	enum ma_dns_rcode rcode;	/* ANSWER, NODATA or NXDOMAIN */
	int	secure;
	size_t	n;
	char  **data;			/* n rdata, in the arena */
	int    *len;
};

/* ma_dns_cache_new - a cache of at most max_entries; NULL for 0 or ENOMEM */
struct ma_dns_cache *ma_dns_cache_new(size_t max_entries);
void	ma_dns_cache_free(struct ma_dns_cache **cp);

/* ma_dns_cache_put - keep a definite answer for ttl seconds from now */
void	ma_dns_cache_put(struct ma_dns_cache *c, const char *name, int type,
			 enum ma_dns_rcode rcode, int secure, size_t n,
			 char *const *data, const int *len, unsigned ttl,
			 long long now);

/* ma_dns_cache_get - MA_OK with *out filled, MA_ERR_NOTFOUND, MA_ERR_NOMEM */
enum ma_status ma_dns_cache_get(struct ma_dns_cache *c, struct ma_arena *arena,
				const char *name, int type, long long now,
				struct ma_dns_cached *out);

/* ma_dns_cache_has - a live entry for (name, type)? Not counted as a hit */
int	ma_dns_cache_has(struct ma_dns_cache *c, const char *name, int type,
			 long long now);

/* ma_dns_cache_stats - counters since creation */
void	ma_dns_cache_stats(struct ma_dns_cache *c, unsigned long long *hits,
			   unsigned long long *misses, size_t *entries);

/* ma_dns_cache_totals - hits of every cache since start, entries held now */
void	ma_dns_cache_totals(unsigned long long *hits, size_t *entries);

#endif
