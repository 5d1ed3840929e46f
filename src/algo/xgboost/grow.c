/* One regression tree from gradient histograms, as XGBoost 1.7's hist updater grows it
 * (src/tree/updater_quantile_hist.cc, hist/evaluate_splits.h, hist/expand_entry.h):
 *
 * - a node's histogram sums (grad, hess) per bin in double; of two siblings only the one
 *   with fewer rows is built, the other is parent - sibling;
 * - the split search scans each feature's bins forward (missing values go right) and,
 *   when the node has missing values, backward (missing go left); loss_chg =
 *   gain(L) + gain(R) - gain(parent) with XGBoost's CalcGain, kept only if both sides
 *   reach min_child_weight; ties keep the earlier candidate (lower feature, forward first);
 * - a split is taken when loss_chg > 1e-6, loss_chg >= gamma, both hessians are nonzero,
 *   the node is above max_depth and max_leaves is not reached;
 * - depthwise expands a whole level at a time; lossguide expands the open leaf with the
 *   largest loss_chg (ties: lower node id);
 * - node ids are given in expansion order (left = n, right = n + 1), leaves hold
 *   eta * weight, base_weights hold the weight.
 *
 * Histograms are built a row at a time over all features (the bin matrix is row-major,
 * one byte per value when the bins fit, so a row is one cache line at most): a node's
 * rows are cut into fixed blocks, threads take blocks into private buffers, and the
 * blocks are added in block order. Split search runs by (node, feature). Both merge in a
 * fixed order, so a tree depends on the data and the parameters, never on the thread
 * count. Gradient pairs are copied once per tree into one interleaved (grad, hess) float
 * array, so a row's pair is one load. Rows of a node are a contiguous range of one index
 * array, partitioned stably (and without branches) at each split. */
#include "algo/xgboost/xgboost.h"

#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define RT_EPS 1e-6
#define HIST_CAP_BYTES ((size_t)4 << 30)

typedef struct node {
    size_t begin, end; /* rows[begin, end) */
    double g, h;
    int depth, left, right, parent;
    double *hist; /* (2 * n_slots) or NULL */
    lt_xgb_split split;
    bool evaluated;
} node;

/* One block of one node's rows, summed into buf (the node's own histogram for block 0). */
typedef struct hist_task {
    int node;
    size_t begin, end;
    double *buf;
} hist_task;

/* A chunk of one node's rows to partition: its left and right counts, then where they go. */
typedef struct part_task {
    int node; /* index into the ids being split */
    size_t begin, end, n_left, n_right, to_left, to_right;
} part_task;

typedef struct eval_task {
    int node, feature;
} eval_task;

struct lt_xgb_grower {
    const lt_xgb_hist *h;
    lt_xgb_grow_params p;
    int threads;
    size_t n_rows, n_slots;
    int n_feat;
    uint32_t *rows, *tmp, *tmp2; /* (n_rows) */
    float *gpair;                /* (n_rows, 2) grad, hess of the tree being grown */
    size_t blk_rows;             /* rows per histogram block */
    double *parts;               /* (cap_parts, 2 * n_slots) partial block histograms */
    size_t cap_parts;
    node *nodes;
    int n_nodes, cap_nodes;
    double **pool; /* free histogram buffers */
    int n_pool, cap_pool;
    size_t hist_bytes_out; /* histograms handed out */
    /* per-call scratch, grown on demand and kept */
    hist_task *htasks;
    int cap_htasks;
    struct part_task *ptasks;
    int cap_ptasks;
    eval_task *etasks;
    lt_xgb_split *ebest;
    int cap_etasks;
    int *feats; /* (cap_feats) candidate features per evaluated node */
    int *n_feats_of;
    size_t cap_feats;
    int cap_feats_nodes;
    int *level_feats;
    int n_level_feats;
};

/* ---- XGBoost's gain and weight (src/tree/param.h) --------------------------------- */

static double threshold_l1(double w, double alpha)
{
    if (w > alpha) return w - alpha;
    if (w < -alpha) return w + alpha;
    return 0.0;
}

double lt_xgb__calc_weight(const lt_xgb_grow_params *p, double g, double h)
{
    if (h < p->min_child_weight || h <= 0.0) return 0.0;
    double dw = -threshold_l1(g, p->alpha) / (h + p->lambda);
    if (p->max_delta_step != 0.0 && fabs(dw) > p->max_delta_step)
        dw = copysign(p->max_delta_step, dw);
    return dw;
}

