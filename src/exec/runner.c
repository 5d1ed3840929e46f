/* The job runner: one process per job (`lathe job run`) that takes the job from its stored
 * state to its end. It is not a child that dies with the server: the server can crash and
 * restart while jobs run, and the runner goes on writing the job's state to the store.
 *
 *   Starting -> Downloading (channels, code, checkpoints) -> Training (the hosts run)
 *     -> Uploading (model.tar.gz, output.tar.gz, checkpoints) -> Completed | Failed | Stopped
 *   and, for a managed spot job whose instance is reclaimed: Training -> Interrupted ->
 *   Starting -> ... again from the checkpoints, while MaxWaitTimeInSeconds allows. */
#include "exec/job_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

char *lt_exec_job_dir(const char *data_dir, const char *job_kind, const char *name)
{
    return lt_xasprintf("%s/jobs/%s/%s", data_dir, job_kind, name);
}

static char *lock_path(const char *data_dir, const char *job_kind, const char *name)
{
    return lt_xasprintf("%s/jobs/%s/%s/runner.lock", data_dir, job_kind, name);
}

bool lt_exec_job_running(const char *data_dir, const char *job_kind, const char *name)
{
    char *path = lock_path(data_dir, job_kind, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (fd < 0) return false;
    bool held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd);
    return held;
}

int lt_exec_job_claim(const char *data_dir, const char *job_kind, const char *name, int *lock_fd,
                      lt_err *err)
{
    *lock_fd = -1;
    char *dir = lt_exec_job_dir(data_dir, job_kind, name);
    int rc = lt_mkdir_p(dir, 0755, err);
    char *lock = lock_path(data_dir, job_kind, name);
    int fd = rc ? -1 : open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    free(lock);
    if (!rc && fd < 0) rc = lt_err_set(err, LT_EIO, "cannot open the job's lock: %s", strerror(errno));
    if (!rc && flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        free(dir);
        return 0;
    }
    if (!rc) {
        char *path = lt_xasprintf("%s/runner.json", dir);
        char *text = lt_xasprintf("{\"pid\": %d}\n", (int)getpid());
        rc = lt_exec__write_scratch(path, text, strlen(text), err);
        free(text);
        free(path);
    }
    free(dir);
    if (rc) {
        if (fd >= 0) close(fd);
        return rc;
    }
    *lock_fd = fd;
    return 1;
}

int lt_exec_job_interrupt(const char *data_dir, const char *job_kind, const char *name,
                          lt_err *err)
{
    if (!lt_exec_job_running(data_dir, job_kind, name))
        return lt_err_set(err, LT_ENOTFOUND, "no runner is running the %s job '%s' here",
                          job_kind, name);
    char *path = lt_xasprintf("%s/jobs/%s/%s/runner.json", data_dir, job_kind, name);
    lt_buf buf;
    lt_buf_init(&buf, 4096);
    int rc = lt_file_read(path, &buf, err);
    json_t *doc = NULL;
    if (!rc && lt_json_parse(buf.data, buf.len, &doc, err) != 0) rc = LT_EIO;
    int64_t pid = rc ? 0 : lt_json_int(doc, "pid", 0);
    if (!rc && (pid <= 1 || kill((pid_t)pid, SIGUSR1) != 0))
        rc = lt_err_set(err, LT_EIO, "cannot signal the runner (pid %lld): %s", (long long)pid,
                        strerror(errno));
    json_decref(doc);
    lt_buf_free(&buf);
    free(path);
    return rc;
}

static void on_stop_signal(int sig)
{
    (void)sig;
    lt_exec__stop_requested = 1;
}

static void on_interrupt_signal(int sig)
{
    (void)sig;
    lt_exec__interrupt_requested = 1;
}

/* ---- small document changes --------------------------------------------------------- */

typedef struct phase_args {
    const char *secondary, *message;
    bool training_started;
} phase_args;

static int apply_phase(lt_exec_job *job, json_t *doc, void *ctx, lt_err *err)
{
    (void)err;
    const phase_args *a = ctx;
    lt_exec__secondary(job, doc, a->secondary, a->message);
    if (a->training_started) {
        const char *member = job->training ? "TrainingStartTime" : "ProcessingStartTime";
        if (!json_object_get(doc, member))
            json_object_set_new(doc, member, lt_json_epoch_ms(lt_now_ms()));
    }
    return 0;
}

static int phase(lt_exec_job *job, const char *secondary, const char *message, bool started,
                 lt_err *err)
{
    phase_args a = {secondary, message, started};
    return lt_exec__doc_update(job, apply_phase, &a, err);
}

