/*
 * test_engine - the message pipeline without libmilter: lifecycle, modes,
 * header edits, limits. DNS is offline local data.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailauth/dns.h>
#include <mailauth/engine.h>
#include <mailauth/spf.h>
#include "ma_limits.h"

static struct ma_engine *engine;

/* make_engine - offline engine with a small zone */
static struct ma_engine *
make_engine_ext(int reject_failures, int no_hold, int no_sign,
		char **trusted)
{
	static const char *const zone[] = {
		"example.org. 300 IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"",
		"_dmarc.example.org. 300 IN TXT \"v=DMARC1; p=reject\"",
		"q.example.org. 300 IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"",
		"_dmarc.q.example.org. 300 IN TXT \"v=DMARC1; p=quarantine\"",
	};
	struct ma_dns_options o;
	struct ma_policy_config cfg;
	struct ma_dns *dns;
	struct ma_engine *e;
	char	err[256];
	size_t	i;

	memset(&o, 0, sizeof(o));
	o.offline = 1;
	ck_assert_int_eq(ma_dns_new(&o, &dns, err, sizeof(err)), MA_OK);
	for (i = 0; i < sizeof(zone) / sizeof(zone[0]); i++)
		ck_assert_msg(ma_dns_add_record(dns, zone[i], err, sizeof(err)) == MA_OK,
			      "%s", err);
	memset(&cfg, 0, sizeof(cfg));
	cfg.authserv_id = "mx.test.example";
	cfg.receiver = "mx.test.example";
	cfg.reject_failures = reject_failures;
	cfg.on_temperror = MA_ACTION_ACCEPT;
	cfg.on_error = MA_ACTION_TEMPFAIL;
	cfg.auth_is_internal = 1;
	cfg.remove_forged_ar = 1;
	cfg.dkim_min_key_bits = 1024;
	cfg.no_hold = no_hold;
	cfg.no_sign = no_sign;
	cfg.trusted_authserv_ids = trusted;
	ck_assert_int_eq(ma_cidr_list_add(&cfg.internal_hosts, "127.0.0.0/8"), MA_OK);
	ck_assert_msg(ma_engine_new(&cfg, dns, NULL, &e, err, sizeof(err)) == MA_OK, "%s", err);
	ma_cidr_list_clear(&cfg.internal_hosts);
	return (e);
}

/* make_engine - the common engine: example.org p=reject */
static struct ma_engine *
make_engine(int reject_failures)
{
	return (make_engine_ext(reject_failures, 0, 0, NULL));
}

static void
setup(void)
{
	ma_spf_init();
	engine = make_engine(1);
}

static void
teardown(void)
{
	ma_engine_unref(&engine);
}

/* session_from - session with a client address */
static struct ma_session *
session_from(const char *ip)
{
	struct ma_session *s = ma_session_new(engine, NULL, NULL);
	struct ma_ip a;

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(ma_ip_parse(ip, &a), MA_OK);
	ma_session_set_client_ip(s, &a);
	ma_session_set_helo(s, "client.example.net");
	return (s);
}

#define HDR(m, n, v) ck_assert_int_eq(ma_msg_header((m), (n), strlen(n), (v), strlen(v)), MA_OK)

START_TEST(test_forged_spf_fail_rejected_rfc9989)
{
	struct ma_session *s = session_from("198.51.100.7");
	struct ma_msg *m = ma_msg_new(s, "<a@example.org>", 15);
	const struct ma_verdict *v;

	HDR(m, "From", " a@example.org");
	HDR(m, "Subject", " hi");
	ck_assert_int_eq(ma_msg_eoh(m), MA_OK);
	ck_assert_int_eq(ma_msg_body(m, (const unsigned char *) "x\r\n", 3), MA_OK);
	ck_assert_int_eq(ma_msg_eom(m, &v), MA_OK);
	ck_assert_int_eq(v->action, MA_ACTION_REJECT);
	ck_assert_str_eq(v->rcode, "550");
	ck_assert_str_eq(v->xcode, "5.7.1");
	ck_assert_ptr_nonnull(strstr(v->reply_text, "example.org"));
	ck_assert_int_eq(v->spf_mailfrom->result, MA_SPF_FAIL);
	ck_assert_ptr_nonnull(v->authres);
	ck_assert_ptr_nonnull(strstr(v->log_line, "action=reject"));
	ma_msg_free(&m);
	ck_assert_ptr_null(m);
	ma_session_free(&s);
}
END_TEST