double lt_xgb__calc_gain(const lt_xgb_grow_params *p, double g, double h)
{
    if (h < p->min_child_weight || h <= 0.0) return 0.0;
    if (p->max_delta_step == 0.0) {
        double t = p->alpha == 0.0 ? g : threshold_l1(g, p->alpha);
        return t * t / (h + p->lambda);
    }
    double w = lt_xgb__calc_weight(p, g, h);
    double ret = -(2.0 * g * w + (h + p->lambda) * w * w);
    return p->alpha == 0.0 ? ret : ret + p->alpha * fabs(w);
}

/* ---- split search ------------------------------------------------------------------ */

static void consider(lt_xgb_split *best, double loss, int f, int bin, float cond, bool dl,
                     double gl, double hl, double gr, double hr)
{
    if (!isfinite(loss) || !(loss > best->loss_chg)) return;
    *best = (lt_xgb_split){.loss_chg = loss,
                           .feature = f,
                           .bin = bin,
                           .cond = cond,
                           .default_left = dl,
                           .gl = gl,
                           .hl = hl,
                           .gr = gr,
                           .hr = hr};
}

/* Best split on one feature; best starts with loss_chg 0, feature -1. */
static void feature_best(const lt_xgb_hist *h, const lt_xgb_grow_params *p, const double *hist,
                         double g, double hs, int f, lt_xgb_split *best)
{
    const double mcw = p->min_child_weight;
    const double root_gain = lt_xgb__calc_gain(p, g, hs);
    const uint32_t s = h->slot[f], nb = h->ptr[f + 1] - h->ptr[f];
    const float *cut = h->cuts + h->ptr[f];
    double gl = 0, hl = 0;
    for (uint32_t b = 0; b < nb; b++) {
        gl += hist[2 * (s + b)], hl += hist[2 * (s + b) + 1];
        if (hl < mcw) continue;
        double gr = g - gl, hr = hs - hl;
        if (hr < mcw) continue;
        float loss =
            (float)(lt_xgb__calc_gain(p, gl, hl) + lt_xgb__calc_gain(p, gr, hr) - root_gain);
        consider(best, loss, f, (int)b, cut[b], false, gl, hl, gr, hr);
    }
    const double *miss = hist + 2 * (s + nb);
    if (miss[0] == 0.0 && miss[1] == 0.0) return;
    double gr = 0, hr = 0;
    for (int b = (int)nb - 1; b >= 0; b--) {
        gr += hist[2 * (s + (uint32_t)b)], hr += hist[2 * (s + (uint32_t)b) + 1];
        if (hr < mcw) continue;
        double gl2 = g - gr, hl2 = hs - hr;
        if (hl2 < mcw) continue;
        float loss =
            (float)(lt_xgb__calc_gain(p, gl2, hl2) + lt_xgb__calc_gain(p, gr, hr) - root_gain);
        float cond = b == 0 ? h->min_vals[f] : cut[b - 1];
        consider(best, loss, f, b - 1, cond, true, gl2, hl2, gr, hr);
    }
}

static void split_none(lt_xgb_split *s)
{
    memset(s, 0, sizeof *s);
    s->feature = -1;
}

void lt_xgb__split_find(const lt_xgb_hist *h, const lt_xgb_grow_params *p, const double *hist,
                        double g, double hs, const int *features, int n_feat, lt_xgb_split *best)
{
    split_none(best);
    for (int i = 0; i < n_feat; i++) {
        lt_xgb_split fb;
        split_none(&fb);
        feature_best(h, p, hist, g, hs, features[i], &fb);
        if (fb.feature >= 0 && fb.loss_chg > best->loss_chg) *best = fb;
    }
}

/* ---- buffers ----------------------------------------------------------------------- */

lt_xgb_grower *lt_xgb__grower_new(const lt_xgb_hist *h, const lt_xgb_grow_params *p, int threads)
{
    lt_xgb_grower *g = lt_xcalloc(1, sizeof *g);
    g->h = h;
    g->p = *p;
    g->threads = threads > 0 ? threads : 1;
    g->n_rows = h->n_rows;
    g->n_feat = h->n_features;
    g->n_slots = h->slot[h->n_features];
    g->rows = lt_xmalloc(sizeof(uint32_t) * (g->n_rows + 1));
    g->tmp = lt_xmalloc(sizeof(uint32_t) * (g->n_rows + 1));
    g->tmp2 = lt_xmalloc(sizeof(uint32_t) * (g->n_rows + 1));
    g->gpair = lt_xmalloc(sizeof(float) * 2 * (g->n_rows + 1));
    /* Blocks of at least 16384 rows, and few enough that the root's partial histograms
     * stay under 64 MiB whatever the feature count. Fixed by the data's shape. */
    size_t hist_bytes = sizeof(double) * 2 * (g->n_slots + 1);
    size_t max_parts = ((size_t)64 << 20) / hist_bytes;
    if (max_parts < 2) max_parts = 2;
    g->blk_rows = (g->n_rows + max_parts - 1) / max_parts;
    if (g->blk_rows < 16384) g->blk_rows = 16384;
    g->level_feats = lt_xmalloc(sizeof(int) * ((size_t)g->n_feat + 1));
    return g;
}

