/*
 * NAME
 *	fuzz_from - libFuzzer target: From field and envelope path parsers
 * SUMMARY
 *	Feeds one input to ma_rfc5322_from_addresses() as a From field value
 *	and to ma_rfc5321_path_domain() as a MAIL FROM path.
 * SYNOPSIS
 *	#include <mailauth/rfc5322.h>
 *	tests/fuzz/fuzz_from [libFuzzer options] [corpus...]
 * DESCRIPTION
 *	The input is copied into a malloc'ed buffer of exactly its length
 *	(no NUL after it), so AddressSanitizer sees any read past the end.
 *	On MA_OK the results are read back (every domain and local part
 *	walked to its NUL), to check they are well-formed strings in the
 *	arena. Run by tests/fuzz/run.sh; seeds in tests/fuzz/seeds/from/.
 * MEMORY
 *	One arena per input, freed before returning; no global state.
 * LIMITS
 *	Inputs above 64 KB are ignored (MTAs cap header lines well below).
 * DIAGNOSTICS
 *	abort() when a parser reports MA_OK with an inconsistent result;
 *	otherwise a crash or sanitizer report is the finding.
 * THREADS
 *	Single-threaded, as libFuzzer runs it.
 * STANDARDS
 *	RFC 5322 section 3.4 and 4.4; RFC 5321 section 4.1.2.
 * SEE ALSO
 *	policy/rfc5322.c, tests/unit/test_rfc5322.c, tests/fuzz/run.sh
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mailauth/arena.h>
#include <mailauth/rfc5322.h>

#define FUZZ_MAX_INPUT	65536

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check_str - touch every byte of a result string; abort if NULL */
static size_t
check_str(const char *s)
{
	if (s == NULL)
		abort();
	return strlen(s);
}

/* fuzz_from_field - From value parser and its results */
static void
fuzz_from_field(const char *buf, size_t len)
{
	struct ma_arena *arena;
	const char **locals = NULL, **domains = NULL;
	size_t	n = 0, i;

	if ((arena = ma_arena_new()) == NULL)
		return;
	if (ma_rfc5322_from_addresses(buf, len, arena, &locals, &domains,
				      &n) == MA_OK) {
		if (n == 0 || locals == NULL || domains == NULL)
			abort();
		for (i = 0; i < n; i++) {
			(void) check_str(locals[i]);
			if (check_str(domains[i]) == 0)
				abort();
		}
	}
	ma_arena_free(&arena);
}

/* fuzz_path - envelope path parser and its results */
static void
fuzz_path(const char *buf, size_t len)
{
	struct ma_arena *arena;
	const char *addr = NULL, *domain = NULL;

	if ((arena = ma_arena_new()) == NULL)
		return;
	if (ma_rfc5321_path_domain(buf, len, arena, &addr, &domain) == MA_OK) {
		(void) check_str(addr);
		(void) check_str(domain);
	}
	ma_arena_free(&arena);
}

/* LLVMFuzzerTestOneInput - one input, both parsers */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char   *buf;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	if ((buf = malloc(size ? size : 1)) == NULL)
		return 0;
	if (size > 0)
		memcpy(buf, data, size);
	fuzz_from_field(buf, size);
	fuzz_path(buf, size);
	free(buf);
	return 0;
}
