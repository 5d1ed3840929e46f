/* Private to the store module: the back-end interface that store.c dispatches through.
 * Each member mirrors the public function of the same name in store.h, with the
 * back end's own state in place of the lt_store. */
#ifndef LT_STORE_INTERNAL_H
#define LT_STORE_INTERNAL_H

#include "store/store.h"

typedef struct lt_store__backend {
    const char *name;
    int (*open)(void **impl, const char *path, lt_err *err);
    void (*close)(void *impl);
    int (*schema_version)(void *impl);
    int (*txn_begin)(void *impl, lt_err *err);
    int (*txn_commit)(void *impl, lt_err *err);
    void (*txn_rollback)(void *impl);
    void (*fault_inject)(void *impl, unsigned nth);
    int (*resource_create)(void *impl, const lt_store_resource *res, lt_err *err);
    int (*resource_get)(void *impl, const char *kind, const char *name, lt_store_resource *out,
                        lt_err *err);
    int (*resource_get_by_arn)(void *impl, const char *arn, lt_store_resource *out, lt_err *err);
    int (*resource_update)(void *impl, const lt_store_resource *res, lt_err *err);
    int (*resource_delete)(void *impl, const char *kind, const char *name, lt_err *err);
    int (*resource_list)(void *impl, const lt_store_list_params *params, lt_store_resource_fn fn,
                         void *ctx, char **next_token, lt_err *err);
    int (*relation_add)(void *impl, const char *kind, const char *from_arn, const char *to_arn,
                        lt_err *err);
    int (*relation_remove)(void *impl, const char *kind, const char *from_arn, const char *to_arn,
                           lt_err *err);
    int (*relation_has)(void *impl, const char *kind, const char *from_arn, const char *to_arn,
                        bool *yes, lt_err *err);
    int (*relation_count)(void *impl, const char *kind, const char *arn, bool from_side,
                          int64_t *count, lt_err *err);
    int (*relation_list)(void *impl, const char *kind, const char *arn, bool from_side,
                         lt_store_relation_fn fn, void *ctx, lt_err *err);
    int (*tags_put)(void *impl, const char *arn, const json_t *tags, lt_err *err);
    int (*tags_list)(void *impl, const char *arn, json_t **out, lt_err *err);
    int (*tags_delete)(void *impl, const char *arn, const json_t *keys, lt_err *err);
    int (*key_create)(void *impl, const char *id, const char *secret, const char *description,
                      bool is_admin, lt_err *err);
    int (*key_secret)(void *impl, const char *id, char *secret, size_t cap, lt_err *err);
    int (*key_get)(void *impl, const char *id, lt_store_key_fn fn, void *ctx, lt_err *err);
    int (*key_list)(void *impl, lt_store_key_fn fn, void *ctx, lt_err *err);
    int (*key_delete)(void *impl, const char *id, lt_err *err);
} lt_store__backend;

extern const lt_store__backend lt_store__sqlite;

/* Pagination tokens shared by back ends: base64 of "v1|<sort>|<dir>|<i|s><value>|<name>". */
char *lt_store__token_encode(const lt_store_list_params *params, bool int_value, int64_t ival,
                             const char *sval, const char *name_lc);
/* Decodes into the caller's buffers; LT_EINVAL "Invalid NextToken" when malformed or made
 * for another sort. *sval and *name_lc point into *scratch (caller frees). */
int lt_store__token_decode(const lt_store_list_params *params, const char *token, bool *int_value,
                           int64_t *ival, char **sval, char **name_lc, char **scratch, lt_err *err);

#endif
