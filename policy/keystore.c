/*
 * NAME
 *	keystore - the private signing keys: files, checks, EVP_PKEYs
 * SUMMARY
 *	Loads every private key once, checks it whole, keeps it parsed
 *	and performs the signature operation, so that no other module ever
 *	holds key material.
 * SYNOPSIS
 *	#include <mailauth/sign.h>
 *	#include "sign_int.h"	(dkim_sign.c: ma_keystore_sign)
 * DESCRIPTION
 *	ma_keystore_load() checks the options, lets keystore_table.c parse
 *	the KeyTable/SigningTable (or the single-key form), which calls
 *	ma_ks_load_key() here for every key file, and fetches the SHA-256
 *	method once for all signers.
 *
 *	Keys: PEM, unencrypted: PKCS#1 or PKCS#8 RSA, PKCS#8 Ed25519. a=
 *	follows the key type (rsa-sha256, ed25519-sha256). RSA keys below
 *	min_key_bits (0: MA_DKIM_MIN_KEY_BITS) or above
 *	MA_LIMIT_SIGN_RSA_BITS are refused. Each file is parsed once, at
 *	load, into an EVP_PKEY kept in the store; signing never parses a
 *	key again (libopendkim 2.11 re-parsed the PEM text for every
 *	message: 4x the cost of the RSA-2048 signature itself, 20x for
 *	Ed25519).
 *
 *	RequireSafeKeys (require_safe_keys): a key file is refused when
 *	group or others have any permission bit on it. Its owner does not
 *	matter: OpenDKIM's documented layout is a key owned by the UserID
 *	(e.g. opendkim) with mode 0600, which mailauthd reads as root at
 *	start and as the UserID on reload. Only regular files are taken;
 *	a symbolic link is followed and its target checked (the checks use
 *	fstat on the open descriptor, so what is checked is what is read).
 *	All checks run at load, never per message.
 *
 *	ma_keystore_sign() signs the SHA-256 digest of a header hash input:
 *	RSA with PKCS#1 v1.5 padding and the SHA-256 DigestInfo (the same
 *	bytes EVP_DigestSign with SHA-256 gives over the input), Ed25519
 *	over the 32-byte digest as RFC 8463 3 wants.
 * MEMORY
 *	Everything is malloc'ed at load and freed by ma_keystore_free().
 *	Key file contents are wiped (OPENSSL_cleanse) before free; the
 *	EVP_PKEYs are freed with EVP_PKEY_free, which clears the private
 *	parts (RSA: BN_clear_free of d, p, q, ...; Ed25519: the private
 *	key buffer is cleansed). Strings returned by the getters are
 *	borrowed and live as long as the store. ma_sign_key_public_b64()
 *	copies into the caller's arena.
 * LIMITS
 *	MA_LIMIT_KEY_FILE_BYTES per key file, MA_LIMIT_SIGN_RSA_BITS; the
 *	table limits are keystore_table.c's.
 * DIAGNOSTICS
 *	ma_keystore_load: MA_OK; MA_ERR_SYNTAX (a table line, a bad key, an
 *	unsafe key file), MA_ERR_LIMIT, MA_ERR_IO (errno meaningful),
 *	MA_ERR_NOMEM, MA_ERR_INTERNAL; err says "file:line: what" (key file
 *	problems name the key file). Nothing is logged here; the caller
 *	logs err (fatal at start, error on reload). Key bytes never appear
 *	in messages.
 *	ma_keystore_sign: MA_OK, MA_ERR_NOMEM, MA_ERR_INTERNAL (OpenSSL
 *	refused; nothing logged).
 * THREADS
 *	Immutable after load and shared by threads; EVP_PKEY and EVP_MD are
 *	used read-only, each signature makes its own OpenSSL context.
 * STANDARDS
 *	RFC 6376 3.3 (algorithms), RFC 8301 3.2 (RSA key size), RFC 8463
 *	(Ed25519; 3: signing the SHA-256 digest; 4.2: raw public key in p=),
 *	RFC 8017 8.2 (RSASSA-PKCS1-v1_5), opendkim.conf(5) (RequireSafeKeys).
 * SEE ALSO
 *	keystore_table.c, dkim_sign.c, sign_int.h, include/mailauth/sign.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <mailauth/arena.h>
#include <mailauth/sign.h>

#include "ma_limits.h"
#define MA_KEYSTORE_IMPL
#include "sign_int.h"

/* ma_ks_fail - format err (may be NULL) and return st */
enum ma_status
ma_ks_fail(char *err, size_t errlen, enum ma_status st, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		(void) vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return (st);
}

