/*
 * diag.c - collector of configuration problems; see diag.h.
 */
#include "diag.h"

#include <stdarg.h>
#include <stdio.h>

#include "mem.h"

void ds_diag_init(ds_diag *d)
{
	d->items = NULL;
	d->count = d->cap = d->errors = d->warnings = 0;
}

void ds_diag_free(ds_diag *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->count; i++) {
		ds_free(d->items[i].file);
		ds_free(d->items[i].path);
		ds_free(d->items[i].message);
	}
	ds_free(d->items);
	ds_diag_init(d);
}

static void add(ds_diag *d, bool warning, const char *file, const char *path,
		const char *fmt, va_list ap)
{
	char msg[1024];
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (d->count == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		ds_diag_entry *n = ds_realloc(d->items, cap * sizeof *n);
		if (!n)
			goto count;
		d->items = n;
		d->cap = cap;
	}
	ds_diag_entry *e = &d->items[d->count];
	e->file = ds_strdup(file ? file : "");
	e->path = ds_strdup(path ? path : "");
	e->message = ds_strdup(msg);
	e->warning = warning;
	if (!e->file || !e->path || !e->message) {
		ds_free(e->file);
		ds_free(e->path);
		ds_free(e->message);
		goto count;
	}
	d->count++;
count:
	/* Even when the entry could not be kept, the count stays right so
	 * that `check` still fails. */
	if (warning)
		d->warnings++;
	else
		d->errors++;
}

void ds_diag_error(ds_diag *d, const char *file, const char *path,
		   const char *fmt, ...)
{
	if (!d)
		return;
	va_list ap;
	va_start(ap, fmt);
	add(d, false, file, path, fmt, ap);
	va_end(ap);
}

void ds_diag_warn(ds_diag *d, const char *file, const char *path,
		  const char *fmt, ...)
{
	if (!d)
		return;
	va_list ap;
	va_start(ap, fmt);
	add(d, true, file, path, fmt, ap);
	va_end(ap);
}
