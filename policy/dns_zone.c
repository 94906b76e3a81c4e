/*
 * NAME
 *	dns_zone - local zone data for the resolver
 * SUMMARY
 *	Zone-file lines to libunbound local data; the table of local names.
 * SYNOPSIS
 *	#include "dns_int.h"
 * DESCRIPTION
 *	ma_dns_zone_parse() reads one line "name [TTL] [IN] TYPE rdata"
 *	(TTL and class in either order), checks every field and writes a
 *	canonical line that ub_ctx_data_add() cannot misread: lower-case
 *	absolute owner, numeric TTL, class IN, TXT strings re-quoted with
 *	every byte that is not plain printable ASCII as \DDD. Types: A,
 *	AAAA, TXT, SPF, MX, PTR, CNAME, NS. TXT rdata is one or more quoted
 *	strings (\" and \DDD escapes) or bare words; a string longer than
 *	255 bytes is split into several character-strings, which changes
 *	nothing for consumers that concatenate them (RFC 7208 3.3).
 *	A record may run over several lines inside "( )" (RFC 1035 5.1),
 *	as mailauth-keygen and opendkim-genkey write them.
 *	Not supported, and reported as such: relative names and '@',
 *	$ORIGIN/$TTL directives, owner inherited from the
 *	previous line (leading blank), classes other than IN.
 *
 *	The names table remembers which types each local name has and
 *	which names are failure names, so that ma_dns_query() can fail a
 *	failure name for the types that have no local data without
 *	asking libunbound.
 *
 *	ma_dns_load_zone_file() feeds a file line by line through
 *	ma_dns_add_record() and stops at the first bad line.
 * MEMORY
 *	The names table is malloc'ed, owned by struct ma_dns and freed with
 *	it. ma_dns_zone_parse() returns a malloc'ed text the caller frees.
 * LIMITS
 *	MA_LIMIT_ZONE_LINE bytes per line; names as ma_dns_name_check().
 * DIAGNOSTICS
 *	Errors are written to the caller's err buffer as "file:line: what".
 *	Nothing is logged here.
 * THREADS
 *	Zone data is added before the first query, from one thread; the
 *	names table is read-only (and then safe to share) afterwards.
 * STANDARDS
 *	RFC 1035 5.1 (master file format, subset), RFC 1035 2.3.4 (sizes).
 * SEE ALSO
 *	dns.c, unbound.conf(5) local-data.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailauth/dns.h>
#include "dns_int.h"
#include "ma_limits.h"

#define NAMES_BUCKETS	1024
#define ZONE_DEFAULT_TTL 3600
#define ZONE_TTL_MAX	2147483647L	/* RFC 2181 8 */
#define ZONE_TOKENS_MAX	512		/* rdata tokens on one line */
#define TXT_STRING_MAX	255		/* RFC 1035 3.3 character-string */

struct name_ent {
	struct name_ent *next;
	uint64_t types;			/* bit per type, bit 63: others */
	int	is_failure;
	size_t	len;
	char	name[MA_DNS_NAME_MAX + 1];
};

struct ma_dns_names {
	struct name_ent *bucket[NAMES_BUCKETS];
};

/* lc - ASCII lower case */
static inline int
lc(int c)
{
	return (c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
}

/* type_bit - bit of a type in name_ent.types */
static inline uint64_t
type_bit(int type)
{
	return ((uint64_t) 1 << (type > 0 && type < 63 ? type : 63));
}

/* name_hash - FNV-1a over the lower-cased name */
static unsigned
name_hash(const char *p, size_t len)
{
	uint32_t h = 2166136261u;
	size_t	i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char) lc((unsigned char) p[i]);
		h *= 16777619u;
	}
	return (h % NAMES_BUCKETS);
}

/* name_eq - case-insensitive equality */
static int
name_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t	i;

	if (alen != blen)
		return (0);
	for (i = 0; i < alen; i++)
		if (lc((unsigned char) a[i]) != lc((unsigned char) b[i]))
			return (0);
	return (1);
}

/* ma_dns_names_new - empty table */
struct ma_dns_names *
ma_dns_names_new(void)
{
	return (calloc(1, sizeof(struct ma_dns_names)));
}

