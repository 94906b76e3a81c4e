/*
 * NAME
 *	config_load - configuration files into struct ma_config
 * SUMMARY
 *	reads one or more files: ours, opendkim.conf, opendmarc.conf
 * SYNOPSIS
 *	#include "cfg.h"
 *
 *	ma_config_load_files(paths, n, &c, err, sizeof(err));
 * DESCRIPTION
 *	"Key value" lines; '#' starts a comment at the start of a line or
 *	after white space; keys are case-insensitive; the value is the rest
 *	of the line, trimmed. Our keys go to config.c's table; any other key
 *	goes through config_compat.c, which knows every key OpenDKIM and
 *	OpenDMARC document: set under our name, ignored with a note, or
 *	refused. The same key twice in one file is an error (except the
 *	repeatable ones, which add up); a key an earlier file set keeps
 *	that value and a note says so. Where a file had keys only
 *	OpenDKIM or only OpenDMARC has, the keys it left out take that
 *	daemon's default where it differs from ours (ma_compat_defaults).
 *	Every key remembers the file:line it came from, for
 *	ma_config_print_native() (mailauthd --print-config).
 * MEMORY
 *	Notes and origins belong to the configuration (ma_config_free).
 * LIMITS
 *	MA_LIMIT_CONFIG_LINE bytes a line, 1 MB a file,
 *	MA_LIMIT_CONFIG_FILES files, MA_LIMIT_CONFIG_INCLUDE nested
 *	Include, MA_LIMIT_CONFIG_NOTES notes kept.
 * DIAGNOSTICS
 *	MA_ERR_SYNTAX/IO/LIMIT/NOMEM with "file:line: what" in err.
 * THREADS
 *	Load before serving (or in the reload thread); reentrant.
 * SEE ALSO
 *	config.c, config_compat.c, mailauthd.conf(5), doc/migration.md
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_compat.h"
#include "config_int.h"
#include "ma_limits.h"

#define CONFIG_FILE_MAX	(1024 * 1024)

/* one load: the files given, in order, and what they showed */
struct load_state {
	unsigned file_no;		/* current file, from 1 */
	unsigned depth;			/* Include nesting */
	unsigned dialect;		/* MA_DIALECT_* keys seen */
	char	on_default[16];		/* OpenDKIM On-Default action, or "" */
	char	on_default_at[300];	/* its file:line */
};

/* trim - strip comment and surrounding white space in place */
static char *
trim(char *s)
{
	char   *e, *h;

	s += strspn(s, " \t");
	for (h = s; (h = strchr(h, '#')) != NULL; h++)
		if (h == s || h[-1] == ' ' || h[-1] == '\t') {
			*h = '\0';
			break;
		}
	e = s + strlen(s);
	while (e > s && isspace((unsigned char) e[-1]))
		*--e = '\0';
	return (s);
}

/* read_file - whole configuration file, bounded; NUL-terminated */
static char *
read_file(const char *path, size_t *len_out, char *err, size_t errlen)
{
	FILE   *fp;
	char   *buf;
	size_t	len;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (NULL);
	}
	if ((buf = malloc(CONFIG_FILE_MAX + 1)) == NULL) {
		fclose(fp);
		snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	len = fread(buf, 1, CONFIG_FILE_MAX + 1, fp);
	if (ferror(fp) || len > CONFIG_FILE_MAX) {
		snprintf(err, errlen, "%s: %s", path, ferror(fp) ? "read error"
			 : "file larger than 1 MB");
		fclose(fp);
		free(buf);
		return (NULL);
	}
	fclose(fp);
	buf[len] = '\0';
	*len_out = len;
	return (buf);
}

/* add_note - keep one -n note ("file:line: Key ...: why") */
static enum ma_status
add_note(struct config_priv *cp, const char *fmt, ...)
{
	char	buf[1024], **nv;
	va_list ap;

	va_start(ap, fmt);
	(void) vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (cp->n_notes >= MA_LIMIT_CONFIG_NOTES)
		return (MA_OK);		/* the first ones say enough */
	if ((nv = realloc(cp->notes, (cp->n_notes + 2) * sizeof(*nv))) == NULL)
		return (MA_ERR_NOMEM);
	cp->notes = nv;
	if ((nv[cp->n_notes] = strdup(buf)) == NULL)
		return (MA_ERR_NOMEM);
	nv[++cp->n_notes] = NULL;
	return (MA_OK);
}

