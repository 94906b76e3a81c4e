/*
 * NAME
 *	milter_load - milter-protocol load generator (the MTA side)
 * SUMMARY
 *	many concurrent milter connections, as Postfix 3.7 makes them;
 *	messages/s, milter CPU per message, end-of-message latency, RSS
 * SYNOPSIS
 *	milter_load -s SOCKET -f FILE[,key=value...] [-f ...] [-c CONC]
 *		[-n TOTAL] [-m MSGS_PER_CONN] [-t SECONDS] [-w WARMUP]
 *		[-p PID] [-r] [-H FIELD] [-T IO_TIMEOUT] [-e MAX_ERRORS]
 *		[-j MYHOSTNAME] [-D] [-G MS] [-q]
 * DESCRIPTION
 *	Options:
 *	-s SOCKET  milter socket: unix:PATH, local:PATH, inet:PORT@HOST,
 *		   inet6:PORT@HOST (HOST default loopback)
 *	-c N	   connections in parallel, one thread each (default 8)
 *	-n N	   messages timed (default 1000)
 *	-m N	   messages per connection (default 1, as an MX sees it)
 *	-t SEC	   time limit of the whole run (default 300)
 *	-w N	   warm-up messages first, not timed (default 0)
 *	-p PID	   the milter process: CPU (utime + stime of all its
 *		   threads, /proc/PID/stat) and VmRSS/VmHWM
 *		   (/proc/PID/status) before and after the timed messages
 *	-f SPEC	   a message source, repeatable; connection i uses source
 *		   i mod count. SPEC: FILE[,key=value]..., keys:
 *		   client=ADDR (default 192.0.2.1), name=CLIENT_NAME
 *		   (default unknown, sent as [ADDR]), port=N, helo=NAME,
 *		   from=ADDR, rcpt=ADDR (repeatable), daemon=NAME
 *		   ({daemon_name}, default MX), auth=USER ({auth_authen},
 *		   {auth_type} PLAIN), expect=accept|reject|tempfail|
 *		   discard|quarantine
 *	-r	   check each final reply against the source's expect=
 *	-H FIELD   check that every message got an edit of this header
 *		   field (SMFIR_ADDHEADER, INSHEADER or CHGHEADER)
 *	-T SEC	   every socket read/write/connect timeout (default 10)
 *	-e N	   stop after N errors (default 100; 0: never)
 *	-j NAME	   the j macro, MTA host name (default mx.bench.example)
 *	-D	   latency from the first header instead of from EOM: the
 *		   span Postfix's cleanup spends with a milter after end of
 *		   data (header, EOH, body and EOM stages); replies to those
 *		   stages count, and work a milter does in them shows
 *	-G MS	   pause MS milliseconds after DATA's reply before the
 *		   header, as a client's upload keeps the MTA waiting between
 *		   the DATA event and end of data (default 0)
 *	-q	   quiet: only the machine-readable line
 *
 *	Per connection: SMFIC_OPTNEG offering version 6, every action and
 *	every protocol step Postfix 3.7 offers, then CONNECT (macros j,
 *	{daemon_name}, {daemon_addr}, v, _, and {client_addr},
 *	{client_name}, {client_port}), HELO, and per message MAIL (i,
 *	{mail_addr}, {auth_type} + {auth_authen} when given), RCPT (i,
 *	{rcpt_addr}, {rcpt_host}, {rcpt_mailer}), DATA (i), the header
 *	fields of the file, EOH (i), the body as CRLF lines in chunks of
 *	65535 bytes (libmilter's limit), EOM (i), then QUIT. What the
 *	milter negotiates is honoured (mta_proto.c). A final reply other
 *	than continue before EOM ends the message (ABORT; at connect or
 *	HELO, the connection).
 *
 *	Message files (msg_file.c): the header ends at the first empty
 *	line; fields are split properly (continuation lines joined with
 *	LF, as Postfix sends them); LF or CRLF input; the body is sent
 *	with CRLF.
 *
 *	Per message the time from sending EOM (with -D: the first
 *	header) to the final reply is measured (CLOCK_MONOTONIC,
 *	microseconds) and replies are counted by kind. At the end: a
 *	human summary (unless -q) and one line
 *	  msgs=N secs=S rate=R/s cpu_ms_per_msg=C lg_cpu_ms_per_msg=L
 *	  p50_us= p90_us= p99_us= max_us= rss_kb_start= rss_kb_end=
 *	  hwm_kb= accept= quarantine= reject= tempfail= discard= other=
 *	  errors= mismatches= hdr_missing=
 *	("-" where not measured; cpu_ms_per_msg needs -p,
 *	lg_cpu_ms_per_msg is this program's own CPU).
 * MEMORY
 *	Message files are read once; everything is freed at exit.
 *	Latencies go into a fixed log-linear histogram (0.4 % resolution),
 *	so memory does not grow with -n.
 * LIMITS
 *	Message files as msg_file.c allows (64 MiB, 10000 fields); 32
 *	recipients, 64 sources, 1024 connections; every wait bounded (-T,
 *	and the run by -t plus one reply's wait).
 * DIAGNOSTICS
 *	Connection failures, timeouts, a milter that closes or breaks the
 *	protocol: counted as errors (the first few reasons on stderr), the
 *	run goes on up to -e. Exit 0 when every message got a final reply
 *	and no check failed, 1 otherwise, 2 for usage errors.
 * THREADS
 *	One thread per connection slot; counters and the histogram are
 *	updated with atomic adds.
 * STANDARDS
 *	Sendmail milter protocol version 6; Postfix MILTER_README.
 * SEE ALSO
 *	mta_proto.c, msg_file.c, load.sh, tests/e2e/milter_proto.py
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "msg_file.h"
#include "mta_proto.h"

#define RCPT_MAX	32
#define SOURCES_MAX	64
#define CONC_MAX	1024
#define ERRORS_SHOWN	5
#define QID_LEN		24
#define HOST_MAX	256
#define HIST_LINEAR	1024		/* exact microseconds below this */
#define HIST_SUB	256		/* buckets per power of two above */
#define HIST_OCTAVES	32
#define HIST_BUCKETS	(HIST_LINEAR + HIST_OCTAVES * HIST_SUB)

