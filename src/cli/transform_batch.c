/* One input object of a transform job: split into records, batched, predicted and assembled.
 *
 * Splitting (SageMaker's SplitType): Line, records end at '\n'; RecordIO, records are
 * RecordIO frames (a split record's frames, flag 1 to 3, make one record), the framing read
 * by algo's lt_recordio_frame_read; None, the object is one record. A batch is one record
 * (SingleRecord) or as many whole records as fit in MaxPayloadInMB (MultiRecord); a record
 * larger than that fails the job, as SageMaker's does.
 *
 * Batches are independent, so up to MaxConcurrentTransforms threads predict them at once,
 * each into its own buffer; the buffers are joined in input order afterwards, so the output
 * does not depend on the concurrency. The first failing batch (lowest in input order) names
 * the job's failure. */
#include "cli/transform_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct batch {
    size_t start, len;
    size_t first_record; /* 0-based number of its first record in the object */
} batch;

typedef struct batch_list {
    batch *items;
    size_t n, cap;
} batch_list;

static void add_batch(batch_list *l, size_t start, size_t len, size_t first_record)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->items = lt_xrealloc(l->items, l->cap * sizeof *l->items);
    }
    l->items[l->n++] = (batch){start, len, first_record};
}

/* Only blank lines: no record to predict (a CSV or JSON lines reader skips them too). */
static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != '\n' && s[i] != '\r' && s[i] != ' ' && s[i] != '\t') return false;
    return true;
}

/* The end of the record starting at pos: after its '\n', or a RecordIO record's last frame. */
static int record_end(const lt_cli__transform *tx, const char *data, size_t len, size_t pos,
                      const char *uri, size_t record, size_t *end, lt_err *err)
{
    if (tx->split == LT_CLI__SPLIT_LINE) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        *end = nl ? (size_t)(nl - data) + 1 : len;
        return 0;
    }
    bool in_parts = false;
    do {
        lt_recordio_frame f;
        lt_err ferr = {0};
        if (lt_recordio_frame_read(data, len, pos, &f, &ferr) != 0)
            return lt_err_set(err, LT_EINVAL, "%s record %zu: %s", uri, record + 1, ferr.msg);
        if ((f.flag == 0 || f.flag == 1) == in_parts)
            return lt_err_set(err, LT_EINVAL,
                              "%s record %zu: a frame with continuation flag %u at byte %zu %s",
                              uri, record + 1, f.flag, pos,
                              in_parts ? "before the last part of a split record"
                                       : "without a first part");
        in_parts = f.flag == 1 || f.flag == 2;
        pos = f.next;
        if (in_parts && pos >= len)
            return lt_err_set(err, LT_EINVAL,
                              "%s record %zu: the object ends before the last part of a split "
                              "record",
                              uri, record + 1);
    } while (in_parts);
    *end = pos;
    return 0;
}

static int split_batches(const lt_cli__transform *tx, const char *data, size_t len,
                         const char *uri, batch_list *out, lt_err *err)
{
    if (tx->split == LT_CLI__SPLIT_NONE) {
        if (len > tx->max_payload_bytes)
            return lt_err_set(err, LT_EINVAL, "%s is %zu bytes, over MaxPayloadInMB", uri, len);
        if (len) add_batch(out, 0, len, 0);
        return 0;
    }
    size_t pos = 0, record = 0;
    while (pos < len) {
        size_t start = pos, first = record;
        while (pos < len) {
            size_t next = len;
            int rc = record_end(tx, data, len, pos, uri, record, &next, err);
            if (rc) return rc;
            if (next - pos > tx->max_payload_bytes)
                return lt_err_set(err, LT_EINVAL, "%s record %zu is larger than MaxPayloadInMB",
                                  uri, record + 1);
            if (record > first && next - start > tx->max_payload_bytes) break;
            pos = next;
            record++;
            if (tx->single_record) break;
        }
        if (tx->split != LT_CLI__SPLIT_LINE || !blank(data + start, pos - start))
            add_batch(out, start, pos - start, first);
    }
    return 0;
}

