/*
 * s3: the S3-compatible object API over the blob store.
 *
 * Speaks the subset of the S3 REST protocol (path-style addressing, XML bodies) that
 * `aws s3 mb/cp/ls/rm/sync` and boto3's upload_file/download_file use: ListBuckets,
 * CreateBucket, DeleteBucket, HeadBucket, GetBucketLocation, ListObjects (V1 and V2:
 * prefix, delimiter, continuation), PutObject, GetObject (Range), HeadObject, CopyObject,
 * DeleteObject, DeleteObjects, and multipart upload (Create, UploadPart, UploadPartCopy
 * is not implemented, Complete, Abort, ListParts, ListMultipartUploads).
 *
 * This module knows nothing of libmicrohttpd or of authentication: the http module
 * verifies the request's SigV4 signature (using the declared x-amz-content-sha256),
 * then drives one lt_s3_call per request: begin, zero or more body chunks, finish.
 * The call streams a PUT body straight to a temporary file in the blob store while
 * hashing it (MD5 for the ETag, SHA-256 to check the declared payload hash), so a
 * 256 MiB upload never sits in memory, and publishes it atomically at finish.
 *
 * Thread safety: one lt_s3 is shared by all server threads; a call belongs to one
 * request and is used by one thread at a time.
 */
#ifndef LT_S3_H
#define LT_S3_H

#include "base/base.h"
#include "blob/blob.h"

#include <stdint.h>

typedef struct lt_s3 lt_s3;

/* Borrows blob (which must outlive the lt_s3). region is reported by GetBucketLocation. */
int lt_s3_open(lt_s3 **out, lt_blob *blob, const char *region, lt_err *err);
void lt_s3_close(lt_s3 *s3);

/* Case-insensitive header lookup supplied by the HTTP layer; NULL when absent. */
typedef const char *(*lt_s3_header_fn)(void *ctx, const char *name);

typedef struct lt_s3_request {
    const char *method;     /* "GET", "PUT", ... */
    const char *bucket;     /* decoded; "" for service-level requests (ListBuckets) */
    const char *key;        /* decoded object key; "" when the path names only a bucket */
    const char *query;      /* raw query string without '?', "" when none */
    lt_s3_header_fn header; /* request headers */
    void *header_ctx;
    const char *request_id; /* echoed in error bodies as <RequestId> */
    /* Optional, added after the first interface: calls visit(visit_ctx, name, value) for
     * every request header (with MHD: MHD_get_connection_values over MHD_HEADER_KIND).
     * PutObject, CopyObject (REPLACE) and CreateMultipartUpload read x-amz-meta-* through
     * it; when NULL, user metadata is not stored. */
    void (*header_each)(void *header_ctx,
                        void (*visit)(void *visit_ctx, const char *name, const char *value),
                        void *visit_ctx);
} lt_s3_request;

enum { LT_S3_MAX_HEADERS = 16 };

/* The answer to one request. Header names and values, the body and the file
 * descriptor are owned by the response and released by lt_s3_response_free. */
typedef struct lt_s3_response {
    int status;
    size_t n_headers;
    struct {
        char *name;
        char *value;
    } headers[LT_S3_MAX_HEADERS];
    lt_buf body;          /* XML (or empty) when fd < 0 */
    int fd;               /* >= 0: serve `length` bytes of this file from `offset` */
    uint64_t offset;
    uint64_t length;
    const char *op_name;  /* the S3 operation, for metrics ("PutObject", ...) */
} lt_s3_response;

void lt_s3_response_init(lt_s3_response *resp);
void lt_s3_response_free(lt_s3_response *resp);

typedef struct lt_s3_call lt_s3_call;

/* Starts handling a request. The strings in req must stay valid until the call is freed.
 * Never fails: a bad request produces an error response at finish. */
lt_s3_call *lt_s3_call_begin(lt_s3 *s3, const lt_s3_request *req);
/* Feeds the next chunk of the request body. Returns 0, or a negative LT_E* code once the
 * call has decided on an error response (the HTTP layer may then discard further body). */
int lt_s3_call_body(lt_s3_call *call, const void *data, size_t len);
/* Ends the body and produces the response (success or an S3 XML error). */
void lt_s3_call_finish(lt_s3_call *call, lt_s3_response *resp);
/* Releases the call; an unfinished upload is discarded, never published. */
void lt_s3_call_free(lt_s3_call *call);

/* An S3 XML error response, for errors raised before a call exists (authentication).
 * code is the S3 error code ("SignatureDoesNotMatch", ...). */
void lt_s3_error_response(lt_s3_response *resp, int status, const char *code,
                          const char *message, const char *resource, const char *request_id);

#endif