START_TEST(test_spf_pass_aligned_accepted)
{
	struct ma_session *s = session_from("192.0.2.9");
	struct ma_msg *m = ma_msg_new(s, "<a@example.org>", 15);
	const struct ma_verdict *v;

	HDR(m, "From", " A <a@EXAMPLE.org>");
	ck_assert_int_eq(ma_msg_eoh(m), MA_OK);
	ck_assert_int_eq(ma_msg_eom(m, &v), MA_OK);
	ck_assert_int_eq(v->action, MA_ACTION_ACCEPT);
	ck_assert_int_eq(v->dmarc->result, MA_DMARC_PASS);
	ck_assert_ptr_null(v->rcode);
	ma_msg_free(&m);
	ma_session_free(&s);
}
END_TEST

START_TEST(test_monitor_mode_accepts)
{
	struct ma_engine *mon = make_engine(0);
	struct ma_session *s = ma_session_new(mon, NULL, NULL);
	struct ma_msg *m;
	const struct ma_verdict *v;
	struct ma_ip a;

	ma_ip_parse("198.51.100.7", &a);
	ma_session_set_client_ip(s, &a);
	m = ma_msg_new(s, "<a@example.org>", 15);
	HDR(m, "From", " a@example.org");
	ck_assert_int_eq(ma_msg_eom(m, &v), MA_OK);
	ck_assert_int_eq(v->dmarc->result, MA_DMARC_FAIL);
	ck_assert_int_eq(v->action, MA_ACTION_ACCEPT);
	ck_assert_ptr_nonnull(strstr(v->log_line, "would=reject"));
	ma_msg_free(&m);
	ma_session_free(&s);
	ma_engine_unref(&mon);
}
END_TEST

/* judge - a message from client ip with From a@domain; NULL: Mode passes it */
static const struct ma_verdict *
judge(struct ma_engine *e, const char *ip, const char *from_domain,
      const char *ar, struct ma_session **sp, struct ma_msg **mp)
{
	const struct ma_verdict *v;
	struct ma_ip a;
	char	from[128];

	*sp = ma_session_new(e, NULL, NULL);
	ma_ip_parse(ip, &a);
	ma_session_set_client_ip(*sp, &a);
	*mp = ma_msg_new(*sp, "<a@example.org>", 15);
	snprintf(from, sizeof(from), " a@%s", from_domain);
	if (ar != NULL)
		HDR(*mp, "Authentication-Results", ar);
	HDR(*mp, "From", from);
	if (ma_msg_passes(*mp))
		return (NULL);
	ck_assert_int_eq(ma_msg_eom(*mp, &v), MA_OK);
	return (v);
}

START_TEST(test_hold_quarantined)
{
	struct ma_engine *hold = make_engine_ext(1, 0, 0, NULL);
	struct ma_engine *nohold = make_engine_ext(1, 1, 0, NULL);
	struct ma_session *s;
	struct ma_msg *m;
	const struct ma_verdict *v;

	v = judge(hold, "198.51.100.7", "q.example.org", NULL, &s, &m);
	ck_assert_int_eq(v->dmarc->result, MA_DMARC_FAIL);
	ck_assert_int_eq(v->action, MA_ACTION_QUARANTINE);
	ma_msg_free(&m);
	ma_session_free(&s);
	/* HoldQuarantined no (OpenDMARC's default): accepted, marked */
	v = judge(nohold, "198.51.100.7", "q.example.org", NULL, &s, &m);
	ck_assert_int_eq(v->action, MA_ACTION_ACCEPT);
	ck_assert_ptr_nonnull(strstr(v->log_line, "would=quarantine"));
	ma_msg_free(&m);
	ma_session_free(&s);
	/* p=reject is still rejected */
	v = judge(nohold, "198.51.100.7", "example.org", NULL, &s, &m);
	ck_assert_int_eq(v->action, MA_ACTION_REJECT);
	ma_msg_free(&m);
	ma_session_free(&s);
	ma_engine_unref(&hold);
	ma_engine_unref(&nohold);
}
END_TEST

