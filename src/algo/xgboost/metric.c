/* Evaluation metrics as XGBoost 1.7 defines them (src/metric/elementwise_metric.cu,
 * multiclass_metric.cu, auc.cc): weighted means over rows of the transformed predictions,
 * with the same 1e-16 clamps. auc is the trapezoidal ROC area with tied scores counted
 * half; multi-class auc is one-vs-rest averaged by class weight, as XGBoost's MultiClassOVR.
 * aucpr uses Davis & Goadrich's interpolation between distinct thresholds (XGBoost's
 * CalcDeltaPRAUC). */
#include "algo/xgboost/xgboost.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const lt_xgb__metric_names[] = {"rmse",
                                    "mae",
                                    "logloss",
                                    "error",
                                    "auc",
                                    "aucpr",
                                    "merror",
                                    "mlogloss",
                                    "poisson-nloglik",
                                    "gamma-nloglik",
                                    "tweedie-nloglik",
                                    NULL};

/* Splits "error@0.7" into base "error" and its parameter; returns the base length. */
static size_t base_len(const char *name, double *param, bool *has_param)
{
    const char *at = strchr(name, '@');
    *has_param = false;
    if (at) {
        char *end = NULL;
        double v = strtod(at + 1, &end);
        if (end != at + 1 && *end == '\0' && isfinite(v))
            *param = v, *has_param = true;
        else
            *param = NAN, *has_param = true;
    }
    return at ? (size_t)(at - name) : strlen(name);
}

static bool is(const char *name, size_t len, const char *base)
{
    return strlen(base) == len && strncmp(name, base, len) == 0;
}

bool lt_xgb__metric_known(const char *name)
{
    double param;
    bool has;
    size_t len = base_len(name, &param, &has);
    if (has && !(isfinite(param) && (is(name, len, "error") || is(name, len, "tweedie-nloglik"))))
        return false;
    if (has && is(name, len, "tweedie-nloglik") && !(param > 1 && param < 2)) return false;
    for (const char *const *k = lt_xgb__metric_names; *k; k++)
        if (is(name, len, *k)) return true;
    return false;
}

bool lt_xgb__metric_maximize(const char *name)
{
    return strncmp(name, "auc", 3) == 0;
}

/* A row in ranking order and its sort key (equal keys, equal scores). */
typedef struct ranked {
    uint32_t key, row;
} ranked;

/* Sorts rows by score, highest first, with an LSD radix sort on the scores as floats
 * (order-preserving 32-bit keys, four byte passes, a pass skipped when every key shares
 * its byte): qsort with a comparator took 0.1 s for a million rows, every round of a
 * training that logs auc. Scores are floats in practice (transforms of float margins);
 * false when one is not (or is NaN), and the caller sorts by comparison. a holds the
 * rows (key unset) and b is scratch, n each; the result is in *out (a or b). */
static bool radix_rank(const double *scores, size_t n, ranked *a, ranked *b, ranked **out)
{
    size_t count[4][256];
    memset(count, 0, sizeof count);
    for (size_t i = 0; i < n; i++) {
        float f = (float)scores[i];
        if ((double)f != scores[i]) return false; /* not a float, or NaN */
        uint32_t u;
        if (f == 0.0f) f = 0.0f; /* -0 ties with +0 */
        memcpy(&u, &f, sizeof u);
        u = (u & 0x80000000u) ? ~u : (u | 0x80000000u); /* ascending as unsigned */
        u = ~u;                                          /* highest score first */
        a[i].key = u;
        for (int d = 0; d < 4; d++)
            count[d][(u >> (8 * d)) & 0xFF]++;
    }
    for (int d = 0; d < 4; d++) {
        if (n == 0 || count[d][(a[0].key >> (8 * d)) & 0xFF] == n) continue;
        size_t at[256], sum = 0;
        for (int v = 0; v < 256; v++)
            at[v] = sum, sum += count[d][v];
        for (size_t i = 0; i < n; i++)
            b[at[(a[i].key >> (8 * d)) & 0xFF]++] = a[i];
        ranked *t = a;
        a = b, b = t;
    }
    *out = a;
    return true;
}

static _Thread_local const double *sort_scores;
static int by_score_desc(const void *x, const void *y)
{
    double p = sort_scores[((const ranked *)x)->row], q = sort_scores[((const ranked *)y)->row];
    return (p < q) - (p > q);
}

/* The comparison sort, for scores that are not all floats: then keys number the distinct
 * scores in order, so the sweep groups ties the same way. */
