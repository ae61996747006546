/*
 * mem.c - allocation wrapper, arenas and bounded buffers; see mem.h.
 */
#include "mem.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long fail_after = -1;

static bool may_alloc(void)
{
	if (fail_after < 0)
		return true;
	if (fail_after == 0)
		return false;
	fail_after--;
	return true;
}

void ds_mem_fail_after(long n) { fail_after = n; }

void *ds_malloc(size_t n)
{
	return may_alloc() ? malloc(n ? n : 1) : NULL;
}

void *ds_calloc(size_t count, size_t n)
{
	return may_alloc() ? calloc(count ? count : 1, n ? n : 1) : NULL;
}

void *ds_realloc(void *p, size_t n)
{
	return may_alloc() ? realloc(p, n ? n : 1) : NULL;
}

char *ds_strndup(const char *s, size_t n)
{
	char *d = ds_malloc(n + 1);
	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *ds_strdup(const char *s)
{
	return s ? ds_strndup(s, strlen(s)) : NULL;
}

void ds_free(void *p) { free(p); }

void ds_strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		ds_free(v[i]);
	ds_free(v);
}

/* ---- zoned blocks ---- */

#define HEAP_BLOCK 0x48454150u
#define ZONE_BLOCK 0x5a4f4e45u

typedef struct zone_head {
	size_t size;
	uint32_t from;
	uint32_t unused;
} zone_head;
_Static_assert(sizeof(zone_head) == 16, "zoned blocks stay 16-byte aligned");

void *ds_zone_alloc(ds_arena *zone, size_t n, bool injected)
{
	if (n > SIZE_MAX - sizeof(zone_head))
		return NULL;
	zone_head *h = NULL;
	if (zone && ds_arena_size(zone) < DS_ZONE_MAX && (h = ds_arena_alloc(zone, sizeof *h + n))) {
		h->from = ZONE_BLOCK;
	} else {
		if (!(h = injected ? ds_malloc(sizeof *h + n) : malloc(sizeof *h + n)))
			return NULL;
		h->from = HEAP_BLOCK;
	}
	h->size = n;
	return h + 1;
}

void ds_zone_free(void *p)
{
	if (!p)
		return;
	zone_head *h = (zone_head *)p - 1;
	if (h->from == ZONE_BLOCK)
		return;
	h->from = 0;
	free(h);
}

void *ds_zone_realloc(ds_arena *zone, void *p, size_t n, bool injected)
{
	if (!p)
		return ds_zone_alloc(zone, n, injected);
	zone_head *h = (zone_head *)p - 1;
	if (h->from == HEAP_BLOCK) {
		if (n > SIZE_MAX - sizeof *h)
			return NULL;
		zone_head *r = injected ? ds_realloc(h, sizeof *h + n) : realloc(h, sizeof *h + n);
		if (!r)
			return NULL;
		r->size = n;
		return r + 1;
	}
	void *q = ds_zone_alloc(zone, n, injected);
	if (q)
		memcpy(q, p, h->size < n ? h->size : n);
	return q;
}

bool ds_zone_owns(const void *p)
{
	return ((const zone_head *)p - 1)->from == ZONE_BLOCK;
}

static _Thread_local ds_arena *json_zone;

void ds_json_zone(ds_arena *a) { json_zone = a; }

static void *json_alloc(size_t n) { return ds_zone_alloc(json_zone, n, true); }

void ds_mem_init(void)
{
	cJSON_Hooks hooks = { .malloc_fn = json_alloc, .free_fn = ds_zone_free };
	cJSON_InitHooks(&hooks);
}

/* ---- arena ---- */

struct block {
	struct block *next;
	size_t size;
	size_t used;
	_Alignas(16) unsigned char data[];
};

struct cleanup {
	struct cleanup *next;
	void (*fn)(void *);
	void *p;
};

/* Blocks of the standard size kept by a reset for the next allocations,
 * so that an arena reused input after input does not go back to malloc
 * (and give large blocks back to it) each time. */
#define KEEP_BLOCKS 8

struct ds_arena {
	struct block *head;
	struct block *spare;      /* standard blocks kept by a reset */
	struct cleanup *cleanups;
	size_t block_size;
	size_t total;
};

ds_arena *ds_arena_new(size_t block_size)
{
	ds_arena *a = ds_calloc(1, sizeof *a);
	if (!a)
		return NULL;
	a->block_size = block_size < 1024 ? 1024 : block_size;
	return a;
}

static void run_cleanups(ds_arena *a)
{
	for (struct cleanup *c = a->cleanups; c; c = c->next)
		c->fn(c->p);
	a->cleanups = NULL;
}

void ds_arena_reset(ds_arena *a)
{
	if (!a)
		return;
	run_cleanups(a);
	struct block *keep = NULL;
	size_t kept = 0;
	for (struct block *s = a->spare; s; s = s->next)
		kept++;
	struct block *b = a->head;
	while (b) {
		struct block *next = b->next;
		if (b->size != a->block_size) {
			free(b);
		} else if (!keep) {
			keep = b;
			keep->next = NULL;
			keep->used = 0;
		} else if (kept < KEEP_BLOCKS) {
			b->next = a->spare;
			a->spare = b;
			kept++;
		} else {
			free(b);
		}
		b = next;
	}
	a->head = keep;
	a->total = keep ? keep->size : 0;
}

