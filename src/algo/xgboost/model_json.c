/* XGBoost's JSON model format, as XGBoost 1.7 writes it with save_model("x.json")
 * (doc/model.schema in the XGBoost tree). The subset implemented:
 *
 *   {"learner": {
 *      "attributes": {"best_iteration": "..", "best_score": ".."}   (optional)
 *      "feature_names": [], "feature_types": [],
 *      "gradient_booster": {"name": "gbtree", "model": {
 *          "gbtree_model_param": {"num_parallel_tree": "1", "num_trees": "N", ...},
 *          "tree_info": [group of each tree],
 *          "trees": [{"tree_param": {"num_nodes": "n", "num_feature": "F", ...},
 *                     "left_children", "right_children", "parents", "split_indices",
 *                     "split_conditions", "default_left", "split_type", "base_weights",
 *                     "loss_changes", "sum_hessian": arrays of n; "categories*": []}]}},
 *      "learner_model_param": {"base_score": "5E-1", "num_class": "0",
 *                              "num_feature": "F", "num_target": "1", ...},
 *      "objective": {"name": "binary:logistic", "<objective>_param": {...}}},
 *    "version": [1, 7, 4]}
 *
 * Read: gbtree boosters with numerical splits, any of the objectives objective.c knows,
 * num_parallel_tree 1 (trees of one round in tree_info order). dart, gblinear,
 * categorical splits and vector leaves are refused with LT_EINVAL naming the member.
 * Every index is checked (children point forward inside the tree, split features are
 * below num_feature, groups below num_class) so a hostile file cannot make predict loop
 * or read out of bounds. */
#include "algo/xgboost/xgboost.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- writing ----------------------------------------------------------------------- */

static void put(lt_buf *b, const char *s)
{
    lt_err err = {0};
    lt_buf_puts(b, s, &err);
}

static void put_floats(lt_buf *b, const char *name, const float *v, int n)
{
    lt_err err = {0};
    lt_buf_printf(b, &err, "\"%s\":[", name);
    for (int i = 0; i < n; i++) {
        /* XGBoost's reader types "0" as an integer and refuses it where a float is due,
         * so every float carries a point or an exponent; 9 digits round-trip a float. */
        char num[32];
        double d = isfinite(v[i]) ? (double)v[i] : 0.0;
        int len = snprintf(num, sizeof num, "%.9g", d);
        if (!strpbrk(num, ".eE")) snprintf(num + len, sizeof num - (size_t)len, ".0");
        lt_buf_printf(b, &err, i ? ",%s" : "%s", num);
    }
    put(b, "]");
}

static void put_ints(lt_buf *b, const char *name, const int32_t *v, const uint32_t *u,
                     const uint8_t *c, int n)
{
    lt_err err = {0};
    lt_buf_printf(b, &err, "\"%s\":[", name);
    for (int i = 0; i < n; i++) {
        long long x = v ? v[i] : u ? (long long)u[i] : c ? c[i] : 0;
        lt_buf_printf(b, &err, i ? ",%lld" : "%lld", x);
    }
    put(b, "]");
}

static void put_objective(lt_buf *b, const lt_xgb_model *m)
{
    lt_err err = {0};
    const char *name = lt_xgb__objective_name(m->objective);
    lt_buf_printf(b, &err, "\"objective\":{\"name\":\"%s\"", name);
    switch (m->objective) {
    case LT_XGB_OBJ_SQUAREDERROR:
    case LT_XGB_OBJ_REG_LOGISTIC:
    case LT_XGB_OBJ_BINARY_LOGISTIC:
    case LT_XGB_OBJ_BINARY_LOGITRAW:
        lt_buf_printf(b, &err, ",\"reg_loss_param\":{\"scale_pos_weight\":\"%.9g\"}",
                      m->scale_pos_weight);
        break;
    case LT_XGB_OBJ_TWEEDIE:
        lt_buf_printf(b, &err,
                      ",\"tweedie_regression_param\":{\"tweedie_variance_power\":\"%.9g\"}",
                      m->tweedie_variance_power);
        break;
    case LT_XGB_OBJ_POISSON:
        lt_buf_printf(b, &err, ",\"poisson_regression_param\":{\"max_delta_step\":\"%.9g\"}",
                      m->poisson_max_delta_step);
        break;
    case LT_XGB_OBJ_MULTI_SOFTMAX:
    case LT_XGB_OBJ_MULTI_SOFTPROB:
        lt_buf_printf(b, &err, ",\"softmax_multiclass_param\":{\"num_class\":\"%d\"}",
                      m->num_class);
        break;
    default:
        break;
    }
    put(b, "}");
}

