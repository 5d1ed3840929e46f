/* Request authentication shared by the control plane and S3: every request is signed
 * with SigV4 by a key Lathe issued; there is no unauthenticated mode. */
#include "http/server_internal.h"

#include <stdio.h>
#include <string.h>

lt_auth_result lt_http__auth_begin(lt_http__req *req, const char *service, lt_err *err)
{
    lt_auth_result r = lt_sigv4_parse(&req->sig, &req->auth, err);
    if (r != LT_AUTH_OK) return r;
    if (strcmp(req->auth.service, service) != 0) {
        lt_err_set(err, LT_EAUTH, "Credential should be scoped to correct service: '%s', not '%s'",
                   service, req->auth.service);
        return LT_AUTH_MALFORMED;
    }
    r = lt_sigv4_check_time(&req->auth, time(NULL), err);
    if (r != LT_AUTH_OK) return r;
    const lt_http_config *cfg = &req->server->cfg;
    lt_err lookup_err = {0};
    int rc = cfg->key_lookup(cfg->key_lookup_ctx, req->auth.access_key, req->secret,
                             sizeof req->secret, &lookup_err);
    if (rc == LT_ENOTFOUND) {
        lt_err_set(err, LT_EAUTH, "The security token included in the request is invalid: "
                                  "access key '%s' is not known to this server.",
                   req->auth.access_key);
        return LT_AUTH_UNKNOWN_KEY;
    }
    if (rc != 0) {
        lt_log_error("key lookup failed: %s", lookup_err.msg);
        lt_err_set(err, LT_EIO, "the key store could not be read: %s", lookup_err.msg);
        return LT_AUTH_UNKNOWN_KEY;
    }
    return LT_AUTH_OK;
}

lt_auth_result lt_http__auth_verify(lt_http__req *req, const char *payload_hash, lt_err *err)
{
    req->sig.payload_hash = payload_hash;
    char expected[65];
    lt_buf canonical;
    lt_buf_init(&canonical, 1 << 20);
    lt_err compute_err = {0};
    int rc = lt_sigv4_compute(&req->sig, &req->auth, req->secret, expected, &canonical,
                              &compute_err);
    lt_auth_result r = LT_AUTH_OK;
    if (rc != 0) {
        lt_err_set(err, LT_EAUTH, "%s", compute_err.msg);
        r = LT_AUTH_MALFORMED;
    } else if (!lt_ct_equal(expected, req->auth.signature, 64)) {
        lt_log_debug("signature mismatch; canonical request was:\n%s", canonical.data);
        lt_err_set(err, LT_EAUTH,
                   "The request signature we calculated does not match the signature you "
                   "provided. Check your AWS Secret Access Key and signing method.");
        r = LT_AUTH_BAD_SIGNATURE;
    }
    lt_buf_free(&canonical);
    return r;
}