static void comparison_rank(const double *scores, size_t n, ranked *a)
{
    sort_scores = scores;
    qsort(a, n, sizeof *a, by_score_desc);
    uint32_t key = 0;
    for (size_t i = 0; i < n; i++) {
        if (i && scores[a[i].row] != scores[a[i - 1].row]) key++;
        a[i].key = key;
    }
}

static double pr_delta(double fp_prev, double fp, double tp_prev, double tp, double total_pos)
{
    double pr_prev = tp_prev / total_pos, pr = tp / total_pos, a = 1, b = 0;
    if (tp != tp_prev) {
        double h = (fp - fp_prev) / (tp - tp_prev);
        a = 1.0 + h;
        b = (fp_prev - h * tp_prev) / total_pos;
    }
    if (b != 0.0) return (pr - pr_prev - b / a * (log(a * pr + b) - log(a * pr_prev + b))) / a;
    return (pr - pr_prev) / a;
}

double lt_xgb__auc(const double *scores, const float *labels, const float *weights, size_t n,
                   bool pr, double *scratch)
{
    ranked *a = (ranked *)scratch, *b = a + n, *e = a; /* 2n doubles: two arrays of 8 bytes */
    double pos = 0, neg = 0;
    for (size_t i = 0; i < n; i++) {
        double w = weights ? weights[i] : 1.0;
        a[i].row = (uint32_t)i;
        pos += w * labels[i];
        neg += w * (1.0 - labels[i]);
    }
    if (pos <= 0 || neg <= 0) return NAN;
    if (n > UINT32_MAX || !radix_rank(scores, n, a, b, &e)) comparison_rank(scores, n, e = a);
    double tp = 0, fp = 0, area = 0;
    for (size_t i = 0; i < n;) {
        double tp0 = tp, fp0 = fp;
        size_t j = i;
        for (; j < n && e[j].key == e[i].key; j++) {
            uint32_t r = e[j].row;
            double w = weights ? weights[r] : 1.0;
            tp += w * labels[r];
            fp += w * (1.0 - labels[r]);
        }
        if (pr) {
            area += pr_delta(fp0, fp, tp0, tp, pos);
        } else {
            area += (fp - fp0) * (tp0 + (tp - tp0) / 2);
        }
        i = j;
    }
    return pr ? area : area / (pos * neg);
}

/* One-vs-rest auc / aucpr for multi-class models, weighted by each class's weight. */
static double auc_of(const lt_xgb_model *m, const float *margins, size_t n, const float *labels,
                     const float *weights, bool pr, int threads)
{
    int k = lt_xgb__n_groups(m);
    double *scores = lt_xmalloc(sizeof(double) * (n + 1) * 3);
    double *scratch = scores + n + 1; /* 2 (n + 1) for lt_xgb__auc */
    double result = NAN;
    if (k == 1) {
#pragma omp parallel for num_threads(threads) schedule(static) if (n > 16384)
        for (size_t i = 0; i < n; i++)
            lt_xgb__transform(m, margins + i, true, &scores[i]);
        result = lt_xgb__auc(scores, labels, weights, n, pr, scratch);
    } else {
        float *bin = lt_xmalloc(sizeof(float) * (n + 1));
        double *row = lt_xmalloc(sizeof(double) * (size_t)k);
        double total = 0, wsum = 0;
        for (int c = 0; c < k; c++) {
            double cw = 0;
            for (size_t i = 0; i < n; i++) {
                lt_xgb__transform(m, margins + i * (size_t)k, true, row);
                scores[i] = row[c];
                bin[i] = (int)labels[i] == c ? 1.0f : 0.0f;
                cw += (weights ? weights[i] : 1.0) * bin[i];
            }
            double a = lt_xgb__auc(scores, bin, weights, n, pr, scratch);
            if (isnan(a)) continue;
            total += a * cw, wsum += cw;
        }
        result = wsum > 0 ? total / wsum : NAN;
        free(bin);
        free(row);
    }
    free(scores);
    return result;
}

