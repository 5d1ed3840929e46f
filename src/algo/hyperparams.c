/* Hyperparameters as hyperparameters.json carries them: every value a string (SageMaker
 * passes them so), checked against the algorithm's declared specs. */
#include "algo/algo.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const lt_hp_spec *find_spec(const lt_hp_spec *specs, const char *name)
{
    for (const lt_hp_spec *s = specs; s->name; s++)
        if (strcmp(s->name, name) == 0) return s;
    return NULL;
}

/* A value may come as a JSON string (hyperparameters.json) or, from our own callers, as
 * a JSON number or boolean. Returns NULL for other types. */
static const char *value_text(const json_t *v, char *buf, size_t cap)
{
    if (json_is_string(v)) return json_string_value(v);
    if (json_is_integer(v)) snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v)) snprintf(buf, cap, "%.17g", json_real_value(v));
    else if (json_is_boolean(v)) snprintf(buf, cap, "%s", json_is_true(v) ? "true" : "false");
    else return NULL;
    return buf;
}

static bool parse_number(const char *text, double *out)
{
    errno = 0;
    char *end = NULL;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v)) return false;
    *out = v;
    return true;
}

static int check_one(const lt_hp_spec *spec, const char *text, lt_err *err)
{
    double v = 0;
    switch (spec->type) {
    case LT_HP_INT_OR_AUTO:
        if (strcmp(text, "auto") == 0) return 0;
        if (!parse_number(text, &v) || v != floor(v))
            return lt_err_set(err, LT_EINVAL,
                              "hyperparameter %s must be an integer or auto, got '%s'",
                              spec->name, text);
        break;
    case LT_HP_INT:
        if (!parse_number(text, &v) || v != floor(v))
            return lt_err_set(err, LT_EINVAL, "hyperparameter %s must be an integer, got '%s'",
                              spec->name, text);
        break;
    case LT_HP_FLOAT_OR_WORD:
        for (const char *const *c = spec->choices; c && *c; c++)
            if (strcmp(*c, text) == 0) return 0;
        if (!parse_number(text, &v))
            return lt_err_set(err, LT_EINVAL,
                              "hyperparameter %s must be a number or one of the documented "
                              "words, got '%s'",
                              spec->name, text);
        break;
    case LT_HP_FLOAT:
        if (!parse_number(text, &v))
            return lt_err_set(err, LT_EINVAL, "hyperparameter %s must be a number, got '%s'",
                              spec->name, text);
        break;
    case LT_HP_BOOL:
        if (strcasecmp(text, "true") && strcasecmp(text, "false"))
            return lt_err_set(err, LT_EINVAL, "hyperparameter %s must be true or false, got '%s'",
                              spec->name, text);
        return 0;
    case LT_HP_CATEGORICAL:
        for (const char *const *c = spec->choices; c && *c; c++)
            if (strcmp(*c, text) == 0) return 0;
        return lt_err_set(err, LT_EINVAL, "hyperparameter %s must be one of the documented "
                                          "values, got '%s'",
                          spec->name, text);
    }
    if (v < spec->min || v > spec->max)
        return lt_err_set(err, LT_EINVAL, "hyperparameter %s must be between %g and %g, got %s",
                          spec->name, spec->min, spec->max, text);
    return 0;
}

int lt_algo_hp_check(const lt_hp_spec *specs, const json_t *hyperparameters, lt_err *err)
{
    if (hyperparameters && !json_is_object(hyperparameters))
        return lt_err_set(err, LT_EINVAL, "hyperparameters must be a JSON object");
    const char *name;
    json_t *value;
    json_object_foreach((json_t *)hyperparameters, name, value)
    {
        const lt_hp_spec *spec = find_spec(specs, name);
        /* SageMaker's own containers pass sagemaker_* keys through; so do we. */
        if (!spec) {
            if (strncmp(name, "sagemaker_", 10) == 0 || strncmp(name, "_", 1) == 0) continue;
            return lt_err_set(err, LT_EINVAL, "unknown hyperparameter '%s'", name);
        }
        char buf[64];
        const char *text = value_text(value, buf, sizeof buf);
        if (!text)
            return lt_err_set(err, LT_EINVAL, "hyperparameter %s must be a string", name);
        int rc = check_one(spec, text, err);
        if (rc) return rc;
    }
    for (const lt_hp_spec *s = specs; s->name; s++)
        if (!s->default_value && !json_object_get(hyperparameters, s->name))
            return lt_err_set(err, LT_EINVAL, "hyperparameter %s is required", s->name);
    return 0;
}

const char *lt_algo_hp_string(const lt_hp_spec *specs, const json_t *hyperparameters,
                              const char *name)
{
    json_t *v = json_object_get(hyperparameters, name);
    if (json_is_string(v)) return json_string_value(v);
    const lt_hp_spec *spec = find_spec(specs, name);
    return spec ? spec->default_value : NULL;
}

double lt_algo_hp_number(const lt_hp_spec *specs, const json_t *hyperparameters,
                         const char *name)
{
    json_t *v = json_object_get(hyperparameters, name);
    if (json_is_number(v)) return json_number_value(v);
    const char *text = lt_algo_hp_string(specs, hyperparameters, name);
    double out = NAN;
    if (text && !parse_number(text, &out)) {
        if (strcasecmp(text, "true") == 0) out = 1;
        else if (strcasecmp(text, "false") == 0) out = 0;
    }
    return out;
}
