/*
 * blob: the object store — buckets of immutable objects named by arbitrary keys.
 *
 * What it is for: the bytes of Lathe (datasets, model.tar.gz, job outputs), served over
 * the S3-compatible API (src/s3) and used directly by other modules through the URI
 * helpers ("s3://bucket/key"). The embedded back end keeps everything under one root:
 *
 *   ROOT/index.db        SQLite (WAL, synchronous=FULL): buckets, objects, uploads, parts
 *   ROOT/data/XX/ID      one immutable content file per object or part (XX = ID[0..1])
 *   ROOT/tmp/ID          files being written; also the intent journal for recovery
 *
 * Invariants:
 *  - Keys are arbitrary UTF-8 up to LT_BLOB_KEY_MAX bytes ("a" and "a/b" may both exist,
 *    "dir/" is a key); they are never mapped onto file paths. Listing is in byte order.
 *  - A write is all or nothing. Bytes stream into tmp/ID, are fdatasync'ed, hard-linked
 *    into data/, the directory is fsync'ed, and only then does one index transaction make
 *    the object visible; tmp/ID is removed last. A crash (kill -9) at any point leaves the
 *    old object or the new one, never a partial one; lt_blob_open finishes or undoes what
 *    tmp/ still holds, and removes the files that committed transactions dropped.
 *  - Content files are never modified once published, only unlinked after the index
 *    commit that stops referencing them, so a reader's open fd stays consistent with the
 *    metadata it was opened with, even while the key is overwritten or deleted.
 *
 * Thread safety: one lt_blob is shared by all threads. SQLite connections come from a
 * pool (one per concurrent caller, reused), so readers never wait on a writer's commit;
 * index writes are serialised by one mutex in-process (and SQLite's lock across
 * processes) and hold it only for the short index transaction, never while data is
 * written or synced. A writer or a listing result belongs to one thread at a time.
 *
 * Errors: every function returning int gives 0 or a negative LT_E* code and fills err:
 * LT_EINVAL (bad name, key, part number, argument), LT_ENOTFOUND (no such bucket, key or
 * upload: the message says which), LT_ECONFLICT (bucket exists, bucket not empty),
 * LT_ELIMIT (a size limit), LT_EIO (the disk or the index failed; nothing half-done is
 * visible and nothing already stored is lost).
 *
 * Ownership: structs returned through out-parameters own their strings; release them
 * with the matching _clear/_free function. Input strings are borrowed for the call.
 */
#ifndef LT_BLOB_H
#define LT_BLOB_H

#include "base/base.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    LT_BLOB_KEY_MAX = 1024,          /* bytes of a key */
    LT_BLOB_BUCKET_MAX = 63,         /* bytes of a bucket name */
    LT_BLOB_ETAG_SIZE = 48,          /* "32 hex" or "32 hex-N", NUL-terminated */
    LT_BLOB_UPLOAD_ID_SIZE = 33,     /* 32 hex characters + NUL */
    LT_BLOB_PART_NUMBER_MAX = 10000, /* part numbers are 1..10000 */
};
#define LT_BLOB_MIN_PART_BYTES ((uint64_t)5 << 20) /* every part but the last */

typedef struct lt_blob lt_blob;

/* Opens (creating if needed) the store under root, recovering from any interrupted
 * write. Several processes may open the same root; recovery runs only in the first.
 * LT_EIO if the directory or the index cannot be used. Close with lt_blob_close. */
int lt_blob_open(lt_blob **out, const char *root, lt_err *err);
/* Every writer must have been committed or aborted first. */
void lt_blob_close(lt_blob *blob);

/* ---- buckets ------------------------------------------------------------------------ */

typedef struct lt_blob_bucket {
    char name[LT_BLOB_BUCKET_MAX + 1];
    int64_t created_ms;
} lt_blob_bucket;

/* S3's bucket naming rules: 3..63 bytes of [a-z0-9.-], starting and ending with a letter
 * or digit, no "..", not an IPv4 address, no "xn--" prefix or "-s3alias" suffix.
 * LT_EINVAL naming the broken rule. */
