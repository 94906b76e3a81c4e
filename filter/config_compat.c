/*
 * NAME
 *	config_compat - opendkim.conf and opendmarc.conf keys, translated
 * SUMMARY
 *	what each OpenDKIM/OpenDMARC key means to mailauthd
 * SYNOPSIS
 *	#include "config_compat.h"
 *
 *	struct ma_compat_result r;
 *	ma_compat_translate("IgnoreHosts", "10.0.0.0/8", &r);
 * DESCRIPTION
 *	mailauthd reads opendkim.conf(5) and opendmarc.conf(5) files as they
 *	are. Keys with the same name and meaning as ours (Socket, KeyTable,
 *	Canonicalization, ...) are native and never reach this file. Every
 *	other key those two daemons document is in the table below, with
 *	one of these outcomes:
 *
 *	MA_COMPAT_SET	the key has a mailauthd equivalent: r.native is
 *			set to r.value (r.why, if set, is a note for -n)
 *	MA_COMPAT_IGNORE  the key means nothing here, or asks for what
 *			mailauthd already does; r.why says which. -n
 *			prints it; the daemon starts.
 *	MA_COMPAT_ERROR	the key asks for a behaviour mailauthd lacks and
 *			leaving it out could block or reject mail the old
 *			chain accepted; r.why says what to do instead.
 *	MA_COMPAT_INCLUDE  OpenDKIM's Include: read r.value as a file.
 *	MA_COMPAT_DEFAULT_ACTION  OpenDKIM's On-Default: r.value applies to
 *			TemperrorAction/InternalErrorAction unless given.
 *	MA_COMPAT_UNKNOWN  no such key in either daemon: an error.
 *
 *	r.dialect tells which daemon's file this key marks, so that the
 *	loader can apply that daemon's defaults where ours differ
 *	(ma_compat_defaults[]): an opendmarc.conf without RejectFailures
 *	meant "monitor only", and it keeps meaning that.
 * LIMITS
 *	A translated value is at most MA_LIMIT_CONFIG_LINE bytes.
 * THREADS
 *	Read-only tables; reentrant.
 * SEE ALSO
 *	config.c, doc/migration.md, opendkim.conf(5), opendmarc.conf(5)
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config_compat.h"

#define K	MA_DIALECT_OPENDKIM
#define M	MA_DIALECT_OPENDMARC

enum kind {
	SET,			/* native key, value as given */
	IGN,			/* ignored, reason */
	ERR,			/* unsupported, reason */
	FN			/* translated by a function */
};

typedef void (*xlate_fn)(const char *value, struct ma_compat_result *r);

struct compat_key {
	const char *name;
	unsigned from;			/* K, M or both */
	enum kind kind;
	const char *native;		/* SET */
	const char *why;		/* IGN/ERR reason, SET note, FN: man text */
	xlate_fn fn;			/* FN */
};

/* reasons used by several keys */
#define WHY_LOG	"mailauthd logs one line per message with every result, " \
		"to syslog (to stderr with -f)"
#define WHY_DKIM_ACTION "a DKIM failure alone never decides (RFC 6376 6.3: " \
		"treated as no signature); DMARC's policy does, see RejectFailures"
#define WHY_AR	"mailauthd removes only Authentication-Results fields that " \
		"carry its AuthservID or a TrustedAuthservIDs name; others stay"
#define WHY_NOREPORTS "mailauthd sends no per-message failure reports; " \
		"aggregate reports: mailauth-report(8)"
#define WHY_SYSTEMD "not needed: run mailauthd under systemd " \
		"(contrib/mailauthd.service: Restart=, sandboxing)"
#define WHY_RESOLVER "mailauthd's resolver is set with Nameservers, " \
		"DNSTimeout and TrustAnchorFile"
#define WHY_NOTMP "mailauthd keeps no temporary files"
#define WHY_HEADERS "mailauthd's header checks are fixed (RFC 5322 parse, " \
		"bounded); a malformed message is judged, never dropped"
#define WHY_UNUSED "this OpenDKIM feature does not exist in mailauthd"
#define WHY_EXEMPT_FROM "mailauthd cannot exempt sender domains from DMARC; " \
		"remove the key (or keep OpenDMARC) -- mail from those domains " \
		"would be judged by their policy"
