/* Loading what an endpoint's stored state asks for: its endpoint config's variants, each
 * variant's model (its resolved image and model.tar.gz), unpacked under
 * DATA/serving/<endpoint>/<generation>/<variant>/<container> (model.c). The outcome goes
 * into the endpoint's document in one transaction. */
#include "serve/serve_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The desired weight and count of a variant: the pending ones during an update. */
static const json_t *desired(const json_t *endpoint, const char *variant)
{
    const json_t *list = json_object_get(endpoint, "PendingProductionVariants");
    if (!list) list = json_object_get(endpoint, "ProductionVariants");
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
        if (strcmp(lt_json_str(v, "VariantName"), variant) == 0) return v;
    return NULL;
}

static int load_variant(lt_serve *s, const char *endpoint, const char *dir, const char *gen,
                        const json_t *pv, const json_t *want, lt_serve_variant *out,
                        json_t *deployed, lt_err *err)
{
    const char *variant = lt_json_str(pv, "VariantName");
    json_t *w = json_object_get(want, "DesiredWeight");
    out->weight = w ? json_number_value(w) : 1.0;
    /* A serverless variant runs one worker per serve program; its calls are capped at
     * MaxConcurrency (invoke.c). */
    json_t *serverless = json_object_get(pv, "ServerlessConfig");
    int instances = serverless ? 1 : (int)lt_json_int(want, "DesiredInstanceCount", 1);
    json_t *timeout = json_object_get(pv, "ContainerStartupHealthCheckTimeoutInSeconds");
    char *group = lt_xasprintf("/aws/sagemaker/Endpoints/%s", endpoint);
    char *prefix = lt_xasprintf("%s/%s", variant, gen);
    char *vdir = lt_xasprintf("%s/%s", dir, variant);
    lt_serve__model_ctx ctx = {
        .store = s->store, .blob = s->blob, .data_dir = s->data_dir, .log_group = group,
        .log_prefix = prefix,
        .startup_timeout_s = json_is_integer(timeout) ? (int)json_integer_value(timeout)
                                                      : s->startup_timeout_s,
        .answer_timeout_ms = 60000, .max_answer_bytes = (size_t)6 << 20,
        .cancel = &s->stopping,
    };
    /* A serve program's workers get their instance type's memory and vCPUs as cgroup
     * limits, as a job's hosts do, or a serverless variant's MemorySizeInMB. */
    const lt_exec_instance_type *type = lt_exec_instance_type_find(lt_json_str(pv, "InstanceType"));
    if (serverless) {
        ctx.memory_bytes = (uint64_t)lt_json_int(serverless, "MemorySizeInMB", 0) << 20;
    } else if (type) {
        ctx.memory_bytes = (uint64_t)type->memory_gib << 30;
        ctx.vcpus = type->vcpus;
    }
    int rc = lt_serve__model_load(&ctx, lt_json_str(pv, "ModelName"), variant, instances, vdir,
                                  out, deployed, err);
    out->serverless = json_incref(serverless);
    out->max_concurrency = (int)lt_json_int(serverless, "MaxConcurrency", 0);
    free(vdir);
    free(prefix);
    free(group);
    return rc;
}

typedef struct outcome {
    const lt_serve_set *set; /* NULL: failed */
    const char *failure;
    const char *serving_config; /* the config still serving after a failed update */
    json_t *deployed;           /* per variant, DeployedImages */
} outcome;

