/* `lathe algo container-train NAME`: a built-in algorithm as a SageMaker training
 * container. It is what a job whose AlgorithmName (or built-in image URI) names one of
 * lathe's algorithms runs inside its sandbox: it reads /opt/ml/input/config, trains on the
 * `train` channel (validated on `validation`, scored after training on `test`), in File or
 * Pipe mode, writes the model to /opt/ml/model and, on failure, the reason to
 * /opt/ml/output/failure. */
#include "cli/cli_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define OPT_ML "/opt/ml"

static json_t *read_json(const char *path, lt_err *err)
{
    lt_buf buf;
    lt_buf_init(&buf, 16u << 20);
    json_t *v = NULL;
    if (lt_file_read(path, &buf, err) == 0) lt_json_parse(buf.data, buf.len, &v, err);
    lt_buf_free(&buf);
    return v;
}

/* The channel's path: the directory (File, FastFile) or the first pass's FIFO (Pipe). */
static char *channel_path(const json_t *config, const char *channel)
{
    json_t *c = json_object_get(config, channel);
    if (!c) return NULL;
    const char *mode = lt_json_str(c, "TrainingInputMode");
    if (mode && strcmp(mode, "Pipe") == 0) return lt_xasprintf(OPT_ML "/input/data/%s_0", channel);
    return lt_xasprintf(OPT_ML "/input/data/%s", channel);
}

static void write_failure(const char *message)
{
    lt_err err = {0};
    lt_mkdir_p(OPT_ML "/output", 0755, &err);
    lt_file_write_atomic(OPT_ML "/output/failure", message, strlen(message), 0644, &err);
}

int lt_cli__cmd_algo_container(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: lathe algo container-train NAME (inside a training job)\n");
        return 2;
    }
    lt_err err = {0};
    json_t *hps = read_json(OPT_ML "/input/config/hyperparameters.json", &err);
    json_t *channels = hps ? read_json(OPT_ML "/input/config/inputdataconfig.json", &err) : NULL;
    int rc = channels ? 0 : (err.code ? err.code : LT_EINVAL);
    char *train = NULL, *validation = NULL, *test = NULL;
    const char *content_type = "text/csv";
    json_t *hp = json_object();
    if (!rc) {
        /* The SDK's own keys are not the algorithm's hyperparameters. */
        const char *key;
        json_t *value;
        json_object_foreach(hps, key, value)
            if (!lt_str_starts_with(key, "sagemaker_") && strcmp(key, "_tuning_objective_metric") != 0)
                json_object_set(hp, key, value);
        train = channel_path(channels, "train");
        validation = channel_path(channels, "validation");
        test = channel_path(channels, "test");
        const char *ct = lt_json_str(json_object_get(channels, "train"), "ContentType");
        if (ct) content_type = ct;
        if (!train)
            rc = lt_err_set(err.code ? &(lt_err){0} : &err, LT_EINVAL,
                            "the algorithm needs a channel named 'train' (channels given: %s)",
                            json_object_size(channels) ? "others only" : "none");
    }
    if (!rc) rc = lt_cli__algo_train(argv[3], train, validation, test, content_type, OPT_ML "/model", hp, &err);
    if (rc) {
        char *message = lt_xasprintf("%s: %s", argv[3], err.msg[0] ? err.msg : "training failed");
        fprintf(stderr, "%s\n", message);
        write_failure(message);
        free(message);
    }
    free(train);
    free(validation);
    free(test);
    json_decref(hp);
    json_decref(channels);
    json_decref(hps);
    return rc ? 1 : 0;
}
