/*
 * NAME
 *	metrics - mailauthd's counters, histograms and their text format
 * SUMMARY
 *	count on the message path without a lock; render for Prometheus
 * SYNOPSIS
 *	#include "metrics.h"
 * DESCRIPTION
 *	Process-wide counters: messages by mode and action, SPF results by
 *	identity, DKIM results per signature (a judged message without
 *	any signature counts once as "none", as its Authentication-Results
 *	says dkim=none), DMARC results per judged message, the disposition
 *	DMARC failures asked for, evaluation errors, milter connections,
 *	reloads and key store failures; histograms of the time spent in
 *	each milter step and from MAIL FROM to the end-of-message reply.
 *	Every label value is written from the start (0), so rates and
 *	ratios work before the first event.
 *
 *	ma_metrics_render() adds what the engine modules count themselves:
 *	DNS (ma_dns_stats_process: every resolver context since start, so
 *	nothing goes back at a reload), the public key cache, the DMARC
 *	history store given by ma_metrics_set_report_store().
 *
 *	ma_metrics_timed() returns a handler whose steps read the monotonic
 *	clock, call the wrapped handler's step and add the time to that
 *	step's histogram: milter.c stays free of timing code.
 *
 *	Output: the Prometheus text exposition format 0.0.4, a HELP and a
 *	TYPE line per family, counters named *_total, times in seconds.
 * MEMORY
 *	Counters are static (one set per process); render writes into the
 *	caller's buffer only.
 * LIMITS
 *	MA_METRICS_BODY_MAX is what metrics_http.c gives render; the text
 *	is about 20 KiB, all label values are constants of ours.
 *	Histogram bounds: BOUND_NS below, 10 us to 10 s.
 * DIAGNOSTICS
 *	Nothing is logged here. render: MA_OK or MA_ERR_LIMIT.
 * THREADS
 *	Updates are relaxed __atomic adds from any thread; render reads each
 *	value atomically but not the set at one instant (a histogram's
 *	_count is the sum of its buckets as read, so "+Inf" and _count
 *	always agree). ma_metrics_timed() before the server threads start.
 * STANDARDS
 *	Prometheus exposition formats (text format 0.0.4), Prometheus
 *	metric and label naming conventions.
 * SEE ALSO
 *	metrics_http.c, milter.c, main.c, mailauthd(8) METRICS
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <mailauth/dkim.h>
#include <mailauth/dmarc.h>
#include <mailauth/dns.h>
#include <mailauth/engine.h>
#include <mailauth/report.h>
#include <mailauth/spf.h>

#include "metrics.h"
#include "mproto.h"

/* How many values each labelled counter has (the enums' last + 1). */
#define N_MODE		(MA_MODE_OUTBOUND + 1)
#define N_ACTION	(MA_ACTION_TEMPFAIL + 1)
#define N_SPF		(MA_SPF_PERMERROR + 1)
#define N_SPF_ID	(MA_SPF_HELO + 1)
#define N_DKIM		(MA_DKIM_PERMERROR + 1)
#define N_DMARC		(MA_DMARC_PERMERROR + 1)
#define N_DISP		(MA_DMARC_P_REJECT + 1)
#define N_BOUND		19

/* Histogram bucket upper bounds: nanoseconds and the "le" label text. */
static const long long BOUND_NS[N_BOUND] = {
	10000LL, 25000LL, 50000LL, 100000LL, 250000LL, 500000LL,
	1000000LL, 2500000LL, 5000000LL, 10000000LL, 25000000LL, 50000000LL,
	100000000LL, 250000000LL, 500000000LL, 1000000000LL, 2500000000LL,
	5000000000LL, 10000000000LL
};
static const char *const BOUND_LE[N_BOUND] = {
	"1e-05", "2.5e-05", "5e-05", "0.0001", "0.00025", "0.0005",
	"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
	"0.1", "0.25", "0.5", "1", "2.5", "5", "10"
};

static const char *const STAGE_NAME[MA_STAGE_COUNT] = {
	"connect", "helo", "mail", "rcpt", "header", "eoh", "body", "eom"
};
static const char *const MODE_NAME[N_MODE] = {"verify", "outbound"};
static const char *const SPF_ID_NAME[N_SPF_ID] = {"mailfrom", "helo"};

struct hist {
	unsigned long long bucket[N_BOUND + 1];	/* not cumulative; +Inf last */
	unsigned long long sum_ns;
};

