/* Each host's /opt/ml tree, its config files and its environment: the SageMaker container
 * contract (training: the JSON files in /opt/ml/input/config; processing: /opt/ml/config) and
 * the script-mode SM_* variables the SageMaker training toolkit would derive. */
#include "exec/job_internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void lt_exec__strv_free(char **v)
{
    if (!v) return;
    for (char **p = v; *p; p++) free(*p);
    free(v);
}

typedef struct strv {
    char **items;
    size_t n, cap;
} strv;

static void strv_push(strv *v, char *s)
{
    if (v->n + 2 > v->cap) {
        v->cap = v->cap ? v->cap * 2 : 32;
        v->items = lt_xrealloc(v->items, v->cap * sizeof *v->items);
    }
    v->items[v->n++] = s;
    v->items[v->n] = NULL;
}

/* Sets K=V, replacing an earlier K (the job's Environment overrides the platform's). */
static void env_set(strv *v, const char *key, const char *value)
{
    size_t klen = strlen(key);
    for (size_t i = 0; i < v->n; i++)
        if (strncmp(v->items[i], key, klen) == 0 && v->items[i][klen] == '=') {
            free(v->items[i]);
            v->items[i] = lt_xasprintf("%s=%s", key, value);
            return;
        }
    strv_push(v, lt_xasprintf("%s=%s", key, value));
}

static void env_set_json(strv *v, const char *key, const json_t *value)
{
    char *text = json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    env_set(v, key, text ? text : "null");
    free(text);
}

char *lt_exec__hp_decoded(const json_t *hps, const char *key)
{
    const char *raw = lt_json_str(hps, key);
    if (!raw) return NULL;
    json_t *v = json_loads(raw, JSON_DECODE_ANY, NULL);
    char *out = (v && json_is_string(v)) ? lt_xstrdup(json_string_value(v)) : lt_xstrdup(raw);
    json_decref(v);
    return out;
}

/* The toolkit json.loads each value and falls back to the raw string. */
static json_t *hp_value(const char *raw)
{
    json_t *v = json_loads(raw, JSON_DECODE_ANY, NULL);
    return v ? v : json_string(raw);
}

static json_t *user_hps(const json_t *hps)
{
    json_t *out = json_object();
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)hps, key, value) {
        if (lt_str_starts_with(key, "sagemaker_") || strcmp(key, "_tuning_objective_metric") == 0)
            continue;
        if (json_is_string(value)) json_object_set_new(out, key, hp_value(json_string_value(value)));
    }
    return out;
}

static char *upper_name(const char *prefix, const char *name)
{
    char *s = lt_xasprintf("%s%s", prefix, name);
    for (char *p = s + strlen(prefix); *p; p++)
        *p = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
    return s;
}

static json_t *hosts_array(const lt_exec_job *job)
{
    /* SageMaker sorts host names as strings: algo-1, algo-10, algo-2, ... */
    json_t *a = json_array();
    for (int i = 0; i < job->n_hosts; i++) json_array_append_new(a, json_string(job->hosts[i].name));
    size_t n = json_array_size(a);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0; j--) {
            json_t *x = json_array_get(a, j - 1), *y = json_array_get(a, j);
            if (strcmp(json_string_value(x), json_string_value(y)) <= 0) break;
            json_incref(x);
            json_array_set(a, j - 1, y);
            json_array_set_new(a, j, x);
        }
    return a;
}

static const char *instance_type_name(const lt_exec_job *job)
{
    json_t *rc = json_object_get(job->doc, job->training ? "ResourceConfig" : "ProcessingResources");
    if (!job->training) rc = json_object_get(rc, "ClusterConfig");
    const char *t = lt_json_str(rc, "InstanceType");
    return t ? t : "ml.m5.large";
}

static json_t *resource_config(const lt_exec_job *job, const lt_exec_host *h)
{
    json_t *hosts = hosts_array(job);
    json_t *rc = json_pack("{s:s, s:s, s:s, s:O, s:[{s:s, s:s, s:O}], s:s}", "current_host",
                           h->name, "current_instance_type", instance_type_name(job),
                           "current_group_name", "homogeneousCluster", "hosts", hosts,
                           "instance_groups", "instance_group_name", "homogeneousCluster",
                           "instance_type", instance_type_name(job), "hosts", hosts,
                           "network_interface_name", "eth0");
    json_decref(hosts);
    return rc;
}

