/*
 * NAME
 *	report_store - DMARC history: queue, writer thread, spool, backends
 * SUMMARY
 *	Takes report rows from the mail path without ever waiting for the
 *	database, and gets every one of them into the database exactly
 *	once, through restarts and database outages.
 * SYNOPSIS
 *	#include <mailauth/report.h>
 * DESCRIPTION
 *	ma_report_store_open() picks the backend by the URL scheme
 *	("sqlite:" or "postgresql://"/"postgres://"; anything else is an
 *	error), connects (creating or migrating the schema), replays the
 *	spool and, with opt->writer_thread, starts the writer thread.
 *
 *	Each appended row gets a random 128-bit id. With the writer thread,
 *	append only queues it (opt->queue_rows, default
 *	MA_REPORT_QUEUE_DEFAULT); when the queue is full the row is written
 *	to the spool file instead. The writer takes batches of up to
 *	MA_LIMIT_REPORT_BATCH rows and inserts each in one transaction;
 *	it is woken for a full batch and otherwise looks every
 *	MA_REPORT_BACKOFF_MIN_MS, so under load rows go in groups, not
 *	one transaction (and a dozen system calls) per message;
 *	when that fails the backend is closed, the batch goes to the spool,
 *	and reconnection is tried after a delay doubling from
 *	MA_REPORT_BACKOFF_MIN_MS to MA_REPORT_BACKOFF_MAX_MS. Without the
 *	writer thread (tools) append inserts at once, spooling on failure.
 *
 *	Spool: opt->spool_path, lines as in report_codec.c, appended
 *	per batch and fsync'd; a partial last line left by a crash is
 *	ended first so it cannot swallow the next row. Replay (at open,
 *	after each successful write when the spool is not empty, at flush
 *	and close) renames the spool to PATH.replay, inserts its rows in
 *	batches and removes it; when the database fails on the way the
 *	.replay file stays and is replayed again later (inserts skip rows
 *	whose id is already stored, so nothing is stored twice). Corrupt
 *	lines are skipped with a warning.
 *
 *	flush waits until the queue is empty and the spool replayed (or the
 *	database found down: MA_ERR_TEMP, the rows are in the spool); it
 *	retries the database at once, whatever the backoff. close flushes,
 *	stops the writer and disconnects.
 * MEMORY
 *	The store owns its queue (queue_rows fixed-size rows, allocated at
 *	open), a batch buffer and the backend; all freed by close. Rows
 *	given to append are copied.
 * LIMITS
 *	MA_LIMIT_REPORT_BATCH rows per transaction;
 *	MA_LIMIT_REPORT_SPOOL_LINE bytes per spool line (longer lines are
 *	skipped as corrupt). ma_report_store_rows() must not call other
 *	store functions from its callback (the database lock is held).
 * DIAGNOSTICS
 *	Statuses as report.h says. Logged: database unavailable (warn,
 *	once per outage, with the backend's reason), reconnected (info),
 *	spooled rows (warn at the start of an outage), replayed rows
 *	(info), corrupt spool lines (warn, with the line number), spool
 *	write failures (error: rows lost, errno). URLs are never logged
 *	(they may hold a password).
 * THREADS
 *	append, flush, stats, rows, was_sent and mark_sent may be called
 *	from any thread. Locks: replay_lock (one replay at a time),
 *	db_lock (the backend, backoff), spool_lock (the spool file),
 *	q_lock (queue, counters), taken in that order, never backwards.
 * STANDARDS
 *	RFC 9990 (aggregate reports: what rows are for).
 * SEE ALSO
 *	report_int.h, report_codec.c, report_sqlite.c, report_pgsql.c,
 *	filter/report.c (mailauth-report).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mailauth/log.h>
#include <mailauth/report.h>
#include "report_int.h"

typedef enum ma_status (*backend_open_fn)(const char *,
					  struct ma_report_backend **, char *,
					  size_t);

struct ma_report_store {
	char   *url;
	char   *spool;			/* NULL: no spool */
	char   *replay;			/* spool ".replay" */
	backend_open_fn open_backend;
	int	threaded;

	pthread_mutex_t db_lock;	/* be, backoff */
	struct ma_report_backend *be;	/* NULL while disconnected */
	long long next_try_ms;
	unsigned backoff_ms;
	int	force_retry;
	int	down_logged;

	pthread_mutex_t q_lock;		/* queue, flags, counters */
	pthread_cond_t q_cond;		/* writer: work or stop */
	pthread_cond_t done_cond;	/* flushers: a pass finished */
	struct ma_report_item **q;	/* ring of malloc'ed rows */
	unsigned qcap, qhead, qlen;
	unsigned long long flush_req, flush_done;
	int	stop, paused;
	struct ma_report_store_stats st;

	pthread_mutex_t spool_lock;	/* the spool file */
	pthread_mutex_t replay_lock;	/* one replay at a time */
	int	spool_dirty;		/* rows may be spooled (q_lock) */

	struct ma_report_item *batch;	/* writer's (or sync caller's) */
	pthread_t thr;
	int	thr_started;
};

