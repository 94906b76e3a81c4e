/*
 * NAME
 *	report_sqlite - report store backend: SQLite ("sqlite:PATH")
 * SUMMARY
 *	Keeps DMARC history rows and sent-report records in one SQLite
 *	file, for single hosts and for the tools.
 * SYNOPSIS
 *	#include "report_int.h"
 *	ma_report_sqlite_open("sqlite:/var/lib/mailauthd/history.db", ...)
 * DESCRIPTION
 *	The file is created on first open, put in WAL mode (readers such
 *	as mailauth-report do not block the daemon's writer) with a busy
 *	timeout of BUSY_TIMEOUT_MS. The schema is ours: table
 *	schema_version holds one row with the version; migrate() creates
 *	the tables or applies the steps in migrations[] from the stored
 *	version on, in one BEGIN IMMEDIATE transaction (two processes
 *	opening a new file together serialize there). A database newer
 *	than MA_REPORT_SCHEMA_VERSION is refused.
 *
 *	Tables: report_rows (seq INTEGER PRIMARY KEY: insertion order;
 *	uid UNIQUE; the columns of report_int.h as encoded text, when_ts
 *	and testing as integers), report_sent (policy_domain, begin_ts,
 *	end_ts primary key; report_id, sent_at).
 *
 *	All statements are prepared once, at open, with bound parameters.
 * MEMORY
 *	The handle and its statements are freed by close().
 * LIMITS
 *	Rows per insert transaction: the caller's batch
 *	(MA_LIMIT_REPORT_BATCH in report_store.c).
 * DIAGNOSTICS
 *	MA_ERR_TEMP for SQLITE_BUSY, SQLITE_LOCKED, I/O and open errors
 *	(retry may help), MA_ERR_INTERNAL otherwise; err/the log get
 *	sqlite3_errmsg() text. A stored row that does not decode is
 *	skipped with a warning. Errors are logged at error level.
 * THREADS
 *	A handle is used by one thread at a time (report_store.c holds
 *	its database lock); the connection is opened FULLMUTEX anyway.
 * STANDARDS
 *	RFC 9990 (aggregate report data).
 * SEE ALSO
 *	report_int.h, report_store.c, report_pgsql.c, sqlite3(1).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include <mailauth/log.h>
#include "report_int.h"

#define BUSY_TIMEOUT_MS	5000

struct sq_backend {
	struct ma_report_backend base;	/* first */
	sqlite3 *db;
	sqlite3_stmt *ins, *sel, *was, *mark;
};

/* Schema steps: migrations[i] brings version i to i + 1. */
static const char *const migrations[] = {
	"CREATE TABLE report_rows ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" uid TEXT NOT NULL UNIQUE, when_ts INTEGER NOT NULL,"
	" reporter TEXT NOT NULL, source_ip TEXT NOT NULL,"
	" header_from TEXT NOT NULL, envelope_from TEXT NOT NULL,"
	" envelope_to TEXT NOT NULL, policy_domain TEXT NOT NULL,"
	" p TEXT NOT NULL, sp TEXT NOT NULL, np TEXT NOT NULL,"
	" adkim TEXT NOT NULL, aspf TEXT NOT NULL, testing INTEGER NOT NULL,"
	" discovery TEXT NOT NULL, rua TEXT NOT NULL,"
	" dmarc_result TEXT NOT NULL, disposition TEXT NOT NULL,"
	" dkim_aligned TEXT NOT NULL, spf_aligned TEXT NOT NULL,"
	" override TEXT NOT NULL, override_comment TEXT NOT NULL,"
	" dkim TEXT NOT NULL, spf TEXT NOT NULL);"
	"CREATE INDEX report_rows_when ON report_rows (when_ts);"
	"CREATE TABLE report_sent ("
	" policy_domain TEXT NOT NULL, begin_ts INTEGER NOT NULL,"
	" end_ts INTEGER NOT NULL, report_id TEXT NOT NULL,"
	" sent_at INTEGER NOT NULL,"
	" PRIMARY KEY (policy_domain, begin_ts, end_ts));",
};

static const char sql_insert[] =
	"INSERT INTO report_rows (" MA_REPORT_SQL_COLS ") VALUES ("
	"?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
	" ON CONFLICT (uid) DO NOTHING";
