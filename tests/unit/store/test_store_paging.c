/* store (src/store/store.h): lt_store_resource_list — every filter, every sort in both
 * directions with ties broken by the name, keyset pagination and its tokens. Expected
 * orders are written out by hand from the fixture below. */
#include "store_test_util.h"

/* ---- helpers ------------------------------------------------------------------------ */

/* ARN "arn:t:<kind>/<name>" exactly as given. */
static int put(lt_store *s, const char *kind, const char *name, const char *status,
               const char *parent, int64_t created, int64_t modified)
{
    char *arn = lt_xasprintf("arn:t:%s/%s", kind, name);
    lt_store_resource r = {.kind = (char *)kind,
                           .name = (char *)name,
                           .arn = arn,
                           .status = (char *)status,
                           .parent = (char *)parent,
                           .creation_ms = created,
                           .modified_ms = modified,
                           .doc = "{}"};
    lt_err err = {0};
    int rc = lt_store_resource_create(s, &r, &err);
    if (rc) LT_FAIL_AT("create %s/%s: %s", kind, name, err.msg);
    free(arn);
    return rc;
}

static int count_row(void *ctx, const lt_store_resource *res, lt_err *err)
{
    (void)res;
    (void)err;
    (*(int *)ctx)++;
    return 0;
}

static int append_name(void *ctx, const lt_store_resource *res, lt_err *err)
{
    (void)err;
    lt_buf_puts(ctx, res->name, NULL);
    lt_buf_puts(ctx, ",", NULL);
    return 0;
}

/* One page as "a,b,c," (caller frees); *next gets the token (or NULL), *rc the result. */
static char *page(lt_store *s, const lt_store_list_params *p, char **next, int *rc)
{
    lt_buf names;
    lt_buf_init(&names, 1 << 20);
    lt_buf_puts(&names, "", NULL);
    char *token = NULL;
    lt_err err = {0};
    *rc = lt_store_resource_list(s, p, append_name, &names, &token, &err);
    if (next)
        *next = token;
    else
        free(token);
    return lt_buf_take(&names);
}

/* ---- the fixture ----------------------------------------------------------------------
 *   name     status      parent  created  modified
 *   alpha    Completed   ExpA    1000     5000
 *   bravo    InProgress  expa    2000     4000
 *   charlie  Completed   ExpB    3000     2000
 *   delta    InProgress  -       3000     2000
 *   echo     Failed      ExpB    5000     1000
 * plus "alpha2" of another kind (never listed with kind "k"), and relations:
 *   member: alpha -> X, X -> echo;  other: bravo -> X;  member: charlie -> Y.
 */
static void seed(lt_store *s)
{
    put(s, "k", "alpha", "Completed", "ExpA", 1000, 5000);
    put(s, "k", "bravo", "InProgress", "expa", 2000, 4000);
    put(s, "k", "charlie", "Completed", "ExpB", 3000, 2000);
    put(s, "k", "delta", "InProgress", NULL, 3000, 2000);
    put(s, "k", "echo", "Failed", "ExpB", 5000, 1000);
    put(s, "other", "alpha2", "Completed", "ExpA", 1500, 1500);
    LT_CHECK_INT(lt_store_relation_add(s, "member", "arn:t:k/alpha", "arn:t:X", NULL), ==, 0);
    LT_CHECK_INT(lt_store_relation_add(s, "member", "arn:t:X", "arn:t:k/echo", NULL), ==, 0);
    LT_CHECK_INT(lt_store_relation_add(s, "other", "arn:t:k/bravo", "arn:t:X", NULL), ==, 0);
    LT_CHECK_INT(lt_store_relation_add(s, "member", "arn:t:k/charlie", "arn:t:Y", NULL), ==, 0);
}

/* ---- filters ------------------------------------------------------------------------ */

