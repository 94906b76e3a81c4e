/*
 * NAME
 *	dkim_suite - DKIM verification conformance runner
 * SUMMARY
 *	Runs policy/dkim_verify.c over the shared DKIM test data and a
 *	hostile-input section; one line per case, then
 *	"dkim conformance: P/N"; exit status 1 on any unexpected result.
 * DESCRIPTION
 *	Data is read at run time from $SHARED_DIR/conformance/dkim
 *	(SHARED_DIR, else $top_srcdir/../shared, else ../shared); see
 *	conformance/README.md section 2. Each case gets its own offline
 *	resolver filled with ma_dns_add_record()/ma_dns_add_failure().
 *	(a) rfc8463/: both signatures pass. (b) mail-auth/00[1-6].txt at
 *	1667843664 (clock_skew 86400: 004.txt was signed 19137 s after
 *	that time): every signature passes. (c) dkimpy/: Exim ed25519 and
 *	RFC 6376 A.1 with the RFC 8463 keys: pass. (d) mail-dkim-corpus/:
 *	strict (default options): one result per DKIM-Signature, none for
 *	DomainKey-Signature, no pass where the strict note names a legacy
 *	feature, upstream expectation where it applies as-is; legacy
 *	(allow_sha1, min_key_bits 1): upstream expectation where the only
 *	legacy features are rsa-sha1 and short keys, never pass where v=
 *	is missing or not 1; multiple_2.txt: invalid/pass/fail per
 *	signature. badkey_* and ignore_* never pass.
 *	(e) hostile input and our own edge cases: 50 signatures, garbage
 *	signatures and key records, a 100 KB field, NUL bytes, DNS failure
 *	and budget, t=/x= against opt->now, RFC 8301 reasons, call order.
 *	DKIM_SUITE_DEBUG in the environment turns on debug logging.
 * LIMITS
 *	Files over 4 MB are refused.
 * STANDARDS
 *	RFC 6376, RFC 8301, RFC 8463, RFC 8601 2.7.1.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mailauth/arena.h>
#include <mailauth/dkim.h>
#include <mailauth/dns.h>
#include <mailauth/log.h>

#include "ma_limits.h"

#define MA_LIMIT_DKIM_SIGNATURES_T ((size_t) MA_LIMIT_DKIM_SIGNATURES)

#define MAX_FILE	(4 * 1024 * 1024)
#define MAX_SIGS	64
#define BODY_CHUNK	997	/* odd size: exercises chunked feeding */

static char shared[1024];
static int n_pass, n_total;
static unsigned budget_max = 64;	/* per-message DNS queries */

struct text {
	char   *p;
	size_t	len;
};

struct outcome {
	enum ma_status st;		/* first non-OK status of the feed */
	size_t	n;
	struct ma_dkim_sig sig[MAX_SIGS];
	unsigned queries;
};

