/* XML for the S3 protocol: writing response bodies (every text node escaped, optional
 * encoding-type=url percent-encoding), and parsing the three small request bodies
 * (CompleteMultipartUpload, Delete, CreateBucketConfiguration) with expat.
 *
 * Parser subset: elements and character data only. A DOCTYPE is refused (no entity
 * definitions, so no entity expansion attacks); namespace prefixes ("s3:Part") are
 * stripped; nesting is capped at 16 levels and an element's text at 8 KiB. */
#include "s3/s3_internal.h"

#include <expat.h>
#include <stdio.h>
#include <string.h>

void lt_s3__xml_escape(lt_buf *b, const char *text, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        const char *rep = NULL;
        switch (text[i]) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&apos;";
            break;
        case '\r':
            rep = "&#13;";
            break;
        default:
            break;
        }
        if (!rep) continue;
        lt_buf_append(b, text + start, i - start, NULL);
        lt_buf_puts(b, rep, NULL);
        start = i + 1;
    }
    lt_buf_append(b, text + start, len - start, NULL);
}

void lt_s3__xml_begin(lt_buf *b, const char *root)
{
    lt_buf_printf(b, NULL, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<%s xmlns=\"%s\">", root,
                  LT_S3__XMLNS);
}

void lt_s3__xml_end(lt_buf *b, const char *root)
{
    lt_s3__xml_close(b, root);
}

void lt_s3__xml_open(lt_buf *b, const char *name)
{
    lt_buf_printf(b, NULL, "<%s>", name);
}

void lt_s3__xml_close(lt_buf *b, const char *name)
{
    lt_buf_printf(b, NULL, "</%s>", name);
}

void lt_s3__xml_text(lt_buf *b, const char *name, const char *text, bool url)
{
    lt_s3__xml_open(b, name);
    if (url) {
        lt_buf enc;
        lt_buf_init(&enc, 16 * 1024);
        if (lt_uri_encode(&enc, text, strlen(text), true, NULL) == 0 && enc.data)
            lt_s3__xml_escape(b, enc.data, enc.len);
        lt_buf_free(&enc);
    } else {
        lt_s3__xml_escape(b, text, strlen(text));
    }
    lt_s3__xml_close(b, name);
}

void lt_s3__xml_u64(lt_buf *b, const char *name, uint64_t value)
{
    lt_buf_printf(b, NULL, "<%s>%llu</%s>", name, (unsigned long long)value, name);
}

void lt_s3__xml_bool(lt_buf *b, const char *name, bool value)
{
    lt_buf_printf(b, NULL, "<%s>%s</%s>", name, value ? "true" : "false", name);
}

void lt_s3__xml_time(lt_buf *b, const char *name, int64_t epoch_ms)
{
    char when[32];
    lt_time_format_iso8601_ms(when, epoch_ms);
    lt_buf_printf(b, NULL, "<%s>%s</%s>", name, when, name);
}

void lt_s3__xml_etag(lt_buf *b, const char *name, const char *etag)
{
    lt_buf_printf(b, NULL, "<%s>&quot;", name);
    lt_s3__xml_escape(b, etag, strlen(etag));
    lt_buf_printf(b, NULL, "&quot;</%s>", name);
}

void lt_s3__xml_owner(lt_buf *b, const char *name)
{
    lt_buf_printf(b, NULL, "<%s><ID>%s</ID><DisplayName>%s</DisplayName></%s>", name, LT_S3__OWNER,
                  LT_S3__OWNER, name);
}

/* ---- parsing ------------------------------------------------------------------------- */

enum { MAX_DEPTH = 16, MAX_TEXT = 8192 };

typedef struct parse_state {
    XML_Parser parser;
    const char *root;
    lt_s3__xml_element_fn fn;
    void *ctx;
    char *names[MAX_DEPTH];
    int depth;
    lt_buf text;
    int rc;
    char why[160];
} parse_state;

static void stop(parse_state *ps, int rc, const char *why)
{
    if (!ps->rc) {
        ps->rc = rc;
        snprintf(ps->why, sizeof ps->why, "%s", why);
    }
    XML_StopParser(ps->parser, XML_FALSE);
}

static const char *local_name(const char *name)
{
    const char *colon = strrchr(name, ':');
    return colon ? colon + 1 : name;
}

static void XMLCALL on_start(void *data, const XML_Char *name, const XML_Char **attrs)
{
    (void)attrs;
    parse_state *ps = data;
    if (ps->rc) return;
    if (ps->depth == MAX_DEPTH) {
        stop(ps, LT_EINVAL, "elements nest too deeply");
        return;
    }
    const char *local = local_name(name);
    if (ps->depth == 0 && strcmp(local, ps->root) != 0) {
        stop(ps, LT_EINVAL, "unexpected root element");
        return;
    }
    ps->names[ps->depth++] = lt_xstrdup(local);
    lt_buf_reset(&ps->text);
}

static void XMLCALL on_end(void *data, const XML_Char *name)
{
    (void)name;
    parse_state *ps = data;
    if (ps->rc || ps->depth == 0) return;
    const char *parent = ps->depth > 1 ? ps->names[ps->depth - 2] : "";
    int rc = ps->fn(ps->ctx, parent, ps->names[ps->depth - 1], ps->text.data ? ps->text.data : "",
                    ps->text.len);
    free(ps->names[--ps->depth]);
    lt_buf_reset(&ps->text);
    if (rc) stop(ps, rc, "rejected by the operation");
}

static void XMLCALL on_text(void *data, const XML_Char *s, int len)
{
    parse_state *ps = data;
    if (ps->rc) return;
    if (lt_buf_append(&ps->text, s, (size_t)len, NULL) != 0)
        stop(ps, LT_ELIMIT, "element text too long");
}

static void XMLCALL on_doctype(void *data, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
    (void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
    stop(data, LT_EINVAL, "a DOCTYPE is not allowed");
}

int lt_s3__xml_parse(const char *data, size_t len, const char *root, lt_s3__xml_element_fn fn,
                     void *ctx, lt_err *err)
{
    parse_state ps = {.root = root, .fn = fn, .ctx = ctx};
    lt_buf_init(&ps.text, MAX_TEXT);
    ps.parser = XML_ParserCreate("UTF-8");
    if (!ps.parser) return lt_err_set(err, LT_ENOMEM, "cannot create an XML parser");
    XML_SetUserData(ps.parser, &ps);
    XML_SetElementHandler(ps.parser, on_start, on_end);
    XML_SetCharacterDataHandler(ps.parser, on_text);
    XML_SetStartDoctypeDeclHandler(ps.parser, on_doctype);
    int rc = 0;
    if (len > (size_t)INT32_MAX) {
        rc = lt_err_set(err, LT_ELIMIT, "XML body too large");
    } else if (XML_Parse(ps.parser, data ? data : "", (int)len, XML_TRUE) != XML_STATUS_OK ||
               ps.rc) {
        if (ps.rc)
            rc = lt_err_set(err, ps.rc, "%s", ps.why);
        else
            rc = lt_err_set(err, LT_EINVAL, "XML error at line %lu, column %lu: %s",
                            (unsigned long)XML_GetCurrentLineNumber(ps.parser),
                            (unsigned long)XML_GetCurrentColumnNumber(ps.parser),
                            XML_ErrorString(XML_GetErrorCode(ps.parser)));
    }
    while (ps.depth > 0)
        free(ps.names[--ps.depth]);
    XML_ParserFree(ps.parser);
    lt_buf_free(&ps.text);
    return rc;
}