/* set_origin - remember where a key's value came from */
static enum ma_status
set_origin(struct config_priv *cp, int k, const char *fmt, ...)
{
	char	buf[512];
	va_list ap;

	va_start(ap, fmt);
	(void) vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	free(cp->origin[k]);
	return ((cp->origin[k] = strdup(buf)) == NULL ? MA_ERR_NOMEM : MA_OK);
}

static enum ma_status load_file(struct ma_config *c, const char *path,
				struct load_state *ld, char *err, size_t errlen);

/*
 * set_given - a key given in a file (ours, or translated from OpenDKIM's
 * or OpenDMARC's as "as"). The same key twice in one file is an error,
 * except the repeatable ones, which add up; in a later file, the first
 * file's value stays and -n says so.
 */
static enum ma_status
set_given(struct ma_config *c, int k, const char *v, const char *as,
	  const char *where, struct load_state *ld, char *err, size_t errlen)
{
	struct config_priv *cp = PRIV(c);
	int	repeat = ma_config_keys[k].type == T_REPEAT || ma_config_keys[k].type == T_CIDRS;
	char	msg[512];
	enum ma_status st;

	if (cp->seen[k] != 0 && !repeat) {
		if (cp->seen[k] == ld->file_no) {
			snprintf(err, errlen, "%s: %s given twice (first at %s)",
				 where, as ? as : ma_config_keys[k].name, cp->origin[k]);
			return (MA_ERR_SYNTAX);
		}
		return (add_note(cp, "%s: %s ignored: already set at %s (the "
				 "first file given wins)", where,
				 as ? as : ma_config_keys[k].name, cp->origin[k]));
	}
	if ((st = ma_config_set_key(c, k, v, repeat && cp->seen[k] != 0, msg,
			  sizeof(msg))) != MA_OK) {
		snprintf(err, errlen, "%s: %s%s%s", where, as ? as : "",
			 as ? ": " : "", msg);
		return (st);
	}
	if (cp->seen[k] == 0)
		st = as ? set_origin(cp, k, "%s (%s)", where, as)
		    : set_origin(cp, k, "%s", where);
	cp->seen[k] = ld->file_no;
	return (st);
}

/* foreign_line - an opendkim.conf or opendmarc.conf key */
static enum ma_status
foreign_line(struct ma_config *c, const char *key, const char *v,
	     const char *where, struct load_state *ld, char *err,
	     size_t errlen)
{
	struct config_priv *cp = PRIV(c);
	struct ma_compat_result *r;
	enum ma_status st = MA_OK;
	int	k;

	if ((r = malloc(sizeof(*r))) == NULL)
		return (MA_ERR_NOMEM);
	ma_compat_translate(key, v, r);
	/* a key of one daemon only tells whose file this is */
	if (r->dialect == MA_DIALECT_OPENDKIM || r->dialect == MA_DIALECT_OPENDMARC)
		ld->dialect |= r->dialect;
	switch (r->kind) {
	case MA_COMPAT_UNKNOWN:
		snprintf(err, errlen, "%s: unknown key \"%.64s\"", where, key);
		st = MA_ERR_SYNTAX;
		break;
	case MA_COMPAT_ERROR:
		snprintf(err, errlen, "%s: %s %.64s: not supported: %s", where,
			 r->name, v, r->why);
		st = MA_ERR_SYNTAX;
		break;
	case MA_COMPAT_IGNORE:
		st = add_note(cp, "%s: %s ignored: %s", where, r->name, r->why);
		break;
	case MA_COMPAT_SET:
		if ((k = ma_config_find_key(r->native)) < 0) {
			snprintf(err, errlen, "%s: %s: no key %s (bug)", where,
				 r->name, r->native);
			st = MA_ERR_INTERNAL;
			break;
		}
		st = set_given(c, k, r->value, r->name, where, ld, err, errlen);
		if (st == MA_OK && r->why != NULL)
			st = add_note(cp, "%s: %s is %s %s: %s", where, r->name,
				      ma_config_keys[k].name, r->value, r->why);
		break;
	case MA_COMPAT_INCLUDE:
		if (ld->depth >= MA_LIMIT_CONFIG_INCLUDE) {
			snprintf(err, errlen, "%s: Include nested deeper than %d",
				 where, MA_LIMIT_CONFIG_INCLUDE);
			st = MA_ERR_LIMIT;
			break;
		}
		ld->depth++;
		st = load_file(c, r->value, ld, err, errlen);
		ld->depth--;
		break;
	case MA_COMPAT_DEFAULT_ACTION:
		if (ld->on_default[0] == '\0') {
			(void) snprintf(ld->on_default, sizeof(ld->on_default),
					"%.15s", r->value);
			(void) snprintf(ld->on_default_at,
					sizeof(ld->on_default_at), "%s", where);
		}
		break;
	}
	free(r);
	return (st);
}

