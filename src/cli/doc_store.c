/* The documents the cli-side runners (tuning, transform) change: a read-modify-write in
 * one store transaction, so a runner's change and an API call's (a
 * Stop) never overwrite each other. */
#include "cli/cli_internal.h"

#include <stdlib.h>
#include <string.h>

int lt_cli__doc_update(lt_store *store, const char *kind, const char *name, const char *parent,
                       const char *status_member, lt_cli__doc_fn fn, void *ctx, lt_err *err)
{
    int rc = lt_store_txn_begin(store, err);
    if (rc) return rc;
    lt_store_resource res = {0};
    json_t *doc = NULL;
    int r = lt_store_resource_get(store, kind, name, &res, err);
    if (!r && lt_json_parse(res.doc, strlen(res.doc), &doc, err) != 0) r = LT_EINTERNAL;
    if (!r) {
        fn(doc, ctx);
        int64_t now = lt_now_ms();
        json_object_set_new(doc, "LastModifiedTime", lt_json_epoch_ms(now));
        free(res.doc);
        res.doc = lt_json_dump(doc);
        if (status_member) {
            free(res.status);
            res.status = lt_xstrdup(lt_json_str(doc, status_member));
        }
        if (parent) {
            free(res.parent);
            res.parent = lt_xstrdup(parent);
        }
        res.modified_ms = now;
        r = lt_store_resource_update(store, &res, err);
    }
    json_decref(doc);
    lt_store_resource_clear(&res);
    return lt_store_txn_end(store, r, err);
}
