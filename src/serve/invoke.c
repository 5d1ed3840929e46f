/* InvokeEndpoint: pick the variant (the one named, or by weight) and run its containers in
 * order. A built-in algorithm's model is served in-process: parse the body as its content
 * type says, predict on the calling thread, and answer in the Accept's format; a serve
 * program's is proxied to one of its workers (proxy.c). What the model refuses is a ModelError (424)
 * carrying the status a SageMaker algorithm container would have answered, as the real
 * runtime reports it. */
#include "serve/serve_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void reply_error(lt_serve_reply *r, int status, const char *type, const char *message,
                        int original_status, const char *original_message)
{
    r->status = status;
    r->error_type = type;
    json_t *body = json_pack("{s:s, s:s}", "message", message, "Message", message);
    if (original_status) {
        json_object_set_new(body, "OriginalStatusCode", json_integer(original_status));
        json_object_set_new(body, "OriginalMessage",
                            json_string(original_message ? original_message : message));
    }
    r->body = lt_json_dump(body);
    r->len = strlen(r->body);
    lt_str_copy(r->content_type, sizeof r->content_type, "application/json");
    json_decref(body);
}

/* A ModelError in the runtime's words: "Received client error (400) from primary with
 * message "..."". */
static void model_error(lt_serve_reply *r, const char *variant, int original, const char *what)
{
    char *msg = lt_xasprintf("Received %s error (%d) from %s with message \"%s\".",
                             original >= 500 ? "server" : "client", original, variant, what);
    reply_error(r, 424, "ModelError", msg, original, what);
    free(msg);
}

static const lt_serve_variant *pick(const lt_serve_set *set, const char *target)
{
    if (target) {
        for (size_t i = 0; i < set->n; i++)
            if (strcmp(set->variants[i].name, target) == 0) return &set->variants[i];
        return NULL;
    }
    double u = (double)(lt_serve__random() >> 11) * 0x1.0p-53 * set->total_weight;
    for (size_t i = 0; i < set->n; i++) {
        if (u < set->variants[i].weight) return &set->variants[i];
        u -= set->variants[i].weight;
    }
    for (size_t i = set->n; i > 0; i--)
        if (set->variants[i - 1].weight > 0) return &set->variants[i - 1];
    return &set->variants[0];
}

static bool media_is(const char *type, const char *want)
{
    size_t n = strlen(want);
    return strncasecmp(type, want, n) == 0 && (type[n] == '\0' || type[n] == ';' || type[n] == ' ');
}

/* application/json requests: {"instances": [{"features": [...]}, ...]}, {"instances":
 * [[...], ...]} or one {"features": [...]}. */
static int read_json_request(const char *body, size_t len, lt_dataset **out, lt_err *err)
{
    json_t *doc = NULL;
    if (lt_json_parse(body, len, &doc, err) != 0) return LT_EINVAL;
    json_t *rows = json_object_get(doc, "instances");
    json_t *single = NULL;
    if (!rows) {
        rows = single = json_array();
        json_array_append(rows, doc);
    }
    size_t n = json_array_size(rows), dim = 0;
    int rc = n == 0 ? lt_err_set(err, LT_EINVAL, "the request has no instances") : 0;
    for (size_t i = 0; i < n && !rc; i++) {
        json_t *r = json_array_get(rows, i);
        json_t *f = json_is_array(r) ? r : json_object_get(r, "features");
        if (!json_is_array(f))
            rc = lt_err_set(err, LT_EINVAL, "instance %zu has no \"features\" list", i);
        else if (i == 0)
            dim = json_array_size(f);
        else if (json_array_size(f) != dim)
            rc = lt_err_set(err, LT_EINVAL, "instance %zu has %zu features, instance 0 has %zu", i,
                            json_array_size(f), dim);
    }
    lt_dataset *ds = rc ? NULL : lt_dataset_new_dense(n, dim, false);
    for (size_t i = 0; i < n && !rc; i++) {
        json_t *r = json_array_get(rows, i);
        json_t *f = json_is_array(r) ? r : json_object_get(r, "features");
        for (size_t j = 0; j < dim && !rc; j++) {
            json_t *v = json_array_get(f, j);
            if (!json_is_number(v))
                rc = lt_err_set(err, LT_EINVAL, "instance %zu feature %zu is not a number", i, j);
            else
                ds->x.values[i * dim + j] = (float)json_number_value(v);
        }
    }
    json_decref(single);
    json_decref(doc);
    if (rc) lt_dataset_free(ds);
    else *out = ds;
    return rc;
}

