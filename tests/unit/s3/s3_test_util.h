/* Shared helpers of the s3 tests: a store and an lt_s3 over it, requests driven through
 * lt_s3_call_* with an in-memory header table, and small readers of the responses. */
#ifndef LT_S3_TEST_UTIL_H
#define LT_S3_TEST_UTIL_H

#include "s3/s3.h"
#include "test.h"

#include <dirent.h>
#include <strings.h>
#include <unistd.h>

typedef struct hdrs {
    const char *name[16];
    const char *value[16];
    int n;
} hdrs;

static inline const char *hdrs_lookup(void *ctx, const char *name)
{
    hdrs *h = ctx;
    for (int i = 0; h && i < h->n; i++)
        if (!strcasecmp(h->name[i], name)) return h->value[i];
    return NULL;
}

static inline void hdrs_each(void *ctx, void (*visit)(void *, const char *, const char *),
                             void *vctx)
{
    hdrs *h = ctx;
    for (int i = 0; h && i < h->n; i++)
        visit(vctx, h->name[i], h->value[i]);
}

typedef struct env {
    char *root;
    lt_blob *blob;
    lt_s3 *s3;
} env;

static inline env env_open(const char *name)
{
    env e = {0};
    e.root = lt_test_tmpdir(name);
    lt_err err = {0};
    if (lt_blob_open(&e.blob, e.root, &err) || lt_s3_open(&e.s3, e.blob, "us-east-1", &err)) {
        fprintf(stderr, "open: %s\n", err.msg);
        abort();
    }
    return e;
}

static inline void env_close(env *e)
{
    lt_s3_close(e->s3);
    lt_blob_close(e->blob);
    free(e->root);
}

/* One request: body fed in chunks of `chunk` bytes (0: one chunk). */
static inline void call_chunked(env *e, const char *method, const char *bucket, const char *key,
                                const char *query, hdrs *h, const void *body, size_t len,
                                size_t chunk, lt_s3_response *resp)
{
    lt_s3_request req = {.method = method,
                         .bucket = bucket,
                         .key = key,
                         .query = query ? query : "",
                         .header = hdrs_lookup,
                         .header_ctx = h,
                         .request_id = "REQ123",
                         .header_each = hdrs_each};
    lt_s3_call *call = lt_s3_call_begin(e->s3, &req);
    if (!chunk) chunk = len ? len : 1;
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        if (lt_s3_call_body(call, (const char *)body + off, n) != 0) break;
    }
    lt_s3_response_init(resp);
    lt_s3_call_finish(call, resp);
    lt_s3_call_free(call);
}

static inline void call(env *e, const char *method, const char *bucket, const char *key,
                        const char *query, hdrs *h, const char *body, lt_s3_response *resp)
{
    call_chunked(e, method, bucket, key, query, h, body, body ? strlen(body) : 0, 0, resp);
}

/* Status of a request whose response is not otherwise needed. */
static inline int status_of(env *e, const char *method, const char *bucket, const char *key,
                            const char *query, hdrs *h, const char *body)
{
    lt_s3_response resp;
    call(e, method, bucket, key, query, h, body, &resp);
    int status = resp.status;
    lt_s3_response_free(&resp);
    return status;
}

static inline const char *resp_header(const lt_s3_response *resp, const char *name)
{
    for (size_t i = 0; i < resp->n_headers; i++)
        if (!strcasecmp(resp->headers[i].name, name)) return resp->headers[i].value;
    return NULL;
}

/* The bytes the response would send: [offset, offset+length) of fd, or the body. */
static inline char *resp_content(const lt_s3_response *resp, size_t *len)
{
    if (resp->fd < 0) {
        *len = resp->body.len;
        char *s = malloc(resp->body.len + 1);
        if (resp->body.len) memcpy(s, resp->body.data, resp->body.len);
        s[resp->body.len] = '\0';
        return s;
    }
    char *s = malloc(resp->length + 1);
    size_t got = 0;
    while (got < resp->length) {
        ssize_t n = pread(resp->fd, s + got, resp->length - got, (off_t)(resp->offset + got));
        if (n <= 0) break;
        got += (size_t)n;
    }
    s[got] = '\0';
    *len = got;
    return s;
}

/* The text of the first <tag>...</tag> at or after *pos (advancing it), XML-unescaped;
 * NULL when none. Caller frees. */
static inline char *xml_next(const char *xml, const char *tag, const char **pos)
{
    char open[64], close[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *start = strstr(pos && *pos ? *pos : xml, open);
    if (!start) return NULL;
    start += strlen(open);
    const char *end = strstr(start, close);
    if (!end) return NULL;
    if (pos) *pos = end + strlen(close);
    char *out = malloc((size_t)(end - start) + 1);
    size_t o = 0;
    for (const char *p = start; p < end;) {
        static const struct {
            const char *ent;
            char c;
        } ents[] = {
            {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
        bool done = false;
        for (size_t k = 0; k < 5 && !done; k++) {
            size_t l = strlen(ents[k].ent);
            if (!strncmp(p, ents[k].ent, l)) {
                out[o++] = ents[k].c;
                p += l;
                done = true;
            }
        }
        if (!done) out[o++] = *p++;
    }
    out[o] = '\0';
    return out;
}

static inline char *xml_get(const lt_s3_response *resp, const char *tag)
{
    return resp->body.data ? xml_next(resp->body.data, tag, NULL) : NULL;
}

static inline size_t dir_count(const char *root, const char *sub)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, sub);
    DIR *d = opendir(path);
    size_t n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL)
        if (de->d_name[0] != '.') n++;
    if (d) closedir(d);
    return n;
}

static inline void sha256_hex(const void *data, size_t len, char out[65])
{
    uint8_t d[32];
    lt_sha256(data, len, d);
    lt_hex_encode(out, d, 32);
}

static inline void md5_hex(const void *data, size_t len, char out[33])
{
    uint8_t d[16];
    lt_md5(data, len, d);
    lt_hex_encode(out, d, 16);
}

/* PUT of a small text object; returns the status. */
static inline int put_text(env *e, const char *bucket, const char *key, const char *text)
{
    return status_of(e, "PUT", bucket, key, NULL, NULL, text);
}

#endif
