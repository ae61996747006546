/*
 * form.h - application/x-www-form-urlencoded bodies: fields, in order, as
 * UTF-8, from a whole buffer or from chunks as they arrive.
 *
 * Parsing follows the URL Standard (https://url.spec.whatwg.org/#urlencoded-
 * parsing): the body is split on '&', empty pieces are skipped, the first
 * '=' separates name from value (no '=' gives an empty value), '+' is a
 * space, %XX is a byte and any '%' not followed by two hex digits is kept as
 * it is. Every field is delivered, repeats included, in body order.
 *
 * Charset. The decoded bytes are read as UTF-8 unless the body says
 * otherwise, invalid sequences becoming U+FFFD as in the URL Standard; the
 * supported alternatives are windows-1252 and ISO-8859-15 (an ISO-8859-1 or
 * US-ASCII label means windows-1252, as in browsers: byte 0x80 is the euro
 * sign). The charset is, by precedence:
 *   1. the value of the first `_charset_` field with a non-empty value (the
 *      name compared without case), which browsers fill in with the charset
 *      they encoded the form in;
 *   2. the charset parameter the caller passes (from Content-Type);
 *   3. UTF-8.
 * As `_charset_` may come after other fields, an incremental parser keeps
 * the fields before it (their decoded bytes, so at most max_total bytes
 * plus a few bytes per field) and delivers them when `_charset_` arrives,
 * or at ds_form_finish() when it never does. DS_FORM_NO_CHARSET_FIELD turns
 * rule 1 off: `_charset_` is then an ordinary field, each field is
 * delivered as soon as the '&' after it arrives, and the result is exactly
 * the URL Standard's parser (which ignores `_charset_`), with the caller's
 * charset applied. ds_form_parse() sees the whole body, so it looks for
 * `_charset_` first and keeps nothing. `_charset_` itself is delivered as a
 * field. A charset label that is not supported is DS_EINVAL.
 *
 * Bounds. The total body size, the number of fields and the length of each
 * name and value are limited (ds_form_opts); going past one is DS_ELIMIT,
 * and the message names the limit ("max_value"). Name and value limits
 * count the UTF-8 bytes delivered; they are checked on the decoded bytes as
 * they arrive (conversion never makes text shorter), so a long value is
 * refused as soon as it passes its limit, and a chunk that would take the
 * body past max_total is refused before it is read. Memory is one field
 * (plus its UTF-8 conversion, at most three times as long) and, while
 * `_charset_` is awaited, the fields kept. A parser that failed returns
 * the same code from every later call. Work is linear in the body size.
 *
 * Strictness. Browsers percent-encode every '%', every control character
 * and (in UTF-8) send what they were given as UTF-8, so DS_FORM_STRICT
 * refuses, with DS_EINVAL, what none of them sends: a '%' not followed by
 * two hex digits, a control byte (below 0x20, or 0x7F) in the body itself
 * (which is then not form data at all), and, when fields are read as UTF-8,
 * a name or value whose decoded bytes are not valid UTF-8 (a form encoded
 * in another charset that does not say so). The message names the field
 * and the byte. Without the flag these are read as the URL Standard says.
 *
 * Delivered strings are NUL-terminated, but may hold a NUL byte (%00): use
 * the lengths. The JSON helpers refuse a NUL with DS_EINVAL, as cJSON
 * strings cannot hold one.
 */
#ifndef DS_FORM_H
#define DS_FORM_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "err.h"

/* Default limits, used for each ds_form_opts field left at 0. */
#define DS_FORM_MAX_FIELDS 1000
#define DS_FORM_MAX_NAME 1024
#define DS_FORM_MAX_VALUE (256u << 10)
#define DS_FORM_MAX_TOTAL (1u << 20)

/* ds_form_opts.flags: `_charset_` is an ordinary field (see above). */
#define DS_FORM_NO_CHARSET_FIELD 1u
/* ds_form_opts.flags: refuse what no browser sends (see above). */
#define DS_FORM_STRICT 2u

typedef struct ds_form_opts {
	size_t max_fields;    /* fields in the body */
	size_t max_name;      /* UTF-8 bytes of one name */
	size_t max_value;     /* UTF-8 bytes of one value */
	size_t max_total;     /* bytes of the body as received */
	const char *charset;  /* charset parameter, or NULL; copied */
	unsigned flags;       /* DS_FORM_NO_CHARSET_FIELD, DS_FORM_STRICT */
} ds_form_opts;

/* Called once per field, in body order. name and value are UTF-8, valid,
 * NUL-terminated, and only valid during the call. Returns 0 to go on, or a
 * negative DS_E* code (with its message in err) that stops the parse and
 * is returned by the ds_form_* call that made the callback. */