enum outcome {
	O_ACCEPT, O_QUARANTINE, O_REJECT, O_TEMPFAIL, O_DISCARD, O_OTHER,
	O_COUNT, O_NONE = -1
};
static const char *const outcome_name[O_COUNT] = {
	"accept", "quarantine", "reject", "tempfail", "discard", "other"
};

struct source {
	struct msg_file msg;		/* msg.path: the -f file */
	const char *client, *name, *helo, *from, *daemon, *auth;
	const char *rcpt[RCPT_MAX];
	size_t	nrcpt;
	unsigned port;
	int	expect;			/* enum outcome or O_NONE */
	char	hostname[HOST_MAX];	/* CONNECT name: name or [client] */
	char	under[2 * HOST_MAX];	/* the _ macro: "name [addr]" */
};

struct tally {
	unsigned long long n[O_COUNT];
	unsigned long long errors, mismatches, hdr_missing, eoms, lat_max;
	unsigned long long hist[HIST_BUCKETS];
};

struct opts {
	const char *socket, *watch, *myhost;
	unsigned conc, total, per_conn, warmup, timeout, max_errors;
	unsigned time_limit, gap_ms;
	long	pid;
	int	check_replies, quiet, from_data;
};

/* shared by the worker threads of one phase */
static struct opts opt;
static struct source sources[SOURCES_MAX];
static unsigned nsources;
static struct tally *cur;		/* the phase's tally */
static unsigned phase_limit;		/* messages in this phase */
static unsigned claimed;		/* atomic */
static unsigned conn_seq;		/* atomic: source round robin */
static unsigned long long msg_seq;	/* atomic: queue ids */
static unsigned errors_shown;		/* atomic */
static volatile sig_atomic_t stop;
static long long deadline_us;

#define ADD(p, v)	__atomic_fetch_add((p), (v), __ATOMIC_RELAXED)

/* now_us - CLOCK_MONOTONIC microseconds */
static long long
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long long) ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

