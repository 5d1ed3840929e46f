/* `lathe algo list|train|predict`: the built-in algorithms without a server, for quick
 * use and for the benchmarks. train writes the model directory plus lathe-algo.json
 * (which algorithm made it), so predict needs only the directory. */
#include "algo/algo.h"
#include "cli/cli_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char marker_file[] = "lathe-algo.json";

static int usage(void)
{
    fprintf(stderr,
            "usage: lathe algo list\n"
            "       lathe algo train NAME --train PATH [--validation PATH] [--test PATH]\n"
            "                        [--content-type T]\n"
            "                        [--hp KEY=VALUE ...] --model-dir DIR [--threads N]\n"
            "       lathe algo predict --model-dir DIR --input PATH [--content-type T]\n"
            "                          [--accept application/json[; verbose=true]|application/jsonlines|\n"
            "                                    text/csv|application/x-recordio-protobuf]\n"
            "                          [--threads N]\n");
    return 2;
}

static const char *type_name(lt_hp_type t)
{
    switch (t) {
    case LT_HP_INT: return "int";
    case LT_HP_FLOAT: return "float";
    case LT_HP_BOOL: return "bool";
    case LT_HP_INT_OR_AUTO: return "int|auto";
    case LT_HP_FLOAT_OR_WORD: return "float|word";
    default: return "categorical";
    }
}

static int cmd_list(void)
{
    for (size_t i = 0; i < lt_algo_count(); i++) {
        const lt_algo *a = lt_algo_at(i);
        printf("%s", a->name);
        for (const char *const *n = a->image_names; n && *n; n++) printf(", %s", *n);
        printf("\n  content types:");
        for (const char *const *c = a->content_types; c && *c; c++) printf(" %s", *c);
        printf("\n  metrics:");
        for (const char *const *m = a->metrics; m && *m; m++) printf(" %s", *m);
        printf("\n  hyperparameters:\n");
        for (const lt_hp_spec *h = a->hyperparameters; h->name; h++)
            printf("    %-28s %-11s %s%s\n", h->name, type_name(h->type),
                   h->default_value ? "default " : "required",
                   h->default_value ? h->default_value : "");
    }
    return 0;
}

/* Prints a metric the way SageMaker's built-in algorithms log it, so the same metric
 * regexes (and the tuning jobs that read them) work: "train:msd" becomes
 * "#quality_metric: host=algo-1, train msd <loss>=0.25". */
static void print_metric(void *ctx, const char *name, double value, int iteration)
{
    (void)ctx;
    const char *colon = strchr(name, ':');
    int phase_len = colon ? (int)(colon - name) : 0;
    const char *metric = colon ? colon + 1 : name;
    if (iteration >= 0)
        printf("#progress_metric: host=algo-1, iteration %d, %.*s %s <loss>=%.9g\n", iteration,
               phase_len, name, metric, value);
    else
        printf("#quality_metric: host=algo-1, %.*s %s <loss>=%.9g\n", phase_len, name, metric,
               value);
    fflush(stdout);
}

/* An algorithm's own log line (XGBoost's "[i]<TAB>train-rmse:..."), as its container
 * prints it. */
static void print_log(void *ctx, const char *line)
{
    (void)ctx;
    printf("%s\n", line);
    fflush(stdout);
}

typedef struct algo_args {
    const char *name, *train, *validation, *test, *content_type, *model_dir, *input, *accept;
    int64_t threads;
    json_t *hp;
} algo_args;

static int parse_args(int argc, char **argv, int first, algo_args *a, lt_err *err)
{
    memset(a, 0, sizeof *a);
    a->hp = json_object();
    a->content_type = "text/csv";
    a->accept = "application/jsonlines";
    for (int i = first; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        const char **slot = NULL;
        if (!strcmp(arg, "--train")) slot = &a->train;
        else if (!strcmp(arg, "--validation")) slot = &a->validation;
        else if (!strcmp(arg, "--test")) slot = &a->test;
        else if (!strcmp(arg, "--content-type")) slot = &a->content_type;
        else if (!strcmp(arg, "--model-dir")) slot = &a->model_dir;
        else if (!strcmp(arg, "--input")) slot = &a->input;
        else if (!strcmp(arg, "--accept")) slot = &a->accept;
        if (slot || !strcmp(arg, "--hp") || !strcmp(arg, "--threads")) {
            if (!value) return lt_err_set(err, LT_EINVAL, "%s needs a value", arg);
            i++;
        }
        if (slot) {
            *slot = value;
        } else if (!strcmp(arg, "--threads")) {
            int rc = lt_parse_i64(value, 0, 1024, &a->threads, "--threads", err);
            if (rc) return rc;
        } else if (!strcmp(arg, "--hp")) {
            const char *eq = strchr(value, '=');
            if (!eq || eq == value)
                return lt_err_set(err, LT_EINVAL, "--hp takes KEY=VALUE, got '%s'", value);
            char *key = lt_xstrndup(value, (size_t)(eq - value));
            json_object_set_new(a->hp, key, json_string(eq + 1));
            free(key);
        } else if (arg[0] != '-' && !a->name) {
            a->name = arg;
        } else {
            return lt_err_set(err, LT_EINVAL, "unexpected argument '%s'", arg);
        }
    }
    return 0;
}