typedef int (*ds_form_field_fn)(void *ud, const char *name, size_t nlen,
				const char *value, size_t vlen, ds_err *err);

typedef struct ds_form_parser ds_form_parser;

/* Creates a parser in *out (free with ds_form_free) that calls field(ud,
 * ...) for every field; opts may be NULL for the defaults. DS_EINVAL when
 * opts->charset is not a supported charset, DS_ENOMEM. */
int ds_form_new(ds_form_parser **out, const ds_form_opts *opts,
		ds_form_field_fn field, void *ud, ds_err *err);

/* Parses the next len bytes of the body (data is not kept). Delivers the
 * fields this chunk completes. DS_ELIMIT, DS_EINVAL (an unsupported
 * `_charset_`), DS_ENOMEM, or the callback's code. */
int ds_form_feed(ds_form_parser *p, const char *data, size_t len,
		 ds_err *err);

/* Ends the body: delivers the last field and any fields kept while waiting
 * for `_charset_`. Errors as ds_form_feed(). No call but ds_form_charset()
 * and ds_form_free() may follow. */
int ds_form_finish(ds_form_parser *p, ds_err *err);

/* Frees the parser; accepts NULL. */
void ds_form_free(ds_form_parser *p);

/* The name of the charset fields are decoded with ("UTF-8",
 * "windows-1252", "ISO-8859-15"); final once ds_form_finish() succeeded. */
const char *ds_form_charset(const ds_form_parser *p);

/* Bytes the parser currently holds (for tests and metrics). */
size_t ds_form_memory(const ds_form_parser *p);

/* Parses a whole body: as ds_form_new + ds_form_feed + ds_form_finish, but
 * a body longer than max_total is refused before any field is delivered,
 * and no field is kept while looking for `_charset_`. */
int ds_form_parse(const char *buf, size_t len, const ds_form_opts *opts,
		  ds_form_field_fn field, void *ud, ds_err *err);

/* ---- charsets ---- */

enum {
	DS_FORM_UTF8 = 0,
	DS_FORM_WINDOWS_1252 = 1,  /* also ISO-8859-1 and US-ASCII labels */
	DS_FORM_ISO_8859_15 = 2,
};

/* The charset a label names (WHATWG Encoding labels, any case, white space
 * around ignored): DS_FORM_UTF8..DS_FORM_ISO_8859_15, or -1. */
int ds_form_charset_lookup(const char *label, size_t len);

/* The canonical name of a charset from ds_form_charset_lookup. */
const char *ds_form_charset_name(int cs);

/* Room ds_form_to_utf8 needs for n input bytes. */
#define DS_FORM_UTF8_MAX(n) (3 * (n))

/* Writes n bytes of text in charset cs to out as UTF-8 (invalid UTF-8
 * sequences become U+FFFD) and returns the bytes written, at least n and
 * at most DS_FORM_UTF8_MAX(n), which out must have room for. No NUL is
 * added. */
size_t ds_form_to_utf8(int cs, const char *in, size_t n, char *out);

/* ---- JSON ---- */

typedef enum ds_form_shape {
	/* {"name": "value", "repeated": ["first", "second"]}: a name seen
	 * more than once becomes an array of its values in body order, at
	 * the place of its first occurrence */
	DS_FORM_OBJECT,
	/* [{"name": "...", "value": "..."}, ...]: every field in body order */
	DS_FORM_LIST,
} ds_form_shape;

/* Collects fields into a cJSON tree, for use with ds_form_new: pass
 * ds_form_json_field as the callback and the collector as ud. Repeated
 * names are found through a hash table, so collecting is linear. */
typedef struct ds_form_json ds_form_json;

/* Creates an empty collector in *out (free with ds_form_json_free).
 * DS_ENOMEM. */
int ds_form_json_new(ds_form_json **out, ds_form_shape shape, ds_err *err);

/* A ds_form_field_fn whose ud is a ds_form_json. DS_EINVAL when the name
 * or value holds a NUL byte, DS_ENOMEM. */
int ds_form_json_field(void *ud, const char *name, size_t nlen,
		       const char *value, size_t vlen, ds_err *err);

/* Hands the tree to the caller (free with cJSON_Delete); the collector
 * starts again empty. NULL when out of memory. */
cJSON *ds_form_json_take(ds_form_json *j);

/* Frees the collector and any tree not taken; accepts NULL. */
void ds_form_json_free(ds_form_json *j);

/* Parses a whole body (as ds_form_parse) into a tree of the given shape,
 * owned by the caller in *out (cJSON_Delete); *out is NULL on error.
 * Errors as ds_form_parse and ds_form_json_field. */
int ds_form_parse_json(const char *buf, size_t len, const ds_form_opts *opts,
		       ds_form_shape shape, cJSON **out, ds_err *err);

#endif