char *lt_xgb__model_to_json(const lt_xgb_model *m)
{
    lt_buf b;
    lt_buf_init(&b, SIZE_MAX / 2);
    lt_err err = {0};
    put(&b, "{\"learner\":{\"attributes\":{");
    if (m->best_iteration >= 0)
        lt_buf_printf(&b, &err, "\"best_iteration\":\"%d\",\"best_score\":\"%.9g\"",
                      m->best_iteration, m->best_score);
    put(&b, "},\"feature_names\":[],\"feature_types\":[],");
    lt_buf_printf(&b, &err,
                  "\"gradient_booster\":{\"model\":{\"gbtree_model_param\":{"
                  "\"num_parallel_tree\":\"1\",\"num_trees\":\"%d\",\"size_leaf_vector\":\"0\"},",
                  m->n_trees);
    put_ints(&b, "tree_info", m->tree_info, NULL, NULL, m->n_trees);
    put(&b, ",\"trees\":[");
    for (int t = 0; t < m->n_trees; t++) {
        const lt_xgb_tree *tr = &m->trees[t];
        int n = tr->n_nodes;
        put(&b, t ? ",{" : "{");
        put_floats(&b, "base_weights", tr->base_weight, n);
        put(&b, ",\"categories\":[],\"categories_nodes\":[],\"categories_segments\":[],"
                "\"categories_sizes\":[],");
        put_ints(&b, "default_left", NULL, NULL, tr->default_left, n);
        lt_buf_printf(&b, &err, ",\"id\":%d,", t);
        put_ints(&b, "left_children", tr->left, NULL, NULL, n);
        put(&b, ",");
        put_floats(&b, "loss_changes", tr->loss_chg, n);
        put(&b, ",");
        put_ints(&b, "parents", tr->parent, NULL, NULL, n);
        put(&b, ",");
        put_ints(&b, "right_children", tr->right, NULL, NULL, n);
        put(&b, ",");
        put_floats(&b, "split_conditions", tr->split_cond, n);
        put(&b, ",");
        put_ints(&b, "split_indices", NULL, tr->split_index, NULL, n);
        put(&b, ",");
        put_ints(&b, "split_type", NULL, NULL, NULL, n);
        put(&b, ",");
        put_floats(&b, "sum_hessian", tr->sum_hess, n);
        lt_buf_printf(&b, &err,
                      ",\"tree_param\":{\"num_deleted\":\"0\",\"num_feature\":\"%d\","
                      "\"num_nodes\":\"%d\",\"size_leaf_vector\":\"0\"}}",
                      m->num_feature, n);
    }
    put(&b, "]},\"name\":\"gbtree\"},");
    lt_buf_printf(&b, &err,
                  "\"learner_model_param\":{\"base_score\":\"%.9g\",\"boost_from_average\":\"1\","
                  "\"num_class\":\"%d\",\"num_feature\":\"%d\",\"num_target\":\"1\"},",
                  (double)m->base_score, m->num_class, m->num_feature);
    put_objective(&b, m);
    put(&b, "},\"version\":[1,7,4]}\n");
    return lt_buf_take(&b);
}

/* ---- reading ----------------------------------------------------------------------- */

#define BAD(...) lt_err_set(err, LT_EINVAL, "xgboost model: " __VA_ARGS__)

static json_t *member(const json_t *obj, const char *key, const char *path, json_type type,
                      lt_err *err)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (!v || json_typeof(v) != type) {
        static const char *const names[] = {"an object", "an array", "a string", "an integer",
                                            "a number",  "true",     "false",    "null"};
        BAD("%s.%s is missing or not %s", path, key, names[type]);
        return NULL;
    }
    return v;
}

/* A parameter XGBoost writes as a string ("5E-1", "3"); numbers are accepted too. */
static int param_number(const json_t *obj, const char *key, const char *path, double fallback,
                        bool required, double *out, lt_err *err)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (!v) {
        if (required) return BAD("%s.%s is missing", path, key);
        *out = fallback;
        return 0;
    }
    if (json_is_number(v)) {
        *out = json_number_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end = NULL;
        errno = 0;
        *out = strtod(s, &end);
        if (errno || end == s || *end) return BAD("%s.%s is not a number: '%s'", path, key, s);
    } else {
        return BAD("%s.%s is not a number", path, key);
    }
    if (!isfinite(*out)) return BAD("%s.%s is not finite", path, key);
    return 0;
}

