/*
 * NAME
 *	dkim_int.h - DKIM internals shared by dkim_verify.c and dkim_key.c
 * DESCRIPTION
 *	Not part of the engine contract (include/mailauth/dkim.h). Our
 *	view of one DKIM-Signature field, the parsed form of its tag-list,
 *	and the tag-list and key-record functions of dkim_key.c that
 *	dkim_verify.c calls while it drives libopendkim.
 */
#ifndef MAILAUTH_DKIM_INT_H
#define MAILAUTH_DKIM_INT_H

#include <stddef.h>
#include <strings.h>

#include <dkim.h>
#include <mailauth/dkim.h>

struct ma_arena;

/* What our key lookup saw, overriding libopendkim's coarser view. */
enum ma_dkim_key_state {
	MA_DKIM_KEY_UNTRIED, MA_DKIM_KEY_FOUND, MA_DKIM_KEY_NOTFOUND,
	MA_DKIM_KEY_TEMP, MA_DKIM_KEY_TOOBIG, MA_DKIM_KEY_SYNTAX
};

/* Our view of one DKIM-Signature field. */
struct ma_dkim_dsig {
	struct ma_dkim_sig out;
	int	decided;		/* result set before the library */
	int	fed;			/* field given to libopendkim */
	int	evaluate;		/* handed to libopendkim for verifying */
	DKIM_SIGINFO *si;		/* matched library handle, or NULL */
	enum ma_dkim_key_state key;
	int	key_k_mismatch;		/* key k= is not a='s key type */
	int	key_rsa;		/* key k= is rsa (when looked up) */
	const char *key_g;		/* key g= (RFC 4871), or NULL */
};

/* One parsed tag-list; values point into an arena copy. */
struct ma_dkim_taglist {
	const char *v, *a, *b, *bh, *c, *d, *h, *i, *l, *q, *s, *t, *x;
};

/* ma_dkim_is_fws - folding white space byte of a tag-list */
static inline int
ma_dkim_is_fws(unsigned char c)
{
	return (c == ' ' || c == '\t' || c == '\r' || c == '\n');
}

/* ma_dkim_sig_is_rsa - a= names an RSA algorithm */
static inline int
ma_dkim_sig_is_rsa(const struct ma_dkim_dsig *ds)
{
	return (strncasecmp(ds->out.algorithm, "rsa-", 4) == 0);
}

/*
 * ma_dkim_parse_taglist - RFC 6376 3.2 tag-list of len bytes at p into
 * tl (arena copies, FWS trimmed); *n_unknown counts other tags. NULL
 * when good, else a static syntax reason ("" when out of memory).
 */
const char *ma_dkim_parse_taglist(struct ma_arena *a, const char *p,
				  size_t len, struct ma_dkim_taglist *tl,
				  size_t *n_unknown);

/* ma_dkim_squeeze - arena copy of s without FWS (b=, bh=); NULL: no memory */
char   *ma_dkim_squeeze(struct ma_arena *a, const char *s);

/* ma_dkim_parse_time - RFC 6376 3.5 t=/x=: 1*12DIGIT; -1 when invalid */
long long ma_dkim_parse_time(const char *s);

/* ma_dkim_has_dns_txt - q= offers dns/txt (RFC 6376 3.5) */
int	ma_dkim_has_dns_txt(const char *q);

/*
 * ma_dkim_g_matches - key g= (RFC 4871 3.6.1) against the local-part of
 * i= (NULL: empty); an empty g= matches nothing.
 */
int	ma_dkim_g_matches(const char *g, const char *i);

/*
 * ma_dkim_key_record - check the key record of len bytes at rec fetched
 * for ds (k= against a=, g= noted in ds) and copy it, NUL-terminated and
 * with a bare RSAPublicKey p= rewritten to SubjectPublicKeyInfo, into
 * buf of buflen bytes. Returns MA_DKIM_KEY_FOUND, or _TOOBIG (over
 * MA_LIMIT_DKIM_KEY_RECORD or buf) or _SYNTAX (NUL byte), buf untouched.
 */
enum ma_dkim_key_state ma_dkim_key_record(struct ma_arena *a,
					  struct ma_dkim_dsig *ds,
					  const char *rec, size_t len,
					  unsigned char *buf, size_t buflen);

/*
 * ma_pubkey_get - the key of a SubjectPublicKeyInfo (DER), decoded once
 * and kept (pubkey_cache.c); a new reference or NULL when not a key.
 * (ma_pubkey_stats, its counters, is in <mailauth/dkim.h>.)
 */
struct evp_pkey_st;
struct evp_pkey_st *ma_pubkey_get(const unsigned char *der, size_t len);

#endif
