/*
 * NAME
 *	keygen - mailauth-keygen: a DKIM key pair and its DNS record
 * SUMMARY
 *	Generate an RSA or Ed25519 signing key, write the private key and
 *	the TXT record to publish, print the KeyTable and SigningTable lines.
 * SYNOPSIS
 *	mailauth-keygen -d DOMAIN -s SELECTOR [-a rsa|ed25519] [-b BITS]
 *			[-D DIR] [-f]
 * DESCRIPTION
 *	Checks DOMAIN and SELECTOR (RFC 6376 3.1 sub-domain syntax: labels
 *	of letters, digits and inner hyphens), the algorithm and the key
 *	size before anything is generated or written. Writes
 *	DIR/SELECTOR.private (PKCS#8 PEM, mode 0600) and DIR/SELECTOR.txt
 *	(the record in zone-file form, as opendkim-genkey writes it: the
 *	value split into quoted strings of at most 255 bytes inside
 *	parentheses), then prints the lines to add to the KeyTable and the
 *	(refile:) SigningTable.
 *
 *	The private key file is created with O_CREAT|O_EXCL and mode 0600
 *	and then set to exactly 0600 with fchmod(), so it is never readable
 *	by others whatever the umask. Existing files are refused unless -f
 *	is given; with -f each file is written to a fresh temporary file
 *	(mkstemp, 0600) in DIR and renamed over the old one, so a reader
 *	sees either the old or the new file, whole. Without -f, a private
 *	key written when the .txt then fails is removed again.
 * MEMORY
 *	Short-lived process; OpenSSL objects are freed before exit. The
 *	private key goes from OpenSSL to the file through an fd BIO and is
 *	never copied into our buffers.
 * LIMITS
 *	RSA 1024..4096 bits (RFC 8301 3.2: at least 1024, 2048 advised);
 *	names at most 253 bytes in all (RFC 1035 2.3.4), labels 63.
 * DIAGNOSTICS
 *	Exit 0 on success; 2 for usage errors (bad option, domain,
 *	selector, algorithm, size); 1 for failures (file exists, I/O,
 *	OpenSSL), with "mailauth-keygen: " and the problem on stderr.
 *	Private key bytes are never printed; only the public key is.
 * THREADS
 *	Single-threaded.
 * STANDARDS
 *	RFC 6376 3.6.1 (key records), RFC 8301 (key sizes), RFC 8463 4.2
 *	(Ed25519 p= is the raw 32-byte key), RFC 5958 (PKCS#8).
 * SEE ALSO
 *	mailauth-keygen(8), mailauth-testkey(8), opendkim-genkey(8).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define PROG		"mailauth-keygen"
#define EXIT_FAIL	1
#define EXIT_USAGE	2

#define RSA_BITS_DEFAULT 2048u
#define RSA_BITS_MIN	1024u		/* RFC 8301 3.2 */
#define RSA_BITS_MAX	4096u
#define ED25519_RAW_LEN	32		/* RFC 8032 5.1.5 */
#define DNS_NAME_MAX	253		/* RFC 1035 2.3.4, text form */
#define DNS_LABEL_MAX	63
#define TXT_STRING_MAX	255		/* RFC 1035 3.3.14 */

enum kg_alg { KG_RSA, KG_ED25519 };

struct kg_opts {
	const char *domain;	/* lower-cased copy, no trailing dot */
	const char *selector;	/* lower-cased copy */
	enum kg_alg alg;
	unsigned bits;		/* RSA only */
	const char *dir;
	int	force;
};

/* usage - print the synopsis (and why), exit 2 */
static void
usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "%s: %s\n", PROG, why);
	fprintf(stderr, "usage: %s -d DOMAIN -s SELECTOR [-a rsa|ed25519] "
		"[-b BITS] [-D DIR] [-f]\n", PROG);
	exit(EXIT_USAGE);
}

/* fail - print the problem, return EXIT_FAIL */
static int __attribute__((format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "%s: ", PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return (EXIT_FAIL);
}

/* ssl_fail - fail() with the first OpenSSL error appended */
static int
ssl_fail(const char *what)
{
	char	buf[256];
	unsigned long e = ERR_get_error();

	if (e == 0)
		return (fail("%s", what));
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return (fail("%s: %s", what, buf));
}

/* parse_bits - range-checked decimal key size; -1 when not a number */
static int
parse_bits(const char *s, unsigned *out)
{
	unsigned long v;
	char   *end;

	if (!isdigit((unsigned char) *s))
		return (-1);
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > UINT_MAX)
		return (-1);
	*out = (unsigned) v;
	return (0);
}

