/*
 * caltime.h - calendar time: ISO 8601 instants, durations, business days.
 *
 * Times are ds_time, seconds since 1970-01-01T00:00:00Z, in UTC. The process
 * never reads the wall clock except through ds_time_now(), which honours the
 * --now override, so every test injects its time.
 *
 * Durations are the timer syntax of processes: "30m", "48h", "5d" (calendar
 * days) and "5bd" (business days: weekends and French public holidays,
 * Easter-based ones included, are skipped; the time of day is kept).
 */
#ifndef DS_CALTIME_H
#define DS_CALTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef int64_t ds_time;

/* The current time: the override if one was set, else the wall clock. */
ds_time ds_time_now(void);
/* Sets (has=true) or clears the override used by ds_time_now(). */
void ds_time_set_now(bool has, ds_time t);

/* Parses "2026-12-01", "2026-12-01T09:00:00Z", "...T09:00Z",
 * "...T09:00:00.123+01:00"; fractions are dropped. 0 or DS_EINVAL.
 * A date alone is midnight UTC. A time of day needs a zone: "Z" or an offset
 * "+01:00" / "-0530" ('t' and 'z' may be lowercase); a local time without
 * one is rejected as ambiguous, and so are second 60, impossible dates
 * (2026-02-30) and any trailing byte. */
int ds_time_parse(const char *s, ds_time *out);
/* Writes "2026-12-01T09:00:00Z" (21 bytes with the NUL). */
void ds_time_format(ds_time t, char buf[static 24]);
/* Writes "2026-12-01" (11 bytes with the NUL). */
void ds_date_format(ds_time t, char buf[static 12]);
/* Parses a calendar date "YYYY-MM-DD" strictly (valid day of month). */
int ds_date_parse(const char *s, int *y, int *m, int *d);
/* Days since 1970-01-01 for a proleptic Gregorian date. */
int64_t ds_days_from_civil(int y, int m, int d);
void ds_civil_from_days(int64_t days, int *y, int *m, int *d);
/* 0 = Monday ... 6 = Sunday. */
int ds_weekday(int64_t days);
/* True for French public holidays (Jan 1, Easter Monday, May 1, May 8,
 * Ascension, Whit Monday, Jul 14, Aug 15, Nov 1, Nov 11, Dec 25). */
bool ds_is_french_holiday(int y, int m, int d);

typedef enum { DS_DUR_MIN, DS_DUR_HOUR, DS_DUR_DAY, DS_DUR_BDAY } ds_dur_unit;

typedef struct ds_duration {
	int64_t amount;
	ds_dur_unit unit;
} ds_duration;

/* Parses "30m", "48h", "5d", "5bd" (amount 0..100000). 0 or DS_EINVAL. */
int ds_duration_parse(const char *s, ds_duration *out);
/* Canonical text, e.g. "5bd". */
void ds_duration_format(ds_duration d, char buf[static 32]);
/* t + d; business days skip Saturdays, Sundays and French holidays.
 * Each business day moves to the next day that is a business day, keeping
 * the time of day (UTC). The start day itself is never counted, whatever it
 * is: Friday + 1bd and Saturday + 1bd are both Monday (when Monday is not a
 * holiday), and + 0bd is t itself even on a Sunday. Results saturate at the
 * int64 limits; a business-day amount is bounded by 100000 like the parser's
 * and a negative one walks backwards. */
ds_time ds_time_add(ds_time t, ds_duration d);
/* Seconds in a fixed-length duration (m, h, d); business days count as
 * days here (used only to compare durations in expressions). */
int64_t ds_duration_seconds(ds_duration d);

#endif
