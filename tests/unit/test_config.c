/*
 * test_config - configuration key table, file parsing, errors
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"

/* write_tmp - configuration text into a temporary file */
static char *
write_tmp(const char *text, size_t len)
{
	static char path[64];
	int	fd;

	snprintf(path, sizeof(path), "/tmp/ma-test-config-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t) len);
	close(fd);
	return (path);
}

START_TEST(test_defaults)
{
	struct ma_config *c;
	char	err[256];
	struct ma_ip ip;

	ck_assert_int_eq(ma_config_load(NULL, &c, err, sizeof(err)), MA_OK);
	ck_assert_str_eq(c->socket, "inet:8891@127.0.0.1");
	ck_assert_ptr_nonnull(c->policy.authserv_id);
	ck_assert_int_eq(c->policy.reject_failures, 1);
	ck_assert_int_eq(c->policy.on_temperror, MA_ACTION_ACCEPT);
	ck_assert_int_eq(c->policy.on_error, MA_ACTION_TEMPFAIL);
	ck_assert_uint_eq(c->dns_timeout_ms, 5000);
	ck_assert_uint_eq(c->policy.dkim_min_key_bits, 1024);
	ck_assert_int_eq(c->policy.dkim_allow_sha1, 0);
	ck_assert_ptr_null(c->nameservers);
	ma_ip_parse("127.3.4.5", &ip);
	ck_assert_int_eq(ma_cidr_list_match(&c->policy.internal_hosts, &ip), 1);
	ma_ip_parse("::1", &ip);
	ck_assert_int_eq(ma_cidr_list_match(&c->policy.internal_hosts, &ip), 1);
	ma_ip_parse("203.0.113.25", &ip);
	ck_assert_int_eq(ma_cidr_list_match(&c->policy.internal_hosts, &ip), 0);
	ma_config_free(&c);
	ck_assert_ptr_null(c);
}
END_TEST

START_TEST(test_file_values)
{
	static const char text[] =
	    "# comment\n"
	    "\n"
	    "Socket unix:/run/mailauthd/sock   # trailing comment\n"
	    "authservid mx.example.net\n"
	    "Nameservers 127.0.0.1@5353, ::1\n"
	    "DNSTimeout 300ms\n"
	    "DNSZoneFile /tmp/a.zone\n"
	    "DNSZoneFile /tmp/b.zone\n"
	    "RejectFailures no\n"
	    "TemperrorAction tempfail\n"
	    "InternalHosts 10.0.0.0/8 192.0.2.1\n"
	    "MinimumKeyBits 2048\n";
	struct ma_config *c;
	char	err[256];
	char   *path = write_tmp(text, sizeof(text) - 1);

	ck_assert_msg(ma_config_load(path, &c, err, sizeof(err)) == MA_OK, "%s", err);
	ck_assert_str_eq(c->socket, "unix:/run/mailauthd/sock");
	ck_assert_str_eq(c->policy.authserv_id, "mx.example.net");
	ck_assert_str_eq(c->nameservers[0], "127.0.0.1@5353");
	ck_assert_str_eq(c->nameservers[1], "::1");
	ck_assert_ptr_null(c->nameservers[2]);
	ck_assert_uint_eq(c->dns_timeout_ms, 300);
	ck_assert_str_eq(c->zone_files[1], "/tmp/b.zone");
	ck_assert_int_eq(c->policy.reject_failures, 0);
	ck_assert_int_eq(c->policy.on_temperror, MA_ACTION_TEMPFAIL);
	ck_assert_uint_eq(c->policy.internal_hosts.n, 2);
	ck_assert_uint_eq(c->policy.dkim_min_key_bits, 2048);
	ma_config_free(&c);
	unlink(path);
}
END_TEST

START_TEST(test_errors_name_file_and_line)
{
	static const struct {
		const char *text;
		const char *want;	/* substring of the error */
	} t[] = {
		{"Bogus yes\n", ":1: unknown key \"Bogus\""},
		{"\nSocket\n", ":2: Socket: missing value"},
		{"RejectFailures maybe\n", "expected yes or no"},
		{"DNSTimeout 0\n", "must be positive"},
		{"DNSTimeout 5 s\n", "expected seconds"},
		{"DNSTimeout 99999999999999\n", "expected seconds"},
		{"Socket tcp:1@x\n", "expected inet:PORT@ADDR"},
		{"Nameservers 127.0.0.1@99999\n", "expected addr[@port]"},
		{"Nameservers resolver.example\n", "expected addr[@port]"},
		{"InternalHosts 10.0.0.0/33\n", "bad address or network"},
		{"AuthservID mx; dkim=pass\n", "must be one token"},
		{"Socket inet:1@127.0.0.1\nSocket inet:2@127.0.0.1\n", ":2: Socket given twice"},
		{"TemperrorAction reject\n", "expected accept or tempfail"},
		{"MinimumKeyBits 1000000\n", "expected a number in range"},
		{"InternalHosts file:/nonexistent/hosts\n", "/nonexistent/hosts"},
	};
	size_t	i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct ma_config *c = NULL;
		char	err[256] = "";
		char   *path = write_tmp(t[i].text, strlen(t[i].text));

		ck_assert_msg(ma_config_load(path, &c, err, sizeof(err)) != MA_OK,
			      "case %zu accepted", i);
		ck_assert_ptr_null(c);
		ck_assert_msg(strstr(err, t[i].want) != NULL,
			      "case %zu: got \"%s\", want \"%s\"", i, err, t[i].want);
		unlink(path);
	}
}
END_TEST

