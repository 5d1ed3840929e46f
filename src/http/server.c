/*
 * The libmicrohttpd daemon: one access handler that routes each request, verifies its
 * signature, collects or streams its body and queues the answer.
 *
 * MHD calls the handler once when the headers are in (we route and authenticate there,
 * so an unauthenticated or oversized upload is refused before its body is read), then
 * once per body chunk, then once more with no data (we answer there). The URL is kept
 * exactly as sent (a no-op unescape callback), because SigV4 signs the encoded path.
 */
#include "http/http_internal.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"

static const char amz_json_content_type[] = "application/x-amz-json-1.1";

/* Calls to serve programs that can wait at once without holding a server thread; more
 * queue, their connections suspended. */
enum { OFFLOAD_THREADS = 32 };

static const char *header_lookup(void *ctx, const char *name)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)ctx, MHD_HEADER_KIND, name);
}

/* Request ids: a random per-process prefix plus a counter, formatted like a UUID, so
 * minting one costs no system call on the hot path. */
static void next_request_id(lt_http_server *server, char *out)
{
    uint64_t n = atomic_fetch_add_explicit(&server->request_counter, 1, memory_order_relaxed);
    /* "pppppppp-pppp-4ppp-appp-cccccccccccc" by hand: snprintf was a visible share of a
     * small request's CPU. */
    const char *p = server->id_prefix;
    memcpy(out, p, 8);
    out[8] = '-';
    memcpy(out + 9, p + 8, 4);
    memcpy(out + 13, "-4", 2);
    memcpy(out + 15, p + 12, 3);
    memcpy(out + 18, "-a", 2);
    memcpy(out + 20, p + 15, 3);
    out[23] = '-';
    static const char hex[] = "0123456789abcdef";
    for (int i = 35; i >= 24; i--, n >>= 4) out[i] = hex[n & 15];
    out[36] = '\0';
}

static void add_common_headers(struct MHD_Response *resp, const lt_http__req *req)
{
    MHD_add_response_header(resp, "x-amzn-RequestId", req->request_id);
    MHD_add_response_header(resp, "Server", "Lathe");
}

int lt_http__queue(lt_http__req *req, int status, struct MHD_Response *resp)
{
    add_common_headers(resp, req);
    req->status = status;
    req->responded = true;
    int rc = MHD_queue_response(req->conn, (unsigned int)status, resp);
    MHD_destroy_response(resp);
    return rc;
}

int lt_http__queue_text(lt_http__req *req, int status, const char *content_type,
                        const char *body, size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!resp) return MHD_NO;
    if (content_type) MHD_add_response_header(resp, "Content-Type", content_type);
    return lt_http__queue(req, status, resp);
}

int lt_http__queue_json_error(lt_http__req *req, int status, const char *type, const char *message)
{
    json_t *body = json_pack("{s:s, s:s, s:s}", "__type", type, "message", message, "Message",
                             message);
    char *text = lt_json_dump(body);
    json_decref(body);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", amz_json_content_type);
    MHD_add_response_header(resp, "x-amzn-ErrorType", type);
    if (!req->op[0]) lt_str_copy(req->op, sizeof req->op, "error");
    return lt_http__queue(req, status, resp);
}

/* Rebuilds the raw query string from MHD's (not unescaped) argument list. */
static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    lt_buf *q = cls;
    if (q->len) lt_buf_append(q, "&", 1, NULL);
    lt_buf_puts(q, key, NULL);
    if (value) {
        lt_buf_append(q, "=", 1, NULL);
        lt_buf_puts(q, value, NULL);
    }
    return MHD_YES;
}

static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

/* Each server thread keeps the last request state it freed for its next request: at 2 KiB
 * it is past malloc's per-thread cache, and allocating it took a visible share of a small
 * request's CPU (with a heap consolidation now and then). Freed when the thread exits. */
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;
static pthread_key_t spare_key;

static void spare_key_create(void)
{
    if (pthread_key_create(&spare_key, free) != 0) abort();
}