/* usage - synopsis and options; exit 2 with a reason, 0 for -h */
static void __attribute__((noreturn))
usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "milter_load: %s\n", why);
	fprintf(why != NULL ? stderr : stdout,
	"usage: milter_load -s SOCKET -f FILE[,key=value...] [-f ...]\n"
	"  [-c CONC] [-n TOTAL] [-m MSGS_PER_CONN] [-t SECONDS] [-w WARMUP]\n"
	"  [-p PID] [-r] [-H FIELD] [-T IO_TIMEOUT] [-e MAX_ERRORS]\n"
	"  [-j MYHOSTNAME] [-D] [-G MS] [-q]\n"
	"  -s unix:PATH | inet:PORT@HOST | inet6:PORT@HOST  milter socket\n"
	"  -c connections in parallel (8)   -n messages timed (1000)\n"
	"  -m messages per connection (1)   -t time limit, seconds (300)\n"
	"  -w warm-up messages (0)          -p milter PID: CPU and RSS\n"
	"  -r check replies against expect= -H FIELD: header edit expected\n"
	"  -T socket timeout, seconds (10)  -e stop after N errors (100)\n"
	"  -j j macro (mx.bench.example)    -q machine line only\n"
	"  -D latency from the first header -G pause before the header, ms (0)\n"
	"  -f keys: client= name= port= helo= from= rcpt= (repeatable)\n"
	"     daemon= auth=\n"
	"     expect=accept|reject|tempfail|discard|quarantine\n");
	exit(why != NULL ? 2 : 0);
}

/* parse_uint - a decimal number in [lo, hi], or usage() */
static unsigned
parse_uint(const char *s, unsigned lo, unsigned hi, const char *what)
{
	char   *end;
	unsigned long v;
	char	msg[128];

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' ||
	    v < lo || v > hi) {
		(void) snprintf(msg, sizeof(msg), "%s: want %u..%u, got \"%s\"",
				what, lo, hi, s);
		usage(msg);
	}
	return ((unsigned) v);
}

/* ------------------------------------------------------------ sources */

/* parse_expect - expect= word to an outcome */
static int
parse_expect(const char *w)
{
	int	i;

	for (i = 0; i < O_COUNT; i++)
		if (strcmp(w, outcome_name[i]) == 0 && i != O_OTHER)
			return (i);
	usage("expect= wants accept, reject, tempfail, discard or "
	      "quarantine");
}

/* add_source - "FILE[,key=value...]" (spec is kept, split in place) */
static void
add_source(char *spec)
{
	struct source *s;
	char   *save = NULL, *tok, *val;

	if (nsources >= SOURCES_MAX)
		usage("too many -f");
	s = &sources[nsources++];
	s->msg.path = strtok_r(spec, ",", &save);
	if (s->msg.path == NULL)
		usage("-f wants FILE[,key=value...]");
	s->client = "192.0.2.1";
	s->name = "unknown";
	s->helo = "client.example";
	s->from = "sender@example.com";
	s->daemon = "MX";
	s->expect = O_NONE;
	while ((tok = strtok_r(NULL, ",", &save)) != NULL) {
		if ((val = strchr(tok, '=')) == NULL)
			usage("-f: key=value expected");
		*val++ = '\0';
		if (strcmp(tok, "client") == 0)
			s->client = val;
		else if (strcmp(tok, "name") == 0)
			s->name = val;
		else if (strcmp(tok, "port") == 0)
			s->port = parse_uint(val, 0, 65535, "port=");
		else if (strcmp(tok, "helo") == 0)
			s->helo = val;
		else if (strcmp(tok, "from") == 0)
			s->from = val;
		else if (strcmp(tok, "rcpt") == 0 && s->nrcpt < RCPT_MAX)
			s->rcpt[s->nrcpt++] = val;
		else if (strcmp(tok, "daemon") == 0)
			s->daemon = val;
		else if (strcmp(tok, "auth") == 0)
			s->auth = val;
		else if (strcmp(tok, "expect") == 0)
			s->expect = parse_expect(val);
		else
			usage("-f: unknown key (or too many rcpt=)");
	}
	if (s->nrcpt == 0)
		s->rcpt[s->nrcpt++] = "user@rcpt.example";
	/* Postfix (as Sendmail) sends [addr] when the name is unknown */
	if (strcmp(s->name, "unknown") == 0)
		(void) snprintf(s->hostname, sizeof(s->hostname), "[%s]",
				s->client);
	else
		(void) snprintf(s->hostname, sizeof(s->hostname), "%s",
				s->name);
	(void) snprintf(s->under, sizeof(s->under), "%s [%s]", s->name,
			s->client);
	if (msg_file_load(&s->msg) < 0) {
		fprintf(stderr, "milter_load: cannot use %s\n", s->msg.path);
		exit(1);
	}
}

