/* store listing: each filter, each sort in both directions, keyset pagination (every row
 * once, distinct tokens, stable under concurrent inserts) and malformed tokens. */
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

static void check_list(lt_store *s, const lt_store_list_params *params, const char *expected,
                       int line)
{
    int rc = 0;
    char *got = list_page(s, params, NULL, &rc);
    if (rc != 0 || strcmp(got, expected) != 0)
        LT_FAIL_AT("(listing at line %d) rc=%d got \"%s\", expected \"%s\"", line, rc, got,
                   expected);
    free(got);
}
#define CHECK_LIST(s, params, expected) check_list((s), (params), (expected), __LINE__)

static void each_filter_narrows_the_listing(void)
{
    test_db db;
    lt_store *s = five(&db, "list-filters");
    lt_store_list_params p = {.kind = "experiment", .limit = 100};
    CHECK_LIST(s, &p, "Alpha,beta,Gamma,delta,EPSILON,");
    p.name_contains = "LT";
    CHECK_LIST(s, &p, "delta,");
    p.name_contains = "a";
    CHECK_LIST(s, &p, "Alpha,beta,Gamma,delta,");
    p.name_contains = NULL;
    p.status_equals = "Completed";
    CHECK_LIST(s, &p, "Alpha,EPSILON,");
    p.status_equals = NULL;
    p.parent_equals = "P1"; /* case-insensitive */
    CHECK_LIST(s, &p, "Alpha,beta,");
    p.parent_equals = NULL;
    p.created_after_ms = 20; /* exclusive bounds */
    p.created_before_ms = 50;
    CHECK_LIST(s, &p, "Gamma,delta,");
    p.created_after_ms = p.created_before_ms = 0;
    p.modified_after_ms = 10;
    p.modified_before_ms = 40;
    CHECK_LIST(s, &p, "Gamma,delta,");
    p.modified_after_ms = p.modified_before_ms = 0;
    /* Related in either direction. */
    lt_err err = {0};
    const char *alpha = "arn:aws:sagemaker:us-east-1:000000000000:experiment/alpha";
    const char *delta = "arn:aws:sagemaker:us-east-1:000000000000:experiment/delta";
    LT_CHECK_INT(lt_store_relation_add(s, "rel", alpha, "arn:x", &err), ==, 0);
    LT_CHECK_INT(lt_store_relation_add(s, "rel", "arn:x", delta, &err), ==, 0);
    LT_CHECK_INT(lt_store_relation_add(s, "other", "arn:x", "arn:..beta", &err), ==, 0);
    p.related_arn = "arn:x";
    p.relation = "rel";
    CHECK_LIST(s, &p, "Alpha,delta,");
    /* Filters combine. */
    p.status_equals = "InProgress";
    CHECK_LIST(s, &p, "delta,");
    p.name_contains = "zzz";
    CHECK_LIST(s, &p, "");
    drop_db(&db);
}

static void each_sort_orders_both_ways(void)
{
    test_db db;
    lt_store *s = five(&db, "list-sorts");
    static const struct {
        lt_store_sort sort;
        const char *asc, *desc;
    } cases[] = {
        {LT_STORE_SORT_NAME, "Alpha,beta,delta,EPSILON,Gamma,", "Gamma,EPSILON,delta,beta,Alpha,"},
        {LT_STORE_SORT_CREATION_TIME, "Alpha,beta,Gamma,delta,EPSILON,",
         "EPSILON,delta,Gamma,beta,Alpha,"},
        {LT_STORE_SORT_MODIFIED_TIME, "EPSILON,delta,Gamma,beta,Alpha,",
         "Alpha,beta,Gamma,delta,EPSILON,"},
        /* No status sorts first ascending; equal statuses go by name. */
        {LT_STORE_SORT_STATUS, "Gamma,Alpha,EPSILON,beta,delta,",
         "delta,beta,EPSILON,Alpha,Gamma,"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lt_store_list_params p = {.kind = "experiment", .limit = 100, .sort_by = cases[i].sort};
        CHECK_LIST(s, &p, cases[i].asc);
        p.descending = true;
        CHECK_LIST(s, &p, cases[i].desc);
        /* Pages of two give the same order. */
        p.limit = 2;
        lt_buf all;
        lt_buf_init(&all, 4096);
        char *token = NULL;
        int pages = 0;
        do {
            p.next_token = token;
            char *next = NULL;
            int rc = 0;
            char *page = list_page(s, &p, &next, &rc);
            LT_CHECK_INT(rc, ==, 0);
            lt_buf_puts(&all, page, NULL);
            free(page);
            free(token);
            token = next;
        } while (token && ++pages < 10);
        LT_CHECK_STR(all.data, cases[i].desc);
        lt_buf_free(&all);
    }
    drop_db(&db);
}

enum { ROWS = 55, PAGE = 10 };

/* Pages through `params` (rows named row-NN) and checks that rows 0..ROWS-1 are each seen
 * once and later ones at most once, every full page's token is distinct and the last page
 * has none. insert_after_page >= 0 inserts row-56 (oldest) and row-57 (newest) then. */
static void page_through(lt_store *s, lt_store_list_params *params, int expected_rows,
                         int insert_after_page)
{
    char *tokens[ROWS + 10] = {0};
    int n_tokens = 0, seen[ROWS + 10] = {0}, total = 0;
    char *token = NULL;
    for (int page = 0; page < 20; page++) {
        params->next_token = token;
        char *next = NULL;
        int rc = 0;
        char *names = list_page(s, params, &next, &rc);
        LT_CHECK_INT(rc, ==, 0);
        int in_page = 0;
        for (char *p = names, *comma; (comma = strchr(p, ',')); p = comma + 1) {
            *comma = '\0';
            int64_t idx = -1;
            if (lt_parse_i64(p + 4, 0, ROWS + 9, &idx, "row", NULL) != 0) {
                LT_FAIL_AT("unexpected row %s", p);
                continue;
            }
            seen[idx]++;
            in_page++;
            total++;
        }
        free(names);
        free(token);
        token = next;
        if (token) {
            LT_CHECK_INT(in_page, ==, PAGE);
            for (int i = 0; i < n_tokens; i++)
                if (strcmp(tokens[i], token) == 0) LT_FAIL_AT("token of page %d repeats", page);
            tokens[n_tokens++] = lt_xstrdup(token);
        }
        if (page == insert_after_page) {
            /* Rows sorting before and after the resume point arrive mid-listing. */
            LT_CHECK_INT(put_res(s, "experiment", "row-56", NULL, NULL, 0, 0), ==, 0);
            LT_CHECK_INT(put_res(s, "experiment", "row-57", NULL, NULL, 999, 999), ==, 0);
        }
        if (!token) break;
    }
    LT_CHECK(token == NULL);
    LT_CHECK_INT(total, ==, expected_rows);
    for (int i = 0; i < ROWS; i++)
        if (seen[i] != 1) LT_FAIL_AT("row %d seen %d times", i, seen[i]);
    for (int i = ROWS; i < ROWS + 10; i++)
        if (seen[i] > 1) LT_FAIL_AT("row %d seen %d times", i, seen[i]);
    for (int i = 0; i < n_tokens; i++)
        free(tokens[i]);
    free(token);
}

static void fifty_five_rows_in_pages_of_ten_are_each_seen_once(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "list-pages");
    for (int i = 0; i < ROWS; i++) {
        char name[16];
        snprintf(name, sizeof name, "row-%02d", i);
        /* Creation times collide in threes, so the name must break ties. */
        LT_CHECK_INT(put_res(s, "experiment", name, i % 2 ? "A" : "B", NULL, 100 + i / 3, 500 - i),
                     ==, 0);
    }
    lt_store_sort sorts[] = {LT_STORE_SORT_NAME, LT_STORE_SORT_CREATION_TIME,
                             LT_STORE_SORT_MODIFIED_TIME, LT_STORE_SORT_STATUS};
    for (size_t i = 0; i < 4; i++)
        for (int desc = 0; desc < 2; desc++) {
            lt_store_list_params p = {
                .kind = "experiment", .limit = PAGE, .sort_by = sorts[i], .descending = desc};
            page_through(s, &p, ROWS, -1);
        }
    drop_db(&db);
}

