/* Search spaces: parsing ParameterRanges, refusing bad ones by name, the scale warps, integer
 * rounding and categorical encoding. */
#include "test.h"
#include "tune/tune.h"

#include <math.h>

static lt_tune_space *parse(const char *text)
{
    lt_tune_space *space = NULL;
    lt_err err = {0};
    if (lt_tune_space_parse_text(text, strlen(text), &space, &err) != 0)
        fprintf(stderr, "  unexpected parse error: %s\n", err.msg);
    return space;
}

static void space_parses_all_three_kinds_in_order(void)
{
    lt_tune_space *s = parse(
        "{\"CategoricalParameterRanges\":[{\"Name\":\"opt\",\"Values\":[\"adam\",\"sgd\",\"rms\"]}],"
        "\"IntegerParameterRanges\":[{\"Name\":\"depth\",\"MinValue\":\"2\",\"MaxValue\":\"10\"}],"
        "\"ContinuousParameterRanges\":[{\"Name\":\"lr\",\"MinValue\":\"0.0001\",\"MaxValue\":\"1\","
        "\"ScalingType\":\"Auto\"},{\"Name\":\"mom\",\"MinValue\":\"0.5\",\"MaxValue\":\"0.999\","
        "\"ScalingType\":\"ReverseLogarithmic\"}]}");
    LT_CHECK(s != NULL);
    if (!s) return;
    LT_CHECK_INT(s->n_params, ==, 4);
    LT_CHECK_STR(s->params[0].name, "depth");
    LT_CHECK_STR(s->params[1].name, "lr");
    LT_CHECK_STR(s->params[2].name, "mom");
    LT_CHECK_STR(s->params[3].name, "opt");
    LT_CHECK_INT(s->params[0].scale, ==, LT_TUNE_SCALE_LINEAR);
    LT_CHECK_INT(s->params[1].scale, ==, LT_TUNE_SCALE_LOG); /* Auto: four decades */
    LT_CHECK_INT(s->params[2].scale, ==, LT_TUNE_SCALE_REVERSE_LOG);
    LT_CHECK_INT(s->n_features, ==, 6); /* 3 numeric + 3 one-hot */
    lt_tune_space_free(s);
}

