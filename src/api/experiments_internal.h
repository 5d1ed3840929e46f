/* Private to the api module: what the experiment, trial and trial-component families
 * share (their kinds and the relation between components and trials). */
#ifndef LT_API_EXPERIMENTS_INTERNAL_H
#define LT_API_EXPERIMENTS_INTERNAL_H

#include "api/resource.h"

extern const lt_api_kind lt_api__experiment_kind;
extern const lt_api_kind lt_api__trial_kind;
extern const lt_api_kind lt_api__trial_component_kind;

/* Relation kinds: component -> trial, and component -> experiment (kept while the
 * component belongs to at least one trial of that experiment, so ListTrialComponents
 * can filter by ExperimentName in one query). */
#define LT_API_REL_COMPONENT_TRIAL "trial-component"
#define LT_API_REL_COMPONENT_EXPERIMENT "experiment-component"

/* A list callback that counts the rows it is given (ctx: int64_t *). */
int lt_api__count_rows(void *ctx, const lt_store_resource *res, lt_err *err);

/* Number of trials whose experiment is experiment_name. */
int lt_api__count_trials_of(lt_api_ctx *ctx, const char *experiment_name, int64_t *count,
                            lt_err *err);

#endif
