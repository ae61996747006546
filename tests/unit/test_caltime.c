/*
 * test_caltime.c - ISO 8601 instants, civil dates, weekdays, French
 * holidays, durations and business-day arithmetic.
 *
 * Every group is a table: adding a case is adding a line. No test reads the
 * wall clock; instants are written as ISO text and compared as text.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <string.h>

#include "caltime.h"
#include "err.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static ds_time T(const char *s)
{
	ds_time t = 0;
	int rc = ds_time_parse(s, &t);
	cr_assert_eq(rc, 0, "fixture \"%s\" does not parse (%d)", s, rc);
	return t;
}

/* ---- the clock ---- */

Test(caltime, now_override)
{
	ds_time_set_now(true, 1796115600);
	cr_expect_eq(ds_time_now(), 1796115600);
	ds_time_set_now(true, -5);
	cr_expect_eq(ds_time_now(), -5);
	ds_time_set_now(false, 1);
	/* The wall clock is not read here beyond knowing it is not 1970. */
	cr_expect_neq(ds_time_now(), -5);
}

/* ---- ISO 8601 ---- */

static const struct {
	const char *in;
	const char *utc;  /* NULL: must be rejected */
} iso_cases[] = {
	{ "2026-12-01", "2026-12-01T00:00:00Z" },
	{ "2026-12-01T09:00:00Z", "2026-12-01T09:00:00Z" },
	{ "2026-12-01T09:00Z", "2026-12-01T09:00:00Z" },
	{ "2026-12-01t09:00:00z", "2026-12-01T09:00:00Z" },
	{ "2026-12-01T09:00:00.123Z", "2026-12-01T09:00:00Z" },
	{ "2026-12-01T09:00:59.999999999Z", "2026-12-01T09:00:59Z" },
	{ "2026-12-01T09:00:00.5+01:00", "2026-12-01T08:00:00Z" },
	{ "2026-12-01T09:00:00+01:00", "2026-12-01T08:00:00Z" },
	{ "2026-12-01T09:00:00-0530", "2026-12-01T14:30:00Z" },
	{ "2026-12-01T09:00+0100", "2026-12-01T08:00:00Z" },
	{ "2026-12-01T09:00:00-00:00", "2026-12-01T09:00:00Z" },
	{ "2026-12-01T00:30:00+01:00", "2026-11-30T23:30:00Z" },
	{ "2026-12-31T23:30:00-01:00", "2027-01-01T00:30:00Z" },
	{ "2024-03-01T00:30:00+01:00", "2024-02-29T23:30:00Z" },
	{ "2024-02-29", "2024-02-29T00:00:00Z" },
	{ "2000-02-29", "2000-02-29T00:00:00Z" },
	{ "1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z" },
	{ "1969-12-31T23:59:59Z", "1969-12-31T23:59:59Z" },
	{ "0000-01-01", "0000-01-01T00:00:00Z" },
	{ "9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z" },
	/* impossible dates and times */
	{ "2026-02-29", NULL },
	{ "2026-02-30", NULL },
	{ "1900-02-29", NULL },
	{ "2100-02-29", NULL },
	{ "2026-04-31", NULL },
	{ "2026-13-01", NULL },
	{ "2026-00-10", NULL },
	{ "2026-01-00", NULL },
	{ "2026-01-32", NULL },
	{ "2026-12-01T24:00:00Z", NULL },
	{ "2026-12-01T09:60Z", NULL },
	{ "2026-12-01T09:00:60Z", NULL },
	{ "2026-12-01T09:00:00+24:00", NULL },
	{ "2026-12-01T09:00:00+01:60", NULL },
	/* syntax */
	{ "", NULL },
	{ "2026", NULL },
	{ "26-12-01", NULL },
	{ "2026-1-01", NULL },
	{ "2026/12/01", NULL },
	{ "2026-12-01 ", NULL },
	{ " 2026-12-01", NULL },
	{ "2026-12-01T", NULL },
	{ "2026-12-01 09:00:00Z", NULL },
	{ "2026-12-01T09:00:00", NULL },
	{ "2026-12-01T9:00Z", NULL },
	{ "2026-12-01T09Z", NULL },
	{ "2026-12-01T09:00:00Zx", NULL },
	{ "2026-12-01T09:00:00ZZ", NULL },
	{ "2026-12-01T09:00:00.Z", NULL },
	{ "2026-12-01T09:00:00+1:00", NULL },
	{ "2026-12-01T09:00:00+01", NULL },
	{ "2026-12-01T09:00:00+01:0", NULL },
	{ "2026-12-01T09:00:00+01:00x", NULL },
	{ "+2026-12-01", NULL },
};