/* now_ms - monotonic milliseconds */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* count - add to a counter under q_lock */
static void
count(struct ma_report_store *s, unsigned long long *c, size_t n)
{
	pthread_mutex_lock(&s->q_lock);
	*c += n;
	pthread_mutex_unlock(&s->q_lock);
}

/* db_ensure - connect when disconnected and due (db_lock held) */
static enum ma_status
db_ensure(struct ma_report_store *s, char *err, size_t errlen)
{
	char	ebuf[256];
	enum ma_status st;

	if (s->be != NULL)
		return MA_OK;
	if (!s->force_retry && now_ms() < s->next_try_ms)
		return MA_ERR_TEMP;
	s->force_retry = 0;
	ebuf[0] = '\0';
	st = s->open_backend(s->url, &s->be, ebuf, sizeof(ebuf));
	if (st == MA_OK) {
		if (s->down_logged)
			ma_log(MA_LOG_INFO, "report store: database is back");
		s->down_logged = 0;
		s->backoff_ms = 0;
		return MA_OK;
	}
	count(s, &s->st.db_errors, 1);
	s->backoff_ms = s->backoff_ms == 0 ? MA_REPORT_BACKOFF_MIN_MS
		: s->backoff_ms * 2;
	if (s->backoff_ms > MA_REPORT_BACKOFF_MAX_MS)
		s->backoff_ms = MA_REPORT_BACKOFF_MAX_MS;
	s->next_try_ms = now_ms() + s->backoff_ms;
	if (!s->down_logged)
		ma_log(MA_LOG_WARN, "report store: database unavailable (%s);"
		       " spooling rows, retrying", ebuf);
	s->down_logged = 1;
	if (err != NULL && errlen > 0)
		(void)snprintf(err, errlen, "%s", ebuf);
	return st;
}

/* db_broke - drop the connection after a failed call (db_lock held) */
static void
db_broke(struct ma_report_store *s)
{
	s->be->ops->close(&s->be);
	count(s, &s->st.db_errors, 1);
	s->backoff_ms = MA_REPORT_BACKOFF_MIN_MS;
	s->next_try_ms = now_ms() + s->backoff_ms;
	if (!s->down_logged)
		ma_log(MA_LOG_WARN, "report store: database error; spooling"
		       " rows, reconnecting");
	s->down_logged = 1;
}

/* db_up - whether the backend is connected */
static int
db_up(struct ma_report_store *s)
{
	int	up;

	pthread_mutex_lock(&s->db_lock);
	up = s->be != NULL;
	pthread_mutex_unlock(&s->db_lock);
	return up;
}

