/* Objectives: the gradient and hessian of each loss, the margin base_score maps to, and
 * the transform from margins to predictions. Formulas and constants follow XGBoost 1.7
 * (src/objective/regression_loss.h, regression_obj.cu, multiclass_obj.cu, hinge.cu) so
 * that a model trained here and one trained there agree: float arithmetic, the 1e-16
 * hessian floors, scale_pos_weight applied to label-1 rows of every regression loss, and
 * count:poisson's own max_delta_step of 0.7 in its hessian.
 *
 * binary:logitraw starts from base_score itself as a margin, as XGBoost 1.7 does (its
 * LogisticRaw keeps the identity ProbToMargin).
 *
 * reg:absoluteerror uses sign(pred - y) with unit hessian; the boosting loop then resets
 * each leaf to eta x the weighted median of its residuals, as XGBoost 1.7's
 * UpdateTreeLeaf does (the median here is the lower weighted median, which can differ
 * from XGBoost's interpolated quantile on even counts). */
#include "algo/xgboost/xgboost.h"

#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>

int lt_xgb__n_groups(const lt_xgb_model *m)
{
    return m->num_class >= 2 ? m->num_class : 1;
}

size_t lt_xgb__output_width(const lt_xgb_model *m)
{
    return m->objective == LT_XGB_OBJ_MULTI_SOFTPROB ? (size_t)m->num_class : 1;
}

const char *lt_xgb__default_metric(lt_xgb_objective obj)
{
    switch (obj) {
    case LT_XGB_OBJ_BINARY_LOGISTIC:
    case LT_XGB_OBJ_BINARY_LOGITRAW:
        return "logloss";
    case LT_XGB_OBJ_BINARY_HINGE:
        return "error";
    case LT_XGB_OBJ_MULTI_SOFTMAX:
    case LT_XGB_OBJ_MULTI_SOFTPROB:
        return "mlogloss";
    case LT_XGB_OBJ_POISSON:
        return "poisson-nloglik";
    case LT_XGB_OBJ_GAMMA:
        return "gamma-nloglik";
    case LT_XGB_OBJ_TWEEDIE:
        return "tweedie-nloglik";
    case LT_XGB_OBJ_ABSOLUTEERROR:
        return "mae";
    default:
        return "rmse";
    }
}