Test(caltime, parse_iso)
{
	for (size_t i = 0; i < N(iso_cases); i++) {
		ds_time t = 0;
		int rc = ds_time_parse(iso_cases[i].in, &t);
		if (!iso_cases[i].utc) {
			cr_expect_eq(rc, DS_EINVAL, "\"%s\" accepted",
				     iso_cases[i].in);
			continue;
		}
		cr_expect_eq(rc, 0, "\"%s\" rejected", iso_cases[i].in);
		char buf[24];
		ds_time_format(t, buf);
		cr_expect_str_eq(buf, iso_cases[i].utc, "\"%s\"", iso_cases[i].in);
	}
	ds_time t;
	cr_expect_eq(ds_time_parse(NULL, &t), DS_EINVAL);
}

static const struct {
	const char *iso;
	ds_time t;
} epoch_cases[] = {
	{ "1970-01-01T00:00:00Z", 0 },
	{ "1969-12-31T23:59:59Z", -1 },
	{ "2026-12-01T09:00:00Z", 1796115600 },
	{ "2000-03-01", 11017 * 86400LL },
	{ "9999-12-31T23:59:59Z", 253402300799LL },
	{ "0000-01-01T00:00:00Z", -62167219200LL },
};

Test(caltime, format_round_trip)
{
	for (size_t i = 0; i < N(epoch_cases); i++) {
		cr_expect_eq(T(epoch_cases[i].iso), epoch_cases[i].t, "%s",
			     epoch_cases[i].iso);
		char buf[24];
		ds_time_format(epoch_cases[i].t, buf);
		cr_expect_str_eq(buf, epoch_cases[i].iso[10] ? epoch_cases[i].iso
			: "2000-03-01T00:00:00Z");
		cr_expect_eq(T(buf), epoch_cases[i].t);
	}
	/* every hour and a bit across four years, leap day included */
	for (ds_time t = T("2023-01-01"); t < T("2027-01-01"); t += 3607) {
		char buf[24];
		ds_time_format(t, buf);
		cr_expect_eq(T(buf), t, "%s", buf);
	}
}

Test(caltime, date_format)
{
	char buf[12];
	ds_date_format(T("2026-12-01T23:59:59Z"), buf);
	cr_expect_str_eq(buf, "2026-12-01");
	ds_date_format(-1, buf);
	cr_expect_str_eq(buf, "1969-12-31");
}

static const struct {
	const char *in;
	int y, m, d;  /* y < 0: must be rejected */
} date_cases[] = {
	{ "2026-12-01", 2026, 12, 1 },
	{ "2024-02-29", 2024, 2, 29 },
	{ "2000-02-29", 2000, 2, 29 },
	{ "2026-02-29", -1, 0, 0 },
	{ "1900-02-29", -1, 0, 0 },
	{ "2026-12-01T00:00:00Z", -1, 0, 0 },
	{ "2026-12-1", -1, 0, 0 },
	{ "2026-12-01 ", -1, 0, 0 },
	{ "", -1, 0, 0 },
};

Test(caltime, date_parse)
{
	for (size_t i = 0; i < N(date_cases); i++) {
		int y = -7, m = -7, d = -7;
		int rc = ds_date_parse(date_cases[i].in, &y, &m, &d);
		if (date_cases[i].y < 0) {
			cr_expect_eq(rc, DS_EINVAL, "\"%s\" accepted",
				     date_cases[i].in);
			continue;
		}
		cr_expect_eq(rc, 0, "\"%s\" rejected", date_cases[i].in);
		cr_expect(y == date_cases[i].y && m == date_cases[i].m
			  && d == date_cases[i].d, "\"%s\" -> %d-%d-%d",
			  date_cases[i].in, y, m, d);
	}
}

/* ---- civil days and weekdays ---- */

