/*
 * NAME
 *	test_keystore - unit tests of KeyTable/SigningTable loading and lookup
 * DESCRIPTION
 *	Keys are generated at run time into a private temporary directory
 *	(mode 0600); tables are written there too. Lookup order (file:),
 *	wildcards (refile:), multiple keys per address, the single-key
 *	form, load errors naming file:line or the key file, key file modes
 *	(RequireSafeKeys: group/other bits refused, any owner accepted,
 *	symbolic links followed and their target checked), table names
 *	given as bare relative paths, hostile tables. Table-driven;
 *	failures say "got X, want Y".
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <pwd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <mailauth/arena.h>
#include <mailauth/sign.h>

static char dir[256];

/* --- helpers ------------------------------------------------------------ */

/* pathof - dir/name in a static buffer of the caller */
static const char *
pathof(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
	return (buf);
}

/* write_file - name in dir with len bytes of data, mode */
static void
write_file(const char *name, const char *data, size_t len, mode_t mode)
{
	char	p[512];
	int	fd;

	pathof(p, sizeof(p), name);
	(void) unlink(p);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, data, len) != (ssize_t) len
	    || fchmod(fd, mode) != 0) {
		fprintf(stderr, "cannot write %s\n", p);
		exit(EXIT_FAILURE);
	}
	close(fd);
}

/* gen_key - PEM key into dir/name (RSA of bits, or Ed25519 if bits 0) */
static void
gen_key(const char *name, unsigned bits, int traditional)
{
	EVP_PKEY *pk = bits ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
						(size_t) bits)
	    : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	BIO    *b = BIO_new(BIO_s_mem());
	char   *data;
	long	n;
	int	ok;

	if (traditional)
		ok = PEM_write_bio_PrivateKey_traditional(b, pk, NULL, NULL, 0,
							  NULL, NULL);
	else
		ok = PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL,
					      NULL);
	if (pk == NULL || !ok || (n = BIO_get_mem_data(b, &data)) <= 0) {
		fprintf(stderr, "keygen failed\n");
		exit(EXIT_FAILURE);
	}
	write_file(name, data, (size_t) n, 0600);
	BIO_free(b);
	EVP_PKEY_free(pk);
}

/* put - write a table from a string (mode 0644: tables are not secret) */
static void
put(const char *name, const char *text)
{
	write_file(name, text, strlen(text), 0644);
}

/* expand - text with every "@D@" replaced by the temp dir */
static char *
expand(const char *text)
{
	size_t	dl = strlen(dir), n = 0;
	char   *o = malloc(strlen(text) * (dl + 1) + 1), *q = o;

	for (const char *p = text; *p;) {
		if (strncmp(p, "@D@", 3) == 0) {
			memcpy(q, dir, dl);
			q += dl, p += 3, n++;
		} else {
			*q++ = *p++;
		}
	}
	*q = 0;
	return (o);
}

/* load - key store from tables in dir; err filled */
static enum ma_status
load(const char *kt, const char *st, int safe, struct ma_keystore **ks,
     char *err, size_t errlen)
{
	struct ma_keystore_options o;
	char	k[512], s[512];

	memset(&o, 0, sizeof(o));
	if (kt != NULL) {
		snprintf(k, sizeof(k), "file:%s/%s", dir, kt);
		o.key_table = k;
	}
	if (st != NULL) {
		snprintf(s, sizeof(s), "%s%s/%s", strncmp(st, "re:", 3) == 0
			 ? "refile:" : "file:", dir,
			 strncmp(st, "re:", 3) == 0 ? st + 3 : st);
		o.signing_table = s;
	}
	o.require_safe_keys = safe;
	return (ma_keystore_load(&o, ks, err, errlen));
}

/* names - lookup result as "k1,k2" (arena) */
static const char *
names(struct ma_arena *a, const struct ma_keystore *ks, const char *addr,
      enum ma_status *st)
{
	const struct ma_sign_key *keys[8];
	size_t	n = 99;
	char   *s = ma_arena_strdup(a, "");

