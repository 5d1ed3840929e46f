/*
 * The CloudWatch Logs read API over the exec module's log streams: awsJson 1.1, POST /
 * with X-Amz-Target: Logs_20140328.<Op>, SigV4 with the credential scope's service "logs".
 * What `aws logs get-log-events`, boto3's `logs` client and the SageMaker SDK's
 * `logs="All"` / `logs_for_job` use, and no more:
 *
 *   DescribeLogStreams  logGroupName, logStreamNamePrefix, orderBy (LogStreamName |
 *                       LastEventTime; the latter not with a prefix), descending, limit
 *                       (1-50, default 50), nextToken ("s/<index>")
 *   GetLogEvents        logGroupName, logStreamName, startTime, endTime (ms; end
 *                       exclusive), limit (1-10000, default 10000; about 1 MB of messages
 *                       at most), startFromHead (default false: the newest events), nextToken
 *                       ("f/<byte offset>" forward, "b/<byte offset>" backward). At the end of
 *                       the stream the forward token comes back unchanged, as CloudWatch does.
 *   FilterLogEvents     logGroupName, logStreamNames or logStreamNamePrefix, startTime,
 *                       endTime, filterPattern (empty: every event; else a plain substring,
 *                       surrounding double quotes removed), limit, nextToken. Streams are
 *                       searched one after the other in name order, not interleaved by time.
 *
 * Everything else under Logs_20140328 is UnknownOperationException. Errors map in one
 * place (reply_error): LT_EINVAL -> InvalidParameterException, LT_ENOTFOUND ->
 * ResourceNotFoundException (both 400), anything else -> 500 ServiceUnavailableException.
 * Log groups exist once something has written to them; nothing here creates or deletes.
 */
#include "exec/exec.h"
#include "http/server_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { DESCRIBE_LIMIT = 50, EVENTS_LIMIT = 10000, REPLY_BYTES = 1024 * 1024 };

typedef struct logs_ctx {
    const char *root;
    const char *region;
    const char *account_id;
} logs_ctx;

static void reply_json(lt_api_reply *reply, int status, const char *type, json_t *body)
{
    reply->status = status;
    reply->error_type = type;
    reply->body = lt_json_dump(body);
    reply->body_len = strlen(reply->body);
    json_decref(body);
}

static void reply_error(lt_api_reply *reply, int code, const char *message)
{
    int status = 500;
    const char *type = "ServiceUnavailableException";
    if (code == LT_EINVAL)
        status = 400, type = "InvalidParameterException";
    else if (code == LT_ENOTFOUND)
        status = 400, type = "ResourceNotFoundException";
    reply_json(reply, status, type, json_pack("{s:s, s:s}", "__type", type, "message", message));
}

/* ---- members ------------------------------------------------------------------------- */

static int get_string(const json_t *in, const char *key, bool required, const char **out,
                      lt_err *err)
{
    json_t *v = json_object_get(in, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (required) return lt_err_set(err, LT_EINVAL, "%s is required.", key);
        return 0;
    }
    if (!json_is_string(v)) return lt_err_set(err, LT_EINVAL, "%s must be a string.", key);
    *out = json_string_value(v);
    return 0;
}

static int get_int(const json_t *in, const char *key, int64_t min, int64_t max, int64_t fallback,
                   int64_t *out, lt_err *err)
{
    json_t *v = json_object_get(in, key);
    *out = fallback;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_integer(v)) return lt_err_set(err, LT_EINVAL, "%s must be an integer.", key);
    *out = json_integer_value(v);
    if (*out < min || *out > max)
        return lt_err_set(err, LT_EINVAL, "%s must be between %lld and %lld.", key, (long long)min,
                          (long long)max);
    return 0;
}

static int get_bool(const json_t *in, const char *key, bool *out, lt_err *err)
{
    json_t *v = json_object_get(in, key);
    *out = false;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_boolean(v)) return lt_err_set(err, LT_EINVAL, "%s must be a boolean.", key);
    *out = json_is_true(v);
    return 0;
}

/* "<letter>/<digits>" -> the number. */
static int parse_token(const char *token, char kind, uint64_t *out, lt_err *err)
{
    int64_t v = 0;
    if (!token || token[0] != kind || token[1] != '/' ||
        lt_parse_i64(token + 2, 0, INT64_MAX, &v, "nextToken", NULL) != 0)
        return lt_err_set(err, LT_EINVAL, "The specified nextToken is invalid.");
    *out = (uint64_t)v;
    return 0;
}

