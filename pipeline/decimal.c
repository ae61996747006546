/*
 * decimal.c - exact decimal arithmetic for money and quantities; see
 * decimal.h.
 *
 * Every operation widens to 128-bit integers, computes the exact result and
 * only then narrows it back to 64-bit units, so intermediate products never
 * overflow silently: a result that does not fit is DS_ELIMIT, never a wrong
 * number. When a result is exact but too wide at its natural scale, trailing
 * zero decimals are dropped to make it fit (1.50 * 2.00 stays 3.0000, but
 * 1.0000000000 * 1.0000000000, scale 20, becomes 1 at scale 18). Rounding
 * is always half away from zero. No value ever passes through a binary float, except the
 * JSON number that cJSON already holds as a double, which is converted once
 * through its 15-significant-digit text.
 */
#include "decimal.h"

#include "err.h"

#include <stdio.h>
#include <string.h>

__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;

/* 10^0 .. 10^38; 10^38 < 2^127, so the whole table fits in i128. */
static u128 pow10u(int e)
{
	u128 p = 1;
	while (e-- > 0)
		p *= 10;
	return p;
}

static bool scale_ok(int scale)
{
	return scale >= 0 && scale <= DS_DEC_MAX_SCALE;
}

static int clamp_scale(int scale)
{
	if (scale < 0)
		return 0;
	return scale > DS_DEC_MAX_SCALE ? DS_DEC_MAX_SCALE : scale;
}

static bool fits64(i128 v)
{
	return v >= INT64_MIN && v <= INT64_MAX;
}

/* Narrows an exact value to a ds_dec, dropping trailing zero decimals only
 * when the value would not fit otherwise (too many decimals or too many
 * units). DS_ELIMIT when no exact representation exists. */
static int narrow(i128 units, int scale, ds_dec *out)
{
	while (scale > 0 && (scale > DS_DEC_MAX_SCALE || !fits64(units))
	       && units % 10 == 0) {
		units /= 10;
		scale--;
	}
	if (scale > DS_DEC_MAX_SCALE || !fits64(units))
		return DS_ELIMIT;
	out->units = (int64_t)units;
	out->scale = scale;
	return DS_OK;
}

/* v / 10^e rounded half away from zero; e may be up to 38. */
static i128 div_round(i128 v, int e)
{
	if (e <= 0)
		return v;
	bool neg = v < 0;
	u128 m = neg ? -(u128)v : (u128)v;
	u128 d = pow10u(e);
	u128 q = m / d;
	u128 r = m % d;
	if (r >= d - r)
		q++;
	return neg ? -(i128)q : (i128)q;
}

/* Multiplies v by 10^e (e >= 0) when the result stays within int64 range;
 * false otherwise. */
static bool mul_pow10_64(i128 v, int e, i128 *out)
{
	if (v == 0) {
		*out = 0;
		return true;
	}
	if (e > 18 || !fits64(v))
		return false;
	/* |v| <= 2^63 and 10^e <= 10^18 < 2^60: the product fits in i128. */
	i128 r = v * (i128)pow10u(e);
	if (!fits64(r))
		return false;
	*out = r;
	return true;
}

/*
 * Shared parser: -?digits(.digits)? and, when allow_exp, an exponent
 * [eE][+-]?digits as "%.15g" writes it. The value is built exactly in 128
 * bits from at most 38 significant digits; longer inputs are DS_ELIMIT
 * unless the extra digits are zeros.
 */
