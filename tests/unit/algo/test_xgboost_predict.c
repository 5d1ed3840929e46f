/* The interleaved tree walk of lt_xgb__predict_margins against its scalar twin,
 * lt_xgb__tree_leaf row by row: bit-identical margins on random trees (uneven depths,
 * missing values both ways, several output groups), dense and CSR, one and two threads. */
#include "algo/xgboost/xgboost.h"
#include "test.h"

static uint64_t state = 0x2545f4914f6cdd1du;
static uint32_t rnd(uint32_t n)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (uint32_t)(state % n);
}

/* A random tree over F features, split until depth max_depth or a coin says stop. */
static void grow(lt_xgb_tree *t, int *n, int node, int depth, int max_depth, int F)
{
    if (depth == max_depth || (depth > 0 && rnd(4) == 0)) {
        t->left[node] = t->right[node] = -1;
        t->split_cond[node] = (float)rnd(2001) / 1000.0f - 1.0f; /* the leaf value */
        return;
    }
    int l = (*n)++, r = (*n)++;
    t->left[node] = l;
    t->right[node] = r;
    t->parent[l] = t->parent[r] = node;
    t->split_index[node] = rnd((uint32_t)F);
    t->split_cond[node] = (float)rnd(2001) / 1000.0f - 1.0f;
    t->default_left[node] = (uint8_t)rnd(2);
    grow(t, n, l, depth + 1, max_depth, F);
    grow(t, n, r, depth + 1, max_depth, F);
}

/* GROUPS output groups (1: a binary or regression model); missing: whether a fifth of
 * the values are NaN, or none (the walks' NaN-free paths). */
static void check_walks(const int GROUPS, bool missing_values)
{
    enum { F = 11, N = 517, TREES = 37 };
    lt_xgb_model *m = lt_xcalloc(1, sizeof *m);
    m->num_feature = F;
    m->num_class = GROUPS > 1 ? GROUPS : 0;
    m->objective = GROUPS > 1 ? LT_XGB_OBJ_MULTI_SOFTPROB : LT_XGB_OBJ_BINARY_LOGISTIC;
    for (int i = 0; i < TREES; i++) {
        lt_xgb_tree t;
        lt_xgb__tree_alloc(&t, 255);
        int n = 1;
        t.parent[0] = INT32_MAX;
        grow(&t, &n, 0, 0, 1 + i % 7, F);
        t.n_nodes = n;
        lt_xgb__model_add_tree(m, &t, i % GROUPS);
    }
    float *dense = lt_xmalloc(sizeof(float) * N * F);
    size_t *row_ptr = lt_xcalloc(N + 1, sizeof *row_ptr);
    uint32_t *col_idx = lt_xmalloc(sizeof(uint32_t) * N * F);
    float *values = lt_xmalloc(sizeof(float) * N * F);
    size_t nnz = 0;
    for (size_t r = 0; r < N; r++) {
        for (size_t c = 0; c < F; c++) {
            bool missing = missing_values && rnd(5) == 0;
            float v = (float)rnd(2001) / 1000.0f - 1.0f;
            dense[r * F + c] = missing ? NAN : v;
            if (!missing) col_idx[nnz] = (uint32_t)c, values[nnz++] = v;
        }
        row_ptr[r + 1] = nnz;
    }
    float *want = lt_xcalloc((size_t)N * GROUPS, sizeof(float));
    for (size_t r = 0; r < N; r++)
        for (int t = 0; t < TREES; t++)
            want[r * GROUPS + (size_t)m->tree_info[t]] +=
                m->trees[t].split_cond[lt_xgb__tree_leaf(&m->trees[t], dense + r * F)];
    lt_matrix xd = {.kind = LT_MATRIX_DENSE, .n_rows = N, .n_cols = F, .values = dense};
    lt_matrix xc = {.kind = LT_MATRIX_CSR, .n_rows = N, .n_cols = F, .values = values,
                    .row_ptr = row_ptr, .col_idx = col_idx, .nnz = nnz};
    const lt_matrix *inputs[] = {&xd, &xc};
    for (int in = 0; in < 2; in++) {
        for (int threads = 1; threads <= 2; threads++) {
            float *got = lt_xcalloc((size_t)N * GROUPS, sizeof(float));
            lt_err err = {0};
            LT_CHECK_INT(lt_xgb__predict_margins(m, inputs[in], 0, TREES, threads, got, &err), ==, 0);
            size_t bad = 0;
            for (size_t i = 0; i < (size_t)N * GROUPS; i++)
                if (memcmp(&got[i], &want[i], sizeof(float)) != 0 && bad++ == 0)
                    LT_FAIL_AT("%s, %d threads: margin %zu is %.9g, the scalar walk %.9g",
                               in ? "CSR" : "dense", threads, i, got[i], want[i]);
            LT_CHECK_INT(bad, ==, 0);
            free(got);
        }
    }
    /* A request of a few rows walks several trees side by side for each row: the same
     * margins, for dense rows and CSR rows alike. */
    for (size_t len = 1; len <= 5; len++)
        for (size_t r0 = 0; r0 + len <= N; r0 += 97) {
            lt_matrix vd = {.kind = LT_MATRIX_DENSE, .n_rows = len, .n_cols = F,
                            .values = dense + r0 * F};
            lt_matrix vc = {.kind = LT_MATRIX_CSR, .n_rows = len, .n_cols = F, .values = values,
                            .row_ptr = row_ptr + r0, .col_idx = col_idx, .nnz = nnz};
            const lt_matrix *views[] = {&vd, &vc};
            for (int in = 0; in < 2; in++) {
                float got[5 * 3] = {0};
                lt_err err = {0};
                LT_CHECK_INT(lt_xgb__predict_margins(m, views[in], 0, TREES, 1, got, &err), ==, 0);
                LT_CHECK_INT(memcmp(got, want + r0 * GROUPS, len * GROUPS * sizeof(float)), ==, 0);
            }
        }
    free(want);
    free(dense);
    free(row_ptr);
    free(col_idx);
    free(values);
    lt_xgb__model_free(m);
}

static void predict_margins_equal_the_scalar_walk(void)
{
    check_walks(3, true);
}

static void one_group_equals_the_scalar_walk(void)
{
    check_walks(1, true);
}

static void rows_without_missing_values_equal_the_scalar_walk(void)
{
    check_walks(1, false);
    check_walks(3, false);
}

int main(void)
{
    LT_RUN(predict_margins_equal_the_scalar_walk);
    LT_RUN(one_group_equals_the_scalar_walk);
    LT_RUN(rows_without_missing_values_equal_the_scalar_walk);
    return lt_test_summary();
}