static int apply_model(lt_exec_job *job, json_t *doc, void *ctx, lt_err *err)
{
    (void)job;
    (void)err;
    json_object_set_new(doc, "ModelArtifacts", json_pack("{s:s}", "S3ModelArtifacts", (char *)ctx));
    return 0;
}

/* ---- metric definitions --------------------------------------------------------------- */

/* A built-in algorithm's metrics need no MetricDefinitions: lathe's algorithms print them
 * as SageMaker's do ("#quality_metric: host=algo-1, train msd <loss>=0.25", or XGBoost's
 * "[3]#011train-rmse:0.5"), and these regexes read both forms. */
static json_t *algorithm_metric_definitions(const char *const *metrics)
{
    json_t *defs = json_array();
    for (const char *const *m = metrics; m && *m; m++) {
        const char *colon = strchr(*m, ':');
        if (!colon) continue;
        char *phase_name = lt_xstrndup(*m, (size_t)(colon - *m));
        char *re1 = lt_xasprintf("#(?:quality|progress)_metric: .*\\b%s %s <loss>=(\\S+)",
                                 phase_name, colon + 1);
        char *re2 = lt_xasprintf("#011%s-%s:([-+0-9.eE]+|nan|inf)", phase_name, colon + 1);
        json_array_append_new(defs, json_pack("{s:s, s:s}", "Name", *m, "Regex", re1));
        json_array_append_new(defs, json_pack("{s:s, s:s}", "Name", *m, "Regex", re2));
        free(re2);
        free(re1);
        free(phase_name);
    }
    return defs;
}

/* ---- one attempt: prepare, run, and collect --------------------------------------------- */

static int open_logs(lt_exec_job *job, lt_err *err)
{
    char *logs_root = lt_xasprintf("%s/logs", job->data_dir);
    const char *group = job->training ? "/aws/sagemaker/TrainingJobs" : "/aws/sagemaker/ProcessingJobs";
    int rc = 0;
    for (int i = 0; i < job->n_hosts && !rc; i++) {
        lt_exec_host *h = &job->hosts[i];
        if (h->log) lt_exec_log_close(h->log);
        h->log = NULL;
        char *stream = lt_xasprintf("%s/%s-%lld", job->name, h->name, (long long)job->epoch_s);
        rc = lt_exec_log_open(&h->log, logs_root, group, stream, err);
        free(stream);
    }
    free(logs_root);
    return rc;
}

static void hosts_reset(lt_exec_job *job)
{
    for (int i = 0; i < job->n_hosts; i++) {
        lt_exec_host *h = &job->hosts[i];
        h->pid = 0;
        h->exited = false;
        h->wait_status = 0;
        if (h->out_fd >= 0) close(h->out_fd);
        h->out_fd = -1;
        for (size_t k = 0; k < LT_EXEC_TAIL_LINES; k++) {
            free(h->tail[k]);
            h->tail[k] = NULL;
        }
        h->tail_next = 0;
    }
}

/* Kills whatever is left of the hosts (after an error between spawns). */
static void hosts_kill(lt_exec_job *job)
{
    for (int i = 0; i < job->n_hosts; i++) {
        lt_exec_host *h = &job->hosts[i];
        if (h->pid > 0 && !h->exited) {
            kill(-h->pid, SIGKILL);
            waitpid(h->pid, &h->wait_status, 0);
            h->exited = true;
        }
    }
}

