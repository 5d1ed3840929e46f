/* SageMaker's k-NN (built-in algorithm "knn"): training samples sample_size labelled rows
 * (seeded, without replacement, kept in data order), optionally reduces their dimension,
 * and builds a faiss-style index; inference finds each row's k nearest points and votes
 * (classifier) or averages (regressor) their labels.
 *
 * Implemented subset of SageMaker's hyperparameters: index_type faiss.Flat (exact scan)
 * and faiss.IVFFlat (k-means coarse quantiser from ../kmeans, faiss_index_ivf_nlists
 * lists, default auto = round(sqrt(points)), trained on at most 256 points per list with 20
 * Lloyd iterations from random rows as faiss does); faiss.IVFPQ is refused. index_metric L2
 * (distances are squared, as faiss reports them), INNER_PRODUCT and COSINE (rows scaled to
 * unit length; both report similarities, largest first). faiss_index_nprobe is Lathe's: the
 * lists an IVF query scans (auto = max(1, nlists / 8)). dimension_reduction_type sign
 * (a dense random +-1/sqrt(target) projection) or fjlt (the subsampled randomized Hadamard
 * transform of Ailon & Chazelle, "The fast Johnson-Lindenstrauss transform", 2009: random
 * signs, a Walsh-Hadamard transform of the zero-padded row, `target` coordinates picked at
 * random, scaled by 1/sqrt(target)), both regenerated from the seed on load.
 * mini_batch_size and faiss_index_pq_m are accepted and unused. */
#include "algo/knn/knn.h"
#include "algo/kmeans/kmeans.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static const char *const predictor_choices[] = {"classifier", "regressor", NULL};
static const char *const index_choices[] = {"faiss.Flat", "faiss.IVFFlat", "faiss.IVFPQ", NULL};
static const char *const metric_choices[] = {"L2", "INNER_PRODUCT", "COSINE", NULL};
static const char *const reduce_choices[] = {"none", "sign", "fjlt", NULL};
static const lt_hp_spec knn_hps[] = {
    {"feature_dim", LT_HP_INT, NULL, 1, INT_MAX, NULL, false},
    {"k", LT_HP_INT, NULL, 1, 1024, NULL, true},
    {"predictor_type", LT_HP_CATEGORICAL, NULL, 0, 0, predictor_choices, false},
    {"sample_size", LT_HP_INT, NULL, 1, 1e15, NULL, true},
    {"dimension_reduction_type", LT_HP_CATEGORICAL, "none", 0, 0, reduce_choices, true},
    {"dimension_reduction_target", LT_HP_INT, "0", 0, INT_MAX, NULL, true},
    {"index_type", LT_HP_CATEGORICAL, "faiss.Flat", 0, 0, index_choices, true},
    {"index_metric", LT_HP_CATEGORICAL, "L2", 0, 0, metric_choices, true},
    {"faiss_index_ivf_nlists", LT_HP_INT_OR_AUTO, "auto", 1, INT_MAX, NULL, true},
    {"faiss_index_nprobe", LT_HP_INT_OR_AUTO, "auto", 1, INT_MAX, NULL, true},
    {"faiss_index_pq_m", LT_HP_INT_OR_AUTO, "auto", 1, INT_MAX, NULL, false},
    {"mini_batch_size", LT_HP_INT, "5000", 1, INT_MAX, NULL, false},
    {"seed", LT_HP_INT, "0", 0, INT_MAX, NULL, false},
    {NULL, 0, NULL, 0, 0, NULL, false},
};


void lt_knn__fwht(float *v, int n)
{
    for (int h = 1; h < n; h <<= 1)
        for (int i = 0; i < n; i += 2 * h)
            for (int j = i; j < i + h; j++) {
                float a = v[j], b = v[j + h];
                v[j] = a + b;
                v[j + h] = a - b;
            }
}

