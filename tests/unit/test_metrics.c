/*
 * test_metrics - mailauthd's counters and their text format (metrics.c)
 *
 * The counters are process-wide and Check may run the tests in one
 * process (CK_FORK=no under valgrind): every case looks at the change
 * of a series across what it does, never at its absolute value.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailauth/engine.h>

#include "metrics.h"
#include "mproto.h"

static char text[MA_METRICS_BODY_MAX];

/* render - the whole text into the static buffer */
static void
render(void)
{
	size_t	len;

	ck_assert_int_eq(ma_metrics_render(text, sizeof(text), &len), MA_OK);
	ck_assert_uint_eq(strlen(text), len);
}

/* value - the value of one series (name with labels) in the text; -1 if absent */
static long long
value(const char *series)
{
	size_t	n = strlen(series);
	const char *p = text;

	while ((p = strstr(p, series)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return (strtoll(p + n + 1, NULL, 10));
		p += n;
	}
	return (-1);
}

START_TEST(test_verdicts_counted)
{
	static const struct {
		const char *series;
		long long want;		/* change */
	} t[] = {
		{"mailauthd_messages_total{mode=\"verify\",action=\"reject\"}", 1},
		{"mailauthd_messages_total{mode=\"verify\",action=\"accept\"}", 1},
		{"mailauthd_messages_total{mode=\"outbound\",action=\"accept\"}", 1},
		{"mailauthd_messages_total{mode=\"outbound\",action=\"tempfail\"}", 1},
		{"mailauthd_spf_results_total{identity=\"mailfrom\",result=\"pass\"}", 1},
		{"mailauthd_spf_results_total{identity=\"mailfrom\",result=\"fail\"}", 1},
		{"mailauthd_spf_results_total{identity=\"helo\",result=\"pass\"}", 1},
		{"mailauthd_dkim_results_total{result=\"pass\"}", 1},
		{"mailauthd_dkim_results_total{result=\"fail\"}", 1},
		{"mailauthd_dkim_results_total{result=\"none\"}", 1},
		{"mailauthd_dmarc_results_total{result=\"fail\"}", 1},
		{"mailauthd_dmarc_results_total{result=\"pass\"}", 1},
		{"mailauthd_dmarc_fail_disposition_total{disposition=\"reject\"}", 1},
		{"mailauthd_dmarc_fail_disposition_total{disposition=\"none\"}", 0},
		{"mailauthd_evaluation_errors_total", 1},
	};
	struct ma_spf_outcome pass, fail;
	struct ma_dkim_sig sigs[2];
	struct ma_dmarc_outcome dm_fail, dm_pass;
	struct ma_verdict v;
	long long before[sizeof(t) / sizeof(t[0])];
	size_t	i;

	memset(&pass, 0, sizeof(pass));
	memset(&fail, 0, sizeof(fail));
	memset(sigs, 0, sizeof(sigs));
	memset(&dm_fail, 0, sizeof(dm_fail));
	memset(&dm_pass, 0, sizeof(dm_pass));
	pass.result = MA_SPF_PASS;
	fail.result = MA_SPF_FAIL;
	sigs[0].result = MA_DKIM_PASS;
	sigs[1].result = MA_DKIM_FAIL;
	dm_fail.result = MA_DMARC_FAIL;
	dm_fail.disposition = MA_DMARC_P_REJECT;
	dm_pass.result = MA_DMARC_PASS;

	render();
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		before[i] = value(t[i].series);
		ck_assert_msg(before[i] >= 0, "%s: absent", t[i].series);
	}
	/* verify, rejected: SPF fail, two signatures, DMARC fail p=reject */
	memset(&v, 0, sizeof(v));
	v.mode = MA_MODE_VERIFY;
	v.action = MA_ACTION_REJECT;
	v.spf_mailfrom = &fail;
	v.dkim = sigs;
	v.n_dkim = 2;
	v.dmarc = &dm_fail;
	ma_metrics_verdict(&v);
	/* verify, accepted: no signature at all, HELO checked */
	memset(&v, 0, sizeof(v));
	v.mode = MA_MODE_VERIFY;
	v.action = MA_ACTION_ACCEPT;
	v.spf_mailfrom = &pass;
	v.spf_helo = &pass;
	v.dmarc = &dm_pass;
	ma_metrics_verdict(&v);
	/* outbound: only the message counts */
	memset(&v, 0, sizeof(v));
	v.mode = MA_MODE_OUTBOUND;
	v.action = MA_ACTION_ACCEPT;
	v.dkim = sigs;			/* never looked at for outbound */
	v.n_dkim = 2;
	ma_metrics_verdict(&v);
	/* an engine error on an outbound message */
	ma_metrics_eval_error();
	ma_metrics_message(MA_MODE_OUTBOUND, MA_ACTION_TEMPFAIL);
	/* out-of-range values are ignored, never written past an array */
	ma_metrics_message((enum ma_msg_mode) 7, MA_ACTION_ACCEPT);
	ma_metrics_message(MA_MODE_VERIFY, (enum ma_action) 99);

	render();
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		long long got = value(t[i].series) - before[i];

		ck_assert_msg(got == t[i].want, "%s: got +%lld, want +%lld",
			      t[i].series, got, t[i].want);
	}
}
END_TEST

