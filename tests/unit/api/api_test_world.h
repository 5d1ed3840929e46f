/* Shared by the api tests: an lt_api over a fresh store and object store in a scratch
 * directory, opened and closed in one line each. */
#ifndef LT_API_TEST_WORLD_H
#define LT_API_TEST_WORLD_H

#include "api/api.h"
#include "test.h"

typedef struct {
    char *dir;
    lt_store *store;
    lt_blob *blob;
    lt_api *api;
} world;

static inline void world_open(world *w, const char *name)
{
    lt_err err = {0};
    w->dir = lt_test_tmpdir(name);
    char *db = lt_xasprintf("%s/lathe.db", w->dir);
    char *objects = lt_xasprintf("%s/objects", w->dir);
    lt_api_config cfg = {.region = "us-east-1", .account_id = "000000000000"};
    if (lt_store_open(&w->store, db, &err) || lt_blob_open(&w->blob, objects, &err) ||
        lt_api_open(&w->api, w->store, w->blob, &cfg, &err)) {
        fprintf(stderr, "cannot open the api over %s: %s\n", w->dir, err.msg);
        abort();
    }
    free(db);
    free(objects);
}

static inline void world_close(world *w)
{
    lt_api_close(w->api);
    lt_blob_close(w->blob);
    lt_store_close(w->store);
    lt_rm_rf(w->dir, NULL);
    free(w->dir);
}

#endif
