/* Search spaces: SageMaker's ParameterRanges (the CreateHyperParameterTuningJob API
 * reference: IntegerParameterRanges, ContinuousParameterRanges, CategoricalParameterRanges;
 * at most 30 of each, 1..30 categorical values, bounds as strings, ScalingType Auto |
 * Linear | Logarithmic | ReverseLogarithmic, the last for continuous ranges within [0, 1)).
 * AutoParameters (Autotune) is not implemented and is refused. */
#include "tune/tune_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RANGES 30
#define MAX_VALUES 30

static const char *kind_member[] = {"IntegerParameterRanges", "ContinuousParameterRanges",
                                    "CategoricalParameterRanges"};

static int parse_bound(const json_t *range, const char *key, lt_tune_kind kind, const char *where,
                       double *out, lt_err *err)
{
    const json_t *v = json_object_get(range, key);
    if (!v) return lt_err_set(err, LT_EINVAL, "%s: %s is missing", where, key);
    double x;
    if (json_is_number(v)) {
        x = json_number_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end = NULL;
        errno = 0;
        x = strtod(s, &end);
        while (end && (*end == ' ' || *end == '\t')) end++;
        if (!*s || errno == ERANGE || !end || *end)
            return lt_err_set(err, LT_EINVAL, "%s: %s \"%s\" is not a number", where, key, s);
    } else {
        return lt_err_set(err, LT_EINVAL, "%s: %s must be a string holding a number", where, key);
    }
    if (!isfinite(x)) return lt_err_set(err, LT_EINVAL, "%s: %s is not finite", where, key);
    if (kind == LT_TUNE_INTEGER && (x != floor(x) || fabs(x) > 9e15))
        return lt_err_set(err, LT_EINVAL, "%s: %s %g is not an integer", where, key, x);
    *out = x;
    return 0;
}

static int parse_scale(const json_t *range, const char *where, lt_tune_scale *out, lt_err *err)
{
    const json_t *v = json_object_get(range, "ScalingType");
    if (!v) {
        *out = LT_TUNE_SCALE_AUTO;
        return 0;
    }
    const char *s = json_string_value(v);
    static const char *names[] = {"Auto", "Linear", "Logarithmic", "ReverseLogarithmic"};
    for (int i = 0; s && i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (lt_tune_scale)i;
            return 0;
        }
    return lt_err_set(err, LT_EINVAL,
                      "%s: ScalingType must be Auto, Linear, Logarithmic or ReverseLogarithmic",
                      where);
}

static int check_members(const json_t *range, const char *const *allowed, const char *where,
                         lt_err *err)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)range, key, v)
    {
        bool ok = false;
        for (int i = 0; allowed[i]; i++) ok = ok || strcmp(key, allowed[i]) == 0;
        if (!ok) return lt_err_set(err, LT_EINVAL, "%s: unknown member %s", where, key);
    }
    return 0;
}

static int parse_numeric(const json_t *range, lt_tune_kind kind, const char *where,
                         lt_tune_param *p, lt_err *err)
{
    static const char *const allowed[] = {"Name", "MinValue", "MaxValue", "ScalingType", NULL};
    int rc = check_members(range, allowed, where, err);
    if (rc) return rc;
    if ((rc = parse_bound(range, "MinValue", kind, where, &p->min, err)) ||
        (rc = parse_bound(range, "MaxValue", kind, where, &p->max, err)) ||
        (rc = parse_scale(range, where, &p->scale, err)))
        return rc;
    if (p->min > p->max)
        return lt_err_set(err, LT_EINVAL, "%s: MinValue %g is greater than MaxValue %g", where,
                          p->min, p->max);
    if (p->scale == LT_TUNE_SCALE_AUTO)
        p->scale = p->min > 0 && p->max / p->min >= 100 ? LT_TUNE_SCALE_LOG : LT_TUNE_SCALE_LINEAR;
    if (p->scale == LT_TUNE_SCALE_LOG && p->min <= 0)
        return lt_err_set(err, LT_EINVAL,
                          "%s: Logarithmic scaling needs MinValue > 0 (got %g)", where, p->min);
    if (p->scale == LT_TUNE_SCALE_REVERSE_LOG) {
        if (kind == LT_TUNE_INTEGER)
            return lt_err_set(err, LT_EINVAL,
                              "%s: ReverseLogarithmic scaling applies only to continuous ranges",
                              where);
        if (p->min < 0 || p->max >= 1)
            return lt_err_set(err, LT_EINVAL,
                              "%s: ReverseLogarithmic scaling needs 0 <= MinValue <= MaxValue < 1",
                              where);
    }
    return 0;
}

