/*
 * NAME
 *	config - mailauthd configuration file to struct ma_config
 * SYNOPSIS
 *	#include "config.h"
 * DESCRIPTION
 *	"Key value" lines; '#' starts a comment at the start of a line or
 *	after white space; keys are case-insensitive; the value is the rest
 *	of the line, trimmed. The key table below is the only list of keys:
 *	each entry has a name, a type, a default and a setter that checks
 *	the value. Unknown keys, bad values and a key given twice (except
 *	the repeatable ones) are errors naming file:line. Everything is
 *	checked at load (and by mailauthd -n), never on the message path.
 * MEMORY
 *	struct ma_config owns its strings; ma_config_free releases them.
 * LIMITS
 *	MA_LIMIT_CONFIG_LINE bytes per line, MA_LIMIT_CONFIG_LIST entries
 *	per list.
 * DIAGNOSTICS
 *	MA_ERR_SYNTAX/IO/LIMIT with the reason in err.
 * THREADS
 *	Load before serving; a loaded configuration is read-only.
 * SEE ALSO
 *	mailauthd.conf(5)
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include <mailauth/dns.h>
#include <mailauth/sign.h>
#include <mailauth/log.h>
#include <mailauth/sign.h>
#include "cfg.h"
#include "ma_limits.h"

enum key_type { T_STR, T_BOOL, T_UINT, T_MSEC, T_LIST, T_REPEAT, T_CIDRS,
	T_ACTION, T_FACILITY };

struct key {
	const char *name;
	enum key_type type;
	const char *def;		/* default as text, NULL: unset */
	const char *help;		/* one line for the man page and -n -v */
	unsigned max;			/* T_UINT/T_MSEC upper bound */
};

/*
 * The key table. Order = order of mailauthd.conf(5) and of -n -v output.
 */