static const struct {
	int y, m, d;
	int64_t days;
	int weekday;  /* 0 = Monday */
} civil_cases[] = {
	{ 1970, 1, 1, 0, 3 },
	{ 1969, 12, 31, -1, 2 },
	{ 2000, 1, 1, 10957, 5 },
	{ 2000, 3, 1, 11017, 2 },
	{ 2024, 2, 29, 19782, 3 },
	{ 2026, 4, 5, 20548, 6 },
	{ 2026, 11, 11, 20768, 2 },
	{ 2026, 12, 1, 20788, 1 },
	{ 2026, 12, 4, 20791, 4 },
	{ 1600, 3, 1, -135080, 2 },
};

Test(caltime, civil_and_weekday)
{
	for (size_t i = 0; i < N(civil_cases); i++) {
		int64_t days = ds_days_from_civil(civil_cases[i].y,
						  civil_cases[i].m,
						  civil_cases[i].d);
		cr_expect_eq(days, civil_cases[i].days, "%04d-%02d-%02d: %lld",
			     civil_cases[i].y, civil_cases[i].m, civil_cases[i].d,
			     (long long)days);
		cr_expect_eq(ds_weekday(days), civil_cases[i].weekday,
			     "weekday of %04d-%02d-%02d", civil_cases[i].y,
			     civil_cases[i].m, civil_cases[i].d);
		int y, m, d;
		ds_civil_from_days(civil_cases[i].days, &y, &m, &d);
		cr_expect(y == civil_cases[i].y && m == civil_cases[i].m
			  && d == civil_cases[i].d);
	}
	/* both directions agree, and weekdays cycle, over ~5500 years */
	int prev_wd = ds_weekday(-1000001);
	for (int64_t days = -1000000; days <= 1000000; days++) {
		int y, m, d;
		ds_civil_from_days(days, &y, &m, &d);
		if (ds_days_from_civil(y, m, d) != days)
			cr_assert_fail("day %lld -> %d-%d-%d", (long long)days, y,
				       m, d);
		int wd = ds_weekday(days);
		if (wd != (prev_wd + 1) % 7)
			cr_assert_fail("weekday of day %lld", (long long)days);
		prev_wd = wd;
	}
}

/* ---- French holidays ---- */

static const struct {
	int year;
	const char *days[11];
} holiday_cases[] = {
	{ 2026, { "2026-01-01", "2026-04-06", "2026-05-01", "2026-05-08",
		  "2026-05-14", "2026-05-25", "2026-07-14", "2026-08-15",
		  "2026-11-01", "2026-11-11", "2026-12-25" } },
	{ 2027, { "2027-01-01", "2027-03-29", "2027-05-01", "2027-05-06",
		  "2027-05-08", "2027-05-17", "2027-07-14", "2027-08-15",
		  "2027-11-01", "2027-11-11", "2027-12-25" } },
	/* Easter on April 25, the latest date, and on March 22, the earliest */
	{ 2038, { "2038-01-01", "2038-04-26", "2038-05-01", "2038-05-08",
		  "2038-06-03", "2038-06-14", "2038-07-14", "2038-08-15",
		  "2038-11-01", "2038-11-11", "2038-12-25" } },
	{ 2285, { "2285-01-01", "2285-03-23", "2285-04-30", "2285-05-01",
		  "2285-05-08", "2285-05-11", "2285-07-14", "2285-08-15",
		  "2285-11-01", "2285-11-11", "2285-12-25" } },
};

Test(caltime, french_holidays)
{
	for (size_t i = 0; i < N(holiday_cases); i++) {
		int y = holiday_cases[i].year;
		size_t found = 0;
		int64_t first = ds_days_from_civil(y, 1, 1);
		int64_t last = ds_days_from_civil(y, 12, 31);
		for (int64_t days = first; days <= last; days++) {
			int yy, m, d;
			ds_civil_from_days(days, &yy, &m, &d);
			if (!ds_is_french_holiday(yy, m, d))
				continue;
			char buf[12];
			ds_date_format(days * 86400, buf);
			cr_expect(found < 11, "extra holiday %s", buf);
			if (found < 11)
				cr_expect_str_eq(buf, holiday_cases[i].days[found]);
			found++;
		}
		cr_expect_eq(found, 11, "%d: %zu holidays", y, found);
	}
}

/* ---- durations ---- */

