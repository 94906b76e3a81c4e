/*
 * NAME
 *	mailauth-check - run the engine on one message, offline
 * SYNOPSIS
 *	mailauth-check [-c FILE] [--dns-zone FILE]... [--client-ip IP]
 *		       [--helo NAME] [--mail-from ADDR] [--rcpt ADDR]...
 *		       [--time EPOCH] [--json] [FILE|-]
 *	mailauth-check --sign -c FILE [--time EPOCH] [--json] [FILE|-]
 * DESCRIPTION
 *	Reads a message (RFC 5322, CRLF or LF line ends), feeds it to the
 *	same engine mailauthd uses, and prints the headers it would add and
 *	remove and the action (or, with --json, one JSON object).
 *	--dns-zone adds local zone data and makes DNS offline: nothing but
 *	that data is consulted. --time fixes "now" for DKIM t=/x=.
 *	Without --client-ip the client is unknown and SPF gives none.
 *	--record writes the DMARC evaluation into the configured report
 *	store (ReportDatabase) exactly as the daemon does.
 *	--sign treats the message as outbound and prints the DKIM-Signature
 *	field(s) the configured keys would add (none, with the reason on
 *	standard error, when no key signs for the From address).
 * DIAGNOSTICS
 *	Exit 0 when the message was evaluated, whatever the verdict; 2 for
 *	usage or configuration errors (message names the problem); 1 for
 *	unreadable input.
 * LIMITS
 *	MESSAGE_MAX bytes of input.
 * SEE ALSO
 *	mailauth-check(1), mailauthd(8)
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailauth/engine.h>
#include <mailauth/report.h>
#include <mailauth/log.h>
#include <mailauth/spf.h>
#include "cfg.h"
#include "feed.h"
#include "json_out.h"

#define MESSAGE_MAX	(64 * 1024 * 1024)
#define RCPT_MAX	1000

/* usage - print usage and exit 2 */
static void
usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "mailauth-check: %s\n", why);
	fprintf(stderr,
		"usage: mailauth-check [-c FILE] [--dns-zone FILE]... "
		"[--client-ip IP]\n"
		"                      [--helo NAME] [--mail-from ADDR] "
		"[--rcpt ADDR]...\n"
		"                      [--time EPOCH] [--json] [FILE|-]\n"
		"       mailauth-check --sign -c FILE [--time EPOCH] [--json] "
		"[FILE|-]\n"
		"       (--record: also write the DMARC evaluation into the "
		"report store)\n");
	exit(2);
}

/* read_all - whole input into memory; NULL with errno on failure */
static char *
read_all(const char *path, size_t *len_out)
{
	FILE   *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char   *buf = NULL, *nb;
	size_t	len = 0, cap = 0, n;

	if (fp == NULL)
		return (NULL);
	for (;;) {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 131072;
			if (cap > MESSAGE_MAX + 65536 || (nb = realloc(buf, cap)) == NULL) {
				free(buf);
				buf = NULL;
				errno = EFBIG;
				break;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len - 1, fp);
		len += n;
		if (len > MESSAGE_MAX) {
			free(buf);
			buf = NULL;
			errno = EFBIG;
			break;
		}
		if (n == 0) {
			if (ferror(fp)) {
				free(buf);
				buf = NULL;
				errno = EIO;
			}
			break;
		}
	}
	if (fp != stdin)
		fclose(fp);
	if (buf != NULL) {
		buf[len] = '\0';
		*len_out = len;
	}
	return (buf);
}

/* print_text - the plain report */
static void
print_text(const struct ma_verdict *v)
{
	size_t	i;

	if (v->mode == MA_MODE_OUTBOUND)
		printf("mode: outbound (not judged)\n");
	for (i = 0; i < v->n_del; i++)
		printf("remove: %s #%u\n", v->del_name, v->del_index[i]);
	for (i = 0; i < v->n_add; i++)
		printf("add: %s: %s\n", v->add[i].name, v->add[i].value);
	printf("action: %s\n", ma_action_str(v->action));
	if (v->rcode != NULL)
		printf("reply: %s %s %s\n", v->rcode, v->xcode, v->reply_text);
	if (v->quarantine_reason != NULL)
		printf("quarantine: %s\n", v->quarantine_reason);
}

/* print_signatures - the DKIM-Signature fields (--sign) */
static void
print_signatures(const struct ma_verdict *v)
{
	size_t	i;
	const char *why;

	for (i = 0; i < v->n_signatures; i++)
		printf("DKIM-Signature: %s\n", v->signatures[i]);
	if (v->n_signatures == 0) {
		why = v->log_line ? strstr(v->log_line, "unsigned=") : NULL;
		fprintf(stderr, "mailauth-check: not signed: %s\n",
			why ? why + 9 : "no signing key");
	}
}

/* open_store - the configured report store, synchronous (--record) */
static int
open_store(const struct ma_config *cfg, struct ma_report_store **out)
{
	struct ma_report_store_options o;
	char	err[512] = "";

	memset(&o, 0, sizeof(o));
	o.database = cfg->report_database;
	o.spool_path = cfg->report_spool;
	o.queue_rows = cfg->report_queue_rows;
	o.writer_thread = 0;
	if (ma_report_store_open(&o, out, err, sizeof(err)) != MA_OK) {
		fprintf(stderr, "mailauth-check: ReportDatabase %s: %s\n",
			cfg->report_database, err);
		return (-1);
	}
	return (0);
}