static const struct key keys[] = {
	{"Socket", T_STR, MA_DEFAULT_SOCKET,
	 "milter socket: inet:PORT@ADDR, inet6:PORT@ADDR or unix:PATH", 0},
	{"PidFile", T_STR, NULL, "write the process id to this file", 0},
	{"UserID", T_STR, NULL,
	 "user[:group] to switch to after opening the socket", 0},
	{"SyslogFacility", T_FACILITY, "mail", "syslog facility", 0},
	{"LogWhy", T_BOOL, "no", "log debug detail", 0},
	{"LogFormat", T_STR, "kv",
	 "per-message log lines: kv (key=value words) or json", 0},
	{"MetricsListen", T_STR, NULL,
	 "serve Prometheus metrics over HTTP on ADDR:PORT "
	 "(e.g. 127.0.0.1:9816; [::1]:9816); unset: no endpoint", 0},
	{"AuthservID", T_STR, NULL,
	 "authserv-id of our Authentication-Results (default: host name)", 0},
	{"Hostname", T_STR, NULL,
	 "this host's name for SPF %{r} (default: host name)", 0},
	{"Nameservers", T_LIST, NULL,
	 "resolvers as addr[@port], comma separated (default: resolv.conf)", 0},
	{"DNSTimeout", T_MSEC, "5", "seconds per DNS query (suffix ms allowed)",
	 600000},
	{"DNSZoneFile", T_REPEAT, NULL,
	 "local zone data (name TTL IN TYPE rdata lines), repeatable", 0},
	{"DNSOffline", T_BOOL, "no",
	 "answer only from DNSZoneFile data, never the network", 0},
	{"TrustAnchorFile", T_STR, NULL, "DNSSEC trust anchor file", 0},
	{"DNSQueryBudget", T_UINT, "64", "DNS queries allowed per message",
	 10000},
	{"DNSCacheSize", T_UINT, "10000",
	 "DNS answers kept in the process for their TTL (at most an hour); "
	 "0: none", 1000000},
	{"MessageDNSTimeout", T_MSEC, "30",
	 "seconds of DNS time allowed per message", 3600000},
	{"RejectFailures", T_BOOL, "yes",
	 "act on DMARC reject/quarantine (no: monitor, log only)", 0},
	{"TemperrorAction", T_ACTION, "accept",
	 "DMARC temperror: accept (and mark) or tempfail", 0},
	{"InternalErrorAction", T_ACTION, "tempfail",
	 "when a message cannot be judged: tempfail, accept or reject", 0},
	{"InternalHosts", T_CIDRS, "127.0.0.0/8, ::1",
	 "clients whose mail is outbound (CIDR list or file:PATH)", 0},
	{"AuthenticatedClientsInternal", T_BOOL, "yes",
	 "SMTP-authenticated sessions are outbound", 0},
	{"SPFCheckHELO", T_BOOL, "yes", "also check the HELO identity", 0},
	{"RemoveForgedAuthResults", T_BOOL, "yes",
	 "delete Authentication-Results fields carrying our AuthservID", 0},
	{"MinimumKeyBits", T_UINT, "1024",
	 "smallest RSA key accepted (RFC 8301: 1024)", 16384},
	{"AllowSHA1", T_BOOL, "no", "accept rsa-sha1 signatures (RFC 8301: no)", 0},
	{"MaxSignatures", T_UINT, "10", "DKIM signatures evaluated per message",
	 100},
	{"KeyTable", T_STR, NULL,
	 "OpenDKIM-format key table: keyname domain:selector:keyfile", 0},
	{"SigningTable", T_STR, NULL,
	 "OpenDKIM-format signing table: file:PATH or refile:PATH", 0},
	{"Domain", T_STR, NULL,
	 "single-key form: domains signed with KeyFile (comma list)", 0},
	{"Selector", T_STR, NULL, "single-key form: the selector", 0},
	{"KeyFile", T_STR, NULL, "single-key form: PEM private key file", 0},
	{"RequireSafeKeys", T_BOOL, "yes",
	 "refuse key files that group or others can read", 0},
	{"SigningDaemons", T_LIST, NULL,
	 "MTA {daemon_name} values whose mail is outbound (e.g. ORIGINATING)", 0},
	{"Canonicalization", T_STR, "relaxed/relaxed",
	 "c= of our signatures: header/body, each simple or relaxed", 0},
	{"SignHeaders", T_LIST, NULL,
	 "fields to sign (default: RFC 6376 5.4.1 recommended set)", 0},
	{"OversignHeaders", T_LIST, "From",
	 "fields signed once more than present, so none can be added", 0},
	{"SignatureTTL", T_UINT, "0",
	 "seconds until our signatures expire (x=); 0: no x=", 315360000},
	{"ReportHistory", T_BOOL, "yes",
	 "record every DMARC evaluation for aggregate reports", 0},
	{"ReportDatabase", T_STR, "sqlite:" LOCALSTATEDIR "/lib/mailauthd/history.db",
	 "DMARC history: sqlite:PATH or postgresql://user@host/db", 0},
	{"ReportSpool", T_STR, LOCALSTATEDIR "/lib/mailauthd/history.spool",
	 "rows kept here while the database is unreachable", 0},
	{"ReportQueueRows", T_UINT, "10000",
	 "rows queued in memory before spooling", 10000000},
	{"ReportOrgName", T_STR, NULL,
	 "org_name of our aggregate reports (default: host name)", 0},
	{"ReportEmail", T_STR, NULL,
	 "From of our reports (default: postmaster@host name)", 0},
	{"ReportRelay", T_STR, "127.0.0.1:25", "SMTP relay host:port for reports", 0},
	{"ReportSendmail", T_STR, NULL,
	 "send reports with this sendmail command instead of SMTP", 0},
	{"ReportMaxBytes", T_UINT, "10485760",
	 "largest compressed report sent", 1073741824},
	{"ReportSuppress", T_LIST, NULL, "domains never sent reports", 0},
};

#define N_KEYS	(sizeof(keys) / sizeof(keys[0]))
#define CONFIG_FILE_MAX	(1024 * 1024)

/* per-configuration state behind struct ma_config */
struct config_priv {
	struct ma_config pub;
	char   *raw[N_KEYS];		/* effective value text */
	int	seen[N_KEYS];		/* set from the file */
};

#define PRIV(c)	((struct config_priv *) (c))

/* find_key - table index of a key name, or -1 */
static int
find_key(const char *name)
{
	size_t	i;

	for (i = 0; i < N_KEYS; i++)
		if (strcasecmp(keys[i].name, name) == 0)
			return ((int) i);
	return (-1);
}

/* parse_uint - range-checked unsigned decimal */
static int
parse_uint(const char *s, unsigned max, unsigned *out)
{
	unsigned long v;
	char   *end;

	if (!isdigit((unsigned char) *s))
		return (-1);
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return (-1);
	*out = (unsigned) v;
	return (0);
}

