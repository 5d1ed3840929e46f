/* application/x-recordio-protobuf: the reader against bytes written by Python (standard
 * library, gen_recordio_vectors.py), the writer round trip, split records, malformed input,
 * paths (directory, FIFO), and `lathe algo train/predict` k-means on a RecordIO file. */
#include "algo/algo.h"
#include "test.h"

#include "recordio_vectors.h"

#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const RIO = "application/x-recordio-protobuf";

static int read_bytes(const void *data, size_t len, const char *ct, lt_dataset **ds, lt_err *err)
{
    lt_read_options opt = {.content_type = ct, .source_name = "t.rec", .threads = 1};
    lt_err_clear(err);
    return lt_read_buffer(data, len, &opt, ds, err);
}

static bool same_float(float a, float b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

static void check_dense(const lt_dataset *ds, size_t rows, size_t cols, const float *x,
                        const float *labels, int line)
{
    if (!ds) {
        LT_FAIL_AT("(line %d) no dataset", line);
        return;
    }
    LT_CHECK_INT(ds->x.kind, ==, LT_MATRIX_DENSE);
    LT_CHECK_INT(ds->x.n_rows, ==, rows);
    LT_CHECK_INT(ds->x.n_cols, ==, cols);
    if (ds->x.kind != LT_MATRIX_DENSE || ds->x.n_rows != rows || ds->x.n_cols != cols) return;
    for (size_t i = 0; i < rows * cols; i++)
        if (!same_float(ds->x.values[i], x[i]))
            LT_FAIL_AT("(line %d) x[%zu]: got %g, expected %g", line, i, ds->x.values[i], x[i]);
    if (!labels != !ds->labels) {
        LT_FAIL_AT("(line %d) labels %s", line, labels ? "missing" : "unexpected");
        return;
    }
    for (size_t i = 0; labels && i < rows; i++)
        if (!same_float(ds->labels[i], labels[i]))
            LT_FAIL_AT("(line %d) label[%zu]: got %g, expected %g", line, i, ds->labels[i],
                       labels[i]);
}

static void check_csr(const lt_dataset *ds, size_t rows, size_t cols, const size_t *row_ptr,
                      const uint32_t *col_idx, const float *values, const float *labels, int line)
{
    if (!ds) {
        LT_FAIL_AT("(line %d) no dataset", line);
        return;
    }
    LT_CHECK_INT(ds->x.kind, ==, LT_MATRIX_CSR);
    LT_CHECK_INT(ds->x.n_rows, ==, rows);
    LT_CHECK_INT(ds->x.n_cols, ==, cols);
    if (ds->x.kind != LT_MATRIX_CSR || ds->x.n_rows != rows) return;
    for (size_t r = 0; r <= rows; r++)
        if (ds->x.row_ptr[r] != row_ptr[r])
            LT_FAIL_AT("(line %d) row_ptr[%zu]: got %zu, expected %zu", line, r, ds->x.row_ptr[r],
                       row_ptr[r]);
    LT_CHECK_INT(ds->x.nnz, ==, row_ptr[rows]);
    for (size_t k = 0; k < row_ptr[rows] && k < ds->x.nnz; k++)
        if (ds->x.col_idx[k] != col_idx[k] || !same_float(ds->x.values[k], values[k]))
            LT_FAIL_AT("(line %d) entry %zu: got %u:%g, expected %u:%g", line, k, ds->x.col_idx[k],
                       ds->x.values[k], col_idx[k], values[k]);
    if (!labels != !ds->labels) {
        LT_FAIL_AT("(line %d) labels %s", line, labels ? "missing" : "unexpected");
        return;
    }
    for (size_t i = 0; labels && i < rows; i++)
        if (!same_float(ds->labels[i], labels[i]))
            LT_FAIL_AT("(line %d) label[%zu]: got %g, expected %g", line, i, ds->labels[i],
                       labels[i]);
}

/* ---- a small protobuf encoder for hand-made (and broken) records ---------------------- */

static void put(lt_buf *b, const void *p, size_t n)
{
    if (lt_buf_append(b, p, n, NULL) < 0) abort();
}

static void put_varint(lt_buf *b, uint64_t v)
{
    unsigned char c;
    do {
        c = v & 0x7f;
        v >>= 7;
        if (v) c |= 0x80;
        put(b, &c, 1);
    } while (v);
}

static void put_ld(lt_buf *b, unsigned field, const lt_buf *body)
{
    put_varint(b, field << 3 | 2);
    put_varint(b, body->len);
    put(b, body->data, body->len);
}

/* A Float32Tensor (n_values floats, n_keys keys, n_shape dims) inside a Value, with
 * value_field 2 (float32), 3 (float64: values taken as doubles) or 9 (bytes). */
static void put_value(lt_buf *out, unsigned value_field, const float *values, size_t n_values,
                      const uint64_t *keys, size_t n_keys, const uint64_t *shape, size_t n_shape)
{
    lt_buf t, f;
    lt_buf_init(&t, 1 << 20);
    lt_buf_init(&f, 1 << 20);
    if (n_values) {
        for (size_t i = 0; i < n_values; i++) {
            if (value_field == 3) {
                double d = values[i];
                put(&f, &d, 8);
            } else {
                put(&f, &values[i], 4);
            }
        }
        put_ld(&t, 1, &f);
    }
    lt_buf_reset(&f);
    for (size_t i = 0; i < n_keys; i++)
        put_varint(&f, keys[i]);
    if (n_keys) put_ld(&t, 2, &f);
    lt_buf_reset(&f);
    for (size_t i = 0; i < n_shape; i++)
        put_varint(&f, shape[i]);
    if (n_shape) put_ld(&t, 3, &f);
    put_ld(out, value_field, &t);
    lt_buf_free(&t);
    lt_buf_free(&f);
}

/* One map entry {key, value} as Record field `field` (1 features, 2 label). */
static void put_entry(lt_buf *rec, unsigned field, const char *key, const lt_buf *value)
{
    lt_buf e, k;
    lt_buf_init(&e, 1 << 20);
    lt_buf_init(&k, 1 << 20);
    put(&k, key, strlen(key));
    put_ld(&e, 1, &k);
    put_ld(&e, 2, value);
    put_ld(rec, field, &e);
    lt_buf_free(&e);
    lt_buf_free(&k);
}

static void put_frame(lt_buf *out, const void *payload, size_t len, unsigned flag)
{
    uint32_t head[2] = {0xced7230au, (uint32_t)len | flag << 29};
    put(out, head, 8);
    put(out, payload, len);
    static const char zeros[4] = {0};
    if (len % 4) put(out, zeros, 4 - len % 4);
}

/* A framed record: features["values"] = Float32Tensor(values, keys, shape), label. */
static void put_record(lt_buf *out, const float *values, size_t n_values, const uint64_t *keys,
                       size_t n_keys, const uint64_t *shape, size_t n_shape, const float *label)
{
    lt_buf rec, v;
    lt_buf_init(&rec, 1 << 20);
    lt_buf_init(&v, 1 << 20);
    put_value(&v, 2, values, n_values, keys, n_keys, shape, n_shape);
    put_entry(&rec, 1, "values", &v);
    if (label) {
        lt_buf_reset(&v);
        put_value(&v, 2, label, 1, NULL, 0, NULL, 0);
        put_entry(&rec, 2, "values", &v);
    }
    put_frame(out, rec.data, rec.len, 0);
    lt_buf_free(&rec);
    lt_buf_free(&v);
}

/* ---- tests ------------------------------------------------------------------------------- */

static void python_dense_records_read_as_dense(void)
{
    lt_dataset *ds = NULL;
    lt_err err = {0};
    LT_CHECK_INT(read_bytes(rio_dense, sizeof rio_dense, RIO, &ds, &err), ==, 0);
    check_dense(ds, 2, 2, (float[]){1.5f, 2, -1, 0.5f}, (float[]){1, 0}, __LINE__);
    lt_dataset_free(ds);
    /* label_size=0: the same bytes, unlabeled. */
    LT_CHECK_INT(read_bytes(rio_dense, sizeof rio_dense,
                            "application/x-recordio-protobuf; label_size=0", &ds, &err),
                 ==, 0);
    check_dense(ds, 2, 2, (float[]){1.5f, 2, -1, 0.5f}, NULL, __LINE__);
    lt_dataset_free(ds);
}

static void python_sparse_records_read_as_csr(void)
{
    lt_dataset *ds = NULL;
    lt_err err = {0};
    LT_CHECK_INT(read_bytes(rio_sparse, sizeof rio_sparse, RIO, &ds, &err), ==, 0);
    check_csr(ds, 2, 10, (size_t[]){0, 1, 3}, (uint32_t[]){7, 0, 9}, (float[]){3, 1, 2},
              (float[]){0, 1}, __LINE__);
    lt_dataset_free(ds);
}

static void python_mixed_types_and_unknown_fields(void)
{
    lt_dataset *ds = NULL;
    lt_err err = {0};
    LT_CHECK_INT(read_bytes(rio_mixed, sizeof rio_mixed, RIO, &ds, &err), ==, 0);
    if (err.msg[0]) fprintf(stderr, "    %s\n", err.msg);
    /* dense float64, sparse (unsorted keys), dense int32: CSR, dense rows in full */
    check_csr(ds, 3, 4, (size_t[]){0, 4, 6, 10}, (uint32_t[]){0, 1, 2, 3, 1, 3, 0, 1, 2, 3},
              (float[]){0.25f, -4, 0, 1, 5, 6, 7, 8, -9, 10}, (float[]){3, -1, 2}, __LINE__);
    lt_dataset_free(ds);
}

static void python_split_record_is_reassembled(void)
{
    lt_dataset *ds = NULL;
    lt_err err = {0};
    float m;
    uint32_t bits = 0xced7230au;
    memcpy(&m, &bits, 4);
    /* rio_split: [m, 2, m] in three parts, then a dense record of width 2: widths differ. */
    LT_CHECK_INT(read_bytes(rio_split, sizeof rio_split, RIO, &ds, &err), ==, LT_EINVAL);
    LT_CHECK_CONTAINS(err.msg, "t.rec: record 2: 2 features, expected 3 as on record 1");
    /* The split record alone: its three frames end where the next magic is at offset 0 of
     * the remaining dense record (52 bytes). */
    size_t split_len = sizeof rio_split - 52;
    LT_CHECK_INT(read_bytes(rio_split, split_len, RIO, &ds, &err), ==, 0);
    check_dense(ds, 1, 3, (float[]){m, 2, m}, (float[]){1}, __LINE__);
    lt_dataset_free(ds);
    /* The first part alone, and the parts without the first. */
    LT_CHECK_INT(read_bytes(rio_split, 8 + 16, RIO, &ds, &err), ==, LT_EINVAL);
    LT_CHECK_CONTAINS(err.msg, "t.rec: record 1: truncated: the input ends before the last part");
    LT_CHECK_INT(read_bytes(rio_split + 24, split_len - 24, RIO, &ds, &err), ==, LT_EINVAL);
    LT_CHECK_CONTAINS(err.msg, "t.rec: record 1: a continuation part (flag 2) at byte 0 without");
}

static void writer_round_trips_dense_and_sparse(void)
{
    lt_buf out;
    lt_buf_init(&out, 1 << 20);
    lt_err err = {0};
    /* The contract's worked example, byte for byte. */
    lt_matrix one = {
        .kind = LT_MATRIX_DENSE, .n_rows = 1, .n_cols = 2, .values = (float[]){1.5f, 2}};
    LT_CHECK_INT(lt_write_recordio_protobuf(&one, (float[]){1}, &out, &err), ==, 0);
    LT_CHECK_INT(out.len, ==, 52);
    LT_CHECK(out.len == 52 && memcmp(out.data, rio_dense, 52) == 0);

    lt_buf_reset(&out);
    float x[] = {1, NAN, -3.25f, 4e10f, 0, 6};
    lt_matrix dense = {.kind = LT_MATRIX_DENSE, .n_rows = 3, .n_cols = 2, .values = x};
    LT_CHECK_INT(lt_write_recordio_protobuf(&dense, NULL, &out, &err), ==, 0);
    lt_dataset *ds = NULL;
    LT_CHECK_INT(read_bytes(out.data, out.len, RIO, &ds, &err), ==, 0);
    check_dense(ds, 3, 2, x, NULL, __LINE__);
    lt_dataset_free(ds);

    lt_buf_reset(&out);
    size_t rp[] = {0, 2, 2, 3};
    uint32_t ci[] = {1, 1000, 5};
    float v[] = {0.5f, -1, 7}, lab[] = {1, 0, 1};
    lt_matrix csr = {.kind = LT_MATRIX_CSR,
                     .n_rows = 3,
                     .n_cols = 1001,
                     .values = v,
                     .row_ptr = rp,
                     .col_idx = ci,
                     .nnz = 3};
    LT_CHECK_INT(lt_write_recordio_protobuf(&csr, lab, &out, &err), ==, 0);
    LT_CHECK_INT(out.len % 4, ==, 0);
    LT_CHECK_INT(read_bytes(out.data, out.len, RIO, &ds, &err), ==, 0);
    check_csr(ds, 3, 1001, rp, ci, v, lab, __LINE__);
    lt_dataset_free(ds);

    lt_matrix empty = {.kind = LT_MATRIX_DENSE, .n_rows = 1, .n_cols = 0, .values = x};
    LT_CHECK_INT(lt_write_recordio_protobuf(&empty, NULL, &out, &err), ==, LT_EINVAL);
    lt_buf small;
    lt_buf_init(&small, 40);
    lt_err_clear(&err);
    LT_CHECK_INT(lt_write_recordio_protobuf(&dense, NULL, &small, &err), ==, LT_ELIMIT);
    lt_buf_free(&small);
    lt_buf_free(&out);
}

static void mixed_dense_and_sparse_become_csr(void)
{
    lt_buf b;
    lt_buf_init(&b, 1 << 20);
    put_record(&b, (float[]){1, 2, 3}, 3, NULL, 0, NULL, 0, NULL);
    put_record(&b, (float[]){9}, 1, (uint64_t[]){2}, 1, (uint64_t[]){3}, 1, NULL);
    put_record(&b, NULL, 0, NULL, 0, (uint64_t[]){3}, 1, NULL);         /* an empty sparse row */
    put_record(&b, (float[]){4}, 1, (uint64_t[]){0}, 1, NULL, 0, NULL); /* no shape */
    lt_dataset *ds = NULL;
    lt_err err = {0};
    LT_CHECK_INT(read_bytes(b.data, b.len, RIO, &ds, &err), ==, 0);
    check_csr(ds, 4, 3, (size_t[]){0, 3, 4, 4, 5}, (uint32_t[]){0, 1, 2, 2, 0},
              (float[]){1, 2, 3, 9, 4}, NULL, __LINE__);
    lt_dataset_free(ds);
    /* Sparse without any shape: the width is the largest key + 1. */
    lt_buf_reset(&b);
    put_record(&b, (float[]){1, 2}, 2, (uint64_t[]){4, 6}, 2, NULL, 0, (float[]){1});
    LT_CHECK_INT(read_bytes(b.data, b.len, RIO, &ds, &err), ==, 0);
    check_csr(ds, 1, 7, (size_t[]){0, 2}, (uint32_t[]){4, 6}, (float[]){1, 2}, (float[]){1},
              __LINE__);
    lt_dataset_free(ds);
    lt_buf_free(&b);
}

static void malformed_inputs_name_the_record(void)
{
    static const unsigned char junk[] = {0xff, 0xff, 0xff, 0xff, 0xff};
    lt_buf good;
    lt_buf_init(&good, 1 << 20);
    put_record(&good, (float[]){1, 2}, 2, NULL, 0, NULL, 0, (float[]){1});
    struct {
        const char *want;
        lt_buf in;
    } cases[24];
    size_t n = 0;
#define CASE(msg) (cases[n].want = (msg), lt_buf_init(&cases[n].in, 1 << 20), &cases[n++].in)
    lt_buf *b;
    b = CASE("t.rec: record 1: bad magic 0x04030201 at byte 0 (expected 0xced7230a)");
    put(b, "\x01\x02\x03\x04\x00\x00\x00\x00", 8);
    LT_CHECK_INT(good.len, ==, 52);
    b = CASE("t.rec: record 2: bad magic 0x00000000 at byte 52");
    put(b, good.data, good.len);
    put(b, "\0\0\0\0\0\0\0\0", 8);
    b = CASE("t.rec: record 2: truncated header at byte 52 (4 bytes left)");
    put(b, good.data, good.len);
    put(b, good.data, 4);
    b = CASE(
        "t.rec: record 2: length 44 at byte 52 runs past the end of the input (36 bytes left)");
    put(b, good.data, good.len);
    put(b, good.data, good.len - 8);
    b = CASE("t.rec: record 1: length 100 at byte 0 runs past the end");
    put(b, "\x0a\x23\xd7\xce\x64\x00\x00\x00", 8);
    b = CASE("t.rec: record 1: not a valid aialgs.data.Record protobuf (5 bytes)");
    put_frame(b, junk, sizeof junk, 0);
    b = CASE("t.rec: record 1: bad continuation flag 4 at byte 0");
    put_frame(b, good.data + 8, 20, 4);
    b = CASE("t.rec: record 1: a new record (flag 0) at byte 8 before the last part");
    put_frame(b, "", 0, 1);
    put_frame(b, good.data + 8, 44, 0);
    b = CASE("t.rec: record 1: key 10 is not below the shape 10");
    put_record(b, (float[]){1}, 1, (uint64_t[]){10}, 1, (uint64_t[]){10}, 1, NULL);
    b = CASE("t.rec: record 2: key 5 is not below the feature dimension 3");
    put_record(b, (float[]){1, 2, 3}, 3, NULL, 0, NULL, 0, NULL);
    put_record(b, (float[]){1}, 1, (uint64_t[]){5}, 1, NULL, 0, NULL);
    b = CASE("t.rec: record 1: features[\"values\"] has 1 keys for 2 values");
    put_record(b, (float[]){1, 2}, 2, (uint64_t[]){1}, 1, (uint64_t[]){4}, 1, NULL);
    b = CASE("t.rec: record 1: key 2 appears twice");
    put_record(b, (float[]){1, 2, 3}, 3, (uint64_t[]){2, 0, 2}, 3, (uint64_t[]){4}, 1, NULL);
    b = CASE("t.rec: record 1: shape has a zero dimension");
    put_record(b, NULL, 0, NULL, 0, (uint64_t[]){4, 0}, 2, NULL);
    b = CASE("t.rec: record 1: shape is too large");
    put_record(b, (float[]){1}, 1, (uint64_t[]){1}, 1, (uint64_t[]){1ull << 40}, 1, NULL);
    b = CASE("t.rec: record 2: 3 features, expected 2 as on record 1");
    put(b, good.data, good.len);
    put_record(b, (float[]){1, 2, 3}, 3, NULL, 0, NULL, 0, (float[]){1});
    b = CASE("t.rec: record 2: shape 5, expected 2 columns as on record 1");
    put(b, good.data, good.len);
    put_record(b, (float[]){1}, 1, (uint64_t[]){1}, 1, (uint64_t[]){5}, 1, (float[]){1});
    b = CASE("t.rec: record 2: a label on some records only (record 1 has one)");
    put(b, good.data, good.len);
    put_record(b, (float[]){1, 2}, 2, NULL, 0, NULL, 0, NULL);
    b = CASE("t.rec: record 1: feature 1 is infinite");
    put_record(b, (float[]){1, INFINITY}, 2, NULL, 0, NULL, 0, NULL);
    b = CASE("t.rec: record 1: features[\"values\"] is empty");
    put_record(b, NULL, 0, NULL, 0, NULL, 0, NULL);
    b = CASE("t.rec: no records");
    (void)b;
    {
        /* A features map without "values"; a Bytes value; a label of two values; a float64
         * past float's range. */
        lt_buf rec, v;
        lt_buf_init(&rec, 1 << 20);
        lt_buf_init(&v, 1 << 20);
        put_value(&v, 2, (float[]){1}, 1, NULL, 0, NULL, 0);
        put_entry(&rec, 1, "other", &v);
        b = CASE("t.rec: record 1: no features[\"values\"]");
        put_frame(b, rec.data, rec.len, 0);
        lt_buf_reset(&rec);
        lt_buf_reset(&v);
        put_value(&v, 9, NULL, 0, NULL, 0, NULL, 0);
        put_entry(&rec, 1, "values", &v);
        b = CASE("t.rec: record 1: features[\"values\"] is Bytes, not a numeric tensor");
        put_frame(b, rec.data, rec.len, 0);
        lt_buf_reset(&rec);
        lt_buf_reset(&v);
        put_value(&v, 2, (float[]){1}, 1, NULL, 0, NULL, 0);
        put_entry(&rec, 1, "values", &v);
        lt_buf_reset(&v);
        put_value(&v, 2, (float[]){1, 2}, 2, NULL, 0, NULL, 0);
        put_entry(&rec, 2, "values", &v);
        b = CASE("t.rec: record 1: label[\"values\"] has 2 values, expected 1");
        put_frame(b, rec.data, rec.len, 0);
        lt_buf_reset(&v);
        lt_buf d;
        lt_buf_init(&d, 64);
        double big = 1e300;
        put(&d, &big, 8);
        lt_buf t;
        lt_buf_init(&t, 64);
        put_ld(&t, 1, &d);
        put_ld(&v, 3, &t);
        lt_buf_reset(&rec);
        put_entry(&rec, 1, "values", &v);
        b = CASE("t.rec: record 1: feature 0 is infinite");
        put_frame(b, rec.data, rec.len, 0);
        lt_buf_free(&d);
        lt_buf_free(&t);
        lt_buf_free(&rec);
        lt_buf_free(&v);
    }
#undef CASE
    for (size_t i = 0; i < n; i++) {
        lt_dataset *ds = NULL;
        lt_err err = {0};
        int rc =
            read_bytes(cases[i].in.data ? cases[i].in.data : "", cases[i].in.len, RIO, &ds, &err);
        if (rc != LT_EINVAL) LT_FAIL_AT("case %zu (%s): rc %d", i, cases[i].want, rc);
        LT_CHECK(ds == NULL);
        LT_CHECK_CONTAINS(err.msg, cases[i].want);
        lt_dataset_free(ds);
        lt_buf_free(&cases[i].in);
    }
    lt_buf_free(&good);
}

static void limits_are_enforced(void)
{
    lt_buf b;
    lt_buf_init(&b, 1 << 22);
    float row[64] = {0};
    for (int i = 0; i < 100; i++)
        put_record(&b, row, 64, NULL, 0, NULL, 0, NULL);
    lt_read_options opt = {
        .content_type = RIO, .source_name = "big", .max_bytes = 4096, .threads = 1};
    lt_dataset *ds = NULL;
    lt_err err = {0};
    LT_CHECK_INT(lt_read_buffer(b.data, b.len, &opt, &ds, &err), ==, LT_ELIMIT);
    LT_CHECK_CONTAINS(err.msg, "big");
    LT_CHECK(ds == NULL);
    lt_buf_free(&b);
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (len && fwrite(data, 1, len, f) != len) abort();
    fclose(f);
}

static void path_directory_concatenates_files(void)
{
    char *dir = lt_test_tmpdir("rio_dir");
    char *a = lt_xasprintf("%s/part-0.rec", dir), *b = lt_xasprintf("%s/part-1.rec", dir);
    /* part-0 ends without its last record's padding (as SingleRecord batch splitting leaves
     * it): the next file's magic must still be found. A sparse record of 46 bytes. */
    lt_buf one;
    lt_buf_init(&one, 1 << 20);
    put_record(&one, (float[]){5}, 1, (uint64_t[]){1}, 1, (uint64_t[]){2}, 1, (float[]){7});
    LT_CHECK_INT(one.len, ==, 56);
    write_file(a, one.data, one.len - 2);
    write_file(b, rio_dense, 52);
    lt_read_options opt = {.content_type = RIO, .threads = 1};
    lt_dataset *ds = NULL;
    lt_err err = {0};
    LT_CHECK_INT(lt_read_path(dir, &opt, &ds, &err), ==, 0);
    if (err.msg[0]) fprintf(stderr, "    %s\n", err.msg);
    check_csr(ds, 2, 2, (size_t[]){0, 1, 3}, (uint32_t[]){1, 0, 1}, (float[]){5, 1.5f, 2},
              (float[]){7, 1}, __LINE__);
    lt_dataset_free(ds);
    lt_buf_free(&one);
    free(a);
    free(b);
    free(dir);
}

typedef struct fifo_job {
    const char *path;
    lt_buf data;
} fifo_job;

static void *fifo_writer(void *arg)
{
    fifo_job *job = arg;
    int fd = open(job->path, O_WRONLY);
    if (fd < 0) return NULL;
    /* Small writes, so that frames straddle the reader's reads. */
    for (size_t off = 0; off < job->data.len;) {
        size_t n = job->data.len - off < 7 ? job->data.len - off : 7;
        ssize_t w = write(fd, job->data.data + off, n);
        if (w <= 0) break;
        off += (size_t)w;
    }
    close(fd);
    return NULL;
}

static void path_fifo_is_read_as_a_stream(void)
{
    char *dir = lt_test_tmpdir("rio_fifo");
    char *fifo = lt_xasprintf("%s/train", dir);
    LT_CHECK_INT(mkfifo(fifo, 0600), ==, 0);
    fifo_job job = {.path = fifo};
    lt_buf_init(&job.data, 1 << 24);
    float *x = lt_xcalloc(2000 * 3, sizeof *x), *lab = lt_xcalloc(2000, sizeof *lab);
    for (int i = 0; i < 2000; i++) {
        x[i * 3] = (float)i, x[i * 3 + 1] = (float)-i, x[i * 3 + 2] = 0.5f;
        lab[i] = (float)(i % 2);
    }
    lt_matrix m = {.kind = LT_MATRIX_DENSE, .n_rows = 2000, .n_cols = 3, .values = x};
    lt_err err = {0};
    LT_CHECK_INT(lt_write_recordio_protobuf(&m, lab, &job.data, &err), ==, 0);
    pthread_t th;
    pthread_create(&th, NULL, fifo_writer, &job);
    lt_read_options opt = {.content_type = RIO, .source_name = "channel train"};
    lt_dataset *ds = NULL;
    LT_CHECK_INT(lt_read_path(fifo, &opt, &ds, &err), ==, 0);
    pthread_join(th, NULL);
    check_dense(ds, 2000, 3, x, lab, __LINE__);
    lt_dataset_free(ds);
    free(x);
    free(lab);
    lt_buf_free(&job.data);
    free(fifo);
    free(dir);
}

/* `lathe algo train kmeans` and `predict` on RecordIO files, as SageMaker's KMeans
 * estimator would send them (two well-separated blobs). */
static void lathe_kmeans_trains_and_predicts_on_recordio(void)
{
    const char *lathe = getenv("LATHE_BIN");
    if (!lathe || access(lathe, X_OK) != 0) {
        LT_FAIL_AT("LATHE_BIN is not set to the lathe binary");
        return;
    }
    char *dir = lt_test_tmpdir("rio_kmeans");
    float x[40 * 2];
    for (int i = 0; i < 40; i++) {
        float c = i < 20 ? 0.0f : 10.0f;
        x[i * 2] = c + (float)(i % 5) * 0.1f;
        x[i * 2 + 1] = c - (float)(i % 3) * 0.1f;
    }
    lt_matrix m = {.kind = LT_MATRIX_DENSE, .n_rows = 40, .n_cols = 2, .values = x};
    lt_buf b;
    lt_buf_init(&b, 1 << 20);
    lt_err err = {0};
    LT_CHECK_INT(lt_write_recordio_protobuf(&m, NULL, &b, &err), ==, 0);
    char *train = lt_xasprintf("%s/train.rec", dir);
    write_file(train, b.data, b.len);
    char *cmd = lt_xasprintf("'%s' algo train kmeans --train '%s' --content-type "
                             "application/x-recordio-protobuf --hp k=2 --hp feature_dim=2 "
                             "--threads 1 --model-dir '%s/model' >'%s/train.log' 2>&1 && "
                             "'%s' algo predict --model-dir '%s/model' --input '%s' "
                             "--content-type application/x-recordio-protobuf --accept text/csv "
                             "--threads 1 >'%s/out.csv' 2>'%s/predict.log'",
                             lathe, train, dir, dir, lathe, dir, train, dir, dir);
    int st = system(cmd);
    LT_CHECK_INT(st, ==, 0);
    char *out = lt_xasprintf("%s/out.csv", dir);
    FILE *f = fopen(out, "r");
    int clusters[40], n = 0;
    double dist;
    while (f && n < 40 && fscanf(f, "%d,%lf\n", &clusters[n], &dist) == 2) {
        LT_CHECK(dist >= 0 && dist < 1);
        n++;
    }
    if (f) fclose(f);
    LT_CHECK_INT(n, ==, 40);
    for (int i = 1; i < n; i++)
        LT_CHECK_INT(clusters[i] == clusters[0], ==, i < 20);
    if (st != 0) {
        char *show = lt_xasprintf("cat '%s/train.log' '%s/predict.log' >&2", dir, dir);
        if (system(show)) {
        }
        free(show);
    }
    free(out);
    free(cmd);
    free(train);
    lt_buf_free(&b);
    free(dir);
}

int main(void)
{
    LT_RUN(python_dense_records_read_as_dense);
    LT_RUN(python_sparse_records_read_as_csr);
    LT_RUN(python_mixed_types_and_unknown_fields);
    LT_RUN(python_split_record_is_reassembled);
    LT_RUN(writer_round_trips_dense_and_sparse);
    LT_RUN(mixed_dense_and_sparse_become_csr);
    LT_RUN(malformed_inputs_name_the_record);
    LT_RUN(limits_are_enforced);
    LT_RUN(path_directory_concatenates_files);
    LT_RUN(path_fifo_is_read_as_a_stream);
    LT_RUN(lathe_kmeans_trains_and_predicts_on_recordio);
    return lt_test_summary();
}
