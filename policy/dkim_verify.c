/*
 * NAME
 *	dkim_verify - DKIM signature verification on libopendkim
 * SUMMARY
 *	Every DKIM-Signature of a message gets an RFC 8601 result and a
 *	short reason; keys come through our resolver (dns.h).
 * SYNOPSIS
 *	#include <mailauth/dkim.h>
 * DESCRIPTION
 *	ma_dkim_verifier_new() makes the one DKIM_LIB shared by all
 *	messages, with our key-lookup and prescreen callbacks installed.
 *	Per message: ma_dkim_verify_start(), ma_dkim_verify_header() per
 *	field, ma_dkim_verify_eoh(), ma_dkim_verify_body() per chunk,
 *	ma_dkim_verify_eom().
 *
 *	We parse each DKIM-Signature tag-list ourselves (RFC 6376 3.2,
 *	dkim_key.c) and decide what libopendkim 2.11 gets wrong or cannot be
 *	told per message: v= must be 1 (3.5); rsa-sha1 is refused unless
 *	allow_sha1 (RFC 8301 3.1); t= in the future and x= in the past are
 *	judged against opt->now (the library reads the real clock, and its
 *	DKIM_OPTS_FIXEDTIME is for signing only, so its clock drift is set out
 *	of the way); x= < t= is invalid; q= must offer dns/txt. Those we refuse,
 *	and those past max_signatures, are marked ignored in the prescreen
 *	callback so they cost no DNS query. libopendkim does the
 *	canonicalization, hashing, key-record checks and cryptography
 *	(rsa-sha256, rsa-sha1, ed25519-sha256); afterwards RSA keys under
 *	min_key_bits are refused (RFC 8301 3.2). Our key lookup callback fetches
 *	the key record through dns.h and hands it to dkim_key.c, which checks k=
 *	against a= and g= (RFC 4871) and rewrites a bare RSAPublicKey p= for
 *	libopendkim. libopendkim fetches one key per d=/s= pair per message;
 *	later signatures with the pair share what our lookup saw.
 *
 *	At eoh the library gets one more field, LIB_GUARD_FIELD, after the
 *	message's own: libopendkim 2.11 (dkim_canon_selecthdrs) writes one
 *	pointer past the end of an array of one slot per field when an h=
 *	list names every field it holds and then one more, which corrupts
 *	the heap (glibc aborts; a remote crash). The guard's name holds a
 *	space, which no h= entry can (the library deletes white space from
 *	tag values), so no h= list selects it, no hash covers it, and the
 *	array always has a slot to spare. See doc/robustness.md.
 *
 *	Results (RFC 8601 2.7.1), first match wins:
 *	neutral "syntax: ..." (tag-list, v= missing or not 1, missing or
 *	empty required tags, unknown algorithm, bad t=/x=, x= before t=,
 *	q= without dns/txt; from libopendkim: c=, l=, i= outside d=, h=
 *	without From); permerror "rsa-sha1 not accepted (RFC 8301)";
 *	neutral "signature expired", "signature timestamp in the future"
 *	(now: opt->now or the clock; clock_skew, 0 meaning 300 s, for t=);
 *	policy "not evaluated: limit" (signatures that passed the checks
 *	above beyond max_signatures: no DNS, no crypto); temperror "DNS
 *	temporary failure" (SERVFAIL, timeout, budget spent); permerror
 *	"key not found" (NXDOMAIN, NODATA), "key record too large",
 *	"key k= does not match a=", "key g= does not match i= (RFC 4871)",
 *	"key too short (N bits, RFC 8301)" (RSA under min_key_bits, 0
 *	meaning 1024), "key revoked", "key syntax: ..." and the other key
 *	errors of libopendkim; fail "signature mismatch", "body hash
 *	mismatch"; pass "ok".
 *	A header field not fed to libopendkim (NUL byte, over
 *	MA_LIMIT_HEADER_FIELD_BYTES, past MA_LIMIT_HEADER_FIELDS) that is a
 *	DKIM-Signature gets neutral "syntax: ..."; other signatures that
 *	cover such a field will fail.
 * MEMORY
 *	Results, reasons and copies of tag values live in the message
 *	arena. The DKIM handle is malloc'ed by libopendkim and freed by a
 *	cleanup registered on the arena.
 * LIMITS
 *	MA_LIMIT_DKIM_SIGNATURES (or opt->max_signatures) signatures
 *	evaluated; MA_LIMIT_HEADER_FIELDS fields and
 *	MA_LIMIT_HEADER_FIELD_BYTES per field fed; MA_LIMIT_DKIM_KEY_RECORD
 *	bytes of key record (dkim_key.c); the library's own clock checks
 *	are pushed LIB_CLOCK_DRIFT (20 years: its arithmetic overflows far
 *	beyond) out of the way.
 * DIAGNOSTICS
 *	MA_OK whenever the call did its job, whatever the signatures'
 *	results. ma_dkim_verify_header: MA_ERR_LIMIT (field too long or
 *	too many fields) or MA_ERR_SYNTAX (NUL byte): that field was not
 *	fed, verification goes on. MA_ERR_NOMEM; MA_ERR_INTERNAL for calls
 *	out of order. libopendkim statuses are logged at debug level only.
 * THREADS
 *	The verifier is read-only once built and shared by threads; each
 *	ma_dkim_verify is used by one thread at a time.
 * STANDARDS
 *	RFC 6376 (DKIM), RFC 8301 (algorithm and key size update),
 *	RFC 8463 (Ed25519), RFC 8601 section 2.7.1 (result words).
 * SEE ALSO
 *	dkim_key.c, dkim_int.h, dns(3), arena(3), libopendkim
 *	dkim_set_key_lookup(3).
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <dkim.h>

#include <mailauth/arena.h>
#include <mailauth/dkim.h>
#include <mailauth/dns.h>
#include <mailauth/log.h>

#include "dkim_int.h"
#include "ma_limits.h"

#define DEFAULT_CLOCK_SKEW	300	/* seconds; as libopendkim's default */
#define LIB_CLOCK_DRIFT	(20ULL * 365 * 86400)	/* libopendkim's own t=/x=
						 * checks out of the way
						 * (200 years overflowed) */
