/* Private to the tune module: the tuner's state, the strategy table, the random source,
 * the Gaussian process, the optimiser and the acquisition. */
#ifndef LT_TUNE_INTERNAL_H
#define LT_TUNE_INTERNAL_H

#include "tune/tune.h"

/* ---- random numbers: xoshiro256** seeded through splitmix64 ------------------------- */

typedef struct lt_tune__rng {
    uint64_t s[4];
} lt_tune__rng;

void lt_tune__rng_seed(lt_tune__rng *rng, uint64_t seed);
uint64_t lt_tune__rng_next(lt_tune__rng *rng);
double lt_tune__rng_uniform(lt_tune__rng *rng); /* [0, 1) */
double lt_tune__rng_normal(lt_tune__rng *rng);
/* A uniform random unit-cube point (n_params coordinates). */
void lt_tune__random_unit(const lt_tune_space *space, lt_tune__rng *rng, double *u);

/* ---- trials and the tuner ------------------------------------------------------------ */

typedef enum { TRIAL_PENDING, TRIAL_COMPLETED, TRIAL_FAILED, TRIAL_STOPPED } lt_tune__state;

typedef struct lt_tune__trial {
    int id;
    lt_tune__state state;
    double *values; /* (n_params) */
    double y;       /* minimised objective (negated when maximising); NaN until known */
    int *steps;     /* reported intermediate values, in order of report */
    double *reports;
    size_t n_reports, cap_reports;
    int bracket;    /* Hyperband */
    bool stop;      /* should_stop's answer after the last report */
} lt_tune__trial;

typedef struct lt_tune__strategy_ops lt_tune__strategy_ops;

struct lt_tune {
    const lt_tune_space *space;
    lt_tune_params params;
    const lt_tune__strategy_ops *ops;
    void *state; /* the strategy's own */
    lt_tune__rng rng;
    lt_tune__trial *trials;
    size_t n_trials, cap_trials;
};

/* Back ends: each strategy proposes n configurations (n x n_params values) given the
 * tuner's trials; *n_out may be < n only when the strategy is exhausted. */
struct lt_tune__strategy_ops {
    const char *name;
    int (*init)(lt_tune *tune, lt_err *err);
    int (*propose)(lt_tune *tune, size_t n, double *values, size_t *n_out, lt_err *err);
    /* Called after each report; returns whether the trial should stop (may be NULL). */
    bool (*on_report)(lt_tune *tune, lt_tune__trial *trial);
    /* Called when a trial is assigned (may be NULL). */
    void (*on_new_trial)(lt_tune *tune, lt_tune__trial *trial);
    void (*free)(lt_tune *tune);
};

extern const lt_tune__strategy_ops lt_tune__random_ops;
extern const lt_tune__strategy_ops lt_tune__grid_ops;
extern const lt_tune__strategy_ops lt_tune__bayes_ops;
extern const lt_tune__strategy_ops lt_tune__hyperband_ops;

/* The median stopping rule: true if `trial`'s value at its last reported step is worse
 * (larger) than the median of the running averages, up to that step, of the finished
 * trials that reached it; needs at least min_trials of them. */
bool lt_tune__median_should_stop(const lt_tune *tune, const lt_tune__trial *trial,
                                 int min_trials);

/* ---- Hyperband arithmetic ------------------------------------------------------------ */

/* s_max = floor(log_eta(max_r / min_r)) (with a little slack for rounding). */
int lt_tune__hb_s_max(int min_r, int max_r, int eta);
/* Classic Hyperband bracket s (0..s_max; s = s_max is the most aggressive): its number of
 * configurations ceil((s_max + 1) / (s + 1) * eta^s) and the resource of its first rung
 * max_r * eta^-s. */
int lt_tune__hb_bracket_n(int s, int s_max, int eta);
double lt_tune__hb_bracket_r(int s, int max_r, int eta);

/* ---- Grid ------------------------------------------------------------------------------ */

/* The number of grid values of parameter i and the k-th of them (in order, min to max). */
size_t lt_tune__grid_count(const lt_tune_space *space, size_t i, int grid_points);
double lt_tune__grid_value(const lt_tune_space *space, size_t i, int grid_points, size_t k);

/* ---- Gaussian process (Matern 5/2, ARD, constant zero mean, Gaussian noise) ------------ */

/* Hyperparameters live in log space: theta = (log l_1..log l_d, log sf2, log sn2); the
 * noise variance is LT_TUNE__NOISE_FLOOR + exp(log sn2). */
#define LT_TUNE__NOISE_FLOOR 1e-6

typedef struct lt_tune__gp {
    size_t n, d;
    double *x;     /* (n, d) inputs, borrowed from the caller while in use */
    double *y;     /* (n) targets, borrowed */
    double *theta; /* (d + 2) */
    double *chol;  /* (n, n) lower Cholesky factor of K + sn2 I (row-major) */
    double *alpha; /* (n) (K + sn2 I)^-1 y */
    size_t cap_n;
    double *work;  /* scratch for the likelihood's gradient: (n, n) */
    double *cache; /* (n, n) kernel values and their shared derivative factor */
} lt_tune__gp;

