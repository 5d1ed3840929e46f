/* Log streams: one append-only file per stream, one event per line,
 * "<epoch ms> <message>\n".
 *
 * The writer is the only one appending to its file (O_APPEND, one write() per call), so
 * readers need no lock: a reader takes only lines that end in '\n' and stops before a
 * line still being written, leaving its offset there. Offsets are byte offsets into the
 * file, which is what the Logs API's forward and backward tokens carry. */
#include "exec/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    LINE_MAX_BYTES = 256 * 1024,    /* longer lines are cut into several events */
    READ_CHUNK = 1024 * 1024,       /* the reader's window; holds several whole lines */
    READ_REPLY_BYTES = 1024 * 1024, /* messages returned by one read, as CloudWatch */
};

struct lt_exec_log {
    int fd;
    char *path;
    lt_buf partial; /* the current line, before its '\n' */
    lt_buf out;     /* the events of one write call, written at once */
};

static bool name_ok(const char *name, bool leading_slash_ok)
{
    if (!name || !name[0] || strlen(name) > 512) return false;
    const char *p = name;
    if (*p == '/') {
        if (!leading_slash_ok) return false;
        p++;
    }
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        if (!slash) return true;
        p = slash + 1;
    }
}

static char *group_dir(const char *logs_root, const char *group, lt_err *err)
{
    if (!name_ok(group, true)) {
        lt_err_set(err, LT_EINVAL, "log group name '%s' is not valid", group ? group : "");
        return NULL;
    }
    return lt_xasprintf("%s/%s", logs_root, group[0] == '/' ? group + 1 : group);
}

static char *stream_path(const char *logs_root, const char *group, const char *stream, lt_err *err)
{
    if (!name_ok(stream, false)) {
        lt_err_set(err, LT_EINVAL, "log stream name '%s' is not valid", stream ? stream : "");
        return NULL;
    }
    char *dir = group_dir(logs_root, group, err);
    if (!dir) return NULL;
    char *path = lt_xasprintf("%s/%s", dir, stream);
    free(dir);
    return path;
}

/* ---- writer ------------------------------------------------------------------------ */

int lt_exec_log_open(lt_exec_log **out, const char *logs_root, const char *group,
                     const char *stream, lt_err *err)
{
    *out = NULL;
    char *path = stream_path(logs_root, group, stream, err);
    if (!path) return LT_EINVAL;
    char *parent = lt_xstrdup(path);
    *strrchr(parent, '/') = '\0';
    int rc = lt_mkdir_p(parent, 0755, err);
    free(parent);
    int fd = rc ? -1 : open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (!rc && fd < 0) rc = lt_err_set(err, LT_EIO, "cannot open %s: %s", path, strerror(errno));
    if (rc) {
        free(path);
        return rc;
    }
    lt_exec_log *log = lt_xcalloc(1, sizeof *log);
    log->fd = fd;
    log->path = path;
    lt_buf_init(&log->partial, LINE_MAX_BYTES);
    lt_buf_init(&log->out, SIZE_MAX / 2);
    *out = log;
    return 0;
}

static int emit(lt_exec_log *log, const char *line, size_t len, int64_t ts_ms,
                lt_exec_line_fn on_line, void *ctx, lt_err *err)
{
    int rc = lt_buf_printf(&log->out, err, "%lld ", (long long)ts_ms);
    if (!rc) rc = lt_buf_append(&log->out, line, len, err);
    if (!rc) rc = lt_buf_append(&log->out, "\n", 1, err);
    if (!rc && on_line) on_line(ctx, line, len, ts_ms);
    return rc;
}

static int emit_partial(lt_exec_log *log, int64_t ts_ms, lt_exec_line_fn on_line, void *ctx,
                        lt_err *err)
{
    int rc = emit(log, log->partial.data ? log->partial.data : "", log->partial.len, ts_ms, on_line,
                  ctx, err);
    lt_buf_reset(&log->partial);
    return rc;
}

static int write_out(lt_exec_log *log, lt_err *err)
{
    const char *p = log->out.data;
    size_t left = log->out.len;
    while (left > 0) {
        ssize_t n = write(log->fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            lt_buf_reset(&log->out);
            return lt_err_set(err, LT_EIO, "write to %s failed: %s", log->path, strerror(errno));
        }
        p += n;
        left -= (size_t)n;
    }
    lt_buf_reset(&log->out);
    return 0;
}

