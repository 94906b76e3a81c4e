/*
 * NAME
 *	log - the engine's log sink
 * SYNOPSIS
 *	#include <mailauth/log.h>
 * DESCRIPTION
 *	ma_log() formats into a stack buffer and hands the line to the sink
 *	the front end installed (default: stderr). Lines longer than
 *	LOG_LINE_MAX are cut and marked with "...".
 * THREADS
 *	The sink is set before threads start and only read afterwards.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <mailauth/log.h>
#include <mailauth/status.h>

#define LOG_LINE_MAX	2048

static ma_log_sink_fn log_sink;
static void *log_ctx;
static enum ma_log_level log_min = MA_LOG_INFO;

static const char *const level_name[] = {
	"debug", "info", "warning", "error", "fatal", "panic"
};

/* ma_log_set_sink - install the sink */
void
ma_log_set_sink(ma_log_sink_fn fn, void *ctx, enum ma_log_level min)
{
	log_sink = fn;
	log_ctx = ctx;
	log_min = min;
}

/* ma_log_enabled - whether level is emitted */
int
ma_log_enabled(enum ma_log_level level)
{
	return (level >= log_min);
}

/* ma_log - emit one line */
void
ma_log(enum ma_log_level level, const char *fmt, ...)
{
	char	line[LOG_LINE_MAX];
	va_list	ap;
	int	n;

	if (level < log_min)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t) n >= sizeof(line))
		memcpy(line + sizeof(line) - 4, "...", 4);
	if (log_sink != NULL)
		log_sink(level, line, log_ctx);
	else
		fprintf(stderr, "mailauthd: %s: %s\n", level_name[level], line);
}

/* ma_log_sanitize - printable, quote-free, bounded copy */
char   *
ma_log_sanitize(char *dst, size_t dstlen, const char *in, size_t inlen)
{
	size_t	i, o = 0;

	if (dstlen == 0)
		return (dst);
	for (i = 0; i < inlen && o + 1 < dstlen; i++) {
		unsigned char c = (unsigned char) in[i];

		dst[o++] = (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') ? '?' : (char) c;
	}
	dst[o] = '\0';
	if (i < inlen && dstlen >= 4)
		memcpy(dst + dstlen - 4, "...", 4);
	return (dst);
}

/* ma_status_str - name of a status */
const char *
ma_status_str(enum ma_status st)
{
	switch (st) {
	case MA_OK:
		return ("ok");
	case MA_ERR_SYNTAX:
		return ("syntax error");
	case MA_ERR_LIMIT:
		return ("limit exceeded");
	case MA_ERR_TEMP:
		return ("temporary failure");
	case MA_ERR_NOMEM:
		return ("out of memory");
	case MA_ERR_INTERNAL:
		return ("internal error");
	case MA_ERR_NOTFOUND:
		return ("not found");
	case MA_ERR_IO:
		return ("I/O error");
	}
	return ("unknown status");
}
