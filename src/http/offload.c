/* Threads for work that waits on something else: an InvokeEndpoint answered by a serve
 * program waits for another process for as long as the model takes. libmicrohttpd's
 * threads each carry many connections, and its manual is plain that callbacks must not
 * block; a request that would is suspended (MHD_suspend_connection), runs here, and its
 * connection is resumed with the answer. Jobs beyond the threads queue in order, their
 * connections suspended: the server's own threads stay free for everyone else. */
#include "http/server_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

typedef struct job {
    void (*run)(void *);
    void *arg;
    struct job *next;
} job;

struct lt_http__offload {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* a job queued, or stopping */
    pthread_cond_t idle; /* the queue drained and no job runs */
    job *head, *tail;
    int running; /* jobs taken and not finished */
    bool stopping;
    pthread_t *threads;
    int n_threads;
};

static void *worker_main(void *arg)
{
    lt_http__offload *o = arg;
    pthread_mutex_lock(&o->lock);
    for (;;) {
        while (!o->head && !o->stopping)
            pthread_cond_wait(&o->wake, &o->lock);
        if (!o->head) break; /* stopping, and nothing left to run */
        job *j = o->head;
        o->head = j->next;
        if (!o->head) o->tail = NULL;
        o->running++;
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
    pthread_cond_init(&o->wake, NULL);
    pthread_cond_init(&o->idle, NULL);
    o->threads = lt_xcalloc((size_t)threads, sizeof *o->threads);
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&o->threads[i], NULL, worker_main, o) != 0) {
            lt_http__offload_stop(o);
            return lt_err_set(err, LT_ENOMEM, "cannot start the server's offload threads");
        }
        o->n_threads++;
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
        if (o->tail) o->tail->next = j;
        else o->head = j;
        o->tail = j;
        pthread_cond_signal(&o->wake);
    }
    pthread_mutex_unlock(&o->lock);
    if (!taken) free(j);
    return taken;
}

bool lt_http__offload_drain(lt_http__offload *o, int64_t timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (timeout_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) until.tv_sec++, until.tv_nsec -= 1000000000;
    pthread_mutex_lock(&o->lock);
    o->stopping = true;
    pthread_cond_broadcast(&o->wake);
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
    o->stopping = true;
    pthread_cond_broadcast(&o->wake);
    while (o->head || o->running)
        pthread_cond_wait(&o->idle, &o->lock);
    pthread_mutex_unlock(&o->lock);
    for (int i = 0; i < o->n_threads; i++) pthread_join(o->threads[i], NULL);
    pthread_mutex_destroy(&o->lock);
    pthread_cond_destroy(&o->wake);
    pthread_cond_destroy(&o->idle);
    free(o->threads);
    free(o);
}
