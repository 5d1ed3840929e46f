/*
 * base: what every other Lathe module stands on.
 *
 * Errors (lt_err and the LT_E* classes), the aborting allocator for small bounded
 * allocations, capped growable buffers, logging, time formats, random ids, hashing
 * (SHA-256, HMAC-SHA256, MD5 through OpenSSL), base64, URI encoding, JSON helpers over
 * jansson and file-system helpers (atomic writes, mkdir -p).
 *
 * Invariants:
 *  - A function that can fail returns 0 or a negative LT_E* code and fills the caller's
 *    lt_err. lt_err keeps the FIRST message written, so the root cause survives a cascade.
 *  - lt_x* allocators never return NULL: they log and abort on exhaustion. Sizes that come
 *    from outside go through lt_buf, which carries a maximum and returns LT_ELIMIT.
 *  - Everything here is thread-safe; nothing keeps mutable global state except the log
 *    level, set once at start-up.
 */
#ifndef LT_BASE_H
#define LT_BASE_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

/* ---- errors ------------------------------------------------------------------------ */

/* Error classes. Append-only: never renumber. */
enum {
    LT_OK = 0,
    LT_EINVAL = -1,    /* the input is wrong: a client's request, a file's content */
    LT_ENOTFOUND = -2, /* the named thing does not exist */
    LT_ECONFLICT = -3, /* it exists already, or its state forbids the operation */
    LT_ELIMIT = -4,    /* a size, count or quota limit was reached */
    LT_EIO = -5,       /* the disk, the network or a child process failed */
    LT_ENOMEM = -6,    /* a checked allocation failed */
    LT_EINTERNAL = -7, /* our own bug or an impossible state */
    LT_EAUTH = -8,     /* authentication or authorization refused */
};

typedef struct lt_err {
    int code;       /* 0 while no error has been recorded */
    char msg[1024]; /* what failed, where and why; NUL-terminated */
    const char *file;
    int line;
} lt_err;

/* Records an error unless one is already recorded; returns `code` (so callers can
 * `return lt_err_set(err, LT_EINVAL, "...")`). `err` may be NULL. */
int lt_err_set_at(lt_err *err, int code, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
#define lt_err_set(err, code, ...) lt_err_set_at((err), (code), __FILE__, __LINE__, __VA_ARGS__)
void lt_err_clear(lt_err *err);
/* A short stable name for an error class ("invalid", "not found", ...). */
const char *lt_err_class_name(int code);

/* ---- memory ------------------------------------------------------------------------ */

/* Never return NULL: abort with a log line when memory is exhausted. Free with free(). */
void *lt_xmalloc(size_t size);
void *lt_xcalloc(size_t count, size_t size);
void *lt_xrealloc(void *ptr, size_t size);
char *lt_xstrdup(const char *s);
char *lt_xstrndup(const char *s, size_t n);
/* Returns a new formatted string; caller frees. */
char *lt_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- buffers ----------------------------------------------------------------------- */

/* A growable byte buffer with a hard maximum. data is always NUL-terminated past len
 * (when non-NULL), so text can be used as a C string. */
typedef struct lt_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max; /* appends that would pass this fail with LT_ELIMIT */
} lt_buf;

void lt_buf_init(lt_buf *buf, size_t max_bytes);
void lt_buf_free(lt_buf *buf);
void lt_buf_reset(lt_buf *buf);
/* Room for extra more bytes (and the NUL) in one allocation, for a caller that knows
 * about how much it will append. */