static int parse_categorical(const json_t *range, const char *where, lt_tune_param *p,
                             lt_err *err)
{
    static const char *const allowed[] = {"Name", "Values", NULL};
    int rc = check_members(range, allowed, where, err);
    if (rc) return rc;
    const json_t *vals = json_object_get(range, "Values");
    if (!json_is_array(vals) || json_array_size(vals) == 0)
        return lt_err_set(err, LT_EINVAL, "%s: Values must be a non-empty list", where);
    if (json_array_size(vals) > MAX_VALUES)
        return lt_err_set(err, LT_EINVAL, "%s: at most %d Values", where, MAX_VALUES);
    p->n_values = json_array_size(vals);
    p->values = lt_xcalloc(p->n_values, sizeof(char *));
    p->scale = LT_TUNE_SCALE_LINEAR;
    for (size_t k = 0; k < p->n_values; k++) {
        const json_t *v = json_array_get(vals, k);
        if (json_is_string(v)) p->values[k] = lt_xstrdup(json_string_value(v));
        else if (json_is_number(v)) p->values[k] = lt_json_dump(v);
        else return lt_err_set(err, LT_EINVAL, "%s: Values[%zu] must be a string", where, k);
        for (size_t j = 0; j < k; j++)
            if (strcmp(p->values[j], p->values[k]) == 0)
                return lt_err_set(err, LT_EINVAL, "%s: value \"%s\" appears twice", where,
                                  p->values[k]);
    }
    return 0;
}

int lt_tune_space_parse(const json_t *ranges, lt_tune_space **out, lt_err *err)
{
    *out = NULL;
    if (!json_is_object(ranges))
        return lt_err_set(err, LT_EINVAL, "ParameterRanges must be a JSON object");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)ranges, key, v)
    {
        bool known = false;
        for (int k = 0; k < 3; k++) known = known || strcmp(key, kind_member[k]) == 0;
        if (!known)
            return lt_err_set(err, LT_EINVAL, "ParameterRanges: unsupported member %s", key);
        if (!json_is_array(v))
            return lt_err_set(err, LT_EINVAL, "ParameterRanges.%s must be a list", key);
        if (json_array_size(v) > MAX_RANGES)
            return lt_err_set(err, LT_EINVAL, "ParameterRanges.%s: at most %d ranges", key,
                              MAX_RANGES);
    }
    lt_tune_space *space = lt_xcalloc(1, sizeof *space);
    space->params = lt_xcalloc(3 * MAX_RANGES, sizeof(lt_tune_param));
    int rc = 0;
    for (int k = 0; k < 3 && !rc; k++) {
        const json_t *list = json_object_get(ranges, kind_member[k]);
        for (size_t i = 0; list && i < json_array_size(list) && !rc; i++) {
            const json_t *range = json_array_get(list, i);
            const char *name = json_is_object(range) ? lt_json_str(range, "Name") : NULL;
            char where[320];
            snprintf(where, sizeof where, "%s[%zu]%s%.200s%s", kind_member[k], i,
                     name ? " (" : "", name ? name : "", name ? ")" : "");
            if (!json_is_object(range)) {
                rc = lt_err_set(err, LT_EINVAL, "%s must be an object", where);
                break;
            }
            if (!name || !*name) {
                rc = lt_err_set(err, LT_EINVAL, "%s: Name is missing or empty", where);
                break;
            }
            for (size_t j = 0; j < space->n_params; j++)
                if (strcmp(space->params[j].name, name) == 0)
                    rc = lt_err_set(err, LT_EINVAL, "%s: the name %s is used by another range",
                                    where, name);
            if (rc) break;
            lt_tune_param *p = &space->params[space->n_params++];
            p->name = lt_xstrdup(name);
            p->kind = (lt_tune_kind)k;
            rc = k == LT_TUNE_CATEGORICAL ? parse_categorical(range, where, p, err)
                                          : parse_numeric(range, p->kind, where, p, err);
        }
    }
    if (!rc && space->n_params == 0)
        rc = lt_err_set(err, LT_EINVAL, "ParameterRanges holds no range");
    if (rc) {
        lt_tune_space_free(space);
        return rc;
    }
    for (size_t i = 0; i < space->n_params; i++)
        space->n_features +=
            space->params[i].kind == LT_TUNE_CATEGORICAL ? space->params[i].n_values : 1;
    *out = space;
    return 0;
}

int lt_tune_space_parse_text(const char *text, size_t len, lt_tune_space **out, lt_err *err)
{
    json_t *root = NULL;
    *out = NULL;
    int rc = lt_json_parse(text, len, &root, err);
    if (rc) return rc;
    /* A whole HyperParameterTuningJobConfig or TrainingJobDefinition works too. */
    const json_t *ranges = root;
    if (json_is_object(root) && json_object_get(root, "ParameterRanges"))
        ranges = json_object_get(root, "ParameterRanges");
    else if (json_is_object(root) && json_object_get(root, "HyperParameterRanges"))
        ranges = json_object_get(root, "HyperParameterRanges");
    rc = lt_tune_space_parse(ranges, out, err);
    json_decref(root);
    return rc;
}

void lt_tune_space_free(lt_tune_space *space)
{
    if (!space) return;
    for (size_t i = 0; i < space->n_params; i++) {
        free(space->params[i].name);
        for (size_t k = 0; k < space->params[i].n_values; k++) free(space->params[i].values[k]);
        free(space->params[i].values);
    }
    free(space->params);
    free(space);
}