/* db_insert - insert n rows in one transaction, counting them */
static enum ma_status
db_insert(struct ma_report_store *s, const struct ma_report_item *items,
	  size_t n)
{
	size_t	inserted = 0;
	enum ma_status st;

	pthread_mutex_lock(&s->db_lock);
	if ((st = db_ensure(s, NULL, 0)) == MA_OK) {
		st = s->be->ops->insert(s->be, items, n, &inserted);
		if (st != MA_OK)
			db_broke(s);
	}
	pthread_mutex_unlock(&s->db_lock);
	if (st == MA_OK)
		count(s, &s->st.stored, inserted);
	return st;
}

/* spool_end_line - end a partial last line left by a crash */
static int
spool_end_line(int fd)
{
	struct stat sb;
	char	c;

	if (fstat(fd, &sb) < 0)
		return -1;
	if (sb.st_size == 0)
		return 0;
	if (pread(fd, &c, 1, sb.st_size - 1) != 1)
		return -1;
	return c == '\n' ? 0 : (write(fd, "\n", 1) == 1 ? 0 : -1);
}

/* write_all - write n bytes, retrying short writes */
static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* spool_write - append n rows to the spool and fsync */
static enum ma_status
spool_write(struct ma_report_store *s, const struct ma_report_item *items,
	    size_t n)
{
	char   *line;
	size_t	i, len;
	int	fd, rc = 0, saved;

	if (s->spool == NULL) {
		ma_log(MA_LOG_ERROR, "report store: database unavailable and no"
		       " spool file: %zu row(s) lost", n);
		return MA_ERR_IO;
	}
	if ((line = malloc(MA_LIMIT_REPORT_SPOOL_LINE)) == NULL)
		return MA_ERR_NOMEM;
	pthread_mutex_lock(&s->spool_lock);
	fd = open(s->spool, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || spool_end_line(fd) < 0)
		rc = -1;
	for (i = 0; rc == 0 && i < n; i++) {
		len = ma_report_spool_line(&items[i], line,
					   MA_LIMIT_REPORT_SPOOL_LINE);
		rc = len == 0 ? -1 : write_all(fd, line, len);
	}
	if (rc == 0)
		rc = fsync(fd);
	saved = errno;
	if (fd >= 0)
		(void)close(fd);
	pthread_mutex_unlock(&s->spool_lock);
	free(line);
	if (rc != 0) {
		ma_log(MA_LOG_ERROR, "report store: spool %s: %s: %zu row(s)"
		       " lost", s->spool, strerror(saved), n);
		errno = saved;
		return MA_ERR_IO;
	}
	pthread_mutex_lock(&s->q_lock);
	s->st.spooled += n;
	s->spool_dirty = 1;
	pthread_mutex_unlock(&s->q_lock);
	return MA_OK;
}

/*
 * read_line - next line of f into buf (without "\n"); 1: a line,
 * 0: end, -1: overlong or unterminated (skipped; *len says how much)
 */
static int
read_line(FILE *f, char *buf, size_t cap, size_t *len)
{
	size_t	n = 0;
	int	c, over = 0;

	while ((c = getc_unlocked(f)) != EOF && c != '\n') {
		if (n < cap)
			buf[n++] = (char)c;
		else
			over = 1;
	}
	*len = n;
	if (c == EOF && n == 0 && !over)
		return 0;
	return over || c == EOF ? -1 : 1;
}