void lt_knn__reduction_build(lt_algo_model *m)
{
    uint64_t s = m->seed * 0x2545F4914F6CDD1DULL + 11;
    m->dim_pad = 1;
    while (m->dim_pad < m->dim)
        m->dim_pad <<= 1;
    if (m->reduce == LT_KNN_REDUCE_SIGN) {
        float v = 1.0f / sqrtf((float)m->rdim);
        m->sign_matrix = lt_xmalloc((size_t)m->dim * m->rdim * sizeof(float));
        for (size_t i = 0; i < (size_t)m->dim * m->rdim; i++)
            m->sign_matrix[i] = (lt_algo__rng_next(&s) >> 63) ? v : -v;
    } else if (m->reduce == LT_KNN_REDUCE_FJLT) {
        m->fjlt_sign = lt_xmalloc((size_t)m->dim_pad * sizeof(float));
        for (int i = 0; i < m->dim_pad; i++)
            m->fjlt_sign[i] = (lt_algo__rng_next(&s) >> 63) ? 1.0f : -1.0f;
        uint32_t *perm = lt_xmalloc((size_t)m->dim_pad * sizeof(uint32_t));
        for (int i = 0; i < m->dim_pad; i++)
            perm[i] = (uint32_t)i;
        m->fjlt_pick = lt_xmalloc((size_t)m->rdim * sizeof(uint32_t));
        for (int i = 0; i < m->rdim; i++) { /* partial Fisher-Yates */
            size_t j = (size_t)i + lt_algo__rng_below(&s, (size_t)(m->dim_pad - i));
            uint32_t t = perm[i];
            perm[i] = perm[j], perm[j] = t;
            m->fjlt_pick[i] = perm[i];
        }
        free(perm);
    }
}

void lt_knn__transform_row(const lt_algo_model *m, const float *x, float *y, float *scratch)
{
    switch (m->reduce) {
    case LT_KNN_REDUCE_NONE:
        memcpy(y, x, (size_t)m->dim * sizeof(float));
        break;
    case LT_KNN_REDUCE_SIGN:
        cblas_sgemv(CblasRowMajor, CblasTrans, m->dim, m->rdim, 1.0f, m->sign_matrix, m->rdim, x, 1,
                    0.0f, y, 1);
        break;
    case LT_KNN_REDUCE_FJLT: {
        for (int i = 0; i < m->dim_pad; i++)
            scratch[i] = i < m->dim ? x[i] * m->fjlt_sign[i] : 0;
        lt_knn__fwht(scratch, m->dim_pad);
        float scale = 1.0f / sqrtf((float)m->rdim);
        for (int j = 0; j < m->rdim; j++)
            y[j] = scratch[m->fjlt_pick[j]] * scale;
        break;
    }
    }
    if (m->metric == LT_KNN_COSINE) {
        double s = 0;
        for (int j = 0; j < m->rdim; j++)
            s += (double)y[j] * y[j];
        if (s > 0)
            for (int j = 0; j < m->rdim; j++)
                y[j] = (float)(y[j] / sqrt(s));
    }
}

void lt_knn__norms(lt_algo_model *m)
{
    for (size_t i = 0; i < m->n; i++)
        m->norms[i] = cblas_sdot(m->rdim, m->points + i * m->rdim, 1, m->points + i * m->rdim, 1);
    for (int j = 0; j < m->nlist; j++)
        m->cnorms[j] = cblas_sdot(m->rdim, m->centroids + (size_t)j * m->rdim, 1,
                                  m->centroids + (size_t)j * m->rdim, 1);
}

/* Transforms rows [0, x->n_rows) of x, or only those listed in rows (count of them), into
 * y (count, rdim). LT_EINVAL naming the first row (1-based) with a non-finite value. */
