/* Random search: each parameter sampled independently and uniformly in its warped scale
 * (so a Logarithmic range is uniform in log space), from the tuner's seeded generator. */
#include "tune/tune_internal.h"

#include <stdlib.h>

static int propose(lt_tune *tune, size_t n, double *values, size_t *n_out, lt_err *err)
{
    size_t np = tune->space->n_params;
    double *u = lt_xmalloc(np * sizeof(double));
    for (size_t k = 0; k < n; k++) {
        lt_tune__random_unit(tune->space, &tune->rng, u);
        lt_tune_space_from_unit(tune->space, u, values + k * np);
    }
    free(u);
    *n_out = n;
    return 0;
}

const lt_tune__strategy_ops lt_tune__random_ops = {.name = "Random", .propose = propose};
