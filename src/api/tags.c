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
    if (rc == LT_ENOTFOUND) return lt_err_set(err, LT_ENOTFOUND, "Resource '%s' does not exist.", arn);
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

/* At most 50 tags exist per resource, so pages are slices of one read; the token is the
 * offset of the next tag. */
static int list_tags(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    const char *arn = lt_json_str(input, "ResourceArn");
    int rc = require_resource(ctx, arn, err);
    if (rc) return rc;
    int64_t max = lt_json_int(input, "MaxResults", 50);
    int64_t start = 0;
    const char *token = lt_json_str(input, "NextToken");
    if (token && *token && lt_parse_i64(token, 0, LT_STORE_MAX_TAGS, &start, "NextToken", NULL) != 0)
        return lt_err_set(err, LT_EINVAL, "Invalid NextToken");
    json_t *all = NULL;
    rc = lt_store_tags_list(ctx->store, arn, &all, err);
    if (rc) return rc;
    json_t *page = json_array();
    size_t n = json_array_size(all);
    for (size_t i = (size_t)start; i < n && (int64_t)(i - (size_t)start) < max; i++)
        json_array_append(page, json_array_get(all, i));
    json_t *out = json_pack("{s:o}", "Tags", page);
    size_t next = (size_t)start + json_array_size(page);
    if (next < n) {
        char buf[32];
        snprintf(buf, sizeof buf, "%zu", next);
        json_object_set_new(out, "NextToken", json_string(buf));
    }
    json_decref(all);
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