static int array_of(const json_t *tree, const char *key, int t, int n, bool required, json_t **out,
                    lt_err *err)
{
    json_t *a = json_object_get(tree, key);
    *out = NULL;
    if (!a && !required) return 0;
    if (!json_is_array(a))
        return BAD("learner.gradient_booster.model.trees[%d].%s is missing or not an array", t,
                   key);
    if (json_array_size(a) != (size_t)n)
        return BAD("learner.gradient_booster.model.trees[%d].%s has %zu entries, num_nodes is %d",
                   t, key, json_array_size(a), n);
    *out = a;
    return 0;
}

static int number_at(const json_t *a, int i, const char *key, int t, double *out, lt_err *err)
{
    json_t *v = json_array_get(a, (size_t)i);
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
        return BAD("learner.gradient_booster.model.trees[%d].%s[%d] is not a finite number", t, key,
                   i);
    *out = json_number_value(v);
    return 0;
}

static int read_tree(const json_t *jt, int t, int num_feature, lt_xgb_tree *tr, lt_err *err)
{
    char path[96];
    snprintf(path, sizeof path, "learner.gradient_booster.model.trees[%d]", t);
    if (!json_is_object(jt)) return BAD("%s is not an object", path);
    json_t *tp = member(jt, "tree_param", path, JSON_OBJECT, err);
    if (!tp) return LT_EINVAL;
    double nn = 0, leaf_vec = 0;
    int rc = param_number(tp, "num_nodes", "tree_param", 0, true, &nn, err);
    if (!rc) rc = param_number(tp, "size_leaf_vector", "tree_param", 0, false, &leaf_vec, err);
    if (rc) return rc;
    if (leaf_vec != 0) return BAD("%s: vector leaves (multi-target trees) are not supported", path);
    json_t *lc = json_object_get(jt, "left_children");
    /* num_nodes is bounded by the arrays the document actually holds */
    if (nn < 1 || nn != floor(nn) || !json_is_array(lc) || json_array_size(lc) != (size_t)nn)
        return BAD("%s.tree_param.num_nodes (%g) does not match left_children", path, nn);
    int n = (int)nn;
    json_t *rcj, *si, *sc, *dl, *bw, *lo, *sh, *st;
    if ((rc = array_of(jt, "right_children", t, n, true, &rcj, err)) ||
        (rc = array_of(jt, "split_indices", t, n, true, &si, err)) ||
        (rc = array_of(jt, "split_conditions", t, n, true, &sc, err)) ||
        (rc = array_of(jt, "default_left", t, n, true, &dl, err)) ||
        (rc = array_of(jt, "base_weights", t, n, false, &bw, err)) ||
        (rc = array_of(jt, "loss_changes", t, n, false, &lo, err)) ||
        (rc = array_of(jt, "sum_hessian", t, n, false, &sh, err)) ||
        (rc = array_of(jt, "split_type", t, n, false, &st, err)))
        return rc;
    lt_xgb__tree_alloc(tr, n);
    for (int i = 0; i < n; i++) {
        double l, r, f, c, d, x;
        if ((rc = number_at(lc, i, "left_children", t, &l, err)) ||
            (rc = number_at(rcj, i, "right_children", t, &r, err)) ||
            (rc = number_at(si, i, "split_indices", t, &f, err)) ||
            (rc = number_at(sc, i, "split_conditions", t, &c, err)) ||
            (rc = number_at(dl, i, "default_left", t, &d, err)))
            return rc;
        if (st && ((rc = number_at(st, i, "split_type", t, &x, err)) || x != 0))
            return rc ? rc
                      : BAD("%s.split_type[%d]: categorical splits are not supported", path, i);
        bool leaf = l == -1;
        if (leaf != (r == -1))
            return BAD("%s: node %d has one child (left %g, right %g)", path, i, l, r);
        if (!leaf && (l <= i || l >= n || r <= i || r >= n || l != floor(l) || r != floor(r)))
            return BAD("%s: node %d has children %g and %g outside (%d, %d)", path, i, l, r, i, n);
        if (!leaf && (f < 0 || f >= num_feature || f != floor(f)))
            return BAD("%s.split_indices[%d] = %g is not a feature below num_feature %d", path, i,
                       f, num_feature);
        if (fabs(c) > FLT_MAX) return BAD("%s.split_conditions[%d] overflows a float", path, i);
        tr->left[i] = leaf ? -1 : (int32_t)l;
        tr->right[i] = leaf ? -1 : (int32_t)r;
        tr->split_index[i] = leaf ? 0 : (uint32_t)f;
        tr->split_cond[i] = (float)c;
        tr->default_left[i] = d != 0;
        tr->parent[i] = INT32_MAX;
        if (bw && (rc = number_at(bw, i, "base_weights", t, &x, err))) return rc;
        if (bw) tr->base_weight[i] = (float)x;
        if (lo && (rc = number_at(lo, i, "loss_changes", t, &x, err))) return rc;
        if (lo) tr->loss_chg[i] = (float)x;
        if (sh && (rc = number_at(sh, i, "sum_hessian", t, &x, err))) return rc;
        if (sh) tr->sum_hess[i] = (float)x;
    }
    /* Parents from children; a node reached twice would make the tree a graph. */
    for (int i = 0; i < n; i++) {
        if (tr->left[i] < 0) continue;
        int kids[2] = {tr->left[i], tr->right[i]};
        for (int k = 0; k < 2; k++) {
            if (tr->parent[kids[k]] != INT32_MAX)
                return BAD("%s: node %d has two parents", path, kids[k]);
            tr->parent[kids[k]] = i;
        }
    }
    return 0;
}

