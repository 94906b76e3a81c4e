/*
 * NAME
 *	metrics_http - the Prometheus endpoint of mailauthd (libmicrohttpd)
 * SUMMARY
 *	GET /metrics on MetricsListen, in one thread of its own
 * SYNOPSIS
 *	#include "metrics.h"
 *
 *	ma_metrics_http_start("127.0.0.1:9816", &h, err, sizeof(err));
 *	...
 *	ma_metrics_http_stop(&h);
 * DESCRIPTION
 *	Binds and listens on the address itself (so a failure names the
 *	address with errno's text), then hands the socket to a
 *	libmicrohttpd daemon with its own polling thread (epoll on Linux).
 *	The HTTP is libmicrohttpd's; here only the answer is chosen:
 *
 *	    GET or HEAD /metrics  200, ma_metrics_render(), Content-Type
 *	                          text/plain; version=0.0.4; charset=utf-8
 *	    other paths           404
 *	    other methods         405 with Allow: GET, HEAD
 *	    render over the limit 500 (a cut text is never served)
 *
 *	The endpoint has no authentication: bind it to loopback or a
 *	management network (mailauthd(8) METRICS).
 * MEMORY
 *	struct ma_metrics_http is malloc'ed by start and freed by stop;
 *	each scrape renders into a malloc'ed MA_METRICS_BODY_MAX buffer
 *	that libmicrohttpd frees after sending.
 * LIMITS
 *	METRICS_CONNS connections at once, METRICS_TIMEOUT_S idle seconds
 *	per connection, METRICS_CONN_MEMORY bytes of request per
 *	connection (libmicrohttpd answers larger requests itself).
 * DIAGNOSTICS
 *	start: MA_ERR_SYNTAX (address), MA_ERR_IO (socket, bind, listen:
 *	err has errno's text), MA_ERR_INTERNAL (libmicrohttpd would not
 *	start), MA_ERR_NOMEM. libmicrohttpd's own messages are logged at
 *	warning level with a "metrics: " prefix.
 * THREADS
 *	start and stop from the main thread; start after the signals are
 *	blocked, so that libmicrohttpd's thread never takes them. Scrapes
 *	run in that thread and only read counters.
 * STANDARDS
 *	RFC 9110 (15.5.5 404, 15.5.6 405 and Allow); Prometheus text
 *	exposition format 0.0.4.
 * SEE ALSO
 *	metrics.c, main.c, libmicrohttpd manual
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <microhttpd.h>

#include <mailauth/log.h>

#include "cfg.h"
#include "metrics.h"

#define METRICS_CONNS		8	/* scrapers at once */
#define METRICS_TIMEOUT_S	10	/* idle connection */
#define METRICS_CONN_MEMORY	16384	/* request headers per connection */
#define METRICS_BACKLOG		16
#define METRICS_ADDR_MAX	64	/* numeric address text */

#define CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

struct ma_metrics_http {
	struct MHD_Daemon *daemon;
};

/* mhd_log - libmicrohttpd's messages into ours */
static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char	text[256];
	size_t	n;

	(void) cls;
	(void) vsnprintf(text, sizeof(text), fmt, ap);
	n = strlen(text);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		text[--n] = '\0';
	ma_log(MA_LOG_WARN, "metrics: %s", text);
}

/* reply_static - a short constant answer */
static enum MHD_Result
reply_static(struct MHD_Connection *conn, unsigned code, const char *text)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(text), (void *) text,
					    MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return (MHD_NO);
	(void) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				       "text/plain; charset=utf-8");
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		(void) MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW,
					       "GET, HEAD");
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return (ret);
}

