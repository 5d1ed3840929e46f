/* store (src/store/store.h): tags (put, overwrite, list sorted by key, delete, the limit of
 * 50 all or none), relations (idempotent add, remove, has, count and list from either
 * side) and access keys (create, secret lookup, get, list oldest first, delete). */
#include "store_test_util.h"

#include <time.h>

/* ---- helpers ------------------------------------------------------------------------ */

static json_t *js(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (!j) {
        fprintf(stderr, "bad test JSON (%s): %s\n", jerr.text, text);
        abort();
    }
    return j;
}

/* Puts the tags given as JSON text; returns the store's code. */
static int tags_put(lt_store *s, const char *arn, const char *tags_json)
{
    json_t *tags = js(tags_json);
    int rc = lt_store_tags_put(s, arn, tags, NULL);
    json_decref(tags);
    return rc;
}

/* Checks that arn's tags are exactly want_json (an array, in order). */
#define CHECK_TAGS(s, arn, want_json) check_tags_at(__LINE__, (s), (arn), (want_json))

static void check_tags_at(int line, lt_store *s, const char *arn, const char *want_json)
{
    json_t *got = NULL;
    lt_err err = {0};
    int rc = lt_store_tags_list(s, arn, &got, &err);
    if (rc != 0) {
        LT_FAIL_AT("(line %d) tags_list: %d %s", line, rc, err.msg);
        return;
    }
    json_t *want = js(want_json);
    if (!json_equal(got, want)) {
        char *g = lt_json_dump(got);
        LT_FAIL_AT("(line %d) tags of %s:\n    got:      %s\n    expected: %s", line, arn, g,
                   want_json);
        free(g);
    }
    json_decref(want);
    json_decref(got);
}

/* "[{"Key":"k00","Value":"v00"}, ...]" for keys first..last-1. */
static char *numbered_tags(int first, int last)
{
    lt_buf b;
    lt_buf_init(&b, 1 << 16);
    lt_buf_puts(&b, "[", NULL);
    for (int i = first; i < last; i++)
        lt_buf_printf(&b, NULL, "%s{\"Key\":\"k%02d\",\"Value\":\"v%02d\"}", i > first ? "," : "",
                      i, i);
    lt_buf_puts(&b, "]", NULL);
    return lt_buf_take(&b);
}

static size_t tag_count(lt_store *s, const char *arn)
{
    json_t *got = NULL;
    if (lt_store_tags_list(s, arn, &got, NULL) != 0) return (size_t)-1;
    size_t n = json_array_size(got);
    json_decref(got);
    return n;
}

/* ---- tags --------------------------------------------------------------------------- */

static const char *const ARN = "arn:aws:sagemaker:us-east-1:000000000000:experiment/e";

static void tags_list_sorted_by_key(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "tags-sorted");
    LT_CHECK_INT(tags_put(s, ARN,
                          "[{\"Key\":\"zeta\",\"Value\":\"1\"},{\"Key\":\"alpha\",\"Value\":\"2\"},"
                          "{\"Key\":\"mid\",\"Value\":\"3\"}]"),
                 ==, 0);
    CHECK_TAGS(s, ARN,
               "[{\"Key\":\"alpha\",\"Value\":\"2\"},{\"Key\":\"mid\",\"Value\":\"3\"},"
               "{\"Key\":\"zeta\",\"Value\":\"1\"}]");
    drop_db(&db);
}

static void tags_of_an_untagged_arn_are_an_empty_list(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "tags-empty");
    CHECK_TAGS(s, "arn:t:nothing", "[]");
    drop_db(&db);
}

static void tags_put_overwrites_an_existing_key(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "tags-overwrite");
    LT_CHECK_INT(tags_put(s, ARN,
                          "[{\"Key\":\"a\",\"Value\":\"old\"},{\"Key\":\"b\",\"Value\":"
                          "\"keep\"}]"),
                 ==, 0);
    LT_CHECK_INT(tags_put(s, ARN, "[{\"Key\":\"a\",\"Value\":\"new\"}]"), ==, 0);
    CHECK_TAGS(s, ARN, "[{\"Key\":\"a\",\"Value\":\"new\"},{\"Key\":\"b\",\"Value\":\"keep\"}]");
    drop_db(&db);
}

static void tags_without_a_value_get_an_empty_value(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "tags-novalue");
    LT_CHECK_INT(tags_put(s, ARN, "[{\"Key\":\"bare\"}]"), ==, 0);
    CHECK_TAGS(s, ARN, "[{\"Key\":\"bare\",\"Value\":\"\"}]");
    drop_db(&db);
}

