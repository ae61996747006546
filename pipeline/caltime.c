/*
 * caltime.c - calendar arithmetic on UTC instants; see caltime.h.
 *
 * Dates are converted with Howard Hinnant's days_from_civil / civil_from_days
 * algorithms on the proleptic Gregorian calendar, so nothing here depends on
 * the C library's time zone database, TZ, timegm() or mktime(): the same
 * input gives the same instant on every machine. Parsing is strict: a date
 * that does not exist (2026-02-30), an out-of-range field or any trailing
 * byte is DS_EINVAL. Arithmetic saturates at the ends of the int64 range
 * instead of overflowing.
 */
#include "caltime.h"

#include "err.h"

#include <limits.h>
#include <stdio.h>
#include <time.h>

#define DAY 86400

/* The --now override. Set once at start-up (or per test); not thread-safe. */
static bool now_set;
static ds_time now_value;

ds_time ds_time_now(void)
{
	return now_set ? now_value : (ds_time)time(NULL);
}

void ds_time_set_now(bool has, ds_time t)
{
	now_set = has;
	now_value = has ? t : 0;
}

/* ---- civil calendar ---- */

static int64_t days_from_civil64(int64_t y, int64_t m, int64_t d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days64(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

int64_t ds_days_from_civil(int y, int m, int d)
{
	return days_from_civil64(y, m, d);
}

void ds_civil_from_days(int64_t days, int *y, int *m, int *d)
{
	int64_t yy;
	/* Keep the intermediate sums far from int64 overflow; such days are
	 * hundreds of millions of years away and saturate the year anyway. */
	if (days > INT64_MAX / 4)
		days = INT64_MAX / 4;
	if (days < INT64_MIN / 4)
		days = INT64_MIN / 4;
	civil_from_days64(days, &yy, m, d);
	*y = yy > INT_MAX ? INT_MAX : yy < INT_MIN ? INT_MIN : (int)yy;
}

int ds_weekday(int64_t days)
{
	/* 1970-01-01 was a Thursday (3 with Monday = 0). */
	return (int)((days % 7 + 7 + 3) % 7);
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
	static const int len[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
				     30, 31 };
	return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

/* Easter Sunday of year y (anonymous Gregorian algorithm), as days since
 * the epoch. */
static int64_t easter_days(int y)
{
	int64_t a = y % 19, b = y / 100, c = y % 100;
	int64_t d = b / 4, e = b % 4;
	int64_t f = (b + 8) / 25;
	int64_t g = (b - f + 1) / 3;
	int64_t h = (19 * a + b - d - g + 15) % 30;
	int64_t i = c / 4, k = c % 4;
	int64_t l = (32 + 2 * e + 2 * i - h - k) % 7;
	int64_t m = (a + 11 * h + 22 * l) / 451;
	int64_t month = (h + l - 7 * m + 114) / 31;
	int64_t day = (h + l - 7 * m + 114) % 31 + 1;
	return days_from_civil64(y, month, day);
}

bool ds_is_french_holiday(int y, int m, int d)
{
	static const struct { int m, d; } fixed[] = {
		{ 1, 1 }, { 5, 1 }, { 5, 8 }, { 7, 14 }, { 8, 15 },
		{ 11, 1 }, { 11, 11 }, { 12, 25 },
	};
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		if (fixed[i].m == m && fixed[i].d == d)
			return true;
	/* Movable feasts fall between March 23 and June 14. */
	if (m < 3 || m > 6)
		return false;
	int64_t day = days_from_civil64(y, m, d);
	int64_t easter = easter_days(y);
	return day == easter + 1       /* Easter Monday */
	       || day == easter + 39   /* Ascension Thursday */
	       || day == easter + 50;  /* Whit Monday */
}

static bool is_business_day(int64_t days)
{
	if (ds_weekday(days) >= 5)
		return false;
	int y, m, d;
	ds_civil_from_days(days, &y, &m, &d);
	return !ds_is_french_holiday(y, m, d);
}

/* ---- parsing and formatting ---- */

/* Exactly n ASCII digits at s, as a number; -1 if any is not a digit. */
static int num(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* "YYYY-MM-DD" at the start of s; *end is set past it. */
static int date_prefix(const char *s, int *y, int *m, int *d, const char **end)
{
	int yy = num(s, 4);
	if (yy < 0 || s[4] != '-')
		return DS_EINVAL;
	int mm = num(s + 5, 2);
	if (mm < 1 || mm > 12 || s[7] != '-')
		return DS_EINVAL;
	int dd = num(s + 8, 2);
	if (dd < 1 || dd > month_days(yy, mm))
		return DS_EINVAL;
	*y = yy;
	*m = mm;
	*d = dd;
	*end = s + 10;
	return DS_OK;
}

int ds_date_parse(const char *s, int *y, int *m, int *d)
{
	const char *end;
	int yy, mm, dd;
	if (!s || date_prefix(s, &yy, &mm, &dd, &end) || *end)
		return DS_EINVAL;
	*y = yy;
	*m = mm;
	*d = dd;
	return DS_OK;
}

int ds_time_parse(const char *s, ds_time *out)
{
	int y, mo, d;
	const char *p;
	if (!s || date_prefix(s, &y, &mo, &d, &p))
		return DS_EINVAL;
	int64_t t = days_from_civil64(y, mo, d) * DAY;
	if (*p == '\0') {
		*out = t;
		return DS_OK;
	}
	if (*p != 'T' && *p != 't')
		return DS_EINVAL;
	p++;
	int hh = num(p, 2);
	if (hh < 0 || hh > 23 || p[2] != ':')
		return DS_EINVAL;
	int mi = num(p + 3, 2);
	if (mi < 0 || mi > 59)
		return DS_EINVAL;
	p += 5;
	int ss = 0;
	if (*p == ':') {
		ss = num(p + 1, 2);
		if (ss < 0 || ss > 59)
			return DS_EINVAL;
		p += 3;
		if (*p == '.' || *p == ',') {
			p++;
			if (*p < '0' || *p > '9')
				return DS_EINVAL;
			while (*p >= '0' && *p <= '9')
				p++;  /* fractions are dropped */
		}
	}
	t += hh * 3600 + mi * 60 + ss;
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
		*out = t;
		return DS_OK;
	}
	if (*p != '+' && *p != '-')
		return DS_EINVAL;  /* a local time without offset is ambiguous */
	int sign = *p == '-' ? -1 : 1;
	int oh = num(p + 1, 2);
	if (oh < 0 || oh > 23)
		return DS_EINVAL;
	p += 3;
	if (*p == ':')
		p++;
	int om = num(p, 2);
	if (om < 0 || om > 59 || p[2] != '\0')
		return DS_EINVAL;
	*out = t - sign * (oh * 3600 + om * 60);
	return DS_OK;
}

/* Days and seconds of day of t, with floor division so that times before
 * 1970 keep a time of day in 0..86399. */
static void split(ds_time t, int64_t *days, int64_t *secs)
{
	int64_t dd = t / DAY, ss = t % DAY;
	if (ss < 0) {
		ss += DAY;
		dd--;
	}
	*days = dd;
	*secs = ss;
}

void ds_time_format(ds_time t, char buf[static 24])
{
	int64_t days, secs;
	split(t, &days, &secs);
	int64_t y;
	int m, d;
	civil_from_days64(days, &y, &m, &d);
	snprintf(buf, 24, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)y, m, d,
		 (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
}

void ds_date_format(ds_time t, char buf[static 12])
{
	int64_t days, secs;
	split(t, &days, &secs);
	int64_t y;
	int m, d;
	civil_from_days64(days, &y, &m, &d);
	snprintf(buf, 12, "%04lld-%02d-%02d", (long long)y, m, d);
}

/* ---- durations ---- */

#define DUR_MAX 100000
#define BDAY_LIMIT ((int64_t)365 * 1000000000)

int ds_duration_parse(const char *s, ds_duration *out)
{
	if (!s || *s < '0' || *s > '9')
		return DS_EINVAL;
	int64_t v = 0;
	const char *p = s;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (*p - '0');
		if (v > DUR_MAX)
			return DS_EINVAL;
		p++;
	}
	ds_dur_unit u;
	if (p[0] == 'm' && p[1] == '\0')
		u = DS_DUR_MIN;
	else if (p[0] == 'h' && p[1] == '\0')
		u = DS_DUR_HOUR;
	else if (p[0] == 'd' && p[1] == '\0')
		u = DS_DUR_DAY;
	else if (p[0] == 'b' && p[1] == 'd' && p[2] == '\0')
		u = DS_DUR_BDAY;
	else
		return DS_EINVAL;
	out->amount = v;
	out->unit = u;
	return DS_OK;
}

static const char *unit_name(ds_dur_unit u)
{
	switch (u) {
	case DS_DUR_MIN: return "m";
	case DS_DUR_HOUR: return "h";
	case DS_DUR_DAY: return "d";
	case DS_DUR_BDAY: return "bd";
	}
	return "?";
}

void ds_duration_format(ds_duration d, char buf[static 32])
{
	snprintf(buf, 32, "%lld%s", (long long)d.amount, unit_name(d.unit));
}

static int64_t sat_mul(int64_t a, int64_t b)
{
	int64_t r;
	if (__builtin_mul_overflow(a, b, &r))
		return (a < 0) != (b < 0) ? INT64_MIN : INT64_MAX;
	return r;
}

static int64_t sat_add(int64_t a, int64_t b)
{
	int64_t r;
	if (__builtin_add_overflow(a, b, &r))
		return b < 0 ? INT64_MIN : INT64_MAX;
	return r;
}

int64_t ds_duration_seconds(ds_duration d)
{
	switch (d.unit) {
	case DS_DUR_MIN: return sat_mul(d.amount, 60);
	case DS_DUR_HOUR: return sat_mul(d.amount, 3600);
	case DS_DUR_DAY:
	case DS_DUR_BDAY: return sat_mul(d.amount, DAY);
	}
	return 0;
}

ds_time ds_time_add(ds_time t, ds_duration d)
{
	if (d.unit != DS_DUR_BDAY)
		return sat_add(t, ds_duration_seconds(d));
	int64_t n = d.amount;
	int step = 1;
	if (n < 0) {
		step = -1;
		n = n == INT64_MIN ? INT64_MAX : -n;
	}
	if (n > DUR_MAX)
		n = DUR_MAX;  /* bounds the walk below; parse never exceeds it */
	int64_t days, secs;
	split(t, &days, &secs);
	/* Beyond a billion years the year no longer fits an int and holidays
	 * mean nothing; leave such instants alone. */
	if (days > BDAY_LIMIT || days < -BDAY_LIMIT)
		return t;
	while (n > 0) {
		days += step;
		if (is_business_day(days))
			n--;
	}
	return days * DAY + secs;
}
