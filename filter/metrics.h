/*
 * NAME
 *	metrics.h - mailauthd's counters and its Prometheus endpoint
 * DESCRIPTION
 *	metrics.c keeps process-wide counters and histograms, updated with
 *	relaxed atomic adds on the message path (no lock), and renders them
 *	with the counters of the engine's modules (DNS, report store, public
 *	key cache) in the Prometheus text format 0.0.4. metrics_http.c
 *	serves that text over HTTP (libmicrohttpd) on MetricsListen.
 *
 *	milter.c counts connections and verdicts; ma_metrics_timed() wraps
 *	its protocol steps to time them; main.c counts reloads and key
 *	store failures and starts and stops the endpoint.
 */
#ifndef MAILAUTH_METRICS_H
#define MAILAUTH_METRICS_H

#include <stddef.h>

#include <mailauth/engine.h>
#include <mailauth/status.h>

struct ma_mhandler;
struct ma_report_store;
struct ma_metrics_http;

/* Milter steps timed (time spent in our callback), one histogram each. */
enum ma_metrics_stage {
	MA_STAGE_CONNECT, MA_STAGE_HELO, MA_STAGE_MAIL, MA_STAGE_RCPT,
	MA_STAGE_HEADER, MA_STAGE_EOH, MA_STAGE_BODY, MA_STAGE_EOM,
	MA_STAGE_COUNT
};

/* Largest rendered scrape (the whole text is about 20 KiB). */
#define MA_METRICS_BODY_MAX	(128 * 1024)

/* ma_metrics_now_ns - CLOCK_MONOTONIC in nanoseconds */
long long ma_metrics_now_ns(void);

/* ma_metrics_stage_done - one call of stage s took from start_ns to now */
void	ma_metrics_stage_done(enum ma_metrics_stage s, long long start_ns);

/* ma_metrics_message_done - MAIL FROM (start_ns) to the end-of-message reply */
void	ma_metrics_message_done(long long start_ns);

/* ma_metrics_conn_open, _close - a milter connection began, ended */
void	ma_metrics_conn_open(void);
void	ma_metrics_conn_close(void);

/* ma_metrics_verdict - a judged message: mode, action, per-method results */
void	ma_metrics_verdict(const struct ma_verdict *v);

/* ma_metrics_message - a message answered without a verdict (error, Mode) */
void	ma_metrics_message(enum ma_msg_mode mode, enum ma_action action);

/* ma_metrics_eval_error - the engine could not judge a message */
void	ma_metrics_eval_error(void);

/* ma_metrics_reload - a reload ended (ok: the new configuration serves) */
void	ma_metrics_reload(int ok);

/* ma_metrics_key_error - the key store of a configuration failed to load */
void	ma_metrics_key_error(void);

/* ma_metrics_set_report_store - whose counters to show (NULL: none) */
void	ma_metrics_set_report_store(struct ma_report_store *s);

/* ma_metrics_mark_start - now is the start time shown (http_start calls it) */
void	ma_metrics_mark_start(void);

/*
 * ma_metrics_timed - a handler that times each step of h (which must
 * live as long) and calls it. One at a time: call before serving.
 */
const struct ma_mhandler *ma_metrics_timed(const struct ma_mhandler *h);

/*
 * ma_metrics_render - the text format into buf (size bytes); *len_out
 * bytes written. MA_ERR_LIMIT when it does not fit (buf then holds a
 * cut text: do not serve it).
 */
enum ma_status ma_metrics_render(char *buf, size_t size, size_t *len_out);

/*
 * ma_metrics_http_start - serve GET /metrics on listen ("ADDR:PORT" or
 * "[ADDR6]:PORT", numeric) in a thread of its own; err names what
 * failed. Call before the privilege drop if the port needs it, and
 * after the signals are blocked (the thread inherits the mask).
 */
enum ma_status ma_metrics_http_start(const char *listen,
				     struct ma_metrics_http **out, char *err,
				     size_t errlen);

/* ma_metrics_http_stop - stop serving, close, free; takes NULL */
void	ma_metrics_http_stop(struct ma_metrics_http **hp);

#endif
