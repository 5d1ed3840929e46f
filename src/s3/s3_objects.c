/* Object operations: PutObject (streamed to the blob writer), GetObject and HeadObject
 * (served from the object's fd: Range bytes=a-b, a-, -n; If-Match, If-None-Match,
 * If-Modified-Since, If-Unmodified-Since; response-* header overrides), CopyObject
 * (x-amz-copy-source, x-amz-metadata-directive COPY|REPLACE) and DeleteObject. */
#include "s3/s3_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

int lt_s3__key_check_or_fail(lt_s3_call *call)
{
    size_t len = strlen(call->req.key);
    if (len > LT_BLOB_KEY_MAX) {
        lt_s3__fail(call, "KeyTooLongError", "Your key is too long: %zu bytes, the limit is %d",
                    len, LT_BLOB_KEY_MAX);
        return -1;
    }
    return 0;
}

static void etag_header(lt_s3_response *resp, const char *etag)
{
    char *quoted = lt_xasprintf("\"%s\"", etag);
    lt_s3__header_add(resp, "ETag", quoted);
    free(quoted);
}

/* ---- PutObject ------------------------------------------------------------------------ */

static void put_begin(lt_s3_call *call)
{
    if (lt_s3__key_check_or_fail(call)) return;
    const char *length = lt_s3__header_get(call, "Content-Length");
    int64_t declared = 0;
    if (length && lt_parse_i64(length, 0, INT64_MAX, &declared, "Content-Length", NULL) == 0 &&
        (uint64_t)declared > LT_S3__MAX_PUT_BYTES) {
        lt_s3__fail(call, "EntityTooLarge",
                    "a single upload is limited to 5 GiB; use multipart upload");
        return;
    }
    char *meta = NULL;
    if (lt_s3__metadata_from_headers(call, &meta)) return;
    lt_blob_put_opts opts = {.content_type = lt_s3__header_get(call, "Content-Type"),
                             .metadata_json = meta};
    lt_err err = {0};
    int rc = lt_blob_writer_open(call->s3->blob, call->req.bucket, call->req.key, &opts,
                                 &call->writer, &err);
    if (rc) lt_s3__fail_blob(call, rc, &err, LT_S3__ABOUT_OBJECT);
    free(meta);
}

static void put_finish(lt_s3_call *call, lt_s3_response *resp)
{
    lt_blob_object obj = {0};
    lt_err err = {0};
    int rc = lt_blob_writer_commit(call->writer, &obj, &err);
    call->writer = NULL;
    if (rc) {
        lt_s3__fail_blob(call, rc, &err, LT_S3__ABOUT_OBJECT);
        return;
    }
    etag_header(resp, obj.etag);
    lt_blob_object_clear(&obj);
}

/* ---- GetObject / HeadObject ----------------------------------------------------------- */

/* Whether an If-Match / If-None-Match list ("a", W/"b", or *) names etag. */
static bool etag_listed(const char *list, const char *etag)
{
    size_t elen = strlen(etag);
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p) break;
        if (*p == '*') return true;
        if (!strncmp(p, "W/", 2)) p += 2;
        bool quoted = *p == '"';
        if (quoted) p++;
        const char *end = p + strcspn(p, quoted ? "\"" : ", ");
        if ((size_t)(end - p) == elen && !strncmp(p, etag, elen)) return true;
        p = *end ? end + 1 : end;
    }
    return false;
}

/* An HTTP date as epoch seconds; -1 when unparseable (the condition is then ignored). */
static time_t http_date(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = s ? strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm) : NULL;
    return end && !*end ? timegm(&tm) : (time_t)-1;
}

/* RFC 7232 section 6 evaluation order. Returns 0, 304 or 412. */
static int preconditions(lt_s3_call *call, const lt_blob_object *obj)
{
    time_t modified = (time_t)(obj->last_modified_ms / 1000);
    const char *match = lt_s3__header_get(call, "If-Match");
    if (match) {
        if (!etag_listed(match, obj->etag)) return 412;
    } else {
        time_t t = http_date(lt_s3__header_get(call, "If-Unmodified-Since"));
        if (t != (time_t)-1 && modified > t) return 412;
    }
    const char *none = lt_s3__header_get(call, "If-None-Match");
    if (none) {
        if (etag_listed(none, obj->etag)) return 304;
    } else {
        time_t t = http_date(lt_s3__header_get(call, "If-Modified-Since"));
        if (t != (time_t)-1 && modified <= t) return 304;
    }
    return 0;
}

