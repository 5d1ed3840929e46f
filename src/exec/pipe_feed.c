/* Pipe mode: a FIFO per pass over a channel (/opt/ml/input/data/<channel>_0, _1, ...),
 * streamed from the object store by one thread per channel and host. The next pass's FIFO
 * is made before the current one reaches EOF, so an algorithm that finishes a pass can
 * open the next at once (SageMaker's containers probe for <channel>_0 to detect Pipe
 * mode). RecordWrapperType=RecordIO wraps each object in a RecordIO record; ShuffleConfig
 * shuffles the object order of every pass with its seed; CompressionType=Gzip inflates each
 * object on the way (Pipe mode is the only one that decompresses, as with SageMaker). */
#include "exec/job_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

struct lt_exec_feeder {
    pthread_t thread;
    lt_blob *blob;
    char *bucket;
    char **keys;
    size_t n_keys;
    char *base; /* FIFO path without the _<epoch> suffix */
    bool recordio;
    bool gzip; /* CompressionType=Gzip: objects are inflated into the FIFO */
    bool shuffle;
    uint64_t seed;
    atomic_bool stop;
    char current[4096];
    pthread_mutex_t lock; /* guards current */
};

typedef struct key_list {
    char **keys;
    size_t n, cap;
} key_list;

static int add_key(void *ctx, const lt_blob_object *obj, lt_err *err)
{
    (void)err;
    key_list *l = ctx;
    if (lt_str_ends_with(obj->key, "/")) return 0;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->keys = lt_xrealloc(l->keys, l->cap * sizeof *l->keys);
    }
    l->keys[l->n++] = lt_xstrdup(obj->key);
    return 0;
}

static bool write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* A gzip object (or several concatenated gzip members) inflated into the FIFO. */
static bool inflate_object(int in, int out, const char *key, const char *fifo)
{
    z_stream z = {0};
    if (inflateInit2(&z, 15 + 32) != Z_OK) return false; /* gzip or zlib header */
    unsigned char src[1 << 16], dst[1 << 17];
    bool ok = true;
    int zrc = Z_OK;
    ssize_t n;
    while (ok && (n = read(in, src, sizeof src)) > 0) {
        z.next_in = src;
        z.avail_in = (uInt)n;
        while (ok && z.avail_in > 0) {
            z.next_out = dst;
            z.avail_out = sizeof dst;
            zrc = inflate(&z, Z_NO_FLUSH);
            if (zrc != Z_OK && zrc != Z_STREAM_END && zrc != Z_BUF_ERROR) {
                lt_log_warn("pipe %s: %s is not valid gzip (%s)", fifo, key, z.msg ? z.msg : "?");
                ok = false;
                break;
            }
            ok = write_all(out, dst, sizeof dst - z.avail_out);
            if (zrc == Z_STREAM_END && z.avail_in > 0) inflateReset(&z); /* next member */
        }
    }
    inflateEnd(&z);
    return ok;
}

/* One object into the FIFO. false when the reader went away (EPIPE) or on a read error. */
static bool stream_object(lt_exec_feeder *f, const char *key, int out)
{
    int in = -1;
    lt_blob_object obj = {0};
    lt_err err = {0};
    if (lt_blob_object_open(f->blob, f->bucket, key, &in, &obj, &err) != 0) {
        lt_log_warn("pipe %s: %s", f->base, err.msg);
        return false;
    }
    bool ok = true;
    if (f->recordio && !f->gzip) {
        /* RecordIO: magic, then length (29 bits; the top 3 bits 0 = a whole record). */
        uint32_t header[2] = {0xced7230aU, (uint32_t)obj.size & 0x1fffffffU};
        ok = write_all(out, header, sizeof header);
    }
    if (f->gzip) {
        ok = ok && inflate_object(in, out, key, f->base);
        close(in);
        lt_blob_object_clear(&obj);
        return ok;
    }
    char buf[1 << 16];
    ssize_t n;
    while (ok && (n = read(in, buf, sizeof buf)) > 0) ok = write_all(out, buf, (size_t)n);
    if (ok && f->recordio && obj.size % 4) {
        static const char pad[4] = {0};
        ok = write_all(out, pad, 4 - obj.size % 4);
    }
    close(in);
    lt_blob_object_clear(&obj);
    return ok;
}

static void shuffle(lt_exec_feeder *f, size_t *order, int epoch)
{
    uint64_t s = f->seed * 6364136223846793005ULL + (uint64_t)epoch * 1442695040888963407ULL + 1;
    for (size_t i = f->n_keys; i > 1; i--) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        size_t j = (size_t)(s % i);
        size_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
}

static void set_current(lt_exec_feeder *f, int epoch)
{
    pthread_mutex_lock(&f->lock);
    snprintf(f->current, sizeof f->current, "%s_%d", f->base, epoch);
    pthread_mutex_unlock(&f->lock);
}

