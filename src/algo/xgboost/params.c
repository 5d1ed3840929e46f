/* SageMaker XGBoost's hyperparameters (the open-source container's names, XGBoost 1.7's
 * defaults) parsed into lt_xgb_params. Every tree_method runs the histogram algorithm;
 * booster must be gbtree; num_parallel_tree must be 1. eval_metric is a comma list, which
 * the generic spec types cannot express, so it is validated here. */
#include "algo/xgboost/xgboost.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const objective_names[LT_XGB_OBJ_COUNT + 1] = {
    [LT_XGB_OBJ_SQUAREDERROR] = "reg:squarederror",
    [LT_XGB_OBJ_REG_LOGISTIC] = "reg:logistic",
    [LT_XGB_OBJ_ABSOLUTEERROR] = "reg:absoluteerror",
    [LT_XGB_OBJ_TWEEDIE] = "reg:tweedie",
    [LT_XGB_OBJ_GAMMA] = "reg:gamma",
    [LT_XGB_OBJ_POISSON] = "count:poisson",
    [LT_XGB_OBJ_BINARY_LOGISTIC] = "binary:logistic",
    [LT_XGB_OBJ_BINARY_LOGITRAW] = "binary:logitraw",
    [LT_XGB_OBJ_BINARY_HINGE] = "binary:hinge",
    [LT_XGB_OBJ_MULTI_SOFTMAX] = "multi:softmax",
    [LT_XGB_OBJ_MULTI_SOFTPROB] = "multi:softprob",
    [LT_XGB_OBJ_COUNT] = NULL,
};
static const char *const grow_choices[] = {"depthwise", "lossguide", NULL};
static const char *const tree_method_choices[] = {"auto", "exact",    "approx",
                                                  "hist", "gpu_hist", NULL};
static const char *const booster_choices[] = {"gbtree", NULL};

const lt_hp_spec lt_xgb__hp_specs[] = {
    {"num_round", LT_HP_INT, NULL, 1, 1e7, NULL, true},
    {"objective", LT_HP_CATEGORICAL, "reg:squarederror", 0, 0, objective_names, false},
    {"eta", LT_HP_FLOAT, "0.3", 0, 1, NULL, true},
    {"max_depth", LT_HP_INT, "6", 0, 63, NULL, true},
    {"min_child_weight", LT_HP_FLOAT, "1", 0, 1e30, NULL, true},
    {"gamma", LT_HP_FLOAT, "0", 0, 1e30, NULL, true},
    {"subsample", LT_HP_FLOAT, "1", 1e-9, 1, NULL, true},
    {"colsample_bytree", LT_HP_FLOAT, "1", 1e-9, 1, NULL, true},
    {"colsample_bylevel", LT_HP_FLOAT, "1", 1e-9, 1, NULL, true},
    {"colsample_bynode", LT_HP_FLOAT, "1", 1e-9, 1, NULL, true},
    {"lambda", LT_HP_FLOAT, "1", 0, 1e30, NULL, true},
    {"alpha", LT_HP_FLOAT, "0", 0, 1e30, NULL, true},
    {"max_bin", LT_HP_INT, "256", 2, 65534, NULL, true},
    {"scale_pos_weight", LT_HP_FLOAT, "1", 1e-30, 1e30, NULL, true},
    {"max_delta_step", LT_HP_FLOAT, "0", 0, 1e30, NULL, true},
    {"grow_policy", LT_HP_CATEGORICAL, "depthwise", 0, 0, grow_choices, true},
    {"max_leaves", LT_HP_INT, "0", 0, INT_MAX, NULL, true},
    {"tree_method", LT_HP_CATEGORICAL, "auto", 0, 0, tree_method_choices, false},
    {"booster", LT_HP_CATEGORICAL, "gbtree", 0, 0, booster_choices, false},
    {"num_parallel_tree", LT_HP_INT, "1", 1, 1, NULL, false},
    {"seed", LT_HP_INT, "0", 0, 4294967295.0, NULL, false},
    {"num_class", LT_HP_INT, "0", 0, 1e6, NULL, false},
    {"base_score", LT_HP_FLOAT, "0.5", -1e30, 1e30, NULL, false},
    {"early_stopping_rounds", LT_HP_INT, "0", 0, INT_MAX, NULL, false},
    {"eval_metric", LT_HP_CATEGORICAL, "", 0, 0, lt_xgb__metric_names, false},
    {"tweedie_variance_power", LT_HP_FLOAT, "1.5", 1.0 + 1e-9, 2.0 - 1e-9, NULL, true},
    {"csv_weights", LT_HP_INT, "0", 0, 1, NULL, false},
    {"verbosity", LT_HP_INT, "1", 0, 3, NULL, false},
    {"nthread", LT_HP_INT, "0", 0, 1024, NULL, false},
    {NULL, 0, NULL, 0, 0, NULL, false},
};

