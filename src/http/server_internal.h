/* Private to the http module: the server, the per-request state, and the entry points
 * of the control-plane and S3 glue (control.c, s3_glue.c) and of auth.c. */
#ifndef LT_HTTP_SERVER_INTERNAL_H
#define LT_HTTP_SERVER_INTERNAL_H

#include "http/http_internal.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

/* offload.c: a few threads for requests that would block the server's own. */
typedef struct lt_http__offload lt_http__offload;
int lt_http__offload_start(lt_http__offload **out, int threads, lt_err *err);
/* Queues run(arg) for an offload thread; false (nothing queued) once stopping. */
bool lt_http__offload_submit(lt_http__offload *o, void (*run)(void *), void *arg);
/* Refuses new jobs and waits up to timeout_ms for the queued and running ones to end;
 * true when none is left. */
bool lt_http__offload_drain(lt_http__offload *o, int64_t timeout_ms);
/* Refuses new jobs, waits for the queued and running ones, and frees o. */
void lt_http__offload_stop(lt_http__offload *o);

struct lt_http_server {
    struct MHD_Daemon *daemon;
    lt_http__offload *offload;
    lt_http_config cfg;
    int port;
    lt_http__metrics metrics;
    char id_prefix[19];
    _Atomic uint64_t request_counter;
};

typedef enum {
    LT_HTTP__ROUTE_CONTROL = 1,
    LT_HTTP__ROUTE_S3,
    LT_HTTP__ROUTE_PING,
    LT_HTTP__ROUTE_METRICS,
    LT_HTTP__ROUTE_RUNTIME,
} lt_http__route;

typedef struct lt_http__req {
    lt_http_server *server;
    struct MHD_Connection *conn;
    lt_http__route route;
    int64_t start_ns;
    char request_id[40];
    char method[16];
    char op[64];       /* operation name for metrics */
    char *path;        /* as sent, still percent-encoded */
    char *query;       /* raw, without '?' */
    lt_sigv4_request sig;
    lt_sigv4_auth auth;
    char secret[256];
    bool responded;
    int status;
    /* control plane and the Logs API */
    bool logs; /* X-Amz-Target: Logs_20140328.<Op> */
    char target_op[128];
    lt_buf body;
    bool body_too_large;
    /* InvokeEndpoint through a serve program, run on an offload thread while the
     * connection is suspended: the call (its strings live as long as the request) and
     * the answer, ready once the connection is resumed. */
    char *endpoint;
    lt_serve_request invoke;
    lt_serve_reply reply;
    bool reply_ready;
    /* InvokeEndpointAsync (POST .../async-invocations): queued on an offload thread too,
     * since queuing writes the store. */
    bool async;
    lt_serve_async_request async_invoke;
    lt_serve_async_reply async_reply;
    /* S3 */
    char *bucket;
    char *key;
    lt_s3_request s3req;
    lt_s3_call *s3call;
} lt_http__req;

/* Queue an answer; each returns an MHD_Result. */
int lt_http__queue(lt_http__req *req, int status, struct MHD_Response *resp);
int lt_http__queue_text(lt_http__req *req, int status, const char *content_type,
                        const char *body, size_t len);
int lt_http__queue_json_error(lt_http__req *req, int status, const char *type,
                              const char *message);

/* Parses the signature, checks the scope's service, the clock and the key (and fills
 * req->auth and req->secret). The signature itself is checked by lt_http__auth_verify
 * once the payload hash is known. */
lt_auth_result lt_http__auth_begin(lt_http__req *req, const char *service, lt_err *err);
lt_auth_result lt_http__auth_verify(lt_http__req *req, const char *payload_hash, lt_err *err);

int lt_http__control_begin(lt_http__req *req, const char *target);
/* Collects a bounded body (control plane, Logs API and InvokeEndpoint alike); past the
 * limit it is dropped and req->body_too_large set. */
int lt_http__control_body(lt_http__req *req, const char *data, size_t len);
int lt_http__control_finish(lt_http__req *req);

/* The CloudWatch Logs read API (logs_api.c): answers one call in reply (a pure function of
 * the call and the files under cfg->logs_root). region goes into ARNs. */
bool lt_http__logs_operation_known(const char *op);
void lt_http__logs_call(const lt_http_config *cfg, const char *region, const char *op,
                        const char *body, size_t len, lt_api_reply *reply);

/* runtime.c: InvokeEndpoint */
bool lt_http__runtime_path(const char *method, const char *url);
int lt_http__runtime_begin(lt_http__req *req);
int lt_http__runtime_finish(lt_http__req *req);

int lt_http__s3_begin(lt_http__req *req);
int lt_http__s3_body(lt_http__req *req, const char *data, size_t len);
int lt_http__s3_finish(lt_http__req *req);

#endif
