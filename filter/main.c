/*
 * NAME
 *	main - the mailauthd daemon
 * SUMMARY
 *	load the configuration, open the milter socket, drop privileges, serve
 * SYNOPSIS
 *	mailauthd [-c file]... [-n] [-f] [-v] [-V] [--print-config]
 * DESCRIPTION
 *	-c file	configuration (default SYSCONFDIR/mailauthd/mailauthd.conf
 *		when it exists, else the built-in defaults); given again,
 *		the files are read in turn (an opendkim.conf and an
 *		opendmarc.conf: config_compat.c)
 *	--print-config  print what the files set as a mailauthd.conf,
 *		with the keys ignored and why; exit
 *	-n	check the configuration: load it and build the engine (so
 *		resolver and zone-file errors show), report, exit
 *	-f	stay in the foreground and log to stderr (else: syslog and
 *		detach; the parent exits once the daemon serves or failed)
 *	-v	verbose: debug logging; with -n, print the configuration
 *	-V	print the version and exit
 *
 *	Start order: configuration, log sink, (detach), ma_spf_init() before
 *	any thread, engine, the metrics endpoint (MetricsListen; its thread
 *	started with the signals blocked; metrics_http.c), milter socket (a
 *	stale unix socket is removed, mode 0660), PidFile, UserID (only
 *	when started as root), then the milter server (mproto.c, our own
 *	protocol code, not libmilter). -n never starts the endpoint.
 *	SIGTERM and SIGINT stop gracefully; SIGHUP (and SIGUSR1, as OpenDKIM
 *	uses) reload the configuration and keys into a new engine snapshot:
 *	messages in flight finish with the old one, a broken configuration
 *	is logged and the old one stays. The server runs in its own thread;
 *	the main thread takes the signals (see serve()).
 *	SIGPIPE is ignored. Under systemd (Type=notify, NOTIFY_SOCKET set)
 *	READY=1 follows the start, RELOADING=1 and READY=1 frame each reload,
 *	STOPPING=1 a stop (notify.c).
 * MEMORY
 *	The configuration lives until exit (reload swaps it); the engine is
 *	owned by milter.c's current pointer and the sessions using it.
 * DIAGNOSTICS
 *	Exit status 0: success; 1: runtime failure (socket, privileges);
 *	2: configuration error. "starting"/"stopping" are logged at info.
 * THREADS
 *	Single-threaded until serve() starts the reload and milter threads;
 *	the main thread then only waits for signals.
 * SEE ALSO
 *	milter.c, cfg.h, mailauthd(8), mailauthd.conf(5)
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>


#include <mailauth/engine.h>
#include <mailauth/report.h>
#include <mailauth/log.h>
#include <mailauth/spf.h>

#include "cfg.h"
#include "ma_limits.h"
#include "metrics.h"
#include "milter.h"
#include "mproto.h"
#include "notify.h"

#define EXIT_RUNTIME	1
#define EXIT_CONFIG	2
#define DEFAULT_CONFIG	SYSCONFDIR "/mailauthd/mailauthd.conf"

struct opts {
	const char *config[MA_LIMIT_CONFIG_FILES];
	size_t	n_config;
	int	print_config;
	int	check;
	int	foreground;
	int	verbose;
};

static const char *const level_name[] = {
	"debug", "info", "warning", "error", "fatal", "panic"
};

static int ready_fd = -1;		/* pipe to the waiting parent */
static char *reload_paths[MA_LIMIT_CONFIG_FILES]; /* to reload (owned) */
static size_t n_reload_paths;

/* sink_stderr - log sink for the foreground */
static void
sink_stderr(enum ma_log_level level, const char *text, void *ctx)
{
	static long pid;		/* foreground: no fork after this */
	char	stamp[32];
	time_t	now = time(NULL);
	struct tm tm;
	long	p;

	(void) ctx;
	if ((p = __atomic_load_n(&pid, __ATOMIC_RELAXED)) == 0) {
		p = (long) getpid();	/* a system call a line otherwise */
		__atomic_store_n(&pid, p, __ATOMIC_RELAXED);
	}
	if (localtime_r(&now, &tm) == NULL
	    || strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm) == 0)
		stamp[0] = '\0';
	fprintf(stderr, "%s mailauthd[%ld]: %s: %s\n", stamp, p,
		level_name[level], text);
}

