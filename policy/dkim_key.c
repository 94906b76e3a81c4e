/*
 * NAME
 *	dkim_key - DKIM tag-lists and key records
 * SUMMARY
 *	Strict parsing of DKIM-Signature tag-lists and their values; checks
 *	and rewriting of DKIM key records before libopendkim reads them.
 * SYNOPSIS
 *	#include "dkim_int.h"
 * DESCRIPTION
 *	ma_dkim_parse_taglist() splits a DKIM-Signature value into its
 *	known tags (RFC 6376 3.2): tag names are ALPHA *(ALNUM / "_"),
 *	values printable ASCII and FWS, a tag may not repeat, a trailing
 *	";" is allowed. ma_dkim_squeeze() drops FWS from b= and bh=;
 *	ma_dkim_parse_time() reads t= and x= (1*12DIGIT);
 *	ma_dkim_has_dns_txt() says whether q= offers dns/txt (3.5).
 *	What the tags mean for a result is decided in dkim_verify.c.
 *
 *	ma_dkim_key_record() takes the key record that dkim_verify.c
 *	fetched for one signature: a record over MA_LIMIT_DKIM_KEY_RECORD
 *	or the library's buffer is too big, one holding a NUL byte is bad
 *	syntax. Otherwise it notes in the signature's entry whether k=
 *	(default rsa, RFC 6376 3.6.1) matches a= (libopendkim 2.11 ignores
 *	k=) and copies g=, then hands libopendkim the record, with an RSA
 *	p= holding a bare RSAPublicKey (the form RFC 6376 3.6.1 names)
 *	rewritten to SubjectPublicKeyInfo, the only form libopendkim reads.
 *	ma_dkim_g_matches() judges g= as RFC 4871 3.6.1 defined it
 *	(local-part of i=, one "*", empty matches nothing; RFC 6376
 *	dropped g=, honouring it only refuses more). The other key tags
 *	(v=, h=, s=, t=, p= itself) are left to libopendkim.
 * MEMORY
 *	Tag values, squeezed b=, g= and rewritten records are copies in
 *	the message arena. OpenSSL objects made by rsa_spki() are freed
 *	before it returns.
 * LIMITS
 *	MA_LIMIT_DKIM_KEY_RECORD bytes of key record; t=/x= at most 12
 *	digits; the local-part of i= compared with g= at most 511 bytes
 *	(longer never matches).
 * DIAGNOSTICS
 *	ma_dkim_parse_taglist() returns a static "syntax: ..." reason, or
 *	"" when out of memory; ma_dkim_key_record() returns the key state
 *	for the signature's entry. Nothing is logged here.
 * THREADS
 *	Reentrant; no shared state.
 * STANDARDS
 *	RFC 6376 3.2 (tag-lists), 3.5 (signature tags), 3.6.1 (key
 *	records); RFC 4871 3.6.1 (g=); RFC 8017 A.1.1 (RSAPublicKey),
 *	RFC 5280 4.1.2.7 (SubjectPublicKeyInfo).
 * SEE ALSO
 *	dkim_verify.c, dkim_int.h, libopendkim dkim_set_key_lookup(3).
 */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <mailauth/arena.h>
#include <mailauth/dkim.h>

#include "dkim_int.h"
#include "ma_limits.h"

/* tag_slot - where a known tag's value goes, NULL for others */
static const char **
tag_slot(struct ma_dkim_taglist *tl, const char *name, size_t len)
{
	if (len == 1) {
		switch (name[0]) {
		case 'v': return (&tl->v);
		case 'a': return (&tl->a);
		case 'b': return (&tl->b);
		case 'c': return (&tl->c);
		case 'd': return (&tl->d);
		case 'h': return (&tl->h);
		case 'i': return (&tl->i);
		case 'l': return (&tl->l);
		case 'q': return (&tl->q);
		case 's': return (&tl->s);
		case 't': return (&tl->t);
		case 'x': return (&tl->x);
		}
		return (NULL);
	}
	if (len == 2 && name[0] == 'b' && name[1] == 'h')
		return (&tl->bh);
	return (NULL);
}

