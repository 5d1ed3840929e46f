/* Linear Learner's hyperparameters, as the AWS developer guide names them ("Linear learner
 * hyperparameters"), and their resolution into lt_linear_params.
 *
 * "auto" resolves as follows (SageMaker leaves most of these to its own heuristics):
 * num_models 8 (SageMaker: 32; 8 keeps two cores busy on one mini-batch without the grid
 * costing 4x); optimizer adam; learning_rate, wd, l1: a grid over the models (the trainer's
 * lr_grid / wd_grid); loss: logistic, squared_loss or softmax_loss by predictor_type;
 * unbias_data / unbias_label: use_bias; normalize_label: true for regressors;
 * positive_example_weight_mult auto: 1; bias_lr_mult auto: 1; bias_wd_mult auto: 0;
 * lr_scheduler_step auto: no schedule. Accepted but ignored: num_calibration_samples beyond
 * capping the rows the threshold is chosen on. */
#include "algo/linear/linear.h"

#include <limits.h>
#include <math.h>
#include <string.h>

static const char *const predictor_choices[] = {"binary_classifier", "multiclass_classifier",
                                                "regressor", NULL};
static const char *const optimizer_choices[] = {"auto", "sgd", "adam", "rmsprop", NULL};
static const char *const loss_choices[] = {"auto",
                                           "logistic",
                                           "hinge_loss",
                                           "squared_loss",
                                           "absolute_loss",
                                           "eps_insensitive_squared_loss",
                                           "eps_insensitive_absolute_loss",
                                           "quantile_loss",
                                           "huber_loss",
                                           "softmax_loss",
                                           NULL};
static const char *const select_choices[] = {
    "accuracy",      "f_beta", "precision_at_target_recall", "recall_at_target_precision",
    "loss_function", NULL};
static const char *const tristate_choices[] = {"auto", "true", "false", NULL};
static const char *const init_choices[] = {"uniform", "normal", NULL};
static const char *const auto_word[] = {"auto", NULL};
static const char *const weight_words[] = {"auto", "balanced", NULL};

const lt_hp_spec lt_linear__hps[] = {
    {"predictor_type", LT_HP_CATEGORICAL, NULL, 0, 0, predictor_choices, false},
    {"feature_dim", LT_HP_INT_OR_AUTO, "auto", 1, INT_MAX, NULL, false},
    {"num_classes", LT_HP_INT_OR_AUTO, "auto", 3, 1000000, NULL, false},
    {"num_models", LT_HP_INT_OR_AUTO, "auto", 1, 256, NULL, false},
    {"learning_rate", LT_HP_FLOAT_OR_WORD, "auto", 1e-12, 1e3, auto_word, true},
    {"optimizer", LT_HP_CATEGORICAL, "auto", 0, 0, optimizer_choices, false},
    {"mini_batch_size", LT_HP_INT, "1000", 1, 1e9, NULL, true},
    {"epochs", LT_HP_INT, "15", 1, 1e6, NULL, false},
    {"l1", LT_HP_FLOAT_OR_WORD, "auto", 0, 1e6, auto_word, true},
    {"wd", LT_HP_FLOAT_OR_WORD, "auto", 0, 1e6, auto_word, true},
    {"loss", LT_HP_CATEGORICAL, "auto", 0, 0, loss_choices, false},
    {"normalize_data", LT_HP_BOOL, "true", 0, 0, NULL, false},
    {"normalize_label", LT_HP_CATEGORICAL, "auto", 0, 0, tristate_choices, false},
    {"unbias_data", LT_HP_CATEGORICAL, "auto", 0, 0, tristate_choices, false},
    {"unbias_label", LT_HP_CATEGORICAL, "auto", 0, 0, tristate_choices, false},
    {"use_bias", LT_HP_BOOL, "true", 0, 0, NULL, false},
    {"early_stopping_patience", LT_HP_INT, "3", 1, 1e6, NULL, false},
    {"early_stopping_tolerance", LT_HP_FLOAT, "0.001", 0, 1e6, NULL, false},
    {"binary_classifier_model_selection_criteria", LT_HP_CATEGORICAL, "accuracy", 0, 0,
     select_choices, false},
    {"target_recall", LT_HP_FLOAT, "0.8", 0, 1, NULL, false},
    {"target_precision", LT_HP_FLOAT, "0.8", 0, 1, NULL, false},
    {"f_beta", LT_HP_FLOAT, "1.0", 1e-9, 1e6, NULL, false},
    {"positive_example_weight_mult", LT_HP_FLOAT_OR_WORD, "1.0", 1e-9, 1e9, weight_words, false},
    {"balance_multiclass_weights", LT_HP_BOOL, "false", 0, 0, NULL, false},
    {"margin", LT_HP_FLOAT, "1.0", 0, 1e6, NULL, false},
    {"quantile", LT_HP_FLOAT, "0.5", 1e-9, 1 - 1e-9, NULL, false},
    {"loss_insensitivity", LT_HP_FLOAT, "0.01", 0, 1e9, NULL, false},
    {"huber_delta", LT_HP_FLOAT, "1.0", 1e-12, 1e9, NULL, false},
    {"beta_1", LT_HP_FLOAT_OR_WORD, "auto", 0, 0.999999, auto_word, false},
    {"beta_2", LT_HP_FLOAT_OR_WORD, "auto", 0, 0.999999999, auto_word, false},
    {"momentum", LT_HP_FLOAT_OR_WORD, "auto", 0, 0.999999, auto_word, false},
    {"bias_lr_mult", LT_HP_FLOAT_OR_WORD, "auto", 1e-9, 1e6, auto_word, false},
    {"bias_wd_mult", LT_HP_FLOAT_OR_WORD, "auto", 0, 1e6, auto_word, false},
    {"lr_scheduler_step", LT_HP_INT_OR_AUTO, "auto", 1, INT_MAX, NULL, false},
    {"lr_scheduler_factor", LT_HP_FLOAT_OR_WORD, "auto", 1e-9, 1, auto_word, false},
    {"lr_scheduler_minimum_lr", LT_HP_FLOAT_OR_WORD, "auto", 0, 1e3, auto_word, false},
    {"accuracy_top_k", LT_HP_INT, "3", 1, INT_MAX, NULL, false},
    {"num_point_for_scaler", LT_HP_INT, "10000", 1, 1e12, NULL, false},
    {"num_calibration_samples", LT_HP_INT, "10000000", 1, 1e12, NULL, false},
    {"init_method", LT_HP_CATEGORICAL, "uniform", 0, 0, init_choices, false},
    {"init_scale", LT_HP_FLOAT, "0.07", 0, 1e6, NULL, false},
    {"init_sigma", LT_HP_FLOAT, "0.01", 0, 1e6, NULL, false},
    {"init_bias", LT_HP_FLOAT, "0", -1e6, 1e6, NULL, false},
    {"seed", LT_HP_INT, "0", 0, INT_MAX, NULL, false},
    {NULL, 0, NULL, 0, 0, NULL, false},
};