/* ma_ks_wipe_free - cleanse len bytes at p, then free */
void
ma_ks_wipe_free(void *p, size_t len)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, len);
	free(p);
}

/*
 * ma_ks_read_file - whole file at path (at most max bytes) into a
 * malloc'ed buffer plus NUL; with key set, check it as a private key
 * file. The checks use the open descriptor.
 */
enum ma_status
ma_ks_read_file(const char *path, size_t max, int key, int safe, char **out,
		size_t *len_out, char *err, size_t errlen)
{
	struct stat st;
	char   *buf;
	size_t	got = 0, cap;
	ssize_t	n = 0;
	int	fd, e;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return (ma_ks_fail(err, errlen, MA_ERR_IO, "%s: cannot open: %s",
			     path, strerror(errno)));
	if (fstat(fd, &st) != 0) {
		e = errno;
		(void) close(fd);
		return (ma_ks_fail(err, errlen, MA_ERR_IO, "%s: cannot stat: %s",
			     path, strerror(e)));
	}
	if (!S_ISREG(st.st_mode)) {
		(void) close(fd);
		return (ma_ks_fail(err, errlen, MA_ERR_SYNTAX,
			     "%s: not a regular file", path));
	}
	if (key && safe && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		(void) close(fd);
		return (ma_ks_fail(err, errlen, MA_ERR_SYNTAX,
			     "%s: key file is accessible by group or others "
			     "(mode %04o; RequireSafeKeys)", path,
			     (unsigned) (st.st_mode & 07777)));
	}
	if (st.st_size < 0 || (unsigned long long) st.st_size > max) {
		(void) close(fd);
		return (ma_ks_fail(err, errlen, MA_ERR_LIMIT,
			     "%s: file larger than %zu bytes", path, max));
	}
	cap = ((unsigned long long) st.st_size < max ? (size_t) st.st_size
	       : max) + 1;
	if ((buf = malloc(cap)) == NULL) {
		(void) close(fd);
		return (ma_ks_fail(err, errlen, MA_ERR_NOMEM, "%s: out of memory",
			     path));
	}
	while (got < cap) {
		n = read(fd, buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t) n;
	}
	e = errno;
	(void) close(fd);
	if (n < 0) {
		ma_ks_wipe_free(buf, cap);
		return (ma_ks_fail(err, errlen, MA_ERR_IO, "%s: read error: %s",
			     path, strerror(e)));
	}
	if (got == cap) {		/* grew since fstat, or over max */
		ma_ks_wipe_free(buf, cap);
		return (ma_ks_fail(err, errlen, MA_ERR_LIMIT, "%s: file larger "
			     "than %zu bytes or changing", path, max));
	}
	buf[got] = 0;
	*out = buf;
	*len_out = got;
	return (MA_OK);
}

/* no_passphrase - PEM callback: encrypted keys are refused */
/* no_passphrase - PEM callback: encrypted keys are refused */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void) buf, (void) size, (void) rwflag, (void) u;
	return (0);
}

/* b64 - malloc'ed base64 of len bytes */
static char *
b64(const unsigned char *p, size_t len)
{
	char   *s;

	if (len > (size_t) INT32_MAX / 2
	    || (s = malloc(4 * ((len + 2) / 3) + 1)) == NULL)
		return (NULL);
	(void) EVP_EncodeBlock((unsigned char *) s, p, (int) len);
	return (s);
}

/* public_b64 - p= text of a key (RSA SPKI DER; Ed25519 raw 32 bytes) */
static char *
public_b64(EVP_PKEY *pk, int ed)
{
	unsigned char raw[64], *der = NULL;
	size_t	rlen = sizeof(raw);
	char   *s;
	int	n;

	if (ed) {
		if (EVP_PKEY_get_raw_public_key(pk, raw, &rlen) != 1)
			return (NULL);
		return (b64(raw, rlen));
	}
	if ((n = i2d_PUBKEY(pk, &der)) <= 0)
		return (NULL);
	s = b64(der, (size_t) n);
	OPENSSL_free(der);
	return (s);
}

/*
 * ma_ks_load_key - read, check and parse one key file into k (domain,
 * selector, name set by the caller); where names the table line.
 */
