/*
 * NAME
 *	dmarc_record - parse one DMARC Policy Record (RFC 9989)
 * SUMMARY
 *	"v=DMARC1; p=reject; ..." TXT text to struct ma_dmarc_record
 * SYNOPSIS
 *	#include <mailauth/dmarc.h>
 *
 *	enum ma_status ma_dmarc_record_parse(txt, len, arena, out, why)
 * DESCRIPTION
 *	ma_dmarc_record_parse() takes the concatenated character-strings of
 *	one TXT RR (RFC 9989 4.5) as (pointer, length) and fills *out.
 *
 *	Rules taken from RFC 9989 (section numbers as in
 *	draft-ietf-dmarc-dmarcbis-41, the text the RFC was published from;
 *	they match the RFC's 4.7, 4.8, 4.10.1):
 * .IP \(bu
 *	4.7: "v" MUST be the first tag, its value "DMARC1" is case
 *	sensitive; otherwise the record is not a DMARC record at all
 *	(MA_ERR_NOTFOUND: the caller ignores it, as it ignores SPF text).
 *	Leading blanks before "v" are tolerated.
 * .IP \(bu
 *	4.7: unknown tags MUST be ignored (this includes the removed
 *	"pct", "rf", "ri": Appendix C.5.2).
 * .IP \(bu
 *	4.8: syntax errors in the remainder are discarded in favour of the
 *	defaults: a bad psd, t, adkim, aspf or fo value leaves the default
 *	and sets out->warning. Tag names and the keyword values are case
 *	insensitive (RFC 5234 quoted strings); blanks around "=" and ";"
 *	are allowed (dmarc-sep, equals).
 * .IP \(bu
 *	4.10.1: a missing or invalid p, or an invalid sp or np, sets
 *	out->bad_policy; the evaluator then acts as p=none when rua holds
 *	at least one syntactically valid URI (out->n_rua_valid), and
 *	applies no DMARC otherwise. p stays MA_DMARC_P_UNSET then.
 * .IP \(bu
 *	DMARC records use the DKIM tag-list syntax (4.7, RFC 6376 3.2),
 *	where a tag name occurring twice makes the whole list invalid: a
 *	known tag given twice gives MA_ERR_SYNTAX. Unknown tags given twice
 *	stay ignored.
 * MEMORY
 *	rua, ruf, fo and warning are NUL-terminated copies in the arena,
 *	valid until the arena is freed. The input is never modified and
 *	need not be NUL-terminated; it may hold NUL bytes.
 * LIMITS
 *	MA_LIMIT_DMARC_RECORD_BYTES bytes, MA_LIMIT_DMARC_TAGS tags
 *	(policy/ma_limits.h); past either: MA_ERR_LIMIT.
 * DIAGNOSTICS
 *	MA_OK (possibly with out->warning), MA_ERR_NOTFOUND (not a DMARC
 *	record), MA_ERR_SYNTAX (duplicate tag), MA_ERR_LIMIT, MA_ERR_NOMEM.
 *	*why (when not NULL) gets a short static or arena text for every
 *	status but MA_OK. Nothing is logged here.
 * THREADS
 *	Reentrant; the arena is the caller's.
 * STANDARDS
 *	RFC 9989 sections 4.5, 4.7, 4.8, 4.10.1; RFC 6376 section 3.2;
 *	RFC 3986 (URI scheme syntax only).
 * SEE ALSO
 *	dmarc(3) for discovery and evaluation.
 */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include <mailauth/arena.h>
#include <mailauth/dmarc.h>

#include "ma_limits.h"

/* Bits for the duplicate check of known tags. */
enum {
	TAG_P = 1 << 0, TAG_SP = 1 << 1, TAG_NP = 1 << 2, TAG_PSD = 1 << 3,
	TAG_T = 1 << 4, TAG_ADKIM = 1 << 5, TAG_ASPF = 1 << 6,
	TAG_RUA = 1 << 7, TAG_RUF = 1 << 8, TAG_FO = 1 << 9
};

struct tagname {
	const char *name;
	size_t	len;
	unsigned bit;
};