/*
 * name_check - RFC 6376 3.1 sub-domain syntax (Let-dig [Ldh-str]) for
 * every label; NULL when good, else a static reason. One trailing dot
 * is allowed (and dropped by name_copy).
 */
static const char *
name_check(const char *s)
{
	size_t	len = strlen(s), i, label = 0;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0)
		return ("is empty");
	if (len > DNS_NAME_MAX)
		return ("is longer than 253 characters");
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char) s[i];

		if (c == '.') {
			if (label == 0)
				return ("has an empty label");
			if (s[i - 1] == '-')
				return ("has a label ending in '-'");
			label = 0;
			continue;
		}
		if (!isalnum(c) && c != '-')
			return ("may hold only letters, digits, '-' and '.'");
		if (c == '-' && label == 0)
			return ("has a label starting with '-'");
		if (++label > DNS_LABEL_MAX)
			return ("has a label longer than 63 characters");
	}
	if (s[len - 1] == '-')
		return ("has a label ending in '-'");
	return (NULL);
}

/* name_copy - lower-case copy without a trailing dot; NULL: no memory */
static char *
name_copy(const char *s)
{
	size_t	len = strlen(s), i;
	char   *c;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if ((c = malloc(len + 1)) == NULL)
		return (NULL);
	for (i = 0; i < len; i++)
		c[i] = (char) tolower((unsigned char) s[i]);
	c[len] = '\0';
	return (c);
}

/* parse_args - command line to struct kg_opts; exits 2 on bad usage */
static void
parse_args(int argc, char **argv, struct kg_opts *o)
{
	const char *domain = NULL, *selector = NULL, *alg = "rsa";
	const char *bits = NULL, *why;
	char	name[DNS_NAME_MAX + 32];
	int	ch;

	memset(o, 0, sizeof(*o));
	o->dir = ".";
	while ((ch = getopt(argc, argv, "a:b:d:D:fhs:")) != -1) {
		switch (ch) {
		case 'a': alg = optarg; break;
		case 'b': bits = optarg; break;
		case 'd': domain = optarg; break;
		case 'D': o->dir = optarg; break;
		case 'f': o->force = 1; break;
		case 's': selector = optarg; break;
		case 'h':
		default: usage(NULL);
		}
	}
	if (optind < argc)
		usage("unexpected argument");
	if (domain == NULL || selector == NULL)
		usage("-d DOMAIN and -s SELECTOR are required");
	if ((why = name_check(domain)) != NULL) {
		fprintf(stderr, "%s: domain \"%s\" %s\n", PROG, domain, why);
		usage(NULL);
	}
	if ((why = name_check(selector)) != NULL
	    || selector[strlen(selector) - 1] == '.') {
		fprintf(stderr, "%s: selector \"%s\" %s\n", PROG, selector,
			why ? why : "may not end in '.'");
		usage(NULL);
	}
	if ((o->domain = name_copy(domain)) == NULL
	    || (o->selector = name_copy(selector)) == NULL)
		usage("out of memory");
	if ((size_t) snprintf(name, sizeof(name), "%s._domainkey.%s",
			      o->selector, o->domain) > DNS_NAME_MAX)
		usage("SELECTOR._domainkey.DOMAIN is longer than 253 "
		      "characters");

	if (strcasecmp(alg, "rsa") == 0 || strcasecmp(alg, "rsa-sha256") == 0)
		o->alg = KG_RSA;
	else if (strcasecmp(alg, "ed25519") == 0
		 || strcasecmp(alg, "ed25519-sha256") == 0)
		o->alg = KG_ED25519;
	else
		usage("-a wants rsa or ed25519");

	if (o->alg == KG_ED25519) {
		if (bits != NULL)
			usage("-b applies to rsa keys only "
			      "(ed25519 is 256 bits)");
		o->bits = 256;
	} else if (bits == NULL) {
		o->bits = RSA_BITS_DEFAULT;
	} else if (parse_bits(bits, &o->bits) < 0 || o->bits < RSA_BITS_MIN
		   || o->bits > RSA_BITS_MAX) {
		fprintf(stderr, "%s: -b %s: RSA keys are %u to %u bits\n",
			PROG, bits, RSA_BITS_MIN, RSA_BITS_MAX);
		usage(NULL);
	}
}

/* generate - a new key pair; NULL after printing the reason */
static EVP_PKEY *
generate(const struct kg_opts *o)
{
	EVP_PKEY *pkey;

	if (o->alg == KG_RSA)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) o->bits);
	else
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (pkey == NULL)
		(void) ssl_fail("key generation failed");
	return (pkey);
}

