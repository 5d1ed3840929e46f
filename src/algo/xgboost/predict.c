/* Tree traversal as XGBoost 1.7's CPU predictor does it: at a split node a missing value
 * (NaN, or an entry absent from a CSR row) follows default_left, otherwise x < cond goes
 * left; margins accumulate in float, tree by tree in model order, starting from the base
 * margin the caller put there. */
#include "algo/xgboost/xgboost.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>

int lt_xgb__tree_leaf(const lt_xgb_tree *t, const float *row)
{
    int nid = 0;
    while (t->left[nid] >= 0) {
        float v = row[t->split_index[nid]];
        if (isnan(v))
            nid = t->default_left[nid] ? t->left[nid] : t->right[nid];
        else
            nid = v < t->split_cond[nid] ? t->left[nid] : t->right[nid];
    }
    return nid;
}

#define BLOCK 64

int lt_xgb__predict_margins(const lt_xgb_model *m, const lt_matrix *x, int t0, int t1, int threads,
                            float *margins, lt_err *err)
{
    int k = lt_xgb__n_groups(m), F = m->num_feature;
    if (x->kind == LT_MATRIX_DENSE && x->n_cols != (size_t)F)
        return lt_err_set(err, LT_EINVAL, "xgboost: input has %zu columns, the model expects %d",
                          x->n_cols, F);
    if (x->kind == LT_MATRIX_CSR && x->n_cols > (size_t)F)
        return lt_err_set(err, LT_EINVAL,
                          "xgboost: input has feature index %zu, the model has %d features",
                          x->n_cols - 1, F);
    size_t n = x->n_rows, nblk = (n + BLOCK - 1) / BLOCK;
    int nth = threads > 0 ? threads : omp_get_max_threads();
    /* CSR rows are scattered into a NaN-filled dense row per thread. */
    float *scratch =
        x->kind == LT_MATRIX_CSR ? lt_xmalloc(sizeof(float) * (size_t)(F + 1) * (size_t)nth) : NULL;
    if (scratch)
        for (size_t i = 0; i < (size_t)(F + 1) * (size_t)nth; i++)
            scratch[i] = NAN;
            /* Row blocks outer, trees inner: a block of rows stays in cache while every tree
             * walks it, and each row's sum still runs in tree order. */
#pragma omp parallel for num_threads(nth) schedule(dynamic, 4) if (nblk > 4)
    for (size_t b = 0; b < nblk; b++) {
        size_t r0 = b * BLOCK, r1 = r0 + BLOCK < n ? r0 + BLOCK : n;
        float *dense = scratch ? scratch + (size_t)omp_get_thread_num() * (size_t)(F + 1) : NULL;
        for (size_t r = r0; r < r1; r++) {
            const float *row;
            if (dense) {
                for (size_t p = x->row_ptr[r]; p < x->row_ptr[r + 1]; p++)
                    dense[x->col_idx[p]] = x->values[p];
                row = dense;
            } else {
                row = x->values + r * (size_t)F;
            }
            float *out = margins + r * (size_t)k;
            for (int t = t0; t < t1; t++) {
                const lt_xgb_tree *tr = &m->trees[t];
                out[m->tree_info[t]] += tr->split_cond[lt_xgb__tree_leaf(tr, row)];
            }
            if (dense)
                for (size_t p = x->row_ptr[r]; p < x->row_ptr[r + 1]; p++)
                    dense[x->col_idx[p]] = NAN;
        }
    }
    free(scratch);
    return 0;
}
