/*
 * NAME
 *	fuzz_authres - libFuzzer target: Authentication-Results render/check
 * SUMMARY
 *	Feeds one input to ma_authres_is_ours() with a fixed authserv-id,
 *	and builds from it an ma_authres_input whose every string field
 *	is fuzzer-controlled for ma_authres_render().
 * SYNOPSIS
 *	#include <mailauth/authres.h>
 *	tests/fuzz/fuzz_authres [libFuzzer options] [corpus...]
 * DESCRIPTION
 *	Recognition: the whole input, copied into a malloc'ed buffer of
 *	exactly its length, is an A-R field value (NUL bytes allowed).
 *
 *	Rendering: the first FUZZ_HDR bytes choose which results exist,
 *	their result words and the number of DKIM signatures; the rest is
 *	split at NUL bytes into the strings, taken in the order of the
 *	fields table below (authserv-id first); missing ones are "". On
 *	MA_OK the value must not contain a NUL, bare CR or bare LF, and
 *	must start with the authserv-id.
 *	Run by tests/fuzz/run.sh; seeds in tests/fuzz/seeds/authres/.
 * MEMORY
 *	One arena and one string copy per input, freed before returning;
 *	no global state.
 * LIMITS
 *	Inputs above 64 KB are ignored; at most FUZZ_MAX_DKIM signatures.
 * DIAGNOSTICS
 *	abort() on a rendered value that breaks the checks above; otherwise
 *	a crash or sanitizer report is the finding.
 * THREADS
 *	Single-threaded, as libFuzzer runs it.
 * STANDARDS
 *	RFC 8601 section 2.2, 2.7 and 5.
 * SEE ALSO
 *	policy/authres.c, tests/unit/test_authres.c, tests/fuzz/run.sh
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mailauth/arena.h>
#include <mailauth/authres.h>

#define FUZZ_MAX_INPUT	65536
#define FUZZ_ID		"mx.example.net"
#define FUZZ_MAX_DKIM	3
#define FUZZ_HDR	8	/* control bytes before the strings */

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The strings the render input is made of, filled in this order. */
struct fuzz_strings {
	const char *authserv_id;
	const char *spf[2][4];		/* domain, sender, reason, explanation */
	const char *dkim[FUZZ_MAX_DKIM][6];	/* d, s, a, i, b, reason */
	const char *dmarc[6];		/* from, policy, org, reason,
					 * discovery, aligned d= */
	const char *rec[4];		/* rua, ruf, fo, warning */
};

#define FUZZ_NSTR	(sizeof(struct fuzz_strings) / sizeof(const char *))

/* The same, as an array for split_strings(). */
union fuzz_slots {
	struct fuzz_strings f;
	const char *a[FUZZ_NSTR];
};

/* fuzz_is_ours - recognition of our authserv-id in an A-R value */
static void
fuzz_is_ours(const uint8_t *data, size_t size)
{
	char   *buf;

	if ((buf = malloc(size ? size : 1)) == NULL)
		return;
	if (size > 0)
		memcpy(buf, data, size);
	(void) ma_authres_is_ours(buf, size, FUZZ_ID);
	free(buf);
}

/* split_strings - NUL-split p[0..len) into the slots; "" for the rest */
static void
split_strings(char *p, size_t len, const char **slot, size_t nslot)
{
	size_t	i, n;

	for (i = 0; i < nslot; i++) {
		if (len == 0) {
			slot[i] = "";
			continue;
		}
		slot[i] = p;
		n = strnlen(p, len);
		/* p[len] is the NUL the caller put after the input */
		p += n + (n < len);
		len -= n + (n < len);
	}
}

/* check_value - a rendered value is one header field body */
static void
check_value(const char *v, const char *id)
{
	size_t	i;

	if (v == NULL || strncmp(v, id, strlen(id)) != 0)
		abort();
	for (i = 0; v[i] != '\0'; i++) {
		if (v[i] == '\r' && v[i + 1] != '\n')
			abort();
		if (v[i] == '\n' && (i == 0 || v[i - 1] != '\r'))
			abort();
	}
}