static void tags_belong_to_their_arn_only(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "tags-arn");
    LT_CHECK_INT(tags_put(s, "arn:t:one", "[{\"Key\":\"k\",\"Value\":\"1\"}]"), ==, 0);
    LT_CHECK_INT(tags_put(s, "arn:t:two", "[{\"Key\":\"k\",\"Value\":\"2\"}]"), ==, 0);
    CHECK_TAGS(s, "arn:t:one", "[{\"Key\":\"k\",\"Value\":\"1\"}]");
    CHECK_TAGS(s, "arn:t:two", "[{\"Key\":\"k\",\"Value\":\"2\"}]");
    CHECK_TAGS(s, "arn:t:ONE", "[]");
    drop_db(&db);
}

static void tags_delete_removes_the_keys_and_ignores_absent_ones(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "tags-delete");
    LT_CHECK_INT(tags_put(s, ARN,
                          "[{\"Key\":\"a\",\"Value\":\"1\"},{\"Key\":\"b\",\"Value\":\"2\"},"
                          "{\"Key\":\"c\",\"Value\":\"3\"}]"),
                 ==, 0);
    json_t *keys = js("[\"a\",\"absent\",\"c\"]");
    lt_err err = {0};
    LT_CHECK_INT(lt_store_tags_delete(s, ARN, keys, &err), ==, 0);
    json_decref(keys);
    CHECK_TAGS(s, ARN, "[{\"Key\":\"b\",\"Value\":\"2\"}]");
    keys = js("[\"b\"]");
    LT_CHECK_INT(lt_store_tags_delete(s, ARN, keys, &err), ==, 0);
    LT_CHECK_INT(lt_store_tags_delete(s, ARN, keys, &err), ==, 0); /* again: nothing to do */
    json_decref(keys);
    CHECK_TAGS(s, ARN, "[]");
    drop_db(&db);
}

static void tags_fifty_one_on_a_resource_is_refused_and_nothing_of_the_call_written(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "tags-limit");
    char *fifty = numbered_tags(0, 50);
    LT_CHECK_INT(tags_put(s, ARN, fifty), ==, 0);
    LT_CHECK_INT(tag_count(s, ARN), ==, 50);
    /* Overwriting at the limit is fine: the count stays 50. */
    LT_CHECK_INT(tags_put(s, ARN, "[{\"Key\":\"k49\",\"Value\":\"v49\"}]"), ==, 0);
    /* A call that changes k00 and adds a 51st: refused, and k00 keeps its value. */
    json_t *more =
        js("[{\"Key\":\"k00\",\"Value\":\"changed\"},{\"Key\":\"k50\",\"Value\":\"x\"}]");
    lt_err err = {0};
    LT_CHECK_INT(lt_store_tags_put(s, ARN, more, &err), ==, LT_ELIMIT);
    LT_CHECK(err.msg[0] != '\0');
    json_decref(more);
    CHECK_TAGS(s, ARN, fifty);
    free(fifty);
    drop_db(&db);
}

static void tags_fifty_one_in_one_call_writes_none(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "tags-limit-one-call");
    char *fifty_one = numbered_tags(0, 51);
    LT_CHECK_INT(tags_put(s, ARN, fifty_one), ==, LT_ELIMIT);
    CHECK_TAGS(s, ARN, "[]");
    free(fifty_one);
    char *fifty = numbered_tags(0, 50);
    LT_CHECK_INT(tags_put(s, ARN, fifty), ==, 0);
    free(fifty);
    drop_db(&db);
}

static void tags_with_a_bad_argument_are_refused_and_nothing_written(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "tags-bad");
    static const char *const bad_puts[] = {
        "{\"Key\":\"a\",\"Value\":\"1\"}",                          /* not an array */
        "[{\"Key\":\"a\",\"Value\":\"1\"},{\"Value\":\"no key\"}]", /* second entry has no Key */
    };
    for (size_t i = 0; i < sizeof bad_puts / sizeof bad_puts[0]; i++)
        LT_CHECK_INT(tags_put(s, ARN, bad_puts[i]), ==, LT_EINVAL);
    CHECK_TAGS(s, ARN, "[]");
    json_t *not_array = js("\"a\"");
    LT_CHECK_INT(lt_store_tags_delete(s, ARN, not_array, NULL), ==, LT_EINVAL);
    json_decref(not_array);
    drop_db(&db);
}