void lt_xgb__grower_free(lt_xgb_grower *g)
{
    if (!g) return;
    for (int i = 0; i < g->n_nodes; i++)
        free(g->nodes[i].hist);
    for (int i = 0; i < g->n_pool; i++)
        free(g->pool[i]);
    free(g->pool);
    free(g->nodes);
    free(g->rows);
    free(g->tmp);
    free(g->tmp2);
    free(g->gpair);
    free(g->parts);
    free(g->htasks);
    free(g->ptasks);
    free(g->etasks);
    free(g->ebest);
    free(g->feats);
    free(g->n_feats_of);
    free(g->level_feats);
    free(g);
}

static double *hist_get(lt_xgb_grower *g)
{
    if (g->n_pool) return g->pool[--g->n_pool];
    g->hist_bytes_out += sizeof(double) * 2 * g->n_slots;
    return lt_xmalloc(sizeof(double) * 2 * (g->n_slots + 1));
}

static void hist_put(lt_xgb_grower *g, double *hist)
{
    if (!hist) return;
    if (g->n_pool == g->cap_pool) {
        g->cap_pool = g->cap_pool ? 2 * g->cap_pool : 16;
        g->pool = lt_xrealloc(g->pool, sizeof(double *) * (size_t)g->cap_pool);
    }
    g->pool[g->n_pool++] = hist;
}

static int node_new(lt_xgb_grower *g, int parent, int depth, size_t begin, size_t end, double gs,
                    double hs)
{
    if (g->n_nodes == g->cap_nodes) {
        g->cap_nodes = g->cap_nodes ? 2 * g->cap_nodes : 64;
        g->nodes = lt_xrealloc(g->nodes, sizeof(node) * (size_t)g->cap_nodes);
    }
    node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->begin = begin, n->end = end, n->g = gs, n->h = hs, n->depth = depth;
    n->left = n->right = -1, n->parent = parent;
    split_none(&n->split);
    return g->n_nodes++;
}

/* splitmix64 */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Keeps max(1, floor(n * frac)) of the n features in list (in increasing order), drawn
 * with the given seed. */
static int sample_features(int *list, int n, double frac, uint64_t seed)
{
    if (frac >= 1.0 || n <= 1) return n;
    int k = (int)((double)n * frac);
    if (k < 1) k = 1;
    uint64_t s = seed;
    for (int i = 0; i < k; i++) {
        int j = i + (int)(rng_next(&s) % (uint64_t)(n - i));
        int t = list[i];
        list[i] = list[j], list[j] = t;
    }
    for (int i = 1; i < k; i++) /* insertion sort: k is a feature count */
        for (int j = i; j > 0 && list[j - 1] > list[j]; j--) {
            int t = list[j];
            list[j] = list[j - 1], list[j - 1] = t;
        }
    return k;
}

/* ---- histograms -------------------------------------------------------------------- */

/* Sums the gradient pairs of rows[begin, end) into hist (2 * n_slots doubles, cleared
 * here): each row adds its pair to one slot per feature. Two rows go through the features
 * together, sharing each feature's slot offset and giving the core two independent
 * read-add-write chains (the two updates stay in order, so a shared bin is still summed
 * right). Below the root a node's rows are scattered over the bin matrix, so rows a few
 * ahead are fetched early (XGBoost's row-wise kernel does the same). */
