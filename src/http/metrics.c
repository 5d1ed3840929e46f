/* Request metrics in the Prometheus text exposition format (version 0.0.4). */
#include "http/http_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Seconds; chosen to separate the in-memory fast path (sub-millisecond) from disk work. */
static const double bucket_bounds[LT_HTTP__LATENCY_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30};

void lt_http__metrics_init(lt_http__metrics *m)
{
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->lock, NULL);
}

void lt_http__metrics_destroy(lt_http__metrics *m)
{
    pthread_mutex_destroy(&m->lock);
}

static uint32_t slot_hash(const char *op, int status)
{
    uint32_t h = 2166136261u;
    for (const char *p = op; *p; p++) h = (h ^ (uint8_t)*p) * 16777619u;
    return (h ^ (uint32_t)status) * 16777619u;
}

void lt_http__metrics_record(lt_http__metrics *m, const char *op, int status, int64_t elapsed_ns)
{
    double secs = (double)elapsed_ns / 1e9;
    size_t b = 0;
    while (b < LT_HTTP__LATENCY_BUCKETS && secs > bucket_bounds[b]) b++;
    atomic_fetch_add_explicit(&m->latency_buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->latency_count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->latency_sum_ns, (uint64_t)(elapsed_ns > 0 ? elapsed_ns : 0),
                              memory_order_relaxed);

    if (strlen(op) >= sizeof m->slots[0].op) op = "other";
    pthread_mutex_lock(&m->lock);
    uint32_t h = slot_hash(op, status);
    for (size_t probe = 0; probe < LT_HTTP__METRIC_SLOTS; probe++) {
        size_t i = (h + probe) % LT_HTTP__METRIC_SLOTS;
        if (m->slots[i].count == 0) {
            memcpy(m->slots[i].op, op, strlen(op) + 1);
            m->slots[i].status = status;
        }
        if (m->slots[i].status == status && strcmp(m->slots[i].op, op) == 0) {
            m->slots[i].count++;
            break;
        }
    }
    pthread_mutex_unlock(&m->lock);
}

char *lt_http__metrics_render(lt_http__metrics *m)
{
    lt_buf out;
    lt_buf_init(&out, 1 << 22);
    lt_buf_puts(&out,
                "# HELP lathe_requests_total Requests served, by operation and HTTP status.\n"
                "# TYPE lathe_requests_total counter\n",
                NULL);
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < LT_HTTP__METRIC_SLOTS; i++)
        if (m->slots[i].count)
            lt_buf_printf(&out, NULL, "lathe_requests_total{operation=\"%s\",status=\"%d\"} %llu\n",
                          m->slots[i].op, m->slots[i].status,
                          (unsigned long long)m->slots[i].count);
    pthread_mutex_unlock(&m->lock);
    lt_buf_puts(&out,
                "# HELP lathe_request_duration_seconds Time from the first byte of a request to "
                "the last byte of its answer.\n"
                "# TYPE lathe_request_duration_seconds histogram\n",
                NULL);
    uint64_t cumulative = 0;
    for (size_t b = 0; b <= LT_HTTP__LATENCY_BUCKETS; b++) {
        cumulative += atomic_load(&m->latency_buckets[b]);
        if (b < LT_HTTP__LATENCY_BUCKETS)
            lt_buf_printf(&out, NULL, "lathe_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                          bucket_bounds[b], (unsigned long long)cumulative);
        else
            lt_buf_printf(&out, NULL, "lathe_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                          (unsigned long long)cumulative);
    }
    lt_buf_printf(&out, NULL, "lathe_request_duration_seconds_sum %.6f\n",
                  (double)atomic_load(&m->latency_sum_ns) / 1e9);
    lt_buf_printf(&out, NULL, "lathe_request_duration_seconds_count %llu\n",
                  (unsigned long long)atomic_load(&m->latency_count));
    return lt_buf_take(&out);
}
