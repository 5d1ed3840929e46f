/* Opaque pagination tokens: base64 of "v1|<sort>|<a|d>|<i|s><value>|<name>". They carry
 * the sort so that a token from one ordering is refused by another. */
#include "store/store_internal.h"

#include <stdlib.h>
#include <string.h>

char *lt_store__token_encode(const lt_store_list_params *params, bool int_value, int64_t ival,
                             const char *sval, const char *name_lc)
{
    char *plain = int_value ? lt_xasprintf("v1|%d|%c|i%lld|%s", (int)params->sort_by,
                                           params->descending ? 'd' : 'a', (long long)ival, name_lc)
                            : lt_xasprintf("v1|%d|%c|s%s|%s", (int)params->sort_by,
                                           params->descending ? 'd' : 'a', sval, name_lc);
    char *token = lt_base64_encode((const uint8_t *)plain, strlen(plain));
    free(plain);
    return token;
}

int lt_store__token_decode(const lt_store_list_params *params, const char *token, bool *int_value,
                           int64_t *ival, char **sval, char **name_lc, char **scratch, lt_err *err)
{
    size_t len = strlen(token);
    *scratch = NULL;
    if (len == 0 || len > 8192) return lt_err_set(err, LT_EINVAL, "Invalid NextToken");
    uint8_t *plain = lt_xmalloc(len + 1);
    size_t n = 0;
    if (lt_base64_decode(token, len, plain, len, &n) != 0 || memchr(plain, '\0', n)) {
        free(plain);
        return lt_err_set(err, LT_EINVAL, "Invalid NextToken");
    }
    plain[n] = '\0';
    char *s = (char *)plain;
    char expect[32];
    int m = snprintf(expect, sizeof expect, "v1|%d|%c|", (int)params->sort_by,
                     params->descending ? 'd' : 'a');
    /* The name is the last field; the value may contain '|' (status text never does, but
     * be exact): split at the LAST '|'. */
    char *last = strrchr(s, '|');
    if (m < 0 || strncmp(s, expect, (size_t)m) != 0 || !last || last < s + m + 1) {
        free(plain);
        return lt_err_set(err, LT_EINVAL,
                          "Invalid NextToken (it does not belong to this listing's sort order)");
    }
    *last = '\0';
    char *value = s + m;
    *name_lc = last + 1;
    if (value[0] == 'i') {
        *int_value = true;
        if (lt_parse_i64(value + 1, INT64_MIN, INT64_MAX, ival, "NextToken", NULL) != 0) {
            free(plain);
            return lt_err_set(err, LT_EINVAL, "Invalid NextToken");
        }
        *sval = NULL;
    } else if (value[0] == 's') {
        *int_value = false;
        *sval = value + 1;
    } else {
        free(plain);
        return lt_err_set(err, LT_EINVAL, "Invalid NextToken");
    }
    *scratch = s;
    return 0;
}