/*
 * public_b64 - p= value: RSA SubjectPublicKeyInfo DER, Ed25519 the raw
 * 32 bytes (RFC 8463 4.2), in base64; malloc'ed, NULL after a message.
 */
static char *
public_b64(EVP_PKEY *pkey, enum kg_alg alg)
{
	unsigned char raw[ED25519_RAW_LEN], *der = NULL;
	const unsigned char *in;
	size_t	rawlen = sizeof(raw);
	int	len;
	char   *b64;

	if (alg == KG_RSA) {
		if ((len = i2d_PUBKEY(pkey, &der)) <= 0) {
			(void) ssl_fail("cannot encode the public key");
			return (NULL);
		}
		in = der;
	} else {
		if (EVP_PKEY_get_raw_public_key(pkey, raw, &rawlen) != 1
		    || rawlen != ED25519_RAW_LEN) {
			(void) ssl_fail("cannot get the ed25519 public key");
			return (NULL);
		}
		in = raw;
		len = (int) rawlen;
	}
	if ((b64 = malloc(4 * (((size_t) len + 2) / 3) + 1)) != NULL)
		EVP_EncodeBlock((unsigned char *) b64, in, len);
	else
		(void) fail("out of memory");
	OPENSSL_free(der);
	return (b64);
}

/*
 * txt_record - the zone-file text: owner, class, type, then
 * "v=DKIM1; k=...; " and the p= tag in quoted strings of at most 255
 * bytes, one per line inside parentheses. malloc'ed; NULL: no memory.
 */
static char *
txt_record(const struct kg_opts *o, const char *b64)
{
	const char *k = o->alg == KG_RSA ? "rsa" : "ed25519";
	size_t	plen = strlen(b64) + 2, off, n, cap, used;
	char   *out;
	int	w;

	cap = 512 + plen + (plen / TXT_STRING_MAX + 1) * 8;
	if ((out = malloc(cap)) == NULL)
		return (NULL);
	w = snprintf(out, cap, "%s._domainkey.%s.\tIN\tTXT\t( \"v=DKIM1; "
		     "k=%s; \"\n", o->selector, o->domain, k);
	if (w < 0 || (size_t) w >= cap)
		goto toolong;
	used = (size_t) w;
	/* "p=" + b64 as one value, cut every TXT_STRING_MAX bytes */
	for (off = 0; off < plen; off += n) {
		n = plen - off > TXT_STRING_MAX ? TXT_STRING_MAX : plen - off;
		w = snprintf(out + used, cap - used, "\t\"%s%.*s\"%s",
			     off == 0 ? "p=" : "",
			     (int) (off == 0 ? n - 2 : n),
			     b64 + (off == 0 ? 0 : off - 2),
			     off + n < plen ? "\n" : " )");
		if (w < 0 || (size_t) w >= cap - used)
			goto toolong;
		used += (size_t) w;
	}
	w = snprintf(out + used, cap - used, "  ; DKIM key %s for %s "
		     "(%s %u bits)\n", o->selector, o->domain, k, o->bits);
	if (w < 0 || (size_t) w >= cap - used)
		goto toolong;
	return (out);
toolong:
	free(out);
	return (NULL);
}

/* write_all - the whole buffer to fd; -1 with errno */
static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t	w;

	while (len > 0) {
		if ((w = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		p += w;
		len -= (size_t) w;
	}
	return (0);
}

/*
 * fill - write one file's contents to fd: the PEM private key when pkey
 * is set, else text; then set the mode and fsync. -1 with a message.
 */
static int
fill(int fd, const char *path, EVP_PKEY *pkey, const char *text,
     mode_t mode)
{
	BIO    *bio;
	int	ok;

	if (fchmod(fd, mode) < 0) {
		(void) fail("%s: chmod: %s", path, strerror(errno));
		return (-1);
	}
	if (pkey != NULL) {
		if ((bio = BIO_new_fd(fd, BIO_NOCLOSE)) == NULL) {
			(void) ssl_fail("cannot make a BIO");
			return (-1);
		}
		ok = PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL,
					      NULL) == 1
		    && BIO_flush(bio) == 1;
		BIO_free(bio);
		if (!ok) {
			(void) ssl_fail("cannot write the private key");
			return (-1);
		}
	} else if (write_all(fd, text, strlen(text)) < 0) {
		(void) fail("%s: write: %s", path, strerror(errno));
		return (-1);
	}
	if (fsync(fd) < 0) {
		(void) fail("%s: fsync: %s", path, strerror(errno));
		return (-1);
	}
	return (0);
}

/*
 * write_file - create path with the given mode and contents. Without
 * force: O_CREAT|O_EXCL on path itself (never an existing file or a
 * symlink). With force: a mkstemp file beside it, renamed over path.
 * Returns 0, or -1 after a message (nothing left behind).
 */
