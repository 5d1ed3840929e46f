/*
 * AWS Signature Version 4, as botocore computes it (SAGEMAKER-CONTRACTS.md 1.3).
 *
 * Implemented subset:
 *  - algorithm AWS4-HMAC-SHA256 only, header form (Authorization + X-Amz-Date) and
 *    presigned-query form (X-Amz-Algorithm/Credential/Date/Expires/SignedHeaders/Signature);
 *  - canonical URI: for S3 the path exactly as sent; for every other service the path
 *    with dot segments removed and then percent-encoded a second time (botocore's rule);
 *  - canonical query: each pair decoded then re-encoded with the unreserved set, sorted
 *    by key then value; X-Amz-Signature is left out in the presigned form;
 *  - canonical headers: exactly the client's SignedHeaders, values trimmed with internal
 *    runs of spaces collapsed;
 *  - payload hash: supplied by the caller (the body's SHA-256 or x-amz-content-sha256).
 * Chunked payload signing (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) is not implemented.
 */
#include "http/http.h"

#include <stdlib.h>
#include <string.h>

enum { MAX_QUERY_PAIRS = 128, MAX_SIGNED_HEADERS = 64 };

static bool copy_field(char *dst, size_t cap, const char *src, size_t len)
{
    if (len >= cap) return false;
    memcpy(dst, src, len);
    dst[len] = '\0';
    return true;
}

/* "AK/20240101/us-east-1/sagemaker/aws4_request" */
static bool parse_credential(const char *cred, size_t len, lt_sigv4_auth *auth)
{
    const char *parts[5];
    size_t lens[5];
    size_t n = 0;
    const char *start = cred;
    for (size_t i = 0; i <= len && n < 5; i++) {
        if (i == len || cred[i] == '/') {
            parts[n] = start;
            lens[n] = (size_t)(cred + i - start);
            n++;
            start = cred + i + 1;
        }
    }
    /* Exactly five parts: the loop stops after the fifth, so anything left (even a
     * trailing '/') means the credential is malformed. */
    if (n != 5 || start != cred + len + 1) return false;
    if (lens[4] != 12 || memcmp(parts[4], "aws4_request", 12) != 0) return false;
    if (lens[1] != 8) return false;
    return lens[0] > 0 && copy_field(auth->access_key, sizeof auth->access_key, parts[0], lens[0]) &&
           copy_field(auth->date, sizeof auth->date, parts[1], lens[1]) &&
           copy_field(auth->region, sizeof auth->region, parts[2], lens[2]) &&
           copy_field(auth->service, sizeof auth->service, parts[3], lens[3]);
}

static const char *skip_spaces(const char *p)
{
    while (*p == ' ') p++;
    return p;
}

static lt_auth_result parse_header_form(const char *authz, const lt_sigv4_request *req,
                                        lt_sigv4_auth *auth, lt_err *err)
{
    static const char algo[] = "AWS4-HMAC-SHA256 ";
    if (strncmp(authz, algo, sizeof algo - 1) != 0) {
        lt_err_set(err, LT_EAUTH,
                   "Authorization header requires the AWS4-HMAC-SHA256 algorithm (SigV4)");
        return LT_AUTH_MALFORMED;
    }
    bool have_cred = false, have_signed = false, have_sig = false;
    const char *p = skip_spaces(authz + sizeof algo - 1);
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len > 0 && p[len - 1] == ' ') len--;
        if (len > 11 && strncmp(p, "Credential=", 11) == 0) {
            have_cred = parse_credential(p + 11, len - 11, auth);
            if (!have_cred) {
                lt_err_set(err, LT_EAUTH,
                           "Credential should be scoped to a valid date, region and service: "
                           "<key>/<yyyymmdd>/<region>/<service>/aws4_request");
                return LT_AUTH_MALFORMED;
            }
        } else if (len > 14 && strncmp(p, "SignedHeaders=", 14) == 0) {
            have_signed = copy_field(auth->signed_headers, sizeof auth->signed_headers, p + 14,
                                     len - 14);
        } else if (len > 10 && strncmp(p, "Signature=", 10) == 0) {
            have_sig = len - 10 == 64 && copy_field(auth->signature, sizeof auth->signature,
                                                    p + 10, len - 10);
        }
        if (!end) break;
        p = skip_spaces(end + 1);
    }
    if (!have_cred || !have_signed || !have_sig) {
        lt_err_set(err, LT_EAUTH, "Authorization header requires %s%s%sparameters",
                   have_cred ? "" : "'Credential' ", have_signed ? "" : "'SignedHeaders' ",
                   have_sig ? "" : "'Signature' (64 hex digits) ");
        return LT_AUTH_MALFORMED;
    }
    const char *amz_date = req->header(req->header_ctx, "x-amz-date");
    if (!amz_date || strlen(amz_date) != 16) {
        lt_err_set(err, LT_EAUTH, "Authorization requires an X-Amz-Date header (YYYYMMDDTHHMMSSZ)");
        return LT_AUTH_MALFORMED;
    }
    memcpy(auth->amz_date, amz_date, 17);
    return LT_AUTH_OK;
}

