/* `lathe tune`: hyper-parameter tuning of any command, without a server.
 *
 *   lathe tune run --space SPACE.json --strategy bayesian|random|grid|hyperband --trials N
 *       [--parallel P] [--seed K] [--objective-type Minimize|Maximize] [--objective-regex RE]
 *       [--env] [--early-stopping Auto|Off] [--min-resource R] [--max-resource R]
 *       [--grid-points G] -- COMMAND ...
 *   lathe tune stdio --space SPACE.json --strategy S [--seed K] [--objective-type T] ...
 *
 * SPACE.json is SageMaker's ParameterRanges object. `run` ends by printing exactly one JSON
 * line, {"best_objective": ..., "best_hyperparameters": {...}, "trials": N}. `stdio` is the
 * ask/tell protocol for drivers in other languages (the benchmark uses it): one command a
 * line on stdin, one JSON line answered for each:
 *   ask N                  -> {"trials": [{"id": I, "hyperparameters": {...}}, ...],
 *                              "ms": wall time of the ask, "cpu_ms": its CPU time}
 *   tell ID VALUE          -> {"ok": true}        (the trial completed with VALUE)
 *   fail ID                -> {"ok": true}
 *   stop ID [VALUE]        -> {"ok": true}        (stopped early; VALUE or its last report)
 *   report ID STEP VALUE   -> {"stop": true|false}
 *   best                   -> {"best_objective": V, "best_hyperparameters": {...}}
 * Errors answer {"error": "..."}; end of input ends the session. */
#include "cli/cli_internal.h"
#include "tune/tune.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define SPACE_MAX_BYTES (1 << 20)

static void usage(void)
{
    fprintf(stderr,
            "usage: lathe tune run --space SPACE.json --strategy bayesian|random|grid|hyperband\n"
            "           --trials N [--parallel P] [--seed K] [--objective-type Minimize|Maximize]\n"
            "           [--objective-regex RE] [--env] [--early-stopping Auto|Off]\n"
            "           [--min-resource R] [--max-resource R] [--grid-points G] -- COMMAND ...\n"
            "       lathe tune create [--file] REQUEST.json|REQUEST.yaml [--name NAME] [--no-wait]\n"
            "       lathe tune watch NAME\n"
            "       lathe tune stdio --space SPACE.json --strategy S [--seed K]\n"
            "           [--objective-type T] [--grid-points G] [--min-resource R] [--max-resource R]\n");
}

static int int_option(int argc, char **argv, bool *used, const char *name, int64_t min,
                      int64_t max, int64_t *out, lt_err *err)
{
    const char *s = lt_cli__option(argc, argv, used, name);
    if (!s) return 0;
    char what[64];
    snprintf(what, sizeof what, "--%s", name);
    return lt_parse_i64(s, min, max, out, what, err);
}

/* The options both subcommands share, parsed from argv[0..argc) (before any `--`). */
static int parse_common(int argc, char **argv, bool *used, lt_tune_space **space,
                        lt_tune_params *params, lt_err *err)
{
    *params = lt_tune_params_default();
    const char *space_path = lt_cli__option(argc, argv, used, "space");
    const char *strategy = lt_cli__option(argc, argv, used, "strategy");
    const char *objective = lt_cli__option(argc, argv, used, "objective-type");
    const char *stopping = lt_cli__option(argc, argv, used, "early-stopping");
    if (!space_path) return lt_err_set(err, LT_EINVAL, "--space SPACE.json is required");
    int rc = lt_tune_strategy_parse(strategy ? strategy : "bayesian", &params->strategy, err);
    if (rc) return rc;
    if (objective && strcasecmp(objective, "Maximize") == 0) params->maximize = true;
    else if (objective && strcasecmp(objective, "Minimize") != 0)
        return lt_err_set(err, LT_EINVAL, "--objective-type must be Minimize or Maximize");
    if (stopping && strcasecmp(stopping, "Auto") == 0) params->early_stopping = true;
    else if (stopping && strcasecmp(stopping, "Off") != 0)
        return lt_err_set(err, LT_EINVAL, "--early-stopping must be Auto or Off");
    int64_t seed = 0, gp = params->grid_points, minr = params->min_resource,
            maxr = params->max_resource;
    if ((rc = int_option(argc, argv, used, "seed", 0, INT64_MAX, &seed, err)) ||
        (rc = int_option(argc, argv, used, "grid-points", 1, 1000, &gp, err)) ||
        (rc = int_option(argc, argv, used, "min-resource", 1, 20000, &minr, err)) ||
        (rc = int_option(argc, argv, used, "max-resource", 1, 20000, &maxr, err)))
        return rc;
    params->seed = (uint64_t)seed;
    params->grid_points = (int)gp;
    params->min_resource = (int)minr;
    params->max_resource = (int)maxr;
    lt_buf text;
    lt_buf_init(&text, SPACE_MAX_BYTES);
    rc = lt_file_read(space_path, &text, err);
    if (!rc) rc = lt_tune_space_parse_text(text.data, text.len, space, err);
    lt_buf_free(&text);
    if (rc && err->code && !strstr(err->msg, space_path)) {
        /* Name the file; the first message is kept, so print it here. */
        fprintf(stderr, "lathe tune: %s: %s\n", space_path, err->msg);
        err->msg[0] = '\0';
    }
    return rc;
}

