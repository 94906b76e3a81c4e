/*
 * NAME
 *	testkey - mailauth-testkey: is the published DKIM key the one we hold?
 * SUMMARY
 *	For every signing key, fetch SELECTOR._domainkey.DOMAIN TXT through
 *	our resolver and compare its p= with the private key's public part.
 * SYNOPSIS
 *	mailauth-testkey [-c CONFIG] [-k KEYTABLE] [-d DOMAIN -s SELECTOR
 *			 -K KEYFILE] [--dns-zone FILE]... [--nameserver ADDR]
 *			 [-v]
 * DESCRIPTION
 *	Loads the configuration (-c, else SYSCONFDIR/mailauthd/mailauthd.conf
 *	when it exists, else the defaults) and the key store the way
 *	mailauthd does: KeyTable (and SigningTable), or the single-key form
 *	Domain/Selector/KeyFile. -k, -d, -s and -K set those keys over the
 *	file's. DNS goes through the engine's resolver with the
 *	configuration's Nameservers and zone files; --dns-zone adds zone
 *	data and makes DNS offline, --nameserver replaces Nameservers.
 *
 *	Each key record is read as RFC 6376 3.6.1 says: a tag-list whose
 *	v=, if present, is first and "DKIM1"; k= (default rsa) must be our
 *	key type; h=, if present, must allow sha256; s=, if present, must
 *	offer email or *; p= may hold whitespace (zone files split it into
 *	several strings), and empty p= means the key was revoked. The keys
 *	are compared as keys, not as text: an RSA p= may be a
 *	SubjectPublicKeyInfo or a bare RSAPublicKey; an Ed25519 p= is the
 *	raw 32 bytes (RFC 8463 4.2).
 *
 *	One line per key on stdout, "OK   ", "FAIL " or "TEMP " and the
 *	record's name, the key type and size and what was found. With -v,
 *	indented lines add the KeyTable name, the key file, the record and
 *	whether the answer was DNSSEC-validated.
 * MEMORY
 *	One arena holds every answer and derived string until exit;
 *	OpenSSL objects are freed as soon as the comparison is made.
 * LIMITS
 *	MA_LIMIT_DKIM_KEY_RECORD bytes of record; DNS as the resolver's
 *	timeout; at most 64 --dns-zone files.
 * DIAGNOSTICS
 *	Exit 0 when every key's record matches; 1 when any key fails or
 *	its lookup failed temporarily; 2 for usage or configuration errors
 *	(configuration, key store, resolver, zone file), with
 *	"mailauth-testkey: " and the problem on stderr. Private key bytes
 *	are never printed.
 * THREADS
 *	Single-threaded.
 * STANDARDS
 *	RFC 6376 3.6.1 (key records), 3.6.2.2 (one TXT record per
 *	selector); RFC 8463 4.2; RFC 8017 A.1.1; RFC 5280 4.1.2.7.
 * SEE ALSO
 *	mailauth-testkey(8), mailauth-keygen(8), sign.h, dns.h,
 *	opendkim-testkey(8).
 */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <mailauth/arena.h>
#include <mailauth/dns.h>
#include <mailauth/log.h>
#include <mailauth/sign.h>
#include "cfg.h"
#include "ma_limits.h"

#define PROG		"mailauth-testkey"
#define DEFAULT_CONFIG	SYSCONFDIR "/mailauthd/mailauthd.conf"
#define EXIT_FAIL	1
#define EXIT_USAGE	2
#define ZONES_MAX	64
#define ED25519_RAW_LEN	32		/* RFC 8032 5.1.5 */
#define DNS_NAME_MAX	253

/* the parts of a key record we judge (arena strings; NULL: absent) */
struct key_record {
	const char *v, *k, *h, *s, *t, *p;	/* p: whitespace removed */
};

enum outcome { OUT_OK, OUT_FAIL, OUT_TEMP };

/* usage - print the synopsis (and why), exit 2 */
static void
usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "%s: %s\n", PROG, why);
	fprintf(stderr,
		"usage: %s [-c CONFIG] [-k KEYTABLE] "
		"[-d DOMAIN -s SELECTOR -K KEYFILE]\n"
		"                        [--dns-zone FILE]... "
		"[--nameserver ADDR[@PORT]] [-v]\n", PROG);
	exit(EXIT_USAGE);
}

