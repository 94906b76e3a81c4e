/*
 * report_pg_driver - drive the report store for tests/report_pg.sh
 *
 *	report_pg_driver write URL SPOOL REPORTER FIRST COUNT DELAY_US
 *		append rows FIRST..FIRST+COUNT-1 with the writer thread,
 *		DELAY_US apart; then flush until the database has them all
 *		(60 s at most); print the store's counters.
 *	report_pg_driver check URL REPORTER FIRST COUNT
 *		every one of those rows is stored exactly once, field for
 *		field as written, and in report order.
 *	report_pg_driver sent URL
 *		mark_sent/was_sent round trip.
 *
 * Row contents are a function of (reporter, n), with hostile bytes and
 * 0..MA_REPORT_MAX_DKIM DKIM results, so "check" can rebuild them.
 * Not a test by itself (not in TESTS).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mailauth/log.h>
#include <mailauth/report.h>

/* make_row - the row number n of reporter */
static void
make_row(struct ma_report_row *r, const char *reporter, long long n)
{
	size_t	i;

	memset(r, 0, sizeof(*r));
	r->when = 1700000000LL + n;
	(void)snprintf(r->reporter, sizeof(r->reporter), "%s", reporter);
	(void)snprintf(r->source_ip, sizeof(r->source_ip), "192.0.2.%lld",
		       n % 250);
	(void)snprintf(r->header_from, sizeof(r->header_from),
		       "o'neil\"%lld;,%%\t\n\xc3\xa9.example", n);
	(void)snprintf(r->policy_domain, sizeof(r->policy_domain),
		       "dom%lld.example", n % 7);
	(void)snprintf(r->p, sizeof(r->p), "reject");
	(void)snprintf(r->adkim, sizeof(r->adkim), "s");
	r->testing = (int)(n % 2);
	(void)snprintf(r->rua, sizeof(r->rua),
		       "mailto:a@b.example,mailto:'x'@c.example!10m");
	(void)snprintf(r->dmarc_result, sizeof(r->dmarc_result), "fail");
	(void)snprintf(r->override_comment, sizeof(r->override_comment),
		       "line1\nline2 %lld", n);
	r->n_dkim = (size_t)(n % (MA_REPORT_MAX_DKIM + 1));
	for (i = 0; i < r->n_dkim; i++) {
		(void)snprintf(r->dkim[i].domain, sizeof(r->dkim[i].domain),
			       "d%zu.example", i);
		(void)snprintf(r->dkim[i].selector,
			       sizeof(r->dkim[i].selector), "s;%zu", i);
		(void)snprintf(r->dkim[i].result, sizeof(r->dkim[i].result),
			       "pass");
		(void)snprintf(r->dkim[i].human_result,
			       sizeof(r->dkim[i].human_result), "a,b%lld", n);
	}
	r->n_spf = 1;
	(void)snprintf(r->spf[0].domain, sizeof(r->spf[0].domain),
		       "bounce.example");
	(void)snprintf(r->spf[0].scope, sizeof(r->spf[0].scope), "mfrom");
	(void)snprintf(r->spf[0].result, sizeof(r->spf[0].result), "softfail");
}

/* open_store - or exit */
static struct ma_report_store *
open_store(const char *url, const char *spool, int threaded)
{
	struct ma_report_store_options o = { url, spool, 0, threaded };
	struct ma_report_store *s;
	char	err[512];

	if (ma_report_store_open(&o, &s, err, sizeof(err)) != MA_OK) {
		fprintf(stderr, "open: %s\n", err);
		exit(2);
	}
	return s;
}

/* cmd_write - append rows, then flush until stored */
static int
cmd_write(char **av)
{
	struct ma_report_store *s = open_store(av[0], av[1], 1);
	struct ma_report_store_stats st;
	struct ma_report_row r;
	long long first = atoll(av[3]), count = atoll(av[4]), i;
	long	delay = atol(av[5]);
	int	tries;

	for (i = 0; i < count; i++) {
		make_row(&r, av[2], first + i);
		if (ma_report_store_append(s, &r) != MA_OK) {
			fprintf(stderr, "append %lld failed\n", i);
			return 1;
		}
		if (delay > 0)
			(void)usleep((useconds_t)delay);
	}
	for (tries = 0; ma_report_store_flush(s) != MA_OK; tries++) {
		if (tries == 300) {
			fprintf(stderr, "flush: database still down\n");
			return 1;
		}
		(void)usleep(200000);
	}
	ma_report_store_stats(s, &st);
	printf("appended=%llu stored=%llu spooled=%llu queue_full=%llu"
	       " db_errors=%llu\n", st.appended, st.stored, st.spooled,
	       st.queue_full, st.db_errors);
	ma_report_store_close(&s);
	return 0;
}

