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
#define DEFAULT_LEFT 0x80000000u

/* A node as the block walk reads it: one 16-byte load instead of five arrays. A leaf points
 * at itself both ways, so a walk that reached it stays there however many steps remain. */
typedef struct packed_node {
    int32_t left, right;
    uint32_t feature; /* | DEFAULT_LEFT when a missing value goes left; 0 for a leaf */
    float cond;       /* the threshold, or a leaf's value */
} packed_node;

typedef struct packed_trees {
    packed_node *nodes; /* the trees t0..t1 one after the other */
    size_t *first;      /* (t1 - t0) where each tree's nodes start */
    int *depth;         /* (t1 - t0) splits on the longest path; -1: walk it the scalar way */
} packed_trees;

/* The longest root-to-leaf path in splits, or -1 for a tree whose links are not a tree
 * (the loader refuses those; this keeps the lockstep walk bounded whatever it is given). */
static int tree_depth(const lt_xgb_tree *t, int *stack /* (2 * n_nodes) */)
{
    int n = t->n_nodes, top = 0, deepest = 0, visited = 0;
    if (n <= 0) return -1;
    stack[top++] = 0, stack[top++] = 0;
    while (top) {
        int d = stack[--top], nid = stack[--top];
        if (nid < 0 || nid >= n || ++visited > n) return -1;
        if (t->left[nid] < 0) {
            if (d > deepest) deepest = d;
            continue;
        }
        if (top + 4 > 2 * n) return -1;
        stack[top++] = t->left[nid], stack[top++] = d + 1;
        stack[top++] = t->right[nid], stack[top++] = d + 1;
    }
    return deepest;
}

static void pack_trees(const lt_xgb_model *m, int t0, int t1, packed_trees *p)
{
    size_t total = 0;
    int widest = 1;
    for (int t = t0; t < t1; t++) {
        total += (size_t)(m->trees[t].n_nodes > 0 ? m->trees[t].n_nodes : 0);
        if (m->trees[t].n_nodes > widest) widest = m->trees[t].n_nodes;
    }
    p->nodes = lt_xmalloc(sizeof *p->nodes * (total ? total : 1));
    p->first = lt_xmalloc(sizeof *p->first * (size_t)(t1 - t0 + 1));
    p->depth = lt_xmalloc(sizeof *p->depth * (size_t)(t1 - t0 + 1));
    int *stack = lt_xmalloc(sizeof *stack * 2 * (size_t)widest);
    size_t at = 0;
    for (int t = t0; t < t1; t++) {
        const lt_xgb_tree *tr = &m->trees[t];
        p->first[t - t0] = at;
        p->depth[t - t0] = m->num_feature > 0 ? tree_depth(tr, stack) : -1;
        for (int i = 0; i < tr->n_nodes; i++) {
            packed_node *nd = &p->nodes[at + (size_t)i];
            bool leaf = tr->left[i] < 0;
            nd->left = leaf ? i : tr->left[i];
            nd->right = leaf ? i : tr->right[i];
            nd->feature = leaf ? 0 : tr->split_index[i] | (tr->default_left[i] ? DEFAULT_LEFT : 0);
            nd->cond = tr->split_cond[i];
        }
        at += (size_t)(tr->n_nodes > 0 ? tr->n_nodes : 0);
    }
    free(stack);
}

static void packed_trees_free(packed_trees *p)
{
    free(p->nodes);
    free(p->first);
    free(p->depth);
}

/* Every tree over a block of rows: tree outer, so one tree's nodes stay in L1 while the
 * block walks it; LANES rows step down it in lockstep for exactly its depth, without a
 * branch on the split's direction (a coin flip to the branch predictor), so their dependent
 * loads overlap. Each row still sums its leaves in tree order, as lt_xgb__tree_leaf row by
 * row (the scalar twin, also used for a block's tail) does. */
static void walk_block(const lt_xgb_model *m, int t0, int t1, const packed_trees *p,
                       const float *const *rows, size_t nr, float *margins /* (nr, k) */, int k)
{
    for (int t = t0; t < t1; t++) {
        const packed_node *nodes = p->nodes + p->first[t - t0];
        int depth = p->depth[t - t0];
        size_t g = (size_t)m->tree_info[t];
        size_t r = 0;
        for (; depth >= 0 && r + LANES <= nr; r += LANES) {
            int nid[LANES] = {0};
            const float *row[LANES];
            for (int j = 0; j < LANES; j++) row[j] = rows[r + (size_t)j];
            for (int d = 0; d < depth; d++) {
                for (int j = 0; j < LANES; j++) {
                    const packed_node *nd = &nodes[nid[j]];
                    uint32_t f = nd->feature;
                    float v = row[j][f & ~DEFAULT_LEFT];
                    bool go_left = isnan(v) ? (f & DEFAULT_LEFT) != 0 : v < nd->cond;
                    nid[j] = go_left ? nd->left : nd->right;
                }
            }
            for (int j = 0; j < LANES; j++) margins[(r + (size_t)j) * (size_t)k + g] += nodes[nid[j]].cond;
        }
        const lt_xgb_tree *tr = &m->trees[t];
        for (; r < nr; r++) margins[r * (size_t)k + g] += tr->split_cond[lt_xgb__tree_leaf(tr, rows[r])];
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
    packed_trees packed;
    pack_trees(m, t0, t1, &packed);
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
        walk_block(m, t0, t1, &packed, rows, r1 - r0, margins + r0 * (size_t)k, k);
        if (dense)
            for (size_t r = r0; r < r1; r++)
                for (size_t p = x->row_ptr[r]; p < x->row_ptr[r + 1]; p++)
                    dense[(r - r0) * (size_t)(F + 1) + x->col_idx[p]] = NAN;
    }
    packed_trees_free(&packed);
    free(scratch);
    return 0;
}
