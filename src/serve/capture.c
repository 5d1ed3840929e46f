/* Data capture: a sampled share of the invocations, request and response, written as
 * SageMaker's JSON-lines capture records under
 * <DestinationS3Uri>/<endpoint>/<variant>/<yyyy>/<mm>/<dd>/<hh>/<mm-ss-mmm>-<uuid>.jsonl.
 * The request thread only formats the record (for the sampled share) and queues it; a
 * writer thread flushes every LATHE_CAPTURE_FLUSH_MS (default 2000) one object per
 * endpoint, variant and hour. Past a bounded backlog records are dropped, never the
 * request: capture must not fail or slow an invocation. */
#include "serve/serve_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum { BACKLOG_LIMIT = 64 << 20 };

typedef struct lt_serve_record {
    char *prefix; /* <dest>/<endpoint>/<variant>/<yyyy>/<mm>/<dd>/<hh> */
    char *line;   /* the JSON record and its newline */
    size_t len;
    struct lt_serve_record *next;
} lt_serve_record;

struct lt_serve_capture {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    lt_serve_record *head, *tail;
    size_t backlog;
    bool closing;
    lt_blob *blob;
    int64_t flush_ms;
};

static bool listed(const json_t *types, const char *content_type)
{
    size_t i;
    json_t *t;
    json_array_foreach(types, i, t) {
        const char *s = json_string_value(t);
        size_t n = s ? strlen(s) : 0;
        if (n && strncasecmp(content_type, s, n) == 0 &&
            (content_type[n] == '\0' || content_type[n] == ';'))
            return true;
    }
    return false;
}

static json_t *payload(const json_t *cfg, const char *mode, const char *type, const char *data,
                       size_t len)
{
    json_t *header = json_object_get(cfg, "CaptureContentTypeHeader");
    const char *encoding = listed(json_object_get(header, "CsvContentTypes"), type)    ? "CSV"
                           : listed(json_object_get(header, "JsonContentTypes"), type) ? "JSON"
                                                                                       : "BASE64";
    /* Text that is not UTF-8 cannot travel as JSON text: it goes as BASE64 whatever its type. */
    json_t *text = strcmp(encoding, "BASE64") != 0 ? json_stringn(data, len) : NULL;
    if (!text) {
        encoding = "BASE64";
        char *b64 = lt_base64_encode((const uint8_t *)data, len);
        text = json_string(b64);
        free(b64);
    }
    return json_pack("{s:s, s:s, s:o, s:s}", "observedContentType", type, "mode", mode, "data",
                     text, "encoding", encoding);
}

bool lt_serve__capture_sampled(const json_t *cfg)
{
    if (!cfg || json_is_false(json_object_get(cfg, "EnableCapture"))) return false;
    double pct = (double)lt_json_int(cfg, "InitialSamplingPercentage", 0);
    if (pct <= 0) return false;
    if (pct >= 100) return true;
    uint32_t r;
    lt_random_bytes(&r, sizeof r);
    return (double)r / 4294967296.0 * 100.0 < pct;
}

static bool captures(const json_t *cfg, const char *mode)
{
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(cfg, "CaptureOptions"), i, o) {
        const char *m = lt_json_str(o, "CaptureMode");
        if (m && (strcmp(m, mode) == 0 || strcmp(m, "InputAndOutput") == 0)) return true;
    }
    return false;
}