static const struct tagname tagnames[] = {
	{"p", 1, TAG_P}, {"sp", 2, TAG_SP}, {"np", 2, TAG_NP},
	{"psd", 3, TAG_PSD}, {"t", 1, TAG_T}, {"adkim", 5, TAG_ADKIM},
	{"aspf", 4, TAG_ASPF}, {"rua", 3, TAG_RUA}, {"ruf", 3, TAG_RUF},
	{"fo", 2, TAG_FO},
};

/* is_wsp - RFC 5234 WSP */
static inline int
is_wsp(int c)
{
	return (c == ' ' || c == '\t');
}

/* is_alpha - RFC 5234 ALPHA */
static inline int
is_alpha(int c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
}

/* lower - ASCII lower case */
static inline int
lower(int c)
{
	return ((c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c);
}

/* eq_nocase - compare (p,len) with a lower-case C string, ASCII only */
static int
eq_nocase(const char *p, size_t len, const char *word)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (word[i] == '\0' || lower((unsigned char) p[i]) != word[i])
			return (0);
	return (word[len] == '\0');
}

/* trim - drop WSP at both ends of (*pp, *lenp) */
static void
trim(const char **pp, size_t *lenp)
{
	const char *p = *pp;
	size_t	len = *lenp;

	while (len > 0 && is_wsp((unsigned char) *p)) {
		p++;
		len--;
	}
	while (len > 0 && is_wsp((unsigned char) p[len - 1]))
		len--;
	*pp = p;
	*lenp = len;
}

/* value_ok - RFC 9989 4.8 dmarc-value: printing characters but ";" */
static int
value_ok(const char *v, size_t len)
{
	size_t	i;
	int	c;

	if (len == 0)
		return (0);
	for (i = 0; i < len; i++) {
		c = (unsigned char) v[i];
		if ((c < 0x20 || c > 0x7e) && c != '\t')
			return (0);
	}
	return (1);
}

/* parse_request - dmarc-request: none, quarantine, reject */
static enum ma_dmarc_policy
parse_request(const char *v, size_t len)
{
	if (eq_nocase(v, len, "none"))
		return (MA_DMARC_P_NONE);
	if (eq_nocase(v, len, "quarantine"))
		return (MA_DMARC_P_QUARANTINE);
	if (eq_nocase(v, len, "reject"))
		return (MA_DMARC_P_REJECT);
	return (MA_DMARC_P_UNSET);
}

/* uri_ok - one dmarc-uri (RFC 3986 scheme ":" rest, obsolete !size allowed) */
static int
uri_ok(const char *u, size_t len)
{
	size_t	i, colon;
	int	c;

	/* obs-dmarc-report-size: "!" 1*DIGIT [k/m/g/t] is dropped first */
	for (i = 0; i < len; i++)
		if (u[i] == '!')
			break;
	if (i < len) {
		size_t	j = i + 1, digits = 0;

		while (j < len && u[j] >= '0' && u[j] <= '9') {
			j++;
			digits++;
		}
		if (j < len && strchr("kmgtKMGT", u[j]) != NULL && u[j] != '\0')
			j++;
		if (digits == 0 || j != len)
			return (0);
		len = i;
	}
	if (len == 0 || !is_alpha((unsigned char) u[0]))
		return (0);
	for (colon = 1; colon < len; colon++) {
		c = (unsigned char) u[colon];
		if (c == ':')
			break;
		if (!is_alpha(c) && !(c >= '0' && c <= '9') && c != '+'
		    && c != '-' && c != '.')
			return (0);
	}
	if (colon >= len - 1)		/* no ":" or nothing after it */
		return (0);
	for (i = colon + 1; i < len; i++) {
		c = (unsigned char) u[i];
		/* RFC 3986 unreserved, reserved (but "," and "!"), "%" */
		if (c <= 0x20 || c >= 0x7f || strchr("\"<>\\^`{|},!", c) != NULL)
			return (0);
	}
	return (1);
}

/* count_uris - syntactically valid URIs in a dmarc-urilist */
static unsigned
count_uris(const char *v, size_t len)
{
	unsigned n = 0;
	size_t	start = 0, i;
	const char *u;
	size_t	ulen;

	for (i = 0; i <= len; i++) {
		if (i < len && v[i] != ',')
			continue;
		u = v + start;
		ulen = i - start;
		trim(&u, &ulen);
		if (uri_ok(u, ulen))
			n++;
		start = i + 1;
	}
	return (n);
}