int lt_buf_reserve(lt_buf *buf, size_t extra, lt_err *err);
int lt_buf_append(lt_buf *buf, const void *data, size_t len, lt_err *err);
int lt_buf_puts(lt_buf *buf, const char *s, lt_err *err);
int lt_buf_printf(lt_buf *buf, lt_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Hands the data to the caller (who frees it) and leaves buf empty. */
char *lt_buf_take(lt_buf *buf);

/* ---- logging ----------------------------------------------------------------------- */

enum { LT_LOG_DEBUG = 0, LT_LOG_INFO = 1, LT_LOG_WARN = 2, LT_LOG_ERROR = 3 };
void lt_log_set_level(int level);
void lt_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define lt_log_debug(...) lt_log(LT_LOG_DEBUG, __VA_ARGS__)
#define lt_log_info(...) lt_log(LT_LOG_INFO, __VA_ARGS__)
#define lt_log_warn(...) lt_log(LT_LOG_WARN, __VA_ARGS__)
#define lt_log_error(...) lt_log(LT_LOG_ERROR, __VA_ARGS__)

/* ---- time -------------------------------------------------------------------------- */

int64_t lt_now_ms(void);      /* wall clock, milliseconds since the epoch */
int64_t lt_monotonic_ns(void); /* for durations */
/* "YYYYMMDDTHHMMSSZ" (SigV4's X-Amz-Date); out holds at least 17 bytes. */
void lt_time_format_amz(char *out, time_t t);
/* Parses "YYYYMMDDTHHMMSSZ"; LT_EINVAL if malformed. */
int lt_time_parse_amz(const char *s, time_t *out);
/* "2026-11-24T15:58:59.123Z"; out holds at least 32 bytes. */
void lt_time_format_iso8601_ms(char *out, int64_t epoch_ms);
/* "YYYY-MM-DDTHH:MM:SS[.digits][Z|+HH:MM|-HH:MM]" to epoch seconds; impossible dates
 * (Feb 30) and exponent fractions are LT_EINVAL. The one ISO-8601 parser: validation and
 * lt_json_time both use it, so they cannot disagree. */
int lt_time_parse_iso8601(const char *s, double *out_epoch_s);
/* RFC 7231 HTTP date, "Tue, 24 Nov 2026 15:58:59 GMT"; out holds at least 32 bytes. */
void lt_time_format_http(char *out, time_t t);

/* ---- ids and randomness ------------------------------------------------------------ */

/* Cryptographically random bytes (getrandom). Aborts if the kernel cannot supply them. */
void lt_random_bytes(void *out, size_t len);
/* A random UUID v4, lower-case; out holds 37 bytes. */
void lt_uuid4(char *out);
/* len random characters from [A-Z0-9] (or [A-Za-z0-9+/] when wide) plus NUL. */
void lt_random_token(char *out, size_t len, bool wide);

/* ---- hashing ----------------------------------------------------------------------- */

void lt_sha256(const void *data, size_t len, uint8_t out[32]);
void lt_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                    uint8_t out[32]);
void lt_md5(const void *data, size_t len, uint8_t out[16]);
/* Lower-case hex of len bytes; out holds 2*len+1. */
void lt_hex_encode(char *out, const uint8_t *in, size_t len);
/* Constant-time comparison of two equal-length byte strings. */
bool lt_ct_equal(const void *a, const void *b, size_t len);

/* Incremental hashing for streamed bodies. */
typedef enum { LT_HASH_SHA256, LT_HASH_MD5 } lt_hash_kind;
typedef struct lt_hash lt_hash;
lt_hash *lt_hash_new(lt_hash_kind kind);
void lt_hash_update(lt_hash *h, const void *data, size_t len);
/* Writes the digest (32 or 16 bytes) and returns its length; the context may be reused
 * only after lt_hash_reset. */
size_t lt_hash_final(lt_hash *h, uint8_t *out);
void lt_hash_reset(lt_hash *h);
void lt_hash_free(lt_hash *h);

/* ---- encodings --------------------------------------------------------------------- */

/* Standard base64 with padding; returns a new string, caller frees. */
char *lt_base64_encode(const uint8_t *in, size_t len);
/* Decodes into out (capacity out_cap); LT_EINVAL on bad input or overflow. */
int lt_base64_decode(const char *in, size_t in_len, uint8_t *out, size_t out_cap,
                     size_t *out_len);
/* Percent-encodes everything except A-Za-z0-9-_.~ (and '/' when keep_slash). */
int lt_uri_encode(lt_buf *out, const char *in, size_t len, bool keep_slash, lt_err *err);
/* Decodes %XX (and '+' as '+', not space: AWS paths); LT_EINVAL on a bad escape. */
int lt_uri_decode(lt_buf *out, const char *in, size_t len, lt_err *err);

/* ---- strings and numbers ----------------------------------------------------------- */

bool lt_str_starts_with(const char *s, const char *prefix);
bool lt_str_ends_with(const char *s, const char *suffix);
/* Copies src into dst (cap bytes, cap > 0), cut to fit and always NUL-terminated; returns
 * strlen(src), so a result >= cap means it was cut. For fixed fields on hot paths, where
 * snprintf(dst, cap, "%s", src) costs a format parse. */
