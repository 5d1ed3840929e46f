/* Private to knn: the model shared by training (knn.c), search (knn_search.c) and the model
 * file and output formats (knn_model.c), and the kernels the unit test checks against
 * their scalar twins. */
#ifndef LT_KNN_H
#define LT_KNN_H

#include "algo/algo_internal.h"

typedef enum { LT_KNN_L2 = 0, LT_KNN_INNER_PRODUCT, LT_KNN_COSINE } lt_knn_metric;
typedef enum { LT_KNN_REDUCE_NONE = 0, LT_KNN_REDUCE_SIGN, LT_KNN_REDUCE_FJLT } lt_knn_reduce;

struct lt_algo_model {
    bool classifier;
    int k;
    int dim;  /* feature_dim of the input rows */
    int rdim; /* after dimension reduction; == dim without it */
    lt_knn_metric metric;
    lt_knn_reduce reduce;
    uint64_t seed; /* regenerates the reduction on load */
    /* sign: (dim, rdim) of +-1/sqrt(rdim). fjlt: signs (dim_pad), picks (rdim). */
    float *sign_matrix;
    int dim_pad;
    float *fjlt_sign;
    uint32_t *fjlt_pick;
    size_t n;      /* index points */
    float *points; /* (n, rdim); IVF: grouped by list */
    float *labels; /* (n) */
    float *norms;  /* (n): ||p||^2 */
    int nlist;     /* 0: flat */
    int nprobe;
    float *centroids;   /* (nlist, rdim) */
    float *cnorms;      /* (nlist) */
    size_t *list_start; /* (nlist + 1): list j is points [list_start[j], list_start[j+1]) */
};

/* Builds the reduction tables from reduce, dim, rdim and seed. */
void lt_knn__reduction_build(lt_algo_model *m);
/* Row x (dim) into the index space y (rdim): reduced, and unit length for COSINE.
 * scratch holds dim_pad floats. */
void lt_knn__transform_row(const lt_algo_model *m, const float *x, float *y, float *scratch);
/* In-place unnormalised Walsh-Hadamard transform of v (n a power of two). */
void lt_knn__fwht(float *v, int n);
/* Fills norms (and cnorms) from points (and centroids). */
void lt_knn__norms(lt_algo_model *m);

/* Nearest k index points of each query row q (nq, rdim, already transformed): writes
 * idx (nq, k) and dist (nq, k), best first (L2: squared distance ascending; inner
 * product and cosine: similarity descending); idx -1 where fewer than k exist. */
int lt_knn__search(const lt_algo_model *m, const float *q, size_t nq, int threads, int32_t *idx,
                   float *dist, lt_err *err);
/* The scalar twin for flat indexes: direct sums, ties to the smaller index. */
void lt_knn__search_scalar(const lt_algo_model *m, const float *q, size_t nq, int32_t *idx,
                           float *dist);
/* The prediction from k neighbours' labels and distances (idx -1 skipped): classifier:
 * the most frequent label, ties to the smaller sum of distances (for similarities, the
 * larger sum), then the smaller label; regressor: the mean. Labels are m->labels[idx];
 * scratch holds 2k floats. */
double lt_knn__vote(const lt_algo_model *m, const int32_t *idx, const float *dist, float *scratch);

int lt_knn__save(const lt_algo_model *m, const char *dir, lt_err *err);
int lt_knn__load(const char *dir, lt_algo_model **out, lt_err *err);
void lt_knn__model_free(lt_algo_model *m);
int lt_knn__format_json(const lt_algo_model *m, const double *row, lt_buf *out, lt_err *err);
int lt_knn__format_json_verbose(const lt_algo_model *m, const double *row, lt_buf *out,
                                lt_err *err);
int lt_knn__format_csv(const lt_algo_model *m, const double *row, lt_buf *out, lt_err *err);

#endif