/* One batch through the model: data (content_type) in, the answer (in accept's format)
 * appended to out. The one place a batch meets the model: in-process, or a serve program. */
static int predict_batch(const lt_cli__transform *tx, const char *data, size_t len,
                         const char *content_type, const char *accept, const char *where,
                         lt_buf *out, lt_err *err)
{
    if (tx->batch) {
        lt_err perr = {0};
        int rc = lt_serve_batch_predict(tx->batch, content_type ? content_type : "text/csv", accept,
                                        data, len, out, &perr);
        return rc ? lt_err_set(err, rc, "%s: %s", where, perr.msg) : 0;
    }
    const char *type = content_type;
    if (!type || strncmp(type, "text/csv", 8) == 0) type = "text/csv;label_size=0";
    lt_read_options opt = {.content_type = type, .source_name = where, .threads = tx->threads};
    lt_dataset *ds = NULL;
    int rc = lt_read_buffer(data, len, &opt, &ds, err);
    if (!rc && ds->x.kind == LT_MATRIX_CSR) rc = lt_dataset_densify(ds, 0.0f, (size_t)1 << 31, err);
    double *pred = NULL;
    if (!rc) {
        size_t width = tx->algo->output_width(tx->model);
        pred = lt_xcalloc(ds->x.n_rows * width + 1, sizeof *pred);
        lt_err perr = {0};
        if (tx->algo->predict(tx->model, &ds->x, tx->threads, pred, &perr) != 0)
            rc = lt_err_set(err, LT_EINVAL, "%s: %s", where, perr.msg);
    }
    if (!rc) rc = lt_algo_format_predictions(tx->algo, tx->model, pred, ds->x.n_rows, accept, out, err);
    free(pred);
    lt_dataset_free(ds);
    return rc;
}

static int run_batch(const lt_cli__transform *tx, const char *data, const batch *b,
                     const char *uri, lt_buf *out, lt_err *err)
{
    char *where = lt_xasprintf("%s record %zu", uri, b->first_record + 1);
    const char *in = data + b->start;
    int rc;
    if (tx->dp) {
        lt_buf model_in, model_out;
        lt_buf_init(&model_in, (size_t)1 << 32);
        lt_buf_init(&model_out, (size_t)1 << 32);
        rc = lt_cli__transform_dp_input(tx->dp, in, b->len, uri, b->first_record, &model_in, err);
        if (!rc)
            rc = predict_batch(tx, model_in.data ? model_in.data : "", model_in.len,
                               lt_cli__transform_dp_model_type(tx->dp),
                               lt_cli__transform_dp_model_accept(tx->dp), where, &model_out, err);
        if (!rc)
            rc = lt_cli__transform_dp_output(tx->dp, in, b->len,
                                             model_out.data ? model_out.data : "", model_out.len,
                                             uri, b->first_record, tx->assemble_lines, out, err);
        lt_buf_free(&model_in);
        lt_buf_free(&model_out);
    } else {
        rc = predict_batch(tx, in, b->len, tx->content_type, tx->accept, where, out, err);
        /* A JSON answer is one document per batch: AssembleWith Line puts each on its line. */
        if (!rc && tx->assemble_lines && out->len && out->data[out->len - 1] != '\n')
            rc = lt_buf_append(out, "\n", 1, err);
    }
    free(where);
    return rc;
}

typedef struct pool {
    const lt_cli__transform *tx;
    const char *data;
    const char *uri;
    const batch_list *batches;
    lt_buf *outs; /* one per batch */
    atomic_size_t next;
    atomic_size_t failed_at; /* the lowest failed batch, or SIZE_MAX */
    pthread_mutex_t lock;
    lt_err err; /* the failure of batch failed_at */
    int rc;
    atomic_bool stopped;
    _Atomic int64_t next_stop_check_ns; /* one thread asks at a time, every STOP_CHECK_MS */
} pool;

