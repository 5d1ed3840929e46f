/* DataProcessing of a transform job (SageMaker's "Associate Prediction Results with Input
 * Records"), record by record:
 *
 *   InputFilter   a JSONPath (base's subset) applied to each input record; what it selects
 *                 is what the model sees. A CSV line is a JSON array of its fields (so
 *                 "$[1:]" drops the first column); a JSON line is parsed as JSON, and a
 *                 selected array becomes {"features": [...]}, the built-in algorithms'
 *                 JSON lines input.
 *   JoinSource    Input: the model's answer for a record is joined to the whole input
 *                 record: CSV, the input's fields then the answer's; JSON, the input object
 *                 with the answer under "SageMakerOutput" (an input array gets the answer
 *                 appended).
 *   OutputFilter  a JSONPath applied to the joined record (or to the answer alone without a
 *                 join), e.g. "$[0,-1]" keeps an id column and the prediction.
 *
 * Under DataProcessing the model reads one record per line (CSV or JSON lines) and answers
 * one per line (CSV, or JSON lines for a JSON Accept). A record is written in the input's
 * format when joined, else in the answer's. Blank lines are not records. CSV fields keep
 * their text; they become JSON numbers only when a CSV answer joins a JSON record. */
#include "cli/transform_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct lt_cli__transform_dp {
    lt_json_path *input_filter;  /* NULL for "$" */
    lt_json_path *output_filter; /* NULL for "$" */
    const char *input_expr, *output_expr;
    bool join;
    bool csv_in;  /* records are CSV lines, else JSON */
    bool csv_out; /* the model answers CSV lines, else JSON lines */
    bool builtin; /* a built-in algorithm: JSON records go to it as {"features": [...]} */
    const char *type, *accept; /* the job's ContentType and Accept, for a serve program */
};

static int compile(const json_t *dp, const char *member, lt_json_path **out, const char **expr,
                   lt_err *err)
{
    *expr = lt_json_str(dp, member);
    if (!*expr) return 0;
    lt_err inner = {0};
    lt_json_path *path = NULL;
    if (lt_json_path_parse(*expr, &path, &inner) != 0)
        return lt_err_set(err, LT_EINVAL, "DataProcessing.%s: %s", member, inner.msg);
    if (lt_json_path_is_root(path))
        lt_json_path_free(path);
    else
        *out = path;
    return 0;
}

static bool is_json_type(const char *type)
{
    return type && (strncmp(type, "application/json", 16) == 0);
}

