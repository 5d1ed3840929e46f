/*
 * http: the server every client talks to, and AWS Signature Version 4.
 *
 * One libmicrohttpd daemon (epoll, a pool of threads) serves, on one port:
 *   POST /  with X-Amz-Target: SageMaker.<Op>   the control plane (module api)
 *   POST /  with X-Amz-Target: Logs_20140328.<Op>
 *                                              CloudWatch Logs reads over the exec module's
 *                                              log streams (DescribeLogStreams,
 *                                              GetLogEvents, FilterLogEvents)
 *   GET  /ping                                 200 once the server is ready
 *   GET  /metrics                              Prometheus text: requests by operation and
 *                                              status, a latency histogram
 *   anything else                              the S3-compatible object API (module s3),
 *                                              path-style: /<bucket>/<key>
 * Every request except /ping and /metrics must carry a valid SigV4 signature (header or
 * presigned-query form); there is no mode without authentication. Request bodies are
 * bounded (control plane: body_limit_bytes; S3: streamed to the blob store, 5 GiB per
 * PUT). Every answer carries x-amzn-RequestId (and x-amz-request-id for S3).
 *
 * The SigV4 functions are pure (no I/O) and shared with the command line, which signs
 * the requests it sends.
 *
 * Thread safety: the server's state is read-only after start except the metrics, which
 * are atomic counters. The key-lookup callback is called from many threads at once.
 */
#ifndef LT_HTTP_H
#define LT_HTTP_H

#include "api/api.h"
#include "base/base.h"
#include "s3/s3.h"
#include "serve/serve.h"

/* ---- SigV4 ------------------------------------------------------------------------- */

/* Case-insensitive header lookup; NULL when absent. */
typedef const char *(*lt_sigv4_header_fn)(void *ctx, const char *name);

typedef struct lt_sigv4_request {
    const char *method;       /* "POST" */
    const char *path;         /* the path as sent on the wire (percent-encoded), no query */
    const char *query;        /* the raw query string without '?', "" when none */
    lt_sigv4_header_fn header;
    void *header_ctx;
    const char *payload_hash; /* lower-case hex SHA-256 of the body, or the value of
                                 x-amz-content-sha256 ("UNSIGNED-PAYLOAD" included) */
    bool s3;                  /* S3 rules: the canonical URI is the path as sent;
                                 other services encode it a second time */
} lt_sigv4_request;

/* The parts of a signature, from the Authorization header or the X-Amz-* query. */
typedef struct lt_sigv4_auth {
    char access_key[129];
    char date[9];            /* yyyymmdd of the credential scope */
    char region[64];
    char service[64];
    char amz_date[17];       /* X-Amz-Date */
    char signed_headers[1024];
    char signature[65];
    bool presigned;
    int64_t expires_s;       /* presigned only: X-Amz-Expires */
} lt_sigv4_auth;

/* Why a request was refused; each protocol maps these to its own error codes. */
typedef enum {
    LT_AUTH_OK = 0,
    LT_AUTH_MISSING,       /* no Authorization header and no X-Amz-Signature */
    LT_AUTH_MALFORMED,     /* an Authorization/query form that cannot be parsed */
    LT_AUTH_UNKNOWN_KEY,   /* the access key id is not one Lathe issued */
    LT_AUTH_BAD_SIGNATURE, /* the signature does not match */
    LT_AUTH_SKEWED,        /* X-Amz-Date more than 15 minutes from the server clock */
    LT_AUTH_EXPIRED,       /* presigned URL past X-Amz-Expires */
} lt_auth_result;

/* Parses the signature parts. Returns LT_AUTH_OK, LT_AUTH_MISSING or LT_AUTH_MALFORMED
 * (with a message in err saying what is wrong). */
lt_auth_result lt_sigv4_parse(const lt_sigv4_request *req, lt_sigv4_auth *auth, lt_err *err);

/* Computes the signature (64 hex + NUL in out_hex) for req under auth's scope and the
 * given secret. LT_EINVAL if a signed header is absent from the request. If canonical is
 * not NULL it receives the canonical request (for error messages and tests). */
int lt_sigv4_compute(const lt_sigv4_request *req, const lt_sigv4_auth *auth,
                     const char *secret, char *out_hex, lt_buf *canonical, lt_err *err);

/* Checks the date against now (15 minutes either way, or the presigned expiry).
 * Returns LT_AUTH_OK, LT_AUTH_SKEWED, LT_AUTH_EXPIRED or LT_AUTH_MALFORMED. */
lt_auth_result lt_sigv4_check_time(const lt_sigv4_auth *auth, time_t now, lt_err *err);

/* Signs a request the way botocore does (header form) and returns the Authorization
 * header value; caller frees. amz_date is "YYYYMMDDTHHMMSSZ"; the request's headers
 * must already include host and x-amz-date; signed_headers is sorted, ';'-separated. */
char *lt_sigv4_authorization(const lt_sigv4_request *req, const char *access_key,
                             const char *secret, const char *region, const char *service,
                             const char *amz_date, const char *signed_headers, lt_err *err);

/* ---- server ------------------------------------------------------------------------ */

/* Finds the secret for an access key id; returns 0, LT_ENOTFOUND, or another error. */
typedef int (*lt_http_key_lookup_fn)(void *ctx, const char *access_key, char *secret,
                                     size_t secret_cap, lt_err *err);

typedef struct lt_http_config {
    const char *host;            /* address to bind, e.g. "127.0.0.1" or "0.0.0.0" */
    int port;                    /* 0 picks a free port (see lt_http_server_port) */
    int threads;                 /* size of the thread pool */
    size_t body_limit_bytes;     /* largest control-plane body accepted */
    lt_api *api;                 /* borrowed */
    lt_s3 *s3;                   /* borrowed */
    lt_serve *serve;             /* borrowed; the endpoints InvokeEndpoint reaches (NULL: none) */
    lt_http_key_lookup_fn key_lookup;
    void *key_lookup_ctx;
    const char *logs_root;       /* the exec module's log streams (DATA/logs), served by
                                    the CloudWatch Logs read API; NULL: none */
    const char *account_id;      /* in the Logs API's ARNs; NULL: "000000000000" */
    int shutdown_grace_s;        /* how long stopping waits for calls to serve programs before
                                    they are cut short (lt_serve_interrupt); 0: 10 s */
} lt_http_config;

typedef struct lt_http_server lt_http_server;

/* Binds and starts serving. LT_EIO with the reason (address in use, ...). */
int lt_http_server_start(lt_http_server **out, const lt_http_config *cfg, lt_err *err);
int lt_http_server_port(const lt_http_server *server);
/* Stops accepting, finishes or drops in-flight requests (calls to serve programs get
 * shutdown_grace_s to answer, then ServiceUnavailable), frees the server. */
void lt_http_server_stop(lt_http_server *server);

#endif