static bool parse_u64(const char *s, size_t len, uint64_t *out)
{
    if (len == 0 || len > 19) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* Range: bytes=a-b | a- | -n. Returns 1 with [*first, *last] for a satisfiable range,
 * 0 to serve the whole object (no header, or one S3 ignores: malformed, several
 * ranges, b < a), -1 when unsatisfiable. */
static int parse_range(const char *h, uint64_t size, uint64_t *first, uint64_t *last)
{
    if (!h || strncmp(h, "bytes=", 6) != 0) return 0;
    const char *spec = h + 6;
    if (strchr(spec, ',')) return 0;
    const char *dash = strchr(spec, '-');
    if (!dash) return 0;
    size_t alen = (size_t)(dash - spec), blen = strlen(dash + 1);
    uint64_t a = 0, b = 0;
    if (alen == 0) {
        if (!parse_u64(dash + 1, blen, &b)) return 0;
        if (b == 0 || size == 0) return -1;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return 1;
    }
    if (!parse_u64(spec, alen, &a)) return 0;
    if (blen == 0) {
        b = UINT64_MAX;
    } else if (!parse_u64(dash + 1, blen, &b) || b < a) {
        return 0;
    }
    if (a >= size) return -1;
    *first = a;
    *last = b >= size ? size - 1 : b;
    return 1;
}

static void object_headers(lt_s3_call *call, lt_s3_response *resp, const lt_blob_object *obj)
{
    etag_header(resp, obj->etag);
    char when[32];
    lt_time_format_http(when, (time_t)(obj->last_modified_ms / 1000));
    lt_s3__header_add(resp, "Last-Modified", when);
    const char *type = lt_s3__param_get(call, "response-content-type");
    if (!type) type = obj->content_type ? obj->content_type : "binary/octet-stream";
    lt_s3__header_add(resp, "Content-Type", type);
    lt_s3__header_add(resp, "Accept-Ranges", "bytes");
    static const struct {
        const char *param, *header;
    } overrides[] = {
        {"response-content-disposition", "Content-Disposition"},
        {"response-content-encoding", "Content-Encoding"},
        {"response-content-language", "Content-Language"},
        {"response-cache-control", "Cache-Control"},
        {"response-expires", "Expires"},
    };
    for (size_t i = 0; i < sizeof overrides / sizeof overrides[0]; i++) {
        const char *v = lt_s3__param_get(call, overrides[i].param);
        if (v) lt_s3__header_add(resp, overrides[i].header, v);
    }
    json_t *meta = NULL;
    if (obj->metadata_json &&
        lt_json_parse(obj->metadata_json, strlen(obj->metadata_json), &meta, NULL) == 0) {
        const char *name;
        json_t *value;
        json_object_foreach(meta, name, value)
        {
            char *h = lt_xasprintf("x-amz-meta-%s", name);
            lt_s3__header_add(resp, h, json_string_value(value) ? json_string_value(value) : "");
            free(h);
        }
        json_decref(meta);
    }
}

static void get_or_head(lt_s3_call *call, lt_s3_response *resp)
{
    if (lt_s3__key_check_or_fail(call)) return;
    int fd = -1;
    lt_blob_object obj = {0};
    lt_err err = {0};
    int rc = lt_blob_object_open(call->s3->blob, call->req.bucket, call->req.key, &fd, &obj, &err);
    if (rc) {
        lt_s3__fail_blob(call, rc, &err, LT_S3__ABOUT_OBJECT);
        return;
    }
    int pre = preconditions(call, &obj);
    if (pre == 412) {
        lt_s3__fail(call, "PreconditionFailed", NULL);
    } else if (pre == 304) {
        resp->status = 304;
        etag_header(resp, obj.etag);
        char when[32];
        lt_time_format_http(when, (time_t)(obj.last_modified_ms / 1000));
        lt_s3__header_add(resp, "Last-Modified", when);
    } else {
        uint64_t first = 0, last = 0;
        int range = parse_range(lt_s3__header_get(call, "Range"), obj.size, &first, &last);
        if (range < 0) {
            char *cr = lt_xasprintf("bytes */%llu", (unsigned long long)obj.size);
            lt_s3__header_add(resp, "Content-Range", cr);
            free(cr);
            lt_s3__fail(call, "InvalidRange", NULL);
        } else {
            object_headers(call, resp, &obj);
            if (range > 0) {
                resp->status = 206;
                char *cr = lt_xasprintf("bytes %llu-%llu/%llu", (unsigned long long)first,
                                        (unsigned long long)last, (unsigned long long)obj.size);
                lt_s3__header_add(resp, "Content-Range", cr);
                free(cr);
            }
            resp->offset = range > 0 ? first : 0;
            resp->length = range > 0 ? last - first + 1 : obj.size;
            if (resp->length > 0) {
                resp->fd = fd;
                fd = -1;
            }
        }
    }
    if (fd >= 0) close(fd);
    lt_blob_object_clear(&obj);
}

/* ---- CopyObject ------------------------------------------------------------------------- */

/* x-amz-copy-source: "/bucket/key" or "bucket/key", URL-encoded, "?versionId=" allowed
 * only as "null" (there are no versions). */
static int copy_source(lt_s3_call *call, char **bucket, char **key)
{
    const char *src = lt_s3__header_get(call, "x-amz-copy-source");
    if (*src == '/') src++;
    const char *q = strchr(src, '?');
    if (q && strcmp(q, "?versionId=null") != 0) {
        lt_s3__fail(call, "NotImplemented", "Lathe keeps no object versions: %.100s", q);
        return -1;
    }
    lt_buf dec;
    lt_buf_init(&dec, 4 * LT_BLOB_KEY_MAX);
    lt_err err = {0};
    if (lt_uri_decode(&dec, src, q ? (size_t)(q - src) : strlen(src), &err) != 0 || !dec.data) {
        lt_s3__fail(call, "InvalidArgument", "bad x-amz-copy-source: %s", err.msg);
        lt_buf_free(&dec);
        return -1;
    }
    const char *slash = strchr(dec.data, '/');
    if (!slash || slash == dec.data || !slash[1]) {
        lt_s3__fail(call, "InvalidArgument",
                    "Copy Source must mention the source bucket and key: sourcebucket/sourcekey");
        lt_buf_free(&dec);
        return -1;
    }
    *bucket = lt_xstrndup(dec.data, (size_t)(slash - dec.data));
    *key = lt_xstrdup(slash + 1);
    lt_buf_free(&dec);
    return 0;
}

static void copy_finish(lt_s3_call *call, lt_s3_response *resp)
{
    if (lt_s3__key_check_or_fail(call)) return;
    char *sb = NULL, *sk = NULL, *meta = NULL;
    if (copy_source(call, &sb, &sk)) return;
    const char *directive = lt_s3__header_get(call, "x-amz-metadata-directive");
    bool replace = directive && !strcmp(directive, "REPLACE");
    if (directive && !replace && strcmp(directive, "COPY") != 0) {
        lt_s3__fail(call, "InvalidArgument", "Unknown metadata directive: %.32s", directive);
    } else if (!replace && !strcmp(sb, call->req.bucket) && !strcmp(sk, call->req.key)) {
        lt_s3__fail(call, "InvalidRequest",
                    "This copy request is illegal because it is trying to copy an object to itself "
                    "without changing the object's metadata, storage class, website redirect "
                    "location or encryption attributes.");
    } else if (!replace || lt_s3__metadata_from_headers(call, &meta) == 0) {
        lt_blob_put_opts opts = {.content_type = lt_s3__header_get(call, "Content-Type"),
                                 .metadata_json = meta};
        lt_blob_object obj = {0};
        lt_err err = {0};
        int rc = lt_blob_object_copy(call->s3->blob, sb, sk, call->req.bucket, call->req.key,
                                     replace ? &opts : NULL, &obj, &err);
        if (rc == LT_ENOTFOUND) {
            bool dst = lt_blob_bucket_head(call->s3->blob, call->req.bucket, NULL, NULL) == 0;
            bool src = lt_blob_bucket_head(call->s3->blob, sb, NULL, NULL) == 0;
            lt_s3__fail(call, dst && src ? "NoSuchKey" : "NoSuchBucket", NULL);
        } else if (rc) {
            lt_s3__fail_blob(call, rc, &err, LT_S3__ABOUT_OBJECT);
        } else {
            lt_buf *b = &resp->body;
            lt_s3__xml_begin(b, "CopyObjectResult");
            lt_s3__xml_time(b, "LastModified", obj.last_modified_ms);
            lt_s3__xml_etag(b, "ETag", obj.etag);
            lt_s3__xml_end(b, "CopyObjectResult");
        }
        lt_blob_object_clear(&obj);
    }
    free(meta);
    free(sb);
    free(sk);
}

/* ---- DeleteObject ----------------------------------------------------------------------- */

static void delete_finish(lt_s3_call *call, lt_s3_response *resp)
{
    lt_err err = {0};
    int rc = 0;
    if (strlen(call->req.key) <= LT_BLOB_KEY_MAX)
        rc = lt_blob_object_delete(call->s3->blob, call->req.bucket, call->req.key, &err);
    else
        rc = lt_blob_bucket_head(call->s3->blob, call->req.bucket, NULL, &err);
    if (rc == LT_EINVAL) rc = 0; /* a key that cannot exist is already deleted */
    if (rc) {
        lt_s3__fail_blob(call, rc, &err, LT_S3__ABOUT_BUCKET);
        return;
    }
    resp->status = 204;
}

const lt_s3__op lt_s3__op_put_object = {
    .name = "PutObject", .body = LT_S3__BODY_STREAM, .begin = put_begin, .finish = put_finish};
const lt_s3__op lt_s3__op_get_object = {.name = "GetObject", .finish = get_or_head};
const lt_s3__op lt_s3__op_head_object = {.name = "HeadObject", .finish = get_or_head};
const lt_s3__op lt_s3__op_copy_object = {.name = "CopyObject", .finish = copy_finish};
const lt_s3__op lt_s3__op_delete_object = {.name = "DeleteObject", .finish = delete_finish};