/* ---- relations ---------------------------------------------------------------------- */

static int64_t count_of(lt_store *s, const char *kind, const char *arn, bool from_side)
{
    int64_t n = -1;
    lt_err err = {0};
    if (lt_store_relation_count(s, kind, arn, from_side, &n, &err) != 0)
        LT_FAIL_AT("relation_count: %s", err.msg);
    return n;
}

static void relation_add_is_idempotent(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "rel-idem");
    lt_err err = {0};
    LT_CHECK_INT(lt_store_relation_add(s, "tc", "arn:t:c1", "arn:t:t1", &err), ==, 0);
    LT_CHECK_INT(lt_store_relation_add(s, "tc", "arn:t:c1", "arn:t:t1", &err), ==, 0);
    LT_CHECK_INT(count_of(s, "tc", "arn:t:c1", true), ==, 1);
    LT_CHECK_INT(count_of(s, "tc", "arn:t:t1", false), ==, 1);
    /* One removal undoes both adds. */
    LT_CHECK_INT(lt_store_relation_remove(s, "tc", "arn:t:c1", "arn:t:t1", &err), ==, 0);
    LT_CHECK_INT(count_of(s, "tc", "arn:t:c1", true), ==, 0);
    drop_db(&db);
}

static void relation_remove_of_a_missing_one_is_not_found(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "rel-missing");
    LT_CHECK_INT(lt_store_relation_add(s, "tc", "arn:t:a", "arn:t:b", NULL), ==, 0);
    static const struct {
        const char *kind, *from, *to;
    } misses[] = {
        {"tc", "arn:t:b", "arn:t:a"}, /* relations are directed */
        {"other", "arn:t:a", "arn:t:b"},
        {"tc", "arn:t:a", "arn:t:c"},
    };
    for (size_t i = 0; i < sizeof misses / sizeof misses[0]; i++) {
        lt_err err = {0};
        LT_CHECK_INT(
            lt_store_relation_remove(s, misses[i].kind, misses[i].from, misses[i].to, &err), ==,
            LT_ENOTFOUND);
    }
    LT_CHECK_INT(count_of(s, "tc", "arn:t:a", true), ==, 1);
    LT_CHECK_INT(lt_store_relation_remove(s, "tc", "arn:t:a", "arn:t:b", NULL), ==, 0);
    LT_CHECK_INT(lt_store_relation_remove(s, "tc", "arn:t:a", "arn:t:b", NULL), ==, LT_ENOTFOUND);
    drop_db(&db);
}

static void relation_count_counts_the_from_and_the_to_side(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "rel-count");
    /* A -> B, A -> C, D -> B under "k"; A -> B under "other". */
    LT_CHECK_INT(lt_store_relation_add(s, "k", "arn:t:A", "arn:t:B", NULL), ==, 0);
    LT_CHECK_INT(lt_store_relation_add(s, "k", "arn:t:A", "arn:t:C", NULL), ==, 0);
    LT_CHECK_INT(lt_store_relation_add(s, "k", "arn:t:D", "arn:t:B", NULL), ==, 0);
    LT_CHECK_INT(lt_store_relation_add(s, "other", "arn:t:A", "arn:t:B", NULL), ==, 0);
    static const struct {
        const char *kind, *arn;
        bool from_side;
        int64_t want;
    } cases[] = {
        {"k", "arn:t:A", true, 2},     {"k", "arn:t:A", false, 0},     {"k", "arn:t:B", false, 2},
        {"k", "arn:t:B", true, 0},     {"k", "arn:t:C", false, 1},     {"k", "arn:t:D", true, 1},
        {"other", "arn:t:A", true, 1}, {"other", "arn:t:B", false, 1}, {"none", "arn:t:A", true, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t got = count_of(s, cases[i].kind, cases[i].arn, cases[i].from_side);
        if (got != cases[i].want)
            LT_FAIL_AT("count(%s, %s, %s): got %lld, expected %lld", cases[i].kind, cases[i].arn,
                       cases[i].from_side ? "from" : "to", (long long)got,
                       (long long)cases[i].want);
    }
    drop_db(&db);
}

static int append_arn(void *ctx, const char *other, lt_err *err)
{
    (void)err;
    lt_buf_puts(ctx, other, NULL);
    lt_buf_puts(ctx, ",", NULL);
    return 0;
}