#define WHY_LUA	"Lua policy scripts are not supported"
#define WHY_RESIGN "mailauthd signs outbound mail only (InternalHosts, " \
		"SigningDaemons, SMTP AUTH)"
#define WHY_SENDER "the signing domain is the From field's " \
		"(RFC 5322.From, as DMARC needs)"
#define WHY_NO_I "mailauthd never signs with i="
#define WHY_VBR	"VBR (RFC 5518) is not supported"

static void on_dns_error(const char *, struct ma_compat_result *);
static void on_internal_error(const char *, struct ma_compat_result *);
static void on_dkim(const char *, struct ma_compat_result *);
static void on_default(const char *, struct ma_compat_result *);
static void include(const char *, struct ma_compat_result *);
static void multiple_signatures(const char *, struct ma_compat_result *);
static void max_signatures(const char *, struct ma_compat_result *);
static void history_file(const char *, struct ma_compat_result *);

/* sorted by name for the reader; looked up case-insensitively */
static const struct compat_key compat[] = {
	{"AllowSHA1Only", K, IGN, NULL, "mailauthd signs with sha256 only "
	 "(RFC 8301); AllowSHA1 decides whether rsa-sha1 verifies", NULL},
	{"AlwaysAddARHeader", K, IGN, NULL, "mailauthd always adds "
	 "Authentication-Results to inbound mail", NULL},
	{"AuthservIDWithJobID", K | M, IGN, NULL,
	 "the authserv-id is AuthservID alone", NULL},
	{"AutoRestart", K | M, IGN, NULL, WHY_SYSTEMD, NULL},
	{"AutoRestartCount", K | M, IGN, NULL, WHY_SYSTEMD, NULL},
	{"AutoRestartRate", K | M, IGN, NULL, WHY_SYSTEMD, NULL},
	{"Background", K | M, IGN, NULL, "mailauthd detaches unless given -f",
	 NULL},
	{"BaseDirectory", K | M, IGN, NULL, "mailauthd does not change "
	 "directory; give absolute paths (a relative one is an error at "
	 "load)", NULL},
	{"BodyLengthDB", K, IGN, NULL, "mailauthd never signs with l=", NULL},
	{"BogusKey", K, IGN, NULL, "a key that fails DNSSEC validation "
	 "is a DKIM temperror", NULL},
	{"CaptureUnknownErrors", K, IGN, NULL, WHY_UNUSED, NULL},
	{"ChangeRootDirectory", K | M, IGN, NULL, "mailauthd does not chroot; "
	 "contrib/mailauthd.service sandboxes it", NULL},
	{"ClockDrift", K, IGN, NULL, "fixed: signatures from the future are "
	 "accepted within 300 s of clock drift", NULL},
	{"CopyFailuresTo", M, IGN, NULL, WHY_NOREPORTS, NULL},
	{"Diagnostics", K, IGN, NULL, "mailauthd never adds z= to signatures",
	 NULL},
	{"DiagnosticDirectory", K, IGN, NULL, WHY_UNUSED, NULL},
	{"DisableCryptoInit", K, IGN, NULL, WHY_UNUSED, NULL},
	{"DNSConnect", K, IGN, NULL, WHY_RESOLVER, NULL},
	{"DomainKeysCompat", K, IGN, NULL, "DomainKeys (RFC 4870) is not "
	 "verified; it is historic", NULL},
	{"DomainWhitelist", M, ERR, NULL, WHY_EXEMPT_FROM, NULL},
	{"DomainWhitelistFile", M, ERR, NULL, WHY_EXEMPT_FROM, NULL},
	{"DomainWhitelistSize", M, IGN, NULL, WHY_UNUSED, NULL},
	{"DontSignMailTo", K, IGN, NULL, "mailauthd signs outbound mail to "
	 "every recipient; a signature never blocks delivery", NULL},
	{"EnableCoredumps", K | M, IGN, NULL, "set by the service manager "
	 "(LimitCORE=)", NULL},
	{"ExemptDomains", K, IGN, NULL, "mailauthd verifies every sender "
	 "domain; a DKIM result alone never rejects", NULL},
	{"ExternalIgnoreList", K, IGN, NULL, "mailauthd does not warn about "
	 "external hosts sending as a signing domain, so there is no list of "
	 "hosts to keep quiet about", NULL},
	{"FailureReports", M, IGN, NULL, WHY_NOREPORTS, NULL},
	{"FailureReportsBcc", M, IGN, NULL, WHY_NOREPORTS, NULL},
	{"FailureReportsOnNone", M, IGN, NULL, WHY_NOREPORTS, NULL},
	{"FailureReportsSentBy", M, IGN, NULL, WHY_NOREPORTS, NULL},
	{"FinalPolicyScript", K, IGN, NULL, WHY_LUA, NULL},
	{"FixCRLF", K, IGN, NULL, "line ends are canonicalized as RFC 6376 "
	 "says", NULL},
	{"HistoryFile", M, FN, NULL, "ReportHistory yes: evaluations go to "
	 "ReportDatabase", history_file},
	{"HoldQuarantinedMessages", M, SET, "HoldQuarantined", NULL, NULL},
	{"IdentityHeader", K, IGN, NULL, WHY_NO_I,
	 NULL},
	{"IdentityHeaderRemove", K, IGN, NULL, WHY_NO_I,
	 NULL},
	{"IgnoreAuthenticatedClients", M, SET, "AuthenticatedClientsInternal",
	 "mail from SMTP-authenticated clients is outbound: not judged, and "
	 "signed when a key matches", NULL},
	{"IgnoreHosts", M, SET, "InternalHosts", "mail from these hosts is "
	 "outbound: not judged, and signed when a key matches (the lists of "
	 "InternalHosts and IgnoreHosts add up)", NULL},
	{"IgnoreMailFrom", M, ERR, NULL, WHY_EXEMPT_FROM, NULL},
	{"IgnoreMailTo", M, ERR, NULL, "mailauthd cannot exempt recipients "
	 "from DMARC; remove the key (or keep OpenDMARC) -- mail to them would "
	 "be judged by the sender's policy", NULL},
	{"IgnoreMalformedMail", K, IGN, NULL, WHY_HEADERS, NULL},
	{"Include", K, FN, NULL, "the file is read in place (4 levels at "
	 "most)", include},
	{"KeepAuthResults", K, IGN, NULL, WHY_AR, NULL},
	{"KeepTemporaryFiles", K, IGN, NULL, WHY_NOTMP, NULL},
	{"LDAPAuthMechanism", K, ERR, NULL, "LDAP data sets are not supported: "
	 "export the keys to a KeyTable file", NULL},
	{"LDAPAuthName", K, IGN, NULL, WHY_UNUSED, NULL},
	{"LDAPAuthRealm", K, IGN, NULL, WHY_UNUSED, NULL},
	{"LDAPAuthUser", K, IGN, NULL, WHY_UNUSED, NULL},
	{"LDAPBindPassword", K, IGN, NULL, WHY_UNUSED, NULL},
	{"LDAPBindUser", K, IGN, NULL, WHY_UNUSED, NULL},
	{"LDAPDisableCache", K, IGN, NULL, WHY_UNUSED, NULL},
	{"LDAPKeepaliveIdle", K, IGN, NULL, WHY_UNUSED, NULL},
	{"LDAPKeepaliveInterval", K, IGN, NULL, WHY_UNUSED, NULL},
	{"LDAPKeepaliveProbes", K, IGN, NULL, WHY_UNUSED, NULL},
	{"LDAPTimeout", K, IGN, NULL, WHY_UNUSED, NULL},
	{"LDAPUseTLS", K, IGN, NULL, WHY_UNUSED, NULL},
	{"LogResults", K, IGN, NULL, WHY_LOG, NULL},
	{"MacroList", K, IGN, NULL, "use SigningDaemons (the {daemon_name} "
	 "macro), InternalHosts or SMTP AUTH to mark outbound mail", NULL},
	{"MaximumHeaders", K, IGN, NULL, "fixed limits: 1 MiB of header "
	 "block, 1000 fields (beyond them the message is judged without "
	 "DKIM)", NULL},
	{"MaximumSignaturesToVerify", K, FN, NULL, "MaxSignatures (0, no "
	 "limit, becomes 100)", max_signatures},
	{"MaximumSignedBytes", K, IGN, NULL, "mailauthd signs whole bodies, "
	 "never with l=", NULL},
	{"MilterDebug", K | M, IGN, NULL, "use LogWhy yes (or -v)", NULL},
	{"Minimum", K, IGN, NULL, "signatures with l= are verified as "
	 "RFC 6376 says", NULL},
	{"MTA", K, SET, "SigningDaemons", NULL, NULL},
	{"MTACommand", K, IGN, NULL, WHY_NOREPORTS, NULL},
	{"MultipleSignatures", K, FN, NULL, "ignored: every SigningTable line "
	 "that matches signs (as yes)", multiple_signatures},
	{"MustBeSigned", K, IGN, NULL, WHY_DKIM_ACTION, NULL},
	{"NoHeaderB", K, IGN, NULL, "mailauthd adds no X-DKIM header", NULL},
	{"OmitHeaders", K, IGN, NULL, "give the fields to sign with "
	 "SignHeaders (default: the RFC 6376 5.4.1 set)", NULL},
	{"On-BadSignature", K, FN, NULL, "ignored: " WHY_DKIM_ACTION, on_dkim},
	{"On-Default", K, FN, NULL, "TemperrorAction (accept, tempfail) and "
	 "InternalErrorAction (accept, tempfail, reject) where those are not "
	 "given", on_default},
	{"On-DNSError", K, FN, NULL, "TemperrorAction: accept or tempfail "
	 "(other actions ignored)", on_dns_error},
	{"On-InternalError", K, FN, NULL, "InternalErrorAction: accept, "
	 "tempfail or reject (others ignored)", on_internal_error},
	{"On-KeyNotFound", K, FN, NULL, "ignored: " WHY_DKIM_ACTION, on_dkim},
	{"On-NoSignature", K, FN, NULL, "ignored: " WHY_DKIM_ACTION, on_dkim},
	{"On-Security", K, FN, NULL, "ignored: " WHY_DKIM_ACTION, on_dkim},
	{"On-SignatureError", K, FN, NULL, "ignored: " WHY_DKIM_ACTION, on_dkim},
	{"PeerList", K, ERR, NULL, "mailauthd has no pass-through list: put "
	 "the hosts in InternalHosts if their mail is yours (it is then "
	 "signed, not judged), else remove the key", NULL},
	{"POPDBFile", K, IGN, NULL, "POP-before-SMTP is not supported; use "
	 "SMTP AUTH", NULL},
	{"PublicSuffixList", M, IGN, NULL, "RFC 9989 finds the organizational "
	 "domain by a DNS tree walk; no public suffix list is used", NULL},
	{"Quarantine", K, IGN, NULL, WHY_DKIM_ACTION, NULL},
	{"QueryCache", K, IGN, NULL, "mailauthd always caches DNS answers "
	 "(DNSCacheSize)", NULL},
	{"RecordAllMessages", M, IGN, NULL, "every DMARC evaluation is "
	 "recorded (ReportHistory)", NULL},
	{"RedirectFailuresTo", K, IGN, NULL, WHY_DKIM_ACTION, NULL},
	{"RejectMultiValueFrom", M, IGN, NULL, "a From field naming several "
	 "domains is always judged against each of them (RFC 9989)", NULL},
	{"RejectString", M, IGN, NULL, "the reject reply is fixed: "
	 "550 5.7.1 with the domain and the policy", NULL},
	{"RemoveARAll", K, IGN, NULL, WHY_AR, NULL},
	{"RemoveARFrom", K, IGN, NULL, WHY_AR, NULL},
	{"RemoveOldSignatures", K, IGN, NULL, "existing signatures are kept "
	 "(RFC 6376 allows several)", NULL},
	{"ReplaceHeaders", K, IGN, NULL, WHY_UNUSED, NULL},
	{"ReplaceRules", K, IGN, NULL, WHY_UNUSED, NULL},
	{"ReportAddress", K, IGN, NULL, WHY_NOREPORTS, NULL},
	{"ReportBccAddress", K, IGN, NULL, WHY_NOREPORTS, NULL},
	{"ReportCommand", M, IGN, NULL, WHY_NOREPORTS, NULL},
	{"RequestReports", K, IGN, NULL, WHY_NOREPORTS, NULL},
	{"RequiredHeaders", K | M, IGN, NULL, WHY_HEADERS, NULL},
	{"ResignAll", K, IGN, NULL, WHY_RESIGN, NULL},
	{"ResignMailTo", K, IGN, NULL, WHY_RESIGN, NULL},
	{"ResolverConfiguration", K, IGN, NULL, WHY_RESOLVER, NULL},
	{"ResolverTracing", K, IGN, NULL, "use LogWhy yes", NULL},
	{"ScreenPolicyScript", K, IGN, NULL, WHY_LUA, NULL},
	{"SelectCanonicalizationHeader", K, IGN, NULL, WHY_UNUSED, NULL},
	{"SenderHeaders", K, IGN, NULL, WHY_SENDER, NULL},
	{"SenderMacro", K, IGN, NULL, WHY_SENDER, NULL},
	{"SendReports", K, IGN, NULL, WHY_NOREPORTS, NULL},
	{"SetupPolicyScript", K, IGN, NULL, WHY_LUA, NULL},
	{"SignatureAlgorithm", K, IGN, NULL, "the algorithm follows the key: "
	 "rsa-sha256 or ed25519-sha256 (RFC 8301, RFC 8463)", NULL},
	{"SMTPURI", K, IGN, NULL, WHY_NOREPORTS, NULL},
	{"SoftStart", K, IGN, NULL, "a configuration or key error stops the "
	 "start (and a reload keeps the running configuration)", NULL},
	{"SoftwareHeader", K | M, IGN, NULL, "mailauthd adds no software "
	 "header", NULL},
	{"SPFIgnoreResults", M, IGN, NULL, "mailauthd never uses SPF results "
	 "from other hosts' Authentication-Results", NULL},
	{"SPFSelfValidate", M, IGN, NULL, "mailauthd always checks SPF itself "
	 "(RFC 7208)", NULL},
	{"Statistics", K, IGN, NULL, "see MetricsListen and ReportHistory",
	 NULL},
	{"StatisticsName", K, IGN, NULL, WHY_UNUSED, NULL},
	{"StatisticsPolicyScript", K, IGN, NULL, WHY_UNUSED, NULL},
	{"StatisticsPrefix", K, IGN, NULL, WHY_UNUSED, NULL},
	{"StrictHeaders", K, IGN, NULL, WHY_HEADERS, NULL},
	{"StrictTestMode", K, IGN, NULL, WHY_UNUSED, NULL},
	{"SubDomains", K, IGN, NULL, "the single-key Domain list is matched "
	 "exactly: sign subdomains with a SigningTable "
	 "(refile: *@*.example.com)", NULL},
	{"Syslog", K | M, IGN, NULL, WHY_LOG, NULL},
	{"SyslogName", K, IGN, NULL, "mailauthd logs as mailauthd", NULL},
	{"SyslogSuccess", K, IGN, NULL, WHY_LOG, NULL},
	{"TemporaryDirectory", K, IGN, NULL, WHY_NOTMP, NULL},
	{"TestDNSData", K, IGN, NULL, "use DNSZoneFile", NULL},
	{"TestPublicKeys", K, IGN, NULL, "use DNSZoneFile", NULL},
	{"TrustSignaturesFrom", K, IGN, NULL, WHY_UNUSED, NULL},
	{"UMask", K | M, IGN, NULL, "the unix socket is made mode 0660 and "
	 "given to UserID's user and group: name the MTA's group there "
	 "(UserID mailauthd:postfix)", NULL},
	{"UnboundConfigFile", K, IGN, NULL, WHY_RESOLVER, NULL},
	{"UnprotectedKey", K, IGN, NULL, "keys without DNSSEC are used, as "
	 "OpenDKIM's default", NULL},
	{"VBR-Certifiers", K, IGN, NULL, WHY_VBR, NULL},
	{"VBR-PurgeFields", K, IGN, NULL, WHY_VBR, NULL},
	{"VBR-TrustedCertifiers", K, IGN, NULL, WHY_VBR, NULL},
	{"VBR-TrustedCertifiersOnly", K, IGN, NULL, WHY_VBR, NULL},
	{"VBR-Type", K, IGN, NULL, WHY_VBR, NULL},
	{"WeakSyntaxChecks", K, IGN, NULL, WHY_HEADERS, NULL},
};

