/*
 * NAME
 *	report_send - rua= destinations, the report mail, SMTP and sendmail
 * SUMMARY
 *	Parse rua=, verify external destinations, build the RFC 5322/MIME
 *	message of one report for one destination, deliver it.
 * SYNOPSIS
 *	#include "report_int.h"
 * DESCRIPTION
 *	rep_rua_parse() reads the comma-separated URI list of a DMARC
 *	record's rua= tag: only mailto: URIs are kept, %-escapes decoded,
 *	an optional "!size[kmgt]" suffix kept as a byte limit; addresses
 *	that could not be written safely on an SMTP command line (space,
 *	controls, angle brackets, no single '@', bad host) are dropped.
 *	rep_dest_is_external() says whether a destination host lies outside
 *	the policy domain; rep_dest_verify() then looks for the TXT record
 *	"<policy-domain>._report._dmarc.<host>" starting with v=DMARC1.
 *	rep_message_build() writes the mail (CRLF line ends):
 *	multipart/mixed with a text part and the .xml.gz as base64
 *	application/gzip. rep_deliver() pipes it to ReportSendmail
 *	("sendmail -oi -f FROM -- TO") when set, else speaks SMTP (EHLO,
 *	MAIL, RCPT, DATA with dot-stuffing, QUIT) to ReportRelay.
 * MEMORY
 *	Strings and the message live in the caller's arena; the SMTP
 *	reader uses a stack buffer.
 * LIMITS
 *	REP_MAX_RUA destinations; reply lines REP_SMTP_LINE_MAX bytes,
 *	REP_SMTP_LINES_MAX lines per reply; each read/write/connect waits
 *	at most smtp_timeout_ms.
 * DIAGNOSTICS
 *	rep_deliver returns MA_OK only when the message was accepted
 *	(250 after DATA, or sendmail exit 0); otherwise MA_ERR_IO/
 *	MA_ERR_TEMP with the reason in err (peer text sanitized).
 * THREADS
 *	Single-threaded tool; no shared state.
 * STANDARDS
 *	RFC 9990 section 4 (mailto transport, Subject, file name),
 *	RFC 9989 section 4.7 and 6.x (rua, external destination
 *	verification), RFC 5321 (SMTP), RFC 5322, RFC 2045/2046 (MIME),
 *	RFC 6047 (application/gzip is RFC 6713).
 * SEE ALSO
 *	report.c, report_xml.c, mailauth-report(8)
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mailauth/arena.h>
#include <mailauth/buf.h>
#include <mailauth/dns.h>
#include <mailauth/log.h>
#include "report_int.h"

/* rep_is_host - a DNS host name we are willing to write: LDH labels and dots */
int
rep_is_host(const char *h)
{
	size_t	n = strlen(h), i;

	if (n == 0 || n > 253 || h[0] == '.' || h[n - 1] == '.')
		return (0);
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char) h[i]) && h[i] != '-' && h[i] != '.'
		    && h[i] != '_')
			return (0);
	return (strstr(h, "..") == NULL);
}

/* hexval - value of a hex digit, -1 otherwise */
static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	c = tolower(c);
	return (c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1);
}

/* parse_size - "!size[kmgt]" suffix (RFC 9989 4.7); 0 when malformed */
static unsigned long long
parse_size(const char *p, size_t len)
{
	unsigned long long v = 0;
	size_t	i;

	for (i = 0; i < len && isdigit((unsigned char) p[i]); i++) {
		if (v > 1000000000000ULL)
			return (0);
		v = v * 10 + (unsigned) (p[i] - '0');
	}
	if (i == 0)
		return (0);
	if (i + 1 == len) {
		switch (tolower((unsigned char) p[i])) {
		case 'k': return (v << 10);
		case 'm': return (v << 20);
		case 'g': return (v << 30);
		case 't': return (v << 40);
		default: return (0);
		}
	}
	return (i == len ? v : 0);
}

