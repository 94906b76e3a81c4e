/*
 * test_ip - addresses and CIDR lists (InternalHosts)
 */
#include "config.h"

#include <check.h>
#include <string.h>
#include <sys/socket.h>

#include <mailauth/ip.h>

START_TEST(test_ip_parse_and_format)
{
	static const struct {
		const char *in;
		int	ok;
		const char *want;
	} t[] = {
		{"192.0.2.1", 1, "192.0.2.1"},
		{"2001:db8::1", 1, "2001:db8::1"},
		{"::ffff:192.0.2.7", 1, "192.0.2.7"},	/* mapped folds to v4 */
		{"::1", 1, "::1"},
		{"192.0.2.256", 0, NULL},
		{"", 0, NULL},
		{"1.2.3", 0, NULL},
		{"2001:db8::1::2", 0, NULL},
		{"192.0.2.1 ", 0, NULL},
	};
	char	buf[64];
	size_t	i;
	struct ma_ip ip;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		enum ma_status st = ma_ip_parse(t[i].in, &ip);

		ck_assert_msg((st == MA_OK) == t[i].ok, "%s: got %d", t[i].in, st);
		if (t[i].ok)
			ck_assert_str_eq(ma_ip_format(&ip, buf, sizeof(buf)), t[i].want);
	}
}
END_TEST

START_TEST(test_cidr_match)
{
	static const struct {
		const char *net;
		const char *ip;
		int	match;
	} t[] = {
		{"127.0.0.0/8", "127.1.2.3", 1},
		{"127.0.0.0/8", "128.0.0.1", 0},
		{"192.0.2.0/25", "192.0.2.127", 1},
		{"192.0.2.0/25", "192.0.2.128", 0},
		{"10.0.0.1", "10.0.0.1", 1},
		{"10.0.0.1", "10.0.0.2", 0},
		{"0.0.0.0/0", "203.0.113.9", 1},
		{"0.0.0.0/0", "2001:db8::1", 0},
		{"2001:db8::/32", "2001:db8:ffff::1", 1},
		{"2001:db8::/33", "2001:db8:8000::1", 0},
		{"::1", "::1", 1},
		{"::ffff:10.0.0.0/104", "10.9.9.9", 1},
		{"192.0.2.0/24", "::ffff:192.0.2.9", 1},
	};
	size_t	i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct ma_cidr_list l = {0, NULL};
		struct ma_ip ip;

		ck_assert_int_eq(ma_cidr_list_add(&l, t[i].net), MA_OK);
		ck_assert_int_eq(ma_ip_parse(t[i].ip, &ip), MA_OK);
		ck_assert_msg(ma_cidr_list_match(&l, &ip) == t[i].match,
			      "%s in %s: got %d, want %d", t[i].ip, t[i].net,
			      !t[i].match, t[i].match);
		ma_cidr_list_clear(&l);
	}
}
END_TEST

START_TEST(test_cidr_bad)
{
	static const char *const bad[] = {
		"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8x",
		"::/129", "host.example", "", "::ffff:1.2.3.4/95",
		"1111111111111111111111111111111111111111111111111111111111111111111/8",
	};
	struct ma_cidr c;
	size_t	i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(ma_cidr_parse(bad[i], &c) == MA_ERR_SYNTAX,
			      "\"%s\" accepted", bad[i]);
}
END_TEST

START_TEST(test_unknown_client_never_matches)
{
	struct ma_cidr_list l = {0, NULL};
	struct ma_ip ip;

	ck_assert_int_eq(ma_cidr_list_add(&l, "0.0.0.0/0"), MA_OK);
	ma_ip_from_sockaddr(NULL, &ip);
	ck_assert_int_eq(ip.family, 0);
	ck_assert_int_eq(ma_cidr_list_match(&l, &ip), 0);
	ma_cidr_list_clear(&l);
}
END_TEST

int
main(void)
{
	Suite  *s = suite_create("ip");
	TCase  *tc = tcase_create("core");
	SRunner *sr;
	int	failed;

	tcase_add_test(tc, test_ip_parse_and_format);
	tcase_add_test(tc, test_cidr_match);
	tcase_add_test(tc, test_cidr_bad);
	tcase_add_test(tc, test_unknown_client_never_matches);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
