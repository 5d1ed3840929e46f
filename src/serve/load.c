/* Loading what an endpoint's stored state asks for: its endpoint config's variants, each
 * variant's model (its resolved image and model.tar.gz), unpacked under
 * DATA/serving/<endpoint>/<generation>/<variant>/<container> and either loaded with the
 * built-in algorithm's loader or, for a pushed image, served by its `serve` program's workers
 * (program.c), which must all pass GET /ping first. The outcome goes into the endpoint's
 * document in one transaction. */
#include "serve/serve_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int get_doc(lt_store *store, const char *kind, const char *name, json_t **doc, lt_err *err)
{
    lt_store_resource res = {0};
    int rc = lt_store_resource_get(store, kind, name, &res, err);
    if (!rc && lt_json_parse(res.doc, strlen(res.doc), doc, err) != 0) rc = LT_EINTERNAL;
    lt_store_resource_clear(&res);
    return rc;
}

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

/* One container: its model.tar.gz unpacked under cdir, loaded in-process (a built-in
 * algorithm's) or with its serve program's workers started on it. */
static int load_container(lt_serve *s, const char *endpoint, const char *variant, const char *gen,
                          const json_t *container, const json_t *image, const char *cdir,
                          int instances, int timeout_s, lt_serve_container *out, lt_err *err)
{
    const char *type = lt_json_str(image, "Type");
    bool builtin = type && strcmp(type, "algorithm") == 0;
    const lt_algo *algo = builtin ? lt_algo_find(lt_json_str(image, "Algorithm")) : NULL;
    if (builtin && !algo)
        return lt_err_set(err, LT_EINVAL, "the algorithm %s is not in this build",
                          lt_json_str(image, "Algorithm"));
    if (!builtin && (!type || strcmp(type, "directory") != 0 || !lt_json_str(image, "Path")))
        return lt_err_set(err, LT_EINVAL,
                          "image %s of variant %s has no serve program (type %s): push a directory "
                          "with an executable `serve` at its top with `lathe image push`",
                          lt_json_str(container, "Image"), variant, type ? type : "unknown");
    /* A serve program sees the model at /opt/ml/model: the tarball goes into its own dir. */
    char *mdir = builtin ? lt_xstrdup(cdir) : lt_xasprintf("%s/model", cdir);
    char *tarball = lt_xasprintf("%s.tar.gz", cdir);
    const char *url = lt_json_str(container, "ModelDataUrl");
    int rc = lt_mkdir_p(mdir, 0755, err);
    if (!rc && url) rc = lt_blob_uri_get_file(s->blob, url, tarball, err);
    if (!rc && url) rc = lt_blob_unpack(tarball, mdir, err);
    remove(tarball);
    if (!rc && builtin) {
        rc = algo->load(mdir, &out->model, err);
        if (!rc) out->algo = algo;
    } else if (!rc) {
        char *group = lt_xasprintf("/aws/sagemaker/Endpoints/%s", endpoint);
        char *prefix = lt_xasprintf("%s/%s-%s", variant, gen, out->name);
        char *logs_root = lt_xasprintf("%s/logs", s->data_dir);
        char *label = lt_xasprintf("the %s container of variant %s", out->name, variant);
        lt_serve_program_params params = {
            .label = label,
            .program_dir = lt_json_str(image, "Path"),
            .model_dir = mdir,
            .data_dir = s->data_dir,
            .environment = json_object_get(container, "Environment"),
            .workers = instances,
            .startup_timeout_s = timeout_s,
            .logs_root = logs_root,
            .log_group = group,
            .log_stream_prefix = prefix,
        };
        lt_err perr = {0};
        rc = lt_serve_program_open(&out->program, &params, &perr);
        if (rc)
            lt_err_set(err, rc, "The %s container for production variant %s did not pass the ping "
                       "health check: %s. Its output is in the log group %s.", out->name, variant,
                       perr.msg, group);
        free(label);
        free(logs_root);
        free(prefix);
        free(group);
    }
    free(tarball);
    free(mdir);
    return rc;
}