static int parse(const char *type, const char *body, size_t len, lt_dataset **out, lt_err *err)
{
    if (media_is(type, "application/json")) return read_json_request(body, len, out, err);
    lt_read_options opt = {.source_name = "request body", .threads = 1, .max_bytes = 256u << 20};
    if (media_is(type, "text/csv")) opt.content_type = "text/csv;label_size=0";
    else if (media_is(type, "text/libsvm") || media_is(type, "text/x-libsvm")) opt.content_type = "text/libsvm";
    else if (media_is(type, "application/jsonlines")) opt.content_type = "application/jsonlines";
    else if (media_is(type, "application/x-recordio-protobuf")) opt.content_type = type;
    else return lt_err_set(err, LT_ENOTFOUND, "content type %s is not supported", type);
    return lt_read_buffer(body, len, &opt, out, err);
}

/* One built-in container, in-process. On success reply holds the answer (status 200). */
static void invoke_model(const lt_algo *algo, const lt_algo_model *model, const char *who,
                         const char *type, const char *accept, const char *body, size_t len,
                         lt_serve_reply *reply)
{
    const char *response_type = lt_algo_response_type(algo, accept);
    lt_dataset *ds = NULL;
    lt_err err = {0};
    if (!response_type) {
        char *what = lt_xasprintf("Accept %s is not supported; use application/json, "
                                  "application/jsonlines, text/csv or "
                                  "application/x-recordio-protobuf",
                                  accept);
        model_error(reply, who, 406, what);
        free(what);
        return;
    }
    size_t blank = 0;
    while (blank < len && (body[blank] == ' ' || body[blank] == '\t' || body[blank] == '\r' ||
                           body[blank] == '\n'))
        blank++;
    if (blank == len && algo->empty_request_ok) { /* nothing to predict: an empty answer */
        reply->status = 200;
        reply->len = 0;
        reply->body = lt_xstrdup("");
        lt_str_copy(reply->content_type, sizeof reply->content_type, response_type);
        return;
    }
    int rc = parse(type, body, len, &ds, &err);
    if (rc == LT_ENOTFOUND) model_error(reply, who, 415, err.msg);
    else if (rc) model_error(reply, who, 400, err.msg);
    if (!rc && ds->x.kind == LT_MATRIX_CSR) {
        rc = lt_dataset_densify(ds, 0.0f, (size_t)1 << 30, &err);
        if (rc) model_error(reply, who, 400, err.msg);
    }
    if (!rc) {
        size_t width = algo->output_width(model);
        double *out = lt_xcalloc(ds->x.n_rows * width + 1, sizeof *out);
        rc = algo->predict(model, &ds->x, 1, out, &err);
        if (rc) {
            model_error(reply, who, 400, err.msg);
        } else {
            lt_buf answer;
            lt_buf_init(&answer, (size_t)1 << 30);
            rc = lt_algo_format_predictions(algo, model, out, ds->x.n_rows, accept, &answer,
                                            &err);
            if (rc) {
                lt_buf_free(&answer);
                model_error(reply, who, 500, err.msg);
            } else {
                reply->status = 200;
                reply->len = answer.len;
                reply->body = lt_buf_take(&answer);
                if (!reply->body) reply->body = lt_xstrdup("");
                lt_str_copy(reply->content_type, sizeof reply->content_type, response_type);
            }
        }
        free(out);
    }
    lt_dataset_free(ds);
}

/* One built-in container, in-process: its model, or for a multi-model container the one
 * TargetModel names (loaded on its first call). */
