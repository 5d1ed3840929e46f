/*
 * text/csv as SageMaker's built-in algorithms take it: no header, the label in the first
 * column unless label_size=0, every row the same width, an empty field is missing (NaN),
 * no quoting (a '"' is an error), \n or \r\n line ends, blank lines skipped. With
 * csv_weights (XGBoost's csv_weights=1) the second column is the instance weight: a finite
 * number >= 0, as XGBoost requires of weights.
 *
 * Large buffers parse in parallel: the buffer is cut at line boundaries into `threads`
 * chunks; a first pass counts each chunk's rows, a prefix sum gives each chunk its first
 * output row, and a second pass parses every chunk straight into the final matrix.
 */
#include "algo/read_internal.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define PARALLEL_MIN_BYTES (1u << 20)

static const double pow10_tab[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                      1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static bool is_nan_word(const char *s, size_t n)
{
    if (n && (*s == '+' || *s == '-')) s++, n--;
    return n == 3 && (s[0] | 32) == 'n' && (s[1] | 32) == 'a' && (s[2] | 32) == 'n';
}

/* Clinger's fast path from s: [sign] digits [. digits] [(e|E) [sign] digits] with at most 19
 * significant digits and a power of ten within 1e22, exact in double. true with *stop just
 * after the number; false when the text at s is not such a number (callers fall back). */
static inline bool fast_number(const char *s, const char *e, const char **stop, float *out)
{
    const char *p = s;
    bool neg = false;
    if (p < e && (*p == '-' || *p == '+')) neg = *p++ == '-';
    uint64_t mant = 0;
    int digits = 0, frac = 0;
    bool any = false;
    while (p < e && *p >= '0' && *p <= '9') {
        if (mant || *p != '0') digits++;
        mant = mant * 10 + (uint64_t)(*p++ - '0');
        any = true;
    }
    if (p < e && *p == '.') {
        p++;
        while (p < e && *p >= '0' && *p <= '9') {
            if (mant || *p != '0') digits++;
            mant = mant * 10 + (uint64_t)(*p++ - '0');
            frac++;
            any = true;
        }
    }
    if (!any || digits > 19) return false;
    int exp10 = 0;
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        bool eneg = false;
        if (p < e && (*p == '-' || *p == '+')) eneg = *p++ == '-';
        if (p == e || *p < '0' || *p > '9') return false;
        while (p < e && *p >= '0' && *p <= '9') {
            if (exp10 < 100000) exp10 = exp10 * 10 + (*p - '0');
            p++;
        }
        if (eneg) exp10 = -exp10;
    }
    int ex = exp10 - frac;
    if (ex < -22 || ex > 22) return false;
    double v = (double)mant;
    v = ex < 0 ? v / pow10_tab[-ex] : v * pow10_tab[ex];
    float f = (float)(neg ? -v : v);
    if (isinf(f)) return false;
    *stop = p;
    *out = f;
    return true;
}

bool lt_read__number(const char *s, const char *e, float *out)
{
    while (s < e && (*s == ' ' || *s == '\t')) s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
    size_t n = (size_t)(e - s);
    if (n == 0 || is_nan_word(s, n)) {
        *out = NAN;
        return true;
    }
    const char *stop;
    if (fast_number(s, e, &stop, out) && stop == e) return true;
    /* Everything else goes to strtof. */
    char tmp[128];
    if (n >= sizeof tmp) return false;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    /* strtof would also take hex floats, "inf" and "infinity": not numbers in a CSV. */
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789+-.eE", tmp[i])) return false;
    char *end = NULL;
    errno = 0;
    float f = strtof(tmp, &end);
    if (end != tmp + n || isinf(f) || (errno == ERANGE && fabsf(f) > 1.0f)) return false;
    *out = f;
    return true;
}

typedef struct chunk {
    const char *begin, *end;
    size_t first_line; /* 1-based physical line of begin */
    size_t n_lines;    /* physical lines in the chunk */
    size_t n_rows;     /* non-blank lines */
    size_t first_row;
    /* the first error in the chunk */
    int rc;
    size_t err_line;
    char err_msg[256];
} chunk;

