/*
 * NAME
 *	keystore - KeyTable, SigningTable and the private signing keys
 * SUMMARY
 *	Loads OpenDKIM-format tables (or the single-key Domain/Selector/
 *	KeyFile form) and every private key once, checks them whole, and
 *	answers which keys sign for a From address.
 * SYNOPSIS
 *	#include <mailauth/sign.h>
 *	#include "sign_int.h"	(dkim_sign.c only)
 * DESCRIPTION
 *	ma_keystore_load() reads, in this order:
 *
 *	KeyTable ("PATH" or "file:PATH"): lines "keyname domain:selector:
 *	keypath"; '#' starts a comment; blank lines are skipped; fields are
 *	separated by blanks. keypath must begin with '/', "./" or "../" and
 *	names a PEM private key file. OpenDKIM's other two forms are refused
 *	with a message: key data given inline (we want a file whose mode can
 *	be checked), and the domain "%" (sign with the From domain).
 *	Key names must be unique.
 *
 *	SigningTable ("file:PATH", a bare PATH, or "refile:PATH"): lines
 *	"pattern keyname"; each keyname must be in the KeyTable. Patterns
 *	and addresses are compared without regard to case.
 *	file: exact patterns, looked up as OpenDKIM does for user@host:
 *	"user@host", "host", then for each parent domain ".d" of host (for
 *	a.b.c: ".b.c", ".c") "user@.d" and ".d", finally "*".
 *	refile: each pattern is a wildcard expression ('*' matches any
 *	string, '@' and '.' included) matched against the whole address,
 *	in file order.
 *	Multiple signatures (OpenDKIM's MultipleSignatures, always on here):
 *	every line that matches contributes its key: file: in lookup order
 *	then file order among lines with the same pattern; refile: in file
 *	order. A key already chosen is not repeated. So the two lines
 *	"*@example.com rsa" and "*@example.com ed" give dual signing.
 *
 *	Single-key form (no tables): Domain is a comma/blank separated list;
 *	each listed domain signs, exactly (not its subdomains, as OpenDKIM
 *	with SubDomains no), with KeyFile under Selector. The key names are
 *	the domains. Tables and the single-key form together are refused.
 *
 *	Keys: PEM, unencrypted: PKCS#1 or PKCS#8 RSA, PKCS#8 Ed25519.
 *	a= follows the key type (rsa-sha256, ed25519-sha256). RSA keys below
 *	min_key_bits (0: MA_DKIM_MIN_KEY_BITS) or above
 *	MA_LIMIT_SIGN_RSA_BITS are refused. With require_safe_keys a key
 *	file is refused when group or others have any permission on it, or
 *	when neither the effective user nor root owns it (OpenDKIM's
 *	RequireSafeKeys; OpenSMTPD's ssl.c). The file is checked through the
 *	open descriptor (fstat), once, at load, never per message.
 *
 *	For signing, each key is kept pre-encoded as PKCS#8 PEM, the form
 *	libopendkim 2.11 parses fastest for RSA (measured: PKCS#1 or PKCS#8
 *	base64 DER cost 13% and 17% more per signature) and the only one it
 *	takes for Ed25519 (its base64 DER path uses d2i_PrivateKey_bio,
 *	which refuses both the PKCS#8 DER and the RFC 8463 raw seed).
 *	libopendkim parses that text again for every message (dkim_eom);
 *	its API takes no parsed key.
 *	The store also owns the libopendkim library handles used to sign:
 *	one per (x= lifetime, oversign list) profile, made on first use,
 *	their memory hooked so that everything libopendkim frees (its copy
 *	of the key text included) is wiped first.
 * MEMORY
 *	Everything is malloc'ed at load and freed by ma_keystore_free();
 *	private key text and file contents are wiped (OPENSSL_cleanse)
 *	before free. Strings returned by the getters are borrowed and live
 *	as long as the store. ma_sign_key_public_b64() copies into the
 *	caller's arena.
 * LIMITS
 *	MA_LIMIT_TABLE_LINE bytes per line, MA_LIMIT_TABLE_BYTES per table
 *	file, MA_LIMIT_TABLE_ENTRIES entries per table,
 *	MA_LIMIT_KEY_FILE_BYTES per key file, MA_LIMIT_SIGN_RSA_BITS,
 *	MA_LIMIT_SIGN_ADDRESS bytes of looked-up address,
 *	MA_LIMIT_SIGN_PROFILES shared library handles.
 * DIAGNOSTICS
 *	ma_keystore_load: MA_OK; MA_ERR_SYNTAX (a table line, a bad key),
 *	MA_ERR_LIMIT, MA_ERR_IO (errno meaningful), MA_ERR_NOMEM,
 *	MA_ERR_INTERNAL; err says "file:line: what" (key file problems name
 *	the key file). Nothing is logged here; the caller logs err (fatal at
 *	start, error on reload). Key bytes never appear in messages.
 *	ma_keystore_lookup: MA_OK (n 0: no key), MA_ERR_LIMIT when more than
 *	max keys matched (the first max are returned), MA_ERR_SYNTAX for an
 *	address over MA_LIMIT_SIGN_ADDRESS.
 * THREADS
 *	Immutable after load and shared by threads; the only mutable part,
 *	the list of library profiles, is guarded by a mutex.
 * STANDARDS
 *	RFC 6376 3.3 (algorithms), RFC 8301 3.2 (RSA key size), RFC 8463
 *	(Ed25519; 4.2: raw public key in p=), opendkim.conf(5) (KeyTable,
 *	SigningTable, refile:, MultipleSignatures, RequireSafeKeys).
 * SEE ALSO
 *	dkim_sign.c, sign_int.h, include/mailauth/sign.h.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <dkim.h>

#include <mailauth/arena.h>
#include <mailauth/sign.h>

#include "ma_limits.h"
#include "sign_int.h"

#define NAME_MAX_LEN	255	/* key names, selectors */
#define DOMAIN_MAX_LEN	253	/* RFC 1035 2.3.4 */