/* parse_one - one URI p[0..len) into d; 0 when not a usable mailto: */
static int
parse_one(const char *p, size_t len, struct rep_dest *d)
{
	const char *bang, *at;
	size_t	i, o = 0, alen;
	int	hi, lo;
	unsigned char c;

	while (len > 0 && isspace((unsigned char) *p))
		p++, len--;
	while (len > 0 && isspace((unsigned char) p[len - 1]))
		len--;
	if (len < 8 || strncasecmp(p, "mailto:", 7) != 0)
		return (0);
	p += 7, len -= 7;
	memset(d, 0, sizeof(*d));
	bang = memchr(p, '!', len);
	alen = bang ? (size_t) (bang - p) : len;
	if (bang != NULL
	    && (d->max_size = parse_size(bang + 1, len - alen - 1)) == 0)
		return (0);
	for (i = 0; i < alen; i++) {
		c = (unsigned char) p[i];
		if (c == '?')
			break;		/* hfields (RFC 6068) are ignored */
		if (c == '%' && i + 2 < alen && (hi = hexval(p[i + 1])) >= 0
		    && (lo = hexval(p[i + 2])) >= 0) {
			c = (unsigned char) (hi * 16 + lo);
			i += 2;
		}
		if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>' || c == ','
		    || c == '"' || c == '\\' || c == '(' || c == ')')
			return (0);
		if (o + 1 >= sizeof(d->addr))
			return (0);
		d->addr[o++] = (char) c;
	}
	d->addr[o] = '\0';
	if ((at = strchr(d->addr, '@')) == NULL || at == d->addr
	    || strchr(at + 1, '@') != NULL)
		return (0);
	if (snprintf(d->host, sizeof(d->host), "%s", at + 1) >= (int) sizeof(d->host)
	    || !rep_is_host(d->host))
		return (0);
	for (i = 0; d->host[i] != '\0'; i++)
		d->host[i] = (char) tolower((unsigned char) d->host[i]);
	return (1);
}

/*
 * rep_rua_parse - the usable mailto: destinations of a rua= value, at
 * most max (REP_MAX_RUA); others are skipped (logged at debug).
 */
enum ma_status
rep_rua_parse(const char *rua, size_t len, struct rep_dest *dests, size_t max,
	      size_t *n_out)
{
	size_t	start = 0, i, n = 0;

	for (i = 0; i <= len; i++) {
		if (i < len && rua[i] != ',')
			continue;
		if (n < max && parse_one(rua + start, i - start, &dests[n]))
			n++;
		else if (i > start)
			ma_log(MA_LOG_DEBUG, "rua: skipping a URI (not a usable "
			       "mailto: or more than %zu)", max);
		start = i + 1;
	}
	*n_out = n;
	return (n > 0 ? MA_OK : MA_ERR_NOTFOUND);
}

/* is_within - whether name equals dom or is a subdomain of it */
static int
is_within(const char *name, const char *dom)
{
	size_t	n = strlen(name), d = strlen(dom);

	if (n == d)
		return (strcasecmp(name, dom) == 0);
	return (n > d && name[n - d - 1] == '.'
		&& strcasecmp(name + n - d, dom) == 0);
}

/* rep_is_suppressed - whether domain (or a parent of it) is in ReportSuppress */
int
rep_is_suppressed(const struct rep_settings *s, const char *domain)
{
	size_t	i;

	for (i = 0; i < s->n_suppress; i++)
		if (is_within(domain, s->suppress[i]))
			return (1);
	return (0);
}

/*
 * rep_dest_is_external - whether host lies outside the policy domain:
 * not the domain, a subdomain of it, nor a parent of it with at least
 * two labels (approximating "same organizational domain", RFC 9989
 * 4.8, without a tree walk: the cautious side is "external").
 */
int
rep_dest_is_external(const char *policy_domain, const char *host)
{
	if (is_within(host, policy_domain))
		return (0);
	if (strchr(host, '.') != NULL && is_within(policy_domain, host))
		return (0);
	return (1);
}

/*
 * rep_dest_verify - RFC 9990 section 4 / RFC 9989: TXT at
 * <policy_domain>._report._dmarc.<host> beginning with "v=DMARC1".
 * *ok_out 1 verified, 0 not; MA_ERR_TEMP when DNS could not say.
 */
enum ma_status
rep_dest_verify(struct ma_dns *dns, struct ma_arena *a,
		const char *policy_domain, const char *host, int *ok_out)
{
	struct ma_dns_answer *ans;
	char	name[600];
	size_t	i;
	const char *t;

	*ok_out = 0;
	if (snprintf(name, sizeof(name), "%s._report._dmarc.%s", policy_domain,
		     host) >= (int) sizeof(name))
		return (MA_OK);
	if (ma_dns_query(dns, NULL, a, name, MA_DNS_TXT, &ans) == MA_ERR_NOMEM)
		return (MA_ERR_NOMEM);
	if (ans == NULL)
		return (MA_ERR_TEMP);
	if (ans->rcode == MA_DNS_SERVFAIL || ans->rcode == MA_DNS_TIMEOUT
	    || ans->rcode == MA_DNS_BUDGET)
		return (MA_ERR_TEMP);
	for (i = 0; ans->rcode == MA_DNS_ANSWER && i < ans->n_rr; i++) {
		t = ans->rr[i].data;
		if (ans->rr[i].len >= 8 && strncmp(t, "v=DMARC1", 8) == 0
		    && (ans->rr[i].len == 8 || t[8] == ';' || t[8] == ' '
			|| t[8] == '\t'))
			*ok_out = 1;
	}
	return (MA_OK);
}

