/*
 * A JSONPath subset: the expressions batch transform's DataProcessing filters use
 * (SageMaker's "Associate Prediction Results with Input Records" operators, without the
 * wildcard).
 *
 * Grammar (whitespace allowed inside brackets only):
 *   path    := '$' step*
 *   step    := '.' name | '[' keys ']' | '[' indices ']' | '[' slice ']'
 *   name    := one or more of [A-Za-z0-9_-]
 *   keys    := quoted (',' quoted)*       quoted: '...' or "..." with \' \" \\ escapes
 *   indices := int (',' int)*             int: -?[0-9]+ (negative counts from the end)
 *   slice   := [int] ':' [int]            Python's: start and end clamped, end excluded
 *
 * Selecting: `.name`, `['name']` and `[i]` step into one child (the path matches nothing
 * when it is absent or out of range). `[i,j]` and slices make an array of the chosen
 * elements, `['a','b']` an object of the chosen members (absent ones left out); the steps
 * after them apply to each chosen element, and elements they match nothing in are left out.
 */
#include "base/base.h"

#include <stdlib.h>
#include <string.h>

#define MAX_INDEX 1000000000LL

typedef enum { STEP_KEY, STEP_KEYS, STEP_INDEX, STEP_INDICES, STEP_SLICE } step_kind;

typedef struct step {
    step_kind kind;
    size_t n;       /* keys or indices */
    char **keys;    /* STEP_KEY (one), STEP_KEYS */
    long long *idx; /* STEP_INDEX (one), STEP_INDICES */
    bool has_start, has_end;
    long long start, end; /* STEP_SLICE */
} step;

struct lt_json_path {
    size_t n_steps;
    step *steps;
};

void lt_json_path_free(lt_json_path *path)
{
    if (!path) return;
    for (size_t i = 0; i < path->n_steps; i++) {
        step *s = &path->steps[i];
        if (s->keys)
            for (size_t k = 0; k < s->n; k++) free(s->keys[k]);
        free(s->keys);
        free(s->idx);
    }
    free(path->steps);
    free(path);
}

typedef struct parser {
    const char *expr;
    size_t pos;
    lt_err *err;
} parser;

static int fail(parser *p, const char *why)
{
    return lt_err_set(p->err, LT_EINVAL, "'%s' at position %zu: %s", p->expr, p->pos + 1, why);
}

static void skip_space(parser *p)
{
    while (p->expr[p->pos] == ' ' || p->expr[p->pos] == '\t') p->pos++;
}

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

static int parse_int(parser *p, long long *out)
{
    bool neg = p->expr[p->pos] == '-';
    if (neg) p->pos++;
    if (p->expr[p->pos] < '0' || p->expr[p->pos] > '9') return fail(p, "expected a number");
    long long v = 0;
    while (p->expr[p->pos] >= '0' && p->expr[p->pos] <= '9') {
        v = v * 10 + (p->expr[p->pos] - '0');
        if (v > MAX_INDEX) return fail(p, "index too large");
        p->pos++;
    }
    *out = neg ? -v : v;
    return 0;
}

static int parse_quoted(parser *p, char **out)
{
    char quote = p->expr[p->pos++];
    lt_buf b;
    lt_buf_init(&b, 4096);
    int rc = 0;
    for (;;) {
        char c = p->expr[p->pos];
        if (c == '\0') {
            rc = fail(p, "unterminated quoted name");
            break;
        }
        p->pos++;
        if (c == quote) break;
        if (c == '\\') {
            c = p->expr[p->pos];
            if (c != quote && c != '\\') {
                rc = fail(p, "unknown escape in a quoted name");
                break;
            }
            p->pos++;
        }
        if ((rc = lt_buf_append(&b, &c, 1, p->err))) break;
    }
    if (rc) {
        lt_buf_free(&b);
        return rc;
    }
    *out = b.data ? lt_buf_take(&b) : lt_xstrdup("");
    return 0;
}

/* After '[': keys, indices or a slice, then ']'. */
static int parse_bracket(parser *p, step *s)
{
    skip_space(p);
    char c = p->expr[p->pos];
    int rc = 0;
    if (c == '\'' || c == '"') {
        for (;;) {
            char *key = NULL;
            if ((rc = parse_quoted(p, &key))) return rc;
            s->keys = lt_xrealloc(s->keys, (s->n + 1) * sizeof *s->keys);
            s->keys[s->n++] = key;
            skip_space(p);
            if (p->expr[p->pos] != ',') break;
            p->pos++;
            skip_space(p);
            if (p->expr[p->pos] != '\'' && p->expr[p->pos] != '"')
                return fail(p, "expected a quoted name after ','");
        }
        s->kind = s->n == 1 ? STEP_KEY : STEP_KEYS;
    } else if (c == '*') {
        return fail(p, "the wildcard '*' is not supported");
    } else {
        long long first = 0;
        bool has_first = c != ':';
        if (has_first && (rc = parse_int(p, &first))) return rc;
        skip_space(p);
        if (p->expr[p->pos] == ':') {
            p->pos++;
            skip_space(p);
            s->kind = STEP_SLICE;
            s->has_start = has_first;
            s->start = first;
            if (p->expr[p->pos] != ']') {
                s->has_end = true;
                if ((rc = parse_int(p, &s->end))) return rc;
                skip_space(p);
            }
            if (p->expr[p->pos] == ':') return fail(p, "slice steps are not supported");
        } else {
            s->idx = lt_xmalloc(sizeof *s->idx);
            s->idx[s->n++] = first;
            while (p->expr[p->pos] == ',') {
                p->pos++;
                skip_space(p);
                long long v;
                if ((rc = parse_int(p, &v))) return rc;
                s->idx = lt_xrealloc(s->idx, (s->n + 1) * sizeof *s->idx);
                s->idx[s->n++] = v;
                skip_space(p);
            }
            s->kind = s->n == 1 ? STEP_INDEX : STEP_INDICES;
        }
    }
    skip_space(p);
    if (p->expr[p->pos] != ']') return fail(p, "expected ']'");
    p->pos++;
    return 0;
}