/* ma_dns_names_free - release the table, clear *tp */
void
ma_dns_names_free(struct ma_dns_names **tp)
{
	struct ma_dns_names *t;
	struct name_ent *e, *next;
	size_t	i;

	if (tp == NULL || (t = *tp) == NULL)
		return;
	for (i = 0; i < NAMES_BUCKETS; i++)
		for (e = t->bucket[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	free(t);
	*tp = NULL;
}

/* names_find - entry for name, or NULL */
static struct name_ent *
names_find(const struct ma_dns_names *t, const char *name, size_t len)
{
	struct name_ent *e;

	for (e = t->bucket[name_hash(name, len)]; e != NULL; e = e->next)
		if (name_eq(e->name, e->len, name, len))
			return (e);
	return (NULL);
}

/* ma_dns_names_add - note local data of type at name (type 0: failure) */
enum ma_status
ma_dns_names_add(struct ma_dns_names *t, const char *name, size_t len,
		 int type)
{
	struct name_ent *e;
	size_t	i;
	unsigned h;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > MA_DNS_NAME_MAX)
		return (MA_ERR_SYNTAX);
	if ((e = names_find(t, name, len)) == NULL) {
		if ((e = calloc(1, sizeof(*e))) == NULL)
			return (MA_ERR_NOMEM);
		for (i = 0; i < len; i++)
			e->name[i] = (char) lc((unsigned char) name[i]);
		e->len = len;
		h = name_hash(name, len);
		e->next = t->bucket[h];
		t->bucket[h] = e;
	}
	if (type == 0)
		e->is_failure = 1;
	else
		e->types |= type_bit(type);
	return (MA_OK);
}

/* ma_dns_names_fails - is name a failure name without local type data? */
int
ma_dns_names_fails(const struct ma_dns_names *t, const char *name,
		   size_t len, int type)
{
	const struct name_ent *e;

	if (t == NULL)
		return (0);
	if (len > 0 && name[len - 1] == '.')
		len--;
	if ((e = names_find(t, name, len)) == NULL || !e->is_failure)
		return (0);
	/* A local CNAME answers every type. */
	if (e->types & (type_bit(type) | type_bit(MA_DNS_CNAME)))
		return (0);
	return (1);
}

/* ma_dns_name_check - length without trailing dot, 0 when invalid */
size_t
ma_dns_name_check(const char *p, size_t len)
{
	size_t	i, label = 0;

	if (p == NULL || len == 0)
		return (0);
	if (p[len - 1] == '.')
		len--;
	if (len == 0 || len > MA_DNS_NAME_MAX)
		return (0);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char) p[i];

		if (c == '.') {
			if (label == 0)
				return (0);
			label = 0;
			continue;
		}
		if (c <= 0x20 || c >= 0x7f || c == '\\')
			return (0);
		if (++label > MA_DNS_LABEL_MAX)
			return (0);
	}
	return (label == 0 ? 0 : len);
}

/*
 * Tokens of one line. raw points into the line; a quoted token's raw
 * text excludes the quotes; escapes are still in it.
 */
struct tok {
	const char *raw;
	size_t	len;
	int	quoted;
};

/* zerr - format a parse error */
static enum ma_status
zerr(enum ma_status st, char *err, size_t errlen, const char *what)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", what);
	return (st);
}

/*
 * tokenize - split (p, len) into at most max tokens. Returns the count,
 * or -1 with *why set.
 */
static int
tokenize(const char *p, size_t len, struct tok *tv, int max, const char **why)
{
	size_t	i = 0, start;
	int	n = 0;

	while (i < len) {
		unsigned char c = (unsigned char) p[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			i++;
			continue;
		}
		if (c == ';')
			break;
		if (n >= max) {
			*why = "too many fields";
			return (-1);
		}
		if (c == '(' || c == ')') {
			*why = "parentheses are not supported";
			return (-1);
		}
		if (c == '"') {
			start = ++i;
			while (i < len && p[i] != '"') {
				if (p[i] == '\\' && i + 1 < len)
					i++;
				i++;
			}
			if (i >= len) {
				*why = "unterminated quoted string";
				return (-1);
			}
			tv[n].raw = p + start;
			tv[n].len = i - start;
			tv[n].quoted = 1;
			n++;
			i++;		/* closing quote */
			if (i < len && p[i] != ' ' && p[i] != '\t' &&
			    p[i] != '\r' && p[i] != '\n' && p[i] != ';') {
				*why = "no blank after quoted string";
				return (-1);
			}
			continue;
		}
		start = i;
		while (i < len && p[i] != ' ' && p[i] != '\t' && p[i] != '\r'
		       && p[i] != '\n' && p[i] != ';' && p[i] != '"') {
			if (p[i] == '\\' && i + 1 < len)
				i++;
			i++;
		}
		tv[n].raw = p + start;
		tv[n].len = i - start;
		tv[n].quoted = 0;
		n++;
	}
	return (n);
}