/* replay_file - insert the rows of one spool file; MA_OK when all stored */
static enum ma_status
replay_file(struct ma_report_store *s, const char *path)
{
	FILE   *f;
	char   *line;
	struct ma_report_item *batch;
	size_t	len, nb = 0;
	unsigned long lineno = 0, good = 0, bad = 0;
	enum ma_status st = MA_OK;
	int	r;

	if ((f = fopen(path, "re")) == NULL)
		return errno == ENOENT ? MA_OK : MA_ERR_IO;
	line = malloc(MA_LIMIT_REPORT_SPOOL_LINE);
	batch = calloc(MA_LIMIT_REPORT_BATCH, sizeof(*batch));
	if (line == NULL || batch == NULL) {
		free(line);
		free(batch);
		fclose(f);
		return MA_ERR_NOMEM;
	}
	while (st == MA_OK && (r = read_line(f, line,
			MA_LIMIT_REPORT_SPOOL_LINE, &len)) != 0) {
		lineno++;
		if (r < 0 || ma_report_spool_parse(line, len,
						   &batch[nb]) != MA_OK) {
			ma_log(MA_LOG_WARN, "report store: spool %s line %lu:"
			       " corrupt or partial line skipped", path,
			       lineno);
			bad++;
			continue;
		}
		good++;
		if (++nb == MA_LIMIT_REPORT_BATCH) {
			st = db_insert(s, batch, nb);
			nb = 0;
		}
	}
	if (st == MA_OK && nb > 0)
		st = db_insert(s, batch, nb);
	fclose(f);
	free(line);
	free(batch);
	if (st == MA_OK && (good > 0 || bad > 0))
		ma_log(MA_LOG_INFO, "report store: spool replayed: %lu row(s),"
		       " %lu corrupt line(s) skipped", good, bad);
	return st;
}

/* spool_replay - store spooled rows (.replay first), then remove them */
static enum ma_status
spool_replay(struct ma_report_store *s)
{
	struct stat sb;
	enum ma_status st;
	int	i, moved;

	if (s->spool == NULL)
		return MA_OK;
	pthread_mutex_lock(&s->replay_lock);
	for (i = 0; i < 2; i++) {
		if ((st = replay_file(s, s->replay)) != MA_OK ||
		    (unlink(s->replay) < 0 && errno != ENOENT)) {
			pthread_mutex_unlock(&s->replay_lock);
			return st != MA_OK ? st : MA_ERR_IO;
		}
		pthread_mutex_lock(&s->spool_lock);
		moved = stat(s->spool, &sb) == 0 && sb.st_size > 0 &&
		    rename(s->spool, s->replay) == 0;
		if (!moved) {
			pthread_mutex_lock(&s->q_lock);
			s->spool_dirty = 0;
			pthread_mutex_unlock(&s->q_lock);
		}
		pthread_mutex_unlock(&s->spool_lock);
		if (!moved)
			break;
	}
	pthread_mutex_unlock(&s->replay_lock);
	return MA_OK;	/* rows spooled meanwhile: spool_dirty stays set */
}

/* spool_is_dirty - whether rows may wait in the spool */
static int
spool_is_dirty(struct ma_report_store *s)
{
	int	d;

	pthread_mutex_lock(&s->q_lock);
	d = s->spool_dirty;
	pthread_mutex_unlock(&s->q_lock);
	return d;
}

/* store_rows - insert n rows or spool them; then replay if due */
static enum ma_status
store_rows(struct ma_report_store *s, const struct ma_report_item *items,
	   size_t n)
{
	enum ma_status st = MA_OK;

	if (n > 0 && db_insert(s, items, n) != MA_OK)
		st = spool_write(s, items, n);
	if (spool_is_dirty(s) && db_up(s))
		(void)spool_replay(s);
	return st;
}