static lt_http__req *req_alloc(void)
{
    pthread_once(&spare_once, spare_key_create);
    lt_http__req *req = pthread_getspecific(spare_key);
    if (!req) return lt_xcalloc(1, sizeof *req);
    pthread_setspecific(spare_key, NULL);
    memset(req, 0, sizeof *req);
    return req;
}

static void req_release(lt_http__req *req)
{
    if (!pthread_getspecific(spare_key) && pthread_setspecific(spare_key, req) == 0) return;
    free(req);
}

static lt_http__req *req_new(lt_http_server *server, struct MHD_Connection *conn, const char *url,
                             const char *method)
{
    lt_http__req *req = req_alloc();
    req->server = server;
    req->conn = conn;
    req->start_ns = lt_monotonic_ns();
    next_request_id(server, req->request_id);
    req->path = lt_xstrdup(url);
    lt_str_copy(req->method, sizeof req->method, method);
    lt_buf q;
    lt_buf_init(&q, 1 << 16);
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_query, &q);
    req->query = lt_buf_take(&q);
    return req;
}

static void req_free(lt_http__req *req)
{
    if (req->s3call) lt_s3_call_free(req->s3call);
    lt_serve_reply_free(&req->reply);
    lt_serve_async_reply_free(&req->async_reply);
    free(req->endpoint);
    lt_buf_free(&req->body);
    free(req->path);
    free(req->query);
    free(req->bucket);
    free(req->key);
    req_release(req);
}

static void request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    lt_http_server *server = cls;
    lt_http__req *req = *con_cls;
    if (!req) return;
    int status = req->responded ? req->status : 499; /* 499: the client went away */
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && req->responded && status < 400) status = 499;
    lt_http__metrics_record(&server->metrics, req->op[0] ? req->op : "unknown", status,
                            lt_monotonic_ns() - req->start_ns);
    req_free(req);
    *con_cls = NULL;
}

static int serve_ping(lt_http__req *req)
{
    lt_str_copy(req->op, sizeof req->op, "Ping");
    return lt_http__queue_text(req, 200, "text/plain", "", 0);
}