int lt_json_path_parse(const char *expr, lt_json_path **out, lt_err *err)
{
    *out = NULL;
    parser p = {.expr = expr, .err = err};
    if (expr[0] != '$') return fail(&p, "a path starts with '$'");
    p.pos = 1;
    lt_json_path *path = lt_xcalloc(1, sizeof *path);
    int rc = 0;
    while (!rc && expr[p.pos]) {
        path->steps = lt_xrealloc(path->steps, (path->n_steps + 1) * sizeof *path->steps);
        step *s = &path->steps[path->n_steps++];
        memset(s, 0, sizeof *s);
        if (expr[p.pos] == '.') {
            p.pos++;
            if (expr[p.pos] == '.') {
                rc = fail(&p, "recursive descent '..' is not supported");
                break;
            }
            if (expr[p.pos] == '*') {
                rc = fail(&p, "the wildcard '*' is not supported");
                break;
            }
            size_t start = p.pos;
            while (is_name_char(expr[p.pos])) p.pos++;
            if (p.pos == start) {
                rc = fail(&p, "expected a name after '.'");
                break;
            }
            s->kind = STEP_KEY;
            s->keys = lt_xmalloc(sizeof *s->keys);
            s->keys[0] = lt_xstrndup(expr + start, p.pos - start);
            s->n = 1;
        } else if (expr[p.pos] == '[') {
            p.pos++;
            rc = parse_bracket(&p, s);
        } else {
            rc = fail(&p, "expected '.' or '['");
        }
    }
    if (rc) {
        lt_json_path_free(path);
        return rc;
    }
    *out = path;
    return 0;
}

bool lt_json_path_is_root(const lt_json_path *path)
{
    return path->n_steps == 0;
}

/* An index counted from the end when negative; -1 when out of range. */
static long long resolve(long long i, size_t size)
{
    if (i < 0) i += (long long)size;
    return i >= 0 && i < (long long)size ? i : -1;
}

static long long clamp(long long i, size_t size)
{
    if (i < 0) i += (long long)size;
    if (i < 0) return 0;
    return i > (long long)size ? (long long)size : i;
}

static json_t *select_from(const lt_json_path *path, size_t k, json_t *node)
{
    if (k == path->n_steps) return json_incref(node);
    const step *s = &path->steps[k];
    switch (s->kind) {
    case STEP_KEY: {
        json_t *child = json_is_object(node) ? json_object_get(node, s->keys[0]) : NULL;
        return child ? select_from(path, k + 1, child) : NULL;
    }
    case STEP_INDEX: {
        long long i = json_is_array(node) ? resolve(s->idx[0], json_array_size(node)) : -1;
        return i >= 0 ? select_from(path, k + 1, json_array_get(node, (size_t)i)) : NULL;
    }
    case STEP_KEYS: {
        if (!json_is_object(node)) return NULL;
        json_t *obj = json_object();
        for (size_t j = 0; j < s->n; j++) {
            json_t *child = json_object_get(node, s->keys[j]);
            json_t *v = child ? select_from(path, k + 1, child) : NULL;
            if (v) json_object_set_new(obj, s->keys[j], v);
        }
        return obj;
    }
    case STEP_INDICES:
    case STEP_SLICE: {
        if (!json_is_array(node)) return NULL;
        size_t size = json_array_size(node);
        json_t *arr = json_array();
        long long from = 0, to = 0;
        if (s->kind == STEP_SLICE) {
            from = s->has_start ? clamp(s->start, size) : 0;
            to = s->has_end ? clamp(s->end, size) : (long long)size;
        }
        size_t count = s->kind == STEP_SLICE ? (size_t)(to > from ? to - from : 0) : s->n;
        for (size_t j = 0; j < count; j++) {
            long long i = s->kind == STEP_SLICE ? from + (long long)j : resolve(s->idx[j], size);
            if (i < 0) continue;
            json_t *v = select_from(path, k + 1, json_array_get(node, (size_t)i));
            if (v) json_array_append_new(arr, v);
        }
        return arr;
    }
    }
    return NULL;
}

json_t *lt_json_path_select(const lt_json_path *path, json_t *doc)
{
    return doc ? select_from(path, 0, doc) : NULL;
}