#define N_COMPAT	(sizeof(compat) / sizeof(compat[0]))

/* where the other daemon's default differs from ours, and it mattered */
const struct ma_compat_default ma_compat_defaults[] = {
	{MA_DIALECT_OPENDKIM, "Canonicalization", "simple/simple",
	 "OpenDKIM's default (mailauthd's own is relaxed/relaxed)"},
	{MA_DIALECT_OPENDMARC, "RejectFailures", "no",
	 "OpenDMARC's default: monitor only, act on no policy "
	 "(mailauthd's own is yes)"},
	{MA_DIALECT_OPENDMARC, "HoldQuarantined", "no",
	 "OpenDMARC's default: quarantine failures are accepted and marked, "
	 "not held (mailauthd's own is yes)"},
	{0, NULL, NULL, NULL}
};

/* action_word - OpenDKIM's action words, lower case */
static const char *
action_word(const char *v)
{
	static const char *const w[] = {
		"accept", "discard", "quarantine", "reject", "tempfail"
	};
	size_t	i;

	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		if (strcasecmp(v, w[i]) == 0)
			return (w[i]);
	return (NULL);
}

/* set - r becomes "set native to value" */
static void
set(struct ma_compat_result *r, const char *native, const char *value,
    const char *why)
{
	r->kind = MA_COMPAT_SET;
	r->native = native;
	(void) snprintf(r->value, sizeof(r->value), "%s", value);
	r->why = why;
}