#define KEY_NAME_MAX	512	/* selector._domainkey.domain */
/* a field no h= can select (see DESCRIPTION); fed to libopendkim last */
#define LIB_GUARD_FIELD	"Mailauth Guard: not nameable in h="

struct ma_dkim_verifier {
	DKIM_LIB *lib;
	struct ma_dns *dns;
};

struct ma_dkim_verify {
	struct ma_dkim_verifier *v;
	struct ma_dkim_options opt;
	struct ma_dns_budget *budget;
	struct ma_arena *arena;
	DKIM   *dkim;
	int	state;			/* ST_* */
	int	lib_dead;		/* libopendkim handle unusable */
	const char *lib_why;		/* static text when lib_dead */
	enum ma_dkim_result lib_result;	/* result then */
	size_t	n_fields;
	struct ma_dkim_dsig *sigs;
	size_t	n_sigs;
	size_t	cap_sigs;
	size_t	n_evaluate;
};

enum { ST_HEADER, ST_BODY, ST_DONE };

/* ma_dkim_result_str - RFC 8601 result word */
const char *
ma_dkim_result_str(enum ma_dkim_result r)
{
	switch (r) {
	case MA_DKIM_NONE:
		return ("none");
	case MA_DKIM_PASS:
		return ("pass");
	case MA_DKIM_FAIL:
		return ("fail");
	case MA_DKIM_NEUTRAL:
		return ("neutral");
	case MA_DKIM_POLICY:
		return ("policy");
	case MA_DKIM_TEMPERROR:
		return ("temperror");
	case MA_DKIM_PERMERROR:
		return ("permerror");
	}
	return ("permerror");
}

/* decide - set a result before (or instead of) the library */
static void
decide(struct ma_dkim_dsig *ds, enum ma_dkim_result r, const char *why)
{
	ds->decided = 1;
	ds->out.result = r;
	ds->out.reason = why;
}

