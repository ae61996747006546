/*
 * input.h - reading one input for its channel: the one place that turns
 * bytes into what mappings read, used by the read stage and by `inspect`.
 *
 *   json   the document, strictly parsed within the depth limit; a member
 *          named twice in one object is refused
 *   form   urlencoded: an object of fields (repeats as arrays); multipart
 *          (the input starts with its Content-Type line): the same, plus
 *          "_files", the uploaded files described (name, filename,
 *          content_type, size, sha256; a file input left empty uploaded
 *          nothing and is not one; no files, no "_files"). Strictly: an
 *          empty body, and what no browser sends (DS_FORM_STRICT,
 *          DS_MULTIPART_STRICT: a bad percent-encoding, control bytes,
 *          text said to be UTF-8 that is not), are refused; line ends in
 *          values are "\n" (browsers send a textarea's as CRLF)
 *   email  the decoded message (email.h: subject, from, to, date, text...)
 *   xml    a libxml2 document (xml.h), for XPath picks
 */
#ifndef DS_INPUT_H
#define DS_INPUT_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "err.h"
#include "mem.h"
#include "xml.h"

/* Parses len bytes of channel. JSON-like channels give *doc (caller frees
 * with cJSON_Delete); xml gives *xml, owned by arena a, parsed with x (one
 * per thread). Returns 0, DS_EINVAL or DS_ELIMIT for an input to refuse
 * (err says why), DS_ECONFIG for a channel this build does not read,
 * DS_ENOMEM. */
int ds_input_parse(const char *channel, const char *bytes, size_t len,
		   const ds_limits *lim, ds_xml *x, ds_arena *a, cJSON **doc,
		   ds_xml_doc **xml, ds_err *err);

/* Whether a form input is multipart (starts with its Content-Type line). */
bool ds_input_is_multipart(const char *bytes, size_t len);

/* The channel that reads a media type (parameters allowed, case ignored):
 * application/json and +json types, application/xml, text/xml and +xml
 * types, message/rfc822, application/x-www-form-urlencoded and
 * multipart/form-data; NULL for any other. */
const char *ds_input_channel_of_type(const char *content_type);

/* A multipart/form-data body received with its Content-Type apart (an HTTP
 * request, `inspect --content-type`) as the form channel reads it: the
 * "Content-Type:" line, a blank line, then the body. Sets *out (ds_malloc'd,
 * the caller frees it) and *n. Returns 0, DS_EINVAL for a type with a line
 * break in it, or DS_ENOMEM. */
int ds_input_multipart_with_type(const char *content_type, const char *body, size_t len,
				 char **out, size_t *n, ds_err *err);

/* The decoded bytes of a file an input carried, as its attachment row
 * names it: an email's part at IMAP path `part`, or a multipart form's
 * file number seq (from 0, in body order). Sets *data (ds_malloc'd, the
 * caller frees it) and *n. DS_ENOTFOUND when the input has no such file;
 * otherwise the errors of reading the input. */
int ds_input_attachment(const char *channel, const char *bytes, size_t len,
			const ds_limits *lim, const char *part, int seq, char **data,
			size_t *n, ds_err *err);

#endif
