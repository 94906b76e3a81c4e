/*
 * NAME
 *	report - mailauth-report: DMARC aggregate reports from the history
 * SUMMARY
 *	For every policy domain with history rows in a period, write one
 *	RFC 9990 aggregate report and mail it to the domain's rua=
 *	destinations, once.
 * SYNOPSIS
 *	mailauth-report [-c FILE] [--begin EPOCH --end EPOCH] [--dry-run
 *			--output-dir DIR] [--dns-zone FILE]... [-v]
 *			[--database DB] [--org-name NAME] [--email ADDR]
 *			[--relay HOST:PORT] [--sendmail PATH]
 *			[--max-bytes N] [--suppress DOMAIN]... [--spool FILE]
 * DESCRIPTION
 *	The period defaults to the previous UTC day [00:00, 24:00); a run
 *	without --begin/--end also goes over the REP_RETRY_DAYS days before
 *	it, one day at a time, so that a report that failed is sent by a
 *	later run (days already sent are skipped by the history). Rows
 *	come from ma_report_store_rows() ordered by policy domain; each
 *	domain's rows are grouped on the fly (report_xml.c), so memory
 *	grows with the number of distinct records, not of messages. When
 *	all rows are read, each report is, in turn: skipped when already
 *	sent (ma_report_store_was_sent) or its policy domain suppressed;
 *	gzipped; refused when over ReportMaxBytes; then for every usable
 *	mailto: of the newest row's rua= (report_send.c) not suppressed,
 *	verified when external, within its !size: mailed. The period is
 *	marked sent only when no destination failed; a report that failed
 *	anywhere is built and tried again (to every destination) on the
 *	next run. --dry-run --output-dir writes the .xml.gz and one .eml
 *	per destination instead and marks nothing.
 *
 *	Settings come from the Report* keys of the configuration (-c), the
 *	command-line options overriding them (--suppress adds to
 *	ReportSuppress); the resolver is the configuration's, plus the
 *	--dns-zone files (which make it offline).
 * MEMORY
 *	One arena per policy domain holds its grouping, XML, gzip and
 *	mail; freed when the domain is done. Settings point into argv or
 *	the configuration, which live until exit.
 * LIMITS
 *	REP_MAX_GROUPS records and REP_MAX_XML bytes per report,
 *	REP_MAX_RUA destinations, REP_MAX_SUPPRESS suppressed domains.
 * DIAGNOSTICS
 *	Exit 0 when every report due was sent (or written), 1 when any
 *	failed (it will be retried), 2 for usage and configuration errors.
 *	Lines "mailauth-report: ..." on stderr: info (-v) per report and
 *	destination, warn for skipped destinations and refused reports,
 *	error for failed deliveries and store errors.
 * THREADS
 *	Single-threaded.
 * STANDARDS
 *	RFC 9990 (DMARC aggregate reporting), RFC 9989 (DMARC).
 * SEE ALSO
 *	mailauth-report(8), report_xml.c, report_send.c, report.h
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include <mailauth/arena.h>
#include <mailauth/buf.h>
#include <mailauth/dns.h>
#include <mailauth/log.h>
#include <mailauth/report.h>
#include "cfg.h"
#include "report_int.h"

#define REP_DAY		86400LL
#define REP_MAX_ZONES	64
#define REP_RETRY_DAYS	7	/* default run: days before yesterday still unsent */

/* One built report waiting for its turn to be sent. */
struct pending {
	struct ma_arena *arena;
	struct rep_report r;
	struct pending *next;
};

struct run {
	struct rep_settings *s;
	struct ma_report_store *store;
	struct ma_dns *dns;
	long long begin, end;
	/* the domain being read */
	struct ma_arena *arena;
	struct rep_groups *groups;
	char	domain[256];
	int	skip;			/* current domain is unusable */
	struct pending *head, **tail;
	int	failed;
};

/* usage - print the synopsis (and why), exit 2 */
static void __attribute__((noreturn))
usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "mailauth-report: %s\n", why);
	fprintf(stderr, "usage: mailauth-report [-c FILE] [--begin EPOCH --end EPOCH]\n"
		"\t[--dry-run --output-dir DIR] [--dns-zone FILE]... [-v]\n"
		"\t[--database DB] [--org-name NAME] [--email ADDR]\n"
		"\t[--relay HOST:PORT] [--sendmail PATH] [--max-bytes N]\n"
		"\t[--suppress DOMAIN]... [--spool FILE]\n");
	exit(2);
}

/* stderr_sink - log lines to stderr */
static void
stderr_sink(enum ma_log_level level, const char *text, void *ctx)
{
	(void) ctx;
	(void) level;
	fprintf(stderr, "mailauth-report: %s\n", text);
}

