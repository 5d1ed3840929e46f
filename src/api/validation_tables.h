/*
 * Private to the api module: the request-validation tables that tools/gen_validation.py
 * generates from botocore's SageMaker service model (build/gen/validation_tables.c), and
 * the pattern matcher that validate.c uses over them.
 *
 * The tables are data only, all static const: no generated code. Only shapes reachable
 * from an operation's input are present. Every name, enum value, pattern and bound text
 * lives in one string pool, lt_api__val_strings, and the tables refer to it by byte
 * offset, so the generated object needs no relocations.
 *
 * Thread safety: the tables are immutable. lt_api__val_pattern_match may be called from
 * any number of threads at once (see validate_pattern.c).
 */
#ifndef LT_API_VALIDATION_TABLES_H
#define LT_API_VALIDATION_TABLES_H

#include "base/base.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Shape types, as the model names them; DOCUMENT marks "document": true (not validated). */
enum {
    LT_API_VAL_STRUCTURE = 1,
    LT_API_VAL_LIST,
    LT_API_VAL_MAP,
    LT_API_VAL_STRING,
    LT_API_VAL_INTEGER,
    LT_API_VAL_LONG,
    LT_API_VAL_FLOAT,
    LT_API_VAL_DOUBLE,
    LT_API_VAL_BOOLEAN,
    LT_API_VAL_TIMESTAMP,
    LT_API_VAL_BLOB,
    LT_API_VAL_DOCUMENT,
};

/* lt_api_val_shape.flags */
enum {
    LT_API_VAL_HAS_MIN = 1,   /* bounds.min applies */
    LT_API_VAL_HAS_MAX = 2,   /* bounds.max applies */
    LT_API_VAL_SENSITIVE = 4, /* never echo the value in a message */
    LT_API_VAL_UNION = 8,     /* structure: exactly one member may be set */
};

#define LT_API_VAL_NONE 0xFFFFu /* "no pattern", "no bounds", "no input shape" */

typedef struct lt_api_val_shape {
    uint8_t type;     /* LT_API_VAL_* */
    uint8_t flags;    /* LT_API_VAL_HAS_MIN | ... */
    uint16_t pattern; /* index into lt_api__val_patterns, or LT_API_VAL_NONE */
    uint16_t bounds;  /* index into lt_api__val_bounds, or LT_API_VAL_NONE */
    uint16_t a;       /* structure: first member; list: member shape; map: key shape;
                         string: first enum value (with b == 0: no enum) */
    uint16_t b;       /* structure: member count; map: value shape; string: enum count */
} lt_api_val_shape;

typedef struct lt_api_val_member {
    uint32_t name;  /* offset into lt_api__val_strings: "ExperimentName" */
    uint16_t shape; /* index into lt_api__val_shapes */
    uint16_t required;
} lt_api_val_member;

/* min/max of a length (string, list, map, blob) or of a value (numbers). The model writes
 * them as integers, floats or huge longs: min/max are the integral bounds an integer value
 * must meet (ceil/floor of the model's number, clamped to int64; for "integer" shapes also
 * clamped to int32), fmin/fmax the same for a float value, and the texts are what the
 * message prints ("Member must have value less than or equal to 100"). */
typedef struct lt_api_val_bounds {
    int64_t min, max;
    double fmin, fmax;
    uint32_t min_text, max_text; /* offsets into lt_api__val_strings */
} lt_api_val_bounds;

typedef struct lt_api_val_pattern {
    uint32_t text;  /* the model's pattern, as messages quote it */
    uint32_t regex; /* the same in PCRE2 syntax (Java's \uXXXX rewritten); often == text */
} lt_api_val_pattern;

typedef struct lt_api_val_operation {
    uint32_t name;  /* offset into lt_api__val_strings */
    uint16_t input; /* input shape, or LT_API_VAL_NONE */
} lt_api_val_operation;

extern const char lt_api__val_strings[];
extern const lt_api_val_operation lt_api__val_operations[]; /* sorted by name (strcmp) */
extern const size_t lt_api__val_operation_count;
extern const lt_api_val_shape lt_api__val_shapes[];
extern const size_t lt_api__val_shape_count;
extern const lt_api_val_member lt_api__val_members[]; /* in model order per structure */
extern const size_t lt_api__val_member_count;
/* Enum values of each string shape: [a, a + b) in model order (for messages), and the same
 * range of lt_api__val_enum_sorted sorted by strcmp (for lookup). Offsets into strings. */
extern const uint32_t lt_api__val_enum_values[];
extern const uint32_t lt_api__val_enum_sorted[];
extern const size_t lt_api__val_enum_count;
extern const lt_api_val_bounds lt_api__val_bounds[];
extern const size_t lt_api__val_bounds_count;
extern const lt_api_val_pattern lt_api__val_patterns[];
extern const size_t lt_api__val_pattern_count;

/* The entry points, declared exactly as in api_internal.h (which stays the contract). They
 * are repeated here so validate.c and its unit test compile without the store and blob
 * headers that api_internal.h pulls in; a file that includes both headers has the two
 * declarations checked against each other by the compiler. */
bool lt_api__operation_in_model(const char *operation);
int lt_api__validate(const char *operation, const json_t *input, lt_err *err);

static inline const char *lt_api__val_str(uint32_t offset)
{
    return lt_api__val_strings + offset;
}

/* ---- patterns (validate_pattern.c) -------------------------------------------------- */

/* Whether s[0, len) matches pattern `index` as a whole string (PCRE2, UTF, anchored at
 * both ends). The regex is compiled on first use and cached. A pattern that does not
 * compile is logged once and then matches everything (the rule is skipped). A subject
 * that exhausts the match limits (catastrophic backtracking) does not match. */
bool lt_api__val_pattern_match(size_t index, const char *s, size_t len);
/* Whether pattern `index` compiles (compiling it now if needed); for tests. */
bool lt_api__val_pattern_usable(size_t index);

#endif
