/* Grid search: the Cartesian product of every parameter's grid values, in order, the last
 * parameter varying fastest (as itertools.product). Categoricals take all their values;
 * integer ranges all their integers when there are at most grid_points of them, else
 * grid_points evenly spaced in the warped scale (rounded); continuous ranges grid_points
 * evenly spaced in the warped scale, both ends included. SageMaker's Grid allows only
 * categorical ranges; discretising the numeric ones is Lathe's extension. */
#include "tune/tune_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct {
    size_t next, size;
} grid_state;

size_t lt_tune__grid_count(const lt_tune_space *space, size_t i, int grid_points)
{
    const lt_tune_param *p = &space->params[i];
    if (p->kind == LT_TUNE_CATEGORICAL) return p->n_values;
    if (p->min == p->max) return 1;
    if (p->kind == LT_TUNE_INTEGER && p->max - p->min + 1 <= grid_points)
        return (size_t)(p->max - p->min + 1);
    return (size_t)grid_points;
}

static double warp(lt_tune_scale s, double x)
{
    return s == LT_TUNE_SCALE_LOG ? log(x) : s == LT_TUNE_SCALE_REVERSE_LOG ? -log1p(-x) : x;
}

static double unwarp(lt_tune_scale s, double g)
{
    return s == LT_TUNE_SCALE_LOG ? exp(g) : s == LT_TUNE_SCALE_REVERSE_LOG ? -expm1(-g) : g;
}

double lt_tune__grid_value(const lt_tune_space *space, size_t i, int grid_points, size_t k)
{
    const lt_tune_param *p = &space->params[i];
    size_t count = lt_tune__grid_count(space, i, grid_points);
    if (p->kind == LT_TUNE_CATEGORICAL) return (double)k;
    if (count == 1) {
        double mid = unwarp(p->scale, 0.5 * (warp(p->scale, p->min) + warp(p->scale, p->max)));
        return p->kind == LT_TUNE_INTEGER ? floor(mid + 0.5) : mid;
    }
    if (p->kind == LT_TUNE_INTEGER && p->max - p->min + 1 <= grid_points) return p->min + (double)k;
    double a = warp(p->scale, p->min), b = warp(p->scale, p->max);
    double x = k + 1 == count ? p->max : unwarp(p->scale, a + (b - a) * (double)k / (double)(count - 1));
    if (p->kind == LT_TUNE_INTEGER) x = floor(x + 0.5);
    return x < p->min ? p->min : x > p->max ? p->max : x;
}

size_t lt_tune_grid_size(const lt_tune_space *space, int grid_points)
{
    if (grid_points < 1) grid_points = 1;
    size_t size = 1;
    for (size_t i = 0; i < space->n_params; i++) {
        size_t c = lt_tune__grid_count(space, i, grid_points);
        if (size > SIZE_MAX / c) return SIZE_MAX;
        size *= c;
    }
    return size;
}

static int init(lt_tune *tune, lt_err *err)
{
    grid_state *g = lt_xcalloc(1, sizeof *g);
    g->size = lt_tune_grid_size(tune->space, tune->params.grid_points);
    tune->state = g;
    return 0;
}

static int propose(lt_tune *tune, size_t n, double *values, size_t *n_out, lt_err *err)
{
    grid_state *g = tune->state;
    const lt_tune_space *space = tune->space;
    size_t np = space->n_params, k = 0;
    for (; k < n && g->next < g->size; k++, g->next++) {
        size_t rest = g->next;
        for (size_t i = np; i-- > 0;) {
            size_t c = lt_tune__grid_count(space, i, tune->params.grid_points);
            values[k * np + i] = lt_tune__grid_value(space, i, tune->params.grid_points, rest % c);
            rest /= c;
        }
    }
    *n_out = k;
    return 0;
}

static void grid_free(lt_tune *tune)
{
    free(tune->state);
}

const lt_tune__strategy_ops lt_tune__grid_ops = {
    .name = "Grid", .init = init, .propose = propose, .free = grid_free};