static json_t *token_json(char kind, uint64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%c/%llu", kind, (unsigned long long)v);
    return json_string(buf);
}

/* ---- DescribeLogStreams ---------------------------------------------------------------- */

static int by_last_event(const void *a, const void *b)
{
    const lt_exec_log_stream *x = a, *y = b;
    if (x->last_ms != y->last_ms) return x->last_ms < y->last_ms ? -1 : 1;
    return strcmp(x->name, y->name);
}

static json_t *stream_json(const logs_ctx *c, const char *group, const lt_exec_log_stream *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "logStreamName", json_string(s->name));
    json_object_set_new(o, "creationTime", json_integer(s->first_ms));
    if (s->stored_bytes > 0) {
        json_object_set_new(o, "firstEventTimestamp", json_integer(s->first_ms));
        json_object_set_new(o, "lastEventTimestamp", json_integer(s->last_ms));
    }
    json_object_set_new(o, "lastIngestionTime", json_integer(s->last_ms));
    json_object_set_new(o, "storedBytes", json_integer((json_int_t)s->stored_bytes));
    char *arn = lt_xasprintf("arn:aws:logs:%s:%s:log-group:%s:log-stream:%s", c->region,
                             c->account_id, group, s->name);
    json_object_set_new(o, "arn", json_string(arn));
    free(arn);
    return o;
}

static int describe_log_streams(const logs_ctx *c, const json_t *in, json_t **out, lt_err *err)
{
    const char *group, *prefix, *order, *token;
    bool descending;
    int64_t limit;
    int rc = get_string(in, "logGroupName", true, &group, err);
    if (!rc) rc = get_string(in, "logStreamNamePrefix", false, &prefix, err);
    if (!rc) rc = get_string(in, "orderBy", false, &order, err);
    if (!rc) rc = get_string(in, "nextToken", false, &token, err);
    if (!rc) rc = get_bool(in, "descending", &descending, err);
    if (!rc) rc = get_int(in, "limit", 1, DESCRIBE_LIMIT, DESCRIBE_LIMIT, &limit, err);
    bool by_time = order && strcmp(order, "LastEventTime") == 0;
    if (!rc && order && !by_time && strcmp(order, "LogStreamName") != 0)
        rc = lt_err_set(err, LT_EINVAL, "orderBy must be LogStreamName or LastEventTime.");
    if (!rc && by_time && prefix && prefix[0])
        rc =
            lt_err_set(err, LT_EINVAL, "Cannot order by LastEventTime with a logStreamNamePrefix.");
    uint64_t start = 0;
    if (!rc && token) rc = parse_token(token, 's', &start, err);
    if (rc) return rc;
    lt_exec_log_stream *streams = NULL;
    size_t n = 0;
    lt_err inner = {0};
    rc = lt_exec_log_streams(c->root, group, prefix, &streams, &n, &inner);
    if (rc == LT_ENOTFOUND) return lt_err_set(err, rc, "The specified log group does not exist.");
    if (rc) return lt_err_set(err, rc, "%s", inner.msg);
    if (by_time && n > 1) qsort(streams, n, sizeof *streams, by_last_event);
    json_t *list = json_array();
    for (uint64_t i = start; i < n && i < start + (uint64_t)limit; i++) {
        size_t at = descending ? n - 1 - (size_t)i : (size_t)i;
        json_array_append_new(list, stream_json(c, group, &streams[at]));
    }
    *out = json_pack("{s:o}", "logStreams", list);
    if (start + (uint64_t)limit < n)
        json_object_set_new(*out, "nextToken", token_json('s', start + (uint64_t)limit));
    lt_exec_log_streams_free(streams, n);
    return 0;
}

/* ---- GetLogEvents ---------------------------------------------------------------------- */

/* A message as a JSON string; bytes that are not UTF-8 (a program may print anything)
 * become '?', since JSON cannot carry them. */
static json_t *message_json(const char *message)
{
    size_t len = strlen(message);
    json_t *v = json_stringn(message, len);
    if (v) return v;
    char *copy = lt_xstrndup(message, len);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)copy[i] >= 0x80) copy[i] = '?';
    v = json_stringn(copy, len);
    free(copy);
    return v;
}

static json_t *event_json(const lt_exec_log_event *e)
{
    return json_pack("{s:I, s:o, s:I}", "timestamp", (json_int_t)e->ts_ms, "message",
                     message_json(e->message), "ingestionTime", (json_int_t)e->ts_ms);
}

