/*
 * Fuzz target: the YAML request file of `lathe tune create` (src/cli/yaml.c over libyaml).
 *
 * Input: the file's bytes as they are (NULs included).
 *
 * Invariants checked:
 *  - the converter returns 0 with a JSON object, or LT_EINVAL (LT_ENOMEM only if libyaml
 *    cannot start) with no value and a message that starts with the source name and, when
 *    it names a place, a line and column of at least 1 and a line within the input;
 *  - converting the same bytes again gives the same code and the same JSON or message;
 *  - on success every string in the result is valid UTF-8 holding no NUL (jansson refuses
 *    the rest, so a NULL from json_string would have been a crash waiting).
 */
#include "cli/cli_internal.h"
#include "fuzz_check.h"

static size_t count_lines(const uint8_t *data, size_t size)
{
    size_t n = 1;
    for (size_t i = 0; i < size; i++) n += data[i] == '\n' || data[i] == '\r';
    return n;
}

static void check_strings(const json_t *v)
{
    const char *key;
    json_t *item;
    size_t i;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        json_object_foreach((json_t *)v, key, item) check_strings(item);
        break;
    case JSON_ARRAY:
        json_array_foreach(v, i, item) check_strings(item);
        break;
    case JSON_STRING:
        FZ_CHECK(strlen(json_string_value(v)) == json_string_length(v), "a string holds a NUL");
        break;
    default: break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1 << 16)) return 0;
    json_t *a = NULL, *b = NULL;
    lt_err ea = {0}, eb = {0};
    int ra = lt_cli__yaml_to_json((const char *)data, size, "f.yaml", &a, &ea);
    int rb = lt_cli__yaml_to_json((const char *)data, size, "f.yaml", &b, &eb);
    FZ_CHECK(ra == rb, "two conversions disagree: %d vs %d", ra, rb);
    if (ra == 0) {
        FZ_CHECK(json_is_object(a) && json_equal(a, b), "success without the same object");
        check_strings(a);
    } else {
        FZ_CHECK(ra == LT_EINVAL || ra == LT_ENOMEM, "unexpected code %d", ra);
        FZ_CHECK(!a && !b, "a value on failure");
        FZ_CHECK(strcmp(ea.msg, eb.msg) == 0, "messages differ: '%s' vs '%s'", ea.msg, eb.msg);
        FZ_CHECK(strncmp(ea.msg, "f.yaml", 6) == 0, "message without its source: '%s'", ea.msg);
        size_t line = 0, column = 0;
        if (sscanf(ea.msg, "f.yaml:%zu:%zu:", &line, &column) == 2) {
            FZ_CHECK(line >= 1 && column >= 1, "a place before the start: '%s'", ea.msg);
            FZ_CHECK(line <= count_lines(data, size) + 1, "a line past the end: '%s'", ea.msg);
        }
    }
    json_decref(a);
    json_decref(b);
    return 0;
}
