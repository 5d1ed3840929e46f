/*
 * text/libsvm: one row per line, "label idx:value idx:value ...", separated by spaces or
 * tabs. Indices are kept as written (0- or 1-based), must increase within a row, and
 * n_cols = max index + 1. "qid:N" tokens are skipped; a '#' starts a comment. Blank lines
 * are skipped. The result is CSR; absent entries are missing. A label written
 * "label:weight" (XGBoost's libsvm form) carries the row's instance weight, a finite number
 * >= 0; weights are on every row or on none.
 */
#include "algo/read_internal.h"

#include <stdlib.h>
#include <string.h>

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

int lt_read__libsvm(const char *data, size_t len, lt_read__ctx *ctx, lt_dataset **out,
                    lt_err *err)
{
    *out = NULL;
    const char *end = data + len;
    /* Upper bounds first: rows <= lines, nnz <= ':' count. */
    size_t max_rows = 1, max_nnz = 0;
    for (const char *p = data; p < end; p++) {
        max_rows += *p == '\n';
        max_nnz += *p == ':';
    }
    float *labels = NULL, *values = NULL, *weights = NULL;
    size_t *row_ptr = NULL;
    uint32_t *col_idx = NULL;
    int rc;
    if ((rc = lt_read__alloc(ctx, max_rows, sizeof(float), (void **)&labels, err)) < 0 ||
        (rc = lt_read__alloc(ctx, max_rows + 1, sizeof(size_t), (void **)&row_ptr, err)) < 0 ||
        (rc = lt_read__alloc(ctx, max_nnz, sizeof(float), (void **)&values, err)) < 0 ||
        (rc = lt_read__alloc(ctx, max_nnz, sizeof(uint32_t), (void **)&col_idx, err)) < 0)
        goto fail;
    size_t rows = 0, nnz = 0, line = 0, n_cols = 0;
    int weighted = -1; /* whether rows carry label:weight, from the first row on */
    for (const char *p = data; p < end;) {
        line++;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *next = nl ? nl + 1 : end;
        const char *hash = memchr(p, '#', (size_t)(le - p));
        if (hash) le = hash;
        const char *t = p;
        bool have_label = false;
        long long prev = -1;
        for (;;) {
            while (t < le && is_space(*t)) t++;
            if (t == le) break;
            const char *te = t;
            while (te < le && !is_space(*te)) te++;
            size_t tl = (size_t)(te - t);
            if (!have_label) {
                const char *colon = memchr(t, ':', tl);
                if (!lt_read__number(t, colon ? colon : te, &labels[rows]) || colon == t) {
                    rc = lt_err_set(err, LT_EINVAL, "%s:%zu: label is not a number: \"%.*s\"",
                                    ctx->source, line, (int)(tl > 40 ? 40 : tl), t);
                    goto fail;
                }
                if (weighted < 0) {
                    weighted = colon != NULL;
                    if (weighted && (rc = lt_read__alloc(ctx, max_rows, sizeof(float),
                                                         (void **)&weights, err)) < 0)
                        goto fail;
                }
                if ((colon != NULL) != weighted) {
                    rc = lt_err_set(err, LT_EINVAL,
                                    "%s:%zu: a weight (label:weight) must be on every row or on "
                                    "none",
                                    ctx->source, line);
                    goto fail;
                }
                float w;
                if (colon &&
                    (colon + 1 == te || !lt_read__number(colon + 1, te, &w) || !(w >= 0))) {
                    rc = lt_err_set(err, LT_EINVAL,
                                    "%s:%zu: the weight in \"%.*s\" is not a number >= 0",
                                    ctx->source, line, (int)(tl > 40 ? 40 : tl), t);
                    goto fail;
                }
                if (colon) weights[rows] = w;
                have_label = true;
                row_ptr[rows] = nnz;
            } else if (tl > 4 && strncmp(t, "qid:", 4) == 0) {
                /* ranking group id: not a feature */
            } else {
                const char *colon = memchr(t, ':', tl);
                unsigned long long idx = 0;
                const char *d = t;
                for (; d < (colon ? colon : te) && *d >= '0' && *d <= '9'; d++)
                    if ((idx = idx * 10 + (unsigned)(*d - '0')) >= UINT32_MAX) break;
                float v;
                if (!colon || d != colon || d == t || idx >= UINT32_MAX ||
                    !lt_read__number(colon + 1, te, &v) || colon + 1 == te) {
                    rc = lt_err_set(err, LT_EINVAL,
                                    "%s:%zu: bad token \"%.*s\" (expected index:value)",
                                    ctx->source, line, (int)(tl > 40 ? 40 : tl), t);
                    goto fail;
                }
                if ((long long)idx <= prev) {
                    rc = lt_err_set(err, LT_EINVAL,
                                    "%s:%zu: index %llu does not increase (previous %lld)",
                                    ctx->source, line, idx, prev);
                    goto fail;
                }
                prev = (long long)idx;
                col_idx[nnz] = (uint32_t)idx;
                values[nnz++] = v;
                if (idx + 1 > n_cols) n_cols = (size_t)idx + 1;
            }
            t = te;
        }
        if (have_label) rows++;
        p = next;
    }
    if (rows == 0) {
        rc = lt_err_set(err, LT_EINVAL, "%s: no data rows", ctx->source);
        goto fail;
    }
    row_ptr[rows] = nnz;
    lt_dataset *ds = lt_xcalloc(1, sizeof *ds);
    ds->x.kind = LT_MATRIX_CSR;
    ds->x.n_rows = rows;
    ds->x.n_cols = n_cols;
    ds->x.values = values;
    ds->x.col_idx = col_idx;
    ds->x.row_ptr = row_ptr;
    ds->x.nnz = nnz;
    ds->labels = labels;
    ds->weights = weights;
    *out = ds;
    return 0;
fail:
    free(labels);
    free(weights);
    free(values);
    free(row_ptr);
    free(col_idx);
    return rc;
}