static int serve_metrics(lt_http__req *req)
{
    lt_str_copy(req->op, sizeof req->op, "Metrics");
    char *text = lt_http__metrics_render(&req->server->metrics);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4");
    return lt_http__queue(req, 200, resp);
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
    (void)version;
    lt_http_server *server = cls;
    lt_http__req *req = *con_cls;
    if (!req) {
        req = req_new(server, conn, url, method);
        *con_cls = req;
        req->sig.method = req->method;
        req->sig.path = req->path;
        req->sig.query = req->query;
        req->sig.header = header_lookup;
        req->sig.header_ctx = conn;
        /* /ping and /metrics answer on the next call: an answer queued before MHD has seen
         * the end of the request makes it close the connection instead of keeping it. */
        bool get = strcmp(method, "GET") == 0;
        if (get && strcmp(url, "/ping") == 0) req->route = LT_HTTP__ROUTE_PING;
        else if (get && strcmp(url, "/metrics") == 0) req->route = LT_HTTP__ROUTE_METRICS;
        if (req->route) return MHD_YES;
        const char *target = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "x-amz-target");
        if (target && strcmp(method, "POST") == 0 && strcmp(url, "/") == 0) {
            req->route = LT_HTTP__ROUTE_CONTROL;
            return (enum MHD_Result)lt_http__control_begin(req, target);
        }
        if (lt_http__runtime_path(method, url)) {
            req->route = LT_HTTP__ROUTE_RUNTIME;
            return (enum MHD_Result)lt_http__runtime_begin(req);
        }
        req->route = LT_HTTP__ROUTE_S3;
        return (enum MHD_Result)lt_http__s3_begin(req);
    }
    if (req->responded) {
        /* An answer is already queued (an early refusal): drop whatever body follows. */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (req->route == LT_HTTP__ROUTE_PING || req->route == LT_HTTP__ROUTE_METRICS) {
        *upload_data_size = 0;
        return (enum MHD_Result)(req->route == LT_HTTP__ROUTE_PING ? serve_ping(req)
                                                                   : serve_metrics(req));
    }
    if (*upload_data_size > 0) {
        int rc = req->route == LT_HTTP__ROUTE_CONTROL || req->route == LT_HTTP__ROUTE_RUNTIME
                     ? lt_http__control_body(req, upload_data, *upload_data_size)
                     : lt_http__s3_body(req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return (enum MHD_Result)rc;
    }
    if (req->route == LT_HTTP__ROUTE_RUNTIME) return (enum MHD_Result)lt_http__runtime_finish(req);
    return (enum MHD_Result)(req->route == LT_HTTP__ROUTE_CONTROL ? lt_http__control_finish(req)
                                                                  : lt_http__s3_finish(req));
}

static void panic_callback(void *cls, const char *file, unsigned int line, const char *reason)
{
    (void)cls;
    lt_log_error("libmicrohttpd panic at %s:%u: %s", file ? file : "?", line,
                 reason ? reason : "?");
    abort();
}

int lt_http_server_start(lt_http_server **out, const lt_http_config *cfg, lt_err *err)
{
    lt_http_server *server = lt_xcalloc(1, sizeof *server);
    server->cfg = *cfg;
    lt_http__metrics_init(&server->metrics);
    lt_random_token(server->id_prefix, sizeof server->id_prefix - 1, false);
    for (char *p = server->id_prefix; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)("0123456789abcdef"[(*p - 'A') % 16]);

    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)cfg->port);
    if (inet_pton(AF_INET, cfg->host, &addr.sin_addr) != 1) {
        lt_http__metrics_destroy(&server->metrics);
        free(server);
        return lt_err_set(err, LT_EINVAL, "--host '%s' is not an IPv4 address", cfg->host);
    }
    MHD_set_panic_func(panic_callback, NULL);
    /* Suspend/resume: InvokeEndpoint through a serve program runs on an offload thread. */
    unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_TURBO |
                         MHD_ALLOW_SUSPEND_RESUME;
    if (cfg->serve) {
        int rc = lt_http__offload_start(&server->offload, OFFLOAD_THREADS, err);
        if (rc) {
            lt_http__metrics_destroy(&server->metrics);
            free(server);
            return rc;
        }
    }
    server->daemon = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, access_handler, server,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)(cfg->threads > 0 ? cfg->threads : 4),
        MHD_OPTION_NOTIFY_COMPLETED, request_completed, server,
        MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
        /* Per-connection pool for headers and MHD's own buffers. libmicrohttpd zeroes it
         * between the requests of a keep-alive connection (and the read buffer's unused
         * part when it shrinks it), so its size is paid on every request: 64 KiB cost a
         * single-row InvokeEndpoint about 1 us of its 16-21, and 32 KiB moves S3 objects
         * as fast (16 KiB cut PUT throughput by a tenth). 32 KiB holds any header block
         * AWS clients send (S3 caps user metadata at 2 KiB; a 20 KiB header is served);
         * past it MHD answers 431. */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 << 10),
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)300,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)1024,
        MHD_OPTION_END);
    if (!server->daemon) {
        lt_http__offload_stop(server->offload);
        lt_http__metrics_destroy(&server->metrics);
        free(server);
        return lt_err_set(err, LT_EIO, "cannot listen on %s:%d (address in use or not permitted)",
                          cfg->host, cfg->port);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_BIND_PORT);
    server->port = info ? info->port : cfg->port;
    *out = server;
    return 0;
}

int lt_http_server_port(const lt_http_server *server)
{
    return server->port;
}

void lt_http_server_stop(lt_http_server *server)
{
    if (!server) return;
    /* Every suspended connection must be resumed before MHD_stop_daemon (it panics
     * otherwise): the offload threads finish their calls and resume them; a request
     * arriving meanwhile runs inline. Calls still waiting on a serve program after the
     * grace are cut short, so a hung model cannot hold up shutdown. */
    int grace_s = server->cfg.shutdown_grace_s > 0 ? server->cfg.shutdown_grace_s : 10;
    if (server->offload && !lt_http__offload_drain(server->offload, (int64_t)grace_s * 1000))
        lt_serve_interrupt(server->cfg.serve);
    lt_http__offload_stop(server->offload);
    MHD_stop_daemon(server->daemon);
    lt_http__metrics_destroy(&server->metrics);
    free(server);
}