/* ---- warps ---------------------------------------------------------------------------- */

/* The warped coordinate g(x) of a scale: identity, log x, or -log(1 - x) (increasing, so
 * the unit coordinate still grows with x; ReverseLogarithmic packs points near 1). */
static double warp(lt_tune_scale scale, double x)
{
    switch (scale) {
    case LT_TUNE_SCALE_LOG: return log(x);
    case LT_TUNE_SCALE_REVERSE_LOG: return -log1p(-x);
    default: return x;
    }
}

static double unwarp(lt_tune_scale scale, double g)
{
    switch (scale) {
    case LT_TUNE_SCALE_LOG: return exp(g);
    case LT_TUNE_SCALE_REVERSE_LOG: return -expm1(-g);
    default: return g;
    }
}

/* The warped interval a parameter's unit coordinate spans. */
static void warped_bounds(const lt_tune_param *p, double *a, double *b)
{
    double lo = p->min, hi = p->max;
    if (p->kind == LT_TUNE_INTEGER) {
        lo -= 0.5;
        hi += 0.5;
        if (p->scale == LT_TUNE_SCALE_LOG && lo <= 0) lo = p->min * 0.5;
    }
    *a = warp(p->scale, lo);
    *b = warp(p->scale, hi);
}

static double clamp01(double u)
{
    return u < 0 ? 0 : u > 1 ? 1 : u;
}

static double param_from_unit(const lt_tune_param *p, double u)
{
    u = clamp01(u);
    if (p->kind == LT_TUNE_CATEGORICAL) {
        size_t k = (size_t)(u * (double)p->n_values);
        return (double)(k >= p->n_values ? p->n_values - 1 : k);
    }
    double a, b;
    warped_bounds(p, &a, &b);
    double x = unwarp(p->scale, a + u * (b - a));
    if (p->kind == LT_TUNE_INTEGER) x = floor(x + 0.5);
    return x < p->min ? p->min : x > p->max ? p->max : x;
}

static double param_to_unit(const lt_tune_param *p, double x)
{
    if (p->kind == LT_TUNE_CATEGORICAL) return (x + 0.5) / (double)p->n_values;
    double a, b;
    warped_bounds(p, &a, &b);
    if (b <= a) return 0.5;
    return clamp01((warp(p->scale, x) - a) / (b - a));
}

void lt_tune_space_from_unit(const lt_tune_space *space, const double *u, double *values)
{
    for (size_t i = 0; i < space->n_params; i++)
        values[i] = param_from_unit(&space->params[i], u[i]);
}

void lt_tune_space_to_unit(const lt_tune_space *space, const double *values, double *u)
{
    for (size_t i = 0; i < space->n_params; i++)
        u[i] = param_to_unit(&space->params[i], values[i]);
}

void lt_tune_space_encode(const lt_tune_space *space, const double *values, double *features)
{
    size_t f = 0;
    for (size_t i = 0; i < space->n_params; i++) {
        const lt_tune_param *p = &space->params[i];
        if (p->kind == LT_TUNE_CATEGORICAL) {
            for (size_t k = 0; k < p->n_values; k++)
                features[f + k] = (size_t)values[i] == k ? 1.0 : 0.0;
            f += p->n_values;
        } else {
            /* Integers are rounded by from_unit already; the model sees the cell centre,
             * the same point to_unit gives for the value asked. */
            features[f++] = param_to_unit(p, values[i]);
        }
    }
}

void lt_tune_space_format(const lt_tune_space *space, size_t i, double value, char *out,
                          size_t cap)
{
    const lt_tune_param *p = &space->params[i];
    if (p->kind == LT_TUNE_CATEGORICAL) {
        size_t k = (size_t)value;
        snprintf(out, cap, "%s", p->values[k < p->n_values ? k : 0]);
    } else if (p->kind == LT_TUNE_INTEGER) {
        snprintf(out, cap, "%lld", (long long)value);
    } else {
        /* The shortest of %.15g / %.17g that reads back exactly. */
        char *end;
        snprintf(out, cap, "%.15g", value);
        if (strtod(out, &end) != value) snprintf(out, cap, "%.17g", value);
    }
}

json_t *lt_tune_space_to_json(const lt_tune_space *space, const double *values, bool as_strings)
{
    json_t *obj = json_object();
    for (size_t i = 0; i < space->n_params; i++) {
        const lt_tune_param *p = &space->params[i];
        char buf[64];
        json_t *v;
        if (as_strings || p->kind == LT_TUNE_CATEGORICAL) {
            if (p->kind == LT_TUNE_CATEGORICAL) {
                size_t k = (size_t)values[i];
                v = json_string(p->values[k < p->n_values ? k : 0]);
            } else {
                lt_tune_space_format(space, i, values[i], buf, sizeof buf);
                v = json_string(buf);
            }
        } else if (p->kind == LT_TUNE_INTEGER) {
            v = json_integer((json_int_t)values[i]);
        } else {
            v = json_real(values[i]);
        }
        json_object_set_new(obj, p->name, v);
    }
    return obj;
}
