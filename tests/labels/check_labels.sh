#!/bin/sh
# check_labels.sh - render sample labels and show what real decoders read
#
# Runs the label unit test with its files kept, then prints what zbarimg,
# pdftotext and xmllint make of them, for a person to look at. The pass/fail
# checks themselves live in tests/unit/label_test.c.
#
# usage: tests/labels/check_labels.sh [build dir, default build/rel]
set -eu
build=${1:-build/rel}
test -x "$build/tests/label_test" || { echo "check_labels: build $build/tests/label_test first (make build-units)" >&2; exit 2; }
work=$(mktemp -d -t check_labels.XXXXXX)
trap 'rm -rf "$work"' EXIT
TMPDIR=$work BCCI_KEEP_LABELS=1 "$build/tests/label_test" >"$work/test.log" 2>&1 || { cat "$work/test.log"; exit 1; }
dir=$(ls -d "$work"/label_test.* | head -n 1)

echo "== zbarimg, 203 dpi PNG (QR, then Code 128)"
zbarimg -q "$dir/label203.png"
echo "== zbarimg, page 500 of the 500-label PDF"
zbarimg -q "$dir/page.png"
echo "== zbarimg, manifest QR"
zbarimg -q "$dir/manifest.png"
echo "== pdftotext, one label"
pdftotext "$dir/label.pdf" - | sed '/^$/d'
echo "== pdftotext, manifest (last lines)"
pdftotext -layout "$dir/manifest.pdf" - | sed '/^$/d' | tail -n 8
echo "== xmllint, SVG"
xmllint --noout "$dir/label.svg" && echo "well-formed"
echo "== cut fields logged (field names only)"
grep -o '"msg":"[^"]*"' "$work/test.log" | sort | uniq -c