int lt_blob_bucket_name_check(const char *name, lt_err *err);
/* LT_EINVAL for a bad name, LT_ECONFLICT if it exists. */
int lt_blob_bucket_create(lt_blob *blob, const char *name, lt_err *err);
/* LT_ENOTFOUND if absent; out may be NULL. */
int lt_blob_bucket_head(lt_blob *blob, const char *name, lt_blob_bucket *out, lt_err *err);
/* LT_ENOTFOUND, or LT_ECONFLICT while objects remain. Aborts the bucket's uploads. */
int lt_blob_bucket_delete(lt_blob *blob, const char *name, lt_err *err);
/* All buckets by name; *out is a new array (caller frees with free()), *n its length. */
int lt_blob_bucket_list(lt_blob *blob, lt_blob_bucket **out, size_t *n, lt_err *err);

/* ---- objects ------------------------------------------------------------------------ */

typedef struct lt_blob_object {
    char *key;
    uint64_t size;
    char etag[LT_BLOB_ETAG_SIZE]; /* unquoted: MD5 hex, or "hex-N" after multipart */
    int64_t last_modified_ms;
    char *content_type;  /* NULL when none was given */
    char *metadata_json; /* user metadata, a JSON object of strings; NULL when none */
} lt_blob_object;

/* Frees the strings of obj and zeroes it (safe on a zeroed struct). */
void lt_blob_object_clear(lt_blob_object *obj);

/* Stored with an object at write time. Both fields may be NULL. metadata_json must be a
 * JSON object whose values are strings (LT_EINVAL otherwise). */
typedef struct lt_blob_put_opts {
    const char *content_type;
    const char *metadata_json;
} lt_blob_put_opts;

/* The object's metadata. LT_ENOTFOUND names the bucket or the key. */
int lt_blob_object_stat(lt_blob *blob, const char *bucket, const char *key, lt_blob_object *out,
                        lt_err *err);
/* Opens the object for reading: *fd (O_RDONLY, close-on-exec; the caller closes it)
 * holds exactly the bytes that out describes. */
int lt_blob_object_open(lt_blob *blob, const char *bucket, const char *key, int *fd,
                        lt_blob_object *out, lt_err *err);
/* Removes a key; a missing key is not an error, a missing bucket is LT_ENOTFOUND. */
int lt_blob_object_delete(lt_blob *blob, const char *bucket, const char *key, lt_err *err);
/* Removes n keys in one index transaction (all or none); missing keys are ignored. */
int lt_blob_object_delete_many(lt_blob *blob, const char *bucket, const char *const *keys, size_t n,
                               lt_err *err);
/* Copies an object (a hard link of the immutable content where the file system allows,
 * else copy_file_range). replace == NULL keeps the source's content type and metadata.
 * The copy keeps the source's ETag. out (may be NULL) describes the new object. */
int lt_blob_object_copy(lt_blob *blob, const char *src_bucket, const char *src_key,
                        const char *dst_bucket, const char *dst_key,
                        const lt_blob_put_opts *replace, lt_blob_object *out, lt_err *err);

/* ---- streaming writer --------------------------------------------------------------- */

/* Writes one object (or one multipart part) as a stream. Big objects are written with
 * large writes, MD5 is computed as the bytes arrive (on a helper thread past a few MiB,
 * so hashing overlaps the copying), and writeback starts every 8 MiB so the final
 * fdatasync is short. Nothing is visible until lt_blob_writer_commit succeeds. */
typedef struct lt_blob_writer lt_blob_writer;

/* Starts writing bucket/key. LT_ENOTFOUND if the bucket does not exist, LT_EINVAL for a
 * bad key (empty or over LT_BLOB_KEY_MAX) or bad opts. opts may be NULL. */
int lt_blob_writer_open(lt_blob *blob, const char *bucket, const char *key,
                        const lt_blob_put_opts *opts, lt_blob_writer **out, lt_err *err);
/* Appends len bytes. After an error the writer can only be aborted. */
int lt_blob_writer_write(lt_blob_writer *w, const void *data, size_t len, lt_err *err);
/* Bytes written so far. */
uint64_t lt_blob_writer_size(const lt_blob_writer *w);
/* Finishes hashing and gives the MD5 of everything written (to check a client's
 * Content-MD5 before publishing). No more writes are accepted afterwards. */
int lt_blob_writer_md5(lt_blob_writer *w, uint8_t out[16], lt_err *err);
/* Syncs and publishes the object atomically, replacing any previous one. Always
 * consumes w. out (may be NULL) describes what was stored. On failure nothing changed. */