/* parse_msec - "N" seconds or "Nms" milliseconds */
static int
parse_msec(const char *s, unsigned max, unsigned *out)
{
	char	num[32];
	size_t	n = strspn(s, "0123456789");
	unsigned v;
	unsigned long long ms;

	if (n == 0 || n >= sizeof(num))
		return (-1);
	memcpy(num, s, n);
	num[n] = '\0';
	if (parse_uint(num, UINT_MAX, &v) < 0)
		return (-1);
	if (strcmp(s + n, "ms") == 0)
		ms = v;
	else if (s[n] == '\0' || strcmp(s + n, "s") == 0)
		ms = (unsigned long long) v * 1000;
	else
		return (-1);
	if (ms > max)
		return (-1);
	*out = (unsigned) ms;
	return (0);
}

/* parse_bool - yes/no words */
static int
parse_bool(const char *s, int *out)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};
	size_t	i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return (*out = 1, 0);
		if (strcasecmp(s, no[i]) == 0)
			return (*out = 0, 0);
	}
	return (-1);
}

/* split_list - comma/space separated words into a NULL-terminated vector */
static char **
split_list(const char *s, size_t *n_out)
{
	char  **v = NULL, **nv;
	size_t	n = 0, len;
	const char *p = s;

	for (;;) {
		p += strspn(p, ", \t");
		if (*p == '\0')
			break;
		len = strcspn(p, ", \t");
		if (n >= MA_LIMIT_CONFIG_LIST
		    || (nv = realloc(v, (n + 2) * sizeof(*v))) == NULL)
			goto fail;
		v = nv;
		if ((v[n] = strndup(p, len)) == NULL)
			goto fail;
		v[++n] = NULL;
		p += len;
	}
	*n_out = n;
	if (v == NULL)
		v = calloc(1, sizeof(*v));
	return (v);
fail:
	while (n > 0)
		free(v[--n]);
	free(v);
	return (NULL);
}

/* free_vec - free a NULL-terminated vector */
static void
free_vec(char ***vp)
{
	char  **v = *vp;
	size_t	i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
	*vp = NULL;
}

/* load_cidrs - InternalHosts from a list or file:PATH */
static int
load_cidrs(struct ma_cidr_list *l, const char *value, char *err, size_t errlen)
{
	char  **v;
	size_t	n, i;
	int	rc = 0;

	ma_cidr_list_clear(l);
	if (strncmp(value, "file:", 5) == 0 || value[0] == '/') {
		const char *path = value[0] == '/' ? value : value + 5;
		FILE   *fp = fopen(path, "r");
		char	line[512];
		unsigned lineno = 0;

		if (fp == NULL) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return (-1);
		}
		while (fgets(line, sizeof(line), fp) != NULL) {
			char   *p = line, *e;

			lineno++;
			p += strspn(p, " \t");
			if ((e = strpbrk(p, "#\r\n")) != NULL)
				*e = '\0';
			for (e = p + strlen(p); e > p && isspace((unsigned char) e[-1]); e--)
				e[-1] = '\0';
			if (*p == '\0')
				continue;
			if (ma_cidr_list_add(l, p) != MA_OK) {
				snprintf(err, errlen, "%s:%u: bad address or network \"%.64s\"",
					 path, lineno, p);
				rc = -1;
				break;
			}
		}
		fclose(fp);
		return (rc);
	}
	if ((v = split_list(value, &n)) == NULL) {
		snprintf(err, errlen, "list too long or out of memory");
		return (-1);
	}
	for (i = 0; i < n; i++)
		if (ma_cidr_list_add(l, v[i]) != MA_OK) {
			snprintf(err, errlen, "bad address or network \"%.64s\"", v[i]);
			rc = -1;
			break;
		}
	free_vec(&v);
	return (rc);
}

/* parse_action - accept/tempfail/reject */
static int
parse_action(const char *s, enum ma_action *out)
{
	if (strcasecmp(s, "accept") == 0)
		*out = MA_ACTION_ACCEPT;
	else if (strcasecmp(s, "tempfail") == 0)
		*out = MA_ACTION_TEMPFAIL;
	else if (strcasecmp(s, "reject") == 0)
		*out = MA_ACTION_REJECT;
	else
		return (-1);
	return (0);
}

