/*
 * NAME
 *	dns - the one resolver of the engine (libunbound)
 * SUMMARY
 *	Shared libunbound context, bounded waits, per-message budgets.
 * SYNOPSIS
 *	#include <mailauth/dns.h>
 * DESCRIPTION
 *	ma_dns_new() makes one libunbound context (threaded mode) that
 *	forwards to the configured nameservers ("addr[@port]") or to those
 *	of /etc/resolv.conf, and starts one dispatcher thread. Local data
 *	(dns_zone.c) and failure names are added next; then any number of
 *	threads call ma_dns_query().
 *
 *	A query is sent with ub_resolve_async(); the calling thread waits
 *	on its own condition variable until the dispatcher, which polls
 *	ub_fd() and runs ub_process(), delivers the answer through the
 *	callback, or until the wait ends at the smaller of now + timeout
 *	and the budget's deadline. Then the query is cancelled and the
 *	answer is MA_DNS_TIMEOUT.
 *
 *	Answers are decoded into struct ma_dns_answer in the caller's
 *	arena (each RR's rdata by dns_rdata.c): NOERROR with data is
 *	ANSWER, without data NODATA; NXDOMAIN; every other rcode, a bogus
 *	DNSSEC answer, a library error and malformed rdata are SERVFAIL
 *	with a short why.
 *
 *	libunbound answers some names itself (RFC 6761/6762/8375 and
 *	RFC 1918 reverse zones); of these, test., home.arpa. and the
 *	RFC 1918 reverse zones are left to the configured servers, which
 *	is where test zones and site-local data live (localhost., onion.
 *	and invalid. stay local).
 *
 *	libunbound does not follow a CNAME out of local data; when an
 *	answer is a bare CNAME, the target is queried next (same deadline,
 *	not charged to the budget, as a recursive server would do it).
 *
 *	offline: the root is a "static" local zone, so every name without
 *	local data is NXDOMAIN (or NODATA) and no packet is sent.
 *	Failure names (ma_dns_add_failure) are answered SERVFAIL here,
 *	without libunbound, for every type without local data at exactly
 *	that name; names below it are not affected.
 * MEMORY
 *	struct ma_dns and its context are malloc'ed and live until
 *	ma_dns_free(). Answers live in the caller's arena. A pending query
 *	is reference counted (waiter and callback hold one each), so a
 *	callback racing a timeout never touches freed memory.
 * LIMITS
 *	MA_DNS_TIMEOUT_DEFAULT_MS per query unless configured;
 *	MA_LIMIT_DNS_CNAME_HOPS CNAMEs followed out of local data;
 *	MA_LIMIT_DNS_RRS RRs in one answer (more: SERVFAIL, never a cut
 *	RRset, which could hide the one record that matters);
 *	MA_LIMIT_DNS_TXT_BYTES per TXT RRset (more: SERVFAIL); names as
 *	ma_dns_name_check() (RFC 1035 2.3.4).
 * DIAGNOSTICS
 *	Call status as dns.h says; the authentication-relevant outcome is
 *	the answer's rcode with why. Nothing is logged here: callers log
 *	why with their result. The budget counts timeouts and servfails.
 * THREADS
 *	ma_dns_query() is safe from any number of threads on one ma_dns.
 *	Zone data and failure names must be added before the first query,
 *	from one thread (later: MA_ERR_INTERNAL). A budget belongs to one
 *	message and so to one thread at a time. ma_dns_free() with no
 *	query in flight.
 * STANDARDS
 *	RFC 1035 (rcodes), RFC 2308 (NODATA vs NXDOMAIN); rdata formats
 *	in dns_rdata.c.
 * SEE ALSO
 *	dns_rdata.c, dns_zone.c, libunbound(3).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <unbound.h>

#include <mailauth/arena.h>
#include <mailauth/dns.h>
#include "dns_int.h"
#include "ma_limits.h"

#define RCODE_NXDOMAIN	3	/* RFC 1035 4.1.1 */