static void *feed(void *arg)
{
    lt_exec_feeder *f = arg;
    size_t *order = lt_xcalloc(f->n_keys + 1, sizeof *order);
    for (int epoch = 0; !atomic_load(&f->stop); epoch++) {
        set_current(f, epoch);
        int fd = open(f->current, O_WRONLY | O_CLOEXEC); /* waits for the reader */
        if (fd < 0) {
            if (errno == EINTR) {
                epoch--;
                continue;
            }
            break;
        }
        if (atomic_load(&f->stop)) {
            close(fd);
            break;
        }
        char next[4096];
        snprintf(next, sizeof next, "%s_%d", f->base, epoch + 1);
        if (mkfifo(next, 0644) != 0 && errno != EEXIST) lt_log_warn("mkfifo %s failed", next);
        for (size_t i = 0; i < f->n_keys; i++) order[i] = i;
        if (f->shuffle) shuffle(f, order, epoch);
        for (size_t i = 0; i < f->n_keys && !atomic_load(&f->stop); i++)
            if (!stream_object(f, f->keys[order[i]], fd)) break;
        close(fd);
    }
    free(order);
    return NULL;
}

int lt_exec__feeder_start(lt_exec_job *job, const lt_exec_host *h, const json_t *channel,
                          const char *fifo_base, lt_err *err)
{
    json_t *s3 = json_object_get(json_object_get(channel, "DataSource"), "S3DataSource");
    const char *dist = lt_json_str(s3, "S3DataDistributionType");
    const char *type = lt_json_str(s3, "S3DataType");
    if (type && strcmp(type, "S3Prefix") != 0)
        return lt_err_set(err, LT_EINVAL,
                          "ClientError: Pipe mode reads S3Prefix channels only (channel '%s').",
                          lt_json_str(channel, "ChannelName"));
    key_list all = {0};
    lt_exec_feeder *f = lt_xcalloc(1, sizeof *f);
    char *key = NULL;
    int rc = lt_blob_uri_parse(lt_json_str(s3, "S3Uri"), &f->bucket, &key, err);
    if (!rc) rc = lt_blob_uri_list(job->blob, lt_json_str(s3, "S3Uri"), add_key, &all, err);
    free(key);
    bool sharded = dist && strcmp(dist, "ShardedByS3Key") == 0;
    f->keys = lt_xcalloc(all.n + 1, sizeof *f->keys);
    for (size_t i = 0; i < all.n; i++) {
        if (sharded && (int)(i % (size_t)job->n_hosts) != h->index - 1) free(all.keys[i]);
        else f->keys[f->n_keys++] = all.keys[i];
    }
    free(all.keys);
    f->blob = job->blob;
    f->base = lt_xstrdup(fifo_base);
    const char *wrapper = lt_json_str(channel, "RecordWrapperType");
    f->recordio = wrapper && strcmp(wrapper, "RecordIO") == 0;
    const char *compression = lt_json_str(channel, "CompressionType");
    f->gzip = compression && strcmp(compression, "Gzip") == 0;
    json_t *shuffle_cfg = json_object_get(channel, "ShuffleConfig");
    f->shuffle = shuffle_cfg != NULL;
    f->seed = (uint64_t)lt_json_int(shuffle_cfg, "Seed", 0);
    pthread_mutex_init(&f->lock, NULL);
    char first[4096];
    snprintf(first, sizeof first, "%s_0", fifo_base);
    if (!rc && mkfifo(first, 0644) != 0 && errno != EEXIST)
        rc = lt_err_set(err, LT_EIO, "cannot make the FIFO %s: %s", first, strerror(errno));
    if (!rc && pthread_create(&f->thread, NULL, feed, f) != 0)
        rc = lt_err_set(err, LT_ENOMEM, "cannot start a Pipe-mode thread");
    if (rc) {
        for (size_t i = 0; i < f->n_keys; i++) free(f->keys[i]);
        free(f->keys);
        free(f->bucket);
        free(f->base);
        pthread_mutex_destroy(&f->lock);
        free(f);
        return rc;
    }
    job->feeders = lt_xrealloc(job->feeders, (job->n_feeders + 1) * sizeof *job->feeders);
    job->feeders[job->n_feeders++] = f;
    return 0;
}

void lt_exec__feeders_stop(lt_exec_job *job)
{
    for (size_t i = 0; i < job->n_feeders; i++) {
        lt_exec_feeder *f = job->feeders[i];
        atomic_store(&f->stop, true);
        /* A writer blocked in open() waits for a reader: be that reader until it has
         * seen the stop (again if it moved on to the next pass meanwhile). */
        for (;;) {
            pthread_mutex_lock(&f->lock);
            int fd = open(f->current, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
            pthread_mutex_unlock(&f->lock);
            struct timespec deadline;
            clock_gettime(CLOCK_REALTIME, &deadline);
            deadline.tv_nsec += 50 * 1000 * 1000;
            if (deadline.tv_nsec >= 1000000000L) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000L;
            }
            int joined = pthread_timedjoin_np(f->thread, NULL, &deadline);
            if (fd >= 0) close(fd);
            if (joined == 0) break;
        }
        for (size_t k = 0; k < f->n_keys; k++) free(f->keys[k]);
        free(f->keys);
        free(f->bucket);
        free(f->base);
        pthread_mutex_destroy(&f->lock);
        free(f);
    }
    free(job->feeders);
    job->feeders = NULL;
    job->n_feeders = 0;
}
