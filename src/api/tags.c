/* AddTags, ListTags, DeleteTags on any resource in the store, named by its ARN. */
#include "api/resource.h"

#include <stdlib.h>
#include <string.h>

static int require_resource(lt_api_ctx *ctx, const char *arn, lt_err *err)
{
    lt_store_resource res = {0};
    lt_err inner = {0};
    int rc = lt_store_resource_get_by_arn(ctx->store, arn, &res, &inner);
    lt_store_resource_clear(&res);
    if (rc == LT_ENOTFOUND)
        return lt_err_set(err, LT_ENOTFOUND, "Resource '%s' does not exist.", arn);
    if (rc) return lt_err_set(err, rc, "%s", inner.msg);
    return 0;
}

static int add_tags(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    const char *arn = lt_json_str(input, "ResourceArn");
    json_t *tags = json_object_get(input, "Tags");
    int rc = require_resource(ctx, arn, err);
    if (!rc) rc = lt_store_tags_put(ctx->store, arn, tags, err);
    if (!rc) *output = json_pack("{s:O}", "Tags", tags);
    return rc;
}

/* NextToken: base64 of the last key returned; the next page starts after it. */
static int token_key(const char *token, char **key, lt_err *err)
{
    size_t len = strlen(token);
    uint8_t *plain = lt_xmalloc(len + 1);
    size_t n = 0;
    if (len > 1024 || lt_base64_decode(token, len, plain, len, &n) != 0 || n == 0 ||
        memchr(plain, '\0', n)) {
        free(plain);
        return lt_err_set(err, LT_EINVAL, "Invalid NextToken");
    }
    plain[n] = '\0';
    *key = (char *)plain;
    return 0;
}

/* At most LT_STORE_MAX_TAGS tags exist per resource, so a page is a slice of one read
 * (and since MaxResults is at least 50, in practice always the whole list). */
static int list_tags(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    const char *arn = lt_json_str(input, "ResourceArn");
    int rc = require_resource(ctx, arn, err);
    if (rc) return rc;
    int64_t max = lt_json_int(input, "MaxResults", 50);
    const char *token = lt_json_str(input, "NextToken");
    char *after = NULL;
    if (token && *token && (rc = token_key(token, &after, err)) != 0) return rc;
    json_t *all = NULL;
    rc = lt_store_tags_list(ctx->store, arn, &all, err);
    if (rc) {
        free(after);
        return rc;
    }
    json_t *page = json_array();
    const char *last = NULL;
    bool more = false;
    size_t i;
    json_t *tag;
    json_array_foreach(all, i, tag)
    {
        const char *key = lt_json_str(tag, "Key");
        if (after && strcmp(key, after) <= 0) continue;
        if ((int64_t)json_array_size(page) == max) {
            more = true;
            break;
        }
        json_array_append(page, tag);
        last = key;
    }
    json_t *out = json_pack("{s:o}", "Tags", page);
    if (more && last) {
        char *next = lt_base64_encode((const uint8_t *)last, strlen(last));
        json_object_set_new(out, "NextToken", json_string(next));
        free(next);
    }
    json_decref(all);
    free(after);
    *output = out;
    return 0;
}

static int delete_tags(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    (void)output;
    const char *arn = lt_json_str(input, "ResourceArn");
    int rc = require_resource(ctx, arn, err);
    if (!rc) rc = lt_store_tags_delete(ctx->store, arn, json_object_get(input, "TagKeys"), err);
    return rc;
}

const lt_api_op lt_api__tag_ops[] = {
    {"AddTags", add_tags, NULL, NULL},
    {"ListTags", list_tags, NULL, NULL},
    {"DeleteTags", delete_tags, NULL, NULL},
    {NULL, NULL, NULL, NULL},
};
