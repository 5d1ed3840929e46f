/* Time formats: SigV4's basic ISO-8601, ISO-8601 with milliseconds, RFC 7231 HTTP dates. */
#include "base/base.h"

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
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
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

void lt_time_format_http(char *out, time_t t)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}
