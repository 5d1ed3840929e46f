/* The tuning runner: the body of `lathe job run tuning NAME`, started by the server's
 * executor like a training job's runner. It drives the tune library with real training
 * jobs: asks the strategy for configurations, creates each as a training job through the
 * api (so every check CreateTrainingJob makes applies), reads their final objective (and,
 * for early stopping and Hyperband, the intermediate points of their metrics.jsonl), stops
 * the trials the strategy gives up on, and keeps the tuning job's document current
 * (counters, BestTrainingJob). Everything it needs is in the store, so a new runner after a
 * crash or a restart rebuilds the tuner from the trials and carries on.
 *
 * TrainingJobDefinitions (several algorithms in one tuning job): each definition has its
 * own space and its own tuner (one surrogate per definition), and each new trial goes to
 * one definition, chosen by pick_definition below. A union space with the definition as a
 * categorical would put every other definition's parameters in as inactive dimensions
 * (and definitions may share a name with different ranges or meaning), which the GP can only
 * learn to ignore at the cost of trials; separate tuners keep each model exact, and Grid and
 * Hyperband work per definition unchanged. */
#include "api/api.h"
#include "cli/cli_internal.h"
#include "exec/exec.h"
#include "tune/tune.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct trial {
    char *name;
    size_t def;      /* index of its training job definition */
    int id;          /* its definition's tuner's id */
    bool told;       /* its outcome was given to the tuner */
    bool stop_asked; /* StopTrainingJob sent */
    long offset;     /* bytes of its metrics.jsonl already read */
    int retries;     /* times it was run again after a platform failure */
    int steps;
    json_t *doc;     /* last read */
} trial;

/* A training job definition: the single TrainingJobDefinition, or one of
 * TrainingJobDefinitions. */
typedef struct defn {
    const char *name;   /* DefinitionName; NULL for a TrainingJobDefinition without one */
    json_t *definition; /* borrowed from the runner's doc */
    const char *metric; /* its objective metric */
    lt_tune_space *space;
    lt_tune *tune;
    bool exhausted;     /* Grid has run out of combinations */
    size_t launched;    /* trials created for it (retries not counted) */
} defn;

#define DEF_MAX 10        /* TrainingJobDefinitions: at most 10 (the API's limit) */
#define DEF_FIRST_TRIALS 2 /* trials each definition gets before the allocation rule */

typedef struct runner {
    lt_cli__data *data;
    lt_api *api;
    const char *name;
    json_t *doc;
    json_t *config;
    defn defs[DEF_MAX];
    size_t n_defs;
    bool maximize;
    uint64_t rng; /* the allocation rule's draws (splitmix64) */
    trial *trials;
    size_t n_trials;
    int64_t max_jobs, max_parallel, max_runtime_s;
    int create_failures;
    int warm_trials;          /* parents' trials given to the tuner */
    json_t *parent_best;      /* the best parent trial's document (warm start) */
    double parent_best_value;
    char *parent_best_tuning;
} runner;

/* Trials start at once: the tuning runner spawns their runners itself (the server's
 * reconcile would too, within a couple of seconds). */
typedef struct spawn_ctx {
    const char *data_dir;
    char lathe_bin[4096];
} spawn_ctx;

static void spawn_trial(void *ctx, const char *kind, const char *name, const char *action)
{
    const spawn_ctx *sc = ctx;
    if (strcmp(kind, "training") == 0 && strcmp(action, "start") == 0)
        lt_exec_spawn_runner(sc->data_dir, sc->lathe_bin, kind, name);
}

static volatile sig_atomic_t stop_signal;
static void on_signal(int sig)
{
    (void)sig;
    stop_signal = 1;
}

static json_t *call(runner *r, const char *op, json_t *input, lt_err *err)
{
    char *text = lt_json_dump(input);
    json_decref(input);
    lt_api_reply reply;
    lt_api_call(r->api, op, text, strlen(text), &reply);
    free(text);
    json_t *out = NULL;
    if (lt_json_parse(reply.body ? reply.body : "{}", reply.body_len, &out, NULL) != 0) out = NULL;
    if (reply.status != 200) {
        lt_err_set(err, LT_EINVAL, "%s: %s", reply.error_type ? reply.error_type : "error",
                   lt_json_str(out, "message") ? lt_json_str(out, "message") : "");
        json_decref(out);
        out = NULL;
    }
    lt_api_reply_free(&reply);
    return out;
}

/* ---- trials ------------------------------------------------------------------------- */

typedef struct trial_marks {
    const char *tuning_arn;
    const char *definition; /* NULL: none */
} trial_marks;