static int read_objective(const json_t *learner, lt_xgb_model *m, lt_err *err)
{
    json_t *obj = member(learner, "objective", "learner", JSON_OBJECT, err);
    if (!obj) return LT_EINVAL;
    json_t *jn = member(obj, "name", "learner.objective", JSON_STRING, err);
    if (!jn) return LT_EINVAL;
    if (lt_xgb__objective_from_name(json_string_value(jn), &m->objective))
        return BAD("learner.objective.name '%s' is not supported", json_string_value(jn));
    int rc = param_number(json_object_get(obj, "reg_loss_param"), "scale_pos_weight",
                          "learner.objective.reg_loss_param", 1, false, &m->scale_pos_weight, err);
    if (!rc)
        rc = param_number(json_object_get(obj, "tweedie_regression_param"),
                          "tweedie_variance_power", "learner.objective.tweedie_regression_param",
                          1.5, false, &m->tweedie_variance_power, err);
    if (!rc)
        rc = param_number(json_object_get(obj, "poisson_regression_param"), "max_delta_step",
                          "learner.objective.poisson_regression_param", 0.7, false,
                          &m->poisson_max_delta_step, err);
    return rc;
}

int lt_xgb__model_from_json(const char *text, size_t len, lt_xgb_model **out, lt_err *err)
{
    *out = NULL;
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) return BAD("not JSON: %s (line %d, column %d)", je.text, je.line, je.column);
    lt_xgb_model *m = lt_xcalloc(1, sizeof *m);
    m->best_iteration = -1;
    int rc = LT_EINVAL;
    json_t *learner = member(root, "learner", "(root)", JSON_OBJECT, err);
    if (!learner) goto done;
    json_t *mp = member(learner, "learner_model_param", "learner", JSON_OBJECT, err);
    if (!mp) goto done;
    double base, ncls, nfeat, ntarget;
    if ((rc = param_number(mp, "base_score", "learner.learner_model_param", 0.5, true, &base,
                           err)) ||
        (rc = param_number(mp, "num_class", "learner.learner_model_param", 0, false, &ncls, err)) ||
        (rc = param_number(mp, "num_feature", "learner.learner_model_param", 0, true, &nfeat,
                           err)) ||
        (rc = param_number(mp, "num_target", "learner.learner_model_param", 1, false, &ntarget,
                           err)))
        goto done;
    rc = LT_EINVAL;
    if (nfeat < 1 || nfeat > INT_MAX || nfeat != floor(nfeat)) {
        BAD("learner.learner_model_param.num_feature %g is not a positive integer", nfeat);
        goto done;
    }
    if (ncls < 0 || ncls > 1e6 || ncls != floor(ncls)) {
        BAD("learner.learner_model_param.num_class %g is not a valid class count", ncls);
        goto done;
    }
    if (ntarget != 1) {
        BAD("learner.learner_model_param.num_target %g: multi-target models are not supported",
            ntarget);
        goto done;
    }
    if (fabs(base) > FLT_MAX) {
        BAD("learner.learner_model_param.base_score %g overflows a float", base);
        goto done;
    }
    m->base_score = (float)base;
    m->num_class = ncls >= 2 ? (int)ncls : 0;
    m->num_feature = (int)nfeat;
    if ((rc = read_objective(learner, m, err))) goto done;
    rc = LT_EINVAL;
    bool multi =
        m->objective == LT_XGB_OBJ_MULTI_SOFTMAX || m->objective == LT_XGB_OBJ_MULTI_SOFTPROB;
    if (multi != (m->num_class >= 2)) {
        BAD("learner.learner_model_param.num_class %d does not fit objective %s", m->num_class,
            lt_xgb__objective_name(m->objective));
        goto done;
    }
    bool logit =
        m->objective == LT_XGB_OBJ_REG_LOGISTIC || m->objective == LT_XGB_OBJ_BINARY_LOGISTIC;
    bool log_link = m->objective == LT_XGB_OBJ_POISSON || m->objective == LT_XGB_OBJ_GAMMA ||
                    m->objective == LT_XGB_OBJ_TWEEDIE;
    if ((logit && !(base > 0 && base < 1)) || (log_link && !(base > 0))) {
        BAD("learner.learner_model_param.base_score %g is outside the domain of %s", base,
            lt_xgb__objective_name(m->objective));
        goto done;
    }
    json_t *gb = member(learner, "gradient_booster", "learner", JSON_OBJECT, err);
    if (!gb) goto done;
    const char *gname = lt_json_str(gb, "name");
    if (!gname || strcmp(gname, "gbtree") != 0) {
        BAD("learner.gradient_booster.name '%s' is not supported (only gbtree)",
            gname ? gname : "(missing)");
        goto done;
    }
    json_t *model = member(gb, "model", "learner.gradient_booster", JSON_OBJECT, err);
    if (!model) goto done;
    double npt = 1;
    if ((rc = param_number(json_object_get(model, "gbtree_model_param"), "num_parallel_tree",
                           "learner.gradient_booster.model.gbtree_model_param", 1, false, &npt,
                           err)))
        goto done;
    rc = LT_EINVAL;
    if (npt != 1) {
        BAD("learner.gradient_booster.model.gbtree_model_param.num_parallel_tree %g: only 1 is "
            "supported",
            npt);
        goto done;
    }
    json_t *trees = member(model, "trees", "learner.gradient_booster.model", JSON_ARRAY, err);
    json_t *info =
        trees ? member(model, "tree_info", "learner.gradient_booster.model", JSON_ARRAY, err)
              : NULL;
    if (!info) goto done;
    size_t nt = json_array_size(trees);
    if (json_array_size(info) != nt) {
        BAD("learner.gradient_booster.model.tree_info has %zu entries for %zu trees",
            json_array_size(info), nt);
        goto done;
    }
    int groups = lt_xgb__n_groups(m);
    for (size_t t = 0; t < nt; t++) {
        json_t *g = json_array_get(info, t);
        if (!json_is_integer(g) || json_integer_value(g) < 0 || json_integer_value(g) >= groups) {
            BAD("learner.gradient_booster.model.tree_info[%zu] is not a group below %d", t, groups);
            goto done;
        }
        lt_xgb_tree tr;
        memset(&tr, 0, sizeof tr);
        if ((rc = read_tree(json_array_get(trees, t), (int)t, m->num_feature, &tr, err))) {
            lt_xgb__tree_free(&tr);
            goto done;
        }
        lt_xgb__model_add_tree(m, &tr, (int)json_integer_value(g));
    }
    json_t *attrs = json_object_get(learner, "attributes");
    const char *bi = lt_json_str(attrs, "best_iteration");
    if (bi) {
        int64_t v;
        lt_err ignore = {0};
        if (lt_parse_i64(bi, 0, INT_MAX, &v, "best_iteration", &ignore) == 0)
            m->best_iteration = (int)v;
    }
    rc = 0;
done:
    json_decref(root);
    if (rc) {
        lt_xgb__model_free(m);
        return rc;
    }
    m->flat = lt_xgb__flat_new(m, 0, m->n_trees);
    *out = m;
    return 0;
}
