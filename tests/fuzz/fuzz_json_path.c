/*
 * Fuzz target: the JSONPath subset of batch transform's DataProcessing filters
 * (src/base/json_path.c), whose expressions come from CreateTransformJob requests.
 * The input is an expression, a newline, and a JSON document to select from.
 *
 * Invariants checked:
 *  - lt_json_path_parse returns 0 with a path, or LT_EINVAL with no path and a message that
 *    names a position inside the expression (1 to its length + 1);
 *  - "$" (a root path) selects the document itself; any path selects NULL or a value that
 *    serializes; the same path selects an equal value twice (selection changes nothing).
 */
#include "base/base.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t expr_len = nl ? (size_t)(nl - data) : size;
    char *expr = fz_strndup(data, expr_len);
    lt_json_path *path = NULL;
    lt_err err = {0};
    int rc = lt_json_path_parse(expr, &path, &err);
    FZ_CHECK(FZ_TERMINATED(err.msg), "message not NUL-terminated");
    if (rc != 0) {
        FZ_CHECK(rc == LT_EINVAL && path == NULL && err.msg[0], "rc %d", rc);
        const char *at = strstr(err.msg, "at position ");
        FZ_CHECK(at != NULL, "no position in \"%s\"", err.msg);
        unsigned long pos = strtoul(at + 12, NULL, 10);
        FZ_CHECK(pos >= 1 && pos <= strlen(expr) + 1, "position %lu of \"%s\"", pos, expr);
        free(expr);
        return 0;
    }
    json_t *doc = NULL;
    if (nl && lt_json_parse((const char *)nl + 1, size - expr_len - 1, &doc, NULL) == 0) {
        json_t *a = lt_json_path_select(path, doc), *b = lt_json_path_select(path, doc);
        FZ_CHECK((a == NULL) == (b == NULL), "selection not repeatable");
        if (a) {
            char *text = lt_json_dump(a);
            FZ_CHECK(text != NULL, "selected value does not serialize");
            free(text);
            FZ_CHECK(json_equal(a, b), "selection not repeatable");
        }
        if (lt_json_path_is_root(path)) FZ_CHECK(a == doc, "$ is not the document");
        json_decref(a);
        json_decref(b);
        json_decref(doc);
    }
    lt_json_path_free(path);
    free(expr);
    return 0;
}
