/*
 * NAME
 *	rfc5322 - From field addresses, envelope paths, domain names
 * SUMMARY
 *	Takes the author domains out of a From field value and the domain
 *	out of an SMTP reverse-path; checks and normalizes domain names.
 * SYNOPSIS
 *	#include <mailauth/rfc5322.h>
 * DESCRIPTION
 *	ma_rfc5322_from_domains() reads an RFC 5322 address-list (display
 *	names, quoted strings, nested comments, angle-addr, groups, the
 *	obsolete route and list syntax of RFC 5322 4.4) with a small lexer
 *	that drops CFWS, and a parser that takes a domain only from the
 *	addr-spec of a mailbox, never from a display name, a quoted string
 *	or a comment. It is strict on purpose, because DMARC must judge the
 *	address the reader sees: if any mailbox in the field does not parse
 *	or its domain is not a usable DNS name (domain literal, non-ASCII,
 *	bad label), the whole field is MA_ERR_SYNTAX, so that no domain can
 *	hide behind a broken one. Duplicate domains are returned as they
 *	occur; the caller decides what several From mailboxes mean
 *	(RFC 9989 section 4.4).
 *
 *	ma_rfc5321_path_domain() reads the path of MAIL FROM as the MTA
 *	hands it (no ESMTP parameters): "<a@b>", "a@b", "<@r1,@r2:a@b>",
 *	"<>" and "" are the null sender (address and domain ""). Quoted
 *	local parts are accepted; an address literal domain is not.
 *
 *	ma_domain_is_valid() accepts a DNS name for our lookups: ASCII
 *	letters, digits, '-' and '_' (underscore labels occur in DNS names
 *	such as DKIM and DMARC ones, and cost nothing here), labels of 1..63
 *	without a leading or trailing hyphen, at most 253 characters, one
 *	optional trailing dot. Single-label names are accepted (DMARC's tree
 *	walk copes); a last label made of digits only is refused so that a
 *	bare IPv4 address is not taken for a name (RFC 3696 section 2).
 *	U-labels (UTF-8) are refused: they must arrive as A-labels.
 * MEMORY
 *	Results live in the caller's arena until it is freed.
 * LIMITS
 *	MA_LIMIT_FROM_ADDRESSES mailboxes per field (MA_ERR_LIMIT past it),
 *	MA_LIMIT_COMMENT_DEPTH nested comments (MA_ERR_SYNTAX past it),
 *	253 characters per domain. Every loop advances over the input and
 *	ends with it; NUL bytes are never taken for the end of input.
 * DIAGNOSTICS
 *	MA_OK, MA_ERR_SYNTAX, MA_ERR_LIMIT, MA_ERR_NOMEM. Nothing is logged.
 * THREADS
 *	Reentrant; the arena belongs to one thread at a time.
 * STANDARDS
 *	RFC 5322 3.2.2 (CFWS), 3.2.4 (quoted strings), 3.4 and 3.4.1
 *	(addresses), 4.4 (obsolete addressing); RFC 5321 4.1.2 (paths);
 *	RFC 1035 2.3.1, RFC 1123 2.1, RFC 3696 section 2 (names); RFC 6532
 *	(UTF-8 in atoms of display names and local parts).
 * SEE ALSO
 *	dmarc(3), message.c.
 */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include <mailauth/arena.h>
#include <mailauth/rfc5322.h>

#include "ma_limits.h"

#define DOMAIN_MAX	253		/* RFC 1035 2.3.4, text form */
#define LABEL_MAX	63

enum tok_type {
	T_END, T_ERR, T_ATOM, T_QSTR, T_DLIT, T_SPECIAL
};

struct tok {
	enum tok_type type;
	const char *p;			/* T_ATOM: the atom text */
	size_t	len;
	int	ch;			/* T_SPECIAL: one of <>@,;:. */
};

struct lex {
	const char *s;
	size_t	len;
	size_t	pos;
	struct tok cur;
};

#define LOCAL_MAX	256		/* ours; RFC 5321 4.5.3.1.1 says 64 */

struct from_parser {
	struct lex lx;
	struct ma_arena *arena;
	const char **out;
	const char **locals;		/* local part of each mailbox, as written */
	size_t	n;
	char	local[LOCAL_MAX + 1];
	size_t	local_len;
	int	local_over;
};