	*st = ma_keystore_lookup(ks, addr, keys, 8, &n);
	for (size_t i = 0; i < n; i++)
		s = ma_arena_printf(a, "%s%s%s", s, i ? "," : "",
				    ma_sign_key_name(keys[i]));
	return (s);
}

/* --- KeyTable with every key type --------------------------------------- */

static const char KEYTABLE[] =
	"# name  domain:selector:keypath\n"
	"rsa     example.com:rsa2024:@D@/rsa.pem\n"
	"\n"
	"   ed   example.com:ed2024:@D@/ed.pem   # trailing comment\n"
	"trad\texample.org:t:@D@/trad.pem\n"
	"sub     sub.example.com:s:@D@/ed.pem\n"
	"user    example.com:u:@D@/ed.pem\n"
	"parent  example.com:p:@D@/ed.pem\n"
	"star    example.net:x:@D@/ed.pem\n";

START_TEST(test_keytable_keys)
{
	struct ma_arena *a = ma_arena_new();
	struct ma_keystore *ks = NULL;
	const struct ma_sign_key *k;
	const char *b64;
	char	err[512], *t = expand(KEYTABLE);
	static const struct {
		const char *name, *domain, *sel, *alg;
		unsigned bits;
		size_t	b64len;		/* 0: RSA, check prefix */
	} want[] = {
		{"ed", "example.com", "ed2024", "ed25519-sha256", 256, 44},
		{"parent", "example.com", "p", "ed25519-sha256", 256, 44},
		{"rsa", "example.com", "rsa2024", "rsa-sha256", 2048, 0},
		{"star", "example.net", "x", "ed25519-sha256", 256, 44},
		{"sub", "sub.example.com", "s", "ed25519-sha256", 256, 44},
		{"trad", "example.org", "t", "rsa-sha256", 1024, 0},
		{"user", "example.com", "u", "ed25519-sha256", 256, 44},
	};

	put("kt", t);
	ck_assert_msg(load("kt", NULL, 1, &ks, err, sizeof(err)) == MA_OK,
		      "load: %s", err);
	ck_assert_int_eq(ma_keystore_count(ks), 7);
	for (size_t i = 0; i < 7; i++) {
		k = ma_keystore_key(ks, i);
		ck_assert_str_eq(ma_sign_key_name(k), want[i].name);
		ck_assert_str_eq(ma_sign_key_domain(k), want[i].domain);
		ck_assert_str_eq(ma_sign_key_selector(k), want[i].sel);
		ck_assert_str_eq(ma_sign_key_algorithm(k), want[i].alg);
		ck_assert_msg(ma_sign_key_bits(k) == want[i].bits,
			      "%s: bits got %u, want %u", want[i].name,
			      ma_sign_key_bits(k), want[i].bits);
		ck_assert(ma_sign_key_public_b64(k, a, &b64) == MA_OK);
		if (want[i].b64len)
			ck_assert_uint_eq(strlen(b64), want[i].b64len);
		else	/* SubjectPublicKeyInfo, as opendkim-genkey */
			ck_assert_msg(strncmp(b64, "MII", 3) == 0
				      || strncmp(b64, "MIG", 3) == 0,
				      "rsa p= got %.10s", b64);
	}
	ck_assert(ma_keystore_key(ks, 7) == NULL);
	ma_keystore_free(&ks);
	ck_assert(ks == NULL);
	ma_keystore_free(&ks);		/* takes NULL */
	free(t);
	ma_arena_free(&a);
}
END_TEST

/* --- lookups ------------------------------------------------------------ */

struct lookup_case {
	const char *table;		/* "re:" prefix: refile: */
	const char *addr;
	const char *want;		/* key names in order, "" none */
	enum ma_status st;
};

static const char ST_EXACT[] =
	"joe@sub.example.com  user\n"
	"sub.example.com      sub\n"
	"joe@.example.com     parent\n"
	".example.com         ed\n"
	"example.com          rsa\n"
	"example.com          ed\n"
	"*                    star\n";
static const char ST_WILD[] =
	"*@example.com        rsa\n"
	"*@example.com        ed\n"
	"*@*.example.com      sub\n"
	"JOE@EXAMPLE.COM      user\n"
	"*@example.org        trad\n";
