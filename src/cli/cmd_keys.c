/* `lathe keys create|list|delete`: the access keys the server accepts, kept in the
 * data directory's store (the running server sees a change on its next request). */
#include "cli/cli_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void)
{
    fprintf(stderr, "usage: lathe keys create [--description TEXT] [--data-dir DIR]\n"
                    "       lathe keys list [--data-dir DIR]\n"
                    "       lathe keys delete ACCESS_KEY_ID [--data-dir DIR]\n");
    return 2;
}

static int print_key(void *ctx, const lt_store_key *key, lt_err *err)
{
    (void)ctx;
    (void)err;
    char when[32];
    lt_time_format_iso8601_ms(when, key->created_ms);
    printf("%-22s %-6s %s  %s\n", key->access_key_id, key->is_admin ? "admin" : "user", when,
           key->description ? key->description : "");
    return 0;
}

int lt_cli__cmd_keys(int argc, char **argv)
{
    if (argc < 3) return usage();
    const char *action = argv[2];
    bool *used = lt_xcalloc((size_t)argc + 1, sizeof *used);
    used[0] = used[1] = used[2] = true;
    const char *dir = lt_cli__option(argc, argv, used, "data-dir");
    const char *description = lt_cli__option(argc, argv, used, "description");
    const char *target = NULL;
    if (strcmp(action, "delete") == 0 && argc > 3 && !used[3] && argv[3][0] != '-') {
        target = argv[3];
        used[3] = true;
    }
    int status = lt_cli__reject_unused(argc, argv, used, 3);
    free(used);
    if (status) return status;
    if (strcmp(action, "create") && strcmp(action, "list") && strcmp(action, "delete"))
        return usage();
    if (strcmp(action, "delete") == 0 && !target) return usage();

    lt_err err = {0};
    lt_cli__data data;
    if (lt_cli__data_open(&data, dir ? dir : LT_CLI_DEFAULT_DATA_DIR, &err) != 0) {
        fprintf(stderr, "lathe keys: %s\n", err.msg);
        return 1;
    }
    int rc = 0;
    if (strcmp(action, "create") == 0) {
        char access_key[21], secret[41];
        rc = lt_cli__key_new(data.store, description ? description : "", false, access_key,
                             secret, &err);
        if (!rc)
            printf("[%s]\naws_access_key_id=%s\naws_secret_access_key=%s\n", access_key,
                   access_key, secret);
    } else if (strcmp(action, "list") == 0) {
        rc = lt_store_key_list(data.store, print_key, NULL, &err);
    } else {
        rc = lt_store_key_delete(data.store, target, &err);
    }
    if (rc) fprintf(stderr, "lathe keys %s: %s\n", action, err.msg);
    lt_cli__data_close(&data);
    return rc ? 1 : 0;
}
