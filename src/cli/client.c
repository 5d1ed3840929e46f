/* The signed HTTP client of the command line: finds the endpoint and credentials the
 * way the AWS CLI does, signs with SigV4 (module http) and sends with libcurl. */
#include "cli/cli_internal.h"
#include "http/http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *env_dup(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? lt_xstrdup(v) : NULL;
}

static char *home_path(const char *rel)
{
    const char *home = getenv("HOME");
    return home ? lt_xasprintf("%s/%s", home, rel) : NULL;
}

char *lt_cli__credentials_path(const char *data_dir)
{
    return lt_xasprintf("%s/credentials", data_dir);
}

static void strip_trailing_slash(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '/') s[--n] = '\0';
}

static bool credentials_from_file(lt_cli__client *c, const char *path, const char *profile)
{
    if (!path) return false;
    char *ak = lt_cli__ini_get(path, profile, "aws_access_key_id");
    char *sk = lt_cli__ini_get(path, profile, "aws_secret_access_key");
    if (ak && sk) {
        c->access_key = ak;
        c->secret_key = sk;
        c->session_token = lt_cli__ini_get(path, profile, "aws_session_token");
        return true;
    }
    free(ak);
    free(sk);
    return false;
}

int lt_cli__client_init(lt_cli__client *c, const char *endpoint_opt, const char *region_opt,
                        const char *profile_opt, const char *data_dir, lt_err *err)
{
    memset(c, 0, sizeof *c);
    char *config = home_path(".lathe/config");
    c->endpoint = endpoint_opt ? lt_xstrdup(endpoint_opt) : env_dup("LATHE_ENDPOINT");
    if (!c->endpoint && config) c->endpoint = lt_cli__ini_get(config, "default", "endpoint");
    if (!c->endpoint) c->endpoint = lt_xstrdup(LT_CLI_DEFAULT_ENDPOINT);
    strip_trailing_slash(c->endpoint);

    c->region = region_opt ? lt_xstrdup(region_opt) : env_dup("AWS_REGION");
    if (!c->region) c->region = env_dup("AWS_DEFAULT_REGION");
    if (!c->region && config) c->region = lt_cli__ini_get(config, "default", "region");
    if (!c->region) c->region = lt_xstrdup(LT_CLI_DEFAULT_REGION);
    free(config);

    const char *profile = profile_opt ? profile_opt : getenv("AWS_PROFILE");
    if (!profile || !*profile) profile = "default";
    c->access_key = env_dup("AWS_ACCESS_KEY_ID");
    c->secret_key = env_dup("AWS_SECRET_ACCESS_KEY");
    if (c->access_key && c->secret_key) {
        c->session_token = env_dup("AWS_SESSION_TOKEN");
        return 0;
    }
    free(c->access_key);
    free(c->secret_key);
    c->access_key = c->secret_key = NULL;

    char *shared = env_dup("AWS_SHARED_CREDENTIALS_FILE");
    if (!shared) shared = home_path(".aws/credentials");
    bool found = credentials_from_file(c, shared, profile);
    free(shared);
    if (!found) {
        char *local = lt_cli__credentials_path(data_dir ? data_dir : LT_CLI_DEFAULT_DATA_DIR);
        found = credentials_from_file(c, local, "default");
        free(local);
    }
    if (!found) {
        lt_cli__client_free(c);
        return lt_err_set(err, LT_EAUTH,
                          "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
                          "AWS_SHARED_CREDENTIALS_FILE=<data-dir>/credentials, or run from the "
                          "directory holding ./lathe-data");
    }
    return 0;
}

void lt_cli__client_free(lt_cli__client *c)
{
    free(c->endpoint);
    free(c->region);
    free(c->access_key);
    free(c->secret_key);
    free(c->session_token);
    memset(c, 0, sizeof *c);
}

static size_t collect(char *data, size_t size, size_t nmemb, void *ctx)
{
    lt_buf *body = ctx;
    return lt_buf_append(body, data, size * nmemb, NULL) == 0 ? size * nmemb : 0;
}

/* One "Name: value" request header. */
static struct curl_slist *header(struct curl_slist *h, const char *name, const char *value)
{
    char *line = lt_xasprintf("%s: %s", name, value);
    h = curl_slist_append(h, line);
    free(line);
    return h;
}

