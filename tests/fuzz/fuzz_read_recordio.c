/*
 * application/x-recordio-protobuf reader: the RecordIO framing (magic, length, continuation
 * flags, padding) and protobuf-c's decoding of aialgs.data.Record. Input: any bytes, read as
 * a RecordIO buffer, labeled and with label_size=0.
 * Invariants: rc is 0 or a negative code, with a dataset iff 0 and a message otherwise
 * (naming the source); on success the shape is non-empty, values are finite or NaN, CSR rows
 * are within bounds with increasing indices; label_size=0 succeeds exactly when the labeled
 * read does or fails only over labels, and gives the same matrix without labels; a dense
 * result written back with lt_write_recordio_protobuf reads back identical.
 */
#include "algo/algo.h"
#include "fuzz_check.h"

#include <math.h>

static void check_dataset(const lt_dataset *ds)
{
    FZ_CHECK(ds->x.n_rows > 0 && ds->x.n_cols > 0, "empty shape on success");
    for (size_t r = 0; r < ds->x.n_rows && ds->labels; r++)
        FZ_CHECK(!isinf(ds->labels[r]), "label %zu is infinite", r);
    if (ds->x.kind == LT_MATRIX_DENSE) {
        for (size_t i = 0; i < ds->x.n_rows * ds->x.n_cols; i++)
            FZ_CHECK(!isinf(ds->x.values[i]), "value %zu is infinite", i);
        return;
    }
    FZ_CHECK(ds->x.row_ptr[0] == 0 && ds->x.row_ptr[ds->x.n_rows] == ds->x.nnz, "row_ptr ends");
    for (size_t r = 0; r < ds->x.n_rows; r++) {
        FZ_CHECK(ds->x.row_ptr[r] <= ds->x.row_ptr[r + 1], "row_ptr decreases at %zu", r);
        for (size_t k = ds->x.row_ptr[r]; k < ds->x.row_ptr[r + 1]; k++) {
            FZ_CHECK(ds->x.col_idx[k] < ds->x.n_cols, "column out of range");
            FZ_CHECK(k == ds->x.row_ptr[r] || ds->x.col_idx[k] > ds->x.col_idx[k - 1],
                     "indices not increasing in row %zu", r);
            FZ_CHECK(!isinf(ds->x.values[k]), "value %zu is infinite", k);
        }
    }
}

static bool same_bits(const float *a, const float *b, size_t n)
{
    return n == 0 || memcmp(a, b, n * sizeof(float)) == 0;
}

static bool same_matrix(const lt_matrix *a, const lt_matrix *b)
{
    if (a->kind != b->kind || a->n_rows != b->n_rows || a->n_cols != b->n_cols) return false;
    if (a->kind == LT_MATRIX_DENSE) return same_bits(a->values, b->values, a->n_rows * a->n_cols);
    return a->nnz == b->nnz && same_bits(a->values, b->values, a->nnz) &&
           memcmp(a->row_ptr, b->row_ptr, (a->n_rows + 1) * sizeof(size_t)) == 0 &&
           (a->nnz == 0 || memcmp(a->col_idx, b->col_idx, a->nnz * sizeof(uint32_t)) == 0);
}

static int read(const uint8_t *data, size_t size, const char *ct, lt_dataset **ds, lt_err *err)
{
    lt_read_options opt = {
        .content_type = ct, .source_name = "fuzz", .threads = 1, .max_bytes = 64u << 20};
    return lt_read_buffer((const char *)data, size, &opt, ds, err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lt_dataset *ds = NULL, *ds0 = NULL;
    lt_err err = {0}, err0 = {0};
    int rc = read(data, size, "application/x-recordio-protobuf", &ds, &err);
    FZ_CHECK(rc <= 0, "rc %d", rc);
    FZ_CHECK((rc == 0) == (ds != NULL), "dataset iff success");
    FZ_CHECK(rc == 0 || strncmp(err.msg, "fuzz", 4) == 0, "message without the source: %s",
             err.msg);
    int rc0 = read(data, size, "application/x-recordio-protobuf;label_size=0", &ds0, &err0);
    FZ_CHECK((rc0 == 0) == (ds0 != NULL), "dataset iff success (label_size=0)");
    FZ_CHECK(rc0 == 0 || err0.msg[0] != '\0', "an error without a message");
    if (rc == 0) {
        check_dataset(ds);
        FZ_CHECK(rc0 == 0, "label_size=0 failed where labels read: %s", err0.msg);
        FZ_CHECK(ds0->labels == NULL, "labels with label_size=0");
        FZ_CHECK(same_matrix(&ds->x, &ds0->x), "label_size=0 changed the features");
        /* Write back and read again. */
        lt_buf out;
        lt_buf_init(&out, 256u << 20);
        lt_err werr = {0};
        int wrc = lt_write_recordio_protobuf(&ds->x, ds->labels, &out, &werr);
        FZ_CHECK(wrc == 0, "writing back failed: %s", werr.msg);
        lt_dataset *back = NULL;
        lt_err berr = {0};
        int brc = read((const uint8_t *)out.data, out.len, "application/x-recordio-protobuf", &back,
                       &berr);
        FZ_CHECK(brc == 0, "reading back failed: %s", berr.msg);
        FZ_CHECK(same_matrix(&ds->x, &back->x), "the round trip changed the features");
        FZ_CHECK(!ds->labels == !back->labels &&
                     (!ds->labels || same_bits(ds->labels, back->labels, ds->x.n_rows)),
                 "the round trip changed the labels");
        lt_dataset_free(back);
        lt_buf_free(&out);
    } else if (rc0 == 0) {
        check_dataset(ds0);
        FZ_CHECK(strstr(err.msg, "label") != NULL, "only labels may fail a label_size=0 read: %s",
                 err.msg);
    }
    lt_dataset_free(ds);
    lt_dataset_free(ds0);
    return 0;
}