static int transform_rows(const lt_algo_model *m, const lt_matrix *x, const size_t *rows,
                          size_t count, int nth, float *y, const char *what, lt_err *err)
{
    float *scratch = malloc((size_t)nth * ((size_t)m->dim_pad + m->dim) * sizeof(float));
    if (!scratch) return lt_err_set(err, LT_ENOMEM, "knn: out of memory");
    size_t bad = SIZE_MAX;
#pragma omp parallel for num_threads(nth) schedule(static) reduction(min : bad)
    for (size_t i = 0; i < count; i++) {
        float *s = scratch + (size_t)omp_get_thread_num() * ((size_t)m->dim_pad + m->dim);
        size_t r = rows ? rows[i] : i;
        const float *row = x->values + r * m->dim;
        if (x->kind != LT_MATRIX_DENSE) { /* CSR input may stop short of the last columns */
            float *buf = s + m->dim_pad;
            memset(buf, 0, (size_t)m->dim * sizeof(float));
            for (size_t p = x->row_ptr[r]; p < x->row_ptr[r + 1]; p++)
                if (x->col_idx[p] < (uint32_t)m->dim) buf[x->col_idx[p]] = x->values[p];
            row = buf;
        }
        for (int j = 0; j < m->dim; j++)
            if (!isfinite(row[j]) && r < bad) bad = r;
        lt_knn__transform_row(m, row, y + i * m->rdim, s);
    }
    free(scratch);
    if (bad != SIZE_MAX)
        return lt_err_set(err, LT_EINVAL, "knn: %s row %zu has a missing or non-finite value", what,
                          bad + 1);
    return 0;
}

static int size_cmp(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* Coarse quantiser and inverted lists: m->points/labels get regrouped by list. */
static int build_ivf(lt_algo_model *m, int nlist, int nprobe, int nth, lt_err *err)
{
    size_t n = m->n, d = (size_t)m->rdim;
    size_t nt = (size_t)nlist * 256 < n ? (size_t)nlist * 256 : n;
    float *tmp = malloc(nt * d * sizeof(float));
    int32_t *assign = malloc(n * sizeof(int32_t));
    float *dots = malloc((size_t)nth * 256 * nlist * sizeof(float));
    float *pts = malloc(n * d * sizeof(float)), *lab = malloc(n * sizeof(float));
    size_t *pick = malloc((n + 1) * sizeof(size_t)); /* (n + 1): also next free slot per list */
    int rc = 0;
    if (!tmp || !assign || !dots || !pts || !lab || !pick) {
        rc = lt_err_set(err, LT_ENOMEM, "knn: out of memory building %d inverted lists", nlist);
        goto done;
    }
    uint64_t s = m->seed * 0x9E3779B97F4A7C15ULL + 3;
    for (size_t i = 0; i < n; i++)
        pick[i] = i;
    for (size_t i = 0; i < nt; i++) {
        size_t j = i + lt_algo__rng_below(&s, n - i), t = pick[i];
        pick[i] = pick[j], pick[j] = t;
        memcpy(tmp + i * d, m->points + pick[i] * d, d * sizeof(float));
    }
    m->nlist = nlist;
    m->nprobe = nprobe;
    m->centroids = lt_xmalloc((size_t)nlist * d * sizeof(float));
    m->cnorms = lt_xmalloc((size_t)nlist * sizeof(float));
    m->list_start = lt_xcalloc((size_t)nlist + 1, sizeof(size_t));
    if (nlist == 1) {
        memset(m->centroids, 0, d * sizeof(float));
    } else {
        lt_kmeans__fit f = {.x = tmp,
                            .n = nt,
                            .dim = (int)d,
                            .k = nlist,
                            .max_iter = 20,
                            .tol = 0,
                            .seed = m->seed,
                            .plusplus = false,
                            .threads = nth};
        if ((rc = lt_kmeans__lloyd(&f, m->centroids, NULL, NULL, err))) goto done;
    }
    lt_knn__norms(m); /* cnorms; point norms are refilled after regrouping */
    bool l2 = m->metric == LT_KNN_L2;
    size_t nblk = (n + 255) / 256;
#pragma omp parallel for num_threads(nth) schedule(static)
    for (size_t b = 0; b < nblk; b++) {
        size_t r0 = b * 256, rows = n - r0 < 256 ? n - r0 : 256;
        float *dt = dots + (size_t)omp_get_thread_num() * 256 * nlist;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, nlist, (int)d, 1.0f,
                    m->points + r0 * d, (int)d, m->centroids, (int)d, 0.0f, dt, nlist);
        for (size_t i = 0; i < rows; i++) {
            int best = 0;
            float bc = INFINITY;
            for (int j = 0; j < nlist; j++) {
                float c = l2 ? m->cnorms[j] - 2.0f * dt[i * nlist + j] : -dt[i * nlist + j];
                if (c < bc) bc = c, best = j;
            }
            assign[r0 + i] = best;
        }
    }
    for (size_t i = 0; i < n; i++)
        m->list_start[assign[i] + 1]++;
    for (int j = 0; j < nlist; j++)
        m->list_start[j + 1] += m->list_start[j];
    for (int j = 0; j <= nlist; j++)
        pick[j] = m->list_start[j]; /* next free slot per list */
    for (size_t i = 0; i < n; i++) {
        size_t at = pick[assign[i]]++;
        memcpy(pts + at * d, m->points + i * d, d * sizeof(float));
        lab[at] = m->labels[i];
    }
    memcpy(m->points, pts, n * d * sizeof(float));
    memcpy(m->labels, lab, n * sizeof(float));
done:
    free(tmp), free(assign), free(dots), free(pts), free(lab), free(pick);
    return rc;
}