static void invoke_builtin(const lt_serve_container *c, const char *who, const char *type,
                           const char *accept, const char *target, const char *body, size_t len,
                           lt_serve_reply *reply)
{
    if (!c->mme) {
        invoke_model(c->algo, c->model, who, type, accept, body, len, reply);
        return;
    }
    lt_algo_model *model = NULL;
    lt_err err = {0};
    int rc = lt_serve__mme_get(c->mme, target, &model, &err);
    if (rc) {
        reply_error(reply, 400, "ValidationError", err.msg, 0, NULL);
        return;
    }
    invoke_model(c->algo, model, who, type, accept, body, len, reply);
    lt_serve__mme_put(c->mme, model);
}

/* One serve program's container, proxied. A non-2xx answer is the runtime's ModelError
 * with the program's status and body; no worker reachable is ServiceUnavailable (503,
 * which clients retry) and a late answer a ModelError without an original status, as
 * SageMaker answers a container that times out. */
static void invoke_program(const lt_serve_variant *v, const lt_serve_container *c, const char *who,
                           const char *type, const char *accept, const char *attributes,
                           const char *target, int64_t timeout_ms, const char *body,
                           size_t len, lt_serve_reply *reply)
{
    lt_serve_call call = {.content_type = type, .accept = accept, .custom_attributes = attributes,
                          .body = body, .len = len,
                          .timeout_ms = timeout_ms ? timeout_ms : v->answer_timeout_ms,
                          .max_answer_bytes = v->max_answer_bytes};
    lt_serve_answer ans;
    lt_err err = {0};
    int rc = c->models ? lt_serve__program_models_invoke(c->models, c->program, target, &call,
                                                         &ans, &err)
                       : lt_serve_program_invoke(c->program, &call, &ans, &err);
    if (rc == LT_EINVAL || rc == LT_ENOTFOUND) { /* TargetModel, or its model data */
        reply_error(reply, 400, "ValidationError", err.msg, 0, NULL);
        return;
    }
    if (rc == LT_EIO) {
        reply_error(reply, 503, "ServiceUnavailable", err.msg, 0, NULL);
        return;
    }
    if (rc) {
        char *msg = lt_xasprintf("Received server error from %s: %s", who, err.msg);
        reply_error(reply, 424, "ModelError", msg, 0, NULL);
        free(msg);
        return;
    }
    if (ans.status < 200 || ans.status > 299) {
        /* The body goes into JSON: valid UTF-8 is kept, anything else becomes '?'. */
        size_t n = ans.len > 4096 ? 4096 : ans.len;
        char *text = lt_xasprintf("%.*s", (int)n, ans.body);
        json_t *probe = json_string(text);
        if (!probe)
            for (char *t = text; *t; t++)
                if ((unsigned char)*t >= 0x80) *t = '?';
        json_decref(probe);
        model_error(reply, who, ans.status, text);
        free(text);
        lt_serve_answer_free(&ans);
        return;
    }
    reply->status = 200;
    lt_str_copy(reply->custom_attributes, sizeof reply->custom_attributes, ans.custom_attributes);
    reply->body = ans.body;
    reply->len = ans.len;
    lt_str_copy(reply->content_type, sizeof reply->content_type,
                ans.content_type[0] ? ans.content_type : "application/octet-stream");
}

void lt_serve__variant_invoke(const lt_serve_variant *v, const lt_serve_request *req,
                              lt_serve_reply *reply)
{
    /* A serial inference pipeline: each container's answer (body and content type) is the
     * next one's request; the client's Accept applies to the last container. */
    /* TargetModel goes with a multi-model endpoint, which is one container, and only
     * there. */
    bool multi = v->n_containers == 1 && (v->containers[0].mme || v->containers[0].models);
    const char *target = req->target_model && *req->target_model ? req->target_model : NULL;
    if (multi != (target != NULL)) {
        memset(reply, 0, sizeof *reply);
        reply_error(reply, 400, "ValidationError",
                    multi ? "This is a multi-model endpoint: name the model to invoke with "
                            "TargetModel (a key under the model's S3 prefix)."
                          : "TargetModel is for multi-model endpoints; this endpoint serves one "
                            "model.",
                    0, NULL);
        return;
    }
    const char *body = req->body;
    size_t len = req->len;
    char type[128];
    lt_str_copy(type, sizeof type,
                req->content_type && *req->content_type ? req->content_type : "text/csv");
    char *held = NULL;
    for (size_t i = 0; i < v->n_containers; i++) {
        const lt_serve_container *c = &v->containers[i];
        bool last = i + 1 == v->n_containers;
        const char *who = v->n_containers == 1 ? v->name : c->name;
        memset(reply, 0, sizeof *reply);
        if (c->program)
            invoke_program(v, c, who, type, last ? req->accept : NULL, req->custom_attributes,
                           req->target_model, req->timeout_ms, body, len, reply);
        else
            invoke_builtin(c, who, type, last ? req->accept : NULL, req->target_model, body, len,
                           reply);
        free(held);
        held = NULL;
        if (reply->status != 200 || last) break;
        held = reply->body;
        body = held;
        len = reply->len;
        lt_str_copy(type, sizeof type, reply->content_type);
        reply->body = NULL;
    }
    free(held);
}

