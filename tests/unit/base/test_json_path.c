/* The JSONPath subset of batch transform's DataProcessing filters. Expected selections are
 * written by hand from the JSONPath rules (Goessner's; slices as Python's), not computed. */
#include "base/base.h"
#include "test.h"

/* The compact JSON of what expr selects in doc, or "(none)". */
static char *select_text(const char *expr, const char *doc_text)
{
    lt_json_path *path = NULL;
    lt_err err = {0};
    if (lt_json_path_parse(expr, &path, &err) != 0) return lt_xasprintf("(error %s)", err.msg);
    json_t *doc = NULL;
    if (lt_json_parse(doc_text, strlen(doc_text), &doc, &err) != 0) {
        lt_json_path_free(path);
        return lt_xasprintf("(bad doc %s)", err.msg);
    }
    json_t *v = lt_json_path_select(path, doc);
    char *s = v ? lt_json_dump(v) : lt_xstrdup("(none)");
    json_decref(v);
    json_decref(doc);
    lt_json_path_free(path);
    return s;
}

static void json_path_selects_as_the_rules_say(void)
{
    static const struct {
        const char *expr, *doc, *want;
    } cases[] = {
        {"$", "[1,2,3]", "[1,2,3]"},
        {"$.a.b", "{\"a\":{\"b\":7}}", "7"},
        {"$['a']", "{\"a\":\"x\"}", "\"x\""},
        {"$[\"a b\"]", "{\"a b\":1}", "1"},
        {"$['it\\'s']", "{\"it's\":2}", "2"},
        {"$['id','out']", "{\"id\":1,\"x\":2,\"out\":3}", "{\"id\":1,\"out\":3}"},
        {"$['id','gone']", "{\"id\":1}", "{\"id\":1}"},
        {"$[0]", "[5,6,7]", "5"},
        {"$[-1]", "[5,6,7]", "7"},
        {"$[-3]", "[5,6,7]", "5"},
        {"$[3]", "[5,6,7]", "(none)"},
        {"$[-4]", "[5,6,7]", "(none)"},
        {"$[1:]", "[5,6,7]", "[6,7]"},
        {"$[:2]", "[5,6,7]", "[5,6]"},
        {"$[:]", "[5,6,7]", "[5,6,7]"},
        {"$[1:2]", "[5,6,7]", "[6]"},
        {"$[-2:]", "[5,6,7]", "[6,7]"},
        {"$[:-1]", "[5,6,7]", "[5,6]"},
        {"$[2:1]", "[5,6,7]", "[]"},
        {"$[0:100]", "[5,6,7]", "[5,6,7]"},
        {"$[0,-1]", "[5,6,7]", "[5,7]"},
        {"$[2, 0 ,9]", "[5,6,7]", "[7,5]"},
        {"$.f[1:]", "{\"f\":[1,2,3]}", "[2,3]"},
        {"$[1:].a", "[{\"a\":1},{\"a\":2},{\"b\":3}]", "[2]"},
        {"$.missing", "{\"a\":1}", "(none)"},
        {"$.a", "[1]", "(none)"},
        {"$[0]", "{\"0\":1}", "(none)"},
        {"$.SageMakerOutput.score", "{\"SageMakerOutput\":{\"score\":0.5}}", "0.5"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = select_text(cases[i].expr, cases[i].doc);
        if (strcmp(got, cases[i].want) != 0)
            LT_FAIL_AT("%s on %s: got %s, expected %s", cases[i].expr, cases[i].doc, got,
                       cases[i].want);
        free(got);
    }
}

static void json_path_refuses_what_the_subset_cannot_parse_with_the_position(void)
{
    static const struct {
        const char *expr, *want;
    } cases[] = {
        {"", "position 1: a path starts with '$'"},
        {"a.b", "position 1: a path starts with '$'"},
        {"$.", "position 3: expected a name after '.'"},
        {"$..a", "position 3: recursive descent"},
        {"$.*", "position 3: the wildcard"},
        {"$[*]", "position 3: the wildcard"},
        {"$[1", "position 4: expected ']'"},
        {"$[a]", "position 3: expected a number"},
        {"$['a", "position 5: unterminated quoted name"},
        {"$['a',1]", "position 7: expected a quoted name"},
        {"$[1,]", "position 5: expected a number"},
        {"$[1:2:3]", "position 6: slice steps"},
        {"$[99999999999]", "index too large"},
        {"$x", "position 2: expected '.' or '['"},
        {"$[0]junk", "position 5: expected '.' or '['"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lt_json_path *path = NULL;
        lt_err err = {0};
        int rc = lt_json_path_parse(cases[i].expr, &path, &err);
        LT_CHECK_INT(rc, ==, LT_EINVAL);
        LT_CHECK(path == NULL);
        LT_CHECK_CONTAINS(err.msg, cases[i].want);
    }
}

static void json_path_root_is_the_identity(void)
{
    lt_json_path *path = NULL;
    LT_CHECK_INT(lt_json_path_parse("$", &path, NULL), ==, 0);
    LT_CHECK(lt_json_path_is_root(path));
    lt_json_path_free(path);
    LT_CHECK_INT(lt_json_path_parse("$[0]", &path, NULL), ==, 0);
    LT_CHECK(!lt_json_path_is_root(path));
    lt_json_path_free(path);
}

int main(void)
{
    LT_RUN(json_path_selects_as_the_rules_say);
    LT_RUN(json_path_refuses_what_the_subset_cannot_parse_with_the_position);
    LT_RUN(json_path_root_is_the_identity);
    return lt_test_summary();
}
