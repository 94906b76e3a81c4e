/*
 * NAME
 *	spf - SPF check_host() through libspf2 on our resolver
 * SUMMARY
 *	libspf2 evaluates; our DNS layer feeds it checked, macro-free
 *	records, counts lookups, and answers from ma_dns_query().
 * SYNOPSIS
 *	#include <mailauth/spf.h>
 * DESCRIPTION
 *	ma_spf_check() builds one SPF_server_t per evaluation around our
 *	own SPF_dns_server_t whose hook is the evaluation state, and runs
 *	SPF_server_get_record() + SPF_record_interpret() itself (never
 *	SPF_request_query_mailfrom(), which passes every 127/8 client).
 *
 *	get_spf: fetches the TXT RRset of the current domain, selects the
 *	"v=spf1" record (RFC 7208 4.5), checks it with ma_spf_record_parse()
 *	(invalid: permerror with our reason), expands every macro here with
 *	<domain> = that name, and hands libspf2 a rebuilt record without a
 *	single '%': every target name becomes an opaque token "ma=tN" that
 *	only our lookup() resolves; ptr targets stay literal (libspf2 needs
 *	them to compare names) unless unsafe; redirect is dropped when the
 *	record has "all"; exp becomes "ma=eN"; unknown modifiers are dropped.
 *	So nothing a sender publishes reaches libspf2's macro compiler
 *	(CVE-2023-42118) and %{d2} etc. follow RFC 7208 7.3.
 *
 *	lookup: tokens map to real names; MX answers come back as tokens
 *	"ma=mN", PTR answers as "ma=pN.<name>" (a prefix label keeps
 *	libspf2's suffix match exact), so we know which query belongs to
 *	which term. We count DNS terms (include, a, mx, ptr, exists,
 *	redirect) and void lookups; past a limit we record permerror and
 *	answer TRY_AGAIN to everything so libspf2 unwinds at once.
 *	MX answers over 10 names: permerror; PTR answers: first 10 used;
 *	PTR and PTR-name lookup errors do not match (RFC 7208 5.5).
 *	"/0" prefixes (which libspf2 cannot compile) are emulated: ip4/ip6
 *	/0 become the client address itself, a/mx /0 make lookup() answer
 *	the client address whenever the real answer is not empty.
 *
 *	get_exp only returns the token; after a fail we fetch and expand
 *	the explanation ourselves (RFC 7208 6.2), else the default.
 * MEMORY
 *	All our strings live in the caller's arena; libspf2 objects are
 *	freed before ma_spf_check() returns.
 * LIMITS
 *	MA_LIMIT_SPF_DNS_MECHANISMS, MA_LIMIT_SPF_VOID_LOOKUPS,
 *	MA_LIMIT_SPF_MX_PTR_NAMES (policy/limits.h); record size and terms
 *	in spf_record.c. %{p} expansion is done eagerly while preparing a
 *	record that uses it (validated names cached per evaluation).
 * DIAGNOSTICS
 *	Results carry a short reason; libspf2 messages go to ma_log at
 *	debug level, its fatal errors abort (they are our bugs).
 * THREADS
 *	ma_spf_init() once before threads; ma_spf_check() is thread-safe
 *	(no shared libspf2 server, state via the DNS layer's hook).
 * STANDARDS
 *	RFC 7208 (2.3, 2.4, 4, 5, 6, 7), RFC 8601 result words.
 * SEE ALSO
 *	spf_record.c, dns.c, include/mailauth/spf.h
 */
#include "config.h"

#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/nameser.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <spf2/spf.h>

#include <mailauth/arena.h>
#include <mailauth/buf.h>
#include <mailauth/dns.h>
#include <mailauth/log.h>
#include <mailauth/spf.h>

#include "limits.h"
#include "spf_int.h"

#define TOKEN_PREFIX	"ma="
#define DEFAULT_TOKEN	"ma=default"
#define BUILTIN_EXPLANATION \
	"%{i} is not one of %{d}'s designated mail servers"

/* One name we handed libspf2 as a token. */
struct tok {
	char	kind;			/* 't' target, 'm' MX host, 'p' PTR
					 * name, 'e' exp target */
	const char *name;		/* the real name */
	const char *domain;		/* 'e': domain of the record */
	int	any;			/* answer the client for /0 */
};

/* Evaluation state: the hook of our SPF_dns_server_t. */
struct eval {
	struct ma_dns *dns;
	struct ma_dns_budget *budget;
	struct ma_arena *arena;
	struct ma_spf_macro_ctx mctx;
	struct tok *tok;
	size_t	n_tok, cap_tok;
	unsigned mechs, voids;
	int	top_seen;
	int	aborted;		/* limit hit: permerror */
	const char *reason;		/* for the outcome, or NULL */
	enum ma_spf_result top_result;	/* when the top record fails */
	int	p_done;			/* %{p} validated names known */
	const char **valid;
	size_t	n_valid;
	int	nomem;
};

/* ma_spf_result_str - RFC 8601 result words */
const char *
ma_spf_result_str(enum ma_spf_result r)
{
	static const char *const names[] = {
		"none", "neutral", "pass", "fail", "softfail", "temperror",
		"permerror"
	};

	return ((unsigned) r < sizeof(names) / sizeof(names[0])
		? names[r] : "permerror");
}

/* log_handler - libspf2 messages to our log at debug level */
static void
log_handler(const char *file, int line, const char *msg)
{
	ma_log(MA_LOG_DEBUG, "libspf2: %s:%d: %s", file ? file : "?", line,
	       msg ? msg : "");
}

