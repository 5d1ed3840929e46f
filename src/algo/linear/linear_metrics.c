/* Linear Learner's losses, its evaluation metrics, and the choice of the binary decision
 * threshold by binary_classifier_model_selection_criteria.
 *
 * Losses at raw score s and label y (r = s - y): logistic log(1 + e^{-ts}) with t = 2y - 1;
 * hinge max(0, margin - ts); squared r^2; absolute |r|; eps_insensitive_squared
 * max(0, |r| - eps)^2; eps_insensitive_absolute max(0, |r| - eps); quantile q r- + (1-q) r+
 * (pinball, q = quantile); huber r^2/2 within huber_delta, delta (|r| - delta/2) beyond;
 * softmax cross-entropy. Thresholds: examples sorted by score, descending; each distinct
 * score is a cut (it and the scores above it predicted positive) beside "none positive";
 * the first cut (highest threshold) wins ties. The threshold lies halfway between the cut's
 * score and the next lower one (the lowest score - 1 when every example is positive). */
#include "algo/linear/linear.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double lt_linear__binary_score(lt_linear_loss loss, double s)
{
    if (loss != LT_LINEAR_LOGISTIC) return s;
    return s >= 0 ? 1.0 / (1.0 + exp(-s)) : exp(s) / (1.0 + exp(s));
}

double lt_linear__loss(lt_linear_loss loss, const lt_linear_params *p, double s, double y,
                       double *grad)
{
    double r = s - y, t = y > 0.5 ? 1.0 : -1.0, a = fabs(r), sg = r > 0 ? 1.0 : r < 0 ? -1.0 : 0;
    switch (loss) {
    case LT_LINEAR_LOGISTIC: { /* one exp and one log1p: this runs per row and model */
        double e = exp(-fabs(s)), sig = s >= 0 ? 1 / (1 + e) : e / (1 + e), z = t * s;
        *grad = sig - (y > 0.5);
        return log1p(e) + (z < 0 ? -z : 0);
    }
    case LT_LINEAR_HINGE:
        *grad = t * s < p->margin ? -t : 0;
        return t * s < p->margin ? p->margin - t * s : 0;
    case LT_LINEAR_SQUARED:
        *grad = 2 * r;
        return r * r;
    case LT_LINEAR_ABSOLUTE:
        *grad = sg;
        return a;
    case LT_LINEAR_EPS_SQUARED: {
        double e = a > p->loss_insensitivity ? a - p->loss_insensitivity : 0;
        *grad = 2 * e * sg;
        return e * e;
    }
    case LT_LINEAR_EPS_ABSOLUTE:
        *grad = a > p->loss_insensitivity ? sg : 0;
        return a > p->loss_insensitivity ? a - p->loss_insensitivity : 0;
    case LT_LINEAR_QUANTILE:
        /* under-prediction (r < 0) costs q, over-prediction 1 - q */
        *grad = r < 0 ? -p->quantile : r > 0 ? 1 - p->quantile : 0;
        return r < 0 ? -p->quantile * r : (1 - p->quantile) * r;
    case LT_LINEAR_HUBER:
        if (a <= p->huber_delta) {
            *grad = r;
            return 0.5 * r * r;
        }
        *grad = p->huber_delta * sg;
        return p->huber_delta * (a - 0.5 * p->huber_delta);
    case LT_LINEAR_SOFTMAX:
        break;
    }
    *grad = 0;
    return 0;
}

double lt_linear__softmax_loss(const float *s, int c, int y, float *grad)
{
    float mx = s[0];
    for (int j = 1; j < c; j++)
        if (s[j] > mx) mx = s[j];
    double z = 0;
    for (int j = 0; j < c; j++)
        z += exp((double)(s[j] - mx));
    for (int j = 0; j < c; j++)
        grad[j] = (float)(exp((double)(s[j] - mx)) / z) - (j == y);
    return log(z) + mx - s[y];
}

