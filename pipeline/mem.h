/*
 * mem.h - allocation wrapper, per-record arenas and bounded buffers.
 *
 * All allocation goes through ds_malloc() and friends so that tests can make
 * the N-th allocation fail (ds_mem_fail_after) and walk the error paths.
 * cJSON is routed through the same wrapper by ds_mem_init(), as zoned
 * blocks (below): free cJSON's strings with cJSON_free, never ds_free.
 *
 * An arena owns every temporary allocation of one record, plus cleanups for
 * foreign objects (cJSON trees, statements...) registered with
 * ds_arena_defer(); ds_arena_reset() runs the cleanups in reverse order and
 * keeps the first block for the next record, so steady-state processing does
 * not touch malloc for small objects.
 *
 * A ds_buf always carries a maximum size: appending past it fails with
 * DS_ELIMIT instead of growing without bound.
 */
#ifndef DS_MEM_H
#define DS_MEM_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

void *ds_malloc(size_t n);
void *ds_calloc(size_t count, size_t n);
void *ds_realloc(void *p, size_t n);
char *ds_strdup(const char *s);
char *ds_strndup(const char *s, size_t n);
void ds_free(void *p);
/* Frees the n strings of v and v itself; accepts NULL. */
void ds_strv_free(char **v, size_t n);

/* Installs the wrapper as cJSON's allocator; call once at start-up. */
void ds_mem_init(void);

/* Tests only: the next n allocations succeed, every later one fails;
 * a negative n turns failure injection off. Not thread-safe. */
void ds_mem_fail_after(long n);

typedef struct ds_arena ds_arena;

/* Creates an arena whose blocks are at least block_size bytes. */
ds_arena *ds_arena_new(size_t block_size);
/* Runs cleanups, frees everything; accepts NULL. */
void ds_arena_free(ds_arena *a);
/* Runs cleanups and forgets allocations, keeping one block for reuse. */
void ds_arena_reset(ds_arena *a);
/* Memory owned by the arena, 16-byte aligned; NULL when out of memory. */
void *ds_arena_alloc(ds_arena *a, size_t n);
char *ds_arena_strdup(ds_arena *a, const char *s);
char *ds_arena_strndup(ds_arena *a, const char *s, size_t n);
char *ds_arena_printf(ds_arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Registers fn(p) to run at reset/free (reverse order of registration).
 * On failure fn(p) is run at once and DS_ENOMEM is returned, so the caller
 * never leaks p. */
int ds_arena_defer(ds_arena *a, void (*fn)(void *), void *p);
/* Total bytes currently reserved by the arena (for tests and limits). */
size_t ds_arena_size(const ds_arena *a);

/* Zoned blocks, for the allocators of libraries (libxml2, cJSON) whose
 * objects one thread makes and drops by the thousand. Each block carries
 * a 16-byte header saying where it came from: an arena, the zone, or the
 * heap. ds_zone_alloc takes from zone when one is given and it has served
 * less than DS_ZONE_MAX bytes, else from the heap (ds_malloc when
 * injected, so that tests can make it fail; malloc otherwise).
 * ds_zone_free frees a heap block and leaves a zone block alone: the
 * arena's reset or free takes it back; so a zone must outlive every use of
 * its blocks. Heap and zone blocks may be freed from any thread. */
#define DS_ZONE_MAX (64u << 20)
void *ds_zone_alloc(ds_arena *zone, size_t n, bool injected);
void *ds_zone_realloc(ds_arena *zone, void *p, size_t n, bool injected);
void ds_zone_free(void *p);
/* Whether the block p came from a zone. */
bool ds_zone_owns(const void *p);

/* The calling thread's zone for cJSON's allocations (NULL: the heap). */
void ds_json_zone(ds_arena *a);

/* Grows the heap buffer *buf (capacity *cap) to hold at least need bytes,
 * doubling from 256; the caller bounds need. 0 or DS_ENOMEM (*buf then
 * unchanged). */
int ds_grow(char **buf, size_t *cap, size_t need);

/* The heap array v of n items of `size` bytes, with room for one more
 * (capacity *cap, doubled from 16 when full); NULL when memory runs out
 * (v is then unchanged). */
void *ds_room(void *v, size_t n, size_t *cap, size_t size);

typedef struct ds_buf {
	char *data;   /* NUL-terminated when len > 0 or after any append */
	size_t len;
	size_t cap;
	size_t max;   /* appends beyond max bytes fail with DS_ELIMIT */
} ds_buf;

void ds_buf_init(ds_buf *b, size_t max);
void ds_buf_free(ds_buf *b);
void ds_buf_reset(ds_buf *b);  /* len = 0, keeps the allocation */
int ds_buf_append(ds_buf *b, const void *p, size_t n);
/* Room for n more bytes (and the NUL) without growing again: 0,
 * DS_ELIMIT (past the maximum), DS_ENOMEM. */
int ds_buf_reserve(ds_buf *b, size_t n);
int ds_buf_puts(ds_buf *b, const char *s);
int ds_buf_putc(ds_buf *b, char c);
/* v in decimal, without printf. */
int ds_buf_put_i64(ds_buf *b, int64_t v);
int ds_buf_printf(ds_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int ds_buf_vprintf(ds_buf *b, const char *fmt, va_list ap);
/* Hands the data to the caller (free with ds_free) and resets b. */
char *ds_buf_steal(ds_buf *b);

#endif