static const char ST_STAR_ONLY[] = "*  star\n";

static const struct lookup_case lookup_cases[] = {
	/* file: order user@host, host, user@.parent, .parent, * */
	{"exact", "joe@sub.example.com", "user,sub,parent,ed,star", MA_OK},
	{"exact", "ann@sub.example.com", "sub,ed,star", MA_OK},
	{"exact", "joe@a.b.example.com", "parent,ed,star", MA_OK},
	{"exact", "ann@example.com", "rsa,ed,star", MA_OK},
	{"exact", "Ann@EXAMPLE.com", "rsa,ed,star", MA_OK},
	{"exact", "x@other.test", "star", MA_OK},
	{"exact", "nodomain", "star", MA_OK},
	/* refile: file order; every match; a key once */
	{"re:wild", "ann@example.com", "rsa,ed", MA_OK},
	{"re:wild", "joe@example.com", "rsa,ed,user", MA_OK},
	{"re:wild", "ann@mail.example.com", "sub", MA_OK},
	{"re:wild", "ann@example.org", "trad", MA_OK},
	{"re:wild", "ann@example.org.evil", "", MA_OK},
	{"re:wild", "ann@badexample.com", "", MA_OK},
	{"re:wild", "", "", MA_OK},
	{"re:star", "anyone@anywhere", "star", MA_OK},
	/* no match at all: n 0 */
	{"star-none", "a@b.c", "", MA_OK},
};

START_TEST(test_lookup)
{
	const struct lookup_case *tc = &lookup_cases[_i];
	struct ma_arena *a = ma_arena_new();
	struct ma_keystore *ks = NULL;
	enum ma_status st;
	char	err[512], *t = expand(KEYTABLE);
	const char *got, *tbl = tc->table;

	put("kt", t);
	put("exact", ST_EXACT);
	put("wild", ST_WILD);
	put("star", ST_STAR_ONLY);
	put("star-none", "# nothing\n");
	ck_assert_msg(load("kt", tbl, 1, &ks, err, sizeof(err)) == MA_OK,
		      "load: %s", err);
	got = names(a, ks, tc->addr, &st);
	ck_assert_msg(strcmp(got, tc->want) == 0 && st == tc->st,
		      "%s %s: got \"%s\" (%s), want \"%s\" (%s)", tbl,
		      tc->addr, got, ma_status_str(st), tc->want,
		      ma_status_str(tc->st));
	ma_keystore_free(&ks);
	free(t);
	ma_arena_free(&a);
}
END_TEST

START_TEST(test_lookup_limits)
{
	struct ma_keystore *ks = NULL;
	const struct ma_sign_key *keys[2];
	char	err[512], *t = expand(KEYTABLE), big[2000];
	size_t	n;

	put("kt", t);
	put("exact", ST_EXACT);
	ck_assert(load("kt", "exact", 1, &ks, err, sizeof(err)) == MA_OK);
	/* more keys than room: the first max, MA_ERR_LIMIT */
	ck_assert_int_eq(ma_keystore_lookup(ks, "joe@sub.example.com", keys,
					    2, &n), MA_ERR_LIMIT);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(ma_sign_key_name(keys[0]), "user");
	/* overlong address */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	ck_assert_int_eq(ma_keystore_lookup(ks, big, keys, 2, &n),
			 MA_ERR_SYNTAX);
	ck_assert_uint_eq(n, 0);
	ma_keystore_free(&ks);
	free(t);
}
END_TEST

/* --- the single-key form ------------------------------------------------ */

