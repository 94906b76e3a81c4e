/*
 * NAME
 *	spf_record - strict SPF record syntax check and macro expansion
 * SUMMARY
 *	Our own RFC 7208 parser: every record passes it before libspf2
 *	compiles anything, and macros are expanded here, never in libspf2.
 * SYNOPSIS
 *	#include <mailauth/spf.h>
 *	#include "spf_int.h"
 * DESCRIPTION
 *	ma_spf_record_parse() checks one "v=spf1" record against the ABNF
 *	of RFC 7208 section 12 (terms, qualifiers, mechanism arguments,
 *	dual CIDR lengths, ip4/ip6 networks, domain-end/toplabel, macro
 *	syntax, at most one redirect and one exp) and returns its terms.
 *	ma_spf_record_check() is the public yes/no form.
 *	ma_spf_expand() performs RFC 7208 section 7 expansion (letters,
 *	digit and "r" transformers, delimiters, URL escaping of upper-case
 *	letters, left truncation to 253 characters for names).
 *
 *	libspf2 1.2.10 compiles macro variables with a length check that
 *	can be passed by a string with many variables followed by a literal
 *	(CVE-2023-42118, SPF_c_parse_macro/SPF_record_compile_macro); spf.c
 *	therefore hands libspf2 only macro-free text built from our parse.
 * MEMORY
 *	Parsed terms point into the caller's record bytes. Expansion output
 *	goes to the caller's ma_buf (arena); scratch space too.
 * LIMITS
 *	MA_LIMIT_SPF_RECORD_BYTES per record, MA_LIMIT_SPF_TERMS terms,
 *	MA_LIMIT_SPF_MACRO_EXPANSION characters per expanded name.
 * DIAGNOSTICS
 *	MA_ERR_SYNTAX / MA_ERR_LIMIT with a short reason in err; nothing
 *	is logged here.
 * THREADS
 *	Reentrant; no shared state.
 * STANDARDS
 *	RFC 7208 sections 4.5, 4.6, 5, 6, 7 and 12; RFC 3986 2.3.
 * SEE ALSO
 *	spf.c, include/mailauth/spf.h
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <mailauth/arena.h>
#include <mailauth/buf.h>
#include <mailauth/spf.h>

#include "ma_limits.h"
#include "spf_int.h"

#define MA_SPF_EXPAND_MAX	8192	/* ours: any one expansion */

/* seterr - copy a reason into err */
static enum ma_status
seterr(char *err, size_t errlen, enum ma_status st, const char *what)
{
	if (err != NULL && errlen > 0)
		(void) snprintf(err, errlen, "%s", what);
	return (st);
}

/* is_alpha - ASCII letter */
static int
is_alpha(int c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
}

/* is_digit - ASCII digit */
static int
is_digit(int c)
{
	return (c >= '0' && c <= '9');
}

/* is_alnum - ASCII letter or digit */
static int
is_alnum(int c)
{
	return (is_alpha(c) || is_digit(c));
}