/* check - record one assertion */
static int
check(int ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	n_total++;
	if (ok)
		n_pass++;
	printf("%s %s", ok ? "ok  " : "FAIL", name);
	if (fmt != NULL) {
		printf(": ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	printf("\n");
	return (ok);
}

/* read_file - whole file, NUL-terminated, at most MAX_FILE bytes */
static int
read_file(const char *path, struct text *t)
{
	FILE   *f = fopen(path, "rb");
	size_t	n;

	t->p = NULL;
	t->len = 0;
	if (f == NULL)
		return (-1);
	t->p = malloc(MAX_FILE + 1);
	if (t->p == NULL) {
		fclose(f);
		return (-1);
	}
	n = fread(t->p, 1, MAX_FILE + 1, f);
	fclose(f);
	if (n > MAX_FILE) {
		free(t->p);
		t->p = NULL;
		return (-1);
	}
	t->p[n] = 0;
	t->len = n;
	return (0);
}

/* crlf - copy of len bytes with every bare LF made CRLF */
static struct text
crlf(const char *p, size_t len)
{
	struct text t;
	size_t	i;

	t.p = malloc(2 * len + 1);
	t.len = 0;
	if (t.p == NULL)
		return (t);
	for (i = 0; i < len; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			t.p[t.len++] = '\r';
		t.p[t.len++] = p[i];
	}
	t.p[t.len] = 0;
	return (t);
}

/* path_of - shared data path */
static const char *
path_of(char *buf, size_t len, const char *rel)
{
	if ((size_t) snprintf(buf, len, "%s/conformance/dkim/%s", shared, rel)
	    >= len)
		buf[0] = 0;
	return (buf);
}

/* add_txt - one TXT record, split in 255-byte quoted strings */
static int
add_txt(struct ma_dns *d, const char *name, size_t nlen, const char *val,
	size_t vlen)
{
	char   *line;
	size_t	cap = nlen + 4 * vlen + 64 + (vlen / 255 + 1) * 3, n = 0;
	size_t	i, in_str = 0;
	char	err[256];
	enum ma_status st;

	if ((line = malloc(cap)) == NULL)
		return (-1);
	n = (size_t) snprintf(line, cap, "%.*s 300 IN TXT ", (int) nlen, name);
	line[n++] = '"';
	for (i = 0; i < vlen; i++) {
		unsigned char c = (unsigned char) val[i];

		if (in_str == 255) {
			line[n++] = '"';
			line[n++] = ' ';
			line[n++] = '"';
			in_str = 0;
		}
		if (c == '"' || c == '\\') {
			line[n++] = '\\';
			line[n++] = (char) c;
		} else if (c < 0x20 || c > 0x7e) {
			n += (size_t) snprintf(line + n, cap - n, "\\%03u", c);
		} else {
			line[n++] = (char) c;
		}
		in_str++;
	}
	line[n++] = '"';
	line[n] = 0;
	st = ma_dns_add_record(d, line, err, sizeof(err));
	if (st != MA_OK)
		fprintf(stderr, "dkim_suite: add_record %.*s: %s\n",
			(int) nlen, name, err);
	free(line);
	return (st == MA_OK ? 0 : -1);
}

/* new_dns - empty offline resolver */
static struct ma_dns *
new_dns(void)
{
	struct ma_dns_options o;
	struct ma_dns *d = NULL;
	char	err[256];

	memset(&o, 0, sizeof(o));
	o.offline = 1;
	if (ma_dns_new(&o, &d, err, sizeof(err)) != MA_OK) {
		fprintf(stderr, "dkim_suite: ma_dns_new: %s\n", err);
		return (NULL);
	}
	return (d);
}

/* trim - skip blanks around [*p, *p+*n) */
static void
trim(const char **p, size_t *n)
{
	while (*n > 0 && (**p == ' ' || **p == '\t'))
		(*p)++, (*n)--;
	while (*n > 0 && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'
			  || (*p)[*n - 1] == '\r'))
		(*n)--;
}

/*
 * add_name_value_lines - "<name> <TXT value>" lines of [p, p+len);
 * NXDOMAIN: nothing; ~~text~~: DNS failure; "": empty record.
 */
static int
add_name_value_lines(struct ma_dns *d, const char *p, size_t len)
{
	const char *e = p + len, *nl, *sp, *v;
	size_t	ll, nlen, vlen;

	while (p < e) {
		nl = memchr(p, '\n', (size_t) (e - p));
		ll = nl ? (size_t) (nl - p) : (size_t) (e - p);
		trim(&p, &ll);
		if (ll > 0 && p[0] != '#' && p[0] != ';') {
			for (sp = p; sp < p + ll && *sp != ' ' && *sp != '\t';
			     sp++)
				continue;
			nlen = (size_t) (sp - p);
			v = sp;
			vlen = ll - nlen;
			trim(&v, &vlen);
			if (vlen == 7 && memcmp(v, "NXDOMAIN", 7) == 0) {
				/* absent name: NXDOMAIN */
			} else if (vlen >= 4 && memcmp(v, "~~", 2) == 0) {
				char	name[512];

				snprintf(name, sizeof(name), "%.*s",
					 (int) nlen, p);
				ma_dns_add_failure(d, name);
			} else if (vlen == 2 && memcmp(v, "\"\"", 2) == 0) {
				if (add_txt(d, p, nlen, "", 0) != 0)
					return (-1);
			} else if (add_txt(d, p, nlen, v, vlen) != 0) {
				return (-1);
			}
		}
		p = nl ? nl + 1 : e;
	}
	return (0);
}

/* note_st - keep the first non-OK status */
static void
note_st(struct outcome *o, enum ma_status st)
{
	if (o->st == MA_OK)
		o->st = st;
}

/* run_msg - feed one CRLF message; results copied to o */
static int
run_msg(struct ma_dkim_verifier *v, const struct ma_dkim_options *opt,
	const char *p, size_t len, struct outcome *o)
{
	struct ma_arena *a = ma_arena_new();
	struct ma_dns_budget budget;
	struct ma_dkim_verify *dv;
	const struct ma_dkim_sig *sigs;
	size_t	i = 0, start, n;
	enum ma_status st;

	memset(o, 0, sizeof(*o));
	memset(&budget, 0, sizeof(budget));
	budget.max_queries = budget_max;
	if (a == NULL)
		return (-1);
	if ((st = ma_dkim_verify_start(v, opt, &budget, a, &dv)) != MA_OK) {
		ma_arena_free(&a);
		o->st = st;
		return (-1);
	}
	/* header fields: up to the empty line; folds stay as CRLF WSP */
	while (i < len) {
		if (i + 1 < len && p[i] == '\r' && p[i + 1] == '\n') {
			i += 2;
			break;
		}
		start = i;
		for (;;) {
			while (i < len && p[i] != '\n')
				i++;
			if (i >= len)
				break;
			i++;
			if (i < len && (p[i] == ' ' || p[i] == '\t'))
				continue;
			break;
		}
		n = i - start;
		if (n >= 2 && p[start + n - 1] == '\n'
		    && p[start + n - 2] == '\r')
			n -= 2;
		if ((st = ma_dkim_verify_header(dv, p + start, n)) != MA_OK)
			note_st(o, st);
	}
	if ((st = ma_dkim_verify_eoh(dv)) != MA_OK)
		note_st(o, st);
	for (; i < len; i += n) {
		n = len - i < BODY_CHUNK ? len - i : BODY_CHUNK;
		if ((st = ma_dkim_verify_body(dv, (const unsigned char *) p + i,
					      n)) != MA_OK)
			note_st(o, st);
	}
	if ((st = ma_dkim_verify_eom(dv, &sigs, &n)) != MA_OK) {
		note_st(o, st);
		n = 0;
	}
	for (i = 0; i < n && i < MAX_SIGS; i++) {
		o->sig[i] = sigs[i];
		/* strings die with the arena: keep what we print */
		o->sig[i].domain = o->sig[i].selector = o->sig[i].algorithm =
		    o->sig[i].identity = o->sig[i].b = NULL;
		o->sig[i].reason = strdup(sigs[i].reason ? sigs[i].reason : "");
	}
	o->n = n;
	o->queries = budget.queries;
	ma_arena_free(&a);
	return (0);
}

/* free_outcome - release reasons */
static void
free_outcome(struct outcome *o)
{
	for (size_t i = 0; i < o->n && i < MAX_SIGS; i++)
		free((char *) o->sig[i].reason);
	o->n = 0;
}

/* describe - "pass(ok) fail(body hash mismatch)" into buf */
static const char *
describe(const struct outcome *o, char *buf, size_t len)
{
	size_t	n = 0, i;

	buf[0] = 0;
	for (i = 0; i < o->n && i < MAX_SIGS && n < len; i++)
		n += (size_t) snprintf(buf + n, len - n, "%s%s(%s)",
				       i ? " " : "",
				       ma_dkim_result_str(o->sig[i].result),
				       o->sig[i].reason);
	if (o->n == 0)
		snprintf(buf, len, "no signatures");
	return (buf);
}

/* count - results equal to r */
static size_t
count(const struct outcome *o, enum ma_dkim_result r)
{
	size_t	c = 0;

	for (size_t i = 0; i < o->n && i < MAX_SIGS; i++)
		c += o->sig[i].result == r;
	return (c);
}

/* is_invalid - Mail::DKIM "invalid": not evaluable */
static int
is_invalid(enum ma_dkim_result r)
{
	return (r == MA_DKIM_PERMERROR || r == MA_DKIM_TEMPERROR
		|| r == MA_DKIM_NEUTRAL || r == MA_DKIM_POLICY);
}

/* overall - Mail::DKIM-like summary: pass > fail > invalid */
static const char *
overall(const struct outcome *o)
{
	if (count(o, MA_DKIM_PASS) > 0)
		return ("pass");
	if (count(o, MA_DKIM_FAIL) > 0)
		return ("fail");
	return (o->n ? "invalid" : "none");
}

/* new_verifier - verifier over d */
static struct ma_dkim_verifier *
new_verifier(struct ma_dns *d)
{
	struct ma_dkim_verifier *v = NULL;
	char	err[256];

	if (ma_dkim_verifier_new(d, &v, err, sizeof(err)) != MA_OK)
		fprintf(stderr, "dkim_suite: verifier: %s\n", err);
	return (v);
}

/* expect_all_pass - every signature passes, n_want of them (0: any >0) */
static void
expect_all_pass(const char *name, const struct outcome *o, size_t n_want)
{
	char	buf[2048];
	int	ok = o->n > 0 && count(o, MA_DKIM_PASS) == o->n
	    && (n_want == 0 || o->n == n_want);

	check(ok, name, "%s", describe(o, buf, sizeof(buf)));
}

/* run_zone_case - message file against a zone file */
static void
run_file_case(const char *name, struct ma_dns *d, const char *msgpath,
	      const struct ma_dkim_options *opt, size_t n_want)
{
	struct ma_dkim_verifier *v = new_verifier(d);
	struct text raw, msg;
	struct outcome o;

	if (v == NULL || read_file(msgpath, &raw) != 0) {
		check(0, name, "cannot read %s", msgpath);
		ma_dkim_verifier_free(&v);
		return;
	}
	msg = crlf(raw.p, raw.len);
	run_msg(v, opt, msg.p, msg.len, &o);
	expect_all_pass(name, &o, n_want);
	free_outcome(&o);
	free(msg.p);
	free(raw.p);
	ma_dkim_verifier_free(&v);
}

/* suite_rfc8463 - (a) RFC 8463 Appendix A */
static void
suite_rfc8463(void)
{
	char	p[1200], m[1200], err[256];
	struct ma_dns *d = new_dns();

	if (d == NULL || ma_dns_load_zone_file(d, path_of(p, sizeof(p),
				"rfc8463/dns.zone"), err, sizeof(err)) != MA_OK) {
		check(0, "rfc8463/signed.eml", "zone: %s", d ? err : "no dns");
		ma_dns_free(&d);
		return;
	}
	run_file_case("rfc8463/signed.eml", d,
		      path_of(m, sizeof(m), "rfc8463/signed.eml"), NULL, 2);
	ma_dns_free(&d);
}

/* expected_sig_count - signatures listed for file in mail-auth yaml */
static size_t
expected_sig_count(const struct text *y, const char *file)
{
	char	key[64];
	const char *p, *e, *q;
	size_t	n = 0;

	snprintf(key, sizeof(key), "- file: %s", file);
	if ((p = strstr(y->p, key)) == NULL)
		return (0);
	p += strlen(key);
	e = strstr(p, "\n- file:");
	if (e == NULL)
		e = y->p + y->len;
	if ((p = strstr(p, "dkim_signatures:")) == NULL || p > e)
		return (0);
	if ((q = strstr(p, "expect_upstream:")) != NULL && q < e)
		e = q;
	while ((p = strstr(p, "\n  - ")) != NULL && p < e)
		n++, p++;
	return (n);
}

/* suite_mail_auth - (b) stalwartlabs/mail-auth at 1667843664 */
static void
suite_mail_auth(void)
{
	struct ma_dkim_options opt;
	struct text y;
	char	p[1200], name[64];
	int	f;

	memset(&opt, 0, sizeof(opt));
	opt.now = 1667843664;
	/* 004.txt has t=1667862801, 19137 s after the pinned time */
	opt.clock_skew = 86400;
	if (read_file(path_of(p, sizeof(p), "mail-auth/expected.yaml"), &y)) {
		check(0, "mail-auth", "no expected.yaml");
		return;
	}
	for (f = 1; f <= 6; f++) {
		struct ma_dkim_verifier *v;
		struct ma_dns *d = new_dns();
		struct text raw, msg;
		struct outcome o;
		const char *sep;
		char	file[16];

		snprintf(file, sizeof(file), "00%d.txt", f);
		snprintf(name, sizeof(name), "mail-auth/%s", file);
		if (d == NULL || read_file(path_of(p, sizeof(p), name), &raw)) {
			check(0, name, "cannot read");
			ma_dns_free(&d);
			continue;
		}
		sep = strstr(raw.p, "\n\n");
		if (sep == NULL) {
			check(0, name, "no empty line");
		} else {
			add_name_value_lines(d, raw.p, (size_t) (sep - raw.p));
			msg = crlf(sep + 2, raw.len - (size_t) (sep + 2 - raw.p));
			v = new_verifier(d);
			run_msg(v, &opt, msg.p, msg.len, &o);
			expect_all_pass(name, &o, expected_sig_count(&y, file));
			free_outcome(&o);
			ma_dkim_verifier_free(&v);
			free(msg.p);
		}
		free(raw.p);
		ma_dns_free(&d);
	}
	free(y.p);
}

/* suite_dkimpy - (c) dkimpy data */
static void
suite_dkimpy(void)
{
	char	p[1200], m[1200];
	struct text key;
	struct ma_dns *d = new_dns();

	if (d != NULL && read_file(path_of(p, sizeof(p), "dkimpy/eximtest.dns"),
				   &key) == 0) {
		size_t	n = key.len;
		const char *k = key.p;

		trim(&k, &n);
		while (n > 0 && (k[n - 1] == '\n' || k[n - 1] == '\r'))
			n--;
		add_txt(d, "sed._domainkey.test.ex", 22, k, n);
		run_file_case("dkimpy/ed25519test2.msg", d, path_of(m, sizeof(m),
			      "dkimpy/ed25519test2.msg"), NULL, 1);
		free(key.p);
	} else {
		check(0, "dkimpy/ed25519test2.msg", "cannot read key");
	}
	ma_dns_free(&d);
	d = new_dns();
	if (d != NULL && read_file(path_of(p, sizeof(p),
				   "rfc8463/dns-records.txt"), &key) == 0) {
		add_name_value_lines(d, key.p, key.len);
		run_file_case("dkimpy/rfc6376.signed.msg", d, path_of(m,
			      sizeof(m), "dkimpy/rfc6376.signed.msg"), NULL, 2);
		free(key.p);
	} else {
		check(0, "dkimpy/rfc6376.signed.msg", "cannot read keys");
	}
	ma_dns_free(&d);
}

/* One case of expected-results.yaml, parsed minimally. */
struct corpus_case {
	char	file[128];
	char	expect[16];		/* pass | fail | invalid */
	int	skipped;		/* skipped_upstream */
	int	n_dkim;			/* kind: DKIM signatures */
	int	as_is;			/* strict note: applies as-is */
	int	bad_version;		/* strict note: v= missing or not 1 */
	int	multiple_2;		/* per-signature upstream checks */
};

/* yaml_value - copy the value after "key: " on the line at p */
static void
yaml_value(const char *p, char *out, size_t len)
{
	size_t	n = strcspn(p, "\n");

	if (n >= len)
		n = len - 1;
	memcpy(out, p, n);
	out[n] = 0;
}

/* parse_corpus - split expected-results.yaml into cases */
static int
parse_corpus(const struct text *y, struct corpus_case *cc, int max)
{
	const char *p = y->p, *next, *q, *e;
	int	n = 0;

	while ((p = strstr(p, "\n- file: corpus/")) != NULL && n < max) {
		struct corpus_case *c = &cc[n++];

		memset(c, 0, sizeof(*c));
		p += strlen("\n- file: ");
		yaml_value(p, c->file, sizeof(c->file));
		next = strstr(p, "\n- file: ");
		e = next ? next : y->p + y->len;
		if ((q = strstr(p, "\n  expect_upstream: ")) != NULL && q < e)
			yaml_value(q + 20, c->expect, sizeof(c->expect));
		q = strstr(p, "\n  skipped_upstream:");
		c->skipped = q != NULL && q < e;
		for (q = p; (q = strstr(q, "kind: DKIM\n")) != NULL && q < e; q++)
			c->n_dkim++;
		q = strstr(p, "strict_rfc6376_rfc8301_note: 'no legacy");
		c->as_is = q != NULL && q < e;
		for (q = p; (q = strstr(q, "sig[")) != NULL && q < e; q++) {
			const char *le = strchr(q, '\n');
			const char *nv = strstr(q, "no v= tag");
			const char *n1 = strstr(q, "(not 1)");

			if ((nv && nv < le) || (n1 && n1 < le))
				c->bad_version = 1;
		}
		c->multiple_2 = strcmp(c->file, "corpus/multiple_2.txt") == 0;
		p = e - 1;
		if (next == NULL)
			break;
	}
	return (n);
}

/* upstream_ok - outcome matches Mail::DKIM's verdict word */
static int
upstream_ok(const char *want, const struct outcome *o)
{
	return (strcmp(want, overall(o)) == 0);
}

/* corpus_case_run - one corpus file, strict and legacy */
static void
corpus_case_run(struct ma_dkim_verifier *v, const struct corpus_case *c)
{
	struct ma_dkim_options strict, legacy;
	struct outcome os, ol;
	struct text raw;
	char	p[1200], name[200], b1[2048];
	int	never_pass = strncmp(c->file, "corpus/badkey", 13) == 0
	    || strncmp(c->file, "corpus/ignore_", 14) == 0;

	snprintf(name, sizeof(name), "mail-dkim-corpus/%s", c->file);
	if (read_file(path_of(p, sizeof(p), name), &raw) != 0) {
		check(0, c->file, "cannot read");
		return;
	}
	struct text msg = crlf(raw.p, raw.len);

	memset(&strict, 0, sizeof(strict));
	legacy = strict;
	legacy.allow_sha1 = 1;
	legacy.min_key_bits = 1;
	run_msg(v, &strict, msg.p, msg.len, &os);
	run_msg(v, &legacy, msg.p, msg.len, &ol);

	/* strict: one result per DKIM-Signature, none for DomainKeys */
	snprintf(name, sizeof(name), "%s strict", c->file + 7);
	if (!check(os.n == (size_t) c->n_dkim, name, "%zu results, want %d: %s",
		   os.n, c->n_dkim, describe(&os, b1, sizeof(b1))))
		goto out;
	if (c->as_is)
		check(upstream_ok(c->expect, &os), name, "%s, upstream %s: %s",
		      overall(&os), c->expect, describe(&os, b1, sizeof(b1)));
	else
		check(count(&os, MA_DKIM_PASS) == 0, name, "no pass: %s",
		      describe(&os, b1, sizeof(b1)));

	/* legacy switch: rsa-sha1 and short keys allowed */
	snprintf(name, sizeof(name), "%s legacy", c->file + 7);
	if (c->n_dkim == 0) {
		check(ol.n == 0, name, "%s", describe(&ol, b1, sizeof(b1)));
	} else if (c->multiple_2) {
		check(ol.n == 4 && is_invalid(ol.sig[0].result)
		      && ol.sig[1].result == MA_DKIM_PASS
		      && ol.sig[2].result == MA_DKIM_FAIL
		      && ol.sig[3].result != MA_DKIM_PASS, name,
		      "invalid/pass/fail/not pass: %s",
		      describe(&ol, b1, sizeof(b1)));
	} else if (c->bad_version) {
		check(count(&ol, MA_DKIM_PASS) == 0, name,
		      "v= invalid, no pass: %s", describe(&ol, b1, sizeof(b1)));
	} else if (c->skipped) {
		check(!never_pass || count(&ol, MA_DKIM_PASS) == 0, name,
		      "upstream skips; %s", describe(&ol, b1, sizeof(b1)));
	} else {
		check(upstream_ok(c->expect, &ol), name, "%s, upstream %s: %s",
		      overall(&ol), c->expect, describe(&ol, b1, sizeof(b1)));
	}
	if (never_pass)
		check(count(&os, MA_DKIM_PASS) == 0
		      && count(&ol, MA_DKIM_PASS) == 0, c->file + 7,
		      "never pass");
out:
	free_outcome(&os);
	free_outcome(&ol);
	free(msg.p);
	free(raw.p);
}

/* suite_corpus - (d) Mail::DKIM corpus */
static void
suite_corpus(void)
{
	static struct corpus_case cc[128];
	struct ma_dkim_verifier *v;
	struct ma_dns *d = new_dns();
	struct text y, dns;
	char	p[1200];
	int	n, i;

	if (d == NULL || read_file(path_of(p, sizeof(p),
			"mail-dkim-corpus/expected-results.yaml"), &y) != 0) {
		check(0, "mail-dkim-corpus", "no expected-results.yaml");
		ma_dns_free(&d);
		return;
	}
	if (read_file(path_of(p, sizeof(p), "mail-dkim-corpus/FAKE_DNS.dat"),
		      &dns) != 0 || add_name_value_lines(d, dns.p, dns.len)) {
		check(0, "mail-dkim-corpus", "FAKE_DNS.dat");
		free(y.p);
		ma_dns_free(&d);
		return;
	}
	free(dns.p);
	n = parse_corpus(&y, cc, 128);
	check(n == 79, "mail-dkim-corpus cases", "%d, want 79", n);
	v = new_verifier(d);
	for (i = 0; i < n && v != NULL; i++)
		corpus_case_run(v, &cc[i]);
	ma_dkim_verifier_free(&v);
	free(y.p);
	ma_dns_free(&d);
}

/* hostile_msg - prefix (CRLF fields) followed by base message */
static struct text
join(const char *prefix, size_t plen, const struct text *base)
{
	struct text t;

	t.len = plen + base->len;
	t.p = malloc(t.len + 1);
	if (t.p == NULL) {
		t.len = 0;
		return (t);
	}
	memcpy(t.p, prefix, plen);
	memcpy(t.p + plen, base->p, base->len);
	t.p[t.len] = 0;
	return (t);
}

/* first_field - length of the first header field of m, with its CRLF */
static size_t
first_field(const struct text *m)
{
	size_t	i = 0;

	for (;;) {
		while (i < m->len && m->p[i] != '\n')
			i++;
		if (i >= m->len)
			return (m->len);
		i++;
		if (i < m->len && (m->p[i] == ' ' || m->p[i] == '\t'))
			continue;
		return (i);
	}
}

/* hostile_run - one message against d; returns the outcome */
static void
hostile_run(struct ma_dns *d, const struct ma_dkim_options *opt,
	    const struct text *m, struct outcome *o)
{
	struct ma_dkim_verifier *v = new_verifier(d);

	memset(o, 0, sizeof(*o));
	if (v != NULL)
		run_msg(v, opt, m->p, m->len, o);
	ma_dkim_verifier_free(&v);
}

/* want - results of o are exactly the words in w ("pass neutral") */
static void
want(const char *name, const struct outcome *o, const char *w,
     const char *reason0)
{
	char	got[4096], words[512];
	size_t	n = 0, i;
	int	ok;

	words[0] = 0;
	for (i = 0; i < o->n && i < MAX_SIGS && n < sizeof(words); i++)
		n += (size_t) snprintf(words + n, sizeof(words) - n, "%s%s",
				       i ? " " : "",
				       ma_dkim_result_str(o->sig[i].result));
	ok = strcmp(words, w) == 0;
	if (ok && reason0 != NULL)
		ok = o->n > 0 && strcmp(o->sig[0].reason, reason0) == 0;
	check(ok, name, "want %s%s%s%s, got %s", w,
	      reason0 ? " (" : "", reason0 ? reason0 : "", reason0 ? ")" : "",
	      describe(o, got, sizeof(got)));
}

/* zone_8463 - RFC 8463 keys; brisbane replaced when ed_key != NULL */
static struct ma_dns *
zone_8463(const char *ed_key, size_t ed_len, int ed_fail)
{
	struct ma_dns *d = new_dns();
	struct text k;
	char	p[1200];
	const char *nl;

	if (d == NULL || read_file(path_of(p, sizeof(p),
				   "rfc8463/dns-records.txt"), &k) != 0)
		return (d);
	nl = strchr(k.p, '\n');
	/* line 1: brisbane (ed25519), line 2: test (rsa) */
	if (ed_key != NULL)
		add_txt(d, "brisbane._domainkey.football.example.com", 40,
			ed_key, ed_len);
	else if (ed_fail)
		ma_dns_add_failure(d, "brisbane._domainkey.football.example.com");
	else if (ed_fail == 0 && nl != NULL && ed_len == 0)
		add_name_value_lines(d, k.p, (size_t) (nl - k.p));
	if (nl != NULL)
		add_name_value_lines(d, nl + 1, k.len - (size_t) (nl + 1 - k.p));
	free(k.p);
	return (d);
}

/* suite_hostile - (e) hostile input and edge cases */
static void
suite_hostile(void)
{
	struct ma_dkim_options opt;
	struct text raw, sm, um, m;
	struct outcome o;
	struct ma_dns *d;
	char	p[1200], *buf;
	size_t	f1, i;

	memset(&opt, 0, sizeof(opt));
	if (read_file(path_of(p, sizeof(p), "rfc8463/signed.eml"), &raw) != 0) {
		check(0, "hostile", "no rfc8463/signed.eml");
		return;
	}
	sm = crlf(raw.p, raw.len);
	free(raw.p);
	if (read_file(path_of(p, sizeof(p), "rfc8463/unsigned.eml"), &raw)) {
		check(0, "hostile", "no rfc8463/unsigned.eml");
		free(sm.p);
		return;
	}
	um = crlf(raw.p, raw.len);
	free(raw.p);
	f1 = first_field(&sm);		/* the ed25519 DKIM-Signature */
	d = zone_8463(NULL, 0, 0);

	hostile_run(d, &opt, &um, &o);
	want("unsigned message", &o, "", NULL);
	free_outcome(&o);

	/* 50 copies of a valid signature: only the limit is evaluated */
	buf = malloc(50 * f1);
	for (i = 0; i < 50; i++)
		memcpy(buf + i * f1, sm.p, f1);
	m = join(buf, 50 * f1, &um);
	free(buf);
	hostile_run(d, &opt, &m, &o);
	check(o.n == 50 && count(&o, MA_DKIM_PASS) == MA_LIMIT_DKIM_SIGNATURES_T
	      && count(&o, MA_DKIM_POLICY) == 50 - MA_LIMIT_DKIM_SIGNATURES_T
	      && strcmp(o.sig[49].reason, "not evaluated: limit") == 0
	      && o.queries <= MA_LIMIT_DKIM_SIGNATURES_T, "50 signatures",
	      "%zu results, %zu pass, %zu policy, %u queries", o.n,
	      count(&o, MA_DKIM_PASS), count(&o, MA_DKIM_POLICY), o.queries);
	free_outcome(&o);
	opt.max_signatures = 3;
	hostile_run(d, &opt, &m, &o);
	check(count(&o, MA_DKIM_PASS) == 3 && o.queries <= 3,
	      "50 signatures, max_signatures 3", "%zu pass, %u queries",
	      count(&o, MA_DKIM_PASS), o.queries);
	free_outcome(&o);
	opt.max_signatures = 0;
	free(m.p);

	/* garbage signatures do not hide the good ones */
	{
		static const char g[] =
		    "DKIM-Signature: %%% garbage ;;; =\r\n"
		    "DKIM-Signature: v=1; d=a; d=b\r\n"
		    "DKIM-Signature: \r\n"
		    "DKIM-Signature: v=1; a=rsa-sha256; d=x; s=y; h=from;"
		    " bh=AAAA; b=AAAA; t=200; x=100\r\n"
		    "DKIM-Signature: v=1; a=rsa-md5; d=x; s=y; h=from;"
		    " bh=AAAA; b=AAAA\r\n"
		    "DKIM-Signature: v=2; a=rsa-sha256; d=x; s=y; h=from;"
		    " bh=AAAA; b=AAAA\r\n"
		    "DKIM-Signature: v=1; a=rsa-sha256; d=x; s=y; h=from;"
		    " bh=AAAA; b=!!!!; q=http\r\n"
		    "DKIM-Signature: v=1; a=rsa-sha256; d=x; s=y; h=from;"
		    " bh=AAAA; b=AAAA; l=99999999999999999999999\r\n"
		    "DKIM-Signature: v=1; a=rsa-sha256; d=nonexistent.example;"
		    " s=y; h=from; bh=AAAA; b=AAAA\r\n"
		    "DKIM-Signature: v=1; a=rsa-sha256; d=football.example.com;"
		    " s=test; h=subject; bh=AAAA; b=AAAA\r\n"
		    "DKIM-Signature: v=1; a=ed25519-sha256;"
		    " d=football.example.com; i=@evil.example; s=brisbane;"
		    " h=from; bh=AAAA; b=AAAA\r\n";

		m = join(g, sizeof(g) - 1, &sm);
		hostile_run(d, &opt, &m, &o);
		want("garbage signatures", &o, "neutral neutral neutral neutral"
		     " neutral neutral neutral neutral permerror neutral"
		     " neutral pass pass", "syntax: bad tag name");
		if (o.n == 13) {
			check(strcmp(o.sig[1].reason, "syntax: duplicate tag")
			      == 0, "duplicate tag", "%s", o.sig[1].reason);
			check(strcmp(o.sig[3].reason, "syntax: x= before t=")
			      == 0, "x= before t=", "%s", o.sig[3].reason);
			check(strcmp(o.sig[8].reason, "key not found") == 0,
			      "key not found", "%s", o.sig[8].reason);
		}
		free_outcome(&o);
		free(m.p);
	}

	/* 100 KB header field and NUL bytes */
	buf = malloc(100 * 1024 + 16);
	memcpy(buf, "X-Big: ", 7);
	memset(buf + 7, 'a', 100 * 1024);
	memcpy(buf + 7 + 100 * 1024, "\r\n", 2);
	m = join(buf, 100 * 1024 + 9, &sm);
	hostile_run(d, &opt, &m, &o);
	want("100 KB header field", &o, "pass pass", "ok");
	check(o.st == MA_ERR_LIMIT, "100 KB header field status", "%s",
	      ma_status_str(o.st));
	free_outcome(&o);
	free(m.p);
	memcpy(buf, "DKIM-Signature: v=1; a=", 23);
	m = join(buf, 100 * 1024 + 9, &sm);
	hostile_run(d, &opt, &m, &o);
	want("100 KB DKIM-Signature", &o, "neutral pass pass",
	     "syntax: field too long");
	free_outcome(&o);
	free(m.p);
	free(buf);
	{
		static const char n1[] = "X-Nul: a\0b\r\n"
		    "DKIM-Signature: v=1; a=ed25519-sha256; d=x\0y; s=z\r\n";

		m = join(n1, sizeof(n1) - 1, &sm);
		hostile_run(d, &opt, &m, &o);
		want("NUL bytes in header fields", &o, "neutral pass pass",
		     "syntax: NUL byte in field");
		check(o.st == MA_ERR_SYNTAX, "NUL byte status", "%s",
		      ma_status_str(o.st));
		free_outcome(&o);
		free(m.p);
	}
	ma_dns_free(&d);

	/* key records: garbage, not base64, too large, empty, DNS failure */
	{
		static const char *keys[] = {
			"garbage garbage garbage",
			"v=DKIM1; k=ed25519; p=!!!!notbase64",
			"v=DKIM1; k=rsa; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
			"v=DKIM1; k=ed25519; p=",
			"",
			"v=DKIM1; k=ed25519; h=sha1; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
			"v=DKIM1; k=ed25519; s=chat; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		};
		char	nm[64], big[5001];

		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			d = zone_8463(keys[i], strlen(keys[i]), 0);
			hostile_run(d, &opt, &sm, &o);
			snprintf(nm, sizeof(nm), "bad key record %zu", i);
			want(nm, &o, "permerror pass", NULL);
			free_outcome(&o);
			ma_dns_free(&d);
		}
		memset(big, 'A', sizeof(big) - 1);
		memcpy(big, "v=DKIM1; k=ed25519; p=", 22);
		d = zone_8463(big, sizeof(big) - 1, 0);
		hostile_run(d, &opt, &sm, &o);
		want("key record over 4096 bytes", &o, "permerror pass",
		     "key record too large");
		free_outcome(&o);
		ma_dns_free(&d);
		d = zone_8463(NULL, 0, 1);
		hostile_run(d, &opt, &sm, &o);
		want("DNS failure", &o, "temperror pass", "DNS temporary failure");
		free_outcome(&o);
		ma_dns_free(&d);
		d = zone_8463(NULL, 1, 0);
		hostile_run(d, &opt, &sm, &o);
		want("NXDOMAIN", &o, "permerror pass", "key not found");
		free_outcome(&o);
		ma_dns_free(&d);
	}

	/* budget: one query for the message */
	d = zone_8463(NULL, 0, 0);
	budget_max = 1;
	hostile_run(d, &opt, &sm, &o);
	want("DNS budget of 1", &o, "pass temperror", "ok");
	budget_max = 64;
	free_outcome(&o);

	/* t= in the future, against opt->now and clock_skew */
	opt.now = 1528637909 - 1000;
	hostile_run(d, &opt, &sm, &o);
	want("t= in the future", &o, "neutral neutral",
	     "signature timestamp in the future");
	free_outcome(&o);
	opt.now = 1528637909 - 100;
	hostile_run(d, &opt, &sm, &o);
	want("t= within default skew (300)", &o, "pass pass", "ok");
	free_outcome(&o);
	opt.clock_skew = 10;
	hostile_run(d, &opt, &sm, &o);
	want("t= beyond clock_skew 10", &o, "neutral neutral", NULL);
	free_outcome(&o);
	memset(&opt, 0, sizeof(opt));
	ma_dns_free(&d);

	/* x= expiry against opt->now: mail-auth/005.txt, x=1667930064 */
	if (read_file(path_of(p, sizeof(p), "mail-auth/005.txt"), &raw) == 0) {
		const char *sep = strstr(raw.p, "\n\n");

		d = new_dns();
		if (sep != NULL && d != NULL) {
			add_name_value_lines(d, raw.p, (size_t) (sep - raw.p));
			m = crlf(sep + 2, raw.len - (size_t) (sep + 2 - raw.p));
			opt.now = 1667930064;
			hostile_run(d, &opt, &m, &o);
			want("x= equal to now", &o, "pass", "ok");
			free_outcome(&o);
			opt.now = 1667930065;
			hostile_run(d, &opt, &m, &o);
			want("x= past", &o, "neutral", "signature expired");
			free_outcome(&o);
			opt.now = 0;
			hostile_run(d, &opt, &m, &o);
			want("x= past (real clock)", &o, "neutral",
			     "signature expired");
			free_outcome(&o);
			free(m.p);
		}
		ma_dns_free(&d);
		free(raw.p);
	}
	memset(&opt, 0, sizeof(opt));

	/* RFC 8301 reasons, on corpus files with the corpus DNS */
	d = new_dns();
	if (d != NULL && read_file(path_of(p, sizeof(p),
			"mail-dkim-corpus/FAKE_DNS.dat"), &raw) == 0) {
		add_name_value_lines(d, raw.p, raw.len);
		free(raw.p);
		if (read_file(path_of(p, sizeof(p),
			"mail-dkim-corpus/corpus/goodkey_1.txt"), &raw) == 0) {
			m = crlf(raw.p, raw.len);
			hostile_run(d, &opt, &m, &o);
			want("rsa-sha1 refused by default", &o, "permerror",
			     "rsa-sha1 not accepted (RFC 8301)");
			free_outcome(&o);
			opt.allow_sha1 = 1;
			hostile_run(d, &opt, &m, &o);
			want("512-bit key refused", &o, "permerror",
			     "key too short (512 bits, RFC 8301)");
			check(o.n == 1 && o.sig[0].key_bits == 512,
			      "key_bits reported", "%u",
			      o.n ? o.sig[0].key_bits : 0);
			free_outcome(&o);
			opt.min_key_bits = 512;
			hostile_run(d, &opt, &m, &o);
			want("512-bit key with min_key_bits 512", &o, "pass",
			     "ok");
			free_outcome(&o);
			memset(&opt, 0, sizeof(opt));
			free(m.p);
			free(raw.p);
		}
	}
	ma_dns_free(&d);

	/* call order and empty input */
	{
		struct ma_arena *a = ma_arena_new();
		struct ma_dkim_verify *dv = NULL;
		const struct ma_dkim_sig *sigs;
		size_t	n;
		struct ma_dkim_verifier *v;

		d = new_dns();
		v = new_verifier(d);
		if (a != NULL && v != NULL
		    && ma_dkim_verify_start(v, NULL, NULL, a, &dv) == MA_OK) {
			check(ma_dkim_verify_body(dv, (const unsigned char *)
			      "x", 1) == MA_ERR_INTERNAL, "body before eoh",
			      NULL);
			check(ma_dkim_verify_header(dv, "", 0) == MA_OK
			      && ma_dkim_verify_header(dv, ":", 1) == MA_OK
			      && ma_dkim_verify_header(dv, "DKIM-Signature", 14)
			      == MA_OK && ma_dkim_verify_eoh(dv) == MA_OK
			      && ma_dkim_verify_eom(dv, &sigs, &n) == MA_OK
			      && n == 0, "empty and nameless fields", NULL);
			check(ma_dkim_verify_eom(dv, &sigs, &n)
			      == MA_ERR_INTERNAL, "eom twice", NULL);
		}
		ma_arena_free(&a);	/* frees the DKIM handle */
		ma_dkim_verifier_free(&v);
		ma_dkim_verifier_free(&v);	/* NULL-safe */
		ma_dns_free(&d);
	}
	free(sm.p);
	free(um.p);
}

/* main - run everything, report */
int
main(void)
{
	const char *s = getenv("SHARED_DIR"), *top = getenv("top_srcdir");

	if (s != NULL && *s != 0)
		snprintf(shared, sizeof(shared), "%s", s);
	else if (top != NULL && *top != 0)
		snprintf(shared, sizeof(shared), "%s/../shared", top);
	else
		snprintf(shared, sizeof(shared), "../shared");
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getenv("DKIM_SUITE_DEBUG") != NULL)
		ma_log_set_sink(NULL, NULL, MA_LOG_DEBUG);
	suite_rfc8463();
	suite_mail_auth();
	suite_dkimpy();
	suite_corpus();
	suite_hostile();
	printf("dkim conformance: %d/%d\n", n_pass, n_total);
	return (n_pass == n_total ? 0 : 1);
}
