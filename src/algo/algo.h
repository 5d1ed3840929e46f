/*
 * algo: Lathe's built-in algorithms as a library — data readers, matrices, and one
 * interface that every algorithm implements (train, save, load, predict over plain
 * buffers). It depends on base alone: no HTTP, no store, so it can be tested,
 * benchmarked and reused without a server (`lathe algo train|predict`).
 *
 * Data: an lt_dataset holds the features as a dense row-major matrix or as CSR, the
 * labels (optional) and the instance weights (optional). Missing values in dense data are
 * NaN. Readers parse the SageMaker content types (text/csv with the label first and no
 * header, text/libsvm, application/jsonlines, application/x-recordio-protobuf); a malformed
 * input fails with the source name, the line (the record, for RecordIO) and the reason,
 * never a crash or a silent skip. Instance weights come from libsvm's "label:weight" and,
 * when asked for (XGBoost's csv_weights=1), from CSV's second column.
 *
 * Algorithms declare their hyperparameters (name, type, default, range — the tuning
 * issue builds its search spaces from them), parse hyperparameters.json's string map
 * into their own params struct, and name their metrics. Models save into a directory
 * (which becomes model.tar.gz).
 *
 * Threads: an algorithm's train/predict may use OpenMP with at most `threads` threads
 * (0 means all). Everything else here is single-threaded per call and keeps no global
 * mutable state; the registry is immutable.
 *
 * Ownership: lt_dataset and lt_algo_model are created by this module and freed with their
 * _free function; buffers passed in are borrowed for the call.
 */
#ifndef LT_ALGO_H
#define LT_ALGO_H

#include "base/base.h"

#include <stddef.h>
#include <stdint.h>

/* ---- data ---------------------------------------------------------------------------- */

typedef enum { LT_MATRIX_DENSE = 0, LT_MATRIX_CSR } lt_matrix_kind;

/* A feature matrix of n_rows x n_cols. Dense: values is (n_rows, n_cols) row-major,
 * NaN for missing. CSR: row_ptr (n_rows + 1), col_idx and values (nnz); absent entries
 * are missing (libsvm) — algorithms decide whether missing means zero. */
typedef struct lt_matrix {
    lt_matrix_kind kind;
    size_t n_rows;
    size_t n_cols;
    float *values;   /* dense: n_rows * n_cols; CSR: nnz */
    size_t *row_ptr; /* CSR only */
    uint32_t *col_idx; /* CSR only */
    size_t nnz;      /* CSR only */
} lt_matrix;

typedef struct lt_dataset {
    lt_matrix x;
    float *labels;  /* n_rows, or NULL for unlabeled data */
    float *weights; /* n_rows, or NULL when every instance weighs 1 */
} lt_dataset;

void lt_dataset_free(lt_dataset *ds);
/* A dense dataset of n_rows x n_cols, zero-filled, labels allocated when with_labels. */
lt_dataset *lt_dataset_new_dense(size_t n_rows, size_t n_cols, bool with_labels);
/* Converts CSR to dense in place (missing entries become `fill`). LT_ELIMIT when the
 * dense matrix would exceed max_bytes. */
int lt_dataset_densify(lt_dataset *ds, float fill, size_t max_bytes, lt_err *err);

typedef struct lt_read_options {
    const char *content_type; /* "text/csv", "text/csv;label_size=0", "text/libsvm",
                                 "application/jsonlines", "application/x-recordio-protobuf"
                                 (parameters after ';' allowed; label_size=0 makes RecordIO
                                 labels ignored) */
    const char *source_name;  /* for messages: a file name or "channel train" */
    size_t max_bytes;         /* memory the parsed dataset may take; 0: 8 GiB */
    int threads;              /* parse in parallel where the format allows; 0: all */
    bool csv_weights;         /* text/csv: label, instance weight, then the features (XGBoost's
                                 csv_weights=1); needs label_size=1. A weight must be a finite
                                 number >= 0. Other formats ignore it (libsvm's weights are
                                 always read from "label:weight"). */
} lt_read_options;

/* Parses a whole buffer. LT_EINVAL "<source>:<line>: <reason>" on malformed input. */
int lt_read_buffer(const char *data, size_t len, const lt_read_options *opt, lt_dataset **out,
                   lt_err *err);
