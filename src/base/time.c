/* Time formats: SigV4's basic ISO-8601, ISO-8601 with milliseconds, RFC 7231 HTTP dates. */
#include "base/base.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int64_t lt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t lt_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void lt_time_format_amz(char *out, time_t t)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    /* Past year 9999 the text would not fit: an empty string, never an unterminated one. */
    if (strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) == 0) out[0] = '\0';
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) v = v * 10 + (s[i] - '0');
    return v;
}

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar (Howard Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Parsed by hand, not strptime + timegm: every signed request parses its X-Amz-Date, and
 * those two calls were most of the signature check's time outside hashing. Impossible
 * dates (20240230, 25:00) are refused, never normalised. */
int lt_time_parse_amz(const char *s, time_t *out)
{
    if (!s || strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z') return LT_EINVAL;
    for (int i = 0; i < 15; i++)
        if (i != 8 && (s[i] < '0' || s[i] > '9')) return LT_EINVAL;
    int year = digits(s, 4), month = digits(s + 4, 2), day = digits(s + 6, 2);
    int hour = digits(s + 9, 2), minute = digits(s + 11, 2), second = digits(s + 13, 2);
    static const int month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (year < 1970 || month < 1 || month > 12 || day < 1 ||
        day > month_days[month - 1] + (month == 2 && leap) || hour > 23 || minute > 59 ||
        second > 59)
        return LT_EINVAL;
    *out = (time_t)(days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second);
    return 0;
}

void lt_time_format_iso8601_ms(char *out, int64_t epoch_ms)
{
    time_t t = (time_t)(epoch_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char base[24];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%s.%03dZ", base, (int)(epoch_ms % 1000));
}

static bool two_digits(const char *p)
{
    return isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1]);
}

/* "YYYY-MM-DDTHH:MM:SS[.fff][Z|+HH:MM|-HH:MM]". Impossible dates (Feb 30) are refused
 * rather than normalised, and the fraction is digits only (no exponent, so never inf). */
int lt_time_parse_iso8601(const char *s, double *out)
{
    struct tm tm = {0};
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p) return LT_EINVAL;
    struct tm want = tm;
    double frac = 0, scale = 0.1;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p)) return LT_EINVAL;
        for (; isdigit((unsigned char)*p); p++, scale /= 10) frac += (*p - '0') * scale;
    }
    long offset = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        if (!two_digits(p + 1) || p[3] != ':' || !two_digits(p + 4)) return LT_EINVAL;
        int hh = (p[1] - '0') * 10 + (p[2] - '0');
        int mm = (p[4] - '0') * 10 + (p[5] - '0');
        if (hh > 23 || mm > 59) return LT_EINVAL;
        offset = sign * (hh * 3600L + mm * 60L);
        p += 6;
    }
    if (*p) return LT_EINVAL;
    time_t t = timegm(&tm);
    struct tm check;
    gmtime_r(&t, &check);
    if (check.tm_year != want.tm_year || check.tm_mon != want.tm_mon ||
        check.tm_mday != want.tm_mday || check.tm_hour != want.tm_hour ||
        check.tm_min != want.tm_min || check.tm_sec != want.tm_sec)
        return LT_EINVAL;
    *out = (double)(t - offset) + frac;
    return 0;
}

void lt_time_format_http(char *out, time_t t)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}