/* precheck - our checks of one signature (see DESCRIPTION) */
static void
precheck(struct ma_dkim_verify *dv, struct ma_dkim_dsig *ds,
	 const struct ma_dkim_taglist *tl)
{
	const struct ma_dkim_options *o = &dv->opt;
	long long t = -1, x = -1, now;
	unsigned skew = o->clock_skew ? o->clock_skew : DEFAULT_CLOCK_SKEW;

	if (tl->v == NULL)
		return (decide(ds, MA_DKIM_NEUTRAL, "syntax: v= missing"));
	if (strcmp(tl->v, "1") != 0)
		return (decide(ds, MA_DKIM_NEUTRAL, "syntax: v= is not 1"));
	if (tl->a == NULL || tl->b == NULL || tl->bh == NULL || tl->d == NULL
	    || tl->h == NULL || tl->s == NULL)
		return (decide(ds, MA_DKIM_NEUTRAL,
			       "syntax: required tag missing"));
	if (*ds->out.b == 0 || tl->bh[0] == 0 || *ds->out.domain == 0
	    || tl->s[0] == 0)
		return (decide(ds, MA_DKIM_NEUTRAL, "syntax: empty tag"));
	if (strcasecmp(tl->a, "rsa-sha256") != 0
	    && strcasecmp(tl->a, "ed25519-sha256") != 0
	    && strcasecmp(tl->a, "rsa-sha1") != 0)
		return (decide(ds, MA_DKIM_NEUTRAL,
			       "syntax: unknown algorithm"));
	if (tl->t != NULL && (t = ma_dkim_parse_time(tl->t)) < 0)
		return (decide(ds, MA_DKIM_NEUTRAL, "syntax: bad t="));
	if (tl->x != NULL && (x = ma_dkim_parse_time(tl->x)) < 0)
		return (decide(ds, MA_DKIM_NEUTRAL, "syntax: bad x="));
	if (t >= 0 && x >= 0 && x < t)
		return (decide(ds, MA_DKIM_NEUTRAL, "syntax: x= before t="));
	if (tl->q != NULL && !ma_dkim_has_dns_txt(tl->q))
		return (decide(ds, MA_DKIM_NEUTRAL,
			       "syntax: q= lacks dns/txt"));
	if (strcasecmp(tl->a, "rsa-sha1") == 0 && !o->allow_sha1)
		return (decide(ds, MA_DKIM_PERMERROR,
			       "rsa-sha1 not accepted (RFC 8301)"));
	now = o->now ? (long long) o->now : (long long) time(NULL);
	if (x >= 0 && x < now)
		return (decide(ds, MA_DKIM_NEUTRAL, "signature expired"));
	if (t >= 0 && t > now + (long long) skew)
		return (decide(ds, MA_DKIM_NEUTRAL,
			       "signature timestamp in the future"));
}

/* lower - lower-case a string in place */
static char *
lower(char *s)
{
	for (char *p = s; *p; p++)
		*p = (char) tolower((unsigned char) *p);
	return (s);
}

/* new_sig - append one entry for a DKIM-Signature field */
static struct ma_dkim_dsig *
new_sig(struct ma_dkim_verify *dv)
{
	struct ma_dkim_dsig *ns;
	size_t	cap;

	if (dv->n_sigs == dv->cap_sigs) {
		cap = dv->cap_sigs ? dv->cap_sigs * 2 : 4;
		if ((ns = ma_arena_calloc(dv->arena, cap, sizeof(*ns))) == NULL)
			return (NULL);
		if (dv->n_sigs > 0)
			memcpy(ns, dv->sigs, dv->n_sigs * sizeof(*ns));
		dv->sigs = ns;
		dv->cap_sigs = cap;
	}
	ns = &dv->sigs[dv->n_sigs++];
	memset(ns, 0, sizeof(*ns));
	ns->out.domain = ns->out.selector = ns->out.algorithm = "";
	ns->out.b = "";
	ns->out.reason = "";
	return (ns);
}

/* add_sig - record one DKIM-Signature field (value: vlen bytes at val) */
static enum ma_status
add_sig(struct ma_dkim_verify *dv, const char *val, size_t vlen,
	int fed, const char *unfed_why)
{
	struct ma_dkim_dsig *ds;
	struct ma_dkim_taglist tl;
	const char *why;
	size_t	n_unknown;

	if ((ds = new_sig(dv)) == NULL)
		return (MA_ERR_NOMEM);
	ds->fed = fed;
	if (!fed) {
		decide(ds, MA_DKIM_NEUTRAL, unfed_why);
		return (MA_OK);
	}
	why = ma_dkim_parse_taglist(dv->arena, val, vlen, &tl, &n_unknown);
	if (why != NULL && *why == 0)
		return (MA_ERR_NOMEM);
	if (tl.d != NULL)
		ds->out.domain = lower((char *) tl.d);
	if (tl.s != NULL)
		ds->out.selector = tl.s;
	if (tl.a != NULL)
		ds->out.algorithm = tl.a;
	ds->out.identity = tl.i;
	if (tl.b != NULL
	    && (ds->out.b = ma_dkim_squeeze(dv->arena, tl.b)) == NULL)
		return (MA_ERR_NOMEM);
	if (why != NULL)
		decide(ds, MA_DKIM_NEUTRAL, why);
	else
		precheck(dv, ds, &tl);
	return (MA_OK);
}

/* is_dkim_sig_field - field name is DKIM-Signature; *vp the value */
static int
is_dkim_sig_field(const char *p, size_t len, size_t *voff)
{
	static const char name[] = "dkim-signature";
	size_t	n = sizeof(name) - 1, i;

	if (len < n || strncasecmp(p, name, n) != 0)
		return (0);
	for (i = n; i < len && (p[i] == ' ' || p[i] == '\t'); i++)
		continue;
	if (i >= len || p[i] != ':')
		return (0);
	*voff = i + 1;
	return (1);
}

/* find_sig - our entry for a library signature handle */
static struct ma_dkim_dsig *
find_sig(struct ma_dkim_verify *dv, DKIM_SIGINFO *si)
{
	for (size_t i = 0; i < dv->n_sigs; i++)
		if (dv->sigs[i].si == si)
			return (&dv->sigs[i]);
	return (NULL);
}

