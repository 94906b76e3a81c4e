/*
 * NAME
 *	sign.h - outbound DKIM signing: key store and per-message signer
 * DESCRIPTION
 *	The key store loads OpenDKIM-format KeyTable and SigningTable files
 *	(or the single-domain Domain/Selector/KeyFile form), checks every key
 *	file at load (mode, parse, size), and answers which keys sign for a
 *	From address. Key material never leaves keystore.c
 *	and is never logged. A signer (per message, per key) is fed the
 *	header fields and body like the verifier and returns the value of a
 *	DKIM-Signature field.
 *
 *	Call order: ma_keystore_load (at start and on reload; immutable and
 *	shared afterwards) .. ma_keystore_lookup per message ..
 *	ma_dkim_sign_start per key .. _header* _eoh _body* _eom.
 */
#ifndef MAILAUTH_SIGN_H
#define MAILAUTH_SIGN_H

#include <stddef.h>
#include <time.h>
#include <mailauth/status.h>

struct ma_arena;
struct ma_keystore;
struct ma_sign_key;
struct ma_dkim_signer;

struct ma_keystore_options {
	const char *key_table;		/* KeyTable: "PATH", "file:PATH"; NULL: none */
	const char *signing_table;	/* SigningTable: "file:PATH", "refile:PATH"; NULL: none */
	const char *domain;		/* Domain (comma list) for the single-key form */
	const char *selector;		/* Selector */
	const char *key_file;		/* KeyFile */
	int	require_safe_keys;	/* refuse key files readable by group/others */
	unsigned min_key_bits;		/* RSA; refuse smaller keys at load (1024) */
};

/* ma_keystore_load - load and check everything; err names file:line */
enum ma_status ma_keystore_load(const struct ma_keystore_options *opt,
				struct ma_keystore **out, char *err,
				size_t errlen);

/* ma_keystore_free - wipe key material and free; takes NULL */
void	ma_keystore_free(struct ma_keystore **kp);

/*
 * ma_keystore_lookup - the keys that sign for a From address
 * ("local@domain", domain lower case), in OpenDKIM's order (user@host,
 * host, user@.domain, .domain, *; refile: patterns in table order).
 * Several keys for one address (e.g. RSA + Ed25519) are all returned, at
 * most max. *n_out 0: no key (the message goes unsigned).
 */
enum ma_status ma_keystore_lookup(const struct ma_keystore *ks,
				  const char *addr,
				  const struct ma_sign_key **keys_out,
				  size_t max, size_t *n_out);

/* ma_keystore_count, ma_keystore_key - every KeyTable entry (testkey) */
size_t	ma_keystore_count(const struct ma_keystore *ks);
const struct ma_sign_key *ma_keystore_key(const struct ma_keystore *ks,
					  size_t i);

/* key facts (borrowed strings, valid while the key store lives) */
const char *ma_sign_key_name(const struct ma_sign_key *k);	/* KeyTable key */
const char *ma_sign_key_domain(const struct ma_sign_key *k);	/* d= */
const char *ma_sign_key_selector(const struct ma_sign_key *k);	/* s= */
const char *ma_sign_key_algorithm(const struct ma_sign_key *k);	/* a= */
unsigned ma_sign_key_bits(const struct ma_sign_key *k);
const char *ma_sign_key_file(const struct ma_sign_key *k);

/*
 * ma_sign_key_public_b64 - the base64 public key as it belongs in p= of
 * the DNS record (RSA: SubjectPublicKeyInfo; Ed25519: the raw 32 bytes,
 * RFC 8463 4.2), in the arena.
 */
enum ma_status ma_sign_key_public_b64(const struct ma_sign_key *k,
				      struct ma_arena *arena,
				      const char **b64_out);

struct ma_dkim_sign_options {
	int	header_relaxed;		/* c= header: 1 relaxed, 0 simple */
	int	body_relaxed;		/* c= body */
	const char *const *sign_headers;/* NULL: RFC 6376 5.4.1 recommended set */
	const char *const *oversign_headers; /* NULL: "From" */
	time_t	now;			/* t=; 0: time(NULL) */
	unsigned expire_secs;		/* x= = t= + this; 0: no x= */
};

/* ma_dkim_sign_start - a signer for one key; cleanup on the arena */
enum ma_status ma_dkim_sign_start(const struct ma_keystore *ks,
				  const struct ma_sign_key *key,
				  const struct ma_dkim_sign_options *opt,
				  struct ma_arena *arena,
				  struct ma_dkim_signer **out);

/* as ma_dkim_verify_*: "Name:value" fields with CRLF folds; CRLF body */
enum ma_status ma_dkim_sign_header(struct ma_dkim_signer *s,
				   const char *field, size_t len);
enum ma_status ma_dkim_sign_eoh(struct ma_dkim_signer *s);
enum ma_status ma_dkim_sign_body(struct ma_dkim_signer *s,
				 const unsigned char *p, size_t len);

/*
 * ma_dkim_sign_eom - the DKIM-Signature field value (without the name
 * and colon, folded with CRLF + tab), in the arena.
 */
enum ma_status ma_dkim_sign_eom(struct ma_dkim_signer *s,
				const char **value_out);

#endif