/*
 * ma_dkim_parse_taglist - RFC 6376 3.2 tag-list of len bytes at p. Known
 * tags go to tl (arena copies, FWS trimmed). Returns NULL or a syntax
 * reason. Unknown and duplicate-free; duplicates and bad bytes are errors.
 */
const char *
ma_dkim_parse_taglist(struct ma_arena *a, const char *p, size_t len,
		      struct ma_dkim_taglist *tl, size_t *n_unknown)
{
	size_t	i = 0, ns, ne, vs, ve;
	const char **slot;

	memset(tl, 0, sizeof(*tl));
	*n_unknown = 0;
	while (i < len) {
		while (i < len && ma_dkim_is_fws((unsigned char) p[i]))
			i++;
		if (i >= len)
			break;			/* trailing ";" allowed */
		ns = i;
		if (!isalpha((unsigned char) p[i]))
			return ("syntax: bad tag name");
		while (i < len && (isalnum((unsigned char) p[i]) || p[i] == '_'))
			i++;
		ne = i;
		while (i < len && ma_dkim_is_fws((unsigned char) p[i]))
			i++;
		if (i >= len || p[i] != '=')
			return ("syntax: tag without =");
		i++;
		while (i < len && ma_dkim_is_fws((unsigned char) p[i]))
			i++;
		vs = i;
		while (i < len && p[i] != ';') {
			unsigned char c = (unsigned char) p[i];

			if (!ma_dkim_is_fws(c) && (c < 0x21 || c > 0x7e))
				return ("syntax: bad byte in tag value");
			i++;
		}
		ve = i;
		while (ve > vs && ma_dkim_is_fws((unsigned char) p[ve - 1]))
			ve--;
		slot = tag_slot(tl, p + ns, ne - ns);
		if (slot == NULL) {
			(*n_unknown)++;
		} else {
			if (*slot != NULL)
				return ("syntax: duplicate tag");
			if ((*slot = ma_arena_memdup(a, p + vs, ve - vs)) == NULL)
				return ("");	/* out of memory */
		}
		if (i < len)
			i++;			/* the ';' */
	}
	return (NULL);
}

/* ma_dkim_squeeze - copy of s without FWS (b=, bh=) */
char *
ma_dkim_squeeze(struct ma_arena *a, const char *s)
{
	size_t	n = strlen(s), i, j = 0;
	char   *d = ma_arena_alloc(a, n + 1);

	if (d == NULL)
		return (NULL);
	for (i = 0; i < n; i++)
		if (!ma_dkim_is_fws((unsigned char) s[i]))
			d[j++] = s[i];
	d[j] = 0;
	return (d);
}

/* ma_dkim_parse_time - RFC 6376 3.5 t=/x=: 1*12DIGIT; -1 when invalid */
long long
ma_dkim_parse_time(const char *s)
{
	long long n = 0;
	size_t	i;

	for (i = 0; s[i] != 0; i++) {
		if (i >= 12 || !isdigit((unsigned char) s[i]))
			return (-1);
		n = n * 10 + (s[i] - '0');
	}
	return (i == 0 ? -1 : n);
}

/*
 * ma_dkim_has_dns_txt - q= offers dns/txt (colon-separated list,
 * RFC 6376 3.5)
 */
int
ma_dkim_has_dns_txt(const char *q)
{
	const char *p = q, *e;
	size_t	n;

	for (;;) {
		while (ma_dkim_is_fws((unsigned char) *p))
			p++;
		e = strchr(p, ':');
		n = e ? (size_t) (e - p) : strlen(p);
		while (n > 0 && ma_dkim_is_fws((unsigned char) p[n - 1]))
			n--;
		if (n == 7 && strncasecmp(p, "dns/txt", 7) == 0)
			return (1);
		if (e == NULL)
			return (0);
		p = e + 1;
	}
}

/*
 * find_tag - value of tag name in the tag-list of len bytes at p (a key
 * record); *vlen its length, FWS trimmed. NULL when absent.
 */