void ds_arena_free(ds_arena *a)
{
	if (!a)
		return;
	run_cleanups(a);
	for (int list = 0; list < 2; list++) {
		struct block *b = list ? a->spare : a->head;
		while (b) {
			struct block *next = b->next;
			free(b);
			b = next;
		}
	}
	free(a);
}

void *ds_arena_alloc(ds_arena *a, size_t n)
{
	size_t need = (n + 15) & ~(size_t)15;
	if (need < n)
		return NULL;
	struct block *b = a->head;
	if (!b || b->size - b->used < need) {
		size_t size = need > a->block_size ? need : a->block_size;
		struct block *nb;
		if (size == a->block_size && a->spare) {
			nb = a->spare;
			a->spare = nb->next;
		} else if (!(nb = ds_malloc(sizeof *nb + size))) {
			return NULL;
		}
		nb->size = size;
		nb->used = 0;
		if (b && size > a->block_size) {
			/* An oversized block goes behind the current one, so the
			 * current block keeps serving small allocations. */
			nb->next = b->next;
			b->next = nb;
			nb->used = need;
			a->total += size;
			return nb->data;
		}
		nb->next = b;
		a->head = nb;
		a->total += size;
		b = nb;
	}
	void *p = b->data + b->used;
	b->used += need;
	return p;
}

char *ds_arena_strndup(ds_arena *a, const char *s, size_t n)
{
	char *d = ds_arena_alloc(a, n + 1);
	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *ds_arena_strdup(ds_arena *a, const char *s)
{
	return s ? ds_arena_strndup(a, s, strlen(s)) : NULL;
}

char *ds_arena_printf(ds_arena *a, const char *fmt, ...)
{
	va_list ap, ap2;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *d = NULL;
	if (n >= 0 && (d = ds_arena_alloc(a, (size_t)n + 1)) != NULL)
		vsnprintf(d, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	return d;
}

int ds_arena_defer(ds_arena *a, void (*fn)(void *), void *p)
{
	struct cleanup *c = ds_arena_alloc(a, sizeof *c);
	if (!c) {
		fn(p);
		return DS_ENOMEM;
	}
	c->fn = fn;
	c->p = p;
	c->next = a->cleanups;
	a->cleanups = c;
	return DS_OK;
}

size_t ds_arena_size(const ds_arena *a) { return a ? a->total : 0; }

void *ds_room(void *v, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return v;
	size_t c = *cap ? *cap * 2 : 16;
	void *nv = ds_realloc(v, c * size);
	if (nv)
		*cap = c;
	return nv;
}

int ds_grow(char **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return DS_OK;
	size_t n = *cap < 256 ? 256 : *cap;
	while (n < need)
		n = n > SIZE_MAX / 2 ? need : n * 2;
	char *b = ds_realloc(*buf, n);
	if (!b)
		return DS_ENOMEM;
	*buf = b;
	*cap = n;
	return DS_OK;
}

/* ---- bounded buffer ---- */

void ds_buf_init(ds_buf *b, size_t max)
{
	b->data = NULL;
	b->len = b->cap = 0;
	b->max = max;
}

void ds_buf_free(ds_buf *b)
{
	ds_free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void ds_buf_reset(ds_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

static int grow(ds_buf *b, size_t extra)
{
	if (extra > b->max || b->len > b->max - extra)
		return DS_ELIMIT;
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return DS_OK;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	char *d = ds_realloc(b->data, cap);
	if (!d)
		return DS_ENOMEM;
	b->data = d;
	b->cap = cap;
	return DS_OK;
}

int ds_buf_append(ds_buf *b, const void *p, size_t n)
{
	int rc = grow(b, n);
	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return DS_OK;
}

int ds_buf_reserve(ds_buf *b, size_t n) { return grow(b, n); }

int ds_buf_puts(ds_buf *b, const char *s) { return ds_buf_append(b, s, strlen(s)); }

int ds_buf_putc(ds_buf *b, char c) { return ds_buf_append(b, &c, 1); }

int ds_buf_put_i64(ds_buf *b, int64_t v)
{
	char nb[24], *p = nb + sizeof nb;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	do
		*--p = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--p = '-';
	return ds_buf_append(b, p, (size_t)(nb + sizeof nb - p));
}

int ds_buf_vprintf(ds_buf *b, const char *fmt, va_list ap)
{
	/* Printed once into the room there is; again only when it did not
	 * fit. */
	va_list ap2;
	va_copy(ap2, ap);
	size_t room = b->cap > b->len ? b->cap - b->len : 0;
	int n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return DS_EINTERNAL;
	if ((size_t)n < room) {
		if (b->len + (size_t)n > b->max) {
			b->data[b->len] = '\0';
			return DS_ELIMIT;
		}
		b->len += (size_t)n;
		return DS_OK;
	}
	int rc = grow(b, (size_t)n);
	if (rc) {
		if (b->data)
			b->data[b->len] = '\0';
		return rc;
	}
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return DS_OK;
}

int ds_buf_printf(ds_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = ds_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

char *ds_buf_steal(ds_buf *b)
{
	char *d = b->data;
	if (!d)
		d = ds_strdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	return d;
}