struct ma_sign_key {
	char   *name;
	char   *domain;
	char   *selector;
	char   *file;
	const char *alg;		/* static a= text */
	dkim_alg_t lib_alg;
	unsigned bits;
	char   *pub_b64;
	char   *priv;			/* PKCS#8 PEM, NUL-terminated; wiped */
	size_t	priv_len;
};

struct sign_entry {
	char   *pattern;		/* lower case */
	size_t	key;			/* index into keys */
	size_t	line;
};

struct profile {
	DKIM_LIB *lib;
	unsigned ttl;
	char   *names[MA_LIMIT_SIGN_HEADERS + 1]; /* oversign list copy */
};

struct ma_keystore {
	struct ma_sign_key *keys;
	size_t	n_keys;
	struct sign_entry *sign;
	size_t	n_sign;
	int	sign_wild;		/* refile: */
	int	single;			/* Domain/KeyFile form */
	pthread_mutex_t mu;
	struct profile profiles[MA_LIMIT_SIGN_PROFILES];
	size_t	n_profiles;
};

/* fail - format err and return st */
static enum ma_status
	fail(char *err, size_t errlen, enum ma_status st, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));

static enum ma_status
fail(char *err, size_t errlen, enum ma_status st, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		(void) vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return (st);
}

/* wipe_free - cleanse len bytes at p, then free */
static void
wipe_free(void *p, size_t len)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, len);
	free(p);
}

/* dupn - malloc'ed copy of len bytes plus NUL */
static char *
dupn(const char *p, size_t len)
{
	char   *s = malloc(len + 1);

	if (s != NULL) {
		memcpy(s, p, len);
		s[len] = 0;
	}
	return (s);
}

/* lower_n - lower-case len bytes in place */
static void
lower_n(char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		s[i] = (char) tolower((unsigned char) s[i]);
}

/*
 * lib_malloc, lib_free - libopendkim's memory: a size header so that
 * every block, the library's copy of the key text included, is wiped
 * before it goes back.
 */
union lib_hdr {
	size_t	size;
	max_align_t align;
};

static void *
lib_malloc(void *closure, size_t n)
{
	union lib_hdr *h;

	(void) closure;
	if (n > SIZE_MAX - sizeof(*h) || (h = malloc(sizeof(*h) + n)) == NULL)
		return (NULL);
	h->size = n;
	return (h + 1);
}

static void
lib_free(void *closure, void *p)
{
	union lib_hdr *h;

	(void) closure;
	if (p == NULL)
		return;
	h = (union lib_hdr *) p - 1;
	OPENSSL_cleanse(p, h->size);
	free(h);
}

/*
 * read_file - whole file at path (at most max bytes) into a malloc'ed
 * buffer plus NUL; with key set, check it as a private key file. The
 * checks use the open descriptor.
 */
