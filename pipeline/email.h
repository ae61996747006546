/*
 * email.h - one email message (RFC 5322 / MIME) read from a bounded buffer
 * into the JSON object that `dossier inspect` prints and that mappings pick
 * from.
 *
 * The object has the keys of SPEC section 3 (inspect, email): channel
 * ("email"), subject, from {name, address} or null, to and cc
 * [{name, address}], date (ISO 8601 UTC, or null when absent or
 * unreadable), message_id, in_reply_to (strings without angle brackets, or
 * null), references (array of ids), text, parts [{path, content_type,
 * charset, filename, size}] and attachments [{filename, content_type, size,
 * sha256}], plus content_type (the top-level type), date_offset (the
 * sender's UTC offset in minutes, or null) and headers (every header of
 * the message, decoded, by its name in lower case with "-" as "_": the
 * first of a repeated one; at most 200 names).
 *
 * Guarantees. Every string in the object is valid UTF-8. Headers are
 * unfolded and their RFC 2047 encoded words decoded (ds_email_decode_header).
 * Part paths follow IMAP section numbering (RFC 3501 §6.4.5): the parts of
 * a top-level multipart are "1", "2"..., a part nested in part 2 is "2.1",
 * the body of a message/rfc822 part 2 is "2.1" (or its children "2.1",
 * "2.2"... when multipart); the top-level multipart itself has no number and
 * is not listed. A part's size is the number of decoded bytes (transfer
 * encoding undone, charset untouched); a container's size is the sum of its
 * leaves. Text is converted to UTF-8 from its charset; UTF-8, US-ASCII,
 * ISO-8859-1 (read as Windows-1252, as browsers do, so 0x80 is the euro
 * sign), Windows-1252 and ISO-8859-15 are handled here, other charsets
 * through iconv under GMime's names (ks_c_5601-1987 is EUC-KR), and
 * anything unreadable falls back to Windows-1252 (or to UTF-8 with U+FFFD
 * when it is valid enough); bytes past ASCII in a part labelled US-ASCII,
 * MIME's default, are read as in an unlabelled one. `text` is the first
 * text/plain part of the message that is not an attachment (format=flowed
 * undone, RFC 3676: soft line breaks joined, space-stuffing dropped), else
 * the first such text/html part turned into readable text (libxml2's HTML parser, no
 * network, no outside entities; script and style dropped; block elements
 * end lines), else "". Line ends in text are "\n". An attachment is a leaf
 * part that is not the chosen body and has a Content-Disposition of
 * attachment, or a file name, or a type other than text; its sha256 is
 * the SHA-256 of its decoded bytes.
 *
 * Bounds (ds_email_opts, 0 meaning the default): the message bytes, the
 * number of parts, the nesting depth and the length of one header value.
 * Going past one is DS_ELIMIT with a message naming the limit
 * ("max_parts"). The part count is also checked before GMime parses the
 * message, from the lines that start with "Content-Type:", so a hostile
 * nesting never reaches GMime's recursive parser. Nothing read from the
 * input crashes the parser or makes it allocate more than a small multiple
 * of the message size.
 *
 * GMime is initialised once per process (pthread_once) and never shut
 * down; parses may run in several threads at once.
 */
#ifndef DS_EMAIL_H
#define DS_EMAIL_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "caltime.h"
#include "err.h"

/* Default limits, used for each ds_email_opts field left at 0. */
#define DS_EMAIL_MAX_TOTAL (25u << 20)
#define DS_EMAIL_MAX_PARTS 500
#define DS_EMAIL_MAX_DEPTH 20
#define DS_EMAIL_MAX_HEADER (64u << 10)

typedef struct ds_email_opts {
	size_t max_total;   /* bytes of the message as given */
	size_t max_parts;   /* MIME entities below the message, all levels */
	size_t max_depth;   /* nesting of multiparts and attached messages */
	size_t max_header;  /* bytes of one header value, raw (folded) */
} ds_email_opts;

/* Parses len bytes at buf (opts may be NULL for the defaults) and sets
 * *out to a new cJSON object described above, which the caller frees with
 * cJSON_Delete. Returns 0; DS_ELIMIT (a bound, named in the message);
 * DS_EINVAL (empty input, or nothing GMime can read as a message);
 * DS_ENOMEM. *out is NULL on error. */
int ds_email_parse(const char *buf, size_t len, const ds_email_opts *opts, cJSON **out,
		   ds_err *err);

/* The decoded bytes of the part at IMAP path `path` ("1.2"), transfer
 * encoding undone and charset untouched: *data (ds_malloc'd, NUL-terminated
 * for convenience, freed by the caller with ds_free) and *n. Same bounds
 * and errors as ds_email_parse, plus DS_ENOTFOUND when no leaf part has
 * that path (containers have no bytes of their own). */
int ds_email_part(const char *buf, size_t len, const ds_email_opts *opts, const char *path,
		  char **data, size_t *n, ds_err *err);

/* Decodes one raw header value (the text after "Name:", possibly folded,
 * possibly followed by further header lines, which are ignored): folds
 * are joined with one space (white space around them dropped, and nothing
 * at all inside an encoded word), leading and trailing white space is
 * removed, other control characters become spaces, RFC 2047 encoded words
 * (Q or B; also when glued to other text) become UTF-8 and the white space
 * between two of them is dropped; a malformed encoded word is kept as it
 * is. Raw 8-bit text is kept when it is UTF-8, else read as Windows-1252.
 * Sets *out to a ds_malloc'd UTF-8 string the caller frees with ds_free.
 * Returns 0 or DS_ENOMEM. */
int ds_email_decode_header(const char *raw, size_t len, char **out, ds_err *err);

/* Parses an RFC 5322 Date value (GMime's lenient reader: comments, missing
 * weekday, two-digit years, obsolete zone names). Sets *out to the UTC
 * instant and, when offset_min is not NULL, *offset_min to the sender's
 * offset from UTC in minutes. Returns 0 or DS_EINVAL (unreadable). */
int ds_email_parse_date(const char *s, ds_time *out, int *offset_min);

#endif
