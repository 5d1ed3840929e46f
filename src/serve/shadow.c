/* Shadow variants (CreateEndpointConfig's ShadowProductionVariants): a config with one
 * production variant and one shadow variant sends the caller the production answer only,
 * and replicates a share of its calls (the shadow's InitialVariantWeight over the production
 * variant's, at most all of them) to the shadow variant, whose answers are discarded, or
 * captured under the shadow's own variant name when the config captures data: comparing
 * the two captures is what a shadow test is for.
 *
 * Replication is off the request path: the call is copied into a bounded queue that
 * SHADOW_WORKERS threads work off. When the shadow falls behind by SHADOW_BACKLOG calls,
 * further copies are dropped (and counted in the log) rather than slowing production. */
#include "serve/serve_internal.h"

#include <stdlib.h>
#include <string.h>

enum { SHADOW_WORKERS = 2, SHADOW_BACKLOG = 256 };

typedef struct shadow_call {
    lt_serve_set *set; /* a reference: its shadow variant serves the call */
    char *endpoint, *content_type, *accept, *inference_id, *custom_attributes, *target_model;
    char *body;
    size_t len;
    struct shadow_call *next;
} shadow_call;

struct lt_serve__shadow {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    shadow_call *head, *tail;
    size_t queued;
    uint64_t dropped;
    bool closing;
    pthread_t threads[SHADOW_WORKERS];
    int n_threads;
};

static char *dup_or_null(const char *s)
{
    return s ? lt_xstrdup(s) : NULL;
}

static void call_free(shadow_call *c)
{
    free(c->endpoint);
    free(c->content_type);
    free(c->accept);
    free(c->inference_id);
    free(c->custom_attributes);
    free(c->target_model);
    free(c->body);
    free(c);
}

bool lt_serve__shadow_sampled(const lt_serve_set *set)
{
    return set->shadow && (double)(lt_serve__random() >> 11) * 0x1.0p-53 < set->shadow_share;
}

void lt_serve__shadow_submit(lt_serve *s, lt_serve_set *set, const lt_serve_request *req)
{
    lt_serve__shadow *q = s->shadow;
    shadow_call *c = lt_xcalloc(1, sizeof *c);
    c->endpoint = lt_xstrdup(req->endpoint);
    c->content_type = dup_or_null(req->content_type);
    c->accept = dup_or_null(req->accept);
    c->inference_id = dup_or_null(req->inference_id);
    c->custom_attributes = dup_or_null(req->custom_attributes);
    c->target_model = dup_or_null(req->target_model);
    c->body = lt_xmalloc(req->len + 1);
    memcpy(c->body, req->body, req->len);
    c->len = req->len;
    pthread_mutex_lock(&q->lock);
    bool full = q->queued >= SHADOW_BACKLOG;
    if (full && q->dropped++ % 1000 == 0)
        lt_log_warn("endpoint %s: shadow variant %s is %d calls behind; copies dropped (%llu so "
                    "far)",
                    req->endpoint, set->shadow->name, SHADOW_BACKLOG, (unsigned long long)q->dropped);
    if (!full && !q->closing) {
        atomic_fetch_add(&set->refs, 1);
        c->set = set;
        q->queued++;
        if (q->tail) q->tail->next = c;
        else q->head = c;
        q->tail = c;
        pthread_cond_signal(&q->cond);
        c = NULL;
    }
    pthread_mutex_unlock(&q->lock);
    if (c) call_free(c);
}

static void serve_call(lt_serve *s, shadow_call *c)
{
    const lt_serve_variant *v = c->set->shadow;
    lt_serve_request req = {
        .endpoint = c->endpoint, .content_type = c->content_type, .accept = c->accept,
        .inference_id = c->inference_id, .custom_attributes = c->custom_attributes,
        .target_model = c->target_model, .body = c->body, .len = c->len};
    lt_serve_reply reply;
    memset(&reply, 0, sizeof reply);
    lt_serve__variant_invoke(v, &req, &reply);
    if (reply.status == 200 && lt_serve__capture_sampled(c->set->capture))
        lt_serve__capture(s, c->set->capture, c->endpoint, v->name, &req, reply.content_type,
                          reply.body, reply.len);
    lt_serve_reply_free(&reply);
}

static void *worker_main(void *arg)
{
    lt_serve *s = arg;
    lt_serve__shadow *q = s->shadow;
    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (!q->head && !q->closing) pthread_cond_wait(&q->cond, &q->lock);
        if (q->closing) break;
        shadow_call *c = q->head;
        q->head = c->next;
        if (!q->head) q->tail = NULL;
        pthread_mutex_unlock(&q->lock);
        serve_call(s, c);
        lt_serve__set_release(c->set);
        call_free(c);
        pthread_mutex_lock(&q->lock);
        q->queued--;
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

int lt_serve__shadow_open(lt_serve *s, lt_err *err)
{
    lt_serve__shadow *q = lt_xcalloc(1, sizeof *q);
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->cond, NULL);
    s->shadow = q;
    for (int i = 0; i < SHADOW_WORKERS; i++) {
        if (pthread_create(&q->threads[i], NULL, worker_main, s) != 0)
            return lt_err_set(err, LT_ENOMEM, "cannot start the shadow variants' threads");
        q->n_threads++;
    }
    return 0;
}

void lt_serve__shadow_close(lt_serve *s)
{
    lt_serve__shadow *q = s->shadow;
    if (!q) return;
    pthread_mutex_lock(&q->lock);
    q->closing = true;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
    for (int i = 0; i < q->n_threads; i++) pthread_join(q->threads[i], NULL);
    for (shadow_call *c = q->head, *n; c; c = n) { /* copies never served: dropped */
        n = c->next;
        lt_serve__set_release(c->set);
        call_free(c);
    }
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->cond);
    free(q);
    s->shadow = NULL;
}