static enum ma_status
read_file(const char *path, size_t max, int key, int safe, char **out,
	  size_t *len_out, char *err, size_t errlen)
{
	struct stat st;
	char   *buf;
	size_t	got = 0, cap;
	ssize_t	n = 0;
	int	fd, e;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return (fail(err, errlen, MA_ERR_IO, "%s: cannot open: %s",
			     path, strerror(errno)));
	if (fstat(fd, &st) != 0) {
		e = errno;
		(void) close(fd);
		return (fail(err, errlen, MA_ERR_IO, "%s: cannot stat: %s",
			     path, strerror(e)));
	}
	if (!S_ISREG(st.st_mode)) {
		(void) close(fd);
		return (fail(err, errlen, MA_ERR_SYNTAX,
			     "%s: not a regular file", path));
	}
	if (key && safe && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		(void) close(fd);
		return (fail(err, errlen, MA_ERR_SYNTAX,
			     "%s: key file is accessible by group or others "
			     "(mode %04o; RequireSafeKeys)", path,
			     (unsigned) (st.st_mode & 07777)));
	}
	if (key && safe && st.st_uid != geteuid() && st.st_uid != 0) {
		(void) close(fd);
		return (fail(err, errlen, MA_ERR_SYNTAX,
			     "%s: key file owned by uid %lu, neither us nor "
			     "root (RequireSafeKeys)", path,
			     (unsigned long) st.st_uid));
	}
	if (st.st_size < 0 || (unsigned long long) st.st_size > max) {
		(void) close(fd);
		return (fail(err, errlen, MA_ERR_LIMIT,
			     "%s: file larger than %zu bytes", path, max));
	}
	cap = ((unsigned long long) st.st_size < max ? (size_t) st.st_size
	       : max) + 1;
	if ((buf = malloc(cap)) == NULL) {
		(void) close(fd);
		return (fail(err, errlen, MA_ERR_NOMEM, "%s: out of memory",
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
		wipe_free(buf, cap);
		return (fail(err, errlen, MA_ERR_IO, "%s: read error: %s",
			     path, strerror(e)));
	}
	if (got == cap) {		/* grew since fstat, or over max */
		wipe_free(buf, cap);
		return (fail(err, errlen, MA_ERR_LIMIT, "%s: file larger "
			     "than %zu bytes or changing", path, max));
	}
	buf[got] = 0;
	*out = buf;
	*len_out = got;
	return (MA_OK);
}

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

/* encode_priv - PKCS#8 PEM text of pk, malloc'ed, for libopendkim */
static char *
encode_priv(EVP_PKEY *pk, size_t *len_out)
{
	BIO    *bio;
	char   *data, *s = NULL;
	long	n;

	if ((bio = BIO_new(BIO_s_secmem())) == NULL)
		return (NULL);
	if (PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL) == 1
	    && (n = BIO_get_mem_data(bio, &data)) > 0
	    && (s = dupn(data, (size_t) n)) != NULL)
		*len_out = (size_t) n;
	BIO_free(bio);			/* secmem: cleared on free */
	return (s);
}

/*
 * load_key - read, check and encode one key file into k (domain,
 * selector, name set by the caller); where names the table line.
 */
static enum ma_status
load_key(const struct ma_keystore_options *opt, struct ma_sign_key *k,
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

	st = read_file(k->file, MA_LIMIT_KEY_FILE_BYTES, 1,
		       opt->require_safe_keys, &buf, &len, err, errlen);
	if (st != MA_OK) {
		char	tmp[512];

		(void) snprintf(tmp, sizeof(tmp), "%s", err);
		return (fail(err, errlen, st, "%s: key %s: %s", where,
			     k->name, tmp));
	}
	if ((bio = BIO_new_mem_buf(buf, (int) len)) != NULL) {
		pk = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
		BIO_free(bio);
	}
	wipe_free(buf, len);
	if (pk == NULL)
		return (fail(err, errlen, MA_ERR_SYNTAX,
			     "%s: key %s: %s: not an unencrypted PEM private "
			     "key", where, k->name, k->file));
	type = EVP_PKEY_get_base_id(pk);
	bits = EVP_PKEY_get_bits(pk);
	st = MA_OK;
	if (type == EVP_PKEY_RSA) {
		k->alg = "rsa-sha256", k->lib_alg = DKIM_SIGN_RSASHA256;
		if (bits < 0 || (unsigned) bits < min)
			st = fail(err, errlen, MA_ERR_SYNTAX, "%s: key %s: %s: "
				  "RSA key too short (%d bits, minimum %u)",
				  where, k->name, k->file, bits, min);
		else if (bits > MA_LIMIT_SIGN_RSA_BITS)
			st = fail(err, errlen, MA_ERR_LIMIT, "%s: key %s: %s: "
				  "RSA key too long (%d bits, maximum %d)",
				  where, k->name, k->file, bits,
				  MA_LIMIT_SIGN_RSA_BITS);
	} else if (type == EVP_PKEY_ED25519) {
		k->alg = "ed25519-sha256", k->lib_alg = DKIM_SIGN_ED25519SHA256;
	} else {
		st = fail(err, errlen, MA_ERR_SYNTAX, "%s: key %s: %s: key "
			  "type is neither RSA nor Ed25519", where, k->name,
			  k->file);
	}
	if (st == MA_OK) {
		k->bits = (unsigned) bits;
		k->pub_b64 = public_b64(pk, type == EVP_PKEY_ED25519);
		k->priv = encode_priv(pk, &k->priv_len);
		if (k->pub_b64 == NULL || k->priv == NULL)
			st = fail(err, errlen, MA_ERR_NOMEM, "%s: key %s: "
				  "encoding failed", where, k->name);
	}
	EVP_PKEY_free(pk);
	return (st);
}

/* key_free_parts - release one key's strings, wiping the private text */
static void
key_free_parts(struct ma_sign_key *k)
{
	free(k->name);
	free(k->domain);
	free(k->selector);
	free(k->file);
	free(k->pub_b64);
	wipe_free(k->priv, k->priv_len);
	memset(k, 0, sizeof(*k));
}

/* ma_keystore_free - wipe key material and free */
void
ma_keystore_free(struct ma_keystore **kp)
{
	struct ma_keystore *ks;

	if (kp == NULL || (ks = *kp) == NULL)
		return;
	for (size_t i = 0; i < ks->n_profiles; i++) {
		dkim_close(ks->profiles[i].lib);
		for (size_t j = 0; ks->profiles[i].names[j] != NULL; j++)
			free(ks->profiles[i].names[j]);
	}
	for (size_t i = 0; i < ks->n_keys; i++)
		key_free_parts(&ks->keys[i]);
	free(ks->keys);
	for (size_t i = 0; i < ks->n_sign; i++)
		free(ks->sign[i].pattern);
	free(ks->sign);
	(void) pthread_mutex_destroy(&ks->mu);
	free(ks);
	*kp = NULL;
}

/*
 * struct lines - iterate over the lines of a table read whole; each
 * line comes without its comment and trimmed of blanks.
 */
struct lines {
	const char *p, *end;
	size_t	lineno;
};

/* next_line - the next line with data; 0 at the end, -1 on a bad line */
static int
next_line(struct lines *ls, const char **lp, size_t *llen, const char **why)
{
	const char *nl, *s, *e, *hash;

	while (ls->p < ls->end) {
		ls->lineno++;
		nl = memchr(ls->p, '\n', (size_t) (ls->end - ls->p));
		s = ls->p;
		e = nl ? nl : ls->end;
		ls->p = nl ? nl + 1 : ls->end;
		if ((size_t) (e - s) > MA_LIMIT_TABLE_LINE) {
			*why = "line too long";
			return (-1);
		}
		if (memchr(s, 0, (size_t) (e - s)) != NULL) {
			*why = "NUL byte in line";
			return (-1);
		}
		if ((hash = memchr(s, '#', (size_t) (e - s))) != NULL)
			e = hash;
		while (s < e && isspace((unsigned char) *s))
			s++;
		while (e > s && isspace((unsigned char) e[-1]))
			e--;
		if (s == e)
			continue;
		*lp = s;
		*llen = (size_t) (e - s);
		return (1);
	}
	return (0);
}

/* split2 - two blank-separated fields of a line; -1 if not exactly two */
static int
split2(const char *p, size_t len, const char **a, size_t *alen,
       const char **b, size_t *blen)
{
	size_t	i = 0, j;

	while (i < len && !isspace((unsigned char) p[i]))
		i++;
	*a = p, *alen = i;
	while (i < len && isspace((unsigned char) p[i]))
		i++;
	j = i;
	while (j < len && !isspace((unsigned char) p[j]))
		j++;
	*b = p + i, *blen = j - i;
	if (*alen == 0 || *blen == 0 || j != len)
		return (-1);
	return (0);
}

/* is_printable - visible ASCII only */
static int
is_printable(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char) p[i] <= ' ' || (unsigned char) p[i] >= 127)
			return (0);
	return (1);
}

