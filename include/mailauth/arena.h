/*
 * NAME
 *	arena.h - per-message memory arena with cleanups
 * DESCRIPTION
 *	Everything a transaction allocates comes from one arena and is
 *	released by ma_arena_free(); no single frees. Non-memory resources
 *	(library handles) register a cleanup, run in reverse order at free.
 *	An arena is used by one thread at a time.
 */
#ifndef MAILAUTH_ARENA_H
#define MAILAUTH_ARENA_H

#include <stddef.h>

struct ma_arena;

typedef void (*ma_cleanup_fn)(void *arg);

/* ma_arena_new - new arena, or NULL when out of memory */
struct ma_arena *ma_arena_new(void);

/* ma_arena_free - run cleanups (newest first), release memory, clear *ap */
void	ma_arena_free(struct ma_arena **ap);

/* ma_arena_alloc - zeroed, max_align_t-aligned memory; NULL when out of memory */
void   *ma_arena_alloc(struct ma_arena *a, size_t size);

/* ma_arena_calloc - n*size with overflow check */
void   *ma_arena_calloc(struct ma_arena *a, size_t n, size_t size);

/* ma_arena_memdup - copy of len bytes plus a NUL terminator */
char   *ma_arena_memdup(struct ma_arena *a, const void *p, size_t len);

/* ma_arena_strdup - copy of a NUL-terminated string */
char   *ma_arena_strdup(struct ma_arena *a, const char *s);

/* ma_arena_printf - formatted string in the arena */
char   *ma_arena_printf(struct ma_arena *a, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* ma_arena_cleanup - register fn(arg) to run at ma_arena_free; 0 or -1 */
int	ma_arena_cleanup(struct ma_arena *a, ma_cleanup_fn fn, void *arg);

/* ma_arena_size - bytes handed out so far (for limits and tests) */
size_t	ma_arena_size(const struct ma_arena *a);

#endif
