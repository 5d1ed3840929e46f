/* Running the hosts to their end: their output becomes log streams (and metric points) as
 * it is written, and the runner watches for the things that end a job early — a Stop, the
 * MaxRuntimeInSeconds limit, a simulated spot reclaim, a host that failed. Ending early is
 * SageMaker's: SIGTERM to every process of every host, a grace period, then SIGKILL. */
#include "exec/job_internal.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

volatile sig_atomic_t lt_exec__interrupt_requested;
volatile sig_atomic_t lt_exec__stop_requested;

typedef struct line_ctx {
    lt_exec_job *job;
    lt_exec_host *host;
} line_ctx;

static void on_point(void *ctx, const char *metric, double value, int64_t ts_ms)
{
    lt_exec_job *job = ctx;
    json_t *point = json_pack("{s:s, s:f, s:o}", "MetricName", metric, "Value", value,
                              "Timestamp", lt_json_epoch_ms(ts_ms));
    if (job->metrics_fd >= 0) {
        char *text = lt_json_dump(point);
        size_t n = strlen(text);
        text[n] = '\n'; /* replaces the NUL; written with its length */
        if (write(job->metrics_fd, text, n + 1) < 0) lt_log_warn("metrics.jsonl: %s", strerror(errno));
        free(text);
    }
    json_object_set_new(job->final_metrics, metric, point);
    job->metrics_dirty = true;
}

static void on_line(void *ctx, const char *line, size_t len, int64_t ts_ms)
{
    line_ctx *lc = ctx;
    lt_exec_host *h = lc->host;
    free(h->tail[h->tail_next]);
    h->tail[h->tail_next] = lt_xstrndup(line, len);
    h->tail_next = (h->tail_next + 1) % LT_EXEC_TAIL_LINES;
    if (lc->job->metrics) lt_exec_metrics_scan(lc->job->metrics, line, len, ts_ms, on_point, lc->job);
}

static void drain(lt_exec_job *job, lt_exec_host *h)
{
    char buf[1 << 16];
    line_ctx lc = {job, h};
    for (;;) {
        ssize_t n = read(h->out_fd, buf, sizeof buf);
        if (n > 0) {
            lt_err err = {0};
            if (lt_exec_log_write(h->log, buf, (size_t)n, lt_now_ms(), on_line, &lc, &err) != 0)
                lt_log_warn("job %s: log: %s", job->name, err.msg);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return;
        /* EOF (every writer, the sandbox's processes included, has gone) or an error. */
        lt_exec_log_flush(h->log, lt_now_ms(), on_line, &lc, &(lt_err){0});
        close(h->out_fd);
        h->out_fd = -1;
        return;
    }
}

/* The pid of bwrap's own child (the PID namespace's init), or 0. */
static pid_t sandbox_init(pid_t bwrap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)bwrap, (int)bwrap);
    FILE *f = fopen(path, "re");
    if (!f) return 0;
    int pid = 0;
    if (fscanf(f, "%d", &pid) != 1) pid = 0;
    fclose(f);
    return (pid_t)pid;
}

/* SIGTERM goes to the program and its children, not to the two bwrap processes around
 * them: bwrap dying would take the namespace down with SIGKILL before the program could
 * save its model in the grace period. SIGKILL goes to the whole process group. */
static void term_host(const lt_exec_host *h)
{
    pid_t init = sandbox_init(h->pid);
    DIR *d = opendir("/proc");
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end = NULL;
        long pid = strtol(e->d_name, &end, 10);
        if (!end || *end || pid <= 0 || pid == h->pid || pid == init) continue;
        char path[64], stat[512];
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        FILE *f = fopen(path, "re");
        if (!f) continue;
        size_t n = fread(stat, 1, sizeof stat - 1, f);
        fclose(f);
        stat[n] = '\0';
        /* "pid (comm) state ppid pgrp ...": comm may hold spaces, so parse after ')'. */
        const char *close_paren = strrchr(stat, ')');
        int ppid = 0, pgrp = 0;
        char state = 0;
        if (close_paren && sscanf(close_paren + 1, " %c %d %d", &state, &ppid, &pgrp) == 3 &&
            pgrp == h->pid)
            kill((pid_t)pid, SIGTERM);
    }
    closedir(d);
}

static void signal_hosts(lt_exec_job *job, int sig)
{
    for (int i = 0; i < job->n_hosts; i++) {
        lt_exec_host *h = &job->hosts[i];
        if (h->pid <= 0 || h->exited) continue;
        if (sig == SIGTERM) term_host(h);
        else kill(-h->pid, sig);
    }
}

static void write_lathe_line(lt_exec_host *h, const char *text)
{
    char line[512];
    int n = snprintf(line, sizeof line, "[lathe] %s\n", text);
    lt_exec_log_write(h->log, line, (size_t)n, lt_now_ms(), NULL, NULL, &(lt_err){0});
}

static int set_final_metrics(lt_exec_job *job, json_t *doc, void *ctx, lt_err *err)
{
    (void)ctx;
    (void)err;
    json_t *list = json_array();
    const char *key;
    json_t *point;
    json_object_foreach(job->final_metrics, key, point) json_array_append(list, point);
    json_object_set_new(doc, "FinalMetricDataList", list);
    return 0;
}

static bool stop_asked(lt_exec_job *job)
{
    if (lt_exec__stop_requested) return true;
    lt_err err = {0};
    if (lt_exec__doc_refresh(job, &err) != 0) return false;
    const char *status = lt_exec__status(job);
    return status && strcmp(status, "Stopping") == 0;
}