/* header_safe - value fit for a header line: no controls, bounded */
static int
header_safe(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char) s[i] < 0x20 || (unsigned char) s[i] >= 0x7f)
			return (0);
	return (i < 400);
}

/* base64_lines - append data as base64 in lines of 76 characters */
static void
base64_lines(struct ma_buf *b, const unsigned char *p, size_t len)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char	line[80];
	size_t	i, o = 0;
	unsigned long v;

	for (i = 0; i < len; i += 3) {
		v = (unsigned long) p[i] << 16;
		if (i + 1 < len)
			v |= (unsigned long) p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		line[o++] = tab[(v >> 18) & 63];
		line[o++] = tab[(v >> 12) & 63];
		line[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		line[o++] = i + 2 < len ? tab[v & 63] : '=';
		if (o == 76) {
			(void) ma_buf_append(b, line, o);
			(void) ma_buf_puts(b, "\r\n");
			o = 0;
		}
	}
	if (o > 0) {
		(void) ma_buf_append(b, line, o);
		(void) ma_buf_puts(b, "\r\n");
	}
}

/* rep_message_build - the report mail for destination d (CRLF lines) */
enum ma_status
rep_message_build(struct ma_arena *a, const struct rep_settings *s,
		  const struct rep_report *r, const struct rep_dest *d,
		  struct ma_buf *out)
{
	char	date[64], boundary[96];
	struct tm tm;
	time_t	now = time(NULL);

	if (!header_safe(s->org_name) || !header_safe(s->email)
	    || !header_safe(r->domain) || !header_safe(r->report_id)
	    || !header_safe(d->addr))
		return (MA_ERR_SYNTAX);
	(void) a;
	gmtime_r(&now, &tm);
	(void) strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	(void) snprintf(boundary, sizeof(boundary), "=_mailauth-report_%s",
			r->report_id);
	(void) ma_buf_printf(out,
	    "From: %s\r\nTo: %s\r\n"
	    "Subject: Report Domain: %s Submitter: %s Report-ID: <%s>\r\n"
	    "Date: %s\r\nMessage-ID: <%s@%s>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n"
	    "This is a MIME-formatted DMARC aggregate report.\r\n\r\n"
	    "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n\r\n"
	    "This is an aggregate report (RFC 9990) from %s\r\n"
	    "for %s, %lld to %lld (UTC seconds): %llu messages,\r\n"
	    "%zu records. The report is attached as %s.\r\n\r\n"
	    "--%s\r\nContent-Type: application/gzip; name=\"%s\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "Content-Disposition: attachment; filename=\"%s\"\r\n\r\n",
	    s->email, d->addr, r->domain, s->org_name, r->report_id, date,
	    r->report_id, s->receiver, boundary, boundary, s->org_name,
	    r->domain, r->begin, r->end - 1, r->messages, r->records,
	    r->filename, boundary, r->filename, r->filename);
	base64_lines(out, r->gz, r->gz_len);
	return (ma_buf_printf(out, "\r\n--%s--\r\n", boundary));
}

/* --- delivery --------------------------------------------------------- */

struct smtp {
	int	fd;
	int	timeout_ms;
	char	buf[4096];
	size_t	len, pos;
};

/* wait_fd - poll fd for events within the timeout; 0 ready, -1 not */
static int
wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = events};
	int	rc;

	do
		rc = poll(&p, 1, timeout_ms);
	while (rc < 0 && errno == EINTR);
	if (rc == 0)
		errno = ETIMEDOUT;
	return (rc == 1 ? 0 : -1);
}

/* smtp_write - write all of p, each write bounded by the timeout */
static int
smtp_write(struct smtp *c, const char *p, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if (wait_fd(c->fd, POLLOUT, c->timeout_ms) < 0)
			return (-1);
		n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return (-1);
		p += n;
		len -= (size_t) n;
	}
	return (0);
}