/* fuzz_render - build a render input from the bytes and render it */
static void
fuzz_render(const uint8_t *data, size_t size)
{
	union fuzz_slots u;
	const struct fuzz_strings *sp = &u.f;
	struct ma_spf_outcome spf[2];
	struct ma_dkim_sig dkim[FUZZ_MAX_DKIM];
	struct ma_dmarc_outcome dmarc;
	struct ma_dmarc_record rec;
	struct ma_authres_input in;
	struct ma_arena *arena;
	const char *value = NULL;
	uint8_t	hdr[FUZZ_HDR];
	char   *text;
	size_t	i, tlen, ndkim;

	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, data, size < FUZZ_HDR ? size : FUZZ_HDR);
	tlen = size > FUZZ_HDR ? size - FUZZ_HDR : 0;
	if ((text = malloc(tlen + 1)) == NULL)
		return;
	if (tlen > 0)
		memcpy(text, data + FUZZ_HDR, tlen);
	text[tlen] = '\0';
	split_strings(text, tlen, u.a, FUZZ_NSTR);

	memset(&in, 0, sizeof(in));
	memset(spf, 0, sizeof(spf));
	memset(dkim, 0, sizeof(dkim));
	memset(&dmarc, 0, sizeof(dmarc));
	memset(&rec, 0, sizeof(rec));
	/* hdr[0]: authserv-id from the input (bit 0) or fixed */
	in.authserv_id = (hdr[0] & 1) ? sp->authserv_id : FUZZ_ID;
	for (i = 0; i < 2; i++) {
		spf[i].identity = i ? MA_SPF_HELO : MA_SPF_MAILFROM;
		spf[i].result = (enum ma_spf_result) (hdr[1 + i] % 8);
		spf[i].domain = sp->spf[i][0];
		spf[i].sender = sp->spf[i][1];
		spf[i].reason = sp->spf[i][2];
		spf[i].explanation = (hdr[1 + i] & 0x80) ? sp->spf[i][3] : NULL;
	}
	in.spf_mailfrom = (hdr[0] & 2) ? &spf[0] : NULL;
	in.spf_helo = (hdr[0] & 4) ? &spf[1] : NULL;
	ndkim = (hdr[0] >> 3) % (FUZZ_MAX_DKIM + 1);
	for (i = 0; i < ndkim; i++) {
		dkim[i].result = (enum ma_dkim_result) ((hdr[3] >> i) % 8);
		dkim[i].domain = sp->dkim[i][0];
		dkim[i].selector = sp->dkim[i][1];
		dkim[i].algorithm = sp->dkim[i][2];
		dkim[i].identity = (hdr[4] & (1u << i)) ? sp->dkim[i][3] : NULL;
		dkim[i].b = (hdr[4] & (8u << i)) ? sp->dkim[i][4] : NULL;
		dkim[i].key_bits = (unsigned) hdr[7] * 32u;
		dkim[i].reason = sp->dkim[i][5];
	}
	in.dkim = dkim;
	in.n_dkim = ndkim;
	rec.p = (enum ma_dmarc_policy) (hdr[6] % 4);
	rec.sp = (enum ma_dmarc_policy) ((hdr[6] >> 2) % 4);
	rec.np = (enum ma_dmarc_policy) ((hdr[6] >> 4) % 4);
	rec.psd = "ynu"[hdr[6] % 3];
	rec.testing = hdr[6] >> 7;
	rec.rua = sp->rec[0];
	rec.ruf = sp->rec[1];
	rec.fo = sp->rec[2];
	rec.warning = sp->rec[3];
	dmarc.result = (enum ma_dmarc_result) (hdr[5] % 6);
	dmarc.policy = (enum ma_dmarc_policy) ((hdr[5] >> 3) % 4);
	dmarc.disposition = (enum ma_dmarc_policy) ((hdr[5] >> 5) % 4);
	dmarc.testing = rec.testing;
	dmarc.from_domain = sp->dmarc[0];
	dmarc.policy_domain = sp->dmarc[1];
	dmarc.org_domain = sp->dmarc[2];
	dmarc.reason = sp->dmarc[3];
	dmarc.discovery = sp->dmarc[4];
	dmarc.dkim_aligned_domain = (hdr[7] & 1) ? sp->dmarc[5] : NULL;
	dmarc.spf_aligned = (hdr[7] >> 1) & 1;
	dmarc.dkim_aligned = (hdr[7] >> 2) & 1;
	dmarc.record = (hdr[7] & 8) ? &rec : NULL;
	dmarc.author_exists = (int) ((hdr[7] >> 4) % 3) - 1;
	in.dmarc = (hdr[0] & 0x80) ? &dmarc : NULL;

	if ((arena = ma_arena_new()) != NULL) {
		if (ma_authres_render(arena, &in, &value) == MA_OK)
			check_value(value, in.authserv_id);
		ma_arena_free(&arena);
	}
	free(text);
}

/* LLVMFuzzerTestOneInput - one input, recognition and rendering */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_INPUT)
		return 0;
	fuzz_is_ours(data, size);
	fuzz_render(data, size);
	return 0;
}