/* load_line - one line of a file */
static enum ma_status
load_line(struct ma_config *c, char *s, const char *path, unsigned lineno,
	  struct load_state *ld, char *err, size_t errlen)
{
	char	where[300], *v;
	int	k;

	s = trim(s);
	if (*s == '\0')
		return (MA_OK);
	v = s + strcspn(s, " \t");
	if (*v != '\0')
		*v++ = '\0';
	v += strspn(v, " \t");
	(void) snprintf(where, sizeof(where), "%s:%u", path, lineno);
	if (*v == '\0') {
		k = ma_config_find_key(s);
		snprintf(err, errlen, "%s: %s: missing value", where,
			 k >= 0 ? ma_config_keys[k].name : s);
		return (MA_ERR_SYNTAX);
	}
	if ((k = ma_config_find_key(s)) < 0)
		return (foreign_line(c, s, v, where, ld, err, errlen));
	return (set_given(c, k, v, NULL, where, ld, err, errlen));
}

/* load_file - every line of one file (and of the files it includes) */
static enum ma_status
load_file(struct ma_config *c, const char *path, struct load_state *ld,
	  char *err, size_t errlen)
{
	unsigned lineno = 0;
	enum ma_status st = MA_OK;
	size_t	len, p = 0, e;
	char   *text;

	if ((text = read_file(path, &len, err, errlen)) == NULL)
		return (MA_ERR_IO);
	while (st == MA_OK && p < len) {
		const char *nl = memchr(text + p, '\n', len - p);

		e = nl ? (size_t) (nl - text) : len;
		lineno++;
		if (e - p > MA_LIMIT_CONFIG_LINE) {
			snprintf(err, errlen, "%s:%u: line longer than %d bytes",
				 path, lineno, MA_LIMIT_CONFIG_LINE);
			st = MA_ERR_LIMIT;
		} else if (memchr(text + p, '\0', e - p) != NULL) {
			snprintf(err, errlen, "%s:%u: NUL byte", path, lineno);
			st = MA_ERR_SYNTAX;
		} else {
			text[e] = '\0';
			st = load_line(c, text + p, path, lineno, ld, err, errlen);
		}
		p = e + 1;
	}
	free(text);
	return (st);
}

/*
 * foreign_defaults - where the files were OpenDKIM's or OpenDMARC's, the
 * keys they left out keep that daemon's default (ma_compat_defaults), and
 * On-Default gives the actions not given
 */
static enum ma_status
foreign_defaults(struct ma_config *c, struct load_state *ld, char *err,
		 size_t errlen)
{
	static const char *const on_keys[] = {
		"TemperrorAction", "InternalErrorAction"
	};
	struct config_priv *cp = PRIV(c);
	const struct ma_compat_default *d;
	enum ma_status st = MA_OK;
	size_t	i;
	int	k;

	for (d = ma_compat_defaults; st == MA_OK && d->key != NULL; d++) {
		if ((ld->dialect & d->dialect) == 0 || (k = ma_config_find_key(d->key)) < 0
		    || cp->seen[k] != 0)
			continue;
		if ((st = ma_config_set_key(c, k, d->value, 0, err, errlen)) == MA_OK
		    && (st = set_origin(cp, k, "%s", d->why)) == MA_OK)
			st = add_note(cp, "%s %s: %s", d->key, d->value, d->why);
	}
	for (i = 0; st == MA_OK && ld->on_default[0] != '\0' && i < 2; i++) {
		const char *a = ld->on_default;

		if ((k = ma_config_find_key(on_keys[i])) < 0 || cp->seen[k] != 0)
			continue;
		if (strcmp(a, "discard") == 0 || strcmp(a, "quarantine") == 0
		    || (i == 0 && strcmp(a, "reject") == 0)) {
			st = add_note(cp, "%s: On-Default %s ignored for %s: "
				      "mailauthd never %s mail for that", 
				      ld->on_default_at, a, on_keys[i],
				      i == 0 ? "rejects, drops or holds"
				      : "drops or holds");
			continue;
		}
		if ((st = ma_config_set_key(c, k, a, 0, err, errlen)) == MA_OK)
			st = set_origin(cp, k, "%s (On-Default)",
					ld->on_default_at);
	}
	return (st);
}

