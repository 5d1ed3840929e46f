/* The strategies through the public ask/tell interface: grid order and size, random
 * reproducibility, the median stopping rule, Hyperband's brackets and rungs, and the
 * Bayesian strategy on small problems (convergence, batches that do not collapse, failed
 * trials kept out of the model). */
#include "test.h"
#include "tune/tune_internal.h"

#include <math.h>

static lt_tune_space *parse(const char *text)
{
    lt_tune_space *space = NULL;
    lt_err err = {0};
    if (lt_tune_space_parse_text(text, strlen(text), &space, &err) != 0)
        fprintf(stderr, "  parse: %s\n", err.msg);
    return space;
}

static lt_tune *tuner(const lt_tune_space *space, lt_tune_strategy strategy, uint64_t seed)
{
    lt_tune_params p = lt_tune_params_default();
    p.strategy = strategy;
    p.seed = seed;
    p.grid_points = 3;
    lt_tune *t = NULL;
    lt_err err = {0};
    if (lt_tune_new(space, &p, &t, &err) != 0) fprintf(stderr, "  new: %s\n", err.msg);
    return t;
}

static const char *MIXED =
    "{\"IntegerParameterRanges\":[{\"Name\":\"a\",\"MinValue\":\"1\",\"MaxValue\":\"3\"}],"
    "\"ContinuousParameterRanges\":[{\"Name\":\"b\",\"MinValue\":\"0\",\"MaxValue\":\"1\"},"
    "{\"Name\":\"lr\",\"MinValue\":\"1\",\"MaxValue\":\"100\",\"ScalingType\":\"Logarithmic\"}],"
    "\"CategoricalParameterRanges\":[{\"Name\":\"c\",\"Values\":[\"x\",\"y\"]}]}";

static void grid_enumerates_every_combination_in_order(void)
{
    lt_tune_space *s = parse(MIXED);
    if (!s) return;
    LT_CHECK_INT(lt_tune_grid_size(s, 3), ==, 3 * 3 * 3 * 2);
    LT_CHECK_INT(lt_tune_grid_size(s, 5), ==, 3 * 5 * 5 * 2); /* a has only 3 integers */
    lt_tune *t = tuner(s, LT_TUNE_GRID, 0);
    int ids[60];
    size_t got = 0;
    lt_err err = {0};
    LT_CHECK_INT(lt_tune_ask(t, 60, ids, &got, &err), ==, 0);
    LT_CHECK_INT(got, ==, 54);
    /* The last parameter varies fastest, as itertools.product. */
    const double *v0 = lt_tune_trial_values(t, ids[0]), *v1 = lt_tune_trial_values(t, ids[1]);
    const double *v2 = lt_tune_trial_values(t, ids[2]), *vl = lt_tune_trial_values(t, ids[53]);
    LT_CHECK(v0[0] == 1 && v0[1] == 0 && v0[2] == 1 && v0[3] == 0);
    LT_CHECK(v1[0] == 1 && v1[1] == 0 && v1[2] == 1 && v1[3] == 1);
    LT_CHECK(v2[0] == 1 && v2[1] == 0 && v2[3] == 0);
    LT_CHECK_NEAR(v2[2], 10, 1e-12); /* the log range's middle */
    LT_CHECK(vl[0] == 3 && vl[1] == 1 && vl[2] == 100 && vl[3] == 1);
    /* Every combination once. */
    for (size_t i = 0; i < got; i++)
        for (size_t j = 0; j < i; j++) {
            const double *a = lt_tune_trial_values(t, ids[i]), *b = lt_tune_trial_values(t, ids[j]);
            LT_CHECK(memcmp(a, b, 4 * sizeof(double)) != 0);
        }
    LT_CHECK_INT(lt_tune_ask(t, 5, ids, &got, &err), ==, 0);
    LT_CHECK_INT(got, ==, 0);
    lt_tune_free(t);
    lt_tune_space_free(s);
}