#define BUILD_ROWS(T, bins)                                                                        \
    size_t i = begin;                                                                              \
    for (; i + 1 < end; i += 2) {                                                                  \
        if (i + 1 < stop) {                                                                        \
            uint32_t p0 = rows[i + ahead], p1 = rows[i + 1 + ahead];                               \
            __builtin_prefetch(bins + (size_t)p0 * F);                                             \
            __builtin_prefetch(gpair + 2 * (size_t)p0);                                            \
            __builtin_prefetch(bins + (size_t)p1 * F);                                             \
            __builtin_prefetch(gpair + 2 * (size_t)p1);                                            \
        }                                                                                          \
        uint32_t r0 = rows[i], r1 = rows[i + 1];                                                   \
        double g0 = gpair[2 * (size_t)r0], h0 = gpair[2 * (size_t)r0 + 1];                         \
        double g1 = gpair[2 * (size_t)r1], h1 = gpair[2 * (size_t)r1 + 1];                         \
        const T *b0 = bins + (size_t)r0 * F, *b1 = bins + (size_t)r1 * F;                          \
        for (size_t f = 0; f < F; f++) {                                                           \
            double *base = hist + 2 * (size_t)slot[f];                                             \
            double *s0 = base + 2 * (size_t)b0[f], *s1 = base + 2 * (size_t)b1[f];                 \
            s0[0] += g0;                                                                           \
            s0[1] += h0;                                                                           \
            s1[0] += g1;                                                                           \
            s1[1] += h1;                                                                           \
        }                                                                                          \
    }                                                                                              \
    for (; i < end; i++) {                                                                         \
        uint32_t r = rows[i];                                                                      \
        double gg = gpair[2 * (size_t)r], hh = gpair[2 * (size_t)r + 1];                           \
        const T *b = bins + (size_t)r * F;                                                         \
        for (size_t f = 0; f < F; f++) {                                                           \
            double *s = hist + 2 * ((size_t)slot[f] + b[f]);                                       \
            s[0] += gg;                                                                            \
            s[1] += hh;                                                                            \
        }                                                                                          \
    }

static void build_rows(const lt_xgb_grower *g, size_t begin, size_t end, double *hist)
{
    memset(hist, 0, sizeof(double) * 2 * g->n_slots);
    const uint32_t *slot = g->h->slot, *rows = g->rows;
    const float *gpair = g->gpair;
    const size_t F = (size_t)g->n_feat;
    const size_t ahead = 16, stop = end > ahead ? end - ahead : 0;
    if (g->h->bins8) {
        const uint8_t *bins = g->h->bins8;
        BUILD_ROWS(uint8_t, bins)
    } else {
        const uint16_t *bins = g->h->bins16;
        BUILD_ROWS(uint16_t, bins)
    }
}

static void ensure_htasks(lt_xgb_grower *g, int need)
{
    if (need <= g->cap_htasks) return;
    g->cap_htasks = need * 2;
    g->htasks = lt_xrealloc(g->htasks, sizeof(hist_task) * (size_t)g->cap_htasks);
}

/* Builds the histograms of nodes ids[0..k) (each already holding a buffer). Each node's
 * rows are cut into blocks of blk_rows; threads take blocks (all features of a row at
 * once, so the bin matrix is read once per level), each into its own buffer, and the
 * blocks are then added in block order: the same sums at any thread count. */
static void build_hists(lt_xgb_grower *g, const int *ids, int k)
{
    size_t total = 0, n_parts = 0;
    int nt = 0;
    for (int i = 0; i < k; i++) {
        size_t rows = g->nodes[ids[i]].end - g->nodes[ids[i]].begin;
        size_t blocks = rows > g->blk_rows ? (rows + g->blk_rows - 1) / g->blk_rows : 1;
        nt += (int)blocks;
        n_parts += blocks - 1;
        total += rows;
    }
    const size_t len = 2 * g->n_slots;
    if (n_parts > g->cap_parts) {
        free(g->parts);
        g->cap_parts = n_parts;
        g->parts = lt_xmalloc(sizeof(double) * len * n_parts);
    }
    ensure_htasks(g, nt + 1);
    nt = 0;
    size_t part = 0;
    for (int i = 0; i < k; i++) {
        const node *n = &g->nodes[ids[i]];
        size_t b = n->begin;
        do {
            size_t e = n->end - b > g->blk_rows ? b + g->blk_rows : n->end;
            double *buf = b == n->begin ? n->hist : g->parts + len * part++;
            g->htasks[nt++] = (hist_task){ids[i], b, e, buf};
            b = e;
        } while (b < n->end);
    }
    /* Small levels run on the calling thread: a parallel region costs more than it saves,
     * and on a shared machine every barrier waits for the slowest thread to be scheduled
     * (the thresholds here and below keep the sync points to the phases that need them). */
#pragma omp parallel num_threads(g->threads) if (total > 16384)
    {
#pragma omp for schedule(dynamic, 1)
        for (int t = 0; t < nt; t++)
            build_rows(g, g->htasks[t].begin, g->htasks[t].end, g->htasks[t].buf);
        if (n_parts > 0) {
            /* Reduce: slices of 4096 values of each node with partial blocks. */
            const size_t slice = 4096, n_slices = (len + slice - 1) / slice;
#pragma omp for schedule(dynamic, 1)
            for (size_t q = 0; q < (size_t)k * n_slices; q++) {
                int i = (int)(q / n_slices);
                size_t s0 = (q % n_slices) * slice, s1 = s0 + slice < len ? s0 + slice : len;
                int t0 = 0;
                while (g->htasks[t0].node != ids[i])
                    t0++;
                double *dst = g->htasks[t0].buf;
                for (int t = t0 + 1; t < nt && g->htasks[t].node == ids[i]; t++) {
                    const double *src = g->htasks[t].buf;
                    for (size_t v = s0; v < s1; v++)
                        dst[v] += src[v];
                }
            }
        }
    }
}