int lt_exec_log_write(lt_exec_log *log, const char *data, size_t len, int64_t now_ms,
                      lt_exec_line_fn on_line, void *ctx, lt_err *err)
{
    int rc = 0;
    while (!rc && len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t piece = nl ? (size_t)(nl - data) : len;
        size_t used = piece + (nl ? 1 : 0);
        /* Cut only past the limit, so a line of exactly LINE_MAX_BYTES stays one event. */
        while (!rc && log->partial.len + piece > LINE_MAX_BYTES) {
            size_t take = LINE_MAX_BYTES - log->partial.len;
            rc = lt_buf_append(&log->partial, data, take, err);
            if (!rc) rc = emit_partial(log, now_ms, on_line, ctx, err);
            data += take;
            len -= take;
            piece -= take;
            used -= take;
        }
        if (!rc) rc = lt_buf_append(&log->partial, data, piece, err);
        if (!rc && nl) rc = emit_partial(log, now_ms, on_line, ctx, err);
        data += used;
        len -= used;
    }
    int wrc = write_out(log, err);
    return rc ? rc : wrc;
}

int lt_exec_log_flush(lt_exec_log *log, int64_t now_ms, lt_exec_line_fn on_line, void *ctx,
                      lt_err *err)
{
    int rc = log->partial.len ? emit_partial(log, now_ms, on_line, ctx, err) : 0;
    int wrc = write_out(log, err);
    if (!rc) rc = wrc;
    if (!rc && fsync(log->fd) != 0)
        rc = lt_err_set(err, LT_EIO, "fsync of %s failed: %s", log->path, strerror(errno));
    return rc;
}

void lt_exec_log_close(lt_exec_log *log)
{
    if (!log) return;
    close(log->fd);
    lt_buf_free(&log->partial);
    lt_buf_free(&log->out);
    free(log->path);
    free(log);
}

/* ---- reading ------------------------------------------------------------------------- */

/* "<digits> <message>" -> ts and the message's start; false when malformed. */
static bool parse_line(const char *line, size_t len, int64_t *ts, size_t *msg_start)
{
    int64_t v = 0;
    size_t i = 0;
    while (i < len && i < 19 && line[i] >= '0' && line[i] <= '9')
        v = v * 10 + (line[i++] - '0');
    if (i == 0 || i >= len || line[i] != ' ') return false;
    *ts = v;
    *msg_start = i + 1;
    return true;
}

static ssize_t pread_full(int fd, char *buf, size_t len, uint64_t off)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        if (n == 0) break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

static int read_events(int fd, const char *path, uint64_t *offset, size_t max, int64_t start_ms,
                       int64_t end_ms, lt_exec_log_event **out, size_t *n, lt_err *err)
{
    char *buf = lt_xmalloc(READ_CHUNK);
    size_t cap = 0, bytes = 0;
    uint64_t pos = *offset;
    int rc = 0;
    bool more = true;
    while (!rc && more && *n < max && bytes < READ_REPLY_BYTES) {
        ssize_t got = pread_full(fd, buf, READ_CHUNK, pos);
        if (got < 0) {
            rc = lt_err_set(err, LT_EIO, "read of %s failed: %s", path, strerror(errno));
            break;
        }
        more = got == READ_CHUNK;
        size_t at = 0;
        while (*n < max && bytes < READ_REPLY_BYTES) {
            const char *line = buf + at;
            const char *nl = memchr(line, '\n', (size_t)got - at);
            size_t len;
            if (nl)
                len = (size_t)(nl - line);
            else if (at == 0 && more)
                len = (size_t)got; /* longer than the window: corrupt */
            else
                break; /* being written, or past the window */
            int64_t ts = 0;
            size_t msg = 0;
            if (!parse_line(line, len, &ts, &msg))
                lt_log_debug("%s: skipping a malformed line at byte %llu", path,
                             (unsigned long long)(pos + at));
            else if ((start_ms <= 0 || ts >= start_ms) && (end_ms <= 0 || ts < end_ms)) {
                if (*n == cap) {
                    cap = cap ? cap * 2 : 64;
                    *out = lt_xrealloc(*out, cap * sizeof **out);
                }
                (*out)[*n] = (lt_exec_log_event){ts, lt_xstrndup(line + msg, len - msg), pos + at};
                (*n)++;
                bytes += len - msg + 26; /* CloudWatch counts 26 bytes per event too */
            }
            at += len + (nl ? 1 : 0);
        }
        if (at == 0) break;
        pos += at;
    }
    *offset = pos;
    free(buf);
    return rc;
}

