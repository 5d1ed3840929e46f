/* One S3 request from begin to response: query parsing, recognising the operation the
 * way S3 does (method + bucket/key + sub-resource), the payload checks every operation
 * shares (x-amz-content-sha256 against the streamed body, Content-MD5), and the body
 * routed to the operation's writer or XML buffer.
 *
 * Implemented subset: see s3.h. Payload signing: a 64-hex x-amz-content-sha256 is
 * checked against the body (XAmzContentSHA256Mismatch), UNSIGNED-PAYLOAD is not, and
 * STREAMING-* (aws-chunked) is refused with NotImplemented. Unknown sub-resources
 * (?acl, ?tagging, ?versioning, ...) are answered NotImplemented naming the operation. */
#include "s3/s3_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

int lt_s3_open(lt_s3 **out, lt_blob *blob, const char *region, lt_err *err)
{
    if (!blob) return lt_err_set(err, LT_EINVAL, "the S3 API needs a blob store");
    lt_s3 *s3 = lt_xcalloc(1, sizeof *s3);
    s3->blob = blob;
    s3->region = lt_xstrdup(region && *region ? region : "us-east-1");
    *out = s3;
    return 0;
}

void lt_s3_close(lt_s3 *s3)
{
    if (!s3) return;
    free(s3->region);
    free(s3);
}

void lt_s3_response_init(lt_s3_response *resp)
{
    memset(resp, 0, sizeof *resp);
    resp->status = 200;
    resp->fd = -1;
    lt_buf_init(&resp->body, 64u << 20);
}

void lt_s3_response_free(lt_s3_response *resp)
{
    for (size_t i = 0; i < resp->n_headers; i++) {
        free(resp->headers[i].name);
        free(resp->headers[i].value);
    }
    resp->n_headers = 0;
    lt_buf_free(&resp->body);
    if (resp->fd >= 0) close(resp->fd);
    resp->fd = -1;
}

void lt_s3__header_add(lt_s3_response *resp, const char *name, const char *value)
{
    if (resp->n_headers == LT_S3_MAX_HEADERS) {
        lt_log_warn("s3: response header %s dropped: at most %d headers", name, LT_S3_MAX_HEADERS);
        return;
    }
    resp->headers[resp->n_headers].name = lt_xstrdup(name);
    resp->headers[resp->n_headers].value = lt_xstrdup(value);
    resp->n_headers++;
}

const char *lt_s3__param_get(const lt_s3_call *call, const char *name)
{
    for (size_t i = 0; i < call->n_params; i++)
        if (!strcmp(call->params[i].name, name)) return call->params[i].value;
    return NULL;
}

const char *lt_s3__header_get(const lt_s3_call *call, const char *name)
{
    return call->req.header ? call->req.header(call->req.header_ctx, name) : NULL;
}

char *lt_s3__resource(const lt_s3_call *call)
{
    if (!*call->req.bucket) return lt_xstrdup("/");
    if (!*call->req.key) return lt_xasprintf("/%s", call->req.bucket);
    return lt_xasprintf("/%s/%s", call->req.bucket, call->req.key);
}

/* ---- x-amz-meta-* ------------------------------------------------------------------- */

enum { META_MAX_BYTES = 2048, META_MAX_HEADERS = 8 };

typedef struct meta_collect {
    json_t *obj;
    size_t bytes, count;
    bool bad;
} meta_collect;