/* sink_syslog - log sink for the daemon */
static void
sink_syslog(enum ma_log_level level, const char *text, void *ctx)
{
	static const int prio[] = {
		LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR, LOG_CRIT, LOG_ALERT
	};

	(void) ctx;
	syslog(prio[level], "%s", text);
}

/* usage - the synopsis, exit 2 */
static void
usage(void)
{
	fprintf(stderr, "usage: mailauthd [-c file]... [-n] [-f] [-v] [-V] "
		"[--print-config]\n");
	exit(EXIT_CONFIG);
}

/* parse_args - command line to struct opts */
static void
parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{"print-config", no_argument, NULL, 'P'},
		{NULL, 0, NULL, 0}
	};
	int	ch;

	memset(o, 0, sizeof(*o));
	while ((ch = getopt_long(argc, argv, "c:nfvV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			if (o->n_config >= MA_LIMIT_CONFIG_FILES) {
				fprintf(stderr, "mailauthd: at most %d -c files\n",
					MA_LIMIT_CONFIG_FILES);
				exit(EXIT_CONFIG);
			}
			o->config[o->n_config++] = optarg;
			break;
		case 'P':
			o->print_config = 1;
			break;
		case 'n':
			o->check = 1;
			break;
		case 'f':
			o->foreground = 1;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'V':
			printf("mailauthd %s\n", PACKAGE_VERSION);
			exit(0);
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
}

/* load_config - the files named, the default file, or defaults */
static struct ma_config *
load_config(const char *const *paths, size_t n, char *err, size_t errlen)
{
	static const char *const def[] = {DEFAULT_CONFIG};
	struct ma_config *c = NULL;
	enum ma_status st;

	if (n == 0 && access(DEFAULT_CONFIG, F_OK) == 0) {
		paths = def;
		n = 1;
	}
	st = ma_config_load_files(paths, n, &c, err, errlen);
	if (st != MA_OK) {
		if (err[0] == '\0')
			snprintf(err, errlen, "%s: %s",
				 n > 0 ? paths[0] : "defaults", ma_status_str(st));
		return (NULL);
	}
	return (c);
}

/* print_notes - the keys a file set that mean nothing here, and why */
static void
print_notes(const struct ma_config *c, FILE *fp)
{
	const char *const *n = ma_config_notes(c);

	for (; n != NULL && *n != NULL; n++)
		fprintf(fp, "mailauthd: note: %s\n", *n);
}

/* check_only - the -n check: load, build, report; exit status */
static int
check_only(const struct opts *o)
{
	char	err[512] = "";
	struct ma_config *c;
	struct ma_engine *e = NULL;

	if ((c = load_config(o->config, o->n_config, err, sizeof(err))) == NULL) {
		fprintf(stderr, "mailauthd: configuration error: %s\n", err);
		return (EXIT_CONFIG);
	}
	if (o->print_config) {
		ma_config_print_native(c, stdout);
		ma_config_free(&c);
		return (0);
	}
	print_notes(c, stdout);
	ma_spf_init();
	if (ma_config_build_engine(c, &e, err, sizeof(err)) != MA_OK) {
		fprintf(stderr, "mailauthd: %s: %s\n",
			c->path ? c->path : "defaults", err);
		ma_config_free(&c);
		return (EXIT_CONFIG);
	}
	if (o->verbose)
		ma_config_print(c, stdout);
	printf("mailauthd: configuration %s OK\n",
	       c->path ? c->path : "(built-in defaults)");
	ma_engine_unref(&e);
	ma_config_free(&c);
	return (0);
}

/*
 * fatal - report a startup failure (to the log and, while detaching, to
 * the waiting parent) and exit with status
 */
static void fatal(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

static void
fatal(int status, const char *fmt, ...)
{
	char	text[600];
	va_list	ap;
	unsigned char code = (unsigned char) status;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	ma_log(MA_LOG_FATAL, "%s", text);
	if (ready_fd >= 0) {
		if (write(ready_fd, &code, 1) == 1
		    && write(ready_fd, text, strlen(text)) < 0)
			code = 0;	/* the parent reports a bare status */
		close(ready_fd);
	}
	exit(status);
}

/*
 * detach - fork; the parent waits until the child reports readiness
 * (one status byte, then a message) or dies, and exits with its status
 */
static void
detach(void)
{
	int	fds[2];
	pid_t	pid;
	unsigned char code;
	char	text[600];
	ssize_t	n;

	if (pipe(fds) < 0) {
		perror("mailauthd: pipe");
		exit(EXIT_RUNTIME);
	}
	if ((pid = fork()) < 0) {
		perror("mailauthd: fork");
		exit(EXIT_RUNTIME);
	}
	if (pid > 0) {
		close(fds[1]);
		if (read(fds[0], &code, 1) != 1) {
			fprintf(stderr, "mailauthd: daemon exited during "
				"startup; see the mail log\n");
			_exit(EXIT_RUNTIME);
		}
		if (code != 0) {
			n = read(fds[0], text, sizeof(text) - 1);
			text[n > 0 ? n : 0] = '\0';
			fprintf(stderr, "mailauthd: %s\n", text);
		}
		_exit(code);
	}
	close(fds[0]);
	ready_fd = fds[1];
	if (setsid() < 0)
		fatal(EXIT_RUNTIME, "setsid: %s", strerror(errno));
}

/* detach_done - startup succeeded: release the parent, close stdio */
static void
detach_done(void)
{
	unsigned char ok = 0;
	int	fd;

	if (ready_fd < 0)
		return;
	if (write(ready_fd, &ok, 1) != 1)
		ma_log(MA_LOG_WARN, "cannot release the parent: %s",
		       strerror(errno));
	close(ready_fd);
	ready_fd = -1;
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		if (dup2(fd, STDIN_FILENO) < 0 || dup2(fd, STDOUT_FILENO) < 0
		    || dup2(fd, STDERR_FILENO) < 0)
			ma_log(MA_LOG_WARN, "dup2: %s", strerror(errno));
		if (fd > STDERR_FILENO)
			close(fd);
	}
}

/* unix_path - the path of a unix-domain socket spec, or NULL */
static const char *
unix_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return (spec + 5);
	if (strncmp(spec, "local:", 6) == 0)
		return (spec + 6);
	if (spec[0] == '/')
		return (spec);
	return (NULL);
}