static void every_filter_selects_the_rows_it_names(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "list-filters");
    seed(s);
    static const struct {
        const char *what;
        lt_store_list_params p;
        const char *want; /* sorted by name, ascending */
    } cases[] = {
        {"no filter", {0}, "alpha,bravo,charlie,delta,echo,"},
        {"name contains, other case", {.name_contains = "HA"}, "alpha,charlie,"},
        {"name contains, inner", {.name_contains = "eLt"}, "delta,"},
        {"name contains, none", {.name_contains = "zz"}, ""},
        {"status equals", {.status_equals = "Completed"}, "alpha,charlie,"},
        {"status is exact", {.status_equals = "completed"}, ""},
        {"parent ignores case", {.parent_equals = "EXPA"}, "alpha,bravo,"},
        {"parent other", {.parent_equals = "expb"}, "charlie,echo,"},
        {"related, both directions",
         {.related_arn = "arn:t:X", .relation = "member"},
         "alpha,echo,"},
        {"related, other relation", {.related_arn = "arn:t:X", .relation = "other"}, "bravo,"},
        {"related, nothing", {.related_arn = "arn:t:Z", .relation = "member"}, ""},
        {"created after (exclusive)", {.created_after_ms = 2000}, "charlie,delta,echo,"},
        {"created before (exclusive)", {.created_before_ms = 3000}, "alpha,bravo,"},
        {"created between",
         {.created_after_ms = 1000, .created_before_ms = 5000},
         "bravo,charlie,delta,"},
        {"modified after", {.modified_after_ms = 2000}, "alpha,bravo,"},
        {"modified before", {.modified_before_ms = 2000}, "echo,"},
        {"status and parent", {.status_equals = "Completed", .parent_equals = "ExpB"}, "charlie,"},
        {"contains and created after",
         {.name_contains = "A", .created_after_ms = 1000},
         "bravo,charlie,delta,"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lt_store_list_params p = cases[i].p;
        p.kind = "k";
        p.sort_by = LT_STORE_SORT_NAME;
        p.limit = 100;
        char *next = NULL;
        int rc = -99;
        char *got = page(s, &p, &next, &rc);
        if (rc != 0 || strcmp(got, cases[i].want) != 0 || next)
            LT_FAIL_AT("%s: rc %d, got \"%s\", expected \"%s\"%s", cases[i].what, rc, got,
                       cases[i].want, next ? " (and a token)" : "");
        free(got);
        free(next);
    }
    drop_db(&db);
}

/* ---- sorts -------------------------------------------------------------------------- */

static void every_sort_orders_both_ways_with_ties_broken_by_name(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "list-sorts");
    seed(s);
    static const struct {
        lt_store_sort sort;
        bool desc;
        const char *want;
    } cases[] = {
        {LT_STORE_SORT_NAME, false, "alpha,bravo,charlie,delta,echo,"},
        {LT_STORE_SORT_NAME, true, "echo,delta,charlie,bravo,alpha,"},
        {LT_STORE_SORT_CREATION_TIME, false, "alpha,bravo,charlie,delta,echo,"},
        {LT_STORE_SORT_CREATION_TIME, true, "echo,delta,charlie,bravo,alpha,"},
        {LT_STORE_SORT_STATUS, false, "alpha,charlie,echo,bravo,delta,"},
        {LT_STORE_SORT_STATUS, true, "delta,bravo,echo,charlie,alpha,"},
        {LT_STORE_SORT_MODIFIED_TIME, false, "echo,charlie,delta,bravo,alpha,"},
        {LT_STORE_SORT_MODIFIED_TIME, true, "alpha,bravo,delta,charlie,echo,"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* Whole list in one page, then the same order one row per page. */
        for (int limit = 100; limit >= 1; limit -= 99) {
            lt_store_list_params p = {
                .kind = "k", .sort_by = cases[i].sort, .descending = cases[i].desc, .limit = limit};
            lt_buf all;
            lt_buf_init(&all, 1 << 16);
            lt_buf_puts(&all, "", NULL);
            char *token = NULL;
            int pages = 0, rc = 0;
            do {
                p.next_token = token;
                char *next = NULL;
                char *got = page(s, &p, &next, &rc);
                lt_buf_puts(&all, got, NULL);
                free(got);
                free(token);
                token = next;
            } while (!rc && token && ++pages < 20);
            free(token);
            if (rc || strcmp(all.data, cases[i].want) != 0)
                LT_FAIL_AT("sort %d %s, limit %d: rc %d, got \"%s\", expected \"%s\"",
                           (int)cases[i].sort, cases[i].desc ? "desc" : "asc", limit, rc, all.data,
                           cases[i].want);
            lt_buf_free(&all);
        }
    }
    drop_db(&db);
}