enum ma_status
ma_ks_load_key(const struct ma_keystore_options *opt, struct ma_sign_key *k,
	       const char *where, char *err, size_t errlen)
{
	unsigned min = opt->min_key_bits ? opt->min_key_bits
	    : MA_DKIM_MIN_KEY_BITS;
	enum ma_status st;
	EVP_PKEY *pk = NULL;
	char   *buf;
	size_t	len;
	BIO    *bio;
	int	type, bits;

	st = ma_ks_read_file(k->file, MA_LIMIT_KEY_FILE_BYTES, 1,
			     opt->require_safe_keys, &buf, &len, err, errlen);
	if (st != MA_OK) {
		char	tmp[512];

		(void) snprintf(tmp, sizeof(tmp), "%s", err);
		return (ma_ks_fail(err, errlen, st, "%s: key %s: %s", where,
				   k->name, tmp));
	}
	if ((bio = BIO_new_mem_buf(buf, (int) len)) != NULL) {
		pk = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
		BIO_free(bio);
	}
	ma_ks_wipe_free(buf, len + 1);
	if (pk == NULL)
		return (ma_ks_fail(err, errlen, MA_ERR_SYNTAX, "%s: key %s: %s: "
				   "not an unencrypted PEM private key", where,
				   k->name, k->file));
	type = EVP_PKEY_get_base_id(pk);
	bits = EVP_PKEY_get_bits(pk);
	st = MA_OK;
	if (type == EVP_PKEY_RSA) {
		k->alg = "rsa-sha256";
		if (bits < 0 || (unsigned) bits < min)
			st = ma_ks_fail(err, errlen, MA_ERR_SYNTAX, "%s: key "
					"%s: %s: RSA key too short (%d bits, "
					"minimum %u)", where, k->name, k->file,
					bits, min);
		else if (bits > MA_LIMIT_SIGN_RSA_BITS)
			st = ma_ks_fail(err, errlen, MA_ERR_LIMIT, "%s: key "
					"%s: %s: RSA key too long (%d bits, "
					"maximum %d)", where, k->name, k->file,
					bits, MA_LIMIT_SIGN_RSA_BITS);
	} else if (type == EVP_PKEY_ED25519) {
		k->alg = "ed25519-sha256";
		k->is_ed25519 = 1;
	} else {
		st = ma_ks_fail(err, errlen, MA_ERR_SYNTAX, "%s: key %s: %s: "
				"key type is neither RSA nor Ed25519", where,
				k->name, k->file);
	}
	if (st == MA_OK) {
		k->bits = (unsigned) bits;
		if ((k->pub_b64 = public_b64(pk, k->is_ed25519)) == NULL)
			st = ma_ks_fail(err, errlen, MA_ERR_NOMEM, "%s: key "
					"%s: encoding failed", where, k->name);
	}
	if (st != MA_OK) {
		EVP_PKEY_free(pk);
		return (st);
	}
	k->pkey = pk;
	return (MA_OK);
}

/* key_free_parts - release one key: strings, then the parsed key */
static void
key_free_parts(struct ma_sign_key *k)
{
	free(k->name);
	free(k->domain);
	free(k->selector);
	free(k->file);
	free(k->pub_b64);
	EVP_PKEY_free(k->pkey);		/* clears the private parts */
	memset(k, 0, sizeof(*k));
}

/* ma_keystore_free - wipe key material and free */
void
ma_keystore_free(struct ma_keystore **kp)
{
	struct ma_keystore *ks;

	if (kp == NULL || (ks = *kp) == NULL)
		return;
	for (size_t i = 0; i < ks->n_keys; i++)
		key_free_parts(&ks->keys[i]);
	free(ks->keys);
	ma_ks_free_tables(ks);
	EVP_MD_free(ks->sha256);
	free(ks);
	*kp = NULL;
}