static json_t *input_data_config(const lt_exec_job *job)
{
    json_t *out = json_object();
    const char *default_mode =
        lt_json_str(json_object_get(job->doc, "AlgorithmSpecification"), "TrainingInputMode");
    size_t i;
    json_t *ch;
    json_array_foreach(json_object_get(job->doc, "InputDataConfig"), i, ch) {
        json_t *s3 = json_object_get(json_object_get(ch, "DataSource"), "S3DataSource");
        const char *mode = lt_json_str(ch, "InputMode");
        const char *dist = lt_json_str(s3, "S3DataDistributionType");
        const char *wrapper = lt_json_str(ch, "RecordWrapperType");
        json_t *c = json_pack("{s:s, s:s, s:s}", "TrainingInputMode",
                              mode ? mode : default_mode ? default_mode : "File",
                              "S3DistributionType", dist ? dist : "FullyReplicated",
                              "RecordWrapperType", wrapper ? wrapper : "None");
        if (lt_json_str(ch, "ContentType"))
            json_object_set_new(c, "ContentType", json_string(lt_json_str(ch, "ContentType")));
        json_object_set_new(out, lt_json_str(ch, "ChannelName"), c);
    }
    return out;
}

int lt_exec__write_scratch(const char *path, const void *data, size_t len, lt_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return lt_err_set(err, LT_EIO, "cannot write %s: %s", path, strerror(errno));
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            close(fd);
            return lt_err_set(err, LT_EIO, "cannot write %s: %s", path, strerror(errno));
        }
        p += n;
        len -= (size_t)n;
    }
    close(fd);
    return 0;
}

static int write_json(const char *dir, const char *file, const json_t *value, lt_err *err)
{
    char *path = lt_xasprintf("%s/%s", dir, file);
    char *text = json_dumps(value, JSON_INDENT(2) | JSON_SORT_KEYS);
    int rc = lt_exec__write_scratch(path, text, strlen(text), err);
    free(text);
    free(path);
    return rc;
}

static int layout_training_host(lt_exec_job *job, lt_exec_host *h, lt_err *err)
{
    static const char *const dirs[] = {"input/config", "input/data", "model", "output/data",
                                       "output/intermediate", "checkpoints", "code", NULL};
    int rc = 0;
    for (size_t i = 0; dirs[i] && !rc; i++) {
        char *p = lt_xasprintf("%s/%s", h->dir, dirs[i]);
        rc = lt_mkdir_p(p, 0755, err);
        free(p);
    }
    if (rc) return rc;
    char *config = lt_xasprintf("%s/input/config", h->dir);
    json_t *hps = json_object_get(job->doc, "HyperParameters");
    json_t *empty = json_object();
    json_t *res = resource_config(job, h);
    json_t *idc = input_data_config(job);
    rc = write_json(config, "hyperparameters.json", hps ? hps : empty, err);
    if (!rc) rc = write_json(config, "resourceconfig.json", res, err);
    if (!rc) rc = write_json(config, "inputdataconfig.json", idc, err);
    if (!rc) rc = write_json(config, "trainingjobconfig.json", job->doc, err);
    json_t *ckpt = json_object_get(job->doc, "CheckpointConfig");
    if (!rc && ckpt) {
        json_t *c = json_deep_copy(ckpt);
        if (!json_object_get(c, "LocalPath"))
            json_object_set_new(c, "LocalPath", json_string("/opt/ml/checkpoints"));
        rc = write_json(config, "checkpointconfig.json", c, err);
        json_decref(c);
    }
    json_decref(idc);
    json_decref(res);
    json_decref(empty);
    free(config);
    return rc;
}