/* A trial's document records its tuning job (TuningJobArn, as DescribeTrainingJob shows
 * it) and its definition's name (which ListTrainingJobsForHyperParameterTuningJob and a
 * restarted runner read back). */
static void mark_trial(json_t *doc, void *ctx)
{
    const trial_marks *m = ctx;
    json_object_set_new(doc, "TuningJobArn", json_string(m->tuning_arn));
    if (m->definition)
        json_object_set_new(doc, "TrainingJobDefinitionName", json_string(m->definition));
}

/* Creates trial number `index` (1-based) of definition d with these hyperparameters; *name
 * gets its name (new). false with cerr set when CreateTrainingJob refused it. */
static bool create_trial(runner *r, const defn *d, size_t index, json_t *hps, char **name,
                         lt_err *cerr)
{
    char hex[9];
    uint8_t bytes[4];
    lt_random_bytes(bytes, sizeof bytes);
    lt_hex_encode(hex, bytes, 4);
    *name = lt_xasprintf("%.32s-%03zu-%s", r->name, index, hex);
    json_t *req = json_deep_copy(d->definition);
    json_object_del(req, "StaticHyperParameters");
    json_object_del(req, "DefinitionName");
    json_object_del(req, "TuningObjective");
    json_object_del(req, "HyperParameterRanges");
    json_object_set_new(req, "HyperParameters", hps);
    json_object_set_new(req, "TrainingJobName", json_string(*name));
    if (!json_object_get(req, "RoleArn"))
        json_object_set_new(req, "RoleArn", json_string("arn:aws:iam::000000000000:role/lathe"));
    json_t *out = call(r, "CreateTrainingJob", req, cerr);
    if (!out) return false;
    json_decref(out);
    trial_marks marks = {lt_json_str(r->doc, "HyperParameterTuningJobArn"), d->name};
    lt_cli__doc_update(r->data->store, LT_STORE_KIND_TRAINING_JOB, *name, r->name,
                       "TrainingJobStatus", mark_trial, &marks, &(lt_err){0});
    return true;
}