START_TEST(test_trusted_authserv_ids_removed)
{
	char   *trusted[] = {"mx-old.example.net", NULL};
	struct ma_engine *e = make_engine_ext(1, 0, 0, trusted);
	struct ma_session *s;
	struct ma_msg *m;
	const struct ma_verdict *v;

	v = judge(e, "192.0.2.9", "example.org",
		  " mx-old.example.net; dmarc=pass header.from=example.org",
		  &s, &m);
	ck_assert_int_eq(v->action, MA_ACTION_ACCEPT);
	ck_assert_ptr_nonnull(strstr(v->log_line, "forged_ar_removed=1"));
	ma_msg_free(&m);
	ma_session_free(&s);
	/* another host's results stay */
	v = judge(e, "192.0.2.9", "example.org",
		  " mx.other.example; dmarc=pass header.from=example.org",
		  &s, &m);
	ck_assert_ptr_null(strstr(v->log_line, "forged_ar_removed"));
	ma_msg_free(&m);
	ma_session_free(&s);
	ma_engine_unref(&e);
}
END_TEST

START_TEST(test_mode_passes_a_direction)
{
	struct ma_engine *e = make_engine_ext(1, 0, 1, NULL);	/* Mode v */
	struct ma_session *s;
	struct ma_msg *m;

	ck_assert_ptr_null(judge(e, "127.0.0.1", "example.org", NULL, &s, &m));
	ck_assert_int_eq(ma_msg_mode(m), MA_MODE_OUTBOUND);
	ma_msg_free(&m);
	ma_session_free(&s);
	ck_assert_ptr_nonnull(judge(e, "198.51.100.7", "example.org", NULL, &s,
				    &m));
	ma_msg_free(&m);
	ma_session_free(&s);
	ma_engine_unref(&e);
}
END_TEST

START_TEST(test_forged_ar_deleted_highest_first_rfc8601_s5)
{
	struct ma_session *s = session_from("192.0.2.9");
	struct ma_msg *m = ma_msg_new(s, "<a@example.org>", 15);
	const struct ma_verdict *v;

	HDR(m, "Authentication-Results", " mx.test.example; dkim=pass");
	HDR(m, "authentication-results", " other.example; dkim=pass");
	HDR(m, "From", " a@example.org");
	HDR(m, "AUTHENTICATION-RESULTS", " MX.Test.Example;\r\n\tspf=pass");
	HDR(m, "Authentication-Results", " mx.test.example.evil; spf=pass");
	HDR(m, "Authentication-Results", " (c) mx.test.example; spf=pass");
	ck_assert_int_eq(ma_msg_eom(m, &v), MA_OK);
	ck_assert_uint_eq(v->n_del, 3);
	ck_assert_uint_eq(v->del_index[0], 5);
	ck_assert_uint_eq(v->del_index[1], 3);
	ck_assert_uint_eq(v->del_index[2], 1);
	ck_assert_str_eq(v->del_name, "Authentication-Results");
	ck_assert_uint_eq(v->n_add, 1);
	ck_assert_str_eq(v->add[0].name, "Authentication-Results");
	ma_msg_free(&m);
	ma_session_free(&s);
}
END_TEST

START_TEST(test_internal_and_authenticated_not_judged)
{
	struct ma_session *s = session_from("127.0.0.1");
	struct ma_msg *m = ma_msg_new(s, "<a@example.org>", 15);
	const struct ma_verdict *v;

	ck_assert_int_eq(ma_msg_mode(m), MA_MODE_OUTBOUND);
	ck_assert_int_eq(ma_msg_wants_body(m), 0);
	HDR(m, "From", " a@example.org");
	ck_assert_int_eq(ma_msg_eom(m, &v), MA_OK);
	ck_assert_int_eq(v->action, MA_ACTION_ACCEPT);
	ck_assert_uint_eq(v->n_add, 0);
	ck_assert_ptr_null(v->dmarc);
	ma_msg_free(&m);
	ma_session_free(&s);

	s = session_from("198.51.100.7");
	ma_session_set_auth(s, "alice");
	m = ma_msg_new(s, "<a@example.org>", 15);
	ck_assert_int_eq(ma_msg_mode(m), MA_MODE_OUTBOUND);
	ma_msg_free(&m);
	ma_session_set_auth(s, "");	/* empty {auth_authen}: not authenticated */
	m = ma_msg_new(s, "<a@example.org>", 15);
	ck_assert_int_eq(ma_msg_mode(m), MA_MODE_VERIFY);
	ma_msg_free(&m);
	ma_session_free(&s);
}
END_TEST

