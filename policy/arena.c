/*
 * NAME
 *	arena - per-message memory arena with cleanups
 * SYNOPSIS
 *	#include <mailauth/arena.h>
 * DESCRIPTION
 *	Memory comes from chained blocks; big requests get their own block.
 *	Cleanups are kept in a list and run newest first by ma_arena_free(),
 *	before the memory goes (a cleanup may read arena memory).
 * MEMORY
 *	The arena owns every block; callers never free arena pointers.
 * LIMITS
 *	None of its own: callers bound what they store (limits.h).
 * DIAGNOSTICS
 *	NULL on allocation failure; nothing is logged.
 * THREADS
 *	One thread at a time per arena.
 * SEE ALSO
 *	buf(3), STYLE.md section 6.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailauth/arena.h>

#define ARENA_BLOCK	8192

struct block {
	struct block *next;
	size_t	size;
	size_t	used;
	max_align_t data[];
};

struct cleanup {
	struct cleanup *next;
	ma_cleanup_fn fn;
	void   *arg;
};

struct ma_arena {
	struct block *head;
	struct cleanup *cleanups;
	size_t	total;
};

/* ma_arena_new - new arena */
struct ma_arena *
ma_arena_new(void)
{
	return (calloc(1, sizeof(struct ma_arena)));
}

/* ma_arena_free - run cleanups newest first, then release blocks */
void
ma_arena_free(struct ma_arena **ap)
{
	struct ma_arena *a;
	struct block *b, *bn;
	struct cleanup *c;

	if (ap == NULL || (a = *ap) == NULL)
		return;
	*ap = NULL;
	while ((c = a->cleanups) != NULL) {
		a->cleanups = c->next;
		c->fn(c->arg);
	}
	for (b = a->head; b != NULL; b = bn) {
		bn = b->next;
		free(b);
	}
	free(a);
}

/* ma_arena_alloc - zeroed aligned memory */
void   *
ma_arena_alloc(struct ma_arena *a, size_t size)
{
	const size_t align = _Alignof(max_align_t);
	struct block *b;
	size_t	need, bsize;
	void   *p;

	if (size == 0)
		size = 1;
	if (size > SIZE_MAX - align)
		return (NULL);
	need = (size + align - 1) & ~(align - 1);
	b = a->head;
	if (b == NULL || b->size - b->used < need) {
		bsize = need > ARENA_BLOCK ? need : ARENA_BLOCK;
		if (bsize > SIZE_MAX - sizeof(*b))
			return (NULL);
		if ((b = malloc(sizeof(*b) + bsize)) == NULL)
			return (NULL);
		b->size = bsize;
		b->used = 0;
		if (a->head != NULL && need > ARENA_BLOCK) {
			/* keep the partly used head block first */
			b->next = a->head->next;
			a->head->next = b;
		} else {
			b->next = a->head;
			a->head = b;
		}
	}
	p = (char *) b->data + b->used;
	b->used += need;
	a->total += need;
	memset(p, 0, size);
	return (p);
}

/* ma_arena_calloc - n*size with overflow check */
void   *
ma_arena_calloc(struct ma_arena *a, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return (NULL);
	return (ma_arena_alloc(a, n * size));
}

/* ma_arena_memdup - copy plus NUL */
char   *
ma_arena_memdup(struct ma_arena *a, const void *p, size_t len)
{
	char   *s;

	if (len == SIZE_MAX || (s = ma_arena_alloc(a, len + 1)) == NULL)
		return (NULL);
	if (len > 0)
		memcpy(s, p, len);
	s[len] = '\0';
	return (s);
}

/* ma_arena_strdup - copy of a C string */
char   *
ma_arena_strdup(struct ma_arena *a, const char *s)
{
	return (ma_arena_memdup(a, s, strlen(s)));
}

/* ma_arena_printf - formatted string */
char   *
ma_arena_printf(struct ma_arena *a, const char *fmt, ...)
{
	va_list	ap;
	int	n;
	char   *s;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (s = ma_arena_alloc(a, (size_t) n + 1)) == NULL)
		return (NULL);
	va_start(ap, fmt);
	(void) vsnprintf(s, (size_t) n + 1, fmt, ap);
	va_end(ap);
	return (s);
}

/* ma_arena_cleanup - register a cleanup */
int
ma_arena_cleanup(struct ma_arena *a, ma_cleanup_fn fn, void *arg)
{
	struct cleanup *c;

	if ((c = ma_arena_alloc(a, sizeof(*c))) == NULL)
		return (-1);
	c->fn = fn;
	c->arg = arg;
	c->next = a->cleanups;
	a->cleanups = c;
	return (0);
}

/* ma_arena_size - bytes handed out */
size_t
ma_arena_size(const struct ma_arena *a)
{
	return (a->total);
}
