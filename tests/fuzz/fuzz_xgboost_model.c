/*
 * XGBoost JSON model reader (model files come from users: a model.tar.gz, a
 * save_model("x.json") upload). Invariants: failure is LT_EINVAL with a message and no
 * model; on success every split points forward inside its tree and at a feature below
 * num_feature, predict walks each tree to a leaf for a missing and a present row, and the
 * model written back reads again to the same tree count.
 */
#include "algo/xgboost/xgboost.h"
#include "fuzz_check.h"

#include <math.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lt_err err = {0};
    lt_xgb_model *m = NULL;
    int rc = lt_xgb__model_from_json((const char *)data, size, &m, &err);
    if (rc) {
        FZ_CHECK(rc == LT_EINVAL, "unexpected code %d", rc);
        FZ_CHECK(m == NULL && err.msg[0] && FZ_TERMINATED(err.msg), "error without message");
        return 0;
    }
    FZ_CHECK(m && m->num_feature >= 1, "model without features");
    for (int t = 0; t < m->n_trees; t++) {
        const lt_xgb_tree *tr = &m->trees[t];
        FZ_CHECK(m->tree_info[t] >= 0 && m->tree_info[t] < lt_xgb__n_groups(m), "group of %d", t);
        for (int i = 0; i < tr->n_nodes; i++) {
            if (tr->left[i] < 0) continue;
            FZ_CHECK(tr->left[i] > i && tr->left[i] < tr->n_nodes && tr->right[i] > i &&
                         tr->right[i] < tr->n_nodes,
                     "tree %d node %d children", t, i);
            FZ_CHECK((int)tr->split_index[i] < m->num_feature, "tree %d node %d feature", t, i);
        }
    }
    if (m->num_feature <= 4096) {
        float row[4096];
        for (int f = 0; f < m->num_feature; f++)
            row[f] = NAN;
        lt_matrix x = {
            .kind = LT_MATRIX_DENSE, .n_rows = 1, .n_cols = (size_t)m->num_feature, .values = row};
        float margins[1024];
        int k = lt_xgb__n_groups(m);
        if (k <= 1024) {
            for (int pass = 0; pass < 2; pass++) {
                for (int j = 0; j < k; j++)
                    margins[j] = lt_xgb__base_margin(m);
                FZ_CHECK(lt_xgb__predict_margins(m, &x, 0, m->n_trees, 1, margins, &err) == 0,
                         "predict failed: %s", err.msg);
                for (int f = 0; f < m->num_feature; f++)
                    row[f] = (float)f;
            }
        }
    }
    char *text = lt_xgb__model_to_json(m);
    lt_xgb_model *back = NULL;
    FZ_CHECK(lt_xgb__model_from_json(text, strlen(text), &back, &err) == 0,
             "written model does not read back: %s", err.msg);
    FZ_CHECK(back->n_trees == m->n_trees, "tree count changed");
    lt_xgb__model_free(back);
    free(text);
    lt_xgb__model_free(m);
    return 0;
}