int lt_exec_log_read(const char *logs_root, const char *group, const char *stream, uint64_t *offset,
                     size_t max, int64_t start_ms, int64_t end_ms, lt_exec_log_event **out,
                     size_t *n, lt_err *err)
{
    *out = NULL;
    *n = 0;
    char *path = stream_path(logs_root, group, stream, err);
    if (!path) return LT_EINVAL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc = 0;
    if (fd < 0) {
        rc = errno == ENOENT || errno == ENOTDIR
                 ? lt_err_set(err, LT_ENOTFOUND, "log stream '%s' of group '%s' does not exist",
                              stream, group)
                 : lt_err_set(err, LT_EIO, "cannot open %s: %s", path, strerror(errno));
    } else {
        rc = read_events(fd, path, offset, max, start_ms, end_ms, out, n, err);
        close(fd);
    }
    if (rc) {
        lt_exec_log_events_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    free(path);
    return rc;
}

void lt_exec_log_events_free(lt_exec_log_event *events, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(events[i].message);
    free(events);
}

/* ---- listing ------------------------------------------------------------------------- */

/* The time of the first and of the last complete event; false when there is none. */
static bool stream_times(const char *path, uint64_t size, int64_t *first, int64_t *last)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    char head[32];
    ssize_t got = pread_full(fd, head, sizeof head, 0);
    size_t msg;
    bool ok = got > 0 && memchr(head, '\n', (size_t)got) != NULL &&
              parse_line(head, (size_t)got, first, &msg);
    if (!ok && got > 0 && parse_line(head, (size_t)got, first, &msg)) {
        /* A long first line: it counts once its '\n' is in. */
        uint64_t off = 0;
        lt_exec_log_event *ev = NULL;
        size_t n = 0;
        ok = read_events(fd, path, &off, 1, 0, 0, &ev, &n, NULL) == 0 && n == 1;
        lt_exec_log_events_free(ev, n);
    }
    if (ok) {
        /* The last complete line starts after the '\n' before the file's last '\n'. */
        size_t window = LINE_MAX_BYTES + 64;
        uint64_t from = size > window ? size - window : 0;
        char *tail = lt_xmalloc(window);
        got = pread_full(fd, tail, window, from);
        ssize_t end = got - 1;
        while (end >= 0 && tail[end] != '\n')
            end--;
        ssize_t start = end - 1;
        while (start >= 0 && tail[start] != '\n')
            start--;
        if (end < 0 || !parse_line(tail + start + 1, (size_t)(end - start - 1), last, &msg))
            *last = *first;
        free(tail);
    }
    close(fd);
    return ok;
}

typedef struct list_ctx {
    const char *prefix;
    lt_exec_log_stream *streams;
    size_t n;
} list_ctx;

static int list_one(void *ctx, const char *rel, const char *path, const struct stat *st,
                    lt_err *err)
{
    list_ctx *c = ctx;
    if (!S_ISREG(st->st_mode) || !name_ok(rel, false)) return 0;
    if (c->prefix && !lt_str_starts_with(rel, c->prefix)) return 0;
    int64_t mtime_ms = (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
    lt_exec_log_stream s = {lt_xstrdup(rel), mtime_ms, mtime_ms, (uint64_t)st->st_size};
    stream_times(path, (uint64_t)st->st_size, &s.first_ms, &s.last_ms);
    c->streams = lt_xrealloc(c->streams, (c->n + 1) * sizeof *c->streams);
    c->streams[c->n++] = s;
    return 0;
}

static int by_stream_name(const void *a, const void *b)
{
    return strcmp(((const lt_exec_log_stream *)a)->name, ((const lt_exec_log_stream *)b)->name);
}

int lt_exec_log_streams(const char *logs_root, const char *group, const char *prefix,
                        lt_exec_log_stream **out, size_t *n, lt_err *err)
{
    *out = NULL;
    *n = 0;
    char *dir = group_dir(logs_root, group, err);
    if (!dir) return LT_EINVAL;
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        free(dir);
        return lt_err_set(err, LT_ENOTFOUND, "log group '%s' does not exist", group);
    }
    list_ctx c = {prefix && prefix[0] ? prefix : NULL, NULL, 0};
    int rc = lt_walk_tree(dir, list_one, &c, err);
    free(dir);
    if (rc) {
        lt_exec_log_streams_free(c.streams, c.n);
        return rc;
    }
    /* The walk's order is per directory ("a/b" before "a.x"); names sort as strings. */
    if (c.n > 1) qsort(c.streams, c.n, sizeof *c.streams, by_stream_name);
    *out = c.streams;
    *n = c.n;
    return 0;
}

void lt_exec_log_streams_free(lt_exec_log_stream *streams, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(streams[i].name);
    free(streams);
}