/* Everything counted here; every member is updated atomically. */
static struct {
	unsigned long long messages[N_MODE][N_ACTION];
	unsigned long long spf[N_SPF_ID][N_SPF];
	unsigned long long dkim[N_DKIM];
	unsigned long long dmarc[N_DMARC];
	unsigned long long disposition[N_DISP];	/* DMARC fail: asked for */
	unsigned long long eval_errors;
	unsigned long long conns, conns_active;
	unsigned long long reloads_ok, reloads_failed, key_errors;
	int	reload_failed_last;
	long long start_time;
	struct hist stage[MA_STAGE_COUNT];
	struct hist message;
} M;

static struct ma_report_store *report_store;	/* atomic pointer */
static const struct ma_mhandler *inner;		/* ma_metrics_timed */
static struct ma_mhandler timed;

/* add - one relaxed atomic increment */
static inline void
add(unsigned long long *c, unsigned long long n)
{
	__atomic_add_fetch(c, n, __ATOMIC_RELAXED);
}

/* get - one relaxed atomic read */
static inline unsigned long long
get(const unsigned long long *c)
{
	return (__atomic_load_n(c, __ATOMIC_RELAXED));
}

/* ma_metrics_now_ns - CLOCK_MONOTONIC in nanoseconds */
long long
ma_metrics_now_ns(void)
{
	struct timespec ts;

	(void) clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long long) ts.tv_sec * 1000000000LL + ts.tv_nsec);
}

/* observe - one duration into a histogram */
static void
observe(struct hist *h, long long start_ns)
{
	long long d = ma_metrics_now_ns() - start_ns;
	size_t	i;

	if (d < 0)
		d = 0;
	for (i = 0; i < N_BOUND && d > BOUND_NS[i]; i++)
		;
	add(&h->bucket[i], 1);
	add(&h->sum_ns, (unsigned long long) d);
}

/* ma_metrics_stage_done - one call of stage s took from start_ns to now */
void
ma_metrics_stage_done(enum ma_metrics_stage s, long long start_ns)
{
	if ((unsigned) s < MA_STAGE_COUNT)
		observe(&M.stage[s], start_ns);
}

/* ma_metrics_message_done - MAIL FROM to the end-of-message reply */
void
ma_metrics_message_done(long long start_ns)
{
	if (start_ns > 0)
		observe(&M.message, start_ns);
}

/* ma_metrics_conn_open - a milter connection began */
void
ma_metrics_conn_open(void)
{
	add(&M.conns, 1);
	add(&M.conns_active, 1);
}

/* ma_metrics_conn_close - a milter connection ended */
void
ma_metrics_conn_close(void)
{
	__atomic_sub_fetch(&M.conns_active, 1, __ATOMIC_RELAXED);
}

/* ma_metrics_message - a message answered, by mode and action */
void
ma_metrics_message(enum ma_msg_mode mode, enum ma_action action)
{
	if ((unsigned) mode < N_MODE && (unsigned) action < N_ACTION)
		add(&M.messages[mode][action], 1);
}

/* count_spf - one SPF outcome of an identity (NULL: not run) */
static void
count_spf(enum ma_spf_identity id, const struct ma_spf_outcome *o)
{
	if (o != NULL && (unsigned) id < N_SPF_ID
	    && (unsigned) o->result < N_SPF)
		add(&M.spf[id][o->result], 1);
}

/* ma_metrics_verdict - a judged message: mode, action, results */
void
ma_metrics_verdict(const struct ma_verdict *v)
{
	const struct ma_dmarc_outcome *d = v->dmarc;
	size_t	i;

	ma_metrics_message(v->mode, v->action);
	if (v->mode != MA_MODE_VERIFY)
		return;
	count_spf(MA_SPF_MAILFROM, v->spf_mailfrom);
	count_spf(MA_SPF_HELO, v->spf_helo);
	if (v->n_dkim == 0)
		add(&M.dkim[MA_DKIM_NONE], 1);
	for (i = 0; i < v->n_dkim; i++)
		if ((unsigned) v->dkim[i].result < N_DKIM)
			add(&M.dkim[v->dkim[i].result], 1);
	if (d == NULL || (unsigned) d->result >= N_DMARC)
		return;
	add(&M.dmarc[d->result], 1);
	if (d->result == MA_DMARC_FAIL && d->disposition > MA_DMARC_P_UNSET
	    && (unsigned) d->disposition < N_DISP)
		add(&M.disposition[d->disposition], 1);
}

/* ma_metrics_eval_error - the engine could not judge a message */
void
ma_metrics_eval_error(void)
{
	add(&M.eval_errors, 1);
}

