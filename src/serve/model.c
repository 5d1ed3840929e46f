/* A model's containers, made ready to serve: each container's model.tar.gz unpacked under
 * <dir>/<i> and either loaded with the built-in algorithm's loader (in-process) or, for a
 * pushed image, served by its `serve` program's workers (program.c), which must all pass
 * GET /ping first. A Mode MultiModel container fetches its models on their first calls
 * instead (multi_model.c in-process, program_models.c for a serve program). Endpoints (load.c) and batch transform (batch.c) both load through here,
 * so a model serves the same way in both. */
#include "serve/serve_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int load_container(const lt_serve__model_ctx *ctx, const char *label,
                          const json_t *container, const json_t *image, const char *cdir,
                          int instances, lt_serve_container *out, lt_err *err)
{
    const char *type = lt_json_str(image, "Type");
    bool builtin = type && strcmp(type, "algorithm") == 0;
    const lt_algo *algo = builtin ? lt_algo_find(lt_json_str(image, "Algorithm")) : NULL;
    if (builtin && !algo)
        return lt_err_set(err, LT_EINVAL, "the algorithm %s is not in this build",
                          lt_json_str(image, "Algorithm"));
    if (!builtin && (!type || strcmp(type, "directory") != 0 || !lt_json_str(image, "Path")))
        return lt_err_set(err, LT_EINVAL,
                          "image %s of %s has no serve program (type %s): push a directory with an "
                          "executable `serve` at its top with `lathe image push`",
                          lt_json_str(container, "Image"), label, type ? type : "unknown");
    const char *mode = lt_json_str(container, "Mode");
    bool multi = mode && strcmp(mode, "MultiModel") == 0;
    const char *url = lt_json_str(container, "ModelDataUrl");
    if (multi && !url)
        return lt_err_set(err, LT_EINVAL,
                          "%s: Mode MultiModel needs an S3 prefix as ModelDataUrl", label);
    if (multi && builtin) {
        int rc = lt_mkdir_p(cdir, 0755, err);
        if (rc) return rc;
        out->algo = algo;
        out->mme = lt_serve__mme_new(ctx->blob, algo, url, cdir,
                                     lt_serve__mme_cache_enabled(container));
        return 0;
    }
    /* A serve program sees the model at /opt/ml/model, or a multi-model program its models
     * under /opt/ml/models, as they are fetched: either goes into a dir of its own. */
    char *mdir = builtin ? lt_xstrdup(cdir) : lt_xasprintf("%s/%s", cdir, multi ? "models" : "model");
    char *tarball = lt_xasprintf("%s.tar.gz", cdir);
    int rc = lt_mkdir_p(mdir, 0755, err);
    if (!rc && url && !multi) rc = lt_blob_uri_get_file(ctx->blob, url, tarball, err);
    if (!rc && url && !multi) rc = lt_blob_unpack(tarball, mdir, err);
    remove(tarball);
    if (!rc && builtin) {
        rc = algo->load(mdir, &out->model, err);
        if (!rc) out->algo = algo;
    } else if (!rc) {
        char *prefix = lt_xasprintf("%s-%s", ctx->log_prefix, out->name);
        char *logs_root = lt_xasprintf("%s/logs", ctx->data_dir);
        char *what = lt_xasprintf("the %s container of %s", out->name, label);
        /* Framework images switch to their multi-model server on SAGEMAKER_MULTI_MODEL. */
        json_t *env = json_deep_copy(json_object_get(container, "Environment"));
        if (!json_is_object(env)) {
            json_decref(env);
            env = json_object();
        }
        if (json_is_object(ctx->environment)) json_object_update(env, (json_t *)ctx->environment);
        if (multi && !json_object_get(env, "SAGEMAKER_MULTI_MODEL"))
            json_object_set_new(env, "SAGEMAKER_MULTI_MODEL", json_string("true"));
        lt_serve_program_params params = {
            .label = what,
            .program_dir = lt_json_str(image, "Path"),
            .model_dir = multi ? NULL : mdir,
            .models_dir = multi ? mdir : NULL,
            .data_dir = ctx->data_dir,
            .environment = env,
            .workers = instances,
            .memory_bytes = ctx->memory_bytes,
            .vcpus = ctx->vcpus,
            .startup_timeout_s = ctx->startup_timeout_s,
            .logs_root = logs_root,
            .log_group = ctx->log_group,
            .log_stream_prefix = prefix,
            .cancel = ctx->cancel,
        };
        lt_err perr = {0};
        rc = lt_serve_program_open(&out->program, &params, &perr);
        json_decref(env);
        if (!rc && multi)
            out->models = lt_serve__program_models_new(ctx->blob, url, mdir,
                                                       lt_serve__mme_cache_enabled(container));
        if (rc)
            lt_err_set(err, rc,
                       "The %s container for %s did not pass the ping health check: %s. "
                       "Its output is in the log group %s.",
                       out->name, label, perr.msg, ctx->log_group);
        free(what);
        free(logs_root);
        free(prefix);
    }
    free(tarball);
    free(mdir);
    return rc;
}

