/*
 * Private to the api module: the generic resource engine. A resource is its document
 * (exactly what Describe returns, with times as epoch-second numbers) plus the store's
 * indexed columns. A family declares its lt_api_kind and writes only what is its own:
 * which input members go into the document and what a summary holds.
 */
#ifndef LT_API_RESOURCE_H
#define LT_API_RESOURCE_H

#include "api/api_internal.h"

typedef struct lt_api_kind {
    const char *kind;        /* store kind and ARN resource type: "experiment-trial" */
    const char *label;       /* for messages: "Trial" */
    const char *name_member; /* "TrialName" */
    const char *arn_member;  /* "TrialArn" */
} lt_api_kind;

/* Loads a resource by name. LT_ENOTFOUND: "<Label> '<name>' does not exist." *doc is a
 * new reference (caller decrefs); res is filled (caller clears). */
int lt_api__resource_load(lt_api_ctx *ctx, const lt_api_kind *k, const char *name,
                          lt_store_resource *res, json_t **doc, lt_err *err);

/* Answers a Describe with the stored document (ctx->raw_output). LT_ENOTFOUND as above. */
int lt_api__resource_describe(lt_api_ctx *ctx, const lt_api_kind *k, const char *name,
                              lt_err *err);

/* Stores a new resource from doc (borrowed; the engine adds the name, ARN, CreationTime,
 * LastModifiedTime, CreatedBy and LastModifiedBy) with its Tags (may be NULL), in one
 * transaction. LT_ECONFLICT: "<Label> '<name>' already exists." *arn_out is new. */
int lt_api__resource_create(lt_api_ctx *ctx, const lt_api_kind *k, const char *name,
                            json_t *doc, const char *status, const char *parent,
                            const json_t *tags, char **arn_out, lt_err *err);

/* Writes doc (borrowed) back over res, stamping LastModifiedTime/By. */
int lt_api__resource_save(lt_api_ctx *ctx, const lt_api_kind *k, lt_store_resource *res,
                          json_t *doc, const char *status, lt_err *err);

/* Update*: loads `name`, copies `members` (NULL-terminated) from input into its document,
 * saves it and answers {"<arn_member>": arn}. */
int lt_api__resource_update_members(lt_api_ctx *ctx, const lt_api_kind *k, const json_t *input,
                                    const char *const *members, json_t **output, lt_err *err);

/* Refuses a Delete while something still depends on the resource: returns 0 to allow it,
 * or an error (LT_ECONFLICT with what to remove first). */
typedef int (*lt_api_delete_guard_fn)(lt_api_ctx *ctx, const lt_store_resource *res,
                                      lt_err *err);

/* Delete*: loads `name`, runs guard (may be NULL), deletes it with its tags and relations,
 * and answers {"<arn_member>": arn}. */
int lt_api__resource_delete(lt_api_ctx *ctx, const lt_api_kind *k, const char *name,
                            lt_api_delete_guard_fn guard, json_t **output, lt_err *err);

/* Builds one summary from a stored document; returns a new object. */
typedef json_t *(*lt_api_summary_fn)(const json_t *doc);

/* Serves a List call: reads MaxResults (default 10), NextToken, SortBy (Name |
 * CreationTime | Status), SortOrder (default Descending), CreatedAfter/Before and
 * NameContains/StatusEquals where the operation has them into params (whose kind and
 * family filters the caller has set), and answers {result_member: [...], NextToken}. */
int lt_api__resource_list(lt_api_ctx *ctx, const json_t *input, lt_store_list_params *params,
                          const char *result_member, lt_api_summary_fn summary,
                          json_t **output, lt_err *err);

/* {"<arn_member>": arn} */
json_t *lt_api__arn_output(const lt_api_kind *k, const char *arn);

/* Copies the members named (a NULL-terminated list) from input to doc when present. */
void lt_api__copy_members(json_t *doc, const json_t *input, const char *const *members);

/* Normalises a timestamp member (epoch number or ISO-8601) to an epoch number in doc.
 * LT_EINVAL names the member when it cannot be read. */
int lt_api__copy_time(json_t *doc, const json_t *input, const char *member, lt_err *err);

#endif
