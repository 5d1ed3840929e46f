#!/usr/bin/python3
"""Generate the request-validation tables from botocore's SageMaker service model.

    gen_validation.py <service-2.json> <out.c>

Writes data-only C (static const arrays; types in src/api/validation_tables.h): every
operation, sorted by name, with its input shape; every shape reachable from an input with
its type, bounds, pattern, enum values, structure members, list member and map key/value.
Strings live in one pool and are referred to by offset. Java-only regex syntax in the
model (\\uXXXX, surrogate pairs) is rewritten for PCRE2; messages quote the original.

Standard library only: this runs under Debian's /usr/bin/python3 at build time.
"""
import hashlib
import json
import math
import os
import re
import sys

TYPES = {
    "structure": "LT_API_VAL_STRUCTURE",
    "list": "LT_API_VAL_LIST",
    "map": "LT_API_VAL_MAP",
    "string": "LT_API_VAL_STRING",
    "integer": "LT_API_VAL_INTEGER",
    "long": "LT_API_VAL_LONG",
    "float": "LT_API_VAL_FLOAT",
    "double": "LT_API_VAL_DOUBLE",
    "boolean": "LT_API_VAL_BOOLEAN",
    "timestamp": "LT_API_VAL_TIMESTAMP",
    "blob": "LT_API_VAL_BLOB",
}
NONE = 0xFFFF
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


class Fail(Exception):
    pass


class Pool:
    """Deduplicated NUL-terminated strings, referred to by byte offset."""

    def __init__(self):
        self.offsets = {}
        self.items = []
        self.size = 0

    def add(self, s):
        if s not in self.offsets:
            self.offsets[s] = self.size
            self.items.append(s)
            self.size += len(s.encode("utf-8")) + 1
        return self.offsets[s]


def c_string(s):
    """A C string literal holding s's UTF-8 bytes plus an explicit NUL."""
    out = []
    for b in s.encode("utf-8"):
        c = chr(b)
        if c in '"\\':
            out.append("\\" + c)
        elif c == "?":
            out.append("\\?")  # no trigraphs
        elif 0x20 <= b < 0x7F:
            out.append(c)
        else:
            out.append("\\%03o" % b)
    return '"' + "".join(out) + '\\0"'


def java_regex_to_pcre2(p):
    """Rewrite what Java's regex syntax allows and PCRE2's does not: \\uXXXX escapes become
    \\x{...} (a surrogate pair becomes the supplementary code point it encodes: Java matches
    code points, not UTF-16 units), and a quantified '$' becomes a quantified group."""

    def pair(m):
        hi, lo = int(m.group(1), 16), int(m.group(2), 16)
        return "\\x{%X}" % (0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))

    p = re.sub(r"(?<!\\)\\u(D[89AB][0-9A-Fa-f]{2})\\u(D[C-F][0-9A-Fa-f]{2})", pair, p)
    p = re.sub(r"(?<!\\)\\u([0-9A-Fa-f]{4})", r"\\x{\1}", p)
    # Java lets a quantifier follow '$' ("^(...)${1,128}"); PCRE2 wants it on a group.
    return re.sub(r"(?<!\\)\$(\{\d+(?:,\d*)?\}|[*+?])", r"(?:$)\1", p)


def bound_text(v):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise Fail("bound %r is not a number" % (v,))
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return str(int(v))
    return repr(v)


def clamp(v, lo, hi):
    return max(lo, min(hi, v))