/* parse_ll - range-checked decimal number; 0 on success */
static int
parse_ll(const char *s, long long min, long long max, long long *out)
{
	char   *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return (-1);
	*out = v;
	return (0);
}

/* finish_domain - build the current domain's report, queue it */
static void
finish_domain(struct run *run)
{
	struct pending *p;
	struct ma_buf xml;
	unsigned char rnd[8];
	char	id[32];
	size_t	i;
	enum ma_status st;
	struct rep_report *r;

	if (run->arena == NULL)
		return;
	if (run->skip || run->groups == NULL)
		goto drop;
	if ((p = ma_arena_alloc(run->arena, sizeof(*p))) == NULL)
		goto nomem;
	r = &p->r;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		goto nomem;
	for (i = 0; i < sizeof(rnd); i++)
		(void) snprintf(id + 2 * i, sizeof(id) - 2 * i, "%02x", rnd[i]);
	r->domain = ma_arena_strdup(run->arena, run->domain);
	r->begin = run->begin;
	r->end = run->end;
	r->report_id = ma_arena_printf(run->arena, "%lld.%s", run->begin, id);
	r->filename = ma_arena_printf(run->arena, "%s!%s!%lld!%lld!%s.xml.gz",
				      run->s->receiver, run->domain, run->begin,
				      run->end - 1, r->report_id);
	if (r->domain == NULL || r->report_id == NULL || r->filename == NULL)
		goto nomem;
	rep_groups_count(run->groups, &r->messages, &r->records);
	if ((r->rua = ma_arena_strdup(run->arena,
				      rep_groups_last(run->groups)->rua)) == NULL)
		goto nomem;
	ma_buf_init(&xml, run->arena, REP_MAX_XML);
	if ((st = rep_xml_build(run->arena, run->s, r, run->groups, &xml)) != MA_OK
	    || (st = rep_gzip(run->arena, xml.data, xml.len, r->filename + 0,
			      run->end, &r->gz, &r->gz_len)) != MA_OK) {
		ma_log(MA_LOG_ERROR, "%s: report not built: %s", run->domain,
		       ma_status_str(st));
		run->failed = 1;
		goto drop;
	}
	p->arena = run->arena;
	*run->tail = p;
	run->tail = &p->next;
	run->arena = NULL;
	run->groups = NULL;
	return;
nomem:
	ma_log(MA_LOG_ERROR, "%s: out of memory", run->domain);
	run->failed = 1;
drop:
	ma_arena_free(&run->arena);
	run->groups = NULL;
}

/* take_row - ma_report_store_rows callback: group a row under its domain */
static int
take_row(const struct ma_report_row *row, void *ctx)
{
	struct run *run = ctx;
	char	safe[128];
	enum ma_status st;

	if (run->arena == NULL || strcasecmp(row->policy_domain, run->domain) != 0) {
		finish_domain(run);
		(void) snprintf(run->domain, sizeof(run->domain), "%s",
				row->policy_domain);
		run->skip = 0;
		if (!rep_is_host(run->domain)) {
			ma_log(MA_LOG_WARN, "skipping rows of policy domain "
			       "\"%s\": not a host name",
			       ma_log_sanitize(safe, sizeof(safe), run->domain,
					       strlen(run->domain)));
			run->skip = 1;
		}
		if ((run->arena = ma_arena_new()) == NULL
		    || (run->groups = rep_groups_new(run->arena)) == NULL) {
			ma_log(MA_LOG_ERROR, "out of memory");
			run->failed = 1;
			return (1);
		}
	}
	if (run->skip)
		return (0);
	if ((st = rep_groups_add(run->groups, row)) != MA_OK) {
		ma_log(MA_LOG_ERROR, "%s: %s grouping rows", run->domain,
		       ma_status_str(st));
		run->skip = 1;
		run->failed = 1;
	}
	return (0);
}

/* write_file - path = dir/name with the given bytes (dry run) */
static int
write_file(const char *dir, const char *name, const void *p, size_t len)
{
	char	path[4096];
	FILE   *fp;
	int	ok;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int) sizeof(path)
	    || (fp = fopen(path, "wb")) == NULL) {
		ma_log(MA_LOG_ERROR, "%s/%s: cannot write: %s", dir, name,
		       strerror(errno));
		return (-1);
	}
	ok = fwrite(p, 1, len, fp) == len;
	if (fclose(fp) != 0 || !ok) {
		ma_log(MA_LOG_ERROR, "%s: write failed: %s", path, strerror(errno));
		return (-1);
	}
	return (0);
}

