/* Shared helpers of the store tests: a fresh database and one-line resource writes. */
#ifndef LT_STORE_TEST_UTIL_H
#define LT_STORE_TEST_UTIL_H

#include "store/store.h"
#include "test.h"

typedef struct test_db {
    char *dir;
    char *path;
    lt_store *store;
} test_db;

static inline lt_store *reopen(test_db *db)
{
    lt_err err = {0};
    if (lt_store_open(&db->store, db->path, &err) != 0) {
        fprintf(stderr, "lt_store_open(%s): %s\n", db->path, err.msg);
        abort();
    }
    return db->store;
}

static inline lt_store *fresh_db(test_db *db, const char *name)
{
    db->dir = lt_test_tmpdir(name);
    db->path = lt_xasprintf("%s/lathe.db", db->dir);
    return reopen(db);
}

static inline void drop_db(test_db *db)
{
    lt_store_close(db->store);
    lt_rm_rf(db->dir, NULL);
    free(db->dir);
    free(db->path);
    memset(db, 0, sizeof *db);
}

/* Creates kind/name with its ARN derived from the name; returns the store's code. */
static inline int put_res(lt_store *store, const char *kind, const char *name, const char *status,
                          const char *parent, int64_t created_ms, int64_t modified_ms)
{
    char *arn = lt_xasprintf("arn:aws:sagemaker:us-east-1:000000000000:%s/%s", kind, name);
    for (char *p = arn; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p + 32);
    char *doc = lt_xasprintf("{\"Name\":\"%s\"}", name);
    lt_store_resource res = {.kind = (char *)kind,
                             .name = (char *)name,
                             .arn = arn,
                             .status = (char *)status,
                             .parent = (char *)parent,
                             .creation_ms = created_ms,
                             .modified_ms = modified_ms,
                             .doc = doc};
    lt_err err = {0};
    int rc = lt_store_resource_create(store, &res, &err);
    free(arn);
    free(doc);
    return rc;
}

/* A list callback that appends "name," to an lt_buf. */
static inline int collect_names(void *ctx, const lt_store_resource *res, lt_err *err)
{
    (void)err;
    lt_buf_puts(ctx, res->name, NULL);
    lt_buf_puts(ctx, ",", NULL);
    return 0;
}

/* Lists one page of params into "a,b,c," (caller frees); *next gets the token or NULL. */
static inline char *list_page(lt_store *store, const lt_store_list_params *params, char **next,
                              int *rc_out)
{
    lt_buf names;
    lt_buf_init(&names, 1 << 20);
    lt_buf_puts(&names, "", NULL);
    lt_err err = {0};
    char *token = NULL;
    int rc = lt_store_resource_list(store, params, collect_names, &names, &token, &err);
    if (rc_out) *rc_out = rc;
    if (next)
        *next = token;
    else
        free(token);
    return lt_buf_take(&names);
}

#endif