/* fo_ok - dmarc-fo: colon list of 0, 1, d, s; 0 and 1 exclusive, no repeats */
static int
fo_ok(const char *v, size_t len)
{
	unsigned seen = 0, bit;
	size_t	i;

	for (i = 0; i < len; i += 2) {
		switch (lower((unsigned char) v[i])) {
		case '0':
			bit = 1;
			break;
		case '1':
			bit = 2;
			break;
		case 'd':
			bit = 4;
			break;
		case 's':
			bit = 8;
			break;
		default:
			return (0);
		}
		if (seen & bit)
			return (0);
		seen |= bit;
		if (i + 1 < len && v[i + 1] != ':')
			return (0);
		if (i + 1 == len - 1)	/* trailing ":" */
			return (0);
	}
	return ((seen & 3) != 3);
}

/* warn - remember the first discarded tag */
static void
warn(struct ma_dmarc_record *out, struct ma_arena *arena, const char *what,
     const char *name, size_t nlen)
{
	if (out->warning != NULL)
		return;
	out->warning = ma_arena_printf(arena, "%s \"%.*s\"", what,
				       (int) (nlen > 16 ? 16 : nlen), name);
	if (out->warning == NULL)
		out->warning = what;
}

/* parse_version - "v" equals "DMARC1"; returns bytes consumed or 0 */
static size_t
parse_version(const char *txt, size_t len)
{
	size_t	i = 0;

	while (i < len && is_wsp((unsigned char) txt[i]))
		i++;
	if (i >= len || lower((unsigned char) txt[i]) != 'v')
		return (0);
	i++;
	while (i < len && is_wsp((unsigned char) txt[i]))
		i++;
	if (i >= len || txt[i] != '=')
		return (0);
	i++;
	while (i < len && is_wsp((unsigned char) txt[i]))
		i++;
	if (len - i < 6 || memcmp(txt + i, "DMARC1", 6) != 0)
		return (0);
	i += 6;
	while (i < len && is_wsp((unsigned char) txt[i]))
		i++;
	if (i < len && txt[i] != ';')
		return (0);
	return (i);
}

/* apply_tag - store one known tag's value; bad values leave defaults */
static enum ma_status
apply_tag(struct ma_dmarc_record *out, struct ma_arena *arena,
	  unsigned bit, const char *name, size_t nlen,
	  const char *v, size_t vlen)
{
	enum ma_dmarc_policy pol;
	int	c = vlen == 1 ? lower((unsigned char) v[0]) : 0;

	switch (bit) {
	case TAG_P:
	case TAG_SP:
	case TAG_NP:
		pol = parse_request(v, vlen);
		if (pol == MA_DMARC_P_UNSET) {
			out->bad_policy = 1;
			warn(out, arena, "invalid policy in", name, nlen);
		}
		if (bit == TAG_P)
			out->p = pol;
		else if (bit == TAG_SP)
			out->sp = pol;
		else
			out->np = pol;
		break;
	case TAG_PSD:
		if (c == 'y' || c == 'n' || c == 'u')
			out->psd = (char) c;
		else
			warn(out, arena, "invalid value, default used, in", name,
			     nlen);
		break;
	case TAG_T:
		if (c == 'y' || c == 'n')
			out->testing = c == 'y';
		else
			warn(out, arena, "invalid value, default used, in", name,
			     nlen);
		break;
	case TAG_ADKIM:
	case TAG_ASPF:
		if (c == 'r' || c == 's') {
			if (bit == TAG_ADKIM)
				out->adkim = c == 's' ? MA_DMARC_ALIGN_STRICT :
				    MA_DMARC_ALIGN_RELAXED;
			else
				out->aspf = c == 's' ? MA_DMARC_ALIGN_STRICT :
				    MA_DMARC_ALIGN_RELAXED;
		} else
			warn(out, arena, "invalid value, default used, in", name,
			     nlen);
		break;
	case TAG_RUA:
	case TAG_RUF:
		if (bit == TAG_RUA) {
			out->rua = ma_arena_memdup(arena, v, vlen);
			out->n_rua_valid = count_uris(v, vlen);
		} else {
			out->ruf = ma_arena_memdup(arena, v, vlen);
			out->n_ruf_valid = count_uris(v, vlen);
		}
		if ((bit == TAG_RUA ? out->rua : out->ruf) == NULL)
			return (MA_ERR_NOMEM);
		break;
	case TAG_FO:
		if (fo_ok(v, vlen)) {
			if ((out->fo = ma_arena_memdup(arena, v, vlen)) == NULL)
				return (MA_ERR_NOMEM);
		} else
			warn(out, arena, "invalid value, default used, in", name,
			     nlen);
		break;
	}
	return (MA_OK);
}