/* ma_metrics_reload - a reload ended */
void
ma_metrics_reload(int ok)
{
	add(ok ? &M.reloads_ok : &M.reloads_failed, 1);
	__atomic_store_n(&M.reload_failed_last, !ok, __ATOMIC_RELAXED);
}

/* ma_metrics_key_error - a key store failed to load */
void
ma_metrics_key_error(void)
{
	add(&M.key_errors, 1);
}

/* ma_metrics_set_report_store - whose counters to show */
void
ma_metrics_set_report_store(struct ma_report_store *s)
{
	__atomic_store_n(&report_store, s, __ATOMIC_RELEASE);
}

/* ma_metrics_mark_start - the start time shown (metrics_http.c) */
void
ma_metrics_mark_start(void)
{
	__atomic_store_n(&M.start_time, (long long) time(NULL),
			 __ATOMIC_RELAXED);
}

/*
 * The timed steps: clock, the wrapped step, the time into its
 * histogram. negotiate, abort and close are passed on as they are.
 */
static enum ma_mreply
t_connect(struct ma_mconn *c, const char *hostname, const struct sockaddr *sa)
{
	long long t = ma_metrics_now_ns();
	enum ma_mreply r = inner->connect(c, hostname, sa);

	ma_metrics_stage_done(MA_STAGE_CONNECT, t);
	return (r);
}

static enum ma_mreply
t_helo(struct ma_mconn *c, const char *helo)
{
	long long t = ma_metrics_now_ns();
	enum ma_mreply r = inner->helo(c, helo);

	ma_metrics_stage_done(MA_STAGE_HELO, t);
	return (r);
}

static enum ma_mreply
t_envfrom(struct ma_mconn *c, char **argv)
{
	long long t = ma_metrics_now_ns();
	enum ma_mreply r = inner->envfrom(c, argv);

	ma_metrics_stage_done(MA_STAGE_MAIL, t);
	return (r);
}

static enum ma_mreply
t_envrcpt(struct ma_mconn *c, char **argv)
{
	long long t = ma_metrics_now_ns();
	enum ma_mreply r = inner->envrcpt(c, argv);

	ma_metrics_stage_done(MA_STAGE_RCPT, t);
	return (r);
}

static enum ma_mreply
t_header(struct ma_mconn *c, const char *name, const char *value)
{
	long long t = ma_metrics_now_ns();
	enum ma_mreply r = inner->header(c, name, value);

	ma_metrics_stage_done(MA_STAGE_HEADER, t);
	return (r);
}

static enum ma_mreply
t_eoh(struct ma_mconn *c)
{
	long long t = ma_metrics_now_ns();
	enum ma_mreply r = inner->eoh(c);

	ma_metrics_stage_done(MA_STAGE_EOH, t);
	return (r);
}

static enum ma_mreply
t_body(struct ma_mconn *c, const unsigned char *p, size_t len)
{
	long long t = ma_metrics_now_ns();
	enum ma_mreply r = inner->body(c, p, len);

	ma_metrics_stage_done(MA_STAGE_BODY, t);
	return (r);
}

static enum ma_mreply
t_eom(struct ma_mconn *c)
{
	long long t = ma_metrics_now_ns();
	enum ma_mreply r = inner->eom(c);

	ma_metrics_stage_done(MA_STAGE_EOM, t);
	return (r);
}

/* ma_metrics_timed - h with every step timed */
const struct ma_mhandler *
ma_metrics_timed(const struct ma_mhandler *h)
{
	inner = h;
	timed = *h;
	if (h->connect != NULL)
		timed.connect = t_connect;
	if (h->helo != NULL)
		timed.helo = t_helo;
	if (h->envfrom != NULL)
		timed.envfrom = t_envfrom;
	if (h->envrcpt != NULL)
		timed.envrcpt = t_envrcpt;
	if (h->header != NULL)
		timed.header = t_header;
	if (h->eoh != NULL)
		timed.eoh = t_eoh;
	if (h->body != NULL)
		timed.body = t_body;
	if (h->eom != NULL)
		timed.eom = t_eom;
	return (&timed);
}

/* --- rendering ------------------------------------------------------------ */

struct out {
	char   *p;
	size_t	len, size;
	int	full;
};

/* put - append formatted text; notes when it does not fit */
static void put(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
put(struct out *o, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t) n >= o->size - o->len) {
		o->full = 1;
		o->p[o->len] = '\0';
		return;
	}
	o->len += (size_t) n;
}

