/* Private to the xgboost algorithm: gradient-boosted trees compatible with XGBoost 1.7's
 * "hist" tree method and its JSON model format. One file per job:
 *
 *   params.c     SageMaker XGBoost hyperparameters -> lt_xgb_params
 *   hist.c       quantile cuts per feature and the (rows, features) bin matrix
 *   grow.c       one tree from gradient histograms (depthwise or lossguide)
 *   objective.c  gradients, base margins and output transforms
 *   metric.c     evaluation metrics (rmse, logloss, auc, ...)
 *   model_json.c XGBoost 1.7's save_model("x.json") format, read and written
 *   predict.c    tree traversal over dense or CSR rows
 *   xgboost.c    the boosting loop and the lt_algo descriptor
 *
 * Shapes: gradients for one output group are (n_rows) pairs; margins are (n_rows, n_groups)
 * row-major where n_groups is num_class for multi:* objectives and 1 otherwise.
 */
#ifndef LT_XGBOOST_H
#define LT_XGBOOST_H

#include "algo/algo.h"

#include <stdint.h>

typedef enum {
    LT_XGB_OBJ_SQUAREDERROR = 0,
    LT_XGB_OBJ_REG_LOGISTIC,
    LT_XGB_OBJ_ABSOLUTEERROR,
    LT_XGB_OBJ_TWEEDIE,
    LT_XGB_OBJ_GAMMA,
    LT_XGB_OBJ_POISSON,
    LT_XGB_OBJ_BINARY_LOGISTIC,
    LT_XGB_OBJ_BINARY_LOGITRAW,
    LT_XGB_OBJ_BINARY_HINGE,
    LT_XGB_OBJ_MULTI_SOFTMAX,
    LT_XGB_OBJ_MULTI_SOFTPROB,
    LT_XGB_OBJ_COUNT
} lt_xgb_objective;

#define LT_XGB_MAX_METRICS 8

typedef struct lt_xgb_params {
    int num_round;
    double eta, gamma, min_child_weight, max_delta_step, subsample;
    double colsample_bytree, colsample_bylevel, colsample_bynode;
    double lambda, alpha, scale_pos_weight, tweedie_variance_power;
    int max_depth, max_leaves, max_bin, num_class, early_stopping_rounds;
    bool lossguide;
    uint64_t seed;
    double base_score;
    bool base_score_given; /* else the objective's default (0.5, or the median for MAE) */
    lt_xgb_objective objective;
    int n_metrics; /* at least 1: the objective's default when eval_metric is empty */
    char metrics[LT_XGB_MAX_METRICS][32]; /* "rmse", "error@0.7", "tweedie-nloglik@1.5" */
} lt_xgb_params;

/* ---- params.c ------------------------------------------------------------------------ */

extern const lt_hp_spec lt_xgb__hp_specs[];
/* Checks and parses hyperparameters.json's map. LT_EINVAL names the bad one. */
int lt_xgb__params_parse(const json_t *hp, lt_xgb_params *p, lt_err *err);
void lt_xgb__params_default(lt_xgb_params *p);
const char *lt_xgb__objective_name(lt_xgb_objective obj);
int lt_xgb__objective_from_name(const char *name, lt_xgb_objective *out);

/* ---- the model ------------------------------------------------------------------------ */

/* One regression tree in XGBoost's own array layout: node 0 is the root; a leaf has
 * left == -1 and its value (eta already applied) in split_cond. */
typedef struct lt_xgb_tree {
    int n_nodes;
    int32_t *left, *right, *parent; /* (n_nodes); the root's parent is INT32_MAX */
    uint32_t *split_index;          /* (n_nodes) feature */
    float *split_cond;              /* (n_nodes) threshold: x < cond goes left; leaf value */
    uint8_t *default_left;          /* (n_nodes) where a missing value goes */
    float *base_weight;             /* (n_nodes) node weight before eta */
    float *loss_chg;                /* (n_nodes) gain of the split, 0 for leaves */
    float *sum_hess;                /* (n_nodes) cover */
} lt_xgb_tree;

/* A node of a flattened tree: children by which side the row goes (a leaf has both
 * pointing to itself and its value in cond), the feature with default_left in the top
 * bit. */
typedef struct lt_xgb_flat_node {
    uint32_t child[2]; /* [0] left, [1] right: byte offsets from the first node of
                          lt_xgb_flat.nodes */
    uint32_t feature; /* | 0x80000000 when a missing value goes left */
    float cond;       /* threshold (x < cond goes left), or the leaf value */
} lt_xgb_flat_node;

/* Trees [t0, t1) of a model flattened for batch prediction (predict.c); lt_xgb__flat_new
 * gives NULL past 2^32 bytes of nodes. */
typedef struct lt_xgb_flat {
    int t0, t1;
    lt_xgb_flat_node *nodes; /* (offset[t1 - t0]) */
    size_t *offset;          /* (t1 - t0 + 1) first node of each tree */
    int *depth;              /* (t1 - t0) deepest leaf of each tree */
} lt_xgb_flat;

