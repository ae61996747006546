/*
 * config.h - everything under a home directory: dossier.json settings and
 * the business definitions in schemas/ (record types, sources, processes,
 * document templates), loaded and cross-checked together.
 *
 * A ds_config is immutable once loaded and shared by every thread. Loading
 * reports every problem to a ds_diag (file, JSON path, message) rather than
 * stopping at the first, which is what `dossier check` prints.
 */
#ifndef DS_CONFIG_H
#define DS_CONFIG_H

#include <stddef.h>

#include "diag.h"
#include "err.h"
#include "pdf.h"
#include "process.h"
#include "schema.h"
#include "source.h"

typedef struct ds_limits {
	size_t max_input_bytes;  /* one interaction */
	int max_depth;           /* JSON nesting */
} ds_limits;

typedef struct ds_config {
	char *home;
	char *store_url;         /* from dossier.json, or the default */
	char *documents_dir;     /* absolute or relative to home */
	size_t batch_size;       /* inputs per transaction */
	ds_limits limits;
	ds_schema_set *schemas;
	ds_source **sources;
	size_t nsources;
	ds_process **processes;
	size_t nprocesses;
	ds_doc_template **templates;
	size_t ntemplates;
} ds_config;

/* Loads home's configuration. Problems go to diag. Returns 0 when there is
 * none, DS_ECONFIG when there are (the config is still returned, with
 * whatever loaded, so `check` can report everything), other codes for
 * internal failures (then *out is NULL). */
int ds_config_load(const char *home, ds_diag *diag, ds_config **out,
		   ds_err *err);
void ds_config_free(ds_config *c);

const ds_source *ds_config_source(const ds_config *c, const char *name);
const ds_process *ds_config_process(const ds_config *c, const char *name);
/* The process that consumes a record type, or NULL. */
const ds_process *ds_config_process_for(const ds_config *c, const char *type);
const ds_doc_template *ds_config_template(const ds_config *c,
					  const char *name);

#endif
