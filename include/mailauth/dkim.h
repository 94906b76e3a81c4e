/*
 * NAME
 *	dkim.h - DKIM verification (RFC 6376, RFC 8301, RFC 8463) on libopendkim
 * DESCRIPTION
 *	A shared verifier (one libopendkim library handle, key lookups through
 *	our resolver) and a per-message verification fed header fields and
 *	body chunks. Every signature on the message is evaluated, up to
 *	MA_LIMIT_DKIM_SIGNATURES; each gets a result and a reason.
 */
#ifndef MAILAUTH_DKIM_H
#define MAILAUTH_DKIM_H

#include <stddef.h>
#include <time.h>
#include <mailauth/status.h>

struct ma_arena;
struct ma_dns;
struct ma_dns_budget;
struct ma_dkim_verifier;
struct ma_dkim_verify;

/* RFC 8601 section 2.7.1 results */
enum ma_dkim_result {
	MA_DKIM_NONE, MA_DKIM_PASS, MA_DKIM_FAIL, MA_DKIM_NEUTRAL,
	MA_DKIM_POLICY, MA_DKIM_TEMPERROR, MA_DKIM_PERMERROR
};

struct ma_dkim_sig {
	enum ma_dkim_result result;
	const char *domain;		/* d=, lower case; "" if absent */
	const char *selector;		/* s= */
	const char *algorithm;		/* a= as written, e.g. "rsa-sha256" */
	const char *identity;		/* i= or NULL */
	const char *b;			/* b= value without whitespace (for header.b) */
	unsigned key_bits;		/* 0 if unknown */
	const char *reason;		/* short text; "ok" on pass */
};

struct ma_dkim_options {
	time_t	now;			/* 0: real clock; else fixed "now" */
	unsigned min_key_bits;		/* RSA; 0: MA_DKIM_MIN_KEY_BITS (1024,
					 * RFC 8301); 1: any size (tests) */
	int	allow_sha1;		/* RFC 8301: 0 */
	unsigned max_signatures;	/* 0: MA_LIMIT_DKIM_SIGNATURES */
	unsigned clock_skew;		/* seconds tolerated for t= in the
					 * future; 0: 300 */
};

/* ma_dkim_result_str - RFC 8601 result word */
const char *ma_dkim_result_str(enum ma_dkim_result r);

/* ma_dkim_verifier_new - shared library handle; thread-safe once built */
enum ma_status ma_dkim_verifier_new(struct ma_dns *dns,
				    struct ma_dkim_verifier **out,
				    char *err, size_t errlen);

/* ma_dkim_verifier_free - destroy; no verification may be in flight */
void	ma_dkim_verifier_free(struct ma_dkim_verifier **vp);

/*
 * ma_pubkey_stats - hits and misses of the process-wide cache of decoded
 * public keys (pubkey_cache.c) since start; thread-safe
 */
void	ma_pubkey_stats(unsigned long long *hits, unsigned long long *misses);

/*
 * ma_dkim_verify_start - per-message verification; registers its cleanup
 * on arena (so it ends with the message).
 */
enum ma_status ma_dkim_verify_start(struct ma_dkim_verifier *v,
				    const struct ma_dkim_options *opt,
				    struct ma_dns_budget *budget,
				    struct ma_arena *arena,
				    struct ma_dkim_verify **out);

/*
 * ma_dkim_verify_header - one header field as it appeared: "Name:value",
 * folds as CRLF, no final CRLF. len bytes, may hold NUL.
 */
enum ma_status ma_dkim_verify_header(struct ma_dkim_verify *dv,
				     const char *field, size_t len);

/* ma_dkim_verify_eoh - end of header */
enum ma_status ma_dkim_verify_eoh(struct ma_dkim_verify *dv);

/* ma_dkim_verify_body - body bytes, CRLF line ends */
enum ma_status ma_dkim_verify_body(struct ma_dkim_verify *dv,
				   const unsigned char *p, size_t len);

/*
 * ma_dkim_verify_eom - finish; *sigs_out points to *n_out results (arena),
 * one per DKIM-Signature field in header order (n 0: unsigned message).
 */
enum ma_status ma_dkim_verify_eom(struct ma_dkim_verify *dv,
				  const struct ma_dkim_sig **sigs_out,
				  size_t *n_out);

/*
 * ma_dkim_key_name - the key record's name "s._domainkey.d" from the
 * s= and d= tags of a DKIM-Signature value (len bytes), for an early
 * lookup; 0 with out filled, -1 when either tag is missing or the name
 * would not be a plain host name of at most outlen - 1 characters.
 * Nothing is validated beyond that: verification does it later.
 */
int	ma_dkim_key_name(const char *sig, size_t len, char *out,
			 size_t outlen);

#endif
