/*
 * diag.h - problems found while loading configuration, for `dossier check`.
 *
 * Loaders of schemas, sources, processes and templates report each problem
 * with the file, the JSON path inside it ("/states/draft/on/0/when", or ""
 * for the whole file) and a one-line message. Errors make `check` exit 2;
 * warnings are printed without failing. The collector copies its inputs.
 */
#ifndef DS_DIAG_H
#define DS_DIAG_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ds_diag_entry {
	char *file;
	char *path;
	char *message;
	bool warning;
} ds_diag_entry;

typedef struct ds_diag {
	ds_diag_entry *items;
	size_t count;
	size_t cap;
	size_t errors;
	size_t warnings;
} ds_diag;

void ds_diag_init(ds_diag *d);
void ds_diag_free(ds_diag *d);
/* Records an error; d may be NULL (the problem is then dropped). */
void ds_diag_error(ds_diag *d, const char *file, const char *path,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void ds_diag_warn(ds_diag *d, const char *file, const char *path,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
