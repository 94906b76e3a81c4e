/*
 * NAME
 *	dkim_sign - DKIM signing of one message with one key (RFC 6376)
 * SUMMARY
 *	Fed the header fields and body like the verifier, returns the value
 *	of a DKIM-Signature field, signed with a key of the key store.
 * SYNOPSIS
 *	#include <mailauth/sign.h>
 * DESCRIPTION
 *	ma_dkim_sign_start() makes a signer for one key with per-message
 *	options, then ma_dkim_sign_header() per field, ma_dkim_sign_eoh(),
 *	ma_dkim_sign_body() per chunk, ma_dkim_sign_eom(). Our own signer
 *	on OpenSSL 3; the private key operation is the key store's
 *	(ma_keystore_sign in keystore.c), so key material stays there.
 *
 *	Body: canonicalized as it streams in (simple RFC 6376 3.4.3,
 *	relaxed 3.4.4) into a SHA-256 context; chunk boundaries may fall
 *	anywhere (inside CRLF, inside a WSP run): the state between chunks
 *	is a pending CR, a pending WSP run (relaxed), the count of empty
 *	lines held back (they count only if more content follows) and
 *	whether the current line has content. Lines end with CRLF only; a
 *	bare CR or LF is line content. Trailing empty lines are dropped; a
 *	last line without CRLF gets one; an empty body hashes as CRLF
 *	(simple) or nothing (relaxed). No l=.
 *
 *	Header: fields whose names are in the sign list (NULL: DEFAULT_SIGN
 *	below: the RFC 6376 5.4.1 set plus Sender, Message-ID, the MIME
 *	fields, Resent-Sender/-Message-ID and List-Unsubscribe-Post (RFC
 *	8058 3.1 wants it signed); "from" is always added) or in the
 *	oversign list (NULL: "from") are kept. h= names each kept field, in
 *	header order, lower case; then each name of the oversign list once
 *	more, so that h= names an oversigned field once more than it is
 *	present and a field of that name added later breaks the signature
 *	(RFC 6376 5.4.2, 8.15). The hash takes, for every h= name, the last
 *	instance not yet used (bottom-up, 5.4.2); a name with none left adds
 *	nothing. Simple (3.4.1): the field exactly as fed plus CRLF.
 *	Relaxed (3.4.2): name lower-cased, CRLFs removed, WSP runs made one
 *	SP, WSP around the colon and at the end removed.
 *
 *	The field: tags in the order of the RFC 8463 Appendix A example,
 *	"v=1; a=; c=H/B; d=; i=@d; q=dns/txt; s=; t=; [x=;] h=n1 : n2 : ..;
 *	bh=; b=", so that the published signatures come out byte for byte.
 *	It is folded with CRLF + tab before a tag or an h= name that would
 *	pass column 78 (the name "DKIM-Signature: " counted), and inside
 *	the b= value, never right after "b=" (verifiers differ on whether
 *	that FWS belongs to the value). The field itself is hashed last, as
 *	"DKIM-Signature: " + value up to "b=" (RFC 6376 3.7, no CRLF): with
 *	simple header canonicalization exactly the text returned, with
 *	relaxed its relaxed form, which the folding does not change.
 *	Signature: SHA-256 of that header hash input, signed by the key
 *	store: RSA PKCS#1 v1.5 (rsa-sha256), Ed25519 over the digest
 *	(ed25519-sha256, RFC 8463 3). t= is opt->now or the clock; x= is
 *	t= + expire_secs when that is not 0.
 * MEMORY
 *	The signer, kept field copies and the returned value live in the
 *	message arena; the OpenSSL digest context is freed by a cleanup
 *	registered on the arena. Nothing is kept between messages.
 * LIMITS
 *	MA_LIMIT_HEADER_FIELDS fields, MA_LIMIT_HEADER_FIELD_BYTES per field
 *	and for our field, MA_LIMIT_SIGN_HEADERS names per sign or oversign
 *	list (each at most MAX_NAME_LEN bytes).
 * DIAGNOSTICS
 *	MA_OK; ma_dkim_sign_header: MA_ERR_LIMIT (too many fields, field too
 *	long) and MA_ERR_SYNTAX (NUL byte, no colon): the field was not fed
 *	and is not signed; the caller should then leave the message
 *	unsigned if the field is delivered. ma_dkim_sign_start:
 *	MA_ERR_SYNTAX for a header name list with other than letters,
 *	digits and '-', MA_ERR_LIMIT for a list that is too long.
 *	ma_dkim_sign_eoh: MA_ERR_SYNTAX when no From field was fed.
 *	MA_ERR_NOMEM; MA_ERR_INTERNAL for calls out of order or an OpenSSL
 *	failure. Nothing is logged here; no key material is ever logged.
 * THREADS
 *	A signer is used by one thread at a time; signers share only the
 *	key store, which is read-only. The options are the signer's own
 *	(no library-wide state).
 * STANDARDS
 *	RFC 6376 (3.4 canonicalization, 3.5 tags, 3.7 hashes, 5.4 header
 *	selection, 8.15 oversigning), RFC 8301, RFC 8463 (3, Appendix A),
 *	RFC 8058 3.1.
 * SEE ALSO
 *	keystore.c, sign_int.h, dkim_verify.c.
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include <mailauth/arena.h>
#include <mailauth/buf.h>
#include <mailauth/sign.h>

#include "ma_limits.h"
#include "sign_int.h"

#define SIG_FIELD_NAME	"DKIM-Signature: "
#define MAX_NAME_LEN	128	/* one header name of a sign list */
#define FOLD_COLUMN	78	/* RFC 5322 2.1.1: SHOULD be <= 78 */
#define TAB_WIDTH	8	/* columns counted for a folding tab */
#define BODY_BUF	4096	/* canonical body bytes per hash update */