/* Process CPU time (every thread's user and system time): on a shared machine a figure
 * that other processes' load does not inflate, printed beside the wall time. */
static int64_t cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) return 0;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int read_data(const char *path, const char *content_type, int threads, bool csv_weights,
                     lt_dataset **out, lt_err *err)
{
    lt_read_options opt = {.content_type = content_type,
                           .source_name = path,
                           .threads = threads,
                           .csv_weights = csv_weights};
    return lt_read_path(path, &opt, out, err);
}

static bool takes_test(const lt_algo *algo)
{
    for (const char *const *m = algo->metrics; m && *m; m++)
        if (lt_str_starts_with(*m, "test:")) return true;
    return false;
}

static int cmd_train(algo_args *a, lt_err *err)
{
    const lt_algo *algo = a->name ? lt_algo_find(a->name) : NULL;
    if (!a->name || !a->train || !a->model_dir) return usage();
    if (!algo) return lt_err_set(err, LT_EINVAL, "no algorithm named '%s' (see `lathe algo list`)", a->name);
    lt_dataset *train = NULL, *validation = NULL, *test = NULL;
    lt_algo_model *model = NULL;
    int64_t start = lt_monotonic_ns();
    /* XGBoost's csv_weights=1: the second CSV column is the instance weight. */
    const char *cw = lt_json_str(a->hp, "csv_weights");
    bool weights = cw && strcmp(cw, "1") == 0;
    int rc = read_data(a->train, a->content_type, (int)a->threads, weights, &train, err);
    if (!rc && a->validation)
        rc = read_data(a->validation, a->content_type, (int)a->threads, weights, &validation, err);
    if (!rc && a->test)
        rc = read_data(a->test, a->content_type, (int)a->threads, weights, &test, err);
    /* Training takes dense data; in libsvm an absent entry is a zero, except for XGBoost,
     * which reads it as missing (NaN). */
    const size_t dense_cap = (size_t)8 << 30;
    const float fill = algo && strcmp(algo->name, "xgboost") == 0 ? NAN : 0.0f;
    if (!rc && train->x.kind == LT_MATRIX_CSR) rc = lt_dataset_densify(train, fill, dense_cap, err);
    if (!rc && validation && validation->x.kind == LT_MATRIX_CSR)
        rc = lt_dataset_densify(validation, fill, dense_cap, err);
    if (!rc && test && test->x.kind == LT_MATRIX_CSR)
        rc = lt_dataset_densify(test, fill, dense_cap, err);
    /* An algorithm that scores no test channel (it declares no test: metric) trains with a
     * lone test channel as its validation data, as Lathe always did. */
    if (!rc && test && !validation && !takes_test(algo)) validation = test, test = NULL;
    int64_t read_ns = lt_monotonic_ns(), read_cpu = cpu_ns();
    if (!rc) {
        lt_algo_train_args targs = {.train = train,
                                    .validation = validation,
                                    .test = test,
                                    .hyperparameters = a->hp,
                                    .threads = (int)a->threads,
                                    .on_metric = print_metric,
                                    .on_log = print_log};
        rc = algo->train(&targs, &model, err);
    }
    int64_t train_ns = lt_monotonic_ns(), train_cpu = cpu_ns();
    if (!rc) rc = lt_mkdir_p(a->model_dir, 0755, err);
    if (!rc) rc = algo->save(model, a->model_dir, err);
    if (!rc) {
        char *path = lt_xasprintf("%s/%s", a->model_dir, marker_file);
        char *text = lt_xasprintf("{\"algorithm\": \"%s\"}\n", algo->name);
        rc = lt_file_write_atomic(path, text, strlen(text), 0644, err);
        free(path);
        free(text);
    }
    if (!rc)
        fprintf(stderr,
                "lathe algo: read %zu rows in %.3f s, trained %s in %.3f s (cpu %.3f s)\n",
                train->x.n_rows, (double)(read_ns - start) / 1e9, algo->name,
                (double)(train_ns - read_ns) / 1e9, (double)(train_cpu - read_cpu) / 1e9);
    if (model) algo->free(model);
    lt_dataset_free(train);
    lt_dataset_free(validation);
    lt_dataset_free(test);
    return rc;
}

