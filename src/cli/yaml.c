/* A small YAML file as the JSON value the same request would be (`lathe tune create`).
 *
 * The subset: one document of block or flow mappings, sequences and scalars (libyaml
 * parses YAML 1.1). Anchors are ignored; aliases, tags other than the standard ones and a
 * second document are refused, as is a mapping key that is not a scalar or is repeated.
 * Scalars follow YAML 1.2's core schema: quoted scalars are strings; plain ones are null
 * (empty, ~, null), true/false, integers, finite reals, or else strings ("yes" and "no" stay
 * strings: the YAML 1.1 booleans surprise more than they help). One exception keeps the API's
 * types: the members whose values are strings in SageMaker's API however numeric they look
 * (MinValue, MaxValue, Values, Key, Value, and everything under StaticHyperParameters,
 * HyperParameters and Environment) take every scalar as the text written, so
 * `MinValue: 0.001` sends "0.001". Errors name the source, the line and the column (1-based). */
#include "cli/cli_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define YAML_MAX_DEPTH 64

typedef struct yconv {
    yaml_parser_t parser;
    const char *source;
    lt_err *err;
} yconv;

static int fail_at(yconv *c, yaml_mark_t mark, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return lt_err_set(c->err, LT_EINVAL, "%s:%zu:%zu: %s", c->source, mark.line + 1,
                      mark.column + 1, msg);
}

static int next_event(yconv *c, yaml_event_t *ev)
{
    if (yaml_parser_parse(&c->parser, ev)) return 0;
    const char *problem = c->parser.problem ? c->parser.problem : "not valid YAML";
    if (c->parser.context)
        return fail_at(c, c->parser.problem_mark, "%s: %s", c->parser.context, problem);
    return fail_at(c, c->parser.problem_mark, "%s", problem);
}

/* Whether the members under this key keep their scalars as text: 1 for its own value
 * (a list or a scalar), 2 for the whole subtree. */
static int string_member(const char *key)
{
    static const char *const values[] = {"MinValue", "MaxValue", "Values", "Key", "Value", NULL};
    static const char *const trees[] = {"StaticHyperParameters", "HyperParameters", "Environment",
                                        NULL};
    for (const char *const *k = trees; *k; k++)
        if (strcmp(*k, key) == 0) return 2;
    for (const char *const *k = values; *k; k++)
        if (strcmp(*k, key) == 0) return 1;
    return 0;
}

static bool all_digits(const char *s)
{
    if (*s == '-' || *s == '+') s++;
    if (!*s) return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return false;
    return true;
}

static json_t *plain_scalar(const char *s)
{
    if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL"))
        return json_null();
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) return json_true();
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) return json_false();
    int64_t i;
    if (all_digits(s) && lt_parse_i64(s, INT64_MIN, INT64_MAX, &i, "value", NULL) == 0)
        return json_integer(i);
    if (strspn(s, "0123456789+-.eE") == strlen(s) && strpbrk(s, "0123456789")) {
        char *end = NULL;
        double d = strtod(s, &end);
        if (end && *end == '\0' && isfinite(d)) return json_real(d);
    }
    return json_string(s);
}

static int convert(yconv *c, yaml_event_t *ev, int as_text, int depth, json_t **out);

static int convert_sequence(yconv *c, int as_text, int depth, json_t **out)
{
    json_t *arr = json_array();
    for (;;) {
        yaml_event_t ev;
        int rc = next_event(c, &ev);
        if (rc) {
            json_decref(arr);
            return rc;
        }
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            *out = arr;
            return 0;
        }
        json_t *item = NULL;
        rc = convert(c, &ev, as_text, depth + 1, &item);
        yaml_event_delete(&ev);
        if (rc) {
            json_decref(arr);
            return rc;
        }
        json_array_append_new(arr, item);
    }
}