/*
 * unescape - zone-file escapes (\DDD, \X) of a token into out (room for
 * tok->len bytes suffices). Returns the length or -1 on a bad escape.
 */
static long
unescape(const struct tok *t, unsigned char *out)
{
	size_t	i, o = 0;

	for (i = 0; i < t->len; i++) {
		unsigned char c = (unsigned char) t->raw[i];

		if (c != '\\') {
			out[o++] = c;
			continue;
		}
		if (i + 1 >= t->len)
			return (-1);
		c = (unsigned char) t->raw[i + 1];
		if (c >= '0' && c <= '9') {
			unsigned v = 0, k;

			for (k = 1; k <= 3; k++) {
				if (i + k >= t->len)
					return (-1);
				c = (unsigned char) t->raw[i + k];
				if (c < '0' || c > '9')
					return (-1);
				v = v * 10 + (c - '0');
			}
			if (v > 255)
				return (-1);
			out[o++] = (unsigned char) v;
			i += 3;
		} else {
			out[o++] = c;
			i++;
		}
	}
	return ((long) o);
}

/* tok_eq - case-insensitive compare of a bare token with a word */
static int
tok_eq(const struct tok *t, const char *word)
{
	return (!t->quoted && name_eq(t->raw, t->len, word, strlen(word)));
}

/* tok_number - bare decimal token up to max; -1 if not one */
static long
tok_number(const struct tok *t, long max)
{
	long	v = 0;
	size_t	i;

	if (t->quoted || t->len == 0 || t->len > 10)
		return (-1);
	for (i = 0; i < t->len; i++) {
		if (t->raw[i] < '0' || t->raw[i] > '9')
			return (-1);
		v = v * 10 + (t->raw[i] - '0');
	}
	return (v > max ? -1 : v);
}

/* is_digits - bare token of decimal digits only */
static int
is_digits(const struct tok *t)
{
	size_t	i;

	if (t->quoted || t->len == 0)
		return (0);
	for (i = 0; i < t->len; i++)
		if (t->raw[i] < '0' || t->raw[i] > '9')
			return (0);
	return (1);
}

/* type_of - RR type of a mnemonic, 0 if not supported */
static int
type_of(const struct tok *t)
{
	static const struct {
		const char *name;
		int	type;
	} types[] = {
		{"A", MA_DNS_A}, {"AAAA", MA_DNS_AAAA}, {"TXT", MA_DNS_TXT},
		{"SPF", MA_DNS_T_SPF}, {"MX", MA_DNS_MX}, {"PTR", MA_DNS_PTR},
		{"CNAME", MA_DNS_CNAME}, {"NS", MA_DNS_T_NS},
	};
	size_t	i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (tok_eq(t, types[i].name))
			return (types[i].type);
	return (0);
}

/* zone_name_len - ma_dns_name_check() minus zone-file specials */
static size_t
zone_name_len(const struct tok *t)
{
	if (t->quoted || memchr(t->raw, '(', t->len) != NULL ||
	    memchr(t->raw, ')', t->len) != NULL)
		return (0);
	return (ma_dns_name_check(t->raw, t->len));
}

/* out_put - append to the canonical line, bounded */
static int
out_put(char *out, size_t cap, size_t *pos, const char *s, size_t n)
{
	if (n >= cap - *pos)
		return (-1);
	memcpy(out + *pos, s, n);
	*pos += n;
	out[*pos] = '\0';
	return (0);
}

/* out_name - append a checked name, lower case, with trailing dot */
static int
out_name(char *out, size_t cap, size_t *pos, const struct tok *t,
	 int root_ok)
{
	char	buf[MA_DNS_NAME_MAX + 2];
	size_t	n, i;

	if (root_ok && !t->quoted && t->len == 1 && t->raw[0] == '.')
		return (out_put(out, cap, pos, ".", 1));
	if ((n = zone_name_len(t)) == 0)
		return (-1);
	for (i = 0; i < n; i++)
		buf[i] = (char) lc((unsigned char) t->raw[i]);
	buf[n++] = '.';
	return (out_put(out, cap, pos, buf, n));
}