struct lt_algo_model {
    lt_xgb_objective objective;
    int num_feature;
    int num_class;    /* 0 unless multi:* */
    float base_score; /* as the user sees it (probability for logistic) */
    double scale_pos_weight, tweedie_variance_power, poisson_max_delta_step;
    int n_trees, cap_trees;
    lt_xgb_tree *trees; /* (n_trees) */
    int *tree_info;     /* (n_trees) output group of each tree */
    int best_iteration; /* -1 when training had no early stopping */
    double best_score;
    lt_xgb_flat *flat; /* all trees flattened once the model is complete; NULL before */
};
typedef struct lt_algo_model lt_xgb_model;

/* Output groups: num_class for multi:*, else 1. */
int lt_xgb__n_groups(const lt_xgb_model *m);
/* Allocates the arrays of a tree of n nodes (zeroed). */
void lt_xgb__tree_alloc(lt_xgb_tree *t, int n_nodes);
void lt_xgb__tree_free(lt_xgb_tree *t);
/* Appends a tree (taking ownership of its arrays) for output group `group`. */
void lt_xgb__model_add_tree(lt_xgb_model *m, lt_xgb_tree *t, int group);
void lt_xgb__model_free(lt_xgb_model *m);

/* ---- objective.c ---------------------------------------------------------------------- */

/* The margin the boosting starts from, from base_score (logit for logistic, log for the
 * log-link objectives, identity otherwise). */
float lt_xgb__base_margin(const lt_xgb_model *m);
/* LT_EINVAL naming the first row whose label is outside the objective's domain. */
int lt_xgb__labels_check(const lt_xgb_model *m, const float *labels, size_t n, lt_err *err);
/* Gradients of the loss for output group `group`: margins (n, n_groups), labels (n),
 * weights (n or NULL); writes grad and hess (n). */
void lt_xgb__gradients(const lt_xgb_model *m, const float *margins, size_t n, int group,
                       const float *labels, const float *weights, int threads, float *grad,
                       float *hess);
/* Turns one row's margins (n_groups) into what predict returns (lt_xgb__output_width
 * values), or with for_eval into what metrics read (multi:softmax gives probabilities
 * then, as XGBoost's EvalTransform). */
void lt_xgb__transform(const lt_xgb_model *m, const float *margins, bool for_eval, double *out);
size_t lt_xgb__output_width(const lt_xgb_model *m);
/* The default eval_metric of an objective ("rmse", "logloss", ...). */
const char *lt_xgb__default_metric(lt_xgb_objective obj);

/* ---- metric.c ------------------------------------------------------------------------- */

/* The eval metrics, as eval_metric names them (without the "@t" parameter), NULL-ended. */
extern const char *const lt_xgb__metric_names[];
/* Is `name` (optionally "@param") a metric we compute? */
bool lt_xgb__metric_known(const char *name);
/* Larger is better (auc, aucpr). */
bool lt_xgb__metric_maximize(const char *name);
/* Evaluates a metric over margins (n, n_groups) with the model's transform (threads for
 * the elementwise sums; auc and aucpr sort, which allocates 3 * n doubles). */
double lt_xgb__metric_eval(const char *name, const lt_xgb_model *m, const float *margins, size_t n,
                           const float *labels, const float *weights, int threads);
/* Area under the ROC curve of scores against 0/1 labels with weights (NULL: 1), ties
 * counted half (trapezoids). scratch holds 2 * n doubles. Returns NaN when a class is
 * absent. With pr, the area under the precision-recall curve instead (XGBoost's
 * interpolated aucpr). */
double lt_xgb__auc(const double *scores, const float *labels, const float *weights, size_t n,
                   bool pr, double *scratch);

/* ---- hist.c --------------------------------------------------------------------------- */

/* Quantile cuts and the binned training matrix. Feature f owns bins
 * [ptr[f], ptr[f+1]) of the global histogram; its local bin b holds values v with
 * cut[ptr[f]+b-1] <= v < cut[ptr[f]+b] (XGBoost's HistogramCuts layout: the last cut is
 * above the maximum). A missing value has local bin n_bins(f), a slot the split search
 * never scans, so histogram building needs no branch. */
typedef struct lt_xgb_hist {
    int n_features;
    size_t n_rows;
    uint32_t *ptr;   /* (n_features + 1) */
    float *cuts;     /* (ptr[n_features]) */
    float *min_vals; /* (n_features) below the smallest value, as XGBoost's MinValues */
    uint32_t *slot;  /* (n_features + 1) histogram slot offsets: ptr[f] + f (one missing
                        slot per feature) */
    /* (n_rows, n_features) local bins, row-major: bins8 when every feature's bins and
     * missing slot fit in a byte, else bins16; the other is NULL. */
    uint8_t *bins8;
    uint16_t *bins16;
    /* (n_features, n_rows) the same one-byte bins column-major, beside bins8 (NULL with
     * bins16): the row partition reads one feature of a node's rows, which a column
     * holds in n_rows bytes that stay in cache, where the rows are n_features apart. */
    uint8_t *cols8;
} lt_xgb_hist;