/* ---- split evaluation -------------------------------------------------------------- */

/* Evaluates nodes ids[0..k): per node a feature list (by-node sampling of the level's
 * features), then one task per (node, feature), merged in feature order. */
static void evaluate(lt_xgb_grower *g, const int *ids, int k, uint64_t seed)
{
    int F = g->n_feat, L = g->n_level_feats;
    if ((size_t)k * (size_t)L > g->cap_feats) {
        g->cap_feats = (size_t)k * (size_t)L * 2;
        g->feats = lt_xrealloc(g->feats, sizeof(int) * g->cap_feats);
        g->etasks = lt_xrealloc(g->etasks, sizeof(eval_task) * g->cap_feats);
        g->ebest = lt_xrealloc(g->ebest, sizeof(lt_xgb_split) * g->cap_feats);
    }
    if (k > g->cap_feats_nodes) {
        g->cap_feats_nodes = 2 * k;
        g->n_feats_of = lt_xrealloc(g->n_feats_of, sizeof(int) * (size_t)g->cap_feats_nodes);
    }
    (void)F;
    int nt = 0;
    for (int i = 0; i < k; i++) {
        int *list = g->feats + (size_t)i * (size_t)L;
        memcpy(list, g->level_feats, sizeof(int) * (size_t)L);
        int n = sample_features(list, L, g->p.colsample_bynode,
                                seed ^ ((uint64_t)ids[i] * 0x9E3779B97F4A7C15ULL));
        g->n_feats_of[i] = n;
        for (int j = 0; j < n; j++)
            g->etasks[nt++] = (eval_task){i, list[j]};
    }
#pragma omp parallel for num_threads(g->threads) schedule(dynamic, 4) if (nt > 512)
    for (int t = 0; t < nt; t++) {
        const node *n = &g->nodes[ids[g->etasks[t].node]];
        split_none(&g->ebest[t]);
        feature_best(g->h, &g->p, n->hist, n->g, n->h, g->etasks[t].feature, &g->ebest[t]);
    }
    int t = 0;
    for (int i = 0; i < k; i++) {
        node *n = &g->nodes[ids[i]];
        split_none(&n->split);
        for (int j = 0; j < g->n_feats_of[i]; j++, t++)
            if (g->ebest[t].feature >= 0 && g->ebest[t].loss_chg > n->split.loss_chg)
                n->split = g->ebest[t];
        n->evaluated = true;
    }
}

static bool split_valid(const lt_xgb_grower *g, const node *n, int n_leaves)
{
    const lt_xgb_split *s = &n->split;
    if (!n->evaluated || s->feature < 0) return false;
    if (s->loss_chg <= RT_EPS) return false;
    if (s->hl == 0 || s->hr == 0) return false;
    if (s->loss_chg < g->p.gamma) return false;
    if (g->p.max_depth > 0 && n->depth >= g->p.max_depth) return false;
    if (g->p.max_leaves > 0 && n_leaves >= g->p.max_leaves) return false;
    return true;
}

/* Sends rows[t->begin, t->end) of a node left or right by its split, stably, into tmp
 * (left) and tmp2 (right) at the same offsets. */
#define PARTITION_ROWS(at)                                                                         \
    for (size_t i = t->begin; i < t->end; i++) {                                                   \
        if (i < stop) __builtin_prefetch(&at(rows[i + ahead]));                                    \
        uint32_t row = rows[i];                                                                    \
        int b = at(row);                                                                           \
        size_t left = b == miss ? dl : b <= sb;                                                    \
        /* both stores, one kept: no branch to mispredict on a random split */                     \
        l[nl] = row;                                                                               \
        r[nr] = row;                                                                               \
        nl += left;                                                                                \
        nr += 1 - left;                                                                            \
    }