/* b_equal - library's b= (may be NULL) against ours, ignoring FWS */
static int
b_equal(const unsigned char *lib_b, const char *ours)
{
	const unsigned char *p = lib_b;
	const char *q = ours;

	if (p == NULL)
		return (*q == 0);
	for (;;) {
		while (ma_dkim_is_fws(*p))
			p++;
		if (*p == 0 || *q == 0)
			return (*p == 0 && *q == 0);
		if ((unsigned char) *q != *p)
			return (0);
		p++, q++;
	}
}

/*
 * prescreen - libopendkim callback at eoh: pair its handles with our
 * entries (header order, checked by b=) and ignore what we decided or
 * what is past the limit, so those cost no DNS query.
 */
static DKIM_CBSTAT
prescreen(DKIM *dkim, DKIM_SIGINFO **sigs, int nsigs)
{
	struct ma_dkim_verify *dv = dkim_get_user_context(dkim);
	size_t	cursor = 0, j, max;
	struct ma_dkim_dsig *ds;

	if (dv == NULL)
		return (DKIM_CBSTAT_CONTINUE);
	max = dv->opt.max_signatures ? dv->opt.max_signatures
	    : MA_LIMIT_DKIM_SIGNATURES;
	for (int k = 0; k < nsigs; k++) {
		unsigned char *lb = dkim_sig_gettagvalue(sigs[k], 0,
						(unsigned char *) "b");

		ds = NULL;
		for (j = cursor; j < dv->n_sigs; j++) {
			if (dv->sigs[j].fed && dv->sigs[j].si == NULL
			    && b_equal(lb, dv->sigs[j].out.b)) {
				ds = &dv->sigs[j];
				cursor = j + 1;
				break;
			}
		}
		if (ds == NULL || ds->decided) {
			dkim_sig_ignore(sigs[k]);
			if (ds != NULL)
				ds->si = sigs[k];
			continue;
		}
		ds->si = sigs[k];
		if (dv->n_evaluate >= max) {
			decide(ds, MA_DKIM_POLICY, "not evaluated: limit");
			dkim_sig_ignore(sigs[k]);
			continue;
		}
		ds->evaluate = 1;
		dv->n_evaluate++;
	}
	return (DKIM_CBSTAT_CONTINUE);
}

/*
 * key_lookup - libopendkim callback: the key record through our
 * resolver, charged to the message's budget, then checked and handed
 * over by ma_dkim_key_record(). Failures are kept in our entry and
 * reported to the library as "not found" so that it goes on with the
 * other signatures.
 */
static DKIM_CBSTAT
key_lookup(DKIM *dkim, DKIM_SIGINFO *si, unsigned char *buf, size_t buflen)
{
	struct ma_dkim_verify *dv = dkim_get_user_context(dkim);
	struct ma_dns_answer *ans = NULL;
	struct ma_dkim_dsig *ds;
	char	name[KEY_NAME_MAX];
	const struct ma_dns_rr *rr;
	enum ma_status st;
	int	n;

	if (dv == NULL || (ds = find_sig(dv, si)) == NULL || !ds->evaluate)
		return (DKIM_CBSTAT_NOTFOUND);
	n = snprintf(name, sizeof(name), "%s._domainkey.%s",
		     ds->out.selector, ds->out.domain);
	if (n < 0 || (size_t) n >= sizeof(name)) {
		ds->key = MA_DKIM_KEY_NOTFOUND;
		return (DKIM_CBSTAT_NOTFOUND);
	}
	st = ma_dns_query(dv->v->dns, dv->budget, dv->arena, name,
			  MA_DNS_TXT, &ans);
	if ((st != MA_OK && st != MA_ERR_SYNTAX) || ans == NULL) {
		ds->key = MA_DKIM_KEY_TEMP;
		return (DKIM_CBSTAT_NOTFOUND);
	}
	switch (ans->rcode) {
	case MA_DNS_ANSWER:
		break;
	case MA_DNS_NODATA:
	case MA_DNS_NXDOMAIN:
		ds->key = MA_DKIM_KEY_NOTFOUND;
		return (DKIM_CBSTAT_NOTFOUND);
	default:
		ds->key = MA_DKIM_KEY_TEMP;
		return (DKIM_CBSTAT_NOTFOUND);
	}
	if (ans->n_rr == 0) {
		ds->key = MA_DKIM_KEY_NOTFOUND;
		return (DKIM_CBSTAT_NOTFOUND);
	}
	rr = &ans->rr[0];		/* RFC 6376 3.6.2.2: may choose one */
	ds->key = ma_dkim_key_record(dv->arena, ds, rr->data, rr->len, buf,
				     buflen);
	return (ds->key == MA_DKIM_KEY_FOUND ? DKIM_CBSTAT_CONTINUE
		: DKIM_CBSTAT_NOTFOUND);
}

