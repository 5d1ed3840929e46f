/* Predictions in the response formats SageMaker's built-in algorithms answer with:
 * application/json ({"predictions": [record, ...]}), application/jsonlines (one record a
 * line), text/csv (one line a row) and application/x-recordio-protobuf (one Record a row,
 * the record's members in its label map). Shared by `lathe algo predict`, endpoints and
 * batch transform, so the three cannot drift apart. */
#include "algo/algo.h"

#include <stdlib.h>
#include <strings.h>
#include <string.h>

static bool accept_verbose(const char *accept)
{
    for (const char *p = strchr(accept, ';'); p; p = strchr(p + 1, ';')) {
        const char *q = p + 1;
        while (*q == ' ') q++;
        if (strncasecmp(q, "verbose=true", 12) == 0) return true;
    }
    return false;
}

static bool media_is(const char *accept, const char *type)
{
    size_t n = strlen(type);
    return strncasecmp(accept, type, n) == 0 && (accept[n] == '\0' || accept[n] == ';' ||
                                                 accept[n] == ' ');
}

static const char RECORDIO[] = "application/x-recordio-protobuf";

const char *lt_algo_response_type(const lt_algo *algo, const char *accept)
{
    if (!accept || !*accept || strcmp(accept, "*/*") == 0)
        return algo && algo->default_accept ? algo->default_accept : "application/json";
    if (media_is(accept, "application/json")) return "application/json";
    if (media_is(accept, "application/jsonlines")) return "application/jsonlines";
    if (media_is(accept, "text/csv")) return "text/csv";
    if (media_is(accept, RECORDIO)) return RECORDIO;
    return NULL;
}

/* One row as a RecordIO-protobuf record. It is built from the row's JSON record, so the
 * two formats carry the same members: each number or array of numbers becomes a label
 * Float32Tensor of that name, as SageMaker's algorithms answer (label["score"],
 * label["closest_cluster"], label["projection"], ...). */
static int format_recordio(const lt_algo *algo, const lt_algo_model *model, const double *row,
                           lt_buf *scratch, lt_buf *body, lt_err *err)
{
    scratch->len = 0;
    int rc = algo->format_json(model, row, scratch, err);
    json_t *doc = NULL;
    if (!rc) rc = lt_json_parse(scratch->data, scratch->len, &doc, err);
    if (rc) return rc;
    size_t n = json_object_size(doc), k = 0;
    const char **keys = lt_xcalloc(n + 1, sizeof *keys);
    float **values = lt_xcalloc(n + 1, sizeof *values);
    size_t *counts = lt_xcalloc(n + 1, sizeof *counts);
    const char *key;
    json_t *v;
    json_object_foreach(doc, key, v) {
        size_t m = json_is_array(v) ? json_array_size(v) : 1;
        keys[k] = key;
        values[k] = lt_xcalloc(m + 1, sizeof **values);
        counts[k] = m;
        for (size_t i = 0; i < m && !rc; i++) {
            json_t *x = json_is_array(v) ? json_array_get(v, i) : v;
            if (!json_is_number(x))
                rc = lt_err_set(err, LT_EINVAL,
                                "%s's \"%s\" is not numeric and has no RecordIO-protobuf form; "
                                "use Accept application/json",
                                algo->name, key);
            else values[k][i] = (float)json_number_value(x);
        }
        k++;
    }
    if (!rc) rc = lt_write_recordio_labels(keys, values, counts, k, body, err);
    for (size_t i = 0; i < k; i++) free(values[i]);
    free(counts);
    free(values);
    free(keys);
    json_decref(doc);
    return rc;
}

int lt_algo_format_predictions(const lt_algo *algo, const lt_algo_model *model, const double *out,
                               size_t n_rows, const char *accept, lt_buf *body, lt_err *err)
{
    const char *type = lt_algo_response_type(algo, accept);
    if (!type)
        return lt_err_set(err, LT_EINVAL,
                          "Accept '%s' is not one of application/json, application/jsonlines, "
                          "text/csv, application/x-recordio-protobuf",
                          accept);
    if (type == RECORDIO) {
        lt_buf scratch;
        lt_buf_init(&scratch, (size_t)1 << 20);
        int rc = 0;
        size_t width = algo->output_width(model);
        for (size_t r = 0; r < n_rows && !rc; r++)
            rc = format_recordio(algo, model, out + r * width, &scratch, body, err);
        lt_buf_free(&scratch);
        return rc;
    }
    bool csv = strcmp(type, "text/csv") == 0;
    bool json = strcmp(type, "application/json") == 0;
    size_t width = algo->output_width(model);
    int (*format)(const lt_algo_model *, const double *, lt_buf *, lt_err *) = algo->format_json;
    if (!csv && accept && accept_verbose(accept) && algo->format_json_verbose)
        format = algo->format_json_verbose;
    if (csv) format = algo->format_csv;
    int rc = 0;
    if (json)
        rc = lt_buf_printf(body, err, "{\"%s\":[",
                           algo->json_list_key ? algo->json_list_key : "predictions");
    for (size_t r = 0; r < n_rows && !rc; r++) {
        const double *row = out + r * width;
        if (json && r) rc = lt_buf_append(body, ",", 1, err);
        if (!rc && format) {
            rc = format(model, row, body, err);
        } else {
            char num[LT_FORMAT_G9_MAX + 1];
            for (size_t c = 0; c < width && !rc; c++) {
                num[0] = ',';
                size_t n = lt_format_g9(row[c], num + 1);
                rc = lt_buf_append(body, c ? num : num + 1, c ? n + 1 : n, err);
            }
        }
        if (!rc && !json) rc = lt_buf_append(body, "\n", 1, err);
    }
    if (!rc && json) rc = lt_buf_puts(body, "]}\n", err);
    return rc;
}
