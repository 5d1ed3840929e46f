/* Quantile cuts and binning, XGBoost 1.7's HistogramCuts layout (src/common/hist_util.h,
 * quantile.cc AddCutPoint): per feature, cut values in increasing order where the first
 * cut is above the smallest value and the last lies above the maximum
 * (max + |max| + 1e-5); a value's bin is the index of the first cut greater than it.
 * With at most max_bin distinct values every distinct value gets its own bin and the
 * cuts equal XGBoost's exactly, so both find the same splits. With more, cuts are the
 * values at ranks i (c - 1) / max_bin, i = 1 .. max_bin - 1, of the sorted column
 * (unweighted; XGBoost's weighted quantile sketch gives approximately the same). Columns
 * with more than SKETCH_ROWS rows use a fixed strided sample of SKETCH_ROWS rows. */
#include "algo/xgboost/xgboost.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define SKETCH_ROWS ((size_t)1 << 18)

/* LSD radix sort of floats through order-preserving 32-bit keys; tmp (n). */
static void radix_sort(float *v, float *tmp, size_t n)
{
    uint32_t *a = (uint32_t *)v, *b = (uint32_t *)tmp;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        a[i] = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
    }
    for (int shift = 0; shift < 32; shift += 8) {
        size_t count[257] = {0};
        for (size_t i = 0; i < n; i++)
            count[((a[i] >> shift) & 0xFF) + 1]++;
        for (int k = 0; k < 256; k++)
            count[k + 1] += count[k];
        for (size_t i = 0; i < n; i++)
            b[count[(a[i] >> shift) & 0xFF]++] = a[i];
        uint32_t *t = a;
        a = b, b = t;
    }
    /* four passes: the sorted keys are back in v's storage */
    for (size_t i = 0; i < n; i++) {
        uint32_t u = a[i];
        u = (u & 0x80000000u) ? (u & 0x7FFFFFFFu) : ~u;
        memcpy(&v[i], &u, 4);
    }
}

/* Cuts of one sorted column v (c values) into out (up to max_bin); returns the count. */
static int column_cuts(const float *v, size_t c, int max_bin, float *out, float *min_val)
{
    if (c == 0) {
        *min_val = -1e-5f;
        out[0] = 1e-5f;
        return 1;
    }
    int n = 0;
    size_t unique = 1;
    for (size_t i = 1; i < c && unique <= (size_t)max_bin; i++)
        unique += v[i] != v[i - 1];
    if (unique <= (size_t)max_bin) {
        for (size_t i = 1; i < c; i++)
            if (v[i] != v[i - 1]) out[n++] = v[i];
    } else {
        /* XGBoost prunes its sketch to max_bin + 1 evenly ranked entries (min .. max)
         * and keeps entries 1 .. max_bin - 1 as cuts. */
        for (int i = 1; i < max_bin; i++) {
            size_t r = (size_t)llround((double)i * (double)(c - 1) / (double)max_bin);
            float cut = v[r];
            if (cut > v[0] && (n == 0 || cut > out[n - 1])) out[n++] = cut;
        }
    }
    float mx = v[c - 1], mn = v[0];
    out[n++] = mx + (fabsf(mx) + 1e-5f);
    *min_val = mn - (fabsf(mn) + 1e-5f);
    return n;
}

/* The local bin of v among a feature's n cuts c: branch-free upper_bound (the first cut
 * > v lies in [b, b + len]), clamped to the last bin; NaN gets the missing slot n. */
static inline uint16_t bin_of(const float *c, uint32_t n, float v)
{
    if (isnan(v)) return (uint16_t)n;
    const float *b = c;
    uint32_t len = n;
    while (len > 1) {
        uint32_t half = len / 2;
        b += (uint32_t)(b[half - 1] <= v) * half; /* arithmetic, not a branch */
        len -= half;
    }
    uint32_t a = (uint32_t)(b - c) + (*b <= v);
    return (uint16_t)(a < n ? a : n - 1);
}

uint16_t lt_xgb__hist_bin(const lt_xgb_hist *h, int f, float v)
{
    return bin_of(h->cuts + h->ptr[f], h->ptr[f + 1] - h->ptr[f], v);
}

void lt_xgb__hist_free(lt_xgb_hist *h)
{
    free(h->ptr);
    free(h->cuts);
    free(h->min_vals);
    free(h->slot);
    free(h->bins8);
    free(h->bins16);
    free(h->cols8);
    memset(h, 0, sizeof *h);
}

