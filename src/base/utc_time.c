#include "base/utc_time.h"

/* Howard Hinnant's days-from-civil and civil-from-days algorithms: exact for the proleptic
 * Gregorian calendar, no table. */
void utc_civil_from_days(int64_t days, unsigned *year, unsigned *month, unsigned *day)
{
	int64_t z = days + 719468; /* days since 0000-03-01 */
	int64_t era = z / 146097;
	unsigned doe = (unsigned)(z - era * 146097);			      /* [0, 146096] */
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);		      /* [0, 365] */
	unsigned mp = (5 * doy + 2) / 153;				      /* [0, 11] */

	*day = doy - (153 * mp + 2) / 5 + 1;
	*month = mp < 10 ? mp + 3 : mp - 9;
	*year = (unsigned)(yoe + era * 400) + (*month <= 2);
}

int64_t utc_days_from_civil(unsigned year, unsigned month, unsigned day)
{
	int64_t y = (int64_t)year - (month <= 2);
	int64_t era = y / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static char *put_digits(char *p, unsigned value, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + value % 10);
		value /= 10;
	}
	return p + width;
}

/* 9999-12-31T23:59:59Z */
#define UTC_TIME_MAX INT64_C(253402300799)

void utc_time_format(int64_t secs, char out[UTC_TIME_TEXT_MAX])
{
	unsigned year, month, day;

	if (secs < 0)
		secs = 0;
	if (secs > UTC_TIME_MAX)
		secs = UTC_TIME_MAX;
	utc_civil_from_days(secs / 86400, &year, &month, &day);
	unsigned in_day = (unsigned)(secs % 86400);
	char *p = put_digits(out, year, 4);
	*p++ = '-';
	p = put_digits(p, month, 2);
	*p++ = '-';
	p = put_digits(p, day, 2);
	*p++ = 'T';
	p = put_digits(p, in_day / 3600, 2);
	*p++ = ':';
	p = put_digits(p, in_day / 60 % 60, 2);
	*p++ = ':';
	p = put_digits(p, in_day % 60, 2);
	*p++ = 'Z';
	*p = '\0';
}

static bool get_digits(struct slice t, size_t at, int width, unsigned *out)
{
	unsigned v = 0;

	if (at + (size_t)width > t.len)
		return false;
	for (int i = 0; i < width; i++) {
		char ch = t.ptr[at + (size_t)i];
		if (ch < '0' || ch > '9')
			return false;
		v = v * 10 + (unsigned)(ch - '0');
	}
	*out = v;
	return true;
}

static unsigned days_in_month(unsigned year, unsigned month)
{
	static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return month == 2 && leap ? 29 : days[month - 1];
}

bool utc_time_parse(struct slice t, int64_t *secs)
{
	unsigned year, month, day, hour, min, sec;
	size_t i = 19;

	if (!get_digits(t, 0, 4, &year) || t.len < 20 || t.ptr[4] != '-' ||
	    !get_digits(t, 5, 2, &month) || t.ptr[7] != '-' || !get_digits(t, 8, 2, &day) ||
	    (t.ptr[10] != 'T' && t.ptr[10] != 't') || !get_digits(t, 11, 2, &hour) ||
	    t.ptr[13] != ':' || !get_digits(t, 14, 2, &min) || t.ptr[16] != ':' ||
	    !get_digits(t, 17, 2, &sec))
		return false;
	if (year < 1970 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) ||
	    hour > 23 || min > 59 || sec > 59)
		return false;
	if (t.ptr[i] == '.') {
		size_t start = ++i;
		while (i < t.len && t.ptr[i] >= '0' && t.ptr[i] <= '9')
			i++;
		if (i == start)
			return false;
	}
	int64_t offset = 0;
	if (i < t.len && (t.ptr[i] == 'Z' || t.ptr[i] == 'z')) {
		i++;
	} else if (i < t.len && (t.ptr[i] == '+' || t.ptr[i] == '-')) {
		unsigned oh, om;
		if (!get_digits(t, i + 1, 2, &oh) || i + 3 >= t.len || t.ptr[i + 3] != ':' ||
		    !get_digits(t, i + 4, 2, &om) || oh > 23 || om > 59)
			return false;
		offset = (int64_t)(oh * 3600 + om * 60) * (t.ptr[i] == '+' ? 1 : -1);
		i += 6;
	} else {
		return false;
	}
	if (i != t.len)
		return false;
	int64_t v =
	    utc_days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec - offset;
	if (v < 0)
		return false;
	*secs = v;
	return true;
}
