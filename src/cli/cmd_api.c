/* `lathe api <Operation> [--json '{...}' | --file F]`: signs and sends any control-plane
 * operation and prints the answer, pretty-printed. */
#include "api/api.h"
#include "cli/cli_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_json_pretty(const char *text, size_t len)
{
    json_t *v = NULL;
    if (len && lt_json_parse(text, len, &v, NULL) == 0) {
        char *pretty = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
        puts(pretty ? pretty : "");
        free(pretty);
        json_decref(v);
    } else {
        fwrite(text, 1, len, stdout);
        putchar('\n');
    }
}

int lt_cli__cmd_api(int argc, char **argv)
{
    bool *used = lt_xcalloc((size_t)argc + 1, sizeof *used);
    int status = 2;
    if (lt_cli__flag(argc, argv, used, "list")) {
        for (size_t i = 0; i < lt_api_implemented_count(); i++) puts(lt_api_implemented_name(i));
        free(used);
        return 0;
    }
    const char *json = lt_cli__option(argc, argv, used, "json");
    const char *file = lt_cli__option(argc, argv, used, "file");
    const char *endpoint = lt_cli__option(argc, argv, used, "endpoint");
    const char *region = lt_cli__option(argc, argv, used, "region");
    const char *profile = lt_cli__option(argc, argv, used, "profile");
    const char *data_dir = lt_cli__option(argc, argv, used, "data-dir");
    const char *operation = lt_cli__positional(argc, argv, used, 2);
    used[0] = used[1] = true;
    if (!operation || (json && file)) {
        fprintf(stderr, "usage: lathe api <Operation> [--json '{...}' | --file F] "
                        "[--endpoint URL] [--region R] [--profile P]\n"
                        "       lathe api --list\n");
        free(used);
        return 2;
    }
    if (lt_cli__reject_unused(argc, argv, used, 2)) {
        free(used);
        return 2;
    }
    lt_buf input, body;
    lt_buf_init(&input, 64u << 20);
    lt_buf_init(&body, 256u << 20);
    lt_err err = {0};
    lt_cli__client client = {0};
    int rc = 0;
    if (file) rc = lt_file_read(strcmp(file, "-") == 0 ? "/dev/stdin" : file, &input, &err);
    else rc = lt_buf_puts(&input, json ? json : "{}", &err);
    if (!rc) {
        json_t *check = NULL;
        rc = lt_json_parse(input.data, input.len, &check, &err);
        json_decref(check);
    }
    if (!rc) rc = lt_cli__client_init(&client, endpoint, region, profile, data_dir, &err);
    long http_status = 0;
    if (!rc) rc = lt_cli__call(&client, operation, input.data, &http_status, &body, &err);
    if (rc) {
        fprintf(stderr, "lathe: %s\n", err.msg);
        status = 1;
    } else if (http_status >= 300) {
        json_t *v = NULL;
        if (body.len && lt_json_parse(body.data, body.len, &v, NULL) == 0 && json_is_object(v)) {
            const char *type = lt_json_str(v, "__type");
            const char *msg = lt_json_str(v, "message");
            fprintf(stderr, "lathe: %s (HTTP %ld): %s\n", type ? type : "error", http_status,
                    msg ? msg : "");
        } else {
            fprintf(stderr, "lathe: HTTP %ld: %.*s\n", http_status, (int)body.len,
                    body.data ? body.data : "");
        }
        json_decref(v);
        status = 1;
    } else {
        print_json_pretty(body.data ? body.data : "", body.len);
        status = 0;
    }
    lt_cli__client_free(&client);
    lt_buf_free(&input);
    lt_buf_free(&body);
    free(used);
    return status;
}