/* The newest events before byte offset `before` (UINT64_MAX: the end), at most limit and
 * about REPLY_BYTES of messages: a scan from the start keeping a window. *end gets where
 * the scan stopped (the forward token's offset). */
static int read_tail(const logs_ctx *c, const char *group, const char *stream, uint64_t before,
                     size_t limit, int64_t start_ms, int64_t end_ms, lt_exec_log_event **out,
                     size_t *n, uint64_t *end, lt_err *err)
{
    lt_exec_log_event *keep = NULL;
    size_t head = 0, count = 0, cap = 0, bytes = 0;
    uint64_t pos = 0;
    int rc = 0;
    for (bool done = false; !done;) {
        lt_exec_log_event *ev = NULL;
        size_t got = 0;
        uint64_t from = pos;
        rc =
            lt_exec_log_read(c->root, group, stream, &pos, limit, start_ms, end_ms, &ev, &got, err);
        if (rc) break;
        if (pos == from) done = true;
        for (size_t i = 0; i < got; i++) {
            if (ev[i].offset >= before) {
                done = true;
                free(ev[i].message);
                continue;
            }
            if (head + count == cap) {
                if (head > 0) {
                    memmove(keep, keep + head, count * sizeof *keep);
                    head = 0;
                } else {
                    cap = cap ? cap * 2 : 64;
                    keep = lt_xrealloc(keep, cap * sizeof *keep);
                }
            }
            keep[head + count++] = ev[i];
            bytes += strlen(ev[i].message) + 26;
            while (count > limit || (count > 1 && bytes > REPLY_BYTES)) {
                bytes -= strlen(keep[head].message) + 26;
                free(keep[head].message);
                head++;
                count--;
            }
        }
        free(ev);
        if (pos >= before) done = true;
    }
    if (rc) {
        for (size_t i = 0; i < count; i++)
            free(keep[head + i].message);
        free(keep);
        return rc;
    }
    if (head) memmove(keep, keep + head, count * sizeof *keep);
    *out = keep;
    *n = count;
    *end = before < pos ? before : pos;
    return 0;
}

static int get_log_events(const logs_ctx *c, const json_t *in, json_t **out, lt_err *err)
{
    const char *group, *stream, *token;
    int64_t start_ms, end_ms, limit;
    bool from_head;
    int rc = get_string(in, "logGroupName", true, &group, err);
    if (!rc) rc = get_string(in, "logStreamName", true, &stream, err);
    if (!rc) rc = get_string(in, "nextToken", false, &token, err);
    if (!rc) rc = get_int(in, "startTime", 0, INT64_MAX, 0, &start_ms, err);
    if (!rc) rc = get_int(in, "endTime", 0, INT64_MAX, 0, &end_ms, err);
    if (!rc) rc = get_int(in, "limit", 1, EVENTS_LIMIT, EVENTS_LIMIT, &limit, err);
    if (!rc) rc = get_bool(in, "startFromHead", &from_head, err);
    bool forward = token ? token[0] == 'f' : from_head;
    uint64_t at = forward ? 0 : UINT64_MAX;
    if (!rc && token) rc = parse_token(token, forward ? 'f' : 'b', &at, err);
    if (rc) return rc;
    lt_exec_log_event *ev = NULL;
    size_t n = 0;
    uint64_t first = at, end = at;
    lt_err inner = {0};
    if (forward) {
        rc = lt_exec_log_read(c->root, group, stream, &end, (size_t)limit, start_ms, end_ms, &ev,
                              &n, &inner);
    } else {
        rc =
            read_tail(c, group, stream, at, (size_t)limit, start_ms, end_ms, &ev, &n, &end, &inner);
        first = n ? ev[0].offset : end;
    }
    if (rc == LT_ENOTFOUND) return lt_err_set(err, rc, "The specified log stream does not exist.");
    if (rc) return lt_err_set(err, rc, "%s", inner.msg);
    if (forward && n) first = ev[0].offset;
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, event_json(&ev[i]));
    *out = json_pack("{s:o, s:o, s:o}", "events", list, "nextForwardToken", token_json('f', end),
                     "nextBackwardToken", token_json('b', first));
    lt_exec_log_events_free(ev, n);
    return 0;
}

/* ---- FilterLogEvents ------------------------------------------------------------------- */