static int layout_processing_host(lt_exec_job *job, lt_exec_host *h, lt_err *err)
{
    char *config = lt_xasprintf("%s/config", h->dir);
    char *output = lt_xasprintf("%s/output", h->dir);
    int rc = lt_mkdir_p(config, 0755, err);
    if (!rc) rc = lt_mkdir_p(output, 0755, err);
    size_t i;
    json_t *out;
    json_array_foreach(json_object_get(json_object_get(job->doc, "ProcessingOutputConfig"), "Outputs"),
                       i, out) {
        if (rc) break;
        const char *local = lt_json_str(json_object_get(out, "S3Output"), "LocalPath");
        char *p = lt_xasprintf("%s%s", h->dir, local + strlen("/opt/ml"));
        rc = lt_mkdir_p(p, 0755, err);
        free(p);
    }
    json_t *res = resource_config(job, h);
    if (!rc) rc = write_json(config, "resourceconfig.json", res, err);
    if (!rc) rc = write_json(config, "processingjobconfig.json", job->doc, err);
    json_decref(res);
    free(output);
    free(config);
    return rc;
}

/* /etc/hosts for the sandbox: every host of the job by name on its own loopback address,
 * so `algo-2` resolves on every host. The second and third octets come from the job's name
 * so that two jobs on one machine do not share addresses. */
