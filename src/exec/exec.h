/*
 * exec: runs training and processing jobs as sandboxed processes under the SageMaker
 * container contract, and keeps what they leave behind (logs, metric points, artifacts).
 *
 * The pieces, each in its own file:
 *   - instance types: the vCPU / memory / GPU size behind "ml.m5.large" (limits, SM_NUM_CPUS);
 *   - images: a directory registered as an image (copied, content-addressed);
 *   - log streams: one durable, append-only file per host, read back by stream and offset;
 *   - metrics: MetricDefinitions regexes (PCRE2) applied to each log line as it is written;
 *   - the job runner (`lathe job run`): lays out /opt/ml, stages channels, starts one bubblewrap
 *     sandbox per host, enforces limits, uploads outputs and writes every state change to the
 *     store. It is its own process, so a server crash does not take running jobs down;
 *   - the executor: starts runners, signals them (stop, interrupt) and, after a server restart,
 *     accounts for every job that was running.
 *
 * Errors follow base.h (LT_EINVAL for what a request got wrong, LT_EIO for the disk).
 *
 * Threads: pack, images, log reading and listing keep no state and may run anywhere at
 * once. An lt_exec_log (one writer per stream) and an lt_exec_metrics are each used by one
 * thread at a time; readers of a stream need no lock against its writer.
 */
#ifndef LT_EXEC_H
#define LT_EXEC_H

#include "base/base.h"
#include "blob/blob.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- instance types ------------------------------------------------------------------ */

typedef struct lt_exec_instance_type {
    const char *name; /* "ml.m5.large" */
    int vcpus;
    int memory_gib;
    int gpus;
} lt_exec_instance_type;

/* The size of an instance type, or NULL when the table does not know it (a job then runs
 * with the machine's own size and no limits). */
const lt_exec_instance_type *lt_exec_instance_type_find(const char *name);

/* ---- images ------------------------------------------------------------------------ */

/* Copies src_dir into images_root/sha256/<digest>/ (the digest covers every path, mode and
 * content in src_dir, so the same tree gives the same digest and is stored once), and
 * returns the digest ("sha256:<64 hex>") and the stored path (both new; caller frees).
 * LT_EINVAL when src_dir is not a directory or has no executable `train` or `serve` at its
 * top. */
int lt_exec_image_import(const char *images_root, const char *src_dir, char **digest,
                         char **stored_path, lt_err *err);

/* ---- log streams ------------------------------------------------------------------- */

/* A log stream is a file of events, one per line: "<epoch ms> <message>\n". Messages never
 * contain a newline (the writer splits on them). Group and stream names follow CloudWatch
 * ("/aws/sagemaker/TrainingJobs", "<job>/algo-1-<epoch s>"); the file lives at
 * logs_root/<group without the leading '/', '/' kept>/<stream>. */
typedef struct lt_exec_log lt_exec_log;

int lt_exec_log_open(lt_exec_log **out, const char *logs_root, const char *group,
                     const char *stream, lt_err *err);
/* Appends raw bytes as they come from a pipe: complete lines become events stamped with
 * now_ms, a partial line is kept until its end arrives (or lt_exec_log_flush). Calls
 * on_line (may be NULL) for each complete line with its text. Lines over 256 KiB are cut
 * into several events. */
typedef void (*lt_exec_line_fn)(void *ctx, const char *line, size_t len, int64_t ts_ms);
int lt_exec_log_write(lt_exec_log *log, const char *data, size_t len, int64_t now_ms,
                      lt_exec_line_fn on_line, void *ctx, lt_err *err);
/* Ends a partial line and fsyncs. */
int lt_exec_log_flush(lt_exec_log *log, int64_t now_ms, lt_exec_line_fn on_line, void *ctx,
                      lt_err *err);
/* Closes the file; a partial line not ended by lt_exec_log_flush is dropped. */
void lt_exec_log_close(lt_exec_log *log);

typedef struct lt_exec_log_stream {
    char *name;            /* "<job>/algo-1-1700000000" */
    int64_t first_ms;      /* first event's time (creation time when empty) */
    int64_t last_ms;       /* last event's time */
    uint64_t stored_bytes; /* file size */
} lt_exec_log_stream;