/* stderr_sink - engine warnings to stderr */
static void
stderr_sink(enum ma_log_level level, const char *text, void *ctx)
{
	(void) ctx;
	if (level >= MA_LOG_WARN)
		fprintf(stderr, "%s: %s\n", PROG, text);
}

/* is_wsp - whitespace a record may hold between tags and inside p= */
static int
is_wsp(unsigned char c)
{
	return (c == ' ' || c == '\t' || c == '\r' || c == '\n');
}

/* trim - shrink [*b, *e) past leading and trailing whitespace */
static void
trim(const char **b, const char **e)
{
	while (*b < *e && is_wsp((unsigned char) **b))
		(*b)++;
	while (*e > *b && is_wsp((unsigned char) (*e)[-1]))
		(*e)--;
}

/* squeeze - arena copy of [b, e) without whitespace; NULL: no memory */
static char *
squeeze(struct ma_arena *a, const char *b, const char *e)
{
	char   *out = ma_arena_alloc(a, (size_t) (e - b) + 1), *o = out;

	if (out == NULL)
		return (NULL);
	for (; b < e; b++)
		if (!is_wsp((unsigned char) *b))
			*o++ = *b;
	*o = '\0';
	return (out);
}

/* tag_slot - where a judged tag's value goes; NULL: ignored tag */
static const char **
tag_slot(struct key_record *kr, const char *name, size_t len)
{
	if (len != 1)
		return (NULL);
	switch (name[0]) {
	case 'v': return (&kr->v);
	case 'k': return (&kr->k);
	case 'h': return (&kr->h);
	case 's': return (&kr->s);
	case 't': return (&kr->t);
	case 'p': return (&kr->p);
	default: return (NULL);
	}
}

/*
 * parse_record - RFC 6376 3.2 tag-list of a key record into kr. Returns
 * NULL, or a short reason why the record is not a usable DKIM key
 * record ("" when out of memory).
 */
static const char *
parse_record(struct ma_arena *a, const char *rec, size_t len,
	     struct key_record *kr)
{
	const char *p = rec, *end = rec + len, *semi, *eq, *nb, *ne, *vb, *ve;
	const char **slot;
	int	first = 1;

	memset(kr, 0, sizeof(*kr));
	if (len > MA_LIMIT_DKIM_KEY_RECORD)
		return ("record too long");
	if (memchr(rec, '\0', len) != NULL)
		return ("record holds a NUL byte");
	while (p < end) {
		if ((semi = memchr(p, ';', (size_t) (end - p))) == NULL)
			semi = end;
		nb = p;
		ne = semi;
		trim(&nb, &ne);
		p = semi < end ? semi + 1 : end;
		if (nb == ne) {		/* empty tag-spec: trailing ';' */
			first = 0;
			continue;
		}
		if ((eq = memchr(nb, '=', (size_t) (ne - nb))) == NULL)
			return ("tag without '='");
		vb = eq + 1;
		ve = ne;
		trim(&vb, &ve);
		trim(&nb, &eq);
		if (nb == eq || !isalpha((unsigned char) *nb))
			return ("bad tag name");
		if (eq - nb == 1 && *nb == 'v' && !first)
			return ("v= is not the first tag");
		first = 0;
		if ((slot = tag_slot(kr, nb, (size_t) (eq - nb))) == NULL)
			continue;
		if (*slot != NULL)
			return ("a tag appears twice");
		if ((*slot = squeeze(a, vb, ve)) == NULL)
			return ("");
	}
	if (kr->v != NULL && strcmp(kr->v, "DKIM1") != 0)
		return ("v= is not DKIM1");
	if (kr->p == NULL)
		return ("no p= tag");
	return (NULL);
}

/* list_has - whether a colon-separated list (no whitespace) holds word */
static int
list_has(const char *list, const char *word)
{
	size_t	n = strlen(word);

	for (;;) {
		const char *c = strchr(list, ':');
		size_t	len = c ? (size_t) (c - list) : strlen(list);

		if (len == n && strncasecmp(list, word, n) == 0)
			return (1);
		if (c == NULL)
			return (0);
		list = c + 1;
	}
}