static const char *
find_tag(const char *p, size_t len, const char *name, size_t *vlen)
{
	size_t	i = 0, ns, ne, vs, ve, nl = strlen(name);

	while (i < len) {
		while (i < len && ma_dkim_is_fws((unsigned char) p[i]))
			i++;
		ns = i;
		while (i < len && p[i] != '=' && p[i] != ';')
			i++;
		ne = i;
		while (ne > ns && ma_dkim_is_fws((unsigned char) p[ne - 1]))
			ne--;
		if (i >= len || p[i] == ';') {
			i++;
			continue;
		}
		vs = ++i;
		while (i < len && p[i] != ';')
			i++;
		ve = i;
		while (vs < ve && ma_dkim_is_fws((unsigned char) p[vs]))
			vs++;
		while (ve > vs && ma_dkim_is_fws((unsigned char) p[ve - 1]))
			ve--;
		if (ne - ns == nl && memcmp(p + ns, name, nl) == 0) {
			*vlen = ve - vs;
			return (p + vs);
		}
		i++;
	}
	return (NULL);
}

/* hexval - value of a hex digit, -1 if none */
static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	return (-1);
}

/*
 * ma_dkim_g_matches - RFC 4871 3.6.1 g=: the local-part of i= (dkim-quoted-
 * printable, empty without i=) against g with at most one "*"; an
 * empty g= matches nothing.
 */
int
ma_dkim_g_matches(const char *g, const char *i)
{
	char	lp[512];
	size_t	n = 0, gl = strlen(g), pre, suf;
	const char *star, *q;
	char   *at;

	if (gl == 0)
		return (0);
	for (q = i; q != NULL && *q != 0; q++) {
		if (n >= sizeof(lp) - 1)
			return (0);		/* too long to be ours */
		if (*q == '=' && hexval(q[1]) >= 0 && hexval(q[2]) >= 0) {
			lp[n++] = (char) (hexval(q[1]) * 16 + hexval(q[2]));
			q += 2;
		} else if (!ma_dkim_is_fws((unsigned char) *q)) {
			lp[n++] = *q;
		}
	}
	lp[n] = 0;
	if ((at = strrchr(lp, '@')) == NULL)
		n = 0;			/* no i=: empty local-part */
	else
		n = (size_t) (at - lp);
	lp[n] = 0;
	if ((star = strchr(g, '*')) == NULL)
		return (strcmp(g, lp) == 0);
	pre = (size_t) (star - g);
	suf = gl - pre - 1;
	return (n >= pre + suf && strncmp(lp, g, pre) == 0
		&& strcmp(lp + n - suf, star + 1) == 0);
}

/*
 * rsa_spki - RFC 6376 3.6.1 names a bare RSAPublicKey for k=rsa, while
 * libopendkim reads only SubjectPublicKeyInfo: rewrite p= in that case.
 * Returns a new record in the arena, or NULL to keep the original.
 */
static char *
rsa_spki(struct ma_arena *a, const char *rec, size_t len)
{
	const char *pv;
	size_t	pl, i, j = 0;
	unsigned char *der, *spki = NULL;
	const unsigned char *q;
	char   *b64, *out = NULL;
	EVP_PKEY *pk = NULL;
	int	dl, sl;

	if ((pv = find_tag(rec, len, "p", &pl)) == NULL || pl == 0)
		return (NULL);
	if ((b64 = ma_arena_alloc(a, pl + 1)) == NULL
	    || (der = ma_arena_alloc(a, pl + 1)) == NULL)
		return (NULL);
	for (i = 0; i < pl; i++)
		if (!ma_dkim_is_fws((unsigned char) pv[i]))
			b64[j++] = pv[i];
	if (j == 0 || j > INT_MAX || (dl = EVP_DecodeBlock(der,
			(const unsigned char *) b64, (int) j)) <= 0)
		return (NULL);
	for (i = j; i > 0 && b64[i - 1] == '='; i--)
		dl--;			/* EVP_DecodeBlock counts padding */
	if ((pk = ma_pubkey_get(der, (size_t) dl)) != NULL) {
		EVP_PKEY_free(pk);	/* kept for libopendkim's decode */
		return (NULL);		/* already SubjectPublicKeyInfo */
	}
	q = der;
	if ((pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &q, dl)) == NULL)
		return (NULL);
	if ((sl = i2d_PUBKEY(pk, &spki)) > 0) {
		size_t	cap = (pv - rec) + 4 * ((size_t) sl / 3 + 1) + 1
		    + (len - (size_t) (pv + pl - rec)) + 1;

		if ((out = ma_arena_alloc(a, cap)) != NULL) {
			size_t	off = (size_t) (pv - rec);

			memcpy(out, rec, off);
			off += (size_t) EVP_EncodeBlock((unsigned char *) out
						       + off, spki, sl);
			memcpy(out + off, pv + pl, len - (size_t) (pv + pl - rec));
			off += len - (size_t) (pv + pl - rec);
			out[off] = 0;
		}
	}
	OPENSSL_free(spki);
	EVP_PKEY_free(pk);
	return (out);
}

