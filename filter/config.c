/*
 * NAME
 *	config - the configuration keys: names, types, defaults, checks
 * SYNOPSIS
 *	#include "cfg.h"
 * DESCRIPTION
 *	The key table below is the only list of our keys: each entry has a
 *	name, a type, a default and a setter (apply) that checks the value
 *	and stores it in struct ma_config. Reading files, OpenDKIM's and
 *	OpenDMARC's keys, notes and --print-config are config_load.c's.
 *	Everything is checked at load (and by mailauthd -n), never on the
 *	message path.
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
#include "config_int.h"
#include "ma_limits.h"

/*
 * The key table. Order = order of mailauthd.conf(5) and of -n -v output.
 */
const struct ma_config_key ma_config_keys[] = {
	{"Mode", T_STR, "sv",
	 "s: sign outbound mail, v: judge inbound mail, sv: both; the other "
	 "direction passes untouched", 0},
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
	{"HoldQuarantined", T_BOOL, "yes",
	 "with RejectFailures, DMARC quarantine puts the message in the MTA's "
	 "hold queue (no: accept and mark it, as OpenDMARC's default)", 0},
	{"TemperrorAction", T_ACTION, "accept",
	 "DMARC temperror: accept (and mark) or tempfail", 0},
	{"InternalErrorAction", T_ACTION, "tempfail",
	 "when a message cannot be judged: tempfail, accept or reject", 0},
	{"InternalHosts", T_CIDRS, "127.0.0.0/8, ::1",
	 "clients whose mail is outbound: addresses, networks, localhost and "
	 "files (file:PATH), comma separated; given again, the lists add up",
	 0},
	{"AuthenticatedClientsInternal", T_BOOL, "yes",
	 "SMTP-authenticated sessions are outbound", 0},
	{"SPFCheckHELO", T_BOOL, "yes", "also check the HELO identity", 0},
	{"TrustedAuthservIDs", T_LIST, NULL,
	 "other authserv-ids of this site (e.g. the old OpenDKIM/OpenDMARC "
	 "hosts): inbound Authentication-Results carrying them are forged "
	 "and removed like our own", 0},
	{"RemoveForgedAuthResults", T_BOOL, "yes",
	 "delete Authentication-Results fields carrying our AuthservID "
	 "(or a TrustedAuthservIDs name)", 0},
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

#define N_KEYS	(sizeof(ma_config_keys) / sizeof(ma_config_keys[0]))
const size_t ma_config_n_keys = N_KEYS;
_Static_assert(N_KEYS <= MA_CONFIG_KEYS_MAX, "raise MA_CONFIG_KEYS_MAX");




/* ma_config_find_key - table index of a key name, or -1 */
int
ma_config_find_key(const char *name)
{
	size_t	i;

	for (i = 0; i < N_KEYS; i++)
		if (strcasecmp(ma_config_keys[i].name, name) == 0)
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

	if (strncmp(p, "csl:", 4) == 0)	/* OpenDKIM's "comma separated" */
		p += 4;
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

/* ma_config_free_vec - free a NULL-terminated vector */
void
ma_config_free_vec(char ***vp)
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

/*
 * cidr_entry - one host list entry: address, network or "localhost"
 * (OpenDKIM's data sets allow it); no names, no "!" exceptions
 */
static int
cidr_entry(struct ma_cidr_list *l, const char *e, char *err, size_t errlen)
{
	if (strcasecmp(e, "localhost") == 0)
		return (ma_cidr_list_add(l, "127.0.0.1") == MA_OK
			&& ma_cidr_list_add(l, "::1") == MA_OK ? 0 : -1);
	if (e[0] == '!') {
		snprintf(err, errlen, "\"%.64s\": exceptions (!) are not "
			 "supported; list only the hosts whose mail is outbound", e);
		return (-1);
	}
	if (ma_cidr_list_add(l, e) != MA_OK) {
		snprintf(err, errlen, "bad address or network \"%.64s\" (host "
			 "names other than localhost are not supported)", e);
		return (-1);
	}
	return (0);
}

/* cidr_file - one entry a line; '#' comments */
static int
cidr_file(struct ma_cidr_list *l, const char *path, char *err, size_t errlen)
{
	FILE   *fp = fopen(path, "r");
	char	line[512], why[256];
	unsigned lineno = 0;
	int	rc = 0;

	if (fp == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (-1);
	}
	while (rc == 0 && fgets(line, sizeof(line), fp) != NULL) {
		char   *p = line, *e;

		lineno++;
		p += strspn(p, " \t");
		if ((e = strpbrk(p, "#\r\n")) != NULL)
			*e = '\0';
		for (e = p + strlen(p); e > p && isspace((unsigned char) e[-1]); e--)
			e[-1] = '\0';
		if (*p == '\0')
			continue;
		if (cidr_entry(l, p, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
			rc = -1;
		}
	}
	fclose(fp);
	return (rc);
}

/*
 * load_cidrs - InternalHosts: addresses, networks and files (file:PATH or
 * an absolute path), comma separated; OpenDKIM's "csl:" prefix is taken.
 * append: add to the list (a key given again, IgnoreHosts) instead of
 * replacing it.
 */
static int
load_cidrs(struct ma_cidr_list *l, const char *value, int append, char *err,
	   size_t errlen)
{
	char  **v;
	size_t	n, i;
	int	rc = 0;

	if (!append)
		ma_cidr_list_clear(l);
	if (strncmp(value, "refile:", 7) == 0) {
		snprintf(err, errlen, "refile: (patterns) is not supported for "
			 "host lists; use file: with addresses and networks");
		return (-1);
	}
	/* one path alone may hold spaces */
	if ((strncmp(value, "file:", 5) == 0 || value[0] == '/')
	    && strchr(value, ',') == NULL)
		return (cidr_file(l, value[0] == '/' ? value : value + 5, err,
				  errlen));
	if ((v = split_list(value, &n)) == NULL) {
		snprintf(err, errlen, "list too long or out of memory");
		return (-1);
	}
	for (i = 0; rc == 0 && i < n; i++) {
		if (strncmp(v[i], "file:", 5) == 0 || v[i][0] == '/')
			rc = cidr_file(l, v[i][0] == '/' ? v[i] : v[i] + 5, err,
				       errlen);
		else
			rc = cidr_entry(l, v[i], err, errlen);
	}
	ma_config_free_vec(&v);
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

/*
 * ma_config_split_listen - "ADDR:PORT" or "[ADDR6]:PORT" into addr (size
 * bytes, NUL-terminated) and *port (the rest of s); -1 when malformed
 */
int
ma_config_split_listen(const char *s, char *addr, size_t size,
		       const char **port)
{
	const char *end;
	size_t	len;

	if (*s == '[') {
		if ((end = strchr(s, ']')) == NULL || end[1] != ':')
			return (-1);
		s++;
		*port = end + 2;
	} else {
		if ((end = strrchr(s, ':')) == NULL)
			return (-1);
		*port = end + 1;
	}
	len = (size_t) (end - s);
	if (len == 0 || len >= size || **port == '\0')
		return (-1);
	memcpy(addr, s, len);
	addr[len] = '\0';
	return (0);
}

/* parse_listen - MetricsListen: a numeric address and a port 1..65535 */
static int
parse_listen(const char *s)
{
	const char *port;
	unsigned n;
	char	addr[64];
	struct ma_ip ip;

	if (ma_config_split_listen(s, addr, sizeof(addr), &port) < 0
	    || ma_ip_parse(addr, &ip) != MA_OK
	    || parse_uint(port, 65535, &n) < 0 || n == 0)
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

/* parse_mode - OpenDKIM's Mode letters: s (sign), v (verify), both */
static int
parse_mode(const char *s, int *no_sign, int *no_verify)
{
	int	sign = 0, verify = 0;

	if (*s == '\0')
		return (-1);
	for (; *s != '\0'; s++) {
		if ((*s == 's' || *s == 'S') && !sign)
			sign = 1;
		else if ((*s == 'v' || *s == 'V') && !verify)
			verify = 1;
		else
			return (-1);
	}
	*no_sign = !sign;
	*no_verify = !verify;
	return (0);
}

/*
 * apply - check a value and store it into the typed field; append: a
 * host list adds to the one set before (see load_cidrs)
 */
static int
apply(struct ma_config *c, int k, const char *value, int append, char *err,
      size_t errlen)
{
	const struct ma_config_key *key = &ma_config_keys[k];
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
	} else if (IS("Mode")) {
		if (parse_mode(value, &p->no_sign, &p->no_verify) < 0)
			BAD("expected s, v or sv, got");
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
				ma_config_free_vec(&vec);
				BAD("bad nameserver in");
			}
			memcpy(addr, vec[i], alen);
			addr[alen] = '\0';
			if (ma_ip_parse(addr, &ip) != MA_OK
			    || (at && parse_uint(at + 1, 65535, &port) < 0)) {
				ma_config_free_vec(&vec);
				BAD("expected addr[@port] entries, got");
			}
		}
		ma_config_free_vec(&c->nameservers);
		c->nameservers = n ? vec : NULL;
		if (n == 0)
			ma_config_free_vec(&vec);
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
		if (load_cidrs(&p->internal_hosts, value, append, err, errlen) < 0)
			return (-1);
	} else if (IS("AuthenticatedClientsInternal")) {
		p->auth_is_internal = b;
	} else if (IS("SPFCheckHELO")) {
		p->spf_helo = b;
	} else if (IS("RemoveForgedAuthResults")) {
		p->remove_forged_ar = b;
	} else if (IS("HoldQuarantined")) {
		p->no_hold = !b;
	} else if (IS("TrustedAuthservIDs")) {
		if ((vec = split_list(value, &n)) == NULL)
			BAD("list too long in");
		ma_config_free_vec(&p->trusted_authserv_ids);
		p->trusted_authserv_ids = vec;
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
		ma_config_free_vec(slot);
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
		ma_config_free_vec(&c->report_suppress);
		c->report_suppress = vec;
	} else {
		snprintf(err, errlen, "%s: key without a setter (bug)", key->name);
		return (-1);
	}
#undef IS
#undef BAD
	return (0);
}

/*
 * ma_config_set_key - check, store, and keep the text; append: a repeatable key
 * given again adds to what is there (DNSZoneFile, InternalHosts)
 */
enum ma_status
ma_config_set_key(struct ma_config *c, int k, const char *value, int append,
	char *err, size_t errlen)
{
	struct config_priv *cp = PRIV(c);
	char   *raw;
	size_t	n;

	if (apply(c, k, value, append, err, errlen) < 0)
		return (MA_ERR_SYNTAX);
	append = append && cp->raw[k] != NULL;
	n = (append ? strlen(cp->raw[k]) + 2 : 0) + strlen(value) + 1;
	if ((raw = malloc(n)) == NULL)
		return (MA_ERR_NOMEM);
	if (append)
		(void) snprintf(raw, n, "%s, %s", cp->raw[k], value);
	else
		memcpy(raw, value, n);
	free(cp->raw[k]);
	cp->raw[k] = raw;
	return (MA_OK);
}

/* ma_config_set - set one key */
enum ma_status
ma_config_set(struct ma_config *c, const char *key, const char *value,
	      char *err, size_t errlen)
{
	int	k = ma_config_find_key(key);

	if (k < 0) {
		snprintf(err, errlen, "unknown key \"%.64s\"", key);
		return (MA_ERR_SYNTAX);
	}
	return (ma_config_set_key(c, k, value, ma_config_keys[k].type == T_REPEAT, err, errlen));
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
		if (ma_config_keys[i].def == NULL)
			continue;
		if (ma_config_set(c, ma_config_keys[i].name, ma_config_keys[i].def, err, errlen) != MA_OK) {
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

/* ma_config_print - every key with its effective value */
void
ma_config_print(const struct ma_config *c, FILE *fp)
{
	const struct config_priv *cp = (const struct config_priv *) c;
	size_t	i;

	for (i = 0; i < N_KEYS; i++) {
		const char *v = cp->raw[i];

		if (strcmp(ma_config_keys[i].name, "AuthservID") == 0)
			v = c->policy.authserv_id;
		else if (strcmp(ma_config_keys[i].name, "Hostname") == 0)
			v = c->policy.receiver;
		else if (strcmp(ma_config_keys[i].name, "ReportOrgName") == 0)
			v = c->report_org_name;
		else if (strcmp(ma_config_keys[i].name, "ReportEmail") == 0)
			v = c->report_email;
		fprintf(fp, "# %s\n%s%s %s\n", ma_config_keys[i].help, v ? "" : "#",
			ma_config_keys[i].name, v ? v : "(unset)");
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
			ma_config_keys[i].name, type_name(ma_config_keys[i].type),
			ma_config_keys[i].def ? ma_config_keys[i].def
			: strcmp(ma_config_keys[i].name, "AuthservID") == 0
			|| strcmp(ma_config_keys[i].name, "Hostname") == 0
			|| strcmp(ma_config_keys[i].name, "ReportOrgName") == 0 ? "the host name"
			: strcmp(ma_config_keys[i].name, "ReportEmail") == 0
			? "postmaster@ the host name"
			: "unset", ma_config_keys[i].help);
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
	for (i = 0; i < N_KEYS; i++) {
		free(cp->raw[i]);
		free(cp->origin[i]);
	}
	ma_config_free_vec(&cp->notes);
	ma_config_free_vec(&c->paths);
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
	ma_config_free_vec(&c->report_suppress);
	ma_config_free_vec(&c->policy.signing_daemons);
	ma_config_free_vec(&c->policy.sign_headers);
	ma_config_free_vec(&c->policy.oversign_headers);
	ma_config_free_vec(&c->policy.trusted_authserv_ids);
	ma_config_free_vec(&c->nameservers);
	ma_config_free_vec(&c->zone_files);
	free((char *) c->policy.authserv_id);
	free((char *) c->policy.receiver);
	ma_cidr_list_clear(&c->policy.internal_hosts);
	free(cp);
}