static void relation_has_and_list_see_each_side(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "rel-list");
    LT_CHECK_INT(lt_store_relation_add(s, "k", "arn:t:A", "arn:t:C", NULL), ==, 0);
    LT_CHECK_INT(lt_store_relation_add(s, "k", "arn:t:A", "arn:t:B", NULL), ==, 0);
    LT_CHECK_INT(lt_store_relation_add(s, "k", "arn:t:D", "arn:t:B", NULL), ==, 0);
    bool yes = false;
    LT_CHECK_INT(lt_store_relation_has(s, "k", "arn:t:A", "arn:t:B", &yes, NULL), ==, 0);
    LT_CHECK(yes);
    LT_CHECK_INT(lt_store_relation_has(s, "k", "arn:t:B", "arn:t:A", &yes, NULL), ==, 0);
    LT_CHECK(!yes);
    lt_buf b;
    lt_buf_init(&b, 1 << 12);
    lt_buf_puts(&b, "", NULL);
    LT_CHECK_INT(lt_store_relation_list(s, "k", "arn:t:A", true, append_arn, &b, NULL), ==, 0);
    LT_CHECK_STR(b.data, "arn:t:B,arn:t:C,");
    lt_buf_reset(&b);
    lt_buf_puts(&b, "", NULL);
    LT_CHECK_INT(lt_store_relation_list(s, "k", "arn:t:B", false, append_arn, &b, NULL), ==, 0);
    LT_CHECK_STR(b.data, "arn:t:A,arn:t:D,");
    lt_buf_free(&b);
    drop_db(&db);
}

/* ---- access keys -------------------------------------------------------------------- */

static void key_secret_is_found_by_its_id(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "keys-secret");
    lt_err err = {0};
    LT_CHECK_INT(lt_store_key_create(s, "AKIAONE", "s3cr3t/One+", "first", true, &err), ==, 0);
    LT_CHECK_INT(lt_store_key_create(s, "AKIATWO", "other", NULL, false, &err), ==, 0);
    char secret[64];
    LT_CHECK_INT(lt_store_key_secret(s, "AKIAONE", secret, sizeof secret, &err), ==, 0);
    LT_CHECK_STR(secret, "s3cr3t/One+");
    LT_CHECK_INT(lt_store_key_secret(s, "AKIATWO", secret, sizeof secret, &err), ==, 0);
    LT_CHECK_STR(secret, "other");
    /* Ids are exact. */
    LT_CHECK_INT(lt_store_key_secret(s, "akiaone", secret, sizeof secret, NULL), ==, LT_ENOTFOUND);
    LT_CHECK_INT(lt_store_key_secret(s, "AKIANONE", secret, sizeof secret, NULL), ==, LT_ENOTFOUND);
    drop_db(&db);
}

static void key_create_of_an_existing_id_conflicts(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "keys-dup");
    LT_CHECK_INT(lt_store_key_create(s, "AKIADUP", "first", "d", false, NULL), ==, 0);
    lt_err err = {0};
    LT_CHECK_INT(lt_store_key_create(s, "AKIADUP", "second", "d", true, &err), ==, LT_ECONFLICT);
    char secret[32];
    LT_CHECK_INT(lt_store_key_secret(s, "AKIADUP", secret, sizeof secret, NULL), ==, 0);
    LT_CHECK_STR(secret, "first");
    drop_db(&db);
}

static void key_secret_that_does_not_fit_is_a_limit(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "keys-cap");
    LT_CHECK_INT(lt_store_key_create(s, "AKIACAP", "0123456789", NULL, false, NULL), ==, 0);
    static const struct {
        size_t cap;
        int want;
    } cases[] = {{1, LT_ELIMIT}, {5, LT_ELIMIT}, {10, LT_ELIMIT}, {11, 0}, {64, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char secret[64];
        memset(secret, 'X', sizeof secret);
        int rc = lt_store_key_secret(s, "AKIACAP", secret, cases[i].cap, NULL);
        if (rc != cases[i].want)
            LT_FAIL_AT("cap %zu: expected %d, got %d", cases[i].cap, cases[i].want, rc);
        if (rc == 0) LT_CHECK_STR(secret, "0123456789");
        /* Nothing is written past the capacity. */
        if (cases[i].cap < sizeof secret) LT_CHECK(secret[cases[i].cap] == 'X');
    }
    drop_db(&db);
}

typedef struct {
    lt_buf text;
    int secrets_seen;
} key_visit;