/* b64_decode - arena bytes of a base64 text; NULL when not base64 */
static unsigned char *
b64_decode(struct ma_arena *a, const char *s, size_t *len_out)
{
	size_t	n = strlen(s), pad = 0;
	unsigned char *out;
	int	w;

	if (n == 0 || n % 4 != 0 || n > MA_LIMIT_DKIM_KEY_RECORD)
		return (NULL);
	if (s[n - 1] == '=')
		pad++;
	if (s[n - 2] == '=')
		pad++;
	if ((out = ma_arena_alloc(a, n / 4 * 3 + 1)) == NULL)
		return (NULL);
	w = EVP_DecodeBlock(out, (const unsigned char *) s, (int) n);
	if (w < 0 || (size_t) w < pad)
		return (NULL);
	*len_out = (size_t) w - pad;
	return (out);
}

/* rsa_key - EVP_PKEY from SubjectPublicKeyInfo or RSAPublicKey DER */
static EVP_PKEY *
rsa_key(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	EVP_PKEY *k;

	if ((k = d2i_PUBKEY(NULL, &p, (long) len)) != NULL
	    && p == der + len && EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA)
		return (k);
	EVP_PKEY_free(k);
	p = der;
	if ((k = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long) len)) != NULL
	    && p == der + len)
		return (k);
	EVP_PKEY_free(k);
	return (NULL);
}

/*
 * compare_keys - published p= against our public key (both base64) for
 * key type kt. NULL when they are the same key, else the reason.
 */
static const char *
compare_keys(struct ma_arena *a, const char *kt, const char *pub_b64,
	     const char *ours_b64)
{
	unsigned char *pub, *ours;
	size_t	pub_len, ours_len;
	EVP_PKEY *pk, *ok;
	int	same;

	if ((ours = b64_decode(a, ours_b64, &ours_len)) == NULL)
		return ("cannot decode our own public key");
	if ((pub = b64_decode(a, pub_b64, &pub_len)) == NULL)
		return ("p= is not valid base64");
	if (pub_len == ours_len && memcmp(pub, ours, pub_len) == 0)
		return (NULL);
	if (strcmp(kt, "ed25519") == 0)
		return (pub_len != ED25519_RAW_LEN
			? "p= is not a 32-byte ed25519 key"
			: "published key does not match the private key");
	if ((pk = rsa_key(pub, pub_len)) == NULL)
		return ("p= is not an RSA public key");
	if ((ok = rsa_key(ours, ours_len)) == NULL) {
		EVP_PKEY_free(pk);
		return ("cannot decode our own public key");
	}
	same = EVP_PKEY_eq(pk, ok) == 1;
	EVP_PKEY_free(pk);
	EVP_PKEY_free(ok);
	return (same ? NULL : "published key does not match the private key");
}

/* key_type - "rsa"/"ed25519" from a= ("rsa-sha256"); arena string */
static const char *
key_type(struct ma_arena *a, const char *alg)
{
	const char *dash = strchr(alg, '-');

	return (dash ? ma_arena_memdup(a, alg, (size_t) (dash - alg))
		: alg);
}

/* judge - verdict on one TXT answer; *why gets the text after ": " */
static enum outcome
judge(struct ma_arena *a, const struct ma_sign_key *key, const char *kt,
      const struct ma_dns_answer *ans, const char **why)
{
	struct key_record kr;
	const char *ours, *bad;

	switch (ans->rcode) {
	case MA_DNS_ANSWER:
		break;
	case MA_DNS_NXDOMAIN:
		*why = "no record (NXDOMAIN)";
		return (OUT_FAIL);
	case MA_DNS_NODATA:
		*why = "no TXT record at the name (NODATA)";
		return (OUT_FAIL);
	default:
		*why = ma_arena_printf(a, "DNS temporary failure (%s)",
				       ans->why ? ans->why
				       : ma_dns_rcode_str(ans->rcode));
		return (OUT_TEMP);
	}
	if (ans->n_rr != 1) {
		*why = ma_arena_printf(a, "%zu TXT records at the name "
				       "(RFC 6376 3.6.2.2 wants one)",
				       ans->n_rr);
		return (OUT_FAIL);
	}
	if ((bad = parse_record(a, ans->rr[0].data, ans->rr[0].len, &kr))
	    != NULL) {
		*why = *bad ? ma_arena_printf(a, "not a DKIM key record: %s",
					      bad) : "out of memory";
		return (OUT_FAIL);
	}
	if (kr.k == NULL)
		kr.k = "rsa";			/* RFC 6376 3.6.1 */
	if (strcasecmp(kr.k, kt) != 0) {
		*why = ma_arena_printf(a, "k=%s in DNS but the key is %s",
				       kr.k, kt);
		return (OUT_FAIL);
	}
	if (kr.h != NULL && !list_has(kr.h, "sha256")) {
		*why = "h= does not allow sha256";
		return (OUT_FAIL);
	}
	if (kr.s != NULL && !list_has(kr.s, "email") && !list_has(kr.s, "*")) {
		*why = "s= does not offer email";
		return (OUT_FAIL);
	}
	if (*kr.p == '\0') {
		*why = "record revoked (empty p=)";
		return (OUT_FAIL);
	}
	if (ma_sign_key_public_b64(key, a, &ours) != MA_OK) {
		*why = "cannot derive the public key from the private key";
		return (OUT_FAIL);
	}
	if ((bad = compare_keys(a, kt, kr.p, ours)) != NULL) {
		*why = bad;
		return (OUT_FAIL);
	}
	*why = kr.t != NULL && list_has(kr.t, "y")
	    ? "published key matches (testing mode, t=y)"
	    : "published key matches";
	return (OUT_OK);
}

