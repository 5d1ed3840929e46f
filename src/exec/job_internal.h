/* Private to exec: the job runner's state and the files that share it (layout, staging,
 * pipes, sandbox, supervision, checkpoints, the job document). */
#ifndef LT_EXEC_JOB_INTERNAL_H
#define LT_EXEC_JOB_INTERNAL_H

#include "exec/exec.h"

#include <pthread.h>
#include <signal.h>
#include <sys/types.h>

enum { LT_EXEC_TAIL_LINES = 8 }; /* last log lines kept per host for FailureReason */

/* Where the sandbox of a built-in algorithm's job sees the lathe binary. */
#define LT_EXEC__SANDBOX_LATHE "/opt/lathe/lathe"

typedef struct lt_exec_host {
    int index;     /* 1-based */
    char name[16]; /* "algo-1" */
    char *dir;     /* the host's /opt/ml on the machine */
    pid_t pid;     /* 0 before start and after it was reaped */
    int out_fd;    /* the read end of the host's stdout+stderr pipe; -1 when closed */
    bool exited;
    int wait_status;
    lt_exec_log *log;
    char *tail[LT_EXEC_TAIL_LINES];
    size_t tail_next;
    char *cgroups[2]; /* memory and cpu cgroup directories made for it, or NULL */
} lt_exec_host;

typedef struct lt_exec_feeder lt_exec_feeder;

typedef struct lt_exec_job {
    lt_store *store;
    lt_blob *blob;
    const char *data_dir;
    const char *job_kind;   /* "training" | "processing" */
    const char *store_kind; /* LT_STORE_KIND_TRAINING_JOB | ..._PROCESSING_JOB */
    const char *name;
    bool training;
    char *dir; /* lt_exec_job_dir */
    json_t *doc;   /* the job document as last read (refreshed by lt_exec__doc_update) */
    json_t *image; /* the job spec's Image */
    char *lathe_bin;

    int n_hosts;
    lt_exec_host *hosts;
    const lt_exec_instance_type *instance;
    char hosts_file[4096]; /* /etc/hosts for the sandbox */
    pid_t netns_holder;    /* the process that owns an isolated job's network, or 0 */

    lt_exec_metrics *metrics;
    json_t *final_metrics; /* name -> {"MetricName","Value","Timestamp"} */
    bool metrics_dirty;
    int metrics_fd; /* metrics.jsonl */

    lt_exec_feeder **feeders;
    size_t n_feeders;

    int64_t attempt_start_ms; /* when the current run of the hosts began */
    int64_t billable_ms;      /* time the hosts ran over every attempt */
    int64_t first_training_ms;
    int64_t stop_grace_ms;
    int64_t epoch_s; /* in log stream names */
    json_t *checkpoint_seen; /* relative path -> "size:mtime" already uploaded */
} lt_exec_job;

/* Set by the runner's signal handlers. */
extern volatile sig_atomic_t lt_exec__interrupt_requested;
extern volatile sig_atomic_t lt_exec__stop_requested;

/* ---- job_doc.c: the stored document ---- */
typedef int (*lt_exec_doc_fn)(lt_exec_job *job, json_t *doc, void *ctx, lt_err *err);
/* In one transaction: reads the document, lets fn change it, writes it back (status column
 * from TrainingJobStatus / ProcessingJobStatus), and keeps a copy in job->doc. */
int lt_exec__doc_update(lt_exec_job *job, lt_exec_doc_fn fn, void *ctx, lt_err *err);
/* Reads the document into job->doc. */
int lt_exec__doc_refresh(lt_exec_job *job, lt_err *err);
/* The job's primary status member. */
const char *lt_exec__status(const lt_exec_job *job);
/* Appends a SecondaryStatusTransition (training jobs only; no-op for processing). */
void lt_exec__secondary(lt_exec_job *job, json_t *doc, const char *status, const char *message);
/* Sets the primary status (and SecondaryStatus / FailureReason / end times as given). */
int lt_exec__finish(lt_exec_job *job, const char *status, const char *secondary,
                    const char *message, const char *failure, lt_err *err);