double lt_xgb__metric_eval(const char *name, const lt_xgb_model *m, const float *margins, size_t n,
                           const float *labels, const float *weights, int threads)
{
    double param = NAN;
    bool has;
    size_t len = base_len(name, &param, &has);
    if (is(name, len, "auc")) return auc_of(m, margins, n, labels, weights, false, threads);
    if (is(name, len, "aucpr")) return auc_of(m, margins, n, labels, weights, true, threads);
    enum { RMSE, MAE, LOGLOSS, ERROR, MERROR, MLOGLOSS, POISSON, GAMMA, TWEEDIE } kind = RMSE;
    if (is(name, len, "mae"))
        kind = MAE;
    else if (is(name, len, "logloss"))
        kind = LOGLOSS;
    else if (is(name, len, "error"))
        kind = ERROR;
    else if (is(name, len, "merror"))
        kind = MERROR;
    else if (is(name, len, "mlogloss"))
        kind = MLOGLOSS;
    else if (is(name, len, "poisson-nloglik"))
        kind = POISSON;
    else if (is(name, len, "gamma-nloglik"))
        kind = GAMMA;
    else if (is(name, len, "tweedie-nloglik"))
        kind = TWEEDIE;
    double threshold = has ? param : 0.5, rho = has ? param : 1.5;
    int k = lt_xgb__n_groups(m);
    /* Partial sums over fixed chunks, added in chunk order, so the value (and so early
     * stopping) does not depend on the thread count. */
    enum { CHUNK = 16384 };
    size_t n_chunks = n / CHUNK + 1;
    double *part = lt_xcalloc(2 * n_chunks, sizeof(double));
#pragma omp parallel num_threads(threads) if (n > CHUNK)
    {
        double row[256];
        double *buf = k > 256 ? lt_xmalloc(sizeof(double) * (size_t)k) : row;
#pragma omp for schedule(static)
        for (size_t c = 0; c < n_chunks; c++) {
            size_t end = (c + 1) * CHUNK < n ? (c + 1) * CHUNK : n;
            double sum = 0, wsum = 0;
            for (size_t i = c * CHUNK; i < end; i++) {
                double w = weights ? weights[i] : 1.0, y = labels[i], v = 0;
                lt_xgb__transform(m, margins + i * (size_t)k, true, buf);
                double p = buf[0];
                const double eps = 1e-16;
                switch (kind) {
                case RMSE:
                    v = (y - p) * (y - p);
                    break;
                case MAE:
                    v = fabs(y - p);
                    break;
                case LOGLOSS: {
                    /* in float, as XGBoost 1.7's EvalRowLogLoss (bst_float, std::log); the
                     * term an exact 0/1 label zeroes is skipped (the same value) */
                    const float pf = (float)p, yf = (float)y, e = 1e-16f;
                    if (pf < e)
                        v = -yf * logf(e) - (1 - yf) * logf(1 - e);
                    else if (1 - pf < e)
                        v = -yf * logf(1 - e) - (1 - yf) * logf(e);
                    else if (yf == 1)
                        v = -logf(pf);
                    else if (yf == 0)
                        v = -logf(1 - pf);
                    else
                        v = -yf * logf(pf) - (1 - yf) * logf(1 - pf);
                    break;
                }
                case ERROR:
                    v = p > threshold ? 1 - y : y;
                    break;
                case MERROR:
                case MLOGLOSS: {
                    int label = (int)y, best = 0;
                    if (k == 1) { /* a single-output model: the transform is the class */
                        v = kind == MERROR ? (double)((int)p != label) : NAN;
                        break;
                    }
                    for (int j = 1; j < k; j++)
                        if (buf[j] > buf[best]) best = j;
                    if (kind == MERROR)
                        v = best != label;
                    else
                        v = label >= 0 && label < k ? -log(fmax(buf[label], eps)) : -log(eps);
                    break;
                }
                case POISSON:
                    p = fmax(p, eps);
                    int sign; /* lgamma_r: lgamma writes the global signgam */
                    v = lgamma_r(y + 1.0, &sign) + p - log(p) * y;
                    break;
                case GAMMA: {
                    /* psi = 1: the lgamma and log(y) terms of XGBoost's formula cancel */
                    double theta = -1.0 / p, b = -log(-theta);
                    v = -(y * theta - b);
                    break;
                }
                case TWEEDIE: {
                    double a = y * exp((1 - rho) * log(p)) / (1 - rho);
                    double b = exp((2 - rho) * log(p)) / (2 - rho);
                    v = -a + b;
                    break;
                }
                }
                sum += v * w;
                wsum += w;
            }
            part[2 * c] = sum, part[2 * c + 1] = wsum;
        }
        if (buf != row) free(buf);
    }
    double sum = 0, wsum = 0;
    for (size_t c = 0; c < n_chunks; c++)
        sum += part[2 * c], wsum += part[2 * c + 1];
    free(part);
    double mean = wsum > 0 ? sum / wsum : NAN;
    return kind == RMSE ? sqrt(mean) : mean;
}
