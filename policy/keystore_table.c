/*
 * NAME
 *	keystore_table - KeyTable, SigningTable and their lookup
 * SUMMARY
 *	Parses OpenDKIM-format tables (or the single-key Domain/Selector/
 *	KeyFile form) into the key store and answers which keys sign for a
 *	From address.
 * SYNOPSIS
 *	#include <mailauth/sign.h>
 *	#define MA_KEYSTORE_IMPL
 *	#include "sign_int.h"
 * DESCRIPTION
 *	ma_ks_load_tables(), called by ma_keystore_load() (keystore.c),
 *	reads, in this order:
 *
 *	KeyTable ("file:PATH" or a plain PATH, absolute or relative):
 *	lines "keyname domain:selector:keypath"; '#' starts a comment;
 *	blank lines are skipped; fields are separated by blanks. keypath
 *	must begin with '/', "./" or "../" (OpenDKIM's rule telling a path
 *	from inline key data) and names a PEM private key file, loaded by
 *	keystore.c. OpenDKIM's other two forms are refused with a message:
 *	key data given inline (we want a file whose mode can be checked),
 *	and the domain "%" (sign with the From domain). Key names must be
 *	unique.
 *
 *	SigningTable ("file:PATH", "refile:PATH" or a plain PATH): lines
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
 *	Table names: "file:" and "refile:" (SigningTable only) prefixes are
 *	taken off; a name starting with another OpenDKIM data set type
 *	("csl:", "db:", "dsn:", "ldap:", ...) is refused; anything else is
 *	a path, relative ones to the working directory at load.
 *
 *	Single-key form (no tables): Domain is a comma/blank separated list;
 *	each listed domain signs, exactly (not its subdomains, as OpenDKIM
 *	with SubDomains no), with KeyFile under Selector. The key names are
 *	the domains. Tables and the single-key form together are refused
 *	(by keystore.c).
 * MEMORY
 *	Table entries and key strings are malloc'ed into the store and
 *	freed by ma_keystore_free() (keystore.c; the entries through
 *	ma_ks_free_tables()). Lookups allocate nothing.
 * LIMITS
 *	MA_LIMIT_TABLE_LINE bytes per line, MA_LIMIT_TABLE_BYTES per table
 *	file, MA_LIMIT_TABLE_ENTRIES entries per table, MA_LIMIT_CONFIG_LIST
 *	domains in the single-key form, MA_LIMIT_SIGN_ADDRESS bytes of
 *	looked-up address.
 * DIAGNOSTICS
 *	ma_ks_load_tables: MA_OK; MA_ERR_SYNTAX (a table line), MA_ERR_LIMIT,
 *	MA_ERR_IO (errno meaningful), MA_ERR_NOMEM; err says "file:line:
 *	what". Nothing is logged here.
 *	ma_keystore_lookup: MA_OK (n 0: no key), MA_ERR_LIMIT when more than
 *	max keys matched (the first max are returned), MA_ERR_SYNTAX for an
 *	address over MA_LIMIT_SIGN_ADDRESS.
 * THREADS
 *	Loading runs in one thread; lookups only read the store and may run
 *	in many threads at once.
 * STANDARDS
 *	opendkim.conf(5) (KeyTable, SigningTable, refile:, MultipleSignatures,
 *	data sets).
 * SEE ALSO
 *	keystore.c, sign_int.h, include/mailauth/sign.h.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mailauth/sign.h>

#include "ma_limits.h"
#define MA_KEYSTORE_IMPL
#include "sign_int.h"




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

/* OpenDKIM data set types other than file: and refile: (opendkim.conf(5)) */
static const char *const OTHER_DATASETS[] = {
	"csl", "db", "dsn", "erlang", "http", "ldap", "ldapi", "ldaps", "lua",
	"mdb", "memcache", "redis", "repute", "socket", "vault", NULL
};

/*
 * table_path - the file of a table name: "file:" (or "refile:" when
 * allowed) taken off; another data set type refused (NULL); anything
 * else is a path, absolute or relative (OpenDKIM takes plain paths).
 */
