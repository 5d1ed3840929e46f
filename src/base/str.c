/* Small string and number helpers with explicit range checks. */
#include "base/base.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool lt_str_starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool lt_str_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

size_t lt_str_copy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src), k = n < cap ? n : cap - 1;
    memcpy(dst, src, k);
    dst[k] = '\0';
    return n;
}

int lt_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out, const char *what,
                 lt_err *err)
{
    if (!s || !*s) return lt_err_set(err, LT_EINVAL, "%s is empty", what);
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno || !end || *end || end == s)
        return lt_err_set(err, LT_EINVAL, "%s is not an integer: '%.64s'", what, s);
    if (v < min || v > max)
        return lt_err_set(err, LT_EINVAL, "%s must be between %lld and %lld, got %lld", what,
                          (long long)min, (long long)max, v);
    *out = v;
    return 0;
}