/* on_dns_error - a DNS failure: accept (and mark) or tempfail */
static void
on_dns_error(const char *value, struct ma_compat_result *r)
{
	const char *a = action_word(value);

	if (a != NULL && (strcmp(a, "accept") == 0 || strcmp(a, "tempfail") == 0))
		set(r, "TemperrorAction", a, "applies to DMARC temperror");
	else {
		r->kind = a ? MA_COMPAT_IGNORE : MA_COMPAT_ERROR;
		r->why = a ? "mailauthd never rejects, drops or holds mail for a "
		    "DNS failure (RFC 9989 temperror): accept or tempfail only"
		    : "expected accept, discard, quarantine, reject or tempfail";
	}
}

/* on_internal_error - the message cannot be judged */
static void
on_internal_error(const char *value, struct ma_compat_result *r)
{
	const char *a = action_word(value);

	if (a != NULL && (strcmp(a, "accept") == 0 || strcmp(a, "tempfail") == 0
			  || strcmp(a, "reject") == 0))
		set(r, "InternalErrorAction", a, NULL);
	else {
		r->kind = a ? MA_COMPAT_IGNORE : MA_COMPAT_ERROR;
		r->why = a ? "mailauthd never drops or holds mail it could not "
		    "judge: accept, tempfail or reject only"
		    : "expected accept, discard, quarantine, reject or tempfail";
	}
}

