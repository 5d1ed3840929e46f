/* Threads for work that waits on something else: an InvokeEndpoint answered by a serve
 * program waits for another process for as long as the model takes. libmicrohttpd's
 * threads each carry many connections, and its manual is plain that callbacks must not
 * block; a request that would is suspended (MHD_suspend_connection), runs here, and its
 * connection is resumed with the answer. Jobs beyond the threads queue in order, their
 * connections suspended: the server's own threads stay free for everyone else.
 *
 * The thread that went idle last takes the next job. Each thread keeps its own keep-alive
 * connection to a serve program (proxy.c), so handing jobs round the whole pool opened a
 * connection per thread: 32 connections to a program whose listen backlog may be 5
 * (Python's http.server), and connections past the backlog wait out a 1 s SYN retry.
 * Last-idle-first keeps the connections at the calls' peak concurrency. */
#include "http/server_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

typedef struct job {
    void (*run)(void *);
    void *arg;
    struct job *next;
} job;

typedef struct worker {
    struct lt_http__offload *pool;
    pthread_t thread;
    pthread_cond_t wake; /* a job handed to this worker, or stopping */
    job *handed;         /* set by submit for an idle worker */
    struct worker *next_idle;
} worker;

struct lt_http__offload {
    pthread_mutex_t lock;
    pthread_cond_t idle; /* the queue drained and no job runs */
    job *head, *tail;    /* jobs waiting for a worker */
    worker *idle_top;    /* idle workers, the last to go idle on top */
    int running;         /* jobs taken and not finished */
    bool stopping;
    worker *workers;
    int n_workers;
};

/* Under the lock: the next job for w (handed to it, else queued), or NULL. */
static job *next_job(lt_http__offload *o, worker *w)
{
    job *j = w->handed;
    if (j) {
        w->handed = NULL;
        return j;
    }
    j = o->head;
    if (j) {
        o->head = j->next;
        if (!o->head) o->tail = NULL;
        o->running++;
    }
    return j;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    lt_http__offload *o = w->pool;
    pthread_mutex_lock(&o->lock);
    for (;;) {
        job *j = next_job(o, w);
        if (!j) {
            if (o->stopping) break;
            w->next_idle = o->idle_top;
            o->idle_top = w;
            while (!w->handed && !o->stopping) pthread_cond_wait(&w->wake, &o->lock);
            if (!w->handed) break; /* stopping: submit hands nothing out any more */
            continue;
        }
        pthread_mutex_unlock(&o->lock);
        j->run(j->arg);
        free(j);
        pthread_mutex_lock(&o->lock);
        if (--o->running == 0 && !o->head) pthread_cond_broadcast(&o->idle);
    }
    pthread_mutex_unlock(&o->lock);
    return NULL;
}

int lt_http__offload_start(lt_http__offload **out, int threads, lt_err *err)
{
    lt_http__offload *o = lt_xcalloc(1, sizeof *o);
    pthread_mutex_init(&o->lock, NULL);
    pthread_cond_init(&o->idle, NULL);
    o->workers = lt_xcalloc((size_t)threads, sizeof *o->workers);
    for (int i = 0; i < threads; i++) {
        worker *w = &o->workers[i];
        w->pool = o;
        pthread_cond_init(&w->wake, NULL);
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            pthread_cond_destroy(&w->wake);
            lt_http__offload_stop(o);
            return lt_err_set(err, LT_ENOMEM, "cannot start the server's offload threads");
        }
        o->n_workers++;
    }
    *out = o;
    return 0;
}

bool lt_http__offload_submit(lt_http__offload *o, void (*run)(void *), void *arg)
{
    job *j = lt_xmalloc(sizeof *j);
    *j = (job){run, arg, NULL};
    pthread_mutex_lock(&o->lock);
    bool taken = !o->stopping;
    if (taken) {
        o->running++;
        worker *w = o->idle_top;
        if (w) {
            o->idle_top = w->next_idle;
            w->handed = j;
            pthread_cond_signal(&w->wake);
        } else {
            o->running--; /* counted when a worker takes it from the queue */
            if (o->tail) o->tail->next = j;
            else o->head = j;
            o->tail = j;
        }
    }
    pthread_mutex_unlock(&o->lock);
    if (!taken) free(j);
    return taken;
}

/* Under the lock: refuses new jobs and wakes the idle workers to leave. */
static void begin_stopping(lt_http__offload *o)
{
    o->stopping = true;
    for (worker *w = o->idle_top; w; w = w->next_idle) pthread_cond_signal(&w->wake);
    o->idle_top = NULL;
}

bool lt_http__offload_drain(lt_http__offload *o, int64_t timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (timeout_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) until.tv_sec++, until.tv_nsec -= 1000000000;
    pthread_mutex_lock(&o->lock);
    begin_stopping(o);
    int rc = 0;
    while ((o->head || o->running) && rc == 0)
        rc = pthread_cond_timedwait(&o->idle, &o->lock, &until);
    bool idle = !o->head && !o->running;
    pthread_mutex_unlock(&o->lock);
    return idle;
}

void lt_http__offload_stop(lt_http__offload *o)
{
    if (!o) return;
    pthread_mutex_lock(&o->lock);
    begin_stopping(o);
    while (o->head || o->running) pthread_cond_wait(&o->idle, &o->lock);
    pthread_mutex_unlock(&o->lock);
    for (int i = 0; i < o->n_workers; i++) {
        pthread_join(o->workers[i].thread, NULL);
        pthread_cond_destroy(&o->workers[i].wake);
    }
    pthread_mutex_destroy(&o->lock);
    pthread_cond_destroy(&o->idle);
    free(o->workers);
    free(o);
}