/* ma_dkim_verifier_new - shared library handle */
enum ma_status
ma_dkim_verifier_new(struct ma_dns *dns, struct ma_dkim_verifier **out,
		     char *err, size_t errlen)
{
	struct ma_dkim_verifier *v;
	unsigned int flags = DKIM_LIBFLAGS_BADSIGHANDLES;
	uint64_t drift = LIB_CLOCK_DRIFT;
	unsigned int minbits = 1;	/* we apply min_key_bits ourselves */

	*out = NULL;
	if (dns == NULL) {
		snprintf(err, errlen, "dkim: no resolver");
		return (MA_ERR_INTERNAL);
	}
	if ((v = calloc(1, sizeof(*v))) == NULL) {
		snprintf(err, errlen, "dkim: out of memory");
		return (MA_ERR_NOMEM);
	}
	v->dns = dns;
	if ((v->lib = dkim_init(NULL, NULL)) == NULL) {
		free(v);
		snprintf(err, errlen, "dkim: dkim_init failed");
		return (MA_ERR_INTERNAL);
	}
	if (dkim_options(v->lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags,
			 sizeof(flags)) != DKIM_STAT_OK
	    || dkim_options(v->lib, DKIM_OP_SETOPT, DKIM_OPTS_CLOCKDRIFT,
			    &drift, sizeof(drift)) != DKIM_STAT_OK
	    || dkim_options(v->lib, DKIM_OP_SETOPT, DKIM_OPTS_MINKEYBITS,
			    &minbits, sizeof(minbits)) != DKIM_STAT_OK
	    || dkim_set_key_lookup(v->lib, key_lookup) != DKIM_STAT_OK
	    || dkim_set_prescreen(v->lib, prescreen) != DKIM_STAT_OK) {
		dkim_close(v->lib);
		free(v);
		snprintf(err, errlen, "dkim: setting library options failed");
		return (MA_ERR_INTERNAL);
	}
	*out = v;
	return (MA_OK);
}

/* ma_dkim_verifier_free - destroy */
void
ma_dkim_verifier_free(struct ma_dkim_verifier **vp)
{
	if (vp == NULL || *vp == NULL)
		return;
	dkim_close((*vp)->lib);
	free(*vp);
	*vp = NULL;
}

/* verify_cleanup - arena cleanup: free the DKIM handle */
static void
verify_cleanup(void *arg)
{
	struct ma_dkim_verify *dv = arg;

	if (dv->dkim != NULL)
		dkim_free(dv->dkim);
	dv->dkim = NULL;
}

/* ma_dkim_verify_start - per-message verification */
enum ma_status
ma_dkim_verify_start(struct ma_dkim_verifier *v,
		     const struct ma_dkim_options *opt,
		     struct ma_dns_budget *budget, struct ma_arena *arena,
		     struct ma_dkim_verify **out)
{
	struct ma_dkim_verify *dv;
	DKIM_STAT st = DKIM_STAT_OK;

	*out = NULL;
	if (v == NULL || arena == NULL)
		return (MA_ERR_INTERNAL);
	if ((dv = ma_arena_alloc(arena, sizeof(*dv))) == NULL)
		return (MA_ERR_NOMEM);
	dv->v = v;
	if (opt != NULL)
		dv->opt = *opt;
	else
		dv->opt.min_key_bits = MA_DKIM_MIN_KEY_BITS;
	dv->budget = budget;
	dv->arena = arena;
	dv->dkim = dkim_verify(v->lib, (const unsigned char *) "mailauth",
			       NULL, &st);
	if (dv->dkim == NULL)
		return (st == DKIM_STAT_NORESOURCE ? MA_ERR_NOMEM
			: MA_ERR_INTERNAL);
	if (ma_arena_cleanup(arena, verify_cleanup, dv) != 0) {
		dkim_free(dv->dkim);
		return (MA_ERR_NOMEM);
	}
	dkim_set_user_context(dv->dkim, dv);
	*out = dv;
	return (MA_OK);
}

