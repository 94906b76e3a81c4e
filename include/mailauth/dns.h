/*
 * NAME
 *	dns.h - the one resolver of the engine (libunbound)
 * DESCRIPTION
 *	One shared, thread-safe context per configuration: one cache for all
 *	methods. Every query names the per-message budget it is charged to,
 *	is bounded by the configured timeout and the budget's deadline, and
 *	comes back as plain data allocated from the caller's arena.
 *	Local zone data (zone-file lines "name TTL IN TYPE rdata") can be
 *	added before the first query; with offline set, nothing else is
 *	answered and no packet leaves the process.
 */
#ifndef MAILAUTH_DNS_H
#define MAILAUTH_DNS_H

#include <stddef.h>
#include <mailauth/status.h>

struct ma_arena;
struct ma_dns;

/* RR types we use (numeric values of RFC 1035 et al.) */
enum ma_dns_type {
	MA_DNS_A = 1, MA_DNS_CNAME = 5, MA_DNS_PTR = 12, MA_DNS_MX = 15,
	MA_DNS_TXT = 16, MA_DNS_AAAA = 28
};

/* Outcome of one query. Order matters nowhere. */
enum ma_dns_rcode {
	MA_DNS_ANSWER,		/* NOERROR with at least one RR of the type */
	MA_DNS_NODATA,		/* NOERROR, no RR of the type */
	MA_DNS_NXDOMAIN,	/* name does not exist */
	MA_DNS_SERVFAIL,	/* SERVFAIL, REFUSED, any other error rcode */
	MA_DNS_TIMEOUT,		/* no answer within the timeout or deadline */
	MA_DNS_BUDGET		/* the message's query budget is spent */
};

struct ma_dns_rr {
	const char *data;	/* TXT: all character-strings of the RR
				 * concatenated; A: 4 bytes; AAAA: 16 bytes;
				 * MX, PTR, CNAME: the name, lower case, no
				 * trailing dot, NUL-terminated */
	size_t	len;
	unsigned pref;		/* MX preference */
};

struct ma_dns_answer {
	enum ma_dns_rcode rcode;
	int	type;
	size_t	n_rr;
	struct ma_dns_rr *rr;
	int	is_secure;	/* DNSSEC validated */
	const char *why;	/* short text for a non-answer (arena/static) */
};

struct ma_dns_options {
	const char *const *nameservers;	/* "addr[@port]", NULL-terminated;
					 * NULL or empty: /etc/resolv.conf */
	unsigned timeout_ms;		/* per query; 0: MA_DNS_TIMEOUT_DEFAULT_MS */
	int	offline;		/* serve local data only */
	const char *trust_anchor_file;	/* DNSSEC; NULL: none */
	size_t	cache_entries;		/* answers kept in the process
					 * (dns_cache.c); 0: none */
};

/* Per-message accounting; plain data, owned by the message. */
struct ma_dns_budget {
	unsigned queries;	/* charged so far */
	unsigned max_queries;	/* 0: unlimited */
	long long deadline_ms;	/* CLOCK_MONOTONIC ms; 0: none */
	unsigned timeouts;	/* counters for logs/metrics */
	unsigned servfails;
};

/* ma_dns_new - create the shared context */
enum ma_status ma_dns_new(const struct ma_dns_options *opt, struct ma_dns **out,
			  char *err, size_t errlen);

/* ma_dns_free - destroy; no query may be in flight */
void	ma_dns_free(struct ma_dns **dp);

/*
 * ma_dns_load_zone_file - add every record of a zone file (one record a
 * line: "name [TTL] [IN] TYPE rdata"; ';' comments; TXT rdata as one or
 * more quoted strings). Only before the first query.
 */
enum ma_status ma_dns_load_zone_file(struct ma_dns *d, const char *path,
				     char *err, size_t errlen);

/* ma_dns_add_record - add one zone-file line */
enum ma_status ma_dns_add_record(struct ma_dns *d, const char *line,
				 char *err, size_t errlen);

/*
 * ma_dns_add_failure - queries for name whose type has no local record
 * fail with MA_DNS_SERVFAIL (tests: the SPF suite's TIMEOUT entries).
 */
enum ma_status ma_dns_add_failure(struct ma_dns *d, const char *name);

/*
 * ma_dns_query - resolve name/type, charging budget (may be NULL). The
 * answer and its strings live in arena. Returns MA_OK whenever an
 * answer structure was produced (including NXDOMAIN, SERVFAIL, TIMEOUT,
 * BUDGET: see rcode); MA_ERR_SYNTAX for an invalid name (answer has
 * rcode NXDOMAIN then too), MA_ERR_NOMEM.
 */
enum ma_status ma_dns_query(struct ma_dns *d, struct ma_dns_budget *budget,
			    struct ma_arena *arena, const char *name, int type,
			    struct ma_dns_answer **out);

/* Counters since ma_dns_new() (for logs and metrics). */
struct ma_dns_stats {
	unsigned long long queries;	/* ma_dns_query() calls that asked */
	unsigned long long cache_hits;	/* ... answered from our cache */
	unsigned long long timeouts;	/* ... that ended in MA_DNS_TIMEOUT */
	unsigned long long servfails;	/* ... that ended in MA_DNS_SERVFAIL */
	unsigned long long prefetches;	/* ma_dns_prefetch() queries sent */
	size_t	cache_entries;		/* answers held now */
};

/* ma_dns_stats - read the counters; thread-safe */
void	ma_dns_stats(struct ma_dns *d, struct ma_dns_stats *out);

/*
 * ma_dns_stats_process - the same counters summed over every context
 * of the process since it started (contexts freed included, so they
 * never go back at a reload); cache_entries: answers held now by every
 * live cache. Thread-safe.
 */
void	ma_dns_stats_process(struct ma_dns_stats *out);

/*
 * ma_dns_prefetch - start resolving name/type now, without waiting and
 * without charging a budget, so that the answer is in the cache (or on
 * its way: libunbound joins a later query to the one in flight) when
 * the evaluation asks. Does nothing without a cache, for a name the
 * cache holds, for an invalid or failure name, or with
 * MA_LIMIT_DNS_PREFETCH prefetches in flight. Thread-safe.
 */
void	ma_dns_prefetch(struct ma_dns *d, const char *name, int type);

/* ma_dns_rcode_str - "answer", "nodata", "nxdomain", ... */
const char *ma_dns_rcode_str(enum ma_dns_rcode rc);

/* ma_dns_now_ms - CLOCK_MONOTONIC in milliseconds (for deadlines) */
long long ma_dns_now_ms(void);

#endif
