/* Bring-your-own serve programs: a pushed image's `serve` started as N worker processes,
 * each in the exec sandbox, under SageMaker's container contract (the model at
 * /opt/ml/model, the model's Environment, `serve` listening on SAGEMAKER_BIND_TO_PORT).
 *
 * One monitor thread per program owns the workers: it spawns them (so the kernel's
 * parent-death signal is tied to a thread that lives as long as they do), drains their
 * stdout/stderr into one log stream each, pings a starting worker on GET /ping until it
 * answers 200, reaps a worker that exits (waitpid) and starts a new one in its place, and
 * restarts a ready worker that fails PING_FAILURES health pings in a row. Request threads
 * only read each worker's state and port (atomics) and pick ready ones round-robin
 * (proxy.c). Closing stops every worker: SIGTERM to its process group, SIGKILL after the
 * grace period. */
#include "serve/serve_internal.h"

#include "exec/exec.h"

#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

enum {
    PING_INTERVAL_MS = 100,    /* while a worker starts */
    HEALTH_INTERVAL_MS = 2000, /* once it is ready */
    PING_TIMEOUT_MS = 2000,
    PING_FAILURES = 3,
    RESTART_BACKOFF_MS = 500,
    STOP_GRACE_MS = 5000,
    PORT_BLOCK = 10, /* the bind port and the SAGEMAKER_SAFE_PORT_RANGE after it */
};

static void tail_line(void *ctx, const char *line, size_t len, int64_t ts_ms)
{
    (void)ts_ms;
    lt_serve__worker *w = ctx;
    free(w->tail[w->tail_next]);
    w->tail[w->tail_next] = lt_xasprintf("%.*s", (int)(len > 400 ? 400 : len), line);
    w->tail_next = (w->tail_next + 1) % LT_SERVE__TAIL_LINES;
}

/* A line of lathe's own in the worker's stream ("[lathe] ..."). */
static void note(lt_serve__worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(lt_serve__worker *w, const char *fmt, ...)
{
    char line[600];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line + 8, sizeof line - 9, fmt, ap);
    va_end(ap);
    memcpy(line, "[lathe] ", 8);
    size_t len = 8 + (n < 0 ? 0 : (size_t)n >= sizeof line - 9 ? sizeof line - 10 : (size_t)n);
    line[len++] = '\n';
    if (w->log) lt_exec_log_write(w->log, line, len, lt_now_ms(), tail_line, w, &(lt_err){0});
}

