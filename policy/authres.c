/*
 * NAME
 *	authres - our Authentication-Results field; spotting forged ones
 * SUMMARY
 *	Renders the results of one message as an RFC 8601 field value, and
 *	tells whether an existing field claims our authserv-id.
 * SYNOPSIS
 *	#include <mailauth/authres.h>
 * DESCRIPTION
 *	ma_authres_render() writes, without leading white space (the milter
 *	adds it when the MTA wants it):
 *
 *	    mx.example.net;
 *		dkim=pass (2048-bit key) header.d=example.com header.s=sel
 *		header.a=rsa-sha256 header.b=AbCdEfGh;
 *		spf=pass smtp.mailfrom=sender@example.com;
 *		spf=none smtp.helo=mail.example.com;
 *		dmarc=pass (p=reject dis=none) header.from=example.com
 *		policy.dmarc=reject polrec.p=reject
 *
 *	Resinfos are separated by ";" CRLF TAB; inside a resinfo we fold
 *	(CRLF TAB) before an element that would take the line past 78
 *	columns. Order: dkim (one per signature, "dkim=none" without one),
 *	spf for MAIL FROM, spf for HELO, dmarc. A non-pass result with a
 *	reason gets reason="..." (RFC 8601 2.2 reasonspec). DMARC carries
 *	the applied policy and disposition in a comment and the properties
 *	registered for the dmarc method: header.from, policy.dmarc (RFC 7489
 *	11.2: the policy applied or to be applied after the record's options
 *	are processed: p, sp or np, lowered one step by t=y), and the RFC 9989
 *	additions polrec.p (the p= of the record found) and polrec.domain
 *	(where it was found, when not the From domain). header.b (RFC 6008) holds 8 characters of b=,
 *	more when needed to tell apart signatures of the same d=.
 *
 *	Result words come from this file's own tables, one per enum, so the
 *	renderer does not depend on the other modules' code.
 *
 *	Every value that came from the message or the DNS is sanitised:
 *	bytes outside visible ASCII, white space, ';', '(', ')', '"', '\'
 *	and '=' become '?'; the value is written bare when nothing was
 *	replaced and it is an RFC 2045 token (or local-part "@" domain where
 *	RFC 8601 allows one), else as a quoted-string, which then needs no
 *	escapes. So nothing taken from outside can end the value, start a
 *	comment, a property, a resinfo or a header field, even for readers
 *	that split naively on ';' or white space; and since no outside text
 *	keeps an '=', a naive substring search for "dkim=pass" can only hit
 *	what we wrote. Reasons keep their spaces, show '(' ')' as '[' ']'
 *	and '=' as '?', and are always quoted.
 *
 *	ma_authres_is_ours() reads the authserv-id at the start of a field
 *	value: CFWS (folding, nested comments with quoted-pairs), then a
 *	token or a quoted-string (RFC 8601 2.2: authserv-id = value), and
 *	compares it with ours, ASCII case-insensitively. What follows (a
 *	version, ";") is not needed. A field is ours when a reader could
 *	take our id from it: a token ends at white space, a tspecial, a
 *	control (NUL included, as a C-string reader would stop) or a non-
 *	ASCII byte, and a quoted id is compared with surrounding white
 *	space trimmed. A value whose first element cannot be read (NUL or
 *	an unclosed comment before it, nothing at all) does not carry our
 *	id and is not ours: we only remove what visibly claims our name.
 *	Comment nesting is not limited here, because a limit would let an
 *	attacker hide our id from us and not from a deeper-reading parser.
 * MEMORY
 *	The rendered value lives in the caller's arena.
 * LIMITS
 *	MA_LIMIT_AR_VALUE_CHARS per property value (longer ones are cut and
 *	marked "..." inside a quoted-string; header.b is cut without mark,
 *	as RFC 6008 allows), MA_LIMIT_AUTHRES_BYTES for the whole value.
 * DIAGNOSTICS
 *	ma_authres_render(): MA_OK, MA_ERR_SYNTAX (authserv-id missing,
 *	not an RFC 2045 token or longer than MA_LIMIT_AR_VALUE_CHARS),
 *	MA_ERR_INTERNAL (result outside its enum), MA_ERR_LIMIT (value past
 *	MA_LIMIT_AUTHRES_BYTES), MA_ERR_NOMEM. Nothing is logged.
 * THREADS
 *	Reentrant.
 * STANDARDS
 *	RFC 8601 (2.2 grammar, 2.7 methods, 5 removal of forged fields),
 *	RFC 6008 (header.b), RFC 2045 5.1 (token, tspecials), RFC 5322
 *	3.2.2 (CFWS), 3.2.4 (quoted-string), RFC 9989 IANA section (dmarc).
 * SEE ALSO
 *	verdict.c, message.c.
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <mailauth/arena.h>
#include <mailauth/buf.h>
#include <mailauth/authres.h>

#include "ma_limits.h"

#define FOLD_COLUMN	78		/* RFC 5322 2.1.1 */
#define TAB_WIDTH	8
#define HEADER_B_MIN	8		/* RFC 6008 section 2 */
#define ELEM_MAX	(MA_LIMIT_AR_VALUE_CHARS + 64)