/* ma_dkim_verify_header - one header field "Name:value" */
enum ma_status
ma_dkim_verify_header(struct ma_dkim_verify *dv, const char *field,
		      size_t len)
{
	size_t	voff = 0;
	int	is_sig, fed = 1;
	const char *why = NULL;
	enum ma_status st = MA_OK, ast;
	DKIM_STAT ds;

	if (dv == NULL || dv->state != ST_HEADER || (field == NULL && len))
		return (MA_ERR_INTERNAL);
	is_sig = is_dkim_sig_field(field, len, &voff);
	if (dv->n_fields >= MA_LIMIT_HEADER_FIELDS) {
		fed = 0, why = "syntax: too many header fields";
		st = MA_ERR_LIMIT;
	} else if (len > MA_LIMIT_HEADER_FIELD_BYTES) {
		fed = 0, why = "syntax: field too long";
		st = MA_ERR_LIMIT;
	} else if (memchr(field, 0, len) != NULL) {
		fed = 0, why = "syntax: NUL byte in field";
		st = MA_ERR_SYNTAX;
	}
	if (is_sig && dv->n_sigs < MA_LIMIT_HEADER_FIELDS) {
		ast = add_sig(dv, field + voff, len - voff, fed, why);
		if (ast != MA_OK)
			return (ast);
	}
	if (!fed)
		return (st);
	dv->n_fields++;
	if (dv->lib_dead || len == 0)
		return (MA_OK);
	ds = dkim_header(dv->dkim, (unsigned char *) field, len);
	if (ds != DKIM_STAT_OK && ma_log_enabled(MA_LOG_DEBUG))
		ma_log(MA_LOG_DEBUG, "dkim: header field refused: %s",
		       dkim_getresultstr(ds));
	/* A field libopendkim refuses simply is not covered. */
	return (MA_OK);
}

/* ma_dkim_verify_eoh - end of header: key lookups happen here */
enum ma_status
ma_dkim_verify_eoh(struct ma_dkim_verify *dv)
{
	DKIM_STAT ds;

	if (dv == NULL || dv->state != ST_HEADER)
		return (MA_ERR_INTERNAL);
	dv->state = ST_BODY;
	if (dv->n_sigs == 0 || dv->lib_dead)
		return (MA_OK);
	/* the guard field first: dkim_eoh() must never run without it */
	ds = dkim_header(dv->dkim, (unsigned char *) LIB_GUARD_FIELD,
			 sizeof(LIB_GUARD_FIELD) - 1);
	if (ds != DKIM_STAT_OK) {
		dv->lib_dead = 1;
		dv->lib_why = "verification error";
		dv->lib_result = MA_DKIM_TEMPERROR;
		return (ds == DKIM_STAT_NORESOURCE ? MA_ERR_NOMEM : MA_OK);
	}
	ds = dkim_eoh(dv->dkim);
	switch (ds) {
	case DKIM_STAT_OK:
	case DKIM_STAT_NOSIG:
	case DKIM_STAT_NOKEY:
	case DKIM_STAT_BADSIG:
	case DKIM_STAT_REVOKED:
	case DKIM_STAT_CANTVRFY:
	case DKIM_STAT_KEYFAIL:
		break;
	case DKIM_STAT_NORESOURCE:
	case DKIM_STAT_INTERNAL:
		dv->lib_dead = 1;
		dv->lib_why = "verification error";
		dv->lib_result = MA_DKIM_TEMPERROR;
		return (ds == DKIM_STAT_NORESOURCE ? MA_ERR_NOMEM
			: MA_OK);
	default:
		dv->lib_dead = 1;
		dv->lib_why = "syntax: message not verifiable";
		dv->lib_result = MA_DKIM_PERMERROR;
		break;
	}
	if (ma_log_enabled(MA_LOG_DEBUG))
		ma_log(MA_LOG_DEBUG, "dkim: eoh: %s", dkim_getresultstr(ds));
	return (MA_OK);
}

/* ma_dkim_verify_body - body bytes, CRLF line ends */
enum ma_status
ma_dkim_verify_body(struct ma_dkim_verify *dv, const unsigned char *p,
		    size_t len)
{
	DKIM_STAT ds;

	if (dv == NULL || dv->state != ST_BODY || (p == NULL && len))
		return (MA_ERR_INTERNAL);
	if (dv->n_evaluate == 0 || dv->lib_dead || len == 0)
		return (MA_OK);
	ds = dkim_body(dv->dkim, (unsigned char *) p, len);
	if (ds != DKIM_STAT_OK) {
		dv->lib_dead = 1;
		dv->lib_why = "verification error";
		dv->lib_result = MA_DKIM_TEMPERROR;
	}
	return (MA_OK);
}

