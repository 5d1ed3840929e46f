#!/bin/sh
# Runs each libFuzzer binary for a while (the fuzz_run target; see README.md), going on to
# the next after a crash, and fails at the end if any of them crashed.
#   run_fuzzers.sh BIN_DIR SECONDS NAME...
set -u
bin=$1 seconds=$2
shift 2
src=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$bin/artifacts"
failed=""
for name in "$@"; do
    mkdir -p "$bin/work/$name"
    dict=""
    [ -f "$src/$name.dict" ] && dict="-dict=$src/$name.dict"
    echo "== fuzz_$name for ${seconds}s"
    # New inputs go to work/<name> (first directory); the checked-in corpus is only read.
    "$bin/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
        -print_final_stats=1 -artifact_prefix="$bin/artifacts/$name-" $dict \
        "$bin/work/$name" "$src/corpus/$name" || failed="$failed $name"
done
if [ -n "$failed" ]; then
    echo "fuzzers that crashed:$failed (inputs in $bin/artifacts/)"
    exit 1
fi