/* is_atext - RFC 5322 3.2.3 atext, plus UTF-8 bytes (RFC 6532 3.2) */
static int
is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
	    || (c >= '0' && c <= '9') || c >= 0x80)
		return (1);
	return (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* is_ldh_ - letter, digit, hyphen or underscore */
static int
is_ldh_(unsigned char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		|| (c >= '0' && c <= '9') || c == '-' || c == '_');
}

/* lower - ASCII lower case, whatever the locale */
static char
lower(char c)
{
	return (c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c);
}

/* skip_comment - past one comment at s[pos] == '('; -1 when malformed */
static int
skip_comment(struct lex *lx)
{
	size_t	depth = 0;
	char	c;

	while (lx->pos < lx->len) {
		c = lx->s[lx->pos];
		if (c == '\0')
			return (-1);
		if (c == '\\') {
			if (lx->pos + 1 >= lx->len
			    || lx->s[lx->pos + 1] == '\0')
				return (-1);
			lx->pos += 2;
			continue;
		}
		lx->pos++;
		if (c == '(') {
			if (++depth > MA_LIMIT_COMMENT_DEPTH)
				return (-1);
		} else if (c == ')') {
			if (--depth == 0)
				return (0);
		}
	}
	return (-1);
}

/* skip_cfws - past folding white space and comments; -1 when malformed */
static int
skip_cfws(struct lex *lx)
{
	char	c;

	while (lx->pos < lx->len) {
		c = lx->s[lx->pos];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			lx->pos++;
		else if (c == '(') {
			if (skip_comment(lx) < 0)
				return (-1);
		} else
			break;
	}
	return (0);
}

/* skip_delimited - past a quoted string or domain literal; -1 if bad */
static int
skip_delimited(struct lex *lx, char open, char close)
{
	char	c;

	lx->pos++;				/* the opening character */
	while (lx->pos < lx->len) {
		c = lx->s[lx->pos];
		if (c == '\0' || (open == '[' && c == '['))
			return (-1);
		if (c == '\\') {
			if (lx->pos + 1 >= lx->len
			    || lx->s[lx->pos + 1] == '\0')
				return (-1);
			lx->pos += 2;
			continue;
		}
		lx->pos++;
		if (c == close)
			return (0);
	}
	return (-1);
}

/* lex_next - read the next token into lx->cur, CFWS dropped */
static void
lex_next(struct lex *lx)
{
	struct tok *t = &lx->cur;
	unsigned char c;
	size_t	start;

	memset(t, 0, sizeof(*t));
	if (skip_cfws(lx) < 0) {
		t->type = T_ERR;
		return;
	}
	if (lx->pos >= lx->len) {
		t->type = T_END;
		return;
	}
	start = lx->pos;
	c = (unsigned char) lx->s[lx->pos];
	if (c == '"' || c == '[') {
		if (skip_delimited(lx, (char) c, c == '"' ? '"' : ']') < 0) {
			t->type = T_ERR;
			return;
		}
		t->type = c == '"' ? T_QSTR : T_DLIT;
	} else if (c != '\0' && strchr("<>@,;:.", c) != NULL) {
		lx->pos++;
		t->type = T_SPECIAL;
		t->ch = c;
	} else if (is_atext(c)) {
		while (lx->pos < lx->len
		       && is_atext((unsigned char) lx->s[lx->pos]))
			lx->pos++;
		t->type = T_ATOM;
	} else {
		t->type = T_ERR;		/* ) ] \ NUL, controls */
		return;
	}
	t->p = lx->s + start;
	t->len = lx->pos - start;
}

/* is_special - whether the current token is the special character ch */
static int
is_special(const struct lex *lx, int ch)
{
	return (lx->cur.type == T_SPECIAL && lx->cur.ch == ch);
}

/* is_word - whether the current token is an atom or a quoted string */
static int
is_word(const struct lex *lx)
{
	return (lx->cur.type == T_ATOM || lx->cur.type == T_QSTR);
}

