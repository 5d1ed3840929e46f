/* Private to pca: the model struct shared by training (pca.c) and the model file and
 * output formats (pca_model.c). */
#ifndef LT_PCA_H
#define LT_PCA_H

#include "algo/algo_internal.h"

struct lt_algo_model {
    int dim, nc;
    bool subtract_mean;
    bool randomized;
    float *components;                /* (nc, dim): rows are unit principal axes, largest first */
    float *components_t;              /* (dim, nc): the same, transposed, for sparse input */
    float *mean;                      /* (dim); zeros when subtract_mean is false */
    float *mean_proj;                 /* (nc): components . mean, subtracted from x . components */
    double *singular_values;          /* (nc) */
    double *explained_variance;       /* (nc) */
    double *explained_variance_ratio; /* (nc) */
};

/* Allocates a model of the given shape (every array zeroed). */
lt_algo_model *lt_pca__model_new(int dim, int nc);
/* Fills components_t and mean_proj from components and mean. */
void lt_pca__model_derive(lt_algo_model *m);
void lt_pca__model_free(lt_algo_model *m);

int lt_pca__save(const lt_algo_model *m, const char *dir, lt_err *err);
int lt_pca__load(const char *dir, lt_algo_model **out, lt_err *err);
int lt_pca__format_json(const lt_algo_model *m, const double *row, lt_buf *out, lt_err *err);

#endif