static int record(lt_serve *s, const char *endpoint, const outcome *o, lt_err *err)
{
    int rc = lt_store_txn_begin(s->store, err);
    if (rc) return rc;
    lt_store_resource res = {0};
    json_t *doc = NULL;
    int r = lt_store_resource_get(s->store, "endpoint", endpoint, &res, err);
    if (!r && lt_json_parse(res.doc, strlen(res.doc), &doc, err) != 0) r = LT_EINTERNAL;
    if (!r) {
        int64_t now = lt_now_ms();
        if (o->set) {
            json_t *variants = json_array();
            for (size_t i = 0; i < o->set->n; i++) {
                const lt_serve_variant *v = &o->set->variants[i];
                json_t *entry = json_pack("{s:s, s:O, s:f, s:f}", "VariantName", v->name,
                                          "DeployedImages", json_array_get(o->deployed, i),
                                          "CurrentWeight", v->weight, "DesiredWeight", v->weight);
                if (v->serverless) { /* serverless variants have a config, not counts */
                    json_object_set(entry, "CurrentServerlessConfig", v->serverless);
                    json_object_set(entry, "DesiredServerlessConfig", v->serverless);
                } else {
                    json_object_set_new(entry, "CurrentInstanceCount", json_integer(v->instances));
                    json_object_set_new(entry, "DesiredInstanceCount", json_integer(v->instances));
                }
                json_array_append_new(variants, entry);
            }
            json_object_set_new(doc, "ProductionVariants", variants);
            if (o->set->shadow) {
                const lt_serve_variant *v = o->set->shadow;
                json_t *entry = json_pack("{s:s, s:O, s:f, s:f, s:i, s:i}", "VariantName", v->name,
                                          "DeployedImages", o->set->shadow_deployed,
                                          "CurrentWeight", v->weight, "DesiredWeight", v->weight,
                                          "CurrentInstanceCount", v->instances,
                                          "DesiredInstanceCount", v->instances);
                json_object_set_new(doc, "ShadowProductionVariants", json_pack("[o]", entry));
            } else {
                json_object_del(doc, "ShadowProductionVariants");
            }
            json_object_set_new(doc, "EndpointConfigName", json_string(o->set->config));
            json_object_set_new(doc, "EndpointStatus", json_string("InService"));
            json_object_del(doc, "FailureReason");
            /* DescribeEndpoint's DataCaptureConfig member is a DataCaptureConfigSummary. */
            const json_t *cap = o->set->capture;
            if (cap)
                json_object_set_new(
                    doc, "DataCaptureConfig",
                    json_pack("{s:b, s:s, s:I, s:s}", "EnableCapture",
                              !json_is_false(json_object_get(cap, "EnableCapture")), "CaptureStatus",
                              json_is_false(json_object_get(cap, "EnableCapture")) ? "Stopped" : "Started",
                              "CurrentSamplingPercentage",
                              (json_int_t)lt_json_int(cap, "InitialSamplingPercentage", 0),
                              "DestinationS3Uri", lt_json_str(cap, "DestinationS3Uri")));
            else
                json_object_del(doc, "DataCaptureConfig");
            if (o->set->async_config)
                json_object_set(doc, "AsyncInferenceConfig", o->set->async_config);
            else
                json_object_del(doc, "AsyncInferenceConfig");
        } else {
            json_object_set_new(doc, "FailureReason", json_string(o->failure));
            /* A failed update leaves the endpoint serving what it served. */
            json_object_set_new(doc, "EndpointStatus",
                                json_string(o->serving_config ? "InService" : "Failed"));
            if (o->serving_config)
                json_object_set_new(doc, "EndpointConfigName", json_string(o->serving_config));
        }
        json_object_del(doc, "PendingProductionVariants");
        json_object_del(doc, "PendingTrafficShift");
        json_object_set_new(doc, "LastModifiedTime", lt_json_epoch_ms(now));
        char *text = lt_json_dump(doc);
        free(res.doc);
        res.doc = text;
        free(res.status);
        res.status = lt_xstrdup(lt_json_str(doc, "EndpointStatus"));
        res.modified_ms = now;
        r = lt_store_resource_update(s->store, &res, err);
    }
    json_decref(doc);
    lt_store_resource_clear(&res);
    return lt_store_txn_end(s->store, r, err);
}

int lt_serve__record_serving(lt_serve *s, const char *endpoint, const lt_serve_set *set,
                             lt_err *err)
{
    outcome o = {.set = set, .deployed = set->deployed};
    return record(s, endpoint, &o, err);
}

