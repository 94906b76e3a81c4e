/*
 * NAME
 *	buf - bounded, arena-backed growing strings
 * SYNOPSIS
 *	#include <mailauth/buf.h>
 * DESCRIPTION
 *	Appends grow the buffer by doubling, inside its hard maximum.
 * MEMORY
 *	Storage comes from the arena; old storage stays there until the
 *	arena is freed (buffers are short-lived, per message).
 * DIAGNOSTICS
 *	MA_ERR_LIMIT past the maximum (buffer unchanged), MA_ERR_NOMEM.
 * THREADS
 *	As the arena.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <mailauth/arena.h>
#include <mailauth/buf.h>

/* ma_buf_init - empty buffer */
void
ma_buf_init(struct ma_buf *b, struct ma_arena *a, size_t max)
{
	b->arena = a;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

/* ma_buf_append - append with hard maximum */
enum ma_status
ma_buf_append(struct ma_buf *b, const void *p, size_t len)
{
	size_t	ncap;
	char   *nd;

	if (len > b->max || b->len > b->max - len)
		return (MA_ERR_LIMIT);
	if (b->data == NULL || b->len + len + 1 > b->cap) {
		ncap = b->cap ? b->cap : 64;
		while (ncap < b->len + len + 1)
			ncap *= 2;
		if (ncap > b->max + 1)
			ncap = b->max + 1;
		if ((nd = ma_arena_alloc(b->arena, ncap)) == NULL)
			return (MA_ERR_NOMEM);
		if (b->len > 0)
			memcpy(nd, b->data, b->len);
		b->data = nd;
		b->cap = ncap;
	}
	if (len > 0)
		memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
	return (MA_OK);
}

/* ma_buf_puts - append a C string */
enum ma_status
ma_buf_puts(struct ma_buf *b, const char *s)
{
	return (ma_buf_append(b, s, strlen(s)));
}

/* ma_buf_printf - append formatted text */
enum ma_status
ma_buf_printf(struct ma_buf *b, const char *fmt, ...)
{
	char	small[256];
	va_list	ap;
	int	n;
	char   *big;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return (MA_ERR_INTERNAL);
	if ((size_t) n < sizeof(small))
		return (ma_buf_append(b, small, (size_t) n));
	if ((size_t) n > b->max)
		return (MA_ERR_LIMIT);
	if ((big = ma_arena_alloc(b->arena, (size_t) n + 1)) == NULL)
		return (MA_ERR_NOMEM);
	va_start(ap, fmt);
	(void) vsnprintf(big, (size_t) n + 1, fmt, ap);
	va_end(ap);
	return (ma_buf_append(b, big, (size_t) n));
}

/* ma_buf_reset - empty */
void
ma_buf_reset(struct ma_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}
