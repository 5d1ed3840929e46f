/* lt_dataset: creation, freeing and CSR -> dense conversion. */
#include "algo/algo_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void lt_dataset_free(lt_dataset *ds)
{
    if (!ds) return;
    free(ds->x.values);
    free(ds->x.row_ptr);
    free(ds->x.col_idx);
    free(ds->labels);
    free(ds->weights);
    free(ds);
}

lt_dataset *lt_dataset_new_dense(size_t n_rows, size_t n_cols, bool with_labels)
{
    lt_dataset *ds = lt_xcalloc(1, sizeof *ds);
    ds->x.kind = LT_MATRIX_DENSE;
    ds->x.n_rows = n_rows;
    ds->x.n_cols = n_cols;
    ds->x.values = lt_xcalloc(n_rows * n_cols + 1, sizeof(float));
    if (with_labels) ds->labels = lt_xcalloc(n_rows ? n_rows : 1, sizeof(float));
    return ds;
}

int lt_dataset_densify(lt_dataset *ds, float fill, size_t max_bytes, lt_err *err)
{
    if (ds->x.kind == LT_MATRIX_DENSE) return 0;
    size_t n_rows = ds->x.n_rows, n_cols = ds->x.n_cols;
    if (max_bytes == 0) max_bytes = (size_t)8 << 30;
    if (n_cols && n_rows > max_bytes / sizeof(float) / n_cols)
        return lt_err_set(err, LT_ELIMIT,
                          "densify: %zu x %zu floats exceed the limit of %zu bytes", n_rows,
                          n_cols, max_bytes);
    float *dense = malloc((n_rows * n_cols + 1) * sizeof(float));
    if (!dense) return lt_err_set(err, LT_ENOMEM, "densify: out of memory");
    for (size_t i = 0; i < n_rows * n_cols; i++) dense[i] = fill;
    for (size_t r = 0; r < n_rows; r++)
        for (size_t k = ds->x.row_ptr[r]; k < ds->x.row_ptr[r + 1]; k++)
            dense[r * n_cols + ds->x.col_idx[k]] = ds->x.values[k];
    free(ds->x.values);
    free(ds->x.row_ptr);
    free(ds->x.col_idx);
    ds->x.values = dense;
    ds->x.row_ptr = NULL;
    ds->x.col_idx = NULL;
    ds->x.nnz = 0;
    ds->x.kind = LT_MATRIX_DENSE;
    return 0;
}

const float *lt_algo__dense_rows(const lt_matrix *x, size_t r0, size_t m, float *scratch)
{
    size_t d = x->n_cols;
    if (x->kind == LT_MATRIX_DENSE) return x->values + r0 * d;
    memset(scratch, 0, m * d * sizeof(float));
    for (size_t i = 0; i < m; i++)
        for (size_t p = x->row_ptr[r0 + i]; p < x->row_ptr[r0 + i + 1]; p++)
            if (x->col_idx[p] < d) scratch[i * d + x->col_idx[p]] = x->values[p];
    return scratch;
}
