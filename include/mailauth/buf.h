/*
 * NAME
 *	buf.h - bounded, arena-backed growing strings
 * DESCRIPTION
 *	A ma_buf has a hard maximum. Appending past it returns MA_ERR_LIMIT
 *	and leaves the buffer unchanged: nothing is truncated silently. The
 *	data is always NUL-terminated (the NUL is not counted in len) but
 *	may hold NUL bytes itself; use len.
 */
#ifndef MAILAUTH_BUF_H
#define MAILAUTH_BUF_H

#include <stddef.h>
#include <mailauth/status.h>

struct ma_arena;

struct ma_buf {
	struct ma_arena *arena;
	char   *data;		/* NUL-terminated, may contain NULs */
	size_t	len;
	size_t	cap;
	size_t	max;		/* hard maximum of len */
};

/* ma_buf_init - empty buffer with hard maximum max bytes */
void	ma_buf_init(struct ma_buf *b, struct ma_arena *a, size_t max);

/* ma_buf_append - append len bytes; MA_ERR_LIMIT past max, MA_ERR_NOMEM */
enum ma_status ma_buf_append(struct ma_buf *b, const void *p, size_t len);

/* ma_buf_puts - append a NUL-terminated string */
enum ma_status ma_buf_puts(struct ma_buf *b, const char *s);

/* ma_buf_printf - append formatted text */
enum ma_status ma_buf_printf(struct ma_buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* ma_buf_reset - make the buffer empty again (memory stays in the arena) */
void	ma_buf_reset(struct ma_buf *b);

#endif
