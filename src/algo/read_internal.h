/* Private to the algo readers: one parser per content type over a whole buffer, and the
 * checked allocation every input-sized buffer goes through. */
#ifndef LT_ALGO_READ_INTERNAL_H
#define LT_ALGO_READ_INTERNAL_H

#include "algo/algo.h"

#define LT_READ__DEFAULT_MAX ((size_t)8 << 30)

typedef struct lt_read__ctx {
    const char *source; /* never NULL */
    size_t max_bytes;   /* resolved: never 0 */
    size_t used_bytes;  /* what checked allocations have taken so far */
    int threads;        /* resolved: >= 1 */
    int label_size;     /* csv: 1 (label first) or 0; recordio: 0 ignores labels */
    bool csv_weights;   /* csv: the column after the label is the instance weight */
} lt_read__ctx;

/* Allocates count * size zeroed bytes unless that overflows or passes the context's
 * budget (LT_ELIMIT naming the source). */
int lt_read__alloc(lt_read__ctx *ctx, size_t count, size_t size, void **out, lt_err *err);

int lt_read__csv(const char *data, size_t len, lt_read__ctx *ctx, lt_dataset **out, lt_err *err);
int lt_read__libsvm(const char *data, size_t len, lt_read__ctx *ctx, lt_dataset **out,
                    lt_err *err);
int lt_read__recordio(const char *data, size_t len, lt_read__ctx *ctx, lt_dataset **out,
                      lt_err *err);
int lt_read__jsonl(const char *data, size_t len, lt_read__ctx *ctx, lt_dataset **out,
                   lt_err *err);

/* Parses one number field [s, e) strictly: empty or "nan" gives NaN. Returns false when
 * it is not a finite number. */
bool lt_read__number(const char *s, const char *e, float *out);

#endif