int lt_xgb__hist_build(const float *x, size_t n_rows, int n_cols, int max_bin, int threads,
                       lt_xgb_hist *out, lt_err *err)
{
    memset(out, 0, sizeof *out);
    if (max_bin < 2 || max_bin > 65534)
        return lt_err_set(err, LT_EINVAL, "xgboost: max_bin must be in [2, 65534]");
    size_t m = n_rows > SKETCH_ROWS ? SKETCH_ROWS : n_rows;
    float *colcuts = lt_xmalloc(sizeof(float) * (size_t)n_cols * (size_t)max_bin + 1);
    int *counts = lt_xcalloc((size_t)n_cols + 1, sizeof(int));
    out->min_vals = lt_xcalloc((size_t)n_cols + 1, sizeof(float));
    float *work = malloc(sizeof(float) * 2 * (m + 1) * (size_t)threads);
    size_t cells = n_rows * (size_t)n_cols;
    if (!work || cells / (size_t)(n_cols ? n_cols : 1) != n_rows) {
        free(work);
        free(colcuts);
        free(counts);
        lt_xgb__hist_free(out);
        return lt_err_set(err, LT_ENOMEM, "xgboost: out of memory binning %zu x %d values", n_rows,
                          n_cols);
    }
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (int f = 0; f < n_cols; f++) {
        float *v = work + (size_t)omp_get_thread_num() * 2 * (m + 1), *tmp = v + m + 1;
        size_t c = 0;
        for (size_t i = 0; i < m; i++) {
            size_t r = m == n_rows ? i : (size_t)((double)i * (double)n_rows / (double)m);
            float val = x[r * (size_t)n_cols + (size_t)f];
            if (!isnan(val)) v[c++] = val;
        }
        radix_sort(v, tmp, c);
        counts[f] =
            column_cuts(v, c, max_bin, colcuts + (size_t)f * (size_t)max_bin, &out->min_vals[f]);
    }
    free(work);
    out->n_features = n_cols;
    out->n_rows = n_rows;
    out->ptr = lt_xmalloc(sizeof(uint32_t) * ((size_t)n_cols + 1));
    out->slot = lt_xmalloc(sizeof(uint32_t) * ((size_t)n_cols + 1));
    out->ptr[0] = 0;
    for (int f = 0; f < n_cols; f++)
        out->ptr[f + 1] = out->ptr[f] + (uint32_t)counts[f];
    for (int f = 0; f <= n_cols; f++)
        out->slot[f] = out->ptr[f] + (uint32_t)f;
    out->cuts = lt_xmalloc(sizeof(float) * (out->ptr[n_cols] + 1));
    for (int f = 0; f < n_cols; f++)
        memcpy(out->cuts + out->ptr[f], colcuts + (size_t)f * (size_t)max_bin,
               sizeof(float) * (size_t)counts[f]);
    free(colcuts);
    free(counts);
    /* One byte per value when every feature's local bins, its missing slot included if it
     * has missing values, fit in 0..255 (max_bin <= 256 on dense data): half the memory
     * and half the traffic of the histogram and partition passes. */
    bool narrow = true, need_scan = false;
    for (int f = 0; f < n_cols; f++) {
        uint32_t nb = out->ptr[f + 1] - out->ptr[f];
        if (nb > 256) narrow = false;
        if (nb == 256) need_scan = true;
    }
    if (narrow && need_scan) {
        /* a feature with 256 bins fits only if it has no missing value (slot 256) */
        int has_nan = 0;
#pragma omp parallel for num_threads(threads) schedule(static) reduction(| : has_nan)
        for (size_t r = 0; r < n_rows; r++)
            for (int f = 0; f < n_cols; f++)
                has_nan |= out->ptr[f + 1] - out->ptr[f] == 256 &&
                           isnan(x[r * (size_t)n_cols + (size_t)f]);
        narrow = !has_nan;
    }
    if (narrow) {
        out->bins8 = malloc(cells + 1);
        out->cols8 = malloc(cells + 1);
    } else {
        out->bins16 = malloc(sizeof(uint16_t) * (cells + 1));
    }
    if (narrow ? !out->bins8 || !out->cols8 : !out->bins16) {
        lt_xgb__hist_free(out);
        return lt_err_set(err, LT_ENOMEM, "xgboost: out of memory binning %zu x %d values", n_rows,
                          n_cols);
    }
    /* Tiles of rows, a feature at a time inside a tile: one feature's cuts stay in L1
     * while the search runs over the tile (all features' cuts together do not fit). */
    const size_t tile = 512, n_tiles = (n_rows + tile - 1) / tile;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (size_t t = 0; t < n_tiles; t++) {
        size_t r0 = t * tile, r1 = r0 + tile < n_rows ? r0 + tile : n_rows;
        for (int f = 0; f < n_cols; f++) {
            const float *c = out->cuts + out->ptr[f];
            uint32_t nb = out->ptr[f + 1] - out->ptr[f];
            size_t at = r0 * (size_t)n_cols + (size_t)f;
            uint8_t *col = out->cols8 ? out->cols8 + (size_t)f * n_rows : NULL;
            if (narrow)
                for (size_t r = r0; r < r1; r++, at += (size_t)n_cols)
                    col[r] = out->bins8[at] = (uint8_t)bin_of(c, nb, x[at]);
            else
                for (size_t r = r0; r < r1; r++, at += (size_t)n_cols)
                    out->bins16[at] = bin_of(c, nb, x[at]);
        }
    }
    return 0;
}