START_TEST(test_abort_and_many_messages_per_connection)
{
	struct ma_session *s = session_from("192.0.2.9");
	const struct ma_verdict *v;
	int	i;

	for (i = 0; i < 200; i++) {
		struct ma_msg *m = ma_msg_new(s, "<a@example.org>", 15);

		HDR(m, "From", " a@example.org");
		if (i % 3 == 0) {	/* aborted mid-header: just freed */
			ma_msg_free(&m);
			continue;
		}
		ck_assert_int_eq(ma_msg_eoh(m), MA_OK);
		ck_assert_int_eq(ma_msg_eom(m, &v), MA_OK);
		ck_assert_int_eq(v->action, MA_ACTION_ACCEPT);
		ck_assert_int_eq(ma_msg_eom(m, &v), MA_OK);	/* twice: same verdict */
		ma_msg_free(&m);
	}
	ma_session_free(&s);
	ma_session_free(&s);		/* NULL is fine */
}
END_TEST

START_TEST(test_header_limits_counted_not_trusted)
{
	struct ma_session *s = session_from("192.0.2.9");
	struct ma_msg *m = ma_msg_new(s, "<a@example.org>", 15);
	const struct ma_verdict *v;
	char	name[32];
	int	i;

	HDR(m, "From", " a@example.org");
	for (i = 0; i < MA_LIMIT_HEADER_FIELDS + 50; i++) {
		snprintf(name, sizeof(name), "X-F%d", i);
		HDR(m, name, " v");
	}
	/* a forged A-R past the limit is still found */
	HDR(m, "Authentication-Results", " mx.test.example; dmarc=pass");
	ck_assert_int_eq(ma_msg_eom(m, &v), MA_OK);
	ck_assert_uint_eq(v->n_del, 1);
	ck_assert_uint_eq(v->del_index[0], 1);
	ma_msg_free(&m);
	ma_session_free(&s);
}
END_TEST

START_TEST(test_null_sender_and_bad_path)
{
	struct ma_session *s = session_from("192.0.2.9");
	struct ma_msg *m = ma_msg_new(s, "<>", 2);
	const struct ma_verdict *v;

	HDR(m, "From", " a@example.org");
	ck_assert_int_eq(ma_msg_eom(m, &v), MA_OK);
	ck_assert_ptr_nonnull(v->spf_mailfrom);
	ma_msg_free(&m);
	m = ma_msg_new(s, "<<<@@@>", 7);
	ck_assert_ptr_nonnull(m);
	HDR(m, "From", " a@example.org");
	ck_assert_int_eq(ma_msg_eom(m, &v), MA_OK);
	ma_msg_free(&m);
	ma_session_free(&s);
}
END_TEST

int
main(void)
{
	Suite  *s = suite_create("engine");
	TCase  *tc = tcase_create("core");
	SRunner *sr;
	int	failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_forged_spf_fail_rejected_rfc9989);
	tcase_add_test(tc, test_spf_pass_aligned_accepted);
	tcase_add_test(tc, test_monitor_mode_accepts);
	tcase_add_test(tc, test_hold_quarantined);
	tcase_add_test(tc, test_trusted_authserv_ids_removed);
	tcase_add_test(tc, test_mode_passes_a_direction);
	tcase_add_test(tc, test_forged_ar_deleted_highest_first_rfc8601_s5);
	tcase_add_test(tc, test_internal_and_authenticated_not_judged);
	tcase_add_test(tc, test_abort_and_many_messages_per_connection);
	tcase_add_test(tc, test_header_limits_counted_not_trusted);
	tcase_add_test(tc, test_null_sender_and_bad_path);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