/* lookup_user - "user[:group]" to uid and gid */
static int
lookup_user(const char *spec, uid_t *uid, gid_t *gid, char *name,
	    size_t namelen)
{
	const char *colon = strchr(spec, ':');
	size_t	len = colon ? (size_t) (colon - spec) : strlen(spec);
	struct passwd *pw;
	struct group *gr;

	if (len == 0 || len >= namelen)
		return (-1);
	memcpy(name, spec, len);
	name[len] = '\0';
	if ((pw = getpwnam(name)) == NULL)
		return (-1);
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (colon != NULL) {
		if ((gr = getgrnam(colon + 1)) == NULL)
			return (-1);
		*gid = gr->gr_gid;
	}
	return (0);
}

/* drop_privileges - become UserID; only when running as root */
static void
drop_privileges(const char *user_id, const char *sock_path)
{
	char	name[256];
	uid_t	uid;
	gid_t	gid;

	if (user_id == NULL || geteuid() != 0)
		return;
	if (lookup_user(user_id, &uid, &gid, name, sizeof(name)) < 0)
		fatal(EXIT_CONFIG, "UserID %s: no such user or group", user_id);
	if (sock_path != NULL && chown(sock_path, uid, gid) < 0)
		fatal(EXIT_RUNTIME, "chown %s: %s", sock_path, strerror(errno));
	if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
		fatal(EXIT_RUNTIME, "cannot become %s: %s", user_id,
		      strerror(errno));
	if (uid != 0 && setuid(0) == 0)
		fatal(EXIT_RUNTIME, "privileges could not be dropped");
}

