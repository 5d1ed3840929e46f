/* SageMaker's Linear Learner (built-in algorithm "linear-learner"): binary and multiclass
 * classifiers and regressors trained by mini-batch SGD, Adam or RMSProp, several models at
 * once with different learning rates and regularisation, the best kept on the validation
 * channel. The pieces: linear_params.c (hyperparameters), linear_train.c (training and
 * model selection), linear_metrics.c (losses, metrics, thresholds), linear_model.c (model
 * file, prediction, records).
 *
 * Channels: train; validation (model selection, early stopping, the threshold); test,
 * scored once after training with the kept model (test:* metrics and SageMaker's
 * "#test_score (algo-1) : ('binary_f_1.000', 0.9)" lines). Without validation the final
 * metrics are also the train data's (train:*). Sparse input is used dense (absent entries
 * are zero). Not computed: dcg. */
#include "algo/linear/linear.h"

static int linear_train(const lt_algo_train_args *args, lt_algo_model **out, lt_err *err)
{
    lt_linear_params p;
    int rc = lt_linear__params_parse(args->hyperparameters, &p, err);
    if (rc) return rc;
    return lt_linear__train(&p, args, out, err);
}

static const char *const linear_images[] = {"linear_learner", "LinearLearner", NULL};
static const char *const linear_content_types[] = {"text/csv", "text/libsvm",
                                                   "application/jsonlines", NULL};
/* The names SageMaker's Linear Learner publishes ("Tune a linear learner model"); the
 * train:* finals appear when there is no validation data, test:* with a test channel. */
static const char *const linear_metrics[] = {
    "test:objective_loss",
    "test:binary_classification_accuracy",
    "test:binary_f_beta",
    "test:precision",
    "test:recall",
    "test:roc_auc_score",
    "test:mse",
    "test:absolute_loss",
    "test:multiclass_accuracy",
    "test:multiclass_top_k_accuracy",
    "test:macro_f_beta",
    "test:macro_precision",
    "test:macro_recall",
    "validation:roc_auc_score",
    "train:roc_auc_score",
    "train:objective_loss",
    "validation:objective_loss",
    "validation:binary_classification_accuracy",
    "validation:binary_f_beta",
    "validation:precision",
    "validation:recall",
    "validation:mse",
    "validation:absolute_loss",
    "validation:multiclass_accuracy",
    "validation:multiclass_top_k_accuracy",
    "validation:macro_f_beta",
    "validation:macro_precision",
    "validation:macro_recall",
    "train:binary_classification_accuracy",
    "train:binary_f_beta",
    "train:precision",
    "train:recall",
    "train:mse",
    "train:absolute_loss",
    "train:multiclass_accuracy",
    "train:multiclass_top_k_accuracy",
    "train:macro_f_beta",
    "train:macro_precision",
    "train:macro_recall",
    NULL,
};

const lt_algo lt_algo__linear = {
    .name = "linear-learner",
    .image_names = linear_images,
    .hyperparameters = lt_linear__hps,
    .content_types = linear_content_types,
    .metrics = linear_metrics,
    .train = linear_train,
    .save = lt_linear__save,
    .load = lt_linear__load,
    .output_width = lt_linear__output_width,
    .predict = lt_linear__predict,
    .format_json = lt_linear__format_json,
    .free = lt_linear__model_free,
    .format_csv = lt_linear__format_csv,
};