/*
 * parse_domain - domain after "@": atoms joined by dots (CFWS between
 * them dropped, RFC 5322 4.4 obs-domain), one trailing dot tolerated.
 * The text goes to buf (DOMAIN_MAX + 2 bytes); -1 when it is a domain
 * literal, not made of atoms, or too long.
 */
static int
parse_domain(struct lex *lx, char *buf, size_t *len_out)
{
	size_t	n = 0;

	if (lx->cur.type != T_ATOM)
		return (-1);			/* includes domain literals */
	for (;;) {
		if (lx->cur.len > DOMAIN_MAX + 1 - n)
			return (-1);
		memcpy(buf + n, lx->cur.p, lx->cur.len);
		n += lx->cur.len;
		lex_next(lx);
		if (!is_special(lx, '.'))
			break;
		lex_next(lx);
		if (lx->cur.type != T_ATOM)
			break;			/* trailing dot: dropped */
		if (n + 1 > DOMAIN_MAX + 1)
			return (-1);
		buf[n++] = '.';
	}
	buf[n] = '\0';
	*len_out = n;
	return (0);
}

/* local_reset - start a new local part */
static void
local_reset(struct from_parser *fp)
{
	fp->local_len = 0;
	fp->local_over = 0;
}

/* local_add - append the current token (word or ".") to the local part */
static void
local_add(struct from_parser *fp)
{
	const struct tok *t = &fp->lx.cur;

	if (fp->local_len + t->len > LOCAL_MAX) {
		fp->local_over = 1;
		return;
	}
	memcpy(fp->local + fp->local_len, t->p, t->len);
	fp->local_len += t->len;
}

/* add_domain - validate and keep one mailbox's domain and local part */
static enum ma_status
add_domain(struct from_parser *fp, const char *d, size_t len)
{
	char   *norm, *local;

	if (!ma_domain_is_valid(d, len))
		return (MA_ERR_SYNTAX);
	if (fp->n >= MA_LIMIT_FROM_ADDRESSES)
		return (MA_ERR_LIMIT);
	if ((norm = ma_domain_normalize(fp->arena, d, len)) == NULL)
		return (MA_ERR_NOMEM);
	local = ma_arena_memdup(fp->arena, fp->local,
				fp->local_over ? 0 : fp->local_len);
	if (local == NULL)
		return (MA_ERR_NOMEM);
	fp->locals[fp->n] = local;
	fp->out[fp->n++] = norm;
	return (MA_OK);
}

/* parse_at_domain - "@" is current: the domain of an addr-spec */
static enum ma_status
parse_at_domain(struct from_parser *fp)
{
	char	buf[DOMAIN_MAX + 2];
	size_t	len;

	lex_next(&fp->lx);
	if (parse_domain(&fp->lx, buf, &len) < 0)
		return (MA_ERR_SYNTAX);
	return (add_domain(fp, buf, len));
}

/*
 * parse_angle - "<" is current: [obs-route] addr-spec ">" (RFC 5322 3.4,
 * 4.4). Route domains are read and ignored.
 */
static enum ma_status
parse_angle(struct from_parser *fp)
{
	struct lex *lx = &fp->lx;
	char	buf[DOMAIN_MAX + 2];
	size_t	len, words = 0;
	int	prev_word = 0;
	enum ma_status st;

	lex_next(lx);
	if (is_special(lx, '@') || is_special(lx, ',')) {
		for (;;) {			/* obs-domain-list ":" */
			if (is_special(lx, ','))
				lex_next(lx);
			else if (is_special(lx, '@')) {
				lex_next(lx);
				if (parse_domain(lx, buf, &len) < 0)
					return (MA_ERR_SYNTAX);
			} else if (is_special(lx, ':')) {
				lex_next(lx);
				break;
			} else
				return (MA_ERR_SYNTAX);
		}
	}
	local_reset(fp);
	while (is_word(lx) || is_special(lx, '.')) {	/* local-part */
		if (is_word(lx)) {
			if (prev_word)
				return (MA_ERR_SYNTAX);
			words++;
			prev_word = 1;
		} else
			prev_word = 0;
		local_add(fp);
		lex_next(lx);
	}
	if (words == 0 || !is_special(lx, '@'))
		return (MA_ERR_SYNTAX);
	if ((st = parse_at_domain(fp)) != MA_OK)
		return (st);
	if (!is_special(lx, '>'))
		return (MA_ERR_SYNTAX);
	lex_next(lx);
	return (MA_OK);
}