int lt_blob_writer_commit(lt_blob_writer *w, lt_blob_object *out, lt_err *err);
/* Discards the stream; consumes w (NULL is fine). */
void lt_blob_writer_abort(lt_blob_writer *w);

/* ---- listing ------------------------------------------------------------------------ */

typedef struct lt_blob_list_params {
    const char *prefix;      /* only keys starting with it; NULL or "" for all */
    const char *delimiter;   /* roll keys up to common prefixes at it; NULL or "" for none */
    const char *start_after; /* entries strictly after it; when it is itself a common
                              * prefix of this listing, that whole group is skipped */
    size_t max_keys;         /* entries (objects + common prefixes) per page */
} lt_blob_list_params;

typedef struct lt_blob_list_result {
    lt_blob_object *objects; /* in key order */
    size_t n_objects;
    char **prefixes; /* common prefixes, in order, each ending with the delimiter */
    size_t n_prefixes;
    bool truncated;         /* more entries follow */
    char *next_start_after; /* when truncated: the last entry returned (key or prefix) */
} lt_blob_list_result;

/* One page of a listing, answered by range queries on the index (never a scan of the
 * bucket): each common prefix costs one seek past its group. LT_ENOTFOUND for no bucket.
 * Free the result with lt_blob_list_result_free. */
int lt_blob_list(lt_blob *blob, const char *bucket, const lt_blob_list_params *params,
                 lt_blob_list_result *out, lt_err *err);
void lt_blob_list_result_free(lt_blob_list_result *res);

/* ---- multipart uploads --------------------------------------------------------------- */

typedef struct lt_blob_upload {
    char id[LT_BLOB_UPLOAD_ID_SIZE];
    char *key;
    int64_t initiated_ms;
} lt_blob_upload;

typedef struct lt_blob_part {
    int number;
    uint64_t size;
    char etag[LT_BLOB_ETAG_SIZE]; /* MD5 hex of the part */
    int64_t last_modified_ms;
} lt_blob_part;

/* One entry of a Complete request: part number and the ETag the client was given
 * (surrounding quotes allowed). */
typedef struct lt_blob_part_ref {
    int number;
    const char *etag;
} lt_blob_part_ref;

/* Why lt_blob_upload_complete refused the part list (S3's three error codes). */
typedef enum {
    LT_BLOB_COMPLETE_OK = 0,
    LT_BLOB_COMPLETE_INVALID_PART,  /* a part is missing or its ETag differs */
    LT_BLOB_COMPLETE_INVALID_ORDER, /* part numbers are not strictly ascending */
    LT_BLOB_COMPLETE_TOO_SMALL,     /* a part other than the last is < 5 MiB */
} lt_blob_complete_fault;

/* Starts an upload; id receives its id. opts (may be NULL) are stored with the object
 * when the upload completes. LT_ENOTFOUND for no bucket, LT_EINVAL for a bad key. */
int lt_blob_upload_create(lt_blob *blob, const char *bucket, const char *key,
                          const lt_blob_put_opts *opts, char id[LT_BLOB_UPLOAD_ID_SIZE],
                          lt_err *err);
/* A writer for one part (1..LT_BLOB_PART_NUMBER_MAX); committing it replaces an earlier
 * part of that number. Its lt_blob_object out gives the part's size and ETag.
 * LT_ENOTFOUND if the upload is unknown or belongs to another bucket/key. */
int lt_blob_part_writer_open(lt_blob *blob, const char *bucket, const char *key,
                             const char *upload_id, int part_number, lt_blob_writer **out,
                             lt_err *err);
/* Checks the part list against the stored parts and publishes the object: the parts
 * concatenated (copy_file_range), ETag = MD5 of the parts' binary MD5s + "-N". Parts not
 * listed are discarded and the upload ends. On LT_EINVAL, *fault (may be NULL) says
 * which rule failed; the upload is left as it was. */
int lt_blob_upload_complete(lt_blob *blob, const char *bucket, const char *key,
                            const char *upload_id, const lt_blob_part_ref *parts, size_t n,
                            lt_blob_object *out, lt_blob_complete_fault *fault, lt_err *err);
/* Discards an upload and its parts. LT_ENOTFOUND if unknown. */
int lt_blob_upload_abort(lt_blob *blob, const char *bucket, const char *key, const char *upload_id,
                         lt_err *err);