static int write_hosts_file(lt_exec_job *job, lt_err *err)
{
    uint8_t h[32];
    lt_sha256(job->name, strlen(job->name), h);
    lt_buf buf;
    lt_buf_init(&buf, 1 << 20);
    lt_buf_puts(&buf, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n", NULL);
    for (int i = 0; i < job->n_hosts; i++)
        lt_buf_printf(&buf, NULL, "127.%u.%u.%d\t%s\n", 100u + h[0] % 100u, (unsigned)h[1], i + 1,
                       job->hosts[i].name);
    int n = snprintf(job->hosts_file, sizeof job->hosts_file, "%s/etc-hosts", job->dir);
    int rc = (n < 0 || (size_t)n >= sizeof job->hosts_file)
                 ? lt_err_set(err, LT_ELIMIT, "job directory path too long")
                 : lt_exec__write_scratch(job->hosts_file, buf.data, buf.len, err);
    lt_buf_free(&buf);
    return rc;
}

int lt_exec__layout_hosts(lt_exec_job *job, lt_err *err)
{
    int rc = write_hosts_file(job, err);
    for (int i = 0; i < job->n_hosts && !rc; i++) {
        lt_exec_host *h = &job->hosts[i];
        lt_rm_rf(h->dir, err);
        rc = lt_mkdir_p(h->dir, 0755, err);
        if (!rc) rc = job->training ? layout_training_host(job, h, err)
                                    : layout_processing_host(job, h, err);
    }
    return rc;
}

static int num_cpus(const lt_exec_job *job)
{
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    int cpus = online > 0 ? (int)online : 1;
    if (job->instance && job->instance->vcpus < cpus) cpus = job->instance->vcpus;
    return cpus;
}

static void training_env(lt_exec_job *job, const lt_exec_host *h, strv *v)
{
    json_t *hps = json_object_get(job->doc, "HyperParameters");
    json_t *user = user_hps(hps);
    json_t *channels = json_array();
    size_t i;
    json_t *ch;
    json_array_foreach(json_object_get(job->doc, "InputDataConfig"), i, ch) {
        const char *name = lt_json_str(ch, "ChannelName");
        json_array_append_new(channels, json_string(name));
        char *key = upper_name("SM_CHANNEL_", name);
        char *path = lt_xasprintf("/opt/ml/input/data/%s", name);
        env_set(v, key, path);
        free(path);
        free(key);
    }
    /* SM_CHANNELS is sorted. */
    json_t *sorted = json_array();
    while (json_array_size(channels) > 0) {
        size_t best = 0;
        for (size_t j = 1; j < json_array_size(channels); j++)
            if (strcmp(json_string_value(json_array_get(channels, j)),
                       json_string_value(json_array_get(channels, best))) < 0)
                best = j;
        json_array_append(sorted, json_array_get(channels, best));
        json_array_remove(channels, best);
    }
    json_decref(channels);
    json_t *args = json_array();
    const char *key;
    json_t *value;
    json_object_foreach(user, key, value) {
        char *env_key = upper_name("SM_HP_", key);
        char *text = json_is_string(value) ? lt_xstrdup(json_string_value(value))
                                           : json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
        env_set(v, env_key, text);
        json_array_append_new(args, json_sprintf("--%s", key));
        json_array_append_new(args, json_string(text));
        free(text);
        free(env_key);
    }
    json_t *hosts = hosts_array(job);
    json_t *res = resource_config(job, h);
    json_t *idc = input_data_config(job);
    char cpus[16];
    snprintf(cpus, sizeof cpus, "%d", num_cpus(job));
    char gpus[16];
    snprintf(gpus, sizeof gpus, "%d", 0); /* the sandbox exposes no GPU yet */
    char *program = lt_exec__hp_decoded(hps, "sagemaker_program");
    char *submit = lt_exec__hp_decoded(hps, "sagemaker_submit_directory");
    char *module = program ? lt_xstrdup(program) : NULL;
    if (module && lt_str_ends_with(module, ".py")) module[strlen(module) - 3] = '\0';
    env_set(v, "SM_MODEL_DIR", "/opt/ml/model");
    env_set_json(v, "SM_CHANNELS", sorted);
    env_set_json(v, "SM_HPS", user);
    env_set_json(v, "SM_HOSTS", hosts);
    env_set(v, "SM_CURRENT_HOST", h->name);
    env_set(v, "SM_CURRENT_INSTANCE_TYPE", instance_type_name(job));
    env_set(v, "SM_CURRENT_INSTANCE_GROUP", "homogeneousCluster");
    env_set(v, "SM_NUM_CPUS", cpus);
    env_set(v, "SM_NUM_GPUS", gpus);
    env_set(v, "SM_NETWORK_INTERFACE_NAME", "eth0");
    env_set(v, "SM_INPUT_DIR", "/opt/ml/input");
    env_set(v, "SM_INPUT_CONFIG_DIR", "/opt/ml/input/config");
    env_set(v, "SM_OUTPUT_DIR", "/opt/ml/output");
    env_set(v, "SM_OUTPUT_DATA_DIR", "/opt/ml/output/data");
    env_set(v, "SM_OUTPUT_INTERMEDIATE_DIR", "/opt/ml/output/intermediate");
    env_set_json(v, "SM_RESOURCE_CONFIG", res);
    env_set_json(v, "SM_INPUT_DATA_CONFIG", idc);
    env_set_json(v, "SM_USER_ARGS", args);
    env_set(v, "SM_LOG_LEVEL", "20");
    env_set(v, "SM_INPUT_TRAINING_CONFIG_FILE", "/opt/ml/input/config/hyperparameters.json");
    env_set(v, "SM_INPUT_DATA_CONFIG_FILE", "/opt/ml/input/config/inputdataconfig.json");
    env_set(v, "SM_CHECKPOINT_CONFIG_FILE", "/opt/ml/input/config/checkpointconfig.json");
    if (program) env_set(v, "SM_USER_ENTRY_POINT", program);
    if (module) env_set(v, "SM_MODULE_NAME", module);
    if (submit) env_set(v, "SM_MODULE_DIR", submit);
    json_t *training_env = json_pack(
        "{s:s, s:O, s:O, s:O, s:s, s:O, s:O, s:i, s:i, s:s, s:s, s:s, s:O}", "model_dir",
        "/opt/ml/model", "channel_input_dirs", sorted, "hyperparameters", user, "hosts", hosts,
        "current_host", h->name, "resource_config", res, "input_data_config", idc, "num_cpus",
        num_cpus(job), "num_gpus", 0, "output_data_dir", "/opt/ml/output/data", "input_dir",
        "/opt/ml/input", "job_name", job->name, "user_args", args);
    env_set_json(v, "SM_TRAINING_ENV", training_env);
    env_set(v, "TRAINING_JOB_NAME", job->name);
    env_set(v, "TRAINING_JOB_ARN", lt_json_str(job->doc, "TrainingJobArn"));
    json_decref(training_env);
    free(module);
    free(submit);
    free(program);
    json_decref(idc);
    json_decref(res);
    json_decref(hosts);
    json_decref(args);
    json_decref(sorted);
    json_decref(user);
}

char **lt_exec__host_env(lt_exec_job *job, const lt_exec_host *h)
{
    strv v = {0};
    env_set(&v, "PATH", "/opt/program:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    env_set(&v, "HOME", "/tmp");
    env_set(&v, "LANG", "C.UTF-8");
    env_set(&v, "PYTHONUNBUFFERED", "1");
    env_set(&v, "PYTHONDONTWRITEBYTECODE", "1");
    const char *region = getenv("LATHE_REGION");
    env_set(&v, "AWS_REGION", region ? region : "us-east-1");
    env_set(&v, "AWS_DEFAULT_REGION", region ? region : "us-east-1");
    if (job->training) {
        training_env(job, h, &v);
    } else {
        env_set(&v, "PROCESSING_JOB_NAME", job->name);
        env_set(&v, "PROCESSING_JOB_ARN", lt_json_str(job->doc, "ProcessingJobArn"));
        env_set(&v, "SM_CURRENT_HOST", h->name);
    }
    const char *key;
    json_t *value;
    json_object_foreach(json_object_get(job->doc, "Environment"), key, value)
        if (json_is_string(value)) env_set(&v, key, json_string_value(value));
    if (!v.items) strv_push(&v, lt_xstrdup("PATH=/usr/bin:/bin"));
    return v.items;
}

static void push_strings(strv *v, const json_t *list)
{
    size_t i;
    json_t *s;
    json_array_foreach(list, i, s) if (json_is_string(s)) strv_push(v, lt_xstrdup(json_string_value(s)));
}

char **lt_exec__job_argv(lt_exec_job *job, const char **cwd, lt_err *err)
{
    strv v = {0};
    const char *type = lt_json_str(job->image, "Type");
    json_t *spec = json_object_get(job->doc, job->training ? "AlgorithmSpecification"
                                                           : "AppSpecification");
    json_t *entry = json_object_get(spec, "ContainerEntrypoint");
    json_t *args = json_object_get(spec, "ContainerArguments");
    *cwd = "/opt/ml";
    if (json_array_size(entry) > 0) {
        push_strings(&v, entry);
        push_strings(&v, args);
        if (job->training && strcmp(type, "python") == 0) *cwd = "/opt/ml/code";
        return v.items;
    }
    if (!job->training && strcmp(type, "directory") != 0) {
        return lt_err_set(err, LT_EINVAL,
                          "AppSpecification.ContainerEntrypoint is required: the image has no "
                          "default processing program."),
               NULL;
    }
    if (strcmp(type, "algorithm") == 0) {
        strv_push(&v, lt_xstrdup(LT_EXEC__SANDBOX_LATHE));
        strv_push(&v, lt_xstrdup("algo"));
        strv_push(&v, lt_xstrdup("container-train"));
        strv_push(&v, lt_xstrdup(lt_json_str(job->image, "Algorithm")));
    } else if (strcmp(type, "python") == 0) {
        json_t *hps = json_object_get(job->doc, "HyperParameters");
        char *program = lt_exec__hp_decoded(hps, "sagemaker_program");
        json_t *user = user_hps(hps);
        strv_push(&v, lt_xstrdup("/usr/bin/python3"));
        strv_push(&v, program);
        const char *key;
        json_t *value;
        json_object_foreach(user, key, value) {
            strv_push(&v, lt_xasprintf("--%s", key));
            strv_push(&v, json_is_string(value) ? lt_xstrdup(json_string_value(value))
                                                : json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY));
        }
        json_decref(user);
        *cwd = "/opt/ml/code";
    } else {
        /* `docker run IMAGE train`: the image's train program; processing runs `process`. */
        strv_push(&v, lt_xstrdup(job->training ? "/opt/program/train" : "/opt/program/process"));
        if (!job->training) push_strings(&v, args);
    }
    return v.items;
}
