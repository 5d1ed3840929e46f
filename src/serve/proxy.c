/* The client side of a serve program: POST /invocations to one of its ready workers,
 * round-robin, over keep-alive connections (or, for the multi-model contract, a request to
 * one worker chosen by the caller). Each calling thread has its own libcurl easy
 * handle (a thread-specific key frees it when the thread ends), and a handle keeps its
 * connections to every worker it talked to, so a warm request opens no connection.
 *
 * A worker that cannot be reached, or that drops the connection without an answer (it
 * died while the request was in it), is skipped and the request is sent to the next ready
 * worker: inference is taken to be idempotent, as a client retrying InvokeEndpoint would
 * assume. Only when no ready worker answers does the call fail (LT_EIO). */
#include "serve/serve_internal.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static pthread_key_t handle_key;
static pthread_once_t handle_once = PTHREAD_ONCE_INIT;

static void handle_free(void *h)
{
    curl_easy_cleanup(h);
}

static void handle_key_make(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_key_create(&handle_key, handle_free);
}

static CURL *thread_handle(void)
{
    pthread_once(&handle_once, handle_key_make);
    CURL *h = pthread_getspecific(handle_key);
    if (!h) {
        h = curl_easy_init();
        if (!h) return NULL;
        curl_easy_setopt(h, CURLOPT_MAXCONNECTS, 64L);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
        pthread_setspecific(handle_key, h);
    }
    return h;
}

typedef struct sink {
    lt_buf *body;
    bool too_large;
    lt_serve_answer *ans;
} sink;

static size_t header_line(char *line, size_t size, size_t n, void *ctx)
{
    sink *s = ctx;
    static const char name[] = "x-amzn-sagemaker-custom-attributes:";
    size_t len = size * n;
    if (len > sizeof name - 1 && strncasecmp(line, name, sizeof name - 1) == 0) {
        const char *v = line + sizeof name - 1;
        size_t vlen = len - (sizeof name - 1);
        while (vlen && (*v == ' ' || *v == '\t'))
            v++, vlen--;
        while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
            vlen--;
        snprintf(s->ans->custom_attributes, sizeof s->ans->custom_attributes, "%.*s", (int)vlen, v);
    }
    return len;
}

static size_t collect(char *ptr, size_t size, size_t n, void *ctx)
{
    sink *s = ctx;
    if (lt_buf_append(s->body, ptr, size * n, &(lt_err){0}) != 0) {
        s->too_large = true;
        return 0;
    }
    return size * n;
}

static bool transport_failure(CURLcode c)
{
    return c == CURLE_COULDNT_CONNECT || c == CURLE_SEND_ERROR || c == CURLE_RECV_ERROR ||
           c == CURLE_GOT_NOTHING || c == CURLE_PARTIAL_FILE;
}

/* libcurl's progress callback: a call gives up once the runtime is shutting down. */
static int cancelled(void *cancel, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                     curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    return atomic_load((const atomic_bool *)cancel) ? 1 : 0;
}

/* One attempt against one worker: method "GET", "POST" (call's body) or "DELETE". */
static CURLcode send_one(CURL *h, int port, const char *method, const char *path,
                         const lt_serve_call *call, const atomic_bool *cancel,
                         struct curl_slist *headers, sink *sk, long *status)
{
    char url[1200];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, call && call->body ? call->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(call ? call->len : 0));
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, strcmp(method, "GET") == 0 ? NULL : method);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, sk);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_line);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, sk);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, cancel ? 0L : 1L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, cancel ? cancelled : NULL);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)cancel);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                     (long)(call && call->timeout_ms > 0 ? call->timeout_ms : 60000));
    CURLcode c = curl_easy_perform(h);
    *status = 0;
    if (c == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    return c;
}

static struct curl_slist *header(struct curl_slist *l, const char *name, const char *value)
{
    if (!value || !*value) return l;
    char *line = lt_xasprintf("%s: %s", name, value);
    struct curl_slist *n = curl_slist_append(l, line);
    free(line);
    return n ? n : l;
}

static struct curl_slist *call_headers(const lt_serve_call *call)
{
    struct curl_slist *headers = curl_slist_append(NULL, "Expect:");
    if (call) {
        headers = header(headers, "Content-Type", call->content_type);
        headers = header(headers, "Accept", call->accept);
        headers = header(headers, "X-Amzn-SageMaker-Custom-Attributes", call->custom_attributes);
        headers = header(headers, "X-Amzn-SageMaker-Target-Model", call->target_model);
    }
    return headers;
}

enum { TRY_NEXT = -1 };

/* One request to worker w; 0 with ans filled when it answered, TRY_NEXT when it could not
 * be reached (*last says how), or an error. */
