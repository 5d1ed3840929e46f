/* The generic resource engine: create, load, save and list over the store, so that a
 * resource family is mostly declarations. */
#include "api/resource.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int lt_api__resource_load(lt_api_ctx *ctx, const lt_api_kind *k, const char *name,
                          lt_store_resource *res, json_t **doc, lt_err *err)
{
    lt_err inner = {0};
    int rc = lt_store_resource_get(ctx->store, k->kind, name, res, &inner);
    if (rc == LT_ENOTFOUND) return lt_err_set(err, LT_ENOTFOUND, "%s '%s' does not exist.", k->label, name);
    if (rc) return lt_err_set(err, rc, "%s", inner.msg);
    rc = lt_json_parse(res->doc, strlen(res->doc), doc, err);
    if (rc) {
        lt_store_resource_clear(res);
        return lt_err_set(err, LT_EINTERNAL, "stored document of %s '%s' is corrupt", k->label, name);
    }
    return 0;
}

int lt_api__resource_describe(lt_api_ctx *ctx, const lt_api_kind *k, const char *name,
                              lt_err *err)
{
    lt_store_resource res = {0};
    lt_err inner = {0};
    int rc = lt_store_resource_get(ctx->store, k->kind, name, &res, &inner);
    if (rc == LT_ENOTFOUND) return lt_err_set(err, LT_ENOTFOUND, "%s '%s' does not exist.", k->label, name);
    if (rc) return lt_err_set(err, rc, "%s", inner.msg);
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

int lt_api__resource_create(lt_api_ctx *ctx, const lt_api_kind *k, const char *name,
                            json_t *doc, const char *status, const char *parent,
                            const json_t *tags, char **arn_out, lt_err *err)
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
        .status = (char *)status,
        .parent = (char *)parent,
        .creation_ms = ctx->now_ms,
        .modified_ms = ctx->now_ms,
        .doc = text,
    };
    lt_err inner = {0};
    int rc = lt_store_txn_begin(ctx->store, err);
    if (!rc) {
        rc = lt_store_resource_create(ctx->store, &res, &inner);
        if (rc == LT_ECONFLICT)
            lt_err_set(err, LT_ECONFLICT, "%s '%s' already exists.", k->label, name);
        else if (rc)
            lt_err_set(err, rc, "%s", inner.msg);
        if (!rc && tags && json_array_size(tags) > 0) rc = lt_store_tags_put(ctx->store, arn, tags, err);
        if (rc) lt_store_txn_rollback(ctx->store);
        else rc = lt_store_txn_commit(ctx->store, err);
    }
    free(text);
    if (rc) {
        free(arn);
        return rc;
    }
    *arn_out = arn;
    return 0;
}

int lt_api__resource_save(lt_api_ctx *ctx, const lt_api_kind *k, lt_store_resource *res,
                          json_t *doc, const char *status, lt_err *err)
{
    (void)k;
    stamp_modified(doc, ctx->now_ms);
    char *text = lt_json_dump(doc);
    free(res->doc);
    res->doc = text;
    char *new_status = status ? lt_xstrdup(status) : NULL; /* status may be res->status */
    free(res->status);
    res->status = new_status;
    res->modified_ms = ctx->now_ms;
    return lt_store_resource_update(ctx->store, res, err);
}

int lt_api__resource_update_members(lt_api_ctx *ctx, const lt_api_kind *k, const json_t *input,
                                    const char *const *members, json_t **output, lt_err *err)
{
    lt_store_resource res = {0};
    json_t *doc = NULL;
    int rc = lt_api__resource_load(ctx, k, lt_json_str(input, k->name_member), &res, &doc, err);
    if (rc) return rc;
    lt_api__copy_members(doc, input, members);
    rc = lt_api__resource_save(ctx, k, &res, doc, res.status, err);
    if (!rc) *output = lt_api__arn_output(k, res.arn);
    json_decref(doc);
    lt_store_resource_clear(&res);
    return rc;
}

int lt_api__resource_delete(lt_api_ctx *ctx, const lt_api_kind *k, const char *name,
                            lt_api_delete_guard_fn guard, json_t **output, lt_err *err)
{
    lt_store_resource res = {0};
    lt_err inner = {0};
    int rc = lt_store_resource_get(ctx->store, k->kind, name, &res, &inner);
    if (rc == LT_ENOTFOUND) return lt_err_set(err, LT_ENOTFOUND, "%s '%s' does not exist.", k->label, name);
    if (rc) return lt_err_set(err, rc, "%s", inner.msg);
    if (guard) rc = guard(ctx, &res, err);
    if (!rc) rc = lt_store_resource_delete(ctx->store, k->kind, res.name, err);
    if (!rc) *output = lt_api__arn_output(k, res.arn);
    lt_store_resource_clear(&res);
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

int lt_api__copy_time(json_t *doc, const json_t *input, const char *member, lt_err *err)
{
    double t = 0;
    int rc = lt_json_time(input, member, &t);
    if (rc == LT_ENOTFOUND) return 0;
    if (rc) return lt_err_set(err, LT_EINVAL, "%s is not a valid timestamp", member);
    json_object_set_new(doc, member, lt_json_epoch_ms((int64_t)llround(t * 1000.0)));
    return 0;
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

static int time_filter(const json_t *input, const char *member, int64_t *out_ms, lt_err *err)
{
    double t = 0;
    int rc = lt_json_time(input, member, &t);
    if (rc == LT_ENOTFOUND) return 0;
    if (rc) return lt_err_set(err, LT_EINVAL, "%s is not a valid timestamp", member);
    *out_ms = (int64_t)llround(t * 1000.0);
    if (*out_ms == 0) *out_ms = 1; /* 0 means "no filter" to the store */
    return 0;
}

int lt_api__resource_list(lt_api_ctx *ctx, const json_t *input, lt_store_list_params *params,
                          const char *result_member, lt_api_summary_fn summary,
                          json_t **output, lt_err *err)
{
    params->limit = (int)lt_json_int(input, "MaxResults", 10);
    params->next_token = lt_json_str(input, "NextToken");
    params->name_contains = lt_json_str(input, "NameContains");
    params->status_equals = lt_json_str(input, "StatusEquals");
    const char *sort_by = lt_json_str(input, "SortBy");
    params->sort_by = !sort_by                          ? LT_STORE_SORT_CREATION_TIME
                      : strcmp(sort_by, "Name") == 0    ? LT_STORE_SORT_NAME
                      : strcmp(sort_by, "Status") == 0  ? LT_STORE_SORT_STATUS
                      : LT_STORE_SORT_CREATION_TIME;
    const char *order = lt_json_str(input, "SortOrder");
    params->descending = !order || strcmp(order, "Descending") == 0;
    int rc = time_filter(input, "CreatedAfter", &params->created_after_ms, err);
    if (!rc) rc = time_filter(input, "CreationTimeAfter", &params->created_after_ms, err);
    if (!rc) rc = time_filter(input, "CreatedBefore", &params->created_before_ms, err);
    if (!rc) rc = time_filter(input, "CreationTimeBefore", &params->created_before_ms, err);
    if (rc) return rc;

    list_ctx lc = {json_array(), summary};
    char *next = NULL;
    rc = lt_store_resource_list(ctx->store, params, add_summary, &lc, &next, err);
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