static const char sql_select[] =
	"SELECT " MA_REPORT_SQL_COLS " FROM report_rows"
	" WHERE when_ts >= ?1 AND when_ts < ?2"
	" ORDER BY policy_domain, when_ts, seq";
static const char sql_was[] =
	"SELECT 1 FROM report_sent WHERE policy_domain = ?1"
	" AND begin_ts = ?2 AND end_ts = ?3";
static const char sql_mark[] =
	"INSERT INTO report_sent (policy_domain, begin_ts, end_ts, report_id,"
	" sent_at) VALUES (?1, ?2, ?3, ?4, ?5)"
	" ON CONFLICT (policy_domain, begin_ts, end_ts) DO UPDATE SET"
	" report_id = excluded.report_id, sent_at = excluded.sent_at";

/* sq_status - map an SQLite result code to our status */
static enum ma_status
sq_status(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return MA_OK;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_CANTOPEN:
	case SQLITE_PROTOCOL:
		return MA_ERR_TEMP;
	case SQLITE_NOMEM:
		return MA_ERR_NOMEM;
	default:
		return MA_ERR_INTERNAL;
	}
}

/* sq_fail - log (and copy to err) the database's last error */
static enum ma_status
sq_fail(struct sq_backend *b, int rc, const char *what, char *err,
	size_t errlen)
{
	const char *msg = b->db ? sqlite3_errmsg(b->db) : sqlite3_errstr(rc);

	if (err != NULL && errlen > 0)
		(void)snprintf(err, errlen, "sqlite: %s: %s", what, msg);
	ma_log(MA_LOG_ERROR, "report store: sqlite: %s: %s", what, msg);
	return sq_status(rc);
}

/* sq_exec - run SQL without parameters */
static int
sq_exec(struct sq_backend *b, const char *sql)
{
	return sqlite3_exec(b->db, sql, NULL, NULL, NULL);
}

