/* Private to the http module: request metrics shared by server.c and metrics.c. */
#ifndef LT_HTTP_INTERNAL_H
#define LT_HTTP_INTERNAL_H

#include "http/http.h"

#include <pthread.h>
#include <stdatomic.h>

enum { LT_HTTP__METRIC_SLOTS = 1024, LT_HTTP__LATENCY_BUCKETS = 14 };

/* Counters by (operation, status) in a fixed open-addressing table: operations come from
 * a bounded set (the service model's and S3's), and anything past the table's size is
 * counted under "other". The latency histogram is lock-free. */
typedef struct lt_http__metrics {
    pthread_mutex_t lock;
    struct {
        char op[64];
        int status;
        uint64_t count;
    } slots[LT_HTTP__METRIC_SLOTS];
    _Atomic uint64_t latency_buckets[LT_HTTP__LATENCY_BUCKETS + 1]; /* last is +Inf */
    _Atomic uint64_t latency_count;
    _Atomic uint64_t latency_sum_ns;
} lt_http__metrics;

void lt_http__metrics_init(lt_http__metrics *m);
void lt_http__metrics_destroy(lt_http__metrics *m);
void lt_http__metrics_record(lt_http__metrics *m, const char *op, int status, int64_t elapsed_ns);
/* Prometheus text exposition format 0.0.4; caller frees. */
char *lt_http__metrics_render(lt_http__metrics *m);

#endif
