/*
 * test_decimal.c - exact decimals: parsing, arithmetic, rounding, overflow,
 * plain and French formatting, conversion from JSON.
 *
 * Every group is a table: adding a case is adding a line. Values are written
 * as decimal text and compared as text, so a failure message shows both.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "decimal.h"
#include "err.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static ds_dec D(const char *s)
{
	ds_dec d = { 0, 0 };
	int rc = ds_dec_parse(s, strlen(s), &d);
	cr_assert_eq(rc, 0, "fixture \"%s\" does not parse (%d)", s, rc);
	return d;
}

static const char *F(ds_dec d, char buf[64])
{
	ds_dec_format(d, buf, 64);
	return buf;
}

/* ---- parsing ---- */

static const struct {
	const char *in;
	int rc;
	int64_t units;
	int scale;
} parse_cases[] = {
	{ "0", 0, 0, 0 },
	{ "-0", 0, 0, 0 },
	{ "0.00", 0, 0, 2 },
	{ "12.50", 0, 1250, 2 },
	{ "-1234.5", 0, -12345, 1 },
	{ "007", 0, 7, 0 },
	{ "0.10", 0, 10, 2 },
	{ "0.000000000000000001", 0, 1, 18 },
	{ "9223372036854775807", 0, INT64_MAX, 0 },
	{ "-9223372036854775808", 0, INT64_MIN, 0 },
	{ "9.223372036854775807", 0, INT64_MAX, 18 },
	/* exact values that fit once trailing zero decimals are dropped */
	{ "1.5000000000000000000000", 0, 1500000000000000000, 18 },
	{ "922337203685477580.70", 0, INT64_MAX, 1 },
	{ "0.0000000000000000000000", 0, 0, 18 },
	/* bad syntax */
	{ "", DS_EINVAL, 0, 0 },
	{ "-", DS_EINVAL, 0, 0 },
	{ "+1", DS_EINVAL, 0, 0 },
	{ "1.", DS_EINVAL, 0, 0 },
	{ ".5", DS_EINVAL, 0, 0 },
	{ "-.5", DS_EINVAL, 0, 0 },
	{ "1e3", DS_EINVAL, 0, 0 },
	{ " 1", DS_EINVAL, 0, 0 },
	{ "1 ", DS_EINVAL, 0, 0 },
	{ "1,5", DS_EINVAL, 0, 0 },
	{ "--1", DS_EINVAL, 0, 0 },
	{ "0x10", DS_EINVAL, 0, 0 },
	{ "1.2.3", DS_EINVAL, 0, 0 },
	{ "abc", DS_EINVAL, 0, 0 },
	{ "NaN", DS_EINVAL, 0, 0 },
	/* does not fit */
	{ "9223372036854775808", DS_ELIMIT, 0, 0 },
	{ "-9223372036854775809", DS_ELIMIT, 0, 0 },
	{ "0.0000000000000000001", DS_ELIMIT, 0, 0 },
	{ "12345678901234567.891", DS_ELIMIT, 0, 0 },
	{ "99999999999999999999999999999999999999999999", DS_ELIMIT, 0, 0 },
	{ "1.00000000000000000000000000000000000000000001", DS_ELIMIT, 0, 0 },
};

Test(decimal, parse)
{
	for (size_t i = 0; i < N(parse_cases); i++) {
		ds_dec d = { -7, -7 };
		int rc = ds_dec_parse(parse_cases[i].in, strlen(parse_cases[i].in),
				      &d);
		cr_expect_eq(rc, parse_cases[i].rc, "parse \"%s\": rc %d, want %d",
			     parse_cases[i].in, rc, parse_cases[i].rc);
		if (rc || parse_cases[i].rc)
			continue;
		cr_expect(d.units == parse_cases[i].units
			  && d.scale == parse_cases[i].scale,
			  "parse \"%s\": %lld/10^%d, want %lld/10^%d",
			  parse_cases[i].in, (long long)d.units, d.scale,
			  (long long)parse_cases[i].units, parse_cases[i].scale);
	}
}