/* is_dns_name - letters, digits, '-', '_', '.'; not empty, bounded */
static int
is_dns_name(const char *p, size_t len, size_t max)
{
	if (len == 0 || len > max || p[0] == '.' || p[len - 1] == '.')
		return (0);
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char) p[i]) && p[i] != '-'
		    && p[i] != '_' && p[i] != '.')
			return (0);
	return (1);
}

/* table_path - strip "file:" (or "refile:" when allowed) from a table name */
static const char *
table_path(const char *spec, int allow_re, int *is_re)
{
	*is_re = 0;
	if (strncmp(spec, "file:", 5) == 0)
		return (spec + 5);
	if (strncmp(spec, "refile:", 7) == 0) {
		*is_re = 1;
		return (allow_re ? spec + 7 : NULL);
	}
	if (spec[0] == '/' || spec[0] == '.')
		return (spec);
	return (NULL);			/* db:, dsn:, ldap: ... */
}

/* cmp_key_name - qsort/bsearch of keys by name */
static int
cmp_key_name(const void *a, const void *b)
{
	return (strcmp(((const struct ma_sign_key *) a)->name,
		       ((const struct ma_sign_key *) b)->name));
}

/* key_line - parse one KeyTable line into k (strings malloc'ed) */
static enum ma_status
key_line(const char *path, size_t lineno, const char *p, size_t len,
	 struct ma_sign_key *k, char *err, size_t errlen)
{
	const char *name, *val, *c1, *c2;
	size_t	nlen, vlen;

	if (split2(p, len, &name, &nlen, &val, &vlen) != 0)
		return (fail(err, errlen, MA_ERR_SYNTAX, "%s:%zu: want "
			     "\"keyname domain:selector:keypath\"", path,
			     lineno));
	if (nlen > NAME_MAX_LEN || !is_printable(name, nlen))
		return (fail(err, errlen, MA_ERR_SYNTAX, "%s:%zu: bad key "
			     "name", path, lineno));
	if ((c1 = memchr(val, ':', vlen)) == NULL
	    || (c2 = memchr(c1 + 1, ':', vlen - (size_t) (c1 + 1 - val)))
	    == NULL)
		return (fail(err, errlen, MA_ERR_SYNTAX, "%s:%zu: value is "
			     "not domain:selector:keypath", path, lineno));
	if (c1 - val == 1 && val[0] == '%')
		return (fail(err, errlen, MA_ERR_SYNTAX, "%s:%zu: domain "
			     "\"%%\" is not supported; name the domain", path,
			     lineno));
	if (!is_dns_name(val, (size_t) (c1 - val), DOMAIN_MAX_LEN))
		return (fail(err, errlen, MA_ERR_SYNTAX, "%s:%zu: bad domain",
			     path, lineno));
	if (!is_dns_name(c1 + 1, (size_t) (c2 - c1 - 1), NAME_MAX_LEN))
		return (fail(err, errlen, MA_ERR_SYNTAX, "%s:%zu: bad selector",
			     path, lineno));
	vlen -= (size_t) (c2 + 1 - val);
	if (vlen == 0)
		return (fail(err, errlen, MA_ERR_SYNTAX, "%s:%zu: key path "
			     "missing", path, lineno));
	if (c2[1] != '/' && !(vlen > 2 && strncmp(c2 + 1, "./", 2) == 0)
	    && !(vlen > 3 && strncmp(c2 + 1, "../", 3) == 0))
		return (fail(err, errlen, MA_ERR_SYNTAX, "%s:%zu: key path "
			     "must start with /, ./ or ../ (inline key data "
			     "is not supported)", path, lineno));
	k->name = dupn(name, nlen);
	k->domain = dupn(val, (size_t) (c1 - val));
	k->selector = dupn(c1 + 1, (size_t) (c2 - c1 - 1));
	k->file = dupn(c2 + 1, vlen);
	if (!k->name || !k->domain || !k->selector || !k->file)
		return (fail(err, errlen, MA_ERR_NOMEM, "out of memory"));
	lower_n(k->domain, strlen(k->domain));
	return (MA_OK);
}