/* send_dest - one destination of report p; -1 when it must be retried */
static int
send_dest(struct run *run, struct pending *p, const struct rep_dest *d,
	  size_t idx)
{
	struct rep_report *r = &p->r;
	struct ma_buf msg;
	char	err[512], name[64];
	int	ok;
	enum ma_status st;

	if (rep_is_suppressed(run->s, d->host)) {
		ma_log(MA_LOG_INFO, "%s: not sending to %s: suppressed",
		       r->domain, d->addr);
		return (0);
	}
	if (rep_dest_is_external(r->domain, d->host)) {
		st = rep_dest_verify(run->dns, p->arena, r->domain, d->host, &ok);
		if (st != MA_OK) {
			ma_log(MA_LOG_WARN, "%s: external destination %s: "
			       "verification failed (%s); retry next run",
			       r->domain, d->addr, ma_status_str(st));
			return (-1);
		}
		if (!ok) {
			ma_log(MA_LOG_WARN, "%s: skipping external destination "
			       "%s: no v=DMARC1 record at %s._report._dmarc.%s",
			       r->domain, d->addr, r->domain, d->host);
			return (0);
		}
	}
	if (d->max_size != 0 && r->gz_len > d->max_size) {
		ma_log(MA_LOG_WARN, "%s: not sending to %s: report is %zu "
		       "bytes, destination takes %llu", r->domain, d->addr,
		       r->gz_len, d->max_size);
		return (0);
	}
	ma_buf_init(&msg, p->arena, REP_MAX_XML);
	if ((st = rep_message_build(p->arena, run->s, r, d, &msg)) != MA_OK) {
		ma_log(MA_LOG_ERROR, "%s: mail to %s not built: %s", r->domain,
		       d->addr, ma_status_str(st));
		return (-1);
	}
	if (run->s->dry_run) {
		(void) snprintf(name, sizeof(name), "-%zu.eml", idx);
		return (write_file(run->s->output_dir,
				   ma_arena_printf(p->arena, "%.*s%s",
						   (int) (strlen(r->filename) - 7),
						   r->filename, name),
				   msg.data, msg.len));
	}
	if (rep_deliver(run->s, d->addr, msg.data, msg.len, err,
			sizeof(err)) != MA_OK) {
		ma_log(MA_LOG_ERROR, "%s: delivery to %s failed: %s; retry next "
		       "run", r->domain, d->addr, err);
		return (-1);
	}
	ma_log(MA_LOG_INFO, "%s: report %s sent to %s (%zu bytes)", r->domain,
	       r->report_id, d->addr, r->gz_len);
	return (0);
}

/* send_report - every destination of one report; mark sent when all went */
static void
send_report(struct run *run, struct pending *p)
{
	struct rep_report *r = &p->r;
	struct rep_dest dests[REP_MAX_RUA];
	const char *rua = p->r.rua;
	size_t	n = 0, i;
	int	sent = 0, failed = 0;

	if (rep_is_suppressed(run->s, r->domain)) {
		ma_log(MA_LOG_INFO, "%s: suppressed, no report", r->domain);
		return;
	}
	if (ma_report_store_was_sent(run->store, r->domain, r->begin, r->end,
				     &sent) != MA_OK) {
		ma_log(MA_LOG_ERROR, "%s: history store error", r->domain);
		run->failed = 1;
		return;
	}
	if (sent) {
		ma_log(MA_LOG_INFO, "%s: report for %lld..%lld already sent",
		       r->domain, r->begin, r->end);
		return;
	}
	if (run->s->max_bytes != 0 && r->gz_len > run->s->max_bytes) {
		ma_log(MA_LOG_WARN, "%s: report is %zu bytes, over ReportMaxBytes "
		       "%llu: not sent", r->domain, r->gz_len, run->s->max_bytes);
		return;
	}
	ma_log(MA_LOG_INFO, "%s: report %s: %llu messages, %zu records, %zu "
	       "bytes", r->domain, r->report_id, r->messages, r->records,
	       r->gz_len);
	if (run->s->dry_run
	    && write_file(run->s->output_dir, r->filename, r->gz, r->gz_len) < 0)
		failed = 1;
	if (rep_rua_parse(rua, strlen(rua), dests, REP_MAX_RUA, &n) != MA_OK)
		ma_log(MA_LOG_INFO, "%s: no usable mailto: in rua=", r->domain);
	for (i = 0; i < n; i++)
		if (send_dest(run, p, &dests[i], i) < 0)
			failed = 1;
	if (failed) {
		run->failed = 1;
		return;
	}
	if (run->s->dry_run)
		return;
	if (ma_report_store_mark_sent(run->store, r->domain, r->begin, r->end,
				      r->report_id) != MA_OK) {
		ma_log(MA_LOG_ERROR, "%s: could not record the report as sent",
		       r->domain);
		run->failed = 1;
	}
}

