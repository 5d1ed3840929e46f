/*
 * tune: hyper-parameter search as a library with an ask/tell interface.
 *
 * A search space is SageMaker's `ParameterRanges` object (Integer, Continuous and
 * Categorical ranges with ScalingType Auto | Linear | Logarithmic | ReverseLogarithmic).
 * A tuner built over a space proposes configurations (ask), learns their objective values
 * (tell), and for running trials takes intermediate values (report) and says which trial
 * should stop early (should_stop). Strategies: Random (seeded), Grid, Bayesian (Gaussian
 * process, Matern 5/2 ARD, expected improvement) and Hyperband (successive halving over
 * intermediate values); median early stopping (SageMaker's `Auto`) for Random and Bayesian.
 *
 * A configuration is an array of doubles, one per parameter in space order (Integer ranges,
 * then Continuous, then Categorical, each in the order given): integers hold integral
 * values, continuous values their value, categoricals the index of the value.
 *
 * Invariants:
 *  - The tuner minimises internally; with `maximize` it negates what it is told.
 *  - Failed trials never enter the model; stopped trials count with their last reported value.
 *  - Nothing here touches the store, the network or a global: a tuner is used by one thread
 *    at a time (the caller serialises), two tuners are independent.
 * Ownership: the tuner borrows its space (which must outlive it); values returned by
 * lt_tune_trial_values stay owned by the tuner until lt_tune_free.
 */
#ifndef LT_TUNE_H
#define LT_TUNE_H

#include "base/base.h"

/* ---- search space ----------------------------------------------------------------- */

typedef enum { LT_TUNE_INTEGER, LT_TUNE_CONTINUOUS, LT_TUNE_CATEGORICAL } lt_tune_kind;
typedef enum {
    LT_TUNE_SCALE_AUTO,
    LT_TUNE_SCALE_LINEAR,
    LT_TUNE_SCALE_LOG,
    LT_TUNE_SCALE_REVERSE_LOG
} lt_tune_scale;

typedef struct lt_tune_param {
    char *name;
    lt_tune_kind kind;
    lt_tune_scale scale; /* resolved: never AUTO after parsing (categoricals: LINEAR) */
    double min, max;     /* integer and continuous ranges */
    char **values;       /* categorical values, n_values of them */
    size_t n_values;
} lt_tune_param;

typedef struct lt_tune_space {
    lt_tune_param *params;
    size_t n_params;
    size_t n_features; /* model inputs: 1 per numeric parameter, n_values per categorical */
} lt_tune_space;

/* Parses a ParameterRanges object. Bounds are strings as in the API (JSON numbers are
 * accepted too). ScalingType Auto picks Logarithmic for a range with min > 0 spanning at
 * least two decades (max/min >= 100), else Linear. LT_EINVAL naming the range on: min > max,
 * a non-numeric or non-integral bound, Logarithmic with min <= 0, ReverseLogarithmic outside
 * [0, 1) or on an integer range, a categorical with no values (or over 30, or a repeated
 * value), a duplicate or empty name, over 30 ranges of one kind, an unknown member or an
 * empty space. *out is new; free with lt_tune_space_free. */
int lt_tune_space_parse(const json_t *ranges, lt_tune_space **out, lt_err *err);
/* The same from JSON text (a file's content). */
int lt_tune_space_parse_text(const char *text, size_t len, lt_tune_space **out, lt_err *err);
void lt_tune_space_free(lt_tune_space *space);

/* Unit-cube coordinates <-> configurations. Each parameter has one coordinate in [0, 1]:
 * numeric ones are warped by their scale (log: uniform in log space; reverse log: uniform
 * in log(1 - x)); integers map [min - 0.5, max + 0.5] so each integer owns an equal-width
 * (in warped space) cell, and decoding rounds to the nearest integer and clamps;
 * categoricals take floor(u * n_values). to_unit(from_unit(u)) is the centre of u's cell. */
void lt_tune_space_from_unit(const lt_tune_space *space, const double *u, double *values);
void lt_tune_space_to_unit(const lt_tune_space *space, const double *values, double *u);
/* Model features (n_features): numeric parameters as their unit coordinate (of the rounded
 * value, for integers), categoricals one-hot. */
void lt_tune_space_encode(const lt_tune_space *space, const double *values, double *features);
/* The value of parameter i as the string a training job receives ("12", "0.001", "adam").
 * Writes at most cap bytes (NUL included) to out. */