/* RFC 6376 5.4.1 plus the fields named in DESCRIPTION. */
static const char *const DEFAULT_SIGN[] = {
	"from", "sender", "reply-to", "subject", "date", "message-id", "to",
	"cc", "mime-version", "content-type", "content-transfer-encoding",
	"content-id", "content-description", "resent-date", "resent-from",
	"resent-sender", "resent-to", "resent-cc", "resent-message-id",
	"in-reply-to", "references", "list-id", "list-help",
	"list-unsubscribe", "list-unsubscribe-post", "list-subscribe",
	"list-post", "list-owner", "list-archive", NULL
};

static const char *const DEFAULT_OVERSIGN[] = {"from", NULL};

enum { ST_HEADER, ST_BODY, ST_DONE };

struct kept_field {
	const char *p;			/* arena copy, as fed */
	size_t	len;
	const char *name;		/* index into the name lists */
	int	used;			/* taken by an h= name */
};

struct ma_dkim_signer {
	struct ma_arena *arena;
	const struct ma_keystore *ks;
	const struct ma_sign_key *key;
	EVP_MD_CTX *md;			/* body hash, then header hash */
	int	state;
	int	hrelaxed, brelaxed;
	time_t	t;
	unsigned ttl;
	const char **sign;		/* lower case, NULL-terminated */
	const char **over;
	struct kept_field *fields;
	size_t	n_fields, cap_fields, n_seen;
	int	has_from;
	/* body canonicalization state, kept across chunks */
	size_t	empty_lines;		/* held back: count if more follows */
	int	cr;			/* last chunk ended in CR */
	int	wsp;			/* relaxed: WSP run not written */
	int	in_line;		/* current line has content */
	int	any;			/* some canonical body written */
	size_t	out_len;
	unsigned char out[BODY_BUF];
};

/* md_cleanup - arena cleanup: the digest context */
static void
md_cleanup(void *arg)
{
	struct ma_dkim_signer *s = arg;

	EVP_MD_CTX_free(s->md);
	s->md = NULL;
}