int lt_cli__transform_dp_new(const json_t *job_doc, bool builtin, lt_cli__transform_dp **out,
                             lt_err *err)
{
    *out = NULL;
    const json_t *dp = json_object_get(job_doc, "DataProcessing");
    lt_cli__transform_dp *d = lt_xcalloc(1, sizeof *d);
    int rc = compile(dp, "InputFilter", &d->input_filter, &d->input_expr, err);
    if (!rc) rc = compile(dp, "OutputFilter", &d->output_filter, &d->output_expr, err);
    const char *join = lt_json_str(dp, "JoinSource");
    d->join = join && strcmp(join, "Input") == 0;
    const char *type = lt_json_str(json_object_get(job_doc, "TransformInput"), "ContentType");
    const char *accept = lt_json_str(json_object_get(job_doc, "TransformOutput"), "Accept");
    d->csv_in = !is_json_type(type);
    d->csv_out = !is_json_type(accept);
    d->builtin = builtin;
    d->type = type;
    d->accept = accept;
    bool active = d->input_filter || d->output_filter || d->join;
    if (!rc && active && type && strncmp(type, "text/csv", 8) != 0 && !is_json_type(type))
        rc = lt_err_set(err, LT_EINVAL,
                        "DataProcessing applies to CSV and JSON records; TransformInput."
                        "ContentType is %s",
                        type);
    if (rc || !active) {
        lt_cli__transform_dp_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

void lt_cli__transform_dp_free(lt_cli__transform_dp *dp)
{
    if (!dp) return;
    lt_json_path_free(dp->input_filter);
    lt_json_path_free(dp->output_filter);
    free(dp);
}

const char *lt_cli__transform_dp_model_type(const lt_cli__transform_dp *dp)
{
    if (!dp->builtin) return dp->type ? dp->type : "text/csv";
    return dp->csv_in ? "text/csv;label_size=0" : "application/jsonlines";
}

const char *lt_cli__transform_dp_model_accept(const lt_cli__transform_dp *dp)
{
    if (!dp->builtin) return dp->accept;
    return dp->csv_out ? "text/csv" : "application/jsonlines";
}

/* The next non-blank line at or after *pos (without its "\r\n"); false at the end. Blank
 * lines passed over are counted in *blanks (when not NULL), so record numbers stay those of
 * the object's lines, as the splitter counts them. */
static bool next_line(const char *data, size_t len, size_t *pos, const char **line, size_t *n,
                      size_t *blanks)
{
    while (*pos < len) {
        const char *s = data + *pos;
        const char *nl = memchr(s, '\n', len - *pos);
        size_t l = nl ? (size_t)(nl - s) : len - *pos;
        *pos += l + (nl ? 1 : 0);
        while (l && (s[l - 1] == '\r' || s[l - 1] == ' ' || s[l - 1] == '\t')) l--;
        if (l) {
            *line = s;
            *n = l;
            return true;
        }
        if (blanks) (*blanks)++;
    }
    return false;
}

/* A CSV line as a JSON array of its fields' text ("" quotes undone). */
static json_t *csv_fields(const char *s, size_t n)
{
    json_t *arr = json_array();
    lt_buf field;
    lt_buf_init(&field, n + 1);
    size_t i = 0;
    for (;;) {
        lt_buf_reset(&field);
        if (i < n && s[i] == '"') {
            for (i++; i < n; i++) {
                if (s[i] == '"' && i + 1 < n && s[i + 1] == '"') {
                    lt_buf_append(&field, "\"", 1, NULL);
                    i++;
                } else if (s[i] == '"') {
                    i++;
                    break;
                } else {
                    lt_buf_append(&field, s + i, 1, NULL);
                }
            }
            while (i < n && s[i] != ',') lt_buf_append(&field, s + i++, 1, NULL);
        } else {
            size_t start = i;
            while (i < n && s[i] != ',') i++;
            lt_buf_append(&field, s + start, i - start, NULL);
        }
        json_array_append_new(arr, json_stringn(field.data ? field.data : "", field.len));
        if (i >= n) break;
        i++; /* the comma */
    }
    lt_buf_free(&field);
    return arr;
}

/* A CSV field's text as a JSON number when the whole of it is one, else as a string. */
static json_t *field_value(const json_t *field)
{
    const char *s = json_string_value(field);
    char *end = NULL;
    double d = s && *s ? strtod(s, &end) : 0;
    if (s && *s && end && *end == '\0' && isfinite(d)) {
        if (d == floor(d) && fabs(d) < 9e15 && !strpbrk(s, ".eE")) return json_integer((json_int_t)d);
        return json_real(d);
    }
    return json_incref((json_t *)field);
}

static int put_csv_field(lt_buf *out, const json_t *v, bool *first, lt_err *err)
{
    int rc = 0;
    if (json_is_array(v)) {
        for (size_t i = 0; !rc && i < json_array_size(v); i++)
            rc = put_csv_field(out, json_array_get(v, i), first, err);
        return rc;
    }
    if (!*first) rc = lt_buf_append(out, ",", 1, err);
    *first = false;
    char *text = NULL;
    const char *s;
    size_t n;
    if (json_is_string(v)) {
        s = json_string_value(v);
        n = json_string_length(v);
    } else if (json_is_null(v)) {
        s = "";
        n = 0;
    } else {
        text = lt_json_dump(v);
        s = text;
        n = strlen(text);
    }
    bool quote = n && (memchr(s, ',', n) || memchr(s, '"', n) || memchr(s, '\n', n));
    if (!rc && quote) rc = lt_buf_append(out, "\"", 1, err);
    for (size_t i = 0; !rc && i < n; i++)
        rc = s[i] == '"' && quote ? lt_buf_append(out, "\"\"", 2, err) : lt_buf_append(out, s + i, 1, err);
    if (!rc && quote) rc = lt_buf_append(out, "\"", 1, err);
    free(text);
    return rc;
}

static int put_record(lt_buf *out, const json_t *v, bool csv, bool newline, lt_err *err)
{
    int rc = 0;
    if (csv) {
        bool first = true;
        rc = put_csv_field(out, v, &first, err);
    } else {
        char *text = lt_json_dump(v);
        rc = lt_buf_puts(out, text, err);
        free(text);
    }
    if (!rc && newline) rc = lt_buf_append(out, "\n", 1, err);
    return rc;
}

/* An input record as JSON: a CSV line's fields, or the parsed JSON line. */
static int parse_record(const lt_cli__transform_dp *dp, const char *line, size_t n,
                        const char *uri, size_t record, json_t **out, lt_err *err)
{
    if (dp->csv_in) {
        *out = csv_fields(line, n);
        return 0;
    }
    lt_err inner = {0};
    if (lt_json_parse(line, n, out, &inner) != 0)
        return lt_err_set(err, LT_EINVAL, "%s record %zu: not JSON: %s", uri, record + 1, inner.msg);
    return 0;
}

int lt_cli__transform_dp_input(const lt_cli__transform_dp *dp, const char *data, size_t len,
                               const char *uri, size_t first_record, lt_buf *model_in,
                               lt_err *err)
{
    size_t pos = 0, n, record = first_record;
    const char *line;
    int rc = 0;
    while (!rc && next_line(data, len, &pos, &line, &n, &record)) {
        if (!dp->input_filter && dp->csv_in) {
            rc = lt_buf_append(model_in, line, n, err);
            if (!rc) rc = lt_buf_append(model_in, "\n", 1, err);
            record++;
            continue;
        }
        json_t *doc = NULL, *sel = NULL;
        rc = parse_record(dp, line, n, uri, record, &doc, err);
        if (!rc) sel = dp->input_filter ? lt_json_path_select(dp->input_filter, doc) : json_incref(doc);
        if (!rc && !sel)
            rc = lt_err_set(err, LT_EINVAL, "%s record %zu: InputFilter '%s' selects nothing", uri,
                            record + 1, dp->input_expr);
        if (!rc && dp->csv_in && json_is_object(sel))
            rc = lt_err_set(err, LT_EINVAL,
                            "%s record %zu: InputFilter '%s' selects an object, which a CSV "
                            "record cannot hold",
                            uri, record + 1, dp->input_expr);
        if (!rc && dp->builtin && !dp->csv_in && !json_is_object(sel)) {
            /* The built-in algorithms read JSON lines as {"features": [...]}. */
            json_t *wrapped = json_object();
            json_object_set_new(wrapped, "features", json_is_array(sel) ? sel : json_pack("[O]", sel));
            if (!json_is_array(sel)) json_decref(sel);
            sel = wrapped;
        }
        if (!rc) rc = put_record(model_in, sel, dp->csv_in, true, err);
        json_decref(sel);
        json_decref(doc);
        record++;
    }
    return rc;
}

/* The model's answer for one record as JSON: CSV fields (numbers where joining JSON), or
 * the parsed JSON line. */
static int parse_answer(const lt_cli__transform_dp *dp, const char *line, size_t n,
                        const char *uri, size_t record, json_t **out, lt_err *err)
{
    if (!dp->csv_out) {
        lt_err inner = {0};
        if (lt_json_parse(line, n, out, &inner) != 0)
            return lt_err_set(err, LT_EINVAL, "%s record %zu: the model's answer is not JSON: %s",
                              uri, record + 1, inner.msg);
        return 0;
    }
    json_t *fields = csv_fields(line, n);
    if (!dp->join || dp->csv_in) {
        *out = fields;
        return 0;
    }
    json_t *values = json_array();
    for (size_t i = 0; i < json_array_size(fields); i++)
        json_array_append_new(values, field_value(json_array_get(fields, i)));
    json_decref(fields);
    *out = json_array_size(values) == 1 ? json_incref(json_array_get(values, 0)) : json_incref(values);
    json_decref(values);
    return 0;
}

static int join_record(const lt_cli__transform_dp *dp, json_t *input, json_t *answer,
                       const char *uri, size_t record, json_t **out, lt_err *err)
{
    if (dp->csv_in) {
        json_t *joined = json_copy(input);
        if (json_is_array(answer))
            json_array_extend(joined, answer);
        else
            json_array_append(joined, answer);
        *out = joined;
        return 0;
    }
    if (json_is_object(input)) {
        json_t *joined = json_copy(input);
        json_object_set(joined, "SageMakerOutput", answer);
        *out = joined;
        return 0;
    }
    if (json_is_array(input)) {
        json_t *joined = json_copy(input);
        json_array_append(joined, answer);
        *out = joined;
        return 0;
    }
    return lt_err_set(err, LT_EINVAL,
                      "%s record %zu: JoinSource Input needs a JSON object or array to join to",
                      uri, record + 1);
}

int lt_cli__transform_dp_output(const lt_cli__transform_dp *dp, const char *data, size_t len,
                                const char *model_out, size_t out_len, const char *uri,
                                size_t first_record, bool lines, lt_buf *out, lt_err *err)
{
    size_t in_pos = 0, out_pos = 0, in_n, ans_n, record = first_record;
    const char *in_line, *ans_line;
    int rc = 0;
    while (!rc && next_line(data, len, &in_pos, &in_line, &in_n, &record)) {
        if (!next_line(model_out, out_len, &out_pos, &ans_line, &ans_n, NULL)) {
            rc = lt_err_set(err, LT_EINVAL,
                            "%s record %zu: the model answered fewer records than it was given",
                            uri, record + 1);
            break;
        }
        json_t *input = NULL, *answer = NULL, *joined = NULL, *sel = NULL;
        if (dp->join) rc = parse_record(dp, in_line, in_n, uri, record, &input, err);
        if (!rc) rc = parse_answer(dp, ans_line, ans_n, uri, record, &answer, err);
        if (!rc && dp->join) rc = join_record(dp, input, answer, uri, record, &joined, err);
        if (!rc && !dp->join) joined = json_incref(answer);
        if (!rc) sel = dp->output_filter ? lt_json_path_select(dp->output_filter, joined) : json_incref(joined);
        if (!rc && !sel)
            rc = lt_err_set(err, LT_EINVAL, "%s record %zu: OutputFilter '%s' selects nothing", uri,
                            record + 1, dp->output_expr);
        bool csv = dp->join ? dp->csv_in : dp->csv_out;
        /* A CSV record is a line whatever AssembleWith says; JSON ones are joined by it. */
        if (!rc) rc = put_record(out, sel, csv, lines || csv, err);
        json_decref(sel);
        json_decref(joined);
        json_decref(answer);
        json_decref(input);
        record++;
    }
    if (!rc && next_line(model_out, out_len, &out_pos, &ans_line, &ans_n, NULL))
        rc = lt_err_set(err, LT_EINVAL,
                        "%s record %zu: the model answered more records than it was given", uri,
                        first_record + 1);
    return rc;
}