/* Reads a file, or every regular file of a directory in name order (a channel), or a
 * FIFO (Pipe mode) as a stream. */
int lt_read_path(const char *path, const lt_read_options *opt, lt_dataset **out, lt_err *err);

/* One RecordIO frame (the framing read_recordio.c's top describes): magic 0xced7230a, a
 * length word whose top 3 bits are the continuation flag, the payload, padding to 4 bytes. */
typedef struct lt_recordio_frame {
    const unsigned char *payload; /* borrowed from the data */
    uint32_t length;              /* payload bytes */
    uint32_t flag;                /* 0 a whole record; 1, 2, 3 first, middle, last part */
    size_t next;                  /* offset of the next frame (len at the end) */
} lt_recordio_frame;

/* Reads the frame that starts at data[at] (at < len). LT_EINVAL "<why> at byte <at>..." for a
 * truncated header, a bad magic, a length past the end or a flag above 3. */
int lt_recordio_frame_read(const void *data, size_t len, size_t at, lt_recordio_frame *frame,
                           lt_err *err);

/* Appends x's rows to out as RecordIO-protobuf, as SageMaker's Python SDK writes them: one
 * record per row; features["values"] a Float32Tensor, dense (values) for a dense matrix, and
 * for CSR sparse (values, keys = column indices, shape = [n_cols]); label["values"] a
 * one-value Float32Tensor when labels (x->n_rows) is not NULL. Records are never split.
 * LT_EINVAL when x has rows but no columns; LT_ELIMIT when out's maximum or a record's
 * 2^29-byte limit would be passed (out then holds the records before). */
int lt_write_recordio_protobuf(const lt_matrix *x, const float *labels, lt_buf *out, lt_err *err);
/* Appends one RecordIO-protobuf record whose label map holds n Float32Tensors, keys[i] ->
 * values[i] (n_values[i] numbers), and no features: a built-in algorithm's inference
 * response for one row (label["score"], label["predicted_label"], ...). */
int lt_write_recordio_labels(const char *const *keys, float *const *values, const size_t *n_values,
                             size_t n, lt_buf *out, lt_err *err);

/* ---- algorithms ---------------------------------------------------------------------- */

typedef enum {
    LT_HP_INT = 0,
    LT_HP_FLOAT,
    LT_HP_CATEGORICAL,
    LT_HP_BOOL,
    LT_HP_INT_OR_AUTO, /* an integer in [min, max] or the word "auto" (lt_algo_hp_number
                          gives NaN for auto) */
    LT_HP_FLOAT_OR_WORD, /* a number in [min, max] or one of the words in choices ("auto",
                            "balanced"): lt_algo_hp_number gives NaN for a word,
                            lt_algo_hp_string the word */
} lt_hp_type;

/* One hyperparameter as SageMaker names it. */
typedef struct lt_hp_spec {
    const char *name;
    lt_hp_type type;
    const char *default_value; /* as the string hyperparameters.json would carry, or NULL
                                  when required */
    double min, max;           /* INT and FLOAT ranges (inclusive) */
    const char *const *choices; /* CATEGORICAL, FLOAT_OR_WORD: NULL-terminated */
    bool tunable;
} lt_hp_spec;

typedef struct lt_algo_model lt_algo_model;

/* One line of training progress in the form SageMaker prints ("train:msd", value). */
typedef void (*lt_algo_metric_fn)(void *ctx, const char *name, double value, int iteration);
/* One line of an algorithm's own training log, without the newline, in the form its
 * SageMaker container prints it (XGBoost: "[3]\ttrain-rmse:0.41\tvalidation-rmse:0.52",
 * which SageMaker's log pipeline shows with the tab as "#011"). ctx is metric_ctx. */
typedef void (*lt_algo_log_fn)(void *ctx, const char *line);

typedef struct lt_algo_train_args {
    const lt_dataset *train;
    const lt_dataset *validation; /* may be NULL: used during training (early stopping,
                                     model selection) by the algorithms that take one */
    const lt_dataset *test;       /* may be NULL: scored once after training with the final
                                     model (SageMaker's "test" channel); its metrics are named
                                     test:<metric> and the algorithm also logs SageMaker's
                                     "#test_score (algo-1) : ('<label>', <value>)" lines */
    const json_t *hyperparameters; /* object of string values, as hyperparameters.json */
    int threads;                   /* 0: all */
    lt_algo_metric_fn on_metric;   /* may be NULL */
    void *metric_ctx;
    lt_algo_log_fn on_log;         /* may be NULL */
} lt_algo_train_args;

