/*
 * NAME
 *	sign_bench - CPU per DKIM signature through ma_dkim_sign_*
 * SYNOPSIS
 *	sign_bench [count [rsa|ed25519]]
 * DESCRIPTION
 *	Signs a ~4 KB message count times (default 2000) with a fresh
 *	RSA-2048 key and a fresh Ed25519 key (generated into a private
 *	temporary directory, mode 0600, removed afterwards) through the key
 *	store and ma_dkim_sign_start/_header/_eoh/_body/_eom (default
 *	options: relaxed/relaxed, the default header set), a new arena per
 *	message as in the daemon, and measures CPU time
 *	(CLOCK_PROCESS_CPUTIME_ID). For comparison it measures the raw
 *	OpenSSL signature of a SHA-256 digest with the key parsed once and
 *	a new OpenSSL context per signature (close to what `openssl speed
 *	rsa2048 ed25519` measures), and prints the ratio: what DKIM adds
 *	(canonicalization, the body and header hashes, the field) on top of
 *	the signature itself. With a second argument only that key type.
 *	Not built by make check: "make bench BENCH_ARGS='5000 ed25519'".
 * SEE ALSO
 *	openssl-speed(1), policy/dkim_sign.c, policy/keystore.c.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <mailauth/arena.h>
#include <mailauth/sign.h>

/* cpu_now - process CPU seconds */
static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ((double) ts.tv_sec + (double) ts.tv_nsec / 1e9);
}

/* make_msg - header fields and a ~4 KB body */
static char body[4096];
static const char *const fields[] = {
	"Received: from client.example.net (client [192.0.2.1]) by mx "
	"with ESMTPS id 4Xyz; Mon, 1 Jan 2024 10:00:00 +0000",
	"From: Joe Sender <joe@example.com>",
	"To: Suzie Q <suzie@example.net>, other@example.net",
	"Subject: quarterly numbers, please review before Friday",
	"Date: Mon, 1 Jan 2024 10:00:00 +0000",
	"Message-ID: <20240101100000.12345@example.com>",
	"MIME-Version: 1.0",
	"Content-Type: text/plain; charset=utf-8",
	"Content-Transfer-Encoding: 8bit",
	NULL
};

static void
make_msg(void)
{
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (char) ('a' + i % 26);
	for (size_t i = 70; i + 1 < sizeof(body); i += 72) {
		body[i] = '\r';
		body[i + 1] = '\n';
	}
	body[sizeof(body) - 2] = '\r';
	body[sizeof(body) - 1] = '\n';
}

/* raw_sign - n raw signatures of a digest with the key in path */
static double
raw_sign(const char *path, int ed, int n)
{
	FILE   *f = fopen(path, "r");
	EVP_PKEY *pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	unsigned char dig[32] = {1}, sig[1024];
	double	t0;

	fclose(f);
	t0 = cpu_now();
	for (int i = 0; i < n; i++) {
		EVP_MD_CTX *c = EVP_MD_CTX_new();
		size_t	sl = sizeof(sig);

		if (ed) {
			EVP_DigestSignInit(c, NULL, NULL, NULL, pk);
			EVP_DigestSign(c, sig, &sl, dig, sizeof(dig));
		} else {
			EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(pk, NULL);

			EVP_PKEY_sign_init(pc);
			EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING);
			EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256());
			EVP_PKEY_sign(pc, sig, &sl, dig, sizeof(dig));
			EVP_PKEY_CTX_free(pc);
		}
		EVP_MD_CTX_free(c);
	}
	EVP_PKEY_free(pk);
	return ((cpu_now() - t0) / n);
}

/* our_sign - n signatures through the engine */
static double
our_sign(const char *path, int n)
{
	struct ma_keystore_options o;
	struct ma_keystore *ks = NULL;
	char	err[512];
	double	t0;

	memset(&o, 0, sizeof(o));
	o.domain = "example.com", o.selector = "bench", o.key_file = path;
	o.require_safe_keys = 1;
	if (ma_keystore_load(&o, &ks, err, sizeof(err)) != MA_OK) {
		fprintf(stderr, "load: %s\n", err);
		exit(1);
	}
	t0 = cpu_now();
	for (int i = 0; i < n; i++) {
		struct ma_arena *a = ma_arena_new();
		struct ma_dkim_signer *s = NULL;
		const char *v;

		if (ma_dkim_sign_start(ks, ma_keystore_key(ks, 0), NULL, a, &s)
		    != MA_OK)
			exit(1);
		for (int j = 0; fields[j] != NULL; j++)
			(void) ma_dkim_sign_header(s, fields[j],
						   strlen(fields[j]));
		if (ma_dkim_sign_eoh(s) != MA_OK
		    || ma_dkim_sign_body(s, (unsigned char *) body,
					 sizeof(body)) != MA_OK
		    || ma_dkim_sign_eom(s, &v) != MA_OK)
			exit(1);
		ma_arena_free(&a);
	}
	t0 = (cpu_now() - t0) / n;
	ma_keystore_free(&ks);
	return (t0);
}

/* main - generate keys, measure, report */
int
main(int argc, char **argv)
{
	long	nl = argc > 1 ? strtol(argv[1], NULL, 10) : 2000;
	int	n = nl > 0 && nl <= 10000000 ? (int) nl : 0;
	const char *only = argc > 2 ? argv[2] : NULL;
	char	dir[] = "/tmp/ma-bench-XXXXXX", path[2][128];
	const char *type[2] = {"RSA", "ED25519"};

	if (n <= 0 || mkdtemp(dir) == NULL)
		return (1);
	make_msg();
	for (int k = 0; k < 2; k++) {
		EVP_PKEY *pk = k == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
							  (size_t) 2048)
		    : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		FILE   *f;
		int	fd;

		snprintf(path[k], sizeof(path[k]), "%s/%s.pem", dir, type[k]);
		fd = open(path[k], O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (pk == NULL || fd < 0 || (f = fdopen(fd, "w")) == NULL)
			return (1);
		PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL);
		fclose(f);
		EVP_PKEY_free(pk);
	}
	printf("%-8s %12s %12s %12s %8s\n", "key", "ours us/sig", "raw us/sig",
	       "ours sig/s", "ratio");
	for (int k = 0; k < 2; k++) {
		if (only != NULL
		    && strcasecmp(only, k ? "ed25519" : "rsa") != 0)
			continue;
		double	ours = our_sign(path[k], n);
		double	raw = raw_sign(path[k], k == 1, n);

		printf("%-8s %12.1f %12.1f %12.0f %8.2f\n", type[k],
		       ours * 1e6, raw * 1e6, 1 / ours, ours / raw);
	}
	for (int k = 0; k < 2; k++)
		unlink(path[k]);
	rmdir(dir);
	return (0);
}
