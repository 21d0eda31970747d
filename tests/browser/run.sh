#!/bin/sh
# run.sh - browser tests of the tracking page and the clerk page (headless Chromium)
#
# Installs what is missing (Debian's chromium, poppler-utils and zbar-tools; the
# pinned playwright-core from package-lock.json), then runs pages.test.mjs, which
# starts its own bccid + simulator + worker from $BCCI_BIN (default build/san/bin)
# and prints every check. Exits non-zero when any check fails.
# BCCI_UPDATE_DOCS=1 also copies the screenshots to docs/screenshots/.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
command -v pdftoppm >/dev/null 2>&1 || missing="$missing poppler-utils"
command -v zbarimg >/dev/null 2>&1 || missing="$missing zbar-tools"
if [ -n "$missing" ]; then
    echo "run.sh: installing$missing"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y $missing ||
        { as_root apt-get update && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y $missing; }
fi
if [ ! -d "$here/node_modules/playwright-core" ] || [ ! -d "$here/node_modules/axe-core" ]; then
    echo "run.sh: installing playwright-core and axe-core (npm)"
    if [ -f "$here/package-lock.json" ]; then
        (cd "$here" && npm ci --no-audit --no-fund)
    else
        (cd "$here" && npm install --no-audit --no-fund)
    fi
fi
BCCI_BIN=${BCCI_BIN:-$root/build/san/bin}
case "$BCCI_BIN" in /*) ;; *) BCCI_BIN="$root/$BCCI_BIN" ;; esac
export BCCI_BIN
if [ ! -x "$BCCI_BIN/bccid" ]; then
    echo "run.sh: no bccid in $BCCI_BIN; build first (make build-progs, or make SANITIZER=address build-progs)" >&2
    exit 2
fi
# the same sanitizer settings as make test-integration (library-internal leaks suppressed)
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$root/tests/lsan.supp:print_suppressions=0}"
echo "run.sh: browser tests against $BCCI_BIN"
exec node "$here/pages.test.mjs"