/* Finds a query parameter's raw value; returns its length or -1. */
static long query_param(const char *query, const char *name, const char **value)
{
    size_t name_len = strlen(name);
    const char *p = query;
    while (p && *p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > name_len && strncmp(p, name, name_len) == 0 && p[name_len] == '=') {
            *value = p + name_len + 1;
            return (long)(len - name_len - 1);
        }
        p = amp ? amp + 1 : NULL;
    }
    return -1;
}

static bool query_field(const char *query, const char *name, char *dst, size_t cap)
{
    const char *raw;
    long len = query_param(query, name, &raw);
    if (len < 0) return false;
    lt_buf buf;
    lt_buf_init(&buf, cap);
    bool ok = lt_uri_decode(&buf, raw, (size_t)len, NULL) == 0 && buf.len < cap;
    if (ok) copy_field(dst, cap, buf.data ? buf.data : "", buf.len);
    lt_buf_free(&buf);
    return ok;
}

static lt_auth_result parse_query_form(const lt_sigv4_request *req, lt_sigv4_auth *auth,
                                       lt_err *err)
{
    char algo[32], cred[512], expires[32];
    if (!query_field(req->query, "X-Amz-Algorithm", algo, sizeof algo) ||
        strcmp(algo, "AWS4-HMAC-SHA256") != 0) {
        lt_err_set(err, LT_EAUTH, "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
        return LT_AUTH_MALFORMED;
    }
    if (!query_field(req->query, "X-Amz-Credential", cred, sizeof cred) ||
        !parse_credential(cred, strlen(cred), auth)) {
        lt_err_set(err, LT_EAUTH, "X-Amz-Credential is missing or malformed");
        return LT_AUTH_MALFORMED;
    }
    if (!query_field(req->query, "X-Amz-Date", auth->amz_date, sizeof auth->amz_date) ||
        strlen(auth->amz_date) != 16) {
        lt_err_set(err, LT_EAUTH, "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
        return LT_AUTH_MALFORMED;
    }
    if (!query_field(req->query, "X-Amz-SignedHeaders", auth->signed_headers,
                     sizeof auth->signed_headers) ||
        !query_field(req->query, "X-Amz-Signature", auth->signature, sizeof auth->signature) ||
        strlen(auth->signature) != 64) {
        lt_err_set(err, LT_EAUTH, "X-Amz-SignedHeaders and X-Amz-Signature (64 hex) are required");
        return LT_AUTH_MALFORMED;
    }
    auth->expires_s = 900;
    if (query_field(req->query, "X-Amz-Expires", expires, sizeof expires)) {
        int64_t v;
        if (lt_parse_i64(expires, 1, 604800, &v, "X-Amz-Expires", NULL) != 0) {
            lt_err_set(err, LT_EAUTH, "X-Amz-Expires must be a number of seconds from 1 to 604800");
            return LT_AUTH_MALFORMED;
        }
        auth->expires_s = v;
    }
    auth->presigned = true;
    return LT_AUTH_OK;
}

lt_auth_result lt_sigv4_parse(const lt_sigv4_request *req, lt_sigv4_auth *auth, lt_err *err)
{
    memset(auth, 0, sizeof *auth);
    const char *authz = req->header(req->header_ctx, "authorization");
    if (authz) return parse_header_form(authz, req, auth, err);
    const char *unused;
    if (query_param(req->query, "X-Amz-Signature", &unused) >= 0 ||
        query_param(req->query, "X-Amz-Credential", &unused) >= 0)
        return parse_query_form(req, auth, err);
    if (query_param(req->query, "AWSAccessKeyId", &unused) >= 0) {
        lt_err_set(err, LT_EAUTH,
                   "The authorization mechanism you have provided (Signature Version 2) is not "
                   "supported. Please use AWS4-HMAC-SHA256 (boto3: "
                   "Config(signature_version='s3v4')).");
        return LT_AUTH_MALFORMED;
    }
    lt_err_set(err, LT_EAUTH, "Missing Authentication Token");
    return LT_AUTH_MISSING;
}

lt_auth_result lt_sigv4_check_time(const lt_sigv4_auth *auth, time_t now, lt_err *err)
{
    time_t t;
    if (lt_time_parse_amz(auth->amz_date, &t) != 0 || strncmp(auth->amz_date, auth->date, 8) != 0) {
        lt_err_set(err, LT_EAUTH, "X-Amz-Date '%s' is not a valid date of the credential scope %s",
                   auth->amz_date, auth->date);
        return LT_AUTH_MALFORMED;
    }
    char now_s[17] = ""; /* for the messages only: formatting costs on every request */
    bool late = auth->presigned ? now > t + auth->expires_s || t > now + 900
                                : t < now - 900 || t > now + 900;
    if (!late) return LT_AUTH_OK;
    lt_time_format_amz(now_s, now);
    if (auth->presigned) {
        if (now > t + auth->expires_s) {
            lt_err_set(err, LT_EAUTH, "Request has expired: signed at %s for %lld seconds, now %s",
                       auth->amz_date, (long long)auth->expires_s, now_s);
            return LT_AUTH_EXPIRED;
        }
        if (t > now + 900) {
            lt_err_set(err, LT_EAUTH, "Signature not yet current: %s is still later than %s (+15 min.)",
                       auth->amz_date, now_s);
            return LT_AUTH_SKEWED;
        }
        return LT_AUTH_OK;
    }
    if (t < now - 900 || t > now + 900) {
        lt_err_set(err, LT_EAUTH,
                   "Signature expired: %s is now earlier or later than %s by more than 15 minutes "
                   "(the difference between the request time and the server's time is too large)",
                   auth->amz_date, now_s);
        return LT_AUTH_SKEWED;
    }
    return LT_AUTH_OK;
}

/* True when normalize_path would give the path back unchanged: it starts with '/', and
 * has no empty, "." or ".." segment before its end. Most paths are, and are then used
 * as they are, without a copy. */
static bool path_is_normal(const char *path)
{
    if (path[0] != '/') return false;
    for (const char *p = path; (p = strchr(p, '/')); p++) {
        const char *seg = p + 1;
        size_t seg_len = strcspn(seg, "/");
        if (seg_len == 0 && seg[0] == '/') return false; /* "//" */
        if (seg_len == 1 && seg[0] == '.') return false;
        if (seg_len == 2 && seg[0] == '.' && seg[1] == '.') return false;
    }
    return true;
}

/* Removes "." and ".." segments (RFC 3986 5.2.4), keeping a trailing slash. */
static char *normalize_path(const char *path)
{
    size_t len = strlen(path);
    char *out = lt_xmalloc(len + 2);
    size_t o = 0;
    const char *p = path;
    while (*p) {
        while (*p == '/') p++;
        const char *seg = p;
        while (*p && *p != '/') p++;
        size_t seg_len = (size_t)(p - seg);
        if (seg_len == 0) break;
        if (seg_len == 1 && seg[0] == '.') continue;
        if (seg_len == 2 && seg[0] == '.' && seg[1] == '.') {
            while (o > 0 && out[o - 1] != '/') o--;
            if (o > 0) o--;
            continue;
        }
        out[o++] = '/';
        memcpy(out + o, seg, seg_len);
        o += seg_len;
    }
    if (o == 0 || (len > 0 && path[len - 1] == '/')) out[o++] = '/';
    out[o] = '\0';
    return out;
}

typedef struct {
    char *key;
    char *value;
} query_pair;

static int compare_pairs(const void *a, const void *b)
{
    const query_pair *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->value, y->value);
}

static int reencode(const char *raw, size_t len, char **out, lt_err *err)
{
    lt_buf dec, enc;
    lt_buf_init(&dec, 65536);
    lt_buf_init(&enc, 3 * 65536);
    int rc = lt_uri_decode(&dec, raw, len, err);
    if (!rc) rc = lt_uri_encode(&enc, dec.data ? dec.data : "", dec.len, false, err);
    lt_buf_free(&dec);
    if (rc) {
        lt_buf_free(&enc);
        return rc;
    }
    *out = lt_buf_take(&enc);
    return 0;
}

static int canonical_query(lt_buf *out, const char *query, bool presigned, lt_err *err)
{
    query_pair pairs[MAX_QUERY_PAIRS];
    size_t n = 0;
    int rc = 0;
    const char *p = query;
    while (p && *p && !rc) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > 0) {
            const char *eq = memchr(p, '=', len);
            size_t klen = eq ? (size_t)(eq - p) : len;
            bool skip = presigned && klen == 15 && strncmp(p, "X-Amz-Signature", 15) == 0;
            if (!skip) {
                if (n == MAX_QUERY_PAIRS) {
                    rc = lt_err_set(err, LT_ELIMIT, "more than %d query parameters", MAX_QUERY_PAIRS);
                    break;
                }
                rc = reencode(p, klen, &pairs[n].key, err);
                if (!rc) {
                    rc = eq ? reencode(eq + 1, len - klen - 1, &pairs[n].value, err)
                            : (pairs[n].value = lt_xstrdup(""), 0);
                    if (rc) free(pairs[n].key);
                }
                if (!rc) n++;
            }
        }
        p = amp ? amp + 1 : NULL;
    }
    if (!rc) qsort(pairs, n, sizeof pairs[0], compare_pairs);
    for (size_t i = 0; i < n; i++) {
        if (!rc && i) rc = lt_buf_puts(out, "&", err);
        if (!rc) rc = lt_buf_puts(out, pairs[i].key, err);
        if (!rc) rc = lt_buf_puts(out, "=", err);
        if (!rc) rc = lt_buf_puts(out, pairs[i].value, err);
        free(pairs[i].key);
        free(pairs[i].value);
    }
    return rc;
}