static uint64_t next_random(runner *r)
{
    uint64_t z = (r->rng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double final_metric(const json_t *doc, const char *metric, bool *found);

/* Which definition the next trial goes to; -1 when every one has run out (Grid).
 * Grid takes the definitions in order, each to its last combination. Otherwise each
 * definition first gets DEF_FIRST_TRIALS trials; after that a bootstrap Thompson draw: for
 * each definition with results, the best of n values drawn with replacement from its n
 * results; the lowest draw (in the minimising direction) gets the trial. A definition's
 * chance thus follows how likely its best is to be the best overall, so a clearly worse
 * algorithm stops receiving trials while a close one keeps some, without comparing the
 * surrogates (each models its own space and scale). A definition without any result yet
 * (its trials failed or are still running) gets a trial only when no other has results. */
static long pick_definition(runner *r, lt_tune_strategy strategy)
{
    long pick = -1;
    for (size_t k = 0; k < r->n_defs; k++) {
        const defn *d = &r->defs[k];
        if (d->exhausted) continue;
        if (strategy == LT_TUNE_GRID || r->n_defs == 1) return (long)k;
        if (d->launched < DEF_FIRST_TRIALS &&
            (pick < 0 || d->launched < r->defs[pick].launched))
            pick = (long)k;
    }
    if (pick >= 0) return pick;
    double *values = lt_xmalloc((r->n_trials + 1) * sizeof *values);
    double best_draw = INFINITY;
    for (size_t k = 0; k < r->n_defs; k++) {
        if (r->defs[k].exhausted) continue;
        size_t n = 0;
        for (size_t i = 0; i < r->n_trials; i++) {
            const trial *t = &r->trials[i];
            bool found = false;
            double v = t->def == k && t->told && t->doc
                           ? final_metric(t->doc, r->defs[k].metric, &found)
                           : NAN;
            if (found && isfinite(v)) values[n++] = r->maximize ? -v : v;
        }
        double draw = INFINITY;
        for (size_t j = 0; j < n; j++) {
            double v = values[next_random(r) % n];
            if (v < draw) draw = v;
        }
        if (n > 0 && (pick < 0 || draw < best_draw)) {
            pick = (long)k;
            best_draw = draw;
        }
    }
    free(values);
    for (size_t k = 0; pick < 0 && k < r->n_defs; k++) /* no results anywhere yet */
        if (!r->defs[k].exhausted &&
            (pick < 0 || r->defs[k].launched < r->defs[pick].launched))
            pick = (long)k;
    return pick;
}

static int launch(runner *r, lt_tune_strategy strategy, lt_err *err)
{
    int id = 0;
    size_t got = 0;
    long k = -1;
    int rc = 0;
    while (!rc && got == 0) {
        k = pick_definition(r, strategy);
        if (k < 0) return LT_ENOTFOUND; /* Grid ran out of combinations */
        rc = lt_tune_ask(r->defs[k].tune, 1, &id, &got, err);
        if (!rc && got == 0) r->defs[k].exhausted = true;
    }
    if (rc) return rc;
    defn *d = &r->defs[k];
    d->launched++;
    const double *values = lt_tune_trial_values(d->tune, id);
    json_t *tuned = lt_tune_space_to_json(d->space, values, true);
    json_t *hps = json_deep_copy(json_object_get(d->definition, "StaticHyperParameters"));
    if (!hps) hps = json_object();
    json_object_update(hps, tuned);
    json_decref(tuned);
    char *name = NULL;
    lt_err cerr = {0};
    bool created = create_trial(r, d, r->n_trials + 1, hps, &name, &cerr);
    r->trials = lt_xrealloc(r->trials, (r->n_trials + 1) * sizeof *r->trials);
    trial *t = &r->trials[r->n_trials++];
    memset(t, 0, sizeof *t);
    t->name = name;
    t->def = (size_t)k;
    t->id = id;
    if (!created) {
        /* Counted as a failed trial; the reason goes into the tuning job's log. */
        lt_log_warn("tuning %s: trial %s could not be created: %s", r->name, name, cerr.msg);
        lt_tune_tell(d->tune, id, LT_TUNE_FAILED, NAN, NULL);
        t->told = true;
        r->create_failures++;
        if (r->create_failures >= 3 && r->n_trials == (size_t)r->create_failures)
            return lt_err_set(err, LT_EINVAL, "ClientError: the training jobs cannot be created: %s",
                              cerr.msg);
        return 0;
    }
    r->create_failures = 0;
    return 0;
}

/* A trial that failed for the platform's reasons (InternalServerError: its runner died) is
 * run again once, under a new name, with the same configuration, as SageMaker retries
 * RetryableError trials; the tuner hears only the retry's outcome. */
static bool retry_trial(runner *r, size_t index, trial *t)
{
    const char *reason = lt_json_str(t->doc, "FailureReason");
    if (t->retries >= 1 || !reason || !lt_str_starts_with(reason, "InternalServerError")) return false;
    json_t *hps = json_deep_copy(json_object_get(t->doc, "HyperParameters"));
    char *name = NULL;
    lt_err cerr = {0};
    if (!create_trial(r, &r->defs[t->def], index + 1, hps, &name, &cerr)) {
        free(name);
        return false;
    }
    lt_log_warn("tuning %s: trial %s failed (%s); retrying it as %s", r->name, t->name, reason, name);
    free(t->name);
    t->name = name;
    t->retries++;
    t->steps = 0;
    t->offset = 0;
    t->stop_asked = false;
    return true;
}

static double final_metric(const json_t *doc, const char *metric, bool *found)
{
    size_t i;
    json_t *m;
    *found = false;
    double v = NAN;
    json_array_foreach(json_object_get(doc, "FinalMetricDataList"), i, m)
        if (metric && strcmp(lt_json_str(m, "MetricName"), metric) == 0) {
            v = json_number_value(json_object_get(m, "Value"));
            *found = true;
        }
    return v;
}

/* New points of the objective metric, for early stopping and Hyperband. */
static void read_points(runner *r, trial *t)
{
    char *path = lt_xasprintf("%s/jobs/training/%s/metrics.jsonl", r->data->dir, t->name);
    FILE *f = fopen(path, "re");
    free(path);
    if (!f) return;
    if (fseek(f, t->offset, SEEK_SET) != 0) {
        fclose(f);
        return;
    }
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        if (n == 0 || line[n - 1] != '\n') break; /* a line still being written */
        t->offset += (long)n;
        json_t *p = NULL;
        if (lt_json_parse(line, n, &p, NULL) != 0) continue;
        const char *name = lt_json_str(p, "MetricName");
        const defn *d = &r->defs[t->def];
        if (name && d->metric && strcmp(name, d->metric) == 0)
            lt_tune_report(d->tune, t->id, ++t->steps, json_number_value(json_object_get(p, "Value")),
                           NULL);
        json_decref(p);
    }
    fclose(f);
}

static bool terminal(const char *status)
{
    return status && (strcmp(status, "Completed") == 0 || strcmp(status, "Failed") == 0 ||
                      strcmp(status, "Stopped") == 0);
}

static void stop_trial(runner *r, trial *t)
{
    if (t->stop_asked) return;
    t->stop_asked = true;
    json_decref(call(r, "StopTrainingJob", json_pack("{s:s}", "TrainingJobName", t->name), &(lt_err){0}));
}

typedef struct tally {
    int completed, in_progress, retryable, non_retryable, stopped;
    int succeeded, pending, failed;
    long best; /* index into the runner's trials (which launch may move), or -1 */
    double best_value;
} tally;

static void observe(runner *r, tally *c)
{
    memset(c, 0, sizeof *c);
    c->best = -1;
    for (size_t i = 0; i < r->n_trials; i++) {
        trial *t = &r->trials[i];
        json_t *doc = NULL;
        if (lt_store_resource_doc(r->data->store, LT_STORE_KIND_TRAINING_JOB, t->name, &doc, &(lt_err){0}) != 0) {
            c->non_retryable++;
            c->failed++;
            continue;
        }
        json_decref(t->doc);
        t->doc = doc;
        const char *status = lt_json_str(doc, "TrainingJobStatus");
        lt_tune *tune = r->defs[t->def].tune;
        bool found = false;
        double value = final_metric(doc, r->defs[t->def].metric, &found);
        if (!terminal(status)) {
            c->in_progress++;
            c->pending++;
            if (!t->told) {
                read_points(r, t);
                if (lt_tune_should_stop(tune, t->id)) stop_trial(r, t);
            }
            continue;
        }
        if (!t->told && strcmp(status, "Failed") == 0 && !stop_signal && retry_trial(r, i, t)) {
            c->in_progress++;
            c->pending++;
            continue;
        }
        if (strcmp(status, "Completed") == 0) c->completed++;
        else if (strcmp(status, "Stopped") == 0) c->stopped++;
        else if (lt_str_starts_with(lt_json_str(doc, "FailureReason") ? lt_json_str(doc, "FailureReason") : "",
                                    "InternalServerError"))
            c->retryable++;
        else c->non_retryable++;
        bool ok = found && isfinite(value) && strcmp(status, "Failed") != 0;
        if (ok) c->succeeded++;
        else c->failed++;
        if (!t->told) {
            if (!t->steps) read_points(r, t);
            lt_tune_tell(tune, t->id,
                         strcmp(status, "Completed") == 0 && ok ? LT_TUNE_COMPLETED
                         : strcmp(status, "Stopped") == 0       ? LT_TUNE_STOPPED
                                                                : LT_TUNE_FAILED,
                         ok ? value : NAN, NULL);
            t->told = true;
        }
        if (ok && (c->best < 0 || (r->maximize ? value > c->best_value : value < c->best_value))) {
            c->best = (long)i;
            c->best_value = value;
        }
    }
}

typedef struct progress {
    runner *r;
    const tally *c;
    const char *status; /* NULL: keep */
    const char *failure;
} progress;

static json_t *trial_summary(const defn *d, const json_t *trial_doc, double value,
                             const char *tuning)
{
    json_t *s = json_object();
    static const char *const members[] = {"TrainingJobName", "TrainingJobArn", "CreationTime",
                                          "TrainingStartTime", "TrainingEndTime",
                                          "TrainingJobStatus", NULL};
    for (const char *const *m = members; *m; m++)
        if (json_object_get(trial_doc, *m)) json_object_set(s, *m, json_object_get(trial_doc, *m));
    json_t *tuned = json_object();
    for (size_t i = 0; i < d->space->n_params; i++) {
        const char *name = d->space->params[i].name;
        json_t *v = json_object_get(json_object_get(trial_doc, "HyperParameters"), name);
        if (v) json_object_set(tuned, name, v);
    }
    json_object_set_new(s, "TunedHyperParameters", tuned);
    json_object_set_new(s, "TuningJobName", json_string(tuning));
    if (d->name) json_object_set_new(s, "TrainingJobDefinitionName", json_string(d->name));
    json_object_set_new(s, "FinalHyperParameterTuningJobObjectiveMetric",
                        json_pack("{s:s, s:f}", "MetricName", d->metric, "Value", value));
    json_object_set_new(s, "ObjectiveStatus", json_string("Succeeded"));
    return s;
}

static void apply_progress(json_t *doc, void *ctx)
{
    const progress *p = ctx;
    const tally *c = p->c;
    json_object_set_new(doc, "TrainingJobStatusCounters",
                        json_pack("{s:i, s:i, s:i, s:i, s:i}", "Completed", c->completed,
                                  "InProgress", c->in_progress, "RetryableError", c->retryable,
                                  "NonRetryableError", c->non_retryable, "Stopped", c->stopped));
    json_object_set_new(doc, "ObjectiveStatusCounters",
                        json_pack("{s:i, s:i, s:i}", "Succeeded", c->succeeded, "Pending",
                                  c->pending, "Failed", c->failed));
    runner *r = p->r;
    const json_t *best_doc = c->best >= 0 ? r->trials[c->best].doc : NULL;
    const defn *best_def = c->best >= 0 ? &r->defs[r->trials[c->best].def] : NULL;
    if (best_doc)
        json_object_set_new(doc, "BestTrainingJob",
                            trial_summary(best_def, best_doc, c->best_value, r->name));
    bool parent_wins = r->parent_best && (!best_doc || (r->maximize ? r->parent_best_value > c->best_value
                                                                    : r->parent_best_value < c->best_value));
    if (parent_wins)
        json_object_set_new(doc, "OverallBestTrainingJob",
                            trial_summary(&r->defs[0], r->parent_best, r->parent_best_value,
                                          r->parent_best_tuning));
    else if (best_doc)
        json_object_set_new(doc, "OverallBestTrainingJob",
                            trial_summary(best_def, best_doc, c->best_value, r->name));
    if (p->status) {
        json_object_set_new(doc, "HyperParameterTuningJobStatus", json_string(p->status));
        json_object_set_new(doc, "HyperParameterTuningEndTime", lt_json_epoch_ms(lt_now_ms()));
    }
    if (p->failure) json_object_set_new(doc, "FailureReason", json_string(p->failure));
}

static int record(runner *r, const tally *c, const char *status, const char *failure, lt_err *err)
{
    progress p = {r, c, status, failure};
    return lt_cli__doc_update(r->data->store, LT_STORE_KIND_TUNING_JOB, r->name, NULL,
                  "HyperParameterTuningJobStatus", apply_progress, &p, err);
}

typedef struct name_list {
    char **v;
    size_t n;
} name_list;

static int collect_name(void *ctx, const lt_store_resource *res, lt_err *e)
{
    (void)e;
    name_list *l = ctx;
    l->v = lt_xrealloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = lt_xstrdup(res->name);
    return 0;
}

/* A training job's configuration in the space's terms; false when one of the space's
 * hyperparameters is absent or out of its range (a warm-start parent with other ranges). */
static bool values_of(const lt_tune_space *space, const json_t *doc, double *values)
{
    json_t *hps = json_object_get(doc, "HyperParameters");
    bool complete = true;
    for (size_t i = 0; i < space->n_params; i++) {
        const lt_tune_param *p = &space->params[i];
        const char *v = lt_json_str(hps, p->name);
        values[i] = p->kind == LT_TUNE_CATEGORICAL ? 0 : p->min;
        bool ok = false;
        if (v && p->kind == LT_TUNE_CATEGORICAL) {
            for (size_t j = 0; j < p->n_values; j++)
                if (strcmp(p->values[j], v) == 0) {
                    values[i] = (double)j;
                    ok = true;
                }
        } else if (v) {
            char *end = NULL;
            double d = strtod(v, &end);
            ok = end && *end == '\0' && d >= p->min && d <= p->max;
            if (ok) values[i] = d;
        }
        complete &= ok;
    }
    return complete;
}

/* After a restart: the trials that exist become the tuner's again. */
static void recover(runner *r, lt_tune_strategy strategy)
{
    name_list l = {0};
    lt_store_list_params params = {.kind = LT_STORE_KIND_TRAINING_JOB, .parent_equals = r->name,
                                   .sort_by = LT_STORE_SORT_NAME, .limit = 1000};
    char *next = NULL;
    lt_err err = {0};
    lt_store_resource_list(r->data->store, &params, collect_name, &l, &next, &err);
    free(next);
    size_t n_values = 1;
    for (size_t k = 0; k < r->n_defs; k++)
        if (r->defs[k].space->n_params + 1 > n_values) n_values = r->defs[k].space->n_params + 1;
    double *values = lt_xcalloc(n_values, sizeof *values);
    for (size_t k = 0; k < l.n; k++) {
        json_t *doc = NULL;
        int id = -1;
        size_t def = 0;
        if (lt_store_resource_doc(r->data->store, LT_STORE_KIND_TRAINING_JOB, l.v[k], &doc, &err) == 0) {
            const char *dname = lt_json_str(doc, "TrainingJobDefinitionName");
            for (size_t j = 0; dname && j < r->n_defs; j++)
                if (r->defs[j].name && strcmp(r->defs[j].name, dname) == 0) def = j;
            defn *d = &r->defs[def];
            values_of(d->space, doc, values);
            size_t got = 0;
            if (strategy == LT_TUNE_GRID) lt_tune_ask(d->tune, 1, &id, &got, &err);
            else lt_tune_add(d->tune, values, &id);
            d->launched++;
        }
        json_decref(doc);
        r->trials = lt_xrealloc(r->trials, (r->n_trials + 1) * sizeof *r->trials);
        trial *t = &r->trials[r->n_trials++];
        memset(t, 0, sizeof *t);
        t->name = l.v[k];
        t->def = def;
        t->id = id;
        if (id < 0) t->told = true;
    }
    free(values);
    free(l.v);
}

/* WarmStartConfig: the finished trials of the parent tuning jobs seed the tuner (they
 * are not this job's trials and count against no limit). The parents' best is kept for
 * OverallBestTrainingJob. Only with one definition (the API refuses warm start with
 * several, as SageMaker does). */
static void warm_start(runner *r)
{
    json_t *warm = json_object_get(r->doc, "WarmStartConfig");
    defn *d = &r->defs[0];
    double *values = lt_xcalloc(d->space->n_params + 1, sizeof *values);
    size_t i;
    json_t *parent;
    json_array_foreach(json_object_get(warm, "ParentHyperParameterTuningJobs"), i, parent) {
        const char *pname = lt_json_str(parent, "HyperParameterTuningJobName");
        name_list l = {0};
        lt_store_list_params params = {.kind = LT_STORE_KIND_TRAINING_JOB, .parent_equals = pname,
                                       .sort_by = LT_STORE_SORT_NAME, .limit = 1000};
        char *next = NULL;
        lt_store_resource_list(r->data->store, &params, collect_name, &l, &next, &(lt_err){0});
        free(next);
        for (size_t k = 0; k < l.n; k++) {
            json_t *doc = NULL;
            if (lt_store_resource_doc(r->data->store, LT_STORE_KIND_TRAINING_JOB, l.v[k], &doc, &(lt_err){0}) == 0) {
                bool found = false;
                double value = final_metric(doc, d->metric, &found);
                const char *status = lt_json_str(doc, "TrainingJobStatus");
                int id;
                if (found && isfinite(value) && status && strcmp(status, "Completed") == 0 &&
                    values_of(d->space, doc, values) && lt_tune_add(d->tune, values, &id) == 0) {
                    lt_tune_tell(d->tune, id, LT_TUNE_COMPLETED, value, NULL);
                    r->warm_trials++;
                    if (!r->parent_best || (r->maximize ? value > r->parent_best_value
                                                        : value < r->parent_best_value)) {
                        json_decref(r->parent_best);
                        r->parent_best = json_incref(doc);
                        r->parent_best_value = value;
                        free(r->parent_best_tuning);
                        r->parent_best_tuning = lt_xstrdup(pname);
                    }
                }
            }
            json_decref(doc);
            free(l.v[k]);
        }
        free(l.v);
    }
    free(values);
}

static bool limit_reached(const runner *r)
{
    return r->max_jobs > 0 && (int64_t)r->n_trials >= r->max_jobs;
}

/* The resource range Hyperband works over: HyperbandStrategyConfig's MinResource (1 if
 * absent) and MaxResource, or else the epochs among the static hyperparameters (the keys
 * SageMaker infers it from). The API has checked one is there. */
static void hyperband_resources(const runner *r, const json_t *statics, lt_tune_params *params)
{
    json_t *hb = json_object_get(json_object_get(r->config, "StrategyConfig"),
                                 "HyperbandStrategyConfig");
    params->min_resource = (int)lt_json_int(hb, "MinResource", 1);
    int64_t max = lt_json_int(hb, "MaxResource", 0);
    static const char *const keys[] = {"epochs", "numepochs", "n-epochs", "n_epochs", "num_epochs"};
    for (size_t i = 0; max == 0 && i < sizeof keys / sizeof *keys; i++) {
        const char *v = lt_json_str(statics, keys[i]);
        if (v) lt_parse_i64(v, 1, 20000, &max, keys[i], NULL);
    }
    if (max > 0) params->max_resource = (int)max;
}

/* The definitions in the tuning job's document: each one's objective and ranges are its
 * own (TuningObjective, HyperParameterRanges) or else the tuning job config's. */
static int setup_definitions(runner *r, const lt_tune_params *base, lt_err *err)
{
    json_t *one = json_object_get(r->doc, "TrainingJobDefinition");
    json_t *many = json_object_get(r->doc, "TrainingJobDefinitions");
    size_t n = one ? 1 : json_array_size(many);
    if (n == 0 || n > DEF_MAX)
        return lt_err_set(err, LT_EINVAL, "The tuning job has %zu training job definitions (1 to %d).",
                          n, DEF_MAX);
    json_t *config_objective = json_object_get(r->config, "HyperParameterTuningJobObjective");
    for (size_t k = 0; k < n; k++) {
        defn *d = &r->defs[k];
        d->definition = one ? one : json_array_get(many, k);
        d->name = lt_json_str(d->definition, "DefinitionName");
        json_t *objective = json_object_get(d->definition, "TuningObjective");
        if (!objective) objective = config_objective;
        d->metric = lt_json_str(objective, "MetricName");
        if (k == 0) {
            const char *type = lt_json_str(objective, "Type");
            r->maximize = type && strcmp(type, "Maximize") == 0;
        }
        json_t *ranges = json_object_get(d->definition, "HyperParameterRanges");
        if (!ranges) ranges = json_object_get(r->config, "ParameterRanges");
        int rc = lt_tune_space_parse(ranges, &d->space, err);
        if (rc) return rc;
        r->n_defs = k + 1;
        lt_tune_params params = *base;
        params.maximize = r->maximize;
        /* Definitions draw different sequences from one seed. */
        params.seed = base->seed + (uint64_t)k * 0xD1B54A32D192ED03ULL;
        if (params.strategy == LT_TUNE_HYPERBAND)
            hyperband_resources(r, json_object_get(d->definition, "StaticHyperParameters"), &params);
        rc = lt_tune_new(d->space, &params, &d->tune, err);
        if (rc) return rc;
    }
    return 0;
}

static int setup(runner *r, lt_tune_strategy *strategy, lt_err *err)
{
    r->config = json_object_get(r->doc, "HyperParameterTuningJobConfig");
    json_t *limits = json_object_get(r->config, "ResourceLimits");
    r->max_jobs = lt_json_int(limits, "MaxNumberOfTrainingJobs", 0);
    r->max_parallel = lt_json_int(limits, "MaxParallelTrainingJobs", 1);
    r->max_runtime_s = lt_json_int(limits, "MaxRuntimeInSeconds", 0);
    const char *s = lt_json_str(r->config, "Strategy");
    int rc = lt_tune_strategy_parse(s ? s : "Bayesian", strategy, err);
    if (rc) return rc;
    lt_tune_params params = lt_tune_params_default();
    params.strategy = *strategy;
    /* A runner that takes over after another must not draw its predecessor's sequence
     * again: the seed moves on with the trials already made. */
    name_list existing = {0};
    lt_store_list_params lp = {.kind = LT_STORE_KIND_TRAINING_JOB, .parent_equals = r->name,
                               .limit = 1000};
    char *next = NULL;
    lt_store_resource_list(r->data->store, &lp, collect_name, &existing, &next, &(lt_err){0});
    free(next);
    for (size_t i = 0; i < existing.n; i++) free(existing.v[i]);
    free(existing.v);
    params.seed = (uint64_t)lt_json_int(r->config, "RandomSeed", 0) +
                  (uint64_t)existing.n * 0x9E3779B97F4A7C15ULL;
    r->rng = params.seed ^ 0x5DEECE66DULL;
    const char *early = lt_json_str(r->config, "TrainingJobEarlyStoppingType");
    params.early_stopping = early && strcmp(early, "Auto") == 0;
    rc = setup_definitions(r, &params, err);
    if (rc) return rc;
    if (*strategy == LT_TUNE_GRID && r->max_jobs == 0)
        for (size_t k = 0; k < r->n_defs; k++)
            r->max_jobs += (int64_t)lt_tune_grid_size(r->defs[k].space, params.grid_points);
    return 0;
}

/* The region and account of the ARNs the server makes, read off the tuning job's ARN. */
static void arn_parts(const char *arn, char *region, size_t rcap, char *account, size_t acap)
{
    /* arn:aws:sagemaker:<region>:<account>:... */
    snprintf(region, rcap, "us-east-1");
    snprintf(account, acap, "000000000000");
    const char *p = arn;
    for (int i = 0; p && i < 3; i++) p = strchr(p, ':') ? strchr(p, ':') + 1 : NULL;
    const char *q = p ? strchr(p, ':') : NULL;
    if (!q) return;
    snprintf(region, rcap, "%.*s", (int)(q - p), p);
    const char *e = strchr(q + 1, ':');
    if (e) snprintf(account, acap, "%.*s", (int)(e - q - 1), q + 1);
}

static int drive(runner *r, lt_tune_strategy strategy, lt_err *err)
{
    recover(r, strategy);
    if (strategy != LT_TUNE_GRID) warm_start(r);
    double created = 0;
    lt_json_time(r->doc, "CreationTime", &created);
    const char *target_text = NULL;
    json_t *criteria = json_object_get(r->config, "TuningJobCompletionCriteria");
    json_t *target = json_object_get(criteria, "TargetObjectiveMetricValue");
    (void)target_text;
    for (;;) {
        tally c;
        observe(r, &c);
        json_t *now_doc = NULL;
        const char *status = NULL;
        if (lt_store_resource_doc(r->data->store, LT_STORE_KIND_TUNING_JOB, r->name, &now_doc, err) == 0)
            status = lt_json_str(now_doc, "HyperParameterTuningJobStatus");
        bool stopping = stop_signal || (status && strcmp(status, "Stopping") == 0);
        json_decref(now_doc);
        bool reached = target && c.best >= 0 &&
                       (r->maximize ? c.best_value >= json_number_value(target)
                                    : c.best_value <= json_number_value(target));
        bool timed_out = r->max_runtime_s > 0 &&
                         (double)lt_now_ms() / 1000.0 - created >= (double)r->max_runtime_s;
        if (stopping || reached || timed_out) {
            for (size_t i = 0; i < r->n_trials; i++)
                if (!r->trials[i].told && r->trials[i].doc &&
                    !terminal(lt_json_str(r->trials[i].doc, "TrainingJobStatus")))
                    stop_trial(r, &r->trials[i]);
            if (c.in_progress == 0)
                return record(r, &c, stopping ? "Stopped" : "Completed", NULL, err);
        } else {
            int rc = 0;
            while (!rc && (int64_t)c.in_progress < r->max_parallel && !limit_reached(r)) {
                rc = launch(r, strategy, err);
                if (rc == LT_ENOTFOUND) { /* Grid ran out of combinations */
                    r->max_jobs = (int64_t)r->n_trials;
                    rc = 0;
                    break;
                }
                c.in_progress++;
            }
            if (rc) {
                record(r, &c, "Failed", err->msg, &(lt_err){0});
                return 0;
            }
            if (limit_reached(r) && c.in_progress == 0) {
                observe(r, &c);
                if (c.in_progress == 0)
                    return record(r, &c, c.succeeded ? "Completed" : "Failed",
                                  c.succeeded ? NULL
                                              : "No training job of this tuning job reported the "
                                                "objective metric.",
                                  err);
            }
        }
        record(r, &c, NULL, NULL, &(lt_err){0});
        struct timespec pause = {0, 250 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
}

int lt_cli__tuning_run(lt_cli__data *data, const char *name, lt_err *err)
{
    int lock_fd = -1;
    int rc = lt_exec_job_claim(data->dir, "tuning", name, &lock_fd, err);
    if (rc <= 0) return rc; /* another runner has it */
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    runner r = {.data = data, .name = name};
    rc = lt_store_resource_doc(data->store, LT_STORE_KIND_TUNING_JOB, name, &r.doc, err);
    const char *status = rc ? NULL : lt_json_str(r.doc, "HyperParameterTuningJobStatus");
    if (!rc && status && (strcmp(status, "InProgress") == 0 || strcmp(status, "Stopping") == 0)) {
        char region[64], account[16];
        arn_parts(lt_json_str(r.doc, "HyperParameterTuningJobArn"), region, sizeof region, account,
                  sizeof account);
        spawn_ctx sc = {.data_dir = data->dir};
        ssize_t n = readlink("/proc/self/exe", sc.lathe_bin, sizeof sc.lathe_bin - 1);
        sc.lathe_bin[n > 0 ? n : 0] = '\0';
        signal(SIGCHLD, SIG_IGN); /* trial runners are reaped by the kernel */
        lt_api_config cfg = {.region = region,
                             .account_id = account,
                             .on_job = n > 0 ? spawn_trial : NULL,
                             .on_job_ctx = &sc};
        lt_tune_strategy strategy;
        rc = lt_api_open(&r.api, data->store, data->blob, &cfg, err);
        if (!rc) rc = setup(&r, &strategy, err);
        if (!rc) rc = drive(&r, strategy, err);
        else {
            tally none = {.best = -1};
            record(&r, &none, "Failed", err->msg, &(lt_err){0});
        }
    }
    for (size_t i = 0; i < r.n_trials; i++) {
        free(r.trials[i].name);
        json_decref(r.trials[i].doc);
    }
    free(r.trials);
    json_decref(r.parent_best);
    free(r.parent_best_tuning);
    for (size_t k = 0; k < DEF_MAX; k++) {
        if (r.defs[k].tune) lt_tune_free(r.defs[k].tune);
        if (r.defs[k].space) lt_tune_space_free(r.defs[k].space);
    }
    if (r.api) lt_api_close(r.api);
    json_decref(r.doc);
    close(lock_fd);
    return rc;
}
