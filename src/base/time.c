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

int lt_time_parse_amz(const char *s, time_t *out)
{
    if (!s || strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z') return LT_EINVAL;
    for (int i = 0; i < 15; i++)
        if (i != 8 && (s[i] < '0' || s[i] > '9')) return LT_EINVAL;
    struct tm tm = {0};
    const char *end = strptime(s, "%Y%m%dT%H%M%SZ", &tm);
    if (!end || *end) return LT_EINVAL;
    time_t t = timegm(&tm);
    if (t < 0 || t > 253402300799) return LT_EINVAL; /* 0000..9999 only */
    /* timegm normalises impossible dates (20240230 becomes 20240301): refuse any date
     * that does not print back as itself. Found by tests/fuzz/fuzz_base_decoders. */
    char back[17];
    lt_time_format_amz(back, t);
    if (memcmp(back, s, 16) != 0) return LT_EINVAL;
    *out = t;
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