/* Appends a header value trimmed, with runs of spaces collapsed to one. */
/* Appends a header value trimmed, with runs of spaces collapsed to one. */
static int append_header_value(lt_buf *out, const char *v, lt_err *err)
{
    while (*v == ' ' || *v == '\t') v++;
    size_t len = strlen(v);
    while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t')) len--;
    size_t start = 0; /* the span not appended yet */
    for (size_t i = 0; i < len; i++) {
        if (v[i] != ' ' && v[i] != '\t') continue;
        if (v[i] == ' ' && v[i + 1] != ' ' && v[i + 1] != '\t') continue; /* a single space */
        /* A tab or a run of spaces: what came before, then one space. */
        int rc = lt_buf_append(out, v + start, i - start, err);
        if (!rc) rc = lt_buf_puts(out, " ", err);
        if (rc) return rc;
        while (i + 1 < len && (v[i + 1] == ' ' || v[i + 1] == '\t')) i++;
        start = i + 1;
    }
    return lt_buf_append(out, v + start, len - start, err);
}

static int canonical_request(lt_buf *out, const lt_sigv4_request *req, const lt_sigv4_auth *auth,
                             lt_err *err)
{
    /* Appends, not lt_buf_printf: this runs on every request, and vsnprintf is most of
     * what building the canonical request would cost. */
    int rc = lt_buf_puts(out, req->method, err);
    if (!rc) rc = lt_buf_puts(out, "\n", err);
    if (rc) return rc;
    if (req->s3) {
        rc = lt_buf_puts(out, req->path[0] ? req->path : "/", err);
    } else if (path_is_normal(req->path)) {
        rc = lt_uri_encode(out, req->path, strlen(req->path), true, err);
    } else {
        char *norm = normalize_path(req->path);
        rc = lt_uri_encode(out, norm, strlen(norm), true, err);
        free(norm);
    }
    if (!rc) rc = lt_buf_puts(out, "\n", err);
    if (!rc) rc = canonical_query(out, req->query ? req->query : "", auth->presigned, err);
    if (!rc) rc = lt_buf_puts(out, "\n", err);
    const char *h = auth->signed_headers;
    int count = 0;
    while (!rc && *h) {
        const char *semi = strchr(h, ';');
        size_t len = semi ? (size_t)(semi - h) : strlen(h);
        char name[128];
        if (len == 0 || len >= sizeof name || ++count > MAX_SIGNED_HEADERS)
            return lt_err_set(err, LT_EINVAL, "SignedHeaders is malformed");
        for (size_t i = 0; i < len; i++) name[i] = (char)(h[i] >= 'A' && h[i] <= 'Z' ? h[i] + 32 : h[i]);
        name[len] = '\0';
        const char *value = req->header(req->header_ctx, name);
        if (!value)
            return lt_err_set(err, LT_EINVAL, "signed header '%s' is not in the request", name);
        rc = lt_buf_append(out, name, len, err);
        if (!rc) rc = lt_buf_puts(out, ":", err);
        if (!rc) rc = append_header_value(out, value, err);
        if (!rc) rc = lt_buf_puts(out, "\n", err);
        h = semi ? semi + 1 : h + len;
    }
    if (!rc) rc = lt_buf_puts(out, "\n", err);
    if (!rc) rc = lt_buf_puts(out, auth->signed_headers, err);
    if (!rc) rc = lt_buf_puts(out, "\n", err);
    if (!rc) rc = lt_buf_puts(out, req->payload_hash, err);
    return rc;
}