const char *lt_xgb__objective_name(lt_xgb_objective obj)
{
    return obj < LT_XGB_OBJ_COUNT ? objective_names[obj] : "?";
}

int lt_xgb__objective_from_name(const char *name, lt_xgb_objective *out)
{
    for (int i = 0; i < LT_XGB_OBJ_COUNT; i++)
        if (strcmp(objective_names[i], name) == 0) {
            *out = (lt_xgb_objective)i;
            return 0;
        }
    return LT_EINVAL;
}

void lt_xgb__params_default(lt_xgb_params *p)
{
    memset(p, 0, sizeof *p);
    p->num_round = 10;
    p->eta = 0.3;
    p->max_depth = 6;
    p->min_child_weight = 1;
    p->subsample = p->colsample_bytree = p->colsample_bylevel = p->colsample_bynode = 1;
    p->lambda = 1;
    p->max_bin = 256;
    p->scale_pos_weight = 1;
    p->tweedie_variance_power = 1.5;
    p->base_score = 0.5;
    p->objective = LT_XGB_OBJ_SQUAREDERROR;
}

/* eval_metric: "rmse" or "auc,logloss" (SageMaker also passes a JSON list as a string). */
static int parse_metrics(const char *text, lt_xgb_params *p, lt_err *err)
{
    p->n_metrics = 0;
    const char *s = text;
    while (*s) {
        while (*s == ' ' || *s == '[' || *s == '"' || *s == ',' || *s == ']')
            s++;
        const char *e = s;
        while (*e && *e != ',' && *e != '"' && *e != ']' && *e != ' ')
            e++;
        if (e == s) break;
        size_t len = (size_t)(e - s);
        if (len >= sizeof p->metrics[0])
            return lt_err_set(err, LT_EINVAL, "hyperparameter eval_metric: '%.*s' is too long",
                              (int)len, s);
        char name[32];
        memcpy(name, s, len);
        name[len] = '\0';
        if (!lt_xgb__metric_known(name))
            return lt_err_set(err, LT_EINVAL,
                              "hyperparameter eval_metric: unsupported metric '%s' (supported: "
                              "rmse, mae, logloss, error[@t], auc, aucpr, merror, mlogloss, "
                              "poisson-nloglik, gamma-nloglik, tweedie-nloglik[@rho])",
                              name);
        if (p->n_metrics == LT_XGB_MAX_METRICS)
            return lt_err_set(err, LT_EINVAL, "hyperparameter eval_metric: more than %d metrics",
                              LT_XGB_MAX_METRICS);
        memcpy(p->metrics[p->n_metrics++], name, len + 1);
        s = e;
    }
    return 0;
}