Test(decimal, parse_honours_length)
{
	ds_dec d;
	cr_assert_eq(ds_dec_parse("12.5xyz", 4, &d), 0);
	cr_expect(d.units == 125 && d.scale == 1);
	cr_expect_eq(ds_dec_parse("12.5xyz", 5, &d), DS_EINVAL);
	cr_expect_eq(ds_dec_parse("12.5", 0, &d), DS_EINVAL);
	cr_expect_eq(ds_dec_parse(NULL, 0, &d), DS_EINVAL);
}

/* ---- arithmetic ---- */

enum op { ADD, SUB, MUL };

static const struct {
	enum op op;
	const char *a, *b;
	int rc;
	const char *want;
} arith_cases[] = {
	{ ADD, "0.10", "0.20", 0, "0.30" },
	{ ADD, "1", "0.005", 0, "1.005" },
	{ ADD, "-1.5", "1.5", 0, "0.0" },
	{ ADD, "-0.01", "-0.99", 0, "-1.00" },
	{ ADD, "9223372036854775807", "0", 0, "9223372036854775807" },
	{ ADD, "9223372036854775807", "1", DS_ELIMIT, NULL },
	{ ADD, "-9223372036854775808", "-1", DS_ELIMIT, NULL },
	{ ADD, "10", "0.000000000000000001", DS_ELIMIT, NULL },
	{ SUB, "0", "0.01", 0, "-0.01" },
	{ SUB, "0.30", "0.1", 0, "0.20" },
	{ SUB, "100", "99.999", 0, "0.001" },
	{ SUB, "-9223372036854775808", "1", DS_ELIMIT, NULL },
	{ SUB, "0", "-9223372036854775808", DS_ELIMIT, NULL },
	{ MUL, "1.5", "2", 0, "3.0" },
	{ MUL, "0.50", "0.50", 0, "0.2500" },
	{ MUL, "-2.5", "4", 0, "-10.0" },
	{ MUL, "-2.5", "-0.4", 0, "1.00" },
	{ MUL, "19.99", "3", 0, "59.97" },
	{ MUL, "0.000000001", "0.000000001", 0, "0.000000000000000001" },
	{ MUL, "1.0000000000", "1.0000000000", 0, "1.000000000000000000" },
	{ MUL, "3037000499", "3037000499", 0, "9223372030926249001" },
	{ MUL, "3037000500", "3037000500", DS_ELIMIT, NULL },
	{ MUL, "10000000000", "10000000000", DS_ELIMIT, NULL },
	{ MUL, "0.0000000001", "0.0000000001", DS_ELIMIT, NULL },
	{ MUL, "-9223372036854775808", "-1", DS_ELIMIT, NULL },
};

Test(decimal, arithmetic)
{
	static const char *names[] = { "+", "-", "*" };
	for (size_t i = 0; i < N(arith_cases); i++) {
		ds_dec a = D(arith_cases[i].a), b = D(arith_cases[i].b), r;
		int rc;
		switch (arith_cases[i].op) {
		case ADD: rc = ds_dec_add(a, b, &r); break;
		case SUB: rc = ds_dec_sub(a, b, &r); break;
		default: rc = ds_dec_mul(a, b, &r); break;
		}
		cr_expect_eq(rc, arith_cases[i].rc, "%s %s %s: rc %d, want %d",
			     arith_cases[i].a, names[arith_cases[i].op],
			     arith_cases[i].b, rc, arith_cases[i].rc);
		if (rc || !arith_cases[i].want)
			continue;
		char buf[64];
		cr_expect_str_eq(F(r, buf), arith_cases[i].want, "%s %s %s",
				 arith_cases[i].a, names[arith_cases[i].op],
				 arith_cases[i].b);
	}
}

Test(decimal, point_one_plus_point_two_is_point_three)
{
	ds_dec r;
	cr_assert_eq(ds_dec_add(D("0.10"), D("0.20"), &r), 0);
	cr_expect_eq(ds_dec_cmp(r, D("0.30")), 0);
	cr_expect_eq(ds_dec_cmp(r, D("0.3")), 0);
}