START_TEST(test_hostile_lines)
{
	struct ma_config *c = NULL;
	char	err[256];
	char   *big = malloc(10000), *path;

	memset(big, 'A', 9999);
	big[9999] = '\n';
	path = write_tmp(big, 10000);
	ck_assert_int_eq(ma_config_load(path, &c, err, sizeof(err)), MA_ERR_LIMIT);
	ck_assert_ptr_nonnull(strstr(err, "line longer"));
	unlink(path);
	path = write_tmp("Socket inet:1@127.0.0.1\0junk\n", 30);
	ck_assert_int_ne(ma_config_load(path, &c, err, sizeof(err)), MA_OK);
	unlink(path);
	ck_assert_int_eq(ma_config_load("/nonexistent/mailauthd.conf", &c, err,
					sizeof(err)), MA_ERR_IO);
	free(big);
}
END_TEST

START_TEST(test_internal_hosts_file)
{
	struct ma_config *c;
	char	err[256], text[128];
	char   *hosts = strdup(write_tmp("# internal\n10.1.0.0/16\n\n2001:db8::/32  # v6\n", 45));
	char   *path;
	struct ma_ip ip;

	snprintf(text, sizeof(text), "InternalHosts file:%s\n", hosts);
	path = write_tmp(text, strlen(text));
	ck_assert_msg(ma_config_load(path, &c, err, sizeof(err)) == MA_OK, "%s", err);
	ck_assert_uint_eq(c->policy.internal_hosts.n, 2);
	ma_ip_parse("10.1.200.1", &ip);
	ck_assert_int_eq(ma_cidr_list_match(&c->policy.internal_hosts, &ip), 1);
	ma_ip_parse("127.0.0.1", &ip);	/* the list replaces the default */
	ck_assert_int_eq(ma_cidr_list_match(&c->policy.internal_hosts, &ip), 0);
	ma_config_free(&c);
	unlink(path);
	unlink(hosts);
	free(hosts);
}
END_TEST

START_TEST(test_print_lists_every_key)
{
	struct ma_config *c;
	char	err[256], *out = NULL;
	size_t	len = 0;
	FILE   *fp = open_memstream(&out, &len);

	ck_assert_int_eq(ma_config_load(NULL, &c, err, sizeof(err)), MA_OK);
	ma_config_print(c, fp);
	fclose(fp);
	ck_assert_ptr_nonnull(strstr(out, "\nSocket inet:8891@127.0.0.1\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nRejectFailures yes\n"));
	ck_assert_ptr_nonnull(strstr(out, "#Nameservers (unset)"));
	free(out);
	ma_config_free(&c);
}
END_TEST

/* load2 - two configuration texts as two -c files */
static enum ma_status
load2(const char *a, const char *b, struct ma_config **c, char *err,
      size_t errlen)
{
	char   *pa = strdup(write_tmp(a, strlen(a)));
	char   *pb = b ? strdup(write_tmp(b, strlen(b))) : NULL;
	const char *paths[2] = {pa, pb};
	enum ma_status st = ma_config_load_files(paths, b ? 2 : 1, c, err,
						 errlen);

	unlink(pa);
	free(pa);
	if (pb != NULL) {
		unlink(pb);
		free(pb);
	}
	return (st);
}