/* on_dkim - On-BadSignature and friends: DMARC decides */
static void
on_dkim(const char *value, struct ma_compat_result *r)
{
	const char *a = action_word(value);

	r->kind = a ? MA_COMPAT_IGNORE : MA_COMPAT_ERROR;
	r->why = a == NULL
	    ? "expected accept, discard, quarantine, reject or tempfail"
	    : strcmp(a, "accept") == 0 ? "accept is what mailauthd does: "
	    WHY_DKIM_ACTION : WHY_DKIM_ACTION;
}

/* on_default - every On-* that is not given */
static void
on_default(const char *value, struct ma_compat_result *r)
{
	const char *a = action_word(value);

	if (a == NULL) {
		r->kind = MA_COMPAT_ERROR;
		r->why = "expected accept, discard, quarantine, reject or tempfail";
		return;
	}
	r->kind = MA_COMPAT_DEFAULT_ACTION;
	(void) snprintf(r->value, sizeof(r->value), "%s", a);
	r->why = "applies to TemperrorAction and InternalErrorAction where "
	    "those are not given";
}

/* include - another file of keys */
static void
include(const char *value, struct ma_compat_result *r)
{
	r->kind = MA_COMPAT_INCLUDE;
	(void) snprintf(r->value, sizeof(r->value), "%s", value);
	r->why = NULL;
}