/* sigerror_result - map a libopendkim signature error */
static void
sigerror_result(struct ma_dkim_dsig *ds, DKIM_SIGERROR e)
{
	enum ma_dkim_result r = MA_DKIM_PERMERROR;
	const char *why;

	switch (e) {
	case DKIM_SIGERROR_BADSIG:
		r = MA_DKIM_FAIL, why = "signature mismatch";
		break;
	case DKIM_SIGERROR_NOKEY:
		why = "key not found";
		break;
	case DKIM_SIGERROR_KEYREVOKED:
		why = "key revoked";
		break;
	case DKIM_SIGERROR_KEYTOOSMALL:
		why = "key too short (RFC 8301)";
		break;
	case DKIM_SIGERROR_KEYDECODE:
		why = "key syntax: p= does not decode";
		break;
	case DKIM_SIGERROR_KEYVERSION:
		why = "key syntax: v= is not DKIM1";
		break;
	case DKIM_SIGERROR_KEYUNKNOWNHASH:
	case DKIM_SIGERROR_KEYHASHMISMATCH:
		why = "key h= does not allow the algorithm";
		break;
	case DKIM_SIGERROR_NOTEMAILKEY:
		why = "key s= is not email";
		break;
	case DKIM_SIGERROR_KEYTYPEMISSING:
	case DKIM_SIGERROR_KEYTYPEUNKNOWN:
		why = "key k= unknown or mismatched";
		break;
	case DKIM_SIGERROR_DNSSYNTAX:
	case DKIM_SIGERROR_KEYFAIL:
		why = "key syntax: bad record";
		break;
	case DKIM_SIGERROR_MULTIREPLY:
		why = "key: multiple records";
		break;
	case DKIM_SIGERROR_SUBDOMAIN:
		why = "key t=s forbids the i= subdomain";
		break;
	case DKIM_SIGERROR_DOMAIN:
		r = MA_DKIM_NEUTRAL, why = "syntax: i= not within d=";
		break;
	case DKIM_SIGERROR_INVALID_H:
	case DKIM_SIGERROR_MISSING_H:
	case DKIM_SIGERROR_EMPTY_H:
		r = MA_DKIM_NEUTRAL, why = "syntax: h= invalid or lacks From";
		break;
	case DKIM_SIGERROR_INVALID_HC:
	case DKIM_SIGERROR_INVALID_BC:
		r = MA_DKIM_NEUTRAL, why = "syntax: unknown c=";
		break;
	case DKIM_SIGERROR_INVALID_L:
	case DKIM_SIGERROR_TOOLARGE_L:
		r = MA_DKIM_NEUTRAL, why = "syntax: bad l=";
		break;
	case DKIM_SIGERROR_EXPIRED:
		r = MA_DKIM_NEUTRAL, why = "signature expired";
		break;
	case DKIM_SIGERROR_FUTURE:
		r = MA_DKIM_NEUTRAL, why = "signature timestamp in the future";
		break;
	case DKIM_SIGERROR_TIMESTAMPS:
		r = MA_DKIM_NEUTRAL, why = "syntax: x= before t=";
		break;
	case DKIM_SIGERROR_CORRUPT_B:
	case DKIM_SIGERROR_CORRUPT_BH:
		r = MA_DKIM_NEUTRAL, why = "syntax: b= or bh= corrupt";
		break;
	default:
		r = MA_DKIM_NEUTRAL, why = "syntax: signature refused";
		break;
	}
	ds->out.result = r;
	ds->out.reason = why;
}

/*
 * sibling_key - libopendkim fetches a key once per d=/s= pair: take
 * what our lookup saw for an earlier signature with the same pair.
 */
static void
sibling_key(struct ma_dkim_verify *dv, struct ma_dkim_dsig *ds)
{
	for (size_t i = 0; i < dv->n_sigs; i++) {
		struct ma_dkim_dsig *o = &dv->sigs[i];

		if (o != ds && o->key != MA_DKIM_KEY_UNTRIED
		    && strcasecmp(o->out.domain, ds->out.domain) == 0
		    && strcasecmp(o->out.selector, ds->out.selector) == 0) {
			ds->key = o->key;
			ds->key_rsa = o->key_rsa;
			ds->key_k_mismatch = o->key == MA_DKIM_KEY_FOUND
			    && o->key_rsa != ma_dkim_sig_is_rsa(ds);
			ds->key_g = o->key_g;
			return;
		}
	}
}