static void derive_signing_key(const char *secret, const char *date, const char *region,
                               const char *service, uint8_t key[32])
{
    char k0[256];
    int n = snprintf(k0, sizeof k0, "AWS4%s", secret);
    size_t k0_len = n < 0 ? 0 : (size_t)n < sizeof k0 ? (size_t)n : sizeof k0 - 1;
    lt_hmac_sha256(k0, k0_len, date, strlen(date), key);
    lt_hmac_sha256(key, 32, region, strlen(region), key);
    lt_hmac_sha256(key, 32, service, strlen(service), key);
    lt_hmac_sha256(key, 32, "aws4_request", 12, key);
}

/* The signing key changes once a day per (secret, region, service), but deriving it is
 * four HMACs, most of a signature check's cost. Each thread keeps the last one it
 * derived; a thread-local cache needs no lock and holds nothing another thread can see. */
typedef struct key_cache {
    char input[512]; /* secret NUL date NUL region NUL service, as one comparable blob */
    size_t input_len;
    uint8_t key[32];
} key_cache;

static _Thread_local key_cache cached_key;

static void signing_key(const char *secret, const char *date, const char *region,
                        const char *service, uint8_t key[32])
{
    /* secret NUL date NUL region NUL service, built without snprintf (every request). */
    const char *parts[4] = {secret, date, region, service};
    char input[512];
    size_t n = 0;
    for (int i = 0; i < 4; i++) {
        size_t len = strlen(parts[i]);
        if (n + len + 1 > sizeof input) {
            derive_signing_key(secret, date, region, service, key);
            return;
        }
        memcpy(input + n, parts[i], len);
        n += len;
        if (i < 3) input[n++] = '\0';
    }
    if (cached_key.input_len == n && memcmp(cached_key.input, input, n) == 0) {
        memcpy(key, cached_key.key, 32);
        return;
    }
    derive_signing_key(secret, date, region, service, key);
    memcpy(cached_key.input, input, n);
    cached_key.input_len = n;
    memcpy(cached_key.key, key, 32);
}