/* ma_config_load_files - defaults, then each file in turn */
enum ma_status
ma_config_load_files(const char *const *paths, size_t n_paths,
		     struct ma_config **out, char *err, size_t errlen)
{
	struct load_state ld;
	struct ma_config *c;
	enum ma_status st;
	size_t	i;

	*out = NULL;
	if ((st = ma_config_new_defaults(&c, err, errlen)) != MA_OK)
		return (st);
	if (n_paths == 0) {
		*out = c;
		return (MA_OK);
	}
	if (n_paths > MA_LIMIT_CONFIG_FILES) {
		snprintf(err, errlen, "more than %d configuration files",
			 MA_LIMIT_CONFIG_FILES);
		ma_config_free(&c);
		return (MA_ERR_LIMIT);
	}
	if ((c->path = strdup(paths[0])) == NULL
	    || (c->paths = calloc(n_paths + 1, sizeof(*c->paths))) == NULL) {
		ma_config_free(&c);
		return (MA_ERR_NOMEM);
	}
	memset(&ld, 0, sizeof(ld));
	for (i = 0; st == MA_OK && i < n_paths; i++) {
		if ((c->paths[i] = strdup(paths[i])) == NULL) {
			st = MA_ERR_NOMEM;
			break;
		}
		ld.file_no = (unsigned) i + 1;
		st = load_file(c, paths[i], &ld, err, errlen);
	}
	if (st == MA_OK)
		st = foreign_defaults(c, &ld, err, errlen);
	if (st != MA_OK) {
		ma_config_free(&c);
		return (st);
	}
	*out = c;
	return (MA_OK);
}

/* ma_config_load - defaults, then the file */
enum ma_status
ma_config_load(const char *path, struct ma_config **out, char *err,
	       size_t errlen)
{
	return (ma_config_load_files(&path, path != NULL, out, err, errlen));
}

/* ma_config_notes - the keys ignored, NULL-terminated (may be NULL) */
const char *const *
ma_config_notes(const struct ma_config *c)
{
	return ((const char *const *) ((const struct config_priv *) c)->notes);
}

/* ma_config_print_native - the keys the files set, as our own file */
void
ma_config_print_native(const struct ma_config *c, FILE *fp)
{
	const struct config_priv *cp = (const struct config_priv *) c;
	size_t	i;

	fprintf(fp, "# mailauthd.conf written by mailauthd --print-config from");
	for (i = 0; c->paths != NULL && c->paths[i] != NULL; i++)
		fprintf(fp, " %s", c->paths[i]);
	fprintf(fp, "\n# Keys not shown have mailauthd's defaults: see "
		"mailauthd.conf(5) or mailauthd -n -v.\n");
	for (i = 0; i < ma_config_n_keys; i++) {
		const char *v = cp->raw[i];

		if (cp->origin[i] == NULL || v == NULL)
			continue;
		fprintf(fp, "\n# %s\n# from %s\n", ma_config_keys[i].help, cp->origin[i]);
		if (ma_config_keys[i].type == T_REPEAT) {	/* one line a value */
			const char *p = v, *e;

			for (; (e = strstr(p, ", ")) != NULL; p = e + 2)
				fprintf(fp, "%s %.*s\n", ma_config_keys[i].name,
					(int) (e - p), p);
			fprintf(fp, "%s %s\n", ma_config_keys[i].name, p);
		} else
			fprintf(fp, "%s %s\n", ma_config_keys[i].name, v);
	}
	if (cp->n_notes > 0)
		fprintf(fp, "\n# Notes on the keys read:\n");
	for (i = 0; i < cp->n_notes; i++)
		fprintf(fp, "#   %s\n", cp->notes[i]);
}