void lt_serve__capture(lt_serve *s, const json_t *cfg, const char *endpoint, const char *variant,
                       const lt_serve_request *req, const char *out_type, const char *out,
                       size_t out_len)
{
    lt_serve_capture *c = s->capture;
    if (!c) return;
    int64_t now = lt_now_ms();
    char when[32], uuid[37];
    lt_time_format_iso8601_ms(when, now);
    lt_uuid4(uuid);
    json_t *data = json_object();
    if (captures(cfg, "Input"))
        json_object_set_new(data, "endpointInput",
                            payload(cfg, "INPUT", req->content_type ? req->content_type : "text/csv",
                                    req->body, req->len));
    if (captures(cfg, "Output"))
        json_object_set_new(data, "endpointOutput", payload(cfg, "OUTPUT", out_type, out, out_len));
    json_t *meta = json_pack("{s:s, s:s}", "eventId", uuid, "inferenceTime", when);
    if (req->inference_id) json_object_set_new(meta, "inferenceId", json_string(req->inference_id));
    json_t *record = json_pack("{s:o, s:o, s:s}", "captureData", data, "eventMetadata", meta,
                               "eventVersion", "0");
    char *text = lt_json_dump(record);
    json_decref(record);
    time_t secs = (time_t)(now / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    const char *dest = lt_json_str(cfg, "DestinationS3Uri");
    size_t dn = strlen(dest);
    lt_serve_record *r = lt_xcalloc(1, sizeof *r);
    r->prefix = lt_xasprintf("%.*s/%s/%s/%04d/%02d/%02d/%02d", (int)(dn && dest[dn - 1] == '/' ? dn - 1 : dn),
                             dest, endpoint, variant, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                             tm.tm_hour);
    r->len = strlen(text) + 1;
    r->line = lt_xrealloc(text, r->len + 1);
    r->line[r->len - 1] = '\n';
    r->line[r->len] = '\0';
    pthread_mutex_lock(&c->lock);
    if (c->backlog + r->len > BACKLOG_LIMIT) {
        pthread_mutex_unlock(&c->lock);
        free(r->prefix);
        free(r->line);
        free(r);
        return;
    }
    c->backlog += r->len;
    if (c->tail) c->tail->next = r;
    else c->head = r;
    c->tail = r;
    pthread_mutex_unlock(&c->lock);
}

static void record_free(lt_serve_record *r)
{
    free(r->prefix);
    free(r->line);
    free(r);
}

/* One object per prefix (endpoint, variant, hour) among the records taken. */
static void flush(lt_serve_capture *c, lt_serve_record *list)
{
    while (list) {
        char *prefix = lt_xstrdup(list->prefix);
        lt_buf body;
        lt_buf_init(&body, (size_t)BACKLOG_LIMIT * 2);
        lt_serve_record **link = &list;
        while (*link) {
            lt_serve_record *r = *link;
            if (strcmp(r->prefix, prefix) != 0) {
                link = &r->next;
                continue;
            }
            lt_buf_append(&body, r->line, r->len, NULL);
            *link = r->next;
            record_free(r);
        }
        int64_t now = lt_now_ms();
        time_t secs = (time_t)(now / 1000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        char uuid[37];
        lt_uuid4(uuid);
        char *uri = lt_xasprintf("%s/%02d-%02d-%03d-%s.jsonl", prefix, tm.tm_min, tm.tm_sec,
                                 (int)(now % 1000), uuid);
        lt_err err = {0};
        if (lt_blob_uri_put_bytes(c->blob, uri, body.data, body.len, "application/jsonlines", &err) != 0)
            lt_log_warn("data capture: %s: %s", uri, err.msg);
        free(uri);
        free(prefix);
        lt_buf_free(&body);
    }
}

static void *writer(void *arg)
{
    lt_serve_capture *c = arg;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += c->flush_ms / 1000;
        until.tv_nsec += (c->flush_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!c->closing && pthread_cond_timedwait(&c->cond, &c->lock, &until) == 0) {
        }
        lt_serve_record *list = c->head;
        c->head = c->tail = NULL;
        c->backlog = 0;
        bool closing = c->closing;
        pthread_mutex_unlock(&c->lock);
        flush(c, list);
        pthread_mutex_lock(&c->lock);
        if (closing) break;
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

int lt_serve__capture_open(lt_serve *s, lt_err *err)
{
    lt_serve_capture *c = lt_xcalloc(1, sizeof *c);
    c->blob = s->blob;
    const char *v = getenv("LATHE_CAPTURE_FLUSH_MS");
    int64_t ms = 2000;
    if (v && lt_parse_i64(v, 10, 3600000, &ms, "LATHE_CAPTURE_FLUSH_MS", NULL) != 0) ms = 2000;
    c->flush_ms = ms;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    if (pthread_create(&c->thread, NULL, writer, c) != 0) {
        free(c);
        return lt_err_set(err, LT_ENOMEM, "cannot start the data-capture thread");
    }
    s->capture = c;
    return 0;
}

/* Flushes what is queued, then stops. */
void lt_serve__capture_close(lt_serve *s)
{
    lt_serve_capture *c = s->capture;
    if (!c) return;
    pthread_mutex_lock(&c->lock);
    c->closing = true;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
    free(c);
    s->capture = NULL;
}