/* run_period - read, build and send the reports of [begin, end) */
static void
run_period(struct run *run, long long begin, long long end)
{
	struct pending *p, *next;
	struct ma_arena *a;

	run->begin = begin;
	run->end = end;
	run->head = NULL;
	run->tail = &run->head;
	if (ma_report_store_rows(run->store, begin, end, take_row, run) != MA_OK) {
		ma_log(MA_LOG_ERROR, "reading the history failed");
		run->failed = 1;
	}
	finish_domain(run);
	for (p = run->head; p != NULL; p = next) {
		next = p->next;
		a = p->arena;	/* p lives in its own arena */
		send_report(run, p);
		ma_arena_free(&a);
	}
}

/* open_dns - the resolver: -c settings plus --dns-zone files (offline) */
static struct ma_dns *
open_dns(const struct ma_config *cfg, const char *const *zones, size_t n_zones)
{
	struct ma_dns_options opt;
	struct ma_dns *dns;
	char	err[512];
	size_t	i;

	memset(&opt, 0, sizeof(opt));
	opt.nameservers = (const char *const *) cfg->nameservers;
	opt.timeout_ms = cfg->dns_timeout_ms;
	opt.offline = cfg->dns_offline || n_zones > 0;
	opt.trust_anchor_file = cfg->trust_anchor_file;
	if (ma_dns_new(&opt, &dns, err, sizeof(err)) != MA_OK) {
		ma_log(MA_LOG_FATAL, "resolver: %s", err);
		return (NULL);
	}
	for (i = 0; cfg->zone_files && cfg->zone_files[i]; i++)
		if (ma_dns_load_zone_file(dns, cfg->zone_files[i], err,
					  sizeof(err)) != MA_OK)
			goto bad;
	for (i = 0; i < n_zones; i++)
		if (ma_dns_load_zone_file(dns, zones[i], err, sizeof(err)) != MA_OK)
			goto bad;
	return (dns);
bad:
	ma_log(MA_LOG_FATAL, "%s", err);
	ma_dns_free(&dns);
	return (NULL);
}

/* from_config - Report* keys of the configuration where no option was given */
static void
from_config(struct rep_settings *s, const struct ma_config *c,
	    const char **database, const char **spool, int max_bytes_set)
{
	size_t	i;

	if (s->org_name == NULL)
		s->org_name = c->report_org_name;
	if (s->email == NULL)
		s->email = c->report_email;
	if (s->relay == NULL)
		s->relay = c->report_relay;
	if (s->sendmail == NULL)
		s->sendmail = c->report_sendmail;
	if (!max_bytes_set)
		s->max_bytes = c->report_max_bytes;
	if (*database == NULL)
		*database = c->report_database;
	if (*spool == NULL)
		*spool = c->report_spool;
	for (i = 0; c->report_suppress && c->report_suppress[i]
	     && s->n_suppress < REP_MAX_SUPPRESS; i++)
		s->suppress[s->n_suppress++] = c->report_suppress[i];
}

