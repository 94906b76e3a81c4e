/*
 * NAME
 *	report_pgsql - report store backend: PostgreSQL (libpq)
 * SUMMARY
 *	Keeps DMARC history rows from several mail servers in one shared
 *	PostgreSQL database.
 * SYNOPSIS
 *	#include "report_int.h"
 *	ma_report_pgsql_open("postgresql://user@db.example/mailauth", ...)
 * DESCRIPTION
 *	The URL ("postgresql://" or "postgres://", libpq URI syntax) is
 *	checked with PQconninfoParse and given to libpq as is, with
 *	connect_timeout CONNECT_TIMEOUT_S unless the URL sets one.
 *
 *	Schema: as report_sqlite.c (report_rows with seq BIGSERIAL and uid
 *	UNIQUE; report_sent; schema_version). migrate() runs in one
 *	transaction holding pg_advisory_xact_lock(SCHEMA_LOCK_KEY), so two
 *	instances starting together against an empty database serialize:
 *	the second finds the tables made and the version stored.
 *
 *	Several writers share the database: rows carry their random
 *	128-bit uid and inserts are INSERT ... ON CONFLICT (uid) DO
 *	NOTHING; seq only orders rows that are otherwise equal.
 *	Every statement with data goes through PQexecParams (text
 *	parameters, never spliced into SQL).
 * MEMORY
 *	The PGconn and our handle are freed by close(); PGresults are
 *	cleared before each function returns.
 * LIMITS
 *	select() reads the whole period in one result (the tools read a
 *	day at a time).
 * DIAGNOSTICS
 *	MA_ERR_TEMP when the connection is bad or the SQLSTATE class is
 *	08 (connection), 57 (operator intervention) or 40 (transaction
 *	rollback); MA_ERR_SYNTAX for a URL libpq refuses; MA_ERR_INTERNAL
 *	otherwise. libpq's message (sanitized; it never holds the
 *	password) goes to err and to the log at error level.
 * THREADS
 *	A handle is used by one thread at a time (report_store.c's
 *	database lock); libpq is thread-safe across connections.
 * STANDARDS
 *	RFC 9990 (aggregate report data).
 * SEE ALSO
 *	report_int.h, report_store.c, report_sqlite.c, libpq (PostgreSQL
 *	docs, "libpq - C Library").
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include <mailauth/log.h>
#include "report_int.h"

#define CONNECT_TIMEOUT_S	"5"
#define SCHEMA_LOCK_KEY		"7881696737087550568"	/* "mailauth" */

struct pg_backend {
	struct ma_report_backend base;	/* first */
	PGconn *conn;
};

/* One schema step: statements bringing version - 1 to version. */
struct pg_step {
	int	version;
	const char *sql;
};

static const struct pg_step steps[] = {
	{ 1, "CREATE TABLE report_rows ("
	  " seq BIGSERIAL PRIMARY KEY,"
	  " uid TEXT NOT NULL UNIQUE, when_ts BIGINT NOT NULL,"
	  " reporter TEXT NOT NULL, source_ip TEXT NOT NULL,"
	  " header_from TEXT NOT NULL, envelope_from TEXT NOT NULL,"
	  " envelope_to TEXT NOT NULL, policy_domain TEXT NOT NULL,"
	  " p TEXT NOT NULL, sp TEXT NOT NULL, np TEXT NOT NULL,"
	  " adkim TEXT NOT NULL, aspf TEXT NOT NULL, testing INTEGER NOT NULL,"
	  " discovery TEXT NOT NULL, rua TEXT NOT NULL,"
	  " dmarc_result TEXT NOT NULL, disposition TEXT NOT NULL,"
	  " dkim_aligned TEXT NOT NULL, spf_aligned TEXT NOT NULL,"
	  " override TEXT NOT NULL, override_comment TEXT NOT NULL,"
	  " dkim TEXT NOT NULL, spf TEXT NOT NULL)" },
	{ 1, "CREATE INDEX report_rows_when ON report_rows (when_ts)" },
	{ 1, "CREATE TABLE report_sent ("
	  " policy_domain TEXT NOT NULL, begin_ts BIGINT NOT NULL,"
	  " end_ts BIGINT NOT NULL, report_id TEXT NOT NULL,"
	  " sent_at BIGINT NOT NULL,"
	  " PRIMARY KEY (policy_domain, begin_ts, end_ts))" },
};