static int run_attempt(lt_exec_job *job, int attempt, lt_exec_end *end, lt_err *err)
{
    hosts_reset(job);
    job->epoch_s = lt_now_ms() / 1000;
    int rc = 0;
    /* Again after an interruption, or after a restart by RetryStrategy. */
    const char *secondary = lt_json_str(job->doc, "SecondaryStatus");
    if (job->training && (attempt > 0 || (secondary && strcmp(secondary, "Starting") != 0)))
        rc = phase(job, "Starting", "Preparing the instances for training", false, err);
    if (!rc) rc = open_logs(job, err);
    lt_log_debug("job %s: logs open", job->name);
    if (!rc) rc = lt_exec__layout_hosts(job, err);
    lt_log_debug("job %s: laid out", job->name);
    if (!rc) rc = lt_exec__network_prepare(job, err);
    if (!rc && job->training)
        rc = phase(job, "Downloading", "Downloading input data", false, err);
    lt_log_debug("job %s: downloading", job->name);
    if (!rc) rc = lt_exec__stage_inputs(job, err);
    lt_log_debug("job %s: staged", job->name);
    if (!rc && job->training) rc = lt_exec__checkpoint_restore(job, err);
    const char *cwd = NULL;
    char **argv = rc ? NULL : lt_exec__job_argv(job, &cwd, err);
    if (!rc && !argv) rc = err->code ? err->code : LT_EINVAL;
    if (!rc)
        rc = phase(job, "Training", "Training image download completed. Training in progress.",
                   true, err);
    if (!rc && !job->first_training_ms) job->first_training_ms = lt_now_ms();
    lt_log_debug("job %s: training", job->name);
    for (int i = 0; i < job->n_hosts && !rc; i++)
        rc = lt_exec__host_spawn(job, &job->hosts[i], argv, cwd, err);
    lt_log_debug("job %s: spawned", job->name);
    lt_exec__strv_free(argv);
    if (!rc) rc = lt_exec__supervise(job, end, err);
    else hosts_kill(job);
    lt_exec__feeders_stop(job);
    lt_exec__network_release(job);
    for (int i = 0; i < job->n_hosts; i++) {
        lt_exec__host_release(&job->hosts[i]);
        if (job->hosts[i].log) lt_exec_log_flush(job->hosts[i].log, lt_now_ms(), NULL, NULL, &(lt_err){0});
    }
    return rc;
}

static bool all_hosts_ok(const lt_exec_job *job)
{
    for (int i = 0; i < job->n_hosts; i++) {
        int s = job->hosts[i].wait_status;
        if (!job->hosts[i].exited || !WIFEXITED(s) || WEXITSTATUS(s) != 0) return false;
    }
    return true;
}

static char *read_exit_message(const lt_exec_job *job)
{
    char *path = lt_xasprintf("%s/output/message", job->hosts[0].dir);
    lt_buf buf;
    lt_buf_init(&buf, 1024);
    int rc = lt_file_read(path, &buf, &(lt_err){0});
    free(path);
    if ((rc == 0 || rc == LT_ELIMIT) && buf.len > 0) return lt_buf_take(&buf);
    lt_buf_free(&buf);
    return NULL;
}

/* Uploads what the job left and writes its end state. */
static int conclude(lt_exec_job *job, lt_exec_end end, lt_err *err)
{
    char *failure = all_hosts_ok(job) ? NULL : lt_exec__failure_reason(job);
    int rc = 0;
    if (job->training) rc = phase(job, "Uploading", "Uploading generated training model", false, err);
    char *model_uri = NULL;
    lt_err uerr = {0};
    int up = lt_exec__upload_outputs(job, &model_uri, &uerr);
    if (!up && job->training) up = lt_exec__checkpoint_sync(job, &uerr);
    if (!up && model_uri) up = lt_exec__doc_update(job, apply_model, model_uri, &uerr);
    free(model_uri);
    char *upload_failure = up ? lt_xasprintf("ClientError: uploading the job's output failed: %s",
                                             uerr.msg)
                              : NULL;
    const char *kind = job->training ? "Training" : "Processing";
    char done[64], stopped[64], failed[64];
    snprintf(done, sizeof done, "%s job completed", kind);
    snprintf(stopped, sizeof stopped, "%s job stopped", kind);
    snprintf(failed, sizeof failed, "%s job failed", kind);
    if (!rc) {
        if (end == LT_EXEC_END_STOPPED)
            rc = lt_exec__finish(job, "Stopped", "Stopped", stopped, NULL, err);
        else if (end == LT_EXEC_END_MAX_RUNTIME)
            rc = lt_exec__finish(job, "Stopped", "MaxRuntimeExceeded",
                                 "Training job runtime exceeded MaxRuntimeInSeconds provided",
                                 NULL, err);
        else if (failure || upload_failure)
            rc = lt_exec__finish(job, "Failed", "Failed", failed,
                                 failure ? failure : upload_failure, err);
        else {
            char *message = job->training ? NULL : read_exit_message(job);
            /* A processing job's ExitMessage is the program's /opt/ml/output/message only. */
            rc = lt_exec__finish(job, "Completed", "Completed", job->training ? done : message,
                                 NULL, err);
            free(message);
        }
    }
    free(upload_failure);
    free(failure);
    return rc;
}

static int64_t hosts_count(const lt_exec_job *job)
{
    json_t *rc = job->training
                     ? json_object_get(job->doc, "ResourceConfig")
                     : json_object_get(json_object_get(job->doc, "ProcessingResources"), "ClusterConfig");
    int64_t n = lt_json_int(rc, "InstanceCount", 1);
    return n < 1 ? 1 : n > 64 ? 64 : n;
}

