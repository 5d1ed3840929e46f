/* k-NN search, faiss-style: a flat index scans every point, an IVF index (Jegou, Douze &
 * Schmid, "Product quantization for nearest neighbor search", 2011, section 4: the
 * inverted file with a k-means coarse quantiser, here without the PQ codes, which is
 * faiss's IndexIVFFlat) scans the nprobe lists whose centroids are nearest.
 *
 * Ranking works on a cost, smaller better: ||p||^2 - 2 q.p for L2 (||q||^2 is the same for
 * every p of one query) and -q.p for inner product and cosine (rows already unit length).
 * Dot products come from cblas_sgemm over (query block, point block) tiles; the k winners'
 * distances are then recomputed directly, so reported distances carry no cancellation. */
#include "algo/knn/knn.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

enum { QB = 64, PB = 1024 };

/* Inserts (c, id) into the sorted top list (cost, idx) of length k; equal costs keep the
 * earlier entry first, so ties go to the smaller index when points arrive in order. */
static inline void topk_push(float *cost, int32_t *idx, int k, float c, int32_t id)
{
    if (!(c < cost[k - 1])) return;
    int j = k - 1;
    while (j > 0 && cost[j - 1] > c) {
        cost[j] = cost[j - 1];
        idx[j] = idx[j - 1];
        j--;
    }
    cost[j] = c;
    idx[j] = id;
}

static void topk_clear(float *cost, int32_t *idx, int k)
{
    for (int j = 0; j < k; j++)
        cost[j] = INFINITY, idx[j] = -1;
}

/* The reported distance of point p to query q, computed directly. */
static float exact_distance(const lt_algo_model *m, const float *q, int32_t p)
{
    const float *x = m->points + (size_t)p * m->rdim;
    double s = 0;
    if (m->metric == LT_KNN_L2) {
        for (int j = 0; j < m->rdim; j++) {
            double t = (double)q[j] - x[j];
            s += t * t;
        }
    } else {
        for (int j = 0; j < m->rdim; j++)
            s += (double)q[j] * x[j];
    }
    return (float)s;
}

/* Orders neighbours best first: smaller distance (larger similarity), then smaller index;
 * absent ones (-1) last. */
static bool ranks_before(bool sim, float da, int32_t ia, float db, int32_t ib)
{
    if (ia < 0 || ib < 0) return ib < 0 && ia >= 0;
    if (da != db) return sim ? da > db : da < db;
    return ia < ib;
}

/* Replaces the k costs by exact distances and re-sorts. */
static void finish(const lt_algo_model *m, const float *q, int32_t *idx, float *dist)
{
    int k = m->k;
    bool sim = m->metric != LT_KNN_L2;
    for (int j = 0; j < k; j++)
        dist[j] = idx[j] < 0 ? 0 : exact_distance(m, q, idx[j]);
    for (int a = 1; a < k; a++) { /* insertion sort: k is small and the list nearly sorted */
        float d = dist[a];
        int32_t i = idx[a];
        int b = a;
        while (b > 0 && ranks_before(sim, d, i, dist[b - 1], idx[b - 1])) {
            dist[b] = dist[b - 1], idx[b] = idx[b - 1];
            b--;
        }
        dist[b] = d, idx[b] = i;
    }
}

/* Scans points [p0, p1) for queries q (nq <= QB) into their top lists; dots is (QB, PB). */
static void scan_range(const lt_algo_model *m, const float *q, size_t nq, size_t p0, size_t p1,
                       float *dots, float *cost, int32_t *idx)
{
    int d = m->rdim, k = m->k;
    bool l2 = m->metric == LT_KNN_L2;
    for (size_t b = p0; b < p1; b += PB) {
        size_t np = p1 - b < PB ? p1 - b : PB;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nq, (int)np, d, 1.0f, q, d,
                    m->points + b * d, d, 0.0f, dots, (int)np);
        for (size_t i = 0; i < nq; i++) {
            const float *di = dots + i * np;
            float *ci = cost + i * k;
            int32_t *ii = idx + i * k;
            for (size_t j = 0; j < np; j++) {
                float c = l2 ? m->norms[b + j] - 2.0f * di[j] : -di[j];
                if (c < ci[k - 1]) topk_push(ci, ii, k, c, (int32_t)(b + j));
            }
        }
    }
}

typedef struct probe {
    float cost;
    int32_t list;
} probe;

static int probe_cmp(const void *a, const void *b)
{
    const probe *x = a, *y = b;
    if (x->cost != y->cost) return x->cost < y->cost ? -1 : 1;
    return x->list - y->list;
}

