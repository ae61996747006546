/*
 * schema.h - JSON Schema validation of typed records.
 *
 * A schema is compiled once from its JSON document and is then immutable:
 * any number of threads may validate against it at the same time. The
 * compiler accepts the draft 2020-12 subset of SPEC section 5 and refuses
 * everything else, so a keyword the validator would not enforce is never
 * silently ignored:
 *
 *   type (a name or an array of names; "integer" is a number without a
 *   fractional part), properties, required, additionalProperties (boolean
 *   or schema), enum, const, pattern (PCRE2 in UTF mode, compiled once,
 *   unanchored, ECMA-262 flavoured: "$" only at the very end, \uHHHH
 *   escapes, \p{Letter} and the other long names of general categories;
 *   backtracking is bounded), format, minimum, maximum,
 *   exclusiveMinimum, exclusiveMaximum, multipleOf (compared and divided
 *   as exact decimals, never as doubles: 0.0075 is a multiple of 0.0001;
 *   beside format "decimal", multipleOf also applies to the decimal
 *   string, so 0.01 limits it to two decimal places), minLength, maxLength
 *   (in Unicode code points), items, minItems, maxItems, $ref, $defs,
 *   allOf, anyOf, oneOf, not, boolean schemas, an empty enum (nothing is
 *   valid; compiled with a warning); the annotations $schema
 *   (must name draft 2020-12), $id (document root only), title,
 *   description, examples, default, $comment, deprecated, readOnly,
 *   writeOnly; and "scale", a dossier annotation beside format "decimal"
 *   that limits the number of fraction digits.
 *
 * Formats: email (ASCII, RFC 5321: a dot-atom or quoted local part, then
 * a domain of two or more labels or an [IPv4] or [IPv6:...] address
 * literal; single-label domains are refused; RFC 5321 lengths), date
 * (YYYY-MM-DD, a real day), date-time (RFC 3339), uri (absolute, RFC 3986
 * characters), decimal (a string -?[0-9]+(\.[0-9]+)?), currency (ISO 4217
 * code), phone (E.164), siren, siret (with their Luhn keys), vat-fr (French
 * VAT number with its key), iban (ISO 13616, mod-97 check), postcode-fr,
 * ipv4 (dotted quad, no leading zeros), ipv6 (RFC 4291 text, no zone). A
 * string that holds U+0000 (DS_JSON_STRING_NUL, json.h) matches no
 * format; elsewhere it is seen up to the U+0000, and equals only strings
 * that hold one too.
 * As in JSON Schema, a format only constrains strings: a schema that wants
 * a decimal string says "type": "string" as well.
 *
 * $ref takes "#" plus an RFC 6901 pointer to any subschema of the same
 * document ("#/$defs/line"), or, within a schema set, another document by
 * file name or $id ("address.schema.json#/$defs/postal"). References are
 * resolved at compile time; a cycle of references that never descends into
 * the instance is a compile error.
 *
 * Compile problems go to a ds_diag, each with the file, the JSON path of
 * the offending keyword ("/properties/lines/items/minimum") and a message.
 *
 * Validation reports every error of an instance (up to DS_SCHEMA_MAX_ERRORS)
 * as an RFC 6901 pointer to the offending value ("" is the whole document;
 * printers show it as "/"), the keyword and a one-line message such as
 * `must be >= 1, got 0`; a missing required property and a property
 * refused by "additionalProperties": false are reported at their object
 * (`missing required property "email"`). Strings quoted in messages are
 * cut to about 60 bytes. Instances nested deeper than DS_SCHEMA_MAX_DEPTH
 * get the single error "nesting deeper than 64" and are not looked at
 * further. Validation allocates nothing but one PCRE2 match block per call,
 * and only when a pattern is evaluated.
 */
#ifndef DS_SCHEMA_H
#define DS_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "diag.h"
#include "err.h"

/* Deepest instance nesting (arrays and objects) that is validated. */
#define DS_SCHEMA_MAX_DEPTH 64
/* Errors reported per instance; one more call then says the list was cut. */
#define DS_SCHEMA_MAX_ERRORS 100
/* Deepest chain of $ref followed while validating one instance. */
#define DS_SCHEMA_MAX_REF_DEPTH 256
/* Deepest nesting of a document given to ds_schema_compile() (files read
 * by ds_schema_set_load_dir() are held to DS_JSON_MAX_DEPTH). */
#define DS_SCHEMA_MAX_DOC_DEPTH 128

/* One compiled schema: immutable after compilation, safe to use from
 * several threads at once. */