/* name_list - lower-case arena copy of a name list ("from" added if want) */
static enum ma_status
name_list(struct ma_arena *a, const char *const *in, int add_from,
	  const char ***out)
{
	const char **l;
	size_t	n = 0, k = 0;
	int	has_from = 0;

	while (n <= MA_LIMIT_SIGN_HEADERS && in[n] != NULL)
		n++;
	if (n > MA_LIMIT_SIGN_HEADERS)
		return (MA_ERR_LIMIT);
	if ((l = ma_arena_calloc(a, n + 2, sizeof(*l))) == NULL)
		return (MA_ERR_NOMEM);
	for (size_t i = 0; i < n; i++) {
		size_t	len = strnlen(in[i], MAX_NAME_LEN + 1);
		char   *c;

		if (len == 0 || len > MAX_NAME_LEN)
			return (MA_ERR_SYNTAX);
		if ((c = ma_arena_memdup(a, in[i], len)) == NULL)
			return (MA_ERR_NOMEM);
		for (size_t j = 0; j < len; j++) {
			if (!isalnum((unsigned char) c[j]) && c[j] != '-')
				return (MA_ERR_SYNTAX);
			c[j] = (char) tolower((unsigned char) c[j]);
		}
		has_from |= strcmp(c, "from") == 0;
		l[k++] = c;
	}
	if (add_from && !has_from)
		l[k++] = "from";
	l[k] = NULL;
	*out = l;
	return (MA_OK);
}

/* ma_dkim_sign_start - a signer for one key */
enum ma_status
ma_dkim_sign_start(const struct ma_keystore *ks,
		   const struct ma_sign_key *key,
		   const struct ma_dkim_sign_options *opt,
		   struct ma_arena *arena, struct ma_dkim_signer **out)
{
	struct ma_dkim_sign_options dflt = {1, 1, NULL, NULL, 0, 0};
	struct ma_dkim_signer *s;
	enum ma_status st;

	*out = NULL;
	if (ks == NULL || key == NULL || arena == NULL)
		return (MA_ERR_INTERNAL);
	if (opt == NULL)
		opt = &dflt;
	if ((s = ma_arena_alloc(arena, sizeof(*s))) == NULL)
		return (MA_ERR_NOMEM);
	/* the defaults are lower case, checked and static: no copy */
	s->sign = (const char **) DEFAULT_SIGN;
	s->over = (const char **) DEFAULT_OVERSIGN;
	st = MA_OK;
	if (opt->sign_headers != NULL)
		st = name_list(arena, opt->sign_headers, 1, &s->sign);
	if (st == MA_OK && opt->oversign_headers != NULL)
		st = name_list(arena, opt->oversign_headers, 0, &s->over);
	if (st != MA_OK)
		return (st);
	s->arena = arena;
	s->ks = ks;
	s->key = key;
	s->hrelaxed = opt->header_relaxed != 0;
	s->brelaxed = opt->body_relaxed != 0;
	s->t = opt->now ? opt->now : time(NULL);
	s->ttl = opt->expire_secs;
	if ((s->md = EVP_MD_CTX_new()) == NULL)
		return (MA_ERR_NOMEM);
	if (ma_arena_cleanup(arena, md_cleanup, s) != 0) {
		md_cleanup(s);
		return (MA_ERR_NOMEM);
	}
	if (EVP_DigestInit_ex(s->md, ma_keystore_sha256(ks), NULL) != 1)
		return (MA_ERR_INTERNAL);
	*out = s;
	return (MA_OK);
}

/* field_name - the name of field "Name:value" (WSP before ':' dropped) */
static size_t
field_name(const char *f, size_t len)
{
	const char *colon = memchr(f, ':', len);
	size_t	n = colon ? (size_t) (colon - f) : 0;

	while (n > 0 && (f[n - 1] == ' ' || f[n - 1] == '\t'))
		n--;
	return (n);
}

/* in_list - the list entry equal to name (any case), or NULL */
static const char *
in_list(const char *const *l, const char *name, size_t nlen)
{
	int	c0 = tolower((unsigned char) name[0]);

	for (size_t i = 0; l[i] != NULL; i++)
		if (l[i][0] == c0 && strncasecmp(l[i], name, nlen) == 0
		    && l[i][nlen] == 0)
			return (l[i]);
	return (NULL);
}