/* out_txt - append character-strings of one token, \DDD-escaped */
static int
out_txt(char *out, size_t cap, size_t *pos, const struct tok *t)
{
	unsigned char *bytes;
	char	esc[8];
	long	n;
	size_t	i;
	int	rc = -1;

	if ((bytes = malloc(t->len + 1)) == NULL)
		return (-1);
	if ((n = unescape(t, bytes)) < 0)
		goto out;
	if (out_put(out, cap, pos, " \"", 2) < 0)
		goto out;
	for (i = 0; i < (size_t) n; i++) {
		unsigned char c = bytes[i];

		if (i > 0 && i % TXT_STRING_MAX == 0 &&
		    out_put(out, cap, pos, "\" \"", 3) < 0)
			goto out;
		if (c > 0x20 && c < 0x7f && c != '"' && c != '\\') {
			if (out_put(out, cap, pos, (const char *) &c, 1) < 0)
				goto out;
		} else {
			snprintf(esc, sizeof(esc), "\\%03u", c);
			if (out_put(out, cap, pos, esc, 4) < 0)
				goto out;
		}
	}
	rc = out_put(out, cap, pos, "\"", 1);
out:
	free(bytes);
	return (rc);
}

/* rdata_out - check rdata tokens of type and append them; NULL if good */
static const char *
rdata_out(int type, const struct tok *tv, int n, char *out, size_t cap,
	  size_t *pos)
{
	char	addr[64];
	unsigned char bin[16];
	long	pref;
	int	i;

	switch (type) {
	case MA_DNS_A:
	case MA_DNS_AAAA:
		if (n != 1 || tv[0].quoted || tv[0].len >= sizeof(addr))
			return ("bad address");
		memcpy(addr, tv[0].raw, tv[0].len);
		addr[tv[0].len] = '\0';
		if (inet_pton(type == MA_DNS_A ? AF_INET : AF_INET6,
			      addr, bin) != 1)
			return ("bad address");
		if (out_put(out, cap, pos, " ", 1) < 0 ||
		    out_put(out, cap, pos, addr, tv[0].len) < 0)
			return ("line too long");
		return (NULL);
	case MA_DNS_TXT:
	case MA_DNS_T_SPF:
		if (n < 1)
			return ("TXT needs at least one string");
		for (i = 0; i < n; i++)
			if (out_txt(out, cap, pos, &tv[i]) < 0)
				return ("bad TXT string (escape)");
		return (NULL);
	case MA_DNS_MX:
		if (n != 2 || (pref = tok_number(&tv[0], 65535)) < 0)
			return ("MX needs preference (0..65535) and name");
		snprintf(addr, sizeof(addr), " %ld ", pref);
		if (out_put(out, cap, pos, addr, strlen(addr)) < 0 ||
		    out_name(out, cap, pos, &tv[1], 1) < 0)
			return ("bad MX exchange name");
		return (NULL);
	case MA_DNS_PTR:
	case MA_DNS_CNAME:
	case MA_DNS_T_NS:
		if (n != 1)
			return ("needs exactly one name");
		if (out_put(out, cap, pos, " ", 1) < 0 ||
		    out_name(out, cap, pos, &tv[0], 0) < 0)
			return ("bad target name");
		return (NULL);
	}
	return ("unsupported type");
}

/* type_text - mnemonic for the canonical line */
static const char *
type_text(int type)
{
	switch (type) {
	case MA_DNS_A: return ("A");
	case MA_DNS_AAAA: return ("AAAA");
	case MA_DNS_TXT: return ("TXT");
	case MA_DNS_T_SPF: return ("SPF");
	case MA_DNS_MX: return ("MX");
	case MA_DNS_PTR: return ("PTR");
	case MA_DNS_CNAME: return ("CNAME");
	case MA_DNS_T_NS: return ("NS");
	}
	return ("?");
}

