/*
 * NAME
 *	cfg.h - mailauthd configuration: file -> struct ma_config
 * DESCRIPTION
 *	"Key value" lines, '#' comments, keys case-insensitive. The key table
 *	{name, type, default, check} in config.c is the only list of keys;
 *	unknown keys are errors. A loaded configuration is immutable.
 */
#ifndef MAILAUTH_CONFIG_H
#define MAILAUTH_CONFIG_H

#include <stddef.h>
#include <stdio.h>
#include <mailauth/status.h>
#include <mailauth/engine.h>

#define MA_DEFAULT_SOCKET	"inet:8891@127.0.0.1"

struct ma_config {
	char   *path;			/* first file loaded, or NULL: defaults */
	char  **paths;			/* every file given, NULL-terminated */
	char   *socket;			/* Socket (milter socket spec) */
	char   *pid_file;		/* PidFile or NULL */
	char   *user_id;		/* UserID or NULL */
	int	syslog_facility;	/* SyslogFacility (LOG_MAIL) */
	int	log_why;		/* LogWhy: debug lines */
	int	log_json;		/* LogFormat json: one JSON object a line */
	char   *metrics_listen;		/* MetricsListen ADDR:PORT or NULL */
	char  **nameservers;		/* Nameservers; NULL-terminated or NULL */
	unsigned dns_timeout_ms;	/* DNSTimeout (seconds in the file) */
	unsigned dns_cache_entries;	/* DNSCacheSize */
	char  **zone_files;		/* DNSZoneFile (repeatable); NULL-terminated */
	int	dns_offline;		/* DNSOffline */
	char   *trust_anchor_file;	/* TrustAnchorFile */
	char   *key_table;		/* KeyTable */
	char   *signing_table;		/* SigningTable */
	char   *sign_domain;		/* Domain (single-key form) */
	char   *sign_selector;		/* Selector */
	char   *key_file;		/* KeyFile */
	int	require_safe_keys;	/* RequireSafeKeys */
	char   *report_database;	/* ReportDatabase: sqlite:PATH, postgresql://... */
	char   *report_spool;		/* ReportSpool: rows waiting for the database */
	unsigned report_queue_rows;	/* ReportQueueRows */
	char   *report_org_name;	/* ReportOrgName */
	char   *report_email;		/* ReportEmail */
	char   *report_relay;		/* ReportRelay host:port */
	char   *report_sendmail;	/* ReportSendmail command path, or NULL */
	unsigned report_max_bytes;	/* ReportMaxBytes */
	char  **report_suppress;	/* ReportSuppress domains */
	int	report_history;		/* ReportHistory: record evaluations */
	struct ma_policy_config policy;	/* what the engine needs */
};

/* ma_config_new_defaults - configuration with every default */
enum ma_status ma_config_new_defaults(struct ma_config **out, char *err,
				      size_t errlen);

/* ma_config_load - defaults, then the file; errors name file:line */
enum ma_status ma_config_load(const char *path, struct ma_config **out,
			      char *err, size_t errlen);

/*
 * ma_config_load_files - defaults, then each file in order: our keys and
 * opendkim.conf/opendmarc.conf keys (config_compat.c); a key set by an
 * earlier file stays (a note says so); repeatable keys add up
 */
enum ma_status ma_config_load_files(const char *const *paths, size_t n_paths,
				    struct ma_config **out, char *err,
				    size_t errlen);

/* ma_config_notes - "file:line: Key ignored: why" lines; NULL-terminated */
const char *const *ma_config_notes(const struct ma_config *c);

/* ma_config_print_native - what the files set, as a mailauthd.conf */
void	ma_config_print_native(const struct ma_config *c, FILE *fp);

/* ma_config_set - set one key (file lines and command-line overrides) */
enum ma_status ma_config_set(struct ma_config *c, const char *key,
			     const char *value, char *err, size_t errlen);

/*
 * ma_config_build_engine - resolver (nameservers, zone files) and engine
 * for this configuration. The engine copies what it needs; the
 * configuration may be freed afterwards.
 */
enum ma_status ma_config_build_engine(const struct ma_config *c,
				      struct ma_engine **out, char *err,
				      size_t errlen);

/* The part of ma_config_build_engine_part() that failed (NONE: success). */
enum ma_config_part {
	MA_CONFIG_PART_NONE, MA_CONFIG_PART_DNS, MA_CONFIG_PART_ZONES,
	MA_CONFIG_PART_KEYS, MA_CONFIG_PART_ENGINE
};

/* ma_config_build_engine_part - as above; *part_out (may be NULL) says
 * which part failed */
enum ma_status ma_config_build_engine_part(const struct ma_config *c,
					   struct ma_engine **out,
					   enum ma_config_part *part_out,
					   char *err, size_t errlen);

/* ma_config_load_keys - key store for KeyTable/SigningTable or Domain/Selector/KeyFile; NULL when none */
struct ma_keystore;
enum ma_status ma_config_load_keys(const struct ma_config *c,
				   struct ma_keystore **out, char *err,
				   size_t errlen);

/* ma_config_free - free, clear *cp; takes NULL */
void	ma_config_free(struct ma_config **cp);

/* ma_config_split_listen - "ADDR:PORT"/"[ADDR6]:PORT" (MetricsListen) */
int	ma_config_split_listen(const char *s, char *addr, size_t size,
			       const char **port);

/* ma_config_print - every key with its value, as a config file (-n -v) */
void	ma_config_print(const struct ma_config *c, FILE *fp);

/* ma_config_print_man - roff list of every key (mailauthd.conf(5)) */
void	ma_config_print_man(FILE *fp);

#endif
