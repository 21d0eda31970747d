#!/bin/sh
# run.sh - lint docs/openapi.yaml with the pinned Redocly CLI (package.json).
# Installs the linter into tests/openapi/node_modules on first use (npm, node >= 18).
# Exit: 0 clean, 1 lint errors, 77 the linter cannot be installed (no node/npm).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
spec="$here/../../docs/openapi.yaml"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "run.sh: node and npm are needed to lint the OpenAPI document (apt-get install nodejs npm)" >&2
    exit 77
fi
if [ ! -x "$here/node_modules/.bin/redocly" ]; then
    echo "run.sh: installing the OpenAPI linter (npm ci in tests/openapi)" >&2
    if [ -f "$here/package-lock.json" ]; then
        (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2) || exit 77
    else
        (cd "$here" && npm install --no-audit --no-fund --loglevel=error >&2) || exit 77
    fi
fi
# no telemetry, no update check: the lint must work on a machine without outside access
REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
    exec "$here/node_modules/.bin/redocly" lint --config "$here/redocly.yaml" "$spec"