static const char *const spf_words[] = {
	[MA_SPF_NONE] = "none", [MA_SPF_NEUTRAL] = "neutral",
	[MA_SPF_PASS] = "pass", [MA_SPF_FAIL] = "fail",
	[MA_SPF_SOFTFAIL] = "softfail", [MA_SPF_TEMPERROR] = "temperror",
	[MA_SPF_PERMERROR] = "permerror",
};

static const char *const dkim_words[] = {
	[MA_DKIM_NONE] = "none", [MA_DKIM_PASS] = "pass",
	[MA_DKIM_FAIL] = "fail", [MA_DKIM_NEUTRAL] = "neutral",
	[MA_DKIM_POLICY] = "policy", [MA_DKIM_TEMPERROR] = "temperror",
	[MA_DKIM_PERMERROR] = "permerror",
};

static const char *const dmarc_words[] = {
	[MA_DMARC_NONE] = "none", [MA_DMARC_PASS] = "pass",
	[MA_DMARC_FAIL] = "fail", [MA_DMARC_TEMPERROR] = "temperror",
	[MA_DMARC_PERMERROR] = "permerror",
};

static const char *const policy_words[] = {
	[MA_DMARC_P_UNSET] = NULL, [MA_DMARC_P_NONE] = "none",
	[MA_DMARC_P_QUARANTINE] = "quarantine", [MA_DMARC_P_REJECT] = "reject",
};

#define NWORDS(t)	(sizeof(t) / sizeof((t)[0]))

/* word - table entry for an enum value, NULL when out of range */
static const char *
word(const char *const *table, size_t n, unsigned v)
{
	return (v < n ? table[v] : NULL);
}

/* Value flavours for render_value(). */
#define V_ADDR		1	/* local-part "@" domain may go bare */
#define V_TEXT		2	/* free text: keep spaces, always quote */
#define V_PREFIX	4	/* cut at the cap without "..." */

struct ar_out {
	struct ma_buf b;
	size_t	col;			/* columns on the current line */
	enum ma_status st;
};

/* is_tspecial - RFC 2045 5.1 tspecials */
static int
is_tspecial(unsigned char c)
{
	return (c != '\0' && strchr("()<>@,;:\\\"/[]?=", c) != NULL);
}

/* is_token - RFC 2045 token: visible ASCII without tspecials */
static int
is_token(const char *s, size_t n)
{
	size_t	i;

	if (n == 0)
		return (0);
	for (i = 0; i < n; i++)
		if ((unsigned char) s[i] <= ' ' || (unsigned char) s[i] >= 0x7f
		    || is_tspecial((unsigned char) s[i]))
			return (0);
	return (1);
}

/* is_addr - [local-part] "@" domain-name, as RFC 8601 pvalue allows */
static int
is_addr(const char *s, size_t n)
{
	const char *at;
	size_t	i, l;
	unsigned char c;

	if ((at = memchr(s, '@', n)) == NULL)
		return (0);
	l = (size_t) (at - s);
	for (i = 0; i < l; i++) {
		c = (unsigned char) s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		      || (c >= '0' && c <= '9')
		      || strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL))
			return (0);
	}
	if (l + 1 >= n)
		return (0);
	for (i = l + 1; i < n; i++) {
		c = (unsigned char) s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		      || (c >= '0' && c <= '9') || c == '-' || c == '.'
		      || c == '_'))
			return (0);
	}
	return (1);
}

/* safe_byte - the byte as we print it, or '?' */
static char
safe_byte(unsigned char c, int flags)
{
	if ((flags & V_TEXT) && (c == ' ' || c == '(' || c == ')'))
		return (c == ' ' ? ' ' : c == '(' ? '[' : ']');
	if (c <= ' ' || c >= 0x7f || strchr(";()\"\\=", c) != NULL)
		return ('?');
	return ((char) c);
}