int lt_serve__model_load(const lt_serve__model_ctx *ctx, const char *model_name,
                         const char *variant, int instances, const char *dir, lt_serve_variant *out,
                         json_t *deployed, lt_err *err)
{
    json_t *model = NULL, *spec = NULL;
    char *spec_name = lt_xasprintf("model/%s", model_name);
    int rc = lt_store_resource_doc(ctx->store, "model", model_name, &model, err);
    if (rc == LT_ENOTFOUND)
        rc = lt_err_set(err, LT_EINVAL, "the model \"%s\" of variant %s does not exist", model_name,
                        variant);
    if (!rc) rc = lt_store_resource_doc(ctx->store, LT_STORE_KIND_JOB_SPEC, spec_name, &spec, err);
    free(spec_name);
    json_t *images = json_object_get(spec, "Image");
    json_t *primary = json_object_get(model, "PrimaryContainer");
    json_t *list = primary ? NULL : json_object_get(model, "Containers");
    size_t n = primary ? 1 : json_array_size(list);
    if (!rc && (n == 0 || n > 15 || json_array_size(images) != n))
        rc = lt_err_set(err, LT_EINVAL, "model \"%s\" has %zu containers (1 to 15 are served)",
                        model_name, n);
    out->name = lt_xstrdup(variant);
    out->instances = instances;
    out->answer_timeout_ms = ctx->answer_timeout_ms;
    out->max_answer_bytes = ctx->max_answer_bytes;
    char *label = lt_xasprintf("production variant %s", variant);
    out->containers = rc ? NULL : lt_xcalloc(n, sizeof *out->containers);
    for (size_t i = 0; i < n && !rc; i++) {
        const json_t *c = primary ? primary : json_array_get(list, i);
        lt_serve_container *ct = &out->containers[i];
        const char *host = lt_json_str(c, "ContainerHostname");
        ct->name = primary ? lt_xstrdup("primary")
                   : host  ? lt_xstrdup(host)
                           : lt_xasprintf("container-%zu", i + 1);
        out->n_containers++;
        char *cdir = lt_xasprintf("%s/%zu", dir, i + 1);
        rc = load_container(ctx, label, c, json_array_get(images, i), cdir, instances, ct, err);
        free(cdir);
        if (!rc && deployed)
            json_array_append_new(deployed, json_pack("{s:s, s:s, s:o}", "SpecifiedImage",
                                                      lt_json_str(c, "Image"), "ResolvedImage",
                                                      lt_json_str(c, "Image"), "ResolutionTime",
                                                      lt_json_epoch_ms(lt_now_ms())));
    }
    free(label);
    json_decref(spec);
    json_decref(model);
    return rc;
}