/* ---- layout.c: each host's /opt/ml and environment ---- */
/* Writes a file of the job directory. No fsync: the directory is scratch, rebuilt from the
 * store when a job starts again, so its files need no durability (and skipping the fsyncs
 * is most of a fast job start). */
int lt_exec__write_scratch(const char *path, const void *data, size_t len, lt_err *err);
int lt_exec__layout_hosts(lt_exec_job *job, lt_err *err);
/* The environment for host h: a NULL-terminated array of "K=V" (free with lt_exec__strv_free). */
char **lt_exec__host_env(lt_exec_job *job, const lt_exec_host *h);
/* The command the sandbox runs for the job (argv, NULL-terminated) and its working dir. */
char **lt_exec__job_argv(lt_exec_job *job, const char **cwd, lt_err *err);
void lt_exec__strv_free(char **v);
/* A hyperparameter's value with the SDK's JSON encoding removed ("\"train.py\"" -> train.py). */
char *lt_exec__hp_decoded(const json_t *hps, const char *key);

/* ---- stage.c: input channels, code, outputs ---- */
int lt_exec__stage_inputs(lt_exec_job *job, lt_err *err);
int lt_exec__upload_outputs(lt_exec_job *job, char **model_uri, lt_err *err);
/* Copies one object to a local file. */
int lt_exec__copy_object(lt_exec_job *job, const char *bucket, const char *key, const char *path,
                         lt_err *err);
/* Copies every object under uri into dir (key minus the prefix's directory part). */
int lt_exec__download_prefix(lt_exec_job *job, const char *uri, const char *dir, int shard,
                             int n_shards, lt_err *err);
/* Uploads every file under dir to uri_prefix + relative path (skipping unchanged ones
 * when seen is non-NULL: an object of path -> "size:mtime"). */
int lt_exec__upload_tree(lt_exec_job *job, const char *dir, const char *uri_prefix,
                         json_t *seen, lt_err *err);

/* ---- pipe_feed.c: Pipe-mode FIFOs ---- */
int lt_exec__feeder_start(lt_exec_job *job, const lt_exec_host *h, const json_t *channel,
                          const char *fifo_base, lt_err *err);
void lt_exec__feeders_stop(lt_exec_job *job);

/* ---- sandbox.c: bubblewrap, network, limits ---- */
int lt_exec__network_prepare(lt_exec_job *job, lt_err *err);
void lt_exec__network_release(lt_exec_job *job);
int lt_exec__host_spawn(lt_exec_job *job, lt_exec_host *h, char **argv, const char *cwd,
                        lt_err *err);
void lt_exec__host_release(lt_exec_host *h);

/* ---- supervise.c: running the hosts to their end ---- */
typedef enum {
    LT_EXEC_END_EXITED = 0,   /* every host exited by itself */
    LT_EXEC_END_STOPPED,      /* StopTrainingJob */
    LT_EXEC_END_MAX_RUNTIME,  /* MaxRuntimeInSeconds */
    LT_EXEC_END_INTERRUPTED,  /* a (simulated) spot reclaim */
} lt_exec_end;
int lt_exec__supervise(lt_exec_job *job, lt_exec_end *end, lt_err *err);
/* The FailureReason for hosts that exited non-zero (NULL when all exited 0; new string). */
char *lt_exec__failure_reason(lt_exec_job *job);

/* ---- checkpoint.c ---- */
/* CheckpointConfig's S3 URI and in-sandbox local path, or NULL when the job has none. */
const char *lt_exec__checkpoint_uri(const lt_exec_job *job);
int lt_exec__checkpoint_restore(lt_exec_job *job, lt_err *err);
int lt_exec__checkpoint_sync(lt_exec_job *job, lt_err *err);

#endif
