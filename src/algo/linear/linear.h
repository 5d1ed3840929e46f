/* Private to linear (SageMaker's Linear Learner): the parsed hyperparameters
 * (linear_params.c), the parallel SGD trainer (linear_train.c), the losses and the
 * evaluation metrics with the binary threshold selection (linear_metrics.c), and the model
 * file, prediction and records (linear_model.c); linear.c ties them into the lt_algo.
 *
 * Model space: a model is trained on normalised features x' = (x - x_mean) / x_scale and,
 * for regressors, a normalised label y' = (y - y_mean) / y_scale; the model file keeps the
 * weights in that space beside the statistics, and load folds them into raw-space weights
 * so that prediction is one sgemm. */
#ifndef LT_LINEAR_H
#define LT_LINEAR_H

#include "algo/algo_internal.h"

typedef enum {
    LT_LINEAR_BINARY = 0,
    LT_LINEAR_MULTICLASS,
    LT_LINEAR_REGRESSOR,
} lt_linear_kind;

typedef enum {
    LT_LINEAR_LOGISTIC = 0,
    LT_LINEAR_HINGE,
    LT_LINEAR_SQUARED,
    LT_LINEAR_ABSOLUTE,
    LT_LINEAR_EPS_SQUARED,
    LT_LINEAR_EPS_ABSOLUTE,
    LT_LINEAR_QUANTILE,
    LT_LINEAR_HUBER,
    LT_LINEAR_SOFTMAX,
} lt_linear_loss;

typedef enum { LT_LINEAR_SGD = 0, LT_LINEAR_ADAM, LT_LINEAR_RMSPROP } lt_linear_optimizer;

typedef enum {
    LT_LINEAR_SELECT_ACCURACY = 0,
    LT_LINEAR_SELECT_F_BETA,
    LT_LINEAR_SELECT_PRECISION_AT_RECALL,
    LT_LINEAR_SELECT_RECALL_AT_PRECISION,
    LT_LINEAR_SELECT_LOSS,
} lt_linear_select;

/* Everything hyperparameters.json can say, resolved ("auto" decided, except the
 * per-model grids, which lr/wd/l1 < 0 leave to the trainer). */
typedef struct lt_linear_params {
    lt_linear_kind kind;
    lt_linear_loss loss;
    lt_linear_optimizer optimizer;
    lt_linear_select select;
    int feature_dim; /* 0: auto (the data's columns) */
    int num_classes; /* 1 for binary and regression */
    int num_models;
    int epochs;
    size_t mini_batch_size;
    double learning_rate; /* < 0: auto (a grid over the models) */
    double wd, l1;        /* < 0: auto (a grid over the models) */
    double beta_1, beta_2, eps, momentum;
    double bias_lr_mult, bias_wd_mult;
    double lr_step_factor, lr_min; /* multiply every lr_step updates, not below lr_min */
    int lr_step;                   /* 0: constant rate */
    bool use_bias, center_x, scale_x, center_y, scale_y;
    int early_stopping_patience;
    double early_stopping_tolerance;
    double target_recall, target_precision, f_beta;
    double positive_weight; /* < 0: balanced */
    bool balance_multiclass;
    double margin, quantile, loss_insensitivity, huber_delta;
    int accuracy_top_k;
    size_t num_point_for_scaler, num_calibration_samples;
    bool init_normal;
    double init_scale, init_sigma, init_bias;
    uint64_t seed;
    size_t copy_max_bytes; /* not a hyperparameter: the largest normalised, shuffled copy of
                              the train data the trainer makes (4 GiB); tests set 0 */
} lt_linear_params;

extern const lt_hp_spec lt_linear__hps[];
/* Checks and resolves the hyperparameters; LT_EINVAL naming the member. */
int lt_linear__params_parse(const json_t *hp, lt_linear_params *p, lt_err *err);

