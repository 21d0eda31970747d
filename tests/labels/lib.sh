# lib.sh - what run.sh and pictures.sh share (sourced, POSIX sh)
#
# labels_setup   installs what is missing: Debian's zbar-tools, poppler-utils,
#                librsvg2-bin, qpdf (and nodejs/npm when there is no node), and
#                the zpl-renderer-js pinned in package-lock.json (npm ci)
# labels_samples DIR
#                has label_test (from $BCCI_BUILD, default build/san) write one
#                label of every kind and a manifest into DIR
# Needs: here (this folder) and root (the repository) set by the caller.

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

labels_setup() {
    missing=""
    command -v zbarimg >/dev/null 2>&1 || missing="$missing zbar-tools"
    command -v pdftoppm >/dev/null 2>&1 || missing="$missing poppler-utils"
    command -v rsvg-convert >/dev/null 2>&1 || missing="$missing librsvg2-bin"
    command -v qpdf >/dev/null 2>&1 || missing="$missing qpdf"
    command -v node >/dev/null 2>&1 || missing="$missing nodejs npm"
    if [ -n "$missing" ]; then
        echo "labels: installing$missing"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y $missing ||
            { as_root apt-get update && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y $missing; }
    fi
    if [ ! -d "$here/node_modules/zpl-renderer-js" ]; then
        echo "labels: installing zpl-renderer-js (npm)"
        (cd "$here" && npm ci --no-audit --no-fund)
    fi
}

labels_samples() {
    build=${BCCI_BUILD:-$root/build/san}
    case "$build" in /*) ;; *) build="$root/$build" ;; esac
    if [ ! -x "$build/tests/label_test" ]; then
        echo "labels: no $build/tests/label_test; build first (make SANITIZER=address build-units)" >&2
        exit 2
    fi
    export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
    export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$root/tests/lsan.supp:print_suppressions=0}"
    BCCI_LABEL_SAMPLES=$1 "$build/tests/label_test" 2>"$1/samples.log" ||
        { cat "$1/samples.log" >&2; echo "labels: label_test could not write the samples" >&2; exit 1; }
}