/* ma_keystore_load - load and check everything */
enum ma_status
ma_keystore_load(const struct ma_keystore_options *opt,
		 struct ma_keystore **out, char *err, size_t errlen)
{
	struct ma_keystore *ks;
	enum ma_status st;
	int	tables, single;

	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = 0;
	if (opt == NULL)
		return (ma_ks_fail(err, errlen, MA_ERR_INTERNAL, "no options"));
	tables = opt->key_table != NULL || opt->signing_table != NULL;
	single = opt->domain != NULL || opt->key_file != NULL;
	if (tables && single)
		return (ma_ks_fail(err, errlen, MA_ERR_SYNTAX, "give either "
				   "KeyTable and SigningTable or Domain/"
				   "Selector/KeyFile, not both"));
	if (opt->signing_table != NULL && opt->key_table == NULL)
		return (ma_ks_fail(err, errlen, MA_ERR_SYNTAX, "SigningTable "
				   "needs a KeyTable"));
	if ((ks = calloc(1, sizeof(*ks))) == NULL)
		return (ma_ks_fail(err, errlen, MA_ERR_NOMEM, "out of memory"));
	if ((ks->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL) {
		free(ks);
		return (ma_ks_fail(err, errlen, MA_ERR_INTERNAL, "OpenSSL has "
				   "no SHA-256"));
	}
	if ((st = ma_ks_load_tables(opt, ks, err, errlen)) != MA_OK) {
		ma_keystore_free(&ks);
		return (st);
	}
	*out = ks;
	return (MA_OK);
}

/* ma_sign_key_name - KeyTable key name */
const char *
ma_sign_key_name(const struct ma_sign_key *k)
{
	return (k->name);
}

/* ma_sign_key_domain - d= */
const char *
ma_sign_key_domain(const struct ma_sign_key *k)
{
	return (k->domain);
}

/* ma_sign_key_selector - s= */
const char *
ma_sign_key_selector(const struct ma_sign_key *k)
{
	return (k->selector);
}

/* ma_sign_key_algorithm - a= */
const char *
ma_sign_key_algorithm(const struct ma_sign_key *k)
{
	return (k->alg);
}

/* ma_sign_key_bits - key size */
unsigned
ma_sign_key_bits(const struct ma_sign_key *k)
{
	return (k->bits);
}

/* ma_sign_key_file - the key file's path */
const char *
ma_sign_key_file(const struct ma_sign_key *k)
{
	return (k->file);
}

/* ma_sign_key_public_b64 - p= value, copied into the arena */
enum ma_status
ma_sign_key_public_b64(const struct ma_sign_key *k, struct ma_arena *arena,
		       const char **b64_out)
{
	*b64_out = NULL;
	if (k == NULL || arena == NULL)
		return (MA_ERR_INTERNAL);
	if ((*b64_out = ma_arena_strdup(arena, k->pub_b64)) == NULL)
		return (MA_ERR_NOMEM);
	return (MA_OK);
}

/* ma_keystore_sha256 - the SHA-256 method fetched at load */
const EVP_MD *
ma_keystore_sha256(const struct ma_keystore *ks)
{
	return (ks->sha256);
}

/* sign_rsa - RSASSA-PKCS1-v1_5 with the SHA-256 DigestInfo of digest */
static int
sign_rsa(const struct ma_keystore *ks, EVP_PKEY *pk,
	 const unsigned char *digest, unsigned char *sig, size_t *sig_len)
{
	EVP_PKEY_CTX *pc;
	int	ok;

	if ((pc = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL)) == NULL)
		return (-1);
	ok = EVP_PKEY_sign_init(pc) == 1
	    && EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1
	    && EVP_PKEY_CTX_set_signature_md(pc, ks->sha256) == 1
	    && EVP_PKEY_sign(pc, sig, sig_len, digest, MA_SIGN_DIGEST_LEN)
	    == 1;
	EVP_PKEY_CTX_free(pc);
	return (ok ? 0 : -1);
}

/* sign_ed25519 - PureEdDSA over the 32 digest bytes (RFC 8463 3) */
static int
sign_ed25519(EVP_PKEY *pk, const unsigned char *digest, unsigned char *sig,
	     size_t *sig_len)
{
	EVP_MD_CTX *c;
	int	ok;

	if ((c = EVP_MD_CTX_new()) == NULL)
		return (-1);
	ok = EVP_DigestSignInit_ex(c, NULL, NULL, NULL, NULL, pk, NULL) == 1
	    && EVP_DigestSign(c, sig, sig_len, digest, MA_SIGN_DIGEST_LEN)
	    == 1;
	EVP_MD_CTX_free(c);
	return (ok ? 0 : -1);
}

/* ma_keystore_sign - sign a header hash digest with key k */
enum ma_status
ma_keystore_sign(const struct ma_keystore *ks, const struct ma_sign_key *k,
		 const unsigned char *digest, unsigned char *sig,
		 size_t *sig_len)
{
	size_t	need;
	int	r;

	if (ks == NULL || k == NULL || k < ks->keys
	    || k >= ks->keys + ks->n_keys || k->pkey == NULL)
		return (MA_ERR_INTERNAL);
	need = k->is_ed25519 ? 64 : (k->bits + 7) / 8;
	if (*sig_len < need)
		return (MA_ERR_INTERNAL);
	if (k->is_ed25519)
		r = sign_ed25519(k->pkey, digest, sig, sig_len);
	else
		r = sign_rsa(ks, k->pkey, digest, sig, sig_len);
	return (r == 0 ? MA_OK : MA_ERR_INTERNAL);
}