/* fill_defaults - host-name based defaults; the receiver domain */
static void
fill_defaults(struct rep_settings *s, char *host, size_t hostlen,
	      char *email, size_t emaillen)
{
	const char *at;

	if (gethostname(host, hostlen) != 0 || host[0] == '\0')
		(void) snprintf(host, hostlen, "localhost");
	host[hostlen - 1] = '\0';
	if (s->org_name == NULL)
		s->org_name = host;
	if (s->email == NULL) {
		(void) snprintf(email, emaillen, "postmaster@%s", host);
		s->email = email;
	}
	if (s->relay == NULL)
		s->relay = "127.0.0.1:25";
	at = strrchr(s->email, '@');
	s->receiver = at != NULL && at[1] != '\0' ? at + 1 : host;
	s->generator = PACKAGE_NAME " mailauth-report " PACKAGE_VERSION;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"dry-run", no_argument, NULL, 'n'},
		{"output-dir", required_argument, NULL, 'o'},
		{"begin", required_argument, NULL, 'b'},
		{"end", required_argument, NULL, 'e'},
		{"dns-zone", required_argument, NULL, 'z'},
		{"verbose", no_argument, NULL, 'v'},
		{"database", required_argument, NULL, 'D'},
		{"org-name", required_argument, NULL, 'O'},
		{"email", required_argument, NULL, 'E'},
		{"relay", required_argument, NULL, 'R'},
		{"sendmail", required_argument, NULL, 'S'},
		{"max-bytes", required_argument, NULL, 'M'},
		{"suppress", required_argument, NULL, 'X'},
		{"spool", required_argument, NULL, 'P'},
		{"smtp-timeout", required_argument, NULL, 'T'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	struct rep_settings s;
	struct run run;
	struct ma_config *cfg = NULL;
	struct ma_report_store_options so;
	const char *cfgpath = NULL, *zones[REP_MAX_ZONES];
	const char *database = NULL, *spool = NULL;
	int	max_bytes_set = 0;
	char	err[512], host[256], email[320];
	long long begin = -1, end = -1, pend, v, now;
	int	catch_up = 0;
	size_t	n_zones = 0;
	int	ch;

	memset(&s, 0, sizeof(s));
	memset(&run, 0, sizeof(run));
	while ((ch = getopt_long(argc, argv, "c:v", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': cfgpath = optarg; break;
		case 'n': s.dry_run = 1; break;
		case 'o': s.output_dir = optarg; break;
		case 'b':
			if (parse_ll(optarg, 0, 1LL << 40, &begin) < 0)
				usage("--begin wants seconds since the epoch");
			break;
		case 'e':
			if (parse_ll(optarg, 1, 1LL << 40, &end) < 0)
				usage("--end wants seconds since the epoch");
			break;
		case 'z':
			if (n_zones >= REP_MAX_ZONES)
				usage("too many --dns-zone files");
			zones[n_zones++] = optarg;
			break;
		case 'v': s.verbose = 1; break;
		case 'D': database = optarg; break;
		case 'O': s.org_name = optarg; break;
		case 'E': s.email = optarg; break;
		case 'R': s.relay = optarg; break;
		case 'S': s.sendmail = optarg; break;
		case 'M':
			if (parse_ll(optarg, 0, 1LL << 40, &v) < 0)
				usage("--max-bytes wants a number of bytes");
			s.max_bytes = (unsigned long long) v;
			max_bytes_set = 1;
			break;
		case 'X':
			if (s.n_suppress >= REP_MAX_SUPPRESS)
				usage("too many --suppress domains");
			s.suppress[s.n_suppress++] = optarg;
			break;
		case 'P': spool = optarg; break;
		case 'T':
			if (parse_ll(optarg, 1, 3600, &v) < 0)
				usage("--smtp-timeout wants seconds (1..3600)");
			s.smtp_timeout_ms = (unsigned) v * 1000;
			break;
		default:
			usage(NULL);
		}
	}
	if (optind < argc)
		usage("no operands expected");
	if (s.dry_run != (s.output_dir != NULL))
		usage("--dry-run and --output-dir go together");
	if ((begin < 0) != (end < 0))
		usage("--begin and --end go together");
	if (begin < 0) {
		now = (long long) time(NULL);
		end = now - now % REP_DAY;
		begin = end - REP_RETRY_DAYS * REP_DAY;
		catch_up = 1;
	}
	if (end <= begin)
		usage("--end must be after --begin");

	ma_log_set_sink(stderr_sink, NULL, s.verbose ? MA_LOG_INFO : MA_LOG_WARN);
	if (ma_config_load(cfgpath, &cfg, err, sizeof(err)) != MA_OK) {
		fprintf(stderr, "mailauth-report: %s\n", err);
		return (2);
	}
	from_config(&s, cfg, &database, &spool, max_bytes_set);
	fill_defaults(&s, host, sizeof(host), email, sizeof(email));
	if (!rep_is_host(s.receiver)) {
		fprintf(stderr, "mailauth-report: ReportEmail domain \"%s\" is "
			"not a host name\n", s.receiver);
		return (2);
	}
	if ((run.dns = open_dns(cfg, zones, n_zones)) == NULL)
		return (2);
	memset(&so, 0, sizeof(so));
	so.database = database;
	so.spool_path = spool;
	so.writer_thread = 0;
	if (ma_report_store_open(&so, &run.store, err, sizeof(err)) != MA_OK) {
		fprintf(stderr, "mailauth-report: %s: %s\n", database, err);
		ma_dns_free(&run.dns);
		return (2);
	}
	run.s = &s;
	for (; begin < end; begin = pend) {
		pend = catch_up ? begin + REP_DAY : end;
		run_period(&run, begin, pend);
	}
	ma_report_store_close(&run.store);
	ma_dns_free(&run.dns);
	ma_config_free(&cfg);
	return (run.failed ? 1 : 0);
}
