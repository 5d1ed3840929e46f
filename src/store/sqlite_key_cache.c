/* Access keys' secrets, cached in memory for the signature check of every request.
 *
 * Reading a secret from SQLite is a read transaction: file locks on the WAL index and a
 * statement step, about a seventh of the CPU a small signed request costs the server. The
 * keys change rarely, and often from another process (`lathe keys create|delete` beside a
 * running server), so the cache must see those changes on the very next request without
 * asking SQLite. Every change appends one byte to a stamp file beside the database,
 * before and after it commits: the file only grows, so its (device, inode, size) differs
 * from any value seen before the change. A lookup stats the stamp (one syscall) and uses
 * the cache only while it equals the stamp the cache was filled under. The append before
 * the commit empties caches filled just before; the one after empties caches refilled
 * from the old state while the change was committing. An in-memory database (no file
 * beside it) is seen only by this process, so a process-local generation does the same. */
#include "store/sqlite_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { KEY_CACHE_MAX = 1024 };

static bool stamp_equal(const lt_store__key_stamp *a, const lt_store__key_stamp *b)
{
    return a->valid && b->valid && a->generation == b->generation && a->exists == b->exists &&
           a->dev == b->dev && a->ino == b->ino && a->size == b->size;
}

void lt_store__key_cache_init(lt_store__key_cache *kc, const char *db_path)
{
    memset(kc, 0, sizeof *kc);
    pthread_rwlock_init(&kc->lock, NULL);
    bool in_memory = db_path[0] == '\0' || strcmp(db_path, ":memory:") == 0 ||
                     strncmp(db_path, "file::memory:", 13) == 0;
    if (!in_memory) kc->stamp_path = lt_xasprintf("%s-keys", db_path);
    atomic_init(&kc->stamp_fd, -1);
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
    int fd = atomic_load(&kc->stamp_fd);
    if (fd >= 0) close(fd);
    pthread_rwlock_destroy(&kc->lock);
}

/* The stamp now. Not valid (and so never equal to anything) if the stamp cannot be read:
 * the caller then goes to SQLite, as without a cache. The file is only ever appended to,
 * so an open descriptor follows it with fstat, without the path walk of a stat; a stamp
 * that was unlinked or replaced (its link count drops to 0) is opened again by name. */
static void stamp_read(lt_store__key_cache *kc, lt_store__key_stamp *out)
{
    memset(out, 0, sizeof *out);
    out->generation = atomic_load(&kc->generation);
    out->valid = true;
    if (!kc->stamp_path) return;
    struct stat st;
    int fd = atomic_load(&kc->stamp_fd);
    if (fd >= 0 && fstat(fd, &st) == 0 && st.st_nlink > 0) {
        out->exists = true;
        out->dev = st.st_dev;
        out->ino = st.st_ino;
        out->size = st.st_size;
        return;
    }
    int fresh = open(kc->stamp_path, O_RDONLY | O_CLOEXEC);
    if (fresh >= 0 && fstat(fresh, &st) == 0) {
        out->exists = true;
        out->dev = st.st_dev;
        out->ino = st.st_ino;
        out->size = st.st_size;
        int old = atomic_exchange(&kc->stamp_fd, fresh);
        /* Another thread may still fstat the old descriptor: it is leaked, not closed, so
         * its number is never reused under that thread. This happens only when the stamp
         * file is first created or replaced by hand. */
        (void)old;
        return;
    }
    if (fresh >= 0) close(fresh);
    if (errno != ENOENT) out->valid = false;
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
    int fd = open(kc->stamp_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return lt_err_set(err, LT_EIO, "store: cannot announce a key change in %s: %s",
                          kc->stamp_path, strerror(errno));
    ssize_t n = write(fd, "k", 1);
    int saved = errno;
    close(fd);
    if (n != 1)
        return lt_err_set(err, LT_EIO, "store: cannot announce a key change in %s: %s",
                          kc->stamp_path, strerror(saved));
    return 0;
}