static void meta_visit(void *ctx, const char *name, const char *value)
{
    meta_collect *mc = ctx;
    if (strncasecmp(name, "x-amz-meta-", 11) != 0 || !name[11]) return;
    char *lower = lt_xstrdup(name + 11);
    for (char *p = lower; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    json_t *v = json_string(value ? value : "");
    if (!v)
        mc->bad = true;
    else
        json_object_set_new(mc->obj, lower, v);
    mc->bytes += strlen(lower) + (value ? strlen(value) : 0);
    mc->count++;
    free(lower);
}

int lt_s3__metadata_from_headers(lt_s3_call *call, char **json)
{
    *json = NULL;
    if (!call->req.header_each) return 0;
    meta_collect mc = {.obj = json_object()};
    call->req.header_each(call->req.header_ctx, meta_visit, &mc);
    int rc = 0;
    if (mc.bad) {
        lt_s3__fail(call, "InvalidArgument", "x-amz-meta-* values must be valid UTF-8");
        rc = -1;
    } else if (mc.bytes > META_MAX_BYTES) {
        lt_s3__fail(call, "MetadataTooLarge", "user metadata is %zu bytes; the limit is %d",
                    mc.bytes, META_MAX_BYTES);
        rc = -1;
    } else if (mc.count > META_MAX_HEADERS) {
        lt_s3__fail(call, "MetadataTooLarge", "%zu x-amz-meta-* headers; Lathe keeps at most %d",
                    mc.count, META_MAX_HEADERS);
        rc = -1;
    } else if (json_object_size(mc.obj) > 0) {
        *json = lt_json_dump(mc.obj);
    }
    json_decref(mc.obj);
    return rc;
}

/* ---- recognising the operation ------------------------------------------------------- */

static void not_implemented_finish(lt_s3_call *call, lt_s3_response *resp)
{
    (void)resp;
    lt_s3__fail(call, "NotImplemented", "Lathe does not implement %s", call->unimplemented);
}

static const lt_s3__op op_not_implemented = {
    .name = "NotImplemented", .body = LT_S3__BODY_NONE, .finish = not_implemented_finish};

/* Sub-resources S3 knows but Lathe does not serve, with the name part of their
 * operations (GET ?tagging on an object is GetObjectTagging; '!' marks a whole name). */
static const struct {
    const char *param, *name;
} unsupported[] = {
    {"accelerate", "Accelerate"},
    {"acl", "Acl"},
    {"analytics", "Analytics"},
    {"attributes", "Attributes"},
    {"cors", "Cors"},
    {"encryption", "Encryption"},
    {"intelligent-tiering", "IntelligentTiering"},
    {"inventory", "Inventory"},
    {"legal-hold", "LegalHold"},
    {"lifecycle", "Lifecycle"},
    {"logging", "Logging"},
    {"metrics", "MetricsConfiguration"},
    {"notification", "Notification"},
    {"object-lock", "ObjectLockConfiguration"},
    {"ownershipControls", "OwnershipControls"},
    {"policy", "Policy"},
    {"policyStatus", "PolicyStatus"},
    {"publicAccessBlock", "PublicAccessBlock"},
    {"replication", "Replication"},
    {"requestPayment", "RequestPayment"},
    {"restore", "!RestoreObject"},
    {"retention", "Retention"},
    {"select", "!SelectObjectContent"},
    {"tagging", "Tagging"},
    {"torrent", "Torrent"},
    {"versioning", "Versioning"},
    {"versions", "ObjectVersions"},
    {"website", "Website"},
};

static const char *verb_of(const char *method)
{
    if (!strcmp(method, "GET") || !strcmp(method, "HEAD")) return "Get";
    if (!strcmp(method, "PUT")) return "Put";
    if (!strcmp(method, "DELETE")) return "Delete";
    return "Post";
}

static const lt_s3__op *unimplemented(lt_s3_call *call, const char *what)
{
    if (what != call->unimplemented)
        snprintf(call->unimplemented, sizeof call->unimplemented, "%s", what);
    return &op_not_implemented;
}

static const lt_s3__op *choose_op(lt_s3_call *call)
{
    char *what = call->unimplemented;
    size_t what_size = sizeof call->unimplemented;
    const char *m = call->req.method;
    bool get = !strcmp(m, "GET"), head = !strcmp(m, "HEAD"), put = !strcmp(m, "PUT"),
         del = !strcmp(m, "DELETE"), post = !strcmp(m, "POST");
    bool on_object = *call->req.key != '\0';
    if (!*call->req.bucket) {
        if (get || head) return &lt_s3__op_list_buckets;
        snprintf(what, what_size, "%s on the service", m);
        return unimplemented(call, what);
    }
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++) {
        if (!lt_s3__param_get(call, unsupported[i].param)) continue;
        const char *name = unsupported[i].name;
        if (*name == '!')
            snprintf(what, what_size, "%s (%s ?%s)", name + 1, m, unsupported[i].param);
        else
            snprintf(what, what_size, "%s%s%s (%s ?%s)", verb_of(m),
                     on_object ? "Object" : "Bucket", name, m, unsupported[i].param);
        return unimplemented(call, what);
    }
    bool upload_id = lt_s3__param_get(call, "uploadId") != NULL;
    bool uploads = lt_s3__param_get(call, "uploads") != NULL;
    if (!on_object) {
        if (get && lt_s3__param_get(call, "location")) return &lt_s3__op_get_bucket_location;
        if (get && uploads) return &lt_s3__op_list_multipart_uploads;
        const char *lt = lt_s3__param_get(call, "list-type");
        if (get && lt && !strcmp(lt, "2")) return &lt_s3__op_list_objects_v2;
        if (get) return &lt_s3__op_list_objects;
        if (head) return &lt_s3__op_head_bucket;
        if (put) return &lt_s3__op_create_bucket;
        if (del) return &lt_s3__op_delete_bucket;
        if (post && lt_s3__param_get(call, "delete")) return &lt_s3__op_delete_objects;
        snprintf(what, what_size, "%s on a bucket", m);
        return unimplemented(call, what);
    }
    if (get && upload_id) return &lt_s3__op_list_parts;
    if (get) return &lt_s3__op_get_object;
    if (head) return &lt_s3__op_head_object;
    if (put && (upload_id || lt_s3__param_get(call, "partNumber"))) {
        if (lt_s3__header_get(call, "x-amz-copy-source"))
            return unimplemented(call, "UploadPartCopy (PUT ?partNumber with x-amz-copy-source)");
        return &lt_s3__op_upload_part;
    }
    if (put && lt_s3__header_get(call, "x-amz-copy-source")) return &lt_s3__op_copy_object;
    if (put) return &lt_s3__op_put_object;
    if (del && upload_id) return &lt_s3__op_abort_multipart_upload;
    if (del) return &lt_s3__op_delete_object;
    if (post && uploads) return &lt_s3__op_create_multipart_upload;
    if (post && upload_id) return &lt_s3__op_complete_multipart_upload;
    snprintf(what, what_size, "%s on an object", m);
    return unimplemented(call, what);
}