int lt_exec__supervise(lt_exec_job *job, lt_exec_end *end, lt_err *err)
{
    (void)err;
    *end = LT_EXEC_END_EXITED;
    int64_t start = lt_now_ms();
    job->attempt_start_ms = start;
    json_t *stop_cfg = json_object_get(job->doc, "StoppingCondition");
    int64_t max_runtime_ms = lt_json_int(stop_cfg, "MaxRuntimeInSeconds", 86400) * 1000;
    int64_t stopping_since = 0, last_check = start, last_checkpoint = start, last_flush = start;
    bool killed = false;
    struct pollfd *fds = lt_xcalloc((size_t)job->n_hosts, sizeof *fds);
    for (;;) {
        int nfds = 0;
        for (int i = 0; i < job->n_hosts; i++)
            if (job->hosts[i].out_fd >= 0) {
                fds[nfds].fd = job->hosts[i].out_fd;
                fds[nfds].events = POLLIN;
                fds[nfds].revents = 0;
                nfds++;
            }
        if (nfds > 0) poll(fds, (nfds_t)nfds, 100);
        else usleep(20 * 1000);
        for (int i = 0; i < job->n_hosts; i++)
            if (job->hosts[i].out_fd >= 0) drain(job, &job->hosts[i]);
        bool all_done = true, any_failed = false;
        for (int i = 0; i < job->n_hosts; i++) {
            lt_exec_host *h = &job->hosts[i];
            if (!h->exited && h->pid > 0) {
                int status;
                pid_t r = waitpid(h->pid, &status, WNOHANG);
                if (r == h->pid) {
                    h->exited = true;
                    h->wait_status = status;
                }
            }
            if (h->exited && !(WIFEXITED(h->wait_status) && WEXITSTATUS(h->wait_status) == 0))
                any_failed = true;
            if (!h->exited || h->out_fd >= 0) all_done = false;
        }
        if (all_done) break;
        int64_t now = lt_now_ms();
        if (!stopping_since) {
            const char *why = NULL;
            if (lt_exec__interrupt_requested) {
                *end = LT_EXEC_END_INTERRUPTED;
                why = "the instance is being reclaimed (spot interruption): SIGTERM";
            } else if (now - last_check >= 200 && (last_check = now, stop_asked(job))) {
                *end = LT_EXEC_END_STOPPED;
                why = "the job was asked to stop: SIGTERM";
            } else if (job->billable_ms + (now - start) >= max_runtime_ms) {
                *end = LT_EXEC_END_MAX_RUNTIME;
                why = "MaxRuntimeInSeconds reached: SIGTERM";
            } else if (any_failed && job->n_hosts > 1) {
                why = "another host failed: SIGTERM";
            }
            if (why) {
                for (int i = 0; i < job->n_hosts; i++)
                    if (!job->hosts[i].exited) write_lathe_line(&job->hosts[i], why);
                signal_hosts(job, SIGTERM);
                stopping_since = now;
            }
        } else if (!killed && now - stopping_since >= job->stop_grace_ms) {
            for (int i = 0; i < job->n_hosts; i++)
                if (!job->hosts[i].exited)
                    write_lathe_line(&job->hosts[i], "grace period over: SIGKILL");
            signal_hosts(job, SIGKILL);
            killed = true;
        }
        if (job->training && lt_exec__checkpoint_uri(job) && now - last_checkpoint >= 2000) {
            lt_err cerr = {0};
            if (lt_exec__checkpoint_sync(job, &cerr) != 0)
                lt_log_warn("job %s: checkpoint upload: %s", job->name, cerr.msg);
            last_checkpoint = now;
        }
        if (job->metrics_dirty && now - last_flush >= 1000) {
            lt_err merr = {0};
            job->metrics_dirty = false;
            if (lt_exec__doc_update(job, set_final_metrics, NULL, &merr) != 0)
                job->metrics_dirty = true;
            last_flush = now;
        }
    }
    free(fds);
    job->billable_ms += lt_now_ms() - start;
    if (job->metrics_dirty) {
        lt_err merr = {0};
        job->metrics_dirty = false;
        lt_exec__doc_update(job, set_final_metrics, NULL, &merr);
    }
    return 0;
}

char *lt_exec__failure_reason(lt_exec_job *job)
{
    for (int i = 0; i < job->n_hosts; i++) {
        lt_exec_host *h = &job->hosts[i];
        if (WIFEXITED(h->wait_status) && WEXITSTATUS(h->wait_status) == 0) continue;
        /* The program's own words first: /opt/ml/output/failure. */
        char *path = lt_xasprintf("%s/output/failure", h->dir);
        lt_buf buf;
        lt_buf_init(&buf, 1024);
        lt_err ferr = {0};
        int rc = lt_file_read(path, &buf, &ferr);
        free(path);
        if ((rc == 0 || rc == LT_ELIMIT) && buf.len > 0) {
            char *out = lt_xasprintf("AlgorithmError: %s", buf.data);
            lt_buf_free(&buf);
            return out;
        }
        lt_buf_free(&buf);
        lt_buf msg;
        lt_buf_init(&msg, 4096);
        if (WIFEXITED(h->wait_status))
            lt_buf_printf(&msg, NULL, "AlgorithmError: the program on %s exited with code %d",
                          h->name, WEXITSTATUS(h->wait_status));
        else
            lt_buf_printf(&msg, NULL, "AlgorithmError: the program on %s was killed by signal %d",
                          h->name, WTERMSIG(h->wait_status));
        bool first = true;
        for (size_t k = 0; k < LT_EXEC_TAIL_LINES; k++) {
            const char *line = h->tail[(h->tail_next + k) % LT_EXEC_TAIL_LINES];
            if (!line) continue;
            lt_buf_printf(&msg, NULL, "%s%s", first ? "; last lines: " : " | ", line);
            first = false;
        }
        return lt_buf_take(&msg);
    }
    return NULL;
}
