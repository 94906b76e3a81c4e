/*
 * test_arena - arena, bounded buffers and log sanitising
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mailauth/arena.h>
#include <mailauth/buf.h>
#include <mailauth/log.h>

static int cleanup_order[4];
static int cleanup_n;

static void
record(void *arg)
{
	cleanup_order[cleanup_n++] = (int) (intptr_t) arg;
}

START_TEST(test_arena_alloc_zeroed_aligned)
{
	struct ma_arena *a = ma_arena_new();
	size_t	i;

	ck_assert_ptr_nonnull(a);
	for (i = 1; i < 20000; i += 997) {
		unsigned char *p = ma_arena_alloc(a, i);

		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq((uintptr_t) p % _Alignof(max_align_t), 0);
		ck_assert_uint_eq(p[0], 0);
		ck_assert_uint_eq(p[i - 1], 0);
		memset(p, 0xaa, i);
	}
	ck_assert_ptr_null(ma_arena_calloc(a, SIZE_MAX / 2, 4));
	ck_assert_ptr_null(ma_arena_alloc(a, SIZE_MAX));
	ma_arena_free(&a);
	ck_assert_ptr_null(a);
	ma_arena_free(&a);		/* NULL is fine */
}
END_TEST

START_TEST(test_arena_cleanups_newest_first)
{
	struct ma_arena *a = ma_arena_new();

	cleanup_n = 0;
	ck_assert_int_eq(ma_arena_cleanup(a, record, (void *) 1), 0);
	ck_assert_int_eq(ma_arena_cleanup(a, record, (void *) 2), 0);
	ck_assert_int_eq(ma_arena_cleanup(a, record, (void *) 3), 0);
	ma_arena_free(&a);
	ck_assert_int_eq(cleanup_n, 3);
	ck_assert_int_eq(cleanup_order[0], 3);
	ck_assert_int_eq(cleanup_order[2], 1);
}
END_TEST

START_TEST(test_arena_strings)
{
	struct ma_arena *a = ma_arena_new();
	char   *s = ma_arena_memdup(a, "a\0b", 3);

	ck_assert_int_eq(memcmp(s, "a\0b\0", 4), 0);
	ck_assert_str_eq(ma_arena_printf(a, "%s-%d", "x", 42), "x-42");
	ck_assert_str_eq(ma_arena_strdup(a, "hello"), "hello");
	ma_arena_free(&a);
}
END_TEST

START_TEST(test_buf_hard_limit_never_truncates)
{
	struct ma_arena *a = ma_arena_new();
	struct ma_buf b;

	ma_buf_init(&b, a, 10);
	ck_assert_int_eq(ma_buf_puts(&b, "12345"), MA_OK);
	ck_assert_int_eq(ma_buf_puts(&b, "67890"), MA_OK);
	ck_assert_int_eq(ma_buf_puts(&b, "x"), MA_ERR_LIMIT);
	ck_assert_uint_eq(b.len, 10);
	ck_assert_str_eq(b.data, "1234567890");
	ma_buf_reset(&b);
	ck_assert_int_eq(ma_buf_printf(&b, "%s", "this is longer than ten"), MA_ERR_LIMIT);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(ma_buf_append(&b, "a\0b", 3), MA_OK);
	ck_assert_uint_eq(b.len, 3);
	ma_arena_free(&a);
}
END_TEST

START_TEST(test_buf_grows)
{
	struct ma_arena *a = ma_arena_new();
	struct ma_buf b;
	int	i;

	ma_buf_init(&b, a, 1 << 20);
	for (i = 0; i < 10000; i++)
		ck_assert_int_eq(ma_buf_printf(&b, "%d,", i % 10), MA_OK);
	ck_assert_uint_eq(b.len, 20000);
	ma_arena_free(&a);
}
END_TEST

START_TEST(test_log_sanitize)
{
	static const struct {
		const char *in;
		size_t	inlen;
		size_t	outlen;
		const char *want;
	} t[] = {
		{"plain", 5, 64, "plain"},
		{"a\r\nb", 4, 64, "a??b"},
		{"q\"uo\\te", 7, 64, "q?uo?te"},
		{"n\0l", 3, 64, "n?l"},
		{"\xc3\xa9t\xc3\xa9", 5, 64, "??t??"},
		{"0123456789abcdef", 16, 8, "0123..."},
	};
	char	out[64];
	size_t	i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ma_log_sanitize(out, t[i].outlen, t[i].in, t[i].inlen);
		ck_assert_msg(strcmp(out, t[i].want) == 0, "case %zu: got \"%s\", want \"%s\"",
			      i, out, t[i].want);
	}
}
END_TEST

int
main(void)
{
	Suite  *s = suite_create("arena");
	TCase  *tc = tcase_create("core");
	SRunner *sr;
	int	failed;

	tcase_add_test(tc, test_arena_alloc_zeroed_aligned);
	tcase_add_test(tc, test_arena_cleanups_newest_first);
	tcase_add_test(tc, test_arena_strings);
	tcase_add_test(tc, test_buf_hard_limit_never_truncates);
	tcase_add_test(tc, test_buf_grows);
	tcase_add_test(tc, test_log_sanitize);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