/*
 * render_value - sanitised, capped value into dst (ELEM_MAX bytes): bare
 * when a token (or an address with V_ADDR), else quoted. Returns length.
 */
static size_t
render_value(const char *v, size_t len, int flags, char *dst)
{
	char	tmp[MA_LIMIT_AR_VALUE_CHARS];
	size_t	n, i, o = 0;
	int	cut = 0, replaced = 0;

	n = len;
	if (n > MA_LIMIT_AR_VALUE_CHARS) {
		cut = !(flags & V_PREFIX);
		n = cut ? MA_LIMIT_AR_VALUE_CHARS - 3 : MA_LIMIT_AR_VALUE_CHARS;
	}
	for (i = 0; i < n; i++) {
		tmp[i] = safe_byte((unsigned char) v[i], flags);
		replaced |= tmp[i] != v[i];
	}
	if (cut) {
		memcpy(tmp + n, "...", 3);
		n += 3;
	}
	if (!cut && !replaced && !(flags & V_TEXT)
	    && (is_token(tmp, n) || ((flags & V_ADDR) && is_addr(tmp, n)))) {
		memcpy(dst, tmp, n);
		return (n);
	}
	dst[o++] = '"';
	memcpy(dst + o, tmp, n);
	o += n;
	dst[o++] = '"';
	return (o);
}

/* put - append raw text we made ourselves */
static void
put(struct ar_out *o, const char *s, size_t n)
{
	if (o->st != MA_OK)
		return;
	o->st = ma_buf_append(&o->b, s, n);
	o->col += n;
}

/* put_str - append a C string we made ourselves */
static void
put_str(struct ar_out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* newline - fold: CRLF TAB */
static void
newline(struct ar_out *o)
{
	put(o, "\r\n\t", 3);
	o->col = TAB_WIDTH;
}

/* put_elem - one element of a resinfo, after a space or a fold */
static void
put_elem(struct ar_out *o, const char *s, size_t n)
{
	if (o->col + 1 + n > FOLD_COLUMN && o->col > TAB_WIDTH)
		newline(o);
	else
		put(o, " ", 1);
	put(o, s, n);
}

/* put_prop - "name=value" with a value from outside; skipped if empty */
static void
put_prop(struct ar_out *o, const char *name, const char *v, size_t vlen,
	 int flags)
{
	char	elem[ELEM_MAX + 32];
	size_t	n;

	if (v == NULL || vlen == 0)
		return;
	n = strlen(name);
	memcpy(elem, name, n);
	elem[n++] = '=';
	n += render_value(v, vlen, flags, elem + n);
	put_elem(o, elem, n);
}

/* put_prop_str - put_prop() of a C string */
static void
put_prop_str(struct ar_out *o, const char *name, const char *v, int flags)
{
	put_prop(o, name, v, v ? strlen(v) : 0, flags);
}

/* put_reason - reason="..." for a non-pass result */
static void
put_reason(struct ar_out *o, const char *reason)
{
	put_prop_str(o, "reason", reason, V_TEXT);
}

/* start_resinfo - ";" CRLF TAB "method=result" */
static void
start_resinfo(struct ar_out *o, const char *method, const char *result)
{
	put(o, ";", 1);
	newline(o);
	put_str(o, method);
	put(o, "=", 1);
	put_str(o, result);
}

/* ascii_caseeq - ASCII case-insensitive equality of two C strings */
static int
ascii_caseeq(const char *a, const char *b)
{
	unsigned char x, y;

	for (;; a++, b++) {
		x = (unsigned char) *a;
		y = (unsigned char) *b;
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char) (x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char) (y - 'A' + 'a');
		if (x != y)
			return (0);
		if (x == '\0')
			return (1);
	}
}

/*
 * b_prefix_len - characters of sig[i].b to show: HEADER_B_MIN, or one
 * past the longest prefix shared with another signature of the same d=.
 */
static size_t
b_prefix_len(const struct ma_dkim_sig *sig, size_t n, size_t i)
{
	size_t	want = HEADER_B_MIN, blen, j, k, cap;
	const char *b = sig[i].b, *c;

	blen = strlen(b);
	cap = blen < MA_LIMIT_AR_VALUE_CHARS ? blen : MA_LIMIT_AR_VALUE_CHARS;
	for (j = 0; j < n; j++) {
		if (j == i || (c = sig[j].b) == NULL || sig[i].domain == NULL
		    || sig[j].domain == NULL
		    || !ascii_caseeq(sig[i].domain, sig[j].domain))
			continue;
		for (k = 0; k < cap && b[k] != '\0' && b[k] == c[k]; k++)
			;
		if (k + 1 > want)
			want = k + 1;
	}
	return (want < cap ? want : cap);
}