static void partition_chunk(lt_xgb_grower *g, const lt_xgb_split *s, part_task *t)
{
    const size_t F = (size_t)g->n_feat;
    const int f = s->feature, sb = s->bin;
    const int miss = (int)(g->h->ptr[f + 1] - g->h->ptr[f]);
    const bool dl = s->default_left;
    const uint32_t *rows = g->rows;
    uint32_t *l = g->tmp + t->begin, *r = g->tmp2 + t->begin;
    size_t nl = 0, nr = 0;
    const size_t ahead = 32, stop = t->end > ahead ? t->end - ahead : 0;
    if (g->h->cols8) {
        const uint8_t *col = g->h->cols8 + (size_t)f * g->n_rows;
#define COL_AT(q) col[q]
        PARTITION_ROWS(COL_AT)
#undef COL_AT
    } else {
        const uint16_t *bins = g->h->bins16;
#define ROW_AT(q) bins[(size_t)(q)*F + (size_t)f]
        PARTITION_ROWS(ROW_AT)
#undef ROW_AT
    }
    t->n_left = nl, t->n_right = nr;
}

#define PART_CHUNK 16384

/* Stable partition of the rows of nodes ids[0..k) in chunks over threads; n_left[i]
 * gets the size of node i's left part. */
static void partition(lt_xgb_grower *g, const int *ids, int k, size_t *n_left)
{
    int nt = 0;
    size_t total = 0;
    for (int i = 0; i < k; i++) {
        size_t rows = g->nodes[ids[i]].end - g->nodes[ids[i]].begin;
        nt += (int)((rows + PART_CHUNK - 1) / PART_CHUNK) + (rows == 0);
        total += rows;
    }
    if (nt > g->cap_ptasks) {
        g->cap_ptasks = 2 * nt;
        g->ptasks = lt_xrealloc(g->ptasks, sizeof(part_task) * (size_t)g->cap_ptasks);
    }
    nt = 0;
    for (int i = 0; i < k; i++) {
        const node *n = &g->nodes[ids[i]];
        size_t b = n->begin;
        do {
            size_t e = n->end - b > PART_CHUNK ? b + PART_CHUNK : n->end;
            g->ptasks[nt++] = (part_task){.node = i, .begin = b, .end = e};
            b = e;
        } while (b < n->end);
    }
#pragma omp parallel for num_threads(g->threads) schedule(dynamic, 1) if (total > 131072)
    for (int t = 0; t < nt; t++)
        partition_chunk(g, &g->nodes[ids[g->ptasks[t].node]].split, &g->ptasks[t]);
    for (int t = 0, i = 0; i < k; i++) {
        int t0 = t;
        size_t to = g->nodes[ids[i]].begin;
        for (; t < nt && g->ptasks[t].node == i; t++)
            g->ptasks[t].to_left = to, to += g->ptasks[t].n_left;
        n_left[i] = to - g->nodes[ids[i]].begin;
        for (int q = t0; q < t; q++)
            g->ptasks[q].to_right = to, to += g->ptasks[q].n_right;
    }
#pragma omp parallel for num_threads(g->threads) schedule(dynamic, 1) if (total > 131072)
    for (int t = 0; t < nt; t++) {
        const part_task *p = &g->ptasks[t];
        memcpy(g->rows + p->to_left, g->tmp + p->begin, sizeof(uint32_t) * p->n_left);
        memcpy(g->rows + p->to_right, g->tmp2 + p->begin, sizeof(uint32_t) * p->n_right);
    }
}

/* Splits nodes ids[0..k) (all valid): children, row partitions, the children's histograms
 * (unless they cannot split further) and their best splits. Children ids go to kids
 * (2k). */
