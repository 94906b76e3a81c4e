/*
 * NAME
 *	ma_limits.h - named limits on everything that loops over input
 * DESCRIPTION
 *	Each limit cites the standard it follows or says why we chose it.
 *	Hitting one gives a clear result (permerror, temperror, none), a
 *	log line, never a crash.
 */
#ifndef MAILAUTH_LIMITS_H
#define MAILAUTH_LIMITS_H

/* Header block (RFC 5322 2.1.1 has line limits only; these are ours). */
#define MA_LIMIT_HEADER_FIELDS		1000	/* fields kept per message */
#define MA_LIMIT_HEADER_FIELD_BYTES	(64 * 1024) /* one field, folded */
#define MA_LIMIT_HEADER_BYTES		(1024 * 1024) /* whole header block */
#define MA_LIMIT_FROM_ADDRESSES		32	/* mailboxes in one From */
#define MA_LIMIT_COMMENT_DEPTH		16	/* ours: nested comments (RFC 5322 3.2.2 sets none) */

/* DKIM (RFC 6376 8.4 asks verifiers to bound signatures). */
#define MA_LIMIT_DKIM_SIGNATURES	10	/* evaluated per message */
#define MA_LIMIT_DKIM_KEY_RECORD	4096	/* bytes of a key TXT record */
#define MA_DKIM_MIN_KEY_BITS		1024	/* RFC 8301 3.2 */
#define MA_LIMIT_SIGN_KEYS		4	/* ours: signatures added per message */

/* SPF (RFC 7208 4.6.4). */
#define MA_LIMIT_SPF_DNS_MECHANISMS	10	/* terms causing DNS queries */
#define MA_LIMIT_SPF_VOID_LOOKUPS	2	/* NXDOMAIN/NODATA answers */
#define MA_LIMIT_SPF_MX_PTR_NAMES	10	/* names per mx/ptr */
#define MA_LIMIT_SPF_RECORD_BYTES	4096	/* ours: one record (RFC 7208 3.4 suggests < 512) */
#define MA_LIMIT_SPF_TERMS		128	/* ours: terms per record */
#define MA_LIMIT_SPF_MACRO_EXPANSION	253	/* RFC 7208 7.3: domain-spec after expansion */

/* DMARC (RFC 9989). */
#define MA_LIMIT_DMARC_RECORD_BYTES	2048	/* ours */
#define MA_LIMIT_DMARC_TREEWALK		8	/* RFC 9989 4.10: at most 8 lookups */
#define MA_LIMIT_DMARC_TAGS		32	/* ours */
#define MA_LIMIT_DMARC_AUTHOR_DOMAINS	4	/* RFC 9989 11.5: From domains evaluated */
#define MA_LIMIT_DMARC_LOOKUPS		64	/* ours: distinct _dmarc names per message */

/* Authentication-Results (RFC 8601). */
#define MA_LIMIT_AUTHRES_BYTES		(16 * 1024) /* our rendered field */
#define MA_LIMIT_AR_VALUE_CHARS		128	/* one property value we print */

/* DNS. */
#define MA_DNS_TIMEOUT_DEFAULT_MS	5000
#define MA_LIMIT_DNS_QUERIES		64	/* per message, default budget */
#define MA_LIMIT_DNS_TXT_BYTES		(16 * 1024) /* one TXT RRset */
#define MA_LIMIT_DNS_RRS		512	/* RRs in one answer; more: SERVFAIL */
#define MA_LIMIT_DNS_CNAME_HOPS	8	/* ours: CNAMEs chased out of local data */
#define MA_DNS_CACHE_TTL_MAX		3600	/* seconds an answer is kept at most */
#define MA_DNS_CACHE_ENTRY_BYTES	MA_LIMIT_DNS_TXT_BYTES /* rdata kept per entry */
#define MA_LIMIT_DNS_PREFETCH		256	/* prefetches in flight at once */
#define MA_LIMIT_PREFETCH_KEYS		8	/* DKIM key records per message */
#define MA_LIMIT_PREFETCH_FROM		4	/* From domains per message */
#define MA_LIMIT_NAME			253	/* RFC 1035 2.3.4: a name, text form */
#define MA_LIMIT_ZONE_LINE		8192	/* local zone file line */

/* Signing: KeyTable, SigningTable, key files (ours; checked at load). */
#define MA_LIMIT_TABLE_LINE		4096	/* one KeyTable/SigningTable line */
#define MA_LIMIT_TABLE_BYTES		(16 * 1024 * 1024) /* one table file */
#define MA_LIMIT_TABLE_ENTRIES		100000	/* lines with data, per table */
#define MA_LIMIT_KEY_FILE_BYTES	(64 * 1024) /* one PEM private key file */
#define MA_LIMIT_SIGN_RSA_BITS		8192	/* larger RSA keys refused */
#define MA_LIMIT_SIGN_ADDRESS		512	/* From address looked up (RFC 5321 4.5.3.1: 64 + 1 + 255) */
#define MA_LIMIT_SIGN_HEADERS		64	/* names in a sign/oversign list */

/* Configuration. */
#define MA_LIMIT_CONFIG_LINE		4096
#define MA_LIMIT_CONFIG_LIST		1024	/* entries of a list key */
#define MA_LIMIT_CONFIG_FILES		8	/* -c files */
#define MA_LIMIT_CONFIG_INCLUDE		4	/* Include nesting */
#define MA_LIMIT_CONFIG_NOTES		256	/* -n notes kept */

#endif