static int append_key(void *ctx, const lt_store_key *key, lt_err *err)
{
    (void)err;
    key_visit *v = ctx;
    lt_buf_printf(&v->text, NULL, "%s|%s|%d;", key->access_key_id, key->description,
                  key->is_admin ? 1 : 0);
    if (key->secret) v->secrets_seen++;
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

static void key_list_visits_oldest_first_without_secrets(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "keys-list");
    /* Created in an order that is neither alphabetical nor its reverse. */
    LT_CHECK_INT(lt_store_key_create(s, "AKIAMMM", "s1", "middle", false, NULL), ==, 0);
    sleep_ms(5);
    LT_CHECK_INT(lt_store_key_create(s, "AKIAZZZ", "s2", "last name", true, NULL), ==, 0);
    sleep_ms(5);
    LT_CHECK_INT(lt_store_key_create(s, "AKIAAAA", "s3", NULL, false, NULL), ==, 0);
    key_visit v = {0};
    lt_buf_init(&v.text, 1 << 12);
    lt_buf_puts(&v.text, "", NULL);
    lt_err err = {0};
    LT_CHECK_INT(lt_store_key_list(s, append_key, &v, &err), ==, 0);
    LT_CHECK_STR(v.text.data, "AKIAMMM|middle|0;AKIAZZZ|last name|1;AKIAAAA||0;");
    LT_CHECK_INT(v.secrets_seen, ==, 0);
    lt_buf_free(&v.text);
    drop_db(&db);
}

static int stop_at_first(void *ctx, const lt_store_key *key, lt_err *err)
{
    (void)key;
    (*(int *)ctx)++;
    return lt_err_set(err, LT_ECONFLICT, "stop");
}

static void key_list_stops_when_the_callback_fails(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "keys-stop");
    LT_CHECK_INT(lt_store_key_create(s, "AKIA1", "s", NULL, false, NULL), ==, 0);
    LT_CHECK_INT(lt_store_key_create(s, "AKIA2", "s", NULL, false, NULL), ==, 0);
    int calls = 0;
    LT_CHECK_INT(lt_store_key_list(s, stop_at_first, &calls, NULL), ==, LT_ECONFLICT);
    LT_CHECK_INT(calls, ==, 1);
    drop_db(&db);
}

static int copy_key(void *ctx, const lt_store_key *key, lt_err *err)
{
    (void)err;
    key_visit *v = ctx;
    lt_buf_printf(&v->text, NULL, "%s|%s|%s|%d", key->access_key_id,
                  key->secret ? key->secret : "(null)", key->description, key->is_admin ? 1 : 0);
    if (key->created_ms > 0) v->secrets_seen++;
    return 0;
}

static void key_get_gives_the_whole_key(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "keys-get");
    LT_CHECK_INT(lt_store_key_create(s, "AKIAGET", "the-secret", "admin key", true, NULL), ==, 0);
    key_visit v = {0};
    lt_buf_init(&v.text, 1 << 12);
    lt_buf_puts(&v.text, "", NULL);
    LT_CHECK_INT(lt_store_key_get(s, "AKIAGET", copy_key, &v, NULL), ==, 0);
    LT_CHECK_STR(v.text.data, "AKIAGET|the-secret|admin key|1");
    LT_CHECK_INT(v.secrets_seen, ==, 1); /* created_ms was set */
    LT_CHECK_INT(lt_store_key_get(s, "AKIANONE", copy_key, &v, NULL), ==, LT_ENOTFOUND);
    lt_buf_free(&v.text);
    drop_db(&db);
}

static void key_delete_removes_it_and_a_missing_one_is_not_found(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "keys-delete");
    LT_CHECK_INT(lt_store_key_create(s, "AKIADEL", "s", NULL, false, NULL), ==, 0);
    LT_CHECK_INT(lt_store_key_create(s, "AKIAKEEP", "k", NULL, false, NULL), ==, 0);
    lt_err err = {0};
    LT_CHECK_INT(lt_store_key_delete(s, "AKIADEL", &err), ==, 0);
    char secret[16];
    LT_CHECK_INT(lt_store_key_secret(s, "AKIADEL", secret, sizeof secret, NULL), ==, LT_ENOTFOUND);
    LT_CHECK_INT(lt_store_key_delete(s, "AKIADEL", NULL), ==, LT_ENOTFOUND);
    LT_CHECK_INT(lt_store_key_delete(s, "AKIANEVER", NULL), ==, LT_ENOTFOUND);
    LT_CHECK_INT(lt_store_key_secret(s, "AKIAKEEP", secret, sizeof secret, NULL), ==, 0);
    LT_CHECK_STR(secret, "k");
    /* The id can be used again. */
    LT_CHECK_INT(lt_store_key_create(s, "AKIADEL", "new", NULL, false, NULL), ==, 0);
    LT_CHECK_INT(lt_store_key_secret(s, "AKIADEL", secret, sizeof secret, NULL), ==, 0);
    LT_CHECK_STR(secret, "new");
    drop_db(&db);
}

