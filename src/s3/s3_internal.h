/* Private to src/s3: the call state shared by the operation files, the operation table,
 * XML writing and parsing helpers, and the one error table (s3_error.c). */
#ifndef LT_S3_INTERNAL_H
#define LT_S3_INTERNAL_H

#include "s3/s3.h"

#include <stdbool.h>

#define LT_S3__XMLNS "http://s3.amazonaws.com/doc/2006-03-01/"
#define LT_S3__OWNER "lathe"
#define LT_S3__MAX_PUT_BYTES ((uint64_t)5 << 30) /* single PUT and each part: 5 GiB */

struct lt_s3 {
    lt_blob *blob;
    char *region;
};

typedef enum { LT_S3__BODY_NONE, LT_S3__BODY_STREAM, LT_S3__BODY_XML } lt_s3__body_kind;

typedef struct lt_s3__op {
    const char *name;      /* S3's operation name, for metrics and messages */
    lt_s3__body_kind body; /* STREAM: bytes go to call->writer; XML: into call->xml */
    size_t xml_max;        /* cap of an XML body */
    /* Optional: prepares the body (opens call->writer). Fails through lt_s3__fail. */
    void (*begin)(lt_s3_call *call);
    /* Produces the answer, or fails through lt_s3__fail* and leaves resp to the caller. */
    void (*finish)(lt_s3_call *call, lt_s3_response *resp);
} lt_s3__op;

typedef struct lt_s3__param {
    char *name;  /* decoded */
    char *value; /* decoded; "" when the parameter had no '=' */
} lt_s3__param;

struct lt_s3_call {
    lt_s3 *s3;
    lt_s3_request req;
    const lt_s3__op *op;
    char unimplemented[192]; /* when op is the NotImplemented answer: what was asked */
    lt_s3__param *params;
    size_t n_params;
    /* the error answer, once decided (the first one wins) */
    bool failed;
    const char *err_code;
    char *err_msg;
    /* the body */
    uint64_t body_len, body_max;
    lt_buf xml;
    lt_blob_writer *writer;
    lt_hash *sha256;
    uint8_t want_sha256[32];
    bool check_md5;
    uint8_t want_md5[16];
    uint8_t body_md5[16]; /* of a streamed body, set before op->finish */
};

/* ---- s3_call.c: requests and responses ------------------------------------------------ */

/* The decoded value of query parameter name, or NULL when absent. */
const char *lt_s3__param_get(const lt_s3_call *call, const char *name);
/* The request header, or NULL. */
const char *lt_s3__header_get(const lt_s3_call *call, const char *name);
/* Adds a response header (copies both); dropped with a warning past LT_S3_MAX_HEADERS. */
void lt_s3__header_add(lt_s3_response *resp, const char *name, const char *value);
/* "/bucket/key" for messages and <Resource>; new string. */
char *lt_s3__resource(const lt_s3_call *call);
/* The x-amz-meta-* headers as a JSON object string (NULL when none), lower-cased names.
 * Fails the call (MetadataTooLarge, InvalidArgument) and returns -1 when refused. */
int lt_s3__metadata_from_headers(lt_s3_call *call, char **json);

/* ---- s3_error.c: the one place that maps failures to S3 error codes ------------------ */

/* Decides the call's error answer: an S3 code from the table and a message (NULL: the
 * code's standard message). Only the first failure of a call counts. */
void lt_s3__fail(lt_s3_call *call, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef enum { LT_S3__ABOUT_BUCKET, LT_S3__ABOUT_OBJECT, LT_S3__ABOUT_UPLOAD } lt_s3__about;
/* Maps a blob failure: LT_ENOTFOUND becomes NoSuchBucket or (after checking that the
 * bucket exists) NoSuchKey / NoSuchUpload; LT_EINVAL InvalidArgument; LT_EIO and the rest
 * InternalError (logged). */
void lt_s3__fail_blob(lt_s3_call *call, int rc, const lt_err *err, lt_s3__about about);
/* Turns the decided failure into resp (status, XML body; headers already added stay). */
void lt_s3__error_reply(lt_s3_call *call, lt_s3_response *resp);

/* ---- s3_xml.c: writing and parsing XML -------------------------------------------------- */

/* <?xml ...?><root xmlns="...">. Response bodies are bounded by max-keys <= 1000 and
 * the part and upload limits, far below the body buffer's cap. */
void lt_s3__xml_begin(lt_buf *b, const char *root);
void lt_s3__xml_end(lt_buf *b, const char *root);
void lt_s3__xml_open(lt_buf *b, const char *name);
void lt_s3__xml_close(lt_buf *b, const char *name);
/* <name>escaped text</name>; with url, the text is percent-encoded first (S3's
 * encoding-type=url; '/' is kept). */
void lt_s3__xml_text(lt_buf *b, const char *name, const char *text, bool url);
void lt_s3__xml_u64(lt_buf *b, const char *name, uint64_t value);
void lt_s3__xml_bool(lt_buf *b, const char *name, bool value);
/* <name>2026-11-24T15:58:59.123Z</name> */
void lt_s3__xml_time(lt_buf *b, const char *name, int64_t epoch_ms);
/* <name>"etag"</name> (quotes escaped as &quot;) */
void lt_s3__xml_etag(lt_buf *b, const char *name, const char *etag);
/* <Owner><ID>lathe</ID><DisplayName>lathe</DisplayName></Owner> under `name`. */
void lt_s3__xml_owner(lt_buf *b, const char *name);
/* Escapes &, <, >, " and ' . */
void lt_s3__xml_escape(lt_buf *b, const char *text, size_t len);

/* Receives each element as it closes: its name, its parent's name ("" for the root) and
 * its text content. Returns 0 to go on; anything else stops parsing with that code. */
typedef int (*lt_s3__xml_element_fn)(void *ctx, const char *parent, const char *name,
                                     const char *text, size_t len);
/* Parses a small request body with expat (no DTDs, namespace prefixes ignored, text of an
 * element capped at 8 KiB). The root element must be `root`. LT_EINVAL when malformed. */
int lt_s3__xml_parse(const char *data, size_t len, const char *root, lt_s3__xml_element_fn fn,
                     void *ctx, lt_err *err);

/* ---- the operations, one table entry each -------------------------------------------- */

/* s3_bucket.c */
extern const lt_s3__op lt_s3__op_list_buckets, lt_s3__op_create_bucket, lt_s3__op_head_bucket,
    lt_s3__op_delete_bucket, lt_s3__op_get_bucket_location;
/* 0, or fails the call with InvalidBucketName naming the rule (Lathe's reserved names too). */
int lt_s3__bucket_name_check_or_fail(lt_s3_call *call, const char *name);

/* s3_objects.c */
extern const lt_s3__op lt_s3__op_put_object, lt_s3__op_get_object, lt_s3__op_head_object,
    lt_s3__op_copy_object, lt_s3__op_delete_object;
/* 0, or fails the call with KeyTooLongError. */
int lt_s3__key_check_or_fail(lt_s3_call *call);

/* s3_delete.c */
extern const lt_s3__op lt_s3__op_delete_objects;

/* s3_list.c */
extern const lt_s3__op lt_s3__op_list_objects, lt_s3__op_list_objects_v2;

/* s3_multipart.c */
extern const lt_s3__op lt_s3__op_create_multipart_upload, lt_s3__op_upload_part,
    lt_s3__op_complete_multipart_upload, lt_s3__op_abort_multipart_upload, lt_s3__op_list_parts,
    lt_s3__op_list_multipart_uploads;

#endif