static int knn_predict(const lt_algo_model *m, const lt_matrix *x, int threads, double *out,
                       lt_err *err);

static int knn_train(const lt_algo_train_args *args, lt_algo_model **out, lt_err *err)
{
    const json_t *hp = args->hyperparameters;
    int rc = lt_algo_hp_check(knn_hps, hp, err);
    if (rc) return rc;
    int dim = (int)lt_algo_hp_number(knn_hps, hp, "feature_dim");
    int k = (int)lt_algo_hp_number(knn_hps, hp, "k");
    double sample_size = lt_algo_hp_number(knn_hps, hp, "sample_size");
    const char *index = lt_algo_hp_string(knn_hps, hp, "index_type");
    const char *metric = lt_algo_hp_string(knn_hps, hp, "index_metric");
    const char *reduce = lt_algo_hp_string(knn_hps, hp, "dimension_reduction_type");
    int target = (int)lt_algo_hp_number(knn_hps, hp, "dimension_reduction_target");
    double nlist_hp = lt_algo_hp_number(knn_hps, hp, "faiss_index_ivf_nlists");
    double nprobe_hp = lt_algo_hp_number(knn_hps, hp, "faiss_index_nprobe");
    const lt_matrix *x = &args->train->x;
    if (strcmp(index, "faiss.IVFPQ") == 0)
        return lt_err_set(err, LT_EINVAL,
                          "hyperparameter index_type faiss.IVFPQ is not "
                          "implemented by Lathe; use faiss.Flat or faiss.IVFFlat");
    if (x->n_cols != (size_t)dim)
        return lt_err_set(err, LT_EINVAL,
                          "hyperparameter feature_dim=%d does not match the train data's %zu "
                          "columns",
                          dim, x->n_cols);
    if (!args->train->labels)
        return lt_err_set(err, LT_EINVAL,
                          "knn: the train data has no labels (text/csv carries "
                          "the label in the first column)");
    bool reducing = strcmp(reduce, "none") != 0;
    if (reducing && (target < 1 || target > dim))
        return lt_err_set(err, LT_EINVAL,
                          "hyperparameter dimension_reduction_target must be "
                          "between 1 and feature_dim=%d with "
                          "dimension_reduction_type %s, got %d",
                          dim, reduce, target);
    size_t n = x->n_rows;
    size_t ns = sample_size < (double)n ? (size_t)sample_size : n;
    if ((size_t)k > ns)
        return lt_err_set(err, LT_EINVAL,
                          "hyperparameter k=%d exceeds the %zu sampled training "
                          "rows",
                          k, ns);
    bool ivf = strcmp(index, "faiss.IVFFlat") == 0;
    int nlist = 0;
    if (ivf) {
        nlist = isnan(nlist_hp) ? (int)lround(sqrt((double)ns)) : (int)nlist_hp;
        if (nlist < 1) nlist = 1;
        if ((size_t)nlist > ns)
            return lt_err_set(err, LT_EINVAL,
                              "hyperparameter faiss_index_ivf_nlists=%d exceeds "
                              "the %zu sampled training rows",
                              nlist, ns);
    }
    int nprobe = isnan(nprobe_hp) ? (nlist / 8 > 1 ? nlist / 8 : 1) : (int)nprobe_hp;
    if (nprobe > nlist) nprobe = nlist;
    int nth = args->threads > 0 ? args->threads : omp_get_max_threads();

    lt_algo_model *m = lt_xcalloc(1, sizeof *m);
    m->classifier = strcmp(lt_algo_hp_string(knn_hps, hp, "predictor_type"), "classifier") == 0;
    m->k = k;
    m->dim = dim;
    m->rdim = reducing ? target : dim;
    m->metric = strcmp(metric, "L2") == 0              ? LT_KNN_L2
                : strcmp(metric, "INNER_PRODUCT") == 0 ? LT_KNN_INNER_PRODUCT
                                                       : LT_KNN_COSINE;
    m->reduce = !reducing                     ? LT_KNN_REDUCE_NONE
                : strcmp(reduce, "sign") == 0 ? LT_KNN_REDUCE_SIGN
                                              : LT_KNN_REDUCE_FJLT;
    m->seed = (uint64_t)lt_algo_hp_number(knn_hps, hp, "seed");
    lt_knn__reduction_build(m);

    /* sample: a seeded partial Fisher-Yates over row numbers, then back in data order */
    size_t *rows = NULL;
    if (ns < n) {
        rows = malloc(n * sizeof(size_t));
        if (!rows) {
            lt_knn__model_free(m);
            return lt_err_set(err, LT_ENOMEM, "knn: out of memory sampling %zu rows", n);
        }
        uint64_t s = m->seed * 0xD1B54A32D192ED03ULL + 5;
        for (size_t i = 0; i < n; i++)
            rows[i] = i;
        for (size_t i = 0; i < ns; i++) {
            size_t j = i + lt_algo__rng_below(&s, n - i), t = rows[i];
            rows[i] = rows[j], rows[j] = t;
        }
        qsort(rows, ns, sizeof *rows, size_cmp);
    }
    m->n = ns;
    m->points = malloc(ns * m->rdim * sizeof(float) + 1);
    m->labels = malloc(ns * sizeof(float) + 1);
    m->norms = malloc(ns * sizeof(float) + 1);
    if (!m->points || !m->labels || !m->norms) {
        free(rows);
        lt_knn__model_free(m);
        return lt_err_set(err, LT_ENOMEM, "knn: out of memory for %zu x %d index points", ns,
                          m->rdim);
    }
    rc = transform_rows(m, x, rows, ns, nth, m->points, "train", err);
    for (size_t i = 0; i < ns && !rc; i++) {
        size_t r = rows ? rows[i] : i;
        m->labels[i] = args->train->labels[r];
        if (!isfinite(m->labels[i]))
            rc = lt_err_set(err, LT_EINVAL, "knn: train row %zu has a non-finite label", r + 1);
    }
    free(rows);
    if (!rc && ivf) rc = build_ivf(m, nlist, nprobe, nth, err);
    if (rc) {
        lt_knn__model_free(m);
        return rc;
    }
    lt_knn__norms(m);
    /* SageMaker's k-NN reports test:accuracy (classifier) or test:mse (regressor) on the
     * labelled test channel (a validation channel is scored the same way). */
    const lt_dataset *v = args->test ? args->test : args->validation;
    if (v && v->labels && v->x.n_rows > 0 && args->on_metric) {
        size_t nv = v->x.n_rows, w = 1 + 2 * (size_t)k;
        double *pred = malloc(nv * w * sizeof(double));
        if (!pred) rc = lt_err_set(err, LT_ENOMEM, "knn: out of memory scoring the test data");
        if (!rc) rc = knn_predict(m, &v->x, nth, pred, err);
        if (!rc) {
            double acc = 0;
            for (size_t i = 0; i < nv; i++) {
                double e = pred[i * w] - v->labels[i];
                acc += m->classifier ? (e == 0) : e * e;
            }
            /* SageMaker's k-NN log line ("SAMPLE OUTPUT", AWS developer guide), then ours. */
            if (args->on_log) {
                char line[96];
                snprintf(line, sizeof line, "#test_score (algo-1) : ('%s', %.17g)",
                         m->classifier ? "accuracy" : "mse", acc / (double)nv);
                args->on_log(args->metric_ctx, line);
            }
            args->on_metric(args->metric_ctx, m->classifier ? "test:accuracy" : "test:mse",
                            acc / (double)nv, -1);
        }
        free(pred);
        if (rc) {
            lt_knn__model_free(m);
            return rc;
        }
    }
    *out = m;
    return 0;
}