static const char sql_insert[] =
	"INSERT INTO report_rows (" MA_REPORT_SQL_COLS ") VALUES ("
	"$1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,"
	"$19,$20,$21,$22,$23,$24) ON CONFLICT (uid) DO NOTHING";
static const char sql_select[] =
	"SELECT " MA_REPORT_SQL_COLS " FROM report_rows"
	" WHERE when_ts >= $1 AND when_ts < $2"
	" ORDER BY policy_domain COLLATE \"C\", when_ts, seq";
static const char sql_was[] =
	"SELECT 1 FROM report_sent WHERE policy_domain = $1"
	" AND begin_ts = $2 AND end_ts = $3";
static const char sql_mark[] =
	"INSERT INTO report_sent (policy_domain, begin_ts, end_ts, report_id,"
	" sent_at) VALUES ($1, $2, $3, $4, $5)"
	" ON CONFLICT (policy_domain, begin_ts, end_ts) DO UPDATE SET"
	" report_id = EXCLUDED.report_id, sent_at = EXCLUDED.sent_at";

/* pg_fail - classify, log and report a failed call; clears res */
static enum ma_status
pg_fail(struct pg_backend *b, PGresult *res, const char *what, char *err,
	size_t errlen)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
		: NULL;
	const char *msg = res && PQresultErrorMessage(res)[0]
		? PQresultErrorMessage(res) : PQerrorMessage(b->conn);
	char	clean[256];
	enum ma_status st = MA_ERR_INTERNAL;

	if (PQstatus(b->conn) != CONNECTION_OK || state == NULL ||
	    strncmp(state, "08", 2) == 0 || strncmp(state, "57", 2) == 0 ||
	    strncmp(state, "40", 2) == 0)
		st = MA_ERR_TEMP;
	(void)ma_log_sanitize(clean, sizeof(clean), msg, strcspn(msg, "\n"));
	ma_log(MA_LOG_ERROR, "report store: postgresql: %s: %s", what, clean);
	if (err != NULL && errlen > 0)
		(void)snprintf(err, errlen, "postgresql: %s: %s", what, clean);
	PQclear(res);
	return st;
}

/* pg_run - one statement with text parameters; res_out gets tuples */
static enum ma_status
pg_run(struct pg_backend *b, const char *sql, int n,
       const char *const *params, PGresult **res_out, const char *what,
       char *err, size_t errlen)
{
	PGresult *res = PQexecParams(b->conn, sql, n, NULL, params, NULL,
				     NULL, 0);
	ExecStatusType es = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	if (es != PGRES_COMMAND_OK && es != PGRES_TUPLES_OK)
		return pg_fail(b, res, what, err, errlen);
	if (res_out != NULL)
		*res_out = res;
	else
		PQclear(res);
	return MA_OK;
}

/* pg_rollback - end a failed transaction (the connection may be gone) */
static void
pg_rollback(struct pg_backend *b)
{
	if (PQstatus(b->conn) == CONNECTION_OK)
		PQclear(PQexec(b->conn, "ROLLBACK"));
}

