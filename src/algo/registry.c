/* The built-in algorithms, in the order `lathe algo list` shows them. Adding one is a
 * line here and its folder of files. */
#include "algo/algo_internal.h"

#include <string.h>

static const lt_algo *const algorithms[] = {
    &lt_algo__kmeans,
    &lt_algo__pca,
    &lt_algo__knn,
    &lt_algo__xgboost,
    &lt_algo__linear,
};

size_t lt_algo_count(void)
{
    return sizeof algorithms / sizeof algorithms[0];
}

const lt_algo *lt_algo_at(size_t index)
{
    return index < lt_algo_count() ? algorithms[index] : NULL;
}

const lt_algo *lt_algo_find(const char *name)
{
    for (size_t i = 0; i < lt_algo_count(); i++) {
        if (strcmp(algorithms[i]->name, name) == 0) return algorithms[i];
        for (const char *const *alias = algorithms[i]->image_names; alias && *alias; alias++)
            if (strcmp(*alias, name) == 0) return algorithms[i];
    }
    return NULL;
}