/* ---- pagination --------------------------------------------------------------------- */

enum { PAGE_ROWS = 55, PAGE_SIZE = 10 };

/* Rows p00..p54 whose sort keys tie often, so that ties straddle page boundaries. */
static void seed_many(lt_store *s, int rows)
{
    static const char *const statuses[] = {"A", "B", "C"};
    for (int i = 0; i < rows; i++) {
        char name[16];
        snprintf(name, sizeof name, "p%02d", i);
        put(s, "k", name, statuses[i % 3], NULL, 1000 + i % 7, 2000 + i % 5);
    }
}

static void pages_of_ten_see_every_row_once_in_every_order(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "list-pages");
    seed_many(s, PAGE_ROWS);
    static const lt_store_sort sorts[] = {LT_STORE_SORT_NAME, LT_STORE_SORT_CREATION_TIME,
                                          LT_STORE_SORT_STATUS, LT_STORE_SORT_MODIFIED_TIME};
    static const int want_sizes[] = {10, 10, 10, 10, 10, 5};
    for (size_t si = 0; si < 4; si++)
        for (int desc = 0; desc <= 1; desc++) {
            int seen[PAGE_ROWS] = {0};
            char *tokens[8] = {0};
            int n_pages = 0, rc = 0;
            char *token = NULL;
            lt_store_list_params p = {
                .kind = "k", .sort_by = sorts[si], .descending = desc, .limit = PAGE_SIZE};
            do {
                p.next_token = token;
                char *next = NULL;
                char *got = page(s, &p, &next, &rc);
                int rows = 0;
                for (char *c = got; rc == 0 && *c; c += 4, rows++) {
                    int idx = (c[1] - '0') * 10 + (c[2] - '0');
                    if (c[0] == 'p' && idx >= 0 && idx < PAGE_ROWS) seen[idx]++;
                }
                if (n_pages < 6) LT_CHECK_INT(rows, ==, want_sizes[n_pages]);
                free(got);
                tokens[n_pages++] = next;
                token = next;
            } while (!rc && token && n_pages < 8);
            LT_CHECK_INT(rc, ==, 0);
            LT_CHECK_INT(n_pages, ==, 6);
            for (int i = 0; i < 5; i++)
                LT_CHECK(tokens[i] != NULL);
            LT_CHECK(tokens[5] == NULL); /* no token on the last page */
            for (int i = 0; i < 5; i++)
                for (int j = i + 1; j < 5; j++)
                    if (tokens[i] && tokens[j] && strcmp(tokens[i], tokens[j]) == 0)
                        LT_FAIL_AT("sort %zu desc %d: pages %d and %d share a token", si, desc, i,
                                   j);
            for (int i = 0; i < PAGE_ROWS; i++)
                if (seen[i] != 1)
                    LT_FAIL_AT("sort %zu desc %d: row p%02d seen %d times", si, desc, i, seen[i]);
            for (int i = 0; i < 8; i++)
                free(tokens[i]);
        }
    drop_db(&db);
}