/* The server caches secrets; a change made through another handle (another process, as
 * `lathe keys` beside a running server) must be seen by the next lookup. */
static void key_changes_through_another_handle_are_seen_at_once(void)
{
    test_db db;
    lt_store *server = fresh_db(&db, "keys-cache");
    lt_err err = {0};
    lt_store *other = NULL;
    LT_CHECK_INT(lt_store_open(&other, db.path, &err), ==, 0);
    LT_CHECK_INT(lt_store_key_create(other, "AKIACACHE", "first-secret", "", false, &err), ==, 0);
    char secret[128];
    for (int i = 0; i < 3; i++) { /* the first read fills the cache, the next ones use it */
        LT_CHECK_INT(lt_store_key_secret(server, "AKIACACHE", secret, sizeof secret, &err), ==, 0);
        LT_CHECK_STR(secret, "first-secret");
    }
    LT_CHECK_INT(lt_store_key_delete(other, "AKIACACHE", &err), ==, 0);
    lt_err_clear(&err);
    LT_CHECK_INT(lt_store_key_secret(server, "AKIACACHE", secret, sizeof secret, &err), ==,
                 LT_ENOTFOUND);
    lt_err_clear(&err);
    /* The same id again with a new secret, written inside a transaction. */
    LT_CHECK_INT(lt_store_txn_begin(other, &err), ==, 0);
    LT_CHECK_INT(lt_store_key_create(other, "AKIACACHE", "second-secret", "", false, &err), ==, 0);
    LT_CHECK_INT(lt_store_key_secret(server, "AKIACACHE", secret, sizeof secret, &err), ==,
                 LT_ENOTFOUND); /* not committed yet */
    lt_err_clear(&err);
    LT_CHECK_INT(lt_store_txn_commit(other, &err), ==, 0);
    LT_CHECK_INT(lt_store_key_secret(server, "AKIACACHE", secret, sizeof secret, &err), ==, 0);
    LT_CHECK_STR(secret, "second-secret");
    /* A change through the same handle is seen too. */
    LT_CHECK_INT(lt_store_key_delete(server, "AKIACACHE", &err), ==, 0);
    LT_CHECK_INT(lt_store_key_secret(server, "AKIACACHE", secret, sizeof secret, &err), ==,
                 LT_ENOTFOUND);
    lt_store_close(other);
    drop_db(&db);
}

int main(void)
{
    lt_log_set_level(LT_LOG_ERROR + 1);
    LT_RUN(tags_list_sorted_by_key);
    LT_RUN(tags_of_an_untagged_arn_are_an_empty_list);
    LT_RUN(tags_put_overwrites_an_existing_key);
    LT_RUN(tags_without_a_value_get_an_empty_value);
    LT_RUN(tags_belong_to_their_arn_only);
    LT_RUN(tags_delete_removes_the_keys_and_ignores_absent_ones);
    LT_RUN(tags_fifty_one_on_a_resource_is_refused_and_nothing_of_the_call_written);
    LT_RUN(tags_fifty_one_in_one_call_writes_none);
    LT_RUN(tags_with_a_bad_argument_are_refused_and_nothing_written);
    LT_RUN(relation_add_is_idempotent);
    LT_RUN(relation_remove_of_a_missing_one_is_not_found);
    LT_RUN(relation_count_counts_the_from_and_the_to_side);
    LT_RUN(relation_has_and_list_see_each_side);
    LT_RUN(key_secret_is_found_by_its_id);
    LT_RUN(key_create_of_an_existing_id_conflicts);
    LT_RUN(key_secret_that_does_not_fit_is_a_limit);
    LT_RUN(key_list_visits_oldest_first_without_secrets);
    LT_RUN(key_list_stops_when_the_callback_fails);
    LT_RUN(key_get_gives_the_whole_key);
    LT_RUN(key_delete_removes_it_and_a_missing_one_is_not_found);
    LT_RUN(key_changes_through_another_handle_are_seen_at_once);
    return lt_test_summary();
}