static bool line_blank(const char *s, const char *e)
{
    return s == e || (e - s == 1 && *s == '\r');
}

/* Counts physical lines and non-blank rows of [begin, end). */
static void chunk_count(chunk *c)
{
    const char *p = c->begin;
    size_t lines = 0, rows = 0;
    while (p < c->end) {
        const char *nl = memchr(p, '\n', (size_t)(c->end - p));
        const char *le = nl ? nl : c->end;
        lines++;
        if (!line_blank(p, le)) rows++;
        p = nl ? nl + 1 : c->end;
    }
    c->n_lines = lines;
    c->n_rows = rows;
}

static size_t count_fields(const char *s, const char *e)
{
    size_t n = 1;
    for (const char *p = s; (p = memchr(p, ',', (size_t)(e - p))) != NULL; p++) n++;
    return n;
}

static void chunk_fail(chunk *c, size_t line, const char *msg)
{
    if (c->rc) return;
    c->rc = LT_EINVAL;
    c->err_line = line;
    snprintf(c->err_msg, sizeof c->err_msg, "%s", msg);
}

/* Columns before the features: the label (label_size of them), then the weight when
 * weights is not NULL. */
static void chunk_parse(chunk *c, size_t width, int label_size, float *x, float *labels,
                        float *weights)
{
    size_t prefix = (size_t)label_size + (weights ? 1 : 0);
    size_t n_cols = width - prefix;
    const char *p = c->begin;
    size_t line = c->first_line, row = c->first_row;
    char msg[256];
    for (; p < c->end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(c->end - p));
        const char *le = nl ? nl : c->end;
        const char *next = nl ? nl + 1 : c->end;
        if (le > p && le[-1] == '\r') le--;
        if (p == le) {
            p = next;
            continue;
        }
        float *dst = x + row * n_cols;
        size_t col = 0;
        const char *f = p;
        for (;;) {
            const char *fe = f;
            float v;
            /* Most fields are plain numbers: parsed in the same pass that finds their end. */
            if (col < width && fast_number(f, le, &fe, &v) && (fe == le || *fe == ','))
                goto have_value;
            fe = f;
            while (fe < le && *fe != ',' && *fe != '"') fe++;
            if (fe < le && *fe == '"') {
                snprintf(msg, sizeof msg,
                         "column %zu: quoted fields are not supported (SageMaker CSV has no "
                         "quoting)",
                         col + 1);
                chunk_fail(c, line, msg);
                return;
            }
            if (col >= width) {
                snprintf(msg, sizeof msg, "%zu columns, expected %zu as on the first row",
                         count_fields(p, le), width);
                chunk_fail(c, line, msg);
                return;
            }
            if (!lt_read__number(f, fe, &v)) {
                int shown = (int)((fe - f) > 40 ? 40 : (fe - f));
                snprintf(msg, sizeof msg, "column %zu: not a number: \"%.*s%s\"", col + 1,
                         shown, f, (fe - f) > 40 ? "..." : "");
                chunk_fail(c, line, msg);
                return;
            }
        have_value:
            if ((int)col < label_size) {
                labels[row] = v;
            } else if (col < prefix) {
                if (!(v >= 0)) {
                    snprintf(msg, sizeof msg,
                             isnan(v) ? "column %zu: the instance weight is missing"
                                      : "column %zu: instance weight %g is negative",
                             col + 1, (double)v);
                    chunk_fail(c, line, msg);
                    return;
                }
                weights[row] = v;
            } else {
                dst[col - prefix] = v;
            }
            col++;
            if (fe == le) break;
            f = fe + 1;
        }
        if (col != width) {
            snprintf(msg, sizeof msg, "%zu columns, expected %zu as on the first row", col,
                     width);
            chunk_fail(c, line, msg);
            return;
        }
        row++;
        p = next;
    }
}