int lt_serve__load(lt_serve *s, const char *endpoint, const lt_serve_set *serving,
                   lt_serve_set **out, lt_serve__traffic *traffic, lt_err *err)
{
    *out = NULL;
    if (traffic) *traffic = (lt_serve__traffic){0};
    json_t *ep = NULL, *config = NULL;
    int rc = lt_store_resource_doc(s->store, "endpoint", endpoint, &ep, err);
    if (rc) return rc; /* deleted meanwhile: nothing to do */
    const char *config_name = lt_json_str(ep, "EndpointConfigName");
    lt_err lerr = {0};
    int lrc = lt_store_resource_doc(s->store, "endpoint-config", config_name, &config, &lerr);
    if (lrc == LT_ENOTFOUND)
        lt_err_set(&lerr, LT_EINVAL, "the endpoint config \"%s\" does not exist", config_name);
    static atomic_uint generation;
    char gen[48];
    snprintf(gen, sizeof gen, "%llu-%u", (unsigned long long)lt_now_ms(),
             atomic_fetch_add(&generation, 1));
    char *dir = lt_xasprintf("%s/serving/%s/%s", s->data_dir, endpoint, gen);
    lt_serve_set *set = lt_xcalloc(1, sizeof *set);
    atomic_init(&set->refs, 1);
    set->config = lt_xstrdup(config_name);
    set->dir = lt_xstrdup(dir);
    json_t *deployed = json_array();
    /* An UpdateEndpoint with RetainAllVariantProperties keeps the capture settings that
     * served before it (json null: none) over the new config's. */
    json_t *retained = json_object_get(ep, "RetainedDataCaptureConfig");
    set->capture = retained ? (json_is_null(retained) ? NULL : json_incref(retained))
                            : json_incref(json_object_get(config, "DataCaptureConfig"));
    set->async_config = json_incref(json_object_get(config, "AsyncInferenceConfig"));
    json_t *variants = json_object_get(config, "ProductionVariants");
    set->variants = lt_xcalloc(json_array_size(variants) + 1, sizeof *set->variants);
    size_t i;
    json_t *pv;
    json_array_foreach(variants, i, pv) {
        if (lrc) break;
        const json_t *want = desired(ep, lt_json_str(pv, "VariantName"));
        json_t *images = json_array();
        lrc = load_variant(s, endpoint, dir, gen, pv, want, &set->variants[set->n], images, &lerr);
        if (!lrc) {
            set->total_weight += set->variants[set->n].weight;
            set->n++;
            json_array_append_new(deployed, images);
        } else {
            lt_serve__variant_clear(&set->variants[set->n]);
            json_decref(images);
        }
    }
    if (!lrc && set->total_weight <= 0)
        lrc = lt_err_set(&lerr, LT_EINVAL, "every variant has weight 0: no request could be served");
    /* The shadow variant: its own weight and count come from the config (no update changes
     * them); the share of calls it gets is its weight over the production variant's. */
    const json_t *shadow_pv = json_array_get(json_object_get(config, "ShadowProductionVariants"), 0);
    if (!lrc && shadow_pv && set->n == 1) {
        json_t *weight = json_object_get(shadow_pv, "InitialVariantWeight");
        json_t *want = json_pack("{s:f, s:I}", "DesiredWeight",
                                 weight ? json_number_value(weight) : 1.0, "DesiredInstanceCount",
                                 (json_int_t)lt_json_int(shadow_pv, "InitialInstanceCount", 1));
        set->shadow = lt_xcalloc(1, sizeof *set->shadow);
        set->shadow_deployed = json_array();
        lrc = load_variant(s, endpoint, dir, gen, shadow_pv, want, set->shadow,
                           set->shadow_deployed, &lerr);
        json_decref(want);
        double production = set->variants[0].weight;
        set->shadow_share = production > 0 ? set->shadow->weight / production : 1.0;
        if (set->shadow_share > 1.0) set->shadow_share = 1.0;
    }
    /* Whether every call answers in-process, asked once per InvokeEndpoint
     * (lt_serve_in_process): a multi-model container's first call downloads. */
    set->in_process = true;
    for (size_t v = 0; v < set->n; v++)
        for (size_t c = 0; c < set->variants[v].n_containers; c++)
            if (set->variants[v].containers[c].program || set->variants[v].containers[c].mme)
                set->in_process = false;
    /* Serverless variants without ProvisionedConcurrency scale to zero when idle (serve.c),
     * when every variant of the endpoint is one. */
    set->scale_to_zero = set->n > 0;
    for (size_t v = 0; v < set->n; v++)
        if (!set->variants[v].serverless ||
            lt_json_int(set->variants[v].serverless, "ProvisionedConcurrency", 0) > 0)
            set->scale_to_zero = false;
    atomic_store(&set->last_used_ms, lt_now_ms());
    outcome o = {.set = lrc ? NULL : set, .failure = lerr.msg,
                 .serving_config = serving ? serving->config : NULL, .deployed = deployed};
    set->deployed = json_incref(deployed);
    /* An update that shifts traffic in steps from a fleet serving now stays Updating until
     * the new set has every call (lt_serve__shift records it then). */
    lt_serve__traffic plan = {0};
    if (!lrc && traffic && serving && !serving->cold) {
        lt_serve__traffic_plan(ep, set, &plan);
        *traffic = plan;
    }
    /* A load cut short by the server closing leaves the stored state as it was, so the next
     * start loads the endpoint again. */
    bool cut_short = atomic_load(&s->stopping);
    rc = cut_short || plan.shifting ? 0 : record(s, endpoint, &o, err);
    if (cut_short && !lrc) lrc = lt_err_set(&lerr, LT_ECONFLICT, "the server is shutting down");
    json_decref(deployed);
    if (lrc || rc) {
        lt_serve__set_release(set);
        if (lrc) lt_err_set(err, lrc, "%s", lerr.msg);
        rc = lrc ? lrc : rc;
    } else {
        *out = set;
    }
    free(dir);
    json_decref(config);
    json_decref(ep);
    return rc;
}