/* A float's bits mapped so that unsigned order is numeric order. */
static uint32_t order_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (u & 0x80000000u) ? ~u : u | 0x80000000u;
}
static float from_order_bits(uint32_t u)
{
    u = (u & 0x80000000u) ? u & 0x7fffffffu : ~u;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Sorts by score descending in four 8-bit LSD radix passes over the upper key half; the
 * label rides in the lowest bit. keys and tmp hold n each. */
static void sort_desc(float *scores, float *labels, size_t n, uint64_t *keys, uint64_t *tmp)
{
    for (size_t i = 0; i < n; i++)
        keys[i] = (uint64_t)(~order_bits(scores[i])) << 32 | (labels[i] > 0.5f);
    for (int shift = 32; shift < 64; shift += 8) {
        size_t count[257] = {0};
        for (size_t i = 0; i < n; i++)
            count[((keys[i] >> shift) & 0xff) + 1]++;
        for (int b = 0; b < 256; b++)
            count[b + 1] += count[b];
        for (size_t i = 0; i < n; i++)
            tmp[count[(keys[i] >> shift) & 0xff]++] = keys[i];
        uint64_t *t = keys;
        keys = tmp, tmp = t;
    }
    /* four passes: the sorted keys are back in the caller's `keys` buffer */
    for (size_t i = 0; i < n; i++) {
        scores[i] = from_order_bits(~(uint32_t)(keys[i] >> 32));
        labels[i] = (float)(keys[i] & 1);
    }
}

void lt_linear__threshold_select(float *scores, float *labels, size_t n, lt_linear_select select,
                                 const lt_linear_params *p, double loss_threshold,
                                 uint64_t *scratch, double *threshold, double *value)
{
    if (select == LT_LINEAR_SELECT_LOSS) {
        *threshold = loss_threshold;
        *value = lt_linear__binary_stats(scores, labels, n, loss_threshold, p->f_beta).accuracy;
        return;
    }
    sort_desc(scores, labels, n, scratch, scratch + n);
    double pos = 0;
    for (size_t i = 0; i < n; i++)
        pos += labels[i];
    double neg = (double)n - pos, b2 = p->f_beta * p->f_beta;
    /* "none positive" first */
    double best_t = n ? (double)scores[0] + 1.0 : loss_threshold, best = -1;
    if (select == LT_LINEAR_SELECT_ACCURACY)
        best = n ? neg / (double)n : 0;
    else if (select == LT_LINEAR_SELECT_F_BETA)
        best = 0;
    double tp = 0, fp = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && scores[j] == scores[i]) {
            tp += labels[j];
            fp += 1 - labels[j];
            j++;
        }
        double prec = tp / (tp + fp), rec = pos > 0 ? tp / pos : 0, v = -1;
        switch (select) {
        case LT_LINEAR_SELECT_ACCURACY:
            v = (tp + neg - fp) / (double)n;
            break;
        case LT_LINEAR_SELECT_F_BETA:
            v = (1 + b2) * tp / ((1 + b2) * tp + b2 * (pos - tp) + fp);
            break;
        case LT_LINEAR_SELECT_PRECISION_AT_RECALL:
            v = pos > 0 && rec >= p->target_recall ? prec : -1;
            break;
        case LT_LINEAR_SELECT_RECALL_AT_PRECISION:
            v = prec >= p->target_precision ? rec : -1;
            break;
        case LT_LINEAR_SELECT_LOSS:
            break;
        }
        /* halfway to the next lower score, so that a score recomputed with another
         * rounding still lands on the same side */
        if (v > best)
            best = v, best_t = j < n ? 0.5 * ((double)scores[i] + scores[j]) : scores[i] - 1.0;
        i = j;
    }
    *threshold = best_t;
    *value = best;
}

lt_linear_binary_stats lt_linear__binary_stats(const float *scores, const float *labels, size_t n,
                                               double threshold, double beta)
{
    double tp = 0, fp = 0, fn = 0, tn = 0;
    for (size_t i = 0; i < n; i++) {
        bool y = labels[i] > 0.5f, yhat = scores[i] >= threshold;
        tp += y && yhat, fp += !y && yhat, fn += y && !yhat, tn += !y && !yhat;
    }
    double b2 = beta * beta;
    lt_linear_binary_stats s = {
        .accuracy = n ? (tp + tn) / (double)n : 0,
        .precision = tp + fp > 0 ? tp / (tp + fp) : 0,
        .recall = tp + fn > 0 ? tp / (tp + fn) : 0,
        .f_beta = tp > 0 ? (1 + b2) * tp / ((1 + b2) * tp + b2 * fn + fp) : 0,
    };
    return s;
}

lt_linear_multiclass_stats lt_linear__multiclass_stats(const double *probs, size_t stride,
                                                       const float *labels, size_t n, int c,
                                                       int top_k, double beta)
{
    double *tp = lt_xcalloc((size_t)c * 3, sizeof(double)), *pred = tp + c, *actual = tp + 2 * c;
    double correct = 0, in_top = 0;
    for (size_t i = 0; i < n; i++) {
        const double *p = probs + i * stride;
        int y = (int)labels[i], best = 0, above = 0;
        for (int j = 1; j < c; j++)
            if (p[j] > p[best]) best = j;
        for (int j = 0; j < c; j++) /* classes ranked above y (ties to the smaller index) */
            above += p[j] > p[y] || (p[j] == p[y] && j < y);
        correct += best == y, in_top += above < top_k;
        pred[best]++, actual[y]++, tp[y] += best == y;
    }
    double sp = 0, sr = 0, sf = 0, b2 = beta * beta;
    for (int j = 0; j < c; j++) {
        double pj = pred[j] > 0 ? tp[j] / pred[j] : 0, rj = actual[j] > 0 ? tp[j] / actual[j] : 0;
        sp += pj, sr += rj;
        sf += pj + rj > 0 ? (1 + b2) * pj * rj / (b2 * pj + rj) : 0;
    }
    free(tp);
    lt_linear_multiclass_stats s = {
        .accuracy = n ? correct / (double)n : 0,
        .top_k_accuracy = n ? in_top / (double)n : 0,
        .macro_precision = sp / c,
        .macro_recall = sr / c,
        .macro_f_beta = sf / c,
    };
    return s;
}
