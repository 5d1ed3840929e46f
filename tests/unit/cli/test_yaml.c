/* yaml.c: a YAML request mapped to the JSON the same request would be, its scalar rules,
 * and errors naming the line and column. Expected JSON is written out by hand here. */
#include "cli/cli_internal.h"
#include "test.h"

/* Converts `yaml` and compares it with `expected` (JSON text). */
static void check_converts(const char *yaml, const char *expected, int line)
{
    json_t *got = NULL, *want = NULL;
    lt_err err = {0};
    int rc = lt_cli__yaml_to_json(yaml, strlen(yaml), "t.yaml", &got, &err);
    if (rc != 0) {
        LT_FAIL_AT("line %d: conversion failed: %s", line, err.msg);
        return;
    }
    lt_json_parse(expected, strlen(expected), &want, NULL);
    if (!want || !json_equal(got, want)) {
        char *text = lt_json_dump(got);
        LT_FAIL_AT("line %d: got %s, want %s", line, text, expected);
        free(text);
    }
    json_decref(got);
    json_decref(want);
}

static void check_refused(const char *yaml, const char *message, int line)
{
    json_t *got = NULL;
    lt_err err = {0};
    int rc = lt_cli__yaml_to_json(yaml, strlen(yaml), "t.yaml", &got, &err);
    if (rc != LT_EINVAL || got) LT_FAIL_AT("line %d: rc %d, expected LT_EINVAL", line, rc);
    else if (!strstr(err.msg, message))
        LT_FAIL_AT("line %d: message '%s' lacks '%s'", line, err.msg, message);
    json_decref(got);
}

static void yaml_block_and_flow_map_to_the_same_json(void)
{
    check_converts("A: 1\nB:\n  - x\n  - {C: 2.5, D: true}\nE: [1, 2]\n",
                   "{\"A\": 1, \"B\": [\"x\", {\"C\": 2.5, \"D\": true}], \"E\": [1, 2]}", __LINE__);
    check_converts("{A: 1, B: [x, y]}", "{\"A\": 1, \"B\": [\"x\", \"y\"]}", __LINE__);
}

static void yaml_scalars_follow_the_core_schema(void)
{
    check_converts("a: ~\nb: null\nc:\nd: false\ne: -12\nf: 1e-3\ng: yes\nh: '7'\ni: \"true\"\n"
                   "j: 1.2.3\nk: !!str 5\n",
                   "{\"a\": null, \"b\": null, \"c\": null, \"d\": false, \"e\": -12, \"f\": 0.001,"
                   " \"g\": \"yes\", \"h\": \"7\", \"i\": \"true\", \"j\": \"1.2.3\", \"k\": \"5\"}",
                   __LINE__);
}

static void yaml_string_members_keep_the_text_written(void)
{
    check_converts("R: {Name: x, MinValue: 0.0010, MaxValue: 1}\nV: {Values: [1, 2.50]}\n"
                   "StaticHyperParameters: {eta: 0.1, depth: 3, nested: {k: 1}}\n"
                   "Limits: {Max: 3}\n",
                   "{\"R\": {\"Name\": \"x\", \"MinValue\": \"0.0010\", \"MaxValue\": \"1\"},"
                   " \"V\": {\"Values\": [\"1\", \"2.50\"]},"
                   " \"StaticHyperParameters\": {\"eta\": \"0.1\", \"depth\": \"3\","
                   " \"nested\": {\"k\": \"1\"}}, \"Limits\": {\"Max\": 3}}",
                   __LINE__);
}

static void yaml_errors_name_line_and_column(void)
{
    check_refused("A: 1\nB: [1, 2\nC: 3\n", "t.yaml:3:", __LINE__);
    check_refused("A: 1\nB:\n  C: 1\n  C: 2\n", "t.yaml:4:3: the key 'C' appears twice", __LINE__);
    check_refused("A: &a 1\nB: *a\n", "t.yaml:2:4: aliases (*a) are not supported", __LINE__);
    check_refused("? [1, 2]\n: 3\n", "t.yaml:1:3: a mapping key must be a plain name", __LINE__);
    check_refused("A: !!int 3\n", "t.yaml:1:4: the tag", __LINE__);
    check_refused("A: 1\n---\nB: 2\n", "t.yaml:2:1: only one YAML document", __LINE__);
    check_refused("- 1\n- 2\n", "must be a mapping", __LINE__);
    check_refused("", "must be a mapping", __LINE__);
    check_refused("A:\t1\n\tB: 2\n", "t.yaml:", __LINE__);
}

static void yaml_deep_nesting_is_refused(void)
{
    char text[400];
    size_t n = 0;
    n += (size_t)snprintf(text + n, sizeof text - n, "A: ");
    for (int i = 0; i < 100; i++) text[n++] = '[';
    for (int i = 0; i < 100; i++) text[n++] = ']';
    text[n] = '\0';
    check_refused(text, "nested deeper than", __LINE__);
}

int main(void)
{
    LT_RUN(yaml_block_and_flow_map_to_the_same_json);
    LT_RUN(yaml_scalars_follow_the_core_schema);
    LT_RUN(yaml_string_members_keep_the_text_written);
    LT_RUN(yaml_errors_name_line_and_column);
    LT_RUN(yaml_deep_nesting_is_refused);
    return lt_test_summary();
}
