/*
 * lt_read_buffer / lt_read_path: resolves the options, dispatches on the content type
 * (its parameters after ';' — label_size for text/csv and recordio), and reads a file, a
 * directory (each regular file in name order, concatenated) or a FIFO (read to its end as a
 * stream). Text files are joined with a newline where one is missing; RecordIO files are
 * joined with zero padding to 4 bytes, so the next file's first magic stays aligned.
 */
#include "algo/read_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

int lt_read__alloc(lt_read__ctx *ctx, size_t count, size_t size, void **out, lt_err *err)
{
    *out = NULL;
    size_t bytes;
    if (__builtin_mul_overflow(count, size, &bytes) || bytes > ctx->max_bytes ||
        ctx->used_bytes + bytes > ctx->max_bytes)
        return lt_err_set(err, LT_ELIMIT, "%s: the dataset needs more than the limit of %zu bytes",
                          ctx->source, ctx->max_bytes);
    void *p = calloc(bytes ? bytes : 1, 1);
    if (!p) return lt_err_set(err, LT_ENOMEM, "%s: out of memory (%zu bytes)", ctx->source, bytes);
    ctx->used_bytes += bytes;
    *out = p;
    return 0;
}

typedef enum { FMT_CSV, FMT_LIBSVM, FMT_JSONL, FMT_RECORDIO } fmt_kind;

/* "text/csv; label_size=0" -> FMT_CSV with label_size 0. */
static int parse_content_type(const lt_read_options *opt, lt_read__ctx *ctx, fmt_kind *fmt,
                              lt_err *err)
{
    const char *ct = opt->content_type ? opt->content_type : "text/csv";
    const char *semi = strchr(ct, ';');
    size_t n = semi ? (size_t)(semi - ct) : strlen(ct);
    while (n && (ct[n - 1] == ' ')) n--;
    while (n && *ct == ' ') ct++, n--;
#define IS(lit) (n == sizeof(lit) - 1 && strncasecmp(ct, lit, n) == 0)
    if (IS("text/csv") || IS("csv"))
        *fmt = FMT_CSV;
    else if (IS("text/libsvm") || IS("text/x-libsvm") || IS("libsvm"))
        *fmt = FMT_LIBSVM;
    else if (IS("application/jsonlines") || IS("application/jsonl") || IS("application/x-jsonlines"))
        *fmt = FMT_JSONL;
    else if (IS("application/x-recordio-protobuf") || IS("recordio-protobuf"))
        *fmt = FMT_RECORDIO;
    else
        return lt_err_set(err, LT_EINVAL,
                          "%s: unsupported content type \"%s\" (text/csv, text/libsvm, "
                          "application/jsonlines, application/x-recordio-protobuf)",
                          ctx->source, opt->content_type);
#undef IS
    ctx->label_size = 1;
    for (const char *p = semi; p && *p;) {
        p++;
        while (*p == ' ') p++;
        const char *e = strchr(p, ';');
        size_t plen = e ? (size_t)(e - p) : strlen(p);
        if (plen > 11 && strncasecmp(p, "label_size=", 11) == 0) {
            if (plen == 12 && (p[11] == '0' || p[11] == '1'))
                ctx->label_size = p[11] - '0';
            else
                return lt_err_set(err, LT_EINVAL, "%s: label_size must be 0 or 1 in \"%s\"",
                                  ctx->source, opt->content_type);
        }
        p = e;
    }
    return 0;
}

static int ctx_init(const lt_read_options *opt, lt_read__ctx *ctx, fmt_kind *fmt, lt_err *err)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->source = opt && opt->source_name ? opt->source_name : "input";
    ctx->max_bytes = opt && opt->max_bytes ? opt->max_bytes : LT_READ__DEFAULT_MAX;
    ctx->threads = opt && opt->threads > 0 ? opt->threads : omp_get_max_threads();
    if (ctx->threads < 1) ctx->threads = 1;
    ctx->csv_weights = opt && opt->csv_weights;
    lt_read_options none = {0};
    return parse_content_type(opt ? opt : &none, ctx, fmt, err);
}