/* has_note - one of the -n notes contains want */
static int
has_note(const struct ma_config *c, const char *want)
{
	const char *const *n = ma_config_notes(c);

	for (; n != NULL && *n != NULL; n++)
		if (strstr(*n, want) != NULL)
			return (1);
	return (0);
}

START_TEST(test_opendkim_and_opendmarc_files)
{
	static const char dkim[] =
	    "Syslog\t\t\tyes\n"
	    "SyslogSuccess\t\tyes\n"
	    "Canonicalization\trelaxed/simple\n"
	    "Mode\t\t\tsv\n"
	    "OverSignHeaders\t\tFrom\n"
	    "Socket\t\t\tlocal:/run/opendkim/opendkim.sock\n"
	    "UMask\t\t\t007\n"
	    "InternalHosts\t\tcsl:192.168.0.0/16, localhost\n"
	    "MTA\t\t\tORIGINATING\n"
	    "On-InternalError\treject\n"
	    "On-BadSignature\treject\n"
	    "ExternalIgnoreList\t/etc/opendkim/hosts\n"
	    "MaximumSignaturesToVerify 0\n";
	static const char dmarc[] =
	    "AuthservID mx.example.net\n"
	    "Socket local:/run/opendmarc/opendmarc.sock\n"
	    "PublicSuffixList /usr/share/publicsuffix/public_suffix_list.dat\n"
	    "IgnoreHosts 10.0.0.0/8\n"
	    "IgnoreAuthenticatedClients false\n"
	    "TrustedAuthservIDs mx-old.example.net, HOSTNAME\n"
	    "HistoryFile /run/opendmarc/opendmarc.dat\n";
	struct ma_config *c;
	char	err[512];
	struct ma_ip ip;

	ck_assert_msg(load2(dkim, dmarc, &c, err, sizeof(err)) == MA_OK, "%s", err);
	ck_assert_str_eq(c->socket, "local:/run/opendkim/opendkim.sock");
	ck_assert_int_eq(c->policy.sign_header_relaxed, 1);
	ck_assert_int_eq(c->policy.sign_body_relaxed, 0);
	ck_assert_int_eq(c->policy.no_sign, 0);
	ck_assert_int_eq(c->policy.no_verify, 0);
	ck_assert_str_eq(c->policy.signing_daemons[0], "ORIGINATING");
	ck_assert_int_eq(c->policy.on_error, MA_ACTION_REJECT);
	ck_assert_uint_eq(c->policy.dkim_max_signatures, 100);
	ck_assert_str_eq(c->policy.authserv_id, "mx.example.net");
	ck_assert_int_eq(c->policy.auth_is_internal, 0);
	ck_assert_str_eq(c->policy.trusted_authserv_ids[0], "mx-old.example.net");
	ck_assert_int_eq(c->report_history, 1);
	/* InternalHosts and IgnoreHosts add up; localhost is both loopbacks */
	ma_ip_parse("192.168.4.4", &ip);
	ck_assert_int_eq(ma_cidr_list_match(&c->policy.internal_hosts, &ip), 1);
	ma_ip_parse("10.9.9.9", &ip);
	ck_assert_int_eq(ma_cidr_list_match(&c->policy.internal_hosts, &ip), 1);
	ma_ip_parse("::1", &ip);
	ck_assert_int_eq(ma_cidr_list_match(&c->policy.internal_hosts, &ip), 1);
	ma_ip_parse("127.0.0.2", &ip);	/* localhost is 127.0.0.1 only */
	ck_assert_int_eq(ma_cidr_list_match(&c->policy.internal_hosts, &ip), 0);
	/* OpenDMARC's default: monitor only */
	ck_assert_int_eq(c->policy.reject_failures, 0);
	ck_assert(has_note(c, "RejectFailures no: OpenDMARC's default"));
	ck_assert_int_eq(c->policy.no_hold, 1);
	ck_assert(has_note(c, "HoldQuarantined no: OpenDMARC's default"));
	ck_assert(has_note(c, ":2: SyslogSuccess ignored"));
	ck_assert(has_note(c, ":7: UMask ignored"));
	ck_assert(has_note(c, ":11: On-BadSignature ignored: a DKIM failure"));
	ck_assert(has_note(c, ":2: Socket ignored: already set at"));
	ck_assert(has_note(c, ":3: PublicSuffixList ignored"));
	ck_assert(has_note(c, ":7: HistoryFile is ReportHistory yes"));
	ma_config_free(&c);
}
END_TEST