/* writer - the writer thread: drain the queue in batches */
static void *
writer(void *arg)
{
	struct ma_report_store *s = arg;
	unsigned long long req;
	struct timespec ts;
	size_t	n, i;

	pthread_mutex_lock(&s->q_lock);
	for (;;) {
		if (s->paused && !s->stop) {
			pthread_cond_wait(&s->q_cond, &s->q_lock);
			continue;
		}
		n = s->qlen < MA_LIMIT_REPORT_BATCH ? s->qlen
			: MA_LIMIT_REPORT_BATCH;
		for (i = 0; i < n; i++) {
			struct ma_report_item **slot =
			    &s->q[(s->qhead + i) % s->qcap];

			s->batch[i] = **slot;
			free(*slot);
			*slot = NULL;
		}
		s->qhead = (s->qhead + (unsigned)n) % s->qcap;
		s->qlen -= (unsigned)n;
		req = s->flush_req;
		pthread_mutex_unlock(&s->q_lock);

		if (n > 0)
			(void)store_rows(s, s->batch, n);
		else if (spool_is_dirty(s)) {
			pthread_mutex_lock(&s->db_lock);
			(void)db_ensure(s, NULL, 0);
			pthread_mutex_unlock(&s->db_lock);
			if (db_up(s))
				(void)spool_replay(s);
		}

		pthread_mutex_lock(&s->q_lock);
		if (n > 0 || s->qlen > 0)
			continue;
		s->flush_done = req;
		pthread_cond_broadcast(&s->done_cond);
		if (s->stop)
			break;
		if (s->flush_req != req)
			continue;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += MA_REPORT_BACKOFF_MIN_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		(void)pthread_cond_timedwait(&s->q_cond, &s->q_lock, &ts);
	}
	pthread_mutex_unlock(&s->q_lock);
	return NULL;
}

/* pick_backend - the backend constructor for url's scheme */
static backend_open_fn
pick_backend(const char *url)
{
	if (strncmp(url, "sqlite:", 7) == 0)
		return ma_report_sqlite_open;
	if (strncmp(url, "postgresql://", 13) == 0 ||
	    strncmp(url, "postgres://", 11) == 0)
		return ma_report_pgsql_open;
	return NULL;
}

/* store_free - release everything (thread already joined) */
static void
store_free(struct ma_report_store *s)
{
	unsigned i;

	if (s->be != NULL)
		s->be->ops->close(&s->be);
	pthread_mutex_destroy(&s->db_lock);
	pthread_mutex_destroy(&s->q_lock);
	pthread_mutex_destroy(&s->spool_lock);
	pthread_mutex_destroy(&s->replay_lock);
	pthread_cond_destroy(&s->q_cond);
	pthread_cond_destroy(&s->done_cond);
	for (i = 0; s->q != NULL && i < s->qcap; i++)
		free(s->q[i]);		/* rows never written (paused) */
	free(s->q);
	free(s->batch);
	free(s->url);
	free(s->spool);
	free(s->replay);
	free(s);
}

/* has_rows - whether a file exists and is not empty */
static int
has_rows(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && sb.st_size > 0;
}

/* ma_report_store_open - connect (creating/migrating the schema), replay the spool */
enum ma_status
ma_report_store_open(const struct ma_report_store_options *opt,
		     struct ma_report_store **out, char *err, size_t errlen)
{
	struct ma_report_store *s;
	enum ma_status st;
	char	scheme[32];
	size_t	n;