struct lt_algo_model {
    lt_linear_kind kind;
    lt_linear_loss loss;
    int dim;
    int n_out;      /* 1, or num_classes for multiclass */
    float *weights; /* (n_out, dim), normalised space */
    float *bias;    /* (n_out) */
    float *x_mean;  /* (dim) */
    float *x_scale; /* (dim), never 0 */
    double y_mean, y_scale;
    double threshold; /* binary: predicted_label = score >= threshold */
    /* derived at train and load: raw-space weights */
    float *w_raw; /* (n_out, dim) */
    float *b_raw; /* (n_out) */
};

lt_algo_model *lt_linear__model_new(lt_linear_kind kind, lt_linear_loss loss, int dim, int n_out);
/* Fills w_raw and b_raw from the normalised weights and statistics. */
void lt_linear__model_fold(lt_algo_model *m);
void lt_linear__model_free(lt_algo_model *m);
int lt_linear__save(const lt_algo_model *m, const char *dir, lt_err *err);
int lt_linear__load(const char *dir, lt_algo_model **out, lt_err *err);
size_t lt_linear__output_width(const lt_algo_model *m);
/* Each row: regressor (score); binary (predicted_label, score); multiclass
 * (predicted_label, p_0 .. p_{C-1}). */
int lt_linear__predict(const lt_algo_model *m, const lt_matrix *x, int threads, double *out,
                       lt_err *err);
int lt_linear__format_json(const lt_algo_model *m, const double *row, lt_buf *out, lt_err *err);
int lt_linear__format_csv(const lt_algo_model *m, const double *row, lt_buf *out, lt_err *err);

/* ---- training (linear_train.c) ---- */

/* Trains num_models models on the same mini-batches and keeps the best on the validation
 * data (on train without it). Reports train:objective_loss per epoch and the final
 * metrics through args->on_metric. */
int lt_linear__train(const lt_linear_params *p, const lt_algo_train_args *args, lt_algo_model **out,
                     lt_err *err);

/* ---- losses and metrics (linear_metrics.c) ---- */

/* One example's loss at raw score s (label y, normalised for regression), and its
 * derivative d loss / d s in *grad. Not for softmax. */
double lt_linear__loss(lt_linear_loss loss, const lt_linear_params *p, double s, double y,
                       double *grad);
/* Softmax cross-entropy over scores s (c): writes p - onehot(y) into grad (c), returns the
 * loss. */
double lt_linear__softmax_loss(const float *s, int c, int y, float *grad);
/* The binary score SageMaker reports from a raw score: the sigmoid for logistic loss, the
 * raw score otherwise. */
double lt_linear__binary_score(lt_linear_loss loss, double s);

/* Sorts n scores descending (labels follow) and chooses the threshold for a criterion:
 * predicted positive is score >= threshold, which lies halfway between two distinct scores. Writes
 * the threshold and the criterion's value (accuracy, F-beta, precision at the target recall, recall
 * at the target precision; -1 when no threshold reaches the target). scores and labels (0/1) are
 * reordered in place; scratch holds 2n. LOSS chooses `loss_threshold`, scored by accuracy, and
 * sorts nothing. */
void lt_linear__threshold_select(float *scores, float *labels, size_t n, lt_linear_select select,
                                 const lt_linear_params *p, double loss_threshold,
                                 uint64_t *scratch, double *threshold, double *value);

typedef struct lt_linear_binary_stats {
    double accuracy, precision, recall, f_beta;
} lt_linear_binary_stats;
lt_linear_binary_stats lt_linear__binary_stats(const float *scores, const float *labels, size_t n,
                                               double threshold, double beta);

typedef struct lt_linear_multiclass_stats {
    double accuracy, top_k_accuracy, macro_precision, macro_recall, macro_f_beta;
} lt_linear_multiclass_stats;
/* Row i's c probabilities at probs + i * stride; labels in 0..c-1; a class never
 * predicted has precision 0. */
lt_linear_multiclass_stats lt_linear__multiclass_stats(const double *probs, size_t stride,
                                                       const float *labels, size_t n, int c,
                                                       int top_k, double beta);

#endif