/* pg_migrate - create or upgrade the schema under the advisory lock */
static enum ma_status
pg_migrate(struct ma_report_backend *be, char *err, size_t errlen)
{
	struct pg_backend *b = (struct pg_backend *)be;
	PGresult *res = NULL;
	enum ma_status st;
	int	version = 0;
	size_t	i;
	char	vbuf[16];
	const char *param[1];

	if ((st = pg_run(b, "BEGIN", 0, NULL, NULL, "begin", err,
			 errlen)) != MA_OK)
		return st;
	if ((st = pg_run(b, "SELECT pg_advisory_xact_lock(" SCHEMA_LOCK_KEY
			 ")", 0, NULL, NULL, "lock", err, errlen)) != MA_OK ||
	    (st = pg_run(b, "CREATE TABLE IF NOT EXISTS schema_version"
			 " (version INTEGER NOT NULL)", 0, NULL, NULL,
			 "schema", err, errlen)) != MA_OK ||
	    (st = pg_run(b, "SELECT coalesce(max(version), 0)::text FROM"
			 " schema_version", 0, NULL, &res, "schema", err,
			 errlen)) != MA_OK)
		goto fail;
	if (PQntuples(res) == 1) {
		const char *v = PQgetvalue(res, 0, 0);
		char   *end;
		long	l;

		errno = 0;
		l = strtol(v, &end, 10);
		if (errno == 0 && *end == '\0' && l >= 0 && l < 1000000)
			version = (int)l;
	}
	PQclear(res);
	if (version > MA_REPORT_SCHEMA_VERSION) {
		if (err != NULL && errlen > 0)
			(void)snprintf(err, errlen, "postgresql: schema version"
				       " %d is newer than this program's %d",
				       version, MA_REPORT_SCHEMA_VERSION);
		st = MA_ERR_INTERNAL;
		goto fail;
	}
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (steps[i].version > version &&
		    (st = pg_run(b, steps[i].sql, 0, NULL, NULL, "schema", err,
				 errlen)) != MA_OK)
			goto fail;
	if (version < MA_REPORT_SCHEMA_VERSION) {
		(void)snprintf(vbuf, sizeof(vbuf), "%d",
			       MA_REPORT_SCHEMA_VERSION);
		param[0] = vbuf;
		if ((st = pg_run(b, "DELETE FROM schema_version", 0, NULL, NULL,
				 "schema", err, errlen)) != MA_OK ||
		    (st = pg_run(b, "INSERT INTO schema_version VALUES ($1)", 1,
				 param, NULL, "schema", err, errlen)) != MA_OK)
			goto fail;
	}
	return pg_run(b, "COMMIT", 0, NULL, NULL, "commit", err, errlen);
fail:
	pg_rollback(b);
	return st;
}

/* pg_insert - n rows in one transaction, duplicates skipped */
static enum ma_status
pg_insert(struct ma_report_backend *be, const struct ma_report_item *items,
	  size_t n, size_t *inserted_out)
{
	struct pg_backend *b = (struct pg_backend *)be;
	struct ma_report_enc *e;
	PGresult *res;
	enum ma_status st;
	size_t	i, inserted = 0;

	*inserted_out = 0;
	if ((e = malloc(sizeof(*e))) == NULL)
		return MA_ERR_NOMEM;
	if ((st = pg_run(b, "BEGIN", 0, NULL, NULL, "begin", NULL,
			 0)) != MA_OK) {
		free(e);
		return st;
	}
	for (i = 0; i < n; i++) {
		ma_report_encode(&items[i], e);
		res = NULL;
		if ((st = pg_run(b, sql_insert, MA_REPORT_NCOLS, e->v, &res,
				 "insert", NULL, 0)) != MA_OK) {
			free(e);
			pg_rollback(b);
			return st;
		}
		inserted += strtoul(PQcmdTuples(res), NULL, 10);
		PQclear(res);
	}
	free(e);
	if ((st = pg_run(b, "COMMIT", 0, NULL, NULL, "commit", NULL,
			 0)) != MA_OK) {
		pg_rollback(b);
		return st;
	}
	*inserted_out = inserted;
	return MA_OK;
}

/* pg_select - rows of [begin, end) to fn, in report order */
static enum ma_status
pg_select(struct ma_report_backend *be, long long begin, long long end,
	  ma_report_row_fn fn, void *ctx)
{
	struct pg_backend *b = (struct pg_backend *)be;
	struct ma_report_item *it;
	PGresult *res = NULL;
	char	bb[24], eb[24];
	const char *param[2] = { bb, eb };
	const char *v[MA_REPORT_NCOLS];
	size_t	len[MA_REPORT_NCOLS];
	enum ma_status st;
	int	r, c, nr;

	(void)snprintf(bb, sizeof(bb), "%lld", begin);
	(void)snprintf(eb, sizeof(eb), "%lld", end);
	if ((it = malloc(sizeof(*it))) == NULL)
		return MA_ERR_NOMEM;
	if ((st = pg_run(b, sql_select, 2, param, &res, "select", NULL,
			 0)) != MA_OK) {
		free(it);
		return st;
	}
	nr = PQntuples(res);
	for (r = 0; r < nr; r++) {
		for (c = 0; c < MA_REPORT_NCOLS; c++) {
			v[c] = PQgetvalue(res, r, c);
			len[c] = (size_t)PQgetlength(res, r, c);
		}
		if ((st = ma_report_decode(v, len, it)) != MA_OK) {
			ma_log(MA_LOG_WARN, "report store: postgresql: skipping"
			       " stored row that does not decode (%s)",
			       ma_status_str(st));
			continue;
		}
		if (fn(&it->row, ctx) != 0)
			break;
	}
	PQclear(res);
	free(it);
	return MA_OK;
}