struct ma_dns {
	struct ub_ctx *ctx;
	unsigned timeout_ms;
	int	offline;
	int	started;		/* first query seen (atomic) */
	int	wake[2];		/* self-pipe: stop the dispatcher */
	pthread_t thread;
	int	has_thread;
	struct ma_dns_names *names;
	struct ma_dns_cache *cache;	/* NULL: none */
	unsigned long long n_queries, n_timeouts, n_servfails; /* atomic */
	unsigned long long n_prefetches;	/* atomic */
	pthread_mutex_t pf_lock;		/* prefetches in flight: */
	struct prefetch *pf_list;		/* freed by ma_dns_free */
	unsigned pf_count;
};

/*
 * Totals over every context of the process since start (atomic), for
 * ma_dns_stats_process(): a reload makes a new context while messages
 * still finish on the old one, and metrics must not go backwards.
 */
static unsigned long long all_queries, all_timeouts, all_servfails;
static unsigned long long all_prefetches;

/* One prefetch in flight: owned by the list until its answer comes. */
struct prefetch {
	struct ma_dns *d;
	struct prefetch *next, *prev;
	int	type;
	char	name[MA_DNS_NAME_MAX + 1];
};

/* One query in flight: shared by the waiter and the callback. */
struct pending {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int	refs;
	int	done;
	int	abandoned;		/* waiter gave up; callback frees */
	int	err;
	struct ub_result *res;
};

/* ma_dns_now_ms - CLOCK_MONOTONIC in milliseconds */
long long
ma_dns_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* ma_dns_rcode_str - name of an rcode for logs and tests */
const char *
ma_dns_rcode_str(enum ma_dns_rcode rc)
{
	switch (rc) {
	case MA_DNS_ANSWER: return ("answer");
	case MA_DNS_NODATA: return ("nodata");
	case MA_DNS_NXDOMAIN: return ("nxdomain");
	case MA_DNS_SERVFAIL: return ("servfail");
	case MA_DNS_TIMEOUT: return ("timeout");
	case MA_DNS_BUDGET: return ("budget");
	}
	return ("unknown");
}

/* set_err - fill the caller's error buffer */
static enum ma_status
set_err(enum ma_status st, char *err, size_t errlen, const char *what,
	const char *detail)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s%s%s", what, detail ? ": " : "",
			 detail ? detail : "");
	return (st);
}

/* dispatch - thread: run libunbound callbacks until told to stop */
static void *
dispatch(void *arg)
{
	struct ma_dns *d = arg;
	struct pollfd pfd[2];

	pfd[0].fd = ub_fd(d->ctx);
	pfd[1].fd = d->wake[0];
	for (;;) {
		pfd[0].events = pfd[1].events = POLLIN;
		pfd[0].revents = pfd[1].revents = 0;
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents != 0)
			break;
		if (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL))
			break;		/* waiters time out */
		if ((pfd[0].revents & POLLIN) && ub_process(d->ctx) != 0)
			break;
	}
	return (NULL);
}

/* start_dispatcher - self-pipe and thread, all signals blocked in it */
static enum ma_status
start_dispatcher(struct ma_dns *d, char *err, size_t errlen)
{
	sigset_t all, old;
	int	rc;

	if (pipe(d->wake) < 0)
		return (set_err(MA_ERR_IO, err, errlen, "pipe",
				strerror(errno)));
	(void) fcntl(d->wake[0], F_SETFD, FD_CLOEXEC);
	(void) fcntl(d->wake[1], F_SETFD, FD_CLOEXEC);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&d->thread, NULL, dispatch, d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return (set_err(MA_ERR_INTERNAL, err, errlen, "pthread_create",
				strerror(rc)));
	d->has_thread = 1;
	return (MA_OK);
}

/* ub_option - set one unbound option, with an error text */
static enum ma_status
ub_option(struct ma_dns *d, const char *opt, const char *val, char *err,
	  size_t errlen)
{
	int	rc;

	if ((rc = ub_ctx_set_option(d->ctx, opt, val)) != 0)
		return (set_err(MA_ERR_INTERNAL, err, errlen, opt,
				ub_strerror(rc)));
	return (MA_OK);
}