/* load_keytable - every KeyTable line and its key */
static enum ma_status
load_keytable(const struct ma_keystore_options *opt, struct ma_keystore *ks,
	      char *err, size_t errlen)
{
	enum ma_status st;
	struct lines ls;
	const char *path, *lp, *why = NULL;
	char   *buf, where[600];
	size_t	len, llen, cap = 0;
	int	is_re, r;

	if ((path = table_path(opt->key_table, 0, &is_re)) == NULL)
		return (fail(err, errlen, MA_ERR_SYNTAX, "KeyTable %s: only "
			     "file: or a path is supported", opt->key_table));
	st = read_file(path, MA_LIMIT_TABLE_BYTES, 0, 0, &buf, &len, err,
		       errlen);
	if (st != MA_OK)
		return (st);
	ls.p = buf, ls.end = buf + len, ls.lineno = 0;
	while ((r = next_line(&ls, &lp, &llen, &why)) > 0) {
		struct ma_sign_key *k;

		if (ks->n_keys == MA_LIMIT_TABLE_ENTRIES) {
			st = fail(err, errlen, MA_ERR_LIMIT, "%s:%zu: more "
				  "than %d keys", path, ls.lineno,
				  MA_LIMIT_TABLE_ENTRIES);
			break;
		}
		if (ks->n_keys == cap) {
			size_t	ncap = cap ? cap * 2 : 16;

			k = realloc(ks->keys, ncap * sizeof(*k));
			if (k == NULL) {
				st = fail(err, errlen, MA_ERR_NOMEM,
					  "out of memory");
				break;
			}
			ks->keys = k, cap = ncap;
		}
		k = &ks->keys[ks->n_keys++];
		memset(k, 0, sizeof(*k));
		st = key_line(path, ls.lineno, lp, llen, k, err, errlen);
		if (st != MA_OK)
			break;
		(void) snprintf(where, sizeof(where), "%s:%zu", path,
				ls.lineno);
		if ((st = load_key(opt, k, where, err, errlen)) != MA_OK)
			break;
	}
	if (r < 0)
		st = fail(err, errlen, MA_ERR_SYNTAX, "%s:%zu: %s", path,
			  ls.lineno, why);
	free(buf);
	if (st != MA_OK)
		return (st);
	if (ks->n_keys > 1)
		qsort(ks->keys, ks->n_keys, sizeof(*ks->keys), cmp_key_name);
	for (size_t i = 1; i < ks->n_keys; i++)
		if (strcmp(ks->keys[i - 1].name, ks->keys[i].name) == 0)
			return (fail(err, errlen, MA_ERR_SYNTAX, "%s: key name "
				     "%s listed twice", path,
				     ks->keys[i].name));
	return (MA_OK);
}

/* cmp_entry - sort SigningTable file: entries by pattern, then line */
static int
cmp_entry(const void *a, const void *b)
{
	const struct sign_entry *x = a, *y = b;
	int	c = strcmp(x->pattern, y->pattern);

	if (c != 0)
		return (c);
	return ((x->line > y->line) - (x->line < y->line));
}

/* find_key - index of the KeyTable entry called name, or -1 */
static long
find_key(const struct ma_keystore *ks, const char *name, size_t nlen)
{
	struct ma_sign_key probe, *k;
	char	tmp[NAME_MAX_LEN + 1];

	if (nlen > NAME_MAX_LEN)
		return (-1);
	memcpy(tmp, name, nlen);
	tmp[nlen] = 0;
	probe.name = tmp;
	if (ks->n_keys == 0)
		return (-1);
	k = bsearch(&probe, ks->keys, ks->n_keys, sizeof(*ks->keys),
		    cmp_key_name);
	return (k ? (long) (k - ks->keys) : -1);
}

/* load_signingtable - every SigningTable line, keys resolved */
static enum ma_status
load_signingtable(const struct ma_keystore_options *opt,
		  struct ma_keystore *ks, char *err, size_t errlen)
{
	enum ma_status st = MA_OK;
	struct lines ls;
	const char *path, *lp, *why = NULL, *pat, *name;
	char   *buf;
	size_t	len, llen, plen, nlen, cap = 0;
	long	ki;
	int	r;

