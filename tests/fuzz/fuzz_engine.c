/*
 * NAME
 *	fuzz_engine.c - libFuzzer target: the whole engine on one message
 * DESCRIPTION
 *	The input is one SMTP transaction: the first line is the MAIL FROM
 *	argument (with or without <>), the rest a message (header, empty
 *	line, body; CRLF or LF). Its first byte also picks the client IP
 *	and HELO name from a small fixed table. Per input: session, client
 *	IP, HELO, message, one recipient, header fields (split as
 *	filter/check.c does), body, eom, then everything freed. This runs
 *	SPF (MAIL FROM and HELO), DKIM, DMARC and the A-R code.
 *
 *	One engine per process (freed at exit), on an offline resolver
 *	holding tests/data/test.zone, found as $FUZZ_DATA_DIR/test.zone or
 *	relative to the executable (../tests/data, ../data, ../../tests/data);
 *	without it a few built-in records stand in. "now" is fixed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <mailauth/dns.h>
#include <mailauth/engine.h>
#include "feed.h"
#include <mailauth/log.h>
#include "cfg.h"

#define RSA_P	"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6" \
	"Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/" \
	"8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBf\" \"O2EeC3Ip3G+" \
	"2kryOTIKT+l/K4w3QIDAQAB"

/* used only when test.zone cannot be found */
static const char *const builtin_zone[] = {
	"test._domainkey.football.example.com. 3600 IN TXT \"v=DKIM1; k=rsa; p="
	RSA_P "\"",
	"football.example.com. 3600 IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"",
	"football.example.com. 3600 IN A 192.0.2.1",
	"_dmarc.football.example.com. 3600 IN TXT \"v=DMARC1; p=reject; "
	"rua=mailto:dmarc@football.example.com\"",
	"quarantine.example. 3600 IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"",
	"_dmarc.quarantine.example. 3600 IN TXT \"v=DMARC1; p=quarantine\"",
	NULL
};

static const struct {
	const char *ip;
	const char *helo;
} clients[] = {
	{"192.0.2.1", "football.example.com"},
	{"192.0.2.10", "mail.football.example.com"},
	{"198.51.100.7", "unknown.example"},
	{"2001:db8::25", "[IPv6:2001:db8::25]"},
	{"127.0.0.1", "localhost"},
	{"203.0.113.9", "loop.example"},
};
#define N_CLIENTS	(sizeof(clients) / sizeof(clients[0]))

static struct ma_engine *engine;
static struct ma_ip client_ip[N_CLIENTS];

/* quiet_sink - drop log lines */
static void
quiet_sink(enum ma_log_level level, const char *text, void *ctx)
{
	(void) level;
	(void) text;
	(void) ctx;
}

/* teardown - at exit: the engine (and with it the resolver) */
static void
teardown(void)
{
	ma_engine_unref(&engine);
}

/* load_zone - test.zone from the environment or near the executable */
static int
load_zone(struct ma_dns *dns)
{
	static const char *const rel[] = {
		"../tests/data", "../data", "../../tests/data", "../../data", NULL
	};
	char	path[4096], exe[4096], err[256], *slash;
	const char *dir;
	ssize_t	n;
	size_t	i;

	if ((dir = getenv("FUZZ_DATA_DIR")) != NULL) {
		(void) snprintf(path, sizeof(path), "%s/test.zone", dir);
		if (access(path, R_OK) == 0)
			return (ma_dns_load_zone_file(dns, path, err, sizeof(err))
				== MA_OK ? 0 : -1);
	}
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		return (-1);
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) != NULL)
		*slash = '\0';
	for (i = 0; rel[i] != NULL; i++) {
		(void) snprintf(path, sizeof(path), "%s/%s/test.zone", exe, rel[i]);
		if (access(path, R_OK) == 0)
			return (ma_dns_load_zone_file(dns, path, err, sizeof(err))
				== MA_OK ? 0 : -1);
	}
	return (-1);
}

/* setup - once per process: resolver, configuration, engine */
static void
setup(void)
{
	struct ma_dns_options dopt;
	struct ma_dns *dns = NULL;
	struct ma_config *cfg = NULL;
	char	err[256] = "";
	size_t	i;

	ma_log_set_sink(quiet_sink, NULL, MA_LOG_PANIC);
	ma_spf_init();
	for (i = 0; i < N_CLIENTS; i++)
		if (ma_ip_parse(clients[i].ip, &client_ip[i]) != MA_OK)
			abort();
	memset(&dopt, 0, sizeof(dopt));
	dopt.offline = 1;
	if (ma_dns_new(&dopt, &dns, err, sizeof(err)) != MA_OK)
		goto fail;
	if (load_zone(dns) != 0) {
		fprintf(stderr, "fuzz_engine: no test.zone, built-in records\n");
		for (i = 0; builtin_zone[i] != NULL; i++)
			if (ma_dns_add_record(dns, builtin_zone[i], err,
					      sizeof(err)) != MA_OK)
				goto fail;
	}
	if (ma_config_new_defaults(&cfg, err, sizeof(err)) != MA_OK
	    || ma_config_set(cfg, "AuthservID", "mx.test.example", err,
			     sizeof(err)) != MA_OK)
		goto fail;
	cfg->policy.fixed_now = 1700000100;
	if (ma_engine_new(&cfg->policy, dns, NULL, &engine, err,
			  sizeof(err)) != MA_OK)
		goto fail;
	ma_config_free(&cfg);
	atexit(teardown);
	return;
fail:
	fprintf(stderr, "fuzz_engine: setup: %s\n", err);
	abort();
}


/* first_line - length of the first line's content and where the rest starts */
static size_t
first_line(const char *m, size_t len, size_t *cend)
{
	const char *nl = len > 0 ? memchr(m, '\n', len) : NULL;

	if (nl == NULL) {
		*cend = len;
		return (len);
	}
	*cend = (size_t) (nl - m);
	if (*cend > 0 && m[*cend - 1] == '\r')
		(*cend)--;
	return ((size_t) (nl - m) + 1);
}

/* LLVMFuzzerTestOneInput - one transaction */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char rcpt[] = "<postmaster@test.example>";
	const char *m = (const char *) data;
	const struct ma_verdict *v;
	struct ma_session *sess;
	struct ma_msg *msg;
	size_t	next, cend, k;

	if (engine == NULL)
		setup();
	k = size > 0 ? data[0] % N_CLIENTS : 0;
	next = first_line(m, size, &cend);	/* MAIL FROM */
	if ((sess = ma_session_new(engine, NULL, NULL)) == NULL)
		return (0);
	ma_session_set_client_ip(sess, &client_ip[k]);
	ma_session_set_helo(sess, clients[k].helo);
	if ((msg = ma_msg_new(sess, m, cend)) != NULL) {
		if (ma_msg_rcpt(msg, rcpt, sizeof(rcpt) - 1) == MA_OK
		    && ma_feed_message(msg, m + next, size - next) == MA_OK)
			(void) ma_msg_eom(msg, &v);
		ma_msg_free(&msg);
	}
	ma_session_free(&sess);
	return (0);
}