static size_t knn_output_width(const lt_algo_model *m)
{
    return 1 + 2 * (size_t)m->k;
}

/* Each row: predicted label, then the k neighbours' labels, then their distances. */
static int knn_predict(const lt_algo_model *m, const lt_matrix *x, int threads, double *out,
                       lt_err *err)
{
    if (x->kind == LT_MATRIX_DENSE ? x->n_cols != (size_t)m->dim : x->n_cols > (size_t)m->dim)
        return lt_err_set(err, LT_EINVAL, "knn: input has %zu columns, the model expects %d",
                          x->n_cols, m->dim);
    int nth = threads > 0 ? threads : omp_get_max_threads();
    size_t nq = x->n_rows, k = (size_t)m->k;
    float *q = malloc(nq * m->rdim * sizeof(float) + 1);
    float *dist = malloc(nq * k * sizeof(float) + 1);
    int32_t *idx = malloc(nq * k * sizeof(int32_t) + 1);
    float *vs = malloc((size_t)nth * 2 * k * sizeof(float));
    int rc = 0;
    if (!q || !dist || !idx || !vs)
        rc = lt_err_set(err, LT_ENOMEM, "knn: out of memory for %zu queries", nq);
    if (!rc) rc = transform_rows(m, x, NULL, nq, nth, q, "input", err);
    if (!rc) rc = lt_knn__search(m, q, nq, nth, idx, dist, err);
    if (!rc) {
#pragma omp parallel for num_threads(nth) schedule(static)
        for (size_t i = 0; i < nq; i++) {
            double *o = out + i * (1 + 2 * k);
            const int32_t *ii = idx + i * k;
            const float *di = dist + i * k;
            o[0] = lt_knn__vote(m, ii, di, vs + (size_t)omp_get_thread_num() * 2 * k);
            for (size_t j = 0; j < k; j++) {
                o[1 + j] = ii[j] >= 0 ? m->labels[ii[j]] : 0;
                o[1 + k + j] = ii[j] >= 0 ? di[j] : 0;
            }
        }
    }
    free(q), free(dist), free(idx), free(vs);
    return rc;
}

static const char *const knn_images[] = {"k-nn", "kNN", NULL};
static const char *const knn_content_types[] = {"text/csv", "text/libsvm", "application/jsonlines",
                                                "application/x-recordio-protobuf", NULL};
static const char *const knn_metrics[] = {"test:accuracy", "test:mse", NULL};

const lt_algo lt_algo__knn = {
    .name = "knn",
    .image_names = knn_images,
    .hyperparameters = knn_hps,
    .content_types = knn_content_types,
    .metrics = knn_metrics,
    .train = knn_train,
    .save = lt_knn__save,
    .load = lt_knn__load,
    .output_width = knn_output_width,
    .predict = knn_predict,
    .format_json = lt_knn__format_json,
    .free = lt_knn__model_free,
    .format_json_verbose = lt_knn__format_json_verbose,
    .format_csv = lt_knn__format_csv,
};
