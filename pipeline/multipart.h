/*
 * multipart.h - multipart/form-data bodies (RFC 7578): fields as UTF-8
 * text and files as streamed bytes with their size and SHA-256, from a
 * whole buffer or from chunks as they arrive.
 *
 * Framing. The boundary comes from the caller (the Content-Type
 * parameter, see ds_multipart_boundary()). The body must start with
 * "--boundary"; a delimiter is CRLF "--boundary" followed by "--" (the
 * end: whatever follows is an epilogue and ignored), or by optional
 * spaces/tabs and CRLF (the next part). CRLF "--boundary" followed by
 * anything else is part data, as in python-multipart. Header lines end
 * with CRLF; a line starting with a space or tab continues the previous
 * one; a header name is a non-empty token. A CR not followed by LF in the
 * headers, a bad first boundary, a part without a Content-Disposition
 * name or a body that ends before the closing delimiter is DS_EINVAL,
 * with the byte offset in the message.
 *
 * Parts. Content-Disposition gives `name` and `filename` (quoted strings
 * with backslash escapes, or tokens); an RFC 5987 `filename*` (UTF-8 or
 * ISO-8859-1) wins over `filename`. A part with a filename parameter,
 * even empty, is a file; any other part is a field. Content-Transfer-
 * Encoding base64 and quoted-printable are decoded (other values are
 * taken as identity); bad base64 is DS_EINVAL.
 *
 * Charset. Field names and values are delivered as UTF-8 (ds_form_to_utf8:
 * invalid UTF-8 becomes U+FFFD). The charset is, by precedence: for a
 * value, the charset parameter of its part's Content-Type; then the value
 * of the first `_charset_` field with a non-empty value; then the caller's
 * charset (opts->charset); then UTF-8. As `_charset_` may come late, the
 * fields before it are kept (their raw bytes, bounded by max_total) and
 * delivered when it arrives or at ds_multipart_finish(); files are never
 * kept, so a file callback may come before the fields that preceded it.
 * DS_MULTIPART_NO_CHARSET_FIELD makes `_charset_` an ordinary field and
 * every field is delivered when its part ends. Filenames are converted
 * with the charset known when the file starts. An unsupported label is
 * DS_EINVAL. With DS_MULTIPART_STRICT, text read as UTF-8 that is not
 * UTF-8 is refused instead (a form sent in another charset that does not
 * say so).
 *
 * Bounds (ds_multipart_opts, 0 meaning the default): the number of parts,
 * the header bytes of one part, the decoded bytes of one field value or
 * one file, and the body bytes received. Going past one is DS_ELIMIT, the
 * message naming the limit ("max_file"); a chunk that would take the body
 * past max_total is refused before it is read. Memory is one part's
 * headers, one field value and the kept fields; file bytes only pass
 * through. A parser that failed returns the same code from every later
 * call. Work is linear in the body size.
 */
#ifndef DS_MULTIPART_H
#define DS_MULTIPART_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "form.h"

/* Default limits, used for each ds_multipart_opts field left at 0. */
#define DS_MULTIPART_MAX_PARTS 1000
#define DS_MULTIPART_MAX_HEADER (16u << 10)
#define DS_MULTIPART_MAX_VALUE (256u << 10)
#define DS_MULTIPART_MAX_FILE (10u << 20)
#define DS_MULTIPART_MAX_TOTAL (20u << 20)
/* Longest boundary accepted (RFC 2046 says 70). */
#define DS_MULTIPART_MAX_BOUNDARY 200

/* ds_multipart_opts.flags: `_charset_` is an ordinary field. */
#define DS_MULTIPART_NO_CHARSET_FIELD 1u
/* ds_multipart_opts.flags: a field name, value or filename read as UTF-8
 * that is not valid UTF-8 is DS_EINVAL (naming the part), not U+FFFD. */
#define DS_MULTIPART_STRICT 2u

typedef struct ds_multipart_opts {
	size_t max_parts;     /* parts in the body */
	size_t max_header;    /* header bytes of one part, CRLFs included */
	size_t max_value;     /* decoded bytes of one field value */
	size_t max_file;      /* decoded bytes of one file */
	size_t max_total;     /* bytes of the body as received */
	const char *charset;  /* charset parameter, or NULL; copied */
	unsigned flags;       /* DS_MULTIPART_NO_CHARSET_FIELD, DS_MULTIPART_STRICT */
} ds_multipart_opts;

/* A file part, owned by the parser and valid during a callback. Strings
 * are UTF-8 and NUL-terminated. */
typedef struct ds_multipart_file {
	const char *name;          /* the form field's name */
	const char *filename;      /* as sent, possibly "" */
	const char *content_type;  /* the header value, or
				      "application/octet-stream" */
	uint64_t size;             /* decoded bytes so far; final at end */
	char sha256[65];           /* hex digest; set for file_end only */
} ds_multipart_file;

/* The callbacks; any may be NULL. Each returns 0 to go on or a negative
 * DS_E* code (message in err) that stops the parse and is returned by
 * the ds_multipart_* call that made it. field has the ds_form_field_fn
 * contract (so ds_form_json_field fits); file_data gets the decoded bytes
 * of a file in order, in pieces of any size, between file_begin and
 * file_end. */