struct check {
	const char *reporter;
	long long first, count, seen_rows, bad;
	unsigned char *seen;
	char	prev_domain[256];
	long long prev_when;
};

/* check_row - each row of the period: ours once and intact, in order */
static int
check_row(const struct ma_report_row *row, void *ctx)
{
	struct check *c = ctx;
	struct ma_report_row want;
	long long n = row->when - 1700000000LL - c->first;
	int	cmp = strcmp(c->prev_domain, row->policy_domain);

	if (cmp > 0 || (cmp == 0 && row->when < c->prev_when)) {
		fprintf(stderr, "out of order at %s %lld\n",
			row->policy_domain, row->when);
		c->bad++;
	}
	(void)snprintf(c->prev_domain, sizeof(c->prev_domain), "%s",
		       row->policy_domain);
	c->prev_when = row->when;
	if (strcmp(row->reporter, c->reporter) != 0)
		return 0;
	c->seen_rows++;
	if (n < 0 || n >= c->count) {
		c->bad++;
		return 0;
	}
	if (c->seen[n]++) {
		fprintf(stderr, "row %lld stored twice\n", n);
		c->bad++;
	}
	make_row(&want, c->reporter, c->first + n);
	if (memcmp(&want, row, sizeof(want)) != 0) {
		fprintf(stderr, "row %lld differs from what was written\n", n);
		c->bad++;
	}
	return 0;
}

/* cmd_check - every row once, intact */
static int
cmd_check(char **av)
{
	struct ma_report_store *s = open_store(av[0], NULL, 0);
	struct check c = { 0 };
	long long i, missing = 0;
	enum ma_status st;

	c.reporter = av[1];
	c.first = atoll(av[2]);
	c.count = atoll(av[3]);
	c.seen = calloc((size_t)c.count, 1);
	if (c.seen == NULL)
		return 2;
	st = ma_report_store_rows(s, 1700000000LL + c.first,
				  1700000000LL + c.first + c.count, check_row,
				  &c);
	for (i = 0; i < c.count; i++)
		missing += !c.seen[i];
	ma_report_store_close(&s);
	free(c.seen);
	printf("rows=%lld missing=%lld bad=%lld\n", c.seen_rows, missing,
	       c.bad);
	return st == MA_OK && missing == 0 && c.bad == 0 &&
	    c.seen_rows == c.count ? 0 : 1;
}

/* cmd_sent - sent-report bookkeeping */
static int
cmd_sent(char **av)
{
	struct ma_report_store *s = open_store(av[0], NULL, 0);
	int	a = -1, b = -1, ok;

	ok = ma_report_store_was_sent(s, "dom1.example", 0, 86400, &a) ==
	    MA_OK &&
	    ma_report_store_mark_sent(s, "dom1.example", 0, 86400, "r1") ==
	    MA_OK &&
	    ma_report_store_mark_sent(s, "dom1.example", 0, 86400, "r2") ==
	    MA_OK &&
	    ma_report_store_was_sent(s, "dom1.example", 0, 86400, &b) == MA_OK;
	ma_report_store_close(&s);
	printf("before=%d after=%d\n", a, b);
	return ok && a == 0 && b == 1 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	ma_log_set_sink(NULL, NULL, MA_LOG_INFO);
	if (argc == 8 && strcmp(argv[1], "write") == 0)
		return cmd_write(argv + 2);
	if (argc == 6 && strcmp(argv[1], "check") == 0)
		return cmd_check(argv + 2);
	if (argc == 3 && strcmp(argv[1], "sent") == 0)
		return cmd_sent(argv + 2);
	fprintf(stderr, "usage: report_pg_driver write URL SPOOL REPORTER"
		" FIRST COUNT DELAY_US | check URL REPORTER FIRST COUNT |"
		" sent URL\n");
	return 2;
}