/*
 * state_dir - make the directory of a history or spool path exist (mode
 * 0750) and, when started as root with a UserID, belong to that user, so
 * that the daemon can create its files there after dropping privileges.
 */
static void
state_dir(const char *path, const char *user_id)
{
	char	dir[4096], name[256];
	char   *slash;
	uid_t	uid;
	gid_t	gid;
	size_t	i;

	if (path == NULL || strlen(path) >= sizeof(dir))
		return;
	memcpy(dir, path, strlen(path) + 1);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return;
	*slash = '\0';
	for (i = 1; dir[i] != '\0'; i++)	/* mkdir -p */
		if (dir[i] == '/') {
			dir[i] = '\0';
			(void) mkdir(dir, 0755);
			dir[i] = '/';
		}
	if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
		ma_log(MA_LOG_WARN, "cannot create %s: %s", dir, strerror(errno));
		return;
	}
	if (user_id != NULL && geteuid() == 0
	    && lookup_user(user_id, &uid, &gid, name, sizeof(name)) == 0
	    && chown(dir, uid, gid) < 0)
		ma_log(MA_LOG_WARN, "chown %s: %s", dir, strerror(errno));
}

/*
 * open_history - the DMARC history store (after the privilege drop, so
 * its files belong to UserID). A store that cannot be opened is logged
 * and the daemon goes on without history: mail must flow.
 */
static struct ma_report_store *
open_history(const struct ma_config *cfg)
{
	struct ma_report_store_options o;
	struct ma_report_store *s = NULL;
	char	err[512] = "";

	if (!cfg->report_history)
		return (NULL);
	memset(&o, 0, sizeof(o));
	o.database = cfg->report_database;
	o.spool_path = cfg->report_spool;
	o.queue_rows = cfg->report_queue_rows;
	o.writer_thread = 1;
	if (ma_report_store_open(&o, &s, err, sizeof(err)) != MA_OK) {
		ma_log(MA_LOG_ERROR, "DMARC history disabled: %s", err);
		return (NULL);
	}
	return (s);
}

/* write_pidfile - the daemon's pid; refuse to follow a symlink */
static void
write_pidfile(const char *path)
{
	int	fd;
	char	buf[32];
	int	n;

	if (path == NULL)
		return;
	(void) unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0644);
	if (fd < 0)
		fatal(EXIT_RUNTIME, "PidFile %s: %s", path, strerror(errno));
	n = snprintf(buf, sizeof(buf), "%ld\n", (long) getpid());
	if (fchmod(fd, 0644) < 0 || write(fd, buf, (size_t) n) != n
	    || close(fd) < 0)
		fatal(EXIT_RUNTIME, "PidFile %s: %s", path, strerror(errno));
}

/* reload - new configuration and engine (0), or the old serves on (-1) */
static int
reload(void)
{
	char	err[512] = "";
	struct ma_config *c;
	struct ma_engine *e = NULL;
	enum ma_config_part part;

	if ((c = load_config((const char *const *) reload_paths,
			     n_reload_paths, err, sizeof(err))) == NULL) {
		ma_log(MA_LOG_ERROR, "reload: configuration error: %s; "
		       "keeping the running configuration", err);
		ma_metrics_reload(0);
		return (-1);
	}
	if (ma_config_build_engine_part(c, &e, &part, err, sizeof(err))
	    != MA_OK) {
		ma_log(MA_LOG_ERROR, "reload: %s; keeping the running "
		       "configuration", err);
		ma_config_free(&c);
		if (part == MA_CONFIG_PART_KEYS)
			ma_metrics_key_error();
		ma_metrics_reload(0);
		return (-1);
	}
	ma_milter_set_engine(e, c->policy.on_error);
	ma_milter_set_log_json(c->log_json);
	ma_engine_unref(&e);
	ma_log(MA_LOG_INFO, "reloaded %s", c->path ? c->path :
	       "built-in defaults");
	ma_config_free(&c);
	ma_metrics_reload(1);
	return (0);
}