int lt_xgb__params_parse(const json_t *hp, lt_xgb_params *p, lt_err *err)
{
    lt_xgb__params_default(p);
    /* eval_metric's comma list is checked here, everything else by the specs. */
    json_t *rest = hp ? json_copy((json_t *)hp) : json_object();
    if (!json_is_object(rest)) {
        json_decref(rest);
        return lt_err_set(err, LT_EINVAL, "hyperparameters must be a JSON object");
    }
    json_t *jm = json_object_get(rest, "eval_metric");
    char metric_text[256] = "";
    if (jm) {
        if (!json_is_string(jm)) {
            json_decref(rest);
            return lt_err_set(err, LT_EINVAL, "hyperparameter eval_metric must be a string");
        }
        snprintf(metric_text, sizeof metric_text, "%s", json_string_value(jm));
        json_object_del(rest, "eval_metric");
    }
    int rc = lt_algo_hp_check(lt_xgb__hp_specs, rest, err);
    if (rc) {
        json_decref(rest);
        return rc;
    }
    const lt_hp_spec *s = lt_xgb__hp_specs;
#define NUM(name) lt_algo_hp_number(s, rest, name)
    p->num_round = (int)NUM("num_round");
    p->eta = NUM("eta");
    p->max_depth = (int)NUM("max_depth");
    p->min_child_weight = NUM("min_child_weight");
    p->gamma = NUM("gamma");
    p->subsample = NUM("subsample");
    p->colsample_bytree = NUM("colsample_bytree");
    p->colsample_bylevel = NUM("colsample_bylevel");
    p->colsample_bynode = NUM("colsample_bynode");
    p->lambda = NUM("lambda");
    p->alpha = NUM("alpha");
    p->max_bin = (int)NUM("max_bin");
    p->scale_pos_weight = NUM("scale_pos_weight");
    p->max_delta_step = NUM("max_delta_step");
    p->max_leaves = (int)NUM("max_leaves");
    p->seed = (uint64_t)NUM("seed");
    p->num_class = (int)NUM("num_class");
    p->early_stopping_rounds = (int)NUM("early_stopping_rounds");
    p->tweedie_variance_power = NUM("tweedie_variance_power");
    p->base_score_given = json_object_get(rest, "base_score") != NULL;
    p->base_score = NUM("base_score");
#undef NUM
    p->lossguide = strcmp(lt_algo_hp_string(s, rest, "grow_policy"), "lossguide") == 0;
    lt_xgb__objective_from_name(lt_algo_hp_string(s, rest, "objective"), &p->objective);
    json_decref(rest);

    bool multi =
        p->objective == LT_XGB_OBJ_MULTI_SOFTMAX || p->objective == LT_XGB_OBJ_MULTI_SOFTPROB;
    if (multi && p->num_class < 2)
        return lt_err_set(err, LT_EINVAL,
                          "hyperparameter num_class is required (>= 2) with objective %s",
                          lt_xgb__objective_name(p->objective));
    if (!multi) p->num_class = 0;
    if (p->lossguide && p->max_depth == 0 && p->max_leaves == 0)
        return lt_err_set(err, LT_EINVAL,
                          "grow_policy lossguide needs max_depth or max_leaves > 0");
    if (!p->lossguide && p->max_depth == 0)
        return lt_err_set(err, LT_EINVAL,
                          "hyperparameter max_depth must be > 0 with grow_policy "
                          "depthwise");
    bool logistic = p->objective == LT_XGB_OBJ_REG_LOGISTIC ||
                    p->objective == LT_XGB_OBJ_BINARY_LOGISTIC ||
                    p->objective == LT_XGB_OBJ_BINARY_LOGITRAW;
    if (logistic && !(p->base_score > 0 && p->base_score < 1))
        return lt_err_set(err, LT_EINVAL,
                          "hyperparameter base_score must be in (0, 1) for objective %s",
                          lt_xgb__objective_name(p->objective));
    bool log_link = p->objective == LT_XGB_OBJ_POISSON || p->objective == LT_XGB_OBJ_GAMMA ||
                    p->objective == LT_XGB_OBJ_TWEEDIE;
    if (log_link && !(p->base_score > 0))
        return lt_err_set(err, LT_EINVAL, "hyperparameter base_score must be > 0 for objective %s",
                          lt_xgb__objective_name(p->objective));
    if ((rc = parse_metrics(metric_text, p, err))) return rc;
    if (p->n_metrics == 0) {
        if (p->objective == LT_XGB_OBJ_TWEEDIE)
            snprintf(p->metrics[0], sizeof p->metrics[0], "tweedie-nloglik@%g",
                     p->tweedie_variance_power);
        else
            snprintf(p->metrics[0], sizeof p->metrics[0], "%s",
                     lt_xgb__default_metric(p->objective));
        p->n_metrics = 1;
    }
    return 0;
}