/* Streams of a group whose name starts with prefix (may be NULL), sorted by name.
 * *out is an array of *n (free with lt_exec_log_streams_free). A group with no streams
 * gives n = 0 and rc 0; a group that was never written (no directory) is LT_ENOTFOUND.
 * Group and stream names with an empty, "." or ".." component are LT_EINVAL (here and in
 * every function of this section). */
int lt_exec_log_streams(const char *logs_root, const char *group, const char *prefix,
                        lt_exec_log_stream **out, size_t *n, lt_err *err);
void lt_exec_log_streams_free(lt_exec_log_stream *streams, size_t n);

typedef struct lt_exec_log_event {
    int64_t ts_ms;
    char *message;
    uint64_t offset; /* where the event's line starts in the stream file */
} lt_exec_log_event;

/* Reads up to max events of one stream starting at byte offset *offset (0: the start),
 * skipping events before start_ms / at or after end_ms when those are > 0, and advances
 * *offset past what it read, so a follower calls it again with the same offset to get what
 * was written since. A line not yet ended by '\n' (being written) is neither returned nor
 * passed. One call returns at most about 1 MiB of messages (at least one event), as
 * CloudWatch's GetLogEvents does; call again from *offset for more. A missing stream is
 * LT_ENOTFOUND. */
int lt_exec_log_read(const char *logs_root, const char *group, const char *stream,
                     uint64_t *offset, size_t max, int64_t start_ms, int64_t end_ms,
                     lt_exec_log_event **out, size_t *n, lt_err *err);
void lt_exec_log_events_free(lt_exec_log_event *events, size_t n);

/* ---- metrics ----------------------------------------------------------------------- */

/* MetricDefinitions applied to log lines. Each definition's regex (PCRE2, searched anywhere
 * in the line) is tried on the line with tabs replaced by "#011" (as SageMaker's log
 * pipeline writes them) and, if that does not match, on the raw line; the first capture
 * group (the whole match when there is none) parsed as a number is one point. */
typedef struct lt_exec_metrics lt_exec_metrics;

/* definitions: a JSON array of {"Name": ..., "Regex": ...} (may be NULL or empty).
 * LT_EINVAL names the definition whose regex does not compile, with PCRE2's message and
 * offset. */
int lt_exec_metrics_new(lt_exec_metrics **out, const json_t *definitions, lt_err *err);
void lt_exec_metrics_free(lt_exec_metrics *m);

/* Called for each point found. */
typedef void (*lt_exec_point_fn)(void *ctx, const char *metric, double value, int64_t ts_ms);
/* Applies every definition to one line; returns how many points it found. */
int lt_exec_metrics_scan(lt_exec_metrics *m, const char *line, size_t len, int64_t ts_ms,
                         lt_exec_point_fn on_point, void *ctx);

/* ---- jobs ---------------------------------------------------------------------------- */

/* A job's work directory: data_dir/jobs/<job_kind>/<name> (new string). job_kind is
 * "training" or "processing". It holds the runner's lock and pid, each host's /opt/ml tree
 * while the job runs, and metrics.jsonl (every metric point, one JSON object a line). */
char *lt_exec_job_dir(const char *data_dir, const char *job_kind, const char *name);

/* Runs one job from its stored state to its end: the body of `lathe job run`. Holds an
 * exclusive lock on the job directory for its whole life (a second runner of the same job
 * returns 0 at once), and writes every state change to the job's document in the store.
 * Returns non-zero only when the job could not be run at all (its document is then Failed
 * with the reason, where the store can still be written). */
int lt_exec_job_run(lt_store *store, lt_blob *blob, const char *data_dir, const char *job_kind,
                    const char *name, lt_err *err);

/* Starts `<lathe_bin> job run --data-dir DIR KIND NAME` in its own session (signals
 * unblocked, output appended to the job directory's runner.log) at the jobs' niceness
 * (lt_exec_job_nice). The pid, or -1. */
pid_t lt_exec_spawn_runner(const char *data_dir, const char *lathe_bin, const char *job_kind,
                           const char *name);
