/* JSON helpers over jansson: parsing with positions in errors, typed member access,
 * and the timestamp forms botocore sends (epoch numbers) and accepts (ISO-8601). */
#include "base/base.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int lt_json_parse(const char *data, size_t len, json_t **out, lt_err *err)
{
    json_error_t jerr;
    json_t *v = json_loadb(data, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (!v)
        return lt_err_set(err, LT_EINVAL, "malformed JSON at line %d, column %d: %s", jerr.line,
                          jerr.column, jerr.text);
    *out = v;
    return 0;
}

char *lt_json_dump(const json_t *value)
{
    char *s = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
    if (!s) s = lt_xstrdup("null");
    return s;
}

const char *lt_json_str(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

int64_t lt_json_int(const json_t *obj, const char *key, int64_t fallback)
{
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : fallback;
}

static bool two_digits(const char *p)
{
    return isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1]);
}

/* "YYYY-MM-DDTHH:MM:SS[.fff][Z|+HH:MM|-HH:MM]". Impossible dates (Feb 30) are refused
 * rather than normalised, and the fraction is digits only (no exponent, so never inf). */
static int parse_iso8601(const char *s, double *out)
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

int lt_json_time(const json_t *obj, const char *key, double *out_epoch_s)
{
    json_t *v = json_object_get(obj, key);
    if (!v) return LT_ENOTFOUND;
    if (json_is_number(v)) {
        double d = json_number_value(v);
        if (!isfinite(d)) return LT_EINVAL;
        *out_epoch_s = d;
        return 0;
    }
    if (json_is_string(v)) return parse_iso8601(json_string_value(v), out_epoch_s);
    return LT_EINVAL;
}

json_t *lt_json_epoch_ms(int64_t epoch_ms)
{
    if (epoch_ms % 1000 == 0) return json_integer(epoch_ms / 1000);
    return json_real((double)epoch_ms / 1000.0);
}