/* ma_dns_zone_parse - one zone line to a canonical ub_ctx_data_add line */
enum ma_status
ma_dns_zone_parse(const char *p, size_t len, struct ma_dns_zone_rr *rr,
		  char *err, size_t errlen)
{
	struct tok *tv;
	const char *why = NULL;
	long	ttl = -1, v;
	int	n, i, have_class = 0, type = 0;
	size_t	cap, pos = 0, k;
	char	head[64];
	enum ma_status st = MA_ERR_SYNTAX;

	memset(rr, 0, sizeof(*rr));
	if (p == NULL)
		return (zerr(MA_ERR_SYNTAX, err, errlen, "no line"));
	if (len > MA_LIMIT_ZONE_LINE)
		return (zerr(MA_ERR_LIMIT, err, errlen, "line too long"));
	while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	for (k = 0; k < len; k++) {
		unsigned char c = (unsigned char) p[k];

		if (c == '\0')
			return (zerr(st, err, errlen, "NUL byte in line"));
		if (c == '\n' || c == '\r')
			return (zerr(st, err, errlen, "line break in line"));
		if (c < 0x20 && c != '\t')
			return (zerr(st, err, errlen, "control character"));
	}
	if ((tv = calloc(ZONE_TOKENS_MAX, sizeof(*tv))) == NULL)
		return (zerr(MA_ERR_NOMEM, err, errlen, "out of memory"));
	if ((n = tokenize(p, len, tv, ZONE_TOKENS_MAX, &why)) < 0)
		goto fail;
	if (n == 0) {
		free(tv);
		return (MA_ERR_NOTFOUND);
	}
	if (p[0] == ' ' || p[0] == '\t') {
		why = "owner name missing (leading blank)";
		goto fail;
	}
	if (!tv[0].quoted && tv[0].len > 0 && tv[0].raw[0] == '$') {
		why = "directives ($ORIGIN, $TTL) are not supported";
		goto fail;
	}
	if (tok_eq(&tv[0], "@")) {
		why = "relative names are not supported";
		goto fail;
	}
	if ((rr->name_len = zone_name_len(&tv[0])) == 0) {
		why = "bad owner name";
		goto fail;
	}
	for (k = 0; k < rr->name_len; k++)
		rr->name[k] = (char) lc((unsigned char) tv[0].raw[k]);
	rr->name[rr->name_len] = '\0';
	for (i = 1; i < n && i <= 3; i++) {
		if ((v = tok_number(&tv[i], ZONE_TTL_MAX)) >= 0 && ttl < 0) {
			ttl = v;
		} else if (tok_eq(&tv[i], "IN") && !have_class) {
			have_class = 1;
		} else if (tok_eq(&tv[i], "CH") || tok_eq(&tv[i], "HS") ||
			   tok_eq(&tv[i], "CS")) {
			why = "only class IN is supported";
			goto fail;
		} else
			break;
	}
	if (i >= n) {
		why = "type missing";
		goto fail;
	}
	if ((type = type_of(&tv[i])) == 0) {
		why = (is_digits(&tv[i]) ? "bad TTL" :
		       "unsupported or bad type");
		goto fail;
	}
	rr->type = type;
	cap = len * 5 + 2 * MA_DNS_NAME_MAX + 128;
	if ((rr->text = malloc(cap)) == NULL) {
		st = MA_ERR_NOMEM;
		why = "out of memory";
		goto fail;
	}
	snprintf(head, sizeof(head), ". %ld IN %s",
		 ttl < 0 ? (long) ZONE_DEFAULT_TTL : ttl, type_text(type));
	if (out_put(rr->text, cap, &pos, rr->name, rr->name_len) < 0 ||
	    out_put(rr->text, cap, &pos, head, strlen(head)) < 0) {
		why = "line too long";
		goto fail;
	}
	if ((why = rdata_out(type, tv + i + 1, n - i - 1, rr->text, cap,
			     &pos)) != NULL)
		goto fail;
	free(tv);
	return (MA_OK);
fail:
	free(tv);
	free(rr->text);
	rr->text = NULL;
	return (zerr(st, err, errlen, why));
}

/*
 * fold_parens - the part of a physical line that belongs to a record, with
 * the comment cut off and parentheses outside quotes blanked (RFC 1035
 * 5.1: a record may run over several lines inside "( )"). *depth is the
 * open-parenthesis count carried from line to line. -1 with *why when
 * they do not balance or nest.
 */