/* sq_migrate - create or upgrade the schema */
static enum ma_status
sq_migrate(struct ma_report_backend *be, char *err, size_t errlen)
{
	struct sq_backend *b = (struct sq_backend *)be;
	sqlite3_stmt *st = NULL;
	int	rc, version = 0;
	size_t	i, nmig = sizeof(migrations) / sizeof(migrations[0]);
	char	sql[96];

	if ((rc = sq_exec(b, "BEGIN IMMEDIATE")) != SQLITE_OK)
		return sq_fail(b, rc, "begin", err, errlen);
	rc = sq_exec(b, "CREATE TABLE IF NOT EXISTS schema_version"
		     " (version INTEGER NOT NULL)");
	if (rc != SQLITE_OK)
		goto fail;
	rc = sqlite3_prepare_v2(b->db, "SELECT max(version) FROM"
				" schema_version", -1, &st, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		goto fail;
	if (version > MA_REPORT_SCHEMA_VERSION || version < 0) {
		(void)sq_exec(b, "ROLLBACK");
		if (err != NULL && errlen > 0)
			(void)snprintf(err, errlen, "sqlite: schema version %d is newer"
			       " than this program's %d", version,
			       MA_REPORT_SCHEMA_VERSION);
		return MA_ERR_INTERNAL;
	}
	for (i = (size_t)version; i < nmig; i++)
		if ((rc = sq_exec(b, migrations[i])) != SQLITE_OK)
			goto fail;
	if ((size_t)version < nmig) {
		(void)snprintf(sql, sizeof(sql), "DELETE FROM schema_version;"
			       " INSERT INTO schema_version VALUES (%zu)", nmig);
		if ((rc = sq_exec(b, sql)) != SQLITE_OK)
			goto fail;
	}
	if ((rc = sq_exec(b, "COMMIT")) != SQLITE_OK)
		goto fail;
	return MA_OK;
fail:
	{
		enum ma_status s = sq_fail(b, rc, "schema", err, errlen);

		(void)sq_exec(b, "ROLLBACK");
		return s;
	}
}

/* sq_insert - n rows in one transaction, duplicates skipped */
static enum ma_status
sq_insert(struct ma_report_backend *be, const struct ma_report_item *items,
	  size_t n, size_t *inserted_out)
{
	struct sq_backend *b = (struct sq_backend *)be;
	struct ma_report_enc *e;
	size_t	i, inserted = 0;
	int	rc, c;

	*inserted_out = 0;
	if ((e = malloc(sizeof(*e))) == NULL)
		return MA_ERR_NOMEM;
	if ((rc = sq_exec(b, "BEGIN IMMEDIATE")) != SQLITE_OK) {
		free(e);
		return sq_fail(b, rc, "begin", NULL, 0);
	}
	for (i = 0; i < n; i++) {
		ma_report_encode(&items[i], e);
		sqlite3_reset(b->ins);
		for (c = 0; c < MA_REPORT_NCOLS; c++) {
			if (c == MA_RC_WHEN)
				rc = sqlite3_bind_int64(b->ins, c + 1,
							items[i].row.when);
			else if (c == MA_RC_TESTING)
				rc = sqlite3_bind_int(b->ins, c + 1,
						      items[i].row.testing);
			else
				rc = sqlite3_bind_text(b->ins, c + 1, e->v[c],
						       (int)e->len[c],
						       SQLITE_TRANSIENT);
			if (rc != SQLITE_OK)
				goto fail;
		}
		if ((rc = sqlite3_step(b->ins)) != SQLITE_DONE)
			goto fail;
		inserted += (size_t)sqlite3_changes(b->db);
	}
	sqlite3_reset(b->ins);
	free(e);
	if ((rc = sq_exec(b, "COMMIT")) != SQLITE_OK) {
		enum ma_status s = sq_fail(b, rc, "commit", NULL, 0);

		(void)sq_exec(b, "ROLLBACK");
		return s;
	}
	*inserted_out = inserted;
	return MA_OK;
fail:
	free(e);
	{
		enum ma_status s = sq_fail(b, rc, "insert", NULL, 0);

		sqlite3_reset(b->ins);
		(void)sq_exec(b, "ROLLBACK");
		return s;
	}
}

/* sq_select - rows of [begin, end) to fn, in report order */
static enum ma_status
sq_select(struct ma_report_backend *be, long long begin, long long end,
	  ma_report_row_fn fn, void *ctx)
{
	struct sq_backend *b = (struct sq_backend *)be;
	struct ma_report_item *it;
	const char *v[MA_REPORT_NCOLS];
	size_t	len[MA_REPORT_NCOLS];
	int	rc, c, stop = 0;
	enum ma_status st = MA_OK;

	if ((it = malloc(sizeof(*it))) == NULL)
		return MA_ERR_NOMEM;
	sqlite3_reset(b->sel);
	sqlite3_bind_int64(b->sel, 1, begin);
	sqlite3_bind_int64(b->sel, 2, end);
	while (!stop && (rc = sqlite3_step(b->sel)) == SQLITE_ROW) {
		for (c = 0; c < MA_REPORT_NCOLS; c++) {
			v[c] = (const char *)sqlite3_column_text(b->sel, c);
			len[c] = (size_t)sqlite3_column_bytes(b->sel, c);
			if (v[c] == NULL)
				v[c] = "";
		}
		if ((st = ma_report_decode(v, len, it)) != MA_OK) {
			ma_log(MA_LOG_WARN, "report store: sqlite: skipping"
			       " stored row that does not decode (%s)",
			       ma_status_str(st));
			st = MA_OK;
			continue;
		}
		stop = fn(&it->row, ctx);
	}
	if (!stop && rc != SQLITE_DONE)
		st = sq_fail(b, rc, "select", NULL, 0);
	sqlite3_reset(b->sel);
	free(it);
	return st;
}

/* sq_was_sent - whether (domain, begin, end) was recorded as sent */
static enum ma_status
sq_was_sent(struct ma_report_backend *be, const char *domain,
	    long long begin, long long end, int *sent_out)
{
	struct sq_backend *b = (struct sq_backend *)be;
	char	enc[3 * 256 + 1];
	int	rc;

	if (strlen(domain) >= 256)
		return MA_ERR_LIMIT;
	(void)ma_report_str_encode(enc, domain);
	sqlite3_reset(b->was);
	sqlite3_bind_text(b->was, 1, enc, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(b->was, 2, begin);
	sqlite3_bind_int64(b->was, 3, end);
	rc = sqlite3_step(b->was);
	sqlite3_reset(b->was);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(b, rc, "was_sent", NULL, 0);
	*sent_out = rc == SQLITE_ROW;
	return MA_OK;
}

/* sq_mark_sent - record (domain, begin, end) as sent with report_id */
static enum ma_status
sq_mark_sent(struct ma_report_backend *be, const char *domain,
	     long long begin, long long end, const char *report_id)
{
	struct sq_backend *b = (struct sq_backend *)be;
	char	enc[3 * 256 + 1];
	int	rc;

	if (strlen(domain) >= 256)
		return MA_ERR_LIMIT;
	(void)ma_report_str_encode(enc, domain);
	sqlite3_reset(b->mark);
	sqlite3_bind_text(b->mark, 1, enc, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(b->mark, 2, begin);
	sqlite3_bind_int64(b->mark, 3, end);
	sqlite3_bind_text(b->mark, 4, report_id ? report_id : "", -1,
			  SQLITE_TRANSIENT);
	sqlite3_bind_int64(b->mark, 5, (sqlite3_int64)time(NULL));
	rc = sqlite3_step(b->mark);
	sqlite3_reset(b->mark);
	if (rc != SQLITE_DONE)
		return sq_fail(b, rc, "mark_sent", NULL, 0);
	return MA_OK;
}

/* sq_close - finalize statements, close the file */
static void
sq_close(struct ma_report_backend **bp)
{
	struct sq_backend *b;

	if (bp == NULL || *bp == NULL)
		return;
	b = (struct sq_backend *)*bp;
	sqlite3_finalize(b->ins);
	sqlite3_finalize(b->sel);
	sqlite3_finalize(b->was);
	sqlite3_finalize(b->mark);
	sqlite3_close(b->db);
	free(b);
	*bp = NULL;
}

static const struct ma_report_backend_ops sq_ops = {
	"sqlite", sq_migrate, sq_insert, sq_select, sq_was_sent,
	sq_mark_sent, sq_close,
};

/* ma_report_sqlite_open - "sqlite:PATH": open or create the file */
enum ma_status
ma_report_sqlite_open(const char *url, struct ma_report_backend **out,
		      char *err, size_t errlen)
{
	struct sq_backend *b;
	struct ma_report_backend *be;
	const char *path;
	enum ma_status st;
	int	rc;

	*out = NULL;
	if (strncmp(url, "sqlite:", 7) != 0 || url[7] == '\0') {
		(void)snprintf(err, errlen, "sqlite: want sqlite:PATH");
		return MA_ERR_SYNTAX;
	}
	path = url + 7;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return MA_ERR_NOMEM;
	b->base.ops = &sq_ops;
	be = &b->base;
	rc = sqlite3_open_v2(path, &b->db, SQLITE_OPEN_READWRITE |
			     SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
	if (rc != SQLITE_OK) {
		st = sq_fail(b, rc, path, err, errlen);
		sq_close(&be);
		return st == MA_ERR_INTERNAL ? MA_ERR_TEMP : st;
	}
	sqlite3_busy_timeout(b->db, BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(b->db, 0);
	if ((rc = sq_exec(b, "PRAGMA journal_mode=WAL")) != SQLITE_OK ||
	    (rc = sq_exec(b, "PRAGMA synchronous=NORMAL")) != SQLITE_OK) {
		st = sq_fail(b, rc, "pragma", err, errlen);
		sq_close(&be);
		return st;
	}
	if ((st = sq_migrate(be, err, errlen)) != MA_OK) {
		sq_close(&be);
		return st;
	}
	if ((rc = sqlite3_prepare_v2(b->db, sql_insert, -1, &b->ins,
				     NULL)) != SQLITE_OK ||
	    (rc = sqlite3_prepare_v2(b->db, sql_select, -1, &b->sel,
				     NULL)) != SQLITE_OK ||
	    (rc = sqlite3_prepare_v2(b->db, sql_was, -1, &b->was,
				     NULL)) != SQLITE_OK ||
	    (rc = sqlite3_prepare_v2(b->db, sql_mark, -1, &b->mark,
				     NULL)) != SQLITE_OK) {
		st = sq_fail(b, rc, "prepare", err, errlen);
		sq_close(&be);
		return st;
	}
	*out = be;
	return MA_OK;
}