/* lower - ASCII tolower */
static int
lower(int c)
{
	return ((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
}

/* is_delim - RFC 7208 7.1 delimiter */
static int
is_delim(int c)
{
	return (c != 0 && strchr(".-+,/_=", c) != NULL);
}

/* is_macro_letter - RFC 7208 7.1 macro-letter (either case) */
static int
is_macro_letter(int c)
{
	c = lower(c);
	return (c != 0 && strchr("slodiphcrtv", c) != NULL);
}

/*
 * macro_string_check - macro-string (or explain-string when is_exp) of
 * len bytes. *ends_expand says whether the last token is a macro-expand.
 */
static enum ma_status
macro_string_check(const char *p, size_t len, int is_exp, int *ends_expand,
		   char *err, size_t errlen)
{
	size_t	i = 0;
	unsigned char c;
	int	letter;

	*ends_expand = 0;
	while (i < len) {
		c = (unsigned char) p[i];
		if (c != '%') {
			if (c == ' ' && is_exp) {
				*ends_expand = 0;
				i++;
				continue;
			}
			if (c < 0x21 || c > 0x7e)
				return (seterr(err, errlen, MA_ERR_SYNTAX,
					       "invalid character in macro-string"));
			*ends_expand = 0;
			i++;
			continue;
		}
		if (i + 1 >= len)
			return (seterr(err, errlen, MA_ERR_SYNTAX,
				       "'%' at end of macro-string"));
		c = (unsigned char) p[i + 1];
		if (c == '%' || c == '_' || c == '-') {
			*ends_expand = 1;
			i += 2;
			continue;
		}
		if (c != '{')
			return (seterr(err, errlen, MA_ERR_SYNTAX,
				       "'%' not followed by '{', '%', '_' or '-'"));
		i += 2;
		if (i >= len || !is_macro_letter((unsigned char) p[i]))
			return (seterr(err, errlen, MA_ERR_SYNTAX,
				       "invalid macro letter"));
		letter = lower((unsigned char) p[i]);
		if (!is_exp && (letter == 'c' || letter == 'r' || letter == 't'))
			return (seterr(err, errlen, MA_ERR_SYNTAX,
				       "macro letter allowed only in exp text"));
		i++;
		if (i < len && is_digit((unsigned char) p[i])) {
			int	nonzero = 0;

			while (i < len && is_digit((unsigned char) p[i])) {
				if (p[i] != '0')
					nonzero = 1;
				i++;
			}
			if (!nonzero)
				return (seterr(err, errlen, MA_ERR_SYNTAX,
					       "macro digit transformer is zero"));
		}
		if (i < len && lower((unsigned char) p[i]) == 'r')
			i++;
		while (i < len && is_delim((unsigned char) p[i]))
			i++;
		if (i >= len || p[i] != '}')
			return (seterr(err, errlen, MA_ERR_SYNTAX,
				       "unterminated or invalid macro"));
		i++;
		*ends_expand = 1;
	}
	return (MA_OK);
}

/* toplabel_ok - RFC 7208 section 12 toplabel */
static int
toplabel_ok(const char *p, size_t len)
{
	size_t	i;
	int	alpha = 0, dash = 0;

	if (len == 0 || !is_alnum((unsigned char) p[0])
	    || !is_alnum((unsigned char) p[len - 1]))
		return (0);
	for (i = 0; i < len; i++) {
		if (is_alpha((unsigned char) p[i]))
			alpha = 1;
		else if (p[i] == '-')
			dash = 1;
		else if (!is_digit((unsigned char) p[i]))
			return (0);
	}
	return (alpha || dash);
}

/* domain_spec_check - macro-string domain-end */
static enum ma_status
domain_spec_check(const char *p, size_t len, char *err, size_t errlen)
{
	enum ma_status st;
	int	ends_expand;
	size_t	end, dot;

	if (len == 0)
		return (seterr(err, errlen, MA_ERR_SYNTAX, "empty domain-spec"));
	if ((st = macro_string_check(p, len, 0, &ends_expand, err,
				     errlen)) != MA_OK)
		return (st);
	if (ends_expand)
		return (MA_OK);
	end = len;
	if (p[end - 1] == '.')
		end--;
	for (dot = end; dot > 0 && p[dot - 1] != '.'; dot--)
		if (p[dot - 1] == '}' || p[dot - 1] == '%')
			break;
	if (dot == 0 || p[dot - 1] != '.'
	    || !toplabel_ok(p + dot, end - dot))
		return (seterr(err, errlen, MA_ERR_SYNTAX,
			       "domain-spec does not end in a valid top label"));
	return (MA_OK);
}

/* parse_cidr - "/" digits with RFC 7208 12 shape, at most max */
static int
parse_cidr(const char *p, size_t len, int max)
{
	int	v = 0;
	size_t	i;

	if (len == 0 || len > 3 || (p[0] == '0' && len > 1))
		return (-1);
	for (i = 0; i < len; i++) {
		if (!is_digit((unsigned char) p[i]))
			return (-1);
		v = v * 10 + (p[i] - '0');
	}
	return (v <= max ? v : -1);
}

/* split_cidr - take a trailing [/n][//m] off *lenp; -1 on a bad length */
static int
split_cidr(const char *p, size_t *lenp, int *c4, int *c6)
{
	size_t	len = *lenp, d;

	*c4 = *c6 = -1;
	for (d = len; d > 0 && is_digit((unsigned char) p[d - 1]); d--)
		;
	if (d >= 2 && d < len && p[d - 1] == '/' && p[d - 2] == '/') {
		if ((*c6 = parse_cidr(p + d, len - d, 128)) < 0)
			return (-1);
		len = d - 2;
		for (d = len; d > 0 && is_digit((unsigned char) p[d - 1]); d--)
			;
	}
	if (d >= 1 && d < len && p[d - 1] == '/') {
		if ((*c4 = parse_cidr(p + d, len - d, 32)) < 0)
			return (-1);
		len = d - 1;
	}
	*lenp = len;
	return (0);
}

/* parse_ip4 - strict dotted quad (RFC 7208 12 ip4-network) */
static int
parse_ip4(const char *p, size_t len, unsigned char *addr)
{
	size_t	i = 0, start;
	int	n, v;

	for (n = 0; n < 4; n++) {
		start = i;
		v = 0;
		while (i < len && is_digit((unsigned char) p[i]) && i - start < 3)
			v = v * 10 + (p[i++] - '0');
		if (i == start || v > 255 || (p[start] == '0' && i - start > 1))
			return (-1);
		addr[n] = (unsigned char) v;
		if (n < 3) {
			if (i >= len || p[i] != '.')
				return (-1);
			i++;
		}
	}
	return (i == len ? 0 : -1);
}

/* parse_ip6 - ip6-network through inet_pton on a bounded copy */
static int
parse_ip6(const char *p, size_t len, unsigned char *addr)
{
	char	tmp[INET6_ADDRSTRLEN + 1];
	size_t	i;

	if (len == 0 || len >= sizeof(tmp))
		return (-1);
	for (i = 0; i < len; i++)
		if (!(is_digit((unsigned char) p[i]) || p[i] == ':' || p[i] == '.'
		      || (lower((unsigned char) p[i]) >= 'a'
			  && lower((unsigned char) p[i]) <= 'f')))
			return (-1);
	memcpy(tmp, p, len);
	tmp[len] = 0;
	return (inet_pton(AF_INET6, tmp, addr) == 1 ? 0 : -1);
}

/* mech_kind - known mechanism name or -1 */
static int
mech_kind(const char *p, size_t len)
{
	static const struct {
		const char *name;
		enum ma_spf_term_kind kind;
	} tab[] = {
		{"all", MA_SPF_T_ALL}, {"include", MA_SPF_T_INCLUDE},
		{"a", MA_SPF_T_A}, {"mx", MA_SPF_T_MX}, {"ptr", MA_SPF_T_PTR},
		{"ip4", MA_SPF_T_IP4}, {"ip6", MA_SPF_T_IP6},
		{"exists", MA_SPF_T_EXISTS},
	};
	size_t	i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strlen(tab[i].name) == len
		    && strncasecmp(tab[i].name, p, len) == 0)
			return ((int) tab[i].kind);
	return (-1);
}

/* parse_mechanism - arguments of one mechanism (p after the name) */
static enum ma_status
parse_mechanism(struct ma_spf_term *t, const char *p, size_t len,
		char *err, size_t errlen)
{
	size_t	n;

	switch (t->kind) {
	case MA_SPF_T_ALL:
		if (len != 0)
			return (seterr(err, errlen, MA_ERR_SYNTAX,
				       "\"all\" takes no argument"));
		return (MA_OK);
	case MA_SPF_T_INCLUDE:
	case MA_SPF_T_EXISTS:
		if (len < 1 || p[0] != ':')
			return (seterr(err, errlen, MA_ERR_SYNTAX,
				       "mechanism needs \":domain-spec\""));
		t->spec = p + 1;
		t->spec_len = len - 1;
		return (domain_spec_check(t->spec, t->spec_len, err, errlen));
	case MA_SPF_T_PTR:
		if (len == 0)
			return (MA_OK);
		if (p[0] != ':')
			return (seterr(err, errlen, MA_ERR_SYNTAX,
				       "invalid argument to \"ptr\""));
		t->spec = p + 1;
		t->spec_len = len - 1;
		return (domain_spec_check(t->spec, t->spec_len, err, errlen));
	case MA_SPF_T_A:
	case MA_SPF_T_MX:
		n = len;
		if (split_cidr(p, &n, &t->cidr4, &t->cidr6) < 0)
			return (seterr(err, errlen, MA_ERR_SYNTAX,
				       "invalid CIDR length"));
		if (n == 0)
			return (MA_OK);
		if (p[0] != ':')
			return (seterr(err, errlen, MA_ERR_SYNTAX,
				       "invalid argument to \"a\"/\"mx\""));
		t->spec = p + 1;
		t->spec_len = n - 1;
		return (domain_spec_check(t->spec, t->spec_len, err, errlen));
	case MA_SPF_T_IP4:
	case MA_SPF_T_IP6:
		if (len < 2 || p[0] != ':')
			return (seterr(err, errlen, MA_ERR_SYNTAX,
				       "ip4/ip6 needs \":network\""));
		p++;
		len--;
		for (n = 0; n < len && p[n] != '/'; n++)
			;
		if (n < len) {
			t->cidr4 = t->cidr6 = parse_cidr(p + n + 1, len - n - 1,
				t->kind == MA_SPF_T_IP4 ? 32 : 128);
			if (t->cidr4 < 0)
				return (seterr(err, errlen, MA_ERR_SYNTAX,
					       "invalid CIDR length"));
		}
		if ((t->kind == MA_SPF_T_IP4 ? parse_ip4(p, n, t->addr)
		     : parse_ip6(p, n, t->addr)) < 0)
			return (seterr(err, errlen, MA_ERR_SYNTAX,
				       "invalid ip4/ip6 network"));
		return (MA_OK);
	default:
		return (seterr(err, errlen, MA_ERR_INTERNAL, "bad term kind"));
	}
}

/* parse_term - one directive or modifier */
static enum ma_status
parse_term(struct ma_spf_term *t, const char *p, size_t len, char *err,
	   size_t errlen)
{
	size_t	i = 0, name;
	int	kind, ends;

	memset(t, 0, sizeof(*t));
	t->cidr4 = t->cidr6 = -1;
	t->qualifier = 0;
	if (strchr("+-~?", p[0]) != NULL) {
		t->qualifier = p[0];
		i++;
	}
	name = i;
	if (i >= len || !is_alpha((unsigned char) p[i]))
		return (seterr(err, errlen, MA_ERR_SYNTAX,
			       "term does not start with a name"));
	while (i < len && (is_alnum((unsigned char) p[i]) || p[i] == '-'
			   || p[i] == '_' || p[i] == '.'))
		i++;
	if (i < len && p[i] == '=') {
		if (t->qualifier)
			return (seterr(err, errlen, MA_ERR_SYNTAX,
				       "modifier with a qualifier"));
		t->spec = p + i + 1;
		t->spec_len = len - i - 1;
		if (i - name == 8 && strncasecmp(p + name, "redirect", 8) == 0)
			t->kind = MA_SPF_T_REDIRECT;
		else if (i - name == 3 && strncasecmp(p + name, "exp", 3) == 0)
			t->kind = MA_SPF_T_EXP;
		else {
			t->kind = MA_SPF_T_UNKNOWN_MOD;
			/* never expanded: c, r and t are tolerated here */
			return (macro_string_check(t->spec, t->spec_len, 1, &ends,
						   err, errlen));
		}
		return (domain_spec_check(t->spec, t->spec_len, err, errlen));
	}
	if ((kind = mech_kind(p + name, i - name)) < 0)
		return (seterr(err, errlen, MA_ERR_SYNTAX, "unknown mechanism"));
	t->kind = (enum ma_spf_term_kind) kind;
	if (!t->qualifier)
		t->qualifier = '+';
	return (parse_mechanism(t, p + i, len - i, err, errlen));
}

/* ma_spf_is_spf1 - version section "v=spf1" then SP or end (4.5) */
int
ma_spf_is_spf1(const char *txt, size_t len)
{
	if (len < 6 || strncasecmp(txt, "v=spf1", 6) != 0)
		return (0);
	return (len == 6 || txt[6] == ' ');
}

/* ma_spf_record_parse - strict parse of one record */
enum ma_status
ma_spf_record_parse(const char *rec, size_t len, struct ma_spf_parsed *out,
		    char *err, size_t errlen)
{
	enum ma_status st;
	size_t	i, start;
	int	n_redirect = 0, n_exp = 0;

	out->n_terms = 0;
	if (len > MA_LIMIT_SPF_RECORD_BYTES)
		return (seterr(err, errlen, MA_ERR_LIMIT, "record too long"));
	if (!ma_spf_is_spf1(rec, len))
		return (seterr(err, errlen, MA_ERR_SYNTAX, "not a v=spf1 record"));
	for (i = 0; i < len; i++)
		if ((unsigned char) rec[i] < 0x20 || (unsigned char) rec[i] > 0x7e)
			return (seterr(err, errlen, MA_ERR_SYNTAX,
			       "control or non-ASCII character in record"));
	i = 6;
	while (i < len) {
		while (i < len && rec[i] == ' ')
			i++;
		if (i >= len)
			break;
		start = i;
		while (i < len && rec[i] != ' ')
			i++;
		if (out->n_terms >= MA_LIMIT_SPF_TERMS)
			return (seterr(err, errlen, MA_ERR_LIMIT,
				       "too many terms in record"));
		st = parse_term(&out->terms[out->n_terms], rec + start,
				i - start, err, errlen);
		if (st != MA_OK)
			return (st);
		if (out->terms[out->n_terms].kind == MA_SPF_T_REDIRECT
		    && ++n_redirect > 1)
			return (seterr(err, errlen, MA_ERR_SYNTAX,
				       "more than one redirect modifier"));
		if (out->terms[out->n_terms].kind == MA_SPF_T_EXP
		    && ++n_exp > 1)
			return (seterr(err, errlen, MA_ERR_SYNTAX,
				       "more than one exp modifier"));
		out->n_terms++;
	}
	return (MA_OK);
}

/* ma_spf_record_check - public syntax and size check */
enum ma_status
ma_spf_record_check(const char *rec, size_t len, char *err, size_t errlen)
{
	struct ma_spf_parsed *parsed;
	struct ma_arena *a;
	enum ma_status st;

	if (rec == NULL)
		return (seterr(err, errlen, MA_ERR_SYNTAX, "no record"));
	if ((a = ma_arena_new()) == NULL)
		return (MA_ERR_NOMEM);
	if ((parsed = ma_arena_alloc(a, sizeof(*parsed))) == NULL)
		st = MA_ERR_NOMEM;
	else
		st = ma_spf_record_parse(rec, len, parsed, err, errlen);
	ma_arena_free(&a);
	if (st == MA_ERR_LIMIT)
		st = MA_ERR_SYNTAX;
	return (st);
}

/* ma_spf_explain_check - explain-string syntax (RFC 7208 6.2) */
enum ma_status
ma_spf_explain_check(const char *s, size_t len, char *err, size_t errlen)
{
	int	ends;

	return (macro_string_check(s, len, 1, &ends, err, errlen));
}

/* macro_value - the raw value of one macro letter into v */
static enum ma_status
macro_value(const struct ma_spf_macro_ctx *ctx, int letter, struct ma_buf *v)
{
	static const char hex[] = "0123456789abcdef";
	char	tmp[64];
	const char *s = NULL;
	size_t	i;
	enum ma_status st = MA_OK;

	switch (letter) {
	case 's':
		s = ctx->sender;
		break;
	case 'l':
		return (ma_buf_append(v, ctx->local, ctx->local_len));
	case 'o':
		s = ctx->sender_domain;
		break;
	case 'd':
		s = ctx->domain;
		break;
	case 'h':
		s = ctx->helo ? ctx->helo : "";
		break;
	case 'r':
		s = ctx->receiver ? ctx->receiver : "unknown";
		break;
	case 'v':
		s = ctx->ip.family == AF_INET6 ? "ip6" : "in-addr";
		break;
	case 't':
		(void) snprintf(tmp, sizeof(tmp), "%lld", (long long) ctx->now);
		s = tmp;
		break;
	case 'p':
		s = ctx->get_p ? ctx->get_p(ctx->get_p_arg, ctx->domain) : NULL;
		if (s == NULL)
			s = "unknown";
		break;
	case 'c':
	case 'i':
		if (ctx->ip.family == AF_INET6 && letter == 'i') {
			for (i = 0; i < 16 && st == MA_OK; i++) {
				char	nib[4];

				nib[0] = hex[ctx->ip.addr[i] >> 4];
				nib[1] = '.';
				nib[2] = hex[ctx->ip.addr[i] & 15];
				nib[3] = '.';
				st = ma_buf_append(v, nib, i == 15 ? 3 : 4);
			}
			return (st);
		}
		if (ctx->ip.family == 0
		    || inet_ntop(ctx->ip.family, ctx->ip.addr, tmp,
				 sizeof(tmp)) == NULL)
			s = "unknown";
		else
			s = tmp;
		break;
	default:
		return (MA_ERR_INTERNAL);
	}
	return (ma_buf_puts(v, s ? s : ""));
}

/* url_escape_append - RFC 7208 7.3 / RFC 3986 2.3 unreserved kept */
static enum ma_status
url_escape_append(struct ma_buf *out, const char *p, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	enum ma_status st = MA_OK;
	size_t	i;
	unsigned char c;
	char	e[3];

	for (i = 0; i < len && st == MA_OK; i++) {
		c = (unsigned char) p[i];
		if (is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
			st = ma_buf_append(out, p + i, 1);
		else {
			e[0] = '%';
			e[1] = hex[c >> 4];
			e[2] = hex[c & 15];
			st = ma_buf_append(out, e, 3);
		}
	}
	return (st);
}

/*
 * expand_var - one %{...}: split the value on the delimiters, reverse,
 * keep the rightmost digits parts of that list, join with '.',
 * URL-escape if the letter is upper case.
 */
static enum ma_status
expand_var(const struct ma_spf_macro_ctx *ctx, const char *p, size_t len,
	   struct ma_buf *out)
{
	struct ma_buf val, joined;
	const char *delims = ".";
	char	dset[16];
	size_t	i = 1, nd = 0, nparts, k, keep, *ps, *pl;
	unsigned long digits = 0;
	int	letter = lower((unsigned char) p[0]);
	int	upper = p[0] >= 'A' && p[0] <= 'Z', rev = 0;
	enum ma_status st;

	while (i < len && is_digit((unsigned char) p[i])) {
		if (digits < 1000)
			digits = digits * 10 + (unsigned long) (p[i] - '0');
		i++;
	}
	if (i < len && lower((unsigned char) p[i]) == 'r') {
		rev = 1;
		i++;
	}
	while (i < len && nd < sizeof(dset) - 1)
		dset[nd++] = p[i++];
	dset[nd] = 0;
	if (nd > 0)
		delims = dset;

	ma_buf_init(&val, out->arena, MA_SPF_EXPAND_MAX);
	if ((st = macro_value(ctx, letter, &val)) != MA_OK)
		return (st);
	if (val.data == NULL && (st = ma_buf_append(&val, "", 0)) != MA_OK)
		return (st);
	/* part boundaries */
	nparts = 1;
	for (k = 0; k < val.len; k++)
		if (val.data[k] != 0 && strchr(delims, val.data[k]) != NULL)
			nparts++;
	ps = ma_arena_calloc(out->arena, nparts, sizeof(*ps));
	pl = ma_arena_calloc(out->arena, nparts, sizeof(*pl));
	if (ps == NULL || pl == NULL)
		return (MA_ERR_NOMEM);
	nparts = 0;
	ps[0] = 0;
	for (k = 0; k <= val.len; k++) {
		if (k == val.len || (val.data[k] != 0
				     && strchr(delims, val.data[k]) != NULL)) {
			pl[nparts] = k - ps[nparts];
			nparts++;
			if (k < val.len)
				ps[nparts] = k + 1;
		}
	}
	keep = (digits > 0 && digits < nparts) ? digits : nparts;
	ma_buf_init(&joined, out->arena, MA_SPF_EXPAND_MAX);
	if ((st = ma_buf_append(&joined, "", 0)) != MA_OK)
		return (st);
	for (k = nparts - keep; k < nparts; k++) {
		size_t	idx = rev ? nparts - 1 - k : k;

		if (k > nparts - keep && (st = ma_buf_append(&joined, ".", 1))
		    != MA_OK)
			return (st);
		if ((st = ma_buf_append(&joined, val.data + ps[idx], pl[idx]))
		    != MA_OK)
			return (st);
	}
	if (upper)
		return (url_escape_append(out, joined.data, joined.len));
	return (ma_buf_append(out, joined.data, joined.len));
}

/* ma_spf_expand - RFC 7208 section 7 macro expansion */
enum ma_status
ma_spf_expand(const struct ma_spf_macro_ctx *ctx, const char *in, size_t len,
	      int is_exp, struct ma_buf *out, char *err, size_t errlen)
{
	struct ma_buf tmp;
	enum ma_status st;
	int	ends;
	size_t	i = 0, j, start;

	if ((st = macro_string_check(in, len, is_exp, &ends, err, errlen))
	    != MA_OK)
		return (st);
	ma_buf_init(&tmp, out->arena, MA_SPF_EXPAND_MAX);
	if ((st = ma_buf_append(&tmp, "", 0)) != MA_OK)
		return (st);
	while (i < len && st == MA_OK) {
		if (in[i] != '%') {
			for (j = i; j < len && in[j] != '%'; j++)
				;
			st = ma_buf_append(&tmp, in + i, j - i);
			i = j;
			continue;
		}
		/* macro_string_check guarantees the shape */
		switch (in[i + 1]) {
		case '%':
			st = ma_buf_append(&tmp, "%", 1);
			i += 2;
			break;
		case '_':
			st = ma_buf_append(&tmp, " ", 1);
			i += 2;
			break;
		case '-':
			st = ma_buf_append(&tmp, "%20", 3);
			i += 2;
			break;
		default:
			start = i + 2;
			for (j = start; j < len && in[j] != '}'; j++)
				;
			st = expand_var(ctx, in + start, j - start, &tmp);
			i = j + 1;
			break;
		}
	}
	if (st != MA_OK)
		return (seterr(err, errlen, st, st == MA_ERR_LIMIT
			       ? "macro expansion too long"
			       : "macro expansion failed"));
	i = 0;
	if (!is_exp) {
		/* RFC 7208 7.3: drop left labels until it fits */
		while (tmp.len - i > MA_LIMIT_SPF_MACRO_EXPANSION) {
			const char *dot = memchr(tmp.data + i, '.', tmp.len - i);

			if (dot == NULL) {
				i = tmp.len;
				break;
			}
			i = (size_t) (dot - tmp.data) + 1;
		}
	}
	return (ma_buf_append(out, tmp.data + i, tmp.len - i));
}