static void random_is_reproducible_by_seed(void)
{
    lt_tune_space *s = parse(MIXED);
    if (!s) return;
    lt_tune *a = tuner(s, LT_TUNE_RANDOM, 42), *b = tuner(s, LT_TUNE_RANDOM, 42),
            *c = tuner(s, LT_TUNE_RANDOM, 43);
    int ids[20];
    size_t got;
    lt_err err = {0};
    lt_tune_ask(a, 20, ids, &got, &err);
    lt_tune_ask(b, 10, ids, &got, &err);
    lt_tune_ask(b, 10, ids, &got, &err); /* two batches: the same sequence */
    lt_tune_ask(c, 20, ids, &got, &err);
    int differ = 0;
    for (int i = 0; i < 20; i++) {
        const double *va = lt_tune_trial_values(a, i), *vb = lt_tune_trial_values(b, i),
                     *vc = lt_tune_trial_values(c, i);
        LT_CHECK(memcmp(va, vb, 4 * sizeof(double)) == 0);
        differ += memcmp(va, vc, 4 * sizeof(double)) != 0;
        LT_CHECK(va[0] >= 1 && va[0] <= 3 && va[0] == floor(va[0]));
        LT_CHECK(va[1] >= 0 && va[1] <= 1 && va[2] >= 1 && va[2] <= 100);
        LT_CHECK(va[3] == 0 || va[3] == 1);
    }
    LT_CHECK_INT(differ, ==, 20);
    lt_tune_free(a);
    lt_tune_free(b);
    lt_tune_free(c);
    lt_tune_space_free(s);
}

static void median_rule_stops_a_trial_worse_than_the_median(void)
{
    lt_tune_space *s = parse("{\"ContinuousParameterRanges\":[{\"Name\":\"b\",\"MinValue\":\"0\","
                             "\"MaxValue\":\"1\"}]}");
    if (!s) return;
    lt_tune_params p = lt_tune_params_default();
    p.strategy = LT_TUNE_RANDOM;
    p.early_stopping = true;
    lt_tune *t = NULL;
    lt_err err = {0};
    LT_CHECK_INT(lt_tune_new(s, &p, &t, &err), ==, 0);
    int ids[6];
    size_t got;
    lt_tune_ask(t, 6, ids, &got, &err);
    /* Finished trials: constant curves 1, 2, 3, then 10 at step 2 for the third. Running
     * averages at step 1: 1, 2, 3 (median 2); at step 2: 1, 2, 6.5 (median 2). */
    for (int k = 0; k < 3; k++) {
        lt_tune_report(t, ids[k], 1, k + 1.0, &err);
        lt_tune_report(t, ids[k], 2, k == 2 ? 10.0 : k + 1.0, &err);
        LT_CHECK_INT(lt_tune_tell(t, ids[k], LT_TUNE_COMPLETED, k + 1.0, &err), ==, 0);
        if (k < 2) {
            /* Fewer than three finished trials: nothing is stopped yet. */
            lt_tune_report(t, ids[5], k + 1, 100.0, &err);
            LT_CHECK(!lt_tune_should_stop(t, ids[5]));
        }
    }
    lt_tune_report(t, ids[3], 1, 2.5, &err);
    LT_CHECK(lt_tune_should_stop(t, ids[3]));
    lt_tune_report(t, ids[4], 1, 1.5, &err);
    LT_CHECK(!lt_tune_should_stop(t, ids[4]));
    lt_tune_report(t, ids[4], 2, 1.9, &err);
    LT_CHECK(!lt_tune_should_stop(t, ids[4]));
    lt_tune_report(t, ids[4], 3, 2.5, &err); /* nobody reached step 3: no comparison */
    LT_CHECK(!lt_tune_should_stop(t, ids[4]));
    /* A stopped trial counts with its last reported value. */
    LT_CHECK_INT(lt_tune_tell(t, ids[3], LT_TUNE_STOPPED, NAN, &err), ==, 0);
    LT_CHECK_NEAR(t->trials[ids[3]].y, 2.5, 0);
    LT_CHECK_INT(lt_tune_tell(t, ids[3], LT_TUNE_COMPLETED, 1, &err), ==, LT_ECONFLICT);
    LT_CHECK_INT(lt_tune_tell(t, 99, LT_TUNE_COMPLETED, 1, &err), ==, LT_ENOTFOUND);
    int best;
    double value;
    LT_CHECK_INT(lt_tune_best(t, &best, &value), ==, 0);
    LT_CHECK_INT(best, ==, ids[0]);
    LT_CHECK_NEAR(value, 1, 0);
    lt_tune_free(t);

    /* Hyperband refuses early stopping, as the API does. */
    p.strategy = LT_TUNE_HYPERBAND;
    LT_CHECK_INT(lt_tune_new(s, &p, &t, &err), ==, LT_EINVAL);
    lt_tune_space_free(s);
}