/* configure - options, forwarders, trust anchor; before finalizing */
static enum ma_status
configure(struct ma_dns *d, const struct ma_dns_options *opt, char *err,
	  size_t errlen)
{
	enum ma_status st;
	size_t	i;
	int	rc;

	/* Tests and local caches listen on loopback. */
	if ((st = ub_option(d, "do-not-query-localhost:", "no", err,
			    errlen)) != MA_OK ||
	    (st = ub_option(d, "qname-minimisation:", "no", err,
			    errlen)) != MA_OK ||
	    (st = ub_option(d, "unblock-lan-zones:", "yes", err,
			    errlen)) != MA_OK)
		return (st);
	if (opt->trust_anchor_file == NULL &&
	    (st = ub_option(d, "module-config:", "iterator", err,
			    errlen)) != MA_OK)
		return (st);
	if (opt->trust_anchor_file != NULL &&
	    (rc = ub_ctx_add_ta_file(d->ctx, opt->trust_anchor_file)) != 0)
		return (set_err(MA_ERR_IO, err, errlen,
				opt->trust_anchor_file, ub_strerror(rc)));
	if (opt->offline)
		return (MA_OK);
	if (opt->nameservers != NULL && opt->nameservers[0] != NULL) {
		for (i = 0; opt->nameservers[i] != NULL; i++) {
			if (i >= MA_LIMIT_CONFIG_LIST)
				return (set_err(MA_ERR_LIMIT, err, errlen,
						"too many nameservers", NULL));
			if ((rc = ub_ctx_set_fwd(d->ctx,
						 opt->nameservers[i])) != 0)
				return (set_err(MA_ERR_SYNTAX, err, errlen,
						opt->nameservers[i],
						ub_strerror(rc)));
		}
	} else if ((rc = ub_ctx_resolvconf(d->ctx, NULL)) != 0) {
		return (set_err(MA_ERR_IO, err, errlen,
				"cannot use /etc/resolv.conf",
				ub_strerror(rc)));
	}
	return (MA_OK);
}

/* ma_dns_new - create the shared context */
enum ma_status
ma_dns_new(const struct ma_dns_options *opt, struct ma_dns **out, char *err,
	   size_t errlen)
{
	static const struct ma_dns_options none;
	static const char *const upstream_zones[] = {"test.", "home.arpa."};
	struct ma_dns *d;
	enum ma_status st;
	size_t	i;
	int	rc;

	if (out == NULL)
		return (set_err(MA_ERR_INTERNAL, err, errlen, "no out", NULL));
	*out = NULL;
	if (opt == NULL)
		opt = &none;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return (set_err(MA_ERR_NOMEM, err, errlen, "out of memory",
				NULL));
	d->wake[0] = d->wake[1] = -1;
	pthread_mutex_init(&d->pf_lock, NULL);
	d->timeout_ms = opt->timeout_ms ? opt->timeout_ms :
	    MA_DNS_TIMEOUT_DEFAULT_MS;
	d->offline = opt->offline;
	if (opt->cache_entries > 0 &&
	    (d->cache = ma_dns_cache_new(opt->cache_entries)) == NULL) {
		st = set_err(MA_ERR_NOMEM, err, errlen, "out of memory",
			     NULL);
		goto fail;
	}
	if ((d->names = ma_dns_names_new()) == NULL ||
	    (d->ctx = ub_ctx_create()) == NULL) {
		st = set_err(MA_ERR_NOMEM, err, errlen,
			     "cannot create resolver context", NULL);
		goto fail;
	}
	if ((st = configure(d, opt, err, errlen)) != MA_OK)
		goto fail;
	if ((rc = ub_ctx_async(d->ctx, 1)) != 0) {
		st = set_err(MA_ERR_INTERNAL, err, errlen, "ub_ctx_async",
			     ub_strerror(rc));
		goto fail;
	}
	/* Test and home names are for the configured servers to answer. */
	for (i = 0; i < sizeof(upstream_zones) / sizeof(upstream_zones[0]);
	     i++)
		(void) ub_ctx_zone_remove(d->ctx, upstream_zones[i]);
	if (opt->offline &&
	    (rc = ub_ctx_zone_add(d->ctx, ".", "static")) != 0) {
		st = set_err(MA_ERR_INTERNAL, err, errlen,
			     "offline root zone", ub_strerror(rc));
		goto fail;
	}
	if ((st = start_dispatcher(d, err, errlen)) != MA_OK)
		goto fail;
	*out = d;
	return (MA_OK);
fail:
	ma_dns_free(&d);
	return (st);
}