/*
 * Signals. The milter server (mproto.c) runs in its own thread and the
 * main thread waits for the signals: SIGHUP/SIGUSR1 hand a reload to the
 * reload thread, so the main thread is back in sigtimedwait() at once;
 * SIGTERM/SIGINT stop the server (messages in flight finish).
 */
static pthread_mutex_t reload_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reload_cond = PTHREAD_COND_INITIALIZER;
static int reload_wanted;
static volatile int milter_done;
static int milter_rc = -1;
static struct ma_mserver *server;

/* reload_thread - run reloads asked for by the main thread */
static void *
reload_thread(void *arg)
{
	(void) arg;
	for (;;) {
		pthread_mutex_lock(&reload_lock);
		while (!reload_wanted)
			pthread_cond_wait(&reload_cond, &reload_lock);
		reload_wanted = 0;
		pthread_mutex_unlock(&reload_lock);
		ma_notify_reloading();
		ma_notify_ready("%s", reload() == 0 ? "serving; reloaded" :
				"serving; reload failed, configuration kept");
	}
	return (NULL);
}

/* milter_thread - the milter server */
static void *
milter_thread(void *arg)
{
	(void) arg;
	milter_rc = ma_mserver_run(server, ma_milter_handler());
	milter_done = 1;
	return (NULL);
}

/* signal_set - the signals the main thread handles */
static void
signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
}

/*
 * serve - block the signals (every thread inherits the mask), start the
 * reload and milter threads, then wait: SIGHUP/SIGUSR1 reload, SIGTERM/
 * SIGINT stop gracefully (messages in progress finish).
 */
static int
serve(void)
{
	struct timespec tick = {1, 0};
	pthread_t rt, mt;
	sigset_t set;
	int	sig;

	signal_set(&set);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0
	    || pthread_create(&rt, NULL, reload_thread, NULL) != 0)
		fatal(EXIT_RUNTIME, "cannot start the reload thread");
	(void) pthread_detach(rt);
	if (pthread_create(&mt, NULL, milter_thread, NULL) != 0)
		fatal(EXIT_RUNTIME, "cannot start the milter thread");
	while (!milter_done) {
		sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGHUP || sig == SIGUSR1) {
			ma_log(MA_LOG_INFO, "signal %d: reloading", sig);
			pthread_mutex_lock(&reload_lock);
			reload_wanted = 1;
			pthread_cond_signal(&reload_cond);
			pthread_mutex_unlock(&reload_lock);
		} else if (sig == SIGTERM || sig == SIGINT) {
			ma_log(MA_LOG_INFO, "signal %d: stopping", sig);
			ma_notify_stopping();
			ma_mserver_stop(server);
		}
	}
	(void) pthread_join(mt, NULL);
	return (milter_rc);
}

/*
 * raise_nofile - one descriptor per milter connection: the soft limit
 * (Debian: 1024) would cap connections far below the server's thread
 * limit, so raise it towards MA_MPROTO_CONNS_MAX plus a margin, as far
 * as the hard limit allows.
 */
static void
raise_nofile(void)
{
	struct rlimit rl;
	rlim_t	want = MA_MPROTO_CONNS_MAX + 256;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ?
	    rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
		ma_log(MA_LOG_WARN, "open files limited to %lu: at most about "
		       "%lu milter connections at once", (unsigned long)
		       rl.rlim_cur, (unsigned long) rl.rlim_cur - 64);
}