/* free_sources - release the message files */
static void
free_sources(void)
{
	unsigned i;

	for (i = 0; i < nsources; i++)
		msg_file_free(&sources[i].msg);
}

/* ------------------------------------------------------------ tally */

/* hist_bucket - histogram index of a latency */
static unsigned
hist_bucket(unsigned long long us)
{
	unsigned e;

	if (us < HIST_LINEAR)
		return ((unsigned) us);
	e = 63u - (unsigned) __builtin_clzll(us);	/* >= 10 */
	if (e - 10 >= HIST_OCTAVES)
		return (HIST_BUCKETS - 1);
	return (HIST_LINEAR + (e - 10) * HIST_SUB +
		(unsigned) ((us >> (e - 8)) & (HIST_SUB - 1)));
}

/* hist_value - the lower bound of a bucket, microseconds */
static unsigned long long
hist_value(unsigned b)
{
	unsigned e;

	if (b < HIST_LINEAR)
		return (b);
	e = (b - HIST_LINEAR) / HIST_SUB + 10;
	return ((1ULL << e) + ((unsigned long long)
			       ((b - HIST_LINEAR) % HIST_SUB) << (e - 8)));
}

/* percentile - latency at fraction q of the EOM replies */
static unsigned long long
percentile(const struct tally *t, double q)
{
	unsigned long long want, sum = 0;
	unsigned b;

	if (t->eoms == 0)
		return (0);
	want = (unsigned long long) (q * (double) t->eoms + 0.999999);
	if (want == 0)
		want = 1;
	for (b = 0; b < HIST_BUCKETS; b++) {
		sum += t->hist[b];
		if (sum >= want)
			return (hist_value(b));
	}
	return (t->lat_max);
}

/* classify - the outcome of a final reply */
static enum outcome
classify(const struct mta_reply *r)
{
	switch (r->final) {
	case MTA_R_CONTINUE:
	case MTA_R_ACCEPT:
		return (r->nquarantine > 0 ? O_QUARANTINE : O_ACCEPT);
	case MTA_R_REJECT:
		return (O_REJECT);
	case MTA_R_TEMPFAIL:
		return (O_TEMPFAIL);
	case MTA_R_DISCARD:
		return (O_DISCARD);
	case MTA_R_REPLYCODE:
		return (r->text[0] == '5' ? O_REJECT :
			r->text[0] == '4' ? O_TEMPFAIL : O_OTHER);
	default:
		return (O_OTHER);
	}
}

/* record - one message's outcome; lat_us < 0: did not reach EOM */
static void
record(const struct source *s, const struct mta_reply *r, long long lat_us)
{
	enum outcome o = classify(r);
	unsigned long long l, m;

