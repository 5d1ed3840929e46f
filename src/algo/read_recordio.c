/*
 * application/x-recordio-protobuf (SAGEMAKER-CONTRACTS.md 5.2): the reader behind
 * lt_read_buffer / lt_read_path, and lt_write_recordio_protobuf.
 *
 * Subset implemented:
 * - Framing (MXNet/dmlc RecordIO): uint32 magic 0xced7230a, uint32 lrec (little-endian);
 *   length = lrec & 0x1fffffff, flag = lrec >> 29; the payload, then zero padding to 4 bytes
 *   (the last record's padding may be absent). Flag 0 is a whole record; 1, 2 and 3 are the
 *   first, middle and last parts of a split record, reassembled by concatenation with the
 *   magic bytes dmlc dropped at each split put back between parts. Flags 4..7 are refused.
 * - Payload: aialgs.data.Record (src/algo/proto/record.proto, decoded by protobuf-c).
 *   features["values"] is the row: a Float32Tensor, Float64Tensor or Int32Tensor (the SDK
 *   writes whichever matches the numpy dtype). Dense: `values` only (NaN is missing).
 *   Sparse: `keys` (column indices, one per value; any order, no repeats) with `shape`
 *   (the feature dimension; several dimensions multiply), or `shape` and no values (an
 *   empty row). label["values"], when present with one value, is the row's label; a label
 *   on some records only is an error; text/csv's label_size=0 parameter ignores labels.
 *   Other map keys, uid, metadata and configuration are ignored.
 * - Result: dense when every record is dense and of the same width; otherwise CSR (dense
 *   records become full rows), n_cols the common width of records that state one (dense
 *   width or shape), else the largest key + 1.
 * Errors: LT_EINVAL "<source>: record <n>: <reason>" (n counts whole records from 1);
 * LT_ELIMIT when the parsed data or one record's decoding would pass max_bytes.
 *
 * The writer emits what SageMaker's Python SDK writes (sagemaker.amazon.common): one
 * record per row, features["values"] a Float32Tensor (dense: values; CSR: values, keys and
 * shape [n_cols]), label["values"] a one-value Float32Tensor, flag 0 always — the SDK's own reader
 * does not understand split records, so records are never split even when a payload holds the magic
 * value.
 */
#include "algo/read_internal.h"

#include "record.pb-c.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RIO_MAGIC 0xced7230au
#define RIO_LEN_MASK 0x1fffffffu

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- framing ------------------------------------------------------------------------- */

int lt_recordio_frame_read(const void *data, size_t len, size_t at, lt_recordio_frame *frame,
                           lt_err *err)
{
    const unsigned char *p = (const unsigned char *)data + at;
    size_t left = len - at;
    if (left < 8)
        return lt_err_set(err, LT_EINVAL, "truncated header at byte %zu (%zu bytes left)", at, left);
    uint32_t magic = le32(p), lrec = le32(p + 4);
    if (magic != RIO_MAGIC)
        return lt_err_set(err, LT_EINVAL, "bad magic 0x%08x at byte %zu (expected 0x%08x)", magic,
                          at, RIO_MAGIC);
    uint32_t length = lrec & RIO_LEN_MASK, flag = lrec >> 29;
    if (length > left - 8)
        return lt_err_set(err, LT_EINVAL,
                          "length %u at byte %zu runs past the end of the input (%zu bytes left)",
                          length, at, left - 8);
    if (flag > 3)
        return lt_err_set(err, LT_EINVAL, "bad continuation flag %u at byte %zu", flag, at);
    size_t step = 8 + (size_t)length + ((4 - length % 4) % 4);
    frame->payload = p + 8;
    frame->length = length;
    frame->flag = flag;
    frame->next = step <= left ? at + step : len; /* the last padding may be absent */
    return 0;
}

/* ---- protobuf-c allocations, counted against the read's budget ---------------------- */

typedef struct counted_alloc {
    ProtobufCAllocator base;
    size_t limit; /* bytes one record's decoding may hold at once */
    size_t held;
    bool refused;
} counted_alloc;

typedef union {
    size_t size;
    max_align_t align;
} alloc_head;

