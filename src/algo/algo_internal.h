/* Private to the algo module: the algorithm descriptors the registry lists, and the
 * helpers shared by readers and algorithms. */
#ifndef LT_ALGO_INTERNAL_H
#define LT_ALGO_INTERNAL_H

#include "algo/algo.h"

extern const lt_algo lt_algo__kmeans;
extern const lt_algo lt_algo__xgboost;

#endif