START_TEST(test_foreign_keys_errors)
{
	static const struct {
		const char *text;
		const char *want;
	} t[] = {
		{"Frobnicate yes\n", ":1: unknown key \"Frobnicate\""},
		{"IgnoreMailFrom example.com\n", "IgnoreMailFrom example.com: not "
		 "supported: mailauthd cannot exempt"},
		{"PeerList /etc/opendkim/peers\n", "not supported"},
		{"On-Default sometimes\n", "expected accept, discard"},
		{"Mode x\n", "Mode: expected s, v or sv"},
		{"Mode ss\n", "Mode: expected s, v or sv"},
		{"InternalHosts !10.1.1.1, 10.0.0.0/8\n", "exceptions (!)"},
		{"InternalHosts mail.example.com\n", "host names other than localhost"},
		{"InternalHosts refile:/etc/hosts.re\n", "refile: (patterns)"},
		{"IgnoreHosts 10.0.0.0/40\n", "IgnoreHosts: bad address"},
		{"Socket inet:1@127.0.0.1\nsocket inet:2@127.0.0.1\n",
		 ":2: Socket given twice (first at"},
		{"Include /nonexistent/opendkim.conf\n", "/nonexistent/opendkim.conf"},
	};
	size_t	i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct ma_config *c = NULL;
		char	err[512] = "";

		ck_assert_msg(load2(t[i].text, NULL, &c, err, sizeof(err)) != MA_OK,
			      "case %zu accepted", i);
		ck_assert_ptr_null(c);
		ck_assert_msg(strstr(err, t[i].want) != NULL,
			      "case %zu: got \"%s\", want \"%s\"", i, err, t[i].want);
	}
}
END_TEST

START_TEST(test_foreign_defaults_and_on_default)
{
	struct ma_config *c;
	char	err[512];

	/* an OpenDKIM file without Canonicalization: OpenDKIM's simple/simple */
	ck_assert_msg(load2("SyslogSuccess yes\nOn-Default tempfail\n"
			    "On-DNSError accept\nMode v\n", NULL, &c, err,
			    sizeof(err)) == MA_OK, "%s", err);
	ck_assert_int_eq(c->policy.sign_header_relaxed, 0);
	ck_assert_int_eq(c->policy.sign_body_relaxed, 0);
	ck_assert_int_eq(c->policy.on_temperror, MA_ACTION_ACCEPT);
	ck_assert_int_eq(c->policy.on_error, MA_ACTION_TEMPFAIL);
	ck_assert_int_eq(c->policy.no_sign, 1);
	ck_assert_int_eq(c->policy.no_verify, 0);
	ck_assert_int_eq(c->policy.reject_failures, 1);	/* not OpenDMARC's */
	ma_config_free(&c);
	/* our own file: our defaults, no notes */
	ck_assert_msg(load2("AuthservID mx\n", NULL, &c, err, sizeof(err))
		      == MA_OK, "%s", err);
	ck_assert_int_eq(c->policy.sign_header_relaxed, 1);
	ck_assert_ptr_null(ma_config_notes(c));
	ma_config_free(&c);
	/* On-Default discard is never applied to the DNS action */
	ck_assert_msg(load2("On-Default discard\n", NULL, &c, err, sizeof(err))
		      == MA_OK, "%s", err);
	ck_assert_int_eq(c->policy.on_temperror, MA_ACTION_ACCEPT);
	ck_assert(has_note(c, "On-Default discard ignored for TemperrorAction"));
	ma_config_free(&c);
}
END_TEST