/* multiple_signatures - mailauthd signs with every matching line */
static void
multiple_signatures(const char *value, struct ma_compat_result *r)
{
	r->kind = MA_COMPAT_IGNORE;
	if (strcasecmp(value, "yes") == 0 || strcasecmp(value, "true") == 0
	    || strcmp(value, "1") == 0)
		r->why = "mailauthd signs with every SigningTable line that "
		    "matches, as this asks";
	else
		r->why = "mailauthd signs with every SigningTable line that "
		    "matches (OpenDKIM's default took the first only): keep "
		    "one line per sender to sign once";
}

/* max_signatures - MaximumSignaturesToVerify; 0 was "no limit" */
static void
max_signatures(const char *value, struct ma_compat_result *r)
{
	if (strcmp(value, "0") == 0)
		set(r, "MaxSignatures", "100", "OpenDKIM's 0 (no limit) becomes "
		    "mailauthd's largest, 100");
	else
		set(r, "MaxSignatures", value, NULL);
}

/* history_file - OpenDMARC's history: ours goes to a database */
static void
history_file(const char *value, struct ma_compat_result *r)
{
	(void) value;
	set(r, "ReportHistory", "yes", "evaluations are recorded in "
	    "ReportDatabase, not in this text file; mailauth-report(8) sends "
	    "the aggregate reports (opendmarc-import/-reports are not needed)");
}