START_TEST(test_single_key)
{
	struct ma_arena *a = ma_arena_new();
	struct ma_keystore_options o;
	struct ma_keystore *ks = NULL;
	enum ma_status st;
	char	err[512], kf[512];

	memset(&o, 0, sizeof(o));
	o.domain = "Example.com, example.org example.com";
	o.selector = "s1";
	o.key_file = pathof(kf, sizeof(kf), "ed.pem");
	o.require_safe_keys = 1;
	ck_assert_msg(ma_keystore_load(&o, &ks, err, sizeof(err)) == MA_OK,
		      "%s", err);
	ck_assert_uint_eq(ma_keystore_count(ks), 2);
	ck_assert_str_eq(names(a, ks, "joe@example.com", &st), "example.com");
	ck_assert_str_eq(names(a, ks, "joe@example.org", &st), "example.org");
	ck_assert_str_eq(names(a, ks, "joe@sub.example.com", &st), "");
	ck_assert_str_eq(names(a, ks, "joe@example.net", &st), "");
	ma_keystore_free(&ks);
	o.selector = NULL;
	ck_assert_int_eq(ma_keystore_load(&o, &ks, err, sizeof(err)),
			 MA_ERR_SYNTAX);
	o.selector = "s1";
	o.key_table = "file:/nonexistent";
	ck_assert_int_eq(ma_keystore_load(&o, &ks, err, sizeof(err)),
			 MA_ERR_SYNTAX);
	ck_assert(strstr(err, "not both") != NULL);
	ma_arena_free(&a);
}
END_TEST

/* --- load errors --------------------------------------------------------- */

struct err_case {
	const char *name;
	const char *keytable;		/* @D@: temp dir */
	const char *signtable;		/* NULL: none; "re:" refile */
	int	safe;
	enum ma_status st;
	const char *want;		/* substring of err; @D@ expanded */
};

static const struct err_case err_cases[] = {
	{"missing field", "k example.com:s:@D@/ed.pem\nbad\n", NULL, 1,
	 MA_ERR_SYNTAX, "@D@/kte:2: want"},
	{"missing selector", "k example.com:@D@/ed.pem\n", NULL, 1,
	 MA_ERR_SYNTAX, "@D@/kte:1: value is not domain:selector:keypath"},
	{"extra field", "k example.com:s:@D@/ed.pem extra\n", NULL, 1,
	 MA_ERR_SYNTAX, "@D@/kte:1: want"},
	{"bad domain", "k exa mple.com:s:/x\n", NULL, 1, MA_ERR_SYNTAX,
	 "kte:1: want"},
	{"bad domain chars", "k ex!ample.com:s:/x\n", NULL, 1, MA_ERR_SYNTAX,
	 "kte:1: bad domain"},
	{"percent domain", "k %:s:/x\n", NULL, 1, MA_ERR_SYNTAX,
	 "kte:1: domain \"%\" is not supported"},
	{"inline key data", "k example.com:s:MIIEvQIBADANBg\n", NULL, 1,
	 MA_ERR_SYNTAX, "kte:1: key path must start with"},
	{"duplicate name", "k example.com:s:@D@/ed.pem\n"
	 "k example.org:s:@D@/ed.pem\n", NULL, 1, MA_ERR_SYNTAX,
	 "key name k listed twice"},
	{"unknown key in SigningTable", "k example.com:s:@D@/ed.pem\n",
	 "ste", 1, MA_ERR_SYNTAX, "@D@/ste:3: key name nokey is not in the "
	 "KeyTable"},
	{"unknown key in refile", "k example.com:s:@D@/ed.pem\n",
	 "re:ste", 1, MA_ERR_SYNTAX, "@D@/ste:3: key name nokey"},
	{"missing key file", "a example.com:s:@D@/ed.pem\n"
	 "k example.com:s:@D@/nothere.pem\n", NULL, 1, MA_ERR_IO,
	 "@D@/kte:2: key k: @D@/nothere.pem: cannot open"},
	{"garbage key file", "k example.com:s:@D@/garbage.pem\n", NULL, 1,
	 MA_ERR_SYNTAX, "@D@/kte:1: key k: @D@/garbage.pem: not an "
	 "unencrypted PEM private key"},
	{"empty key file", "k example.com:s:@D@/empty.pem\n", NULL, 1,
	 MA_ERR_SYNTAX, "@D@/empty.pem: not an unencrypted PEM"},
	{"encrypted key file", "k example.com:s:@D@/enc.pem\n", NULL, 1,
	 MA_ERR_SYNTAX, "@D@/enc.pem: not an unencrypted PEM"},
	{"EC key", "k example.com:s:@D@/ec.pem\n", NULL, 1, MA_ERR_SYNTAX,
	 "@D@/ec.pem: key type is neither RSA nor Ed25519"},
	{"key too short", "k example.com:s:@D@/short.pem\n", NULL, 1,
	 MA_ERR_SYNTAX, "@D@/short.pem: RSA key too short (512 bits, "
	 "minimum 1024)"},
	{"group-readable key", "k example.com:s:@D@/g.pem\n", NULL, 1,
	 MA_ERR_SYNTAX, "@D@/g.pem: key file is accessible by group or "
	 "others (mode 0640; RequireSafeKeys)"},
	{"world-readable key", "k example.com:s:@D@/w.pem\n", NULL, 1,
	 MA_ERR_SYNTAX, "@D@/w.pem: key file is accessible by group or "
	 "others (mode 0644"},
	{"world-readable key, option off", "k example.com:s:@D@/w.pem\n",
	 NULL, 0, MA_OK, ""},
	{"key file is a directory", "k example.com:s:@D@/\n", NULL, 1,
	 MA_ERR_SYNTAX, "not a regular file"},
	{"NUL byte", "k example.com:s:@D@/ed.pem\nx\0y example.com:s:/x\n",
	 NULL, 1, MA_ERR_SYNTAX, "@D@/kte:2: NUL byte in line"},
	{"SigningTable without KeyTable", NULL, "ste", 1, MA_ERR_SYNTAX,
	 "SigningTable needs a KeyTable"},
	{"SigningTable one field", "k example.com:s:@D@/ed.pem\n", "ste1", 1,
	 MA_ERR_SYNTAX, "@D@/ste1:1: want \"pattern keyname\""},
};

