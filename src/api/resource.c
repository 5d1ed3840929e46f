/* The generic resource engine: create, load, update, delete and list over the store, so
 * that a resource family is mostly declarations. */
#include "api/resource.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Rewrites a store error for the client: "not found" names the resource and its ARN. */
static int lookup_failed(lt_api_ctx *ctx, const lt_api_kind *k, const char *name, bool by_arn,
                         int rc, const lt_err *inner, lt_err *err)
{
    if (rc != LT_ENOTFOUND) return lt_err_set(err, rc, "%s", inner->msg);
    char *arn = by_arn ? lt_xstrdup(name) : lt_api__arn(ctx->api, k->kind, name);
    lt_err_set(err, LT_ENOTFOUND, "%s '%s' does not exist (ARN %s).", k->label, name, arn);
    free(arn);
    return LT_ENOTFOUND;
}

int lt_api__resource_find(lt_api_ctx *ctx, const lt_api_kind *k, const char *name,
                          lt_store_resource *res, lt_err *err)
{
    lt_err inner = {0};
    bool by_arn = lt_str_starts_with(name, "arn:");
    int rc = by_arn ? lt_store_resource_get_by_arn(ctx->store, name, res, &inner)
                    : lt_store_resource_get(ctx->store, k->kind, name, res, &inner);
    if (!rc && by_arn && strcmp(res->kind, k->kind) != 0) {
        lt_store_resource_clear(res);
        rc = LT_ENOTFOUND;
    }
    return rc ? lookup_failed(ctx, k, name, by_arn, rc, &inner, err) : 0;
}

int lt_api__resource_load(lt_api_ctx *ctx, const lt_api_kind *k, const char *name,
                          lt_store_resource *res, json_t **doc, lt_err *err)
{
    int rc = lt_api__resource_find(ctx, k, name, res, err);
    if (rc) return rc;
    if (lt_json_parse(res->doc, strlen(res->doc), doc, NULL) != 0) {
        lt_store_resource_clear(res);
        return lt_err_set(err, LT_EINTERNAL, "stored document of %s '%s' is corrupt", k->label,
                          name);
    }
    return 0;
}

int lt_api__resource_describe(lt_api_ctx *ctx, const lt_api_kind *k, const char *name, lt_err *err)
{
    lt_store_resource res = {0};
    int rc = lt_api__resource_find(ctx, k, name, &res, err);
    if (rc) return rc;
    ctx->raw_output = res.doc;
    res.doc = NULL;
    lt_store_resource_clear(&res);
    return 0;
}

static void stamp_modified(json_t *doc, int64_t now_ms)
{
    json_object_set_new(doc, "LastModifiedTime", lt_json_epoch_ms(now_ms));
    json_object_set_new(doc, "LastModifiedBy", json_object());
}

int lt_api__resource_create(lt_api_ctx *ctx, const lt_api_kind *k, const char *name, json_t *doc,
                            const char *parent, const json_t *tags, char **arn_out, lt_err *err)
{
    char *arn = lt_api__arn(ctx->api, k->kind, name);
    json_object_set_new(doc, k->name_member, json_string(name));
    json_object_set_new(doc, k->arn_member, json_string(arn));
    json_object_set_new(doc, "CreationTime", lt_json_epoch_ms(ctx->now_ms));
    json_object_set_new(doc, "CreatedBy", json_object());
    stamp_modified(doc, ctx->now_ms);
    char *text = lt_json_dump(doc);
    lt_store_resource res = {
        .kind = (char *)k->kind,
        .name = (char *)name,
        .arn = arn,
        .status = k->status_of ? (char *)k->status_of(doc) : NULL,
        .parent = (char *)parent,
        .creation_ms = ctx->now_ms,
        .modified_ms = ctx->now_ms,
        .doc = text,
    };
    int rc = lt_store_txn_begin(ctx->store, err);
    if (!rc) {
        lt_err inner = {0};
        int work = lt_store_resource_create(ctx->store, &res, &inner);
        if (work == LT_ECONFLICT)
            lt_err_set(err, LT_ECONFLICT, "%s '%s' already exists.", k->label, name);
        else if (work)
            lt_err_set(err, work, "%s", inner.msg);
        if (!work && json_array_size(tags) > 0)
            work = lt_store_tags_put(ctx->store, arn, tags, err);
        rc = lt_store_txn_end(ctx->store, work, err);
    }
    free(text);
    if (rc) {
        free(arn);
        return rc;
    }
    *arn_out = arn;
    return 0;
}