	ADD(&cur->n[o], 1);
	if (opt.check_replies && s->expect != O_NONE && s->expect != (int) o) {
		if (ADD(&cur->mismatches, 1) < ERRORS_SHOWN && !opt.quiet)
			fprintf(stderr, "milter_load: %s: want %s, got %s %s\n",
				s->msg.path, outcome_name[s->expect],
				outcome_name[o], r->text);
	}
	if (opt.watch != NULL && r->nwatch == 0)
		ADD(&cur->hdr_missing, 1);
	if (lat_us < 0)
		return;
	l = (unsigned long long) lat_us;
	ADD(&cur->eoms, 1);
	ADD(&cur->hist[hist_bucket(l)], 1);
	m = __atomic_load_n(&cur->lat_max, __ATOMIC_RELAXED);
	while (l > m && !__atomic_compare_exchange_n(&cur->lat_max, &m, l, 1,
			__ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/* record_error - a message that got no final reply */
static void
record_error(const char *what, const char *why)
{
	unsigned long long n = ADD(&cur->errors, 1) + 1;

	if (ADD(&errors_shown, 1) < ERRORS_SHOWN && !opt.quiet)
		fprintf(stderr, "milter_load: error: %s: %s\n", what, why);
	if (opt.max_errors > 0 && n >= opt.max_errors)
		stop = 1;
}

/* ------------------------------------------------------------ sessions */

/* is_final - a reply that ends the message before EOM */
static int
is_final(const struct mta_reply *r)
{
	return (r->final != MTA_R_NONE && r->final != MTA_R_CONTINUE &&
		r->final != MTA_R_SKIP);
}

/* open_session - negotiate, CONNECT, HELO; 1: a final reply in *r */
static int
open_session(struct mta_conn *c, const struct source *s, unsigned port,
	     struct mta_reply *r)
{
	char	portbuf[12];
	struct mta_macro cm[] = {
		{"j", opt.myhost}, {"{daemon_name}", s->daemon},
		{"{daemon_addr}", "127.0.0.1"}, {"v", "Postfix 3.7.11"},
		{"_", s->under}, {"{client_addr}", s->client},
		{"{client_name}", s->name}, {"{client_port}", portbuf},
	};

	(void) snprintf(portbuf, sizeof(portbuf), "%u", port);
	if (opt.watch != NULL)
		mta_watch_header(c, opt.watch);
	if (mta_optneg(c, MTA_F_ALL, MTA_P_ALL) < 0 ||
	    mta_connect(c, cm, sizeof(cm) / sizeof(cm[0]), s->hostname,
			s->client, port, r) < 0)
		return (-1);
	if (is_final(r))
		return (1);
	if (mta_helo(c, NULL, 0, s->helo, r) < 0)
		return (-1);
	return (is_final(r) ? 1 : 0);
}

/* send_content - header fields, EOH, body chunks; 1: a final reply */
static int
send_content(struct mta_conn *c, const struct source *s,
	     const struct mta_macro *im, struct mta_reply *r)
{
	const struct msg_field *f;
	size_t	i, off, n;

	for (i = 0; i < s->msg.nf; i++) {
		f = &s->msg.f[i];
		if (mta_header(c, f->name, f->nlen, f->value, f->vlen, r) < 0)
			return (-1);
		if (is_final(r))
			return (1);
	}
	if (mta_eoh(c, im, 1, r) < 0)
		return (-1);
	if (is_final(r))
		return (1);
	for (off = 0; off < s->msg.blen; off += n) {
		n = s->msg.blen - off < MTA_BODY_CHUNK ? s->msg.blen - off :
		    MTA_BODY_CHUNK;
		if (mta_body(c, s->msg.body + off, n, r) < 0)
			return (-1);
		if (r->final == MTA_R_SKIP)
			break;
		if (is_final(r))
			return (1);
	}
	return (0);
}

/* pause_ms - sleep ms milliseconds (signals cut it short) */
static void
pause_ms(unsigned ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long) (ms % 1000) * 1000000L;
	(void) nanosleep(&ts, NULL);
}

/*
 * one_message - MAIL .. EOM on an open session: 0 done (recorded), 1
 * recorded but the connection is unusable, -1 error (not recorded).
 */
static int
one_message(struct mta_conn *c, const struct source *s)
{
	char	qid[QID_LEN], rhost[HOST_MAX];
	const char *at;
	struct mta_reply r;
	struct mta_macro im[] = {{"i", qid}};
	struct mta_macro mm[] = {
		{"i", qid}, {"{mail_addr}", s->from},
		{"{auth_type}", s->auth ? "PLAIN" : NULL},
		{"{auth_authen}", s->auth},
	};
	struct mta_macro rm[] = {
		{"i", qid}, {"{rcpt_addr}", NULL}, {"{rcpt_host}", rhost},
		{"{rcpt_mailer}", "smtp"},
	};
	long long t0;
	size_t	i;

	(void) snprintf(qid, sizeof(qid), "4B%05lX%07llX",
			(unsigned long) getpid() & 0xfffff,
			ADD(&msg_seq, 1) & 0xfffffff);
	if (mta_mail(c, mm, sizeof(mm) / sizeof(mm[0]), s->from, &r) < 0)
		return (-1);
	for (i = 0; i < s->nrcpt && !is_final(&r); i++) {
		at = strrchr(s->rcpt[i], '@');
		(void) snprintf(rhost, sizeof(rhost), "%s", at ? at + 1 : "");
		rm[1].value = s->rcpt[i];
		if (mta_rcpt(c, rm, sizeof(rm) / sizeof(rm[0]), s->rcpt[i],
			     &r) < 0)
			return (-1);
	}
	if (!is_final(&r) && mta_data(c, im, 1, &r) < 0)
		return (-1);
	/* the client's think time: what an MTA has sent by then is sent */
	if (!is_final(&r) && opt.gap_ms > 0) {
		if (mta_flush(c) < 0)
			return (-1);
		pause_ms(opt.gap_ms);
	}
	t0 = now_us();
	if (!is_final(&r) && send_content(c, s, im, &r) < 0)
		return (-1);
	if (is_final(&r)) {
		record(s, &r, -1);
		return (mta_abort(c) < 0 ? 1 : 0);
	}
	if (!opt.from_data)
		t0 = now_us();
	if (mta_eom(c, im, 1, &r) < 0)
		return (-1);
	record(s, &r, now_us() - t0);
	return (0);
}

/* claim - one more message of this phase, 0 when none is left */
static int
claim(void)
{
	if (stop || now_us() > deadline_us)
		return (0);
	if (ADD(&claimed, 1) >= phase_limit)
		return (0);
	return (1);
}

/* one_connection - up to -m messages on one milter connection */
static int
one_connection(void)
{
	unsigned k = ADD(&conn_seq, 1);
	const struct source *s = &sources[k % nsources];
	unsigned port = s->port ? s->port : 32768 + k % 28000;
	struct mta_conn *c;
	struct mta_reply r;
	char	err[MTA_ERR_MAX];
	unsigned i;
	int	rc;

	if (!claim())
		return (0);
	if ((c = mta_open(opt.socket, (int) opt.timeout, err, sizeof(err)))
	    == NULL) {
		record_error(opt.socket, err);
		return (1);
	}
	if ((rc = open_session(c, s, port, &r)) < 0) {
		record_error(s->msg.path, mta_error(c));
		mta_close(&c);
		return (1);
	}
	if (rc > 0) {		/* refused or accepted at connect/HELO */
		record(s, &r, -1);
		(void) mta_quit(c);
		mta_close(&c);
		return (1);
	}
	for (i = 0;;) {
		if ((rc = one_message(c, s)) != 0) {
			if (rc < 0)
				record_error(s->msg.path, mta_error(c));
			mta_close(&c);
			return (1);
		}
		if (++i >= opt.per_conn || !claim())
			break;
	}
	(void) mta_quit(c);
	mta_close(&c);
	return (1);
}

/* worker - connections until the phase is done */
static void *
worker(void *arg)
{
	(void) arg;
	while (one_connection())
		;
	return (NULL);
}

/* run_phase - n messages over opt.conc threads into t */
static int
run_phase(unsigned n, struct tally *t)
{
	pthread_t th[CONC_MAX];
	unsigned i, started = 0;

	cur = t;
	phase_limit = n;
	__atomic_store_n(&claimed, 0, __ATOMIC_SEQ_CST);
	for (i = 0; i < opt.conc && i < n; i++) {
		if (pthread_create(&th[i], NULL, worker, NULL) != 0) {
			fprintf(stderr, "milter_load: pthread_create: %s\n",
				strerror(errno));
			break;
		}
		started++;
	}
	for (i = 0; i < started; i++)
		(void) pthread_join(th[i], NULL);
	return (started > 0 ? 0 : -1);
}

/* ------------------------------------------------------------ /proc */

struct procstat {
	int	ok;
	unsigned long long ticks;	/* utime + stime, all threads */
	long	rss_kb, hwm_kb;
};

/* proc_sample - CPU ticks and memory of pid */
static void
proc_sample(long pid, struct procstat *ps)
{
	char	path[64], buf[4096], *p, *save = NULL;
	unsigned long long ut, st;
	FILE   *fp;
	size_t	n;
	int	i;

	memset(ps, 0, sizeof(*ps));
	ps->rss_kb = ps->hwm_kb = -1;
	(void) snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((fp = fopen(path, "re")) == NULL)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	(void) fclose(fp);
	buf[n] = '\0';
	/* fields after "(comm)": 3 state ... 14 utime 15 stime */
	if ((p = strrchr(buf, ')')) == NULL)
		return;
	p = strtok_r(p + 1, " ", &save);
	for (i = 3; p != NULL && i < 14; i++)
		p = strtok_r(NULL, " ", &save);
	if (p == NULL)
		return;
	ut = strtoull(p, NULL, 10);
	if ((p = strtok_r(NULL, " ", &save)) == NULL)
		return;
	st = strtoull(p, NULL, 10);
	ps->ticks = ut + st;
	ps->ok = 1;
	(void) snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if ((fp = fopen(path, "re")) == NULL)
		return;
	while (fgets(buf, sizeof(buf), fp) != NULL) {
		if (strncmp(buf, "VmRSS:", 6) == 0)
			ps->rss_kb = strtol(buf + 6, NULL, 10);
		else if (strncmp(buf, "VmHWM:", 6) == 0)
			ps->hwm_kb = strtol(buf + 6, NULL, 10);
	}
	(void) fclose(fp);
}

/* self_cpu - this process's CPU seconds */
static double
self_cpu(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return (0);
	return ((double) ru.ru_utime.tv_sec + (double) ru.ru_stime.tv_sec +
		((double) ru.ru_utime.tv_usec + (double) ru.ru_stime.tv_usec) /
		1e6);
}

/* ------------------------------------------------------------ report */

/* report - human summary (unless quiet) and the machine line */
static void
report(const struct tally *t, double secs, double lg_cpu,
       const struct procstat *a, const struct procstat *b)
{
	unsigned long long msgs = 0;
	char	cpu[32] = "-", rs[24] = "-", re[24] = "-", hwm[24] = "-";
	long	hz = sysconf(_SC_CLK_TCK);
	int	i;

	for (i = 0; i < O_COUNT; i++)
		msgs += t->n[i];
	if (a->ok && b->ok && msgs > 0 && hz > 0)
		(void) snprintf(cpu, sizeof(cpu), "%.3f", (double)
				(b->ticks - a->ticks) * 1000.0 / (double) hz /
				(double) msgs);
	if (a->rss_kb >= 0)
		(void) snprintf(rs, sizeof(rs), "%ld", a->rss_kb);
	if (b->rss_kb >= 0)
		(void) snprintf(re, sizeof(re), "%ld", b->rss_kb);
	if (b->hwm_kb >= 0)
		(void) snprintf(hwm, sizeof(hwm), "%ld", b->hwm_kb);
	if (!opt.quiet) {
		printf("milter_load: %llu messages in %.2f s (%.0f/s), "
		       "%u connections in parallel, %u per connection\n",
		       msgs, secs, secs > 0 ? (double) msgs / secs : 0,
		       opt.conc, opt.per_conn);
		printf("  milter CPU %s ms/msg, RSS %s -> %s kB (peak %s kB); "
		       "load generator CPU %.3f ms/msg\n", cpu, rs, re, hwm,
		       msgs ? lg_cpu * 1000.0 / (double) msgs : 0.0);
		printf("  %s -> reply: p50 %llu us, p90 %llu us, p99 %llu us, "
		       "max %llu us\n", opt.from_data ? "first header" : "EOM",
		       percentile(t, 0.5), percentile(t, 0.9),
		       percentile(t, 0.99), t->lat_max);
		printf("  replies:");
		for (i = 0; i < O_COUNT; i++)
			printf(" %s %llu", outcome_name[i], t->n[i]);
		printf("; errors %llu, mismatches %llu, missing %s %llu\n",
		       t->errors, t->mismatches, opt.watch ? opt.watch : "-",
		       t->hdr_missing);
	}
	printf("msgs=%llu secs=%.2f rate=%.0f/s cpu_ms_per_msg=%s "
	       "lg_cpu_ms_per_msg=%.3f p50_us=%llu p90_us=%llu p99_us=%llu "
	       "max_us=%llu rss_kb_start=%s rss_kb_end=%s hwm_kb=%s",
	       msgs, secs, secs > 0 ? (double) msgs / secs : 0, cpu,
	       msgs ? lg_cpu * 1000.0 / (double) msgs : 0.0,
	       percentile(t, 0.5), percentile(t, 0.9), percentile(t, 0.99),
	       t->lat_max, rs, re, hwm);
	for (i = 0; i < O_COUNT; i++)
		printf(" %s=%llu", outcome_name[i], t->n[i]);
	printf(" errors=%llu mismatches=%llu hdr_missing=%llu\n", t->errors,
	       t->mismatches, t->hdr_missing);
	(void) fflush(stdout);
}

/* on_signal - stop claiming messages; the summary is still printed */
static void
on_signal(int sig)
{
	(void) sig;
	stop = 1;
}

/* parse_args - options into opt and sources */
static void
parse_args(int argc, char **argv)
{
	int	ch;

	opt.conc = 8;
	opt.total = 1000;
	opt.per_conn = 1;
	opt.time_limit = 300;
	opt.timeout = 10;
	opt.max_errors = 100;
	opt.myhost = "mx.bench.example";
	while ((ch = getopt(argc, argv, "s:c:n:m:t:f:p:w:qrH:T:e:j:DG:h")) != -1) {
		switch (ch) {
		case 's':
			opt.socket = optarg;
			break;
		case 'c':
			opt.conc = parse_uint(optarg, 1, CONC_MAX, "-c");
			break;
		case 'n':
			opt.total = parse_uint(optarg, 1, UINT_MAX / 2, "-n");
			break;
		case 'm':
			opt.per_conn = parse_uint(optarg, 1, UINT_MAX, "-m");
			break;
		case 't':
			opt.time_limit = parse_uint(optarg, 1, 86400 * 7, "-t");
			break;
		case 'f':
			add_source(optarg);
			break;
		case 'p':
			opt.pid = parse_uint(optarg, 1, INT_MAX, "-p");
			break;
		case 'w':
			opt.warmup = parse_uint(optarg, 0, UINT_MAX / 2, "-w");
			break;
		case 'q':
			opt.quiet = 1;
			break;
		case 'r':
			opt.check_replies = 1;
			break;
		case 'H':
			opt.watch = optarg;
			break;
		case 'T':
			opt.timeout = parse_uint(optarg, 1, 3600, "-T");
			break;
		case 'e':
			opt.max_errors = parse_uint(optarg, 0, UINT_MAX, "-e");
			break;
		case 'j':
			opt.myhost = optarg;
			break;
		case 'D':
			opt.from_data = 1;
			break;
		case 'G':
			opt.gap_ms = parse_uint(optarg, 0, 60000, "-G");
			break;
		case 'h':
			usage(NULL);
		default:
			usage("unknown option");
		}
	}
	if (optind != argc)
		usage("unexpected arguments");
	if (opt.socket == NULL || nsources == 0)
		usage("-s and at least one -f are required");
}

/* main - warm-up, timed phase between two /proc samples, report */
int
main(int argc, char **argv)
{
	static struct tally warm, timed;
	struct procstat before, after;
	struct sigaction sa;
	long long t0, t1;
	double	c0, c1;
	unsigned long long done;
	int	i;

	parse_args(argc, argv);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	(void) sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = on_signal;
	(void) sigaction(SIGINT, &sa, NULL);
	(void) sigaction(SIGTERM, &sa, NULL);
	deadline_us = now_us() + (long long) opt.time_limit * 1000000;
	if (opt.warmup > 0) {
		if (run_phase(opt.warmup, &warm) < 0)
			return (1);
		if (!opt.quiet)
			printf("milter_load: warm-up %u messages, %llu "
			       "errors\n", opt.warmup, warm.errors);
	}
	memset(&before, 0, sizeof(before));
	memset(&after, 0, sizeof(after));
	before.rss_kb = before.hwm_kb = after.rss_kb = after.hwm_kb = -1;
	if (opt.pid > 0)
		proc_sample(opt.pid, &before);
	c0 = self_cpu();
	t0 = now_us();
	if (run_phase(opt.total, &timed) < 0)
		return (1);
	t1 = now_us();
	c1 = self_cpu();
	if (opt.pid > 0)
		proc_sample(opt.pid, &after);
	report(&timed, (double) (t1 - t0) / 1e6, c1 - c0, &before, &after);
	free_sources();
	done = timed.errors;
	for (i = 0; i < O_COUNT; i++)
		done += timed.n[i];
	if (done < opt.total)
		fprintf(stderr, "milter_load: stopped after %llu of %u "
			"messages (%s)\n", done, opt.total,
			stop ? "signal or -e errors" : "-t time limit");
	return (timed.errors == 0 && timed.mismatches == 0 &&
		timed.hdr_missing == 0 && warm.errors == 0 ? 0 : 1);
}