static int index_of(const char *const *names, const char *s)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], s) == 0) return i;
    return -1;
}

static double num(const json_t *hp, const char *name)
{
    return lt_algo_hp_number(lt_linear__hps, hp, name);
}

static const char *str(const json_t *hp, const char *name)
{
    return lt_algo_hp_string(lt_linear__hps, hp, name);
}

/* auto/true/false with auto meaning `fallback`. */
static bool tristate(const json_t *hp, const char *name, bool fallback)
{
    const char *s = str(hp, name);
    return strcmp(s, "auto") == 0 ? fallback : strcmp(s, "true") == 0;
}

static double or_default(double v, double fallback)
{
    return isnan(v) ? fallback : v;
}

int lt_linear__params_parse(const json_t *hp, lt_linear_params *p, lt_err *err)
{
    int rc = lt_algo_hp_check(lt_linear__hps, hp, err);
    if (rc) return rc;
    memset(p, 0, sizeof *p);
    p->kind = (lt_linear_kind)index_of(predictor_choices, str(hp, "predictor_type"));
    double v = num(hp, "feature_dim");
    p->feature_dim = isnan(v) ? 0 : (int)v;
    p->num_classes = 1;
    if (p->kind == LT_LINEAR_MULTICLASS) {
        v = num(hp, "num_classes");
        if (isnan(v))
            return lt_err_set(err, LT_EINVAL,
                              "hyperparameter num_classes is required when predictor_type is "
                              "multiclass_classifier");
        p->num_classes = (int)v;
    }
    p->num_models = (int)or_default(num(hp, "num_models"), 8);
    p->epochs = (int)num(hp, "epochs");
    p->mini_batch_size = (size_t)num(hp, "mini_batch_size");
    p->learning_rate = or_default(num(hp, "learning_rate"), -1);
    p->wd = or_default(num(hp, "wd"), -1);
    p->l1 = or_default(num(hp, "l1"), -1);

    int opt = index_of(optimizer_choices, str(hp, "optimizer"));
    p->optimizer = opt == 1 ? LT_LINEAR_SGD : opt == 3 ? LT_LINEAR_RMSPROP : LT_LINEAR_ADAM;
    p->beta_1 = or_default(num(hp, "beta_1"), 0.9);
    p->beta_2 = or_default(num(hp, "beta_2"), 0.999);
    p->eps = 1e-8;
    p->momentum = or_default(num(hp, "momentum"), 0);
    p->bias_lr_mult = or_default(num(hp, "bias_lr_mult"), 1);
    p->bias_wd_mult = or_default(num(hp, "bias_wd_mult"), 0);
    v = num(hp, "lr_scheduler_step");
    p->lr_step = isnan(v) ? 0 : (int)v;
    p->lr_step_factor = or_default(num(hp, "lr_scheduler_factor"), 0.99);
    p->lr_min = or_default(num(hp, "lr_scheduler_minimum_lr"), 1e-5);

    const char *loss = str(hp, "loss");
    int li = index_of(loss_choices, loss);
    static const lt_linear_loss by_index[] = {0,
                                              LT_LINEAR_LOGISTIC,
                                              LT_LINEAR_HINGE,
                                              LT_LINEAR_SQUARED,
                                              LT_LINEAR_ABSOLUTE,
                                              LT_LINEAR_EPS_SQUARED,
                                              LT_LINEAR_EPS_ABSOLUTE,
                                              LT_LINEAR_QUANTILE,
                                              LT_LINEAR_HUBER,
                                              LT_LINEAR_SOFTMAX};
    if (li == 0) {
        p->loss = p->kind == LT_LINEAR_BINARY       ? LT_LINEAR_LOGISTIC
                  : p->kind == LT_LINEAR_MULTICLASS ? LT_LINEAR_SOFTMAX
                                                    : LT_LINEAR_SQUARED;
    } else {
        p->loss = by_index[li];
        bool fits = p->kind == LT_LINEAR_BINARY
                        ? (p->loss == LT_LINEAR_LOGISTIC || p->loss == LT_LINEAR_HINGE)
                    : p->kind == LT_LINEAR_MULTICLASS
                        ? p->loss == LT_LINEAR_SOFTMAX
                        : (p->loss != LT_LINEAR_LOGISTIC && p->loss != LT_LINEAR_HINGE &&
                           p->loss != LT_LINEAR_SOFTMAX);
        if (!fits)
            return lt_err_set(err, LT_EINVAL,
                              "hyperparameter loss=%s does not apply to predictor_type %s (binary: "
                              "logistic, hinge_loss; multiclass: softmax_loss; regressor: the "
                              "others)",
                              loss, str(hp, "predictor_type"));
    }
    p->select = (lt_linear_select)index_of(select_choices,
                                           str(hp, "binary_classifier_model_selection_criteria"));

    p->use_bias = num(hp, "use_bias") != 0;
    p->scale_x = num(hp, "normalize_data") != 0;
    p->center_x = tristate(hp, "unbias_data", p->use_bias);
    bool regressor = p->kind == LT_LINEAR_REGRESSOR;
    p->scale_y = regressor && tristate(hp, "normalize_label", true);
    p->center_y = regressor && tristate(hp, "unbias_label", p->use_bias);
    if (p->center_x && !p->use_bias && strcmp(str(hp, "unbias_data"), "true") == 0)
        return lt_err_set(err, LT_EINVAL,
                          "hyperparameter unbias_data=true needs use_bias=true (centring the "
                          "features moves the intercept into the bias)");

    p->early_stopping_patience = (int)num(hp, "early_stopping_patience");
    p->early_stopping_tolerance = num(hp, "early_stopping_tolerance");
    p->target_recall = num(hp, "target_recall");
    p->target_precision = num(hp, "target_precision");
    p->f_beta = num(hp, "f_beta");
    const char *pw = str(hp, "positive_example_weight_mult");
    p->positive_weight =
        strcmp(pw, "balanced") == 0 ? -1 : or_default(num(hp, "positive_example_weight_mult"), 1);
    p->balance_multiclass = num(hp, "balance_multiclass_weights") != 0;
    p->margin = num(hp, "margin");
    p->quantile = num(hp, "quantile");
    p->loss_insensitivity = num(hp, "loss_insensitivity");
    p->huber_delta = num(hp, "huber_delta");
    p->accuracy_top_k = (int)num(hp, "accuracy_top_k");
    p->num_point_for_scaler = (size_t)num(hp, "num_point_for_scaler");
    p->num_calibration_samples = (size_t)num(hp, "num_calibration_samples");
    p->init_normal = strcmp(str(hp, "init_method"), "normal") == 0;
    p->init_scale = num(hp, "init_scale");
    p->init_sigma = num(hp, "init_sigma");
    p->init_bias = num(hp, "init_bias");
    p->seed = (uint64_t)num(hp, "seed");
    p->copy_max_bytes = (size_t)4 << 30;
    return 0;
}