static void rows_ending_on_a_page_boundary_leave_no_token(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "list-boundary");
    seed_many(s, 20);
    lt_store_list_params p = {.kind = "k", .sort_by = LT_STORE_SORT_NAME, .limit = 10};
    char *next = NULL;
    int rc = 0;
    char *got = page(s, &p, &next, &rc);
    LT_CHECK_INT(rc, ==, 0);
    LT_CHECK_STR(got, "p00,p01,p02,p03,p04,p05,p06,p07,p08,p09,");
    LT_CHECK(next != NULL);
    free(got);
    p.next_token = next;
    char *last = NULL;
    got = page(s, &p, &last, &rc);
    LT_CHECK_INT(rc, ==, 0);
    LT_CHECK_STR(got, "p10,p11,p12,p13,p14,p15,p16,p17,p18,p19,");
    LT_CHECK(last == NULL);
    free(got);
    free(next);
    free(last);
    drop_db(&db);
}

static void a_row_inserted_before_the_cursor_is_not_repeated(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "list-insert");
    seed_many(s, 20);
    lt_store_list_params p = {.kind = "k", .sort_by = LT_STORE_SORT_NAME, .limit = 10};
    char *next = NULL;
    int rc = 0;
    char *got = page(s, &p, &next, &rc);
    LT_CHECK_STR(got, "p00,p01,p02,p03,p04,p05,p06,p07,p08,p09,");
    free(got);
    /* One row sorts before the cursor (already paged past), one after it. */
    put(s, "k", "p00a", "A", NULL, 1, 1);
    put(s, "k", "p15a", "A", NULL, 1, 1);
    p.next_token = next;
    char *next2 = NULL;
    got = page(s, &p, &next2, &rc);
    LT_CHECK_INT(rc, ==, 0);
    LT_CHECK_STR(got, "p10,p11,p12,p13,p14,p15,p15a,p16,p17,p18,");
    free(got);
    LT_CHECK(next2 != NULL);
    p.next_token = next2;
    char *next3 = NULL;
    got = page(s, &p, &next3, &rc);
    LT_CHECK_INT(rc, ==, 0);
    LT_CHECK_STR(got, "p19,");
    LT_CHECK(next3 == NULL);
    free(got);
    free(next);
    free(next2);
    free(next3);
    drop_db(&db);
}

static void a_token_from_another_sort_or_direction_is_refused(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "list-token-sort");
    seed_many(s, 20);
    lt_store_list_params from = {.kind = "k", .sort_by = LT_STORE_SORT_NAME, .limit = 5};
    char *token = NULL;
    int rc = 0;
    free(page(s, &from, &token, &rc));
    LT_CHECK(token != NULL);
    static const struct {
        lt_store_sort sort;
        bool desc;
    } others[] = {
        {LT_STORE_SORT_NAME, true},
        {LT_STORE_SORT_CREATION_TIME, false},
        {LT_STORE_SORT_STATUS, false},
        {LT_STORE_SORT_MODIFIED_TIME, false},
    };
    for (size_t i = 0; token && i < sizeof others / sizeof others[0]; i++) {
        lt_store_list_params p = {.kind = "k",
                                  .sort_by = others[i].sort,
                                  .descending = others[i].desc,
                                  .limit = 5,
                                  .next_token = token};
        lt_err err = {0};
        char *next = NULL;
        int n = 0;
        LT_CHECK_INT(lt_store_resource_list(s, &p, count_row, &n, &next, &err), ==, LT_EINVAL);
        LT_CHECK_INT(n, ==, 0);
        LT_CHECK_CONTAINS(err.msg, "Invalid NextToken");
        LT_CHECK(next == NULL);
    }
    /* A creation-time token is refused by the modified-time sort too. */
    lt_store_list_params created = {
        .kind = "k", .sort_by = LT_STORE_SORT_CREATION_TIME, .limit = 5};
    char *ctoken = NULL;
    free(page(s, &created, &ctoken, &rc));
    lt_store_list_params modified = {
        .kind = "k", .sort_by = LT_STORE_SORT_MODIFIED_TIME, .limit = 5, .next_token = ctoken};
    char *next = NULL;
    int n = 0;
    LT_CHECK_INT(lt_store_resource_list(s, &modified, count_row, &n, &next, NULL), ==, LT_EINVAL);
    /* And the token still works for its own listing. */
    from.next_token = token;
    char *got = page(s, &from, &next, &rc);
    LT_CHECK_INT(rc, ==, 0);
    LT_CHECK_STR(got, "p05,p06,p07,p08,p09,");
    free(got);
    free(next);
    free(ctoken);
    free(token);
    drop_db(&db);
}

