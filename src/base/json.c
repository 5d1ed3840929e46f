/* JSON helpers over jansson: parsing with positions in errors, typed member access,
 * and the timestamp forms botocore sends (epoch numbers) and accepts (ISO-8601). */
#include "base/base.h"

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
    if (json_is_string(v)) return lt_time_parse_iso8601(json_string_value(v), out_epoch_s);
    return LT_EINVAL;
}

json_t *lt_json_epoch_ms(int64_t epoch_ms)
{
    if (epoch_ms % 1000 == 0) return json_integer(epoch_ms / 1000);
    return json_real((double)epoch_ms / 1000.0);
}
