/* utc_time: civil dates and RFC 3339 timestamps in UTC, to the second, without gmtime_r or
 * timegm (no locale, no time zone files: a confined process has neither). Pure. */
#ifndef SLUICE_BASE_UTC_TIME_H
#define SLUICE_BASE_UTC_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"

/* "2026-12-04T18:30:00Z" and its terminating NUL. */
#define UTC_TIME_TEXT_MAX 21

/* The civil date of a day count since 1970-01-01 (days >= 0). */
void utc_civil_from_days(int64_t days, unsigned *year, unsigned *month, unsigned *day);
/* The day count since 1970-01-01 of a civil date (year >= 1970, month 1..12, day 1..31). */
int64_t utc_days_from_civil(unsigned year, unsigned month, unsigned day);
/* Writes secs (Unix seconds, clamped to 1970..9999) as "YYYY-MM-DDThh:mm:ssZ" with its NUL. */
void utc_time_format(int64_t secs, char out[UTC_TIME_TEXT_MAX]);
/* Reads "YYYY-MM-DDThh:mm:ssZ", with optional fractional seconds (dropped) and a "Z" or
 * "+hh:mm"/"-hh:mm" offset, years 1970..9999. False when text is anything else. */
bool utc_time_parse(struct slice text, int64_t *secs);

#endif