def generate(model_path):
    with open(model_path, encoding="utf-8") as f:
        model = json.load(f)
    ops = model["operations"]
    shapes = model["shapes"]

    # Reachable shapes, in discovery order from the sorted operations (stable output).
    order = []
    index = {}

    def visit(name):
        if name in index:
            return
        if name not in shapes:
            raise Fail("shape %s is referenced but not defined" % name)
        index[name] = len(order)
        order.append(name)
        s = shapes[name]
        if s.get("document"):
            return
        t = s["type"]
        if t == "structure":
            for m in s.get("members", {}).values():
                visit(m["shape"])
        elif t == "list":
            visit(s["member"]["shape"])
        elif t == "map":
            visit(s["key"]["shape"])
            visit(s["value"]["shape"])

    op_names = sorted(ops, key=lambda n: n.encode("utf-8"))
    for name in op_names:
        inp = ops[name].get("input")
        if inp:
            visit(inp["shape"])
    if len(order) >= NONE:
        raise Fail("too many shapes for 16-bit indices: %d" % len(order))

    pool = Pool()
    members = []  # (name_off, shape, required, comment)
    enum_values, enum_sorted = [], []
    bounds, bounds_index = [], {}
    patterns, pattern_index = [], {}
    rows = []

    def add_bounds(s, t):
        lo, hi = s.get("min"), s.get("max")
        if t == "integer":
            # A 32-bit member cannot hold more than int32, whatever the model says.
            lo = INT32_MIN if lo is None else max(lo, INT32_MIN)
            hi = INT32_MAX if hi is None else min(hi, INT32_MAX)
        flags = []
        if lo is not None:
            flags.append("LT_API_VAL_HAS_MIN")
        if hi is not None:
            flags.append("LT_API_VAL_HAS_MAX")
        if lo is None and hi is None:
            return NONE, flags
        imin = clamp(math.ceil(lo), INT64_MIN, INT64_MAX) if lo is not None else INT64_MIN
        imax = clamp(math.floor(hi), INT64_MIN, INT64_MAX) if hi is not None else INT64_MAX
        fmin = float(lo) if lo is not None else -math.inf
        fmax = float(hi) if hi is not None else math.inf
        mt = pool.add(bound_text(lo)) if lo is not None else 0
        xt = pool.add(bound_text(hi)) if hi is not None else 0
        key = (imin, imax, fmin, fmax, mt, xt)
        if key not in bounds_index:
            bounds_index[key] = len(bounds)
            bounds.append(key)
        return bounds_index[key], flags

    def add_pattern(p):
        if p not in pattern_index:
            pattern_index[p] = len(patterns)
            patterns.append((pool.add(p), pool.add(java_regex_to_pcre2(p))))
        return pattern_index[p]

    for name in order:
        s = shapes[name]
        t = s["type"]
        flags = []
        if s.get("sensitive"):
            flags.append("LT_API_VAL_SENSITIVE")
        if s.get("document"):
            rows.append(("LT_API_VAL_DOCUMENT", flags, NONE, NONE, 0, 0, name))
            continue
        if t not in TYPES:
            raise Fail("shape %s has unsupported type %s" % (name, t))
        pat, bnd, a, b = NONE, NONE, 0, 0
        if t in ("string", "list", "map", "blob", "integer", "long", "float", "double"):
            bnd, bflags = add_bounds(s, t)
            flags += bflags
        if t == "string":
            if "pattern" in s:
                pat = add_pattern(s["pattern"])
            if s.get("enum"):
                vals = s["enum"]
                a, b = len(enum_values), len(vals)
                enum_values.extend(pool.add(v) for v in vals)
                enum_sorted.extend(pool.add(v) for v in sorted(vals, key=lambda v: v.encode()))
        elif t == "structure":
            if s.get("union"):
                flags.append("LT_API_VAL_UNION")
            req = set(s.get("required", []))
            mem = s.get("members", {})
            a, b = len(members), len(mem)
            for mname, m in mem.items():
                members.append((pool.add(mname), index[m["shape"]], 1 if mname in req else 0,
                                "%s.%s" % (name, mname)))
        elif t == "list":
            a = index[s["member"]["shape"]]
        elif t == "map":
            a, b = index[s["key"]["shape"]], index[s["value"]["shape"]]
        rows.append((TYPES[t], flags, pat, bnd, a, b, name))

    for what, n in (("members", len(members)), ("enum values", len(enum_values)),
                    ("bounds", len(bounds)), ("patterns", len(patterns))):
        if n >= NONE:
            raise Fail("too many %s for 16-bit indices: %d" % (what, n))

    op_rows = []
    for name in op_names:
        inp = ops[name].get("input")
        op_rows.append((pool.add(name), index[inp["shape"]] if inp else NONE, name))

    with open(model_path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    meta = model.get("metadata", {})

    out = []
    w = out.append
    w("/* Generated by tools/gen_validation.py from %s" % os.path.basename(model_path))
    w(" * (%s %s, sha256 %s). Do not edit. */" % (meta.get("serviceId", "?"),
                                                   meta.get("apiVersion", "?"), digest))
    w('#include "validation_tables.h"')
    w("")
    w("#include <math.h> /* INFINITY */")
    w("")
    w("/* %d operations, %d shapes, %d members, %d enum values, %d bounds, %d patterns, "
      "%d string bytes. */" % (len(op_rows), len(rows), len(members), len(enum_values),
                               len(bounds), len(patterns), pool.size))
    w("")
    w("const char lt_api__val_strings[] =")
    for s in pool.items:
        w("    %s" % c_string(s))
    w("    ;")
    w("")
    w("const lt_api_val_operation lt_api__val_operations[] = {")
    for off, inp, name in op_rows:
        w("    {%d, %d}, /* %s */" % (off, inp, name))
    w("};")
    w("const size_t lt_api__val_operation_count = %d;" % len(op_rows))
    w("")
    w("const lt_api_val_shape lt_api__val_shapes[] = {")
    for i, (t, flags, pat, bnd, a, b, name) in enumerate(rows):
        f = "|".join(flags) if flags else "0"
        w("    {%s, %s, %d, %d, %d, %d}, /* %d %s */" % (t, f, pat, bnd, a, b, i, name))
    w("};")
    w("const size_t lt_api__val_shape_count = %d;" % len(rows))
    w("")
    w("const lt_api_val_member lt_api__val_members[] = {")
    for off, shape, req, comment in members:
        w("    {%d, %d, %d}, /* %s */" % (off, shape, req, comment))
    if not members:
        w("    {0, 0, 0},")
    w("};")
    w("const size_t lt_api__val_member_count = %d;" % len(members))
    w("")
    for arr, vals in (("lt_api__val_enum_values", enum_values),
                      ("lt_api__val_enum_sorted", enum_sorted)):
        w("const uint32_t %s[] = {" % arr)
        for i in range(0, max(len(vals), 1), 12):
            w("    " + ", ".join(str(v) for v in (vals[i:i + 12] or [0])) + ",")
        w("};")
    w("const size_t lt_api__val_enum_count = %d;" % len(enum_values))
    w("")

    def c_double(v):
        if math.isinf(v):
            return "-INFINITY" if v < 0 else "INFINITY"
        return repr(v)

    def c_int64(v):
        return "INT64_MIN" if v == INT64_MIN else "INT64_C(%d)" % v

    w("const lt_api_val_bounds lt_api__val_bounds[] = {")
    for imin, imax, fmin, fmax, mt, xt in bounds:
        w("    {%s, %s, %s, %s, %d, %d}," % (c_int64(imin), c_int64(imax), c_double(fmin),
                                             c_double(fmax), mt, xt))
    if not bounds:
        w("    {0, 0, 0, 0, 0, 0},")
    w("};")
    w("const size_t lt_api__val_bounds_count = %d;" % len(bounds))
    w("")
    w("const lt_api_val_pattern lt_api__val_patterns[] = {")
    for text, regex in patterns:
        w("    {%d, %d}," % (text, regex))
    if not patterns:
        w("    {0, 0},")
    w("};")
    w("const size_t lt_api__val_pattern_count = %d;" % len(patterns))
    stats = dict(operations=len(op_rows), shapes=len(rows), members=len(members),
                 enum_values=len(enum_values), bounds=len(bounds), patterns=len(patterns),
                 string_bytes=pool.size)
    return "\n".join(out) + "\n", stats


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: gen_validation.py <service-2.json> <out.c>\n")
        return 2
    try:
        text, stats = generate(argv[1])
    except (OSError, ValueError, KeyError, Fail) as e:
        sys.stderr.write("gen_validation: %s: %s\n" % (argv[1], e))
        return 1
    tmp = argv[2] + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, argv[2])
    print("gen_validation: " + ", ".join("%s %d" % kv for kv in stats.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