static int expand(lt_xgb_grower *g, const int *ids, int k, int *kids, const float *grad,
                  const float *hess, uint64_t seed, lt_err *err)
{
    size_t *nl = lt_xmalloc(sizeof(size_t) * (size_t)k + 1);
    partition(g, ids, k, nl);
    for (int i = 0; i < k; i++) {
        /* node_new may move g->nodes: read the parent through its id each time */
        size_t b = g->nodes[ids[i]].begin, e = g->nodes[ids[i]].end;
        lt_xgb_split s = g->nodes[ids[i]].split;
        int d = g->nodes[ids[i]].depth + 1;
        int l = node_new(g, ids[i], d, b, b + nl[i], s.gl, s.hl);
        int r = node_new(g, ids[i], d, b + nl[i], e, s.gr, s.hr);
        g->nodes[ids[i]].left = l, g->nodes[ids[i]].right = r;
        kids[2 * i] = l, kids[2 * i + 1] = r;
    }
    free(nl);
    bool more = g->p.max_depth == 0 || g->nodes[kids[0]].depth < g->p.max_depth;
    int rc = 0;
    if (more) {
        if (g->hist_bytes_out + sizeof(double) * 2 * g->n_slots * (size_t)(2 * k) >
                HIST_CAP_BYTES &&
            g->n_pool < 2 * k) {
            rc = lt_err_set(err, LT_ELIMIT,
                            "xgboost: node histograms would pass %zu bytes (lower max_depth, "
                            "max_leaves or max_bin)",
                            HIST_CAP_BYTES);
        } else {
            /* Build the smaller child, subtract for the larger. */
            int *small = lt_xmalloc(sizeof(int) * (size_t)k + 1);
            for (int i = 0; i < k; i++) {
                node *l = &g->nodes[kids[2 * i]], *r = &g->nodes[kids[2 * i + 1]];
                l->hist = hist_get(g);
                r->hist = hist_get(g);
                small[i] =
                    (l->end - l->begin) <= (r->end - r->begin) ? kids[2 * i] : kids[2 * i + 1];
            }
            build_hists(g, small, k);
            size_t len = 2 * g->n_slots;
#pragma omp parallel for num_threads(g->threads)                                                   \
    schedule(static) if ((size_t)k * len > ((size_t)1 << 20))
            for (int i = 0; i < k; i++) {
                const double *par = g->nodes[ids[i]].hist, *sm = g->nodes[small[i]].hist;
                int other = small[i] == kids[2 * i] ? kids[2 * i + 1] : kids[2 * i];
                double *o = g->nodes[other].hist;
                for (size_t q = 0; q < len; q++)
                    o[q] = par[q] - sm[q];
            }
            free(small);
            evaluate(g, kids, 2 * k, seed);
        }
    }
    for (int i = 0; i < k; i++) {
        hist_put(g, g->nodes[ids[i]].hist);
        g->nodes[ids[i]].hist = NULL;
    }
    return rc;
}

/* ---- the driver -------------------------------------------------------------------- */

static void level_features(lt_xgb_grower *g, const uint8_t *mask, uint64_t seed, int depth)
{
    int n = 0;
    for (int f = 0; f < g->n_feat; f++)
        if (!mask || mask[f]) g->level_feats[n++] = f;
    g->n_level_feats = sample_features(g->level_feats, n, g->p.colsample_bylevel,
                                       seed ^ (0xD1B54A32D192ED03ULL * (uint64_t)(depth + 1)));
}

static int grow_depthwise(lt_xgb_grower *g, const float *grad, const float *hess,
                          const uint8_t *mask, uint64_t seed, lt_err *err)
{
    int *frontier = lt_xmalloc(sizeof(int) * 2), *next = NULL, *split = NULL;
    int nf = 1, n_leaves = 1, rc = 0;
    frontier[0] = 0;
    while (nf > 0 && !rc) {
        split = lt_xrealloc(split, sizeof(int) * (size_t)nf);
        int ns = 0;
        for (int i = 0; i < nf; i++) {
            if (split_valid(g, &g->nodes[frontier[i]], n_leaves)) {
                split[ns++] = frontier[i];
                n_leaves++;
            } else {
                hist_put(g, g->nodes[frontier[i]].hist);
                g->nodes[frontier[i]].hist = NULL;
            }
        }
        if (ns == 0) break;
        next = lt_xrealloc(next, sizeof(int) * (size_t)(2 * ns));
        level_features(g, mask, seed, g->nodes[split[0]].depth + 1);
        rc = expand(g, split, ns, next, grad, hess, seed, err);
        int *t = frontier;
        frontier = next, next = t;
        nf = 2 * ns;
    }
    for (int i = 0; i < nf && frontier; i++) {
        hist_put(g, g->nodes[frontier[i]].hist);
        g->nodes[frontier[i]].hist = NULL;
    }
    free(frontier);
    free(next);
    free(split);
    return rc;
}

static bool better(const node *a, int ia, const node *b, int ib)
{
    if (a->split.loss_chg != b->split.loss_chg) return a->split.loss_chg > b->split.loss_chg;
    return ia < ib;
}

static int grow_lossguide(lt_xgb_grower *g, const float *grad, const float *hess,
                          const uint8_t *mask, uint64_t seed, lt_err *err)
{
    /* Open leaves in a plain array: max_leaves bounds it, and picking the best by a scan
     * keeps the order rule (loss, then id) obvious. */
    int cap = 64, n_open = 1, n_leaves = 1, rc = 0;
    int *open = lt_xmalloc(sizeof(int) * (size_t)cap);
    open[0] = 0;
    while (n_open > 0 && !rc) {
        int bi = 0;
        for (int i = 1; i < n_open; i++)
            if (better(&g->nodes[open[i]], open[i], &g->nodes[open[bi]], open[bi])) bi = i;
        int id = open[bi];
        open[bi] = open[--n_open];
        if (!split_valid(g, &g->nodes[id], n_leaves)) {
            hist_put(g, g->nodes[id].hist);
            g->nodes[id].hist = NULL;
            continue;
        }
        n_leaves++;
        int kids[2];
        level_features(g, mask, seed, g->nodes[id].depth + 1);
        rc = expand(g, &id, 1, kids, grad, hess, seed, err);
        if (n_open + 2 > cap) {
            cap *= 2;
            open = lt_xrealloc(open, sizeof(int) * (size_t)cap);
        }
        open[n_open++] = kids[0];
        open[n_open++] = kids[1];
    }
    for (int i = 0; i < n_open; i++) {
        hist_put(g, g->nodes[open[i]].hist);
        g->nodes[open[i]].hist = NULL;
    }
    free(open);
    return rc;
}

