/* store listing: a listing started inside another listing's callback (each keeps its own
 * cursor). Filters, sorts and paging are in test_store_paging.c. */
#include "store_test_util.h"

/* Five experiments with distinct names, times and statuses:
 *   name    created modified status     parent
 *   Alpha      10      50    Completed  P1
 *   beta       20      40    Failed     p1
 *   Gamma      30      30    (none)     P2
 *   delta      40      20    InProgress (none)
 *   EPSILON    50      10    Completed  P2      */
static lt_store *five(test_db *db, const char *name)
{
    lt_store *s = fresh_db(db, name);
    LT_CHECK_INT(put_res(s, "experiment", "Alpha", "Completed", "P1", 10, 50), ==, 0);
    LT_CHECK_INT(put_res(s, "experiment", "beta", "Failed", "p1", 20, 40), ==, 0);
    LT_CHECK_INT(put_res(s, "experiment", "Gamma", NULL, "P2", 30, 30), ==, 0);
    LT_CHECK_INT(put_res(s, "experiment", "delta", "InProgress", NULL, 40, 20), ==, 0);
    LT_CHECK_INT(put_res(s, "experiment", "EPSILON", "Completed", "P2", 50, 10), ==, 0);
    LT_CHECK_INT(put_res(s, "experiment-trial", "Alpha-trial", NULL, NULL, 1, 1), ==, 0);
    return s;
}

#define CHECK_LIST(s, params, expected) check_list((s), (params), (expected), __LINE__)

enum { ROWS = 55, PAGE = 10 };

/* Pages through `params` (rows named row-NN) and checks that rows 0..ROWS-1 are each seen
 * once and later ones at most once, every full page's token is distinct and the last page
 * has none. insert_after_page >= 0 inserts row-56 (oldest) and row-57 (newest) then. */
typedef struct nest {
    lt_store *store;
    lt_buf outer, inner;
} nest;

static int list_again(void *ctx, const lt_store_resource *res, lt_err *err)
{
    nest *n = ctx;
    lt_buf_puts(&n->outer, res->name, NULL);
    lt_buf_puts(&n->outer, ",", NULL);
    lt_store_list_params p = {.kind = "experiment", .limit = 2};
    char *next = NULL;
    int rc = lt_store_resource_list(n->store, &p, collect_names, &n->inner, &next, err);
    free(next);
    return rc;
}

static void a_listing_inside_a_listing_callback_keeps_both_cursors(void)
{
    test_db db;
    lt_store *s = five(&db, "list-nested");
    nest n = {.store = s};
    lt_buf_init(&n.outer, 4096);
    lt_buf_init(&n.inner, 4096);
    lt_store_list_params p = {.kind = "experiment", .limit = 100};
    char *next = NULL;
    lt_err err = {0};
    LT_CHECK_INT(lt_store_resource_list(s, &p, list_again, &n, &next, &err), ==, 0);
    LT_CHECK_STR(n.outer.data, "Alpha,beta,Gamma,delta,EPSILON,");
    LT_CHECK_INT(n.inner.len, ==, 5 * strlen("Alpha,beta,"));
    lt_buf_free(&n.outer);
    lt_buf_free(&n.inner);
    drop_db(&db);
}

int main(void)
{
    lt_log_set_level(LT_LOG_WARN);
    LT_RUN(a_listing_inside_a_listing_callback_keeps_both_cursors);
    return lt_test_summary();
}