static void hyperband_brackets_have_the_classic_sizes(void)
{
    /* Li et al. (2018), table 1: R = 81, eta = 3. */
    LT_CHECK_INT(lt_tune__hb_s_max(1, 81, 3), ==, 4);
    static const int n[] = {5, 8, 15, 34, 81};
    static const double r[] = {81, 27, 9, 3, 1};
    for (int s = 0; s <= 4; s++) {
        LT_CHECK_INT(lt_tune__hb_bracket_n(s, 4, 3), ==, n[s]);
        LT_CHECK_NEAR(lt_tune__hb_bracket_r(s, 81, 3), r[s], 1e-12);
    }
    LT_CHECK_INT(lt_tune__hb_s_max(1, 27, 3), ==, 3);
    LT_CHECK_INT(lt_tune__hb_s_max(2, 100, 3), ==, 3);

    /* Trials are spread over the brackets in proportion to their sizes. */
    lt_tune_space *s = parse("{\"ContinuousParameterRanges\":[{\"Name\":\"b\",\"MinValue\":\"0\","
                             "\"MaxValue\":\"1\"}]}");
    if (!s) return;
    lt_tune *t = tuner(s, LT_TUNE_HYPERBAND, 1);
    int ids[143];
    size_t got;
    lt_err err = {0};
    lt_tune_ask(t, 143, ids, &got, &err);
    int count[5] = {0};
    for (int i = 0; i < 143; i++) count[t->trials[i].bracket]++;
    for (int b = 0; b <= 4; b++) LT_CHECK_INT(count[b], ==, n[b]);

    /* Successive halving in the most aggressive bracket (rungs at 1, 3, 9, 27): with fewer
     * than eta values at a rung only the best goes on; then the top 1/eta. */
    int in4[8], k = 0;
    for (int i = 0; i < 143 && k < 8; i++)
        if (t->trials[i].bracket == 4) in4[k++] = i;
    static const double v[] = {5, 6, 4, 7, 3, 8};
    static const bool stop[] = {false, true, false, true, false, true};
    for (int i = 0; i < 6; i++) {
        lt_tune_report(t, in4[i], 1, v[i], &err);
        if (lt_tune_should_stop(t, in4[i]) != stop[i]) LT_FAIL_AT("trial %d at rung 1", i);
    }
    /* Between rungs nothing changes; at rung 3 the best of the survivors goes on. */
    lt_tune_report(t, in4[0], 2, 9.0, &err);
    LT_CHECK(!lt_tune_should_stop(t, in4[0]));
    lt_tune_report(t, in4[0], 3, 2.0, &err);
    LT_CHECK(!lt_tune_should_stop(t, in4[0]));
    lt_tune_report(t, in4[2], 3, 2.5, &err);
    LT_CHECK(lt_tune_should_stop(t, in4[2]));
    lt_tune_free(t);
    lt_tune_space_free(s);
}

/* Minimises f over the space sequentially for n trials with Bayesian; returns the best. */
static double run_bayes(const lt_tune_space *s, double (*f)(const double *), int n, uint64_t seed)
{
    lt_tune *t = tuner(s, LT_TUNE_BAYESIAN, seed);
    lt_err err = {0};
    for (int i = 0; i < n; i++) {
        int id;
        size_t got;
        if (lt_tune_ask(t, 1, &id, &got, &err) != 0 || got != 1) {
            LT_FAIL_AT("ask: %s", err.msg);
            break;
        }
        lt_tune_tell(t, id, LT_TUNE_COMPLETED, f(lt_tune_trial_values(t, id)), &err);
    }
    int id;
    double best = INFINITY;
    lt_tune_best(t, &id, &best);
    lt_tune_free(t);
    return best;
}

static double quad2(const double *v)
{
    return (v[0] - 0.3) * (v[0] - 0.3) + (v[1] + 1.2) * (v[1] + 1.2);
}

static void bayesian_converges_on_a_quadratic(void)
{
    lt_tune_space *s = parse(
        "{\"ContinuousParameterRanges\":[{\"Name\":\"x\",\"MinValue\":\"-5\",\"MaxValue\":\"5\"},"
        "{\"Name\":\"y\",\"MinValue\":\"-5\",\"MaxValue\":\"5\"}]}");
    if (!s) return;
    double best = run_bayes(s, quad2, 25, 1);
    if (!(best < 1e-2)) LT_FAIL_AT("best after 25 trials: %g", best);
    lt_tune_space_free(s);
}