static int load_variant(lt_serve *s, const char *endpoint, const char *dir, const char *gen,
                        const json_t *pv, const json_t *want, lt_serve_variant *out,
                        json_t *deployed, lt_err *err)
{
    const char *model_name = lt_json_str(pv, "ModelName");
    const char *variant = lt_json_str(pv, "VariantName");
    json_t *model = NULL, *spec = NULL;
    char *spec_name = lt_xasprintf("model/%s", model_name);
    int rc = get_doc(s->store, "model", model_name, &model, err);
    if (rc == LT_ENOTFOUND)
        rc = lt_err_set(err, LT_EINVAL, "the model \"%s\" of variant %s does not exist",
                        model_name, variant);
    if (!rc) rc = get_doc(s->store, LT_STORE_KIND_JOB_SPEC, spec_name, &spec, err);
    free(spec_name);
    json_t *images = json_object_get(spec, "Image");
    json_t *primary = json_object_get(model, "PrimaryContainer");
    json_t *list = primary ? NULL : json_object_get(model, "Containers");
    size_t n = primary ? 1 : json_array_size(list);
    if (!rc && (n == 0 || n > 15 || json_array_size(images) != n))
        rc = lt_err_set(err, LT_EINVAL, "model \"%s\" has %zu containers (1 to 15 are served)",
                        model_name, n);
    out->name = lt_xstrdup(variant);
    json_t *w = json_object_get(want, "DesiredWeight");
    out->weight = w ? json_number_value(w) : 1.0;
    out->instances = (int)lt_json_int(want, "DesiredInstanceCount", 1);
    json_t *timeout = json_object_get(pv, "ContainerStartupHealthCheckTimeoutInSeconds");
    int timeout_s = json_is_integer(timeout) ? (int)json_integer_value(timeout) : s->startup_timeout_s;
    out->containers = rc ? NULL : lt_xcalloc(n, sizeof *out->containers);
    for (size_t i = 0; i < n && !rc; i++) {
        const json_t *c = primary ? primary : json_array_get(list, i);
        lt_serve_container *ct = &out->containers[i];
        const char *host = lt_json_str(c, "ContainerHostname");
        ct->name = primary ? lt_xstrdup("primary")
                           : host ? lt_xstrdup(host) : lt_xasprintf("container-%zu", i + 1);
        out->n_containers++;
        char *cdir = lt_xasprintf("%s/%s/%zu", dir, variant, i + 1);
        rc = load_container(s, endpoint, variant, gen, c, json_array_get(images, i), cdir,
                            out->instances, timeout_s, ct, err);
        free(cdir);
        if (!rc)
            json_array_append_new(deployed, json_pack("{s:s, s:s, s:o}", "SpecifiedImage",
                                                      lt_json_str(c, "Image"), "ResolvedImage",
                                                      lt_json_str(c, "Image"), "ResolutionTime",
                                                      lt_json_epoch_ms(lt_now_ms())));
    }
    json_decref(spec);
    json_decref(model);
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
                json_array_append_new(variants, json_pack(
                    "{s:s, s:O, s:f, s:f, s:i, s:i}", "VariantName", v->name, "DeployedImages",
                    json_array_get(o->deployed, i), "CurrentWeight", v->weight, "DesiredWeight",
                    v->weight, "CurrentInstanceCount", v->instances, "DesiredInstanceCount",
                    v->instances));
            }
            json_object_set_new(doc, "ProductionVariants", variants);
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
        } else {
            json_object_set_new(doc, "FailureReason", json_string(o->failure));
            /* A failed update leaves the endpoint serving what it served. */
            json_object_set_new(doc, "EndpointStatus",
                                json_string(o->serving_config ? "InService" : "Failed"));
            if (o->serving_config)
                json_object_set_new(doc, "EndpointConfigName", json_string(o->serving_config));
        }
        json_object_del(doc, "PendingProductionVariants");
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

int lt_serve__load(lt_serve *s, const char *endpoint, const lt_serve_set *serving,
                   lt_serve_set **out, lt_err *err)
{
    *out = NULL;
    json_t *ep = NULL, *config = NULL;
    int rc = get_doc(s->store, "endpoint", endpoint, &ep, err);
    if (rc) return rc; /* deleted meanwhile: nothing to do */
    const char *config_name = lt_json_str(ep, "EndpointConfigName");
    lt_err lerr = {0};
    int lrc = get_doc(s->store, "endpoint-config", config_name, &config, &lerr);
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
    set->capture = json_incref(json_object_get(config, "DataCaptureConfig"));
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
    outcome o = {.set = lrc ? NULL : set, .failure = lerr.msg,
                 .serving_config = serving ? serving->config : NULL, .deployed = deployed};
    rc = record(s, endpoint, &o, err);
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
