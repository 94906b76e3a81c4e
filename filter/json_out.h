/*
 * NAME
 *	json_out.h - a verdict as one JSON object (mailauth-check --json)
 */
#ifndef MAILAUTH_JSON_OUT_H
#define MAILAUTH_JSON_OUT_H

#include <mailauth/engine.h>

/* ma_json_verdict - malloc'ed JSON text, or NULL when out of memory */
char   *ma_json_verdict(const struct ma_verdict *v);

/*
 * ma_json_log_line - a verdict's key=value log line as one JSON object
 * (LogFormat json): each key a string member in order, "dkim" always an
 * array; malloc'ed, or NULL when out of memory
 */
char   *ma_json_log_line(const char *qid, const char *line);

#endif