/* family - the HELP and TYPE lines */
static void
family(struct out *o, const char *name, const char *type, const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* scalar - a family of one unlabelled value */
static void
scalar(struct out *o, const char *name, const char *type, const char *help,
       unsigned long long v)
{
	family(o, name, type, help);
	put(o, "%s %llu\n", name, v);
}

/* histogram - the series of one histogram; labels "" or `k="v",` */
static void
histogram(struct out *o, const char *name, const char *labels,
	  const struct hist *h)
{
	unsigned long long cum = 0;
	size_t	i;

	for (i = 0; i <= N_BOUND; i++) {
		cum += get(&h->bucket[i]);
		put(o, "%s_bucket{%sle=\"%s\"} %llu\n", name, labels,
		    i < N_BOUND ? BOUND_LE[i] : "+Inf", cum);
	}
	i = strlen(labels);
	put(o, "%s_sum%s%.*s%s %.9f\n", name, i ? "{" : "",
	    (int) (i ? i - 1 : 0), labels, i ? "}" : "",
	    (double) get(&h->sum_ns) / 1e9);
	put(o, "%s_count%s%.*s%s %llu\n", name, i ? "{" : "",
	    (int) (i ? i - 1 : 0), labels, i ? "}" : "", cum);
}

/* render_messages - messages, results, errors */
static void
render_messages(struct out *o)
{
	size_t	i, j;

	family(o, "mailauthd_messages_total", "counter", "Messages answered at "
	       "end of message, by mode and action taken.");
	for (i = 0; i < N_MODE; i++)
		for (j = 0; j < N_ACTION; j++)
			put(o, "mailauthd_messages_total{mode=\"%s\",action=\"%s\"}"
			    " %llu\n", MODE_NAME[i], ma_action_str((enum ma_action) j),
			    get(&M.messages[i][j]));
	family(o, "mailauthd_spf_results_total", "counter", "SPF results of "
	       "judged messages, by identity (mailfrom, helo) and result.");
	for (i = 0; i < N_SPF_ID; i++)
		for (j = 0; j < N_SPF; j++)
			put(o, "mailauthd_spf_results_total{identity=\"%s\","
			    "result=\"%s\"} %llu\n", SPF_ID_NAME[i],
			    ma_spf_result_str((enum ma_spf_result) j),
			    get(&M.spf[i][j]));
	family(o, "mailauthd_dkim_results_total", "counter", "DKIM results, "
	       "one per signature; a judged message without any signature "
	       "counts once as none.");
	for (j = 0; j < N_DKIM; j++)
		put(o, "mailauthd_dkim_results_total{result=\"%s\"} %llu\n",
		    ma_dkim_result_str((enum ma_dkim_result) j), get(&M.dkim[j]));
	family(o, "mailauthd_dmarc_results_total", "counter", "DMARC results, "
	       "one per judged message.");
	for (j = 0; j < N_DMARC; j++)
		put(o, "mailauthd_dmarc_results_total{result=\"%s\"} %llu\n",
		    ma_dmarc_result_str((enum ma_dmarc_result) j),
		    get(&M.dmarc[j]));
	family(o, "mailauthd_dmarc_fail_disposition_total", "counter",
	       "DMARC failures by the disposition the domain's policy asks "
	       "for (after t=y).");
	for (j = MA_DMARC_P_NONE; j < N_DISP; j++)
		put(o, "mailauthd_dmarc_fail_disposition_total{disposition="
		    "\"%s\"} %llu\n", ma_dmarc_policy_str((enum ma_dmarc_policy) j),
		    get(&M.disposition[j]));
	scalar(o, "mailauthd_evaluation_errors_total", "counter", "Messages "
	       "the engine could not judge (the on-error action applied).",
	       get(&M.eval_errors));
}

/* render_daemon - connections, reloads, keys, start, build */
static void
render_daemon(struct out *o)
{
	scalar(o, "mailauthd_connections_total", "counter", "Milter "
	       "connections (sessions) begun.", get(&M.conns));
	scalar(o, "mailauthd_connections_active", "gauge", "Milter "
	       "connections open now.", get(&M.conns_active));
	family(o, "mailauthd_config_reloads_total", "counter", "Configuration "
	       "reloads (SIGHUP, SIGUSR1), by result.");
	put(o, "mailauthd_config_reloads_total{result=\"success\"} %llu\n",
	    get(&M.reloads_ok));
	put(o, "mailauthd_config_reloads_total{result=\"failure\"} %llu\n",
	    get(&M.reloads_failed));
	scalar(o, "mailauthd_config_last_reload_successful", "gauge", "1 when "
	       "the last reload succeeded (or none was tried), else 0.",
	       !__atomic_load_n(&M.reload_failed_last, __ATOMIC_RELAXED));
	scalar(o, "mailauthd_key_load_errors_total", "counter", "Signing key "
	       "stores (KeyTable, SigningTable, key files) that failed to "
	       "load at a reload.", get(&M.key_errors));
	scalar(o, "mailauthd_start_time_seconds", "gauge", "When the daemon "
	       "started, seconds since the Unix epoch.", (unsigned long long)
	       __atomic_load_n(&M.start_time, __ATOMIC_RELAXED));
	family(o, "mailauthd_build_info", "gauge", "The version running, as a "
	       "label; the value is always 1.");
	put(o, "mailauthd_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
}

/* render_engine - what the engine's modules count */
static void
render_engine(struct out *o)
{
	struct ma_dns_stats d;
	struct ma_report_store_stats r;
	struct ma_report_store *s;
	unsigned long long hits, misses;

	ma_dns_stats_process(&d);
	scalar(o, "mailauthd_dns_queries_total", "counter", "DNS lookups "
	       "asked by evaluations (answered from the cache or not).",
	       d.queries);
	scalar(o, "mailauthd_dns_cache_hits_total", "counter", "DNS lookups "
	       "answered from mailauthd's answer cache.", d.cache_hits);
	scalar(o, "mailauthd_dns_timeouts_total", "counter", "DNS lookups "
	       "that timed out.", d.timeouts);
	scalar(o, "mailauthd_dns_servfails_total", "counter", "DNS lookups "
	       "that ended in SERVFAIL.", d.servfails);
	scalar(o, "mailauthd_dns_prefetches_total", "counter", "DNS queries "
	       "started early to fill the cache.", d.prefetches);
	scalar(o, "mailauthd_dns_cache_entries", "gauge", "DNS answers held "
	       "in the cache now.", (unsigned long long) d.cache_entries);
	ma_pubkey_stats(&hits, &misses);
	scalar(o, "mailauthd_dkim_key_cache_hits_total", "counter", "DKIM "
	       "public keys found decoded in the key cache.", hits);
	scalar(o, "mailauthd_dkim_key_cache_misses_total", "counter", "DKIM "
	       "public keys decoded anew.", misses);

	memset(&r, 0, sizeof(r));
	if ((s = __atomic_load_n(&report_store, __ATOMIC_ACQUIRE)) != NULL)
		ma_report_store_stats(s, &r);
	scalar(o, "mailauthd_report_rows_total", "counter", "DMARC history "
	       "rows handed to the report store.", r.appended);
	scalar(o, "mailauthd_report_rows_stored_total", "counter", "DMARC "
	       "history rows written to the database.", r.stored);
	scalar(o, "mailauthd_report_rows_spooled_total", "counter", "DMARC "
	       "history rows written to the spool file (database behind "
	       "or down).", r.spooled);
	scalar(o, "mailauthd_report_queue_full_total", "counter", "Rows that "
	       "found the in-memory queue full.", r.queue_full);
	scalar(o, "mailauthd_report_db_errors_total", "counter", "Failed "
	       "report database operations.", r.db_errors);
	scalar(o, "mailauthd_report_queue_rows", "gauge", "DMARC history "
	       "rows queued in memory now.", (unsigned long long) r.queue_depth);
}

/* ma_metrics_render - every family, in the text format */
enum ma_status
ma_metrics_render(char *buf, size_t size, size_t *len_out)
{
	struct out o = {buf, 0, size, 0};
	char	labels[32];
	size_t	i;

	*len_out = 0;
	if (size == 0)
		return (MA_ERR_LIMIT);
	buf[0] = '\0';
	render_messages(&o);
	render_daemon(&o);
	render_engine(&o);
	family(&o, "mailauthd_stage_duration_seconds", "histogram", "Time "
	       "spent in mailauthd per milter step (one observation per "
	       "callback: per header field, per body chunk).");
	for (i = 0; i < MA_STAGE_COUNT; i++) {
		(void) snprintf(labels, sizeof(labels), "stage=\"%s\",",
				STAGE_NAME[i]);
		histogram(&o, "mailauthd_stage_duration_seconds", labels,
			  &M.stage[i]);
	}
	family(&o, "mailauthd_message_duration_seconds", "histogram", "From "
	       "MAIL FROM to the end-of-message reply, per message (includes "
	       "the MTA's time between steps).");
	histogram(&o, "mailauthd_message_duration_seconds", "", &M.message);
	*len_out = o.len;
	return (o.full ? MA_ERR_LIMIT : MA_OK);
}