START_TEST(test_load_errors)
{
	const struct err_case *tc = &err_cases[_i];
	struct ma_keystore *ks = NULL;
	enum ma_status st;
	char	err[1024], *kt = NULL, *want = expand(tc->want);
	size_t	ktlen = 0;

	if (tc->keytable != NULL) {
		/* the NUL case: length up to the final "\n" */
		const char *e = tc->keytable;

		while (!(e[0] == '\n' && e[1] == 0))
			e++;
		ktlen = (size_t) (e + 1 - tc->keytable);
		kt = malloc(ktlen * 300 + 1);
		{
			char   *tmp = malloc(ktlen + 1);

			memcpy(tmp, tc->keytable, ktlen);
			tmp[ktlen] = 0;
			if (memchr(tc->keytable, 0, ktlen) == NULL) {
				free(kt);
				kt = expand(tmp);
				ktlen = strlen(kt);
			} else {
				/* expand only the first line */
				char   *first = expand("k example.com:s:"
						       "@D@/ed.pem\n");

				memcpy(kt, first, strlen(first));
				memcpy(kt + strlen(first),
				       tc->keytable + 27,
				       ktlen - 27);
				ktlen = strlen(first) + ktlen - 27;
				free(first);
			}
			free(tmp);
		}
		write_file("kte", kt, ktlen, 0644);
	}
	put("ste", "# c\n*@example.com k\n*@x.example nokey\n");
	put("ste1", "lonely\n");
	err[0] = 0;
	st = load(tc->keytable ? "kte" : NULL, tc->signtable, tc->safe, &ks,
		  err, sizeof(err));
	ck_assert_msg(st == tc->st && strstr(err, want) != NULL,
		      "%s: got %s \"%s\", want %s \"%s\"", tc->name,
		      ma_status_str(st), err, ma_status_str(tc->st), want);
	ck_assert(st == MA_OK || ks == NULL);
	ma_keystore_free(&ks);
	free(kt);
	free(want);
}
END_TEST

/* --- hostile tables ------------------------------------------------------ */