/* ma_dns_free - stop the dispatcher, destroy the context */
void
ma_dns_free(struct ma_dns **dp)
{
	struct ma_dns *d;
	ssize_t	n;

	if (dp == NULL || (d = *dp) == NULL)
		return;
	if (d->has_thread) {
		do {
			n = write(d->wake[1], "x", 1);
		} while (n < 0 && errno == EINTR);
		pthread_join(d->thread, NULL);
	}
	if (d->ctx != NULL)
		ub_ctx_delete(d->ctx);
	/* the dispatcher is gone: no callback can run any more */
	while (d->pf_list != NULL) {
		struct prefetch *p = d->pf_list;

		d->pf_list = p->next;
		free(p);
	}
	pthread_mutex_destroy(&d->pf_lock);
	if (d->wake[0] >= 0)
		close(d->wake[0]);
	if (d->wake[1] >= 0)
		close(d->wake[1]);
	ma_dns_names_free(&d->names);
	ma_dns_cache_free(&d->cache);
	free(d);
	*dp = NULL;
}

/* is_started - has the first query run? */
static int
is_started(struct ma_dns *d)
{
	return (__atomic_load_n(&d->started, __ATOMIC_ACQUIRE));
}

/* ma_dns_add_record - add one zone-file line */
enum ma_status
ma_dns_add_record(struct ma_dns *d, const char *line, char *err,
		  size_t errlen)
{
	struct ma_dns_zone_rr rr;
	enum ma_status st;
	int	rc;

	if (d == NULL || line == NULL)
		return (set_err(MA_ERR_INTERNAL, err, errlen, "no context",
				NULL));
	if (is_started(d))
		return (set_err(MA_ERR_INTERNAL, err, errlen,
				"zone data added after the first query",
				NULL));
	st = ma_dns_zone_parse(line, strnlen(line, MA_LIMIT_ZONE_LINE + 1),
			       &rr, err, errlen);
	if (st == MA_ERR_NOTFOUND)
		return (MA_OK);		/* blank or comment */
	if (st != MA_OK)
		return (st);
	if ((rc = ub_ctx_data_add(d->ctx, rr.text)) != 0) {
		free(rr.text);
		return (set_err(MA_ERR_SYNTAX, err, errlen,
				"rejected by libunbound", ub_strerror(rc)));
	}
	free(rr.text);
	if ((st = ma_dns_names_add(d->names, rr.name, rr.name_len,
				   rr.type)) != MA_OK)
		return (set_err(st, err, errlen, "out of memory", NULL));
	return (MA_OK);
}

/* ma_dns_add_failure - queries for name without local data fail */
enum ma_status
ma_dns_add_failure(struct ma_dns *d, const char *name)
{
	size_t	len;

	if (d == NULL || name == NULL || is_started(d))
		return (MA_ERR_INTERNAL);
	len = strnlen(name, MA_DNS_NAME_MAX + 2);
	if (ma_dns_name_check(name, len) == 0)
		return (MA_ERR_SYNTAX);
	return (ma_dns_names_add(d->names, name, len, 0));
}

