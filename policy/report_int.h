/*
 * NAME
 *	report_int.h - report store internals: backend ops, row codec, spool
 * DESCRIPTION
 *	report_store.c talks to one database backend through struct
 *	ma_report_backend_ops; report_sqlite.c and report_pgsql.c each
 *	supply one constructor. Backends never see the queue or the spool.
 *
 *	Every stored row carries a random 128-bit id (32 hex digits, the
 *	"uid" column, UNIQUE): inserts are INSERT ... ON CONFLICT DO
 *	NOTHING, so writing the same row twice (spool replay after a crash
 *	in the middle of a batch) stores it once.
 *
 *	report_codec.c turns a row into MA_REPORT_NCOLS text columns and
 *	back. Each string is percent-encoded: bytes <= 0x20, >= 0x7f and
 *	'%' ',' ';' become %XX, so any byte string round-trips exactly, a
 *	column never holds a control character or invalid UTF-8, and the
 *	DKIM and SPF lists fit in one column each ("d,s,r,h;d,s,r,h").
 *	The same columns, tab-separated with a checksum, make a spool line.
 */
#ifndef MAILAUTH_REPORT_INT_H
#define MAILAUTH_REPORT_INT_H

#include <stddef.h>
#include <stdint.h>
#include <mailauth/report.h>
#include <mailauth/status.h>

#define MA_REPORT_UID_LEN	32	/* hex digits of the 128-bit row id */
#define MA_REPORT_SCHEMA_VERSION 1	/* what this program writes */

/* Limits (ours; would sit in ma_limits.h, kept here with their only user). */
#define MA_REPORT_QUEUE_DEFAULT	10000	/* rows queued in memory */
#define MA_LIMIT_REPORT_BATCH	500	/* rows per insert transaction */
#define MA_LIMIT_REPORT_SPOOL_LINE (64 * 1024) /* one spool line (a row
					   encodes to < 40 KiB) */
#define MA_REPORT_BACKOFF_MIN_MS 200	/* first reconnect delay */
#define MA_REPORT_BACKOFF_MAX_MS 30000	/* reconnect delay cap */

/* A row with its unique id: what is queued, spooled and inserted. */
struct ma_report_item {
	char	uid[MA_REPORT_UID_LEN + 1];
	struct ma_report_row row;
};

/* Columns, in the order of the SQL column lists and of spool lines. */
enum ma_report_col {
	MA_RC_UID, MA_RC_WHEN, MA_RC_REPORTER, MA_RC_SOURCE_IP,
	MA_RC_HEADER_FROM, MA_RC_ENVELOPE_FROM, MA_RC_ENVELOPE_TO,
	MA_RC_POLICY_DOMAIN, MA_RC_P, MA_RC_SP, MA_RC_NP, MA_RC_ADKIM,
	MA_RC_ASPF, MA_RC_TESTING, MA_RC_DISCOVERY, MA_RC_RUA,
	MA_RC_DMARC_RESULT, MA_RC_DISPOSITION, MA_RC_DKIM_ALIGNED,
	MA_RC_SPF_ALIGNED, MA_RC_OVERRIDE, MA_RC_OVERRIDE_COMMENT,
	MA_RC_DKIM, MA_RC_SPF,
	MA_REPORT_NCOLS
};

/* SQL column names, comma-separated, in enum ma_report_col order. */
#define MA_REPORT_SQL_COLS \
	"uid, when_ts, reporter, source_ip, header_from, envelope_from, " \
	"envelope_to, policy_domain, p, sp, np, adkim, aspf, testing, " \
	"discovery, rua, dmarc_result, disposition, dkim_aligned, " \
	"spf_aligned, override, override_comment, dkim, spf"

/* Encoded columns of one row; v[i] point into buf. */
struct ma_report_enc {
	const char *v[MA_REPORT_NCOLS];
	size_t	len[MA_REPORT_NCOLS];
	char	buf[3 * sizeof(struct ma_report_row) + 4 * MA_REPORT_NCOLS];
};