START_TEST(test_hostile_tables)
{
	struct ma_arena *a = ma_arena_new();
	struct ma_keystore *ks = NULL;
	enum ma_status st;
	char	err[1024], *t = expand(KEYTABLE), *big, line[128];
	size_t	n = 0;

	put("kt", t);
	/* overlong line */
	big = malloc(10000);
	memset(big, 'x', 9000);
	memcpy(big + 9000, " rsa\n", 6);
	put("long", big);
	ck_assert_int_eq(load("kt", "long", 1, &ks, err, sizeof(err)),
			 MA_ERR_SYNTAX);
	ck_assert_msg(strstr(err, "long:1: line too long") != NULL, "%s", err);
	/* 10000 SigningTable lines: loads; lookups still right */
	big = realloc(big, 10000 * 64);
	for (int i = 0; i < 10000; i++)
		n += (size_t) snprintf(big + n, 64, "user%d@example.com %s\n",
				       i, i % 2 ? "rsa" : "ed");
	put("many", big);
	ck_assert_msg(load("kt", "many", 1, &ks, err, sizeof(err)) == MA_OK,
		      "%s", err);
	ck_assert_str_eq(names(a, ks, "user9999@example.com", &st), "rsa");
	ck_assert_str_eq(names(a, ks, "user0@example.com", &st), "ed");
	ck_assert_str_eq(names(a, ks, "user10000@example.com", &st), "");
	ma_keystore_free(&ks);
	/* 10000 KeyTable lines (one Ed25519 file): loads */
	n = 0;
	for (int i = 0; i < 10000; i++) {
		int	m = snprintf(line, sizeof(line), "k%d d%d.example:s:%s/"
				     "ed.pem\n", i, i, dir);

		big = realloc(big, n + (size_t) m + 1);
		memcpy(big + n, line, (size_t) m + 1);
		n += (size_t) m;
	}
	put("kt10k", big);
	ck_assert_msg(load("kt10k", NULL, 1, &ks, err, sizeof(err)) == MA_OK,
		      "%s", err);
	ck_assert_uint_eq(ma_keystore_count(ks), 10000);
	ma_keystore_free(&ks);
	/* binary junk as a SigningTable */
	for (int i = 0; i < 4096; i++)
		big[i] = (char) (i * 7 + 1);
	big[4096] = 0;
	write_file("junk", big, 4096, 0644);
	st = load("kt", "junk", 1, &ks, err, sizeof(err));
	ck_assert(st != MA_OK && ks == NULL && strstr(err, "junk:") != NULL);
	/* refile: a pathological pattern stays cheap */
	put("stars", "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b rsa\n");
	ck_assert(load("kt", "re:stars", 1, &ks, err, sizeof(err)) == MA_OK);
	memset(line, 'a', 100);
	line[100] = 0;
	ck_assert_str_eq(names(a, ks, line, &st), "");
	ma_keystore_free(&ks);
	/* unsupported dataset types */
	{
		struct ma_keystore_options o;

		memset(&o, 0, sizeof(o));
		o.key_table = "db:/etc/keys.db";
		ck_assert_int_eq(ma_keystore_load(&o, &ks, err, sizeof(err)),
				 MA_ERR_SYNTAX);
		o.key_table = "refile:/x";
		ck_assert_int_eq(ma_keystore_load(&o, &ks, err, sizeof(err)),
				 MA_ERR_SYNTAX);
		o.key_table = "csl:a=b";
		ck_assert_int_eq(ma_keystore_load(&o, &ks, err, sizeof(err)),
				 MA_ERR_SYNTAX);
		o.key_table = "LDAP://ldap.example/dc=keys";
		ck_assert_int_eq(ma_keystore_load(&o, &ks, err, sizeof(err)),
				 MA_ERR_SYNTAX);
		o.key_table = "";
		ck_assert_int_eq(ma_keystore_load(&o, &ks, err, sizeof(err)),
				 MA_ERR_SYNTAX);
	}
	free(big);
	free(t);
	ma_arena_free(&a);
}
END_TEST

/* --- key file owner and links (RequireSafeKeys) ------------------------ */

/*
 * The bug: a 0600 key owned by neither the effective user nor root was
 * refused, but OpenDKIM's layout is keys owned by the UserID (e.g.
 * opendkim) with mode 0600, read by mailauthd as root at start. Any
 * owner is fine; group/other permission bits are not.
 */
