/*
 * NAME
 *	fuzz_dkim.c - libFuzzer target: DKIM verification of one message
 * DESCRIPTION
 *	The input is a message (header, empty line, body; CRLF or LF line
 *	ends). The header is split into fields as mailauth-check does
 *	(filter/check.c feed_message): a field starts with "name:", lines
 *	starting with space or tab continue it, anything else ends the
 *	header. Each field goes to ma_dkim_verify_header with its folds as
 *	CRLF, the body line by line with CRLF ends.
 *
 *	One offline resolver and one verifier are made at the first call and
 *	kept (freed at exit). They hold the RSA test key of tests/data/
 *	test.zone under its own name (test._domainkey.football.example.com)
 *	and under s._domainkey.d.example, and the Ed25519 one
 *	(brisbane._domainkey.football.example.com). "now" is fixed.
 *	Everything per message lives in an arena freed per input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mailauth/arena.h>
#include <mailauth/dkim.h>
#include <mailauth/dns.h>
#include <mailauth/log.h>

#define RSA_P	"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6" \
	"Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/" \
	"8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBf\" \"O2EeC3Ip3G+" \
	"2kryOTIKT+l/K4w3QIDAQAB"

static const char *const records[] = {
	"test._domainkey.football.example.com. 3600 IN TXT \"v=DKIM1; k=rsa; p="
	RSA_P "\"",
	"s._domainkey.d.example. 3600 IN TXT \"v=DKIM1; k=rsa; p=" RSA_P "\"",
	"brisbane._domainkey.football.example.com. 3600 IN TXT \"v=DKIM1; "
	"k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\"",
	NULL
};

static struct ma_dns *dns;
static struct ma_dkim_verifier *verifier;

/* quiet_sink - drop log lines */
static void
quiet_sink(enum ma_log_level level, const char *text, void *ctx)
{
	(void) level;
	(void) text;
	(void) ctx;
}

/* teardown - at exit: verifier, then resolver */
static void
teardown(void)
{
	ma_dkim_verifier_free(&verifier);
	ma_dns_free(&dns);
}

/* setup - once per process: offline resolver with the keys, verifier */
static void
setup(void)
{
	struct ma_dns_options opt;
	char	err[256];
	size_t	i;

	ma_log_set_sink(quiet_sink, NULL, MA_LOG_PANIC);
	memset(&opt, 0, sizeof(opt));
	opt.offline = 1;
	if (ma_dns_new(&opt, &dns, err, sizeof(err)) != MA_OK)
		goto fail;
	for (i = 0; records[i] != NULL; i++)
		if (ma_dns_add_record(dns, records[i], err, sizeof(err)) != MA_OK)
			goto fail;
	if (ma_dkim_verifier_new(dns, &verifier, err, sizeof(err)) != MA_OK)
		goto fail;
	atexit(teardown);
	return;
fail:
	fprintf(stderr, "fuzz_dkim: setup: %s\n", err);
	abort();
}

/* line_end - index past the line at p; *cend: end of its content */
static size_t
line_end(const uint8_t *m, size_t len, size_t p, size_t *cend)
{
	const uint8_t *nl = memchr(m + p, '\n', len - p);

	if (nl == NULL) {
		*cend = len;
		return (len);
	}
	*cend = (size_t) (nl - m);
	if (*cend > p && m[*cend - 1] == '\r')
		(*cend)--;
	return (*cend == (size_t) (nl - m) ? *cend + 1 : *cend + 2);
}

/* is_field_name - printable, no colon, no space, not empty */
static int
is_field_name(const uint8_t *p, size_t n)
{
	size_t	i;

	if (n == 0)
		return (0);
	for (i = 0; i < n; i++)
		if (p[i] < 33 || p[i] > 126)
			return (0);
	return (1);
}

/* feed - header fields (folds rewritten as CRLF), then the body */
static void
feed(struct ma_dkim_verify *dv, const uint8_t *m, size_t len, char *field)
{
	static const unsigned char crlf[2] = {'\r', '\n'};
	size_t	p = 0, next, cend, flen;
	const uint8_t *colon;

	while (p < len) {
		next = line_end(m, len, p, &cend);
		if (cend == p) {		/* empty line: end of header */
			p = next;
			break;
		}
		colon = memchr(m + p, ':', cend - p);
		if (colon == NULL || !is_field_name(m + p, (size_t) (colon - m) - p))
			break;
		memcpy(field, m + p, cend - p);
		flen = cend - p;
		p = next;
		while (p < len && (m[p] == ' ' || m[p] == '\t')) {
			next = line_end(m, len, p, &cend);
			memcpy(field + flen, "\r\n", 2);
			memcpy(field + flen + 2, m + p, cend - p);
			flen += 2 + cend - p;
			p = next;
		}
		if (ma_dkim_verify_header(dv, field, flen) != MA_OK)
			return;
	}
	if (ma_dkim_verify_eoh(dv) != MA_OK)
		return;
	while (p < len) {
		next = line_end(m, len, p, &cend);
		if (ma_dkim_verify_body(dv, m + p, cend - p) != MA_OK)
			return;
		if (next > cend && ma_dkim_verify_body(dv, crlf, 2) != MA_OK)
			return;
		p = next;
	}
}

/* LLVMFuzzerTestOneInput - verify one message */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ma_dkim_options opt;
	struct ma_arena *arena;
	struct ma_dkim_verify *dv = NULL;
	const struct ma_dkim_sig *sigs;
	size_t	n;
	char   *field;

	if (verifier == NULL)
		setup();
	/* a field with every LF turned into CRLF is at most twice the input */
	if ((field = malloc(2 * size + 1)) == NULL)
		return (0);
	if ((arena = ma_arena_new()) == NULL) {
		free(field);
		return (0);
	}
	memset(&opt, 0, sizeof(opt));
	opt.now = 1700000100;
	if (ma_dkim_verify_start(verifier, &opt, NULL, arena, &dv) == MA_OK) {
		feed(dv, data, size, field);
		(void) ma_dkim_verify_eom(dv, &sigs, &n);
	}
	ma_arena_free(&arena);
	free(field);
	return (0);
}