/* key_checks - our key-record checks: k= against a=, g= (RFC 4871) */
static void
key_checks(struct ma_arena *a, struct ma_dkim_dsig *ds, const char *rec,
	   size_t len)
{
	const char *k, *g;
	size_t	kl = 3, gl;
	int	sig_rsa = strncasecmp(ds->out.algorithm, "rsa-", 4) == 0;

	if ((k = find_tag(rec, len, "k", &kl)) == NULL)
		k = "rsa", kl = 3;	/* RFC 6376 3.6.1 default */
	ds->key_rsa = kl == 3 && strncasecmp(k, "rsa", 3) == 0;
	if (ds->key_rsa != sig_rsa)
		ds->key_k_mismatch = 1;
	if ((g = find_tag(rec, len, "g", &gl)) != NULL)
		ds->key_g = ma_arena_memdup(a, g, gl);
}

/*
 * ma_dkim_key_record - the key record of len bytes at rec, fetched for
 * ds: size and NUL checks, key_checks(), then the record (p= rewritten
 * by rsa_spki() where that applies) copied NUL-terminated into buf.
 */
enum ma_dkim_key_state
ma_dkim_key_record(struct ma_arena *a, struct ma_dkim_dsig *ds,
		   const char *rec, size_t len, unsigned char *buf,
		   size_t buflen)
{
	const char *data = rec;
	char   *spki;

	if (len > MA_LIMIT_DKIM_KEY_RECORD || len + 1 > buflen)
		return (MA_DKIM_KEY_TOOBIG);
	if (memchr(rec, 0, len) != NULL)
		return (MA_DKIM_KEY_SYNTAX);
	key_checks(a, ds, rec, len);
	if (!ds->key_k_mismatch && ma_dkim_sig_is_rsa(ds)
	    && (spki = rsa_spki(a, rec, len)) != NULL
	    && strlen(spki) < buflen)
		len = strlen(spki), data = spki;
	memcpy(buf, data, len);
	buf[len] = 0;
	return (MA_DKIM_KEY_FOUND);
}

/* host_chars - n bytes of [A-Za-z0-9._-] without FWS: 1, else 0 */
static int
host_chars(const char *p, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char) p[i]) && p[i] != '.' &&
		    p[i] != '-' && p[i] != '_')
			return (0);
	return (n > 0);
}

/* ma_dkim_key_name - "s._domainkey.d" from a signature, for prefetching */
int
ma_dkim_key_name(const char *sig, size_t len, char *out, size_t outlen)
{
	const char *d, *sel;
	size_t	dl, sl;
	static const char mid[] = "._domainkey.";

	if (sig == NULL || out == NULL ||
	    (d = find_tag(sig, len, "d", &dl)) == NULL ||
	    (sel = find_tag(sig, len, "s", &sl)) == NULL ||
	    !host_chars(d, dl) || !host_chars(sel, sl) ||
	    sl + sizeof(mid) - 1 + dl >= outlen)
		return (-1);
	memcpy(out, sel, sl);
	memcpy(out + sl, mid, sizeof(mid) - 1);
	memcpy(out + sl + sizeof(mid) - 1, d, dl);
	out[sl + sizeof(mid) - 1 + dl] = '\0';
	return (0);
}
