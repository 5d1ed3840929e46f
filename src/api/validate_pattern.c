/*
 * The service model's regular expressions, applied the way the service applies them: as a
 * whole-string match (Java's Matcher.matches()), so each pattern is compiled with
 * PCRE2_ANCHORED | PCRE2_ENDANCHORED, plus PCRE2_UTF for \p{L} and friends. The model's
 * patterns are Java regexes; gen_validation.py rewrites the one construct PCRE2 lacks
 * (\uXXXX). Java's \w, \d, \s are ASCII-only, as PCRE2's are without PCRE2_UCP. Java's '.'
 * stops at CR and LF; so does PCRE2's with NEWLINE_ANYCRLF (Java also stops at U+0085,
 * U+2028, U+2029; we accept those).
 *
 * Caching: each pattern is compiled (and JIT-compiled when PCRE2 has a JIT) on first use
 * and published with a compare-and-swap; a thread that loses the race frees its copy. A
 * pattern that fails to compile is published as BROKEN, logged once by the thread that
 * published it, and from then on matches everything. Match data is per thread (created on
 * a thread's first match, freed when the thread exits), so a warm match allocates nothing.
 *
 * Limits: a match that exceeds the match or heap limit (catastrophic backtracking, e.g.
 * "^https://([.\-_a-zA-Z0-9]+/?){3,1016}$" against a long non-URL) counts as "does not
 * match": the request is refused rather than the thread held.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "validation_tables.h"

#include "base/base.h"

#include <pcre2.h>
#include <pthread.h>
#include <stdatomic.h>

#define BROKEN ((uintptr_t)1)
#define MATCH_LIMIT 1000000u
#define HEAP_LIMIT_KIB 8192u

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static _Atomic(uintptr_t) *codes; /* (pattern_count) pcre2_code *, 0 or BROKEN */
static pcre2_compile_context *compile_ctx;
static pcre2_match_context *match_ctx; /* read-only once built: shared by all threads */
static pthread_key_t match_data_key;
static __thread pcre2_match_data *match_data;

static void match_data_destroy(void *md)
{
    pcre2_match_data_free(md);
}

static void init(void)
{
    codes = lt_xcalloc(lt_api__val_pattern_count ? lt_api__val_pattern_count : 1, sizeof *codes);
    compile_ctx = pcre2_compile_context_create(NULL);
    match_ctx = pcre2_match_context_create(NULL);
    if (!compile_ctx || !match_ctx) {
        lt_log_error("validate: cannot allocate PCRE2 contexts");
        abort();
    }
    pcre2_set_newline(compile_ctx, PCRE2_NEWLINE_ANYCRLF);
    pcre2_set_match_limit(match_ctx, MATCH_LIMIT);
    pcre2_set_heap_limit(match_ctx, HEAP_LIMIT_KIB);
    if (pthread_key_create(&match_data_key, match_data_destroy) != 0) {
        lt_log_error("validate: pthread_key_create failed");
        abort();
    }
}

static uintptr_t compile_pattern(size_t index)
{
    const char *regex = lt_api__val_str(lt_api__val_patterns[index].regex);
    int errcode = 0;
    PCRE2_SIZE erroff = 0;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)regex, PCRE2_ZERO_TERMINATED,
                                     PCRE2_UTF | PCRE2_ANCHORED | PCRE2_ENDANCHORED, &errcode,
                                     &erroff, compile_ctx);
    uintptr_t fresh = BROKEN;
    if (code) {
        /* Without a JIT (or if JIT compilation fails) the interpreter runs it. */
        (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
        fresh = (uintptr_t)code;
    }
    uintptr_t expected = 0;
    if (atomic_compare_exchange_strong_explicit(&codes[index], &expected, fresh,
                                                memory_order_acq_rel, memory_order_acquire)) {
        if (!code) {
            PCRE2_UCHAR why[256];
            pcre2_get_error_message(errcode, why, sizeof why);
            lt_log_warn("validate: pattern %s does not compile (%s at offset %zu); its rule "
                        "is skipped",
                        lt_api__val_str(lt_api__val_patterns[index].text), (const char *)why,
                        (size_t)erroff);
        }
        return fresh;
    }
    pcre2_code_free(code); /* another thread published first; NULL is fine here */
    return expected;
}

static uintptr_t pattern_code(size_t index)
{
    pthread_once(&init_once, init);
    uintptr_t code = atomic_load_explicit(&codes[index], memory_order_acquire);
    return code ? code : compile_pattern(index);
}

bool lt_api__val_pattern_usable(size_t index)
{
    return index < lt_api__val_pattern_count && pattern_code(index) != BROKEN;
}

bool lt_api__val_pattern_match(size_t index, const char *s, size_t len)
{
    if (index >= lt_api__val_pattern_count) return true;
    uintptr_t code = pattern_code(index);
    if (code == BROKEN) return true;
    if (!match_data) {
        /* One pair is enough: we only ask whether it matched (rc 0 still means a match). */
        match_data = pcre2_match_data_create(1, NULL);
        if (!match_data) {
            lt_log_error("validate: cannot allocate PCRE2 match data");
            abort();
        }
        pthread_setspecific(match_data_key, match_data);
    }
    int rc = pcre2_match((const pcre2_code *)code, (PCRE2_SPTR)s, len, 0, 0, match_data, match_ctx);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
        /* The JIT's 32 KiB machine stack is too small for this subject: the interpreter
         * keeps its backtracking frames on the heap (bounded by HEAP_LIMIT_KIB). */
        rc = pcre2_match((const pcre2_code *)code, (PCRE2_SPTR)s, len, 0, PCRE2_NO_JIT, match_data,
                         match_ctx);
    }
    if (rc >= 0) return true;
    if (rc != PCRE2_ERROR_NOMATCH)
        lt_log_debug("validate: pattern %s gave up on a %zu-byte value (PCRE2 error %d)",
                     lt_api__val_str(lt_api__val_patterns[index].text), len, rc);
    return false;
}