static void *counted_malloc(void *data, size_t size)
{
    counted_alloc *a = data;
    if (size > a->limit || a->held + size > a->limit || size > SIZE_MAX - sizeof(alloc_head)) {
        a->refused = true;
        return NULL;
    }
    alloc_head *h = malloc(sizeof *h + size);
    if (!h) {
        a->refused = true;
        return NULL;
    }
    h->size = size;
    a->held += size;
    return h + 1;
}

static void counted_free(void *data, void *p)
{
    if (!p) return;
    counted_alloc *a = data;
    alloc_head *h = (alloc_head *)p - 1;
    a->held -= h->size;
    free(h);
}

/* ---- one tensor, whatever its element type ------------------------------------------ */

typedef struct tensor {
    Aialgs__Data__Value__ValueCase kind;
    size_t n_values;
    const void *values;
    size_t n_keys;
    const uint64_t *keys;
    size_t n_shape;
    const uint64_t *shape;
} tensor;

/* The tensor a map holds under "values" (the last entry wins, as in protobuf maps).
 * Returns 1 found, 0 absent, -1 present but not a tensor (why in *why). */
static int find_values(size_t n, void *const *entries, bool features, tensor *t, const char **why)
{
    const Aialgs__Data__Value *v = NULL;
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        const char *key;
        const Aialgs__Data__Value *val;
        if (features) {
            const Aialgs__Data__Record__FeaturesEntry *e = entries[i];
            key = e->key, val = e->value;
        } else {
            const Aialgs__Data__Record__LabelEntry *e = entries[i];
            key = e->key, val = e->value;
        }
        if (key && strcmp(key, "values") == 0) v = val, found = true;
    }
    if (!found) return 0;
    memset(t, 0, sizeof *t);
    if (!v || v->value_case == AIALGS__DATA__VALUE__VALUE__NOT_SET) {
        *why = "holds no tensor";
        return -1;
    }
    t->kind = v->value_case;
    switch (v->value_case) {
    case AIALGS__DATA__VALUE__VALUE_FLOAT32_TENSOR:
        t->n_values = v->float32_tensor->n_values, t->values = v->float32_tensor->values;
        t->n_keys = v->float32_tensor->n_keys, t->keys = v->float32_tensor->keys;
        t->n_shape = v->float32_tensor->n_shape, t->shape = v->float32_tensor->shape;
        return 1;
    case AIALGS__DATA__VALUE__VALUE_FLOAT64_TENSOR:
        t->n_values = v->float64_tensor->n_values, t->values = v->float64_tensor->values;
        t->n_keys = v->float64_tensor->n_keys, t->keys = v->float64_tensor->keys;
        t->n_shape = v->float64_tensor->n_shape, t->shape = v->float64_tensor->shape;
        return 1;
    case AIALGS__DATA__VALUE__VALUE_INT32_TENSOR:
        t->n_values = v->int32_tensor->n_values, t->values = v->int32_tensor->values;
        t->n_keys = v->int32_tensor->n_keys, t->keys = v->int32_tensor->keys;
        t->n_shape = v->int32_tensor->n_shape, t->shape = v->int32_tensor->shape;
        return 1;
    default:
        *why = "is Bytes, not a numeric tensor";
        return -1;
    }
}

/* Element i as a float: NaN stays (missing); false when infinite or out of float range. */
static bool tensor_at(const tensor *t, size_t i, float *out)
{
    switch (t->kind) {
    case AIALGS__DATA__VALUE__VALUE_FLOAT32_TENSOR:
        *out = ((const float *)t->values)[i];
        break;
    case AIALGS__DATA__VALUE__VALUE_FLOAT64_TENSOR: {
        double d = ((const double *)t->values)[i];
        if (!isnan(d) && !(fabs(d) <= FLT_MAX)) return false;
        *out = (float)d;
        break;
    }
    default:
        *out = (float)((const int32_t *)t->values)[i];
        break;
    }
    return !isinf(*out);
}

/* ---- the growing dataset -------------------------------------------------------------- */

