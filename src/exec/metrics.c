/* metrics: SageMaker MetricDefinitions applied to log lines.
 *
 * As SageMaker documents for training metrics, each Regex is searched in the log line as
 * CloudWatch stores it, where a tab is written "#011" (the syslog octal escape), so the
 * regexes people write for XGBoost ("...#011validation-rmse:(\S+)") work; the raw line is
 * tried when that does not match. The first capture group (the whole match when the regex
 * has none) must be a finite number, else the line gives no point. PCRE2 in byte mode:
 * log lines are not guaranteed UTF-8. One object is used by one thread (it keeps one
 * match block per definition and one scratch line). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "exec/exec.h"

#include <errno.h>
#include <math.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

typedef struct metric_def {
    char *name;
    pcre2_code *re;
    pcre2_match_data *md;
    bool has_group;
} metric_def;

struct lt_exec_metrics {
    metric_def *defs;
    size_t n;
    lt_buf escaped; /* the line with tabs as "#011" */
};

void lt_exec_metrics_free(lt_exec_metrics *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->n; i++) {
        free(m->defs[i].name);
        pcre2_match_data_free(m->defs[i].md);
        pcre2_code_free(m->defs[i].re);
    }
    free(m->defs);
    lt_buf_free(&m->escaped);
    free(m);
}

static int compile_def(metric_def *d, size_t index, const json_t *def, lt_err *err)
{
    const char *name = lt_json_str(def, "Name");
    const char *regex = lt_json_str(def, "Regex");
    if (!json_is_object(def) || !name || !regex)
        return lt_err_set(err, LT_EINVAL,
                          "MetricDefinitions[%zu] must be an object with string members Name "
                          "and Regex",
                          index);
    int code = 0;
    PCRE2_SIZE offset = 0;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)regex, PCRE2_ZERO_TERMINATED, 0, &code, &offset, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        return lt_err_set(err, LT_EINVAL,
                          "metric definition '%s' (MetricDefinitions[%zu]): regex '%s' does not "
                          "compile: %s at offset %zu",
                          name, index, regex, (const char *)msg, (size_t)offset);
    }
    uint32_t groups = 0;
    pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &groups);
    d->name = lt_xstrdup(name);
    d->re = re;
    d->md = pcre2_match_data_create_from_pattern(re, NULL);
    if (!d->md) abort(); /* a small bounded allocation, like lt_xmalloc */
    d->has_group = groups > 0;
    return 0;
}

int lt_exec_metrics_new(lt_exec_metrics **out, const json_t *definitions, lt_err *err)
{
    *out = NULL;
    if (definitions && !json_is_array(definitions) && !json_is_null(definitions))
        return lt_err_set(err, LT_EINVAL, "MetricDefinitions must be an array");
    lt_exec_metrics *m = lt_xcalloc(1, sizeof *m);
    size_t n = json_is_array(definitions) ? json_array_size(definitions) : 0;
    m->defs = lt_xcalloc(n ? n : 1, sizeof *m->defs);
    lt_buf_init(&m->escaped, SIZE_MAX / 8);
    for (size_t i = 0; i < n; i++) {
        int rc = compile_def(&m->defs[i], i, json_array_get(definitions, i), err);
        if (rc) {
            lt_exec_metrics_free(m);
            return rc;
        }
        m->n++;
    }
    *out = m;
    return 0;
}

/* The whole text is a finite number ("0.5", "1e-3", "-2"); NaN and infinities are not. */
static bool parse_value(const char *s, size_t len, double *out)
{
    while (len && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
        len--;
    char num[64];
    if (len == 0 || len >= sizeof num) return false;
    memcpy(num, s, len);
    num[len] = '\0';
    char *end = NULL;
    errno = 0;
    double v = strtod(num, &end);
    if (end != num + len || errno == ERANGE || !isfinite(v)) return false;
    *out = v;
    return true;
}

/* Searches one subject; true with the value when it matches and holds a number. */
static bool match_value(metric_def *d, const char *subject, size_t len, double *value,
                        bool *matched)
{
    int rc = pcre2_match(d->re, (PCRE2_SPTR)subject, len, 0, 0, d->md, NULL);
    *matched = rc >= 0;
    if (rc < 0) return false;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(d->md);
    size_t g = d->has_group && rc > 1 && ov[2] != PCRE2_UNSET ? 1 : 0;
    if (d->has_group && g == 0) return false; /* the group did not take part */
    return parse_value(subject + ov[2 * g], ov[2 * g + 1] - ov[2 * g], value);
}

int lt_exec_metrics_scan(lt_exec_metrics *m, const char *line, size_t len, int64_t ts_ms,
                         lt_exec_point_fn on_point, void *ctx)
{
    if (!m || m->n == 0) return 0;
    bool has_tab = memchr(line, '\t', len) != NULL;
    if (has_tab) {
        lt_buf_reset(&m->escaped);
        for (const char *p = line, *end = line + len; p < end;) {
            const char *tab = memchr(p, '\t', (size_t)(end - p));
            size_t run = tab ? (size_t)(tab - p) : (size_t)(end - p);
            lt_buf_append(&m->escaped, p, run, NULL);
            if (tab) lt_buf_append(&m->escaped, "#011", 4, NULL);
            p += run + (tab ? 1 : 0);
        }
    }
    const char *first = has_tab ? m->escaped.data : line;
    size_t first_len = has_tab ? m->escaped.len : len;
    int points = 0;
    for (size_t i = 0; i < m->n; i++) {
        double v = 0;
        bool matched = false;
        bool ok = match_value(&m->defs[i], first, first_len, &v, &matched);
        if (!matched && has_tab) ok = match_value(&m->defs[i], line, len, &v, &matched);
        if (!ok) continue;
        points++;
        if (on_point) on_point(ctx, m->defs[i].name, v, ts_ms);
    }
    return points;
}