/* ma_report_encode - fill e with the encoded columns of it */
void	ma_report_encode(const struct ma_report_item *it,
			 struct ma_report_enc *e);

/*
 * ma_report_decode - parse encoded columns (v[i], len[i] bytes) into
 * out. MA_ERR_SYNTAX for a bad escape, number or uid; MA_ERR_LIMIT
 * when a value does not fit its field or a list is too long.
 */
enum ma_status ma_report_decode(const char *const v[], const size_t len[],
				struct ma_report_item *out);

/* ma_report_str_encode - percent-encode s into dst (3*strlen+1 bytes) */
size_t	ma_report_str_encode(char *dst, const char *s);

/*
 * ma_report_row_copy - dst = src, every string cut at its first NUL or
 * its last byte, unused bytes and list entries zeroed, counts clamped
 */
void	ma_report_row_copy(struct ma_report_row *dst,
			   const struct ma_report_row *src);

/* ma_report_uid_new - a fresh random 128-bit id in hex; -1 on failure */
int	ma_report_uid_new(char uid[MA_REPORT_UID_LEN + 1]);

/*
 * ma_report_spool_line - format it as one spool line ("\n" included)
 * into dst; returns its length or 0 when dst is too small.
 */
size_t	ma_report_spool_line(const struct ma_report_item *it, char *dst,
			     size_t dstlen);

/*
 * ma_report_spool_parse - parse one spool line (without its "\n");
 * MA_ERR_SYNTAX when the tag, column count, checksum or a column is bad.
 */
enum ma_status ma_report_spool_parse(const char *line, size_t len,
				     struct ma_report_item *out);

/* --- backends ------------------------------------------------------------ */

struct ma_report_backend;

typedef int (*ma_report_row_fn)(const struct ma_report_row *row, void *ctx);

/*
 * Every call returns MA_OK or an error: MA_ERR_TEMP when the database is
 * unreachable or the connection broke (the store closes the backend and
 * reconnects with backoff), MA_ERR_SYNTAX for a bad URL, others for
 * errors a retry will not fix. err (when given) gets a message without
 * secrets (no password).
 */
struct ma_report_backend_ops {
	const char *name;
	/* migrate - create the schema or bring it to MA_REPORT_SCHEMA_VERSION */
	enum ma_status (*migrate)(struct ma_report_backend *b, char *err,
				  size_t errlen);
	/* insert - n rows in one transaction; rows already there are skipped */
	enum ma_status (*insert)(struct ma_report_backend *b,
				 const struct ma_report_item *items, size_t n,
				 size_t *inserted_out);
	/* select - begin <= when < end, by policy_domain, when, insertion */
	enum ma_status (*select)(struct ma_report_backend *b, long long begin,
				 long long end, ma_report_row_fn fn,
				 void *ctx);
	enum ma_status (*was_sent)(struct ma_report_backend *b,
				   const char *domain, long long begin,
				   long long end, int *sent_out);
	enum ma_status (*mark_sent)(struct ma_report_backend *b,
				    const char *domain, long long begin,
				    long long end, const char *report_id);
	/* close - disconnect and free; takes NULL, clears *bp */
	void	(*close)(struct ma_report_backend **bp);
};

/* Each backend's handle starts with this. */
struct ma_report_backend {
	const struct ma_report_backend_ops *ops;
};

/* ma_report_sqlite_open - "sqlite:PATH": open or create the file */
enum ma_status ma_report_sqlite_open(const char *url,
				     struct ma_report_backend **out,
				     char *err, size_t errlen);

/* ma_report_pgsql_open - "postgresql://..." or "postgres://..." */
enum ma_status ma_report_pgsql_open(const char *url,
				    struct ma_report_backend **out,
				    char *err, size_t errlen);

/* ma_report_store_test_pause - tests only: hold the writer thread */
void	ma_report_store_test_pause(struct ma_report_store *s, int paused);

#endif