	*out = NULL;
	if (opt == NULL || opt->database == NULL || *opt->database == '\0') {
		(void)snprintf(err, errlen, "report store: no database given");
		return MA_ERR_SYNTAX;
	}
	if (pick_backend(opt->database) == NULL) {
		n = strcspn(opt->database, ":");
		(void)ma_log_sanitize(scheme, sizeof(scheme), opt->database,
				      n < 24 ? n : 24);
		(void)snprintf(err, errlen, "report store: unknown database"
			       " scheme \"%s\" (want sqlite:PATH or"
			       " postgresql://...)", scheme);
		return MA_ERR_SYNTAX;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return MA_ERR_NOMEM;
	pthread_mutex_init(&s->db_lock, NULL);
	pthread_mutex_init(&s->q_lock, NULL);
	pthread_mutex_init(&s->spool_lock, NULL);
	pthread_mutex_init(&s->replay_lock, NULL);
	pthread_cond_init(&s->q_cond, NULL);
	pthread_cond_init(&s->done_cond, NULL);
	s->open_backend = pick_backend(opt->database);
	s->threaded = opt->writer_thread != 0;
	s->qcap = opt->queue_rows ? opt->queue_rows : MA_REPORT_QUEUE_DEFAULT;
	s->url = strdup(opt->database);
	s->batch = calloc(MA_LIMIT_REPORT_BATCH, sizeof(*s->batch));
	if (opt->spool_path != NULL && *opt->spool_path != '\0') {
		s->spool = strdup(opt->spool_path);
		n = strlen(opt->spool_path) + sizeof(".replay");
		if ((s->replay = malloc(n)) != NULL)
			(void)snprintf(s->replay, n, "%s.replay",
				       opt->spool_path);
	}
	if (s->threaded)
		s->q = calloc(s->qcap, sizeof(*s->q));
	if (s->url == NULL || s->batch == NULL || (s->threaded && s->q == NULL)
	    || (opt->spool_path && *opt->spool_path && s->replay == NULL)) {
		store_free(s);
		return MA_ERR_NOMEM;
	}
	s->force_retry = 1;
	pthread_mutex_lock(&s->db_lock);
	st = db_ensure(s, err, errlen);
	pthread_mutex_unlock(&s->db_lock);
	if (st != MA_OK && (st != MA_ERR_TEMP || !s->threaded)) {
		store_free(s);
		return st;
	}
	if (s->spool != NULL && (has_rows(s->spool) || has_rows(s->replay))) {
		s->spool_dirty = 1;
		if (s->be != NULL)
			(void)spool_replay(s);
	}
	if (s->threaded) {
		if (pthread_create(&s->thr, NULL, writer, s) != 0) {
			(void)snprintf(err, errlen, "report store: cannot"
				       " start the writer thread");
			store_free(s);
			return MA_ERR_INTERNAL;
		}
		s->thr_started = 1;
	}
	*out = s;
	return MA_OK;
}

/* ma_report_store_append - hand over one row; never blocks on the database */
enum ma_status
ma_report_store_append(struct ma_report_store *s,
		       const struct ma_report_row *row)
{
	struct ma_report_item *it;
	enum ma_status st;

	/* one copy, made outside the lock; RSS follows the rows queued,
	 * not the ring's capacity */
	if ((it = malloc(sizeof(*it))) == NULL)
		return MA_ERR_NOMEM;
	ma_report_row_copy(&it->row, row);
	if (ma_report_uid_new(it->uid) < 0) {
		ma_log(MA_LOG_ERROR, "report store: getrandom: %s",
		       strerror(errno));
		free(it);
		return MA_ERR_INTERNAL;
	}
	pthread_mutex_lock(&s->q_lock);
	s->st.appended++;
	if (s->threaded) {
		if (s->qlen < s->qcap) {
			s->q[(s->qhead + s->qlen) % s->qcap] = it;
			s->qlen++;
			/* group commit: the writer looks every
			 * MA_REPORT_BACKOFF_MIN_MS anyway; wake it only for
			 * a full batch (no futex and no transaction per row) */
			if (s->qlen == MA_LIMIT_REPORT_BATCH)
				pthread_cond_signal(&s->q_cond);
			pthread_mutex_unlock(&s->q_lock);
			return MA_OK;
		}
		s->st.queue_full++;
		pthread_mutex_unlock(&s->q_lock);
		st = spool_write(s, it, 1);
		free(it);
		return st;
	}
	pthread_mutex_unlock(&s->q_lock);
	st = store_rows(s, it, 1);
	free(it);
	return st;
}

/* ma_report_store_flush - write everything queued (and spooled) now */
enum ma_status
ma_report_store_flush(struct ma_report_store *s)
{
	unsigned long long req;
	int	dirty;

	pthread_mutex_lock(&s->db_lock);
	s->force_retry = 1;
	pthread_mutex_unlock(&s->db_lock);
	if (!s->threaded) {
		pthread_mutex_lock(&s->db_lock);
		(void)db_ensure(s, NULL, 0);
		pthread_mutex_unlock(&s->db_lock);
		if (db_up(s) && spool_is_dirty(s))
			(void)spool_replay(s);
	} else {
		pthread_mutex_lock(&s->q_lock);
		req = ++s->flush_req;
		pthread_cond_signal(&s->q_cond);
		while (s->flush_done < req && s->thr_started && !s->paused)
			pthread_cond_wait(&s->done_cond, &s->q_lock);
		pthread_mutex_unlock(&s->q_lock);
	}
	pthread_mutex_lock(&s->q_lock);
	dirty = s->spool_dirty || s->qlen > 0;
	pthread_mutex_unlock(&s->q_lock);
	return dirty || !db_up(s) ? MA_ERR_TEMP : MA_OK;
}

/* ma_report_store_stats - counters for logs and metrics */
void
ma_report_store_stats(struct ma_report_store *s,
		      struct ma_report_store_stats *out)
{
	pthread_mutex_lock(&s->q_lock);
	*out = s->st;
	out->queue_depth = s->qlen;
	pthread_mutex_unlock(&s->q_lock);
}

/* ma_report_store_close - flush, stop the writer, disconnect; takes NULL */
void
ma_report_store_close(struct ma_report_store **sp)
{
	struct ma_report_store *s;

	if (sp == NULL || (s = *sp) == NULL)
		return;
	*sp = NULL;
	if (s->thr_started) {
		pthread_mutex_lock(&s->db_lock);
		s->force_retry = 1;
		pthread_mutex_unlock(&s->db_lock);
		pthread_mutex_lock(&s->q_lock);
		s->stop = 1;
		s->paused = 0;
		pthread_cond_broadcast(&s->q_cond);
		pthread_mutex_unlock(&s->q_lock);
		pthread_join(s->thr, NULL);
	}
	if (spool_is_dirty(s) && db_up(s))
		(void)spool_replay(s);
	store_free(s);
}

/* with_db - run a backend call under db_lock, connecting first */
#define WITH_DB(s, call) do { \
	pthread_mutex_lock(&(s)->db_lock); \
	(s)->force_retry = 1; \
	if ((st = db_ensure((s), NULL, 0)) == MA_OK && \
	    (st = (call)) == MA_ERR_TEMP) \
		db_broke(s); \
	pthread_mutex_unlock(&(s)->db_lock); \
} while (0)

