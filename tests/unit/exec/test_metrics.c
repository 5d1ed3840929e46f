/* metrics: MetricDefinitions on SageMaker-style lines ("#011" for tabs, then the raw
 * line), whole-match definitions, values that are not finite numbers, bad regexes. */
#include "exec/exec.h"
#include "fs_test_util.h"

typedef struct points {
    size_t n;
    char names[8][32];
    double values[8];
    int64_t ts[8];
} points;

static void collect(void *ctx, const char *metric, double value, int64_t ts_ms)
{
    points *p = ctx;
    if (p->n >= 8) return;
    snprintf(p->names[p->n], sizeof p->names[0], "%s", metric);
    p->values[p->n] = value;
    p->ts[p->n] = ts_ms;
    p->n++;
}

static lt_exec_metrics *make(const char *json)
{
    json_t *defs = NULL;
    if (lt_json_parse(json, strlen(json), &defs, NULL) != 0) abort();
    lt_exec_metrics *m = NULL;
    lt_err err = {0};
    if (lt_exec_metrics_new(&m, defs, &err) != 0) {
        fprintf(stderr, "metrics_new: %s\n", err.msg);
        abort();
    }
    json_decref(defs);
    return m;
}

static int scan(lt_exec_metrics *m, const char *line, points *p)
{
    memset(p, 0, sizeof *p);
    return lt_exec_metrics_scan(m, line, strlen(line), 42, collect, p);
}

static void metrics_xgboost_lines_escaped_and_raw(void)
{
    lt_exec_metrics *m = make(
        /* SageMaker's built-in XGBoost definition; "\S+" would run on over "#011". */
        "[{\"Name\": \"train:rmse\", \"Regex\": \".*\\\\[[0-9]+\\\\].*#011train-rmse:"
        "([-+]?[0-9]*\\\\.?[0-9]+(?:[eE][-+]?[0-9]+)?).*\"},"
        " {\"Name\": \"validation:rmse\","
        "  \"Regex\": \".*\\\\[[0-9]+\\\\].*#011validation-rmse:(\\\\S+)\"}]");
    points p;
    /* As CloudWatch shows it, "#011" already in the text. */
    LT_CHECK_INT(scan(m, "[3]#011train-rmse:0.5#011validation-rmse:0.6", &p), ==, 2);
    LT_CHECK_STR(p.names[0], "train:rmse");
    LT_CHECK(p.values[0] == 0.5);
    LT_CHECK_STR(p.names[1], "validation:rmse");
    LT_CHECK(p.values[1] == 0.6);
    LT_CHECK_INT(p.ts[1], ==, 42);
    /* As the container prints it: real tabs. */
    LT_CHECK_INT(scan(m, "[12]\ttrain-rmse:1e-3\tvalidation-rmse:2.25", &p), ==, 2);
    LT_CHECK(p.values[0] == 1e-3);
    LT_CHECK(p.values[1] == 2.25);
    LT_CHECK_INT(scan(m, "no metric here", &p), ==, 0);
    lt_exec_metrics_free(m);
}

static void metrics_raw_line_used_when_escaped_does_not_match(void)
{
    /* A regex written for the raw tab. */
    lt_exec_metrics *m = make("[{\"Name\": \"loss\", \"Regex\": \"\\tloss=([0-9.]+)\"}]");
    points p;
    LT_CHECK_INT(scan(m, "epoch 1\tloss=0.25", &p), ==, 1);
    LT_CHECK(p.values[0] == 0.25);
    lt_exec_metrics_free(m);
}

static void metrics_whole_match_and_bad_values(void)
{
    lt_exec_metrics *whole = make("[{\"Name\": \"n\", \"Regex\": \"-?[0-9]+\\\\.[0-9]+\"}]");
    points p;
    LT_CHECK_INT(scan(whole, "value -3.5 seen", &p), ==, 1);
    LT_CHECK_STR(p.names[0], "n");
    LT_CHECK(p.values[0] == -3.5);
    lt_exec_metrics_free(whole);
    lt_exec_metrics *m = make("[{\"Name\": \"acc\", \"Regex\": \"acc=(\\\\S+)\"}]");
    static const char *bad[] = {"acc=nan", "acc=inf", "acc=0.5x", "acc=1e999", "acc=-"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (scan(m, bad[i], &p) != 0) LT_FAIL_AT("'%s' gave a point %g", bad[i], p.values[0]);
    LT_CHECK_INT(scan(m, "acc=0.875", &p), ==, 1);
    LT_CHECK(p.values[0] == 0.875);
    LT_CHECK_INT(scan(m, "acc=1e-3", &p), ==, 1);
    LT_CHECK(p.values[0] == 1e-3);
    lt_exec_metrics_free(m);
}

static void metrics_bad_definitions_are_named(void)
{
    static const struct {
        const char *json;
        const char *says;
    } cases[] = {
        {"[{\"Name\": \"ok\", \"Regex\": \"a(\\\\d+)\"}, {\"Name\": \"broken\", \"Regex\": "
         "\"a(b\"}]",
         "'broken' (MetricDefinitions[1])"},
        {"[{\"Name\": \"x\"}]", "MetricDefinitions[0]"},
        {"{\"Name\": \"x\"}", "must be an array"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *defs = NULL;
        if (lt_json_parse(cases[i].json, strlen(cases[i].json), &defs, NULL) != 0) abort();
        lt_exec_metrics *m = NULL;
        lt_err err = {0};
        LT_CHECK_INT(lt_exec_metrics_new(&m, defs, &err), ==, LT_EINVAL);
        LT_CHECK(m == NULL);
        LT_CHECK_CONTAINS(err.msg, cases[i].says);
        json_decref(defs);
    }
    lt_err err = {0};
    lt_exec_metrics *m = NULL;
    json_t *defs = json_pack("[{s:s, s:s}]", "Name", "broken", "Regex", "a(b");
    LT_CHECK_INT(lt_exec_metrics_new(&m, defs, &err), ==, LT_EINVAL);
    LT_CHECK_CONTAINS(err.msg, "offset 3");
    json_decref(defs);
    /* NULL and empty: no definitions, no points. */
    LT_CHECK_INT(lt_exec_metrics_new(&m, NULL, &err), ==, 0);
    points p;
    LT_CHECK_INT(scan(m, "acc=1", &p), ==, 0);
    lt_exec_metrics_free(m);
}

int main(void)
{
    LT_RUN(metrics_xgboost_lines_escaped_and_raw);
    LT_RUN(metrics_raw_line_used_when_escaped_does_not_match);
    LT_RUN(metrics_whole_match_and_bad_values);
    LT_RUN(metrics_bad_definitions_are_named);
    return lt_test_summary();
}