void lt_tune_space_format(const lt_tune_space *space, size_t i, double value, char *out,
                          size_t cap);
/* A configuration as a JSON object {name: value}: integers as JSON integers, continuous as
 * reals, categoricals as strings (as_strings: every value as its string). New reference. */
json_t *lt_tune_space_to_json(const lt_tune_space *space, const double *values, bool as_strings);

/* ---- tuner ------------------------------------------------------------------------ */

typedef enum {
    LT_TUNE_RANDOM,
    LT_TUNE_GRID,
    LT_TUNE_BAYESIAN,
    LT_TUNE_HYPERBAND
} lt_tune_strategy;

typedef struct lt_tune_params {
    lt_tune_strategy strategy;
    uint64_t seed;
    bool maximize;
    int grid_points;       /* Grid: points per continuous range and per integer range with
                              more values than this (default 5) */
    int n_initial;         /* Bayesian: random (Latin hypercube) points first; 0 = auto */
    int min_resource;      /* Hyperband: steps before the first rung (default 1) */
    int max_resource;      /* Hyperband: steps of a full trial (default 81) */
    int eta;               /* Hyperband: reduction factor (default 3) */
    bool early_stopping;   /* median stopping rule (SageMaker Auto); not with Hyperband */
    int median_min_trials; /* finished trials needed before the rule stops anything (3) */
} lt_tune_params;

lt_tune_params lt_tune_params_default(void);
/* Parses "bayesian" | "random" | "grid" | "hyperband" (any case); LT_EINVAL otherwise. */
int lt_tune_strategy_parse(const char *s, lt_tune_strategy *out, lt_err *err);

typedef struct lt_tune lt_tune;

/* A new tuner over `space` (borrowed). LT_EINVAL on bad params (early stopping with
 * Hyperband, max_resource < min_resource, eta < 2). Free with lt_tune_free. */
int lt_tune_new(const lt_tune_space *space, const lt_tune_params *params, lt_tune **out,
                lt_err *err);
void lt_tune_free(lt_tune *tune);

/* Proposes up to n new trials; their ids go to ids[0..] and *n_out says how many (fewer
 * than n only when Grid has run out of combinations). Trials asked and not yet told are
 * pending: Bayesian proposes around them (kriging believer) so a batch does not collapse.
 * LT_EINTERNAL on a numerical failure the strategy could not recover from. */
int lt_tune_ask(lt_tune *tune, size_t n, int *ids, size_t *n_out, lt_err *err);
/* Registers a pending trial with a configuration chosen elsewhere (a trial that ran before
 * the tuner was rebuilt, after a restart or for a warm start); then tell it as any other.
 * For Grid, ask instead: the grid's order is its state. */
int lt_tune_add(lt_tune *tune, const double *values, int *id);
/* The configuration of a trial (n_params values); NULL for an unknown id. */
const double *lt_tune_trial_values(const lt_tune *tune, int id);

typedef enum { LT_TUNE_COMPLETED, LT_TUNE_FAILED, LT_TUNE_STOPPED } lt_tune_outcome;
/* Records how a pending trial ended. COMPLETED takes `value` (finite); FAILED ignores it;
 * STOPPED uses `value` if finite, else the last reported value (none: counted as failed).
 * LT_ENOTFOUND for an unknown id, LT_ECONFLICT if already told, LT_EINVAL for a
 * non-finite COMPLETED value. */
int lt_tune_tell(lt_tune *tune, int id, lt_tune_outcome outcome, double value, lt_err *err);
/* An intermediate value of a running trial at `step` (1, 2, ...: epochs, or the count of
 * values reported). Feeds Hyperband and the median rule. Same errors as lt_tune_tell. */
int lt_tune_report(lt_tune *tune, int id, int step, double value, lt_err *err);
/* Whether the trial should be stopped now (after its last report). */
bool lt_tune_should_stop(const lt_tune *tune, int id);

/* The best finished trial so far: its id and value (in the user's direction). LT_ENOTFOUND
 * when no trial has succeeded. */
int lt_tune_best(const lt_tune *tune, int *id, double *value);
/* The number of combinations Grid enumerates over `space` with grid_points per range. */
size_t lt_tune_grid_size(const lt_tune_space *space, int grid_points);

#endif
