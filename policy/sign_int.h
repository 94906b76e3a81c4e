/*
 * NAME
 *	sign_int.h - inside the key store; what dkim_sign.c asks of it
 * DESCRIPTION
 *	Not part of the engine contract (include/mailauth/sign.h).
 *
 *	For dkim_sign.c: the SHA-256 method fetched once at load, and the
 *	private key operation itself, so that the key (an EVP_PKEY parsed
 *	once at load) never leaves keystore.c.
 *
 *	With MA_KEYSTORE_IMPL defined (keystore.c and keystore_table.c
 *	only): the layout of the store and what the two files ask of each
 *	other. keystore_table.c parses the KeyTable/SigningTable (or the
 *	single-key form) and answers lookups; keystore.c reads files, loads
 *	and checks keys, owns the EVP_PKEYs and frees everything.
 */
#ifndef MAILAUTH_SIGN_INT_H
#define MAILAUTH_SIGN_INT_H

#include <stddef.h>

#include <openssl/evp.h>

#include <mailauth/sign.h>

#include "ma_limits.h"

#define MA_SIGN_DIGEST_LEN	32	/* SHA-256 */
#define MA_SIGN_MAX_SIG_LEN	(MA_LIMIT_SIGN_RSA_BITS / 8)

/*
 * ma_keystore_sha256 - the SHA-256 method fetched at load (shared,
 * read-only; EVP_DigestInit_ex with it skips the per-call fetch).
 */
const EVP_MD *ma_keystore_sha256(const struct ma_keystore *ks);

/*
 * ma_keystore_sign - the signature of key k over the SHA-256 digest
 * (MA_SIGN_DIGEST_LEN bytes) of a DKIM header hash input: RSA
 * RSASSA-PKCS1-v1_5 with SHA-256 (RFC 6376 3.3.1; the same bytes as
 * EVP_DigestSign with SHA-256 over the input itself); Ed25519 PureEdDSA
 * over the 32-byte digest (RFC 8463 3). sig has room for *sig_len bytes
 * (MA_SIGN_MAX_SIG_LEN is enough); *sig_len is set to the length.
 * MA_OK, MA_ERR_NOMEM, MA_ERR_INTERNAL. Thread-safe: the key is shared
 * read-only.
 */
enum ma_status ma_keystore_sign(const struct ma_keystore *ks,
				const struct ma_sign_key *k,
				const unsigned char *digest,
				unsigned char *sig, size_t *sig_len);

#ifdef MA_KEYSTORE_IMPL

#define MA_KS_NAME_MAX	255	/* key names, selectors */
#define MA_KS_DOMAIN_MAX 253	/* RFC 1035 2.3.4 */

struct ma_sign_key {
	char   *name;
	char   *domain;
	char   *selector;
	char   *file;
	const char *alg;		/* static a= text */
	int	is_ed25519;
	unsigned bits;
	char   *pub_b64;
	EVP_PKEY *pkey;			/* parsed once; cleared at free */
};

struct ma_ks_entry {
	char   *pattern;		/* lower case */
	size_t	key;			/* index into keys */
	size_t	line;
};

struct ma_keystore {
	struct ma_sign_key *keys;
	size_t	n_keys;
	struct ma_ks_entry *sign;
	size_t	n_sign;
	int	sign_wild;		/* refile: */
	int	single;			/* Domain/KeyFile form */
	EVP_MD *sha256;
};

/* keystore.c */

/*
 * ma_ks_read_file - whole file at path (at most max bytes) into a
 * malloc'ed buffer plus NUL, freed by the caller with ma_ks_wipe_free
 * (buf, len + 1); with key set, checked as a private key file
 * (require_safe: no group or other permission bits).
 */
enum ma_status ma_ks_read_file(const char *path, size_t max, int key,
			       int require_safe, char **out, size_t *len_out,
			       char *err, size_t errlen);

/* ma_ks_fail - format err (may be NULL) and return st */
enum ma_status ma_ks_fail(char *err, size_t errlen, enum ma_status st,
			  const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));

/* ma_ks_wipe_free - cleanse len bytes at p, then free; takes NULL */
void	ma_ks_wipe_free(void *p, size_t len);

/*
 * ma_ks_load_key - read, check and parse k->file into k (name, domain,
 * selector, file set by the caller); where names the table line.
 */
enum ma_status ma_ks_load_key(const struct ma_keystore_options *opt,
			      struct ma_sign_key *k, const char *where,
			      char *err, size_t errlen);

/* keystore_table.c */

/* ma_ks_load_tables - KeyTable, SigningTable or the single-key form */
enum ma_status ma_ks_load_tables(const struct ma_keystore_options *opt,
				 struct ma_keystore *ks, char *err,
				 size_t errlen);

/* ma_ks_free_tables - the SigningTable entries */
void	ma_ks_free_tables(struct ma_keystore *ks);

#endif /* MA_KEYSTORE_IMPL */

#endif