static void print_json_line(json_t *obj)
{
    char *text = lt_json_dump(obj);
    printf("%s\n", text);
    fflush(stdout);
    free(text);
    json_decref(obj);
}

static json_t *best_json(const lt_tune *tune, const lt_tune_space *space)
{
    int id;
    double value;
    if (lt_tune_best(tune, &id, &value) != 0)
        return json_pack("{s:n,s:{}}", "best_objective", "best_hyperparameters");
    return json_pack("{s:f,s:o}", "best_objective", value, "best_hyperparameters",
                     lt_tune_space_to_json(space, lt_tune_trial_values(tune, id), false));
}

static int cmd_run(int argc, char **argv)
{
    /* Options end at `--`; what follows is the command. */
    int dash = -1;
    for (int i = 3; i < argc; i++)
        if (strcmp(argv[i], "--") == 0) {
            dash = i;
            break;
        }
    if (dash < 0 || dash + 1 >= argc) {
        fprintf(stderr, "lathe tune run: give the command to tune after `--`\n");
        usage();
        return 2;
    }
    bool *used = lt_xcalloc((size_t)dash + 1, sizeof *used);
    used[0] = used[1] = used[2] = true;
    lt_err err = {0};
    lt_tune_space *space = NULL;
    lt_tune_params params;
    lt_tune *tune = NULL;
    pcre2_code *regex = NULL;
    int status = 2;
    int rc = parse_common(dash, argv, used, &space, &params, &err);
    const char *trials = lt_cli__option(dash, argv, used, "trials");
    const char *re = lt_cli__option(dash, argv, used, "objective-regex");
    bool use_env = lt_cli__flag(dash, argv, used, "env");
    int64_t n_trials = 0, parallel = 1;
    if (!rc && trials) rc = lt_parse_i64(trials, 1, 1000000, &n_trials, "--trials", &err);
    if (!rc && !trials) {
        if (params.strategy == LT_TUNE_GRID)
            n_trials = (int64_t)lt_tune_grid_size(space, params.grid_points);
        else
            rc = lt_err_set(&err, LT_EINVAL, "--trials N is required");
    }
    if (!rc) rc = int_option(dash, argv, used, "parallel", 1, 1024, &parallel, &err);
    if (!rc && re) {
        int code;
        PCRE2_SIZE offset;
        regex = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, 0, &code, &offset, NULL);
        if (!regex) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(code, msg, sizeof msg);
            rc = lt_err_set(&err, LT_EINVAL, "--objective-regex: %s at offset %zu", (char *)msg,
                            (size_t)offset);
        }
    }
    if (!rc && lt_cli__reject_unused(dash, argv, used, 3)) {
        rc = LT_EINVAL;
        err.msg[0] = '\0';
    }
    if (!rc) rc = lt_tune_new(space, &params, &tune, &err);
    if (rc) {
        if (err.msg[0]) fprintf(stderr, "lathe tune run: %s\n", err.msg);
        goto done;
    }
    if (params.strategy == LT_TUNE_GRID) {
        size_t size = lt_tune_grid_size(space, params.grid_points);
        if ((size_t)n_trials > size) n_trials = (int64_t)size;
    }
    lt_cli__tune_run run = {.tune = tune,
                            .space = space,
                            .argv = argv + dash + 1,
                            .argc = argc - dash - 1,
                            .n_trials = (int)n_trials,
                            .parallel = (int)parallel,
                            .use_env = use_env,
                            .intermediate = params.strategy == LT_TUNE_HYPERBAND ||
                                            params.early_stopping,
                            .regex = regex,
                            .tty = isatty(1) == 1};
    rc = lt_cli__tune_run_trials(&run, &err);
    if (rc) fprintf(stderr, "lathe tune run: %s\n", err.msg);
    json_t *out = best_json(tune, space);
    json_object_set_new(out, "trials", json_integer(run.launched));
    int best_id;
    double best;
    status = lt_tune_best(tune, &best_id, &best) == 0 && !rc ? 0 : 1;
    if (status && !rc) fprintf(stderr, "lathe tune run: no trial produced an objective value\n");
    print_json_line(out);
    if (run.interrupted) status = 130;