static void a_garbage_token_is_refused(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "list-token-garbage");
    seed_many(s, 3);
    static const char *const garbage[] = {
        "not-a-token!",
        "%%%%",
        "bm90IGEgdG9rZW4=",             /* base64 of "not a token" */
        "djF8MXxhfHNwMDE=",             /* base64 of "v1|1|a|sp01": no name field */
        "djF8MHxhfGlub3RhbnVtfHAwMQ==", /* base64 of "v1|0|a|inotanum|p01" */
    };
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
        lt_store_list_params p = {.kind = "k",
                                  .sort_by =
                                      i == 4 ? LT_STORE_SORT_CREATION_TIME : LT_STORE_SORT_NAME,
                                  .limit = 10,
                                  .next_token = garbage[i]};
        lt_err err = {0};
        char *next = NULL;
        int n = 0;
        int rc = lt_store_resource_list(s, &p, count_row, &n, &next, &err);
        if (rc != LT_EINVAL)
            LT_FAIL_AT("token \"%s\": expected LT_EINVAL, got %d (%s)", garbage[i], rc, err.msg);
        free(next);
    }
    drop_db(&db);
}

static void page_size_out_of_range_is_refused(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "list-limit");
    seed_many(s, 3);
    static const struct {
        int limit;
        int want;
    } cases[] = {{0, LT_EINVAL}, {-1, LT_EINVAL}, {1001, LT_EINVAL}, {1, 0}, {1000, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lt_store_list_params p = {.kind = "k", .limit = cases[i].limit};
        lt_buf names;
        lt_buf_init(&names, 1 << 12);
        char *next = NULL;
        int rc = lt_store_resource_list(s, &p, append_name, &names, &next, NULL);
        if (rc != cases[i].want)
            LT_FAIL_AT("limit %d: expected %d, got %d", cases[i].limit, cases[i].want, rc);
        lt_buf_free(&names);
        free(next);
    }
    lt_store_list_params nokind = {.limit = 10};
    char *next = NULL;
    int n = 0;
    LT_CHECK_INT(lt_store_resource_list(s, &nokind, count_row, &n, &next, NULL), ==, LT_EINTERNAL);
    drop_db(&db);
}

static int stop_after_two(void *ctx, const lt_store_resource *res, lt_err *err)
{
    (void)res;
    int *n = ctx;
    if (++*n == 2) return lt_err_set(err, LT_ECONFLICT, "stop");
    return 0;
}

static void a_callback_error_stops_the_listing_and_is_returned(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "list-stop");
    seed_many(s, 5);
    lt_store_list_params p = {.kind = "k", .limit = 3};
    int n = 0;
    char *next = NULL;
    lt_err err = {0};
    LT_CHECK_INT(lt_store_resource_list(s, &p, stop_after_two, &n, &next, &err), ==, LT_ECONFLICT);
    LT_CHECK_INT(n, ==, 2);
    LT_CHECK(next == NULL);
    free(next);
    drop_db(&db);
}

int main(void)
{
    lt_log_set_level(LT_LOG_ERROR + 1);
    LT_RUN(every_filter_selects_the_rows_it_names);
    LT_RUN(every_sort_orders_both_ways_with_ties_broken_by_name);
    LT_RUN(pages_of_ten_see_every_row_once_in_every_order);
    LT_RUN(rows_ending_on_a_page_boundary_leave_no_token);
    LT_RUN(a_row_inserted_before_the_cursor_is_not_repeated);
    LT_RUN(a_token_from_another_sort_or_direction_is_refused);
    LT_RUN(a_garbage_token_is_refused);
    LT_RUN(page_size_out_of_range_is_refused);
    LT_RUN(a_callback_error_stops_the_listing_and_is_returned);
    return lt_test_summary();
}