/* "application/json; verbose=true" (SageMaker's k-NN) asks for the verbose record. */
static int write_predictions(const lt_algo *algo, const lt_algo_model *model, const double *out,
                             size_t n_rows, const char *accept, lt_err *err)
{
    lt_buf body;
    lt_buf_init(&body, (size_t)4 << 30);
    int rc = lt_algo_format_predictions(algo, model, out, n_rows, accept, &body, err);
    if (!rc) fwrite(body.data ? body.data : "", 1, body.len, stdout);
    lt_buf_free(&body);
    return rc;
}

static int cmd_predict(algo_args *a, lt_err *err)
{
    if (!a->model_dir || !a->input) return usage();
    char *path = lt_xasprintf("%s/%s", a->model_dir, marker_file);
    lt_buf text;
    lt_buf_init(&text, 4096);
    json_t *marker = NULL;
    int rc = lt_file_read(path, &text, err);
    if (!rc) rc = lt_json_parse(text.data, text.len, &marker, err);
    const char *name = rc ? NULL : lt_json_str(marker, "algorithm");
    const lt_algo *algo = name ? lt_algo_find(name) : NULL;
    if (!rc && !algo)
        rc = lt_err_set(err, LT_EINVAL, "%s does not name a known algorithm", path);
    lt_algo_model *model = NULL;
    lt_dataset *input = NULL;
    double *out = NULL;
    int64_t start = lt_monotonic_ns(), read_ns = 0, predict_ns = 0;
    int64_t read_cpu = 0, predict_cpu = 0;
    if (!rc) rc = algo->load(a->model_dir, &model, err);
    if (!rc) rc = read_data(a->input, a->content_type, (int)a->threads, false, &input, err);
    if (!rc) {
        read_ns = lt_monotonic_ns(), read_cpu = cpu_ns();
        size_t width = algo->output_width(model);
        out = lt_xcalloc(input->x.n_rows * width + 1, sizeof *out);
        rc = algo->predict(model, &input->x, (int)a->threads, out, err);
        predict_ns = lt_monotonic_ns(), predict_cpu = cpu_ns();
    }
    if (!rc) rc = write_predictions(algo, model, out, input->x.n_rows, a->accept, err);
    if (!rc)
        fprintf(stderr, "lathe algo: loaded the model and read %zu rows in %.3f s, predicted in "
                        "%.3f s (cpu %.3f s)\n",
                input->x.n_rows, (double)(read_ns - start) / 1e9,
                (double)(predict_ns - read_ns) / 1e9, (double)(predict_cpu - read_cpu) / 1e9);
    free(out);
    if (model) algo->free(model);
    lt_dataset_free(input);
    json_decref(marker);
    lt_buf_free(&text);
    free(path);
    return rc;
}

int lt_cli__cmd_algo(int argc, char **argv)
{
    if (argc < 3) return usage();
    const char *action = argv[2];
    if (!strcmp(action, "list")) return argc == 3 ? cmd_list() : usage();
    if (!strcmp(action, "container-train")) return lt_cli__cmd_algo_container(argc, argv);
    if (strcmp(action, "train") && strcmp(action, "predict")) return usage();
    lt_err err = {0};
    algo_args a;
    int rc = parse_args(argc, argv, 3, &a, &err);
    if (rc) {
        fprintf(stderr, "lathe algo %s: %s\n", action, err.msg);
        json_decref(a.hp);
        return 2;
    }
    rc = !strcmp(action, "train") ? cmd_train(&a, &err) : cmd_predict(&a, &err);
    json_decref(a.hp);
    if (rc == 2) return 2; /* usage already printed */
    if (rc) fprintf(stderr, "lathe algo %s: %s\n", action, err.msg);
    return rc ? 1 : 0;
}

int lt_cli__algo_train(const char *name, const char *train, const char *validation,
                       const char *test, const char *content_type, const char *model_dir,
                       json_t *hp, lt_err *err)
{
    algo_args a = {.name = name,
                   .train = train,
                   .validation = validation,
                   .test = test,
                   .content_type = content_type,
                   .model_dir = model_dir,
                   .hp = hp};
    int rc = cmd_train(&a, err);
    return rc == 2 ? lt_err_set(err, LT_EINVAL, "missing training arguments") : rc;
}