typedef struct ds_schema ds_schema;
/* The record types of a directory, by name; owns its schemas. */
typedef struct ds_schema_set ds_schema_set;

/*
 * Compiles every <type>.schema.json file of the directory dir (usually
 * "<home>/schemas/records"); the type name is the file name without
 * ".schema.json". Other files are ignored. Files are read as configuration
 * (ds_json_load_file: size, UTF-8 and nesting bounded). References between
 * the files are resolved within the set. Each problem goes to diag (may be NULL) with
 * file "<dir>/<name>" and the JSON path inside it.
 *
 * Returns 0 when everything compiled, DS_ECONFIG when diag received errors
 * (an unreadable directory included); in both cases *out is a set, owned by
 * the caller (ds_schema_set_free), holding the types that compiled without
 * error and whose references all lead to such types. DS_ENOMEM with *out
 * NULL when memory ran out.
 */
int ds_schema_set_load_dir(const char *dir, ds_diag *diag,
			   ds_schema_set **out, ds_err *err);

/* The schema of a record type, owned by the set (never pass it to
 * ds_schema_free); NULL for an unknown type. */
const ds_schema *ds_schema_set_get(const ds_schema_set *s, const char *type);
/* Number of types in the set, and the i-th name in byte order (owned by
 * the set; NULL when i is out of range). */
size_t ds_schema_set_count(const ds_schema_set *s);
const char *ds_schema_set_name(const ds_schema_set *s, size_t i);
/* Frees the set and every schema in it; accepts NULL. */
void ds_schema_set_free(ds_schema_set *s);

/*
 * Compiles one schema document (`dossier validate --schema FILE`); file
 * names it in diagnostics. doc stays owned by the caller and may be freed
 * as soon as this returns. A $ref to another document is an error here
 * (it needs a schema set).
 *
 * Returns 0 with *out owned by the caller (ds_schema_free); DS_ECONFIG with
 * *out NULL when diag received errors; DS_ENOMEM.
 */
int ds_schema_compile(const cJSON *doc, const char *file, ds_diag *diag,
		      ds_schema **out, ds_err *err);

/* Flags of ds_schema_compile_opts(). */
enum {
	/*
	 * "format" as draft 2020-12 has it by default: an annotation. Any
	 * format name is accepted and no string is checked against it. dossier
	 * asserts formats everywhere else (records are data to trust); this is
	 * for running the JSON Schema Test Suite, whose required tests expect
	 * the default.
	 */
	DS_SCHEMA_FORMAT_ANNOTATION = 1 << 0,
};

/* ds_schema_compile() with flags (0 is ds_schema_compile()). */
int ds_schema_compile_opts(const cJSON *doc, const char *file, unsigned flags,
			   ds_diag *diag, ds_schema **out, ds_err *err);
/* Frees a schema from ds_schema_compile(); accepts NULL. */
void ds_schema_free(ds_schema *s);

/* Receives one validation error; the strings live until the call returns. */
typedef void (*ds_schema_error_fn)(void *ud, const char *pointer,
				   const char *keyword, const char *message);

/*
 * Validates instance against s, calling fn (may be NULL) once per error in
 * document order. *nerrors (may be NULL) receives the number of calls made:
 * 0 means valid. At most DS_SCHEMA_MAX_ERRORS errors are reported; when
 * there are more, one last call (pointer "", keyword "maxErrors") says the
 * list was cut.
 *
 * Returns 0 whether or not the instance is valid; DS_EINVAL for a NULL
 * schema or instance; DS_ENOMEM when the match block could not be
 * allocated; DS_EINTERNAL when PCRE2 fails unexpectedly. After an error
 * return the errors already reported are incomplete.
 */
int ds_schema_validate(const ds_schema *s, const cJSON *instance,
		       ds_schema_error_fn fn, void *ud, size_t *nerrors,
		       ds_err *err);

/* Whether a record valid for s may hold a value at the JSON Pointer
 * (mappings write their targets there): each step must be declared by the
 * schema's properties (through $ref and allOf; by one branch of anyOf or
 * oneOf) or let through by additionalProperties, or be an index of items.
 * It says nothing of the value's type. */
bool ds_schema_allows_pointer(const ds_schema *s, const char *pointer);

/* Stricter than ds_schema_allows_pointer(): every step must also be named
 * by the schema (a property, the items of an array for an index, or any
 * name where additionalProperties is given: a schema, or true), not only
 * let through by a missing additionalProperties. A step under an object that declares no
 * properties at all is accepted (the schema says nothing of its names).
 * For readers of records (guards) that want to catch misspelt fields. */
bool ds_schema_declares_pointer(const ds_schema *s, const char *pointer);

#endif