static const struct {
	const char *in;
	int rc;
	int64_t amount;
	ds_dur_unit unit;
	const char *canon;
	int64_t seconds;
} dur_cases[] = {
	{ "30m", 0, 30, DS_DUR_MIN, "30m", 1800 },
	{ "48h", 0, 48, DS_DUR_HOUR, "48h", 172800 },
	{ "5d", 0, 5, DS_DUR_DAY, "5d", 432000 },
	{ "5bd", 0, 5, DS_DUR_BDAY, "5bd", 432000 },
	{ "0m", 0, 0, DS_DUR_MIN, "0m", 0 },
	{ "100000d", 0, 100000, DS_DUR_DAY, "100000d", 8640000000LL },
	{ "007d", 0, 7, DS_DUR_DAY, "7d", 604800 },
	{ "", DS_EINVAL, 0, 0, NULL, 0 },
	{ "m", DS_EINVAL, 0, 0, NULL, 0 },
	{ "bd", DS_EINVAL, 0, 0, NULL, 0 },
	{ "5", DS_EINVAL, 0, 0, NULL, 0 },
	{ "-5d", DS_EINVAL, 0, 0, NULL, 0 },
	{ "+5d", DS_EINVAL, 0, 0, NULL, 0 },
	{ " 5d", DS_EINVAL, 0, 0, NULL, 0 },
	{ "5 d", DS_EINVAL, 0, 0, NULL, 0 },
	{ "5d ", DS_EINVAL, 0, 0, NULL, 0 },
	{ "5D", DS_EINVAL, 0, 0, NULL, 0 },
	{ "5b", DS_EINVAL, 0, 0, NULL, 0 },
	{ "5bdx", DS_EINVAL, 0, 0, NULL, 0 },
	{ "5w", DS_EINVAL, 0, 0, NULL, 0 },
	{ "5s", DS_EINVAL, 0, 0, NULL, 0 },
	{ "1.5h", DS_EINVAL, 0, 0, NULL, 0 },
	{ "100001d", DS_EINVAL, 0, 0, NULL, 0 },
	{ "99999999999999999999999d", DS_EINVAL, 0, 0, NULL, 0 },
};

Test(caltime, durations)
{
	for (size_t i = 0; i < N(dur_cases); i++) {
		ds_duration d = { -7, DS_DUR_MIN };
		int rc = ds_duration_parse(dur_cases[i].in, &d);
		cr_expect_eq(rc, dur_cases[i].rc, "\"%s\": rc %d",
			     dur_cases[i].in, rc);
		if (rc || dur_cases[i].rc)
			continue;
		cr_expect(d.amount == dur_cases[i].amount
			  && d.unit == dur_cases[i].unit, "\"%s\"",
			  dur_cases[i].in);
		char buf[32];
		ds_duration_format(d, buf);
		cr_expect_str_eq(buf, dur_cases[i].canon);
		cr_expect_eq(ds_duration_seconds(d), dur_cases[i].seconds,
			     "\"%s\"", dur_cases[i].in);
	}
	ds_duration d;
	cr_expect_eq(ds_duration_parse(NULL, &d), DS_EINVAL);
}

/* ---- adding durations ---- */

