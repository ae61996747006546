/*
 * source.h - sources and their mappings: how one interaction becomes zero
 * or more typed records.
 *
 * A source file (schemas/sources/<name>.json) names its channel, the role
 * its records act with when they change a case, and mapping rules:
 *
 *   {"name": "api-offers", "channel": "json", "role": "sales",
 *    "rules": [{"record": "offer", "when": "exists(reference)",
 *               "copy": "",
 *               "fields": {"/customer/email": {"pick": "/customer/email",
 *                                              "normalize": ["email"]}}}]}
 *
 * Every rule whose "when" holds (no "when": always) produces one record:
 * "copy" (a JSON Pointer into the input; "" is the whole input) gives the
 * starting object, then each entry of "fields" sets the target pointer to
 * the picked value, passed through the normalizers in order; "default" is
 * used when the pick is missing (a field with a default and no pick is a
 * constant). Picks are one interface with one kind per channel: "pick"
 * (a JSON Pointer into the parsed input), "field" (a form field), "xpath"
 * (XML), "regex" (a named group of a pattern over the text at "in"), and,
 * on every channel, "interaction": a fact about the interaction itself
 * rather than its content. "interaction": "sha256" is the SHA-256 of the
 * raw bytes in lower-case hex, its first "digits" (8 to 64, all by
 * default) kept; it gives a record a reference where the input carries
 * none (a contact form): the same bytes give the same reference, so a
 * replayed input reaches the same case, and different bytes another.
 * "prefix" is text written before a picked text value, after its
 * normalizers ("LEAD-"); a default is written as it is.
 *
 * A form field sent several times (checkboxes of one name) is an array of
 * its values: a "field" pick with "list": true gives the values as an array
 * (a single value too, each passed through the normalizers, blank ones
 * left out, none at all being missing); without it, a field sent more than
 * once is refused, as taking one of the values would be a guess.
 *
 * "secret": {"env": "DOSSIER_SECRET_PARTNER"} makes `dossier serve` require
 * Standard Webhooks signatures made with the secret that variable holds.
 *
 * A source is immutable after loading and shared by every thread.
 */
#ifndef DS_SOURCE_H
#define DS_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "caltime.h"
#include "diag.h"
#include "err.h"
#include "expr.h"
#include "mem.h"
#include "normalize.h"
#include "xml.h"

typedef enum {
	DS_PICK_POINTER, DS_PICK_FIELD, DS_PICK_XPATH, DS_PICK_REGEX, DS_PICK_INTERACTION
} ds_pick_kind;

typedef struct ds_field_map ds_field_map;
struct ds_field_map {
	char *target;            /* JSON Pointer in the record */
	ds_pick_kind kind;
	char *pick;              /* JSON Pointer in the input; the fact of an
	                            interaction pick */
	ds_normalizer_fn *norms;
	char **norm_names;
	size_t nnorms;
	ds_norm_kind result;     /* of the last normalizer: the field's JSON type */
	cJSON *deflt;            /* owned; NULL when none */
	size_t xpath;            /* DS_PICK_XPATH: index in the source's set */
	void *re;                /* DS_PICK_REGEX: compiled pattern (pcre2_code) */
	char *re_in;             /* DS_PICK_REGEX: JSON Pointer of the text */
	unsigned re_group;       /* DS_PICK_REGEX: the named group's number */
	ds_field_map *each;      /* XPath picks of nodes: fields of one array item */
	size_t neach;
	bool list;               /* DS_PICK_FIELD: every value, as an array */
	unsigned digits;         /* DS_PICK_INTERACTION: hex digits kept */
	char *prefix;            /* written before a text value, or NULL */
};

typedef struct ds_map_rule {
	char *record;            /* target record type */
	ds_expr *when;           /* NULL: always */
	bool xml_when;           /* an XML rule's "when": XPath when_xpath */
	size_t when_xpath;       /* index in the source's set of boolean(when) */
	char *copy;              /* JSON Pointer, or NULL */
	ds_field_map *fields;
	size_t nfields;
} ds_map_rule;

typedef struct ds_source {
	char *file;
	char *name;
	char *channel;           /* "json", "form", "xml" or "email" */
	char *role;              /* role of its records when they edit a case (required) */
	char *secret_env;        /* the environment variable holding its webhook
	                            secret ("secret": {"env": NAME}), or NULL:
	                            `serve` then takes unsigned requests */
	ds_xpath_set *xpaths;    /* channel xml: every XPath pick, compiled once */
	ds_map_rule *rules;
	size_t nrules;
} ds_source;

/* Loads one source file; problems go to diag with file and JSON path.
 * Returns 0 or DS_ECONFIG (then *out is NULL). */
int ds_source_load(const char *path, ds_diag *diag, ds_source **out, ds_err *err);
void ds_source_free(ds_source *s);

/* Whether some rule of s accepts the input (its "when" holds, or it has
 * none). Returns 0 or the evaluation error. */
int ds_source_accepts(const ds_source *s, const cJSON *input, ds_time now,
		      bool *yes, ds_err *err);

/* Applies the source's rules to a parsed input whose raw bytes have the
 * SHA-256 sha256 (64 lower-case hex digits; NULL when unknown: its
 * interaction picks are then missing). For each rule that matches, calls
 * emit(ud, type, record) with a new record tree that the callee owns from
 * then on. The last matching rule that copies the whole
 * input takes the input tree itself instead of a copy: *input is then set
 * to NULL and the tree belongs to that record. Returns 0, or DS_EINVAL
 * when a normalizer refuses a value (err says which field and shows the
 * raw value). */
int ds_source_map(const ds_source *s, cJSON **input, const char *sha256, ds_time now,
		  ds_arena *a,
		  int (*emit)(void *ud, const char *type, cJSON *record),
		  void *ud, ds_err *err);
/* Whether mapping leaves the input as it is: no rule copies it (a copied
 * input may become the record itself, and later changes to the record
 * would change it). Such a source can map an input while other code reads
 * it. */
bool ds_source_keeps_input(const ds_source *s);
/* Whether some rule of an XML source accepts doc: its "when", an XPath
 * read as boolean() ("/ord:Order": the root is a UBL Order), holds, or it
 * has none. Returns 0 or the evaluation error. */
int ds_source_accepts_xml(const ds_source *s, ds_xml_doc *doc, ds_arena *a, bool *yes,
			  ds_err *err);
/* The same as ds_source_map for an XML source: the rules whose "when"
 * holds each give a record, their picks XPath expressions evaluated on doc
 * (an XML rule has no "copy"). An "each" of one field with the target ""
 * gives an array of that field's values (missing ones left out) instead
 * of objects; an "each" that finds nothing is missing. */
int ds_source_map_xml(const ds_source *s, ds_xml_doc *doc, const char *sha256, ds_arena *a,
		      int (*emit)(void *ud, const char *type, cJSON *record),
		      void *ud, ds_err *err);

#endif