/* parse_listen - "ADDR:PORT" or "[ADDR6]:PORT", numeric address */
static int
parse_listen(const char *s)
{
	const char *colon;
	unsigned port;
	char	addr[64];
	size_t	alen;
	struct ma_ip ip;

	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			return (-1);
		alen = (size_t) (close - s - 1);
		s++;
		colon = close + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return (-1);
		alen = (size_t) (colon - s);
	}
	if (alen == 0 || alen >= sizeof(addr))
		return (-1);
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (ma_ip_parse(addr, &ip) != MA_OK)
		return (-1);
	if (parse_uint(colon + 1, 65535, &port) < 0 || port == 0)
		return (-1);
	return (0);
}

/* parse_facility - syslog facility name */
static int
parse_facility(const char *s, int *out)
{
	static const struct {
		const char *name;
		int	fac;
	} f[] = {
		{"mail", LOG_MAIL}, {"daemon", LOG_DAEMON}, {"user", LOG_USER},
		{"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1},
		{"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3},
		{"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
		{"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
	};
	size_t	i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (strcasecmp(s, f[i].name) == 0)
			return (*out = f[i].fac, 0);
	return (-1);
}

/* parse_canon - "header/body" or one word for both (OpenDKIM's form) */
static int
parse_canon(const char *s, int *hdr_relaxed, int *body_relaxed)
{
	const char *slash = strchr(s, '/');
	size_t	hlen = slash ? (size_t) (slash - s) : strlen(s);
	const char *body = slash ? slash + 1 : s;

	if (hlen == 6 && strncasecmp(s, "simple", 6) == 0)
		*hdr_relaxed = 0;
	else if (hlen == 7 && strncasecmp(s, "relaxed", 7) == 0)
		*hdr_relaxed = 1;
	else
		return (-1);
	if (strcasecmp(body, "simple") == 0)
		*body_relaxed = 0;
	else if (strcasecmp(body, "relaxed") == 0)
		*body_relaxed = 1;
	else
		return (-1);
	return (0);
}

/* apply - check a value and store it into the typed field */
static int
apply(struct ma_config *c, int k, const char *value, char *err, size_t errlen)
{
	const struct key *key = &keys[k];
	struct ma_policy_config *p = &c->policy;
	char  **vec;
	size_t	n;
	unsigned u = 0;
	int	b = 0;

#define BAD(what) do { snprintf(err, errlen, "%s: %s \"%.64s\"", key->name, \
			   what, value); return (-1); } while (0)
	switch (key->type) {
	case T_BOOL:
		if (parse_bool(value, &b) < 0)
			BAD("expected yes or no, got");
		break;
	case T_UINT:
		if (parse_uint(value, key->max, &u) < 0)
			BAD("expected a number in range, got");
		break;
	case T_MSEC:
		if (parse_msec(value, key->max, &u) < 0)
			BAD("expected seconds (or Nms) in range, got");
		break;
	default:
		break;
	}
#define IS(want) (strcmp(key->name, want) == 0)
	if (IS("Socket")) {
		if (strncmp(value, "inet:", 5) != 0 && strncmp(value, "inet6:", 6) != 0
		    && strncmp(value, "unix:", 5) != 0 && strncmp(value, "local:", 6) != 0
		    && value[0] != '/')
			BAD("expected inet:PORT@ADDR, inet6:PORT@ADDR or unix:PATH, got");
		free(c->socket);
		c->socket = strdup(value);
	} else if (IS("PidFile")) {
		free(c->pid_file);
		c->pid_file = strdup(value);
	} else if (IS("UserID")) {
		free(c->user_id);
		c->user_id = strdup(value);
	} else if (IS("SyslogFacility")) {
		if (parse_facility(value, &c->syslog_facility) < 0)
			BAD("unknown facility");
	} else if (IS("LogWhy")) {
		c->log_why = b;
	} else if (IS("LogFormat")) {
		if (strcasecmp(value, "kv") != 0 && strcasecmp(value, "json") != 0)
			BAD("expected kv or json, got");
		c->log_json = strcasecmp(value, "json") == 0;
	} else if (IS("MetricsListen")) {
		if (parse_listen(value) < 0)
			BAD("expected ADDR:PORT or [ADDR6]:PORT, got");
		free(c->metrics_listen);
		c->metrics_listen = strdup(value);
	} else if (IS("AuthservID")) {
		if (*value == '\0' || strpbrk(value, " \t;()\"\\") != NULL)
			BAD("must be one token without ; ( ) or quotes, got");
		free((char *) p->authserv_id);
		p->authserv_id = strdup(value);
	} else if (IS("Hostname")) {
		free((char *) p->receiver);
		p->receiver = strdup(value);
	} else if (IS("Nameservers")) {
		if ((vec = split_list(value, &n)) == NULL)
			BAD("list too long in");
		for (size_t i = 0; i < n; i++) {
			char	addr[64];
			const char *at = strchr(vec[i], '@');
			size_t	alen = at ? (size_t) (at - vec[i]) : strlen(vec[i]);
			struct ma_ip ip;
			unsigned port;

			if (alen >= sizeof(addr)) {
				free_vec(&vec);
				BAD("bad nameserver in");
			}
			memcpy(addr, vec[i], alen);
			addr[alen] = '\0';
			if (ma_ip_parse(addr, &ip) != MA_OK
			    || (at && parse_uint(at + 1, 65535, &port) < 0)) {
				free_vec(&vec);
				BAD("expected addr[@port] entries, got");
			}
		}
		free_vec(&c->nameservers);
		c->nameservers = n ? vec : NULL;
		if (n == 0)
			free_vec(&vec);
	} else if (IS("DNSTimeout")) {
		if (u == 0)
			BAD("must be positive, got");
		c->dns_timeout_ms = u;
	} else if (IS("DNSZoneFile")) {
		size_t	cnt = 0;

		while (c->zone_files && c->zone_files[cnt])
			cnt++;
		if (cnt >= 64)
			BAD("too many zone files at");
		vec = realloc(c->zone_files, (cnt + 2) * sizeof(*vec));
		if (vec == NULL)
			BAD("out of memory at");
		c->zone_files = vec;
		vec[cnt] = strdup(value);
		vec[cnt + 1] = NULL;
	} else if (IS("DNSOffline")) {
		c->dns_offline = b;
	} else if (IS("TrustAnchorFile")) {
		free(c->trust_anchor_file);
		c->trust_anchor_file = strdup(value);
	} else if (IS("DNSQueryBudget")) {
		if (u == 0)
			BAD("must be positive, got");
		p->dns_max_queries = u;
	} else if (IS("DNSCacheSize")) {
		c->dns_cache_entries = u;
	} else if (IS("MessageDNSTimeout")) {
		p->message_dns_ms = u;
	} else if (IS("RejectFailures")) {
		p->reject_failures = b;
	} else if (IS("TemperrorAction")) {
		if (parse_action(value, &p->on_temperror) < 0
		    || p->on_temperror == MA_ACTION_REJECT)
			BAD("expected accept or tempfail, got");
	} else if (IS("InternalErrorAction")) {
		if (parse_action(value, &p->on_error) < 0)
			BAD("expected tempfail, accept or reject, got");
	} else if (IS("InternalHosts")) {
		if (load_cidrs(&p->internal_hosts, value, err, errlen) < 0)
			return (-1);
	} else if (IS("AuthenticatedClientsInternal")) {
		p->auth_is_internal = b;
	} else if (IS("SPFCheckHELO")) {
		p->spf_helo = b;
	} else if (IS("RemoveForgedAuthResults")) {
		p->remove_forged_ar = b;
	} else if (IS("MinimumKeyBits")) {
		p->dkim_min_key_bits = u;
	} else if (IS("AllowSHA1")) {
		p->dkim_allow_sha1 = b;
	} else if (IS("MaxSignatures")) {
		if (u == 0)
			BAD("must be positive, got");
		p->dkim_max_signatures = u;
	} else if (IS("KeyTable") || IS("SigningTable") || IS("Domain")
		   || IS("Selector") || IS("KeyFile")) {
		char  **slot = IS("KeyTable") ? &c->key_table
		    : IS("SigningTable") ? &c->signing_table
		    : IS("Domain") ? &c->sign_domain
		    : IS("Selector") ? &c->sign_selector : &c->key_file;

		free(*slot);
		*slot = strdup(value);
	} else if (IS("RequireSafeKeys")) {
		c->require_safe_keys = b;
	} else if (IS("SigningDaemons") || IS("SignHeaders")
		   || IS("OversignHeaders")) {
		char ***slot = IS("SigningDaemons") ? &p->signing_daemons
		    : IS("SignHeaders") ? &p->sign_headers : &p->oversign_headers;

		if ((vec = split_list(value, &n)) == NULL)
			BAD("list too long in");
		free_vec(slot);
		*slot = vec;
	} else if (IS("Canonicalization")) {
		if (parse_canon(value, &p->sign_header_relaxed,
				&p->sign_body_relaxed) < 0)
			BAD("expected simple or relaxed, as header/body, got");
	} else if (IS("SignatureTTL")) {
		p->signature_ttl = u;
	} else if (IS("ReportHistory")) {
		c->report_history = b;
	} else if (IS("ReportDatabase")) {
		if (strncmp(value, "sqlite:", 7) != 0
		    && strncmp(value, "postgresql://", 13) != 0
		    && strncmp(value, "postgres://", 11) != 0)
			BAD("expected sqlite:PATH or postgresql://..., got");
		free(c->report_database);
		c->report_database = strdup(value);
	} else if (IS("ReportSpool") || IS("ReportOrgName") || IS("ReportEmail")
		   || IS("ReportRelay") || IS("ReportSendmail")) {
		char  **slot = IS("ReportSpool") ? &c->report_spool
		    : IS("ReportOrgName") ? &c->report_org_name
		    : IS("ReportEmail") ? &c->report_email
		    : IS("ReportRelay") ? &c->report_relay : &c->report_sendmail;

		free(*slot);
		*slot = strdup(value);
	} else if (IS("ReportQueueRows")) {
		c->report_queue_rows = u;
	} else if (IS("ReportMaxBytes")) {
		c->report_max_bytes = u;
	} else if (IS("ReportSuppress")) {
		if ((vec = split_list(value, &n)) == NULL)
			BAD("list too long in");
		free_vec(&c->report_suppress);
		c->report_suppress = vec;
	} else {
		snprintf(err, errlen, "%s: key without a setter (bug)", key->name);
		return (-1);
	}
#undef IS
#undef BAD
	return (0);
}

/* ma_config_set - set one key */
enum ma_status
ma_config_set(struct ma_config *c, const char *key, const char *value,
	      char *err, size_t errlen)
{
	struct config_priv *cp = PRIV(c);
	int	k = find_key(key);
	char   *raw;

	if (k < 0) {
		snprintf(err, errlen, "unknown key \"%.64s\"", key);
		return (MA_ERR_SYNTAX);
	}
	if (apply(c, k, value, err, errlen) < 0)
		return (MA_ERR_SYNTAX);
	if (keys[k].type == T_REPEAT && cp->raw[k] != NULL)
		raw = malloc(strlen(cp->raw[k]) + strlen(value) + 3);
	else
		raw = malloc(strlen(value) + 1);
	if (raw == NULL)
		return (MA_ERR_NOMEM);
	if (keys[k].type == T_REPEAT && cp->raw[k] != NULL)
		(void) snprintf(raw, strlen(cp->raw[k]) + strlen(value) + 3,
				"%s, %s", cp->raw[k], value);
	else
		memcpy(raw, value, strlen(value) + 1);
	free(cp->raw[k]);
	cp->raw[k] = raw;
	return (MA_OK);
}

/* host_name - this host's name, for AuthservID and Hostname defaults */
static char *
host_name(void)
{
	char	h[256];

	if (gethostname(h, sizeof(h)) != 0 || h[0] == '\0')
		return (strdup("localhost"));
	h[sizeof(h) - 1] = '\0';
	return (strdup(h));
}

/* ma_config_new_defaults - every default */
enum ma_status
ma_config_new_defaults(struct ma_config **out, char *err, size_t errlen)
{
	struct config_priv *cp;
	struct ma_config *c;
	size_t	i;

	*out = NULL;
	if ((cp = calloc(1, sizeof(*cp))) == NULL)
		return (MA_ERR_NOMEM);
	c = &cp->pub;
	c->syslog_facility = LOG_MAIL;
	c->policy.on_error = MA_ACTION_TEMPFAIL;
	for (i = 0; i < N_KEYS; i++) {
		if (keys[i].def == NULL)
			continue;
		if (ma_config_set(c, keys[i].name, keys[i].def, err, errlen) != MA_OK) {
			ma_config_free(&c);
			return (MA_ERR_INTERNAL);
		}
	}
	if (c->policy.authserv_id == NULL)
		c->policy.authserv_id = host_name();
	if (c->policy.receiver == NULL)
		c->policy.receiver = host_name();
	if (c->report_org_name == NULL)
		c->report_org_name = host_name();
	if (c->report_email == NULL && c->policy.receiver != NULL) {
		size_t	n = strlen(c->policy.receiver) + 12;

		if ((c->report_email = malloc(n)) != NULL)
			snprintf(c->report_email, n, "postmaster@%s",
				 c->policy.receiver);
	}
	if (c->policy.authserv_id == NULL || c->policy.receiver == NULL
	    || c->report_org_name == NULL || c->report_email == NULL) {
		ma_config_free(&c);
		return (MA_ERR_NOMEM);
	}
	*out = c;
	return (MA_OK);
}

/* trim - strip comment and surrounding white space in place */
static char *
trim(char *s)
{
	char   *e, *h;

	s += strspn(s, " \t");
	for (h = s; (h = strchr(h, '#')) != NULL; h++)
		if (h == s || h[-1] == ' ' || h[-1] == '\t') {
			*h = '\0';
			break;
		}
	e = s + strlen(s);
	while (e > s && isspace((unsigned char) e[-1]))
		*--e = '\0';
	return (s);
}

/* read_file - whole configuration file, bounded; NUL-terminated */
static char *
read_file(const char *path, size_t *len_out, char *err, size_t errlen)
{
	FILE   *fp;
	char   *buf;
	size_t	len;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (NULL);
	}
	if ((buf = malloc(CONFIG_FILE_MAX + 1)) == NULL) {
		fclose(fp);
		snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	len = fread(buf, 1, CONFIG_FILE_MAX + 1, fp);
	if (ferror(fp) || len > CONFIG_FILE_MAX) {
		snprintf(err, errlen, "%s: %s", path, ferror(fp) ? "read error"
			 : "file larger than 1 MB");
		fclose(fp);
		free(buf);
		return (NULL);
	}
	fclose(fp);
	buf[len] = '\0';
	*len_out = len;
	return (buf);
}

/* load_line - one line of the file; 0 or -1 with err set */
static enum ma_status
load_line(struct ma_config *c, char *s, const char *path, unsigned lineno,
	  char *err, size_t errlen)
{
	struct config_priv *cp = PRIV(c);
	char	msg[512], *v;
	enum ma_status st;
	int	k;

	s = trim(s);
	if (*s == '\0')
		return (MA_OK);
	v = s + strcspn(s, " \t");
	if (*v != '\0')
		*v++ = '\0';
	v += strspn(v, " \t");
	if ((k = find_key(s)) < 0) {
		snprintf(err, errlen, "%s:%u: unknown key \"%.64s\"", path, lineno, s);
		return (MA_ERR_SYNTAX);
	}
	if (*v == '\0') {
		snprintf(err, errlen, "%s:%u: %s: missing value", path, lineno,
			 keys[k].name);
		return (MA_ERR_SYNTAX);
	}
	if (cp->seen[k] && keys[k].type != T_REPEAT) {
		snprintf(err, errlen, "%s:%u: %s given twice", path, lineno,
			 keys[k].name);
		return (MA_ERR_SYNTAX);
	}
	cp->seen[k] = 1;
	if ((st = ma_config_set(c, s, v, msg, sizeof(msg))) != MA_OK)
		snprintf(err, errlen, "%s:%u: %s", path, lineno, msg);
	return (st);
}

/* ma_config_load - defaults, then the file */
enum ma_status
ma_config_load(const char *path, struct ma_config **out, char *err,
	       size_t errlen)
{
	struct ma_config *c;
	unsigned lineno = 0;
	enum ma_status st;
	size_t	len, p = 0, e;
	char   *text;

	*out = NULL;
	if ((st = ma_config_new_defaults(&c, err, errlen)) != MA_OK)
		return (st);
	if (path == NULL) {
		*out = c;
		return (MA_OK);
	}
	if ((c->path = strdup(path)) == NULL) {
		ma_config_free(&c);
		return (MA_ERR_NOMEM);
	}
	if ((text = read_file(path, &len, err, errlen)) == NULL) {
		ma_config_free(&c);
		return (MA_ERR_IO);
	}
	while (st == MA_OK && p < len) {
		const char *nl = memchr(text + p, '\n', len - p);

		e = nl ? (size_t) (nl - text) : len;
		lineno++;
		if (e - p > MA_LIMIT_CONFIG_LINE) {
			snprintf(err, errlen, "%s:%u: line longer than %d bytes",
				 path, lineno, MA_LIMIT_CONFIG_LINE);
			st = MA_ERR_LIMIT;
		} else if (memchr(text + p, '\0', e - p) != NULL) {
			snprintf(err, errlen, "%s:%u: NUL byte", path, lineno);
			st = MA_ERR_SYNTAX;
		} else {
			text[e] = '\0';
			st = load_line(c, text + p, path, lineno, err, errlen);
		}
		p = e + 1;
	}
	free(text);
	if (st != MA_OK) {
		ma_config_free(&c);
		return (st);
	}
	*out = c;
	return (MA_OK);
}

/* ma_config_print - every key with its effective value */
void
ma_config_print(const struct ma_config *c, FILE *fp)
{
	const struct config_priv *cp = (const struct config_priv *) c;
	size_t	i;

	for (i = 0; i < N_KEYS; i++) {
		const char *v = cp->raw[i];

		if (strcmp(keys[i].name, "AuthservID") == 0)
			v = c->policy.authserv_id;
		else if (strcmp(keys[i].name, "Hostname") == 0)
			v = c->policy.receiver;
		else if (strcmp(keys[i].name, "ReportOrgName") == 0)
			v = c->report_org_name;
		else if (strcmp(keys[i].name, "ReportEmail") == 0)
			v = c->report_email;
		fprintf(fp, "# %s\n%s%s %s\n", keys[i].help, v ? "" : "#",
			keys[i].name, v ? v : "(unset)");
	}
}

/* type_name - key type for the manual */
static const char *
type_name(enum key_type t)
{
	switch (t) {
	case T_STR:
		return ("string");
	case T_BOOL:
		return ("yes|no");
	case T_UINT:
		return ("number");
	case T_MSEC:
		return ("seconds (or Nms)");
	case T_LIST:
		return ("list");
	case T_REPEAT:
		return ("path, repeatable");
	case T_CIDRS:
		return ("CIDR list or file:PATH");
	case T_ACTION:
		return ("action");
	case T_FACILITY:
		return ("syslog facility");
	}
	return ("string");
}

/* ma_config_print_man - the KEYS section of mailauthd.conf(5), in roff */
void
ma_config_print_man(FILE *fp)
{
	size_t	i;

	for (i = 0; i < N_KEYS; i++) {
		fprintf(fp, ".TP\n.B %s\n(%s; default: %s)\n.br\n%s\n",
			keys[i].name, type_name(keys[i].type),
			keys[i].def ? keys[i].def
			: strcmp(keys[i].name, "AuthservID") == 0
			|| strcmp(keys[i].name, "Hostname") == 0
			|| strcmp(keys[i].name, "ReportOrgName") == 0 ? "the host name"
			: strcmp(keys[i].name, "ReportEmail") == 0
			? "postmaster@ the host name"
			: "unset", keys[i].help);
	}
}

/* ma_config_free - release */
void
ma_config_free(struct ma_config **cpp)
{
	struct ma_config *c;
	struct config_priv *cp;
	size_t	i;

	if (cpp == NULL || (c = *cpp) == NULL)
		return;
	*cpp = NULL;
	cp = PRIV(c);
	for (i = 0; i < N_KEYS; i++)
		free(cp->raw[i]);
	free(c->path);
	free(c->socket);
	free(c->pid_file);
	free(c->user_id);
	free(c->metrics_listen);
	free(c->trust_anchor_file);
	free(c->key_table);
	free(c->signing_table);
	free(c->sign_domain);
	free(c->sign_selector);
	free(c->key_file);
	free(c->report_database);
	free(c->report_spool);
	free(c->report_org_name);
	free(c->report_email);
	free(c->report_relay);
	free(c->report_sendmail);
	free_vec(&c->report_suppress);
	free_vec(&c->policy.signing_daemons);
	free_vec(&c->policy.sign_headers);
	free_vec(&c->policy.oversign_headers);
	free_vec(&c->nameservers);
	free_vec(&c->zone_files);
	free((char *) c->policy.authserv_id);
	free((char *) c->policy.receiver);
	ma_cidr_list_clear(&c->policy.internal_hosts);
	free(cp);
}
