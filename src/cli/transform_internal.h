/*
 * The transform runner's parts, shared by its files:
 *   transform_runner.c  the job: state, model, input objects, outputs written to S3;
 *   transform_batch.c   one object: split into records (Line, RecordIO, None), batched
 *                       (SingleRecord, MultiRecord up to MaxPayloadInMB), the batches
 *                       predicted by up to MaxConcurrentTransforms threads, assembled in
 *                       input order;
 *   transform_records.c DataProcessing: InputFilter, JoinSource Input, OutputFilter.
 * A lt_cli__transform is set up once per job and then only read, by every batch thread.
 */
#ifndef LT_CLI_TRANSFORM_INTERNAL_H
#define LT_CLI_TRANSFORM_INTERNAL_H

#include "algo/algo.h"
#include "base/base.h"
#include "serve/serve.h"

typedef enum {
    LT_CLI__SPLIT_NONE = 0,
    LT_CLI__SPLIT_LINE,
    LT_CLI__SPLIT_RECORDIO,
} lt_cli__split;

typedef struct lt_cli__transform_dp lt_cli__transform_dp;

typedef struct lt_cli__transform {
    const lt_algo *algo;      /* a built-in algorithm's model, in-process; or */
    lt_algo_model *model;
    lt_serve_batch *batch;    /* any other model, through its serve programs */
    const char *content_type; /* what the records are: TransformInput.ContentType */
    const char *accept;       /* TransformOutput.Accept, or NULL */
    lt_cli__split split;
    bool single_record;       /* BatchStrategy SingleRecord */
    bool assemble_lines;      /* AssembleWith Line */
    size_t max_payload_bytes; /* MaxPayloadInMB (SIZE_MAX for 0: no limit) */
    int concurrency;          /* MaxConcurrentTransforms, >= 1 */
    int threads;              /* CPU threads one batch may use to parse and predict */
    lt_cli__transform_dp *dp; /* NULL without filters or join */
    /* Asked between batches, at most every LT_CLI__TRANSFORM_STOP_CHECK_MS: whether the
     * job's Stop came. NULL: never stop inside an object. */
    bool (*stop_asked)(void *ctx);
    void *stop_ctx;
} lt_cli__transform;

enum { LT_CLI__TRANSFORM_STOP_CHECK_MS = 200, LT_CLI__TRANSFORM_STOPPED = 1 };

/* Transforms one input object (data, len; named uri in messages) into out, in input order.
 * LT_EINVAL "<uri> record <n>: <why>" for a record the model or a filter refuses (the
 * lowest such record when batches run concurrently), or one larger than MaxPayloadInMB.
 * LT_CLI__TRANSFORM_STOPPED (positive) when tx->stop_asked said so between batches: out
 * is then incomplete and must not be written. */
int lt_cli__transform_object(const lt_cli__transform *tx, const char *data, size_t len,
                             const char *uri, lt_buf *out, lt_err *err);

/* Compiles the job's DataProcessing into *out; *out is NULL when it asks for nothing ("$"
 * filters, JoinSource None). builtin: the model is a built-in algorithm's, which reads JSON
 * lines as {"features": [...]}; a serve program gets what the filter selects as it is, in the
 * job's ContentType. LT_EINVAL naming the member for a filter outside the subset. */
int lt_cli__transform_dp_new(const json_t *job_doc, bool builtin, lt_cli__transform_dp **out,
                             lt_err *err);
void lt_cli__transform_dp_free(lt_cli__transform_dp *dp);
/* The content type the model is given, and the Accept it is asked for, under dp: records
 * go to the model one per line, and come back one per line. */
const char *lt_cli__transform_dp_model_type(const lt_cli__transform_dp *dp);
const char *lt_cli__transform_dp_model_accept(const lt_cli__transform_dp *dp);
/* InputFilter over a batch of records (data: whole lines) into model_in, one per line. */
int lt_cli__transform_dp_input(const lt_cli__transform_dp *dp, const char *data, size_t len,
                               const char *where, size_t first_record, lt_buf *model_in,
                               lt_err *err);
/* Joins each record of the batch with its line of model_out (JoinSource Input), applies
 * OutputFilter and appends the results to out, each ended by '\n' when lines is set. */
int lt_cli__transform_dp_output(const lt_cli__transform_dp *dp, const char *data, size_t len,
                                const char *model_out, size_t out_len, const char *where,
                                size_t first_record, bool lines, lt_buf *out, lt_err *err);

#endif