/* ma_dkim_sign_header - one header field "Name:value" */
enum ma_status
ma_dkim_sign_header(struct ma_dkim_signer *s, const char *field, size_t len)
{
	struct kept_field *kf;
	const char *name;
	size_t	nlen;

	if (s == NULL || s->state != ST_HEADER || (field == NULL && len))
		return (MA_ERR_INTERNAL);
	if (s->n_seen >= MA_LIMIT_HEADER_FIELDS
	    || len > MA_LIMIT_HEADER_FIELD_BYTES)
		return (MA_ERR_LIMIT);
	if (len == 0 || memchr(field, 0, len) != NULL
	    || memchr(field, ':', len) == NULL)
		return (MA_ERR_SYNTAX);
	s->n_seen++;
	nlen = field_name(field, len);
	if (nlen == 0 || nlen > MAX_NAME_LEN)
		return (MA_OK);		/* in no list: not signed */
	if ((name = in_list(s->sign, field, nlen)) == NULL
	    && (name = in_list(s->over, field, nlen)) == NULL)
		return (MA_OK);
	if (s->n_fields == s->cap_fields) {
		size_t	ncap = s->cap_fields ? 2 * s->cap_fields : 16;

		if ((kf = ma_arena_calloc(s->arena, ncap, sizeof(*kf))) == NULL)
			return (MA_ERR_NOMEM);
		if (s->n_fields > 0)
			memcpy(kf, s->fields, s->n_fields * sizeof(*kf));
		s->fields = kf;
		s->cap_fields = ncap;
	}
	kf = &s->fields[s->n_fields];
	if ((kf->p = ma_arena_memdup(s->arena, field, len)) == NULL)
		return (MA_ERR_NOMEM);
	kf->len = len;
	kf->name = name;
	s->n_fields++;
	s->has_from |= strcmp(name, "from") == 0;
	return (MA_OK);
}

/* ma_dkim_sign_eoh - end of header */
enum ma_status
ma_dkim_sign_eoh(struct ma_dkim_signer *s)
{
	if (s == NULL || s->state != ST_HEADER)
		return (MA_ERR_INTERNAL);
	if (!s->has_from) {		/* RFC 6376 5.4: From is signed */
		s->state = ST_DONE;
		return (MA_ERR_SYNTAX);
	}
	s->state = ST_BODY;
	return (MA_OK);
}

/* --- body ------------------------------------------------------------- */

/* body_flush - hash the canonical bytes gathered so far */
static int
body_flush(struct ma_dkim_signer *s)
{
	int	ok = s->out_len == 0
	    || EVP_DigestUpdate(s->md, s->out, s->out_len) == 1;

	s->out_len = 0;
	return (ok ? 0 : -1);
}

/* body_put - append canonical bytes */
static int
body_put(struct ma_dkim_signer *s, const void *p, size_t len)
{
	const unsigned char *q = p;

	s->any = 1;
	while (len > 0) {
		size_t	n = sizeof(s->out) - s->out_len;

		if (n == 0) {
			if (body_flush(s) != 0)
				return (-1);
			continue;
		}
		if (n > len)
			n = len;
		memcpy(s->out + s->out_len, q, n);
		s->out_len += n;
		q += n, len -= n;
	}
	return (0);
}

/* body_content - line content: held-back empty lines, WSP, then p */
static int
body_content(struct ma_dkim_signer *s, const unsigned char *p, size_t len)
{
	if (!s->in_line) {
		for (; s->empty_lines > 0; s->empty_lines--)
			if (body_put(s, "\r\n", 2) != 0)
				return (-1);
		s->in_line = 1;
	}
	if (s->wsp) {
		s->wsp = 0;
		if (body_put(s, " ", 1) != 0)
			return (-1);
	}
	return (body_put(s, p, len));
}

/* body_eol - a CRLF: ends a line with content, or is held back */
static int
body_eol(struct ma_dkim_signer *s)
{
	s->wsp = 0;			/* relaxed: WSP at line end goes */
	if (!s->in_line) {
		s->empty_lines++;
		return (0);
	}
	s->in_line = 0;
	return (body_put(s, "\r\n", 2));
}

