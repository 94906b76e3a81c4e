/*
 * NAME
 *	strlcpy - bounded string copy (replacement for libcs that lack it)
 * DESCRIPTION
 *	Copies at most size-1 bytes of src into dst, always NUL-terminates
 *	when size > 0, and returns strlen(src) so that truncation can be
 *	detected with "ret >= size". Written for this project.
 */
#include "config.h"
#include <string.h>

size_t	strlcpy(char *dst, const char *src, size_t size);

/* strlcpy - copy with truncation detection */
size_t
strlcpy(char *dst, const char *src, size_t size)
{
	size_t	len = strlen(src);

	if (size > 0) {
		size_t	n = len >= size ? size - 1 : len;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return (len);
}