int lt_sigv4_compute(const lt_sigv4_request *req, const lt_sigv4_auth *auth,
                     const char *secret, char *out_hex, lt_buf *canonical, lt_err *err)
{
    lt_buf creq;
    lt_buf_init(&creq, 1 << 20);
    /* A signed call's canonical request is a few hundred bytes: one allocation, not the
     * three of doubling from nothing. */
    int rc = lt_buf_reserve(&creq, 1000, err);
    if (!rc) rc = canonical_request(&creq, req, auth, err);
    if (rc) {
        lt_buf_free(&creq);
        return rc;
    }
    uint8_t digest[32];
    char digest_hex[65];
    lt_sha256(creq.data, creq.len, digest);
    lt_hex_encode(digest_hex, digest, 32);
    if (canonical) lt_buf_append(canonical, creq.data, creq.len, NULL);
    lt_buf_free(&creq);

    /* "AWS4-HMAC-SHA256\n<amz date>\n<date>/<region>/<service>/aws4_request\n<hash>",
     * joined by hand (snprintf's format parse showed in every request's profile). */
    const char *parts[] = {"AWS4-HMAC-SHA256\n", auth->amz_date, "\n", auth->date, "/",
                           auth->region, "/", auth->service, "/aws4_request\n", digest_hex};
    char sts[512];
    size_t n = 0;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        size_t len = strlen(parts[i]);
        if (n + len >= sizeof sts) return lt_err_set(err, LT_EINVAL, "credential scope too long");
        memcpy(sts + n, parts[i], len);
        n += len;
    }
    uint8_t key[32], sig[32];
    signing_key(secret, auth->date, auth->region, auth->service, key);
    lt_hmac_sha256(key, 32, sts, n, sig);
    lt_hex_encode(out_hex, sig, 32);
    return 0;
}

char *lt_sigv4_authorization(const lt_sigv4_request *req, const char *access_key,
                             const char *secret, const char *region, const char *service,
                             const char *amz_date, const char *signed_headers, lt_err *err)
{
    lt_sigv4_auth auth;
    memset(&auth, 0, sizeof auth);
    if (!copy_field(auth.access_key, sizeof auth.access_key, access_key, strlen(access_key)) ||
        !copy_field(auth.amz_date, sizeof auth.amz_date, amz_date, strlen(amz_date)) ||
        !copy_field(auth.date, sizeof auth.date, amz_date, 8) ||
        !copy_field(auth.region, sizeof auth.region, region, strlen(region)) ||
        !copy_field(auth.service, sizeof auth.service, service, strlen(service)) ||
        !copy_field(auth.signed_headers, sizeof auth.signed_headers, signed_headers,
                    strlen(signed_headers))) {
        lt_err_set(err, LT_EINVAL, "signing input too long");
        return NULL;
    }
    char sig[65];
    if (lt_sigv4_compute(req, &auth, secret, sig, NULL, err) != 0) return NULL;
    return lt_xasprintf("AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, "
                        "Signature=%s",
                        access_key, auth.date, region, service, signed_headers, sig);
}