/* has_byte - non-zero when one of the 8 bytes of w is b (SWAR) */
static inline uint64_t
has_byte(uint64_t w, unsigned char b)
{
	uint64_t x = w ^ (0x0101010101010101ULL * b);

	return ((x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL);
}

/*
 * plain_end - end of the run of bytes from i that mean nothing to the
 * body canonicalization: all but CR (simple); all but CR, SP, HTAB
 * (relaxed), looked at 8 bytes at a time
 */
static inline size_t
plain_end(const unsigned char *p, size_t i, size_t len, int relaxed)
{
	const unsigned char *cr;
	uint64_t w;

	if (!relaxed) {
		cr = memchr(p + i, '\r', len - i);
		return (cr ? (size_t) (cr - p) : len);
	}
	for (; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		if (has_byte(w, '\r') | has_byte(w, ' ') | has_byte(w, '\t'))
			break;
	}
	while (i < len && p[i] != '\r' && p[i] != ' ' && p[i] != '\t')
		i++;
	return (i);
}

/* ma_dkim_sign_body - body bytes, CRLF line ends */
enum ma_status
ma_dkim_sign_body(struct ma_dkim_signer *s, const unsigned char *p,
		  size_t len)
{
	size_t	i = 0, j;
	int	r = 0;

	if (s == NULL || s->state != ST_BODY || (p == NULL && len))
		return (MA_ERR_INTERNAL);
	if (len > 0 && s->cr) {		/* last chunk ended in CR */
		s->cr = 0;
		if (p[0] == '\n') {
			r = body_eol(s);
			i = 1;
		} else {
			r = body_content(s, (const unsigned char *) "\r", 1);
		}
	}
	while (i < len && r == 0) {
		if (p[i] == '\r') {
			if (i + 1 == len) {
				s->cr = 1;
				break;
			}
			if (p[i + 1] == '\n') {
				r = body_eol(s);
				i += 2;
			} else {
				r = body_content(s, p + i, 1);
				i++;
			}
		} else if (s->brelaxed && (p[i] == ' ' || p[i] == '\t')) {
			s->wsp = 1;	/* one SP if more content follows */
			i++;
		} else {
			j = plain_end(p, i + 1, len, s->brelaxed);
			r = body_content(s, p + i, j - i);
			i = j;
		}
	}
	if (r != 0) {
		s->state = ST_DONE;
		return (MA_ERR_INTERNAL);
	}
	return (MA_OK);
}

/* body_finish - end of body: last line, empty body; flush */
static int
body_finish(struct ma_dkim_signer *s)
{
	if (s->cr) {
		s->cr = 0;
		if (body_content(s, (const unsigned char *) "\r", 1) != 0)
			return (-1);
	}
	if (s->in_line && body_eol(s) != 0)	/* RFC 6376 3.4.3, 3.4.4 */
		return (-1);
	if (!s->brelaxed && !s->any && body_put(s, "\r\n", 2) != 0)
		return (-1);
	return (body_flush(s));
}

/* --- header hash --------------------------------------------------------- */

/*
 * hash_relaxed - RFC 6376 3.4.2 form of field f ("name:value", name at
 * most MAX_NAME_LEN) into the hash, followed by CRLF unless last
 */
static int
hash_relaxed(EVP_MD_CTX *md, const char *f, size_t len, int last)
{
	char	buf[512];
	size_t	n = 0, i, nlen = field_name(f, len);
	int	wsp = 0, started = 0, ok = 1;

	for (i = 0; i < nlen; i++)
		buf[n++] = (char) tolower((unsigned char) f[i]);
	buf[n++] = ':';
	i = (size_t) ((const char *) memchr(f, ':', len) - f) + 1;
	for (; i < len; i++) {
		unsigned char c = (unsigned char) f[i];

		if (c == '\n' || (c == '\r' && i + 1 < len && f[i + 1] == '\n'))
			continue;	/* unfold */
		if (c == ' ' || c == '\t') {
			wsp = 1;	/* a run becomes one SP, if inside */
			continue;
		}
		if (n + 2 > sizeof(buf)) {
			ok &= EVP_DigestUpdate(md, buf, n) == 1;
			n = 0;
		}
		if (wsp && started)
			buf[n++] = ' ';
		wsp = 0;
		started = 1;
		buf[n++] = (char) c;
	}
	if (!last) {
		if (n + 2 > sizeof(buf)) {
			ok &= EVP_DigestUpdate(md, buf, n) == 1;
			n = 0;
		}
		buf[n++] = '\r';
		buf[n++] = '\n';
	}
	ok &= EVP_DigestUpdate(md, buf, n) == 1;
	return (ok ? 0 : -1);
}

/* hash_field - one field into the header hash, canonicalized */
static int
hash_field(struct ma_dkim_signer *s, const char *f, size_t len, int last)
{
	if (s->hrelaxed)
		return (hash_relaxed(s->md, f, len, last));
	if (EVP_DigestUpdate(s->md, f, len) != 1)
		return (-1);
	return (last || EVP_DigestUpdate(s->md, "\r\n", 2) == 1 ? 0 : -1);
}

/* hash_named - the last unused instance of name, if any (RFC 6376 5.4.2) */
static int
hash_named(struct ma_dkim_signer *s, const char *name)
{
	for (size_t i = s->n_fields; i-- > 0;) {
		struct kept_field *kf = &s->fields[i];

		if (!kf->used && strcmp(kf->name, name) == 0) {
			kf->used = 1;
			return (hash_field(s, kf->p, kf->len, 0));
		}
	}
	return (0);			/* oversigned: nothing to hash */
}

/* --- the field -------------------------------------------------------- */

struct fold {
	struct ma_buf b;
	size_t	col;			/* of the line written */
	enum ma_status st;
};

/*
 * fold_tok - the token a b c (any may be ""), after a space, or after
 * CRLF + tab when it would pass FOLD_COLUMN; first: no separator
 */
static void
fold_tok(struct fold *f, int first, const char *a, const char *b,
	 const char *c)
{
	size_t	la = strlen(a), lb = strlen(b), lc = strlen(c);
	size_t	len = la + lb + lc;

	if (f->st != MA_OK)
		return;
	if (!first && f->col + 1 + len > FOLD_COLUMN) {
		f->st = ma_buf_append(&f->b, "\r\n\t", 3);
		f->col = TAB_WIDTH;
	} else if (!first) {
		f->st = ma_buf_append(&f->b, " ", 1);
		f->col++;
	}
	if (f->st == MA_OK)
		f->st = ma_buf_append(&f->b, a, la);
	if (f->st == MA_OK)
		f->st = ma_buf_append(&f->b, b, lb);
	if (f->st == MA_OK)
		f->st = ma_buf_append(&f->b, c, lc);
	f->col += len;
}

/* canon_name - c= text */
static const char *
canon_name(const struct ma_dkim_signer *s)
{
	static const char *const names[] = {"simple/simple", "simple/relaxed",
					    "relaxed/simple",
					    "relaxed/relaxed"};

	return (names[2 * s->hrelaxed + s->brelaxed]);
}

/*
 * build_prefix - the field up to and including "b=", folded, in f->b
 * (name and value: what the header hash takes); h= names the kept
 * fields in header order, then the oversign list; for every name the
 * last unused instance goes into the hash
 */
static int
build_prefix(struct ma_dkim_signer *s, const char *bh, struct fold *f)
{
	const char *dom = ma_sign_key_domain(s->key);
	char	t[32], x[32];
	size_t	i, n_over = 0;
	int	r = 0;

	ma_buf_init(&f->b, s->arena, MA_LIMIT_HEADER_FIELD_BYTES);
	f->st = ma_buf_puts(&f->b, SIG_FIELD_NAME);
	f->col = sizeof(SIG_FIELD_NAME) - 1;
	(void) snprintf(t, sizeof(t), "%lld", (long long) s->t);
	(void) snprintf(x, sizeof(x), "%lld", (long long) s->t
			+ (long long) s->ttl);
	fold_tok(f, 1, "v=1", "", ";");
	fold_tok(f, 0, "a=", ma_sign_key_algorithm(s->key), ";");
	fold_tok(f, 0, "c=", canon_name(s), ";");
	fold_tok(f, 0, "d=", dom, ";");
	fold_tok(f, 0, "i=@", dom, ";");
	fold_tok(f, 0, "q=dns/txt", "", ";");
	fold_tok(f, 0, "s=", ma_sign_key_selector(s->key), ";");
	fold_tok(f, 0, "t=", t, ";");
	if (s->ttl != 0)
		fold_tok(f, 0, "x=", x, ";");
	while (s->over[n_over] != NULL)
		n_over++;
	for (i = 0; i < s->n_fields + n_over; i++) {
		const char *name = i < s->n_fields ? s->fields[i].name
		    : s->over[i - s->n_fields];
		int	last = i + 1 == s->n_fields + n_over;

		if (i == 0)
			fold_tok(f, 0, "h=", name, last ? ";" : "");
		else
			fold_tok(f, 0, ":", "", "");
		if (i > 0)
			fold_tok(f, 0, name, "", last ? ";" : "");
		if (r == 0)
			r = hash_named(s, name);
	}
	fold_tok(f, 0, "bh=", bh, ";");
	fold_tok(f, 0, "b=", "", "");
	return (r);
}

/*
 * append_b - the b= value after the prefix, folded inside the value
 * (never before its first character)
 */
static void
append_b(struct fold *f, const char *b64, size_t len)
{
	size_t	i = 0, n;

	while (i < len && f->st == MA_OK) {
		if (i > 0 && f->col >= FOLD_COLUMN) {
			f->st = ma_buf_append(&f->b, "\r\n\t", 3);
			f->col = TAB_WIDTH;
		}
		n = f->col < FOLD_COLUMN ? FOLD_COLUMN - f->col : 1;
		if (n > len - i)
			n = len - i;
		if (f->st == MA_OK)
			f->st = ma_buf_append(&f->b, b64 + i, n);
		f->col += n;
		i += n;
	}
}

/* ma_dkim_sign_eom - the DKIM-Signature field value */
enum ma_status
ma_dkim_sign_eom(struct ma_dkim_signer *s, const char **value_out)
{
	unsigned char dig[EVP_MAX_MD_SIZE], sig[MA_SIGN_MAX_SIG_LEN];
	char	bh[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
	char	b64[4 * ((MA_SIGN_MAX_SIG_LEN + 2) / 3) + 1];
	unsigned dlen = 0;
	size_t	slen = sizeof(sig);
	struct fold f;
	enum ma_status st;
	int	n;

	*value_out = NULL;
	if (s == NULL || s->state != ST_BODY)
		return (MA_ERR_INTERNAL);
	s->state = ST_DONE;
	if (body_finish(s) != 0
	    || EVP_DigestFinal_ex(s->md, dig, &dlen) != 1
	    || dlen != MA_SIGN_DIGEST_LEN)
		return (MA_ERR_INTERNAL);
	(void) EVP_EncodeBlock((unsigned char *) bh, dig, (int) dlen);
	if (EVP_DigestInit_ex(s->md, ma_keystore_sha256(s->ks), NULL) != 1)
		return (MA_ERR_INTERNAL);
	if (build_prefix(s, bh, &f) != 0)
		return (MA_ERR_INTERNAL);
	if (f.st != MA_OK)
		return (f.st);
	/* RFC 6376 3.7: the field itself last, b= empty, no CRLF */
	n = hash_field(s, f.b.data, f.b.len, 1) == 0;
	if (!n || EVP_DigestFinal_ex(s->md, dig, &dlen) != 1)
		return (MA_ERR_INTERNAL);
	if ((st = ma_keystore_sign(s->ks, s->key, dig, sig, &slen)) != MA_OK)
		return (st);
	n = EVP_EncodeBlock((unsigned char *) b64, sig, (int) slen);
	OPENSSL_cleanse(dig, sizeof(dig));
	append_b(&f, b64, (size_t) n);
	if (f.st != MA_OK)
		return (f.st);
	*value_out = f.b.data + sizeof(SIG_FIELD_NAME) - 1;
	return (MA_OK);
}
