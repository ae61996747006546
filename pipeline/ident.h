/*
 * ident.h - French and European identifiers: the one place that knows their
 * check digits and canonical forms.
 *
 * Each identifier has two entry points:
 *
 *   ds_id_X_check(s, len)       judges text already in canonical form (what a
 *                               schema format sees): no separators, upper
 *                               case, exact length. Returns a ds_id_fault,
 *                               DS_ID_OK (0) when valid. Never allocates.
 *   ds_id_X_normalize(in, out)  reads what people type (spaces, no-break
 *                               spaces, dots, dashes, lower case), writes the
 *                               canonical form into out and returns 0, or
 *                               DS_EINVAL with a message that names the
 *                               identifier, the fault (ds_id_fault_text) and
 *                               the raw value, truncated to 60 bytes.
 *
 * A value is valid after normalisation exactly when its canonical form passes
 * the check, so a record written from a normalised field always passes the
 * matching schema format. The rules follow python-stdnum where it has them
 * (SIREN, SIRET, French VAT including the alphanumeric keys, IBAN structure
 * and the Spanish and Belgian national check digits), plus the French RIB key
 * inside FR and MC IBANs. Input longer than DS_ID_INPUT_MAX bytes is refused
 * as "wrong length" without being read further.
 */
#ifndef DS_IDENT_H
#define DS_IDENT_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* Bytes of the output buffer of every ds_id_*_normalize: the longest
 * canonical form (a 34-character IBAN) and its NUL. */
#define DS_ID_MAX 35
/* Raw input longer than this is refused unread. */
#define DS_ID_INPUT_MAX 256

typedef enum ds_id_fault {
	DS_ID_OK = 0,
	DS_ID_FORMAT,     /* a character that has no place there */
	DS_ID_LENGTH,     /* too short or too long */
	DS_ID_CHECKSUM,   /* the check digits do not match */
	DS_ID_COMPONENT,  /* unknown country, département, prefix or code */
} ds_id_fault;

/* A fixed phrase for messages: "bad characters", "wrong length", "wrong
 * check digits", "unknown country, code or prefix"; "valid" for DS_ID_OK. */
const char *ds_id_fault_text(ds_id_fault f);

/* ---- Luhn (ISO/IEC 7812), over decimal digits ---- */

/* The Luhn sum of the len digits of s, modulo 10, into *out (0 means the
 * number is valid). DS_EINVAL when len is 0 or a byte is not a digit. */
int ds_id_luhn_checksum(const char *s, size_t len, int *out);
/* The digit to append to s so that the result passes Luhn. */
int ds_id_luhn_check_digit(const char *s, size_t len, char *out);
/* DS_ID_FORMAT for non-digits or empty text, DS_ID_CHECKSUM, or DS_ID_OK. */
ds_id_fault ds_id_luhn_check(const char *s, size_t len);

/* ---- SIREN: 9 digits, Luhn ---- */

ds_id_fault ds_id_siren_check(const char *s, size_t len);
/* Separators dropped: "732 829 320" -> "732829320". */
int ds_id_siren_normalize(const char *in, char out[static DS_ID_MAX], ds_err *err);

/* ---- SIRET: 14 digits, SIREN + establishment number ----
 * Luhn over all 14 digits and a valid SIREN, except La Poste: its
 * establishments share SIREN 356000000 and use a digit sum that is a
 * multiple of 5 instead (its head office, 35600000000048, uses Luhn). */

ds_id_fault ds_id_siret_check(const char *s, size_t len);
int ds_id_siret_normalize(const char *in, char out[static DS_ID_MAX], ds_err *err);

/* ---- French VAT number: "FR" + 2-character key + SIREN ----
 * The canonical form is 13 characters, "FR40303265045". A numeric key is
 * (SIREN * 100 + 12) mod 97. New-style keys use the 34 characters 0-9 and
 * A-Z without I and O, with their own check. Monaco's numbers (SIREN part
 * starting with 000) are valid VAT numbers but their SIREN part is not a
 * SIREN, so it is not Luhn-checked. Normalisation accepts the number with or
 * without the FR prefix, in any case, with separators. */

ds_id_fault ds_id_vat_fr_check(const char *s, size_t len);
int ds_id_vat_fr_normalize(const char *in, char out[static DS_ID_MAX], ds_err *err);
/* The SIREN inside a French VAT number (any form normalize reads):
 * DS_EINVAL for an invalid number, or for a Monaco number, which has none. */
int ds_id_vat_fr_to_siren(const char *in, char out[static DS_ID_MAX], ds_err *err);

/* ---- IBAN (ISO 13616) ----
 * Country code from the SWIFT IBAN registry, the country's length and BBAN
 * structure (digits, letters, alphanumerics by position), ISO 7064 mod 97-10
 * over the whole number, and the national check digits of Belgium, Spain,
 * France and Monaco (RIB key). Canonical form: upper case, no separators,
 * "FR1420041010050500013M02606". */

ds_id_fault ds_id_iban_check(const char *s, size_t len);
int ds_id_iban_normalize(const char *in, char out[static DS_ID_MAX], ds_err *err);

/* ---- French postcode: 5 digits ----
 * The first two digits name a metropolitan département (01-95), except
 * Corsica: 20 then 0 or 1 (2A) or 2 or 6 (2B). 97 and 98 need their third
 * digit: 971-976 for the overseas départements and Saint-Pierre-et-Miquelon
 * (Saint-Barthélemy and Saint-Martin are 971xx), 980 Monaco (served by La
 * Poste), 984 TAAF, 986 Wallis-et-Futuna, 987 French Polynesia, 988 New
 * Caledonia. 00xxx and 96xxx are refused. Normalisation only drops spaces; a 4-digit
 * code whose leading 0 a spreadsheet ate is refused, not padded. */

ds_id_fault ds_id_postcode_fr_check(const char *s, size_t len);
int ds_id_postcode_fr_normalize(const char *in, char out[static DS_ID_MAX], ds_err *err);

/* ---- E.164 phone number: "+" then 7 to 15 digits, the first not 0 ----
 * Normalisation reads international forms only: "+44 (0)20 7946 0000",
 * "0044 20 7946 0000", with spaces, dots, dashes, slashes and parentheses;
 * "(0)" (the national trunk prefix) is dropped. A national number such as
 * "06 12 34 56 78" has no country and is refused here: the phone_fr
 * normalizer reads French national numbers. */

ds_id_fault ds_id_phone_check(const char *s, size_t len);
int ds_id_phone_normalize(const char *in, char out[static DS_ID_MAX], ds_err *err);

/* ---- ISO 4217 currency: the alphabetic codes of List One in force in
 * 2026, fund, metal and special codes included: SLE, VED, XCG and ZWG are
 * in; withdrawn codes (ANG, BGN since the euro, CUC, HRK, SLL, ZWL, and
 * older ones like FRF) are refused. Normalisation trims and upper-cases,
 * and reads "€" as EUR. */

ds_id_fault ds_id_currency_check(const char *s, size_t len);
int ds_id_currency_normalize(const char *in, char out[static DS_ID_MAX], ds_err *err);

#endif