/* render_dkim - one resinfo per signature, or dkim=none */
static void
render_dkim(struct ar_out *o, const struct ma_authres_input *in)
{
	const struct ma_dkim_sig *s;
	const char *res;
	char	comment[32];
	size_t	i;
	int	k;

	if (in->dkim == NULL || in->n_dkim == 0) {
		start_resinfo(o, "dkim", "none");
		return;
	}
	for (i = 0; i < in->n_dkim && o->st == MA_OK; i++) {
		s = &in->dkim[i];
		if ((res = word(dkim_words, NWORDS(dkim_words),
				(unsigned) s->result)) == NULL) {
			o->st = MA_ERR_INTERNAL;
			return;
		}
		start_resinfo(o, "dkim", res);
		if (s->key_bits > 0) {
			k = snprintf(comment, sizeof(comment), "(%u-bit key)",
				     s->key_bits);
			if (k > 0 && (size_t) k < sizeof(comment))
				put_elem(o, comment, (size_t) k);
		}
		if (s->result != MA_DKIM_PASS)
			put_reason(o, s->reason);
		put_prop_str(o, "header.d", s->domain, 0);
		put_prop_str(o, "header.i", s->identity, V_ADDR);
		put_prop_str(o, "header.s", s->selector, 0);
		put_prop_str(o, "header.a", s->algorithm, 0);
		if (s->b != NULL && s->b[0] != '\0')
			put_prop(o, "header.b", s->b,
				 b_prefix_len(in->dkim, in->n_dkim, i),
				 V_PREFIX);
	}
}

/* render_spf - one SPF resinfo (MAIL FROM or HELO identity) */
static void
render_spf(struct ar_out *o, const struct ma_spf_outcome *spf, int helo)
{
	const char *res, *v;

	if ((res = word(spf_words, NWORDS(spf_words),
			(unsigned) spf->result)) == NULL) {
		o->st = MA_ERR_INTERNAL;
		return;
	}
	start_resinfo(o, "spf", res);
	if (spf->result != MA_SPF_PASS)
		put_reason(o, spf->reason);
	if (helo) {
		v = spf->domain;
		if (v == NULL || *v == '\0')
			v = spf->sender;
		put_prop_str(o, "smtp.helo", v, 0);
	} else {
		v = spf->sender;
		if (v == NULL || *v == '\0')
			v = spf->domain;
		put_prop_str(o, "smtp.mailfrom", v, V_ADDR);
	}
}

/* render_dmarc - the DMARC resinfo */
static void
render_dmarc(struct ar_out *o, const struct ma_dmarc_outcome *d)
{
	const char *res, *p, *dis, *rp;
	char	comment[64];
	int	k;

	if ((res = word(dmarc_words, NWORDS(dmarc_words),
			(unsigned) d->result)) == NULL) {
		o->st = MA_ERR_INTERNAL;
		return;
	}
	start_resinfo(o, "dmarc", res);
	p = word(policy_words, NWORDS(policy_words), (unsigned) d->policy);
	dis = word(policy_words, NWORDS(policy_words),
		   (unsigned) d->disposition);
	if (p != NULL) {
		k = snprintf(comment, sizeof(comment), "(p=%s%s%s%s)", p,
			     dis ? " dis=" : "", dis ? dis : "",
			     d->testing ? " t=y" : "");
		if (k > 0 && (size_t) k < sizeof(comment))
			put_elem(o, comment, (size_t) k);
	}
	if (d->result != MA_DMARC_PASS)
		put_reason(o, d->reason);
	put_prop_str(o, "header.from", d->from_domain, 0);
	if (d->record != NULL && d->policy != MA_DMARC_P_UNSET) {
		/* the policy for this message after sp/np and t=y */
		unsigned pol = (unsigned) d->policy;

		if (d->testing && d->policy > MA_DMARC_P_NONE)
			pol--;
		if ((rp = word(policy_words, NWORDS(policy_words), pol)) != NULL)
			put_prop_str(o, "policy.dmarc", rp, 0);
	}
	if (d->record != NULL
	    && (rp = word(policy_words, NWORDS(policy_words),
			  (unsigned) d->record->p)) != NULL)
		put_prop_str(o, "polrec.p", rp, 0);
	if (d->policy_domain != NULL && d->policy_domain[0] != '\0'
	    && (d->from_domain == NULL
		|| !ascii_caseeq(d->policy_domain, d->from_domain)))
		put_prop_str(o, "polrec.domain", d->policy_domain, 0);
}

