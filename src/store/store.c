/* The store's public functions: argument checks and dispatch to the back end. */
#include "store/store_internal.h"

#include <stdlib.h>
#include <string.h>

struct lt_store {
    const lt_store__backend *be;
    void *impl;
};

int lt_store_open(lt_store **out, const char *path, lt_err *err)
{
    lt_store *store = lt_xcalloc(1, sizeof *store);
    store->be = &lt_store__sqlite;
    int rc = store->be->open(&store->impl, path, err);
    if (rc) {
        free(store);
        return rc;
    }
    int64_t nth = 0;
    const char *fault = getenv("LT_STORE_FAULT");
    if (fault && lt_parse_i64(fault, 0, UINT32_MAX, &nth, "LT_STORE_FAULT", NULL) == 0 && nth > 0)
        store->be->fault_inject(store->impl, (unsigned)nth);
    *out = store;
    return 0;
}

void lt_store_close(lt_store *store)
{
    if (!store) return;
    store->be->close(store->impl);
    free(store);
}

int lt_store_schema_version(lt_store *store)
{
    return store->be->schema_version(store->impl);
}

void lt_store_fault_inject(lt_store *store, unsigned nth)
{
    store->be->fault_inject(store->impl, nth);
}

int lt_store_txn_begin(lt_store *store, lt_err *err)
{
    return store->be->txn_begin(store->impl, err);
}

int lt_store_txn_commit(lt_store *store, lt_err *err)
{
    return store->be->txn_commit(store->impl, err);
}

void lt_store_txn_rollback(lt_store *store)
{
    store->be->txn_rollback(store->impl);
}

int lt_store_txn_end(lt_store *store, int rc, lt_err *err)
{
    if (rc) {
        store->be->txn_rollback(store->impl);
        return rc;
    }
    return store->be->txn_commit(store->impl, err);
}

void lt_store_resource_clear(lt_store_resource *res)
{
    free(res->kind);
    free(res->name);
    free(res->arn);
    free(res->status);
    free(res->parent);
    free(res->doc);
    memset(res, 0, sizeof *res);
}

int lt_store_resource_create(lt_store *store, const lt_store_resource *res, lt_err *err)
{
    if (!res->kind || !res->name || !res->arn || !res->doc)
        return lt_err_set(err, LT_EINTERNAL, "a resource needs kind, name, arn and doc");
    return store->be->resource_create(store->impl, res, err);
}

int lt_store_resource_get(lt_store *store, const char *kind, const char *name,
                          lt_store_resource *out, lt_err *err)
{
    return store->be->resource_get(store->impl, kind, name, out, err);
}

int lt_store_resource_doc(lt_store *store, const char *kind, const char *name, json_t **doc,
                          lt_err *err)
{
    lt_store_resource res = {0};
    int rc = lt_store_resource_get(store, kind, name, &res, err);
    if (!rc && lt_json_parse(res.doc, strlen(res.doc), doc, err) != 0) rc = LT_EINTERNAL;
    lt_store_resource_clear(&res);
    return rc;
}

int lt_store_resource_get_by_arn(lt_store *store, const char *arn, lt_store_resource *out,
                                 lt_err *err)
{
    return store->be->resource_get_by_arn(store->impl, arn, out, err);
}

int lt_store_resource_update(lt_store *store, const lt_store_resource *res, lt_err *err)
{
    return store->be->resource_update(store->impl, res, err);
}

int lt_store_resource_delete(lt_store *store, const char *kind, const char *name, lt_err *err)
{
    return store->be->resource_delete(store->impl, kind, name, err);
}

int lt_store_resource_list(lt_store *store, const lt_store_list_params *params,
                           lt_store_resource_fn fn, void *ctx, char **next_token, lt_err *err)
{
    *next_token = NULL;
    if (!params->kind) return lt_err_set(err, LT_EINTERNAL, "list needs a kind");
    if (params->limit < 1 || params->limit > 1000)
        return lt_err_set(err, LT_EINVAL, "page size must be between 1 and 1000");
    return store->be->resource_list(store->impl, params, fn, ctx, next_token, err);
}

int lt_store_relation_add(lt_store *store, const char *kind, const char *from_arn,
                          const char *to_arn, lt_err *err)
{
    return store->be->relation_add(store->impl, kind, from_arn, to_arn, err);
}

int lt_store_relation_remove(lt_store *store, const char *kind, const char *from_arn,
                             const char *to_arn, lt_err *err)
{
    return store->be->relation_remove(store->impl, kind, from_arn, to_arn, err);
}

int lt_store_relation_has(lt_store *store, const char *kind, const char *from_arn,
                          const char *to_arn, bool *yes, lt_err *err)
{
    return store->be->relation_has(store->impl, kind, from_arn, to_arn, yes, err);
}

int lt_store_relation_list(lt_store *store, const char *kind, const char *arn, bool from_side,
                           lt_store_relation_fn fn, void *ctx, lt_err *err)
{
    return store->be->relation_list(store->impl, kind, arn, from_side, fn, ctx, err);
}

int lt_store_relation_count(lt_store *store, const char *kind, const char *arn, bool from_side,
                            int64_t *count, lt_err *err)
{
    return store->be->relation_count(store->impl, kind, arn, from_side, count, err);
}

int lt_store_tags_put(lt_store *store, const char *arn, const json_t *tags, lt_err *err)
{
    if (!json_is_array(tags)) return lt_err_set(err, LT_EINVAL, "Tags must be a list");
    return store->be->tags_put(store->impl, arn, tags, err);
}

int lt_store_tags_list(lt_store *store, const char *arn, json_t **out, lt_err *err)
{
    return store->be->tags_list(store->impl, arn, out, err);
}

int lt_store_tags_delete(lt_store *store, const char *arn, const json_t *keys, lt_err *err)
{
    if (!json_is_array(keys)) return lt_err_set(err, LT_EINVAL, "TagKeys must be a list");
    return store->be->tags_delete(store->impl, arn, keys, err);
}

int lt_store_key_create(lt_store *store, const char *access_key_id, const char *secret,
                        const char *description, bool is_admin, lt_err *err)
{
    return store->be->key_create(store->impl, access_key_id, secret, description ? description : "",
                                 is_admin, err);
}

int lt_store_key_secret(lt_store *store, const char *access_key_id, char *secret, size_t cap,
                        lt_err *err)
{
    return store->be->key_secret(store->impl, access_key_id, secret, cap, err);
}

int lt_store_key_get(lt_store *store, const char *access_key_id, lt_store_key_fn fn, void *ctx,
                     lt_err *err)
{
    return store->be->key_get(store->impl, access_key_id, fn, ctx, err);
}

int lt_store_key_list(lt_store *store, lt_store_key_fn fn, void *ctx, lt_err *err)
{
    return store->be->key_list(store->impl, fn, ctx, err);
}

int lt_store_key_delete(lt_store *store, const char *access_key_id, lt_err *err)
{
    return store->be->key_delete(store->impl, access_key_id, err);
}
