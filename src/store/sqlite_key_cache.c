/* Access keys' secrets, cached in memory for the signature check of every request.
 *
 * Reading a secret from SQLite is a read transaction: file locks on the WAL index and a
 * statement step, about a seventh of the CPU a small signed request costs the server. The
 * keys change rarely, and often from another process (`lathe keys create|delete` beside a
 * running server), so the cache must see those changes on the very next request. Beside
 * the database a stamp file holds a 64-bit counter that every process using the store maps
 * shared: every key change increments it, before and after it commits. Reading it is a
 * load from memory, no system call (an fstat per request still cost 3% of the request);
 * the cache is used only while the counter equals the value it was filled under. The
 * increment before the commit empties caches filled just before; the one after empties
 * caches refilled from the old state while the change was committing. An in-memory
 * database (no file beside it) is seen only by this process, so a process-local
 * generation does the same. If the stamp cannot be mapped, nothing is cached.
 * Deleting the stamp by hand while a server runs hides later key changes from that
 * server until it restarts. */
#include "store/sqlite_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

enum { KEY_CACHE_MAX = 1024 };

static bool stamp_equal(const lt_store__key_stamp *a, const lt_store__key_stamp *b)
{
    return a->valid && b->valid && a->generation == b->generation && a->counter == b->counter;
}

/* Maps the stamp's counter, creating the file if it is missing. NULL if it cannot. */
static _Atomic uint64_t *stamp_map(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return NULL;
    struct stat st;
    void *map = MAP_FAILED;
    /* Extending to 8 bytes zero-fills; a concurrent opener extends to the same size. */
    if (fstat(fd, &st) == 0 && (st.st_size >= 8 || ftruncate(fd, 8) == 0))
        map = mmap(NULL, 8, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    return map == MAP_FAILED ? NULL : (_Atomic uint64_t *)map;
}

void lt_store__key_cache_init(lt_store__key_cache *kc, const char *db_path)
{
    memset(kc, 0, sizeof *kc);
    pthread_rwlock_init(&kc->lock, NULL);
    bool in_memory = db_path[0] == '\0' || strcmp(db_path, ":memory:") == 0 ||
                     strncmp(db_path, "file::memory:", 13) == 0;
    if (!in_memory) {
        kc->stamp_path = lt_xasprintf("%s-keys", db_path);
        kc->counter = stamp_map(kc->stamp_path);
    }
}

static void entries_clear(lt_store__key_cache *kc)
{
    for (size_t i = 0; i < kc->n; i++) {
        free(kc->entries[i].id);
        explicit_bzero(kc->entries[i].secret, strlen(kc->entries[i].secret));
        free(kc->entries[i].secret);
    }
    kc->n = 0;
}

void lt_store__key_cache_destroy(lt_store__key_cache *kc)
{
    entries_clear(kc);
    free(kc->entries);
    free(kc->stamp_path);
    if (kc->counter) munmap((void *)kc->counter, 8);
    pthread_rwlock_destroy(&kc->lock);
}

/* The stamp now; not valid (so equal to nothing: no caching) if the counter is not mapped. */
static void stamp_read(const lt_store__key_cache *kc, lt_store__key_stamp *out)
{
    out->generation = atomic_load(&kc->generation);
    out->valid = !kc->stamp_path || kc->counter;
    out->counter = kc->counter ? atomic_load(kc->counter) : 0;
}

int lt_store__key_cache_get(lt_store__key_cache *kc, const char *id, char *secret, size_t cap,
                            lt_store__key_stamp *stamp)
{
    stamp_read(kc, stamp);
    if (!stamp->valid) return 0;
    int found = 0;
    pthread_rwlock_rdlock(&kc->lock);
    if (stamp_equal(&kc->filled_under, stamp)) {
        for (size_t i = 0; i < kc->n; i++) {
            if (strcmp(kc->entries[i].id, id) != 0) continue;
            size_t n = strlen(kc->entries[i].secret);
            if (n < cap) {
                memcpy(secret, kc->entries[i].secret, n + 1);
                found = 1;
            }
            break;
        }
    }
    pthread_rwlock_unlock(&kc->lock);
    return found;
}

void lt_store__key_cache_put(lt_store__key_cache *kc, const lt_store__key_stamp *stamp,
                             const char *id, const char *secret)
{
    if (!stamp->valid) return;
    pthread_rwlock_wrlock(&kc->lock);
    if (!stamp_equal(&kc->filled_under, stamp)) {
        /* The keys changed since the cache was filled (or it never was): start over under
         * the stamp this secret was read under. A secret read under an older stamp than
         * the cache's is dropped by the same test on the next lookup. */
        entries_clear(kc);
        kc->filled_under = *stamp;
    }
    if (kc->n == KEY_CACHE_MAX) entries_clear(kc);
    if (kc->n == kc->cap) {
        kc->cap = kc->cap ? kc->cap * 2 : 8;
        kc->entries = lt_xrealloc(kc->entries, kc->cap * sizeof *kc->entries);
    }
    kc->entries[kc->n].id = lt_xstrdup(id);
    kc->entries[kc->n].secret = lt_xstrdup(secret);
    kc->n++;
    pthread_rwlock_unlock(&kc->lock);
}

int lt_store__key_cache_announce(lt_store__key_cache *kc, lt_err *err)
{
    atomic_fetch_add(&kc->generation, 1);
    if (!kc->stamp_path) return 0;
    if (kc->counter) {
        atomic_fetch_add(kc->counter, 1);
        return 0;
    }
    _Atomic uint64_t *counter = stamp_map(kc->stamp_path);
    if (!counter)
        return lt_err_set(err, LT_EIO, "store: cannot announce a key change in %s: %s",
                          kc->stamp_path, strerror(errno));
    atomic_fetch_add(counter, 1);
    munmap((void *)counter, 8);
    return 0;
}