/* The niceness jobs run at: LATHE_JOB_NICE (0-19), default 10, so that a job busy on every
 * core leaves the server's threads the CPU they ask for. */
int lt_exec_job_nice(void);

/* Takes a job's runner lock for a runner that lives elsewhere (the tuning runner is in
 * the cli, beside the api and the tune library) and writes its runner.json: 1 with *lock_fd
 * held (close it at the end), 0 when another runner has the job, or an error. */
int lt_exec_job_claim(const char *data_dir, const char *job_kind, const char *name, int *lock_fd,
                      lt_err *err);

/* Whether a runner holds the job's lock now. */
bool lt_exec_job_running(const char *data_dir, const char *job_kind, const char *name);

/* Simulates a spot reclaim of a running training job (`lathe admin interrupt`): its runner
 * stops the hosts as a reclaim would (SIGTERM, grace period), uploads the checkpoints, marks
 * the job Interrupted and, for a managed-spot job, starts it again from the checkpoints.
 * LT_ENOTFOUND when no runner is running the job. */
int lt_exec_job_interrupt(const char *data_dir, const char *job_kind, const char *name,
                          lt_err *err);

/* ---- service sandboxes (endpoint serve programs) ------------------------------------ */

/* A long-running program (an endpoint's `serve`) in the same bubblewrap sandbox a job host
 * gets (read-only machine, own PID/UTS/IPC namespaces, no capabilities, lathe's data
 * directory hidden), but sharing the machine's network so that it can listen on a
 * loopback port the caller chose. */
typedef struct lt_exec_service {
    const char *program_dir; /* bound read-only at /opt/program (the image's directory) */
    const char *model_dir;   /* bound read-only at /opt/ml/model; may be NULL */
    const char *models_dir;  /* a multi-model container's models, bound read-only at
                                /opt/ml/models (what appears in it later shows); may be NULL */
    const char *data_dir;    /* lathe's data directory, hidden behind an empty tmpfs */
    const char *hostname;
    char *const *env;  /* "K=V", NULL-terminated; PATH starts with /opt/program */
    char *const *argv; /* the program and its arguments, NULL-terminated */
    /* Limits, as a job host gets its instance type's: a cgroup of this name (unique among
     * services running) under this process's own, with memory.max and cpu.max. */
    const char *limits_name; /* NULL: no limits */
    uint64_t memory_bytes;   /* 0: no memory limit */
    int vcpus;               /* 0: no CPU limit */
} lt_exec_service;

/* The cgroups a service was started in, to remove once it has exited. */
typedef struct lt_exec_service_limits {
    char *cgroups[2];
    const char *problem; /* why a limit asked for is not set (for its log), or NULL */
} lt_exec_service_limits;

/* Starts a service in its own process group. *pid is bubblewrap's pid (it exits with the
 * program's status); *out_fd the non-blocking read end of its stdout+stderr (caller
 * closes). The process is sent SIGKILL when the calling thread ends, so call this from the
 * thread that supervises it. LT_EIO when the pipe or fork fails. */
int lt_exec_service_spawn(const lt_exec_service *svc, pid_t *pid, int *out_fd,
                          lt_exec_service_limits *limits, lt_err *err);
/* Removes a service's cgroups (after it exited) and zeroes limits. */
void lt_exec_service_limits_release(lt_exec_service_limits *limits);

/* ---- the executor (inside the server) ------------------------------------------------ */

/* Starts job runners as child processes (`<lathe_bin> job run ...`) and reconciles: at open
 * and every few seconds it looks at every InProgress or Stopping job and starts a runner for
 * one that has none, or, when a runner held it and is gone without ending it, ends it Failed
 * with the reason. Runners are not killed with the server, so a restart finds them still
 * running and leaves them be. */
typedef struct lt_executor lt_executor;

int lt_executor_open(lt_executor **out, lt_store *store, const char *data_dir,
                     const char *lathe_bin, lt_err *err);
/* Matches lt_api_job_fn: "start" spawns the runner now; "stop" wakes it. */
void lt_executor_notify(void *executor, const char *job_kind, const char *name,
                        const char *action);
void lt_executor_close(lt_executor *ex);

#endif