typedef struct ds_multipart_cb {
	ds_form_field_fn field;
	int (*file_begin)(void *ud, const ds_multipart_file *f, ds_err *err);
	int (*file_data)(void *ud, const ds_multipart_file *f,
			 const char *data, size_t len, ds_err *err);
	int (*file_end)(void *ud, const ds_multipart_file *f, ds_err *err);
	void *ud;
} ds_multipart_cb;

typedef struct ds_multipart_parser ds_multipart_parser;

/* Creates a parser in *out (free with ds_multipart_free) for bodies
 * delimited by boundary (blen bytes, copied; 1 to
 * DS_MULTIPART_MAX_BOUNDARY bytes, no CR, LF or NUL); cb is copied; opts
 * may be NULL. DS_EINVAL for a bad boundary or unsupported
 * opts->charset, DS_ENOMEM. */
int ds_multipart_new(ds_multipart_parser **out, const char *boundary,
		     size_t blen, const ds_multipart_opts *opts,
		     const ds_multipart_cb *cb, ds_err *err);

/* Parses the next len bytes of the body (data is not kept). DS_EINVAL,
 * DS_ELIMIT, DS_ENOMEM or a callback's code. */
int ds_multipart_feed(ds_multipart_parser *p, const char *data, size_t len,
		      ds_err *err);

/* Ends the body: DS_EINVAL if the closing delimiter was not seen; then
 * delivers kept fields. Errors as ds_multipart_feed. */
int ds_multipart_finish(ds_multipart_parser *p, ds_err *err);

/* Frees the parser; accepts NULL. */
void ds_multipart_free(ds_multipart_parser *p);

/* Parts seen so far. */
size_t ds_multipart_parts(const ds_multipart_parser *p);

/* Parses a whole body: ds_multipart_new + feed + finish. */
int ds_multipart_parse(const char *buf, size_t len, const char *boundary,
		       size_t blen, const ds_multipart_opts *opts,
		       const ds_multipart_cb *cb, ds_err *err);

/* Reads a Content-Type header value (`multipart/form-data; boundary=...;
 * charset=...`, any case, quoted or not): sets *boundary and *blen to the
 * boundary inside ct (not copied) and, when charset is not NULL, *charset
 * to a ds_form_charset_lookup value or -1 when absent. DS_EINVAL when the
 * type is not multipart/form-data, the boundary is missing or bad, or the
 * charset is not supported. */
int ds_multipart_boundary(const char *ct, size_t len, const char **boundary,
			  size_t *blen, int *charset, ds_err *err);

/* Parses a `.mime` input: a first line `Content-Type: multipart/form-data;
 * boundary=...` ending in LF or CRLF, an optional blank line, then the
 * body. A charset parameter on that line applies unless opts->charset is
 * set. Errors as ds_multipart_boundary and ds_multipart_parse, and
 * DS_EINVAL when the first line is not a Content-Type header or when the
 * boundary appears nowhere in the body. */
int ds_multipart_parse_mime(const char *buf, size_t len,
			    const ds_multipart_opts *opts,
			    const ds_multipart_cb *cb, ds_err *err);

/* ---- JSON ---- */

/* Collects a body into one cJSON tree:
 *   {"fields": F, "files": [{"name": "...", "filename": "...",
 *     "content_type": "...", "size": 123, "sha256": "<hex>"}, ...]}
 * where F has the ds_form_shape given (an object, a repeated name becoming
 * an array of its values; or a list of {"name", "value"}), and files are in
 * body order. File bytes are not kept. */
typedef struct ds_multipart_json ds_multipart_json;

/* Creates an empty collector in *out (free with ds_multipart_json_free).
 * DS_ENOMEM. */
int ds_multipart_json_new(ds_multipart_json **out, ds_form_shape shape,
			  ds_err *err);

/* Fills *cb with the collector's callbacks (ud = j). */
void ds_multipart_json_callbacks(ds_multipart_json *j, ds_multipart_cb *cb);

/* Hands the tree to the caller (free with cJSON_Delete); the collector
 * starts again empty. NULL when out of memory. */
cJSON *ds_multipart_json_take(ds_multipart_json *j);

/* Frees the collector and any tree not taken; accepts NULL. */
void ds_multipart_json_free(ds_multipart_json *j);

/* Parses a whole body (as ds_multipart_parse) into a tree owned by the
 * caller in *out (cJSON_Delete); *out is NULL on error. Errors as
 * ds_multipart_parse, DS_EINVAL for a NUL in a field. */
int ds_multipart_parse_json(const char *buf, size_t len, const char *boundary,
			    size_t blen, const ds_multipart_opts *opts,
			    ds_form_shape shape, cJSON **out, ds_err *err);

/* The same for a `.mime` input (see ds_multipart_parse_mime). */
int ds_multipart_parse_mime_json(const char *buf, size_t len,
				 const ds_multipart_opts *opts,
				 ds_form_shape shape, cJSON **out, ds_err *err);

#endif
