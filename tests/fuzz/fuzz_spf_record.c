/*
 * NAME
 *	fuzz_spf_record - libFuzzer target: SPF record syntax check
 * SUMMARY
 *	Feeds one input to ma_spf_record_check() as a "v=spf1 ..." record.
 * SYNOPSIS
 *	#include <mailauth/spf.h>
 *	tests/fuzz/fuzz_spf_record [libFuzzer options] [corpus...]
 * DESCRIPTION
 *	The input is copied into a malloc'ed buffer of exactly its length
 *	(no NUL after it). The error buffer is filled with a marker first;
 *	on MA_ERR_SYNTAX or MA_ERR_LIMIT it must hold a NUL-terminated reason within its
 *	size. Run by tests/fuzz/run.sh; seeds (records from the RFC 7208
 *	test suite) in tests/fuzz/seeds/spf_record/.
 * MEMORY
 *	The copy is freed before returning; no global state.
 * LIMITS
 *	Inputs above 64 KB are ignored.
 * DIAGNOSTICS
 *	abort() on an unterminated reason or an unknown status; otherwise a
 *	crash or sanitizer report is the finding.
 * THREADS
 *	Single-threaded, as libFuzzer runs it.
 * STANDARDS
 *	RFC 7208 section 4.5 and 12.
 * SEE ALSO
 *	policy/spf_record.c, tests/unit/test_spf_record.c, tests/fuzz/run.sh
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mailauth/spf.h>

#define FUZZ_MAX_INPUT	65536
#define FUZZ_ERRLEN	128

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - one input as one SPF record */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	err[FUZZ_ERRLEN];
	enum ma_status st;
	char   *buf;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	if ((buf = malloc(size ? size : 1)) == NULL)
		return 0;
	if (size > 0)
		memcpy(buf, data, size);
	memset(err, 'X', sizeof(err));
	st = ma_spf_record_check(buf, size, err, sizeof(err));
	if (st == MA_ERR_SYNTAX || st == MA_ERR_LIMIT) {
		if (memchr(err, '\0', sizeof(err)) == NULL)
			abort();
	} else if (st != MA_OK && st != MA_ERR_NOMEM) {
		abort();
	}
	free(buf);
	return 0;
}
