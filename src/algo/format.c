/* Predictions in the response formats SageMaker's built-in algorithms answer with:
 * application/json ({"predictions": [record, ...]}), application/jsonlines (one record a
 * line) and text/csv (one line a row). Shared by `lathe algo predict`, endpoints and batch
 * transform, so the three cannot drift apart. */
#include "algo/algo.h"

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

const char *lt_algo_response_type(const char *accept)
{
    if (!accept || !*accept || strcmp(accept, "*/*") == 0) return "application/json";
    if (media_is(accept, "application/json")) return "application/json";
    if (media_is(accept, "application/jsonlines")) return "application/jsonlines";
    if (media_is(accept, "text/csv")) return "text/csv";
    return NULL;
}

int lt_algo_format_predictions(const lt_algo *algo, const lt_algo_model *model, const double *out,
                               size_t n_rows, const char *accept, lt_buf *body, lt_err *err)
{
    const char *type = lt_algo_response_type(accept);
    if (!type)
        return lt_err_set(err, LT_EINVAL,
                          "Accept '%s' is not one of application/json, application/jsonlines, "
                          "text/csv",
                          accept);
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
