/*
 * Private to the api module: the generic resource engine. A resource is its document
 * (exactly what Describe returns, with times as epoch-second numbers) plus the store's
 * indexed columns (kind, name, ARN, status, parent, times in ms). A family declares its
 * lt_api_kind and writes only what is its own: which input members go into the document,
 * what a summary holds and what must be true before a Delete.
 *
 * Every read-modify-write the engine does (Update, Delete with its guard) runs inside one
 * store transaction, so two concurrent calls on the same resource serialise instead of
 * losing a change or deleting past a guard.
 */
#ifndef LT_API_RESOURCE_H
#define LT_API_RESOURCE_H

#include "api/api_internal.h"

typedef struct lt_api_kind {
    const char *kind;        /* store kind and ARN resource type: "experiment-trial" */
    const char *label;       /* for messages: "Trial" */
    const char *name_member; /* "TrialName" */
    const char *arn_member;  /* "TrialArn" */
    /* The store's status column from a document (NULL: the kind has no status). */
    const char *(*status_of)(const json_t *doc);
} lt_api_kind;

/* Loads a resource by name, or by ARN when `name` starts with "arn:" (members such as
 * DescribeTrialComponent's TrialComponentName accept either). LT_ENOTFOUND:
 * "<Label> '<name>' does not exist (ARN <arn>)." *doc is a new reference (caller decrefs);
 * res is filled (caller clears). */
int lt_api__resource_load(lt_api_ctx *ctx, const lt_api_kind *k, const char *name,
                          lt_store_resource *res, json_t **doc, lt_err *err);

/* Like lt_api__resource_load without parsing the document: fills res only. */
int lt_api__resource_find(lt_api_ctx *ctx, const lt_api_kind *k, const char *name,
                          lt_store_resource *res, lt_err *err);

/* Answers a Describe with the stored document (ctx->raw_output). LT_ENOTFOUND as above. */
int lt_api__resource_describe(lt_api_ctx *ctx, const lt_api_kind *k, const char *name, lt_err *err);

/* Stores a new resource from doc (borrowed; the engine adds the name, ARN, CreationTime,
 * LastModifiedTime, CreatedBy and LastModifiedBy) with its Tags (may be NULL), in one
 * transaction (nested in the caller's when it has one). The status column comes from
 * k->status_of. LT_ECONFLICT: "<Label> '<name>' already exists."; LT_ELIMIT for more than
 * 50 tags. *arn_out is new (caller frees). */
int lt_api__resource_create(lt_api_ctx *ctx, const lt_api_kind *k, const char *name, json_t *doc,
                            const char *parent, const json_t *tags, char **arn_out, lt_err *err);

/* Changes a loaded document in place for an Update; may fail (LT_EINVAL naming a member). */
typedef int (*lt_api_update_fn)(lt_api_ctx *ctx, const json_t *input, json_t *doc, lt_err *err);

/* Update*: in one transaction, loads the resource named by input's name member, copies
 * `members` (NULL-terminated) from input into its document, runs mutate (may be NULL),
 * stamps LastModifiedTime/By, saves it and answers {"<arn_member>": arn}. */
int lt_api__resource_update(lt_api_ctx *ctx, const lt_api_kind *k, const json_t *input,
                            const char *const *members, lt_api_update_fn mutate, json_t **output,
                            lt_err *err);

/* Refuses a Delete while something still depends on the resource: returns 0 to allow it,
 * or an error (LT_ECONFLICT with what to remove first). Runs inside the Delete's
 * transaction. */
typedef int (*lt_api_delete_guard_fn)(lt_api_ctx *ctx, const lt_store_resource *res, lt_err *err);

/* Delete*: in one transaction, loads `name`, runs guard (may be NULL), deletes it with its
 * tags and relations, and answers {"<arn_member>": arn}. */
int lt_api__resource_delete(lt_api_ctx *ctx, const lt_api_kind *k, const char *name,
                            lt_api_delete_guard_fn guard, json_t **output, lt_err *err);

/* Builds one summary from a stored document; returns a new object. */
typedef json_t *(*lt_api_summary_fn)(const json_t *doc);

/* Serves a List call. Reads from input, where the operation has them: MaxResults (default
 * 10), NextToken, SortBy (Name | CreationTime | LastModifiedTime | Status; default
 * CreationTime), SortOrder (default: params->descending as the caller preset it), CreatedAfter/CreatedBefore and
 * CreationTimeAfter/Before, LastModifiedTimeAfter/Before, NameContains, StatusEquals;
 * params' kind and family filters are the caller's. Answers {result_member: [...]} plus
 * NextToken while more rows follow. LT_EINVAL for a bad token or timestamp. */
int lt_api__resource_list(lt_api_ctx *ctx, const json_t *input, lt_store_list_params *params,
                          const char *result_member, lt_api_summary_fn summary, json_t **output,
                          lt_err *err);

/* {"<arn_member>": arn} */
json_t *lt_api__arn_output(const lt_api_kind *k, const char *arn);

/* Copies the members named (a NULL-terminated list) from input to doc when present. */
void lt_api__copy_members(json_t *doc, const json_t *input, const char *const *members);

/* Normalises a timestamp member (epoch number or ISO-8601) to an epoch-second number in
 * doc when input has it. LT_EINVAL names the member when it cannot be read. */
int lt_api__copy_time(json_t *doc, const json_t *input, const char *member, lt_err *err);

#endif