/* pg_was_sent - whether (domain, begin, end) was recorded as sent */
static enum ma_status
pg_was_sent(struct ma_report_backend *be, const char *domain,
	    long long begin, long long end, int *sent_out)
{
	struct pg_backend *b = (struct pg_backend *)be;
	char	enc[3 * 256 + 1], bb[24], eb[24];
	const char *param[3] = { enc, bb, eb };
	PGresult *res = NULL;
	enum ma_status st;

	if (strlen(domain) >= 256)
		return MA_ERR_LIMIT;
	(void)ma_report_str_encode(enc, domain);
	(void)snprintf(bb, sizeof(bb), "%lld", begin);
	(void)snprintf(eb, sizeof(eb), "%lld", end);
	if ((st = pg_run(b, sql_was, 3, param, &res, "was_sent", NULL,
			 0)) != MA_OK)
		return st;
	*sent_out = PQntuples(res) > 0;
	PQclear(res);
	return MA_OK;
}

/* pg_mark_sent - record (domain, begin, end) as sent with report_id */
static enum ma_status
pg_mark_sent(struct ma_report_backend *be, const char *domain,
	     long long begin, long long end, const char *report_id)
{
	struct pg_backend *b = (struct pg_backend *)be;
	char	enc[3 * 256 + 1], bb[24], eb[24], now[24];
	const char *param[5] = { enc, bb, eb, report_id ? report_id : "",
				 now };

	if (strlen(domain) >= 256)
		return MA_ERR_LIMIT;
	(void)ma_report_str_encode(enc, domain);
	(void)snprintf(bb, sizeof(bb), "%lld", begin);
	(void)snprintf(eb, sizeof(eb), "%lld", end);
	(void)snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	return pg_run(b, sql_mark, 5, param, NULL, "mark_sent", NULL, 0);
}

/* pg_close - disconnect and free */
static void
pg_close(struct ma_report_backend **bp)
{
	struct pg_backend *b;

	if (bp == NULL || *bp == NULL)
		return;
	b = (struct pg_backend *)*bp;
	PQfinish(b->conn);
	free(b);
	*bp = NULL;
}

static const struct ma_report_backend_ops pg_ops = {
	"postgresql", pg_migrate, pg_insert, pg_select, pg_was_sent,
	pg_mark_sent, pg_close,
};

/* ma_report_pgsql_open - "postgresql://..." or "postgres://..." */
enum ma_status
ma_report_pgsql_open(const char *url, struct ma_report_backend **out,
		     char *err, size_t errlen)
{
	static const char *const keys[] = {
		"connect_timeout", "application_name", "dbname", NULL
	};
	const char *vals[] = { CONNECT_TIMEOUT_S, "mailauthd", url, NULL };
	PQconninfoOption *opts;
	struct pg_backend *b;
	struct ma_report_backend *be;
	char   *perr = NULL, clean[256];
	enum ma_status st;

	*out = NULL;
	if ((opts = PQconninfoParse(url, &perr)) == NULL) {
		const char *m = perr ? perr : "out of memory";

		(void)ma_log_sanitize(clean, sizeof(clean), m,
				      strcspn(m, "\n"));
		(void)snprintf(err, errlen, "postgresql: bad URL: %s", clean);
		st = perr ? MA_ERR_SYNTAX : MA_ERR_NOMEM;
		PQfreemem(perr);
		return st;
	}
	PQconninfoFree(opts);
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return MA_ERR_NOMEM;
	b->base.ops = &pg_ops;
	be = &b->base;
	b->conn = PQconnectdbParams(keys, vals, 1);
	if (b->conn == NULL) {
		free(b);
		return MA_ERR_NOMEM;
	}
	if (PQstatus(b->conn) != CONNECTION_OK) {
		st = pg_fail(b, NULL, "connect", err, errlen);
		pg_close(&be);
		return st;
	}
	PQclear(PQexec(b->conn, "SET client_min_messages = warning"));
	if ((st = pg_migrate(be, err, errlen)) != MA_OK) {
		pg_close(&be);
		return st;
	}
	*out = be;
	return MA_OK;
}