START_TEST(test_foreign_owner)
{
	struct ma_keystore *ks = NULL;
	const struct passwd *pw = getpwnam("nobody");
	uid_t	uid = pw ? pw->pw_uid : 65534;
	char	err[1024], p[512], *t;

	if (geteuid() != 0) {
		fprintf(stderr, "test_foreign_owner: not root, skipped\n");
		return;
	}
	gen_key("foreign.pem", 0, 0);
	ck_assert(chown(pathof(p, sizeof(p), "foreign.pem"), uid, (gid_t) -1)
		  == 0);
	t = expand("k example.com:s:@D@/foreign.pem\n");
	put("kt-foreign", t);
	free(t);
	ck_assert_msg(load("kt-foreign", NULL, 1, &ks, err, sizeof(err))
		      == MA_OK, "0600 key owned by uid %lu: got \"%s\", want "
		      "accepted", (unsigned long) uid, err);
	ck_assert_uint_eq(ma_keystore_count(ks), 1);
	ma_keystore_free(&ks);
	/* the mode check still applies to a foreign owner */
	ck_assert(chmod(p, 0640) == 0);
	ck_assert_int_eq(load("kt-foreign", NULL, 1, &ks, err, sizeof(err)),
			 MA_ERR_SYNTAX);
	ck_assert_msg(strstr(err, "accessible by group or others") != NULL,
		      "got %s", err);
	ck_assert(ks == NULL);
}
END_TEST

START_TEST(test_symlinked_key)
{
	struct ma_keystore *ks = NULL;
	char	err[1024], p[512], q[512], *t;

	/* a link is followed and its target checked (fstat after open) */
	(void) unlink(pathof(p, sizeof(p), "link-ed.pem"));
	ck_assert(symlink(pathof(q, sizeof(q), "ed.pem"), p) == 0);
	(void) unlink(pathof(p, sizeof(p), "link-w.pem"));
	ck_assert(symlink(pathof(q, sizeof(q), "w.pem"), p) == 0);
	t = expand("k example.com:s:@D@/link-ed.pem\n");
	put("kt-link", t);
	free(t);
	ck_assert_msg(load("kt-link", NULL, 1, &ks, err, sizeof(err)) == MA_OK,
		      "link to a 0600 key: got \"%s\", want accepted", err);
	ma_keystore_free(&ks);
	t = expand("k example.com:s:@D@/link-w.pem\n");
	put("kt-link", t);
	free(t);
	ck_assert_int_eq(load("kt-link", NULL, 1, &ks, err, sizeof(err)),
			 MA_ERR_SYNTAX);
	ck_assert_msg(strstr(err, "mode 0644") != NULL, "link to a 0644 key: "
		      "got \"%s\", want refused", err);
}
END_TEST

/* --- table names --------------------------------------------------------- */

struct rel_case {
	const char *cwd;		/* under the temp dir */
	const char *key_table;		/* relative to cwd */
	const char *signing_table;
};

/*
 * The bug: "KeyTable keytable" (a bare relative path, as OpenDKIM takes
 * it) was refused as an unknown data set type. Relative names (tables
 * and key paths alike) are taken from the working directory at load.
 */
static const struct rel_case rel_cases[] = {
	{".", "kt-rel", "st-rel"},
	{".", "./kt-rel", "./st-rel"},
	{".", "sub/kt-rel", "sub/st-rel"},
	{".", "file:kt-rel", "refile:st-rel"},
	{".", "kt-rel", "file:sub/st-rel"},
	{"sub", "kt-up", "../st-rel"},
	{"sub", "../kt-rel", "st-rel"},	/* ./ed.pem is sub/ed.pem */
};

