/*
 * NAME
 *	log.h - the engine's log sink
 * DESCRIPTION
 *	The engine logs through a sink the front end installs (syslog,
 *	stderr, test capture). Levels follow Postfix msg(3): debug, info
 *	(one line per message), warn (this message or peer), error, fatal
 *	(startup and configuration only), panic (our bug).
 *	ma_log_sanitize() makes attacker-controlled text safe to log.
 */
#ifndef MAILAUTH_LOG_H
#define MAILAUTH_LOG_H

#include <stddef.h>

enum ma_log_level {
	MA_LOG_DEBUG, MA_LOG_INFO, MA_LOG_WARN, MA_LOG_ERROR, MA_LOG_FATAL,
	MA_LOG_PANIC
};

typedef void (*ma_log_sink_fn)(enum ma_log_level level, const char *text,
				void *ctx);

/* ma_log_set_sink - install the sink (NULL: stderr); call before threads start */
void	ma_log_set_sink(ma_log_sink_fn fn, void *ctx, enum ma_log_level min);

/* ma_log - format and emit one line */
void	ma_log(enum ma_log_level level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* ma_log_enabled - whether a level would be emitted */
int	ma_log_enabled(enum ma_log_level level);

/*
 * ma_log_sanitize - copy at most dstlen-1 bytes of in (inlen bytes, may hold
 * NUL) into dst, replacing control characters, non-ASCII and quotes by '?'
 * and marking truncation with "...". Returns dst.
 */
char   *ma_log_sanitize(char *dst, size_t dstlen, const char *in, size_t inlen);

#endif