/* finish_sig - result of one evaluated signature after dkim_eom() */
static void
finish_sig(struct ma_dkim_verify *dv, struct ma_dkim_dsig *ds)
{
	DKIM_SIGINFO *si = ds->si;
	unsigned int bits = 0, flags;
	DKIM_SIGERROR e;
	int	is_rsa = strncasecmp(ds->out.algorithm, "rsa-", 4) == 0;
	unsigned min_bits = dv->opt.min_key_bits ? dv->opt.min_key_bits
	    : MA_DKIM_MIN_KEY_BITS;

	if (ds->key == MA_DKIM_KEY_UNTRIED)
		sibling_key(dv, ds);
	switch (ds->key) {
	case MA_DKIM_KEY_TEMP:
		ds->out.result = MA_DKIM_TEMPERROR;
		ds->out.reason = "DNS temporary failure";
		return;
	case MA_DKIM_KEY_NOTFOUND:
		ds->out.result = MA_DKIM_PERMERROR;
		ds->out.reason = "key not found";
		return;
	case MA_DKIM_KEY_TOOBIG:
		ds->out.result = MA_DKIM_PERMERROR;
		ds->out.reason = "key record too large";
		return;
	case MA_DKIM_KEY_SYNTAX:
		ds->out.result = MA_DKIM_PERMERROR;
		ds->out.reason = "key syntax: NUL byte";
		return;
	default:
		break;
	}
	if (ma_log_enabled(MA_LOG_DEBUG))
		ma_log(MA_LOG_DEBUG, "dkim: sig flags %#x error %d bh %d",
		       dkim_sig_getflags(si), (int) dkim_sig_geterror(si),
		       dkim_sig_getbh(si));
	if (dkim_sig_getkeysize(si, &bits) == DKIM_STAT_OK)
		ds->out.key_bits = bits;
	if (ds->key_k_mismatch) {
		ds->out.result = MA_DKIM_PERMERROR;
		ds->out.reason = "key k= does not match a=";
		return;
	}
	if (ds->key_g != NULL
	    && !ma_dkim_g_matches(ds->key_g, ds->out.identity)) {
		ds->out.result = MA_DKIM_PERMERROR;
		ds->out.reason = "key g= does not match i= (RFC 4871)";
		return;
	}
	flags = dkim_sig_getflags(si);
	e = dkim_sig_geterror(si);
	if (is_rsa && bits > 0 && bits < min_bits) {
		ds->out.result = MA_DKIM_PERMERROR;
		ds->out.reason = ma_arena_printf(dv->arena,
		    "key too short (%u bits, RFC 8301)", bits);
		if (ds->out.reason == NULL)
			ds->out.reason = "key too short (RFC 8301)";
		return;
	}
	if (e != DKIM_SIGERROR_OK && e != DKIM_SIGERROR_UNKNOWN) {
		sigerror_result(ds, e);
		return;
	}
	if ((flags & DKIM_SIGFLAG_PROCESSED) == 0) {
		ds->out.result = MA_DKIM_TEMPERROR;
		ds->out.reason = "not processed";
		return;
	}
	if ((flags & DKIM_SIGFLAG_PASSED) == 0) {
		sigerror_result(ds, e == DKIM_SIGERROR_OK
				? DKIM_SIGERROR_BADSIG : e);
		return;
	}
	if (dkim_sig_getbh(si) != DKIM_SIGBH_MATCH) {
		ds->out.result = MA_DKIM_FAIL;
		ds->out.reason = "body hash mismatch";
		return;
	}
	ds->out.result = MA_DKIM_PASS;
	ds->out.reason = "ok";
}

/* ma_dkim_verify_eom - finish; results in header order */
enum ma_status
ma_dkim_verify_eom(struct ma_dkim_verify *dv,
		   const struct ma_dkim_sig **sigs_out, size_t *n_out)
{
	struct ma_dkim_sig *res;
	DKIM_STAT st;
	size_t	i;

	*sigs_out = NULL;
	*n_out = 0;
	if (dv == NULL || dv->state != ST_BODY)
		return (MA_ERR_INTERNAL);
	dv->state = ST_DONE;
	if (dv->n_sigs == 0)
		return (MA_OK);
	if (dv->n_evaluate > 0 && !dv->lib_dead) {
		st = dkim_eom(dv->dkim, NULL);
		if (st == DKIM_STAT_INVALID || st == DKIM_STAT_INTERNAL
		    || st == DKIM_STAT_NORESOURCE) {
			dv->lib_dead = 1;
			dv->lib_why = "verification error";
			dv->lib_result = MA_DKIM_TEMPERROR;
		}
		if (ma_log_enabled(MA_LOG_DEBUG))
			ma_log(MA_LOG_DEBUG, "dkim: eom: %s",
			       dkim_getresultstr(st));
	}
	if ((res = ma_arena_calloc(dv->arena, dv->n_sigs, sizeof(*res)))
	    == NULL)
		return (MA_ERR_NOMEM);
	for (i = 0; i < dv->n_sigs; i++) {
		struct ma_dkim_dsig *ds = &dv->sigs[i];

		if (!ds->decided) {
			if (ds->si == NULL) {
				/* libopendkim produced no handle for it */
				ds->out.result = MA_DKIM_NEUTRAL;
				ds->out.reason = dv->lib_why ? dv->lib_why
				    : "syntax: signature refused";
			} else if (dv->lib_dead) {
				ds->out.result = dv->lib_result;
				ds->out.reason = dv->lib_why;
			} else {
				finish_sig(dv, ds);
			}
		}
		res[i] = ds->out;
	}
	*sigs_out = res;
	*n_out = dv->n_sigs;
	return (MA_OK);
}
