/* Traffic shifting for UpdateEndpoint's DeploymentConfig (BlueGreenUpdatePolicy): once the
 * new fleet is in service, CANARY sends it CanarySize of the calls for WaitIntervalInSeconds
 * and then all of them; LINEAR adds LinearStepSize every WaitIntervalInSeconds. The old
 * fleet serves the rest meanwhile (a call goes to one fleet or the other, drawn per call),
 * and the endpoint stays Updating until the new fleet has every call. ALL_AT_ONCE, or no
 * DeploymentConfig, switches at once (serve.c). There are no CloudWatch alarms, so nothing
 * rolls a shift back once it started; a new fleet that fails to load never gets a call. */
#include "serve/serve_internal.h"

#include <string.h>

/* A CapacitySize as a share of the new fleet's calls, in 1..1000. */
static int share_permille(const json_t *size, const lt_serve_set *set)
{
    const char *type = lt_json_str(size, "Type");
    int64_t value = lt_json_int(size, "Value", 0);
    int64_t permille = 1000;
    if (type && strcmp(type, "CAPACITY_PERCENT") == 0) {
        permille = value * 10;
    } else if (type && strcmp(type, "INSTANCE_COUNT") == 0) {
        int64_t instances = 0;
        for (size_t i = 0; i < set->n; i++)
            instances += set->variants[i].serverless ? 1 : set->variants[i].instances;
        permille = instances > 0 ? value * 1000 / instances : 1000;
    }
    return permille < 1 ? 1 : permille > 1000 ? 1000 : (int)permille;
}

void lt_serve__traffic_plan(const json_t *endpoint_doc, const lt_serve_set *set,
                            lt_serve__traffic *out)
{
    *out = (lt_serve__traffic){0};
    if (!json_is_true(json_object_get(endpoint_doc, "PendingTrafficShift"))) return;
    const json_t *routing = json_object_get(
        json_object_get(json_object_get(endpoint_doc, "LastDeploymentConfig"), "BlueGreenUpdatePolicy"),
        "TrafficRoutingConfiguration");
    const char *type = lt_json_str(routing, "Type");
    out->wait_s = (int)lt_json_int(routing, "WaitIntervalInSeconds", 0);
    if (type && strcmp(type, "CANARY") == 0) {
        out->first_permille = share_permille(json_object_get(routing, "CanarySize"), set);
        out->step_permille = 1000;
        out->type = "CANARY";
    } else if (type && strcmp(type, "LINEAR") == 0) {
        out->first_permille = share_permille(json_object_get(routing, "LinearStepSize"), set);
        out->step_permille = out->first_permille;
        out->type = "LINEAR";
    } else {
        return;
    }
    out->shifting = out->first_permille < 1000;
}

void lt_serve__shift(lt_serve *s, const char *endpoint, lt_serve_set *set,
                     const lt_serve__traffic *plan)
{
    int permille = plan->first_permille;
    if (!lt_serve__shift_begin(s, endpoint, set, permille)) { /* nothing serves it now */
        lt_serve__set_release(set);
        return;
    }
    lt_log_info("endpoint %s: %s update: %.1f%% of calls to the new fleet", endpoint, plan->type,
                permille / 10.0);
    bool cut = false;
    while (permille < 1000 && !cut) {
        cut = lt_serve__wait_interrupted(s, endpoint, (int64_t)plan->wait_s * 1000);
        permille = cut || permille + plan->step_permille > 1000 ? 1000 : permille + plan->step_permille;
        lt_serve__shift_to(s, endpoint, permille);
        if (!cut) lt_log_info("endpoint %s: %.1f%% of calls to the new fleet", endpoint, permille / 10.0);
    }
    lt_serve__shift_end(s, endpoint);
    /* Closing: the endpoint stays Updating, and the next start loads the new fleet. */
    if (atomic_load(&s->stopping)) return;
    lt_err err = {0};
    if (lt_serve__record_serving(s, endpoint, set, &err) != 0 && err.code != LT_ENOTFOUND)
        lt_log_warn("endpoint %s: %s", endpoint, err.msg);
}
