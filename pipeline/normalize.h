/*
 * normalize.h - normalizers: the named functions mappings apply to picked
 * text before it becomes a record field (SPEC section 5).
 *
 * A normalizer reads a NUL-terminated UTF-8 string and writes its result,
 * allocated in the arena, to *out. A value it cannot read is DS_EINVAL with
 * the raw value in the message (at most 60 bytes of it, cut at a character
 * boundary, control characters shown as '?'), never a guess; DS_ENOMEM when
 * the arena is exhausted. Work is linear in the input length.
 *
 *   trim             ASCII white space and U+00A0, U+2009, U+202F removed at
 *                    both ends
 *   lower, upper     ASCII and Latin-1 letters; other characters unchanged
 *   collapse_spaces  trimmed, inner runs of ASCII white space become one space
 *   email            trimmed, lower-cased, one address ("a@b.fr")
 *   phone_fr         a French number in E.164: "06 12 34 56 78",
 *                    "+33 (0)6 12 34 56 78", "0033612345678", "06.12.34.56.78"
 *                    -> "+33612345678". Overseas départements get their own
 *                    country code whichever way they are written: "0692 12 34
 *                    56" and "+33 692 12 34 56" -> "+262692123456" (likewise
 *                    +590, +594, +596). Other countries are refused.
 *   amount_fr        an amount as a plain decimal with its written digits:
 *                    "1 234,50 €" -> "1234.50", "1.234,50 EUR", "€1,234.50",
 *                    "1234.5" -> "1234.5", "-12,5" -> "-12.5". Spaces (also
 *                    U+00A0, U+202F, U+2009) only group thousands; with both
 *                    ',' and '.', the last one is the decimal mark; a single
 *                    mark is decimal, except that "1,234" and "1.234" (one to
 *                    three digits, mark, three digits) are ambiguous and
 *                    refused. € / EUR / euro(s) may come before or after; any
 *                    other currency is refused. Leading zeros are dropped.
 *   date_fr          a date as YYYY-MM-DD: "22/11/2026", "22-11-26",
 *                    "22.11.2026", "2026-11-22", "22 novembre 2026",
 *                    "dimanche 22 novembre 2026", "le 1er déc. 2026"; month
 *                    names with or without accents, any case, abbreviations
 *                    with or without their dot. Two-digit years are 1970-2069
 *                    (00-69 -> 20xx), as POSIX strptime reads them. The day
 *                    must exist, and a weekday, when written, must be the
 *                    date's: "lundi 22 novembre 2026" is refused, as that
 *                    day is a Sunday.
 *   siret            14 digits, check digits verified (ident.h); likewise
 *                    siren, vat_fr ("FR" + key + SIREN), iban, postcode_fr
 *                    and currency, each giving the canonical form its schema
 *                    format expects
 *   strip_html       text of an HTML fragment: tags and comments removed,
 *                    script and style content dropped, entities decoded
 *                    (named ones French text uses, &#233; and &#xE9;),
 *                    white space collapsed as a browser does, <br>, <hr> and
 *                    the end of block elements (</p>, </div>, </li>, </tr>,
 *                    </h1>...) become line breaks, at most one empty line in
 *                    a row; the result is trimmed
 *   bool             oui/non, vrai/faux, yes/no, on/off, true/false, 1/0 in
 *                    any case, trimmed -> "true" / "false"; anything else is
 *                    refused. Its kind is DS_NORM_BOOLEAN: the mapping should
 *                    write a JSON true/false, not the text.
 *   integer          a whole number of at most 15 digits, sign allowed, a
 *                    fraction of zeros dropped ("15.00" -> "15"); kind
 *                    DS_NORM_INTEGER: the mapping writes a JSON number.
 *   decimal          an xs:decimal as XML Schema writes amounts and
 *                    quantities: "1234.50", "-2", "+.5" -> "1234.50", "-2",
 *                    "0.5"; digits written kept, leading zeros dropped; no
 *                    comma, space, exponent or currency ("1.234,50" and
 *                    "1 234.50" are refused: in a UBL amount they are errors,
 *                    not a French way of writing)
 *   number           the same syntax as decimal, at most 15 significant
 *                    digits, trailing zero decimals dropped ("2.50" -> "2.5",
 *                    "3.00" -> "3"); kind DS_NORM_NUMBER: the mapping writes
 *                    a JSON number, exactly the decimal written
 *   percent          a rate in percent, decimal point or comma, '%' after it
 *                    or not: "20", "20.00", "5,5 %" -> "20.0", "20.0", "5.5"
 *                    (at least one decimal, other trailing zeros dropped: the
 *                    form VAT rates take in the schemas)
 */
#ifndef DS_NORMALIZE_H
#define DS_NORMALIZE_H

#include <stddef.h>

#include "err.h"
#include "mem.h"

typedef int (*ds_normalizer_fn)(ds_arena *a, const char *in, const char **out,
				ds_err *err);

/* The JSON type a normalizer's text stands for. The result of a chain of
 * normalizers has the kind of the last one. */
typedef enum ds_norm_kind {
	DS_NORM_STRING,   /* write the text as a JSON string */
	DS_NORM_BOOLEAN,  /* the text is "true" or "false": write a JSON boolean */
	DS_NORM_INTEGER,  /* the text is a whole number: write a JSON number */
	DS_NORM_NUMBER,   /* the text is a decimal of at most 15 digits: a JSON number */
} ds_norm_kind;

/* The normalizer of that name, or NULL. */
ds_normalizer_fn ds_normalizer(const char *name);

/* The kind of the normalizer of that name; DS_NORM_STRING for an unknown
 * name (ds_normalizer tells whether it exists). */
ds_norm_kind ds_normalizer_kind(const char *name);

/* The name of the i-th normalizer, for listing them in messages; NULL past
 * the last. */
const char *ds_normalizer_name(size_t i);

#endif