/* What every signed request carries besides its own headers. */
static struct curl_slist *auth_headers(struct curl_slist *h, const lt_cli__client *c,
                                       const char *amz_date, const char *authz)
{
    h = header(h, "X-Amz-Date", amz_date);
    h = header(h, "Authorization", authz);
    if (c->session_token) h = header(h, "X-Amz-Security-Token", c->session_token);
    return curl_slist_append(h, "Expect:");
}

/* Sends what curl was set up with to url, collecting the answer; frees curl and hdrs. */
static int perform(CURL *curl, const lt_cli__client *c, const char *url, struct curl_slist *hdrs,
                   lt_buf *answer, long *status, lt_err *err)
{
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, answer);
    CURLcode cc = curl_easy_perform(curl);
    int rc = 0;
    if (cc != CURLE_OK)
        rc = lt_err_set(err, LT_EIO, "cannot reach %s: %s", c->endpoint, curl_easy_strerror(cc));
    else
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(curl);
    return rc;
}

typedef struct {
    const char *names[6];
    const char *values[6];
} sign_headers;

static const char *sign_lookup(void *ctx, const char *name)
{
    sign_headers *h = ctx;
    for (int i = 0; i < 6 && h->names[i]; i++)
        if (strcasecmp(h->names[i], name) == 0) return h->values[i];
    return NULL;
}

/* "http://host:port/base" -> host header "host:port" and path "/base/" (the json
 * protocol posts to the endpoint's path exactly). */
static int split_endpoint(const char *endpoint, char **host, char **path, lt_err *err)
{
    const char *p = strstr(endpoint, "://");
    if (!p || (strncmp(endpoint, "http://", 7) != 0 && strncmp(endpoint, "https://", 8) != 0))
        return lt_err_set(err, LT_EINVAL, "endpoint '%s' must start with http:// or https://",
                          endpoint);
    p += 3;
    const char *slash = strchr(p, '/');
    *host = lt_xstrndup(p, slash ? (size_t)(slash - p) : strlen(p));
    *path = lt_xasprintf("%s/", slash ? slash : "");
    return 0;
}

int lt_cli__call(const lt_cli__client *c, const char *operation, const char *json_body,
                 long *status, lt_buf *body, lt_err *err)
{
    char *target = lt_xasprintf("SageMaker.%s", operation);
    int rc = lt_cli__call_target(c, "sagemaker", target, json_body, status, body, err);
    free(target);
    return rc;
}

int lt_cli__call_target(const lt_cli__client *c, const char *service, const char *target,
                        const char *json_body, long *status, lt_buf *body, lt_err *err)
{
    char *host = NULL, *path = NULL;
    int rc = split_endpoint(c->endpoint, &host, &path, err);
    if (rc) return rc;
    char amz_date[17];
    lt_time_format_amz(amz_date, time(NULL));
    uint8_t digest[32];
    char hash[65];
    lt_sha256(json_body, strlen(json_body), digest);
    lt_hex_encode(hash, digest, 32);

    sign_headers h = {{"content-type", "host", "x-amz-date", "x-amz-target",
                       c->session_token ? "x-amz-security-token" : NULL},
                      {"application/x-amz-json-1.1", host, amz_date, target, c->session_token}};
    const char *signed_list = c->session_token
                                  ? "content-type;host;x-amz-date;x-amz-security-token;x-amz-target"
                                  : "content-type;host;x-amz-date;x-amz-target";
    lt_sigv4_request req = {"POST", path, "", sign_lookup, &h, hash, false};
    char *authz = lt_sigv4_authorization(&req, c->access_key, c->secret_key, c->region,
                                         service, amz_date, signed_list, err);
    if (!authz) {
        free(host);
        free(path);
        return err ? err->code : LT_EINVAL;
    }
    CURL *curl = curl_easy_init();
    struct curl_slist *hdrs = header(NULL, "Content-Type", "application/x-amz-json-1.1");
    hdrs = header(hdrs, "X-Amz-Target", target);
    hdrs = auth_headers(hdrs, c, amz_date, authz);
    char *url = lt_xasprintf("%s/", c->endpoint);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json_body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(json_body));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);
    rc = perform(curl, c, url, hdrs, body, status, err);
    free(url);
    free(authz);
    free(host);
    free(path);
    return rc;
}

