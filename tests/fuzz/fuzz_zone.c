/*
 * NAME
 *	fuzz_zone.c - libFuzzer target: zone-file lines (local DNS data)
 * DESCRIPTION
 *	The input is zone-file text, one record a line. Every line goes
 *	through the pure line parser (ma_dns_zone_parse, dns_int.h) and then
 *	ma_dns_add_record on an offline struct ma_dns, which hands the
 *	rewritten record to libunbound.
 *
 *	Making a libunbound context costs far more than parsing a line, so
 *	the context is made once and replaced every RENEW_EVERY inputs (and
 *	freed at exit): records accumulate between renewals, which bounds
 *	the memory held and keeps runs reproducible enough (a crash that
 *	needs earlier records shows up as a crash on a short sequence; run
 *	with -runs or reproduce with the parser call alone).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mailauth/dns.h>
#include <mailauth/log.h>
#include "dns_int.h"

#define RENEW_EVERY	1000

static struct ma_dns *dns;
static unsigned n_inputs;

/* quiet_sink - drop log lines: bad lines are expected */
static void
quiet_sink(enum ma_log_level level, const char *text, void *ctx)
{
	(void) level;
	(void) text;
	(void) ctx;
}

/* free_dns - at exit: release the context (keeps LeakSanitizer quiet) */
static void
free_dns(void)
{
	ma_dns_free(&dns);
}

/* renew_dns - a fresh offline context every RENEW_EVERY inputs */
static void
renew_dns(void)
{
	struct ma_dns_options opt;
	char	err[256];

	if (dns != NULL && n_inputs % RENEW_EVERY != 0)
		return;
	if (dns == NULL && n_inputs == 0) {
		ma_log_set_sink(quiet_sink, NULL, MA_LOG_PANIC);
		atexit(free_dns);
	}
	ma_dns_free(&dns);
	memset(&opt, 0, sizeof(opt));
	opt.offline = 1;
	if (ma_dns_new(&opt, &dns, err, sizeof(err)) != MA_OK) {
		fprintf(stderr, "fuzz_zone: ma_dns_new: %s\n", err);
		abort();
	}
}

/* one_line - parser alone, then the whole add path */
static void
one_line(const char *line, size_t len)
{
	struct ma_dns_zone_rr rr;
	char	err[256];

	memset(&rr, 0, sizeof(rr));
	if (ma_dns_zone_parse(line, len, &rr, err, sizeof(err)) == MA_OK)
		free(rr.text);
	(void) ma_dns_add_record(dns, line, err, sizeof(err));
}

/* LLVMFuzzerTestOneInput - one zone text, line by line */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char   *buf, *p, *nl;

	renew_dns();
	n_inputs++;
	if ((buf = malloc(size + 1)) == NULL)
		return (0);
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (p = buf; p < buf + size; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t) (buf + size - p))) == NULL)
			nl = buf + size;
		*nl = '\0';
		one_line(p, strlen(p));	/* stops at an embedded NUL too */
		if (nl == buf + size)
			break;
	}
	free(buf);
	return (0);
}