size_t lt_str_copy(char *dst, size_t cap, const char *src);
/* Whole-string decimal parse with range check; LT_EINVAL names `what` on failure. */
int lt_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out, const char *what,
                 lt_err *err);

/* Writes v as printf's "%.9g" does (9 significant digits, enough for any float to read
 * back as itself) into out, which holds LT_FORMAT_G9_MAX bytes; NUL-terminated; returns the
 * length. Several times faster than snprintf (fmt_double.c says how it stays exact). */
#define LT_FORMAT_G9_MAX 32
size_t lt_format_g9(double v, char *out);

/* ---- JSON -------------------------------------------------------------------------- */

/* Parses exactly one JSON value from data; LT_EINVAL with line and column on error. */
int lt_json_parse(const char *data, size_t len, json_t **out, lt_err *err);
/* Compact serialization; returns a new string, caller frees. */
char *lt_json_dump(const json_t *value);
/* Member accessors that return NULL / the fallback when absent or of another type. */
const char *lt_json_str(const json_t *obj, const char *key);
int64_t lt_json_int(const json_t *obj, const char *key, int64_t fallback);
/* Epoch seconds (a number, or an ISO-8601 string as botocore also accepts).
 * Returns LT_EINVAL if present but unparseable, LT_ENOTFOUND if absent. */
int lt_json_time(const json_t *obj, const char *key, double *out_epoch_s);
/* A JSON number holding epoch seconds with millisecond precision. */
json_t *lt_json_epoch_ms(int64_t epoch_ms);

/* ---- a JSONPath subset (json_path.c; the grammar is at its top) -------------------- */

/* `$`, `.name`, `['a']`, `['a','b']`, `[i]` (negative from the end), `[i,j,k]`, `[i:j]`
 * with open ends: batch transform's DataProcessing filters. Immutable once parsed, so one
 * path may be used by several threads at once. */
typedef struct lt_json_path lt_json_path;

/* Parses expr into *out (free with lt_json_path_free). LT_EINVAL "'<expr>' at position
 * <n>: <why>" (n counts characters from 1) on what the subset cannot parse. */
int lt_json_path_parse(const char *expr, lt_json_path **out, lt_err *err);
void lt_json_path_free(lt_json_path *path);
/* True for "$": the path selects the whole document. */
bool lt_json_path_is_root(const lt_json_path *path);
/* What path selects in doc: a new reference (the caller decrefs), or NULL when a single
 * step (`.name`, `['a']`, `[i]`) finds nothing. Unions and slices give a new array (of an
 * array's elements) or object (of an object's members). */
json_t *lt_json_path_select(const lt_json_path *path, json_t *doc);

/* ---- files ------------------------------------------------------------------------- */

int lt_mkdir_p(const char *path, mode_t mode, lt_err *err);
/* Writes via a temporary file, fsync and rename, then fsyncs the directory: a crash
 * leaves either the old file or the new one. */
int lt_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                         lt_err *err);
/* Reads a whole file into buf (whose max bounds it). */
int lt_file_read(const char *path, lt_buf *buf, lt_err *err);
int lt_fsync_dir(const char *dir, lt_err *err);
/* Removes a directory tree; missing is not an error. */
int lt_rm_rf(const char *path, lt_err *err);

/* Called for each entry below a walk's root, parents before children, siblings in byte
 * order of their names: the same tree always gives the same order, whatever readdir
 * returns (so archives and digests are reproducible). rel is the path relative to the root
 * ("sub/x.bin"), path the full path; st comes from lstat (links are not followed). A
 * non-zero return stops the walk and is returned by it. */
typedef int (*lt_walk_fn)(void *ctx, const char *rel, const char *path, const struct stat *st,
                          lt_err *err);
/* Walks root (a directory) depth-first in sorted order. LT_EIO when a directory cannot be
 * read. */
int lt_walk_tree(const char *root, lt_walk_fn fn, void *ctx, lt_err *err);
/* Whether a relative path is safe to create under a root: not empty, not absolute, no
 * "." or ".." component, no empty component. */
bool lt_path_rel_safe(const char *rel);
/* Whether a symlink at rel (relative to a root) whose target is `target` resolves,
 * lexically, to a path inside the root. Absolute targets are outside. */
bool lt_path_link_inside(const char *rel, const char *target);

#endif
