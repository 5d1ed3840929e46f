#!/usr/bin/env python3
"""Source checker run by `make test`: banned calls, module layering, file size.

Fails on a banned call (sprintf, strcpy, strcat, strtok, atoi, gets, strto* without an
end pointer) or on an #include that crosses the module layering; reports files over the
900-line size guide without failing.
"""
import os
import re
import sys

# Which modules each module may include (its own header always allowed).
ALLOWED = {
    "base": set(),
    "store": {"base"},
    "blob": {"base"},
    "algo": {"base"},
    "api": {"base", "store", "blob", "algo", "tune"},
    "s3": {"base", "blob"},
    "exec": {"base", "store", "blob"},
    "serve": {"base", "store", "blob", "algo", "exec"},
    "tune": {"base", "store"},
    "http": {"base", "store", "blob", "api", "s3", "exec", "serve"},
    "cli": {"base", "store", "blob", "api", "s3", "http", "exec", "serve", "algo", "tune"},
}
BANNED = re.compile(r"\b(sprintf|vsprintf|strcpy|strcat|strtok|atoi|atol|gets)\s*\(")
UNCHECKED_STRTO = re.compile(r"\bstrto(l|ll|ul|ull|d|f)\s*\([^;]*?,\s*NULL\s*[,)]")
INCLUDE = re.compile(r'#\s*include\s+"([a-z0-9_]+)/([a-z0-9_]+)\.h"')
SIZE_GUIDE = 900


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r'"(\\.|[^"\\\n])*"', '""', text)


def main(root):
    failures = []
    for dirpath, _, files in os.walk(root):
        for name in sorted(files):
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            module = rel.split(os.sep)[0] if os.sep in rel else None
            with open(path, encoding="utf-8") as f:
                raw = f.read()
            code = strip_comments(raw)
            for lineno, line in enumerate(code.splitlines(), 1):
                m = BANNED.search(line)
                if m:
                    failures.append(f"{rel}:{lineno}: banned call {m.group(1)}()")
                if UNCHECKED_STRTO.search(line):
                    failures.append(f"{rel}:{lineno}: strto* without an end pointer")
            for lineno, line in enumerate(raw.splitlines(), 1):
                m = INCLUDE.search(line)
                if not m or module is None:
                    continue
                target, header = m.group(1), m.group(2)
                if target == module:
                    continue
                if target not in ALLOWED.get(module, set()):
                    failures.append(f"{rel}:{lineno}: module '{module}' may not include '{target}/'")
                elif header != target:
                    failures.append(f"{rel}:{lineno}: '{target}/{header}.h' is private to '{target}'")
            n = raw.count("\n")
            if n > SIZE_GUIDE:
                print(f"note: {rel} has {n} lines (guide: {SIZE_GUIDE}); split it along a seam")
    for f in failures:
        print(f)
    print(f"checksrc: {len(failures)} problem(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "src"))