static bool stream_selected(const json_t *names, const char *name)
{
    if (!names) return true;
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v) if (json_is_string(v) &&
                                        strcmp(json_string_value(v), name) == 0) return true;
    return false;
}

static json_t *filtered_json(const char *stream, const lt_exec_log_event *e)
{
    uint8_t h[32];
    char hex[17];
    lt_sha256(stream, strlen(stream), h);
    lt_hex_encode(hex, h, 8);
    char *id = lt_xasprintf("%s%020llu", hex, (unsigned long long)e->offset);
    json_t *o = json_pack("{s:s, s:I, s:o, s:I, s:s}", "logStreamName", stream, "timestamp",
                          (json_int_t)e->ts_ms, "message", message_json(e->message),
                          "ingestionTime", (json_int_t)e->ts_ms, "eventId", id);
    free(id);
    return o;
}

typedef struct filter_req {
    const char *group;
    const char *pattern; /* NULL: every event */
    size_t pattern_len;
    int64_t start_ms, end_ms;
    size_t limit;
} filter_req;

/* Reads one stream from *offset, appending matches to events until the page is full;
 * returns true when the stream was read to its end. */
static bool filter_stream(const logs_ctx *c, const filter_req *f, const char *stream,
                          uint64_t *offset, json_t *events, size_t *bytes, int *rc, lt_err *err)
{
    for (;;) {
        size_t room = f->limit - json_array_size(events);
        if (room == 0 || *bytes >= REPLY_BYTES) return false;
        lt_exec_log_event *ev = NULL;
        size_t n = 0;
        uint64_t pos = *offset;
        *rc = lt_exec_log_read(c->root, f->group, stream, &pos, room, f->start_ms, f->end_ms, &ev,
                               &n, err);
        if (*rc == LT_ENOTFOUND) {
            *rc = 0; /* removed meanwhile: nothing to search */
            return true;
        }
        if (*rc) return false;
        bool end = pos == *offset;
        *offset = pos;
        for (size_t i = 0; i < n; i++) {
            size_t len = strlen(ev[i].message);
            if (f->pattern && !memmem(ev[i].message, len, f->pattern, f->pattern_len)) continue;
            json_array_append_new(events, filtered_json(stream, &ev[i]));
            *bytes += len + 26;
        }
        lt_exec_log_events_free(ev, n);
        if (end) return true;
    }
}

static int filter_log_events(const logs_ctx *c, const json_t *in, json_t **out, lt_err *err)
{
    filter_req f = {0};
    const char *prefix, *pattern, *token;
    int64_t limit;
    int rc = get_string(in, "logGroupName", true, &f.group, err);
    if (!rc) rc = get_string(in, "logStreamNamePrefix", false, &prefix, err);
    if (!rc) rc = get_string(in, "filterPattern", false, &pattern, err);
    if (!rc) rc = get_string(in, "nextToken", false, &token, err);
    if (!rc) rc = get_int(in, "startTime", 0, INT64_MAX, 0, &f.start_ms, err);
    if (!rc) rc = get_int(in, "endTime", 0, INT64_MAX, 0, &f.end_ms, err);
    if (!rc) rc = get_int(in, "limit", 1, EVENTS_LIMIT, EVENTS_LIMIT, &limit, err);
    const json_t *names = json_object_get(in, "logStreamNames");
    if (!rc && names && !json_is_array(names))
        rc = lt_err_set(err, LT_EINVAL, "logStreamNames must be a list of names.");
    if (!rc && names && prefix)
        rc = lt_err_set(err, LT_EINVAL,
                        "logStreamNames and logStreamNamePrefix cannot both be specified.");
    /* The token is "<offset>:<stream>": where to go on in which stream. */
    uint64_t resume_at = 0;
    const char *resume_stream = NULL;
    if (!rc && token) {
        const char *colon = strchr(token, ':');
        char digits[24];
        int64_t v = 0;
        size_t len = colon ? (size_t)(colon - token) : 0;
        if (!colon || len == 0 || len >= sizeof digits || !colon[1])
            rc = lt_err_set(err, LT_EINVAL, "The specified nextToken is invalid.");
        else {
            memcpy(digits, token, len);
            digits[len] = '\0';
            if (lt_parse_i64(digits, 0, INT64_MAX, &v, "nextToken", NULL) != 0)
                rc = lt_err_set(err, LT_EINVAL, "The specified nextToken is invalid.");
            resume_at = (uint64_t)v;
            resume_stream = colon + 1;
        }
    }
    if (rc) return rc;
    f.limit = (size_t)limit;
    if (pattern) {
        size_t len = strlen(pattern);
        if (len >= 2 && pattern[0] == '"' && pattern[len - 1] == '"') pattern++, len -= 2;
        if (len > 0) f.pattern = pattern, f.pattern_len = len;
    }
    lt_exec_log_stream *streams = NULL;
    size_t n = 0;
    lt_err inner = {0};
    rc = lt_exec_log_streams(c->root, f.group, prefix, &streams, &n, &inner);
    if (rc == LT_ENOTFOUND) return lt_err_set(err, rc, "The specified log group does not exist.");
    if (rc) return lt_err_set(err, rc, "%s", inner.msg);
    json_t *events = json_array(), *searched = json_array();
    size_t bytes = 0;
    char *next = NULL;
    for (size_t i = 0; i < n && !rc && !next; i++) {
        const char *name = streams[i].name;
        if (!stream_selected(names, name)) continue;
        if (resume_stream && strcmp(name, resume_stream) < 0) continue;
        uint64_t offset = resume_stream && strcmp(name, resume_stream) == 0 ? resume_at : 0;
        bool complete = filter_stream(c, &f, name, &offset, events, &bytes, &rc, &inner);
        if (rc) break;
        json_array_append_new(searched, json_pack("{s:s, s:b}", "logStreamName", name,
                                                  "searchedCompletely", complete));
        if (!complete) next = lt_xasprintf("%llu:%s", (unsigned long long)offset, name);
    }
    lt_exec_log_streams_free(streams, n);
    if (rc) {
        json_decref(events);
        json_decref(searched);
        return lt_err_set(err, rc, "%s", inner.msg);
    }
    *out = json_pack("{s:o, s:o}", "events", events, "searchedLogStreams", searched);
    if (next) json_object_set_new(*out, "nextToken", json_string(next));
    free(next);
    return 0;
}