static int parse(const char *s, size_t len, bool allow_exp, ds_dec *out)
{
	size_t i = 0;
	bool neg = false;
	if (i < len && s[i] == '-') {
		neg = true;
		i++;
	}
	u128 mant = 0;
	int digits = 0;      /* significant digits accumulated in mant */
	long exp10 = 0;      /* value = mant * 10^exp10 */
	size_t start = i;
	while (i < len && s[i] >= '0' && s[i] <= '9') {
		if (mant == 0 && s[i] == '0') {
			i++;
			continue;
		}
		if (digits < 38) {
			mant = mant * 10 + (u128)(s[i] - '0');
			digits++;
		} else {
			exp10++;  /* too wide for any ds_dec: narrow() rejects it */
		}
		i++;
	}
	if (i == start)
		return DS_EINVAL;
	if (i < len && s[i] == '.') {
		i++;
		size_t fstart = i;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			if (digits < 38) {
				if (mant != 0 || s[i] != '0')
					digits++;
				mant = mant * 10 + (u128)(s[i] - '0');
				exp10--;
			} else if (s[i] != '0') {
				return DS_ELIMIT;
			}
			i++;
		}
		if (i == fstart)
			return DS_EINVAL;
	}
	if (allow_exp && i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		bool eneg = false;
		if (i < len && (s[i] == '+' || s[i] == '-')) {
			eneg = s[i] == '-';
			i++;
		}
		size_t estart = i;
		long e = 0;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			if (e < 100000)
				e = e * 10 + (s[i] - '0');
			i++;
		}
		if (i == estart)
			return DS_EINVAL;
		exp10 += eneg ? -e : e;
	}
	if (i != len)
		return DS_EINVAL;

	if (mant == 0) {
		long sc = exp10 < 0 ? -exp10 : 0;
		out->units = 0;
		out->scale = sc > DS_DEC_MAX_SCALE ? DS_DEC_MAX_SCALE : (int)sc;
		return DS_OK;
	}
	if (exp10 > 0) {
		if (exp10 > 19)
			return DS_ELIMIT;
		u128 p = pow10u((int)exp10);
		if (mant > (u128)INT64_MAX + 1 || mant * p > (u128)INT64_MAX + 1)
			return DS_ELIMIT;
		mant *= p;
		exp10 = 0;
	}
	/* Strip trailing zero decimals beyond what fits; the rest is exact. */
	while (exp10 < 0 && mant % 10 == 0
	       && (-exp10 > DS_DEC_MAX_SCALE || mant > (u128)INT64_MAX + 1)) {
		mant /= 10;
		exp10++;
	}
	if (-exp10 > DS_DEC_MAX_SCALE)
		return DS_ELIMIT;
	if (mant > (u128)INT64_MAX + (neg ? 1 : 0))
		return DS_ELIMIT;
	i128 v = neg ? -(i128)mant : (i128)mant;
	out->units = (int64_t)v;
	out->scale = (int)-exp10;
	return DS_OK;
}

int ds_dec_parse(const char *s, size_t len, ds_dec *out)
{
	if (!s || !out)
		return DS_EINVAL;
	return parse(s, len, false, out);
}

int ds_dec_from_json(const cJSON *v, ds_dec *out)
{
	if (!v || !out)
		return DS_EINVAL;
	if (cJSON_IsString(v) && v->valuestring)
		return parse(v->valuestring, strlen(v->valuestring), false, out);
	if (!cJSON_IsNumber(v))
		return DS_EINVAL;
	/* An integer below 10^15 is what "%.15g" would print of it. */
	double d = v->valuedouble;
	if (d > -1e15 && d < 1e15 && d == (double)(int64_t)d) {
		*out = ds_dec_from_int((int64_t)d);
		return DS_OK;
	}
	char text[64];
	int n = snprintf(text, sizeof text, "%.15g", v->valuedouble);
	if (n <= 0 || (size_t)n >= sizeof text)
		return DS_EINVAL;
	/* "inf" and "nan" fail the syntax check. */
	return parse(text, (size_t)n, true, out);
}

ds_dec ds_dec_from_int(int64_t v)
{
	return (ds_dec){ .units = v, .scale = 0 };
}

/* a and b at the common scale max(a.scale, b.scale); both fit in i128
 * because |units| <= 2^63 and the factor is at most 10^18 < 2^60. */
static void align(ds_dec a, ds_dec b, i128 *x, i128 *y, int *scale)
{
	int s = a.scale > b.scale ? a.scale : b.scale;
	*x = (i128)a.units * (i128)pow10u(s - a.scale);
	*y = (i128)b.units * (i128)pow10u(s - b.scale);
	*scale = s;
}

int ds_dec_add(ds_dec a, ds_dec b, ds_dec *out)
{
	if (!scale_ok(a.scale) || !scale_ok(b.scale))
		return DS_EINVAL;
	i128 x, y;
	int s;
	align(a, b, &x, &y, &s);
	return narrow(x + y, s, out);
}

int ds_dec_sub(ds_dec a, ds_dec b, ds_dec *out)
{
	if (!scale_ok(a.scale) || !scale_ok(b.scale))
		return DS_EINVAL;
	i128 x, y;
	int s;
	align(a, b, &x, &y, &s);
	return narrow(x - y, s, out);
}

int ds_dec_mul(ds_dec a, ds_dec b, ds_dec *out)
{
	if (!scale_ok(a.scale) || !scale_ok(b.scale))
		return DS_EINVAL;
	/* |product| <= 2^126: exact in i128. */
	return narrow((i128)a.units * (i128)b.units, a.scale + b.scale, out);
}