static const struct {
	const char *a, *pct;
	int scale;
	int rc;
	const char *want;
} percent_cases[] = {
	{ "100", "20", 2, 0, "20.00" },
	{ "19.99", "20", 2, 0, "4.00" },
	{ "0.125", "100", 2, 0, "0.13" },
	{ "-0.125", "100", 2, 0, "-0.13" },
	{ "0.05", "50", 2, 0, "0.03" },
	{ "-0.05", "50", 2, 0, "-0.03" },
	{ "0.05", "-50", 2, 0, "-0.03" },
	{ "0.049", "50", 2, 0, "0.02" },
	{ "-0.049", "50", 2, 0, "-0.02" },
	{ "10.05", "5.5", 2, 0, "0.55" },
	{ "-9.99", "33.333", 2, 0, "-3.33" },
	{ "1234.56", "0", 2, 0, "0.00" },
	{ "250", "2.5", 0, 0, "6" },
	{ "-250", "2.5", 0, 0, "-6" },
	{ "1", "1", 18, 0, "0.010000000000000000" },
	{ "9.223372036854775807", "100", 18, 0, "9.223372036854775807" },
	{ "9223372036854775807", "100", 0, 0, "9223372036854775807" },
	{ "9223372036854775807", "9223372036854775807", 0, DS_ELIMIT, NULL },
	{ "9223372036854775807", "200", 0, DS_ELIMIT, NULL },
	{ "9223372036854775807", "100", 1, DS_ELIMIT, NULL },
	{ "1", "1", 19, DS_EINVAL, NULL },
	{ "1", "1", -1, DS_EINVAL, NULL },
};

Test(decimal, percent_rounds_half_away_from_zero)
{
	for (size_t i = 0; i < N(percent_cases); i++) {
		ds_dec r;
		int rc = ds_dec_percent(D(percent_cases[i].a),
					D(percent_cases[i].pct),
					percent_cases[i].scale, &r);
		cr_expect_eq(rc, percent_cases[i].rc,
			     "%s * %s%% at %d: rc %d, want %d",
			     percent_cases[i].a, percent_cases[i].pct,
			     percent_cases[i].scale, rc, percent_cases[i].rc);
		if (rc || !percent_cases[i].want)
			continue;
		char buf[64];
		cr_expect_str_eq(F(r, buf), percent_cases[i].want, "%s * %s%%",
				 percent_cases[i].a, percent_cases[i].pct);
	}
}

static const struct {
	const char *a;
	int scale;
	int rc;
	const char *want;
} round_cases[] = {
	{ "1.005", 2, 0, "1.01" },
	{ "-1.005", 2, 0, "-1.01" },
	{ "1.004", 2, 0, "1.00" },
	{ "-1.004", 2, 0, "-1.00" },
	{ "2.5", 0, 0, "3" },
	{ "-2.5", 0, 0, "-3" },
	{ "0.5", 0, 0, "1" },
	{ "0.4999999999", 0, 0, "0" },
	{ "1", 2, 0, "1.00" },
	{ "9.999", 2, 0, "10.00" },
	{ "0.000000000000000005", 17, 0, "0.00000000000000001" },
	{ "9223372036854775807", 0, 0, "9223372036854775807" },
	{ "9223372036854775807", 1, DS_ELIMIT, NULL },
	{ "922337203685477580.7", 0, 0, "922337203685477581" },
	{ "1", 19, DS_EINVAL, NULL },
};

Test(decimal, round)
{
	for (size_t i = 0; i < N(round_cases); i++) {
		ds_dec r;
		int rc = ds_dec_round(D(round_cases[i].a), round_cases[i].scale, &r);
		cr_expect_eq(rc, round_cases[i].rc, "round %s to %d: rc %d",
			     round_cases[i].a, round_cases[i].scale, rc);
		if (rc || !round_cases[i].want)
			continue;
		char buf[64];
		cr_expect_str_eq(F(r, buf), round_cases[i].want, "round %s to %d",
				 round_cases[i].a, round_cases[i].scale);
	}
}

