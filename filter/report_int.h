/*
 * NAME
 *	report_int.h - mailauth-report internals: XML, gzip, rua, sending
 * DESCRIPTION
 *	report.c reads the history and drives one report per policy
 *	domain; report_xml.c turns the rows of one domain into the RFC 9990
 *	XML document and gzips it; report_send.c parses rua=, verifies
 *	external destinations, builds the MIME message and hands it to an
 *	SMTP relay or sendmail. Everything a report needs lives in the
 *	report's arena.
 */
#ifndef MAILAUTH_REPORT_FRONT_INT_H
#define MAILAUTH_REPORT_FRONT_INT_H

#include <stddef.h>
#include <mailauth/status.h>
#include <mailauth/report.h>

struct ma_arena;
struct ma_buf;
struct ma_dns;

#define REP_MAX_GROUPS		200000	/* <record>s per report */
#define REP_MAX_XML		(256u * 1024 * 1024)	/* XML bytes per report */
#define REP_XML_SLACK		(64u * 1024)	/* > one escaped element */
#define REP_MAX_RUA		16	/* rua URIs used per record (RFC 9989 4.7 lists) */
#define REP_MAX_SUPPRESS	256	/* ReportSuppress entries */
#define REP_SMTP_LINE_MAX	1024	/* one SMTP reply line (RFC 5321 4.5.3.1.5: 512) */
#define REP_SMTP_LINES_MAX	100	/* lines of one multi-line reply */
#define REP_SMTP_TIMEOUT_MS	30000	/* per read or write */

/* What the operator configured (config file or command line). */
struct rep_settings {
	const char *org_name;		/* ReportOrgName */
	const char *email;		/* ReportEmail */
	const char *relay;		/* ReportRelay "host:port" */
	const char *sendmail;		/* ReportSendmail path, or NULL */
	unsigned long long max_bytes;	/* ReportMaxBytes (0: no limit) */
	const char *suppress[REP_MAX_SUPPRESS];	/* ReportSuppress */
	size_t	n_suppress;
	const char *receiver;		/* domain in file names: email's domain */
	const char *generator;		/* "mailauth-report VERSION" */
	int	dry_run;
	const char *output_dir;
	int	verbose;
	unsigned smtp_timeout_ms;
};

/* One report: a policy domain over one period. */
struct rep_report {
	const char *domain;
	long long begin, end;		/* [begin, end) */
	const char *report_id;
	const char *filename;		/* receiver!domain!begin!end!id.xml.gz */
	const char *rua;		/* the newest row's rua= */
	unsigned char *gz;
	size_t	gz_len;
	unsigned long long messages;	/* sum of counts */
	size_t	records;
};

/* One mailto: destination of rua=. */
struct rep_dest {
	char	addr[320];		/* local@host, URI-decoded */
	char	host[256];		/* lower case */
	unsigned long long max_size;	/* !size in bytes, 0: none */
};

/* report_xml.c */
struct rep_groups;
struct rep_groups *rep_groups_new(struct ma_arena *a);
enum ma_status rep_groups_add(struct rep_groups *g,
			      const struct ma_report_row *row);
void	rep_groups_count(const struct rep_groups *g,
			 unsigned long long *messages_out, size_t *records_out);
const struct ma_report_row *rep_groups_last(const struct rep_groups *g);
enum ma_status rep_xml_build(struct ma_arena *a, const struct rep_settings *s,
			     const struct rep_report *r,
			     const struct rep_groups *g, struct ma_buf *out);
void	rep_xml_escape(struct ma_buf *b, const char *s, size_t len);
enum ma_status rep_gzip(struct ma_arena *a, const char *in, size_t len,
			const char *name, long long mtime,
			unsigned char **out, size_t *outlen);

/* report_send.c */
enum ma_status rep_rua_parse(const char *rua, size_t len,
			     struct rep_dest *dests, size_t max,
			     size_t *n_out);
int	rep_is_host(const char *h);
int	rep_is_suppressed(const struct rep_settings *s, const char *domain);
int	rep_dest_is_external(const char *policy_domain, const char *host);
enum ma_status rep_dest_verify(struct ma_dns *dns, struct ma_arena *a,
			       const char *policy_domain, const char *host,
			       int *ok_out);
enum ma_status rep_message_build(struct ma_arena *a,
				 const struct rep_settings *s,
				 const struct rep_report *r,
				 const struct rep_dest *d, struct ma_buf *out);
enum ma_status rep_deliver(const struct rep_settings *s, const char *to,
			   const char *msg, size_t len, char *err,
			   size_t errlen);

#endif
