/* The data directory: DIR/lathe.db (metadata store), DIR/objects (object store),
 * DIR/credentials and DIR/config (the admin key, for the AWS clients). */
#include "cli/cli_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int lt_cli__data_open(lt_cli__data *data, const char *dir, lt_err *err)
{
    memset(data, 0, sizeof *data);
    int rc = lt_mkdir_p(dir, 0700, err);
    if (rc) return rc;
    char *db = lt_xasprintf("%s/lathe.db", dir);
    char *objects = lt_xasprintf("%s/objects", dir);
    rc = lt_store_open(&data->store, db, err);
    if (!rc) rc = lt_blob_open(&data->blob, objects, err);
    free(db);
    free(objects);
    if (rc) {
        lt_cli__data_close(data);
        return rc;
    }
    data->dir = lt_xstrdup(dir);
    return 0;
}

void lt_cli__data_close(lt_cli__data *data)
{
    if (data->blob) lt_blob_close(data->blob);
    if (data->store) lt_store_close(data->store);
    free(data->dir);
    memset(data, 0, sizeof *data);
}

/* Access key ids look like AWS's (20 upper-case characters, here starting "LT"); secrets
 * are 40 characters of base64's alphabet. */
int lt_cli__key_new(lt_store *store, const char *description, bool is_admin, char *access_key,
                    char *secret, lt_err *err)
{
    access_key[0] = 'L';
    access_key[1] = 'T';
    lt_random_token(access_key + 2, 18, false);
    lt_random_token(secret, 40, true);
    return lt_store_key_create(store, access_key, secret, description, is_admin, err);
}

int lt_cli__ensure_admin_key(lt_cli__data *data, const char *region, char **admin_key,
                             lt_err *err)
{
    *admin_key = NULL;
    char *cred_path = lt_cli__credentials_path(data->dir);
    if (access(cred_path, F_OK) == 0) {
        *admin_key = lt_cli__ini_get(cred_path, "default", "aws_access_key_id");
        free(cred_path);
        return 0;
    }
    char access_key[21], secret[41];
    int rc = lt_cli__key_new(data->store, "admin key written to the credentials file", true,
                             access_key, secret, err);
    if (!rc) {
        char *text = lt_xasprintf("# Written by `lathe server` on first start. Use with\n"
                                  "#   AWS_SHARED_CREDENTIALS_FILE=%s\n"
                                  "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
                                  cred_path, access_key, secret);
        rc = lt_file_write_atomic(cred_path, text, strlen(text), 0600, err);
        free(text);
    }
    if (!rc) {
        char *config_path = lt_xasprintf("%s/config", data->dir);
        char *text = lt_xasprintf("[default]\nregion = %s\n", region);
        rc = lt_file_write_atomic(config_path, text, strlen(text), 0600, err);
        free(text);
        free(config_path);
    }
    if (!rc) *admin_key = lt_xstrdup(access_key);
    free(cred_path);
    return rc;
}

int lt_cli__key_secret(lt_store *store, const char *access_key, char *secret, size_t cap,
                       lt_err *err)
{
    return lt_store_key_secret(store, access_key, secret, cap, err);
}