int lt_xgb__grow(lt_xgb_grower *g, const float *grad, const float *hess, const uint8_t *feat_mask,
                 uint64_t round_seed, lt_xgb_tree *out, float *margins, int stride, int group,
                 lt_err *err)
{
    for (int i = 0; i < g->n_nodes; i++)
        hist_put(g, g->nodes[i].hist);
    g->n_nodes = 0;
    size_t n = g->n_rows;
    /* Root sums in fixed chunks added in chunk order: the same bits at any thread count
     * (an OpenMP reduction's order depends on it). */
    enum { SUM_CHUNK = 65536 };
    size_t n_chunks = n / SUM_CHUNK + 1;
    double *part = lt_xcalloc(2 * n_chunks, sizeof(double));
#pragma omp parallel for num_threads(g->threads) schedule(static) if (n > SUM_CHUNK)
    for (size_t c = 0; c < n_chunks; c++) {
        size_t e = (c + 1) * SUM_CHUNK < n ? (c + 1) * SUM_CHUNK : n;
        for (size_t i = c * SUM_CHUNK; i < e; i++) {
            g->rows[i] = (uint32_t)i;
            g->gpair[2 * i] = grad[i], g->gpair[2 * i + 1] = hess[i];
            part[2 * c] += grad[i];
            part[2 * c + 1] += hess[i];
        }
    }
    double gs = 0, hs = 0;
    for (size_t c = 0; c < n_chunks; c++)
        gs += part[2 * c], hs += part[2 * c + 1];
    free(part);
    int root = node_new(g, -1, 0, 0, n, gs, hs);
    int rc = 0;
    if (g->p.max_depth != 0 || g->p.max_leaves != 0) {
        g->nodes[root].hist = hist_get(g);
        build_hists(g, &root, 1);
        level_features(g, feat_mask, round_seed, 0);
        evaluate(g, &root, 1, round_seed);
        rc = g->p.lossguide ? grow_lossguide(g, grad, hess, feat_mask, round_seed, err)
                            : grow_depthwise(g, grad, hess, feat_mask, round_seed, err);
    }
    if (rc) return rc;

    lt_xgb__tree_alloc(out, g->n_nodes);
    for (int i = 0; i < g->n_nodes; i++) {
        const node *nd = &g->nodes[i];
        double w = lt_xgb__calc_weight(&g->p, nd->g, nd->h);
        out->parent[i] = nd->parent < 0 ? INT32_MAX : nd->parent;
        out->base_weight[i] = (float)w;
        out->sum_hess[i] = (float)nd->h;
        out->left[i] = nd->left;
        out->right[i] = nd->right;
        if (nd->left < 0) {
            out->split_cond[i] = (float)(w * g->p.eta);
            continue;
        }
        out->split_index[i] = (uint32_t)nd->split.feature;
        out->split_cond[i] = nd->split.cond;
        out->default_left[i] = nd->split.default_left;
        out->loss_chg[i] = (float)nd->split.loss_chg;
    }
    if (margins) {
        /* The prediction cache: each training row gets its leaf's value. */
#pragma omp parallel for num_threads(g->threads) schedule(dynamic, 16) if (n > 65536)
        for (int i = 0; i < g->n_nodes; i++) {
            const node *nd = &g->nodes[i];
            if (nd->left >= 0) continue;
            float v = out->split_cond[i];
            for (size_t q = nd->begin; q < nd->end; q++)
                margins[(size_t)g->rows[q] * (size_t)stride + (size_t)group] += v;
        }
    }
    return 0;
}

bool lt_xgb__grower_leaf_rows(const lt_xgb_grower *g, int nid, const uint32_t **rows, size_t *count)
{
    if (nid < 0 || nid >= g->n_nodes || g->nodes[nid].left >= 0) return false;
    *rows = g->rows + g->nodes[nid].begin;
    *count = g->nodes[nid].end - g->nodes[nid].begin;
    return true;
}