	if ((path = table_path(opt->signing_table, 1, &ks->sign_wild))
	    == NULL)
		return (fail(err, errlen, MA_ERR_SYNTAX, "SigningTable %s: "
			     "only file:, refile: or a path is supported",
			     opt->signing_table));
	st = read_file(path, MA_LIMIT_TABLE_BYTES, 0, 0, &buf, &len, err,
		       errlen);
	if (st != MA_OK)
		return (st);
	ls.p = buf, ls.end = buf + len, ls.lineno = 0;
	while ((r = next_line(&ls, &lp, &llen, &why)) > 0) {
		struct sign_entry *e;

		if (split2(lp, llen, &pat, &plen, &name, &nlen) != 0
		    || !is_printable(pat, plen)) {
			st = fail(err, errlen, MA_ERR_SYNTAX, "%s:%zu: want "
				  "\"pattern keyname\"", path, ls.lineno);
			break;
		}
		if ((ki = find_key(ks, name, nlen)) < 0) {
			st = fail(err, errlen, MA_ERR_SYNTAX, "%s:%zu: key "
				  "name %.*s is not in the KeyTable", path,
				  ls.lineno, (int) (nlen > 64 ? 64 : nlen),
				  name);
			break;
		}
		if (ks->n_sign == MA_LIMIT_TABLE_ENTRIES) {
			st = fail(err, errlen, MA_ERR_LIMIT, "%s:%zu: more "
				  "than %d entries", path, ls.lineno,
				  MA_LIMIT_TABLE_ENTRIES);
			break;
		}
		if (ks->n_sign == cap) {
			size_t	ncap = cap ? cap * 2 : 16;

			e = realloc(ks->sign, ncap * sizeof(*e));
			if (e == NULL) {
				st = fail(err, errlen, MA_ERR_NOMEM,
					  "out of memory");
				break;
			}
			ks->sign = e, cap = ncap;
		}
		e = &ks->sign[ks->n_sign];
		if ((e->pattern = dupn(pat, plen)) == NULL) {
			st = fail(err, errlen, MA_ERR_NOMEM, "out of memory");
			break;
		}
		ks->n_sign++;
		lower_n(e->pattern, plen);
		e->key = (size_t) ki;
		e->line = ls.lineno;
	}
	if (r < 0)
		st = fail(err, errlen, MA_ERR_SYNTAX, "%s:%zu: %s", path,
			  ls.lineno, why);
	free(buf);
	if (st == MA_OK && !ks->sign_wild && ks->n_sign > 1)
		qsort(ks->sign, ks->n_sign, sizeof(*ks->sign), cmp_entry);
	return (st);
}

/* load_single - the Domain/Selector/KeyFile form: one key per domain */
static enum ma_status
load_single(const struct ma_keystore_options *opt, struct ma_keystore *ks,
	    char *err, size_t errlen)
{
	const char *p = opt->domain, *s;
	enum ma_status st;
	size_t	n = 0, len, i;

	if (opt->selector == NULL || opt->key_file == NULL || p == NULL)
		return (fail(err, errlen, MA_ERR_SYNTAX, "Domain, Selector "
			     "and KeyFile go together"));
	if (!is_dns_name(opt->selector, strlen(opt->selector), NAME_MAX_LEN))
		return (fail(err, errlen, MA_ERR_SYNTAX, "Selector %s: bad "
			     "selector", opt->selector));
	for (s = p; *s; s++)
		n += (*s == ',');
	if (n + 1 > MA_LIMIT_CONFIG_LIST)
		return (fail(err, errlen, MA_ERR_LIMIT, "Domain: more than %d "
			     "domains", MA_LIMIT_CONFIG_LIST));
	if ((ks->keys = calloc(n + 1, sizeof(*ks->keys))) == NULL)
		return (fail(err, errlen, MA_ERR_NOMEM, "out of memory"));
	while (*p) {
		struct ma_sign_key *k;

		while (*p == ',' || isspace((unsigned char) *p))
			p++;
		for (len = 0; p[len] && p[len] != ','
		     && !isspace((unsigned char) p[len]); len++)
			continue;
		if (len == 0)
			break;
		if (!is_dns_name(p, len, DOMAIN_MAX_LEN))
			return (fail(err, errlen, MA_ERR_SYNTAX, "Domain: bad "
				     "domain %.*s", (int) (len > 64 ? 64 : len),
				     p));
		for (i = 0; i < ks->n_keys; i++)
			if (strlen(ks->keys[i].domain) == len
			    && strncasecmp(ks->keys[i].domain, p, len) == 0)
				break;
		if (i < ks->n_keys || ks->n_keys > n) {
			p += len;
			continue;	/* listed twice */
		}
		k = &ks->keys[ks->n_keys++];
		k->name = dupn(p, len);
		k->domain = dupn(p, len);
		k->selector = dupn(opt->selector, strlen(opt->selector));
		k->file = dupn(opt->key_file, strlen(opt->key_file));
		if (!k->name || !k->domain || !k->selector || !k->file)
			return (fail(err, errlen, MA_ERR_NOMEM,
				     "out of memory"));
		lower_n(k->domain, len);
		lower_n(k->name, len);
		if ((st = load_key(opt, k, "KeyFile", err, errlen)) != MA_OK)
			return (st);
		p += len;
	}
	if (ks->n_keys == 0)
		return (fail(err, errlen, MA_ERR_SYNTAX, "Domain: empty"));
	ks->single = 1;
	return (MA_OK);
}