/* show - -v detail after a key's line: KeyTable entry, record, DNSSEC */
static void
show(const struct ma_sign_key *k, const struct ma_dns_answer *ans)
{
	char	text[MA_LIMIT_DKIM_KEY_RECORD + 4];
	size_t	i;

	printf("     key %s: %s\n", ma_sign_key_name(k), ma_sign_key_file(k));
	if (ans == NULL || ans->rcode != MA_DNS_ANSWER)
		return;
	for (i = 0; i < ans->n_rr; i++)
		printf("     record: %s\n", ma_log_sanitize(text, sizeof(text),
		       ans->rr[i].data, ans->rr[i].len));
	printf("     DNSSEC: %s\n", ans->is_secure ? "validated"
	       : "not validated");
}

/* test_key - look up and judge one key, print its line */
static enum outcome
test_key(struct ma_dns *dns, struct ma_arena *a, const struct ma_sign_key *k,
	 int verbose)
{
	static const char *const label[] = { "OK  ", "FAIL", "TEMP" };
	const char *kt = key_type(a, ma_sign_key_algorithm(k)), *why;
	struct ma_dns_answer *ans = NULL;
	enum outcome o;
	char	name[DNS_NAME_MAX + 2];

	if (kt == NULL) {
		printf("FAIL %s: out of memory\n", ma_sign_key_name(k));
		return (OUT_FAIL);
	}
	if ((size_t) snprintf(name, sizeof(name), "%s._domainkey.%s",
			      ma_sign_key_selector(k), ma_sign_key_domain(k))
	    >= sizeof(name)) {
		printf("FAIL %s: name too long\n", ma_sign_key_name(k));
		return (OUT_FAIL);
	}
	switch (ma_dns_query(dns, NULL, a, name, MA_DNS_TXT, &ans)) {
	case MA_OK:
		o = judge(a, k, kt, ans, &why);
		break;
	case MA_ERR_SYNTAX:
		o = OUT_FAIL;
		why = "not a valid DNS name";
		break;
	default:
		o = OUT_TEMP;
		why = "DNS query failed";
		break;
	}
	printf("%s %s (%s %u bits): %s\n", label[o], name, kt,
	       ma_sign_key_bits(k), why);
	if (verbose)
		show(k, ans);
	return (o);
}

/* open_dns - the resolver for the configuration; exits 2 on error */
static struct ma_dns *
open_dns(const struct ma_config *c)
{
	struct ma_dns_options opt;
	struct ma_dns *dns;
	char	err[512];
	size_t	i;

	memset(&opt, 0, sizeof(opt));
	opt.nameservers = (const char *const *) c->nameservers;
	opt.timeout_ms = c->dns_timeout_ms;
	opt.offline = c->dns_offline;
	opt.trust_anchor_file = c->trust_anchor_file;
	if (ma_dns_new(&opt, &dns, err, sizeof(err)) != MA_OK) {
		fprintf(stderr, "%s: %s\n", PROG, err);
		exit(EXIT_USAGE);
	}
	for (i = 0; c->zone_files && c->zone_files[i]; i++)
		if (ma_dns_load_zone_file(dns, c->zone_files[i], err,
					  sizeof(err)) != MA_OK) {
			fprintf(stderr, "%s: %s\n", PROG, err);
			exit(EXIT_USAGE);
		}
	return (dns);
}