int lt_read__csv(const char *data, size_t len, lt_read__ctx *ctx, lt_dataset **out, lt_err *err)
{
    *out = NULL;
    int n_chunks = len >= PARALLEL_MIN_BYTES ? ctx->threads : 1;
    if ((size_t)n_chunks > len / 4096 + 1) n_chunks = (int)(len / 4096 + 1);
    chunk *chunks = lt_xcalloc((size_t)n_chunks, sizeof *chunks);
    /* Cut at line boundaries: each chunk ends just after a '\n' (or at the buffer end). */
    const char *pos = data, *end = data + len;
    for (int i = 0; i < n_chunks; i++) {
        chunks[i].begin = pos;
        if (i == n_chunks - 1) {
            pos = end;
        } else {
            const char *target = data + len / (size_t)n_chunks * (size_t)(i + 1);
            if (target < pos) target = pos;
            const char *nl = target < end ? memchr(target, '\n', (size_t)(end - target)) : NULL;
            pos = nl ? nl + 1 : end;
        }
        chunks[i].end = pos;
    }
    /* One chunk (every small input: a real-time request) runs on this thread without an
     * OpenMP region, whose start and end cost more than parsing a row. */
    if (n_chunks == 1) {
        chunk_count(&chunks[0]);
    } else {
#pragma omp parallel for num_threads(n_chunks) schedule(static, 1)
        for (int i = 0; i < n_chunks; i++) chunk_count(&chunks[i]);
    }
    size_t rows = 0, lines = 1;
    for (int i = 0; i < n_chunks; i++) {
        chunks[i].first_row = rows;
        chunks[i].first_line = lines;
        rows += chunks[i].n_rows;
        lines += chunks[i].n_lines;
    }
    /* The width comes from the first non-blank line. */
    size_t width = 0, first_line = 1;
    for (const char *p = data; p < end; first_line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (!line_blank(p, le)) {
            if (le > p && le[-1] == '\r') le--;
            width = count_fields(p, le);
            break;
        }
        p = nl ? nl + 1 : end;
    }
    int rc = 0;
    if (rows == 0) {
        rc = lt_err_set(err, LT_EINVAL, "%s: no data rows", ctx->source);
        goto done;
    }
    if (ctx->csv_weights && ctx->label_size != 1) {
        rc = lt_err_set(err, LT_EINVAL,
                        "%s: instance weights (csv_weights) need the label column "
                        "(label_size=1)",
                        ctx->source);
        goto done;
    }
    size_t prefix = (size_t)ctx->label_size + (ctx->csv_weights ? 1 : 0);
    if (width <= prefix) {
        rc = lt_err_set(err, LT_EINVAL,
                        ctx->csv_weights
                            ? "%s:%zu: a row has only the label and weight columns and no features"
                            : "%s:%zu: a row has only the label column and no features",
                        ctx->source, first_line);
        goto done;
    }
    size_t n_cols = width - prefix;
    float *x = NULL, *labels = NULL, *weights = NULL;
    if ((rc = lt_read__alloc(ctx, rows, n_cols * sizeof(float), (void **)&x, err)) < 0) goto done;
    if (ctx->label_size &&
        (rc = lt_read__alloc(ctx, rows, sizeof(float), (void **)&labels, err)) < 0) {
        free(x);
        goto done;
    }
    if (ctx->csv_weights &&
        (rc = lt_read__alloc(ctx, rows, sizeof(float), (void **)&weights, err)) < 0) {
        free(x);
        free(labels);
        goto done;
    }
    if (n_chunks == 1) {
        chunk_parse(&chunks[0], width, ctx->label_size, x, labels, weights);
    } else {
#pragma omp parallel for num_threads(n_chunks) schedule(static, 1)
        for (int i = 0; i < n_chunks; i++)
            chunk_parse(&chunks[i], width, ctx->label_size, x, labels, weights);
    }
    for (int i = 0; i < n_chunks; i++) {
        if (chunks[i].rc) {
            rc = lt_err_set(err, chunks[i].rc, "%s:%zu: %s", ctx->source, chunks[i].err_line,
                            chunks[i].err_msg);
            free(x);
            free(labels);
            free(weights);
            goto done;
        }
    }
    lt_dataset *ds = lt_xcalloc(1, sizeof *ds);
    ds->x.kind = LT_MATRIX_DENSE;
    ds->x.n_rows = rows;
    ds->x.n_cols = n_cols;
    ds->x.values = x;
    ds->labels = labels;
    ds->weights = weights;
    *out = ds;
done:
    free(chunks);
    return rc;
}
