/*
 * NAME
 *	pubkey_cache - DKIM public keys decoded once, not once a message
 * SUMMARY
 *	ma_pubkey_get(); d2i_PUBKEY_bio() for libopendkim goes through it
 * SYNOPSIS
 *	#include "dkim_int.h"
 *
 *	EVP_PKEY *pk = ma_pubkey_get(der, len);	(EVP_PKEY_free() it)
 * DESCRIPTION
 *	OpenSSL 3.0 decodes a SubjectPublicKeyInfo through its decoder
 *	framework, which enumerates every provider's decoders under
 *	read-write locks on each call: in the profile of a verifying
 *	mailauthd, two such decodes per signature (our key-record check and
 *	libopendkim's) were 45% of the CPU, the RSA verification itself 4%.
 *	A sender's key is the same for every message, so decoded keys are
 *	kept: ma_pubkey_get() returns a new reference to the EVP_PKEY made
 *	from the same DER bytes earlier, or decodes and keeps it.
 *
 *	libopendkim decodes with d2i_PUBKEY_bio() on a memory BIO holding
 *	the key, and has no hook to take a decoded key. This file defines
 *	d2i_PUBKEY_bio(): the executable's definition comes first in symbol
 *	lookup, so libopendkim's call arrives here. A memory BIO without
 *	a reuse argument is answered from the cache; everything else, and
 *	every key the cache cannot decode, goes to OpenSSL's own function
 *	(found with dlsym(RTLD_NEXT)), so errors are OpenSSL's.
 *
 *	Keys are immutable once decoded and reference counted; OpenSSL
 *	guards the caches it keeps inside a key (the legacy RSA copy,
 *	Montgomery contexts) with the key's own lock, so one key may be
 *	used by several threads at once.
 * MEMORY
 *	MA_LIMIT_PUBKEY_CACHE entries (DER copy + one key reference), the
 *	oldest replaced first; freed at exit by the OS (the cache lives as
 *	long as the process, like OpenSSL's own tables).
 * LIMITS
 *	MA_LIMIT_PUBKEY_CACHE keys; MA_LIMIT_PUBKEY_DER bytes of DER (a
 *	larger key is decoded every time, not kept).
 * THREADS
 *	One mutex around the table; decoding runs outside it.
 * SEE ALSO
 *	dkim_key.c, dkim_verify.c, d2i_PUBKEY(3), OpenSSL issue 20286
 *	(decoder performance in 3.0).
 */
#include "config.h"

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1		/* RTLD_NEXT */
#endif
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dkim_int.h"

#define MA_LIMIT_PUBKEY_CACHE	256	/* keys kept */
#define MA_LIMIT_PUBKEY_DER	2048	/* bytes: RSA 8192 is ~1.1 KB */

struct pk_entry {
	uint64_t hash;
	size_t	len;
	unsigned char der[MA_LIMIT_PUBKEY_DER];
	EVP_PKEY *pk;
};

static pthread_mutex_t pk_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pk_entry *pk_table;	/* MA_LIMIT_PUBKEY_CACHE entries */
static size_t pk_next;			/* ring: the slot to replace */
static unsigned long long pk_hits, pk_misses;

/* fnv - FNV-1a */
static uint64_t
fnv(const unsigned char *p, size_t len)
{
	uint64_t h = 1469598103934665603ULL;

	while (len-- > 0)
		h = (h ^ *p++) * 1099511628211ULL;
	return (h);
}

/* lookup - a new reference to the cached key, or NULL; pk_lock held */
static EVP_PKEY *
lookup(uint64_t h, const unsigned char *der, size_t len)
{
	size_t	i;

	for (i = 0; i < MA_LIMIT_PUBKEY_CACHE; i++) {
		struct pk_entry *e = &pk_table[i];

		if (e->pk != NULL && e->hash == h && e->len == len &&
		    memcmp(e->der, der, len) == 0) {
			if (EVP_PKEY_up_ref(e->pk) != 1)
				return (NULL);
			return (e->pk);
		}
	}
	return (NULL);
}

EVP_PKEY *
ma_pubkey_get(const unsigned char *der, size_t len)
{
	const unsigned char *q = der;
	struct pk_entry *e;
	EVP_PKEY *pk, *old = NULL;
	uint64_t h;

	if (der == NULL || len == 0 || len > MA_LIMIT_PUBKEY_DER)
		return (len > MA_LIMIT_PUBKEY_DER ?
			d2i_PUBKEY(NULL, &q, (long) len) : NULL);
	h = fnv(der, len);
	pthread_mutex_lock(&pk_lock);
	if (pk_table == NULL)
		pk_table = calloc(MA_LIMIT_PUBKEY_CACHE, sizeof(*pk_table));
	if (pk_table != NULL && (pk = lookup(h, der, len)) != NULL) {
		pk_hits++;
		pthread_mutex_unlock(&pk_lock);
		return (pk);
	}
	pk_misses++;
	pthread_mutex_unlock(&pk_lock);

	if ((pk = d2i_PUBKEY(NULL, &q, (long) len)) == NULL)
		return (NULL);
	pthread_mutex_lock(&pk_lock);
	if (pk_table != NULL && EVP_PKEY_up_ref(pk) == 1) {
		e = &pk_table[pk_next];
		pk_next = (pk_next + 1) % MA_LIMIT_PUBKEY_CACHE;
		old = e->pk;
		e->pk = pk;
		e->hash = h;
		e->len = len;
		memcpy(e->der, der, len);
	}
	pthread_mutex_unlock(&pk_lock);
	EVP_PKEY_free(old);
	return (pk);
}

void
ma_pubkey_stats(unsigned long long *hits, unsigned long long *misses)
{
	pthread_mutex_lock(&pk_lock);
	*hits = pk_hits;
	*misses = pk_misses;
	pthread_mutex_unlock(&pk_lock);
}

typedef EVP_PKEY *(*d2i_bio_fn)(BIO *, EVP_PKEY **);
static d2i_bio_fn real_d2i_bio;
static pthread_once_t real_once = PTHREAD_ONCE_INIT;

static void
find_real(void)
{
	real_d2i_bio = (d2i_bio_fn) dlsym(RTLD_NEXT, "d2i_PUBKEY_bio");
}

/* d2i_PUBKEY_bio - OpenSSL's, with memory BIOs answered from the cache */
EVP_PKEY *
d2i_PUBKEY_bio(BIO *bp, EVP_PKEY **a)
{
	char   *data = NULL;
	long	n;
	EVP_PKEY *pk;

	if (a == NULL && bp != NULL && BIO_method_type(bp) == BIO_TYPE_MEM &&
	    (n = BIO_get_mem_data(bp, &data)) > 0 && data != NULL &&
	    (pk = ma_pubkey_get((const unsigned char *) data, (size_t) n))
	    != NULL)
		return (pk);
	(void) pthread_once(&real_once, find_real);
	if (real_d2i_bio == NULL || real_d2i_bio == d2i_PUBKEY_bio)
		return (NULL);
	return (real_d2i_bio(bp, a));
}