/*
 * parse_address - one mailbox, or a group when in_group is 0. The words
 * before "<" are a display name and never looked into; words before "@"
 * are a local part (words joined by dots, never two words in a row).
 */
static enum ma_status
parse_address(struct from_parser *fp, int in_group)
{
	struct lex *lx = &fp->lx;
	size_t	words = 0;
	int	prev_word = 0, adjacent = 0;
	enum ma_status st;

	local_reset(fp);
	while (is_word(lx) || is_special(lx, '.')) {
		if (is_word(lx)) {
			adjacent |= prev_word;
			words++;
			prev_word = 1;
		} else
			prev_word = 0;
		local_add(fp);
		lex_next(lx);
	}
	if (is_special(lx, '<'))
		return (parse_angle(fp));
	if (is_special(lx, '@')) {
		if (words == 0 || adjacent)
			return (MA_ERR_SYNTAX);
		return (parse_at_domain(fp));
	}
	if (!is_special(lx, ':') || in_group || words == 0)
		return (MA_ERR_SYNTAX);
	lex_next(lx);				/* group: display-name ":" */
	for (;;) {
		if (is_special(lx, ';')) {
			lex_next(lx);
			return (MA_OK);
		}
		if (is_special(lx, ',')) {	/* obs-mbox-list: empty items */
			lex_next(lx);
			continue;
		}
		if ((st = parse_address(fp, 1)) != MA_OK)
			return (st);
		if (!is_special(lx, ',') && !is_special(lx, ';'))
			return (MA_ERR_SYNTAX);
	}
}

/* ma_rfc5322_from_domains - domains of every mailbox in a From value */
enum ma_status
ma_rfc5322_from_domains(const char *value, size_t len,
			struct ma_arena *arena, const char ***domains_out,
			size_t *n_out)
{
	const char **locals;

	return (ma_rfc5322_from_addresses(value, len, arena, &locals,
					  domains_out, n_out));
}

/* ma_rfc5322_from_addresses - local parts and domains of a From value */
enum ma_status
ma_rfc5322_from_addresses(const char *value, size_t len,
			  struct ma_arena *arena, const char ***locals_out,
			  const char ***domains_out, size_t *n_out)
{
	struct from_parser fp;
	enum ma_status st;

	*domains_out = NULL;
	*locals_out = NULL;
	*n_out = 0;
	if (value == NULL)
		return (MA_ERR_SYNTAX);
	memset(&fp, 0, sizeof(fp));
	fp.lx.s = value;
	fp.lx.len = len;
	fp.arena = arena;
	fp.out = ma_arena_calloc(arena, MA_LIMIT_FROM_ADDRESSES,
				 sizeof(*fp.out));
	fp.locals = ma_arena_calloc(arena, MA_LIMIT_FROM_ADDRESSES,
				    sizeof(*fp.locals));
	if (fp.out == NULL || fp.locals == NULL)
		return (MA_ERR_NOMEM);
	lex_next(&fp.lx);
	for (;;) {
		while (is_special(&fp.lx, ','))	/* obs-addr-list */
			lex_next(&fp.lx);
		if (fp.lx.cur.type == T_END)
			break;
		if ((st = parse_address(&fp, 0)) != MA_OK)
			return (st);
		if (fp.lx.cur.type != T_END && !is_special(&fp.lx, ','))
			return (MA_ERR_SYNTAX);
	}
	if (fp.n == 0)
		return (MA_ERR_SYNTAX);
	*domains_out = fp.out;
	*locals_out = fp.locals;
	*n_out = fp.n;
	return (MA_OK);
}

/* trim - drop white space (and a final CRLF) around s[0..*len) */
static const char *
trim(const char *s, size_t *len)
{
	size_t	n = *len;

	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && strchr(" \t\r\n", s[n - 1]) != NULL && s[n - 1] != '\0')
		n--;
	*len = n;
	return (s);
}