/* error_handler - libspf2 internal error: our bug, never input */
__attribute__((noreturn)) static void
error_handler(const char *file, int line, const char *msg)
{
	ma_log(MA_LOG_PANIC, "libspf2: %s:%d: %s", file ? file : "?", line,
	       msg ? msg : "");
	abort();
}

/* ma_spf_init - libspf2 globals, once before threads */
void
ma_spf_init(void)
{
	SPF_error_handler = error_handler;
	SPF_warning_handler = log_handler;
	SPF_info_handler = log_handler;
	SPF_debug_handler = log_handler;
}

/* set_reason - remember the first reason of the evaluation */
static void set_reason(struct eval *ev, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

static void
set_reason(struct eval *ev, const char *fmt, ...)
{
	char	tmp[256];
	va_list	ap;

	if (ev->reason != NULL)
		return;
	va_start(ap, fmt);
	(void) vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	ev->reason = ma_arena_strdup(ev->arena, tmp);
}

/* abort_eval - a limit was hit: permerror from now on */
static void
abort_eval(struct eval *ev, const char *why)
{
	if (!ev->aborted) {
		ev->aborted = 1;
		ev->reason = NULL;
		set_reason(ev, "%s", why);
	}
}

/* tok_add - new token entry; index or -1 */
static long
tok_add(struct eval *ev, char kind, const char *name, const char *domain,
	int any)
{
	struct tok *n;

	if (ev->n_tok == ev->cap_tok) {
		size_t	cap = ev->cap_tok ? ev->cap_tok * 2 : 32;

		if ((n = ma_arena_calloc(ev->arena, cap, sizeof(*n))) == NULL)
			return (-1);
		if (ev->n_tok)
			memcpy(n, ev->tok, ev->n_tok * sizeof(*n));
		ev->tok = n;
		ev->cap_tok = cap;
	}
	ev->tok[ev->n_tok].kind = kind;
	ev->tok[ev->n_tok].name = name;
	ev->tok[ev->n_tok].domain = domain;
	ev->tok[ev->n_tok].any = any;
	return ((long) ev->n_tok++);
}

/* tok_find - entry for a token name of the given kind, or NULL */
static struct tok *
tok_find(struct eval *ev, const char *s, char kind)
{
	unsigned long idx = 0;
	size_t	i = sizeof(TOKEN_PREFIX) - 1, digits = 0;

	if (s == NULL || strncmp(s, TOKEN_PREFIX, i) != 0 || s[i] != kind)
		return (NULL);
	for (i++; s[i] >= '0' && s[i] <= '9' && digits < 9; i++, digits++)
		idx = idx * 10 + (unsigned long) (s[i] - '0');
	if (digits == 0 || idx >= ev->n_tok || ev->tok[idx].kind != kind)
		return (NULL);
	if (kind == 'p' ? (s[i] != '.' || strcmp(s + i + 1,
						  ev->tok[idx].name) != 0)
	    : s[i] != 0)
		return (NULL);
	return (&ev->tok[idx]);
}

/* strip_dot - copy of name without one trailing dot */
static const char *
strip_dot(struct ma_arena *a, const char *name, size_t len)
{
	if (len > 0 && name[len - 1] == '.')
		len--;
	return (ma_arena_memdup(a, name, len));
}

/* query - ma_dns_query with a synthetic answer on failure */
static struct ma_dns_answer *
query(struct eval *ev, const char *name, int type)
{
	static struct ma_dns_answer nx = {MA_DNS_NXDOMAIN, 0, 0, NULL, 0,
					  "invalid name"};
	static struct ma_dns_answer tf = {MA_DNS_SERVFAIL, 0, 0, NULL, 0,
					  "resolver failure"};
	struct ma_dns_answer *ans = NULL;
	enum ma_status st;

	st = ma_dns_query(ev->dns, ev->budget, ev->arena, name, type, &ans);
	if (st == MA_ERR_NOMEM) {
		ev->nomem = 1;
		return (&tf);
	}
	if (ans == NULL)
		return (st == MA_ERR_SYNTAX ? &nx : &tf);
	return (ans);
}

/* is_void - NXDOMAIN or NODATA (RFC 7208 4.6.4) */
static int
is_void(const struct ma_dns_answer *ans)
{
	return (ans->rcode == MA_DNS_NXDOMAIN || ans->rcode == MA_DNS_NODATA);
}

/* is_temp - answer that makes a temperror */
static int
is_temp(const struct ma_dns_answer *ans)
{
	return (ans->rcode == MA_DNS_SERVFAIL || ans->rcode == MA_DNS_TIMEOUT
		|| ans->rcode == MA_DNS_BUDGET);
}

/* count_mech - one more DNS-querying term; 0 or -1 past the limit */
static int
count_mech(struct eval *ev)
{
	if (++ev->mechs > MA_LIMIT_SPF_DNS_MECHANISMS) {
		abort_eval(ev, "more than 10 DNS-querying terms "
			   "(RFC 7208 4.6.4)");
		return (-1);
	}
	return (0);
}

/* count_void - one more void lookup; 0 or -1 past the limit */
static int
count_void(struct eval *ev, const struct ma_dns_answer *ans)
{
	if (is_void(ans) && ++ev->voids > MA_LIMIT_SPF_VOID_LOOKUPS) {
		abort_eval(ev, "more than 2 void lookups (RFC 7208 4.6.4)");
		return (-1);
	}
	return (0);
}

/* rr_set_herrno - herrno for an answer */
static void
rr_set_herrno(SPF_dns_rr_t *rr, const struct ma_dns_answer *ans)
{
	switch (ans->rcode) {
	case MA_DNS_ANSWER:
		rr->herrno = NETDB_SUCCESS;
		break;
	case MA_DNS_NODATA:
		rr->herrno = NO_DATA;
		break;
	case MA_DNS_NXDOMAIN:
		rr->herrno = HOST_NOT_FOUND;
		break;
	default:
		rr->herrno = TRY_AGAIN;
		break;
	}
}

/* rr_add - append one RR of len bytes to a libspf2 answer */
static int
rr_add(SPF_dns_rr_t *rr, const void *p, size_t len, int is_str)
{
	if (SPF_dns_rr_buf_realloc(rr, rr->num_rr, len + 1) != SPF_E_SUCCESS)
		return (-1);
	memcpy(rr->rr[rr->num_rr], p, len);
	if (is_str)
		((char *) rr->rr[rr->num_rr])[len] = 0;
	rr->num_rr++;
	return (0);
}

/* fill_addrs - copy A/AAAA data; with any, the client address instead */
static void
fill_addrs(struct eval *ev, SPF_dns_rr_t *rr, const struct ma_dns_answer *ans,
	   int type, int any)
{
	size_t	want = type == MA_DNS_A ? 4 : 16, i;

	rr_set_herrno(rr, ans);
	if (ans->rcode != MA_DNS_ANSWER)
		return;
	if (any && ans->n_rr > 0
	    && ev->mctx.ip.family == (type == MA_DNS_A ? AF_INET : AF_INET6)) {
		(void) rr_add(rr, ev->mctx.ip.addr, want, 0);
		return;
	}
	for (i = 0; i < ans->n_rr && i < MA_LIMIT_DNS_RRS; i++)
		if (ans->rr[i].len == want)
			(void) rr_add(rr, ans->rr[i].data, want, 0);
	if (rr->num_rr == 0)
		rr->herrno = NO_DATA;
}

/* lookup_mx - the MX query of an mx term; names become tokens */
static void
lookup_mx(struct eval *ev, SPF_dns_rr_t *rr, const struct tok *t)
{
	struct ma_dns_answer *ans = query(ev, t->name, MA_DNS_MX);
	size_t	i;
	long	idx;
	char	tokname[32];

	if (count_void(ev, ans) < 0)
		return;
	rr_set_herrno(rr, ans);
	if (ans->rcode != MA_DNS_ANSWER)
		return;
	if (ans->n_rr > MA_LIMIT_SPF_MX_PTR_NAMES) {
		abort_eval(ev, "more than 10 MX names (RFC 7208 4.6.4)");
		rr->herrno = TRY_AGAIN;
		return;
	}
	for (i = 0; i < ans->n_rr; i++) {
		idx = tok_add(ev, 'm', ans->rr[i].data, NULL, t->any);
		if (idx < 0) {
			ev->nomem = 1;
			break;
		}
		(void) snprintf(tokname, sizeof(tokname), TOKEN_PREFIX "m%ld",
				idx);
		(void) rr_add(rr, tokname, strlen(tokname), 1);
	}
}

/* lookup_ptr - the PTR query of a ptr term; first 10 names kept */
static void
lookup_ptr(struct eval *ev, SPF_dns_rr_t *rr, const char *name)
{
	struct ma_dns_answer *ans;
	size_t	i;
	long	idx;
	char   *tokname;

	if (count_mech(ev) < 0) {
		rr->herrno = TRY_AGAIN;
		return;
	}
	ans = query(ev, name, MA_DNS_PTR);
	if (count_void(ev, ans) < 0) {
		rr->herrno = TRY_AGAIN;
		return;
	}
	/* RFC 7208 5.5: a DNS error makes the mechanism not match */
	rr->herrno = ans->rcode == MA_DNS_ANSWER ? NETDB_SUCCESS
	    : HOST_NOT_FOUND;
	if (ans->rcode != MA_DNS_ANSWER)
		return;
	for (i = 0; i < ans->n_rr && i < MA_LIMIT_SPF_MX_PTR_NAMES; i++) {
		idx = tok_add(ev, 'p', ans->rr[i].data, NULL, 0);
		tokname = idx < 0 ? NULL : ma_arena_printf(ev->arena,
			TOKEN_PREFIX "p%ld.%s", idx, ans->rr[i].data);
		if (tokname == NULL) {
			ev->nomem = 1;
			break;
		}
		(void) rr_add(rr, tokname, strlen(tokname), 1);
	}
}

/* dns_lookup - our SPF_dns_server_t lookup() */
static SPF_dns_rr_t *
dns_lookup(SPF_dns_server_t *server, const char *domain, ns_type rr_type,
	   int should_cache)
{
	struct eval *ev = server->hook;
	SPF_dns_rr_t *rr;
	struct tok *t;
	int	type = (int) rr_type;

	rr = SPF_dns_rr_new_init(server, domain, rr_type, 0, HOST_NOT_FOUND);
	if (rr == NULL)
		return (NULL);		/* libspf2 aborts: out of memory */
	if (ev->aborted || ev->nomem) {
		rr->herrno = TRY_AGAIN;
		return (rr);
	}
	if (type == MA_DNS_PTR) {
		lookup_ptr(ev, rr, domain);
	} else if ((t = tok_find(ev, domain, 't')) != NULL) {
		if (count_mech(ev) < 0) {
			rr->herrno = TRY_AGAIN;
		} else if (type == MA_DNS_MX) {
			lookup_mx(ev, rr, t);
		} else if (type == MA_DNS_A || type == MA_DNS_AAAA) {
			struct ma_dns_answer *ans = query(ev, t->name, type);

			if (count_void(ev, ans) < 0)
				rr->herrno = TRY_AGAIN;
			else
				fill_addrs(ev, rr, ans, type, t->any);
		}
	} else if ((t = tok_find(ev, domain, 'm')) != NULL
		   && (type == MA_DNS_A || type == MA_DNS_AAAA)) {
		fill_addrs(ev, rr, query(ev, t->name, type), type, t->any);
	} else if (domain != NULL && strncmp(domain, TOKEN_PREFIX "p", 4) == 0
		   && (type == MA_DNS_A || type == MA_DNS_AAAA)) {
		const char *dot = strchr(domain, '.');

		t = dot ? tok_find(ev, domain, 'p') : NULL;
		if (t != NULL) {
			fill_addrs(ev, rr, query(ev, t->name, type), type, 0);
			/* RFC 7208 5.5: errors skip the name */
			if (rr->herrno == TRY_AGAIN)
				rr->herrno = HOST_NOT_FOUND;
		}
	} else {
		ma_log(MA_LOG_DEBUG, "spf: unexpected lookup type %d", type);
	}
	if (ev->aborted || ev->nomem)
		rr->herrno = TRY_AGAIN;
	(void) should_cache;
	return (rr);
}

/* validated_names - RFC 7208 5.5 validation of the client (for %{p}) */
static void
validated_names(struct eval *ev)
{
	char	name[80];
	const struct ma_ip *ip = &ev->mctx.ip;
	struct ma_dns_answer *ans, *a2;
	size_t	i, j, alen = ip->family == AF_INET ? 4 : 16;
	int	type = ip->family == AF_INET ? MA_DNS_A : MA_DNS_AAAA;
	size_t	n = 0;

	ev->p_done = 1;
	if (ip->family == AF_INET) {
		(void) snprintf(name, sizeof(name), "%u.%u.%u.%u.in-addr.arpa",
				ip->addr[3], ip->addr[2], ip->addr[1],
				ip->addr[0]);
	} else if (ip->family == AF_INET6) {
		static const char hex[] = "0123456789abcdef";

		for (i = 0; i < 16; i++) {
			name[i * 4] = hex[ip->addr[15 - i] & 15];
			name[i * 4 + 1] = '.';
			name[i * 4 + 2] = hex[ip->addr[15 - i] >> 4];
			name[i * 4 + 3] = '.';
		}
		memcpy(name + 64, "ip6.arpa", 9);
	} else
		return;
	ans = query(ev, name, MA_DNS_PTR);
	if (ans->rcode != MA_DNS_ANSWER)
		return;
	ev->valid = ma_arena_calloc(ev->arena, MA_LIMIT_SPF_MX_PTR_NAMES,
				    sizeof(*ev->valid));
	if (ev->valid == NULL)
		return;
	for (i = 0; i < ans->n_rr && i < MA_LIMIT_SPF_MX_PTR_NAMES; i++) {
		a2 = query(ev, ans->rr[i].data, type);
		if (a2->rcode != MA_DNS_ANSWER)
			continue;
		for (j = 0; j < a2->n_rr && j < MA_LIMIT_DNS_RRS; j++)
			if (a2->rr[j].len == alen
			    && memcmp(a2->rr[j].data, ip->addr, alen) == 0) {
				ev->valid[n++] = ans->rr[i].data;
				break;
			}
	}
	ev->n_valid = n;
}

/* is_subdomain - name equals domain or ends in "." domain */
static int
is_subdomain(const char *name, const char *domain)
{
	size_t	nl = strlen(name), dl = strlen(domain);

	if (dl > 0 && domain[dl - 1] == '.')
		dl--;
	if (nl == dl)
		return (strncasecmp(name, domain, dl) == 0);
	return (nl > dl && name[nl - dl - 1] == '.'
		&& strncasecmp(name + nl - dl, domain, dl) == 0);
}

/* get_p - %{p}: the domain, else a subdomain, else any validated name */
static const char *
get_p(void *arg, const char *domain)
{
	struct eval *ev = arg;
	size_t	i;

	if (!ev->p_done)
		validated_names(ev);
	if (ev->n_valid == 0)
		return ("unknown");
	for (i = 0; i < ev->n_valid; i++)
		if (strcasecmp(ev->valid[i], domain) == 0)
			return (ev->valid[i]);
	for (i = 0; i < ev->n_valid; i++)
		if (is_subdomain(ev->valid[i], domain))
			return (ev->valid[i]);
	return (ev->valid[0]);
}

/* expand_name - expand a domain-spec with <domain> = domain */
static const char *
expand_name(struct eval *ev, const char *spec, size_t len,
	    const char *domain, char *err, size_t errlen)
{
	struct ma_buf b;

	if (spec == NULL)
		return (domain);
	ev->mctx.domain = domain;
	ma_buf_init(&b, ev->arena, MA_LIMIT_SPF_RECORD_BYTES);
	if (ma_spf_expand(&ev->mctx, spec, len, 0, &b, err, errlen) != MA_OK)
		return (NULL);
	if (b.data == NULL)
		return ("");
	return (strip_dot(ev->arena, b.data, b.len));
}

/* name_is_safe - may appear literally in a record given to libspf2 */
static int
name_is_safe(const char *s)
{
	for (; *s; s++)
		if ((unsigned char) *s < 0x21 || (unsigned char) *s > 0x7e
		    || *s == '%' || *s == '/')
			return (0);
	return (1);
}

/* add_target - " <q><mech>:ma=tN" for one looked-up target */
static enum ma_status
add_target(struct eval *ev, struct ma_buf *out, const char *mech,
	   const struct ma_spf_term *t, const char *domain, int any)
{
	char	err[128];
	const char *name;
	long	idx;

	name = expand_name(ev, t->spec, t->spec_len, domain, err, sizeof(err));
	if (name == NULL) {
		set_reason(ev, "macro expansion: %s", err);
		return (MA_ERR_SYNTAX);
	}
	if ((idx = tok_add(ev, 't', name, NULL, any)) < 0)
		return (MA_ERR_NOMEM);
	if (t->qualifier)
		return (ma_buf_printf(out, " %c%s" TOKEN_PREFIX "t%ld",
				      t->qualifier, mech, idx));
	return (ma_buf_printf(out, " %s" TOKEN_PREFIX "t%ld", mech, idx));
}

/* add_ip - ip4/ip6 term; a zero prefix becomes the client address */
static enum ma_status
add_ip(struct eval *ev, struct ma_buf *out, const struct ma_spf_term *t)
{
	int	v6 = t->kind == MA_SPF_T_IP6;
	int	fam = v6 ? AF_INET6 : AF_INET;
	char	addr[INET6_ADDRSTRLEN];
	const unsigned char *a = t->addr;

	if (t->cidr4 == 0 && ev->mctx.ip.family == fam)
		a = ev->mctx.ip.addr;
	if (inet_ntop(fam, a, addr, sizeof(addr)) == NULL)
		return (MA_ERR_INTERNAL);
	if (t->cidr4 > 0)
		return (ma_buf_printf(out, " %cip%c:%s/%d", t->qualifier,
				      v6 ? '6' : '4', addr, t->cidr4));
	return (ma_buf_printf(out, " %cip%c:%s", t->qualifier,
			      v6 ? '6' : '4', addr));
}

/* add_cidr - "/n" and "//m" of a/mx, none for zero (emulated) */
static enum ma_status
add_cidr(struct ma_buf *out, const struct ma_spf_term *t)
{
	enum ma_status st = MA_OK;

	if (t->cidr4 > 0)
		st = ma_buf_printf(out, "/%d", t->cidr4);
	if (st == MA_OK && t->cidr6 > 0)
		st = ma_buf_printf(out, "//%d", t->cidr6);
	return (st);
}

/* any_flag - whether the prefix for the client's family is zero */
static int
any_flag(const struct eval *ev, const struct ma_spf_term *t)
{
	return (ev->mctx.ip.family == AF_INET6 ? t->cidr6 == 0
		: t->cidr4 == 0);
}

/* rebuild - macro-free record for libspf2 from our parse */
static enum ma_status
rebuild(struct eval *ev, const struct ma_spf_parsed *p, const char *domain,
	struct ma_buf *out)
{
	const struct ma_spf_term *t, *redirect = NULL, *exp = NULL;
	enum ma_status st;
	int	has_all = 0;
	size_t	i;
	char	err[128];

	if ((st = ma_buf_puts(out, "v=spf1")) != MA_OK)
		return (st);
	for (i = 0; i < p->n_terms && st == MA_OK; i++) {
		t = &p->terms[i];
		switch (t->kind) {
		case MA_SPF_T_ALL:
			has_all = 1;
			st = ma_buf_printf(out, " %call", t->qualifier);
			break;
		case MA_SPF_T_INCLUDE:
			st = add_target(ev, out, "include:", t, domain, 0);
			break;
		case MA_SPF_T_EXISTS:
			st = add_target(ev, out, "exists:", t, domain, 0);
			break;
		case MA_SPF_T_A:
		case MA_SPF_T_MX:
			st = add_target(ev, out, t->kind == MA_SPF_T_A ? "a:"
					: "mx:", t, domain, any_flag(ev, t));
			if (st == MA_OK)
				st = add_cidr(out, t);
			break;
		case MA_SPF_T_PTR: {
			const char *name = expand_name(ev, t->spec, t->spec_len,
						       domain, err, sizeof(err));

			if (name == NULL) {
				set_reason(ev, "macro expansion: %s", err);
				return (MA_ERR_SYNTAX);
			}
			if (*name == 0 || !name_is_safe(name))
				name = TOKEN_PREFIX "nomatch";
			st = ma_buf_printf(out, " %cptr:%s", t->qualifier, name);
			break;
		}
		case MA_SPF_T_IP4:
		case MA_SPF_T_IP6:
			st = add_ip(ev, out, t);
			break;
		case MA_SPF_T_REDIRECT:
			redirect = t;
			break;
		case MA_SPF_T_EXP:
			exp = t;
			break;
		case MA_SPF_T_UNKNOWN_MOD:
			break;
		}
	}
	if (st == MA_OK && redirect != NULL && !has_all) {
		struct ma_spf_term r = *redirect;

		r.qualifier = 0;
		st = add_target(ev, out, "redirect=", &r, domain, 0);
	}
	if (st == MA_OK && exp != NULL) {
		const char *name = expand_name(ev, exp->spec, exp->spec_len,
					       domain, err, sizeof(err));
		long	idx;

		if (name == NULL) {
			set_reason(ev, "macro expansion: %s", err);
			return (MA_ERR_SYNTAX);
		}
		if ((idx = tok_add(ev, 'e', name, domain, 0)) < 0)
			return (MA_ERR_NOMEM);
		st = ma_buf_printf(out, " exp=" TOKEN_PREFIX "e%ld", idx);
	}
	return (st);
}

/*
 * fetch_record - TXT of domain, select and check the SPF record
 * (RFC 7208 4.4, 4.5). Returns the SPF_errcode_t libspf2 expects and
 * sets ev->top_result for the top-level case.
 */
static SPF_errcode_t
fetch_record(struct eval *ev, const char *domain, const char **rec_out,
	     size_t *len_out)
{
	struct ma_dns_answer *ans = query(ev, domain, MA_DNS_TXT);
	size_t	i, found = 0;

	if (is_temp(ans)) {
		ev->top_result = MA_SPF_TEMPERROR;
		set_reason(ev, "DNS error looking up SPF record of %s: %s",
			   domain, ans->why ? ans->why
			   : ma_dns_rcode_str(ans->rcode));
		return (SPF_E_DNS_ERROR);
	}
	for (i = 0; ans->rcode == MA_DNS_ANSWER && i < ans->n_rr; i++) {
		if (!ma_spf_is_spf1(ans->rr[i].data, ans->rr[i].len))
			continue;
		if (found++ == 0) {
			*rec_out = ans->rr[i].data;
			*len_out = ans->rr[i].len;
		}
	}
	if (found == 0) {
		ev->top_result = MA_SPF_NONE;
		set_reason(ev, "no SPF record at %s", domain);
		return (SPF_E_NOT_SPF);
	}
	if (found > 1) {
		ev->top_result = MA_SPF_PERMERROR;
		set_reason(ev, "more than one SPF record at %s", domain);
		return (SPF_E_MULTIPLE_RECORDS);
	}
	return (SPF_E_SUCCESS);
}

/* dns_get_spf - our get_spf(): checked, macro-free record for libspf2 */
static SPF_errcode_t
dns_get_spf(SPF_server_t *server, SPF_request_t *request,
	    SPF_response_t *response, SPF_record_t **recordp)
{
	struct eval *ev = server->resolver->hook;
	struct ma_spf_parsed *parsed;
	struct ma_buf text;
	const char *domain = request->cur_dom, *rec = NULL;
	struct tok *t;
	size_t	len = 0;
	char	err[128];
	SPF_errcode_t e;
	enum ma_status st;

	*recordp = NULL;
	if (ev->top_seen) {
		if ((t = tok_find(ev, domain, 't')) == NULL)
			return (SPF_E_INTERNAL_ERROR);
		domain = t->name;
		if (count_mech(ev) < 0)
			return (SPF_E_DNS_ERROR);
	}
	ev->top_seen = 1;
	if (ev->aborted || ev->nomem)
		return (SPF_E_DNS_ERROR);
	if ((e = fetch_record(ev, domain, &rec, &len)) != SPF_E_SUCCESS)
		return (e);
	ev->top_result = MA_SPF_PERMERROR;
	if ((parsed = ma_arena_alloc(ev->arena, sizeof(*parsed))) == NULL) {
		ev->nomem = 1;
		return (SPF_E_NO_MEMORY);
	}
	if (ma_spf_record_parse(rec, len, parsed, err, sizeof(err)) != MA_OK) {
		set_reason(ev, "invalid SPF record at %s: %s", domain, err);
		return (SPF_E_SYNTAX);
	}
	ma_buf_init(&text, ev->arena, 64 * 1024);
	if ((st = rebuild(ev, parsed, domain, &text)) != MA_OK) {
		if (st == MA_ERR_NOMEM)
			ev->nomem = 1;
		set_reason(ev, "cannot prepare SPF record of %s", domain);
		return (st == MA_ERR_NOMEM ? SPF_E_NO_MEMORY : SPF_E_SYNTAX);
	}
	e = SPF_record_compile(server, response, recordp, text.data);
	if (e != SPF_E_SUCCESS) {
		if (*recordp != NULL) {
			SPF_record_free(*recordp);
			*recordp = NULL;
		}
		set_reason(ev, "libspf2 refused the record of %s: %s", domain,
			   SPF_strerror(e));
		return (SPF_E_SYNTAX);
	}
	return (SPF_E_SUCCESS);
}

/* dns_get_exp - our get_exp(): hand back the token, fetch lazily */
static SPF_errcode_t
dns_get_exp(SPF_server_t *server, const char *domain, char **bufp,
	    size_t *buflenp)
{
	size_t	len = strlen(domain) + 1;
	char   *n;

	if (*buflenp < len) {
		if ((n = realloc(*bufp, len)) == NULL)
			return (SPF_E_NO_MEMORY);
		*bufp = n;
		*buflenp = len;
	}
	memcpy(*bufp, domain, len);
	(void) server;
	return (SPF_E_SUCCESS);
}

/* expand_text - explain-string expansion, NULL on a syntax error */
static const char *
expand_text(struct eval *ev, const char *s, size_t len, const char *domain)
{
	struct ma_buf b;
	char	err[128];

	ev->mctx.domain = domain;
	ma_buf_init(&b, ev->arena, MA_LIMIT_SPF_RECORD_BYTES);
	if (ma_spf_expand(&ev->mctx, s, len, 1, &b, err, sizeof(err)) != MA_OK)
		return (NULL);
	return (b.data ? b.data : "");
}

/* default_explanation - the configured or built-in text, expanded */
static const char *
default_explanation(struct eval *ev, const struct ma_spf_request *req,
		    const char *domain)
{
	const char *d = req->default_explanation ? req->default_explanation
	    : BUILTIN_EXPLANATION;
	const char *x = expand_text(ev, d, strlen(d), domain);

	return (x ? x : d);
}

/*
 * explanation - RFC 7208 6.2: TXT of the exp target, exactly one RR
 * with valid syntax, expanded with the domain of its record; else the
 * default.
 */
static const char *
explanation(struct eval *ev, const struct ma_spf_request *req,
	    const char *token, const char *domain)
{
	struct tok *t = tok_find(ev, token, 'e');
	struct ma_dns_answer *ans;
	const char *x;

	if (t == NULL || *t->name == 0)
		return (default_explanation(ev, req, domain));
	ans = query(ev, t->name, MA_DNS_TXT);
	if (ans->rcode != MA_DNS_ANSWER || ans->n_rr != 1
	    || ma_spf_explain_check(ans->rr[0].data, ans->rr[0].len, NULL, 0)
	    != MA_OK)
		return (default_explanation(ev, req, t->domain));
	x = expand_text(ev, ans->rr[0].data, ans->rr[0].len, t->domain);
	return (x ? x : default_explanation(ev, req, t->domain));
}

/* domain_ok - RFC 7208 4.3: a multi-label name with sane labels */
static int
domain_ok(const char *d)
{
	size_t	len = strlen(d), lab = 0, labels = 0, i;

	if (len > 0 && d[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return (0);
	for (i = 0; i <= len; i++) {
		if (i == len || d[i] == '.') {
			if (lab == 0 || lab > 63)
				return (0);
			labels++;
			lab = 0;
			continue;
		}
		if ((unsigned char) d[i] <= 0x20 || d[i] == 0x7f
		    || d[i] == '[' || d[i] == ']')
			return (0);
		lab++;
	}
	return (labels >= 2);
}

/* set_identity - <sender>, local-part and domain (RFC 7208 2.3, 2.4, 4.3) */
static enum ma_status
set_identity(struct eval *ev, enum ma_spf_identity id,
	     const struct ma_spf_request *req, const char **why)
{
	const char *from = req->mail_from, *at = NULL, *dom, *p;
	size_t	llen;

	*why = NULL;
	if (id == MA_SPF_HELO || from == NULL || *from == 0) {
		if (req->helo == NULL || *req->helo == 0) {
			*why = "no HELO name";
			return (MA_ERR_NOTFOUND);
		}
		from = ma_arena_printf(ev->arena, "postmaster@%s", req->helo);
		if (from == NULL)
			return (MA_ERR_NOMEM);
	}
	for (p = from; *p; p++) {
		if ((unsigned char) *p < 0x20 || *p == 0x7f) {
			*why = "control character in identity";
			return (MA_ERR_SYNTAX);
		}
		if (*p == '@')
			at = p;
	}
	if (p - from > 1024) {
		*why = "identity too long";
		return (MA_ERR_SYNTAX);
	}
	dom = at ? at + 1 : from;
	llen = at ? (size_t) (at - from) : 0;
	ev->mctx.sender_domain = strip_dot(ev->arena, dom, strlen(dom));
	if (llen == 0) {
		ev->mctx.local = "postmaster";
		ev->mctx.local_len = 10;
		ev->mctx.sender = ma_arena_printf(ev->arena, "postmaster@%s",
						  ev->mctx.sender_domain);
	} else {
		ev->mctx.local = from;
		ev->mctx.local_len = llen;
		ev->mctx.sender = ma_arena_strdup(ev->arena, from);
	}
	if (ev->mctx.sender == NULL || ev->mctx.sender_domain == NULL)
		return (MA_ERR_NOMEM);
	if (!domain_ok(ev->mctx.sender_domain)) {
		*why = "identity is not a valid domain name";
		return (MA_ERR_SYNTAX);
	}
	return (MA_OK);
}

/* map_result - libspf2 result to ours */
static enum ma_spf_result
map_result(SPF_result_t r)
{
	switch (r) {
	case SPF_RESULT_PASS:
		return (MA_SPF_PASS);
	case SPF_RESULT_FAIL:
		return (MA_SPF_FAIL);
	case SPF_RESULT_SOFTFAIL:
		return (MA_SPF_SOFTFAIL);
	case SPF_RESULT_NEUTRAL:
		return (MA_SPF_NEUTRAL);
	case SPF_RESULT_NONE:
		return (MA_SPF_NONE);
	case SPF_RESULT_TEMPERROR:
		return (MA_SPF_TEMPERROR);
	default:
		return (MA_SPF_PERMERROR);
	}
}

/* result_reason - default short reason per result */
static const char *
result_reason(enum ma_spf_result r, const char *domain)
{
	(void) domain;
	switch (r) {
	case MA_SPF_PASS:
		return ("client is authorized");
	case MA_SPF_FAIL:
		return ("client is not authorized");
	case MA_SPF_SOFTFAIL:
		return ("client is probably not authorized");
	case MA_SPF_NEUTRAL:
		return ("no assertion about client");
	case MA_SPF_NONE:
		return ("no SPF record");
	case MA_SPF_TEMPERROR:
		return ("temporary DNS error");
	default:
		return ("SPF record error");
	}
}

/*
 * evaluate - one check_host() with libspf2 on our layer. The free
 * ride libspf2 gives loopback clients lives in
 * SPF_request_query_mailfrom(), which we do not call.
 */
static enum ma_status
evaluate(struct eval *ev, const struct ma_spf_request *req,
	 const char *domain, struct ma_spf_outcome *out)
{
	SPF_dns_server_t *layer;
	SPF_server_t *server = NULL;
	SPF_request_t *request = NULL;
	SPF_response_t *response = NULL, *tmp = NULL;
	SPF_record_t *record = NULL;
	SPF_errcode_t e;
	enum ma_status st = MA_OK;

	if ((layer = ma_arena_alloc(ev->arena, sizeof(*layer))) == NULL)
		return (MA_ERR_NOMEM);
	layer->destroy = NULL;		/* ours: libspf2 must not free it */
	layer->lookup = dns_lookup;
	layer->get_spf = dns_get_spf;
	layer->get_exp = dns_get_exp;
	layer->add_cache = NULL;
	layer->layer_below = NULL;
	layer->name = "mailauth";
	layer->hook = ev;
	if ((server = SPF_server_new_dns(layer, 0)) == NULL)
		return (MA_ERR_NOMEM);
	(void) SPF_server_set_rec_dom(server, req->receiver ? req->receiver
				      : "unknown");
	(void) SPF_server_set_explanation(server, DEFAULT_TOKEN, &tmp);
	if (tmp != NULL)
		SPF_response_free(tmp);
	/* our layer enforces the RFC 7208 4.6.4 limits first */
	(void) SPF_server_set_max_dns_mech(server, 4 * MA_LIMIT_SPF_DNS_MECHANISMS);
	(void) SPF_server_set_max_dns_mx(server, MA_LIMIT_SPF_MX_PTR_NAMES);
	(void) SPF_server_set_max_dns_ptr(server, MA_LIMIT_SPF_MX_PTR_NAMES);

	if ((request = SPF_request_new(server)) == NULL) {
		st = MA_ERR_NOMEM;
		goto done;
	}
	if (ev->mctx.ip.family == AF_INET) {
		struct in_addr a4;

		memcpy(&a4, ev->mctx.ip.addr, 4);
		(void) SPF_request_set_ipv4(request, a4);
	} else {
		struct in6_addr a6;

		memcpy(&a6, ev->mctx.ip.addr, 16);
		(void) SPF_request_set_ipv6(request, a6);
	}
	if (SPF_request_set_env_from(request, ev->mctx.sender) != 0
	    || (response = SPF_response_new(request)) == NULL) {
		st = MA_ERR_NOMEM;
		goto done;
	}
	request->cur_dom = domain;
	e = SPF_server_get_record(server, request, response, &record);
	if (e != SPF_E_SUCCESS || record == NULL) {
		out->result = ev->nomem ? MA_SPF_TEMPERROR : ev->top_result;
		if (ev->nomem)
			st = MA_ERR_NOMEM;
		goto done;
	}
	response->spf_record_exp = record;
	(void) SPF_record_interpret(record, request, response, 0);
	out->result = map_result(SPF_response_result(response));
	if (ev->aborted)
		out->result = MA_SPF_PERMERROR;
	else if (ev->nomem) {
		out->result = MA_SPF_TEMPERROR;
		st = MA_ERR_NOMEM;
	}
	if (out->result == MA_SPF_PERMERROR && ev->reason == NULL)
		set_reason(ev, "%s",
		    SPF_strerror(SPF_response_errcode(response)));
	if (out->result == MA_SPF_FAIL)
		out->explanation = explanation(ev, req,
		    SPF_response_get_explanation(response), domain);
done:
	if (record != NULL)
		SPF_record_free(record);
	if (response != NULL)
		SPF_response_free(response);
	if (request != NULL)
		SPF_request_free(request);
	SPF_server_free(server);
	return (st);
}

/* ma_spf_check - check_host() for one identity */
enum ma_status
ma_spf_check(struct ma_dns *dns, struct ma_dns_budget *budget,
	     struct ma_arena *arena, enum ma_spf_identity id,
	     const struct ma_spf_request *req, struct ma_spf_outcome *out)
{
	struct eval *ev;
	const char *why = NULL;
	enum ma_status st;

	memset(out, 0, sizeof(*out));
	out->identity = id;
	out->result = MA_SPF_PERMERROR;
	out->domain = "";
	out->sender = "";
	out->reason = "internal error";
	if ((ev = ma_arena_alloc(arena, sizeof(*ev))) == NULL)
		return (MA_ERR_NOMEM);
	ev->dns = dns;
	ev->budget = budget;
	ev->arena = arena;
	ev->mctx.ip = req->client;
	ev->mctx.helo = req->helo;
	ev->mctx.receiver = req->receiver;
	ev->mctx.now = req->now ? req->now : time(NULL);
	ev->mctx.get_p = get_p;
	ev->mctx.get_p_arg = ev;
	ev->top_result = MA_SPF_PERMERROR;

	st = set_identity(ev, id, req, &why);
	if (st == MA_ERR_NOMEM)
		return (st);
	if (ev->mctx.sender)
		out->sender = ev->mctx.sender;
	if (ev->mctx.sender_domain)
		out->domain = ev->mctx.sender_domain;
	if (st != MA_OK) {
		out->result = MA_SPF_NONE;
		out->reason = why ? why : "invalid identity";
		return (MA_OK);
	}
	if (req->client.family != AF_INET && req->client.family != AF_INET6) {
		out->result = MA_SPF_NONE;
		out->reason = "no client address";
		return (MA_OK);
	}
	st = evaluate(ev, req, out->domain, out);
	out->dns_mechanisms = ev->mechs;
	out->void_lookups = ev->voids;
	if (out->result == MA_SPF_PASS || out->result == MA_SPF_FAIL
	    || out->result == MA_SPF_SOFTFAIL || out->result == MA_SPF_NEUTRAL
	    || ev->reason == NULL)
		out->reason = result_reason(out->result, out->domain);
	else
		out->reason = ev->reason;
	if (out->result != MA_SPF_FAIL)
		out->explanation = NULL;
	return (st);
}
