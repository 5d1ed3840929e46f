/*
 * text/csv reader (and, on the same bytes, text/libsvm and application/jsonlines).
 * Invariants on success: the shape is non-empty, dense rows have n_cols values, labels and
 * features are finite or NaN, and CSR rows are within bounds with increasing indices.
 * Parallel parsing must agree with serial parsing.
 */
#include "algo/algo.h"
#include "fuzz_check.h"

#include <math.h>

static void check_dataset(const lt_dataset *ds)
{
    FZ_CHECK(ds->x.n_rows > 0, "no rows on success");
    for (size_t r = 0; r < ds->x.n_rows && ds->labels; r++)
        FZ_CHECK(!isinf(ds->labels[r]), "label %zu is infinite", r);
    if (ds->x.kind == LT_MATRIX_DENSE) {
        FZ_CHECK(ds->x.n_cols > 0, "dense without columns");
        for (size_t i = 0; i < ds->x.n_rows * ds->x.n_cols; i++)
            FZ_CHECK(!isinf(ds->x.values[i]), "value %zu is infinite", i);
        return;
    }
    FZ_CHECK(ds->x.row_ptr[0] == 0 && ds->x.row_ptr[ds->x.n_rows] == ds->x.nnz, "row_ptr ends");
    for (size_t r = 0; r < ds->x.n_rows; r++) {
        FZ_CHECK(ds->x.row_ptr[r] <= ds->x.row_ptr[r + 1], "row_ptr decreases at %zu", r);
        for (size_t k = ds->x.row_ptr[r]; k < ds->x.row_ptr[r + 1]; k++) {
            FZ_CHECK(ds->x.col_idx[k] < ds->x.n_cols, "column out of range");
            FZ_CHECK(k == ds->x.row_ptr[r] || ds->x.col_idx[k] > ds->x.col_idx[k - 1],
                     "indices not increasing in row %zu", r);
            FZ_CHECK(!isinf(ds->x.values[k]), "value %zu is infinite", k);
        }
    }
}

static bool same(const lt_dataset *a, const lt_dataset *b)
{
    if (a->x.n_rows != b->x.n_rows || a->x.n_cols != b->x.n_cols) return false;
    if ((a->labels == NULL) != (b->labels == NULL)) return false;
    size_t n = a->x.n_rows * a->x.n_cols;
    if (memcmp(a->x.values, b->x.values, n * sizeof(float)) != 0) return false;
    return !a->labels || memcmp(a->labels, b->labels, a->x.n_rows * sizeof(float)) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *cts[] = {"text/csv", "text/csv;label_size=0", "text/libsvm",
                                "application/jsonlines"};
    for (size_t c = 0; c < sizeof cts / sizeof cts[0]; c++) {
        lt_read_options opt = {.content_type = cts[c], .source_name = "fuzz", .threads = 1,
                               .max_bytes = 64u << 20};
        lt_dataset *ds = NULL;
        lt_err err = {0};
        int rc = lt_read_buffer((const char *)data, size, &opt, &ds, &err);
        FZ_CHECK(rc <= 0, "rc %d", rc);
        FZ_CHECK((rc == 0) == (ds != NULL), "dataset iff success");
        FZ_CHECK(rc == 0 || err.msg[0] != '\0', "an error without a message");
        if (rc == 0) check_dataset(ds);
        if (c < 2) {
            /* The parallel CSV path (forced by the thread count on small inputs too). */
            lt_dataset *ds2 = NULL;
            lt_err err2 = {0};
            opt.threads = 3;
            int rc2 = lt_read_buffer((const char *)data, size, &opt, &ds2, &err2);
            FZ_CHECK(rc2 == rc, "serial rc %d, parallel rc %d", rc, rc2);
            if (rc == 0) FZ_CHECK(same(ds, ds2), "parallel result differs");
            else FZ_CHECK(strcmp(err.msg, err2.msg) == 0, "messages differ: %s | %s", err.msg, err2.msg);
            lt_dataset_free(ds2);
        }
        lt_dataset_free(ds);
    }
    return 0;
}