static void bad_spaces_are_refused_naming_the_range(void)
{
    static const struct {
        const char *json, *msg;
    } cases[] = {
        {"{\"IntegerParameterRanges\":[{\"Name\":\"a\",\"MinValue\":\"5\",\"MaxValue\":\"1\"}]}",
         "IntegerParameterRanges[0] (a): MinValue 5 is greater than MaxValue 1"},
        {"{\"ContinuousParameterRanges\":[{\"Name\":\"b\",\"MinValue\":\"x\",\"MaxValue\":\"1\"}]}",
         "(b): MinValue \"x\" is not a number"},
        {"{\"IntegerParameterRanges\":[{\"Name\":\"c\",\"MinValue\":\"1.5\",\"MaxValue\":\"3\"}]}",
         "(c): MinValue 1.5 is not an integer"},
        {"{\"CategoricalParameterRanges\":[{\"Name\":\"d\",\"Values\":[]}]}",
         "CategoricalParameterRanges[0] (d): Values must be a non-empty list"},
        {"{\"CategoricalParameterRanges\":[{\"Name\":\"d\",\"Values\":[\"u\",\"u\"]}]}",
         "(d): value \"u\" appears twice"},
        {"{\"IntegerParameterRanges\":[{\"Name\":\"e\",\"MinValue\":\"1\",\"MaxValue\":\"3\"}],"
         "\"CategoricalParameterRanges\":[{\"Name\":\"e\",\"Values\":[\"u\"]}]}",
         "the name e is used by another range"},
        {"{\"ContinuousParameterRanges\":[{\"Name\":\"f\",\"MinValue\":\"0\",\"MaxValue\":\"1\","
         "\"ScalingType\":\"Logarithmic\"}]}",
         "(f): Logarithmic scaling needs MinValue > 0"},
        {"{\"ContinuousParameterRanges\":[{\"Name\":\"g\",\"MinValue\":\"0.5\",\"MaxValue\":\"1\","
         "\"ScalingType\":\"ReverseLogarithmic\"}]}",
         "(g): ReverseLogarithmic scaling needs 0 <= MinValue <= MaxValue < 1"},
        {"{\"IntegerParameterRanges\":[{\"Name\":\"h\",\"MinValue\":\"0\",\"MaxValue\":\"0\","
         "\"ScalingType\":\"ReverseLogarithmic\"}]}",
         "(h): ReverseLogarithmic scaling applies only to continuous ranges"},
        {"{\"ContinuousParameterRanges\":[{\"Name\":\"i\",\"MinValue\":\"0\",\"MaxValue\":\"1\","
         "\"ScalingType\":\"Cubic\"}]}",
         "(i): ScalingType must be"},
        {"{\"ContinuousParameterRanges\":[{\"MinValue\":\"0\",\"MaxValue\":\"1\"}]}",
         "ContinuousParameterRanges[0]: Name is missing"},
        {"{\"ContinuousParameterRanges\":[{\"Name\":\"j\",\"MaxValue\":\"1\"}]}",
         "(j): MinValue is missing"},
        {"{}", "ParameterRanges holds no range"},
        {"{\"AutoParameters\":[]}", "unsupported member AutoParameters"},
        {"[1]", "must be a JSON object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lt_tune_space *space = (lt_tune_space *)1;
        lt_err err = {0};
        int rc = lt_tune_space_parse_text(cases[i].json, strlen(cases[i].json), &space, &err);
        LT_CHECK_INT(rc, ==, LT_EINVAL);
        LT_CHECK(space == NULL);
        LT_CHECK_CONTAINS(err.msg, cases[i].msg);
    }
}

static void log_scale_round_trips_and_is_uniform_in_log_space(void)
{
    lt_tune_space *s = parse("{\"ContinuousParameterRanges\":[{\"Name\":\"lr\",\"MinValue\":"
                             "\"1e-4\",\"MaxValue\":\"1\",\"ScalingType\":\"Logarithmic\"}]}");
    if (!s) return;
    double u = 0.5, v, back;
    lt_tune_space_from_unit(s, &u, &v);
    LT_CHECK_NEAR(v, 1e-2, 1e-15); /* the geometric middle of [1e-4, 1] */
    for (int k = 0; k <= 100; k++) {
        u = k / 100.0;
        lt_tune_space_from_unit(s, &u, &v);
        lt_tune_space_to_unit(s, &v, &back);
        LT_CHECK_NEAR(back, u, 1e-12);
        LT_CHECK(v >= 1e-4 && v <= 1);
    }
    v = 1e-3;
    lt_tune_space_to_unit(s, &v, &back);
    LT_CHECK_NEAR(back, 0.25, 1e-12);
    lt_tune_space_free(s);
}

static void reverse_log_scale_concentrates_near_one(void)
{
    lt_tune_space *s = parse("{\"ContinuousParameterRanges\":[{\"Name\":\"beta\",\"MinValue\":"
                             "\"0\",\"MaxValue\":\"0.999\",\"ScalingType\":\"ReverseLogarithmic\"}]}");
    if (!s) return;
    /* u = 1/2 is 1 - sqrt(1 - 0.999): half the cube lies within 0.0316 of 1. */
    double u = 0.5, v, back;
    lt_tune_space_from_unit(s, &u, &v);
    LT_CHECK_NEAR(v, 1 - sqrt(0.001), 1e-12);
    for (int k = 0; k <= 100; k++) {
        u = k / 100.0;
        lt_tune_space_from_unit(s, &u, &v);
        lt_tune_space_to_unit(s, &v, &back);
        LT_CHECK_NEAR(back, u, 1e-9);
        LT_CHECK(v >= 0 && v <= 0.999);
    }
    lt_tune_space_free(s);
}

/* Every integer owns one cell; decoding and re-encoding agree, so the point the model sees
 * (encode) is exactly the point the trial ran with. */
static void integer_rounding_is_consistent(void)
{
    static const char *spaces[] = {
        "{\"IntegerParameterRanges\":[{\"Name\":\"n\",\"MinValue\":\"1\",\"MaxValue\":\"10\"}]}",
        "{\"IntegerParameterRanges\":[{\"Name\":\"n\",\"MinValue\":\"1\",\"MaxValue\":\"1000\","
        "\"ScalingType\":\"Logarithmic\"}]}",
        "{\"IntegerParameterRanges\":[{\"Name\":\"n\",\"MinValue\":\"-3\",\"MaxValue\":\"3\"}]}",
    };
    for (size_t c = 0; c < 3; c++) {
        lt_tune_space *s = parse(spaces[c]);
        if (!s) continue;
        const lt_tune_param *p = &s->params[0];
        for (double v = p->min; v <= p->max; v++) {
            double u, w, f;
            lt_tune_space_to_unit(s, &v, &u);
            lt_tune_space_from_unit(s, &u, &w);
            lt_tune_space_encode(s, &v, &f);
            LT_CHECK_NEAR(w, v, 0);
            LT_CHECK_NEAR(f, u, 1e-15);
        }
        for (int k = 0; k <= 1000; k++) {
            double u = k / 1000.0, v, u2, v2, f;
            lt_tune_space_from_unit(s, &u, &v);
            LT_CHECK(v == floor(v) && v >= p->min && v <= p->max);
            lt_tune_space_to_unit(s, &v, &u2);
            lt_tune_space_from_unit(s, &u2, &v2);
            lt_tune_space_encode(s, &v, &f);
            LT_CHECK_NEAR(v2, v, 0);
            LT_CHECK_NEAR(f, u2, 1e-15);
        }
        lt_tune_space_free(s);
    }
    /* Linear integers: equal-width cells, so the end values are not under-sampled. */
    lt_tune_space *s = parse(spaces[0]);
    if (!s) return;
    int counts[11] = {0};
    for (int k = 0; k < 10000; k++) {
        double u = (k + 0.5) / 10000.0, v;
        lt_tune_space_from_unit(s, &u, &v);
        counts[(int)v]++;
    }
    for (int v = 1; v <= 10; v++) LT_CHECK_INT(counts[v], ==, 1000);
    lt_tune_space_free(s);
}

static void categoricals_are_one_hot(void)
{
    lt_tune_space *s = parse(
        "{\"ContinuousParameterRanges\":[{\"Name\":\"x\",\"MinValue\":\"0\",\"MaxValue\":\"2\"}],"
        "\"CategoricalParameterRanges\":[{\"Name\":\"k\",\"Values\":[\"rbf\",\"poly\",\"linear\"]}]}");
    if (!s) return;
    double u[2] = {0.25, 0.5}, v[2], f[4];
    lt_tune_space_from_unit(s, u, v);
    LT_CHECK_NEAR(v[0], 0.5, 1e-15);
    LT_CHECK_NEAR(v[1], 1, 0); /* floor(0.5 * 3) */
    lt_tune_space_encode(s, v, f);
    LT_CHECK_NEAR(f[0], 0.25, 1e-15);
    LT_CHECK(f[1] == 0 && f[2] == 1 && f[3] == 0);
    u[1] = 1.0; /* the top edge belongs to the last value */
    lt_tune_space_from_unit(s, u, v);
    LT_CHECK_NEAR(v[1], 2, 0);
    char buf[32];
    lt_tune_space_format(s, 1, v[1], buf, sizeof buf);
    LT_CHECK_STR(buf, "linear");
    json_t *j = lt_tune_space_to_json(s, v, false);
    char *text = lt_json_dump(j);
    LT_CHECK_STR(text, "{\"x\":0.5,\"k\":\"linear\"}");
    free(text);
    json_decref(j);
    j = lt_tune_space_to_json(s, v, true);
    text = lt_json_dump(j);
    LT_CHECK_STR(text, "{\"x\":\"0.5\",\"k\":\"linear\"}");
    free(text);
    json_decref(j);
    lt_tune_space_free(s);
}

int main(void)
{
    LT_RUN(space_parses_all_three_kinds_in_order);
    LT_RUN(bad_spaces_are_refused_naming_the_range);
    LT_RUN(log_scale_round_trips_and_is_uniform_in_log_space);
    LT_RUN(reverse_log_scale_concentrates_near_one);
    LT_RUN(integer_rounding_is_consistent);
    LT_RUN(categoricals_are_one_hot);
    return lt_test_summary();
}