static int convert_mapping(yconv *c, int as_text, int depth, json_t **out)
{
    json_t *obj = json_object();
    int rc = 0;
    for (;;) {
        yaml_event_t key;
        rc = next_event(c, &key);
        if (rc) break;
        if (key.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&key);
            *out = obj;
            return 0;
        }
        if (key.type != YAML_SCALAR_EVENT) {
            rc = fail_at(c, key.start_mark, "a mapping key must be a plain name");
            yaml_event_delete(&key);
            break;
        }
        char *name = lt_xstrndup((const char *)key.data.scalar.value, key.data.scalar.length);
        size_t name_len = key.data.scalar.length;
        yaml_mark_t at = key.start_mark;
        yaml_event_delete(&key);
        if (strlen(name) != name_len || json_object_get(obj, name)) {
            rc = fail_at(c, at, json_object_get(obj, name) ? "the key '%s' appears twice"
                                                           : "a key holds a NUL byte",
                         name);
            free(name);
            break;
        }
        yaml_event_t value;
        rc = next_event(c, &value);
        json_t *item = NULL;
        if (!rc) {
            int member = string_member(name);
            rc = convert(c, &value, as_text == 2 ? 2 : member, depth + 1, &item);
            yaml_event_delete(&value);
        }
        if (!rc) json_object_set_new(obj, name, item);
        free(name);
        if (rc) break;
    }
    json_decref(obj);
    return rc ? rc : LT_EINVAL;
}

/* The node that starts with *ev (which the caller deletes). */
static int convert(yconv *c, yaml_event_t *ev, int as_text, int depth, json_t **out)
{
    if (depth > YAML_MAX_DEPTH)
        return fail_at(c, ev->start_mark, "nested deeper than %d levels", YAML_MAX_DEPTH);
    switch (ev->type) {
    case YAML_SCALAR_EVENT: {
        const char *tag = (const char *)ev->data.scalar.tag;
        if (tag && strcmp(tag, YAML_STR_TAG) != 0)
            return fail_at(c, ev->start_mark, "the tag %s is not supported (only !!str)", tag);
        const char *s = (const char *)ev->data.scalar.value;
        if (strlen(s) != ev->data.scalar.length)
            return fail_at(c, ev->start_mark, "a value holds a NUL byte");
        bool text = as_text || tag || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
        *out = text ? json_string(s) : plain_scalar(s);
        if (!*out) return fail_at(c, ev->start_mark, "a value is not valid UTF-8");
        return 0;
    }
    case YAML_SEQUENCE_START_EVENT:
        return convert_sequence(c, as_text, depth, out);
    case YAML_MAPPING_START_EVENT:
        return convert_mapping(c, as_text == 1 ? 0 : as_text, depth, out);
    case YAML_ALIAS_EVENT:
        return fail_at(c, ev->start_mark, "aliases (*%s) are not supported",
                       (const char *)ev->data.alias.anchor);
    default:
        return fail_at(c, ev->start_mark, "unexpected YAML structure");
    }
}

int lt_cli__yaml_to_json(const char *text, size_t len, const char *source, json_t **out,
                         lt_err *err)
{
    yconv c = {.source = source, .err = err};
    *out = NULL;
    if (!yaml_parser_initialize(&c.parser))
        return lt_err_set(err, LT_ENOMEM, "%s: cannot start the YAML parser", source);
    yaml_parser_set_input_string(&c.parser, (const unsigned char *)text, len);
    json_t *doc = NULL;
    int rc = 0;
    bool done = false;
    while (!rc && !done) {
        yaml_event_t ev;
        rc = next_event(&c, &ev);
        if (rc) break;
        switch (ev.type) {
        case YAML_STREAM_START_EVENT:
        case YAML_DOCUMENT_END_EVENT: break;
        case YAML_DOCUMENT_START_EVENT:
            if (doc) rc = fail_at(&c, ev.start_mark, "only one YAML document is read");
            break;
        case YAML_STREAM_END_EVENT: done = true; break;
        default: rc = convert(&c, &ev, 0, 0, &doc); break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&c.parser);
    if (!rc && !json_is_object(doc))
        rc = lt_err_set(err, LT_EINVAL, "%s: the request must be a mapping of members", source);
    if (rc) {
        json_decref(doc);
        return rc;
    }
    *out = doc;
    return 0;
}