/* The exact value v / 10^vscale brought to `scale` digits, rounded half
 * away from zero, as 64-bit units; DS_ELIMIT when it does not fit. */
static int rescale(i128 v, int vscale, int scale, ds_dec *out)
{
	i128 r;
	if (vscale >= scale) {
		r = div_round(v, vscale - scale);
		if (!fits64(r))
			return DS_ELIMIT;
	} else if (!mul_pow10_64(v, scale - vscale, &r)) {
		return DS_ELIMIT;
	}
	out->units = (int64_t)r;
	out->scale = scale;
	return DS_OK;
}

int ds_dec_percent(ds_dec a, ds_dec pct, int scale, ds_dec *out)
{
	if (!scale_ok(a.scale) || !scale_ok(pct.scale) || !scale_ok(scale))
		return DS_EINVAL;
	/* a * pct / 100 = units / 10^(a.scale + pct.scale + 2), at most 10^38. */
	i128 prod = (i128)a.units * (i128)pct.units;
	return rescale(prod, a.scale + pct.scale + 2, scale, out);
}

int ds_dec_round(ds_dec a, int scale, ds_dec *out)
{
	if (!scale_ok(a.scale) || !scale_ok(scale))
		return DS_EINVAL;
	return rescale(a.units, a.scale, scale, out);
}

int ds_dec_cmp(ds_dec a, ds_dec b)
{
	a.scale = clamp_scale(a.scale);
	b.scale = clamp_scale(b.scale);
	i128 x, y;
	int s;
	align(a, b, &x, &y, &s);
	return (x > y) - (x < y);
}

bool ds_dec_is_zero(ds_dec a)
{
	return a.units == 0;
}

/* Appends to a caller buffer with snprintf's contract: copies what fits,
 * counts everything, keeps the buffer NUL-terminated. */
typedef struct {
	char *buf;
	size_t n;
	size_t len;
} sink;

static void put(sink *k, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++, k->len++)
		if (k->n && k->len < k->n - 1)
			k->buf[k->len] = s[i];
}

static size_t finish(sink *k)
{
	if (k->n)
		k->buf[k->len < k->n ? k->len : k->n - 1] = '\0';
	return k->len;
}

/* Decimal digits of m, most significant first, into d (40 bytes); returns
 * their count, at least 1. */
static int digits_of(u128 m, char d[40])
{
	char tmp[40];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + (int)(m % 10));
		m /= 10;
	} while (m);
	for (int i = 0; i < n; i++)
		d[i] = tmp[n - 1 - i];
	return n;
}

/* Writes |v| / 10^scale with `scale` decimals after `point`, and the
 * integer part grouped by threes with sep when sep is not NULL. */
static size_t format(i128 v, int scale, const char *point, const char *sep,
		     char *buf, size_t n)
{
	sink k = { buf, n, 0 };
	u128 m = v < 0 ? -(u128)v : (u128)v;
	if (v < 0)
		put(&k, "-", 1);
	char d[40];
	int nd = digits_of(m, d);
	/* Left-pad with zeros so there is at least one integer digit. */
	char z[60];
	int pad = nd <= scale ? scale + 1 - nd : 0;
	memset(z, '0', (size_t)pad);
	memcpy(z + pad, d, (size_t)nd);
	int total = pad + nd;
	int ilen = total - scale;
	size_t seplen = sep ? strlen(sep) : 0;
	for (int i = 0; i < ilen; i++) {
		if (i > 0 && seplen && (ilen - i) % 3 == 0)
			put(&k, sep, seplen);
		put(&k, z + i, 1);
	}
	if (scale > 0) {
		put(&k, point, strlen(point));
		put(&k, z + ilen, (size_t)scale);
	}
	return finish(&k);
}

size_t ds_dec_format(ds_dec a, char *buf, size_t n)
{
	return format(a.units, clamp_scale(a.scale), ".", NULL, buf, n);
}

size_t ds_dec_format_fr(ds_dec a, int scale, const char *sep, char *buf,
			size_t n)
{
	int from = clamp_scale(a.scale);
	scale = clamp_scale(scale);
	/* Rescaling in 128 bits cannot overflow (|units| * 10^18 < 2^123), so
	 * French formatting never fails; a value rounded to zero loses its
	 * sign. */
	i128 v = a.units;
	if (from > scale)
		v = div_round(v, from - scale);
	else
		v *= (i128)pow10u(scale - from);
	return format(v, scale, ",", sep ? sep : "", buf, n);
}
