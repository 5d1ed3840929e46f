/* `lathe image push NAME[:TAG] DIR` registers a directory as an image (copied,
 * content-addressed, into DATA_DIR/images); `lathe image list` shows what is registered.
 * A training job's TrainingImage then resolves to it by repository and tag, whatever
 * registry host the URI names. Works on the local data directory, like `lathe keys`. */
#include "api/api.h"
#include "cli/cli_internal.h"
#include "exec/exec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int usage(void)
{
    fprintf(stderr, "usage: lathe image push NAME[:TAG] DIR [--data-dir DIR]\n"
                    "       lathe image list [--data-dir DIR]\n"
                    "DIR needs an executable `train` (for training jobs) and/or `serve`.\n");
    return 2;
}

static json_t *entry_points(const char *dir)
{
    json_t *e = json_object();
    static const char *const names[] = {"train", "serve", "process", NULL};
    for (size_t i = 0; names[i]; i++) {
        char *p = lt_xasprintf("%s/%s", dir, names[i]);
        json_object_set_new(e, names[i], json_boolean(access(p, X_OK) == 0));
        free(p);
    }
    return e;
}

static int push(lt_cli__data *data, const char *name, const char *dir, lt_err *err)
{
    char *images_root = lt_xasprintf("%s/images", data->dir);
    char *digest = NULL, *stored = NULL;
    int rc = lt_exec_image_import(images_root, dir, &digest, &stored, err);
    json_t *entries = rc ? NULL : entry_points(stored);
    if (!rc) rc = lt_api_image_register(data->store, name, digest, stored, entries, lt_now_ms(), err);
    if (!rc) printf("%s %s\n", name, digest);
    json_decref(entries);
    free(digest);
    free(stored);
    free(images_root);
    return rc;
}

static int print_image(void *ctx, const lt_store_resource *res, lt_err *err)
{
    (void)ctx;
    (void)err;
    json_t *doc = NULL;
    if (lt_json_parse(res->doc, strlen(res->doc), &doc, NULL) == 0) {
        printf("%-40s %.19s  %s\n", res->name, lt_json_str(doc, "Digest"), lt_json_str(doc, "Path"));
        json_decref(doc);
    }
    return 0;
}

static int list(lt_cli__data *data, lt_err *err)
{
    lt_store_list_params params = {.kind = LT_STORE_KIND_IMAGE, .sort_by = LT_STORE_SORT_NAME,
                                   .limit = 1000};
    char *next = NULL;
    int rc = lt_store_resource_list(data->store, &params, print_image, NULL, &next, err);
    free(next);
    return rc;
}

int lt_cli__cmd_image(int argc, char **argv)
{
    bool *used = lt_xcalloc((size_t)argc + 1, sizeof *used);
    used[0] = used[1] = true;
    const char *data_dir = lt_cli__option(argc, argv, used, "data-dir");
    if (!data_dir) data_dir = LT_CLI_DEFAULT_DATA_DIR;
    const char *words[3] = {0};
    int n = 0;
    for (int i = 2; i < argc; i++)
        if (!used[i] && n < 3 && argv[i][0] != '-') {
            words[n++] = argv[i];
            used[i] = true;
        }
    int status = 2;
    bool is_push = n == 3 && strcmp(words[0], "push") == 0;
    bool is_list = n == 1 && strcmp(words[0], "list") == 0;
    if ((!is_push && !is_list) || lt_cli__reject_unused(argc, argv, used, 2)) {
        status = usage();
    } else {
        lt_err err = {0};
        lt_cli__data data;
        int rc = lt_cli__data_open(&data, data_dir, &err);
        if (!rc) {
            rc = is_push ? push(&data, words[1], words[2], &err) : list(&data, &err);
            lt_cli__data_close(&data);
        }
        if (rc) fprintf(stderr, "lathe image: %s\n", err.msg);
        status = rc ? 1 : 0;
    }
    free(used);
    return status;
}