START_TEST(test_print_config_loads_back)
{
	static const char dkim[] =
	    "Canonicalization relaxed/simple\n"
	    "InternalHosts 192.168.0.0/16\n"
	    "DNSZoneFile /dev/null\n"
	    "DNSZoneFile /dev/null\n"
	    "SyslogSuccess yes\n";
	static const char dmarc[] =
	    "IgnoreHosts 10.0.0.0/8\nPublicSuffixList /x\n";
	struct ma_config *c, *c2;
	char	err[512], *out = NULL;
	size_t	len = 0;
	FILE   *fp;
	char   *path;

	ck_assert_msg(load2(dkim, dmarc, &c, err, sizeof(err)) == MA_OK, "%s", err);
	fp = open_memstream(&out, &len);
	ma_config_print_native(c, fp);
	fclose(fp);
	ck_assert_ptr_nonnull(strstr(out, "\nInternalHosts 192.168.0.0/16, 10.0.0.0/8\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nRejectFailures no\n"));
	ck_assert_ptr_nonnull(strstr(out, "PublicSuffixList ignored"));
	path = write_tmp(out, len);
	ck_assert_msg(ma_config_load(path, &c2, err, sizeof(err)) == MA_OK,
		      "%s\n%s", err, out);
	ck_assert_uint_eq(c2->policy.internal_hosts.n, 2);
	ck_assert_int_eq(c2->policy.reject_failures, 0);
	ck_assert_int_eq(c2->policy.sign_body_relaxed, 0);
	ck_assert_str_eq(c2->zone_files[1], "/dev/null");
	ck_assert_ptr_null(ma_config_notes(c2));
	unlink(path);
	free(out);
	ma_config_free(&c);
	ma_config_free(&c2);
}
END_TEST

START_TEST(test_signing_keys)
{
	static const char text[] =
	    "Canonicalization simple/relaxed\n"
	    "SigningDaemons ORIGINATING, submission\n"
	    "OversignHeaders From, Subject\n"
	    "SignatureTTL 604800\n";
	struct ma_config *c;
	struct ma_keystore *ks = (struct ma_keystore *) 1;
	char	err[256];
	char   *path = write_tmp(text, sizeof(text) - 1);

	ck_assert_msg(ma_config_load(path, &c, err, sizeof(err)) == MA_OK, "%s", err);
	ck_assert_int_eq(c->policy.sign_header_relaxed, 0);
	ck_assert_int_eq(c->policy.sign_body_relaxed, 1);
	ck_assert_str_eq(c->policy.signing_daemons[1], "submission");
	ck_assert_str_eq(c->policy.oversign_headers[1], "Subject");
	ck_assert_uint_eq(c->policy.signature_ttl, 604800);
	ck_assert_int_eq(c->require_safe_keys, 1);
	/* no keys configured: no key store, not an error */
	ck_assert_int_eq(ma_config_load_keys(c, &ks, err, sizeof(err)), MA_OK);
	ck_assert_ptr_null(ks);
	ck_assert_int_eq(ma_config_set(c, "SigningTable", "refile:/x", err,
				       sizeof(err)), MA_OK);
	ck_assert_int_eq(ma_config_load_keys(c, &ks, err, sizeof(err)), MA_ERR_SYNTAX);
	ck_assert_ptr_nonnull(strstr(err, "needs a KeyTable"));
	ma_config_free(&c);
	unlink(path);

	ck_assert_int_eq(ma_config_load(NULL, &c, err, sizeof(err)), MA_OK);
	ck_assert_int_eq(c->policy.sign_header_relaxed, 1);
	ck_assert_int_eq(c->policy.sign_body_relaxed, 1);
	ck_assert_str_eq(c->policy.oversign_headers[0], "From");
	ck_assert_int_eq(ma_config_set(c, "Domain", "example.com", err, sizeof(err)), MA_OK);
	ck_assert_int_eq(ma_config_load_keys(c, &ks, err, sizeof(err)), MA_ERR_SYNTAX);
	ck_assert_ptr_nonnull(strstr(err, "go together"));
	ck_assert_int_ne(ma_config_set(c, "Canonicalization", "relaxed/loose", err,
				       sizeof(err)), MA_OK);
	ck_assert_int_eq(ma_config_set(c, "Canonicalization", "simple", err,
				       sizeof(err)), MA_OK);
	ck_assert_int_eq(c->policy.sign_header_relaxed, 0);
	ck_assert_int_eq(c->policy.sign_body_relaxed, 0);
	ma_config_free(&c);
}
END_TEST

int
main(void)
{
	Suite  *s = suite_create("config");
	TCase  *tc = tcase_create("core");
	SRunner *sr;
	int	failed;

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_file_values);
	tcase_add_test(tc, test_errors_name_file_and_line);
	tcase_add_test(tc, test_hostile_lines);
	tcase_add_test(tc, test_internal_hosts_file);
	tcase_add_test(tc, test_print_lists_every_key);
	tcase_add_test(tc, test_signing_keys);
	tcase_add_test(tc, test_opendkim_and_opendmarc_files);
	tcase_add_test(tc, test_foreign_keys_errors);
	tcase_add_test(tc, test_foreign_defaults_and_on_default);
	tcase_add_test(tc, test_print_config_loads_back);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