static bool port_free(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* A block of PORT_BLOCK loopback ports free right now, below the kernel's ephemeral
 * range (32768-60999 by default) so outgoing connections do not take them meanwhile.
 * Blocks are taken in turn from a random start, not each at random: two workers starting
 * at once in this process saw the same block free before either bound it, and the second
 * program exited with "Address already in use". */
static int choose_port(void)
{
    enum { BLOCKS = 1200 };
    static atomic_uint next_block;
    static atomic_bool started;
    if (!atomic_exchange(&started, true)) {
        uint32_t r;
        lt_random_bytes(&r, sizeof r);
        atomic_store(&next_block, r % BLOCKS);
    }
    for (int tries = 0; tries < 200; tries++) {
        int base = 20000 + (int)(atomic_fetch_add(&next_block, 1) % BLOCKS) * PORT_BLOCK;
        bool ok = true;
        for (int p = base; ok && p < base + PORT_BLOCK; p++)
            ok = port_free(p);
        if (ok) return base;
    }
    return -1;
}

static char **worker_env(const lt_serve_program *p, int port)
{
    size_t cap = 16 + json_object_size(p->environment);
    char **env = lt_xcalloc(cap + 1, sizeof *env);
    size_t n = 0;
    const char *region = getenv("LATHE_REGION");
    env[n++] = lt_xstrdup(
        "PATH=/opt/program:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    env[n++] = lt_xstrdup("HOME=/tmp");
    env[n++] = lt_xstrdup("LANG=C.UTF-8");
    env[n++] = lt_xstrdup("PYTHONUNBUFFERED=1");
    env[n++] = lt_xstrdup("PYTHONDONTWRITEBYTECODE=1");
    env[n++] = lt_xasprintf("AWS_REGION=%s", region ? region : "us-east-1");
    env[n++] = lt_xasprintf("AWS_DEFAULT_REGION=%s", region ? region : "us-east-1");
    env[n++] = lt_xasprintf("SAGEMAKER_BIND_TO_PORT=%d", port);
    env[n++] = lt_xasprintf("SAGEMAKER_SAFE_PORT_RANGE=%d-%d", port + 1, port + PORT_BLOCK - 1);
    const char *key;
    json_t *value;
    json_object_foreach(p->environment, key, value)
    {
        if (!json_is_string(value) || n >= cap) continue;
        env[n++] = lt_xasprintf("%s=%s", key, json_string_value(value));
    }
    return env;
}

static void strv_free(char **v)
{
    for (char **s = v; s && *s; s++)
        free(*s);
    free(v);
}

static void worker_start(lt_serve_program *p, lt_serve__worker *w)
{
    int port = choose_port();
    if (port < 0) {
        note(w, "no free loopback port block for worker %d; retrying", w->index);
        w->next_ms = lt_now_ms() + RESTART_BACKOFF_MS;
        return;
    }
    char **env = worker_env(p, port);
    char *argv[] = {"serve", NULL};
    char host[32];
    snprintf(host, sizeof host, "worker-%d", w->index);
    char limits_name[96];
    snprintf(limits_name, sizeof limits_name, "lathe-serve-%d-%u-%d", (int)getpid(), p->id,
             w->index);
    lt_exec_service svc = {.program_dir = p->program_dir,
                           .model_dir = p->model_dir,
                           .models_dir = p->models_dir,
                           .data_dir = p->data_dir,
                           .hostname = host,
                           .env = env,
                           .argv = argv,
                           .limits_name = limits_name,
                           .memory_bytes = p->memory_bytes,
                           .vcpus = p->vcpus};
    lt_err err = {0};
    pid_t pid = 0;
    int fd = -1;
    if (lt_exec_service_spawn(&svc, &pid, &fd, &w->limits, &err) != 0) {
        note(w, "cannot start worker %d: %s", w->index, err.msg);
        w->next_ms = lt_now_ms() + RESTART_BACKOFF_MS;
    } else {
        w->pid = pid;
        w->out_fd = fd;
        atomic_fetch_add(&w->generation, 1);
        atomic_store(&w->port, port);
        atomic_store(&w->state, LT_SERVE__STARTING);
        w->started_ms = lt_now_ms();
        w->next_ms = w->started_ms;
        w->ping_failures = 0;
        note(w, "worker %d started (pid %d) listening on port %d", w->index, (int)pid, port);
        if (w->limits.problem) note(w, "worker %d: %s", w->index, w->limits.problem);
    }
    strv_free(env);
}

static void drain(lt_serve__worker *w)
{
    char buf[16384];
    for (;;) {
        ssize_t n = read(w->out_fd, buf, sizeof buf);
        if (n > 0) {
            if (w->log)
                lt_exec_log_write(w->log, buf, (size_t)n, lt_now_ms(), tail_line, w, &(lt_err){0});
            continue;
        }
        if (n == 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) {
            close(w->out_fd);
            w->out_fd = -1;
        }
        if (n < 0 && errno == EINTR) continue;
        return;
    }
}

static size_t discard(char *ptr, size_t size, size_t n, void *ctx)
{
    (void)ptr;
    (void)ctx;
    return size * n;
}

static bool ping(lt_serve_program *p, int port)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/ping", port);
    curl_easy_setopt(p->ping, CURLOPT_URL, url);
    curl_easy_setopt(p->ping, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(p->ping, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(p->ping, CURLOPT_TIMEOUT_MS, (long)PING_TIMEOUT_MS);
    curl_easy_setopt(p->ping, CURLOPT_NOSIGNAL, 1L);
    long status = 0;
    if (curl_easy_perform(p->ping) == CURLE_OK)
        curl_easy_getinfo(p->ping, CURLINFO_RESPONSE_CODE, &status);
    return status == 200;
}

static void describe_exit(int status, char *out, size_t cap)
{
    if (WIFSIGNALED(status))
        snprintf(out, cap, "was killed by signal %d", WTERMSIG(status));
    else
        snprintf(out, cap, "exited with status %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* The startup outcome, once: the opener waits for it. */
static void startup_done(lt_serve_program *p, const char *failure)
{
    pthread_mutex_lock(&p->lock);
    if (!p->started) {
        p->started = true;
        if (failure) snprintf(p->failure, sizeof p->failure, "%s", failure);
        pthread_cond_broadcast(&p->cond);
    }
    pthread_mutex_unlock(&p->lock);
}

static char *tail_text(const lt_serve__worker *w)
{
    lt_buf b;
    lt_buf_init(&b, 8192);
    for (size_t k = 0; k < LT_SERVE__TAIL_LINES; k++) {
        const char *line = w->tail[(w->tail_next + k) % LT_SERVE__TAIL_LINES];
        if (!line || strncmp(line, "[lathe]", 7) == 0) continue;
        if (b.len) lt_buf_append(&b, " | ", 3, &(lt_err){0});
        lt_buf_puts(&b, line, &(lt_err){0});
    }
    char *s = lt_buf_take(&b);
    return s ? s : lt_xstrdup("(no output)");
}

static void startup_failed(lt_serve_program *p, lt_serve__worker *w, const char *why)
{
    char *tail = tail_text(w);
    char *msg = lt_xasprintf("%s; the last lines of its output: %s", why, tail);
    startup_done(p, msg);
    free(msg);
    free(tail);
}

static void stop_worker(lt_serve__worker *w, int sig)
{
    if (w->pid > 0) kill(-w->pid, sig);
}

/* One pass over a worker: reap, ping, restart. */
static void check(lt_serve_program *p, lt_serve__worker *w, int64_t now)
{
    int st = atomic_load(&w->state);
    if (w->pid > 0) {
        int status = 0;
        pid_t r = waitpid(w->pid, &status, WNOHANG);
        if (r == w->pid) {
            if (w->out_fd >= 0) drain(w);
            char how[64];
            describe_exit(status, how, sizeof how);
            atomic_store(&w->state, LT_SERVE__DOWN);
            note(w, "worker %d (pid %d) %s; %s", w->index, (int)w->pid, how,
                 p->started ? "starting a new one" : "the program did not start");
            if (p->started)
                lt_log_warn("%s: worker %d (pid %d) %s; replacing it", p->label, w->index,
                            (int)w->pid, how);
            w->pid = 0;
            lt_exec_service_limits_release(&w->limits);
            if (w->out_fd >= 0) close(w->out_fd);
            w->out_fd = -1;
            w->next_ms = now + (st == LT_SERVE__READY ? 0 : RESTART_BACKOFF_MS);
            atomic_fetch_add(&p->restarts, 1);
            if (!p->started) {
                char *why = lt_xasprintf("its serve program %s before it answered GET /ping", how);
                startup_failed(p, w, why);
                free(why);
            }
            return;
        }
    }
    if (st == LT_SERVE__DOWN) {
        if (p->started && now >= w->next_ms) worker_start(p, w);
        return;
    }
    if (now < w->next_ms) return;
    int port = atomic_load(&w->port);
    bool ok = ping(p, port);
    now = lt_now_ms();
    if (st == LT_SERVE__STARTING) {
        if (ok) {
            atomic_store(&w->state, LT_SERVE__READY);
            note(w, "worker %d passed the ping health check", w->index);
            w->next_ms = now + HEALTH_INTERVAL_MS;
        } else if (now - w->started_ms > (int64_t)p->startup_timeout_s * 1000) {
            if (!p->started) {
                char *why = lt_xasprintf("its serve program did not answer GET /ping with 200 "
                                         "within %d s",
                                         p->startup_timeout_s);
                startup_failed(p, w, why);
                free(why);
            } else {
                note(w, "worker %d did not pass the ping health check within %d s; restarting it",
                     w->index, p->startup_timeout_s);
                stop_worker(w, SIGKILL);
            }
            w->next_ms = now + PING_INTERVAL_MS;
        } else {
            w->next_ms = now + PING_INTERVAL_MS;
        }
        return;
    }
    w->ping_failures = ok ? 0 : w->ping_failures + 1;
    w->next_ms = now + HEALTH_INTERVAL_MS;
    if (w->ping_failures >= PING_FAILURES) {
        note(w, "worker %d failed %d health pings in a row; restarting it", w->index,
             PING_FAILURES);
        atomic_store(&w->state, LT_SERVE__STARTING); /* out of rotation until it is reaped */
        stop_worker(w, SIGKILL);
    }
}

static void stop_all(lt_serve_program *p)
{
    for (int i = 0; i < p->n; i++) {
        atomic_store(&p->workers[i].state, LT_SERVE__DOWN);
        stop_worker(&p->workers[i], SIGTERM);
    }
    int64_t deadline = lt_now_ms() + STOP_GRACE_MS;
    for (;;) {
        int alive = 0;
        for (int i = 0; i < p->n; i++) {
            lt_serve__worker *w = &p->workers[i];
            if (w->out_fd >= 0) drain(w);
            if (w->pid <= 0) continue;
            int status = 0;
            if (waitpid(w->pid, &status, WNOHANG) == w->pid) {
                char how[64];
                describe_exit(status, how, sizeof how);
                note(w, "worker %d (pid %d) stopped: %s", w->index, (int)w->pid, how);
                w->pid = 0;
                lt_exec_service_limits_release(&w->limits);
            } else {
                alive++;
            }
        }
        if (!alive) break;
        if (lt_now_ms() >= deadline) {
            for (int i = 0; i < p->n; i++)
                stop_worker(&p->workers[i], SIGKILL);
            for (int i = 0; i < p->n; i++) {
                lt_serve__worker *w = &p->workers[i];
                if (w->pid > 0) {
                    waitpid(w->pid, NULL, 0);
                    note(w, "worker %d (pid %d) killed after the %d s grace period", w->index,
                         (int)w->pid, STOP_GRACE_MS / 1000);
                    w->pid = 0;
                    lt_exec_service_limits_release(&w->limits);
                }
            }
            break;
        }
        usleep(20 * 1000);
    }
}

static void *monitor_main(void *arg)
{
    lt_serve_program *p = arg;
    p->ping = curl_easy_init();
    for (int i = 0; i < p->n; i++)
        worker_start(p, &p->workers[i]);
    struct pollfd *fds = lt_xcalloc((size_t)p->n, sizeof *fds);
    while (!atomic_load(&p->closing)) {
        int n = 0;
        for (int i = 0; i < p->n; i++)
            if (p->workers[i].out_fd >= 0)
                fds[n++] = (struct pollfd){p->workers[i].out_fd, POLLIN, 0};
        if (n)
            poll(fds, (nfds_t)n, 50);
        else
            usleep(50 * 1000);
        int ready = 0;
        for (int i = 0; i < p->n; i++) {
            lt_serve__worker *w = &p->workers[i];
            if (w->out_fd >= 0) drain(w);
            check(p, w, lt_now_ms());
            ready += atomic_load(&w->state) == LT_SERVE__READY;
        }
        if (!p->started && ready == p->n) startup_done(p, NULL);
        if (!p->started && p->cancel && atomic_load(p->cancel))
            startup_done(p, "the server is shutting down");
    }
    free(fds);
    stop_all(p);
    curl_easy_cleanup(p->ping);
    return NULL;
}

int lt_serve_program_open(lt_serve_program **out, const lt_serve_program_params *params,
                          lt_err *err)
{
    *out = NULL;
    if (params->workers < 1 || params->workers > 64)
        return lt_err_set(err, LT_EINVAL, "%s: %d workers asked; 1 to 64 are allowed",
                          params->label, params->workers);
    lt_serve_program *p = lt_xcalloc(1, sizeof *p);
    p->label = lt_xstrdup(params->label);
    p->program_dir = lt_xstrdup(params->program_dir);
    p->model_dir = params->model_dir ? lt_xstrdup(params->model_dir) : NULL;
    p->models_dir = params->models_dir ? lt_xstrdup(params->models_dir) : NULL;
    p->data_dir = params->data_dir ? lt_xstrdup(params->data_dir) : NULL;
    p->environment = params->environment ? json_deep_copy(params->environment) : json_object();
    p->startup_timeout_s = params->startup_timeout_s > 0 ? params->startup_timeout_s : 240;
    p->memory_bytes = params->memory_bytes;
    p->vcpus = params->vcpus;
    static atomic_uint programs;
    p->id = atomic_fetch_add(&programs, 1);
    p->cancel = params->cancel;
    p->n = params->workers;
    p->workers = lt_xcalloc((size_t)p->n, sizeof *p->workers);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    int rc = 0;
    for (int i = 0; i < p->n && !rc; i++) {
        lt_serve__worker *w = &p->workers[i];
        w->index = i + 1;
        w->out_fd = -1;
        atomic_init(&w->state, LT_SERVE__DOWN);
        if (params->logs_root) {
            char *stream = lt_xasprintf("%s-worker-%d", params->log_stream_prefix, w->index);
            rc = lt_exec_log_open(&w->log, params->logs_root, params->log_group, stream, err);
            free(stream);
        }
    }
    if (!rc && pthread_create(&p->monitor, NULL, monitor_main, p) != 0)
        rc = lt_err_set(err, LT_ENOMEM, "%s: cannot start the monitor thread", params->label);
    else if (!rc)
        p->monitor_running = true;
    if (!rc) {
        pthread_mutex_lock(&p->lock);
        while (!p->started)
            pthread_cond_wait(&p->cond, &p->lock);
        pthread_mutex_unlock(&p->lock);
        if (p->failure[0]) rc = lt_err_set(err, LT_EINVAL, "%s", p->failure);
    }
    if (rc) {
        lt_serve_program_close(p);
        return rc;
    }
    *out = p;
    return 0;
}

void lt_serve_program_close(lt_serve_program *p)
{
    if (!p) return;
    atomic_store(&p->closing, true);
    if (p->monitor_running) pthread_join(p->monitor, NULL);
    for (int i = 0; i < p->n; i++) {
        lt_serve__worker *w = &p->workers[i];
        if (w->log) {
            lt_exec_log_flush(w->log, lt_now_ms(), NULL, NULL, &(lt_err){0});
            lt_exec_log_close(w->log);
        }
        for (size_t k = 0; k < LT_SERVE__TAIL_LINES; k++)
            free(w->tail[k]);
    }
    free(p->workers);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
    json_decref(p->environment);
    free(p->label);
    free(p->program_dir);
    free(p->model_dir);
    free(p->models_dir);
    free(p->data_dir);
    free(p);
}

int lt_serve_program_restarts(const lt_serve_program *p)
{
    return atomic_load(&p->restarts);
}

int lt_serve__program_workers(const lt_serve_program *p)
{
    return p->n;
}

unsigned lt_serve__program_worker_ready(const lt_serve_program *p, int worker)
{
    const lt_serve__worker *w = &p->workers[worker];
    return atomic_load(&w->state) == LT_SERVE__READY ? atomic_load(&w->generation) : 0;
}