typedef struct lt_algo {
    const char *name;               /* "kmeans" */
    const char *const *image_names; /* other names it answers to, NULL-terminated */
    const lt_hp_spec *hyperparameters; /* terminated by name == NULL */
    const char *const *content_types;  /* accepted for training and inference */
    const char *const *metrics;        /* "train:msd", ... */
    /* Validates hyperparameters (naming the bad one) and trains. */
    int (*train)(const lt_algo_train_args *args, lt_algo_model **out, lt_err *err);
    int (*save)(const lt_algo_model *model, const char *dir, lt_err *err);
    int (*load)(const char *dir, lt_algo_model **out, lt_err *err);
    /* How many numbers predict writes per row (model-dependent: k-means 2, PCA its
     * num_components). */
    size_t (*output_width)(const lt_algo_model *model);
    /* Writes (x->n_rows, output_width) numbers, row-major, into out. No allocation per
     * row: this is the batch-inference hot path. */
    int (*predict)(const lt_algo_model *model, const lt_matrix *x, int threads, double *out,
                   lt_err *err);
    /* Appends one row's inference record as a JSON object, SageMaker's response format
     * for the algorithm: {"closest_cluster":3,"distance_to_cluster":0.41}. */
    int (*format_json)(const lt_algo_model *model, const double *row, lt_buf *out, lt_err *err);
    void (*free)(lt_algo_model *model);
    /* Optional hooks; NULL means the default given. */
    /* The key of the JSON response's list: NULL means "predictions" (PCA: "projections"). */
    const char *json_list_key;
    /* The record for `Accept: application/json; verbose=true` (k-NN adds the neighbours'
     * labels and distances): NULL means format_json. */
    int (*format_json_verbose)(const lt_algo_model *model, const double *row, lt_buf *out,
                               lt_err *err);
    /* One text/csv line without the newline: NULL means every output number,
     * comma-separated (k-NN writes only predicted_label). */
    int (*format_csv)(const lt_algo_model *model, const double *row, lt_buf *out, lt_err *err);
    /* The response type for a request with no Accept (or star-slash-star): NULL means
     * application/json; XGBoost's container answers text/csv. */
    const char *default_accept;
    /* A request with no data (an empty or blank body) gets an empty answer instead of an
     * error: XGBoost's container answers it 204 No Content. */
    bool empty_request_ok;
} lt_algo;

/* The response type an Accept header asks of algo (its default_accept for none or
 * star-slash-star; algo may be NULL: application/json), or NULL when it is none of
 * application/json, application/jsonlines, text/csv, application/x-recordio-protobuf
 * (parameters after ';' are allowed: "application/json; verbose=true"). */
const char *lt_algo_response_type(const lt_algo *algo, const char *accept);
/* Appends n_rows predictions (predict's output) to body in the Accept's format:
 * {"predictions": [...]} (the algorithm's json_list_key), JSON lines, CSV lines, or
 * RecordIO-protobuf (one record a row, each member of the row's JSON record a label
 * Float32Tensor). LT_EINVAL for an Accept no algorithm answers. */
int lt_algo_format_predictions(const lt_algo *algo, const lt_algo_model *model, const double *out,
                               size_t n_rows, const char *accept, lt_buf *body, lt_err *err);

/* The registry, in a fixed order; lt_algo_find matches name and image_names. */
size_t lt_algo_count(void);
const lt_algo *lt_algo_at(size_t index);
const lt_algo *lt_algo_find(const char *name);

/* Checks a hyperparameter map against specs: unknown names, values of the wrong type or
 * out of range, missing required ones. LT_EINVAL naming the hyperparameter. */
int lt_algo_hp_check(const lt_hp_spec *specs, const json_t *hyperparameters, lt_err *err);
/* The value of a hyperparameter (from the map, else its default) as a number / string. */
double lt_algo_hp_number(const lt_hp_spec *specs, const json_t *hyperparameters,
                         const char *name);
const char *lt_algo_hp_string(const lt_hp_spec *specs, const json_t *hyperparameters,
                              const char *name);

#endif