/* stderr_sink - engine log lines to stderr */
static void
stderr_sink(enum ma_log_level level, const char *text, void *ctx)
{
	(void) ctx;
	if (level >= MA_LOG_WARN)
		fprintf(stderr, "mailauth-check: %s\n", text);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"dns-zone", required_argument, NULL, 'z'},
		{"client-ip", required_argument, NULL, 'i'},
		{"helo", required_argument, NULL, 'H'},
		{"mail-from", required_argument, NULL, 'f'},
		{"rcpt", required_argument, NULL, 'r'},
		{"time", required_argument, NULL, 't'},
		{"json", no_argument, NULL, 'j'},
		{"sign", no_argument, NULL, 's'},
		{"record", no_argument, NULL, 'R'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	const char *cfgpath = NULL, *zones[64], *rcpts[RCPT_MAX];
	const char *client = NULL, *helo = NULL, *mail_from = "", *input = "-";
	size_t	n_zones = 0, n_rcpts = 0, i, len;
	int	json = 0, sign = 0, record = 0, ch;
	long long now = 0;
	char	err[512], *text, *end;
	struct ma_config *cfg;
	struct ma_report_store *store = NULL;
	struct ma_engine *engine;
	struct ma_session *sess;
	struct ma_msg *msg;
	const struct ma_verdict *v;
	struct ma_ip ip;

	while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfgpath = optarg;
			break;
		case 'z':
			if (n_zones >= sizeof(zones) / sizeof(zones[0]))
				usage("too many --dns-zone files");
			zones[n_zones++] = optarg;
			break;
		case 'i':
			client = optarg;
			break;
		case 'H':
			helo = optarg;
			break;
		case 'f':
			mail_from = optarg;
			break;
		case 'r':
			if (n_rcpts >= RCPT_MAX)
				usage("too many --rcpt");
			rcpts[n_rcpts++] = optarg;
			break;
		case 't':
			errno = 0;
			now = strtoll(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || end == optarg || now <= 0)
				usage("--time wants seconds since the epoch");
			break;
		case 'j':
			json = 1;
			break;
		case 's':
			sign = 1;
			break;
		case 'R':
			record = 1;
			break;
		default:
			usage(NULL);
		}
	}
	if (optind < argc)
		input = argv[optind++];
	if (optind < argc)
		usage("one message at a time");
	if (client != NULL && ma_ip_parse(client, &ip) != MA_OK)
		usage("--client-ip is not an IP address");

	ma_log_set_sink(stderr_sink, NULL, MA_LOG_WARN);
	if (ma_config_load(cfgpath, &cfg, err, sizeof(err)) != MA_OK) {
		fprintf(stderr, "mailauth-check: %s\n", err);
		return (2);
	}
	for (i = 0; i < n_zones; i++)
		if (ma_config_set(cfg, "DNSZoneFile", zones[i], err, sizeof(err)) != MA_OK
		    || ma_config_set(cfg, "DNSOffline", "yes", err, sizeof(err)) != MA_OK) {
			fprintf(stderr, "mailauth-check: %s\n", err);
			return (2);
		}
	cfg->policy.fixed_now = (time_t) now;
	cfg->policy.force_outbound = sign;
	if (record && open_store(cfg, &store) != 0) {
		ma_config_free(&cfg);
		return (2);
	}
	ma_spf_init();
	if (ma_config_build_engine(cfg, &engine, err, sizeof(err)) != MA_OK) {
		fprintf(stderr, "mailauth-check: %s\n", err);
		ma_config_free(&cfg);
		return (2);
	}
	ma_config_free(&cfg);

	if ((text = read_all(input, &len)) == NULL) {
		fprintf(stderr, "mailauth-check: %s: %s\n", input, strerror(errno));
		ma_engine_unref(&engine);
		return (1);
	}
	if ((sess = ma_session_new(engine, NULL, NULL)) == NULL)
		goto nomem;
	if (client != NULL)
		ma_session_set_client_ip(sess, &ip);
	ma_session_set_helo(sess, helo);
	if ((msg = ma_msg_new(sess, mail_from, strlen(mail_from))) == NULL)
		goto nomem;
	for (i = 0; i < n_rcpts; i++)
		(void) ma_msg_rcpt(msg, rcpts[i], strlen(rcpts[i]));
	if (ma_feed_message(msg, text, len) != MA_OK)
		fprintf(stderr, "mailauth-check: engine could not take the message\n");
	(void) ma_msg_eom(msg, &v);
	if (store != NULL && v->report_row != NULL
	    && ma_report_store_append(store, v->report_row) != MA_OK)
		fprintf(stderr, "mailauth-check: the evaluation could not be recorded\n");
	ma_report_store_close(&store);
	if (json) {
		char   *j = ma_json_verdict(v);

		if (j == NULL)
			goto nomem;
		printf("%s\n", j);
		free(j);
	} else if (sign) {
		print_signatures(v);
	} else {
		print_text(v);
	}
	ma_msg_free(&msg);
	ma_session_free(&sess);
	ma_engine_unref(&engine);
	free(text);
	return (0);

nomem:
	fprintf(stderr, "mailauth-check: out of memory\n");
	return (1);
}