/* Load, change, save: the body of an Update's transaction. */
static int update_in_txn(lt_api_ctx *ctx, const lt_api_kind *k, const json_t *input,
                         const char *const *members, lt_api_update_fn mutate, json_t **output,
                         lt_err *err)
{
    lt_store_resource res = {0};
    json_t *doc = NULL;
    int rc = lt_api__resource_load(ctx, k, lt_json_str(input, k->name_member), &res, &doc, err);
    if (rc) return rc;
    if (members) lt_api__copy_members(doc, input, members);
    if (mutate) rc = mutate(ctx, input, doc, err);
    if (!rc) {
        stamp_modified(doc, ctx->now_ms);
        char *text = lt_json_dump(doc);
        const char *status = k->status_of ? k->status_of(doc) : res.status;
        lt_store_resource upd = res;
        upd.doc = text;
        upd.status = (char *)status;
        upd.modified_ms = ctx->now_ms;
        rc = lt_store_resource_update(ctx->store, &upd, err);
        free(text);
    }
    if (!rc) *output = lt_api__arn_output(k, res.arn);
    json_decref(doc);
    lt_store_resource_clear(&res);
    return rc;
}

int lt_api__resource_update(lt_api_ctx *ctx, const lt_api_kind *k, const json_t *input,
                            const char *const *members, lt_api_update_fn mutate, json_t **output,
                            lt_err *err)
{
    int rc = lt_store_txn_begin(ctx->store, err);
    if (rc) return rc;
    rc = lt_store_txn_end(ctx->store, update_in_txn(ctx, k, input, members, mutate, output, err),
                          err);
    if (rc && *output) {
        json_decref(*output); /* the commit failed after the answer was built */
        *output = NULL;
    }
    return rc;
}

static int delete_in_txn(lt_api_ctx *ctx, const lt_api_kind *k, const char *name,
                         lt_api_delete_guard_fn guard, json_t **output, lt_err *err)
{
    lt_store_resource res = {0};
    int rc = lt_api__resource_find(ctx, k, name, &res, err);
    if (rc) return rc;
    if (guard) rc = guard(ctx, &res, err);
    if (!rc) rc = lt_store_resource_delete(ctx->store, k->kind, res.name, err);
    if (!rc) *output = lt_api__arn_output(k, res.arn);
    lt_store_resource_clear(&res);
    return rc;
}

int lt_api__resource_delete(lt_api_ctx *ctx, const lt_api_kind *k, const char *name,
                            lt_api_delete_guard_fn guard, json_t **output, lt_err *err)
{
    int rc = lt_store_txn_begin(ctx->store, err);
    if (rc) return rc;
    rc = lt_store_txn_end(ctx->store, delete_in_txn(ctx, k, name, guard, output, err), err);
    if (rc && *output) {
        json_decref(*output);
        *output = NULL;
    }
    return rc;
}

json_t *lt_api__arn_output(const lt_api_kind *k, const char *arn)
{
    json_t *out = json_object();
    json_object_set_new(out, k->arn_member, json_string(arn));
    return out;
}

void lt_api__copy_members(json_t *doc, const json_t *input, const char *const *members)
{
    for (const char *const *m = members; *m; m++) {
        json_t *v = json_object_get(input, *m);
        if (v && !json_is_null(v)) json_object_set(doc, *m, v);
    }
}

/* A timestamp member in milliseconds. LT_ENOTFOUND when absent. Years beyond 9999 are
 * refused rather than overflowing the millisecond count. */