void lt_tune__gp_init(lt_tune__gp *gp, size_t d);
void lt_tune__gp_free(lt_tune__gp *gp);
/* Matern 5/2 with length scales ls (d), signal variance sf2. */
double lt_tune__matern52(const double *a, const double *b, size_t d, const double *inv_ls,
                         double sf2);
/* Factorises with the current theta; LT_EINTERNAL if K is not positive definite even after
 * jitter. x (n, d) and y (n) are borrowed until the next call. */
int lt_tune__gp_condition(lt_tune__gp *gp, double *x, double *y, size_t n, lt_err *err);
/* Negative log marginal likelihood (plus the negative log prior when with_prior) at theta,
 * and its gradient (d + 2) if grad is non-NULL; +inf if K is not positive definite. */
double lt_tune__gp_nlml(lt_tune__gp *gp, const double *theta, double *grad, bool with_prior);
/* Fits theta by maximising the marginal likelihood times a weak prior: L-BFGS from the
 * current theta, the default, and n_random draws from the prior (n_random < 0: from the
 * current theta alone); keeps the best. */
int lt_tune__gp_fit(lt_tune__gp *gp, double *x, double *y, size_t n, int n_random,
                    int max_iter, lt_tune__rng *rng, lt_err *err);
/* The default theta (length scales 0.5, sf2 1, sn2 1e-3) for dimension d. */
void lt_tune__gp_theta_default(double *theta, size_t d);
/* Posterior mean and variance (latent, noise excluded) at m points xs (m, d). work holds
 * m * n doubles. */
void lt_tune__gp_predict(const lt_tune__gp *gp, const double *xs, size_t m, double *mean,
                         double *var, double *work);
/* Mean and variance at one point with their gradients (d each) in x; work holds 3n. */
void lt_tune__gp_predict_grad(const lt_tune__gp *gp, const double *x, double *mean, double *var,
                              double *dmean, double *dvar, double *work);

/* ---- acquisition ------------------------------------------------------------------------ */

/* log EI for minimisation: log(E[max(best - f, 0)]) with f ~ N(mean, var), accurate when EI
 * underflows (z << 0). Also d logEI / d mean and d logEI / d sd when the pointers are set. */
double lt_tune__log_ei(double mean, double sd, double best, double *dmean, double *dsd);
/* The plain formula sd * (z Phi(z) + phi(z)), z = (best - mean) / sd, for tests. */
double lt_tune__ei(double mean, double sd, double best);

/* An acquisition function over model features (space->n_features): batch scores m rows at
 * once (m values to out); point scores one row and writes d value / d features to grad. */
typedef struct lt_tune__acq {
    void *ctx;
    void (*batch)(void *ctx, const double *features, size_t m, double *out);
    double (*point)(void *ctx, const double *features, double *grad);
} lt_tune__acq;

/* Maximises an acquisition over the space: scores LT_TUNE__ACQ_RANDOM uniform points and
 * LT_TUNE__ACQ_LOCAL Gaussian perturbations (sd 0.1 in unit coordinates; categoricals
 * redrawn with probability 0.3) around each of up to 5 centres (n_centres, n_params unit
 * coordinates), then refines the best LT_TUNE__ACQ_REFINE by projected L-BFGS over the
 * continuous parameters (integers and categoricals held: their features are piecewise
 * constant). Points whose features equal a row of avoid (n_avoid, n_features) are skipped.
 * Writes the winner's configuration to values (n_params); returns its score (-inf when
 * every candidate was a repeat). */
#define LT_TUNE__ACQ_RANDOM 512
#define LT_TUNE__ACQ_LOCAL 40
#define LT_TUNE__ACQ_REFINE 4
double lt_tune__acq_maximize(const lt_tune_space *space, const lt_tune__acq *acq,
                             const double *centres, size_t n_centres, const double *avoid,
                             size_t n_avoid, lt_tune__rng *rng, double *values);

/* ---- L-BFGS ---------------------------------------------------------------------------- */

/* f returns the objective at x and writes its gradient (n) to grad. */
typedef double (*lt_tune__objective)(void *ctx, const double *x, double *grad);
/* Minimises f from x (n) in place with L-BFGS (memory 6, backtracking Armijo search). With
 * lo/hi non-NULL, the iterates are projected onto the box. Returns f at the final x. */
double lt_tune__lbfgs(lt_tune__objective f, void *ctx, double *x, size_t n, const double *lo,
                      const double *hi, int max_iter);

/* ---- output warping -------------------------------------------------------------------- */

/* Standardises y (n) in place after a Yeo-Johnson power transform whose lambda maximises
 * the normal log-likelihood (so a heavy right tail, as in Rosenbrock, does not flatten the
 * region that matters). Monotone increasing, so the minimiser is unchanged. */
void lt_tune__warp_outputs(double *y, size_t n);

#endif