static float sigmoidf(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

float lt_xgb__base_margin(const lt_xgb_model *m)
{
    float b = m->base_score;
    switch (m->objective) {
    case LT_XGB_OBJ_REG_LOGISTIC:
    case LT_XGB_OBJ_BINARY_LOGISTIC:
        return -logf(1.0f / b - 1.0f);
    case LT_XGB_OBJ_POISSON:
    case LT_XGB_OBJ_GAMMA:
    case LT_XGB_OBJ_TWEEDIE:
        return logf(b);
    default:
        return b;
    }
}

int lt_xgb__labels_check(const lt_xgb_model *m, const float *labels, size_t n, lt_err *err)
{
    for (size_t i = 0; i < n; i++) {
        float y = labels[i];
        const char *why = NULL;
        if (!isfinite(y))
            why = "is missing or not finite";
        else
            switch (m->objective) {
            case LT_XGB_OBJ_REG_LOGISTIC:
            case LT_XGB_OBJ_BINARY_LOGISTIC:
            case LT_XGB_OBJ_BINARY_LOGITRAW:
            case LT_XGB_OBJ_BINARY_HINGE:
                if (y < 0 || y > 1) why = "must be in [0, 1] for a logistic or hinge objective";
                break;
            case LT_XGB_OBJ_POISSON:
            case LT_XGB_OBJ_TWEEDIE:
                if (y < 0) why = "must be >= 0 for count:poisson and reg:tweedie";
                break;
            case LT_XGB_OBJ_GAMMA:
                if (y <= 0) why = "must be > 0 for reg:gamma";
                break;
            case LT_XGB_OBJ_MULTI_SOFTMAX:
            case LT_XGB_OBJ_MULTI_SOFTPROB:
                if (y < 0 || y >= (float)m->num_class || y != floorf(y))
                    why = "must be a class index in [0, num_class)";
                break;
            default:
                break;
            }
        if (why)
            return lt_err_set(err, LT_EINVAL, "xgboost: label %g of training row %zu %s", (double)y,
                              i + 1, why);
    }
    return 0;
}

/* Numerically stable softmax in float, as XGBoost's common::Softmax. */
static void softmaxf(const float *in, int k, float *out)
{
    float wmax = in[0];
    for (int j = 1; j < k; j++)
        wmax = fmaxf(wmax, in[j]);
    float sum = 0;
    for (int j = 0; j < k; j++)
        sum += (out[j] = expf(in[j] - wmax));
    for (int j = 0; j < k; j++)
        out[j] /= sum;
}

void lt_xgb__gradients(const lt_xgb_model *m, const float *margins, size_t n, int group,
                       const float *labels, const float *weights, int threads, float *grad,
                       float *hess)
{
    int k = lt_xgb__n_groups(m);
    const lt_xgb_objective obj = m->objective;
    const float spw = (float)m->scale_pos_weight, rho = (float)m->tweedie_variance_power;
    const float pmds = (float)m->poisson_max_delta_step;
#pragma omp parallel for num_threads(threads) schedule(static) if (n > 16384)
    for (size_t i = 0; i < n; i++) {
        float w = weights ? weights[i] : 1.0f, y = labels[i];
        float p = margins[i * (size_t)k + (size_t)group];
        float g = 0, h = 0;
        switch (obj) {
        case LT_XGB_OBJ_SQUAREDERROR:
            if (y == 1.0f) w *= spw;
            g = p - y, h = 1.0f;
            break;
        case LT_XGB_OBJ_REG_LOGISTIC:
        case LT_XGB_OBJ_BINARY_LOGISTIC:
        case LT_XGB_OBJ_BINARY_LOGITRAW: {
            if (y == 1.0f) w *= spw;
            float s = sigmoidf(p);
            g = s - y, h = fmaxf(s * (1.0f - s), 1e-16f);
            break;
        }
        case LT_XGB_OBJ_ABSOLUTEERROR:
            g = (float)((p > y) - (p < y)), h = 1.0f;
            break;
        case LT_XGB_OBJ_POISSON:
            g = expf(p) - y, h = expf(p + pmds);
            break;
        case LT_XGB_OBJ_GAMMA:
            g = 1.0f - y / expf(p), h = y / expf(p);
            break;
        case LT_XGB_OBJ_TWEEDIE: {
            float a = expf((1.0f - rho) * p), b = expf((2.0f - rho) * p);
            g = -y * a + b, h = -y * (1.0f - rho) * a + (2.0f - rho) * b;
            break;
        }
        case LT_XGB_OBJ_BINARY_HINGE: {
            float yy = y * 2.0f - 1.0f;
            if (p * yy < 1.0f)
                g = -yy, h = 1.0f;
            else
                g = 0.0f, h = FLT_MIN;
            break;
        }
        case LT_XGB_OBJ_MULTI_SOFTMAX:
        case LT_XGB_OBJ_MULTI_SOFTPROB: {
            /* The softmax of the row, computed for each group: k is small and this keeps
             * the loop free of per-row scratch. */
            const float *row = margins + i * (size_t)k;
            float wmax = row[0];
            for (int j = 1; j < k; j++)
                wmax = fmaxf(wmax, row[j]);
            float sum = 0;
            for (int j = 0; j < k; j++)
                sum += expf(row[j] - wmax);
            float q = expf(row[group] - wmax) / sum;
            h = fmaxf(2.0f * q * (1.0f - q) * w, 1e-16f);
            g = ((int)y == group ? q - 1.0f : q) * w;
            grad[i] = g, hess[i] = h;
            continue;
        }
        default:
            break;
        }
        grad[i] = g * w, hess[i] = h * w;
    }
}

void lt_xgb__transform(const lt_xgb_model *m, const float *margins, bool for_eval, double *out)
{
    switch (m->objective) {
    case LT_XGB_OBJ_REG_LOGISTIC:
    case LT_XGB_OBJ_BINARY_LOGISTIC:
        out[0] = sigmoidf(margins[0]);
        return;
    case LT_XGB_OBJ_POISSON:
    case LT_XGB_OBJ_GAMMA:
    case LT_XGB_OBJ_TWEEDIE:
        out[0] = expf(margins[0]);
        return;
    case LT_XGB_OBJ_BINARY_HINGE:
        out[0] = margins[0] > 0.0f ? 1.0 : 0.0;
        return;
    case LT_XGB_OBJ_MULTI_SOFTMAX:
    case LT_XGB_OBJ_MULTI_SOFTPROB: {
        int k = m->num_class;
        float buf[256], *p = buf;
        float *heap = k > 256 ? lt_xmalloc(sizeof(float) * (size_t)k) : NULL;
        if (heap) p = heap;
        if (m->objective == LT_XGB_OBJ_MULTI_SOFTMAX && !for_eval) {
            int best = 0;
            for (int j = 1; j < k; j++)
                if (margins[j] > margins[best]) best = j;
            out[0] = best;
        } else {
            softmaxf(margins, k, p);
            for (int j = 0; j < k; j++)
                out[j] = p[j];
        }
        free(heap);
        return;
    }
    default:
        out[0] = margins[0];
        return;
    }
}