static int dispatch(const char *data, size_t len, lt_read__ctx *ctx, fmt_kind fmt,
                    lt_dataset **out, lt_err *err)
{
    switch (fmt) {
    case FMT_CSV: return lt_read__csv(data, len, ctx, out, err);
    case FMT_LIBSVM: return lt_read__libsvm(data, len, ctx, out, err);
    case FMT_JSONL: return lt_read__jsonl(data, len, ctx, out, err);
    case FMT_RECORDIO: return lt_read__recordio(data, len, ctx, out, err);
    }
    return lt_err_set(err, LT_EINTERNAL, "unknown format");
}

int lt_read_buffer(const char *data, size_t len, const lt_read_options *opt, lt_dataset **out,
                   lt_err *err)
{
    *out = NULL;
    lt_read__ctx ctx;
    fmt_kind fmt;
    int rc = ctx_init(opt, &ctx, &fmt, err);
    if (rc < 0) return rc;
    return dispatch(data ? data : "", data ? len : 0, &ctx, fmt, out, err);
}

/* Appends the whole of path (a regular file or a FIFO, read until EOF) to buf, making sure
 * text ends with a newline so files concatenate as lines, and binary (RecordIO) ends on a
 * 4-byte boundary so files concatenate as records. */
static int slurp(const char *path, bool binary, lt_buf *buf, lt_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return lt_err_set(err, LT_EIO, "%s: cannot open: %s", path, strerror(errno));
    char tmp[1 << 16];
    int rc = 0;
    bool last_nl = true;
    for (;;) {
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            rc = lt_err_set(err, LT_EIO, "%s: read failed: %s", path, strerror(errno));
            break;
        }
        if (n == 0) break;
        lt_err berr = {0};
        if (lt_buf_append(buf, tmp, (size_t)n, &berr) < 0) {
            rc = lt_err_set(err, LT_ELIMIT, "%s: the input is larger than the limit of %zu bytes",
                            path, buf->max);
            break;
        }
        last_nl = tmp[n - 1] == '\n';
    }
    close(fd);
    if (rc == 0 && binary && buf->len % 4)
        rc = lt_buf_append(buf, "\0\0\0", 4 - buf->len % 4, err);
    else if (rc == 0 && !binary && !last_nl)
        rc = lt_buf_append(buf, "\n", 1, err);
    return rc;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int slurp_dir(const char *path, bool binary, lt_buf *buf, lt_err *err)
{
    DIR *d = opendir(path);
    if (!d) return lt_err_set(err, LT_EIO, "%s: cannot open directory: %s", path, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            names = lt_xrealloc(names, cap * sizeof *names);
        }
        names[n++] = lt_xasprintf("%s/%s", path, de->d_name);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_names);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (rc == 0 && stat(names[i], &st) == 0 && (S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode)))
            rc = slurp(names[i], binary, buf, err);
        free(names[i]);
    }
    free(names);
    return rc;
}

int lt_read_path(const char *path, const lt_read_options *opt, lt_dataset **out, lt_err *err)
{
    *out = NULL;
    lt_read__ctx ctx;
    fmt_kind fmt;
    lt_read_options o = opt ? *opt : (lt_read_options){0};
    if (!o.source_name) o.source_name = path;
    int rc = ctx_init(&o, &ctx, &fmt, err);
    if (rc < 0) return rc;
    struct stat st;
    if (stat(path, &st) != 0)
        return lt_err_set(err, errno == ENOENT ? LT_ENOTFOUND : LT_EIO, "%s: %s", path,
                          strerror(errno));
    lt_buf buf;
    /* The raw text is a fair bound on the parsed data's size, and is kept under the same cap. */
    lt_buf_init(&buf, ctx.max_bytes);
    bool binary = fmt == FMT_RECORDIO;
    if (S_ISDIR(st.st_mode))
        rc = slurp_dir(path, binary, &buf, err);
    else if (S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode))
        rc = slurp(path, binary, &buf, err);
    else
        rc = lt_err_set(err, LT_EINVAL, "%s: not a file, directory or FIFO", path);
    if (rc == 0) rc = dispatch(buf.data ? buf.data : "", buf.len, &ctx, fmt, out, err);
    lt_buf_free(&buf);
    return rc;
}