/* smtp_getline - one reply line (CRLF stripped) into line; -1 on error */
static int
smtp_getline(struct smtp *c, char *line, size_t max)
{
	size_t	o = 0;
	ssize_t	n;
	char	ch;

	for (;;) {
		if (c->pos == c->len) {
			if (wait_fd(c->fd, POLLIN, c->timeout_ms) < 0)
				return (-1);
			n = recv(c->fd, c->buf, sizeof(c->buf), 0);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				errno = n == 0 ? ECONNRESET : errno;
				return (-1);
			}
			c->len = (size_t) n;
			c->pos = 0;
		}
		ch = c->buf[c->pos++];
		if (ch == '\n')
			break;
		if (o + 1 >= max) {
			errno = EMSGSIZE;
			return (-1);
		}
		line[o++] = ch;
	}
	if (o > 0 && line[o - 1] == '\r')
		o--;
	line[o] = '\0';
	return (0);
}

/* smtp_reply - read a (multi-line) reply; its code, or -1 (err filled) */
static int
smtp_reply(struct smtp *c, char *err, size_t errlen)
{
	char	line[REP_SMTP_LINE_MAX];
	int	i, code = -1;

	for (i = 0; i < REP_SMTP_LINES_MAX; i++) {
		if (smtp_getline(c, line, sizeof(line)) < 0) {
			(void) snprintf(err, errlen, "reading reply: %s",
					strerror(errno));
			return (-1);
		}
		if (strlen(line) < 3 || !isdigit((unsigned char) line[0])
		    || !isdigit((unsigned char) line[1])
		    || !isdigit((unsigned char) line[2])
		    || (line[3] != '\0' && line[3] != ' ' && line[3] != '-')) {
			(void) snprintf(err, errlen, "malformed reply");
			return (-1);
		}
		code = (line[0] - '0') * 100 + (line[1] - '0') * 10
		    + (line[2] - '0');
		(void) ma_log_sanitize(err, errlen, line, strlen(line));
		if (line[3] != '-')
			return (code);
	}
	(void) snprintf(err, errlen, "reply longer than %d lines",
			REP_SMTP_LINES_MAX);
	return (-1);
}

/* smtp_cmd - send a command, read the reply; 0 when its class is want */
static int
smtp_cmd(struct smtp *c, const char *cmd, int want, char *err, size_t errlen)
{
	int	code;

	if (cmd != NULL && smtp_write(c, cmd, strlen(cmd)) < 0) {
		(void) snprintf(err, errlen, "writing: %s", strerror(errno));
		return (-1);
	}
	if ((code = smtp_reply(c, err, errlen)) < 0)
		return (-1);
	return (code / 100 == want ? 0 : -1);
}

/* smtp_connect - TCP connection to "host:port" or "[v6]:port" */
static int
smtp_connect(const char *relay, int timeout_ms, char *err, size_t errlen)
{
	char	host[256], port[16];
	const char *colon;
	struct addrinfo hints, *res, *ai;
	int	fd = -1, rc, soerr;
	socklen_t sl = sizeof(soerr);
	size_t	hl;

	if (relay[0] == '[') {
		colon = strstr(relay, "]:");
		hl = colon ? (size_t) (colon - relay - 1) : 0;
		colon = colon ? colon + 1 : NULL;
		relay++;
	} else {
		colon = strrchr(relay, ':');
		hl = colon ? (size_t) (colon - relay) : strlen(relay);
	}
	if (hl == 0 || hl >= sizeof(host)) {
		(void) snprintf(err, errlen, "bad relay address");
		return (-1);
	}
	memcpy(host, relay, hl);
	host[hl] = '\0';
	(void) snprintf(port, sizeof(port), "%s", colon ? colon + 1 : "25");
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		(void) snprintf(err, errlen, "relay %s: %s", host,
				gai_strerror(rc));
		return (-1);
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC
			    | SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0
		    || (errno == EINPROGRESS
			&& wait_fd(fd, POLLOUT, timeout_ms) == 0
			&& getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0
			&& (errno = soerr) == 0))
			break;
		(void) snprintf(err, errlen, "connect %s:%s: %s", host, port,
				strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return (fd);
}