/* pending_unref - drop one reference; the last frees */
static void
pending_unref(struct pending *p)
{
	struct ub_result *res;
	int	last;

	pthread_mutex_lock(&p->mu);
	last = (--p->refs == 0);
	res = last ? p->res : NULL;
	pthread_mutex_unlock(&p->mu);
	if (!last)
		return;
	if (res != NULL)
		ub_resolve_free(res);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

/* pending_new - a pending query with references for waiter and callback */
static struct pending *
pending_new(void)
{
	struct pending *p;
	pthread_condattr_t ca;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return (NULL);
	if (pthread_mutex_init(&p->mu, NULL) != 0) {
		free(p);
		return (NULL);
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_cond_init(&p->cv, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		pthread_mutex_destroy(&p->mu);
		free(p);
		return (NULL);
	}
	pthread_condattr_destroy(&ca);
	p->refs = 2;
	return (p);
}

/* on_answer - libunbound callback, in the dispatcher thread */
static void
on_answer(void *arg, int err, struct ub_result *res)
{
	struct pending *p = arg;

	pthread_mutex_lock(&p->mu);
	if (p->abandoned) {
		if (res != NULL)
			ub_resolve_free(res);
	} else {
		p->err = err;
		p->res = res;
	}
	p->done = 1;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pending_unref(p);
}

/* fail_answer - non-answer outcome, counted in the budget */
static void
fail_answer(struct ma_dns_answer *ans, struct ma_dns_budget *b,
	    enum ma_dns_rcode rc, const char *why)
{
	ans->rcode = rc;
	ans->why = why;
	ans->n_rr = 0;
	ans->rr = NULL;
	if (b != NULL && rc == MA_DNS_TIMEOUT)
		b->timeouts++;
	if (b != NULL && rc == MA_DNS_SERVFAIL)
		b->servfails++;
}

/* rcode_why - short text for an error rcode */
static const char *
rcode_why(int rcode)
{
	switch (rcode) {
	case 1: return ("FORMERR");
	case 2: return ("SERVFAIL");
	case 4: return ("NOTIMP");
	case 5: return ("REFUSED");
	}
	return ("error rcode");
}

/* fill_rrs - decode n rdata into ans (ANSWER), or NODATA for none */
static enum ma_status
fill_rrs(struct ma_arena *arena, size_t n, char *const *data, const int *len,
	 struct ma_dns_answer *ans, struct ma_dns_budget *b)
{
	size_t	i, rdlen, txt_bytes = 0;
	const char *why;
	enum ma_status st;

	if (n == 0) {
		fail_answer(ans, b, MA_DNS_NODATA, "no data of that type");
		return (MA_OK);
	}
	if ((ans->rr = ma_arena_calloc(arena, n, sizeof(*ans->rr))) == NULL)
		return (MA_ERR_NOMEM);
	for (i = 0; i < n; i++) {
		rdlen = len[i] < 0 ? 0 : (size_t) len[i];
		st = ma_dns_rdata_decode(arena, ans->type,
					 (const unsigned char *) data[i],
					 rdlen, &ans->rr[i], &why);
		if (st == MA_ERR_NOMEM)
			return (st);
		if (st != MA_OK) {
			fail_answer(ans, b, MA_DNS_SERVFAIL, why);
			return (MA_OK);
		}
		txt_bytes += ans->rr[i].len;
		if ((ans->type == MA_DNS_TXT || ans->type == MA_DNS_T_SPF) &&
		    txt_bytes > MA_LIMIT_DNS_TXT_BYTES) {
			fail_answer(ans, b, MA_DNS_SERVFAIL,
				    "TXT RRset over the size limit");
			return (MA_OK);
		}
	}
	ans->n_rr = n;
	ans->rcode = MA_DNS_ANSWER;
	return (MA_OK);
}

/* count_rrs - RRs of a libunbound result; MA_LIMIT_DNS_RRS + 1: too many */
static size_t
count_rrs(const struct ub_result *res)
{
	size_t	n;

	for (n = 0; res->havedata && res->data != NULL &&
	     n <= MA_LIMIT_DNS_RRS && res->data[n] != NULL; n++)
		;
	return (n);
}

/* convert - libunbound result to our answer */
static enum ma_status
convert(struct ma_arena *arena, int err, struct ub_result *res,
	struct ma_dns_answer *ans, struct ma_dns_budget *b)
{
	if (err != 0 || res == NULL) {
		fail_answer(ans, b, MA_DNS_SERVFAIL,
			    err ? ub_strerror(err) : "no result");
		return (MA_OK);
	}
	ans->is_secure = res->secure;
	if (res->bogus) {
		fail_answer(ans, b, MA_DNS_SERVFAIL, "DNSSEC bogus");
		return (MA_OK);
	}
	if (res->rcode == RCODE_NXDOMAIN || res->nxdomain) {
		fail_answer(ans, b, MA_DNS_NXDOMAIN, "no such name");
		return (MA_OK);
	}
	if (res->rcode != 0) {
		fail_answer(ans, b, MA_DNS_SERVFAIL, rcode_why(res->rcode));
		return (MA_OK);
	}
	if (count_rrs(res) > MA_LIMIT_DNS_RRS) {
		fail_answer(ans, b, MA_DNS_SERVFAIL, "answer over the RR limit");
		return (MA_OK);
	}
	return (fill_rrs(arena, count_rrs(res), res->data, res->len, ans, b));
}

/* remember - keep a definite libunbound answer in the cache */
static void
remember(struct ma_dns *d, const char *name, int type, int err,
	 const struct ub_result *res)
{
	enum ma_dns_rcode rc;
	size_t	n = 0;

	if (d->cache == NULL || err != 0 || res == NULL || res->bogus ||
	    res->ttl <= 0)
		return;
	if (res->rcode == RCODE_NXDOMAIN || res->nxdomain)
		rc = MA_DNS_NXDOMAIN;
	else if (res->rcode != 0)
		return;
	else
		rc = (n = count_rrs(res)) > 0 ? MA_DNS_ANSWER : MA_DNS_NODATA;
	ma_dns_cache_put(d->cache, name, type, rc, res->secure, n, res->data,
			 res->len, (unsigned) res->ttl, ma_dns_now_ms());
}

/* from_cache - answer from the cache: MA_OK, MA_ERR_NOTFOUND, NOMEM */
static enum ma_status
from_cache(struct ma_dns *d, struct ma_arena *arena, const char *name,
	   int type, struct ma_dns_answer *ans, struct ma_dns_budget *b)
{
	struct ma_dns_cached hit;
	enum ma_status st;

	st = ma_dns_cache_get(d->cache, arena, name, type, ma_dns_now_ms(),
			      &hit);
	if (st != MA_OK)
		return (st);
	ans->is_secure = hit.secure;
	if (hit.rcode == MA_DNS_NXDOMAIN) {
		fail_answer(ans, b, MA_DNS_NXDOMAIN, "no such name");
		return (MA_OK);
	}
	return (fill_rrs(arena, hit.n, hit.data, hit.len, ans, b));
}

/*
 * needs_chase - local data answered with a CNAME only (libunbound
 * does not follow CNAMEs out of local zones): copy the target to
 * chase. Upstream answers come chased already and never get here
 * unless the chain dangles, which the next hop then reports.
 */
static int
needs_chase(const struct ub_result *res, const char *name, int type,
	    char *chase)
{
	size_t	clen, nlen, i;

	if (res->rcode != 0 || res->havedata || res->canonname == NULL ||
	    type == MA_DNS_CNAME)
		return (0);
	clen = strnlen(res->canonname, MA_DNS_NAME_MAX + 2);
	nlen = strlen(name);
	if ((clen = ma_dns_name_check(res->canonname, clen)) == 0)
		return (0);
	if (nlen > 0 && name[nlen - 1] == '.')
		nlen--;
	if (clen == nlen) {
		for (i = 0; i < clen; i++)
			if ((res->canonname[i] | 0x20) != (name[i] | 0x20))
				break;
		if (i == clen)
			return (0);	/* no CNAME: plain NODATA */
	}
	memcpy(chase, res->canonname, clen);
	chase[clen] = '\0';
	return (1);
}

/* wait_answer - send the query and wait until answer or deadline */
static enum ma_status
wait_answer(struct ma_dns *d, struct ma_arena *arena, const char *name,
	    int type, long long deadline, struct ma_dns_answer *ans,
	    struct ma_dns_budget *b, char *chase)
{
	struct pending *p;
	struct ub_result *res;
	struct timespec ts;
	enum ma_status st;
	int	id = 0, rc, err;

	chase[0] = '\0';
	if ((p = pending_new()) == NULL)
		return (MA_ERR_NOMEM);
	if ((rc = ub_resolve_async(d->ctx, name, type, 1, p, on_answer,
				   &id)) != 0) {
		p->refs = 1;		/* the callback will never run */
		pending_unref(p);
		fail_answer(ans, b, MA_DNS_SERVFAIL, ub_strerror(rc));
		return (MA_OK);
	}
	ts.tv_sec = (time_t) (deadline / 1000);
	ts.tv_nsec = (long) (deadline % 1000) * 1000000L;
	pthread_mutex_lock(&p->mu);
	while (!p->done) {
		rc = pthread_cond_timedwait(&p->cv, &p->mu, &ts);
		if (rc == ETIMEDOUT || (rc != 0 && rc != EINTR))
			break;
	}
	if (!p->done) {
		p->abandoned = 1;
		pthread_mutex_unlock(&p->mu);
		/* Success means the callback will never run: drop its ref. */
		if (ub_cancel(d->ctx, id) == 0)
			pending_unref(p);
		pending_unref(p);
		fail_answer(ans, b, MA_DNS_TIMEOUT, "timeout");
		return (MA_OK);
	}
	res = p->res;
	err = p->err;
	p->res = NULL;
	pthread_mutex_unlock(&p->mu);
	pending_unref(p);
	if (err == 0 && res != NULL && needs_chase(res, name, type, chase)) {
		ub_resolve_free(res);
		return (MA_OK);
	}
	remember(d, name, type, err, res);
	st = convert(arena, err, res, ans, b);
	if (res != NULL)
		ub_resolve_free(res);
	return (st);
}

/* pf_unlink - take p off the in-flight list; pf_lock held */
static void
pf_unlink(struct ma_dns *d, struct prefetch *p)
{
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		d->pf_list = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	d->pf_count--;
}

/* on_prefetch - libunbound callback: keep the answer, drop the rest */
static void
on_prefetch(void *arg, int err, struct ub_result *res)
{
	struct prefetch *p = arg;
	struct ma_dns *d = p->d;
	char	chase[MA_DNS_NAME_MAX + 1];

	if (err == 0 && res != NULL &&
	    !needs_chase(res, p->name, p->type, chase))
		remember(d, p->name, p->type, err, res);
	if (res != NULL)
		ub_resolve_free(res);
	pthread_mutex_lock(&d->pf_lock);
	pf_unlink(d, p);
	pthread_mutex_unlock(&d->pf_lock);
	free(p);
}

/* ma_dns_prefetch - start a query whose answer only feeds the cache */
void
ma_dns_prefetch(struct ma_dns *d, const char *name, int type)
{
	struct prefetch *p;
	size_t	len;

	if (d == NULL || d->cache == NULL || name == NULL || type <= 0 ||
	    type > 65535)
		return;
	len = strnlen(name, MA_DNS_NAME_MAX + 2);
	if (ma_dns_name_check(name, len) == 0 ||
	    ma_dns_names_fails(d->names, name, len, type))
		return;
	if (ma_dns_cache_has(d->cache, name, type, ma_dns_now_ms()) ||
	    (p = calloc(1, sizeof(*p))) == NULL)
		return;
	p->d = d;
	p->type = type;
	memcpy(p->name, name, len);
	p->name[len] = '\0';
	pthread_mutex_lock(&d->pf_lock);
	if (d->pf_count >= MA_LIMIT_DNS_PREFETCH) {
		pthread_mutex_unlock(&d->pf_lock);
		free(p);
		return;
	}
	/* listed before it is sent: its callback may run at once */
	p->next = d->pf_list;
	if (d->pf_list != NULL)
		d->pf_list->prev = p;
	d->pf_list = p;
	d->pf_count++;
	pthread_mutex_unlock(&d->pf_lock);
	__atomic_store_n(&d->started, 1, __ATOMIC_RELEASE);
	if (ub_resolve_async(d->ctx, p->name, type, 1, p, on_prefetch,
			     NULL) != 0) {
		pthread_mutex_lock(&d->pf_lock);
		pf_unlink(d, p);
		pthread_mutex_unlock(&d->pf_lock);
		free(p);
		return;
	}
	__atomic_add_fetch(&d->n_prefetches, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&all_prefetches, 1, __ATOMIC_RELAXED);
}

/* ma_dns_stats - read the counters */
void
ma_dns_stats(struct ma_dns *d, struct ma_dns_stats *out)
{
	unsigned long long misses;

	memset(out, 0, sizeof(*out));
	if (d == NULL)
		return;
	out->queries = __atomic_load_n(&d->n_queries, __ATOMIC_RELAXED);
	out->timeouts = __atomic_load_n(&d->n_timeouts, __ATOMIC_RELAXED);
	out->servfails = __atomic_load_n(&d->n_servfails, __ATOMIC_RELAXED);
	out->prefetches = __atomic_load_n(&d->n_prefetches, __ATOMIC_RELAXED);
	ma_dns_cache_stats(d->cache, &out->cache_hits, &misses,
			   &out->cache_entries);
}

/* ma_dns_stats_process - the counters of every context since start */
void
ma_dns_stats_process(struct ma_dns_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->queries = __atomic_load_n(&all_queries, __ATOMIC_RELAXED);
	out->timeouts = __atomic_load_n(&all_timeouts, __ATOMIC_RELAXED);
	out->servfails = __atomic_load_n(&all_servfails, __ATOMIC_RELAXED);
	out->prefetches = __atomic_load_n(&all_prefetches, __ATOMIC_RELAXED);
	ma_dns_cache_totals(&out->cache_hits, &out->cache_entries);
}

/* count - note the outcome of one query in the counters */
static enum ma_status
count(struct ma_dns *d, const struct ma_dns_answer *ans, enum ma_status st)
{
	__atomic_add_fetch(&all_queries, 1, __ATOMIC_RELAXED);
	if (ans->rcode == MA_DNS_TIMEOUT) {
		__atomic_add_fetch(&d->n_timeouts, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&all_timeouts, 1, __ATOMIC_RELAXED);
	} else if (ans->rcode == MA_DNS_SERVFAIL) {
		__atomic_add_fetch(&d->n_servfails, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&all_servfails, 1, __ATOMIC_RELAXED);
	}
	return (st);
}

/* resolve - ma_dns_query() without the counters */
static enum ma_status
resolve(struct ma_dns *d, struct ma_dns_budget *budget,
	struct ma_arena *arena, const char *name, int type,
	struct ma_dns_answer **out)
{
	struct ma_dns_answer *ans;
	char	chase[2][MA_DNS_NAME_MAX + 1];
	long long now, deadline;
	size_t	len;
	unsigned hop;
	enum ma_status st;

	if (out != NULL)
		*out = NULL;
	if (d == NULL || arena == NULL || out == NULL)
		return (MA_ERR_INTERNAL);
	if ((ans = ma_arena_alloc(arena, sizeof(*ans))) == NULL)
		return (MA_ERR_NOMEM);
	ans->type = type;
	*out = ans;
	len = name ? strnlen(name, MA_DNS_NAME_MAX + 2) : 0;
	if (ma_dns_name_check(name, len) == 0) {
		ans->rcode = MA_DNS_NXDOMAIN;
		ans->why = "invalid name";
		return (MA_ERR_SYNTAX);
	}
	if (type <= 0 || type > 65535) {
		ans->rcode = MA_DNS_SERVFAIL;
		ans->why = "invalid type";
		return (MA_ERR_INTERNAL);
	}
	__atomic_store_n(&d->started, 1, __ATOMIC_RELEASE);
	if (budget != NULL && budget->max_queries != 0 &&
	    budget->queries >= budget->max_queries) {
		fail_answer(ans, budget, MA_DNS_BUDGET, "query budget spent");
		return (MA_OK);
	}
	now = ma_dns_now_ms();
	deadline = now + d->timeout_ms;
	if (budget != NULL && budget->deadline_ms != 0 &&
	    budget->deadline_ms < deadline)
		deadline = budget->deadline_ms;
	if (deadline <= now) {
		fail_answer(ans, budget, MA_DNS_TIMEOUT, "deadline passed");
		return (MA_OK);
	}
	if (budget != NULL)
		budget->queries++;
	for (hop = 0;; hop++) {
		if (ma_dns_names_fails(d->names, name, len, type)) {
			fail_answer(ans, budget, MA_DNS_SERVFAIL,
				    "failure name");
			return (MA_OK);
		}
		st = from_cache(d, arena, name, type, ans, budget);
		if (st != MA_ERR_NOTFOUND)
			return (st);
		st = wait_answer(d, arena, name, type, deadline, ans, budget,
				 chase[hop % 2]);
		if (st != MA_OK || chase[hop % 2][0] == '\0')
			return (st);
		if (hop >= MA_LIMIT_DNS_CNAME_HOPS) {
			fail_answer(ans, budget, MA_DNS_SERVFAIL,
				    "CNAME chain too long");
			return (MA_OK);
		}
		name = chase[hop % 2];
		len = strlen(name);
	}
}

/* ma_dns_query - resolve name/type, charging budget */
enum ma_status
ma_dns_query(struct ma_dns *d, struct ma_dns_budget *budget,
	     struct ma_arena *arena, const char *name, int type,
	     struct ma_dns_answer **out)
{
	enum ma_status st;

	st = resolve(d, budget, arena, name, type, out);
	if (d == NULL || out == NULL || *out == NULL)
		return (st);
	__atomic_add_fetch(&d->n_queries, 1, __ATOMIC_RELAXED);
	return (count(d, *out, st));
}