static int
write_file(const char *path, EVP_PKEY *pkey, const char *text, mode_t mode,
	   int force)
{
	char	tmp[PATH_MAX];
	int	fd, rc;

	if (!force) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW
			  | O_CLOEXEC, mode & 0600);
		if (fd < 0) {
			if (errno == EEXIST)
				(void) fail("%s exists; use -f to overwrite",
					    path);
			else
				(void) fail("%s: %s", path, strerror(errno));
			return (-1);
		}
		rc = fill(fd, path, pkey, text, mode);
		if (close(fd) < 0 && rc == 0) {
			(void) fail("%s: close: %s", path, strerror(errno));
			rc = -1;
		}
		if (rc < 0)
			(void) unlink(path);
		return (rc);
	}
	if ((size_t) snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path)
	    >= sizeof(tmp)) {
		(void) fail("%s: path too long", path);
		return (-1);
	}
	if ((fd = mkstemp(tmp)) < 0) {
		(void) fail("%s: %s", tmp, strerror(errno));
		return (-1);
	}
	rc = fill(fd, path, pkey, text, mode);
	if (close(fd) < 0 && rc == 0) {
		(void) fail("%s: close: %s", tmp, strerror(errno));
		rc = -1;
	}
	if (rc == 0 && rename(tmp, path) < 0) {
		(void) fail("%s: rename: %s", path, strerror(errno));
		rc = -1;
	}
	if (rc < 0)
		(void) unlink(tmp);
	return (rc);
}

/* txt_mode - 0644 less the umask: the record is public */
static mode_t
txt_mode(void)
{
	mode_t	mask = umask(077);

	(void) umask(mask);
	return (0644 & ~mask);
}

/* print_hint - what to add to the tables and publish (stdout) */
static void
print_hint(const struct kg_opts *o, const char *priv, const char *txt)
{
	printf("Wrote %s (%s %u bits, mode 0600) and %s.\n", priv,
	       o->alg == KG_RSA ? "rsa" : "ed25519", o->bits, txt);
	printf("Publish the record in %s in the DNS zone of %s.\n\n", txt,
	       o->domain);
	printf("KeyTable line:\n%s._domainkey.%s %s:%s:%s\n\n", o->selector,
	       o->domain, o->domain, o->selector, priv);
	printf("SigningTable line (SigningTable refile:PATH):\n"
	       "*@%s %s._domainkey.%s\n\n", o->domain, o->selector,
	       o->domain);
	printf("Then run mailauth-testkey to check the published record.\n");
}

/* main - check the arguments, generate, write both files, print the lines */
int
main(int argc, char **argv)
{
	struct kg_opts o;
	char	dir[PATH_MAX], priv[PATH_MAX], txt[PATH_MAX];
	char   *b64 = NULL, *rec = NULL;
	EVP_PKEY *pkey = NULL;
	struct stat st;
	int	rc = EXIT_FAIL;

	parse_args(argc, argv, &o);
	if (realpath(o.dir, dir) == NULL)
		return (fail("%s: %s", o.dir, strerror(errno)));
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return (fail("%s: not a directory", dir));
	if ((size_t) snprintf(priv, sizeof(priv), "%s/%s.private",
			      strcmp(dir, "/") == 0 ? "" : dir, o.selector)
	    >= sizeof(priv)
	    || (size_t) snprintf(txt, sizeof(txt), "%s/%s.txt",
				 strcmp(dir, "/") == 0 ? "" : dir, o.selector)
	    >= sizeof(txt))
		return (fail("%s: path too long", dir));
	if (!o.force) {
		if (lstat(priv, &st) == 0)
			return (fail("%s exists; use -f to overwrite", priv));
		if (lstat(txt, &st) == 0)
			return (fail("%s exists; use -f to overwrite", txt));
	}

	if ((pkey = generate(&o)) == NULL)
		goto out;
	if ((b64 = public_b64(pkey, o.alg)) == NULL)
		goto out;
	if ((rec = txt_record(&o, b64)) == NULL) {
		(void) fail("out of memory");
		goto out;
	}
	if (write_file(priv, pkey, NULL, 0600, o.force) < 0)
		goto out;
	if (write_file(txt, NULL, rec, txt_mode(), o.force) < 0) {
		if (!o.force)
			(void) unlink(priv);
		goto out;
	}
	print_hint(&o, priv, txt);
	rc = 0;
out:
	free(rec);
	free(b64);
	EVP_PKEY_free(pkey);
	free((char *) o.domain);
	free((char *) o.selector);
	return (rc);
}