/* smtp_data - the message, dot-stuffed, lines ending in CRLF, then "." */
static int
smtp_data(struct smtp *c, const char *msg, size_t len)
{
	size_t	i = 0, e;

	while (i < len) {
		for (e = i; e < len && msg[e] != '\n'; e++)
			continue;
		if (msg[i] == '.' && smtp_write(c, ".", 1) < 0)
			return (-1);
		if (smtp_write(c, msg + i, e > i && msg[e - 1] == '\r'
			       ? e - 1 - i : e - i) < 0
		    || smtp_write(c, "\r\n", 2) < 0)
			return (-1);
		i = e + 1;
	}
	return (smtp_write(c, ".\r\n", 3));
}

/* deliver_smtp - one message to one recipient through the relay */
static enum ma_status
deliver_smtp(const struct rep_settings *s, const char *to, const char *msg,
	     size_t len, char *err, size_t errlen)
{
	struct smtp c;
	char	cmd[800];
	enum ma_status st = MA_ERR_TEMP;

	memset(&c, 0, sizeof(c));
	c.timeout_ms = (int) (s->smtp_timeout_ms ? s->smtp_timeout_ms
			      : REP_SMTP_TIMEOUT_MS);
	if ((c.fd = smtp_connect(s->relay, c.timeout_ms, err, errlen)) < 0)
		return (MA_ERR_IO);
	if (smtp_cmd(&c, NULL, 2, err, errlen) < 0)
		goto out;
	(void) snprintf(cmd, sizeof(cmd), "EHLO %s\r\n", s->receiver);
	if (smtp_cmd(&c, cmd, 2, err, errlen) < 0)
		goto out;
	(void) snprintf(cmd, sizeof(cmd), "MAIL FROM:<%s>\r\n", s->email);
	if (smtp_cmd(&c, cmd, 2, err, errlen) < 0)
		goto out;
	(void) snprintf(cmd, sizeof(cmd), "RCPT TO:<%s>\r\n", to);
	if (smtp_cmd(&c, cmd, 2, err, errlen) < 0)
		goto out;
	if (smtp_cmd(&c, "DATA\r\n", 3, err, errlen) < 0)
		goto out;
	if (smtp_data(&c, msg, len) < 0) {
		(void) snprintf(err, errlen, "writing data: %s", strerror(errno));
		goto out;
	}
	if (smtp_cmd(&c, NULL, 2, err, errlen) < 0)
		goto out;
	st = MA_OK;
	(void) smtp_cmd(&c, "QUIT\r\n", 2, cmd, sizeof(cmd));
out:
	close(c.fd);
	return (st);
}

/* deliver_sendmail - pipe to "ReportSendmail -oi -f FROM -- TO" (LF lines) */
static enum ma_status
deliver_sendmail(const struct rep_settings *s, const char *to,
		 const char *msg, size_t len, char *err, size_t errlen)
{
	int	fds[2], status;
	pid_t	pid;
	size_t	i = 0, e;
	FILE   *fp;

	if (pipe(fds) < 0) {
		(void) snprintf(err, errlen, "pipe: %s", strerror(errno));
		return (MA_ERR_IO);
	}
	if ((pid = fork()) < 0) {
		(void) snprintf(err, errlen, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return (MA_ERR_IO);
	}
	if (pid == 0) {
		close(fds[1]);
		if (dup2(fds[0], 0) < 0)
			_exit(75);
		close(fds[0]);
		execl(s->sendmail, s->sendmail, "-oi", "-f", s->email, "--", to,
		      (char *) NULL);
		_exit(75);
	}
	close(fds[0]);
	if ((fp = fdopen(fds[1], "w")) == NULL) {
		close(fds[1]);
	} else {
		signal(SIGPIPE, SIG_IGN);
		while (i < len) {
			for (e = i; e < len && msg[e] != '\n'; e++)
				continue;
			(void) fwrite(msg + i, 1, e > i && msg[e - 1] == '\r'
				      ? e - 1 - i : e - i, fp);
			(void) fputc('\n', fp);
			i = e + 1;
		}
		(void) fclose(fp);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			(void) snprintf(err, errlen, "waitpid: %s",
					strerror(errno));
			return (MA_ERR_IO);
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return (MA_OK);
	(void) snprintf(err, errlen, "%s exited with %d", s->sendmail,
			WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return (MA_ERR_TEMP);
}

/* rep_deliver - hand one message for one recipient to sendmail or the relay */
enum ma_status
rep_deliver(const struct rep_settings *s, const char *to, const char *msg,
	    size_t len, char *err, size_t errlen)
{
	if (s->sendmail != NULL && *s->sendmail != '\0')
		return (deliver_sendmail(s, to, msg, len, err, errlen));
	return (deliver_smtp(s, to, msg, len, err, errlen));
}
