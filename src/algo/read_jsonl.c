/*
 * application/jsonlines: one JSON object per line, either {"features": [..], "label": y}
 * or SageMaker's inference record {"data": {"features": {"values": [..]}}, "label": y}.
 * "label" is optional but must be present on every row or on none; every row has the
 * first row's width; null in a feature list is missing (NaN). Blank lines are skipped.
 */
#include "algo/read_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const json_t *row_features(const json_t *obj)
{
    const json_t *f = json_object_get(obj, "features");
    if (json_is_array(f)) return f;
    const json_t *d = json_object_get(obj, "data");
    if (!json_is_object(d)) return NULL;
    f = json_object_get(d, "features");
    if (!json_is_object(f)) return NULL;
    f = json_object_get(f, "values");
    return json_is_array(f) ? f : NULL;
}

static bool json_float(const json_t *v, float *out)
{
    if (json_is_null(v)) {
        *out = NAN;
        return true;
    }
    if (!json_is_number(v)) return false;
    double d = json_number_value(v);
    if (!isfinite(d) || fabs(d) > 3.4028234663852886e38) return false;
    *out = (float)d;
    return true;
}

int lt_read__jsonl(const char *data, size_t len, lt_read__ctx *ctx, lt_dataset **out, lt_err *err)
{
    *out = NULL;
    const char *end = data + len;
    size_t max_rows = 1;
    for (const char *p = data; p < end; p++) max_rows += *p == '\n';
    float *x = NULL, *labels = NULL;
    size_t rows = 0, line = 0, width = 0;
    int has_label = -1, rc = 0;
    json_t *obj = NULL;
    for (const char *p = data; p < end;) {
        line++;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *next = nl ? nl + 1 : end;
        const char *s = p;
        while (s < le && (*s == ' ' || *s == '\t' || *s == '\r')) s++;
        p = next;
        if (s == le) continue;
        lt_err jerr = {0};
        if (lt_json_parse(s, (size_t)(le - s), &obj, &jerr) < 0) {
            rc = lt_err_set(err, LT_EINVAL, "%s:%zu: %s", ctx->source, line, jerr.msg);
            goto fail;
        }
        const json_t *feats = json_is_object(obj) ? row_features(obj) : NULL;
        if (!feats) {
            rc = lt_err_set(err, LT_EINVAL,
                            "%s:%zu: expected {\"features\": [...]} or "
                            "{\"data\": {\"features\": {\"values\": [...]}}}",
                            ctx->source, line);
            goto fail;
        }
        const json_t *lab = json_object_get(obj, "label");
        size_t n = json_array_size(feats);
        if (!x) {
            width = n;
            has_label = lab != NULL;
            if (width == 0) {
                rc = lt_err_set(err, LT_EINVAL, "%s:%zu: empty feature list", ctx->source, line);
                goto fail;
            }
            if ((rc = lt_read__alloc(ctx, max_rows, width * sizeof(float), (void **)&x, err)) < 0)
                goto fail;
            if (has_label &&
                (rc = lt_read__alloc(ctx, max_rows, sizeof(float), (void **)&labels, err)) < 0)
                goto fail;
        }
        if (n != width) {
            rc = lt_err_set(err, LT_EINVAL, "%s:%zu: %zu features, expected %zu as on the first row",
                            ctx->source, line, n, width);
            goto fail;
        }
        if ((lab != NULL) != has_label) {
            rc = lt_err_set(err, LT_EINVAL, "%s:%zu: \"label\" must be on every row or on none",
                            ctx->source, line);
            goto fail;
        }
        for (size_t j = 0; j < n; j++) {
            if (!json_float(json_array_get(feats, j), &x[rows * width + j])) {
                rc = lt_err_set(err, LT_EINVAL, "%s:%zu: feature %zu is not a finite number",
                                ctx->source, line, j);
                goto fail;
            }
        }
        if (lab && !json_float(lab, &labels[rows])) {
            rc = lt_err_set(err, LT_EINVAL, "%s:%zu: label is not a finite number", ctx->source,
                            line);
            goto fail;
        }
        rows++;
        json_decref(obj);
        obj = NULL;
    }
    if (rows == 0) {
        rc = lt_err_set(err, LT_EINVAL, "%s: no data rows", ctx->source);
        goto fail;
    }
    lt_dataset *ds = lt_xcalloc(1, sizeof *ds);
    ds->x.kind = LT_MATRIX_DENSE;
    ds->x.n_rows = rows;
    ds->x.n_cols = width;
    ds->x.values = x;
    ds->labels = labels;
    *out = ds;
    return 0;
fail:
    json_decref(obj);
    free(x);
    free(labels);
    return rc;
}