/* ---- the call ----------------------------------------------------------------------- */

static void parse_query(lt_s3_call *call)
{
    const char *q = call->req.query ? call->req.query : "";
    size_t cap = 0;
    while (*q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', len);
        size_t nlen = eq ? (size_t)(eq - q) : len;
        lt_buf name, value;
        lt_buf_init(&name, 4096);
        lt_buf_init(&value, 8192);
        lt_err err = {0};
        int rc = lt_uri_decode(&name, q, nlen, &err);
        if (!rc && eq) rc = lt_uri_decode(&value, eq + 1, len - nlen - 1, &err);
        if (rc) {
            lt_s3__fail(call, "InvalidArgument", "bad query string: %s", err.msg);
            lt_buf_free(&name);
            lt_buf_free(&value);
            return;
        }
        if (nlen) {
            if (call->n_params == cap) {
                cap = cap ? 2 * cap : 8;
                call->params = lt_xrealloc(call->params, cap * sizeof *call->params);
            }
            call->params[call->n_params].name = lt_buf_take(&name);
            call->params[call->n_params].value = lt_buf_take(&value);
            call->n_params++;
        }
        lt_buf_free(&name);
        lt_buf_free(&value);
        q += len;
        if (*q == '&') q++;
    }
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void payload_checks(lt_s3_call *call)
{
    const char *sha = lt_s3__header_get(call, "x-amz-content-sha256");
    if (sha && lt_str_starts_with(sha, "STREAMING-")) {
        lt_s3__fail(call, "NotImplemented",
                    "x-amz-content-sha256: %.64s (aws-chunked uploads) is not supported; sign the "
                    "payload or send UNSIGNED-PAYLOAD",
                    sha);
        return;
    }
    if (sha && strcmp(sha, "UNSIGNED-PAYLOAD") != 0) {
        bool ok = strlen(sha) == 64;
        for (int i = 0; ok && i < 32; i++) {
            int h = hex_value(sha[2 * i]), l = hex_value(sha[2 * i + 1]);
            ok = h >= 0 && l >= 0;
            call->want_sha256[i] = (uint8_t)(h << 4 | l);
        }
        if (!ok) {
            lt_s3__fail(call, "InvalidArgument",
                        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a SHA-256 in hex");
            return;
        }
        call->sha256 = lt_hash_new(LT_HASH_SHA256);
    }
    const char *md5 = lt_s3__header_get(call, "Content-MD5");
    if (md5) {
        size_t n = 0;
        if (lt_base64_decode(md5, strlen(md5), call->want_md5, sizeof call->want_md5, &n) != 0 ||
            n != 16) {
            lt_s3__fail(call, "InvalidDigest", NULL);
            return;
        }
        call->check_md5 = true;
    }
}

lt_s3_call *lt_s3_call_begin(lt_s3 *s3, const lt_s3_request *req)
{
    lt_s3_call *call = lt_xcalloc(1, sizeof *call);
    call->s3 = s3;
    call->req = *req;
    if (!call->req.bucket) call->req.bucket = "";
    if (!call->req.key) call->req.key = "";
    if (!call->req.method) call->req.method = "";
    if (!call->req.request_id) call->req.request_id = "";
    parse_query(call);
    call->op = choose_op(call);
    lt_buf_init(&call->xml, call->op->xml_max);
    call->body_max = call->op->body == LT_S3__BODY_XML ? call->op->xml_max : LT_S3__MAX_PUT_BYTES;
    if (!call->failed) payload_checks(call);
    if (!call->failed && call->op->begin) call->op->begin(call);
    return call;
}

int lt_s3_call_body(lt_s3_call *call, const void *data, size_t len)
{
    if (call->failed) return LT_EINVAL;
    if (len > call->body_max - call->body_len) {
        if (call->op->body == LT_S3__BODY_XML)
            lt_s3__fail(call, "MaxMessageLengthExceeded", "the request body exceeds %llu bytes",
                        (unsigned long long)call->body_max);
        else
            lt_s3__fail(call, "EntityTooLarge",
                        "a single upload is limited to 5 GiB; use multipart upload");
        return LT_ELIMIT;
    }
    call->body_len += len;
    if (call->sha256) lt_hash_update(call->sha256, data, len);
    lt_err err = {0};
    int rc = 0;
    if (call->op->body == LT_S3__BODY_STREAM && call->writer) {
        rc = lt_blob_writer_write(call->writer, data, len, &err);
        if (rc) lt_s3__fail_blob(call, rc, &err, LT_S3__ABOUT_OBJECT);
    } else if (call->op->body == LT_S3__BODY_XML) {
        rc = lt_buf_append(&call->xml, data, len, &err);
        if (rc) lt_s3__fail(call, "MaxMessageLengthExceeded", NULL);
    }
    return rc ? LT_EINVAL : 0;
}

static void body_checks(lt_s3_call *call)
{
    if (call->sha256) {
        uint8_t got[32];
        lt_hash_final(call->sha256, got);
        if (!lt_ct_equal(got, call->want_sha256, 32)) {
            lt_s3__fail(call, "XAmzContentSHA256Mismatch", NULL);
            return;
        }
    }
    if (call->op->body == LT_S3__BODY_STREAM && call->writer) {
        lt_err err = {0};
        int rc = lt_blob_writer_md5(call->writer, call->body_md5, &err);
        if (rc) {
            lt_s3__fail_blob(call, rc, &err, LT_S3__ABOUT_OBJECT);
            return;
        }
    } else {
        lt_md5(call->xml.data ? call->xml.data : "", call->xml.len, call->body_md5);
    }
    if (call->check_md5 && !lt_ct_equal(call->body_md5, call->want_md5, 16))
        lt_s3__fail(call, "BadDigest", NULL);
}

void lt_s3_call_finish(lt_s3_call *call, lt_s3_response *resp)
{
    resp->op_name = call->op->name;
    if (!call->failed) body_checks(call);
    if (!call->failed) call->op->finish(call, resp);
    if (call->failed) {
        lt_blob_writer_abort(call->writer);
        call->writer = NULL;
        lt_s3__error_reply(call, resp);
    }
}

void lt_s3_call_free(lt_s3_call *call)
{
    if (!call) return;
    lt_blob_writer_abort(call->writer);
    for (size_t i = 0; i < call->n_params; i++) {
        free(call->params[i].name);
        free(call->params[i].value);
    }
    free(call->params);
    free(call->err_msg);
    lt_buf_free(&call->xml);
    lt_hash_free(call->sha256);
    free(call);
}