static void rows_inserted_while_paging_never_repeat_or_skip_a_seen_row(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "list-concurrent");
    for (int i = 0; i < ROWS; i++) {
        char name[16];
        snprintf(name, sizeof name, "row-%02d", i);
        LT_CHECK_INT(put_res(s, "experiment", name, NULL, NULL, 100 + i, 100 + i), ==, 0);
    }
    /* Ascending by creation: the early row is behind the cursor, the late one ahead. */
    lt_store_list_params p = {
        .kind = "experiment", .limit = PAGE, .sort_by = LT_STORE_SORT_CREATION_TIME};
    page_through(s, &p, ROWS + 1, 2);
    drop_db(&db);
}

static void malformed_or_foreign_tokens_are_invalid(void)
{
    test_db db;
    lt_store *s = five(&db, "list-tokens");
    lt_store_list_params p = {.kind = "experiment", .limit = 2};
    char *next = NULL;
    free(list_page(s, &p, &next, NULL));
    LT_CHECK(next != NULL);
    char *plain_b64 = lt_base64_encode((const uint8_t *)"hello", 5);
    char *bad_int = lt_base64_encode((const uint8_t *)"v1|0|a|ixyz|alpha", 17);
    const char *bad[] = {"!!!not base64!!!", plain_b64, bad_int, "AAAA"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p.next_token = bad[i];
        lt_err err = {0};
        char *tok = NULL;
        LT_CHECK_INT(lt_store_resource_list(s, &p, collect_names, NULL, &tok, &err), ==, LT_EINVAL);
        LT_CHECK_CONTAINS(err.msg, "Invalid NextToken");
        LT_CHECK(tok == NULL);
    }
    /* A token made for one sort or direction is refused by another. */
    p.next_token = next;
    p.sort_by = LT_STORE_SORT_NAME;
    LT_CHECK_INT(lt_store_resource_list(s, &p, collect_names, NULL, &(char *){NULL}, NULL), ==,
                 LT_EINVAL);
    p.sort_by = LT_STORE_SORT_CREATION_TIME;
    p.descending = true;
    LT_CHECK_INT(lt_store_resource_list(s, &p, collect_names, NULL, &(char *){NULL}, NULL), ==,
                 LT_EINVAL);
    p.descending = false;
    p.limit = 0;
    LT_CHECK_INT(lt_store_resource_list(s, &p, collect_names, NULL, &(char *){NULL}, NULL), ==,
                 LT_EINVAL);
    free(plain_b64);
    free(bad_int);
    free(next);
    drop_db(&db);
}

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
    LT_RUN(each_filter_narrows_the_listing);
    LT_RUN(each_sort_orders_both_ways);
    LT_RUN(fifty_five_rows_in_pages_of_ten_are_each_seen_once);
    LT_RUN(rows_inserted_while_paging_never_repeat_or_skip_a_seen_row);
    LT_RUN(malformed_or_foreign_tokens_are_invalid);
    LT_RUN(a_listing_inside_a_listing_callback_keeps_both_cursors);
    return lt_test_summary();
}