/* ---- dispatch -------------------------------------------------------------------------- */

typedef int (*logs_fn)(const logs_ctx *c, const json_t *in, json_t **out, lt_err *err);

static const struct {
    const char *name;
    logs_fn fn;
} operations[] = {
    {"DescribeLogStreams", describe_log_streams},
    {"GetLogEvents", get_log_events},
    {"FilterLogEvents", filter_log_events},
};

bool lt_http__logs_operation_known(const char *op)
{
    for (size_t i = 0; i < sizeof operations / sizeof operations[0]; i++)
        if (strcmp(operations[i].name, op) == 0) return true;
    return false;
}

void lt_http__logs_call(const lt_http_config *cfg, const char *region, const char *op,
                        const char *body, size_t len, lt_api_reply *reply)
{
    memset(reply, 0, sizeof *reply);
    logs_fn fn = NULL;
    for (size_t i = 0; i < sizeof operations / sizeof operations[0]; i++)
        if (strcmp(operations[i].name, op) == 0) fn = operations[i].fn;
    if (!fn) {
        char *msg = lt_xasprintf("Logs_20140328.%s is not an operation this server implements "
                                 "(DescribeLogStreams, GetLogEvents, FilterLogEvents).",
                                 op);
        reply_json(reply, 400, "UnknownOperationException",
                   json_pack("{s:s, s:s}", "__type", "UnknownOperationException", "message", msg));
        free(msg);
        return;
    }
    json_t *in = NULL;
    lt_err err = {0};
    if (lt_json_parse(len ? body : "{}", len ? len : 2, &in, &err) != 0 || !json_is_object(in)) {
        json_decref(in);
        reply_json(reply, 400, "SerializationException",
                   json_pack("{s:s, s:s}", "__type", "SerializationException", "message",
                             err.code ? err.msg : "The request body must be a JSON object."));
        return;
    }
    if (!cfg->logs_root) {
        json_decref(in);
        reply_error(reply, LT_ENOTFOUND, "This server keeps no logs (no logs_root).");
        return;
    }
    logs_ctx c = {cfg->logs_root, region && region[0] ? region : "us-east-1",
                  cfg->account_id ? cfg->account_id : "000000000000"};
    json_t *out = NULL;
    int rc = fn(&c, in, &out, &err);
    json_decref(in);
    if (rc)
        reply_error(reply, rc, err.msg);
    else
        reply_json(reply, 200, NULL, out);
}