/* reply_metrics - render and send the scrape */
static enum MHD_Result
reply_metrics(struct MHD_Connection *conn)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char   *buf;
	size_t	len;

	if ((buf = malloc(MA_METRICS_BODY_MAX)) == NULL)
		return (reply_static(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
				     "out of memory\n"));
	if (ma_metrics_render(buf, MA_METRICS_BODY_MAX, &len) != MA_OK) {
		free(buf);
		ma_log(MA_LOG_ERROR, "metrics: the text exceeds %d bytes",
		       MA_METRICS_BODY_MAX);
		return (reply_static(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
				     "metrics too large\n"));
	}
	r = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(buf);
		return (MHD_NO);
	}
	(void) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				       CONTENT_TYPE);
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return (ret);
}

/* answer - libmicrohttpd's access handler: one request */
static enum MHD_Result
answer(void *cls, struct MHD_Connection *conn, const char *url,
       const char *method, const char *version, const char *upload_data,
       size_t *upload_size, void **req_cls)
{
	(void) cls;
	(void) version;
	(void) upload_data;
	(void) upload_size;
	(void) req_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0
	    && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return (reply_static(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				     "method not allowed\n"));
	if (strcmp(url, "/metrics") != 0)
		return (reply_static(conn, MHD_HTTP_NOT_FOUND, "not found: "
				     "the metrics are at /metrics\n"));
	return (reply_metrics(conn));
}

/* listen_on - a listening TCP socket on listen; -1 with err */
static int
listen_on(const char *listen_spec, char *err, size_t errlen,
	  enum ma_status *st)
{
	char	addr[METRICS_ADDR_MAX];
	const char *port;
	struct addrinfo hints, *ai = NULL;
	int	fd, on = 1, rc;

	*st = MA_ERR_SYNTAX;
	if (ma_config_split_listen(listen_spec, addr, sizeof(addr), &port) < 0) {
		snprintf(err, errlen, "%s: not ADDR:PORT or [ADDR6]:PORT",
			 listen_spec);
		return (-1);
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	if ((rc = getaddrinfo(addr, port, &hints, &ai)) != 0) {
		snprintf(err, errlen, "%s: %s", listen_spec, gai_strerror(rc));
		return (-1);
	}
	*st = MA_ERR_IO;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "%s: socket: %s", listen_spec,
			 strerror(errno));
		freeaddrinfo(ai);
		return (-1);
	}
	(void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (ai->ai_family == AF_INET6)
		(void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
				  sizeof(on));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0
	    || listen(fd, METRICS_BACKLOG) < 0) {
		snprintf(err, errlen, "%s: %s", listen_spec, strerror(errno));
		close(fd);
		freeaddrinfo(ai);
		return (-1);
	}
	freeaddrinfo(ai);
	*st = MA_OK;
	return (fd);
}

/* ma_metrics_http_start - serve GET /metrics on listen */
enum ma_status
ma_metrics_http_start(const char *listen_spec, struct ma_metrics_http **out,
		      char *err, size_t errlen)
{
	struct ma_metrics_http *h;
	enum ma_status st;
	int	fd;

	*out = NULL;
	if ((fd = listen_on(listen_spec, err, errlen, &st)) < 0)
		return (st);
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return (MA_ERR_NOMEM);
	}
	ma_metrics_mark_start();
	h->daemon = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD |
	    MHD_USE_ERROR_LOG, 0, NULL, NULL, answer, NULL,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, (void *) NULL,	/* first */
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket) fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int) METRICS_CONNS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) METRICS_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) METRICS_CONN_MEMORY,
	    MHD_OPTION_END);
	if (h->daemon == NULL) {
		close(fd);
		free(h);
		snprintf(err, errlen, "%s: libmicrohttpd did not start",
			 listen_spec);
		return (MA_ERR_INTERNAL);
	}
	*out = h;
	return (MA_OK);
}

/* ma_metrics_http_stop - stop serving (closes the socket), free */
void
ma_metrics_http_stop(struct ma_metrics_http **hp)
{
	struct ma_metrics_http *h;

	if (hp == NULL || (h = *hp) == NULL)
		return;
	*hp = NULL;
	MHD_stop_daemon(h->daemon);
	free(h);
}