int lt_cli__s3_request(const lt_cli__client *c, const char *method, const char *bucket,
                       const char *key, const char *file_path, long *status, lt_buf *body,
                       lt_err *err)
{
    char *host = NULL, *base = NULL;
    int rc = split_endpoint(c->endpoint, &host, &base, err);
    if (rc) return rc;
    lt_buf path;
    lt_buf_init(&path, 8192);
    rc = lt_buf_printf(&path, err, "/%s", bucket);
    if (!rc && key && *key) rc = lt_buf_puts(&path, "/", err);
    if (!rc && key && *key) rc = lt_uri_encode(&path, key, strlen(key), true, err);
    FILE *in = NULL;
    long size = 0;
    if (!rc && file_path) {
        in = fopen(file_path, "rb");
        if (!in) rc = lt_err_set(err, LT_EIO, "cannot open %s", file_path);
        if (in && fseek(in, 0, SEEK_END) == 0) size = ftell(in);
        if (in) rewind(in);
    }
    char amz_date[17];
    lt_time_format_amz(amz_date, time(NULL));
    sign_headers h = {{"host", "x-amz-content-sha256", "x-amz-date",
                       c->session_token ? "x-amz-security-token" : NULL},
                      {host, "UNSIGNED-PAYLOAD", amz_date, c->session_token}};
    const char *signed_list = c->session_token
                                  ? "host;x-amz-content-sha256;x-amz-date;x-amz-security-token"
                                  : "host;x-amz-content-sha256;x-amz-date";
    lt_sigv4_request req = {method, path.data, "", sign_lookup, &h, "UNSIGNED-PAYLOAD", true};
    char *authz = rc ? NULL
                     : lt_sigv4_authorization(&req, c->access_key, c->secret_key, c->region, "s3",
                                              amz_date, signed_list, err);
    if (!rc && !authz) rc = err && err->code ? err->code : LT_EINVAL;
    if (!rc) {
        CURL *curl = curl_easy_init();
        struct curl_slist *hdrs = header(NULL, "X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD");
        hdrs = auth_headers(hdrs, c, amz_date, authz);
        char *url = lt_xasprintf("%s%s", c->endpoint, path.data);
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
        if (in) {
            curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(curl, CURLOPT_READDATA, in);
            curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)size);
        } else if (strcmp(method, "PUT") == 0) {
            curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)0);
        }
        rc = perform(curl, c, url, hdrs, body, status, err);
        free(url);
    }
    if (in) fclose(in);
    free(authz);
    lt_buf_free(&path);
    free(host);
    free(base);
    return rc;
}

int lt_cli__invoke_endpoint(const lt_cli__client *c, const char *endpoint, const char *content_type,
                            const char *accept, const char *variant, const char *target_model,
                            const char *body, size_t len, long *status, lt_buf *answer,
                            lt_err *err)
{
    char *host = NULL, *base = NULL;
    int rc = split_endpoint(c->endpoint, &host, &base, err);
    if (rc) return rc;
    char *path = lt_xasprintf("/endpoints/%s/invocations", endpoint);
    char amz_date[17];
    lt_time_format_amz(amz_date, time(NULL));
    uint8_t digest[32];
    char hash[65];
    lt_sha256(body, len, digest);
    lt_hex_encode(hash, digest, 32);
    sign_headers h = {{"content-type", "host", "x-amz-date",
                       c->session_token ? "x-amz-security-token" : NULL},
                      {content_type, host, amz_date, c->session_token}};
    const char *signed_list = c->session_token
                                  ? "content-type;host;x-amz-date;x-amz-security-token"
                                  : "content-type;host;x-amz-date";
    lt_sigv4_request req = {"POST", path, "", sign_lookup, &h, hash, false};
    char *authz = lt_sigv4_authorization(&req, c->access_key, c->secret_key, c->region,
                                         "sagemaker", amz_date, signed_list, err);
    if (!authz) rc = err && err->code ? err->code : LT_EINVAL;
    if (!rc) {
        CURL *curl = curl_easy_init();
        struct curl_slist *hdrs = header(NULL, "Content-Type", content_type);
        if (accept) hdrs = header(hdrs, "Accept", accept);
        if (variant) hdrs = header(hdrs, "X-Amzn-SageMaker-Target-Variant", variant);
        if (target_model) hdrs = header(hdrs, "X-Amzn-SageMaker-Target-Model", target_model);
        hdrs = auth_headers(hdrs, c, amz_date, authz);
        char *url = lt_xasprintf("%s%s", c->endpoint, path);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        rc = perform(curl, c, url, hdrs, answer, status, err);
        free(url);
    }
    free(authz);
    free(path);
    free(host);
    free(base);
    return rc;
}
