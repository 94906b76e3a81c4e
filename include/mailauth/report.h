/*
 * NAME
 *	report.h - DMARC history (report store) and aggregate report rows
 * DESCRIPTION
 *	Every DMARC evaluation of inbound mail becomes one struct
 *	ma_report_row (plain data, copied out of the message before it is
 *	freed). The daemon hands rows to ma_report_store_append(), which
 *	never blocks: rows go to an in-memory queue that a writer thread
 *	drains into the backend (sqlite:PATH or postgresql://...). When the
 *	queue is full or the database is down, rows are appended to a local
 *	spool file and written when the database is back (also after a
 *	restart): nothing is lost. mailauth-report reads rows per period
 *	and records which reports were sent.
 *
 *	One backend file each (report_sqlite.c, report_pgsql.c) behind
 *	struct ma_report_backend_ops (report_int.h); callers never #ifdef.
 */
#ifndef MAILAUTH_REPORT_H
#define MAILAUTH_REPORT_H

#include <stddef.h>
#include <time.h>
#include <mailauth/status.h>

#define MA_REPORT_MAX_DKIM	8	/* DKIM results kept per row */
#define MA_REPORT_MAX_SPF	2	/* mfrom, helo */

struct ma_report_store;

struct ma_report_dkim {
	char	domain[256];
	char	selector[64];
	char	result[16];		/* RFC 9990 DKIMResultType word */
	char	human_result[128];
};

struct ma_report_spf {
	char	domain[256];
	char	scope[8];		/* "mfrom" or "helo" */
	char	result[16];		/* RFC 9990 SPFResultType word */
};

/* One DMARC evaluation (fixed-size plain data: copied, queued, spooled). */
struct ma_report_row {
	long long when;			/* epoch seconds of the evaluation */
	char	reporter[128];		/* instance name (host) that wrote it */
	char	source_ip[48];
	char	header_from[256];	/* RFC5322.From domain */
	char	envelope_from[256];	/* RFC5321.MailFrom domain ("" null) */
	char	envelope_to[256];	/* first recipient's domain */
	/* policy_published */
	char	policy_domain[256];	/* where the record was found */
	char	p[16], sp[16], np[16];	/* "none|quarantine|reject", "" unset */
	char	adkim[2], aspf[2];	/* "r" or "s" */
	int	testing;		/* t=y */
	char	discovery[16];		/* "treewalk" or "psl" */
	char	rua[1024];		/* the record's rua= value, raw */
	/* policy_evaluated */
	char	dmarc_result[16];	/* pass fail none temperror permerror */
	char	disposition[16];	/* none quarantine reject (what we did) */
	char	dkim_aligned[8];	/* "pass" or "fail" */
	char	spf_aligned[8];
	char	override[32];		/* RFC 9990 PolicyOverrideType or "" */
	char	override_comment[128];
	/* auth_results */
	size_t	n_dkim;
	struct ma_report_dkim dkim[MA_REPORT_MAX_DKIM];
	size_t	n_spf;
	struct ma_report_spf spf[MA_REPORT_MAX_SPF];
};

struct ma_report_store_options {
	const char *database;		/* "sqlite:PATH" or "postgresql://..." */
	const char *spool_path;		/* local spool file for rows not yet stored */
	unsigned queue_rows;		/* in-memory queue (0: default 10000) */
	int	writer_thread;		/* 1: daemon (async); 0: tools (sync) */
};

struct ma_report_store_stats {
	unsigned long long appended;	/* rows given to append */
	unsigned long long stored;	/* rows written to the database */
	unsigned long long spooled;	/* rows that went to the spool file */
	unsigned long long queue_full;	/* appends that found the queue full */
	unsigned long long db_errors;	/* failed database operations */
	unsigned queue_depth;
};

/* ma_report_store_open - connect (creating/migrating the schema), replay the spool */
enum ma_status ma_report_store_open(const struct ma_report_store_options *opt,
				    struct ma_report_store **out, char *err,
				    size_t errlen);

/*
 * ma_report_store_append - hand over one row; never blocks on the
 * database (with writer_thread). Returns MA_OK when the row is queued,
 * stored or spooled; MA_ERR_IO only when even the spool failed (logged).
 */
enum ma_status ma_report_store_append(struct ma_report_store *s,
				      const struct ma_report_row *row);

/* ma_report_store_flush - write everything queued (and spooled) now */
enum ma_status ma_report_store_flush(struct ma_report_store *s);

/* ma_report_store_stats - counters for logs and metrics */
void	ma_report_store_stats(struct ma_report_store *s,
			      struct ma_report_store_stats *out);

/* ma_report_store_close - flush, stop the writer, disconnect; takes NULL */
void	ma_report_store_close(struct ma_report_store **sp);

/*
 * ma_report_store_rows - every row with begin <= when < end, ordered by
 * policy_domain then when; calls fn for each (stop when fn returns
 * non-zero).
 */
enum ma_status ma_report_store_rows(struct ma_report_store *s, long long begin,
				    long long end,
				    int (*fn)(const struct ma_report_row *row,
					      void *ctx), void *ctx);

/* sent-report bookkeeping: (policy_domain, begin, end) */
enum ma_status ma_report_store_was_sent(struct ma_report_store *s,
					const char *domain, long long begin,
					long long end, int *sent_out);
enum ma_status ma_report_store_mark_sent(struct ma_report_store *s,
					 const char *domain, long long begin,
					 long long end, const char *report_id);

#endif