int lt_knn__search(const lt_algo_model *m, const float *q, size_t nq, int threads, int32_t *idx,
                   float *dist, lt_err *err)
{
    int nth = threads > 0 ? threads : omp_get_max_threads();
    int d = m->rdim, k = m->k, nl = m->nlist;
    size_t per = (size_t)QB * PB + (size_t)QB * (nl > 0 ? nl : 1);
    float *scratch = malloc((size_t)nth * per * sizeof(float));
    probe *probes = malloc((size_t)nth * (nl > 0 ? nl : 1) * sizeof(probe));
    if (!scratch || !probes) {
        free(scratch), free(probes);
        return lt_err_set(err, LT_ENOMEM, "knn: out of memory for search scratch");
    }
    size_t nblk = (nq + QB - 1) / QB;
    bool l2 = m->metric == LT_KNN_L2;
#pragma omp parallel for num_threads(nth) schedule(dynamic, 1)
    for (size_t b = 0; b < nblk; b++) {
        int t = omp_get_thread_num();
        float *dots = scratch + (size_t)t * per, *cdots = dots + (size_t)QB * PB;
        probe *pr = probes + (size_t)t * (nl > 0 ? nl : 1);
        size_t q0 = b * QB, nb = nq - q0 < QB ? nq - q0 : QB;
        const float *qb = q + q0 * d;
        float *cost = dist + q0 * k;
        int32_t *ib = idx + q0 * k;
        for (size_t i = 0; i < nb; i++)
            topk_clear(cost + i * k, ib + i * k, k);
        if (nl == 0) {
            scan_range(m, qb, nb, 0, m->n, dots, cost, ib);
        } else {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, nl, d, 1.0f, qb, d,
                        m->centroids, d, 0.0f, cdots, nl);
            for (size_t i = 0; i < nb; i++) {
                for (int j = 0; j < nl; j++) {
                    float dt = cdots[i * nl + j];
                    pr[j].cost = l2 ? m->cnorms[j] - 2.0f * dt : -dt;
                    pr[j].list = j;
                }
                qsort(pr, (size_t)nl, sizeof *pr, probe_cmp);
                /* nprobe lists, and more while fewer than k points have been seen */
                size_t seen = 0;
                for (int j = 0; j < nl && (j < m->nprobe || seen < (size_t)k); j++) {
                    size_t s = m->list_start[pr[j].list], e = m->list_start[pr[j].list + 1];
                    scan_range(m, qb + i * d, 1, s, e, dots, cost + i * k, ib + i * k);
                    seen += e - s;
                }
            }
        }
        for (size_t i = 0; i < nb; i++)
            finish(m, qb + i * d, ib + i * k, cost + i * k);
    }
    free(scratch), free(probes);
    return 0;
}

void lt_knn__search_scalar(const lt_algo_model *m, const float *q, size_t nq, int32_t *idx,
                           float *dist)
{
    int k = m->k;
    bool sim = m->metric != LT_KNN_L2;
    for (size_t i = 0; i < nq; i++) {
        float *c = dist + i * k;
        int32_t *ii = idx + i * k;
        topk_clear(c, ii, k);
        for (size_t p = 0; p < m->n; p++) {
            float e = exact_distance(m, q + i * m->rdim, (int32_t)p);
            topk_push(c, ii, k, sim ? -e : e, (int32_t)p);
        }
        for (int j = 0; j < k; j++)
            if (sim) c[j] = -c[j];
    }
}

static int label_cmp(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

double lt_knn__vote(const lt_algo_model *m, const int32_t *idx, const float *dist, float *scratch)
{
    int k = m->k, found = 0;
    if (!m->classifier) {
        double s = 0;
        for (int j = 0; j < k; j++)
            if (idx[j] >= 0) s += m->labels[idx[j]], found++;
        return found ? s / found : 0;
    }
    /* pairs (label, distance) sorted by label, then runs counted */
    float *pairs = scratch; /* (k, 2) */
    for (int j = 0; j < k; j++)
        if (idx[j] >= 0) {
            pairs[2 * found] = m->labels[idx[j]];
            pairs[2 * found + 1] = dist[j];
            found++;
        }
    qsort(pairs, (size_t)found, 2 * sizeof(float), label_cmp);
    bool sim = m->metric != LT_KNN_L2;
    double best_label = 0, best_sum = 0;
    int best_count = 0;
    for (int a = 0; a < found;) {
        int b = a;
        double sum = 0;
        while (b < found && pairs[2 * b] == pairs[2 * a])
            sum += pairs[2 * b + 1], b++;
        int count = b - a;
        bool better =
            count > best_count || (count == best_count && (sim ? sum > best_sum : sum < best_sum));
        if (better) best_label = pairs[2 * a], best_count = count, best_sum = sum;
        a = b;
    }
    return best_label;
}