START_TEST(test_histogram_buckets)
{
	static const struct {
		const char *series;
		long long want;
	} t[] = {
		{"mailauthd_stage_duration_seconds_bucket{stage=\"helo\",le=\"0.025\"}", 0},
		{"mailauthd_stage_duration_seconds_bucket{stage=\"helo\",le=\"0.05\"}", 1},
		{"mailauthd_stage_duration_seconds_bucket{stage=\"helo\",le=\"10\"}", 2},
		{"mailauthd_stage_duration_seconds_bucket{stage=\"helo\",le=\"+Inf\"}", 3},
		{"mailauthd_stage_duration_seconds_count{stage=\"helo\"}", 3},
		{"mailauthd_stage_duration_seconds_count{stage=\"rcpt\"}", 0},
		{"mailauthd_message_duration_seconds_count", 1},
		{"mailauthd_message_duration_seconds_bucket{le=\"1e-05\"}", 0},
	};
	long long before[sizeof(t) / sizeof(t[0])], now;
	size_t	i;

	render();
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		before[i] = value(t[i].series);
		ck_assert_msg(before[i] >= 0, "%s: absent", t[i].series);
	}
	now = ma_metrics_now_ns();
	/* 30 ms: in (0.025, 0.05] unless this took 20 ms (it does not) */
	ma_metrics_stage_done(MA_STAGE_HELO, now - 30000000LL);
	ma_metrics_stage_done(MA_STAGE_HELO, now - 3000000000LL);	/* 3 s */
	ma_metrics_stage_done(MA_STAGE_HELO, now - 60000000000LL);	/* +Inf */
	ma_metrics_stage_done(MA_STAGE_COUNT, now);	/* ignored */
	ma_metrics_message_done(now - 1000000LL);
	ma_metrics_message_done(0);			/* no MAIL: ignored */
	render();
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		long long got = value(t[i].series) - before[i];

		ck_assert_msg(got == t[i].want, "%s: got +%lld, want +%lld",
			      t[i].series, got, t[i].want);
	}
}
END_TEST

START_TEST(test_text_format)
{
	const char *line, *nl;
	char	family[128] = "";
	size_t	n_help = 0, n_type = 0, n_samples = 0;

	ma_metrics_reload(0);
	ma_metrics_key_error();
	render();
	ck_assert_int_eq(value("mailauthd_config_last_reload_successful"), 0);
	ma_metrics_reload(1);
	render();
	ck_assert_int_eq(value("mailauthd_config_last_reload_successful"), 1);
	ck_assert_int_ge(value("mailauthd_config_reloads_total{result=\"failure\"}"), 1);
	ck_assert_int_ge(value("mailauthd_key_load_errors_total"), 1);
	ck_assert_int_eq(value("mailauthd_build_info{version=\"" PACKAGE_VERSION "\"}"), 1);

	/* every line: HELP, TYPE, or a sample of the family just declared */
	for (line = text; *line != '\0'; line = nl + 1) {
		ck_assert_msg((nl = strchr(line, '\n')) != NULL,
			      "the text does not end with a newline");
		if (strncmp(line, "# HELP ", 7) == 0) {
			n_help++;
			ck_assert_uint_lt(strcspn(line + 7, " "), sizeof(family));
			memcpy(family, line + 7, strcspn(line + 7, " "));
			family[strcspn(line + 7, " ")] = '\0';
		} else if (strncmp(line, "# TYPE ", 7) == 0) {
			n_type++;
			ck_assert_msg(strncmp(line + 7, family, strlen(family)) == 0,
				      "TYPE without its HELP: %.*s",
				      (int) (nl - line), line);
		} else {
			n_samples++;
			ck_assert_msg(family[0] != '\0'
				      && strncmp(line, family, strlen(family)) == 0,
				      "sample outside its family %s: %.*s",
				      family, (int) (nl - line), line);
			ck_assert_msg(nl[-1] >= '0' && nl[-1] <= '9',
				      "no value: %.*s", (int) (nl - line), line);
		}
	}
	ck_assert_uint_eq(n_help, n_type);
	ck_assert_uint_ge(n_help, 25);
	ck_assert_uint_gt(n_samples, 200);
}
END_TEST

START_TEST(test_render_limit)
{
	char	small[200];
	size_t	len = 99;

	ck_assert_int_eq(ma_metrics_render(small, 0, &len), MA_ERR_LIMIT);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(ma_metrics_render(small, sizeof(small), &len),
			 MA_ERR_LIMIT);
	ck_assert_uint_lt(len, sizeof(small));
	ck_assert_uint_eq(strlen(small), len);
}
END_TEST

static int eom_calls;

static enum ma_mreply
fake_eom(struct ma_mconn *c)
{
	(void) c;
	eom_calls++;
	return (MA_MR_REJECT);
}

START_TEST(test_timed_handler)
{
	static const struct ma_mhandler h = {.eom = fake_eom};
	const struct ma_mhandler *w;
	const char *series = "mailauthd_stage_duration_seconds_count{stage=\"eom\"}";
	long long before;

	render();
	before = value(series);
	w = ma_metrics_timed(&h);
	ck_assert_ptr_nonnull(w->eom);
	ck_assert_ptr_null(w->connect);		/* absent steps stay absent */
	ck_assert_ptr_null(w->close);
	ck_assert_int_eq(w->eom(NULL), MA_MR_REJECT);
	ck_assert_int_eq(eom_calls, 1);
	render();
	ck_assert_int_eq(value(series) - before, 1);
}
END_TEST

int
main(void)
{
	Suite  *s = suite_create("metrics");
	TCase  *tc = tcase_create("core");
	SRunner *sr;
	int	failed;

	tcase_add_test(tc, test_verdicts_counted);
	tcase_add_test(tc, test_histogram_buckets);
	tcase_add_test(tc, test_text_format);
	tcase_add_test(tc, test_render_limit);
	tcase_add_test(tc, test_timed_handler);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