START_TEST(test_relative_tables)
{
	const struct rel_case *tc = &rel_cases[_i];
	struct ma_arena *a = ma_arena_new();
	struct ma_keystore_options o;
	struct ma_keystore *ks = NULL;
	enum ma_status st, want = _i == 6 ? MA_ERR_IO : MA_OK;
	char	err[1024], cwd[1024], p[512];
	const char *got;

	ck_assert(getcwd(cwd, sizeof(cwd)) != NULL);
	(void) mkdir(pathof(p, sizeof(p), "sub"), 0700);
	put("kt-rel", "rel example.com:s:./ed.pem\n");
	put("sub/kt-rel", "rel example.com:s:./ed.pem\n");
	put("sub/kt-up", "rel example.com:s:../ed.pem\n");
	put("st-rel", "example.com rel\n*@example.com rel\n");
	put("sub/st-rel", "example.com rel\n");
	ck_assert(chdir(dir) == 0 && chdir(tc->cwd) == 0);
	memset(&o, 0, sizeof(o));
	o.key_table = tc->key_table;
	o.signing_table = tc->signing_table;
	o.require_safe_keys = 1;
	st = ma_keystore_load(&o, &ks, err, sizeof(err));
	ck_assert_msg(st == want, "in %s: KeyTable %s SigningTable %s: got %s "
		      "\"%s\", want %s", tc->cwd, tc->key_table,
		      tc->signing_table, ma_status_str(st), err,
		      ma_status_str(want));
	if (st == MA_OK) {
		got = names(a, ks, "ann@example.com", &st);
		ck_assert_msg(strcmp(got, "rel") == 0, "got \"%s\", want "
			      "\"rel\"", got);
	} else {
		ck_assert_msg(strstr(err, "./ed.pem: cannot open") != NULL,
			      "got %s", err);
	}
	ma_keystore_free(&ks);
	ck_assert(chdir(cwd) == 0);
	ma_arena_free(&a);
}
END_TEST

/* --- setup -------------------------------------------------------------- */

/* setup - temp dir and keys */
static void
setup(void)
{
	const char *t = getenv("TMPDIR");
	EVP_PKEY *pk;
	BIO    *b;
	char   *data, p[512];
	long	n;

	snprintf(dir, sizeof(dir), "%s/ma-ks-XXXXXX", t ? t : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(EXIT_FAILURE);
	}
	gen_key("rsa.pem", 2048, 0);
	gen_key("trad.pem", 1024, 1);
	gen_key("ed.pem", 0, 0);
	gen_key("short.pem", 512, 0);
	gen_key("g.pem", 0, 0);
	chmod(pathof(p, sizeof(p), "g.pem"), 0640);
	gen_key("w.pem", 0, 0);
	chmod(pathof(p, sizeof(p), "w.pem"), 0644);
	write_file("garbage.pem", "-----BEGIN PRIVATE KEY-----\nnot base64"
		   "!!\n-----END PRIVATE KEY-----\n", 68, 0600);
	write_file("empty.pem", "", 0, 0600);
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL);
	n = BIO_get_mem_data(b, &data);
	write_file("ec.pem", data, (size_t) n, 0600);
	BIO_free(b);
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(b, pk, EVP_aes_128_cbc(), NULL, 0, NULL,
				 (void *) "secret");
	n = BIO_get_mem_data(b, &data);
	write_file("enc.pem", data, (size_t) n, 0600);
	BIO_free(b);
	EVP_PKEY_free(pk);
}

/* teardown - remove the temp dir */
static void
teardown(void)
{
	char	cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

/* keystore_suite - the suite */
static Suite *
keystore_suite(void)
{
	Suite  *s = suite_create("keystore");
	TCase  *tc = tcase_create("keystore");

	tcase_set_timeout(tc, 900);	/* 10000 key loads under ASan */
	tcase_add_test(tc, test_keytable_keys);
	tcase_add_loop_test(tc, test_lookup, 0,
			    (int) (sizeof(lookup_cases)
				   / sizeof(lookup_cases[0])));
	tcase_add_test(tc, test_lookup_limits);
	tcase_add_test(tc, test_single_key);
	tcase_add_loop_test(tc, test_load_errors, 0,
			    (int) (sizeof(err_cases) / sizeof(err_cases[0])));
	tcase_add_test(tc, test_hostile_tables);
	tcase_add_test(tc, test_foreign_owner);
	tcase_add_test(tc, test_symlinked_key);
	tcase_add_loop_test(tc, test_relative_tables, 0,
			    (int) (sizeof(rel_cases) / sizeof(rel_cases[0])));
	suite_add_tcase(s, tc);
	return (s);
}

/* main - run the suite; non-zero exit on any failure */
int
main(void)
{
	SRunner *sr;
	int	nfail;

	setup();
	sr = srunner_create(keystore_suite());
	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	teardown();
	return (nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