static int load_job(lt_exec_job *job, lt_err *err)
{
    int rc = lt_exec__doc_refresh(job, err);
    if (rc) return rc;
    char *spec_name = lt_xasprintf("%s/%s", job->job_kind, job->name);
    json_t *spec = NULL;
    rc = lt_store_resource_doc(job->store, LT_STORE_KIND_JOB_SPEC, spec_name, &spec, err);
    if (!rc) {
        job->image = json_incref(json_object_get(spec, "Image"));
        if (!job->image) rc = lt_err_set(err, LT_EINTERNAL, "the job's spec names no image");
    }
    json_decref(spec);
    free(spec_name);
    if (rc) return rc;
    job->n_hosts = (int)hosts_count(job);
    json_t *res_cfg = job->training
                          ? json_object_get(job->doc, "ResourceConfig")
                          : json_object_get(json_object_get(job->doc, "ProcessingResources"), "ClusterConfig");
    job->instance = lt_exec_instance_type_find(lt_json_str(res_cfg, "InstanceType"));
    job->hosts = lt_xcalloc((size_t)job->n_hosts, sizeof *job->hosts);
    for (int i = 0; i < job->n_hosts; i++) {
        job->hosts[i].index = i + 1;
        snprintf(job->hosts[i].name, sizeof job->hosts[i].name, "algo-%d", i + 1);
        job->hosts[i].dir = lt_xasprintf("%s/hosts/algo-%d", job->dir, i + 1);
        job->hosts[i].out_fd = -1;
    }
    json_t *defs = json_object_get(json_object_get(job->doc, "AlgorithmSpecification"),
                                   "MetricDefinitions");
    json_t *own = NULL;
    json_t *names = json_object_get(job->image, "Metrics"); /* a built-in algorithm's */
    if (job->training && json_array_size(defs) == 0 && json_array_size(names) > 0) {
        const char **list = lt_xcalloc(json_array_size(names) + 1, sizeof *list);
        for (size_t i = 0; i < json_array_size(names); i++)
            list[i] = json_string_value(json_array_get(names, i));
        defs = own = algorithm_metric_definitions(list);
        free(list);
    }
    if (job->training) rc = lt_exec_metrics_new(&job->metrics, defs, err);
    json_decref(own);
    return rc;
}

static void job_free(lt_exec_job *job)
{
    for (int i = 0; job->hosts && i < job->n_hosts; i++) {
        lt_exec_host *h = &job->hosts[i];
        if (h->out_fd >= 0) close(h->out_fd);
        if (h->log) lt_exec_log_close(h->log);
        for (size_t k = 0; k < LT_EXEC_TAIL_LINES; k++) free(h->tail[k]);
        free(h->dir);
    }
    free(job->hosts);
    if (job->metrics) lt_exec_metrics_free(job->metrics);
    if (job->metrics_fd >= 0) close(job->metrics_fd);
    json_decref(job->final_metrics);
    json_decref(job->checkpoint_seen);
    json_decref(job->doc);
    json_decref(job->image);
    free(job->lathe_bin);
    free(job->dir);
}

static bool is_terminal(const char *status)
{
    return status && (strcmp(status, "Completed") == 0 || strcmp(status, "Failed") == 0 ||
                      strcmp(status, "Stopped") == 0);
}

static int64_t stop_grace_ms(void)
{
    const char *v = getenv("LATHE_STOP_GRACE_SECONDS");
    int64_t s = 120; /* SageMaker's */
    if (v && lt_parse_i64(v, 0, 3600, &s, "LATHE_STOP_GRACE_SECONDS", &(lt_err){0}) != 0) s = 120;
    return s * 1000;
}