/* ma_report_store_rows - rows of [begin, end) by policy_domain, when */
enum ma_status
ma_report_store_rows(struct ma_report_store *s, long long begin,
		     long long end,
		     int (*fn)(const struct ma_report_row *row, void *ctx),
		     void *ctx)
{
	enum ma_status st;

	WITH_DB(s, s->be->ops->select(s->be, begin, end, fn, ctx));
	return st;
}

/* ma_report_store_was_sent - whether the report was recorded as sent */
enum ma_status
ma_report_store_was_sent(struct ma_report_store *s, const char *domain,
			 long long begin, long long end, int *sent_out)
{
	enum ma_status st;

	*sent_out = 0;
	WITH_DB(s, s->be->ops->was_sent(s->be, domain, begin, end, sent_out));
	return st;
}

/* ma_report_store_mark_sent - record that the report was sent */
enum ma_status
ma_report_store_mark_sent(struct ma_report_store *s, const char *domain,
			  long long begin, long long end,
			  const char *report_id)
{
	enum ma_status st;

	WITH_DB(s, s->be->ops->mark_sent(s->be, domain, begin, end,
					  report_id));
	return st;
}

/* ma_report_store_test_pause - tests only: hold the writer thread */
void
ma_report_store_test_pause(struct ma_report_store *s, int paused)
{
	pthread_mutex_lock(&s->q_lock);
	s->paused = paused;
	pthread_cond_broadcast(&s->q_cond);
	pthread_mutex_unlock(&s->q_lock);
}
