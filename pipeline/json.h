/*
 * json.h - cJSON helpers: bounded parsing of untrusted input, configuration
 * files, and field access by dotted path or JSON Pointer.
 *
 * cJSON checks neither UTF-8 nor a depth lower than its compile-time 1000,
 * so ds_json_parse() scans the bytes first: invalid UTF-8, a NUL byte or
 * nesting deeper than max_depth is refused before cJSON sees the input.
 */
#ifndef DS_JSON_H
#define DS_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "diag.h"
#include "err.h"
#include "mem.h"

#define DS_JSON_MAX_DEPTH 64
#define DS_CONFIG_MAX_BYTES (4u << 20)

/* Whether len bytes of s are valid UTF-8 (no overlongs, no surrogates). */
bool ds_utf8_valid(const char *s, size_t len);

/* Offset of the first invalid UTF-8 sequence in len bytes of s, or len
 * when they are valid. */
size_t ds_utf8_bad_at(const char *s, size_t len);

/*
 * Set in the type of a string value that holds U+0000 (written "\u0000"):
 * cJSON keeps C strings, so its valuestring shows only the text before the
 * first U+0000. cJSON ignores the bit (it reads types through 0xFF) and
 * cJSON_Duplicate keeps it. Member names are not marked.
 */
#define DS_JSON_STRING_NUL (1 << 12)

/* Parses untrusted JSON text (RFC 8259, strictly: cJSON's leniencies about
 * numbers, escapes, control characters and whitespace are refused). On
 * success *out owns a cJSON tree (free with cJSON_Delete), where strings
 * that hold U+0000 carry DS_JSON_STRING_NUL. DS_EINVAL with a one-line
 * reason ("invalid JSON at byte 120: malformed number", "invalid UTF-8 at
 * byte 7", "nesting deeper than 64") otherwise. */
int ds_json_parse(const char *s, size_t len, int max_depth, cJSON **out,
		  ds_err *err);
/* The same for text dossier wrote itself from a tree ds_json_parse made
 * (a case's data, read back from the store): valid by construction, so
 * cJSON alone reads it, unless it holds an escaped NUL, which only
 * ds_json_parse marks (then it does). DS_EINVAL when it is not JSON. */
int ds_json_parse_own(const char *s, size_t len, cJSON **out, ds_err *err);

/* Reads and parses a configuration file (at most DS_CONFIG_MAX_BYTES);
 * problems are reported to diag against the file. NULL on failure. */
cJSON *ds_json_load_file(const char *path, ds_diag *diag);

/* Reads a whole file of at most max bytes into *out (NUL-terminated, free
 * with ds_free). DS_EIO, DS_ELIMIT. */
int ds_read_file(const char *path, size_t max, char **out, size_t *len,
		 ds_err *err);

/* The node at a dotted path ("customer.email", "lines.0.sku"), or NULL. */
const cJSON *ds_json_dotted(const cJSON *root, const char *path);
/* Sets the member at a dotted path of objects ("customer.email") to v,
 * which it takes (freed on error too), creating objects on the way and
 * replacing what was there. DS_EINVAL when the path crosses a non-object
 * or has an empty or over-long step, DS_ENOMEM. */
int ds_json_set_dotted(cJSON *root, const char *path, cJSON *v);
/* The node at an RFC 6901 JSON Pointer ("" is the root), or NULL. */
const cJSON *ds_json_pointer(const cJSON *root, const char *ptr);

/* The string value of a member, or NULL if absent or not a string. */
const char *ds_json_str(const cJSON *obj, const char *name);

/* Writes name as one JSON Pointer token ('~' as "~0", '/' as "~1"),
 * truncated to n bytes with a NUL. */
void ds_json_pointer_escape(const char *name, char *out, size_t n);

/* The first member name that an object anywhere in v repeats, or NULL
 * (also when memory runs out: *oom is then set). JSON lets a parser take
 * either value of a repeated name; inputs that have one are refused
 * rather than guessed. n log n for large objects. */
const char *ds_json_duplicate_member(const cJSON *v, bool *oom);

/* Writes the member names of an object, comma-separated, into buf
 * (truncated to n bytes); "" for anything else. Returns how many there
 * are. For messages that say what an input had. */
size_t ds_json_member_names(const cJSON *obj, char *buf, size_t n);

/* Appends s as a JSON string literal (quotes and escapes included). */
int ds_buf_json_string(ds_buf *b, const char *s);

/* Appends v as ds_json_print_arena prints it. 0, DS_ENOMEM, DS_ELIMIT
 * (past b's maximum), DS_EINVAL (a raw item without text). */
int ds_buf_json(ds_buf *b, const cJSON *v);
/* Appends the number d as ds_json_print_arena prints a number cJSON made
 * of d (cJSON_CreateNumber). */
int ds_buf_json_number(ds_buf *b, double d);

/* Serialises compactly into a string owned by the caller (ds_free). */
char *ds_json_print(const cJSON *v);
/* Serialises compactly into memory of the arena a, as cJSON_PrintUnformatted
 * would; NULL when out of memory or past DS_JSON_PRINT_MAX bytes. Integers
 * are written without printf; the text is built in a growing buffer, then
 * copied into a. */
#define DS_JSON_PRINT_MAX (256u << 20)
char *ds_json_print_arena(ds_arena *a, const cJSON *v);

#endif
