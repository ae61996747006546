/*
 * decimal.h - exact decimal numbers for money, quantities and percentages.
 *
 * A ds_dec is units / 10^scale with a signed 64-bit units and 0 <= scale <=
 * DS_DEC_MAX_SCALE. Arithmetic is exact or fails with DS_ELIMIT on overflow;
 * nothing ever passes through a binary float, so "0.10" + "0.20" is "0.30".
 * Rounding (ds_dec_round) is half away from zero, the commercial rule.
 */
#ifndef DS_DECIMAL_H
#define DS_DECIMAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define DS_DEC_MAX_SCALE 18

typedef struct ds_dec {
	int64_t units;
	int scale;
} ds_dec;

/* Parses the strict decimal syntax -?[0-9]+(\.[0-9]+)? (no exponent, no
 * spaces, no '+'), len bytes of s. Returns 0, DS_EINVAL for bad syntax or
 * DS_ELIMIT when the value does not fit. The written scale is kept ("12.50"
 * is 1250/10^2); trailing zero decimals are dropped only when the value
 * would not fit otherwise ("1.50000000000000000000" is scale 18). */
int ds_dec_parse(const char *s, size_t len, ds_dec *out);

/* A decimal from a JSON value: a decimal string, or a JSON number converted
 * through its shortest decimal text (15 significant digits), so that 12.5
 * written in the input is exactly 12.5. DS_EINVAL for any other type. */
int ds_dec_from_json(const cJSON *v, ds_dec *out);

ds_dec ds_dec_from_int(int64_t v);

/* Exact results: add and sub at max(a.scale, b.scale), mul at a.scale +
 * b.scale, with trailing zero decimals dropped only when needed to fit
 * (scale 18, int64 units). DS_ELIMIT when no exact result fits; DS_EINVAL
 * for an operand whose scale is outside 0..DS_DEC_MAX_SCALE (this holds
 * for every function returning int below). */
int ds_dec_add(ds_dec a, ds_dec b, ds_dec *out);
int ds_dec_sub(ds_dec a, ds_dec b, ds_dec *out);
int ds_dec_mul(ds_dec a, ds_dec b, ds_dec *out);
/* a * pct / 100, rounded half away from zero to scale digits (computed
 * exactly first, so only one rounding happens). */
int ds_dec_percent(ds_dec a, ds_dec pct, int scale, ds_dec *out);
/* Rounds (half away from zero) or extends to exactly scale digits. */
int ds_dec_round(ds_dec a, int scale, ds_dec *out);
/* -1, 0 or 1; exact for any two values. */
int ds_dec_cmp(ds_dec a, ds_dec b);
bool ds_dec_is_zero(ds_dec a);

/* Plain text: "-1234.50" (scale digits kept). Returns the full length, and
 * writes at most n-1 bytes plus the NUL, like snprintf; 32 bytes always
 * suffice. */
size_t ds_dec_format(ds_dec a, char *buf, size_t n);

/* French text with `scale` decimals: "1 234,50" (thousands separated by the
 * UTF-8 string sep, e.g. " " or "\u202f"; NULL is none), decimal comma,
 * rounded half away from zero; a value that rounds to zero has no sign.
 * Never fails; returns the full length like ds_dec_format. 64 bytes always
 * suffice for separators of up to 3 bytes. */
size_t ds_dec_format_fr(ds_dec a, int scale, const char *sep, char *buf,
			size_t n);

#endif