/* ma_keystore_load - load and check everything */
enum ma_status
ma_keystore_load(const struct ma_keystore_options *opt,
		 struct ma_keystore **out, char *err, size_t errlen)
{
	struct ma_keystore *ks;
	enum ma_status st = MA_OK;
	int	tables, single;

	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = 0;
	if (opt == NULL)
		return (fail(err, errlen, MA_ERR_INTERNAL, "no options"));
	tables = opt->key_table != NULL || opt->signing_table != NULL;
	single = opt->domain != NULL || opt->key_file != NULL;
	if (tables && single)
		return (fail(err, errlen, MA_ERR_SYNTAX, "give either KeyTable "
			     "and SigningTable or Domain/Selector/KeyFile, "
			     "not both"));
	if (opt->signing_table != NULL && opt->key_table == NULL)
		return (fail(err, errlen, MA_ERR_SYNTAX, "SigningTable needs "
			     "a KeyTable"));
	if ((ks = calloc(1, sizeof(*ks))) == NULL)
		return (fail(err, errlen, MA_ERR_NOMEM, "out of memory"));
	if (pthread_mutex_init(&ks->mu, NULL) != 0) {
		free(ks);
		return (fail(err, errlen, MA_ERR_INTERNAL, "mutex"));
	}
	if (opt->key_table != NULL)
		st = load_keytable(opt, ks, err, errlen);
	if (st == MA_OK && opt->signing_table != NULL)
		st = load_signingtable(opt, ks, err, errlen);
	if (st == MA_OK && single)
		st = load_single(opt, ks, err, errlen);
	if (st != MA_OK) {
		ma_keystore_free(&ks);
		return (st);
	}
	*out = ks;
	return (MA_OK);
}

/* add_key - append key index ki to the result unless present */
static int
add_key(const struct ma_keystore *ks, size_t ki,
	const struct ma_sign_key **keys, size_t max, size_t *n, int *over)
{
	for (size_t i = 0; i < *n; i++)
		if (keys[i] == &ks->keys[ki])
			return (0);
	if (*n >= max) {
		*over = 1;
		return (-1);
	}
	keys[(*n)++] = &ks->keys[ki];
	return (0);
}

/* lookup_exact - every file: entry whose pattern is exactly s */
static void
lookup_exact(const struct ma_keystore *ks, const char *s,
	     const struct ma_sign_key **keys, size_t max, size_t *n,
	     int *over)
{
	size_t	lo = 0, hi = ks->n_sign, mid;

	while (lo < hi) {		/* lower bound */
		mid = lo + (hi - lo) / 2;
		if (strcmp(ks->sign[mid].pattern, s) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < ks->n_sign && strcmp(ks->sign[lo].pattern, s) == 0; lo++)
		if (add_key(ks, ks->sign[lo].key, keys, max, n, over) != 0)
			return;
}

/* wild_match - '*' matches any string; everything else itself */
static int
wild_match(const char *pat, const char *s)
{
	const char *star = NULL, *resume = NULL;

	while (*s) {
		if (*pat == '*') {
			star = pat++;
			resume = s;
		} else if (*pat == *s) {
			pat++, s++;
		} else if (star != NULL) {
			pat = star + 1;
			s = ++resume;
		} else {
			return (0);
		}
	}
	while (*pat == '*')
		pat++;
	return (*pat == 0);
}

/* ma_keystore_lookup - the keys that sign for a From address */
enum ma_status
ma_keystore_lookup(const struct ma_keystore *ks, const char *addr,
		   const struct ma_sign_key **keys_out, size_t max,
		   size_t *n_out)
{
	char	a[MA_LIMIT_SIGN_ADDRESS + 1], c[2 * MA_LIMIT_SIGN_ADDRESS + 4];
	const char *host, *d;
	size_t	len, ulen;
	int	over = 0;

	*n_out = 0;
	if (ks == NULL || addr == NULL)
		return (MA_ERR_INTERNAL);
	if ((len = strlen(addr)) > MA_LIMIT_SIGN_ADDRESS)
		return (MA_ERR_SYNTAX);
	memcpy(a, addr, len + 1);
	lower_n(a, len);
	host = strrchr(a, '@');
	ulen = host ? (size_t) (host - a) : 0;
	host = host ? host + 1 : a;
	if (ks->single) {
		for (size_t i = 0; i < ks->n_keys; i++)
			if (strcmp(ks->keys[i].domain, host) == 0
			    && add_key(ks, i, keys_out, max, n_out, &over))
				break;
	} else if (ks->sign_wild) {
		for (size_t i = 0; i < ks->n_sign && !over; i++)
			if (wild_match(ks->sign[i].pattern, a))
				(void) add_key(ks, ks->sign[i].key, keys_out,
					       max, n_out, &over);
	} else {
		lookup_exact(ks, a, keys_out, max, n_out, &over);
		lookup_exact(ks, host, keys_out, max, n_out, &over);
		for (d = strchr(host, '.'); d != NULL && !over;
		     d = strchr(d + 1, '.')) {
			(void) snprintf(c, sizeof(c), "%.*s@%s", (int) ulen, a,
					d);
			lookup_exact(ks, c, keys_out, max, n_out, &over);
			lookup_exact(ks, d, keys_out, max, n_out, &over);
		}
		lookup_exact(ks, "*", keys_out, max, n_out, &over);
	}
	return (over ? MA_ERR_LIMIT : MA_OK);
}

/* ma_keystore_count - KeyTable entries */
size_t
ma_keystore_count(const struct ma_keystore *ks)
{
	return (ks ? ks->n_keys : 0);
}

/* ma_keystore_key - entry i, or NULL */
const struct ma_sign_key *
ma_keystore_key(const struct ma_keystore *ks, size_t i)
{
	return (ks && i < ks->n_keys ? &ks->keys[i] : NULL);
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

/* new_lib - a signing library handle with our memory hooks and options */
static DKIM_LIB *
new_lib(time_t now, unsigned ttl, const char *const *oversign)
{
	DKIM_LIB *lib;
	uint64_t fixed = (uint64_t) now, t = ttl;
	unsigned int minbits = 1;	/* min_key_bits is applied at load */

	if ((lib = dkim_init(lib_malloc, lib_free)) == NULL)
		return (NULL);
	if (dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_MINKEYBITS, &minbits,
			 sizeof(minbits)) != DKIM_STAT_OK
	    || (now != 0 && dkim_options(lib, DKIM_OP_SETOPT,
					 DKIM_OPTS_FIXEDTIME, &fixed,
					 sizeof(fixed)) != DKIM_STAT_OK)
	    || (ttl != 0 && dkim_options(lib, DKIM_OP_SETOPT,
					 DKIM_OPTS_SIGNATURETTL, &t,
					 sizeof(t)) != DKIM_STAT_OK)
	    || (oversign != NULL && oversign[0] != NULL
		&& dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS,
				(void *) oversign, sizeof(char **))
		!= DKIM_STAT_OK)) {
		dkim_close(lib);
		return (NULL);
	}
	return (lib);
}