/* Whether the job's Stop came; the store is asked by one thread at most every
 * LT_CLI__TRANSFORM_STOP_CHECK_MS, so a large object stops within about that much plus
 * the batches in flight. */
static bool stop_seen(pool *p)
{
    if (!p->tx->stop_asked) return false;
    if (atomic_load(&p->stopped)) return true;
    int64_t now = lt_monotonic_ns(), due = atomic_load(&p->next_stop_check_ns);
    if (now < due ||
        !atomic_compare_exchange_strong(&p->next_stop_check_ns, &due,
                                        now + (int64_t)LT_CLI__TRANSFORM_STOP_CHECK_MS * 1000000))
        return false;
    if (p->tx->stop_asked(p->tx->stop_ctx)) atomic_store(&p->stopped, true);
    return atomic_load(&p->stopped);
}

static void *worker(void *arg)
{
    pool *p = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->batches->n || i > atomic_load(&p->failed_at) || stop_seen(p)) break;
        lt_err err = {0};
        int rc = run_batch(p->tx, p->data, &p->batches->items[i], p->uri, &p->outs[i], &err);
        if (!rc) continue;
        pthread_mutex_lock(&p->lock);
        if (i < atomic_load(&p->failed_at)) {
            atomic_store(&p->failed_at, i);
            p->err = err;
            p->rc = rc;
        }
        pthread_mutex_unlock(&p->lock);
    }
    return NULL;
}

int lt_cli__transform_object(const lt_cli__transform *tx, const char *data, size_t len,
                             const char *uri, lt_buf *out, lt_err *err)
{
    batch_list batches = {0};
    int rc = split_batches(tx, data, len, uri, &batches, err);
    if (rc || batches.n == 0) {
        free(batches.items);
        return rc;
    }
    pool p = {.tx = tx, .data = data, .uri = uri, .batches = &batches};
    p.outs = lt_xcalloc(batches.n, sizeof *p.outs);
    for (size_t i = 0; i < batches.n; i++) lt_buf_init(&p.outs[i], out->max);
    atomic_init(&p.next, 0);
    atomic_init(&p.failed_at, SIZE_MAX);
    atomic_init(&p.stopped, false);
    atomic_init(&p.next_stop_check_ns, lt_monotonic_ns() + (int64_t)LT_CLI__TRANSFORM_STOP_CHECK_MS * 1000000);
    pthread_mutex_init(&p.lock, NULL);
    size_t n_threads = (size_t)tx->concurrency < batches.n ? (size_t)tx->concurrency : batches.n;
    pthread_t *threads = lt_xcalloc(n_threads, sizeof *threads);
    size_t started = 0;
    for (size_t i = 1; i < n_threads; i++, started++)
        if (pthread_create(&threads[i], NULL, worker, &p) != 0) break;
    worker(&p); /* this thread is worker 0 */
    for (size_t i = 1; i <= started; i++) pthread_join(threads[i], NULL);
    free(threads);
    pthread_mutex_destroy(&p.lock);
    if (atomic_load(&p.failed_at) != SIZE_MAX) rc = lt_err_set(err, p.rc, "%s", p.err.msg);
    else if (atomic_load(&p.stopped)) rc = LT_CLI__TRANSFORM_STOPPED;
    size_t total = 0;
    for (size_t i = 0; i < batches.n; i++) total += p.outs[i].len;
    if (!rc && total > out->max)
        rc = lt_err_set(err, LT_ELIMIT, "%s: the output would pass %zu bytes", uri, out->max);
    for (size_t i = 0; !rc && i < batches.n; i++)
        if (p.outs[i].len) rc = lt_buf_append(out, p.outs[i].data, p.outs[i].len, err);
    for (size_t i = 0; i < batches.n; i++) lt_buf_free(&p.outs[i]);
    free(p.outs);
    free(batches.items);
    return rc;
}