static int
fold_parens(char *line, size_t *len, int *depth, const char **why)
{
	size_t	i;
	int	quoted = 0;

	for (i = 0; i < *len; i++) {
		char	c = line[i];

		if (quoted) {
			if (c == '\\' && i + 1 < *len)
				i++;
			else if (c == '"')
				quoted = 0;
			continue;
		}
		if (c == '"')
			quoted = 1;
		else if (c == ';') {
			*len = i;		/* comment: the rest goes */
			break;
		} else if (c == '(' || c == ')') {
			*depth += c == '(' ? 1 : -1;
			if (*depth < 0 || *depth > 1) {
				*why = "unbalanced or nested parentheses";
				return (-1);
			}
			line[i] = ' ';
		}
	}
	return (0);
}

/* ma_dns_load_zone_file - add every record of a zone file */
enum ma_status
ma_dns_load_zone_file(struct ma_dns *d, const char *path, char *err,
		      size_t errlen)
{
	FILE   *fp;
	char   *line, lerr[256];
	const char *why = NULL;
	size_t	len, rec_len = 0;
	unsigned long lineno = 0, rec_line = 0;
	int	c, too_long, depth = 0;
	enum ma_status st = MA_OK;

	if (d == NULL || path == NULL)
		return (zerr(MA_ERR_INTERNAL, err, errlen, "no context"));
	if ((fp = fopen(path, "re")) == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (MA_ERR_IO);
	}
	if ((line = malloc(MA_LIMIT_ZONE_LINE + 1)) == NULL) {
		fclose(fp);
		return (zerr(MA_ERR_NOMEM, err, errlen, "out of memory"));
	}
	for (;;) {
		/* physical lines are appended to the record being read */
		len = rec_len;
		too_long = 0;
		while ((c = getc(fp)) != EOF && c != '\n') {
			if (len < MA_LIMIT_ZONE_LINE)
				line[len++] = (char) c;
			else
				too_long = 1;
		}
		if (c == EOF && len == rec_len && !too_long) {
			if (depth > 0) {
				snprintf(err, errlen, "%s:%lu: \"(\" not closed",
					 path, rec_line);
				st = MA_ERR_SYNTAX;
			}
			break;
		}
		lineno++;
		if (rec_len == 0)
			rec_line = lineno;
		if (too_long) {
			if (err != NULL && errlen > 0)
				snprintf(err, errlen,
					 "%s:%lu: line longer than %d bytes",
					 path, lineno, MA_LIMIT_ZONE_LINE);
			st = MA_ERR_LIMIT;
			break;
		}
		if (memchr(line + rec_len, '\0', len - rec_len) != NULL) {
			if (err != NULL && errlen > 0)
				snprintf(err, errlen,
					 "%s:%lu: NUL byte in line", path,
					 lineno);
			st = MA_ERR_SYNTAX;
			break;
		}
		{
			size_t	plen = len - rec_len;

			if (fold_parens(line + rec_len, &plen, &depth, &why) < 0) {
				snprintf(err, errlen, "%s:%lu: %s", path, lineno, why);
				st = MA_ERR_SYNTAX;
				break;
			}
			len = rec_len + plen;
		}
		if (depth > 0 && c != EOF) {
			if (len >= MA_LIMIT_ZONE_LINE) {
				snprintf(err, errlen, "%s:%lu: record longer than "
					 "%d bytes", path, rec_line,
					 MA_LIMIT_ZONE_LINE);
				st = MA_ERR_LIMIT;
				break;
			}
			line[len++] = ' ';
			rec_len = len;
			continue;
		}
		rec_len = 0;
		line[len] = '\0';
		if ((st = ma_dns_add_record(d, line, lerr, sizeof(lerr)))
		    != MA_OK) {
			if (err != NULL && errlen > 0)
				snprintf(err, errlen, "%s:%lu: %s",
					 path, rec_line, lerr);
			break;
		}
		if (c == EOF) {
			if (depth > 0) {
				snprintf(err, errlen, "%s:%lu: \"(\" not closed",
					 path, rec_line);
				st = MA_ERR_SYNTAX;
			}
			break;
		}
	}
	if (st == MA_OK && ferror(fp)) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: read error", path);
		st = MA_ERR_IO;
	}
	free(line);
	fclose(fp);
	return (st);
}