/* ma_compat_translate - what an OpenDKIM/OpenDMARC key means here */
void
ma_compat_translate(const char *key, const char *value,
		    struct ma_compat_result *r)
{
	size_t	i;

	memset(r, 0, sizeof(*r));
	r->kind = MA_COMPAT_UNKNOWN;
	for (i = 0; i < N_COMPAT; i++) {
		const struct compat_key *k = &compat[i];

		if (strcasecmp(k->name, key) != 0)
			continue;
		r->name = k->name;
		r->dialect = k->from;
		switch (k->kind) {
		case SET:
			set(r, k->native, value, k->why);
			break;
		case IGN:
			r->kind = MA_COMPAT_IGNORE;
			r->why = k->why;
			break;
		case ERR:
			r->kind = MA_COMPAT_ERROR;
			r->why = k->why;
			break;
		case FN:
			k->fn(value, r);
			break;
		}
		return;
	}
}

/* ma_compat_print_man - every OpenDKIM/OpenDMARC key, for mailauthd.conf(5) */
void
ma_compat_print_man(FILE *fp)
{
	size_t	i;

	for (i = 0; i < N_COMPAT; i++) {
		const struct compat_key *k = &compat[i];

		fprintf(fp, ".TP\n.B %s\n(%s)\n.br\n", k->name,
			k->from == (K | M) ? "OpenDKIM, OpenDMARC"
			: k->from == K ? "OpenDKIM" : "OpenDMARC");
		switch (k->kind) {
		case SET:
			fprintf(fp, "As \\fB%s\\fP%s%s.\n", k->native,
				k->why ? ": " : "", k->why ? k->why : "");
			break;
		case IGN:
			fprintf(fp, "Ignored: %s.\n", k->why);
			break;
		case ERR:
			fprintf(fp, "Refused (an error): %s.\n", k->why);
			break;
		case FN:
			fprintf(fp, "%c%s.\n", k->why[0] >= 'a' && k->why[0] <= 'z'
				? k->why[0] - 'a' + 'A' : k->why[0], k->why + 1);
			break;
		}
	}
}