/* open_keys - the key store as mailauthd loads it; exits 2 on error */
static struct ma_keystore *
open_keys(const struct ma_config *c)
{
	struct ma_keystore *ks = NULL;
	char	err[512];

	if (ma_config_load_keys(c, &ks, err, sizeof(err)) != MA_OK) {
		fprintf(stderr, "%s: %s\n", PROG, err);
		exit(EXIT_USAGE);
	}
	if (ks == NULL)
		usage("no keys: give -c with KeyTable or Domain/Selector/"
		      "KeyFile, -k KEYTABLE or -d -s -K");
	return (ks);
}

/* set - one configuration override; exits 2 on error */
static void
set(struct ma_config *c, const char *key, const char *value)
{
	char	err[512];

	if (value != NULL && ma_config_set(c, key, value, err, sizeof(err))
	    != MA_OK) {
		fprintf(stderr, "%s: %s\n", PROG, err);
		exit(EXIT_USAGE);
	}
}

/* main - configuration, key store, resolver; one line per key */
int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"dns-zone", required_argument, NULL, 'z'},
		{"nameserver", required_argument, NULL, 'n'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	const char *cfgpath = NULL, *zones[ZONES_MAX], *ns = NULL;
	const char *kt = NULL, *dom = NULL, *sel = NULL, *kf = NULL;
	struct ma_config *cfg;
	struct ma_keystore *ks;
	struct ma_dns *dns;
	struct ma_arena *arena;
	size_t	n_zones = 0, i, n, bad = 0;
	int	verbose = 0, ch;
	char	err[512], ktspec[PATH_MAX + 8];

	while ((ch = getopt_long(argc, argv, "c:d:k:K:s:v", opts, NULL))
	       != -1) {
		switch (ch) {
		case 'c': cfgpath = optarg; break;
		case 'd': dom = optarg; break;
		case 'k': kt = optarg; break;
		case 'K': kf = optarg; break;
		case 's': sel = optarg; break;
		case 'v': verbose = 1; break;
		case 'n': ns = optarg; break;
		case 'z':
			if (n_zones >= ZONES_MAX)
				usage("too many --dns-zone files");
			zones[n_zones++] = optarg;
			break;
		default:
			usage(NULL);
		}
	}
	if (optind < argc)
		usage("unexpected argument");
	if ((dom != NULL || sel != NULL || kf != NULL)
	    && (dom == NULL || sel == NULL || kf == NULL))
		usage("-d, -s and -K go together");

	ma_log_set_sink(stderr_sink, NULL, MA_LOG_WARN);
	if (cfgpath == NULL && access(DEFAULT_CONFIG, F_OK) == 0)
		cfgpath = DEFAULT_CONFIG;
	if (ma_config_load(cfgpath, &cfg, err, sizeof(err)) != MA_OK) {
		fprintf(stderr, "%s: %s\n", PROG, err);
		return (EXIT_USAGE);
	}
	if (kt != NULL && strchr(kt, ':') == NULL) {
		/* a bare path, even a relative one without '/' */
		if ((size_t) snprintf(ktspec, sizeof(ktspec), "file:%s", kt)
		    >= sizeof(ktspec))
			usage("-k: path too long");
		kt = ktspec;
	}
	set(cfg, "KeyTable", kt);
	set(cfg, "Domain", dom);
	set(cfg, "Selector", sel);
	set(cfg, "KeyFile", kf);
	set(cfg, "Nameservers", ns);
	for (i = 0; i < n_zones; i++) {
		set(cfg, "DNSZoneFile", zones[i]);
		set(cfg, "DNSOffline", "yes");
	}
	ks = open_keys(cfg);
	dns = open_dns(cfg);
	ma_config_free(&cfg);
	if ((arena = ma_arena_new()) == NULL) {
		fprintf(stderr, "%s: out of memory\n", PROG);
		return (EXIT_FAIL);
	}
	n = ma_keystore_count(ks);
	if (n == 0)
		fprintf(stderr, "%s: the key store holds no keys\n", PROG);
	for (i = 0; i < n; i++)
		if (test_key(dns, arena, ma_keystore_key(ks, i), verbose)
		    != OUT_OK)
			bad++;
	ma_arena_free(&arena);
	ma_dns_free(&dns);
	ma_keystore_free(&ks);
	return (bad > 0 || n == 0 ? EXIT_FAIL : 0);
}