done:
    pcre2_code_free(regex);
    lt_tune_free(tune);
    lt_tune_space_free(space);
    free(used);
    return status;
}

static json_t *stdio_command(lt_tune *tune, const lt_tune_space *space, char *line)
{
    char cmd[16] = "";
    int id = -1, n = 0;
    double value = NAN;
    lt_err err = {0};
    int rc;
    if (sscanf(line, "%15s", cmd) != 1) return json_pack("{s:s}", "error", "empty command");
    if (strcmp(cmd, "ask") == 0) {
        if (sscanf(line, "%*s %d", &n) != 1 || n < 1 || n > 10000)
            return json_pack("{s:s}", "error", "usage: ask N (1..10000)");
        int *ids = lt_xcalloc((size_t)n, sizeof(int));
        size_t got = 0;
        struct timespec c0, c1;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
        int64_t t0 = lt_monotonic_ns();
        rc = lt_tune_ask(tune, (size_t)n, ids, &got, &err);
        double ms = (double)(lt_monotonic_ns() - t0) / 1e6;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
        double cpu_ms = (double)(c1.tv_sec - c0.tv_sec) * 1e3 + (double)(c1.tv_nsec - c0.tv_nsec) / 1e6;
        json_t *list = json_array();
        for (size_t k = 0; !rc && k < got; k++)
            json_array_append_new(list, json_pack("{s:i,s:o}", "id", ids[k], "hyperparameters",
                                                  lt_tune_space_to_json(space,
                                                      lt_tune_trial_values(tune, ids[k]), false)));
        free(ids);
        if (rc) {
            json_decref(list);
            return json_pack("{s:s}", "error", err.msg);
        }
        return json_pack("{s:o,s:f,s:f}", "trials", list, "ms", ms, "cpu_ms", cpu_ms);
    }
    if (strcmp(cmd, "tell") == 0 || strcmp(cmd, "fail") == 0 || strcmp(cmd, "stop") == 0) {
        int k = sscanf(line, "%*s %d %lf", &id, &value);
        if (k < 1 || (cmd[0] == 't' && k < 2))
            return json_pack("{s:s}", "error", "usage: tell ID VALUE | fail ID | stop ID [VALUE]");
        lt_tune_outcome o = cmd[0] == 't' ? LT_TUNE_COMPLETED
                            : cmd[0] == 'f' ? LT_TUNE_FAILED
                                            : LT_TUNE_STOPPED;
        rc = lt_tune_tell(tune, id, o, k >= 2 ? value : NAN, &err);
        return rc ? json_pack("{s:s}", "error", err.msg) : json_pack("{s:b}", "ok", 1);
    }
    if (strcmp(cmd, "report") == 0) {
        int step;
        if (sscanf(line, "%*s %d %d %lf", &id, &step, &value) != 3)
            return json_pack("{s:s}", "error", "usage: report ID STEP VALUE");
        rc = lt_tune_report(tune, id, step, value, &err);
        return rc ? json_pack("{s:s}", "error", err.msg)
                  : json_pack("{s:b}", "stop", lt_tune_should_stop(tune, id));
    }
    if (strcmp(cmd, "best") == 0) return best_json(tune, space);
    return json_pack("{s:s}", "error", "unknown command (ask, tell, fail, stop, report, best)");
}

static int cmd_stdio(int argc, char **argv)
{
    bool *used = lt_xcalloc((size_t)argc + 1, sizeof *used);
    used[0] = used[1] = used[2] = true;
    lt_err err = {0};
    lt_tune_space *space = NULL;
    lt_tune_params params;
    lt_tune *tune = NULL;
    int rc = parse_common(argc, argv, used, &space, &params, &err);
    if (!rc && lt_cli__reject_unused(argc, argv, used, 3)) {
        rc = LT_EINVAL;
        err.msg[0] = '\0';
    }
    if (!rc) rc = lt_tune_new(space, &params, &tune, &err);
    if (rc) {
        if (err.msg[0]) fprintf(stderr, "lathe tune stdio: %s\n", err.msg);
        lt_tune_space_free(space);
        free(used);
        return 2;
    }
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, stdin) > 0) print_json_line(stdio_command(tune, space, line));
    free(line);
    lt_tune_free(tune);
    lt_tune_space_free(space);
    free(used);
    return 0;
}

int lt_cli__cmd_tune(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[2], "run") == 0) return cmd_run(argc, argv);
    if (argc >= 3 && strcmp(argv[2], "stdio") == 0) return cmd_stdio(argc, argv);
    if (argc >= 3 && (strcmp(argv[2], "create") == 0 || strcmp(argv[2], "watch") == 0))
        return lt_cli__cmd_tune_job(argc, argv);
    usage();
    return 2;
}