static void bayesian_batch_does_not_collapse(void)
{
    lt_tune_space *s = parse(
        "{\"ContinuousParameterRanges\":[{\"Name\":\"x\",\"MinValue\":\"-5\",\"MaxValue\":\"5\"},"
        "{\"Name\":\"y\",\"MinValue\":\"-5\",\"MaxValue\":\"5\"}]}");
    if (!s) return;
    lt_tune *t = tuner(s, LT_TUNE_BAYESIAN, 2);
    lt_err err = {0};
    int ids[8];
    size_t got;
    lt_tune_ask(t, 6, ids, &got, &err);
    LT_CHECK_INT(got, ==, 6);
    for (int i = 0; i < 6; i++)
        lt_tune_tell(t, ids[i], LT_TUNE_COMPLETED, quad2(lt_tune_trial_values(t, ids[i])), &err);
    /* Two pending trials from an earlier ask, then a batch of four. */
    int pend[2], batch[4];
    LT_CHECK_INT(lt_tune_ask(t, 2, pend, &got, &err), ==, 0);
    LT_CHECK_INT(lt_tune_ask(t, 4, batch, &got, &err), ==, 0);
    LT_CHECK_INT(got, ==, 4);
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < i; j++) {
            int a = i < 2 ? pend[i] : batch[i - 2], b = j < 2 ? pend[j] : batch[j - 2];
            const double *va = lt_tune_trial_values(t, a), *vb = lt_tune_trial_values(t, b);
            double d = hypot(va[0] - vb[0], va[1] - vb[1]);
            if (!(d > 0.05)) LT_FAIL_AT("trials %d and %d are %g apart", a, b, d);
        }
    lt_tune_free(t);
    lt_tune_space_free(s);
}

static void bayesian_ignores_failed_trials(void)
{
    lt_tune_space *s = parse(
        "{\"ContinuousParameterRanges\":[{\"Name\":\"x\",\"MinValue\":\"-5\",\"MaxValue\":\"5\"},"
        "{\"Name\":\"y\",\"MinValue\":\"-5\",\"MaxValue\":\"5\"}]}");
    if (!s) return;
    lt_tune *t = tuner(s, LT_TUNE_BAYESIAN, 3);
    lt_err err = {0};
    for (int i = 0; i < 25; i++) {
        int id;
        size_t got;
        LT_CHECK_INT(lt_tune_ask(t, 1, &id, &got, &err), ==, 0);
        const double *v = lt_tune_trial_values(t, id);
        /* Every other point with x > 1 fails: the model must not see them at all. */
        if (v[0] > 1 && i % 2) lt_tune_tell(t, id, LT_TUNE_FAILED, NAN, &err);
        else lt_tune_tell(t, id, LT_TUNE_COMPLETED, quad2(v), &err);
    }
    int id;
    double best = INFINITY;
    LT_CHECK_INT(lt_tune_best(t, &id, &best), ==, 0);
    if (!(best < 5e-2)) LT_FAIL_AT("best after 25 trials with failures: %g", best);
    LT_CHECK(t->trials[id].state == TRIAL_COMPLETED);
    lt_tune_free(t);
    lt_tune_space_free(s);
}

static double mixed(const double *v)
{
    /* a integer in 1..3, b, lr log in 1..100, c in {x, y}: optimum a = 2, b = .7, lr = 10, y */
    double l = log10(v[2]) - 1;
    return (v[0] - 2) * (v[0] - 2) + (v[1] - 0.7) * (v[1] - 0.7) + l * l + (v[3] == 1 ? 0 : 0.5);
}

static void bayesian_handles_integers_logs_and_categoricals(void)
{
    lt_tune_space *s = parse(MIXED);
    if (!s) return;
    double best = run_bayes(s, mixed, 30, 4);
    if (!(best < 0.05)) LT_FAIL_AT("best after 30 trials: %g", best);
    /* A space of one categorical: once every value is known, it still answers. */
    lt_tune_space *c = parse("{\"CategoricalParameterRanges\":[{\"Name\":\"c\",\"Values\":"
                             "[\"p\",\"q\",\"r\"]}]}");
    lt_tune *t = tuner(c, LT_TUNE_BAYESIAN, 5);
    lt_err err = {0};
    for (int i = 0; i < 8; i++) {
        int id;
        size_t got;
        LT_CHECK_INT(lt_tune_ask(t, 1, &id, &got, &err), ==, 0);
        LT_CHECK_INT(got, ==, 1);
        lt_tune_tell(t, id, LT_TUNE_COMPLETED, lt_tune_trial_values(t, id)[0], &err);
    }
    lt_tune_free(t);
    lt_tune_space_free(c);
    lt_tune_space_free(s);
}

int main(void)
{
    LT_RUN(grid_enumerates_every_combination_in_order);
    LT_RUN(random_is_reproducible_by_seed);
    LT_RUN(median_rule_stops_a_trial_worse_than_the_median);
    LT_RUN(hyperband_brackets_have_the_classic_sizes);
    LT_RUN(bayesian_converges_on_a_quadratic);
    LT_RUN(bayesian_batch_does_not_collapse);
    LT_RUN(bayesian_ignores_failed_trials);
    LT_RUN(bayesian_handles_integers_logs_and_categoricals);
    return lt_test_summary();
}