void lt_serve_invoke(lt_serve *s, const lt_serve_request *req, lt_serve_reply *reply)
{
    memset(reply, 0, sizeof *reply);
    lt_serve_set *set = lt_serve__acquire(s, req->endpoint);
    if (set && set->cold) { /* a serverless endpoint scaled to zero: its cold start */
        lt_serve_set *cold = set;
        set = lt_serve__wake(s, req->endpoint, cold,
                             (s->startup_timeout_s > 0 ? s->startup_timeout_s : 240) + 60);
        lt_serve__set_release_on_request(s, cold);
        if (!set || set->cold) {
            char *msg = lt_xasprintf("Endpoint %s did not start in time for this call (a "
                                     "serverless endpoint's cold start); try again.",
                                     req->endpoint);
            reply_error(reply, 503, "ServiceUnavailable", msg, 0, NULL);
            free(msg);
            lt_serve__set_release_on_request(s, set);
            return;
        }
    }
    if (set && set->scale_to_zero) atomic_store(&set->last_used_ms, lt_now_ms());
    if (!set) {
        char *msg = lt_xasprintf("Endpoint %s of account %s not found.", req->endpoint,
                                 s->account_id);
        reply_error(reply, 400, "ValidationError", msg, 0, NULL);
        free(msg);
        return;
    }
    const lt_serve_variant *v = pick(set, req->target_variant);
    if (!v) {
        char *msg = lt_xasprintf("Variant %s not found for endpoint %s.", req->target_variant,
                                 req->endpoint);
        reply_error(reply, 400, "ValidationError", msg, 0, NULL);
        free(msg);
        lt_serve__set_release_on_request(s, set);
        return;
    }
    /* A serverless variant's MaxConcurrency: calls past it are throttled (429, which
     * clients retry), as SageMaker's are. */
    lt_serve_variant *counted = v->max_concurrency > 0 ? (lt_serve_variant *)v : NULL;
    if (counted && atomic_fetch_add(&counted->in_flight, 1) >= counted->max_concurrency) {
        atomic_fetch_sub(&counted->in_flight, 1);
        char *msg = lt_xasprintf("Variant %s of endpoint %s is at its MaxConcurrency of %d "
                                 "calls; try again.",
                                 v->name, req->endpoint, v->max_concurrency);
        reply_error(reply, 429, "ThrottlingException", msg, 0, NULL);
        free(msg);
        lt_serve__set_release_on_request(s, set);
        return;
    }
    lt_serve__variant_invoke(v, req, reply);
    if (counted) atomic_fetch_sub(&counted->in_flight, 1);
    lt_str_copy(reply->variant, sizeof reply->variant, v->name);
    if (reply->status == 200 && lt_serve__capture_sampled(set->capture))
        lt_serve__capture(s, set->capture, req->endpoint, v->name, req, reply->content_type,
                          reply->body, reply->len);
    if (lt_serve__shadow_sampled(set)) lt_serve__shadow_submit(s, set, req);
    lt_serve__set_release_on_request(s, set);
}

void lt_serve_reply_free(lt_serve_reply *reply)
{
    free(reply->body);
    reply->body = NULL;
}
