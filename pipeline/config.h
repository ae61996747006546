/*
 * config.h - everything under a home directory: dossier.json settings and
 * the business definitions in schemas/ (record types, sources, processes,
 * document templates, roles, profile rules, segments), loaded and cross-checked
 * together.
 *
 * A ds_config is immutable once loaded and shared by every thread (the
 * earlier process versions the store holds are added before that, when
 * the store opens: procver.h). Loading reports every problem to a ds_diag
 * (file, JSON path, message) rather than stopping at the first, which is
 * what `dossier check` prints.
 */
#ifndef DS_CONFIG_H
#define DS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "caltime.h"
#include "diag.h"
#include "email.h"
#include "err.h"
#include "form.h"
#include "multipart.h"
#include "pdf.h"
#include "process.h"
#include "profile_rules.h"
#include "schema.h"
#include "segment.h"
#include "source.h"

/* The bounds on what one input may be, from dossier.json ("limits" gives
 * each channel's, named as the messages of an input that breaks one name
 * them). A 0 in a channel's options is that channel's default. */
typedef struct ds_limits {
	size_t max_input_bytes;  /* one interaction, any channel */
	int max_depth;           /* JSON nesting */
	ds_email_opts email;     /* max_parts, max_depth, max_header */
	ds_form_opts form;       /* max_fields, max_name, max_value */
	ds_multipart_opts multipart; /* max_parts, max_header, max_value, max_file */
	size_t xml_max_depth;    /* element nesting */
} ds_limits;

/* How long the store keeps raw interactions and closed cases ("retention"
 * in dossier.json: {"interactions": "365d", "closed_cases": "730d"}, in the
 * timers' syntax); an unset one is kept for ever. */
typedef struct ds_retention {
	bool interactions_set, closed_cases_set;
	ds_duration interactions, closed_cases;
} ds_retention;
/* `dossier serve`'s settings: dossier.json "serve" (see README). Secrets
 * are never here: a token is the name of the environment variable that
 * holds it. */
typedef struct ds_serve_token {
	char *env;               /* the variable holding the bearer token */
	char *role;              /* the role its requests act as */
	char *name;              /* who it is, for the audit trail (default: the role) */
} ds_serve_token;

/* A token bucket: per_minute requests on average, burst at once. */
typedef struct ds_serve_rate {
	char *source;            /* a source name, or "*" for each source not named */
	double per_minute;
	double burst;
} ds_serve_rate;

typedef struct ds_serve_settings {
	char *listen;            /* HOST:PORT, default 127.0.0.1:8080 */
	char *tls_cert, *tls_key;    /* PEM files; both or neither */
	ds_serve_token *tokens;
	size_t ntokens;
	ds_serve_rate *rates;
	size_t nrates;
	size_t max_body_bytes;   /* one request body; default max_input_bytes */
	size_t max_header_bytes; /* the request line and headers together */
	size_t max_connections;
	size_t timeout_seconds;  /* a connection idle this long is closed */
	size_t queue_max;        /* requests waiting for their commit; more: 503 */
	size_t threads;          /* threads answering requests */
	size_t tick_seconds;     /* how often due timers are fired */
	size_t max_export_seconds; /* a segment export running longer is cut */
} ds_serve_settings;

typedef struct ds_config {
	char *home;
	char *store_url;         /* from dossier.json, or the default */
	char *documents_dir;     /* absolute or relative to home */
	size_t batch_size;       /* inputs per transaction */
	ds_limits limits;
	ds_retention retention;
	ds_serve_settings serve;
	ds_schema_set *schemas;
	ds_source **sources;
	size_t nsources;
	ds_process **processes;  /* the newest version of each, from the files */
	size_t nprocesses;
	ds_process **versions;   /* earlier versions, from the store: cases that
	                            started under one run by it (procver.h) */
	size_t nversions;
	ds_doc_template **templates;
	size_t ntemplates;
	char **roles;            /* the roles processes and sources may name */
	size_t nroles;
	bool roles_declared;     /* by schemas/roles.json, else SPEC's defaults */
	ds_profile_rules *profiles; /* schemas/profiles.json, or its defaults */
	ds_segment **segments;   /* schemas/segments/, by name */
	size_t nsegments;
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
/* Version `version` of a process: the file's, or an earlier one added
 * from the store; NULL when neither. */
const ds_process *ds_config_process_version(const ds_config *c,
					    const char *name, int version);
/* Adds an earlier version (taken, freed with c) before c is shared. */
int ds_config_add_version(ds_config *c, ds_process *p, ds_err *err);
/* The process that consumes a record type, or NULL. */
const ds_process *ds_config_process_for(const ds_config *c, const char *type);
const ds_doc_template *ds_config_template(const ds_config *c,
					  const char *name);
const ds_segment *ds_config_segment(const ds_config *c, const char *name);
/* Longest name of a role in schemas/roles.json, in bytes. */
#define DS_ROLE_MAX 63

/* Whether role is one of the configuration's roles: those schemas/roles.json
 * declares ({"roles": {"sales": "what they do", ...}}), or without that file
 * the roles SPEC names (sales, manager, technical, marketing, admin). A
 * process or source naming another role is a configuration error, or only
 * a warning when the roles are not declared. */
bool ds_config_knows_role(const ds_config *c, const char *role);

#endif