static const struct {
	const char *from;
	const char *dur;
	const char *want;
} add_cases[] = {
	{ "2026-12-01T09:00:00Z", "30m", "2026-12-01T09:30:00Z" },
	{ "2026-12-01T09:00:00Z", "48h", "2026-12-03T09:00:00Z" },
	{ "2026-12-01T09:00:00Z", "5d", "2026-12-06T09:00:00Z" },
	{ "2026-12-01T09:00:00Z", "0d", "2026-12-01T09:00:00Z" },
	{ "2026-12-31T23:50:00Z", "30m", "2027-01-01T00:20:00Z" },
	{ "2024-02-28T12:00:00Z", "1d", "2024-02-29T12:00:00Z" },
	{ "2026-02-28T12:00:00Z", "1d", "2026-03-01T12:00:00Z" },
	{ "1969-12-31T23:00:00Z", "2h", "1970-01-01T01:00:00Z" },
	/* business days: Tuesday to Wednesday, Friday to Monday */
	{ "2026-12-01T09:00:00Z", "1bd", "2026-12-02T09:00:00Z" },
	{ "2026-12-04T17:45:00Z", "1bd", "2026-12-07T17:45:00Z" },
	{ "2026-12-04T17:45:00Z", "5bd", "2026-12-11T17:45:00Z" },
	/* the start day is not counted, even on a weekend */
	{ "2026-12-05T09:00:00Z", "1bd", "2026-12-07T09:00:00Z" },
	{ "2026-12-06T09:00:00Z", "1bd", "2026-12-07T09:00:00Z" },
	{ "2026-12-06T09:00:00Z", "0bd", "2026-12-06T09:00:00Z" },
	/* Easter Monday 2026 is April 6 */
	{ "2026-04-02T10:00:00Z", "1bd", "2026-04-03T10:00:00Z" },
	{ "2026-04-02T10:00:00Z", "2bd", "2026-04-07T10:00:00Z" },
	{ "2026-04-03T10:00:00Z", "1bd", "2026-04-07T10:00:00Z" },
	/* November 11, 2026 is a Wednesday */
	{ "2026-11-10T08:00:00Z", "1bd", "2026-11-12T08:00:00Z" },
	{ "2026-11-09T08:00:00Z", "5bd", "2026-11-17T08:00:00Z" },
	/* Friday May 8 and Thursday May 14 (Ascension) 2026 */
	{ "2026-05-07T09:00:00Z", "1bd", "2026-05-11T09:00:00Z" },
	{ "2026-05-07T09:00:00Z", "5bd", "2026-05-18T09:00:00Z" },
	/* Christmas on a Friday, New Year on a Friday */
	{ "2026-12-24T09:00:00Z", "1bd", "2026-12-28T09:00:00Z" },
	{ "2026-12-31T09:00:00Z", "1bd", "2027-01-04T09:00:00Z" },
	/* a whole year of 2026: 365 days, 104 weekend days, 9 weekday
	 * holidays (Nov 1 is a Sunday, Aug 15 a Saturday) */
	{ "2025-12-31T12:00:00Z", "252bd", "2026-12-31T12:00:00Z" },
};

Test(caltime, add)
{
	for (size_t i = 0; i < N(add_cases); i++) {
		ds_duration d;
		cr_assert_eq(ds_duration_parse(add_cases[i].dur, &d), 0);
		char buf[24];
		ds_time_format(ds_time_add(T(add_cases[i].from), d), buf);
		cr_expect_str_eq(buf, add_cases[i].want, "%s + %s",
				 add_cases[i].from, add_cases[i].dur);
	}
}

Test(caltime, add_edges)
{
	/* negative business days walk backwards over Easter Monday */
	ds_duration back = { -1, DS_DUR_BDAY };
	char buf[24];
	ds_time_format(ds_time_add(T("2026-04-07T10:00:00Z"), back), buf);
	cr_expect_str_eq(buf, "2026-04-03T10:00:00Z");
	/* the longest parsable walk ends, later than 100000 days on */
	ds_duration most = { 100000, DS_DUR_BDAY };
	ds_time t0 = T("2026-01-01");
	ds_time t1 = ds_time_add(t0, most);
	cr_expect_gt(t1, t0 + 100000LL * 86400);
	/* out-of-range amounts saturate instead of overflowing */
	ds_duration huge = { INT64_MAX, DS_DUR_DAY };
	cr_expect_eq(ds_time_add(1, huge), INT64_MAX);
	ds_duration tiny = { INT64_MIN, DS_DUR_MIN };
	cr_expect_eq(ds_time_add(-1, tiny), INT64_MIN);
	cr_expect_eq(ds_duration_seconds(huge), INT64_MAX);
}

Test(caltime, extremes_stay_defined)
{
	/* Far outside any real schedule: no overflow, no crash, bounded text. */
	static const ds_time ts[] = { INT64_MAX, INT64_MIN, INT64_MAX - 1,
				      INT64_MIN + 1 };
	for (size_t i = 0; i < N(ts); i++) {
		char buf[24], day[12];
		ds_time_format(ts[i], buf);
		ds_date_format(ts[i], day);
		cr_expect_lt(strlen(buf), sizeof buf);
		ds_duration one = { 1, DS_DUR_BDAY };
		cr_expect_eq(ds_time_add(ts[i], one), ts[i]);
	}
	int y, m, d;
	ds_civil_from_days(INT64_MAX, &y, &m, &d);
	cr_expect_eq(y, INT_MAX);
	ds_civil_from_days(INT64_MIN, &y, &m, &d);
	cr_expect_eq(y, INT_MIN);
	cr_expect(!ds_is_french_holiday(INT_MIN, 4, 1));
	(void)ds_is_french_holiday(INT_MAX, 5, 20);
	(void)ds_days_from_civil(INT_MIN, 1, 1);
	(void)ds_weekday(INT64_MIN);
}