typedef struct rio {
    lt_read__ctx *ctx;
    lt_err *err;
    size_t record; /* 1-based number of the record being read */
    size_t rows, cap_rows;
    size_t *row_ptr; /* cap_rows + 1 */
    float *labels;   /* cap_rows, when labeled */
    int labeled;     /* -1 until the first record */
    size_t nnz, cap_nnz;
    float *values;     /* cap_nnz */
    uint32_t *col_idx; /* cap_nnz, from the first sparse record on */
    bool sparse;
    size_t width; /* the stated width (dense length or shape), 0 until one is seen */
    size_t width_record;
    uint64_t max_free_key; /* the largest key of a record without a shape, + 1 */
    size_t max_free_key_record;
    uint64_t max_key; /* the largest key of any record, + 1 */
} rio;

#define FAIL(r, ...) rio_fail((r), LT_EINVAL, __VA_ARGS__)

static int rio_fail(rio *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int rio_fail(rio *r, int code, const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return lt_err_set(r->err, code, "%s: record %zu: %s", r->ctx->source, r->record, why);
}

/* Grows *p (elem-sized items, *cap of them) to hold need, charging the read's budget. */
static int grow(rio *r, void **p, size_t cap, size_t new_cap, size_t elem)
{
    lt_read__ctx *ctx = r->ctx;
    size_t old_bytes = cap * elem, new_bytes;
    if (__builtin_mul_overflow(new_cap, elem, &new_bytes) || new_bytes > ctx->max_bytes ||
        ctx->used_bytes - old_bytes + new_bytes > ctx->max_bytes)
        return lt_err_set(r->err, LT_ELIMIT,
                          "%s: the dataset needs more than the limit of %zu bytes", ctx->source,
                          ctx->max_bytes);
    void *q = realloc(*p, new_bytes ? new_bytes : 1);
    if (!q)
        return lt_err_set(r->err, LT_ENOMEM, "%s: out of memory (%zu bytes)", ctx->source,
                          new_bytes);
    ctx->used_bytes = ctx->used_bytes - old_bytes + new_bytes;
    *p = q;
    return 0;
}

static int reserve_rows(rio *r)
{
    if (r->rows + 1 < r->cap_rows) return 0;
    size_t cap = r->cap_rows ? r->cap_rows * 2 : 256;
    int rc =
        grow(r, (void **)&r->row_ptr, r->cap_rows ? r->cap_rows + 1 : 0, cap + 1, sizeof(size_t));
    if (!rc && r->labeled == 1) rc = grow(r, (void **)&r->labels, r->cap_rows, cap, sizeof(float));
    if (!rc) r->cap_rows = cap;
    return rc;
}

static int reserve_nnz(rio *r, size_t more)
{
    if (more <= r->cap_nnz - r->nnz) return 0;
    size_t cap = r->cap_nnz ? r->cap_nnz : 1024;
    while (cap - r->nnz < more) {
        if (cap > SIZE_MAX / 2)
            return lt_err_set(r->err, LT_ELIMIT, "%s: too many values", r->ctx->source);
        cap *= 2;
    }
    int rc = grow(r, (void **)&r->values, r->cap_nnz, cap, sizeof(float));
    if (!rc && r->sparse) rc = grow(r, (void **)&r->col_idx, r->cap_nnz, cap, sizeof(uint32_t));
    if (!rc) r->cap_nnz = cap;
    return rc;
}

/* The first sparse record: every row so far was dense and width long. */
static int become_sparse(rio *r)
{
    int rc = grow(r, (void **)&r->col_idx, 0, r->cap_nnz ? r->cap_nnz : 1, sizeof(uint32_t));
    if (rc) return rc;
    for (size_t k = 0; k < r->nnz; k++)
        r->col_idx[k] = (uint32_t)(k % (r->width ? r->width : 1));
    r->sparse = true;
    return 0;
}

/* Every record that states its width (a dense length, a shape) states the same one. */
static int check_width(rio *r, size_t w, bool is_shape)
{
    if (!r->width) {
        r->width = w;
        r->width_record = r->record;
        return 0;
    }
    if (w != r->width)
        return FAIL(r,
                    is_shape ? "shape %zu, expected %zu columns as on record %zu"
                             : "%zu features, expected %zu as on record %zu",
                    w, r->width, r->width_record);
    return 0;
}

typedef struct kv {
    uint64_t key;
    float value;
} kv;

static int cmp_kv(const void *a, const void *b)
{
    uint64_t x = ((const kv *)a)->key, y = ((const kv *)b)->key;
    return x < y ? -1 : x > y;
}

static int add_sparse(rio *r, const tensor *t)
{
    if (t->n_keys != t->n_values)
        return FAIL(r, "features[\"values\"] has %zu keys for %zu values", t->n_keys, t->n_values);
    uint64_t dim = 0;
    if (t->n_shape) {
        dim = 1;
        for (size_t i = 0; i < t->n_shape; i++)
            if (__builtin_mul_overflow(dim, t->shape[i], &dim) || dim > UINT32_MAX)
                return FAIL(r, "shape is too large (more than %u columns)", UINT32_MAX);
        if (dim == 0) return FAIL(r, "shape has a zero dimension");
        int rc = check_width(r, (size_t)dim, true);
        if (rc) return rc;
    }
    if (!r->sparse) {
        int rc = become_sparse(r);
        if (rc) return rc;
    }
    int rc = reserve_nnz(r, t->n_values);
    if (rc) return rc;
    size_t base = r->nnz;
    bool sorted = true;
    for (size_t i = 0; i < t->n_values; i++) {
        uint64_t key = t->keys[i];
        if (dim ? key >= dim : key >= UINT32_MAX)
            return dim ? FAIL(r, "key %llu is not below the shape %llu", (unsigned long long)key,
                              (unsigned long long)dim)
                       : FAIL(r, "key %llu is too large", (unsigned long long)key);
        float v;
        if (!tensor_at(t, i, &v))
            return FAIL(r, "feature %zu (key %llu) is infinite", i, (unsigned long long)key);
        if (i && key <= r->col_idx[base + i - 1]) sorted = false;
        r->col_idx[base + i] = (uint32_t)key;
        r->values[base + i] = v;
    }
    if (!sorted) {
        /* scipy rows may hold unsorted indices; CSR here keeps them increasing. */
        kv *tmp = lt_xmalloc(t->n_values * sizeof *tmp);
        for (size_t i = 0; i < t->n_values; i++)
            tmp[i] = (kv){r->col_idx[base + i], r->values[base + i]};
        qsort(tmp, t->n_values, sizeof *tmp, cmp_kv);
        for (size_t i = 0; i < t->n_values; i++) {
            if (i && tmp[i].key == tmp[i - 1].key) {
                unsigned long long dup = tmp[i].key;
                free(tmp);
                return FAIL(r, "key %llu appears twice", dup);
            }
            r->col_idx[base + i] = (uint32_t)tmp[i].key;
            r->values[base + i] = tmp[i].value;
        }
        free(tmp);
    }
    uint64_t top = t->n_values ? (uint64_t)r->col_idx[base + t->n_values - 1] + 1 : 0;
    if (top > r->max_key) r->max_key = top;
    if (!dim && top > r->max_free_key) {
        r->max_free_key = top;
        r->max_free_key_record = r->record;
    }
    r->nnz += t->n_values;
    return 0;
}

static int add_dense(rio *r, const tensor *t)
{
    if (t->n_values == 0) return FAIL(r, "features[\"values\"] is empty");
    if (t->n_values > UINT32_MAX) return FAIL(r, "too many features (%zu)", t->n_values);
    int rc = check_width(r, t->n_values, false);
    if (!rc) rc = reserve_nnz(r, t->n_values);
    if (rc) return rc;
    for (size_t i = 0; i < t->n_values; i++) {
        if (!tensor_at(t, i, &r->values[r->nnz + i])) return FAIL(r, "feature %zu is infinite", i);
        if (r->sparse) r->col_idx[r->nnz + i] = (uint32_t)i;
    }
    if (t->n_values > r->max_key) r->max_key = t->n_values;
    r->nnz += t->n_values;
    return 0;
}

static int add_record(rio *r, const Aialgs__Data__Record *rec)
{
    tensor feat, lab;
    const char *why = NULL;
    int found = find_values(rec->n_features, (void *const *)rec->features, true, &feat, &why);
    if (found == 0) return FAIL(r, "no features[\"values\"]");
    if (found < 0) return FAIL(r, "features[\"values\"] %s", why);
    bool has_label = false;
    float label = NAN;
    if (r->ctx->label_size) {
        found = find_values(rec->n_label, (void *const *)rec->label, false, &lab, &why);
        if (found < 0) return FAIL(r, "label[\"values\"] %s", why);
        if (found && lab.n_values > 1)
            return FAIL(r, "label[\"values\"] has %zu values, expected 1", lab.n_values);
        if (found && lab.n_values == 1) {
            has_label = true;
            if (!tensor_at(&lab, 0, &label)) return FAIL(r, "the label is infinite");
        }
    }
    if (r->labeled < 0) r->labeled = has_label;
    if (r->labeled != has_label)
        return FAIL(r, "a label on some records only (record 1 %s one)",
                    r->labeled ? "has" : "has no");
    int rc = reserve_rows(r);
    if (rc) return rc;
    if (r->labeled && !r->labels &&
        (rc = grow(r, (void **)&r->labels, 0, r->cap_rows, sizeof(float))))
        return rc;
    if (feat.n_shape && !feat.n_keys && feat.n_values) {
        /* Dense values with a shape: the shape must agree with their count. */
        uint64_t dim = 1;
        for (size_t i = 0; i < feat.n_shape; i++)
            if (__builtin_mul_overflow(dim, feat.shape[i], &dim)) dim = 0;
        if (dim != feat.n_values)
            return FAIL(r, "%zu dense values for shape %llu", feat.n_values,
                        (unsigned long long)dim);
    }
    r->row_ptr[r->rows] = r->nnz;
    rc = feat.n_keys || (feat.n_shape && feat.n_values == 0) ? add_sparse(r, &feat)
                                                             : add_dense(r, &feat);
    if (rc) return rc;
    if (r->labeled) r->labels[r->rows] = label;
    r->rows++;
    r->row_ptr[r->rows] = r->nnz;
    return 0;
}

static int decode(rio *r, const unsigned char *payload, size_t len)
{
    counted_alloc a = {.base = {.alloc = counted_malloc, .free = counted_free},
                       .limit = r->ctx->max_bytes - r->ctx->used_bytes};
    a.base.allocator_data = &a;
    Aialgs__Data__Record *rec = aialgs__data__record__unpack(&a.base, len, payload);
    if (!rec) {
        if (a.refused)
            return rio_fail(r, LT_ELIMIT, "decoding it needs more than the limit of %zu bytes",
                            r->ctx->max_bytes);
        return FAIL(r, "not a valid aialgs.data.Record protobuf (%zu bytes)", len);
    }
    int rc = add_record(r, rec);
    aialgs__data__record__free_unpacked(rec, &a.base);
    return rc;
}

int lt_read__recordio(const char *data, size_t len, lt_read__ctx *ctx, lt_dataset **out,
                      lt_err *err)
{
    *out = NULL;
    rio r = {.ctx = ctx, .err = err, .record = 1, .labeled = -1};
    const unsigned char *p = (const unsigned char *)data, *end = p + len;
    lt_buf parts; /* a split record being put back together */
    lt_buf_init(&parts, ctx->max_bytes);
    bool in_parts = false;
    static const unsigned char magic_bytes[4] = {0x0a, 0x23, 0xd7, 0xce};
    int rc = 0;
    while (p < end) {
        size_t at = (size_t)(p - (const unsigned char *)data);
        lt_recordio_frame frame;
        lt_err ferr = {0};
        if (lt_recordio_frame_read(data, len, at, &frame, &ferr) != 0) {
            rc = FAIL(&r, "%s", ferr.msg);
            goto done;
        }
        const unsigned char *payload = frame.payload;
        uint32_t length = frame.length, flag = frame.flag;
        p = (const unsigned char *)data + frame.next;
        if (flag == 0 || flag == 1) {
            if (in_parts) {
                rc = FAIL(&r,
                          "a new record (flag %u) at byte %zu before the last part of a "
                          "split record",
                          flag, at);
                goto done;
            }
            if (flag == 0) {
                if ((rc = decode(&r, payload, length))) goto done;
                r.record++;
                continue;
            }
            lt_buf_reset(&parts);
            in_parts = true;
        } else {
            if (!in_parts) {
                rc = FAIL(&r, "a continuation part (flag %u) at byte %zu without a first part",
                          flag, at);
                goto done;
            }
            lt_err berr = {0};
            if (lt_buf_append(&parts, magic_bytes, 4, &berr) < 0) {
                rc = rio_fail(&r, LT_ELIMIT, "larger than the limit of %zu bytes", ctx->max_bytes);
                goto done;
            }
        }
        lt_err berr = {0};
        if (lt_buf_append(&parts, payload, length, &berr) < 0) {
            rc = rio_fail(&r, LT_ELIMIT, "larger than the limit of %zu bytes", ctx->max_bytes);
            goto done;
        }
        if (flag == 3) {
            in_parts = false;
            if ((rc = decode(&r, (const unsigned char *)parts.data, parts.len))) goto done;
            r.record++;
        }
    }
    if (in_parts) {
        rc = FAIL(&r, "truncated: the input ends before the last part of a split record");
        goto done;
    }
    if (r.rows == 0) {
        rc = lt_err_set(err, LT_EINVAL, "%s: no records", ctx->source);
        goto done;
    }
    size_t n_cols = r.width ? r.width : (size_t)r.max_key;
    if (r.width && r.max_free_key > r.width) {
        r.record = r.max_free_key_record;
        rc = FAIL(&r, "key %llu is not below the feature dimension %zu",
                  (unsigned long long)r.max_free_key - 1, r.width);
        goto done;
    }
    if (n_cols == 0) {
        rc = lt_err_set(err, LT_EINVAL,
                        "%s: no record states a feature dimension or has a "
                        "feature",
                        ctx->source);
        goto done;
    }
    lt_dataset *ds = lt_xcalloc(1, sizeof *ds);
    ds->x.n_rows = r.rows;
    ds->x.n_cols = n_cols;
    ds->x.values = r.values;
    ds->labels = r.labels;
    if (r.sparse) {
        ds->x.kind = LT_MATRIX_CSR;
        ds->x.row_ptr = r.row_ptr;
        ds->x.col_idx = r.col_idx;
        ds->x.nnz = r.nnz;
    } else {
        ds->x.kind = LT_MATRIX_DENSE;
        free(r.row_ptr);
    }
    if (!ds->x.values) ds->x.values = lt_xcalloc(1, sizeof(float));
    r.values = NULL, r.labels = NULL, r.row_ptr = NULL, r.col_idx = NULL;
    *out = ds;
done:
    free(r.values);
    free(r.labels);
    free(r.row_ptr);
    free(r.col_idx);
    lt_buf_free(&parts);
    return rc;
}

/* ---- writer ----------------------------------------------------------------------------- */

typedef struct buf_sink {
    ProtobufCBuffer base;
    lt_buf *out;
    int rc;
    lt_err *err;
} buf_sink;

static void sink_append(ProtobufCBuffer *b, size_t len, const uint8_t *data)
{
    buf_sink *s = (buf_sink *)b;
    if (!s->rc) s->rc = lt_buf_append(s->out, data, len, s->err);
}

/* Appends rec as one whole frame (flag 0) with its padding. */
static int write_frame(const Aialgs__Data__Record *rec, const char *what, size_t i, lt_buf *out,
                       lt_err *err)
{
    static const unsigned char zeros[4] = {0};
    size_t size = aialgs__data__record__get_packed_size(rec);
    if (size > RIO_LEN_MASK)
        return lt_err_set(err, LT_ELIMIT, "recordio: %s %zu needs %zu bytes, more than a record holds",
                          what, i, size);
    uint32_t lrec = (uint32_t)size;
    unsigned char head[8] = {0x0a, 0x23, 0xd7, 0xce, (unsigned char)lrec, (unsigned char)(lrec >> 8),
                             (unsigned char)(lrec >> 16), (unsigned char)(lrec >> 24)};
    int rc = lt_buf_append(out, head, sizeof head, err);
    if (rc) return rc;
    buf_sink sink = {.base = {.append = sink_append}, .out = out, .err = err};
    aialgs__data__record__pack_to_buffer(rec, &sink.base);
    if (sink.rc) return sink.rc;
    return size % 4 ? lt_buf_append(out, zeros, 4 - size % 4, err) : 0;
}

int lt_write_recordio_labels(const char *const *keys, float *const *values, const size_t *n_values,
                             size_t n, lt_buf *out, lt_err *err)
{
    Aialgs__Data__Float32Tensor *tensors = lt_xcalloc(n + 1, sizeof *tensors);
    Aialgs__Data__Value *vals = lt_xcalloc(n + 1, sizeof *vals);
    Aialgs__Data__Record__LabelEntry *entries = lt_xcalloc(n + 1, sizeof *entries);
    Aialgs__Data__Record__LabelEntry **list = lt_xcalloc(n + 1, sizeof *list);
    for (size_t i = 0; i < n; i++) {
        aialgs__data__float32_tensor__init(&tensors[i]);
        tensors[i].n_values = n_values[i];
        tensors[i].values = values[i];
        aialgs__data__value__init(&vals[i]);
        vals[i].value_case = AIALGS__DATA__VALUE__VALUE_FLOAT32_TENSOR;
        vals[i].float32_tensor = &tensors[i];
        aialgs__data__record__label_entry__init(&entries[i]);
        entries[i].key = (char *)keys[i]; /* protobuf-c only reads through it */
        entries[i].value = &vals[i];
        list[i] = &entries[i];
    }
    Aialgs__Data__Record rec = AIALGS__DATA__RECORD__INIT;
    rec.n_label = n;
    rec.label = list;
    int rc = write_frame(&rec, "record", 1, out, err);
    free(list);
    free(entries);
    free(vals);
    free(tensors);
    return rc;
}

int lt_write_recordio_protobuf(const lt_matrix *x, const float *labels, lt_buf *out, lt_err *err)
{
    size_t n_rows = x->n_rows, n_cols = x->n_cols;
    if (n_cols == 0 && n_rows) return lt_err_set(err, LT_EINVAL, "recordio: rows without features");
    bool csr = x->kind == LT_MATRIX_CSR;
    uint64_t shape = n_cols, *keys = NULL; /* keys: the widest CSR row */
    if (csr) {
        size_t widest = 1;
        for (size_t i = 0; i < n_rows; i++)
            if (x->row_ptr[i + 1] - x->row_ptr[i] > widest)
                widest = x->row_ptr[i + 1] - x->row_ptr[i];
        keys = lt_xmalloc(widest * sizeof *keys);
    }
    int rc = 0;
    for (size_t i = 0; i < n_rows && !rc; i++) {
        Aialgs__Data__Float32Tensor ft = AIALGS__DATA__FLOAT32_TENSOR__INIT;
        Aialgs__Data__Float32Tensor lt = AIALGS__DATA__FLOAT32_TENSOR__INIT;
        /* protobuf-c only reads through these non-const pointers. */
        if (csr) {
            size_t b = x->row_ptr[i], e = x->row_ptr[i + 1];
            for (size_t k = b; k < e; k++)
                keys[k - b] = x->col_idx[k];
            ft.n_values = ft.n_keys = e - b;
            ft.values = x->values + b;
            ft.keys = keys;
            ft.n_shape = 1;
            ft.shape = &shape;
        } else {
            ft.n_values = n_cols;
            ft.values = x->values + i * n_cols;
        }
        Aialgs__Data__Value fv = AIALGS__DATA__VALUE__INIT, lv = AIALGS__DATA__VALUE__INIT;
        fv.value_case = AIALGS__DATA__VALUE__VALUE_FLOAT32_TENSOR;
        fv.float32_tensor = &ft;
        Aialgs__Data__Record__FeaturesEntry fe = AIALGS__DATA__RECORD__FEATURES_ENTRY__INIT;
        fe.key = "values";
        fe.value = &fv;
        Aialgs__Data__Record__FeaturesEntry *fes[1] = {&fe};
        Aialgs__Data__Record__LabelEntry le = AIALGS__DATA__RECORD__LABEL_ENTRY__INIT;
        Aialgs__Data__Record__LabelEntry *les[1] = {&le};
        Aialgs__Data__Record rec = AIALGS__DATA__RECORD__INIT;
        rec.n_features = 1;
        rec.features = fes;
        if (labels) {
            lt.n_values = 1;
            lt.values = (float *)&labels[i];
            lv.value_case = AIALGS__DATA__VALUE__VALUE_FLOAT32_TENSOR;
            lv.float32_tensor = &lt;
            le.key = "values";
            le.value = &lv;
            rec.n_label = 1;
            rec.label = les;
        }
        rc = write_frame(&rec, "row", i, out, err);
    }
    free(keys);
    return rc;
}