static const char *
table_path(const char *spec, int allow_re, int *is_re)
{
	const char *colon;

	*is_re = 0;
	if (strncmp(spec, "file:", 5) == 0)
		return (spec + 5);
	if (strncmp(spec, "refile:", 7) == 0) {
		*is_re = 1;
		return (allow_re ? spec + 7 : NULL);
	}
	if (spec[0] == 0)
		return (NULL);
	if ((colon = strchr(spec, ':')) != NULL)
		for (size_t i = 0; OTHER_DATASETS[i] != NULL; i++)
			if (strlen(OTHER_DATASETS[i]) == (size_t) (colon - spec)
			    && strncasecmp(spec, OTHER_DATASETS[i],
					   (size_t) (colon - spec)) == 0)
				return (NULL);
	return (spec);
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
		return (ma_ks_fail(err, errlen, MA_ERR_SYNTAX, "%s:%zu: want "
			     "\"keyname domain:selector:keypath\"", path,
			     lineno));
	if (nlen > MA_KS_NAME_MAX || !is_printable(name, nlen))
		return (ma_ks_fail(err, errlen, MA_ERR_SYNTAX, "%s:%zu: bad key "
			     "name", path, lineno));
	if ((c1 = memchr(val, ':', vlen)) == NULL
	    || (c2 = memchr(c1 + 1, ':', vlen - (size_t) (c1 + 1 - val)))
	    == NULL)
		return (ma_ks_fail(err, errlen, MA_ERR_SYNTAX, "%s:%zu: value is "
			     "not domain:selector:keypath", path, lineno));
	if (c1 - val == 1 && val[0] == '%')
		return (ma_ks_fail(err, errlen, MA_ERR_SYNTAX, "%s:%zu: domain "
			     "\"%%\" is not supported; name the domain", path,
			     lineno));
	if (!is_dns_name(val, (size_t) (c1 - val), MA_KS_DOMAIN_MAX))
		return (ma_ks_fail(err, errlen, MA_ERR_SYNTAX, "%s:%zu: bad domain",
			     path, lineno));
	if (!is_dns_name(c1 + 1, (size_t) (c2 - c1 - 1), MA_KS_NAME_MAX))
		return (ma_ks_fail(err, errlen, MA_ERR_SYNTAX, "%s:%zu: bad selector",
			     path, lineno));
	vlen -= (size_t) (c2 + 1 - val);
	if (vlen == 0)
		return (ma_ks_fail(err, errlen, MA_ERR_SYNTAX, "%s:%zu: key path "
			     "missing", path, lineno));
	if (c2[1] != '/' && !(vlen > 2 && strncmp(c2 + 1, "./", 2) == 0)
	    && !(vlen > 3 && strncmp(c2 + 1, "../", 3) == 0))
		return (ma_ks_fail(err, errlen, MA_ERR_SYNTAX, "%s:%zu: key path "
			     "must start with /, ./ or ../ (inline key data "
			     "is not supported)", path, lineno));
	k->name = dupn(name, nlen);
	k->domain = dupn(val, (size_t) (c1 - val));
	k->selector = dupn(c1 + 1, (size_t) (c2 - c1 - 1));
	k->file = dupn(c2 + 1, vlen);
	if (!k->name || !k->domain || !k->selector || !k->file)
		return (ma_ks_fail(err, errlen, MA_ERR_NOMEM, "out of memory"));
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
		return (ma_ks_fail(err, errlen, MA_ERR_SYNTAX, "KeyTable %s: only "
			     "file: or a path is supported", opt->key_table));
	st = ma_ks_read_file(path, MA_LIMIT_TABLE_BYTES, 0, 0, &buf, &len, err,
		       errlen);
	if (st != MA_OK)
		return (st);
	ls.p = buf, ls.end = buf + len, ls.lineno = 0;
	while ((r = next_line(&ls, &lp, &llen, &why)) > 0) {
		struct ma_sign_key *k;

		if (ks->n_keys == MA_LIMIT_TABLE_ENTRIES) {
			st = ma_ks_fail(err, errlen, MA_ERR_LIMIT, "%s:%zu: more "
				  "than %d keys", path, ls.lineno,
				  MA_LIMIT_TABLE_ENTRIES);
			break;
		}
		if (ks->n_keys == cap) {
			size_t	ncap = cap ? cap * 2 : 16;

			k = realloc(ks->keys, ncap * sizeof(*k));
			if (k == NULL) {
				st = ma_ks_fail(err, errlen, MA_ERR_NOMEM,
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
		if ((st = ma_ks_load_key(opt, k, where, err, errlen)) != MA_OK)
			break;
	}
	if (r < 0)
		st = ma_ks_fail(err, errlen, MA_ERR_SYNTAX, "%s:%zu: %s", path,
			  ls.lineno, why);
	free(buf);
	if (st != MA_OK)
		return (st);
	if (ks->n_keys > 1)
		qsort(ks->keys, ks->n_keys, sizeof(*ks->keys), cmp_key_name);
	for (size_t i = 1; i < ks->n_keys; i++)
		if (strcmp(ks->keys[i - 1].name, ks->keys[i].name) == 0)
			return (ma_ks_fail(err, errlen, MA_ERR_SYNTAX, "%s: key name "
				     "%s listed twice", path,
				     ks->keys[i].name));
	return (MA_OK);
}

/* cmp_entry - sort SigningTable file: entries by pattern, then line */
/* cmp_entry - sort SigningTable file: entries by pattern, then line */
static int
cmp_entry(const void *a, const void *b)
{
	const struct ma_ks_entry *x = a, *y = b;
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
	char	tmp[MA_KS_NAME_MAX + 1];

	if (nlen > MA_KS_NAME_MAX)
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
		return (ma_ks_fail(err, errlen, MA_ERR_SYNTAX, "SigningTable %s: "
			     "only file:, refile: or a path is supported",
			     opt->signing_table));
	st = ma_ks_read_file(path, MA_LIMIT_TABLE_BYTES, 0, 0, &buf, &len, err,
		       errlen);
	if (st != MA_OK)
		return (st);
	ls.p = buf, ls.end = buf + len, ls.lineno = 0;
	while ((r = next_line(&ls, &lp, &llen, &why)) > 0) {
		struct ma_ks_entry *e;

		if (split2(lp, llen, &pat, &plen, &name, &nlen) != 0
		    || !is_printable(pat, plen)) {
			st = ma_ks_fail(err, errlen, MA_ERR_SYNTAX, "%s:%zu: want "
				  "\"pattern keyname\"", path, ls.lineno);
			break;
		}
		if ((ki = find_key(ks, name, nlen)) < 0) {
			st = ma_ks_fail(err, errlen, MA_ERR_SYNTAX, "%s:%zu: key "
				  "name %.*s is not in the KeyTable", path,
				  ls.lineno, (int) (nlen > 64 ? 64 : nlen),
				  name);
			break;
		}
		if (ks->n_sign == MA_LIMIT_TABLE_ENTRIES) {
			st = ma_ks_fail(err, errlen, MA_ERR_LIMIT, "%s:%zu: more "
				  "than %d entries", path, ls.lineno,
				  MA_LIMIT_TABLE_ENTRIES);
			break;
		}
		if (ks->n_sign == cap) {
			size_t	ncap = cap ? cap * 2 : 16;

			e = realloc(ks->sign, ncap * sizeof(*e));
			if (e == NULL) {
				st = ma_ks_fail(err, errlen, MA_ERR_NOMEM,
					  "out of memory");
				break;
			}
			ks->sign = e, cap = ncap;
		}
		e = &ks->sign[ks->n_sign];
		if ((e->pattern = dupn(pat, plen)) == NULL) {
			st = ma_ks_fail(err, errlen, MA_ERR_NOMEM, "out of memory");
			break;
		}
		ks->n_sign++;
		lower_n(e->pattern, plen);
		e->key = (size_t) ki;
		e->line = ls.lineno;
	}
	if (r < 0)
		st = ma_ks_fail(err, errlen, MA_ERR_SYNTAX, "%s:%zu: %s", path,
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
		return (ma_ks_fail(err, errlen, MA_ERR_SYNTAX, "Domain, Selector "
			     "and KeyFile go together"));
	if (!is_dns_name(opt->selector, strlen(opt->selector), MA_KS_NAME_MAX))
		return (ma_ks_fail(err, errlen, MA_ERR_SYNTAX, "Selector %s: bad "
			     "selector", opt->selector));
	for (s = p; *s; s++)
		n += (*s == ',');
	if (n + 1 > MA_LIMIT_CONFIG_LIST)
		return (ma_ks_fail(err, errlen, MA_ERR_LIMIT, "Domain: more than %d "
			     "domains", MA_LIMIT_CONFIG_LIST));
	if ((ks->keys = calloc(n + 1, sizeof(*ks->keys))) == NULL)
		return (ma_ks_fail(err, errlen, MA_ERR_NOMEM, "out of memory"));
	while (*p) {
		struct ma_sign_key *k;

		while (*p == ',' || isspace((unsigned char) *p))
			p++;
		for (len = 0; p[len] && p[len] != ','
		     && !isspace((unsigned char) p[len]); len++)
			continue;
		if (len == 0)
			break;
		if (!is_dns_name(p, len, MA_KS_DOMAIN_MAX))
			return (ma_ks_fail(err, errlen, MA_ERR_SYNTAX, "Domain: bad "
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
			return (ma_ks_fail(err, errlen, MA_ERR_NOMEM,
				     "out of memory"));
		lower_n(k->domain, len);
		lower_n(k->name, len);
		st = ma_ks_load_key(opt, k, "KeyFile", err, errlen);
		if (st != MA_OK)
			return (st);
		p += len;
	}
	if (ks->n_keys == 0)
		return (ma_ks_fail(err, errlen, MA_ERR_SYNTAX, "Domain: empty"));
	ks->single = 1;
	return (MA_OK);
}

/* ma_ks_load_tables - KeyTable, SigningTable or the single-key form */
enum ma_status
ma_ks_load_tables(const struct ma_keystore_options *opt,
		  struct ma_keystore *ks, char *err, size_t errlen)
{
	enum ma_status st = MA_OK;

	if (opt->key_table != NULL)
		st = load_keytable(opt, ks, err, errlen);
	if (st == MA_OK && opt->signing_table != NULL)
		st = load_signingtable(opt, ks, err, errlen);
	if (st == MA_OK && (opt->domain != NULL || opt->key_file != NULL))
		st = load_single(opt, ks, err, errlen);
	return (st);
}

/* ma_ks_free_tables - the SigningTable entries */
void
ma_ks_free_tables(struct ma_keystore *ks)
{
	for (size_t i = 0; i < ks->n_sign; i++)
		free(ks->sign[i].pattern);
	free(ks->sign);
	ks->sign = NULL;
	ks->n_sign = 0;
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
	char	a[MA_LIMIT_SIGN_ADDRESS + 1];
	char	c[2 * MA_LIMIT_SIGN_ADDRESS + 4];
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