/* same_list - two NULL-terminated name lists are equal */
static int
same_list(char *const *a, const char *const *b)
{
	size_t	i;

	for (i = 0; a[i] != NULL && b[i] != NULL; i++)
		if (strcmp(a[i], b[i]) != 0)
			return (0);
	return (a[i] == NULL && b[i] == NULL);
}

/* shared_lib - the profile's library handle, made on first use; or NULL */
static DKIM_LIB *
shared_lib(struct ma_keystore *ks, unsigned ttl, const char *const *oversign)
{
	static const char *const none[] = {NULL};
	struct profile *pr;
	DKIM_LIB *lib = NULL;
	size_t	i, n = 0;

	if (oversign == NULL)
		oversign = none;
	while (oversign[n] != NULL)
		n++;
	if (n > MA_LIMIT_SIGN_HEADERS)
		return (NULL);
	(void) pthread_mutex_lock(&ks->mu);
	for (i = 0; i < ks->n_profiles; i++) {
		pr = &ks->profiles[i];
		if (pr->ttl == ttl && same_list(pr->names, oversign)) {
			lib = pr->lib;
			goto out;
		}
	}
	if (ks->n_profiles == MA_LIMIT_SIGN_PROFILES)
		goto out;
	pr = &ks->profiles[ks->n_profiles];
	memset(pr, 0, sizeof(*pr));
	for (i = 0; i < n; i++)
		if ((pr->names[i] = dupn(oversign[i], strlen(oversign[i])))
		    == NULL)
			break;
	if (i == n && (pr->lib = new_lib(0, ttl,
					 (const char *const *) pr->names))
	    != NULL) {
		pr->ttl = ttl;
		lib = pr->lib;
		ks->n_profiles++;
	} else {
		for (i = 0; i < n; i++)
			free(pr->names[i]);
		memset(pr, 0, sizeof(*pr));
	}
out:
	(void) pthread_mutex_unlock(&ks->mu);
	return (lib);
}

/* ma_keystore_dkim_sign - libopendkim signing handle for key k */
DKIM *
ma_keystore_dkim_sign(const struct ma_keystore *cks,
		      const struct ma_sign_key *k, int hrelaxed,
		      int brelaxed, time_t now, unsigned ttl,
		      const char *const *oversign, DKIM_LIB **own_lib_out,
		      DKIM_STAT *st)
{
	struct ma_keystore *ks = (struct ma_keystore *) cks; /* profiles */
	DKIM_LIB *lib = NULL;
	DKIM   *d;

	*own_lib_out = NULL;
	*st = DKIM_STAT_INTERNAL;
	if (ks == NULL || k == NULL || k < ks->keys
	    || k >= ks->keys + ks->n_keys)
		return (NULL);
	if (now == 0)
		lib = shared_lib(ks, ttl, oversign);
	if (lib == NULL) {
		if ((lib = new_lib(now, ttl, oversign)) == NULL) {
			*st = DKIM_STAT_NORESOURCE;
			return (NULL);
		}
		*own_lib_out = lib;
	}
	d = dkim_sign(lib, (const unsigned char *) "mailauth", NULL,
		      (unsigned char *) k->priv,
		      (const unsigned char *) k->selector,
		      (const unsigned char *) k->domain,
		      hrelaxed ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE,
		      brelaxed ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE,
		      k->lib_alg, -1, st);
	if (d == NULL && *own_lib_out != NULL) {
		dkim_close(*own_lib_out);
		*own_lib_out = NULL;
	}
	return (d);
}

/* ma_keystore_lib_close - close a private library handle */
void
ma_keystore_lib_close(DKIM_LIB *lib)
{
	if (lib != NULL)
		dkim_close(lib);
}