Test(decimal, invalid_scale_is_rejected)
{
	ds_dec bad = { 1, 19 }, neg = { 1, -1 }, r;
	cr_expect_eq(ds_dec_add(bad, D("1"), &r), DS_EINVAL);
	cr_expect_eq(ds_dec_sub(D("1"), neg, &r), DS_EINVAL);
	cr_expect_eq(ds_dec_mul(bad, D("1"), &r), DS_EINVAL);
	cr_expect_eq(ds_dec_percent(bad, D("1"), 2, &r), DS_EINVAL);
	cr_expect_eq(ds_dec_round(neg, 2, &r), DS_EINVAL);
}

static const struct {
	const char *a, *b;
	int want;
} cmp_cases[] = {
	{ "0.1", "0.10", 0 },
	{ "0", "-0.00", 0 },
	{ "-1", "0.5", -1 },
	{ "0.5", "-1", 1 },
	{ "1.000000000000000001", "1", 1 },
	{ "9223372036854775807", "9.223372036854775807", 1 },
	{ "-9223372036854775808", "9223372036854775807", -1 },
	{ "-0.000000000000000001", "0", -1 },
};

Test(decimal, compare)
{
	for (size_t i = 0; i < N(cmp_cases); i++) {
		int c = ds_dec_cmp(D(cmp_cases[i].a), D(cmp_cases[i].b));
		cr_expect_eq(c, cmp_cases[i].want, "cmp(%s, %s) = %d",
			     cmp_cases[i].a, cmp_cases[i].b, c);
	}
	cr_expect(ds_dec_is_zero(D("0.000")));
	cr_expect(!ds_dec_is_zero(D("0.001")));
	ds_dec i = ds_dec_from_int(-42);
	cr_expect(i.units == -42 && i.scale == 0);
}

/* ---- formatting ---- */

static const struct {
	int64_t units;
	int scale;
	const char *want;
} format_cases[] = {
	{ 0, 0, "0" },
	{ 0, 2, "0.00" },
	{ -5, 2, "-0.05" },
	{ 5, 1, "0.5" },
	{ 123450, 2, "1234.50" },
	{ -123450, 2, "-1234.50" },
	{ 1, 18, "0.000000000000000001" },
	{ INT64_MAX, 0, "9223372036854775807" },
	{ INT64_MIN, 0, "-9223372036854775808" },
	{ INT64_MIN, 18, "-9.223372036854775808" },
};

Test(decimal, format)
{
	for (size_t i = 0; i < N(format_cases); i++) {
		ds_dec d = { format_cases[i].units, format_cases[i].scale };
		char buf[32];
		size_t n = ds_dec_format(d, buf, sizeof buf);
		cr_expect_str_eq(buf, format_cases[i].want);
		cr_expect_eq(n, strlen(format_cases[i].want));
	}
}

Test(decimal, format_truncates_like_snprintf)
{
	char buf[4] = "xyz";
	cr_expect_eq(ds_dec_format(D("1234.50"), buf, sizeof buf), 7);
	cr_expect_str_eq(buf, "123");
	cr_expect_eq(ds_dec_format(D("1234.50"), buf, 0), 7);
	cr_expect_str_eq(buf, "123");
	cr_expect_eq(ds_dec_format_fr(D("1234.5"), 2, " ", buf, 1), 8);
	cr_expect_str_eq(buf, "");
}