/* The local bin of row r, feature f. */
static inline uint32_t lt_xgb__hist_bin_at(const lt_xgb_hist *h, size_t r, int f)
{
    size_t at = r * (size_t)h->n_features + (size_t)f;
    return h->bins8 ? h->bins8[at] : h->bins16[at];
}

/* Builds cuts from the dense rows x (n_rows, n_cols) with at most max_bin bins per
 * feature (max_bin <= 65535), then bins every row (into bins8 when they fit a byte). Columns with
 * more than 2^18 rows are sketched from a fixed sample of 2^18 rows. */
int lt_xgb__hist_build(const float *x, size_t n_rows, int n_cols, int max_bin, int threads,
                       lt_xgb_hist *out, lt_err *err);
void lt_xgb__hist_free(lt_xgb_hist *h);
/* Bins one value of feature f (XGBoost's upper_bound search). */
uint16_t lt_xgb__hist_bin(const lt_xgb_hist *h, int f, float v);

/* ---- grow.c --------------------------------------------------------------------------- */

typedef struct lt_xgb_grow_params {
    double eta, lambda, alpha, gamma, min_child_weight, max_delta_step;
    int max_depth, max_leaves;
    bool lossguide;
    double colsample_bylevel, colsample_bynode;
    uint64_t seed; /* for by-level / by-node sampling */
} lt_xgb_grow_params;

/* A node split as the histogram search finds it. */
typedef struct lt_xgb_split {
    double loss_chg;
    int feature; /* -1: none found */
    int bin;     /* rows with local bin <= bin go left; -1 for "only missing left" */
    float cond;  /* the threshold XGBoost writes: x < cond goes left */
    bool default_left;
    double gl, hl, gr, hr; /* child sums */
} lt_xgb_split;

/* Best split of one node from its histogram (slot layout of lt_xgb_hist; pairs of
 * doubles g,h), given the node sums. features (n_feat) lists the candidate features.
 * The scalar reference the unit test checks gains against. */
void lt_xgb__split_find(const lt_xgb_hist *h, const lt_xgb_grow_params *p, const double *hist,
                        double g, double hs, const int *features, int n_feat, lt_xgb_split *best);
/* XGBoost's CalcGain and CalcWeight (param.h), exposed for tests. */
double lt_xgb__calc_gain(const lt_xgb_grow_params *p, double g, double h);
double lt_xgb__calc_weight(const lt_xgb_grow_params *p, double g, double h);

typedef struct lt_xgb_grower lt_xgb_grower;
/* Sizes the grower's buffers for n_rows of h's bins. */
lt_xgb_grower *lt_xgb__grower_new(const lt_xgb_hist *h, const lt_xgb_grow_params *p, int threads);
void lt_xgb__grower_free(lt_xgb_grower *g);
/* Grows one tree on gradients (n_rows), over the features marked in feat_mask
 * (n_features; colsample_bytree). Adds eta * leaf value to margins[row * stride + group]
 * for every training row (the prediction cache). LT_ELIMIT if node histograms would
 * pass the memory cap. */
int lt_xgb__grow(lt_xgb_grower *g, const float *grad, const float *hess, const uint8_t *feat_mask,
                 uint64_t round_seed, lt_xgb_tree *out, float *margins, int stride, int group,
                 lt_err *err);
/* Row indices of each leaf after the last grow (for MAE's leaf refresh): rows of leaf
 * node nid are rows[begin..end). Returns false if nid is not a leaf. */
bool lt_xgb__grower_leaf_rows(const lt_xgb_grower *g, int nid, const uint32_t **rows,
                              size_t *count);

/* ---- predict.c ------------------------------------------------------------------------ */

/* The leaf a dense row (n_features floats, NaN = missing) reaches. */
int lt_xgb__tree_leaf(const lt_xgb_tree *t, const float *row);
/* Flattens trees [t0, t1) of m. Returns a new value; free with lt_xgb__flat_free. */
lt_xgb_flat *lt_xgb__flat_new(const lt_xgb_model *m, int t0, int t1);
void lt_xgb__flat_free(lt_xgb_flat *f);
/* Adds trees [t0, t1) to margins (n_rows, n_groups) of the dense or CSR rows x. */
int lt_xgb__predict_margins(const lt_xgb_model *m, const lt_matrix *x, int t0, int t1, int threads,
                            float *margins, lt_err *err);

/* ---- model_json.c --------------------------------------------------------------------- */

/* Serialises to XGBoost 1.7's JSON model (save_model("x.json")). Returns a new string;
 * caller frees. */
char *lt_xgb__model_to_json(const lt_xgb_model *m);
/* Parses an XGBoost JSON model (1.x layout). LT_EINVAL naming the member that is wrong;
 * sizes are bounded by the document's own size. */
int lt_xgb__model_from_json(const char *text, size_t len, lt_xgb_model **out, lt_err *err);

/* ---- importance (xgboost.c) ----------------------------------------------------------- */

/* Per-feature split count, total gain and total cover over all trees; each (num_feature). */
void lt_xgb__importance(const lt_xgb_model *m, double *weight, double *gain, double *cover);

#endif
