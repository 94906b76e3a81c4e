/*
 * NAME
 *	fuzz_dmarc_record - libFuzzer target: DMARC record parser
 * SUMMARY
 *	Feeds one input to ma_dmarc_record_parse() as a TXT record.
 * SYNOPSIS
 *	#include <mailauth/dmarc.h>
 *	tests/fuzz/fuzz_dmarc_record [libFuzzer options] [corpus...]
 * DESCRIPTION
 *	The input is copied into a malloc'ed buffer of exactly its length
 *	(no NUL after it). On MA_OK the parsed record is checked for
 *	in-range enums and readable strings; on MA_ERR_SYNTAX the reason
 *	must be a string. Run by tests/fuzz/run.sh; seeds in
 *	tests/fuzz/seeds/dmarc_record/.
 * MEMORY
 *	One arena per input, freed before returning; no global state.
 * LIMITS
 *	Inputs above 64 KB are ignored (the parser stops at
 *	MA_LIMIT_DMARC_RECORD_BYTES anyway).
 * DIAGNOSTICS
 *	abort() on an inconsistent MA_OK result; otherwise a crash or
 *	sanitizer report is the finding.
 * THREADS
 *	Single-threaded, as libFuzzer runs it.
 * STANDARDS
 *	RFC 9989 section 4.7 and 4.8.
 * SEE ALSO
 *	policy/dmarc_record.c, tests/unit/test_dmarc.c, tests/fuzz/run.sh
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mailauth/arena.h>
#include <mailauth/dmarc.h>

#define FUZZ_MAX_INPUT	65536

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check_opt_str - touch every byte of an optional string */
static void
check_opt_str(const char *s)
{
	if (s != NULL)
		(void) strlen(s);
}

/* check_policy - a policy value the enum knows */
static void
check_policy(enum ma_dmarc_policy p)
{
	if ((unsigned) p > (unsigned) MA_DMARC_P_REJECT)
		abort();
}

/* check_record - a parsed record is consistent */
static void
check_record(const struct ma_dmarc_record *r)
{
	check_policy(r->p);
	check_policy(r->sp);
	check_policy(r->np);
	if (r->psd != 'y' && r->psd != 'n' && r->psd != 'u')
		abort();
	if ((unsigned) r->adkim > (unsigned) MA_DMARC_ALIGN_STRICT
	    || (unsigned) r->aspf > (unsigned) MA_DMARC_ALIGN_STRICT)
		abort();
	check_opt_str(r->rua);
	check_opt_str(r->ruf);
	check_opt_str(r->fo);
	check_opt_str(r->warning);
	(void) ma_dmarc_policy_str(r->p);
}

/* LLVMFuzzerTestOneInput - one input as one TXT record */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ma_arena *arena;
	struct ma_dmarc_record rec;
	const char *why = NULL;
	enum ma_status st;
	char   *buf;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	if ((buf = malloc(size ? size : 1)) == NULL)
		return 0;
	if (size > 0)
		memcpy(buf, data, size);
	if ((arena = ma_arena_new()) == NULL) {
		free(buf);
		return 0;
	}
	memset(&rec, 0, sizeof(rec));
	st = ma_dmarc_record_parse(buf, size, arena, &rec, &why);
	if (st == MA_OK)
		check_record(&rec);
	else if (st == MA_ERR_SYNTAX)
		check_opt_str(why);
	ma_arena_free(&arena);
	free(buf);
	return 0;
}