static int attempt(lt_serve_program *p, CURL *h, lt_serve__worker *w, const char *method,
                   const char *path, const lt_serve_call *call, struct curl_slist *headers,
                   lt_buf *body, lt_serve_answer *ans, CURLcode *last, lt_err *err)
{
    lt_buf_reset(body);
    ans->custom_attributes[0] = '\0';
    sink sk = {body, false, ans};
    long status = 0;
    *last = send_one(h, atomic_load(&w->port), method, path, call, p->cancel, headers, &sk,
                     &status);
    if (*last == CURLE_OK) {
        ans->status = (int)status;
        const char *type = NULL;
        curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &type);
        snprintf(ans->content_type, sizeof ans->content_type, "%s", type ? type : "");
        ans->len = body->len;
        ans->body = lt_buf_take(body);
        if (!ans->body) ans->body = lt_xstrdup("");
        return 0;
    }
    if (sk.too_large)
        return lt_err_set(err, LT_ELIMIT, "%s answered more than %zu bytes", p->label, body->max);
    if (*last == CURLE_ABORTED_BY_CALLBACK)
        return lt_err_set(err, LT_EIO, "%s: the server is shutting down", p->label);
    if (*last == CURLE_OPERATION_TIMEDOUT)
        return lt_err_set(err, LT_ELIMIT, "%s did not answer within %ld s", p->label,
                          (long)((call && call->timeout_ms > 0 ? call->timeout_ms : 60000) /
                                 1000));
    return transport_failure(*last) ? TRY_NEXT
                                    : lt_err_set(err, LT_EIO, "%s: %s", p->label,
                                                 curl_easy_strerror(*last));
}

static int request(lt_serve_program *p, const char *method, const char *path,
                   const lt_serve_call *call, lt_serve_answer *ans, lt_err *err)
{
    memset(ans, 0, sizeof *ans);
    CURL *h = thread_handle();
    if (!h) return lt_err_set(err, LT_ENOMEM, "%s: libcurl cannot make a handle", p->label);
    struct curl_slist *headers = call_headers(call);
    lt_buf body;
    lt_buf_init(&body, call && call->max_answer_bytes ? call->max_answer_bytes : (size_t)64 << 20);
    unsigned start = atomic_fetch_add(&p->next, 1);
    int tried = 0, rc = TRY_NEXT;
    CURLcode last = CURLE_OK;
    for (int k = 0; k < p->n && rc == TRY_NEXT; k++) {
        lt_serve__worker *w = &p->workers[(start + (unsigned)k) % (unsigned)p->n];
        if (atomic_load(&w->state) != LT_SERVE__READY) continue;
        tried++;
        rc = attempt(p, h, w, method, path, call, headers, &body, ans, &last, err);
    }
    if (rc == TRY_NEXT)
        rc = tried == 0 ? lt_err_set(err, LT_EIO,
                                     "%s has no worker ready (all %d are starting or "
                                     "restarting)",
                                     p->label, p->n)
                        : lt_err_set(err, LT_EIO, "%s: no worker could be reached (%s)",
                                     p->label, curl_easy_strerror(last));
    lt_buf_free(&body);
    curl_slist_free_all(headers);
    return rc;
}

int lt_serve__program_send(lt_serve_program *p, int worker, const char *method,
                           const char *path, const lt_serve_call *call, lt_serve_answer *ans,
                           lt_err *err)
{
    memset(ans, 0, sizeof *ans);
    lt_serve__worker *w = &p->workers[worker];
    if (atomic_load(&w->state) != LT_SERVE__READY)
        return lt_err_set(err, LT_EIO, "%s: worker %d is not ready", p->label, w->index);
    CURL *h = thread_handle();
    if (!h) return lt_err_set(err, LT_ENOMEM, "%s: libcurl cannot make a handle", p->label);
    struct curl_slist *headers = call_headers(call);
    lt_buf body;
    lt_buf_init(&body, call && call->max_answer_bytes ? call->max_answer_bytes : (size_t)64 << 20);
    CURLcode last = CURLE_OK;
    int rc = attempt(p, h, w, method, path, call, headers, &body, ans, &last, err);
    if (rc == TRY_NEXT)
        rc = lt_err_set(err, LT_EIO, "%s: worker %d could not be reached (%s)", p->label,
                        w->index, curl_easy_strerror(last));
    lt_buf_free(&body);
    curl_slist_free_all(headers);
    return rc;
}

int lt_serve_program_invoke(lt_serve_program *p, const lt_serve_call *call, lt_serve_answer *ans,
                            lt_err *err)
{
    return request(p, "POST", "/invocations", call, ans, err);
}

int lt_serve_program_get(lt_serve_program *p, const char *path, lt_serve_answer *ans, lt_err *err)
{
    return request(p, "GET", path, NULL, ans, err);
}

void lt_serve_answer_free(lt_serve_answer *ans)
{
    free(ans->body);
    ans->body = NULL;
}
