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
#define LANES 8

/* Every tree over a block of rows: tree outer, so one tree's nodes stay in L1 while the
 * block walks it; LANES rows walk in lockstep, so their dependent node loads overlap instead
 * of waiting on each other. Each row still sums its leaves in tree order, as
 * lt_xgb__tree_leaf row by row (the scalar twin, used for the block's tail) does. */
static void walk_block(const lt_xgb_model *m, int t0, int t1, const float *const *rows, size_t nr,
                       float *margins /* (nr, k) */, int k)
{
    for (int t = t0; t < t1; t++) {
        const lt_xgb_tree *tr = &m->trees[t];
        const int32_t *left = tr->left, *right = tr->right;
        const uint32_t *feature = tr->split_index;
        const float *cond = tr->split_cond;
        const uint8_t *default_left = tr->default_left;
        int g = m->tree_info[t];
        size_t r = 0;
        for (; m->num_feature > 0 && r + LANES <= nr; r += LANES) {
            int nid[LANES] = {0};
            for (bool active = true; active;) {
                active = false;
                /* Without branches: a split's direction is a coin flip to the predictor. */
                for (int j = 0; j < LANES; j++) {
                    int n = nid[j], l = left[n], rt = right[n];
                    bool leaf = l < 0;
                    float v = rows[r + (size_t)j][leaf ? 0 : feature[n]];
                    bool go_left = isnan(v) ? default_left[n] != 0 : v < cond[n];
                    int next = go_left ? l : rt;
                    nid[j] = leaf ? n : next;
                    active |= !leaf;
                }
            }
            for (int j = 0; j < LANES; j++) margins[(r + (size_t)j) * (size_t)k + (size_t)g] += cond[nid[j]];
        }
        for (; r < nr; r++) margins[r * (size_t)k + (size_t)g] += cond[lt_xgb__tree_leaf(tr, rows[r])];
    }
}

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
    /* CSR rows are scattered into NaN-filled dense rows, a block's worth per thread. */
    size_t per_thread = (size_t)BLOCK * (size_t)(F + 1);
    float *scratch =
        x->kind == LT_MATRIX_CSR ? lt_xmalloc(sizeof(float) * per_thread * (size_t)nth) : NULL;
    if (scratch)
        for (size_t i = 0; i < per_thread * (size_t)nth; i++)
            scratch[i] = NAN;
#pragma omp parallel for num_threads(nth) schedule(dynamic, 4) if (nblk > 4)
    for (size_t b = 0; b < nblk; b++) {
        size_t r0 = b * BLOCK, r1 = r0 + BLOCK < n ? r0 + BLOCK : n;
        float *dense = scratch ? scratch + (size_t)omp_get_thread_num() * per_thread : NULL;
        const float *rows[BLOCK];
        for (size_t r = r0; r < r1; r++) {
            if (dense) {
                float *row = dense + (r - r0) * (size_t)(F + 1);
                for (size_t p = x->row_ptr[r]; p < x->row_ptr[r + 1]; p++)
                    row[x->col_idx[p]] = x->values[p];
                rows[r - r0] = row;
            } else {
                rows[r - r0] = x->values + r * (size_t)F;
            }
        }
        walk_block(m, t0, t1, rows, r1 - r0, margins + r0 * (size_t)k, k);
        if (dense)
            for (size_t r = r0; r < r1; r++)
                for (size_t p = x->row_ptr[r]; p < x->row_ptr[r + 1]; p++)
                    dense[(r - r0) * (size_t)(F + 1) + x->col_idx[p]] = NAN;
    }
    free(scratch);
    return 0;
}