/* smtp_local_end - end of an RFC 5321 4.1.2 local-part, or 0 if bad */
static size_t
smtp_local_end(const char *s, size_t len)
{
	size_t	i = 0;
	unsigned char c;

	if (len > 0 && s[0] == '"') {
		for (i = 1; i < len; i++) {
			c = (unsigned char) s[i];
			if (c == '"')
				return (i + 1);
			if (c == '\\') {
				if (i + 1 >= len
				    || (unsigned char) s[i + 1] < 32
				    || s[i + 1] == 127)
					return (0);
				i++;
			} else if (c < 32 || c == 127)
				return (0);
		}
		return (0);
	}
	while (i < len && (is_atext((unsigned char) s[i]) || s[i] == '.'))
		i++;
	return (i);
}

/* ma_rfc5321_path_domain - address and domain of an envelope path */
enum ma_status
ma_rfc5321_path_domain(const char *path, size_t len, struct ma_arena *arena,
		       const char **addr_out, const char **domain_out)
{
	const char *s, *box, *dom;
	size_t	n, i, local, dlen;
	char   *addr, *domain;

	*addr_out = NULL;
	*domain_out = NULL;
	if (path == NULL)
		return (MA_ERR_SYNTAX);
	if (memchr(path, '\0', len) != NULL)
		return (MA_ERR_SYNTAX);
	s = trim(path, &len);
	n = len;
	if (n > 0 && s[0] == '<') {
		if (n < 2 || s[n - 1] != '>')
			return (MA_ERR_SYNTAX);
		s++;
		n -= 2;
	}
	if (n == 0) {				/* "<>" or "": null sender */
		*addr_out = "";
		*domain_out = "";
		return (MA_OK);
	}
	if (s[0] == '@') {			/* A-d-l ":" (RFC 5321 4.1.2) */
		for (i = 0; i < n && s[i] != ':'; i++)
			if (!is_ldh_((unsigned char) s[i])
			    && strchr(".@,[]", s[i]) == NULL)
				return (MA_ERR_SYNTAX);
		if (i >= n)
			return (MA_ERR_SYNTAX);
		s += i + 1;
		n -= i + 1;
	}
	box = s;
	local = smtp_local_end(s, n);
	if (local == 0 || local >= n || s[local] != '@')
		return (MA_ERR_SYNTAX);
	dom = s + local + 1;
	dlen = n - local - 1;
	if (!ma_domain_is_valid(dom, dlen))	/* also refuses [literals] */
		return (MA_ERR_SYNTAX);
	if ((addr = ma_arena_memdup(arena, box, n)) == NULL)
		return (MA_ERR_NOMEM);
	if ((domain = ma_domain_normalize(arena, dom, dlen)) == NULL)
		return (MA_ERR_NOMEM);
	*addr_out = addr;
	*domain_out = domain;
	return (MA_OK);
}

/* ma_domain_is_valid - DNS name as described in DESCRIPTION above */
int
ma_domain_is_valid(const char *d, size_t len)
{
	size_t	i, label = 0, last_start = 0;
	int	last_digits = 1;

	if (d == NULL)
		return (0);
	if (len > 0 && d[len - 1] == '.')
		len--;
	if (len == 0 || len > DOMAIN_MAX)
		return (0);
	for (i = 0; i < len; i++) {
		if (d[i] == '.') {
			if (label == 0 || d[i - 1] == '-')
				return (0);
			label = 0;
			last_start = i + 1;
			continue;
		}
		if (!is_ldh_((unsigned char) d[i]))
			return (0);
		if (label == 0 && d[i] == '-')
			return (0);
		if (++label > LABEL_MAX)
			return (0);
	}
	if (label == 0 || d[len - 1] == '-')
		return (0);
	for (i = last_start; i < len; i++)
		if (d[i] < '0' || d[i] > '9')
			last_digits = 0;
	return (!last_digits);
}

/* ma_domain_normalize - lower-case copy without trailing dot, or NULL */
char   *
ma_domain_normalize(struct ma_arena *arena, const char *d, size_t len)
{
	char   *out;
	size_t	i;

	if (!ma_domain_is_valid(d, len))
		return (NULL);
	if (d[len - 1] == '.')
		len--;
	if ((out = ma_arena_memdup(arena, d, len)) == NULL)
		return (NULL);
	for (i = 0; i < len; i++)
		out[i] = lower(out[i]);
	return (out);
}