/* The attempts of one job, restarting a managed spot job after an interruption. */
static int run_to_end(lt_exec_job *job, lt_err *err)
{
    json_t *stop_cfg = json_object_get(job->doc, "StoppingCondition");
    bool spot = json_is_true(json_object_get(job->doc, "EnableManagedSpotTraining"));
    double created = 0;
    lt_json_time(job->doc, "CreationTime", &created);
    int64_t max_wait_ms = lt_json_int(stop_cfg, "MaxWaitTimeInSeconds", 0) * 1000;
    for (int attempt = 0;; attempt++) {
        lt_exec_end end = LT_EXEC_END_EXITED;
        lt_err aerr = {0};
        int rc = run_attempt(job, attempt, &end, &aerr);
        if (rc) {
            const char *msg = aerr.msg[0] ? aerr.msg : "the job could not be started";
            char *reason = lt_str_starts_with(msg, "ClientError") ||
                                   lt_str_starts_with(msg, "InternalServerError")
                               ? lt_xstrdup(msg)
                               : lt_xasprintf("ClientError: %s", msg);
            rc = lt_exec__finish(job, "Failed", "Failed", "Training job failed", reason, err);
            free(reason);
            return rc;
        }
        if (end != LT_EXEC_END_INTERRUPTED) return conclude(job, end, err);
        lt_exec__interrupt_requested = 0;
        lt_err cerr = {0};
        if (lt_exec__checkpoint_sync(job, &cerr) != 0)
            lt_log_warn("job %s: checkpoint upload after interruption: %s", job->name, cerr.msg);
        rc = phase(job, "Interrupted", "The spot instance was reclaimed; training was interrupted",
                   false, err);
        if (rc) return rc;
        int64_t waited = lt_now_ms() - (int64_t)(created * 1000);
        if (!spot || waited >= max_wait_ms)
            return lt_exec__finish(job, "Stopped", spot ? "MaxWaitTimeExceeded" : "Stopped",
                                   spot ? "The job exceeded MaxWaitTimeInSeconds"
                                        : "Interrupted, and the job is not a managed spot job",
                                   NULL, err);
        lt_err serr = {0};
        if (lt_exec__stop_requested ||
            (lt_exec__doc_refresh(job, &serr) == 0 && strcmp(lt_exec__status(job), "Stopping") == 0))
            return lt_exec__finish(job, "Stopped", "Stopped", "Training job stopped", NULL, err);
    }
}

int lt_exec_job_run(lt_store *store, lt_blob *blob, const char *data_dir, const char *job_kind,
                    const char *name, lt_err *err)
{
    bool training = strcmp(job_kind, "training") == 0;
    if (!training && strcmp(job_kind, "processing") != 0)
        return lt_err_set(err, LT_EINVAL, "unknown job kind '%s' (training or processing)",
                          job_kind);
    lt_exec_job job = {.store = store,
                       .blob = blob,
                       .data_dir = data_dir,
                       .job_kind = job_kind,
                       .store_kind = training ? LT_STORE_KIND_TRAINING_JOB
                                              : LT_STORE_KIND_PROCESSING_JOB,
                       .name = name,
                       .training = training,
                       .metrics_fd = -1};
    job.dir = lt_exec_job_dir(data_dir, job_kind, name);
    int rc = lt_mkdir_p(job.dir, 0755, err);
    char *lock = lock_path(data_dir, job_kind, name);
    int lock_fd = rc ? -1 : open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    free(lock);
    if (!rc && lock_fd < 0) rc = lt_err_set(err, LT_EIO, "cannot open the job's lock: %s", strerror(errno));
    if (!rc && flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
        /* Another runner has the job: nothing to do. */
        close(lock_fd);
        free(job.dir);
        return 0;
    }
    if (!rc) {
        char *path = lt_xasprintf("%s/runner.json", job.dir);
        char *text = lt_xasprintf("{\"pid\": %d}\n", (int)getpid());
        rc = lt_exec__write_scratch(path, text, strlen(text), err);
        free(text);
        free(path);
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_stop_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_interrupt_signal;
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    lt_log_debug("job %s: runner locked", name);
    if (!rc) rc = load_job(&job, err);
    if (!rc && !is_terminal(lt_exec__status(&job))) {
        char exe[4096];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        job.lathe_bin = lt_xstrdup(n > 0 ? (exe[n] = '\0', exe) : "lathe");
        job.stop_grace_ms = stop_grace_ms();
        job.final_metrics = json_object();
        char *metrics_path = lt_xasprintf("%s/metrics.jsonl", job.dir);
        job.metrics_fd = open(metrics_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        free(metrics_path);
        if (strcmp(lt_exec__status(&job), "Stopping") == 0)
            rc = lt_exec__finish(&job, "Stopped", "Stopped", "Stopped before it started", NULL, err);
        else
            rc = run_to_end(&job, err);
        if (!getenv("LATHE_KEEP_JOB_DIRS")) {
            char *hosts = lt_xasprintf("%s/hosts", job.dir);
            lt_rm_rf(hosts, &(lt_err){0});
            free(hosts);
        }
    } else if (rc && job.doc) {
        lt_err ferr = {0};
        char *reason = lt_xasprintf("InternalServerError: %s", err->msg);
        lt_exec__finish(&job, "Failed", "Failed", "The job could not be started", reason, &ferr);
        free(reason);
    }
    job_free(&job);
    if (lock_fd >= 0) close(lock_fd);
    return rc;
}
