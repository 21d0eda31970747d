#!/bin/sh
# run_fuzz.sh - build and run the libFuzzer targets of tests/fuzz/ (called by make fuzz / fuzz-smoke)
#
#   tests/fuzz/run_fuzz.sh BUILD_DIR SECONDS
#
# Expects BUILD_DIR/libbcci.a built with clang -fsanitize=fuzzer-no-link,address,undefined
# (the Makefile does that) and CFLAGS_PKG / LIBS_PKG in the environment. For each
# tests/fuzz/NAME_fuzz.c: link BUILD_DIR/bin/NAME_fuzz, replay every file of
# tests/fuzz/regressions/NAME/ (each once: a crash there is a regression), then fuzz
# for SECONDS starting from the seed corpus tests/fuzz/corpus/NAME/ (read-only; new
# inputs go to BUILD_DIR/corpus/NAME/). A crash leaves its input in
# BUILD_DIR/artifacts/NAME/: copy it into tests/fuzz/regressions/NAME/ once fixed.
set -eu
build=$1
seconds=$2
here=$(dirname "$0")
fail=0
# what libraries keep for the life of the process (fontconfig, pango: the label target) is not a leak
LSAN_OPTIONS="suppressions=$(cd "$here/.." && pwd)/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS
mkdir -p "$build/bin"
for src in "$here"/*_fuzz.c; do
    name=$(basename "$src" _fuzz.c)
    bin="$build/bin/${name}_fuzz"
    echo "== fuzz $name (${seconds}s)"
    # shellcheck disable=SC2086
    clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer \
        -fno-sanitize-recover=undefined -D_GNU_SOURCE -I. -Icommon ${CFLAGS_PKG:-} \
        "$src" "$build/libbcci.a" ${LIBS_PKG:-} -lm -pthread -o "$bin"
    mkdir -p "$build/corpus/$name" "$build/artifacts/$name"
    regs=$(find "$here/regressions/$name" -type f ! -name '*.md' 2>/dev/null | sort || true)
    if [ -n "$regs" ]; then
        echo "   replaying $(echo "$regs" | wc -l) regression input(s)"
        # shellcheck disable=SC2086
        if ! "$bin" -runs=1 $regs >"$build/artifacts/$name/regressions.log" 2>&1; then
            echo "FAIL: a regression input of $name crashes again:"
            tail -40 "$build/artifacts/$name/regressions.log"
            fail=1
            continue
        fi
    fi
    seeds="$here/corpus/$name"
    [ -d "$seeds" ] || seeds=""
    # shellcheck disable=SC2086
    if ! "$bin" -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$build/artifacts/$name/" \
        "$build/corpus/$name" $seeds >"$build/artifacts/$name/fuzz.log" 2>&1; then
        echo "FAIL: $name crashed; input and log in $build/artifacts/$name/:"
        grep -E "ERROR|runtime error|SUMMARY|Test unit written|deadly signal" "$build/artifacts/$name/fuzz.log" | head -20
        fail=1
        continue
    fi
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$build/artifacts/$name/fuzz.log" | tr '\n' ' '
    echo
done
exit $fail