/* ma_authres_render - the field value, sanitised and folded */
enum ma_status
ma_authres_render(struct ma_arena *arena, const struct ma_authres_input *in,
		  const char **value_out)
{
	struct ar_out o;
	size_t	n;

	*value_out = NULL;
	if (in == NULL || in->authserv_id == NULL)
		return (MA_ERR_SYNTAX);
	n = strlen(in->authserv_id);
	if (n > MA_LIMIT_AR_VALUE_CHARS || !is_token(in->authserv_id, n))
		return (MA_ERR_SYNTAX);		/* config must refuse it */
	memset(&o, 0, sizeof(o));
	ma_buf_init(&o.b, arena, MA_LIMIT_AUTHRES_BYTES);
	o.st = MA_OK;
	o.col = sizeof("Authentication-Results: ") - 1;
	put(&o, in->authserv_id, n);
	render_dkim(&o, in);
	if (in->spf_mailfrom != NULL)
		render_spf(&o, in->spf_mailfrom, 0);
	if (in->spf_helo != NULL)
		render_spf(&o, in->spf_helo, 1);
	if (in->dmarc != NULL)
		render_dmarc(&o, in->dmarc);
	if (o.st != MA_OK)
		return (o.st);
	*value_out = o.b.data;
	return (MA_OK);
}

/* is_ws - white space of a folded field */
static int
is_ws(char c)
{
	return (c == ' ' || c == '\t' || c == '\r' || c == '\n');
}

/*
 * skip_comment_lenient - past a comment at v[*pos] == '(' of any depth;
 * -1 when it does not close or holds a NUL.
 */
static int
skip_comment_lenient(const char *v, size_t len, size_t *pos)
{
	size_t	i = *pos, depth = 0;

	while (i < len) {
		if (v[i] == '\0')
			return (-1);
		if (v[i] == '\\') {
			i += 2;
			continue;
		}
		if (v[i] == '(')
			depth++;
		else if (v[i] == ')' && --depth == 0) {
			*pos = i + 1;
			return (0);
		}
		i++;
	}
	return (-1);
}

/* ma_authres_is_ours - whether an A-R value carries our authserv-id */
int
ma_authres_is_ours(const char *value, size_t len, const char *authserv_id)
{
	char	got[MA_LIMIT_AR_VALUE_CHARS * 2 + 1];
	size_t	pos = 0, n = 0, idlen, s, e;
	unsigned char c;

	if (value == NULL || authserv_id == NULL || authserv_id[0] == '\0')
		return (0);
	idlen = strlen(authserv_id);
	if (idlen >= sizeof(got))
		return (0);
	while (pos < len) {			/* CFWS */
		if (is_ws(value[pos]))
			pos++;
		else if (value[pos] == '(') {
			if (skip_comment_lenient(value, len, &pos) < 0)
				return (0);
		} else
			break;
	}
	if (pos >= len)
		return (0);
	if (value[pos] == '"') {		/* quoted-string */
		for (pos++; pos < len && value[pos] != '"'; pos++) {
			if (value[pos] == '\0')
				break;
			if (value[pos] == '\\' && pos + 1 < len)
				pos++;
			if (value[pos] == '\r' || value[pos] == '\n')
				continue;	/* unfold */
			if (n >= sizeof(got) - 1)
				return (0);	/* longer than ours */
			got[n++] = value[pos];
		}
		for (s = 0; s < n && (got[s] == ' ' || got[s] == '\t'); s++)
			;
		for (e = n; e > s && (got[e - 1] == ' ' || got[e - 1] == '\t');
		     e--)
			;
		got[e] = '\0';
		return (e - s == idlen && ascii_caseeq(got + s, authserv_id));
	}
	for (; pos < len; pos++) {		/* token */
		c = (unsigned char) value[pos];
		if (c <= ' ' || c >= 0x7f || is_tspecial(c))
			break;
		if (n >= sizeof(got) - 1)
			return (0);
		got[n++] = (char) c;
	}
	got[n] = '\0';
	return (n == idlen && ascii_caseeq(got, authserv_id));
}