/* main - start, serve, stop */
int
main(int argc, char **argv)
{
	struct opts o;
	struct ma_config *cfg;
	struct ma_engine *engine = NULL;
	struct ma_report_store *history = NULL;
	struct ma_metrics_http *metrics = NULL;
	char	err[512] = "";
	const char *sock_path;
	int	rc;

	parse_args(argc, argv, &o);
	if (o.check || o.print_config)
		return (check_only(&o));
	if ((cfg = load_config(o.config, o.n_config, err, sizeof(err))) == NULL) {
		fprintf(stderr, "mailauthd: configuration error: %s\n", err);
		return (EXIT_CONFIG);
	}
	/* absolute copies: the daemon moves to / and frees cfg at exit */
	for (; cfg->paths != NULL && cfg->paths[n_reload_paths] != NULL;
	     n_reload_paths++) {
		const char *p = cfg->paths[n_reload_paths];
		char  **slot = &reload_paths[n_reload_paths];

		if ((*slot = realpath(p, NULL)) == NULL
		    && (*slot = strdup(p)) == NULL) {
			fprintf(stderr, "mailauthd: out of memory\n");
			return (EXIT_RUNTIME);
		}
	}
	if (o.foreground) {
		ma_log_set_sink(sink_stderr, NULL,
				o.verbose || cfg->log_why ? MA_LOG_DEBUG :
				MA_LOG_INFO);
	} else {
		openlog("mailauthd", LOG_PID | LOG_NDELAY,
			cfg->syslog_facility);
		ma_log_set_sink(sink_syslog, NULL,
				o.verbose || cfg->log_why ? MA_LOG_DEBUG :
				MA_LOG_INFO);
		detach();
	}
	{
		const char *const *n = ma_config_notes(cfg);

		for (; n != NULL && *n != NULL; n++)
			ma_log(MA_LOG_INFO, "configuration note: %s", *n);
	}
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	/* before any thread exists (resolver, history writer): every thread
	 * inherits the mask, so only the main thread takes these signals */
	{
		sigset_t set;

		signal_set(&set);
		(void) pthread_sigmask(SIG_BLOCK, &set, NULL);
	}
	ma_spf_init();

	if (ma_config_build_engine(cfg, &engine, err, sizeof(err)) != MA_OK)
		fatal(EXIT_CONFIG, "%s: %s", cfg->path ? cfg->path : "defaults",
		      err);
	ma_milter_set_engine(engine, cfg->policy.on_error);
	ma_milter_set_log_json(cfg->log_json);
	ma_engine_unref(&engine);

	/* before the milter socket: a port in use leaves nothing behind */
	if (cfg->metrics_listen != NULL
	    && ma_metrics_http_start(cfg->metrics_listen, &metrics, err,
				     sizeof(err)) != MA_OK)
		fatal(EXIT_RUNTIME, "cannot serve metrics (MetricsListen): %s",
		      err);
	sock_path = unix_path(cfg->socket);
	(void) umask(007);
	if (ma_mserver_open(cfg->socket, &server, err, sizeof(err)) != MA_OK)
		fatal(EXIT_RUNTIME, "cannot open milter socket: %s", err);
	if (sock_path != NULL && chmod(sock_path, 0660) < 0)
		fatal(EXIT_RUNTIME, "chmod %s: %s", sock_path, strerror(errno));
	write_pidfile(cfg->pid_file);
	if (cfg->report_history) {
		if (strncmp(cfg->report_database, "sqlite:", 7) == 0)
			state_dir(cfg->report_database + 7, cfg->user_id);
		state_dir(cfg->report_spool, cfg->user_id);
	}
	drop_privileges(cfg->user_id, sock_path);
	history = open_history(cfg);
	ma_milter_set_report_store(history);
	ma_metrics_set_report_store(history);
	if (chdir("/") < 0)
		fatal(EXIT_RUNTIME, "chdir /: %s", strerror(errno));

	ma_log(MA_LOG_INFO, "starting mailauthd %s on %s", PACKAGE_VERSION,
	       cfg->socket);
	detach_done();
	ma_notify_ready("serving on %s", cfg->socket);
	rc = serve();
	ma_log(MA_LOG_INFO, "stopping mailauthd %s", PACKAGE_VERSION);
	ma_metrics_http_stop(&metrics);
	ma_metrics_set_report_store(NULL);
	ma_mserver_close(&server);
	if (rc != 0) {
		/* connections still busy: leave them their engine and store */
		if (cfg->pid_file != NULL)
			(void) unlink(cfg->pid_file);
		return (EXIT_RUNTIME);
	}
	ma_milter_set_engine(NULL, MA_ACTION_TEMPFAIL);
	ma_milter_set_report_store(NULL);
	ma_report_store_close(&history);
	if (cfg->pid_file != NULL)
		(void) unlink(cfg->pid_file);
	ma_config_free(&cfg);
	return (0);
}