static int time_ms(const json_t *input, const char *member, int64_t *out_ms, lt_err *err)
{
    double t = 0;
    int rc = lt_json_time(input, member, &t);
    if (rc == LT_ENOTFOUND) return rc;
    if (rc || fabs(t) > 253402300799.0)
        return lt_err_set(err, LT_EINVAL, "%s is not a valid timestamp", member);
    *out_ms = (int64_t)llround(t * 1000.0);
    return 0;
}

int lt_api__copy_time(json_t *doc, const json_t *input, const char *member, lt_err *err)
{
    int64_t ms = 0;
    int rc = time_ms(input, member, &ms, err);
    if (rc == LT_ENOTFOUND) return 0;
    if (!rc) json_object_set_new(doc, member, lt_json_epoch_ms(ms));
    return rc;
}

typedef struct list_ctx {
    json_t *items;
    lt_api_summary_fn summary;
} list_ctx;

static int add_summary(void *ctx, const lt_store_resource *res, lt_err *err)
{
    list_ctx *lc = ctx;
    json_t *doc = NULL;
    if (lt_json_parse(res->doc, strlen(res->doc), &doc, NULL) != 0)
        return lt_err_set(err, LT_EINTERNAL, "stored document of %s is corrupt", res->arn);
    json_array_append_new(lc->items, lc->summary(doc));
    json_decref(doc);
    return 0;
}

/* A list filter bound; the store reads 0 as "no bound", so a bound at the epoch itself
 * moves by a millisecond (no resource is that old). */
static int time_filter(const json_t *input, const char *member, int64_t *out_ms, lt_err *err)
{
    int rc = time_ms(input, member, out_ms, err);
    if (rc == LT_ENOTFOUND) return 0;
    if (!rc && *out_ms == 0) *out_ms = 1;
    return rc;
}

static lt_store_sort sort_from(const char *sort_by)
{
    static const struct {
        const char *name;
        lt_store_sort sort;
    } sorts[] = {{"Name", LT_STORE_SORT_NAME},
                 {"Status", LT_STORE_SORT_STATUS},
                 {"LastModifiedTime", LT_STORE_SORT_MODIFIED_TIME}};
    for (size_t i = 0; sort_by && i < sizeof sorts / sizeof sorts[0]; i++)
        if (strcmp(sort_by, sorts[i].name) == 0) return sorts[i].sort;
    return LT_STORE_SORT_CREATION_TIME;
}

int lt_api__resource_list(lt_api_ctx *ctx, const json_t *input, lt_store_list_params *params,
                          const char *result_member, lt_api_summary_fn summary, json_t **output,
                          lt_err *err)
{
    params->limit = (int)lt_json_int(input, "MaxResults", 10);
    params->next_token = lt_json_str(input, "NextToken");
    params->name_contains = lt_json_str(input, "NameContains");
    params->status_equals = lt_json_str(input, "StatusEquals");
    params->sort_by = sort_from(lt_json_str(input, "SortBy"));
    const char *order = lt_json_str(input, "SortOrder");
    /* Without SortOrder, the caller's preset is the operation's documented default. */
    if (order) params->descending = strcmp(order, "Descending") == 0;
    const struct {
        const char *member;
        int64_t *bound;
    } times[] = {{"CreatedAfter", &params->created_after_ms},
                 {"CreationTimeAfter", &params->created_after_ms},
                 {"CreatedBefore", &params->created_before_ms},
                 {"CreationTimeBefore", &params->created_before_ms},
                 {"LastModifiedTimeAfter", &params->modified_after_ms},
                 {"LastModifiedTimeBefore", &params->modified_before_ms}};
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        int rc = time_filter(input, times[i].member, times[i].bound, err);
        if (rc) return rc;
    }
    list_ctx lc = {json_array(), summary};
    char *next = NULL;
    int rc = lt_store_resource_list(ctx->store, params, add_summary, &lc, &next, err);
    if (rc) {
        json_decref(lc.items);
        return rc;
    }
    json_t *out = json_object();
    json_object_set_new(out, result_member, lc.items);
    if (next) json_object_set_new(out, "NextToken", json_string(next));
    free(next);
    *output = out;
    return 0;
}