static const struct {
	const char *a;
	int scale;
	const char *sep;
	const char *want;
} fr_cases[] = {
	{ "0", 2, " ", "0,00" },
	{ "0", 0, " ", "0" },
	{ "0.1", 2, " ", "0,10" },
	{ "1234.5", 2, " ", "1 234,50" },
	{ "-1234.5", 2, " ", "-1 234,50" },
	{ "1234567.891", 2, " ", "1 234 567,89" },
	{ "-1234567.895", 2, " ", "-1 234 567,90" },
	{ "999.995", 2, " ", "1 000,00" },
	{ "-0.001", 2, " ", "0,00" },
	{ "-0.005", 2, " ", "-0,01" },
	{ "123", 0, " ", "123" },
	{ "100000", 0, " ", "100 000" },
	{ "12.5", 0, " ", "13" },
	{ "1234", 0, "\u202f", "1\u202f234" },
	{ "-1234567.891", 2, ".", "-1.234.567,89" },
	{ "12345", 2, NULL, "12345,00" },
	{ "12345", 2, "", "12345,00" },
	{ "1", 18, " ", "1,000000000000000000" },
	{ "-9223372036854775808", 2, "\u202f",
	  "-9\u202f223\u202f372\u202f036\u202f854\u202f775\u202f808,00" },
	{ "9223372036854775807", 18, "\u202f",
	  "9\u202f223\u202f372\u202f036\u202f854\u202f775\u202f807,"
	  "000000000000000000" },
};

Test(decimal, format_fr)
{
	for (size_t i = 0; i < N(fr_cases); i++) {
		char buf[64];
		size_t n = ds_dec_format_fr(D(fr_cases[i].a), fr_cases[i].scale,
					    fr_cases[i].sep, buf, sizeof buf);
		cr_expect_str_eq(buf, fr_cases[i].want, "%s at %d",
				 fr_cases[i].a, fr_cases[i].scale);
		cr_expect_eq(n, strlen(fr_cases[i].want));
	}
}

/* ---- JSON ---- */

static const struct {
	const char *json;
	int rc;
	const char *want;
} json_cases[] = {
	{ "12.5", 0, "12.5" },
	{ "20", 0, "20" },
	{ "0.1", 0, "0.1" },
	{ "-3.25", 0, "-3.25" },
	{ "0", 0, "0" },
	{ "-0", 0, "0" },
	{ "0.30000000000000004", 0, "0.3" },
	{ "123456789012.34", 0, "123456789012.34" },
	{ "1.5e-7", 0, "0.00000015" },
	{ "1e18", 0, "1000000000000000000" },
	{ "1.5e3", 0, "1500" },
	{ "1e-18", 0, "0.000000000000000001" },
	{ "1e20", DS_ELIMIT, NULL },
	{ "-1e20", DS_ELIMIT, NULL },
	{ "1e-20", DS_ELIMIT, NULL },
	{ "\"12.50\"", 0, "12.50" },
	{ "\"-0.01\"", 0, "-0.01" },
	{ "\"1e3\"", DS_EINVAL, NULL },
	{ "\" 12\"", DS_EINVAL, NULL },
	{ "\"\"", DS_EINVAL, NULL },
	{ "\"12,5\"", DS_EINVAL, NULL },
	{ "\"99999999999999999999\"", DS_ELIMIT, NULL },
	{ "true", DS_EINVAL, NULL },
	{ "null", DS_EINVAL, NULL },
	{ "[1]", DS_EINVAL, NULL },
	{ "{\"a\":1}", DS_EINVAL, NULL },
};

Test(decimal, from_json)
{
	for (size_t i = 0; i < N(json_cases); i++) {
		cJSON *v = cJSON_Parse(json_cases[i].json);
		cr_assert(v, "fixture %s", json_cases[i].json);
		ds_dec d;
		int rc = ds_dec_from_json(v, &d);
		cJSON_Delete(v);
		cr_expect_eq(rc, json_cases[i].rc, "from_json %s: rc %d, want %d",
			     json_cases[i].json, rc, json_cases[i].rc);
		if (rc || !json_cases[i].want)
			continue;
		char buf[64];
		cr_expect_str_eq(F(d, buf), json_cases[i].want, "from_json %s",
				 json_cases[i].json);
	}
	ds_dec d;
	cr_expect_eq(ds_dec_from_json(NULL, &d), DS_EINVAL);
}