/* Up to max parts numbered above after_part, ascending. *out: new array (free()). */
int lt_blob_upload_parts(lt_blob *blob, const char *bucket, const char *key, const char *upload_id,
                         int after_part, size_t max, lt_blob_part **out, size_t *n, bool *truncated,
                         lt_err *err);
/* Up to max in-progress uploads of bucket whose key starts with prefix (NULL: all),
 * ordered by (key, id), after (key_marker, id_marker) (either NULL). Free with
 * lt_blob_upload_list_free. */
int lt_blob_upload_list(lt_blob *blob, const char *bucket, const char *prefix,
                        const char *key_marker, const char *id_marker, size_t max,
                        lt_blob_upload **out, size_t *n, bool *truncated, lt_err *err);
void lt_blob_upload_list_free(lt_blob_upload *uploads, size_t n);

/* ---- URI helpers for other modules ("s3://bucket/key") -------------------------------- */

/* Splits "s3://bucket/key" (key may be empty: "s3://bucket" or "s3://bucket/").
 * *bucket and *key are new strings (caller frees). LT_EINVAL if malformed. */
int lt_blob_uri_parse(const char *uri, char **bucket, char **key, lt_err *err);
/* Stores the local file at path as the object named by uri. out may be NULL. */
int lt_blob_uri_put_file(lt_blob *blob, const char *uri, const char *path, lt_blob_object *out,
                         lt_err *err);
/* Writes the object to path atomically (temporary file, fsync, rename). */
int lt_blob_uri_get_file(lt_blob *blob, const char *uri, const char *path, lt_err *err);
/* Stores len bytes. content_type may be NULL. */
int lt_blob_uri_put_bytes(lt_blob *blob, const char *uri, const void *data, size_t len,
                          const char *content_type, lt_err *err);
/* Appends the object's bytes to out (whose max bounds it: LT_ELIMIT past it). */
int lt_blob_uri_get_bytes(lt_blob *blob, const char *uri, lt_buf *out, lt_err *err);
/* Called for each object; a non-zero return stops the walk and is returned. */
typedef int (*lt_blob_visit_fn)(void *ctx, const lt_blob_object *obj, lt_err *err);
/* Visits every object whose key starts with the uri's key part, in key order. */
int lt_blob_uri_list(lt_blob *blob, const char *uri_prefix, lt_blob_visit_fn fn, void *ctx,
                     lt_err *err);
/* Deletes the object; missing is not an error. */
int lt_blob_uri_delete(lt_blob *blob, const char *uri, lt_err *err);

/* ---- fault injection (tests) --------------------------------------------------------- */

typedef enum {
    LT_BLOB_FAULT_WRITE,  /* write() of content */
    LT_BLOB_FAULT_SYNC,   /* fdatasync of content or fsync of its directory */
    LT_BLOB_FAULT_LINK,   /* publishing a content file into data/ */
    LT_BLOB_FAULT_COMMIT, /* the index transaction's COMMIT */
    LT_BLOB_FAULT_COPY,   /* copy_file_range (multipart complete, copy fallback) */
    LT_BLOB_FAULT__COUNT
} lt_blob_fault_op;

/* Makes the nth next call of op fail with EIO (1 = the next one; 0 disarms). The
 * environment variable LT_BLOB_FAULT="write:3,sync:1" arms the same at lt_blob_open. */
void lt_blob_fault_inject(lt_blob *blob, lt_blob_fault_op op, unsigned nth);

/* ---- tar.gz packing (model.tar.gz and the like), with libarchive ------------------- */

/* Writes dir's regular files, directories and symlinks into a gzip tar at tar_gz_path,
 * member names relative to dir ("model.json", "sub/x.bin"; no leading "./"), in sorted
 * order so the same tree gives the same members. An empty dir gives a valid empty archive. */
int lt_blob_pack_dir(const char *dir, const char *tar_gz_path, lt_err *err);

/* Extracts a .tar.gz (or plain .tar) into dir (created when missing). Refuses members that
 * are absolute, contain "..", or are links that point outside dir, and device files:
 * LT_EINVAL naming the member. */
int lt_blob_unpack(const char *archive_path, const char *dir, lt_err *err);
/* Appends the gzip data (one member or several concatenated) inflated to out. LT_EINVAL
 * when it is not gzip or is cut short; LT_ELIMIT past out's maximum. */
int lt_blob_gunzip(const void *data, size_t len, lt_buf *out, lt_err *err);

#endif