/* ma_dmarc_record_parse - parse one TXT record */
enum ma_status
ma_dmarc_record_parse(const char *txt, size_t len, struct ma_arena *arena,
		      struct ma_dmarc_record *out, const char **why)
{
	const char *dummy, *seg, *name, *v;
	size_t	pos, end, slen, nlen, vlen, i, ntags = 0;
	unsigned seen = 0, bit;
	enum ma_status st;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	memset(out, 0, sizeof(*out));
	out->p = out->sp = out->np = MA_DMARC_P_UNSET;
	out->psd = 'u';
	out->adkim = out->aspf = MA_DMARC_ALIGN_RELAXED;

	if (txt == NULL || (pos = parse_version(txt, len)) == 0) {
		*why = "not a DMARC record (no v=DMARC1 first)";
		return (MA_ERR_NOTFOUND);
	}
	if (len > MA_LIMIT_DMARC_RECORD_BYTES) {
		*why = "DMARC record longer than MA_LIMIT_DMARC_RECORD_BYTES";
		return (MA_ERR_LIMIT);
	}
	/* pos is at ";" or the end; each round takes one dmarc-sep + tag */
	while (pos < len) {
		pos++;				/* the ";" */
		for (end = pos; end < len && txt[end] != ';'; end++)
			 /* find the next separator */ ;
		seg = txt + pos;
		slen = end - pos;
		pos = end;
		trim(&seg, &slen);
		if (slen == 0)
			continue;		/* ";;" or a trailing ";" */
		if (++ntags > MA_LIMIT_DMARC_TAGS) {
			*why = "more than MA_LIMIT_DMARC_TAGS tags";
			return (MA_ERR_LIMIT);
		}
		/* dmarc-tag = 1*ALPHA equals 1*dmarc-value */
		name = seg;
		for (nlen = 0; nlen < slen && is_alpha((unsigned char) seg[nlen]);
		     nlen++)
			 /* tag name */ ;
		v = seg + nlen;
		vlen = slen - nlen;
		trim(&v, &vlen);
		if (nlen == 0 || vlen == 0 || v[0] != '=') {
			warn(out, arena, "malformed tag discarded:", seg, slen);
			continue;
		}
		v++;
		vlen--;
		trim(&v, &vlen);
		for (bit = 0, i = 0; i < sizeof(tagnames) / sizeof(tagnames[0]);
		     i++)
			if (tagnames[i].len == nlen
			    && eq_nocase(name, nlen, tagnames[i].name))
				bit = tagnames[i].bit;
		if (bit == 0)
			continue;		/* unknown tags MUST be ignored */
		if (seen & bit) {
			*why = ma_arena_printf(arena, "duplicate tag \"%.*s\"",
					       (int) nlen, name);
			if (*why == NULL)
				*why = "duplicate tag";
			return (MA_ERR_SYNTAX);
		}
		seen |= bit;
		if (!value_ok(v, vlen)) {
			if (bit & (TAG_P | TAG_SP | TAG_NP))
				out->bad_policy = 1;
			warn(out, arena, "invalid characters in tag", name, nlen);
			continue;
		}
		if ((st = apply_tag(out, arena, bit, name, nlen, v, vlen)) != MA_OK)
			return (st);
	}
	if (!(seen & TAG_P)) {
		out->bad_policy = 1;
		if (out->warning == NULL)
			out->warning = "no p tag";
	}
	return (MA_OK);
}
